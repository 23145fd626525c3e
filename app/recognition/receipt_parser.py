"""Receipt text -> raw items and header; pure functions, no OCR, unit-testable on plain strings.

Input is the receipt's lines, top to bottom (from `app.recognition.layout`, or a
test's string). Each line is one of:
- an item: a name with a price at the right edge ('VOLLMILCH 3,5% 1L   1,19 A'),
  optionally prefixed by a count ('2 x MILK   2.58');
- a quantity line that belongs to the item above or below it: '2 x 1,29',
  '2 Stk x 1,29   2,58', '1,235 kg x 1,99 EUR/kg', '0.456 kg @ 3.49/kg';
- a total (the first one ends the item list: tax tables, payment and change follow),
  subtotal, tax, payment, deposit or discount/loyalty line: skipped as items;
- header text: merchant (top lines), date, currency.

Prices take decimal commas or points, thousands separators, currency symbols or
codes on either side, a trailing minus, and a tax-class letter after them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.recognition import receipt_words as kw
from app.recognition.base import RawItem, ReceiptHeader
from app.recognition.receipt_header import parse_header
from app.recognition.text import clean_ocr, compact, parse_number, words

_CUR = r"(?:€|EUR|eur|\$|USD|£|GBP|zł|zl|PLN|CHF|Fr\.?)"
_AMOUNT = r"\d{1,4}(?:[.,' ]\d{3})*[.,]\d{2}"
_PRICE_AT_END = re.compile(
    rf"(?P<minus>-)?\s*{_CUR}?\s*(?<![\d.,])(?P<amount>-?{_AMOUNT})(?P<minus2>-)?\s*{_CUR}?"
    rf"(?:\s*(?:[A-Z]{{1,2}}|\d|[A-Z]?\*|\*[A-Z]?))?\s*$"
)
_UNIT = r"(?:kg|g|l|st|stk|stck|szt|pcs|pc|un|uds|pz|ea)"
_QTY_LINE = re.compile(
    rf"^\s*(?P<qty>\d+(?:[.,]\d+)?)\s*(?P<unit>{_UNIT})?\.?\s*[xX\u00d7*@]\s*{_CUR}?\s*"
    rf"(?P<unit_price>\d+[.,]\d{{2,3}})\s*{_CUR}?\s*(?:/\s*(?P<per>{_UNIT}))?\.?"
    rf"(?:\s+(?P<rest>.*?))?\s*$",
    re.IGNORECASE,
)
# A tax-class letter or digit glued to the price by OCR: 'Forellenfilet 9,181'.
_GLUED_TAX = re.compile(r"(?<![\d.,])(?P<amount>\d{1,4}[.,]\d{2})[0-9A-Z*]\s*$")
# '2 x MILK', '2xMILK', and '3 MILK' (OCR often loses a small 'x').
_COUNT_PREFIX = re.compile(
    r"^\s*(?P<count>\d{1,2})(?:\s*[xX\u00d7]\s*|\s+)(?=[^\W\d_]{2})(?!(?:kg|g|l|ml|cl|st|stk)\b)", re.IGNORECASE
)
# A quantity line whose count OCR lost: 'X 5,97  11,94'.
_LOST_COUNT = re.compile(rf"^\s*[xX\u00d7*@]\s*(?P<unit_price>\d+[.,]\d{{2}})\s+(?P<total>{_AMOUNT})\s*\S?\s*$")
_LETTERS = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class TextLine:
    """One reconstructed line of text; `box` outlines it on the image when known."""

    text: str
    confidence: float = 1.0
    box: list[tuple[float, float]] | None = None


@dataclass(slots=True)
class ParsedReceipt:
    """What the parser found: items in receipt order, the header, and whether it looked like a receipt."""

    items: list[RawItem] = field(default_factory=list)
    header: ReceiptHeader = field(default_factory=ReceiptHeader)
    looks_like_receipt: bool = False


class Kind(StrEnum):
    """What a receipt line is."""

    TOTAL = "total"
    SUBTOTAL = "subtotal"
    TAX = "tax"
    PAYMENT = "payment"
    DISCOUNT = "discount"
    DEPOSIT = "deposit"
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


def split_price(text: str) -> tuple[str, float, bool] | None:
    """('VOLLMILCH 1L', 1.19, False) for 'VOLLMILCH 1L  1,19 A'; the bool says the price is negative."""
    match = _PRICE_AT_END.search(text)
    if match is None:
        glued = _GLUED_TAX.search(text)
        if glued is None or _letters(text[: glued.start()]) < 2:
            return None
        value = parse_number(glued.group("amount"))
        return (text[: glued.start()].strip(), value, False) if value is not None else None
    amount = match.group("amount")
    value = parse_number(amount.lstrip("-").replace("'", "").replace(" ", ""))
    if value is None:
        return None
    negative = bool(match.group("minus") or match.group("minus2") or amount.startswith("-"))
    return text[: match.start()].strip(), value, negative


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
    unit = (match.group("unit") or match.group("per") or "pcs").lower()
    unit = unit if unit in ("kg", "g", "l") else "pcs"
    return Quantity(quantity, unit, unit_price, total)


def _lost_count(text: str) -> Quantity | None:
    """'X 5,97 11,94' -> 2 x 5.97 when the total is a whole multiple of the unit price."""
    match = _LOST_COUNT.match(text)
    if match is None:
        return None
    unit_price = parse_number(match.group("unit_price"))
    total = parse_number(match.group("total"))
    if not unit_price or total is None:
        return None
    count = round(total / unit_price)
    if count < 1 or abs(count * unit_price - total) > 0.011:
        return None
    return Quantity(float(count), "pcs", unit_price, total)


def _has(text: str, word_set: frozenset[str], parts: Iterable[str]) -> bool:
    tokens = set(words(text).split())
    squeezed = compact(text)
    return bool(tokens & word_set) or any(part in squeezed for part in parts)


def classify(text: str) -> Kind:
    """The kind of a non-item line, by its keywords (any language the catalog covers)."""
    if _has(text, kw.SUBTOTAL_WORDS, kw.SUBTOTAL_PARTS):
        return Kind.SUBTOTAL
    checks = (
        (Kind.TOTAL, kw.TOTAL_WORDS, kw.TOTAL_PARTS),
        (Kind.DISCOUNT, kw.DISCOUNT_WORDS, kw.DISCOUNT_PARTS),
        (Kind.DEPOSIT, kw.DEPOSIT_WORDS, kw.DEPOSIT_PARTS),
        (Kind.PAYMENT, kw.PAYMENT_WORDS, kw.PAYMENT_PARTS),
        (Kind.TAX, kw.TAX_WORDS, kw.TAX_PARTS),
    )
    return next((kind for kind, ws, ps in checks if _has(text, ws, ps)), Kind.OTHER)


def _letters(text: str) -> int:
    return len(_LETTERS.findall(text))


@dataclass(slots=True)
class _Builder:
    """Walks the body lines, pairing item lines with quantity lines above or below them."""

    items: list[RawItem] = field(default_factory=list)
    pending_name: TextLine | None = None
    pending_qty: Quantity | None = None
    last_item_line: int = -10

    def quantity_line(self, index: int, line: TextLine, qty: Quantity) -> None:
        if self.pending_name is not None and qty.total is not None:
            self._add(index, self.pending_name, self.pending_name.text, qty.total, qty)
            return
        previous = self.items[-1] if self.items and self.last_item_line == index - 1 else None
        if previous is not None and previous.unit_price is None and qty.matches(previous.price):
            _apply(previous, qty)
            return
        self.pending_qty = qty

    def item_line(self, index: int, line: TextLine, name: str, price: float) -> None:
        qty = self.pending_qty if self.pending_qty is not None and self.pending_qty.matches(price) else None
        self._add(index, line, name, price, qty)

    def _add(self, index: int, line: TextLine, name: str, price: float, qty: Quantity | None) -> None:
        count = _COUNT_PREFIX.match(name)
        item = RawItem(raw_text=name[count.end():] if count else name, confidence=line.confidence,
                       price=price, box=line.box)
        if count and qty is None:
            item.quantity = float(count.group("count"))
            item.unit = "pcs"
            item.unit_price = round(price / item.quantity, 2)
        if qty is not None:
            _apply(item, qty)
        self.items.append(item)
        self.last_item_line = index
        self.pending_name = self.pending_qty = None

    def other_line(self, line: TextLine) -> None:
        self.pending_name = line if _letters(line.text) >= 2 else None
        self.pending_qty = None


def _apply(item: RawItem, qty: Quantity) -> None:
    item.quantity = qty.quantity
    item.unit = qty.unit
    item.unit_price = qty.unit_price


def _body_line(builder: _Builder, index: int, line: TextLine) -> bool:
    """Feed one line before the total to the builder; False when the line is the total."""
    qty = parse_quantity(line.text)
    if qty is not None:
        builder.quantity_line(index, line, qty)
        return True
    priced = split_price(line.text)
    kind = classify(line.text)
    if kind is Kind.TOTAL and priced is not None:
        return False
    if priced is None:
        if kind is Kind.OTHER:
            builder.other_line(line)
        return True
    name, price, negative = priced
    if kind is not Kind.OTHER or negative or _letters(name) < 2:
        builder.other_line(TextLine(""))
        return True
    builder.item_line(index, line, name, price)
    return True


def _as_lines(lines: Sequence[TextLine | str]) -> list[TextLine]:
    out = [line if isinstance(line, TextLine) else TextLine(line) for line in lines]
    return [TextLine(clean_ocr(line.text), line.confidence, line.box) for line in out if line.text.strip()]


def parse_receipt(lines: Sequence[TextLine | str]) -> ParsedReceipt:
    """Items and header of a receipt given its lines top to bottom; never raises on odd text."""
    text_lines = _as_lines(lines)
    builder = _Builder()
    for index, line in enumerate(text_lines):
        if not _body_line(builder, index, line):
            break
    header = parse_header([line.text for line in text_lines])
    return ParsedReceipt(builder.items, header, bool(builder.items) or header.total is not None)


def parse_text(text: str) -> ParsedReceipt:
    """`parse_receipt` over the lines of a string."""
    return parse_receipt(text.splitlines())
