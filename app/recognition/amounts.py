"""Money amounts printed on a receipt line, wherever they stand and however OCR read them.

Receipts print '9.00', 'RM9.00', '9,00', '1.129,00', '1,129.00' or '12 345,00'; OCR glues
them to their label ('ROUNDEDTOTAL(RM):9.00') and reads a zero as the letter O ('1O.00').
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.recognition.text import parse_number

# Thousands groups use the other mark than the decimals; a space groups only before a decimal comma,
# because '2 345.00' is more often a count and a price than one number.
_AMOUNT = re.compile(
    r"(?P<minus>-\s?)?(?<![\d,])(?<!\d\.)(?P<num>"
    r"\d{1,3}(?:,\d{3})+\.\d{2}"
    r"|\d{1,3}(?:\.\d{3})+,\d{2}"
    r"|\d{1,3}(?:[ \u00a0\u202f]\d{3})+,\d{2}"
    r"|\d+[.,]\d{2}"
    r"|(?<![^\s\-(])\.\d{2}"
    r")(?![\d]|[.,:]\d)(?P<minus2>-)?"
)
# A zero read as the letter O inside an amount: '1O.00', '10.0O'.
_O_AS_ZERO = re.compile(r"(?<![\w.,])(\d[\dOo]*[.,][\dOo]{2})(?![\w])")
MAX_AMOUNT = 1_000_000.0


@dataclass(frozen=True, slots=True)
class Amount:
    """One amount: its value (negative when printed with a minus) and where it stands in the text."""

    value: float
    start: int
    end: int


def _fix_letters(text: str) -> str:
    return _O_AS_ZERO.sub(lambda m: m.group(1).replace("O", "0").replace("o", "0"), text)


def find_amounts(text: str) -> list[Amount]:
    """Every amount with two decimals in `text`, left to right."""
    found = []
    for match in _AMOUNT.finditer(_fix_letters(text)):
        number = match.group("num").replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        value = parse_number(f"0{number}" if number.startswith(".") else number)
        if value is None or value >= MAX_AMOUNT:
            continue
        if match.group("minus") or match.group("minus2"):
            value = -value
        found.append(Amount(value, match.start(), match.end()))
    return found
