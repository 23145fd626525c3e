"""Small text helpers shared by the receipt parser, the catalog and the enricher."""

from __future__ import annotations

import re
import unicodedata

# Letters that Unicode decomposition does not reduce to ASCII.
_SPECIAL = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O",
                          "œ": "oe", "Œ": "OE", "đ": "d", "Đ": "D", "ı": "i"})
# Punctuation that OCR models trained on CJK text emit instead of the ASCII forms.
_WIDE = str.maketrans({
    "\uff0c": ",", "\u3001": ",", "\u3002": ".", "\uff1a": ":", "\uff1b": ";", "\uff08": "(", "\uff09": ")",
    "\uff0a": "*", "\uff0d": "-", "\u2014": "-", "\u2013": "-", "\uff0f": "/", "\uff05": "%", "\uff20": "@",
    "\uff04": "$", "\u3000": " ",
})
# Folded text keeps ASCII letters and digits, lower-case Cyrillic (а-џ, ґ) and Thai letters, vowels and tone marks
# (not ฿ or Thai digits); everything else separates words.
_NON_ALNUM = re.compile(r"[^a-z0-9\u0430-\u045f\u0491\u0e01-\u0e3a\u0e40-\u0e4e]+")
_THAI = ("\u0e00", "\u0e7f")
_THAI_AM_SPLIT = "\u0e4d\u0e32"  # NFKC splits the Thai vowel sara am (U+0E33) in two; printed text keeps it whole
_NUMBER = re.compile(r"^[-+]?\d{1,3}(?:[ .,']\d{3})*(?:[.,]\d+)?$|^[-+]?\d+(?:[.,]\d+)?$")


def clean_ocr(text: str) -> str:
    """Replace full-width punctuation with ASCII and collapse runs of spaces."""
    normal = unicodedata.normalize("NFKC", text.translate(_WIDE)).replace(_THAI_AM_SPLIT, "\u0e33")
    return " ".join(normal.split())


def fold(text: str) -> str:
    """Lower-case `text` and strip accents: 'Crème Brûlée' -> 'creme brulee', 'Łosoś' -> 'losos', 'ЧАЙ' -> 'чаи'.

    Thai vowel and tone marks are letters, not accents: they stay.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c) or _THAI[0] <= c <= _THAI[1]).lower()


def words(text: str) -> str:
    """Folded text with every run of non-alphanumerics turned into one space."""
    return _NON_ALNUM.sub(" ", fold(text)).strip()


def compact(text: str) -> str:
    """Folded alphanumerics only; robust to the spaces OCR drops or adds."""
    return _NON_ALNUM.sub("", fold(text))


def parse_number(token: str) -> float | None:
    """Read '1,29', '1.29', '1.234,50', '1,234.50', '-0,50' or '2' as a float; None if not a number.

    The last '.' or ',' followed by one to three digits is the decimal mark
    unless it is followed by exactly three digits and another separator precedes it.
    """
    token = token.strip().replace(" ", "")
    if not token or not _NUMBER.match(token):
        return None
    last = max(token.rfind(","), token.rfind("."))
    if last < 0:
        return float(token)
    whole, frac = token[:last], token[last + 1 :]
    whole = re.sub(r"[.,']", "", whole)
    return float(f"{whole}.{frac}")
