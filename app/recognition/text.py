"""Small text helpers shared by the receipt parser, the catalog and the enricher."""

from __future__ import annotations

import re
import unicodedata

# Letters that Unicode decomposition does not reduce to ASCII.
_SPECIAL = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O",
                          "œ": "oe", "Œ": "OE", "đ": "d", "Đ": "D"})
# Punctuation that OCR models trained on CJK text emit instead of the ASCII forms.
_WIDE = str.maketrans({
    "\uff0c": ",", "\u3001": ",", "\u3002": ".", "\uff1a": ":", "\uff1b": ";", "\uff08": "(", "\uff09": ")",
    "\uff0a": "*", "\uff0d": "-", "\u2014": "-", "\u2013": "-", "\uff0f": "/", "\uff05": "%", "\uff20": "@",
    "\uff04": "$", "\u3000": " ",
})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NUMBER = re.compile(r"^[-+]?\d{1,3}(?:[ .,']\d{3})*(?:[.,]\d+)?$|^[-+]?\d+(?:[.,]\d+)?$")


def clean_ocr(text: str) -> str:
    """Replace full-width punctuation with ASCII and collapse runs of spaces."""
    return " ".join(unicodedata.normalize("NFKC", text.translate(_WIDE)).split())


def fold(text: str) -> str:
    """Lower-case `text` and strip accents: 'Crème Brûlée' -> 'creme brulee', 'Łosoś' -> 'losos'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


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
