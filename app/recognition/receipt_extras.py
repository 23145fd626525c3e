"""Fields a client may show besides the total: subtotal, tax and the shop's address.

The subtotal is the amount on the last subtotal line; the tax is the tax amount that makes
subtotal + tax = total when the receipt prints one, else the amount on the first line that
names only a tax; the address is the run of lines under the shop's name that reads like a
street, a building or a postcode, up to the first phone, tax-number, title or date line.
"""

from __future__ import annotations

import re

from app.recognition import receipt_words as kw
from app.recognition.receipt_rows import Lexicon, Row

_SUBTOTAL = Lexicon(kw.SUBTOTAL_LINE)
_TAX = Lexicon(kw.TAX_LINE)
_TOTAL = Lexicon((*kw.TOTAL_STRONG, *kw.TOTAL_PLAIN))
_NOT_ADDRESS = Lexicon(kw.NOT_ADDRESS)
_STREET = Lexicon(kw.ADDRESS_WORDS)
_POSTCODE = re.compile(r"(?<![\d-])\d{4,6}(?![\d-])")
_HOUSE = re.compile(r"\b(?:no|lot|unit|nr)\b\.?\s*\d|\d+\s*,|,\s*\d+\b", re.IGNORECASE)
_PHONE = re.compile(r"\d[\d\s()/.-]{7,}\d")
_REG_ONLY = re.compile(r"^\W*[(\[]?[\w .:#-]{0,12}\d{4,}[\w-]*[)\]]?\W*$")
_CENT = 0.005
_MAX_ADDRESS_ROWS = 5


def find_subtotal(rows: list[Row]) -> float | None:
    """The amount on the last subtotal line, or None."""
    values = [row.amounts[-1].value for row in rows if row.amounts and row.text in _SUBTOTAL]
    return round(values[-1], 2) if values and values[-1] > 0 else None


def find_tax(rows: list[Row], subtotal: float | None, total: float | None) -> float | None:
    """The tax amount: the one that adds up (subtotal + tax = total), else the first tax-only line's."""
    taxes = [
        row.amounts[-1].value for row in rows
        if row.amounts and row.text in _TAX and row.text not in _TOTAL and row.text not in _SUBTOTAL
    ]
    taxes = [t for t in taxes if t > 0 and (total is None or t < total)]
    if subtotal is not None and total is not None:
        fitting = [t for t in taxes if abs(subtotal + t - total) < _CENT]
        if fitting:
            return round(fitting[0], 2)
    return round(taxes[0], 2) if taxes else None


def _is_address(row: Row) -> bool:
    text = row.text
    return bool(text in _STREET or _POSTCODE.search(text) or _HOUSE.search(text))


def _stops_address(row: Row) -> bool:
    text = row.text
    return bool(len(row.amounts) > 1 or text in _NOT_ADDRESS or _PHONE.search(text) or row.y > 0.45)


def find_address(rows: list[Row], after: int) -> str | None:
    """The lines under the name (row `after` is its last) that read like an address, joined; else None."""
    picked: list[str] = []
    for row in rows[after + 1 : after + 1 + _MAX_ADDRESS_ROWS + 2]:
        if _REG_ONLY.match(row.text) and not picked:
            continue
        if _stops_address(row) or len(picked) == _MAX_ADDRESS_ROWS:
            break
        picked.append(row.text.strip(" *-=#|"))
    if not any(_is_address(Row(0, t, (), 0.0, 0.0, 1.0, 1.0)) for t in picked):
        return None
    return " ".join(picked) or None
