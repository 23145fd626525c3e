"""An item's name from the text left of its amount: without article codes, a weight sold, counts and
unit prices (whose quantity it keeps), and whether a text names an item at all."""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.recognition.base import RawItem
from app.recognition.receipt_lines import TIMES, letters
from app.recognition.text import fold, parse_number

# '2 x MILK', '2xMILK', '2 * Atemschutzmaske', '3 MILK' (OCR often loses a small 'x'), '1Crab Cake' and '1SODA' (and the
# space) and '1 3.EGGROLL' (count, then menu number); a Thai name may start with a lone consonant
# Tesseract split off ('3 x ม าร์ช').
_COUNT_PREFIX = re.compile(
    r"^\s*(?P<count>\d{1,2})(?:\s*[xX\u00d7*]\s*|\s+|(?=(?-i:[A-Z][a-z]{2}))|(?<=^1)(?=(?-i:[A-Z]{4})))"
    r"(?=\S*[^\W\d_]{2}|\S*[\u0e00-\u0e7f]\s[^\W\d_]{2})"
    r"(?!(?:kg|g|l|ml|cl|st|stk)\b)", re.IGNORECASE
)
# A count and unit price printed between the name and the line total: 'LAMB 2x 7.64', 'TEA 3 @ 1.50'.
_TRAILING_COUNT = re.compile(
    rf"\s+(?:(?P<count>\d{{1,3}})\s*(?:pcs?|st|stk)?\.?\s*[{TIMES}*@]?\s*)?[$€£E]?\s*(?P<unit_price>\d+[.,]\d{{2}})$"
    rf"|\s+(?P<count_only>\d{{1,3}})\s*[{TIMES}*@]$"
)
# Not part of a name: article codes and barcodes, a weight sold ('0.657KILOS', '0.44lb @ 0.99/lb'),
# a count at a unit price in brackets ('(2@$1.95)'), columns of numbers before the amount
# ('O.C.WHITE 2.13 10 1 0 9', 'Nan 1x 212', 'VORTEX98 48.421@ 1.599'), a unit price left
# of the amount ('IDLI 1.00·110.00'), a weight printed first ('0.38 CARROT LOOSE'), and a four-digit
# article number printed first, after a tax flag or a line number ('E 5844 LACTAID', '8:3556 KNONUY',
# '3: 0942 Rdol'), a word of one letter repeated, OCR's reading of a barcode or a stripe ('EEEEE'), and
# a US tax flag printed before the amount ('COATS T2$10.00').
_WEIGHT = re.compile(r"\s(?P<kg>\d*[.,]\d+)\s*(?:kg|kil[o0]s?)\b", re.IGNORECASE)
_NOT_NAME = (
    re.compile(r"(?<!\S)#?\d{5,}(?!\S)|\d{6,}"),
    re.compile(r"\s+\d*[.,]\d+\s*(?:kg|kil[o0]s?|lbs?|1bs?)\b.*$", re.IGNORECASE),
    re.compile(r"\s*\([^)]*\d[.,]\d{2}[^)]*\)"),
    re.compile(r"(?:\s+-?[\d.,]+){2,}$"),
    re.compile(r"^\s*\d*[.,]\d+\s+"),
    re.compile(r"^\s*(?:[A-Z]\s+|\d:\s*)\d{4}\s+(?=[^\d\s]*[^\W\d_]{3})"),
    re.compile(r"(?<!\S)([^\W\d_])\1{3,}(?!\S)"),
    re.compile(r"\s+T\d$"),
)
# A unit price times a count between the name and the amount, as German tills print them
# ('Jacobs Krönung 3,29 x 2' at 6,58): read only when the two make the amount.
_PRICE_TIMES_COUNT = re.compile(rf"\s+(?P<unit_price>\d+[.,]\d{{2}})\s*[{TIMES}*]\s*(?P<count>\d{{1,3}})$")
# What is left of a count and unit price once a trailing 'count x unit price' was read, and a unit
# price times the amount ('RAVA IDLI 1.00*110.00') or an original price and its cut ('CD 139.90 40%').
_NUMBERS_LEFT = (
    re.compile(r"(?:\s+[x\u00d7@*]?-?[\d.,\u00b7:]*\d[\d.,\u00b7:]*[x\u00d7@]?){2,}$"),
    re.compile(r"\s+[x\u00d7@]?[\d.,\u00b7]*\d[.,\u00b7]\d{2}[\d.,\u00b7]*$"),
    re.compile(r"\s+\d+[.,]\d{2}\s*[*x\u00d7@]\s*\d+[.,]\d{2}$|\s+\d+[.,]\d{2}\s+\d{1,2}\s*%$"),
)
# Words of a quantity or unit price, of a price cut, and currency marks, that name no item:
# '1.08lb @ 0.37/lb', 'Qty 4 @ $9.30 ea', '0.20 EA 5 FOR', 'was 3.29 now', and the units line ALDI prints over a
# weight sold ('kg  EUR/kg  EUR').
_QUANTITY_WORDS = frozenset({
    "lb", "lbs", "ib", "kg", "kgs", "kilo", "kilos", "g", "gr", "oz", "gal", "gallon", "gallons", "l", "ltr", "ml",
    "ea", "each", "for", "qty", "pcs", "pc", "st", "stk", "x", "szt", "ks", "adet", "rm", "rs", "eur", "euro",
    "euros", "usd",
    "шт", "кг", "г", "л", "was", "now",
})


