"""Header fields of a receipt: merchant, purchase date, currency and total (and subtotal, tax and
the shop's address), from its lines.

Each field is chosen among candidates by a transparent score (`receipt_total`, `receipt_dates`,
`receipt_merchant`) rather than by the first line matching a pattern. Lines may be plain strings
or `TextLine`s with boxes; with boxes the scores also use the font size and the place on the page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from app.recognition import receipt_words as kw
from app.recognition.base import ReceiptHeader
from app.recognition.receipt_dates import find_purchase_date
from app.recognition.receipt_extras import find_address, find_subtotal, find_tax
from app.recognition.receipt_merchant import find_merchant as _merchant
from app.recognition.receipt_merchant import locate_merchant
from app.recognition.receipt_rows import LineLike, Row, build_rows, squeeze, tokens
from app.recognition.receipt_total import find_total as _total
from app.recognition.text import words

_MARKS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern)) for code, pattern in (
        ("MYR", r"(?<![A-Za-z])RM(?=[\s\d.:)]|$)|(?i:\bmyr\b)"),
        ("AUD", r"\bA(?:U)?\$|(?i:\baud\b)"),
        ("CAD", r"\bCA?\$|(?i:\bcad\b)"),
        ("NZD", r"\bNZ\$|(?i:\bnzd\b)"),
        ("HKD", r"\bHK\$|(?i:\bhkd\b)"),
        ("AED", r"\bAED\b|\bDHS?(?=\s?\d)"),
        ("EUR", r"€|(?i:(?<![a-z])eur(?:o|os)?(?![a-z]))"),
        ("USD", r"(?<![A-Za-z])\$|\bUS\$|(?i:\busd\b)"),
        ("GBP", r"£|(?i:\bgbp\b)"),
        ("PLN", r"(?i:zł|\bpln\b|(?<![a-z])zl(?![a-z]))"),
        ("CZK", r"(?i:kč|\bczk\b)"),
        ("BGN", r"(?i:лв\.?|\bbgn\b)"),
        ("UAH", r"(?i:грн|₴|\buah\b)"),
        ("TRY", r"₺|\bTL\b|(?i:\btry\b)"),
        ("THB", r"฿|บาท|(?i:\bthb\b)"),
        ("INR", r"₹|\bRs\.?(?=\s?\d)|(?i:\binr\b)"),
        ("RUB", r"(?i:руб|₽|\brub\b)"),
        ("RSD", r"(?i:\bдин\b|\brsd\b|(?<![a-z])din\.?(?=\s?\d|\s*$))"),
        ("CHF", r"(?i:\bchf\b)"),
        ("SGD", r"S\$|(?i:\bsgd\b)"),
    )
)
_HINTS = {code: tuple(words(p) for p in phrases) for code, phrases in kw.CURRENCY_HINTS.items()}
_GLUED_HINT = 6  # hints of this many letters or more are found inside glued text ('SDNBHD', 'KUALALUMPUR')
_USD_CODE = re.compile(r"(?i:\busd\b|us\$)")
# Tax names that one currency area prints, when no symbol or code was read.
_BY_TAX_WORD = {
    "sst": "MYR", "mwst": "EUR", "ust": "EUR", "tva": "EUR", "iva": "EUR", "btw": "EUR", "ptu": "PLN",
    "dph": "CZK", "kdv": "TRY", "пдв": "UAH", "ддс": "BGN", "ндс": "RUB", "cgst": "INR", "sgst": "INR",
    "pdv": "RSD", "ภาษ": "THB",
}
# The job's language, when the receipt names no currency at all.
_BY_LANG = {
    "de": "EUR", "fr": "EUR", "es": "EUR", "it": "EUR", "nl": "EUR", "pt": "EUR", "pl": "PLN", "cs": "CZK",
    "tr": "TRY", "ru": "RUB", "uk": "UAH", "bg": "BGN", "sr": "RSD", "th": "THB", "ms": "MYR", "en-in": "INR",
    "en-gb": "GBP", "en-us": "USD", "pt-br": "BRL", "de-ch": "CHF",
}


def _hint_in(phrase: str, spaced: str, squeezed: str) -> bool:
    """A place or company-form hint in a text (given `spaced` and `squeezed`): short forms ('a s' for
    A.Ş., 'gstin') only as printed, letter by letter or as a whole word (not 'as' or 'GST INCLUSIVE');
    long ones also inside glued text."""
    key = phrase.replace(" ", "")
    return f" {phrase} " in spaced if len(key) < _GLUED_HINT else key in squeezed


def _hinted(texts: Sequence[str]) -> str | None:
    votes: Counter[str] = Counter()
    for text in texts:
        spaced, squeezed = f" {words(text)} ", squeeze(text)
        for code, phrases in _HINTS.items():
            votes[code] += any(_hint_in(phrase, spaced, squeezed) for phrase in phrases)
    code, count = votes.most_common(1)[0] if votes else ("", 0)
    return code if count > 0 else None


def _by_tax_word(texts: Sequence[str]) -> str | None:
    for text in texts:
        for word in tokens(text):
            if word in _BY_TAX_WORD:
                return _BY_TAX_WORD[word]
    return None


def _vat_only(texts: Sequence[str]) -> str | None:
    """'VAT' with nothing else to go by: the British pound, the most common such receipt."""
    return "GBP" if any("vat" in tokens(text) for text in texts) else None


def _by_lang(lang: str | None) -> str | None:
    if lang is None:
        return None
    lowered = lang.lower().replace("_", "-")
    return _BY_LANG.get(lowered) or _BY_LANG.get(lowered.split("-")[0])


def find_currency(rows: Sequence[Row | str], *, lang: str | None = None) -> str | None:
    """The ISO 4217 code most often marked by symbol or code; else one implied by company forms and
    places, then by tax words, then by `lang`. A bare '$' yields to a place that prints dollars
    loosely (a Malaysian shop)."""
    texts = [row if isinstance(row, str) else row.text for row in rows]
    votes: Counter[str] = Counter()
    for text in texts:
        for code, pattern in _MARKS:
            votes[code] += len(pattern.findall(text))
    if votes.get("SGD") and votes.get("USD"):
        votes["USD"] -= votes["SGD"]
    code, count = votes.most_common(1)[0]
    hinted = _hinted(texts)
    if count > 0 and not (code == "USD" and hinted and not any(_USD_CODE.search(t) for t in texts)):
        return code
    return hinted or _by_tax_word(texts) or _by_lang(lang) or _vat_only(texts)


def find_date(lines: Sequence[str], *, month_first: bool = False) -> str | None:
    """The purchase date (ISO 8601; with the time when printed after it), else None."""
    return find_purchase_date(build_rows(lines), month_first=month_first)


def find_total(lines: Sequence[str]) -> float | None:
    """The amount paid, else None."""
    return _total(build_rows(lines))


def find_merchant(lines: Sequence[str]) -> str | None:
    """The shop's name, else None."""
    return _merchant(build_rows(lines))


def parse_header(lines: Sequence[str | LineLike], *, lang: str | None = None) -> ReceiptHeader:
    """All header fields found in `lines` (strings or TextLines, top to bottom); each None when unreadable.

    `lang` (the job's language, e.g. 'de' or 'en-IN') decides the currency when the receipt names
    none, and month-first dates for 'en-US'.
    """
    rows = build_rows(lines)
    currency = find_currency(rows, lang=lang)
    month_first = (lang or "").lower().replace("_", "-") == "en-us" or (lang is None and currency == "USD")
    merchant = locate_merchant(rows)
    total = _total(rows)
    subtotal = find_subtotal(rows)
    return ReceiptHeader(
        merchant=merchant[0] if merchant else None,
        purchased_at=find_purchase_date(rows, month_first=month_first),
        currency=currency,
        total=total,
        subtotal=subtotal,
        tax=find_tax(rows, subtotal, total),
        address=find_address(rows, merchant[1]) if merchant else None,
    )
