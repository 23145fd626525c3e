"""The shop's name: one of the top rows, scored by what names look like and what other rows are.

Names are printed near the top, often in the largest font and upper case, often with a company
form (SDN BHD, GmbH, Sp. z o.o., S.A., บริษัท ...) or a well-known chain's name. Addresses,
phone and tax numbers, receipt titles, greetings, dates and prices are not names.
"""

from __future__ import annotations

import itertools
import re

from app.recognition import receipt_words as kw
from app.recognition.receipt_fuzzy import OcrLexicon
from app.recognition.receipt_rows import Lexicon, Row, squeeze
from app.recognition.text import fold

# Chains known to anyone who shops in the app's markets (generic knowledge, not fitted to a data set).
BRANDS = (
    "aldi", "lidl", "rewe", "edeka", "penny", "netto", "kaufland", "marktkauf", "rossmann", "muller",
    "ikea", "media markt", "saturn", "toom", "obi", "bauhaus", "hornbach", "thalia", "globus", "norma",
    "tegut", "spar", "billa", "hofer", "tesco", "sainsbury", "asda", "morrisons", "waitrose", "walmart",
    "target", "costco", "kroger", "safeway", "walgreens", "trader joe", "whole foods", "carrefour",
    "auchan", "leclerc", "intermarche", "monoprix", "franprix", "mercadona", "eroski", "alcampo", "coop",
    "migros", "conad", "esselunga", "albert heijn", "jumbo", "biedronka", "zabka", "lewiatan", "stokrotka",
    "albert", "tesco", "rohlik", "a101", "carrefoursa", "macrocenter", "пятерочка", "магнит",
    "перекресток", "ашан", "сільпо", "атб", "novus", "фора", "фантастико", "maxi", "idea", "big c",
    "lotus", "tops", "7 eleven", "familymart", "aeon", "giant", "mydin", "speedmart", "econsave", "mr diy",
    "guardian", "watsons", "kfc", "mcdonald", "starbucks", "subway", "pizza hut", "domino", "dmart",
    "reliance", "big bazaar", "continente", "pingo doce", "real", "dm", "dia", "bim", "sok", "lulu",
)
_BRANDS = Lexicon(BRANDS)
_BRAND_WORDS = {squeeze(b): b for b in BRANDS}
# A chain's name as OCR misreads it in a logo or a slogan line ('Msrktkauf', 'L¿DL'): long names only.
_BRANDS_OCR = OcrLexicon(BRANDS, fuzzy=6, any_from=8)
_LEGAL = Lexicon(kw.LEGAL_FORMS)
_NOUN = Lexicon(kw.BUSINESS_NOUNS)
_NOT_NAME = Lexicon(kw.NOT_MERCHANT)
_PLACE = OcrLexicon(kw.ADDRESS_WORDS, fuzzy=5, confusable_only=True)
# 'Owned by:' printed alone: the line under it names the owner company, not the shop.
_OWNER = Lexicon(("owned by", "dimiliki oleh", "operated by", "licensee of", "formerly known"))
_NOT_NAME_NOR_PLACE = Lexicon(w for w in kw.NOT_MERCHANT if w not in kw.ADDRESS_WORDS)
_PHONE = re.compile(r"\d[\d\s()/.-]{6,}\d")
_DATE = re.compile(r"\d{1,4}\s?[./-]\s?\d{1,2}\s?[./-]\s?\d{2,4}")
# A company registration number after the name: '(519537-X)', '(1191015-W)', 'Co. No. 12345-A'.
_REG_NUMBER = re.compile(r"\s*[(\[][^()\[\]]*\d{4,}[^()\[\]]*[)\]]\s*$|\s+\d{4,}-[A-Z]\s*$")
_CONNECTOR = re.compile(r"^\s*(?:&|and|und|et|y|e|i|и|co\b)", re.IGNORECASE)
_DANGLING = re.compile(r"(?:&|\band|\bund|-|\()\s*$", re.IGNORECASE)
# A street and number ('Pohlweg 110', 'Warburger Straße 130', '180 El Camino Real Ste 700'), a postcode
# and town ('33100 Paderborn') or a US town and state ('Las Vegas, NV 89119').
_ADDRESS = re.compile(
    r"(?:str(?:a(?:ss|ß|b)e)?\.?|weg|platz|allee|gasse|damm|ring|straat|laan|ulica|ul\.)\s*\d+[a-z]?\b"
    r"|^\s*(?:[A-Z]{1,2}-?)?\d{4,5}\s+[^\W\d_]{3,}"
    r"|,\s*[A-Z]{2}\.?\s*\d{5}\b|^[^\d]*,\s*[A-Z]{2}\s*$"
    r"|^\s*\d+\s*[NSEW]?\.?\s*[^\W\d_].*\b(?:st|rd|ave|blvd|ste|hwy|dr|ln|pkwy|road|street|way)\b",
    re.IGNORECASE,
)
# OCR of a logo: case flipping inside one word ('AdLbDneI').
_JUMBLED = re.compile(r"[a-z][A-Z][a-z][A-Z]|[A-Z][a-z][A-Z][a-z][A-Z]")
# One token of three digits or more and letters mixed ('193rcwbnr'): a barcode or logo misread, not a name.
_GARBLED = re.compile(r"\b(?=\w*\d\w*\d\w*\d)(?=\w*[^\W\d_]{3})\w{6,}\b")
# A web address names the shop when its logo is no text ('www.roller.de'); not a payment or social site's.
_WEB = re.compile(r"(?:www\.|https?://)([a-z][a-z0-9-]{2,})\.[a-z]{2,}", re.IGNORECASE)
_NOT_SHOP_SITES = frozenset({"facebook", "instagram", "twitter", "google", "paypal", "ingenico", "payback",
                             "youtube", "tiktok", "visa", "mastercard", "klarna", "sumup", "worldline"})
