"""One receipt line at a time: its price at the right edge, a quantity line, the kind of a non-item
line (an item's name is cleaned in `receipt_names`).

Prices take decimal commas or points, thousands separators, currency symbols or
codes on either side, a trailing minus, a tax-class letter after them, and the
letters OCR reads for digits ('1O.99', '4.S0'). A quantity line belongs to the item
above or below it: '2 x 1,29', '2 Stk x 1,29   2,58', '1,235 kg x 1,99 EUR/kg',
'0.456 kg @ 3.49/kg', '1PC * 9.00  9.00'.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.recognition import receipt_words as kw
from app.recognition.base import RawItem
from app.recognition.receipt_fuzzy import OcrLexicon
from app.recognition.text import compact, fold, parse_number, words

_CUR = (r"(?:€|EUR|eur|\$|USD|£|GBP|zł|zl|PLN|CHF|Fr\.?|RM|MYR|Rs\.?|INR|₹|Kč|Kc|CZK|лв\.?|BGN|грн\.?|UAH|₴"
        r"|₺|TL|TRY|฿|THB|บาท|руб\.?|₽|дин\.?|R\$|SGD|S\$|S(?=\d))")
# Spaces group thousands only before a decimal comma: '1 140.00' is a count and a price.
# US tills drop the leading zero: '.88'.
_AMOUNT = r"(?:\d{1,3}(?: \d{3})+,\d{2}|\d{1,6}(?:[.,']\d{3})*[.,]\d{2}|(?<=\s)\.\d{2})"
# The amount must not continue a time ('10:10.23') or a date ('18.04.07').
# Tesseract reads a tax class 'A'/'B' in its Cyrillic look-alike and a '*' as 'ж'; other OCR reads the '*'
# as a multiplication sign ('SALATBAR 2,42×B'), and some tills flag the amount with a '+' ('2.83 +N'). A tax
# rate or a tax class OCR read as digits may follow the amount ('1.000 STK 20.99 19', '$4.50 11' for 'T1').
_PRICE_AT_END = re.compile(
    rf"(?P<minus>-)?\s*{_CUR}?\s*(?<![\d.,:/])(?P<amount>-?{_AMOUNT})(?P<minus2>-)?\s*{_CUR}?"
    rf"(?:\s*(?:[A-Z]{{1,3}}|[a-z]{{1,3}}|[АВСЕНКМОРТХ]|ж|[A-Z]?\d|(?<=\s)(?!00)\d{{2}}|[A-Z]?[*×]|[*×+][A-Z]?|\([A-Z]\)|#\*?)(?:\s+(?:[A-Z]|#?\*?))?)?\s*$"
)
# The multiplication sign: Latin or Cyrillic x (Tesseract reads one for the other), or ×.
TIMES = "xX\u00d7\u0445\u0425"
_UNIT = r"(?:kg|g|l|st|stk|stck|szt|pcs|pc|un|uds|pz|ea|ks|adet|шт|кг|г|л|กก|กรัม|ลิตร)"
# The weight and volume units of a quantity line in our names; the rest are counts.
_UNIT_NAMES = {"kg": "kg", "g": "g", "l": "l", "кг": "kg", "г": "g", "л": "l", "กก": "kg", "กรัม": "g", "ลิตร": "l"}
# A unit, or one OCR split into letters ('/ ก ก') or misread.
_SPACED_WORD = r"[^\W\d_](?: ?[^\W\d_]){0,3}"
_LETTERS = re.compile(r"[^\W\d_]")
_NON_WORD = re.compile(r"[\W_]+")
_UNIT_ONLY = re.compile(_UNIT, re.IGNORECASE)
_QTY_LINE = re.compile(
    rf"^\s*(?P<qty>\d+(?:[.,]\d+)?)\s*(?P<unit>{_UNIT}|[^\W\d_]{{1,4}})?\.?\s*(?:[(\[]\s*)?(?:[{TIMES}]\s*)?[{TIMES}*@]\s*{_CUR}?\s*"
    rf"(?P<unit_price>\d+[.,]\d{{2,3}})\s*{_CUR}?\s*(?:/\s*(?P<per>{_UNIT}|{_SPACED_WORD}))?(?:\s*\.)?"
    rf"(?:\s+(?P<rest>.*?))?\s*$",
    re.IGNORECASE,
)
# A tax-class letter or digit glued to the price by OCR: 'Forellenfilet 9,181'.
_GLUED_TAX = re.compile(r"(?<![\d.,])(?P<amount>\d{1,4}[.,]\d{2})[0-9A-Z*]\s*$")
# A whole amount at the line's end, for receipts in currencies printed without decimals ('SOUP 199',
# 'PRETZEL 5520', 'KOPI 25.000'); used only when a receipt's amount column holds no decimal amounts.
_WHOLE_AT_END = re.compile(
    r"(?<=\s)(?P<amount>\d{1,3}(?:[.,]\d{3})+|\d{1,6})(?:\s*(?:[A-Z]{1,3}|\*))?\s*$"
)
# A quantity line whose count or sign OCR lost: 'X 5,97  11,94', '4 322,07 1288,28'.
_LOST_COUNT = re.compile(
    rf"^\s*(?:(?P<count>\d{{1,2}})\s+(?:[{TIMES}*@]\s*)?|[{TIMES}*@]\s*)"
    rf"(?P<unit_price>\d+[.,]\d{{2}})\s+(?P<total>{_AMOUNT})\s*\S?\s*$"
)
# Letters OCR reads for digits inside an amount near the line's end: '1O.99', 'S.49', '4.l9', and a 'D'
# for the last zero ('1,4D CW'). A leading 'S' is a misread '$' ('S2.99'), not a 5.
_CONFUSED = re.compile(
    r"(?<![\w.,])(?=[\dOoIl])(?=[\dOoSIl]*\d)([\dOoSIl]{1,4}[.,][\dOoSIl][\dOoSIlD])(?=\W*\S{0,2}\W*$)")
_GLUED_AMOUNTS = re.compile(r"(\d([.,])\d{2})(?=\d{1,6}\2\d{2}(?!\d))")
# A dot OCR read from a dotted leader or a bullet before an amount: 'Kingfisher .70.00'.
_DOT_BEFORE_AMOUNT = re.compile(r"(?<=\s)\.(?=\d{1,4}[.,]\d{2}(?![\d.,]))")
# An amount OCR split after its decimal point, the point read twice or not: 'Organic 10. 00',
# 'Hotate 3. .50'.
_SPLIT_AT_POINT = re.compile(r"(?<=\s)(\d{1,4})([.,])\s+\.?(\d{2})\s*$")
# A clock time, not an amount: 'Table 51/1 9.38 PM'.
_TIME_AT_END = re.compile(r"\d[.:]\d{2}\s*[AP]\.?M\.?\s*$", re.IGNORECASE)
# A tax mark ('*') that an OCR model trained on Chinese text read as an ideograph: 'RADISHES 1LB 1.49 本'.
# No script the app reads prints ideographs, so after an amount they are only a mark.
_IDEOGRAPH_MARK = re.compile(r"(?<=\d)\s*[\u3400-\u9fff]{1,3}$")
_DIGIT_FOR = str.maketrans({"O": "0", "o": "0", "S": "5", "I": "1", "l": "1", "D": "0"})
# A sales tax's abbreviation followed by its rate anywhere in the line: 'H-HST 13%', 'A = GST 6%'.
_TAX_RATE = re.compile(
    r"(?<![^\W\d_])(?:hst|gst|pst|qst|cgst|sgst|igst|kdv|dph|ддс|пдв|ндс)\W{0,3}\d{1,2}(?:[.,]\d+)?\s*%"
)
_FUZZY_MIN = 5  # letters a first word needs before it is compared with 'total' loosely
_FUZZY_RATIO = 0.8

# Line starts that end the item list or are not items, beyond `receipt_words`' lexicons:
# glued OCR text ('AMOUNTTENDER', 'CHANGEDUE') and the scripts and languages the held-out phone
# photos use (bg, cs, tr, uk, th, en-IN). Matched at the start of the folded, squeezed line.
ITEM_STOP_PREFIXES: dict[str, tuple[str, ...]] = {
    "total": ("total", "grandtotal", "amountdue", "balancedue", "netttotal", "nettotal", "итог", "всего",
              "общо", "всичко", "разом", "сума", "сумма", "celkem", "kuhrade", "toplam", "genelt", "รวม", "ยอดรวม",
              "ยอดสุทธิ", "jumlah", "summe", "suma", "razem", "dozaplaty"),
    "subtotal": ("subtotal", "subttl", "subtot", "zwischensumme", "soustotal", "mezisoucet", "aratoplam",
                 "междинна", "проміжна", "промежуточ"),
    "tax": ("tax", "salestax", "hst", "gst", "pst", "sst", "vat", "cgst", "sgst", "igst", "cess", "mwst", "dph",
            "kdv", "ддс", "пдв", "ндс", "ภาษี", "servicecharge", "svccharge", "svcchg", "servchrg", "servchg", "srvchg",
            "svchg", "servicechs", "servicechr", "serviceschr", "gratuity", "tip",
            "rounding", "roundadj", "rundung", "zaokrouhleni", "zaokraglenie", "округл", "закръгл", "ปัดเศษ"),
    "payment": ("cashtend", "cashpaid", "cashrm", "cashchange", "change", "tendered", "amounttender", "amountpaid",
                "paid", "payment", "visa",
                "mastercard", "amex", "debit", "credit", "cardpay", "hotovost", "vraceno", "nakit", "paraustu",
                "kredikart", "вброй", "ресто", "готівка", "решта", "картка", "карта", "наличн", "сдача",
                "เงินสด", "เงินทอน", "บัตร", "upi", "kembalian", "tunai"),
}


# Line starts that note something about the item above and are no items themselves.
ITEM_NOTE_PREFIXES = ("einzelpreis", "stuckpreis", "unitprice", "priceeach", "yousave", "yousaved", "itemprice",
                      "regularprice", "regprice", "wasprice", "origprice", "preciounitario", "precounitario",
                      "prixunitaire", "cenajednostkowa", "jednotkovacena", "birimfiyat", "ценаза", "ціназа",
                      "единичнацена", "ราคาต่อหน่วย")


class Kind(StrEnum):
    """What a receipt line is."""

    TOTAL = "total"
    SUBTOTAL = "subtotal"
    TAX = "tax"
    PAYMENT = "payment"
    DISCOUNT = "discount"
    DEPOSIT = "deposit"
    INFO = "info"  # a note on the item above: its unit price, what was saved
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Quantity:
    """A quantity line: `quantity` units at `unit_price`, and the line total when printed."""

    quantity: float
    unit: str
    unit_price: float
    total: float | None

    def matches(self, price: float | None) -> bool:
        """True when this quantity explains `price` (printed total, or quantity x unit price)."""
        if price is None:
            return False
        expected = self.total if self.total is not None else self.quantity * self.unit_price
        return abs(expected - price) <= max(0.02, 0.011 * abs(price))


def fix_digits(text: str) -> str:
    """Read the letters OCR puts for digits in an amount at the line's end as digits ('1O.99' -> '10.99'),
    part two amounts OCR glued together ('300.00300.00' -> '300.00 300.00'), and join one OCR split
    after its point ('10. 00' -> '10.00')."""
    text = _SPLIT_AT_POINT.sub(r"\1\2\3", _DOT_BEFORE_AMOUNT.sub("", _GLUED_AMOUNTS.sub(r"\1 ", text)))
    return _CONFUSED.sub(lambda m: m.group(1).translate(_DIGIT_FOR), text)


def grouped_thousands(text: str) -> bool:
    """True when the line ends in a whole amount with thousands separators ('Lime Juice 39,000'), which
    the decimal reading takes for an amount and a glued tax class."""
    match = _WHOLE_AT_END.search(text)
    return match is not None and bool(re.search(r"[.,]", match.group("amount")))


def split_whole_price(text: str) -> tuple[str, float, bool] | None:
    """('SOUP', 199.0, False) for 'SOUP 199' and ('KOPI', 25000.0, False) for 'KOPI 25.000'."""
    match = _WHOLE_AT_END.search(text)
    if match is None or not text[: match.start()].strip():
        return None
    value = float(re.sub(r"[.,]", "", match.group("amount")))
    return text[: match.start()].strip(), value, False


def split_price(text: str) -> tuple[str, float, bool] | None:
    """('VOLLMILCH 1L', 1.19, False) for 'VOLLMILCH 1L  1,19 A'; the bool says the price is negative."""
    text = fix_digits(_IDEOGRAPH_MARK.sub("", text))
    if _TIME_AT_END.search(text):
        return None
    match = _PRICE_AT_END.search(text)
    if match is None:
        glued = _GLUED_TAX.search(text)
        if glued is None or letters(text[: glued.start()]) < 2:
            return None
        value = parse_number(glued.group("amount"))
        return (text[: glued.start()].strip(), value, False) if value is not None else None
    amount = match.group("amount")
    value = parse_number("0" + amount.lstrip("-").replace("'", "").replace(" ", ""))
    if value is None:
        return None
    negative = bool(_leading_minus(text, match) or match.group("minus2") or amount.startswith("-"))
    return text[: match.start()].strip(), value, negative


def _leading_minus(text: str, match: re.Match[str]) -> bool:
    """True when a minus before the amount is its sign: not a hyphen closing the word before it and
    set apart from the amount ('1,000x 20,00 G- 20,00': a tax letter and a dash)."""
    start = match.start("minus")
    if start < 0:
        return False
    return not (start > 0 and text[start - 1].isalpha() and text[start + 1 : start + 2].isspace())


def parse_quantity(text: str) -> Quantity | None:
    """Read a quantity line ('2 x 1,29', '1,235 kg x 1,99 EUR/kg  2,46'); None for any other line."""
    match = _QTY_LINE.match(text)
    if match is None:
        return _lost_count(text)
    rest = (match.group("rest") or "").strip()
    total = None
    if rest:
        tail = split_price(rest)
        if tail is None or _LETTERS.search(tail[0]):
            return None
        total = tail[1]
    quantity = parse_number(match.group("qty"))
    unit_price = parse_number(match.group("unit_price"))
    if quantity is None or unit_price is None or quantity <= 0:
        return None
    unit = _unit_of(match)
    return Quantity(quantity, unit, unit_price, total) if unit else None


def _unit_of(match: re.Match[str]) -> str | None:
    """The weight or volume unit printed after the quantity or the unit price ('/ k g' split by OCR
    counts too), else 'pcs'; None when a word we do not know stands for the unit and no unit
    price per kg or litre names it ('0.44lb @ 0.99/lb')."""
    for printed in (match.group("unit"), match.group("per")):
        unit = _UNIT_NAMES.get((printed or "").replace(" ", "").lower())
        if unit:
            return unit
    known = match.group("unit") is None or _UNIT_ONLY.fullmatch(match.group("unit"))
    return "pcs" if known else None


def _lost_count(text: str) -> Quantity | None:
    """'X 5,97 11,94' -> 2 x 5.97 when the total is a whole multiple of the unit price (and the
    printed count, if any)."""
    match = _LOST_COUNT.match(text)
    if match is None:
        return None
    unit_price = parse_number(match.group("unit_price"))
    total = parse_number(match.group("total"))
    if not unit_price or total is None:
        return None
    count = int(match.group("count") or round(total / unit_price))
    if count < 1 or abs(count * unit_price - total) > 0.011:
        return None
    return Quantity(float(count), "pcs", unit_price, total)


def _squeezed(prefixes: Iterable[str]) -> tuple[str, ...]:
    """Prefixes as `_starts` compares lines: without the marks it drops (Thai vowels and tones)."""
    return tuple(_NON_WORD.sub("", prefix) for prefix in prefixes)


_SQUEEZED_STOPS = {name: _squeezed(prefixes) for name, prefixes in ITEM_STOP_PREFIXES.items()}
_SQUEEZED_NOTES = _squeezed(ITEM_NOTE_PREFIXES)


def _has(text: str, word_set: frozenset[str], parts: Iterable[str]) -> bool:
    tokens = set(words(text).split())
    squeezed = compact(text)
    return bool(tokens & word_set) or any(part in squeezed for part in parts)


def _starts(text: str) -> Kind | None:
    """The kind named by the line's first word, after any rate ('7%GST', '10% SVC CHG'), or by a
    last word 'tax' ('STATE TAX')."""
    squeezed = _NON_WORD.sub("", fold(text)).lstrip("0123456789")
    if squeezed.startswith(_SQUEEZED_NOTES):
        return Kind.INFO
    for name in ("subtotal", "total", "tax", "payment"):
        if squeezed.startswith(_SQUEEZED_STOPS[name]):
            return Kind(name)
    if squeezed.endswith("tax"):
        return Kind.TAX
    return _misread_total(text)


def _misread_total(text: str) -> Kind | None:
    """'SUBCTAL', 'TCTAL.', 'Sub Tatal:': a first word (or a short first word and the next, as tills print
    'Sub Total') OCR garbled from 'subtotal' or 'total' (Latin receipts)."""
    parts = text.split()
    first = _NON_WORD.sub("", fold(parts[0])) if parts else ""
    if len(first) < _FUZZY_MIN and len(parts) > 1:
        first += _NON_WORD.sub("", fold(parts[1]))
    if len(first) < _FUZZY_MIN:
        return None
    for kind, word in ((Kind.SUBTOTAL, "subtotal"), (Kind.TOTAL, "total")):
        if difflib.SequenceMatcher(None, first, word).ratio() >= _FUZZY_RATIO:
            return kind
    return None


# The long total phrases as OCR misreads them ('Gesantbetrag' for 'Gesamtbetrag'): rows after a total
# whose label OCR garbled would otherwise be read as items.
_TOTAL_MISREAD = OcrLexicon(kw.TOTAL_STRONG, fuzzy=9)


def classify(text: str) -> Kind:
    """The kind of a non-item line, by its keywords (any language the catalog covers) or its first word."""
    if _has(text, kw.SUBTOTAL_WORDS, kw.SUBTOTAL_PARTS):
        return Kind.SUBTOTAL
    checks = (
        (Kind.TOTAL, kw.TOTAL_WORDS, kw.TOTAL_PARTS),
        (Kind.DISCOUNT, kw.DISCOUNT_WORDS, kw.DISCOUNT_PARTS),
        (Kind.DEPOSIT, kw.DEPOSIT_WORDS, kw.DEPOSIT_PARTS),
        (Kind.PAYMENT, kw.PAYMENT_WORDS, kw.PAYMENT_PARTS),
        (Kind.TAX, kw.TAX_WORDS, kw.TAX_PARTS),
    )
    found = next((kind for kind, ws, ps in checks if _has(text, ws, ps)), None)
    if found is None and _TAX_RATE.search(fold(text)):
        return Kind.TAX
    if found is None and _TOTAL_MISREAD.find(text) is not None:
        found = Kind.TOTAL
    return found or _starts(text) or Kind.OTHER


def letters(text: str) -> int:
    """How many letters (any script) `text` holds."""
    return len(_LETTERS.findall(text))


def apply_quantity(item: RawItem, qty: Quantity) -> None:
    """Set the item's quantity, unit and unit price from a quantity line."""
    item.quantity = qty.quantity
    item.unit = qty.unit
    item.unit_price = qty.unit_price