# The amount printed again at the end of the name, as OCR reads a second column or the amount's own
# digits ('B10 SEV PURI TACOS 225' at 225.00, 'CACERES 14\u00d700' at 14.00, 'Lamb Biryani 1x B.81' at
# 8.81): digits, the letters OCR takes for digits, and separators.
_LAST_TOKEN = re.compile(r"\s+(?P<token>(?=[\dBOoSIlZ.,]*\d)[\dBOoSIlZ.,\u00d7\u00b7:']+)$")
_DIGIT_LOOKALIKES = str.maketrans("BOoSIlZ", "8005112", ".,\u00d7\u00b7:'")


def _without_echoed_price(name: str, price: float | None) -> str:
    """`name` less a last word that spells `price` again (at least three digits, look-alike letters read
    as digits), as long as two letters are left."""
    last = _LAST_TOKEN.search(name)
    if price is None or price <= 0 or not last:
        return name
    digits = last.group("token").translate(_DIGIT_LOOKALIKES)
    cents = round(price * 100)
    spellings = {str(cents)} | ({str(cents // 100)} if cents % 100 == 0 else set())
    if len(digits) >= 3 and digits in spellings and letters(name[: last.start()]) >= 2:
        return name[: last.start()]
    return name


# A count of one printed inside the text, between words: the quantity column that starts the item's
# row, with a note or a translation left of it ('smoKED SALMON1 SALMON AHUMADO', 'WAXED PARR 1 PAPEL
# VEGETAL'); the name is what follows the count. A '1' glued to a lower-case word is an 'l' OCR misread
# ('Cocktai1 Juice'), and one after a colon a value ('Item(s): 1'). Latin letters only: in Cyrillic
# names OCR reads stray strokes as '1' ('3 x СВИНСКИ 1 ПОТРБУШИНА').
_INNER_COUNT = re.compile(r"^.*?[A-Za-z]{2}\S*?(?:(?<=[A-Z]{2})|(?<=[A-Za-z)])\s+)1\s+(?=[A-Za-z]{3})")


def _after_inner_count(name: str) -> tuple[str, bool]:
    """`name` from the word after a count of one printed between words, and whether one was found;
    `name` as it is when none is or fewer than three letters would be left."""
    inner = _INNER_COUNT.match(name)
    if not inner or letters(name[inner.end():]) < 3 or fold(name[inner.end():].split()[0]) in _QUANTITY_WORDS:
        return name, False
    return name[inner.end():], True


# A weight and its price per kilogram with no name, left of the amount: ALDI prints them under the
# name with their units on a line of their own ('0,158  1,19  0,19' under 'kg  EUR/kg  EUR').
_BARE_WEIGHT = re.compile(
    r"^\s*(?P<kg>\d{1,3}[.,]\d{3})\s*(?:kg)?\s*[x\u00d7*]?\s*(?P<per_kg>\d{1,4}[.,]\d{2})\s*(?:\S{0,4}/kg)?\s*$",
    re.IGNORECASE,
)


def read_bare_weight(item: RawItem, text: str) -> None:
    """Set the item's weight in kilograms and price per kilogram from a nameless `text` left of its
    amount, when the two make the amount."""
    found = _BARE_WEIGHT.match(text)
    if not found or not item.price:
        return
    kilos, per_kg = parse_number(found.group("kg")), parse_number(found.group("per_kg"))
    if kilos and per_kg and abs(kilos * per_kg - item.price) < 0.006:
        item.quantity, item.unit, item.unit_price = kilos, "kg", per_kg


# 'lb' as OCR often reads it, a digit one for the 'l': '0.81 1b @ 0.99/ 1b'.
_ONE_FOR_L = re.compile(r"(?<![\w.,])1(?=bs?\b)", re.IGNORECASE)


def names_nothing(text: str) -> bool:
    """True when `text` holds no item name: fewer than two letters once the words of a quantity or unit
    price ('lb', 'ea', 'for', 'qty') and currency codes are left out ('1.08lb@ 0.37/lb', 'Qty 4@ $9.30 ea',
    '0.81 1b @ 0.99/ 1b')."""
    text = _ONE_FOR_L.sub("l", text)
    rest = [w for w in re.findall(r"[^\W\d_]+", text) if fold(w) not in _QUANTITY_WORDS]
    return sum(len(w) for w in rest) < 2


def _without(name: str, patterns: Iterable[re.Pattern[str]]) -> str:
    """`name` less what each pattern matches, as long as two letters are left."""
    for pattern in patterns:
        stripped = " ".join(pattern.sub(" ", name).split())
        name = stripped if letters(stripped) >= 2 else name
    return name


def clean_name(item: RawItem, name: str) -> str:
    """The item's name from the text left of its amount, without article codes, a weight sold, a
    bracketed or trailing count and unit price, or a leading count; sets the quantity it finds."""
    weight = _WEIGHT.search(name)
    if weight and item.price and (kilos := parse_number("0" + weight.group("kg"))):
        item.quantity, item.unit, item.unit_price = kilos, "kg", round(item.price / kilos, 2)
    times = _PRICE_TIMES_COUNT.search(name)
    if times and item.price and letters(name[: times.start()]) >= 2:
        unit_price, times_count = parse_number(times.group("unit_price")), int(times.group("count"))
        if unit_price and times_count and abs(unit_price * times_count - item.price) < 0.005 * times_count + 0.001:
            name = name[: times.start()]
            item.quantity, item.unit, item.unit_price = float(times_count), "pcs", unit_price
    name = _without_echoed_price(_without(name, _NOT_NAME), item.price)
    trailing = _TRAILING_COUNT.search(name)
    if trailing and letters(name[: trailing.start()]) >= 2:
        name = name[: trailing.start()].rstrip(" :")
        count = trailing.group("count") or trailing.group("count_only")
        if count and int(count) > 0 and item.price is not None:
            item.quantity, item.unit = float(count), "pcs"
            item.unit_price = round(item.price / float(count), 2)
    name = _without(name, _NUMBERS_LEFT).strip(" #*-:\u00b7")
    name, counted = _after_inner_count(name)
    if counted and item.quantity is None and item.price is not None:
        item.quantity, item.unit, item.unit_price = 1.0, "pcs", item.price
    leading = _COUNT_PREFIX.match(name)
    if leading:
        name = name[leading.end():]
        if item.quantity is None and item.price is not None and int(leading.group("count")) > 0:
            item.quantity, item.unit = float(leading.group("count")), "pcs"
            item.unit_price = round(item.price / item.quantity, 2)
    return name