# A number standing alone (a house number, a phone's part), not a store code of letters and digits ('CT281').
_BARE_NUMBER = re.compile(r"(?<![^\W_])\d+(?![^\W_])")
_TOP_ROWS = 12
_WEAK = 2.0  # a top line scoring less than this is likely a logo misread
_LARGER, _LOGO, _NEARLY = 1.1, 1.4, 1.5  # larger print; far larger is a logo, read as text or not
_STRIP = " *-=#~_.:,;|"


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def clean_name(text: str) -> str:
    """The name without a registration number or decoration around it."""
    return _REG_NUMBER.sub("", text).strip(_STRIP)


def _score(row: Row) -> float:
    text = clean_name(row.text)
    letters = _letters(text)
    visible = max(sum(not c.isspace() for c in text), 1)
    score = -3.0 * row.y - 0.15 * row.index + (1.0 if letters / visible >= 0.6 else -1.5)
    legal = text in _LEGAL
    score += 3.0 if legal else 1.0 if text in _NOUN else 0.0
    score += 3.0 if _names_chain(text) else 0.0
    # A company line may name its place ('... (TAMAN DAYA) SDN BHD'): address words weigh less there.
    if text in _NOT_NAME_NOR_PLACE:
        score -= 3.0
    elif text in _NOT_NAME or text in _PLACE:
        score -= 1.0 if legal else 3.0
    score -= 4.0 if row.amounts else 0.0
    score -= 3.0 if _PHONE.search(text) or _DATE.search(text) or _ADDRESS.search(text) else 0.0
    score -= 2.0 if _JUMBLED.search(text) else 0.0
    score -= 1.5 if _GARBLED.search(text) else 0.0
    upper = sum(c.isupper() for c in text)
    score += 0.5 if upper >= 0.8 * letters else 0.0
    score += 1.5 * min(row.size - 1.0, 1.0) if row.size > 1.2 else 0.0
    return score - (1.0 if letters <= 3 else 0.0)


def _names_chain(text: str) -> bool:
    """True when a word, or two words together, of `text` read as a chain's name ('REWE', 'Msrktkauf',
    'L¿DL', 'MEDIA MARKT'), not a part of a longer word ('Alberto')."""
    words = [squeeze(w) for w in text.split()]
    keys = [w for w in words if w] + [a + b for a, b in itertools.pairwise(words) if a and b]
    return any(_BRANDS_OCR.closest(key) for key in keys) or any(_symbol_for_letter(w) for w in text.split())


def _symbol_for_letter(word: str) -> str | None:
    """The chain whose name `word` spells with one letter OCR read as a symbol ('L¿DL' -> 'lidl'), else None."""
    folded = fold(word)
    odd = [i for i, c in enumerate(folded) if not c.isalnum()]
    if len(odd) != 1 or not 0 < odd[0] < len(folded) - 1 or len(folded) < 4:
        return None
    pattern = re.compile(re.escape(folded[: odd[0]]) + "[a-z]" + re.escape(folded[odd[0] + 1 :]))
    return next((brand for brand in _BRAND_WORDS if pattern.fullmatch(brand)), None)


def _name_like(row: Row) -> bool:
    text = clean_name(row.text)
    return (_letters(text) >= 3 and not row.amounts and text not in _NOT_NAME
            and not _PHONE.search(text) and not _DATE.search(text) and not _ADDRESS.search(text))


def _joinable_above(above: Row, best: Row) -> bool:
    """The line above can start the name: name-like, no number but a store code ('CT281 - Tealive'),
    printed in about the same size."""
    return (_name_like(above) and not _BARE_NUMBER.search(above.text)
            and abs(above.size / max(best.size, 0.01) - 1.0) <= 0.25)


