"""Header fields of a receipt: merchant, purchase date, currency and total, from its text lines."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date

from app.recognition import receipt_words as kw
from app.recognition.base import ReceiptHeader
from app.recognition.text import compact, fold, parse_number, words

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12, "maer": 3, "mrz": 3, "mai": 5, "okt": 10, "dez": 12, "janv": 1, "fev": 2,
    "mars": 3, "avr": 4, "juin": 6, "juil": 7, "aou": 8, "ene": 1, "abr": 4, "ago": 8, "dic": 12,
    "gen": 1, "mag": 5, "giu": 6, "lug": 7, "set": 9, "ott": 10, "mrt": 3, "mei": 5, "out": 10,
    "sty": 1, "lut": 2, "kwi": 4, "maj": 5, "cze": 6, "lip": 7, "sie": 8, "wrz": 9, "paz": 10, "lis": 11,
    "gru": 12,
}
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})\s?([./-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2}(?!\d))")
_WORD_DATE = re.compile(r"(?<!\d)(\d{1,2})\.?\s+([a-z]{3,5})\.?\s+(\d{4})(?!\d)")
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:.h]([0-5]\d)(?:[:.]([0-5]\d))?(?!\d)")
_CURRENCY_MARKS = (
    ("EUR", re.compile(r"€|(?<![a-z])eur|eur(?![a-z])")), ("USD", re.compile(r"\$|(?<![a-z])usd|usd(?![a-z])")),
    ("GBP", re.compile(r"£|(?<![a-z])gbp|gbp(?![a-z])")),
    ("PLN", re.compile(r"zł|(?<![a-z])pln|pln(?![a-z])|(?<![a-z])zl(?![a-z])")),
    ("CHF", re.compile(r"(?<![a-z])chf|chf(?![a-z])")),
)
# Tax words that only one currency area prints, used when no symbol was read.
_CURRENCY_BY_WORD = {"mwst": "EUR", "tva": "EUR", "iva": "EUR", "btw": "EUR", "ptu": "PLN", "vat": "GBP"}
_PRICE = re.compile(r"(?<![\d.,])-?\d{1,4}(?:[.,]\d{3})*[.,]\d{2}(?![\d])")


def _valid(year: int, month: int, day: int) -> str | None:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day).isoformat() if 2000 <= year <= 2099 else None
    except ValueError:
        return None


def _numeric_date(match: re.Match[str], month_first: bool) -> str | None:
    first, _, second, third = match.groups()
    if len(first) == 4:
        return _valid(int(first), int(second), int(third))
    a, b, year = int(first), int(second), int(third)
    if month_first and a <= 12:
        return _valid(year, a, b)
    return _valid(year, b, a) or _valid(year, a, b)


def _word_date(match: re.Match[str]) -> str | None:
    day, month_word, year = match.groups()
    month = _MONTHS.get(month_word[:4]) or _MONTHS.get(month_word[:3])
    return _valid(int(year), month, int(day)) if month else None


def _time_near(line: str, end: int) -> str | None:
    match = _TIME.search(line, end)
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return f"{int(hours):02d}:{minutes}:{seconds or '00'}"


def find_date(lines: Sequence[str], *, month_first: bool = False) -> str | None:
    """The first plausible date (ISO 8601; with the time when printed on the same line), else None.

    Day-first unless `month_first` (US receipts); a first number above 12 is always the day.
    """
    for line in lines:
        for match in _NUMERIC_DATE.finditer(line):
            found = _numeric_date(match, month_first)
            if found:
                time = _time_near(line, match.end())
                return f"{found}T{time}" if time else found
        word_match = _WORD_DATE.search(fold(line))
        if word_match and (found := _word_date(word_match)):
            return found
    return None


def find_currency(lines: Sequence[str]) -> str | None:
    """The ISO 4217 code most often marked by symbol or code; else one implied by tax words; else None."""
    votes: Counter[str] = Counter()
    for line in lines:
        lowered = line.lower()
        for code, pattern in _CURRENCY_MARKS:
            votes[code] += len(pattern.findall(lowered))
    if votes and votes.most_common(1)[0][1] > 0:
        return votes.most_common(1)[0][0]
    for line in lines:
        for token in words(line).split():
            if token in _CURRENCY_BY_WORD:
                return _CURRENCY_BY_WORD[token]
    return None


def _is_total(line: str) -> bool:
    tokens = set(words(line).split())
    squeezed = compact(line)
    if tokens & kw.SUBTOTAL_WORDS or any(part in squeezed for part in kw.SUBTOTAL_PARTS):
        return False
    return bool(tokens & kw.TOTAL_WORDS) or any(part in squeezed for part in kw.TOTAL_PARTS)


def find_total(lines: Sequence[str]) -> float | None:
    """The amount on the first total line (not a subtotal) that prints one."""
    for line in lines:
        if _is_total(line):
            amounts = _PRICE.findall(line)
            if amounts:
                return parse_number(amounts[-1].lstrip("-"))
    return None


def find_merchant(lines: Sequence[str], *, top: int = 5) -> str | None:
    """The first of the top lines that reads like a name (mostly letters, no address, phone or date)."""
    for line in lines[:top]:
        tokens = set(words(line).split())
        letters = sum(c.isalpha() for c in line)
        digits = sum(c.isdigit() for c in line)
        if letters < 3 or digits > letters / 3 or tokens & kw.NOT_MERCHANT_WORDS or _PRICE.search(line):
            continue
        return line.strip(" *-=#")
    return None


def parse_header(lines: Sequence[str]) -> ReceiptHeader:
    """All header fields found in `lines`; each is None when unreadable."""


    currency = find_currency(lines)
    return ReceiptHeader(
        merchant=find_merchant(lines),
        purchased_at=find_date(lines, month_first=currency == "USD"),
        currency=currency,
        total=find_total(lines),
    )