def _short(text: str) -> bool:
    """True when little is left of a name once company forms and bracketed parts are taken out."""
    core = re.sub(r"\([^)]*\)?", " ", text)
    words = [w for w in re.split(r"[\W_]+", core) if len(w) >= 3 and _LEGAL.find(w) != squeeze(w)]
    return len(words) <= 1


def _extend(rows: list[Row], best: Row) -> tuple[str, int]:
    """A name printed over two or three lines, joined ('POPULAR BOOK' + 'CO. (M) SDN BHD'), and its last row."""
    first = last = best.index
    text = clean_name(best.text)
    if rows[best.index].text != best.text:  # a footer line cut at its first comma: nothing to join
        return text, best.index
    above = rows[first - 1] if first > 0 else None
    if above is not None and _joinable_above(above, best) and (
        _CONNECTOR.match(text) or (text in _LEGAL and _short(text))
    ):
        first -= 1
    while last + 1 < min(len(rows), best.index + 3) and _name_like(rows[last + 1]) and (
        _DANGLING.search(rows[last].text) or rows[last].text.count("(") > rows[last].text.count(")")
        or (rows[last].text not in _LEGAL and rows[last + 1].text in _LEGAL)
    ):
        last += 1
    return " ".join(clean_name(row.text) for row in rows[first : last + 1]), last


def locate_merchant(rows: list[Row]) -> tuple[str, int] | None:
    """The best-scored of the top rows that has letters (joined with its continuation lines) and the
    index of its last row, or None."""
    top = [row for row in rows[:_TOP_ROWS] if _letters(row.text) >= 2 and (row.y <= 0.4 or row.index < 3)]
    if not top:
        return None
    owned = {row.index + 1 for row in rows[: _TOP_ROWS] if row.text in _OWNER}
    best = max(top, key=lambda row: _score(row) - (3.0 if row.index in owned else 0.0))
    best = _larger_above(rows, best)
    if _score(best) < _WEAK:
        best = _chain_elsewhere(rows) or _web_name(rows, best) or best
    name, last = _extend(rows, best)
    return (_chain_spelling(name), last) if name else None


def _larger_above(rows: list[Row], best: Row) -> Row:
    """The line right above the chosen one when it reads like a name, is printed clearly (not far) larger and scores
    nearly as well (the shop's name over its branch or trade name: 'THREE STOOGES' over 'BISTRO & CAFE'),
    unless only the chosen one names a company form (a person's name over 'BOOK TA .K SDN BHD')."""
    above = rows[best.index - 1] if best.index > 0 else None
    if (above is not None and _name_like(above) and _LARGER * best.size <= above.size <= _LOGO * best.size
            and _score(above) >= _score(best) - _NEARLY and (above.text in _LEGAL or best.text not in _LEGAL)):
        return above
    return best


def _web_name(rows: list[Row], logo: Row) -> Row | None:
    """The shop's web address as its name ('www.roller.de' -> 'roller') when the top line, a logo read
    in part ('-ER'), spells a piece of it."""
    piece = squeeze(logo.text)
    for row in rows:
        for match in _WEB.finditer(row.text):
            site = match.group(1).lower()
            if 2 <= len(piece) <= 4 and piece in site and site not in _NOT_SHOP_SITES:
                return Row(row.index, match.group(1), (), row.y, row.left, row.right, row.size)
    return None


def _chain_spelling(name: str) -> str:
    """The name with a word OCR misread from a chain's name spelled as the chain does ('Msrktkauf' -> 'Marktkauf',
    'MedlaMarkt' -> 'Media Markt')."""
    words = name.split(" ")
    for i, word in enumerate(words):
        key = squeeze(word)
        brand = _BRANDS_OCR.closest(key) if len(key) >= 6 else None
        brand = brand or _symbol_for_letter(word)
        if brand and len(brand) in (len(key), len(key) + 1) and brand != key and brand in _BRAND_WORDS:
            spelled = _BRAND_WORDS[brand]
            words[i] = spelled.upper() if word.isupper() else spelled.title()
    return " ".join(words)


def _chain_elsewhere(rows: list[Row]) -> Row | None:
    """A chain's name printed further down ('Aldi GmbH & Co. KG, ...' in the footer), when the top is a logo."""
    for row in rows[_TOP_ROWS:]:
        if row.text in _BRANDS and row.text in _LEGAL and not row.amounts:
            return Row(row.index, row.text.split(",")[0], (), row.y, row.left, row.right, row.size)
    return None


def find_merchant(rows: list[Row]) -> str | None:
    """The shop's name, or None."""
    found = locate_merchant(rows)
    return found[0] if found else None
