"""Receipt lines -> raw items and header; pure functions, no OCR, unit-testable on plain strings.

Input is the receipt's lines, top to bottom (from `app.recognition.layout`, or a
test's string); `receipt_lines` reads each line alone. Items are read from rows, by
geometry and amounts first, keywords second (so that the rules carry across languages):
- an item row ends in an amount that stands in the right-aligned amount column (found
  from the right edges of nearby rows that end in an amount, when the lines carry geometry);
- its name is the text left of the amount, less counts, codes and unit prices
  (`receipt_names.clean_name`); a row that holds only numbers ('100507 1 7.99  7.99',
  '1PC * 9.00  9.00') takes its name from the name-only row above it, or below it when
  there is none (always below once the first such row stands under a column header);
  a column header or a date left of an amount is no item;
- an amount printed alone is an item only with a name row beside it or a quantity line above
  it that it matches (else it is a total or tip whose label stands elsewhere); a note row (unit
  price, savings) carries the price of the name row above it when that row has none;
- quantity lines pair with the item above or below; discounts, deposits, notes (unit
  price, savings), tax, payment and other keyword lines are never items, nor are the negative
  rows of a return receipt (returned goods are not added to a pantry);
- the list ends at the total, or at a row printing the sum of the items so far whatever
  its label. A subtotal, tax or payment line ends it earlier unless the rows after it
  are needed to make the items add up to a printed subtotal or total, or go on for
  several more items. Two rows of one amount under different names, on a receipt whose total
  pays for one, are an item and its sum;
- receipts whose amount column holds no decimal amounts are read with whole-number prices.
"""

from __future__ import annotations

import difflib
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.recognition import receipt_words as kw
from app.recognition.base import RawItem, ReceiptHeader
from app.recognition.receipt_header import parse_header
from app.recognition.receipt_lines import (
    Kind,
    Quantity,
    apply_quantity,
    classify,
    grouped_thousands,
    letters,
    parse_quantity,
    split_price,
    split_whole_price,
)
from app.recognition.receipt_names import clean_name, names_nothing, read_bare_weight
from app.recognition.text import clean_ocr, compact, parse_number, words

__all__ = ["Kind", "ParsedReceipt", "Quantity", "TextLine", "classify", "parse_quantity", "parse_receipt",
           "parse_text", "split_price"]

_DIGITS = re.compile(r"\d")
_CODE = re.compile(r"\d{5,}")
_WORD = re.compile(r"[^\W\d_]{2,}")
_NAME_WORDS = 3  # words of a payment-keyword line above the total that make it a product's name
_ANY_AMOUNT = re.compile(r"(?<![\d.,])\d{1,6}[.,]\d{2}(?![\d])")
_COLUMN_TOLERANCE = 3.0  # text heights an amount may end left of the amount column
_COLUMN_NEIGHBOURS = 9  # amount rows around a row that define the column there (paper curves)
_STOPS = (Kind.SUBTOTAL, Kind.TAX, Kind.PAYMENT)
_MIN_SUMMED = 2  # items an amount must add up before it is taken for an unlabelled total
_BREAKDOWN = 3  # rows of a sum broken down by category or tax rate after the items
_WHOLE_MODE_ROWS = 3  # rows ending in a whole number that make a receipt one without decimals
_SUM_SHARE = 0.5  # share of the printed subtotal or total below which a sum of items is no unlabelled total
_MORE_ITEMS = 3  # items after a subtotal, tax or payment line that show the list goes on
_ONE_ITEM_TOTAL = 1.5  # times an item's price under which a receipt's total pays for that item alone
_SAME_NAME = 0.8  # similarity of two names (OCR slips aside) that makes them one product's
_ONE_DECIMAL = re.compile(r"(?:^|\s)[$€£S]?(?P<amount>\d{1,4}[.,]\d)\s*$")
_TIMEISH = re.compile(r"\b\d{1,2}[:h]\d{2}\b")
_ONE_DECIMAL_AMONG = 3  # rows with two decimals a receipt needs before a one-decimal amount is a price
_MIN_LETTERS = 3
_PRODUCT_WORD = 3  # letters of a word that may name a product
# The words of a column header row ('Item Qty Price Total', 'Description', 'Pos Artikel-Nr. Menge
# €/Stk €/Ges'): it names no item. A fuel receipt labels the volume pumped and its price per unit so
# ('Gallons 13.240', 'Price/g $3.939'): the amount of those rows is no price either.
_HEADER_WORDS = frozenset({
    "description", "descr", "desc", "item", "items", "article", "artikel", "bezeichnung", "qty", "quantity",
    "price", "amount", "total", "menge", "preis", "betrag", "descripcion", "articulo", "cant", "importe",
    "gal", "per", "unit", "pos", "nr", "stk", "ges", "gesamt", "einzelpreis", "anzahl", "gallon", "gallons",
    "liter", "litre", "liters", "litres", "ltr", "litros", "litry", "litru", "litrow", "литра", "литри", "літри",
    "літрів", "ลิตร",
})
# The words of a unit price or an offer ('0.20 EA 5 FOR', '@ 0.99/lb'), not a half portion ('1/2').
_UNIT_WORDS = re.compile(r"@|/\s*[^\W\d_]|\b(?:ea|each|for|lbs?|kg)\b", re.IGNORECASE)
_DATE_OR_TIME = re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b\d{1,2}:\d{2}:\d{2}\b")
_KEYWORD_VOCABULARY = frozenset(
    word for phrases in (kw.TOTAL_WORDS, kw.TOTAL_PARTS, kw.SUBTOTAL_WORDS, kw.TOTAL_STRONG, kw.TOTAL_PLAIN,
                         kw.NOT_TOTAL, kw.SUBTOTAL_LINE, kw.TAX_LINE, kw.TAX_WORDS, kw.PAYMENT_WORDS,
                         kw.CHANGE_LINE, kw.TENDERED_LINE, kw.CARD_LINE, kw.ROUNDING_LINE, kw.DISCOUNT_LINE,
                         kw.COUNT_LINE)
    for phrase in phrases for word in words(phrase).split())


@dataclass(frozen=True, slots=True)
class TextLine:
    """One reconstructed line of text; `box` outlines it on the image when known.

    `x_span` is the line's left and right edge on the deskewed page and `height` its
    text height, when the line comes from OCR boxes: they locate the amount column.
    """

    text: str
    confidence: float = 1.0
    box: list[tuple[float, float]] | None = None
    x_span: tuple[float, float] | None = None
    height: float = 0.0


@dataclass(slots=True)
class ParsedReceipt:
    """What the parser found: items in receipt order, the header, and whether it looked like a receipt."""

    items: list[RawItem] = field(default_factory=list)
    header: ReceiptHeader = field(default_factory=ReceiptHeader)
    looks_like_receipt: bool = False


@dataclass(frozen=True, slots=True)
class _Row:
    """One line with what it says on its own."""

    line: TextLine
    kind: Kind
    quantity: Quantity | None
    priced: tuple[str, float, bool] | None
    in_column: bool

    @property
    def name_like(self) -> bool:
        """A row that can name an item printed on the next or previous row."""
        text = _CODE.sub("", self.line.text)  # an article code beside the name is no reason to doubt it
        return (self.priced is None and self.quantity is None and self.kind is Kind.OTHER
                and letters(text) >= 2 and letters(text) >= len(_DIGITS.findall(text))
                and not set(words(text).split()) & kw.NOT_MERCHANT_WORDS
                and not _header(text) and not names_nothing(text))


def _column_flags(lines: Sequence[TextLine], priced: Sequence[object | None]) -> list[bool]:
    """Per line: does its amount end in the amount column? (True when the lines carry no geometry.)"""
    edges = [(i, line.x_span[1]) for i, line in enumerate(lines) if line.x_span and priced[i] is not None]
    heights = [line.height for line in lines if line.height > 0]
    if len(edges) < 3 or not heights:
        return [True] * len(lines)
    tolerance = _COLUMN_TOLERANCE * statistics.median(heights)
    flags = []
    for index, line in enumerate(lines):
        if line.x_span is None:
            flags.append(True)
            continue
        near = sorted(edges, key=lambda e: abs(e[0] - index))[:_COLUMN_NEIGHBOURS]
        flags.append(line.x_span[1] >= statistics.median(x for _, x in near) - tolerance)
    return flags


def _whole_amounts(lines: Sequence[TextLine]) -> bool:
    """True when the receipt prints its prices without decimals: above the first total or subtotal,
    no row ends in a decimal amount (thousands groups like '29,000' are whole), the total or subtotal
    has no cents, and several rows with a name end in a whole number (or several in thousands groups)."""
    end = next((i for i, line in enumerate(lines) if classify(line.text) in (Kind.SUBTOTAL, Kind.TOTAL)
                and (split_price(line.text) or split_whole_price(line.text))), len(lines))
    if end < len(lines) and _has_cents(lines[end].text):
        return False
    body = lines[:end]
    decimal = sum(split_price(line.text) is not None and not grouped_thousands(line.text) for line in body)
    whole = [split_whole_price(line.text) for line in body]
    named = sum(1 for found in whole if found is not None and letters(found[0]) >= 3)
    grouped = sum(grouped_thousands(line.text) for line in lines[: end + 1])
    return decimal == 0 and max(named, grouped) >= _WHOLE_MODE_ROWS


def _one_decimal(text: str) -> tuple[str, float, bool] | None:
    """('RDOL MAGNA', 17.0, False) for 'RDOL MAGNA $17.0': a till that drops a trailing zero, or OCR
    that lost the last digit; only beside a name, among rows with two decimals."""
    match = _ONE_DECIMAL.search(text)
    if match is None or letters(text[: match.start()]) < _MIN_LETTERS or _TIMEISH.search(text):
        return None
    value = parse_number(match.group("amount").replace(",", "."))
    return (text[: match.start()].strip(), value, False) if value is not None else None


def _has_cents(text: str) -> bool:
    """True when the line ends in a decimal amount whose cents are not zero ('AMOUNT $83.51')."""
    found = split_price(text)
    return found is not None and not grouped_thousands(text) and round(found[1] * 100) % 100 != 0


def _rows(lines: Sequence[TextLine]) -> list[_Row]:
    split = split_whole_price if _whole_amounts(lines) else split_price
    priced = [split(line.text) for line in lines]
    if split is split_price and sum(found is not None for found in priced) >= _ONE_DECIMAL_AMONG:
        priced = [found or _one_decimal(line.text) for found, line in zip(priced, lines, strict=True)]
    flags = _column_flags(lines, priced)
    kinds = _named_totals(lines, _kinds(lines), priced)
    return [_Row(line, kind, parse_quantity(line.text), p, flag)
            for line, kind, p, flag in zip(lines, kinds, priced, flags, strict=True)]


def _kinds(lines: Sequence[TextLine]) -> list[Kind]:
    """Each line's kind; a payment word in a line of several words above the first total or subtotal line
    is part of an item's name ('CARD THANKS CROWN 5.99'): tills print the payment after the sum."""
    kinds = [classify(line.text) for line in lines]
    first_sum = next((i for i, kind in enumerate(kinds) if kind in (Kind.TOTAL, Kind.SUBTOTAL)), 0)
    return [Kind.OTHER if kind is Kind.PAYMENT and i < first_sum and _wordy(lines[i].text) else kind
            for i, kind in enumerate(kinds)]


def _named_totals(lines: Sequence[TextLine], kinds: list[Kind],
                  priced: Sequence[tuple[str, float, bool] | None]) -> list[Kind]:
    """Each line's kind, a total keyword inside a product's name taken back ('13oz SUMMER WIT 2.00',
    '1 LIST TOTAL CARE 2.77'): the row prints less than a subtotal or total further down, its label holds
    two words no keyword line uses, and the keyword is only part of a longer word or the row stands
    between two item rows."""
    sums = [(i, found[1]) for i, found in enumerate(priced)
            if found is not None and not found[2] and kinds[i] in (Kind.SUBTOTAL, Kind.TOTAL)]

    def item_like(i: int) -> bool:
        found = priced[i] if 0 <= i < len(priced) else None
        return found is not None and kinds[i] is Kind.OTHER

    out = list(kinds)
    for i, found in enumerate(priced):
        if kinds[i] is not Kind.TOTAL or found is None or found[2]:
            continue
        if not any(j > i and amount > found[1] + 0.01 for j, amount in sums):
            continue
        label = words(found[0]).split()
        if sum(len(word) >= _PRODUCT_WORD and word not in _KEYWORD_VOCABULARY for word in label) < 2:
            continue
        whole_word = bool(set(label) & (kw.TOTAL_WORDS | set(kw.TOTAL_PARTS)))
        if not whole_word or (item_like(i - 1) and item_like(i + 1)):
            out[i] = Kind.OTHER
    return out


def _header(text: str) -> bool:
    """True when every word of `text` but single letters (a tax column's 'M') is a column header's
    ('Item Qty Price Total', 'Description')."""
    named = [word for word in words(text).split() if len(word) > 1]
    return bool(named) and set(named) <= _HEADER_WORDS


def _wordy(text: str) -> bool:
    """Three words or more of two letters or more: a product's name, not a payment line ('VISA 12.00')."""
    return len(_WORD.findall(text)) >= _NAME_WORDS


@dataclass(slots=True)
class _Builder:
    """Walks the body rows, pairing item rows with quantity rows and name-only rows."""

    rows: list[_Row]
    items: list[tuple[int, RawItem]] = field(default_factory=list)
    pending_name: int | None = None
    pending_qty: Quantity | None = None
    used: set[int] = field(default_factory=set)
    names_below: bool | None = None  # rows of numbers take their names from below (set at the first one)

    def running_sum(self) -> float:
        """The sum of the item prices so far."""
        return sum(item.price or 0.0 for _, item in self.items)

    def name_for(self, index: int) -> TextLine | None:
        """The name-only row above `index` (not yet used), else the one just below it unless the row
        after that one is a price row without a name too (the name heads its own numbers, below it).
        When the first row of numbers comes right under a column header and has a name below it, every
        row of numbers takes the name below it ('107100041 1 2.00 2.00' over 'INARI 2PCS', under a
        'Description' header)."""
        if self.names_below is None:
            self.names_below = index > 0 and _header(self.rows[index - 1].line.text) and self._name_like(index + 1)
        below = index + 1 if self.names_below or not self._nameless_price(index + 2) else None
        for candidate in (below, self.pending_name) if self.names_below else (self.pending_name, below):
            if candidate is not None and candidate < len(self.rows) and candidate not in self.used and (
                    candidate == index - 1 or candidate == index + 1
                    or (candidate == index - 2 and self._filler(index - 1))) and self.rows[candidate].name_like:
                self.used.add(candidate)
                return self.rows[candidate].line
        return None

    def _name_like(self, index: int) -> bool:
        return index < len(self.rows) and self.rows[index].name_like

    def _filler(self, index: int) -> bool:
        """True when row `index` holds digits and no word, or only the words of units: a pack size or
        code line between an item's name and its amounts ('247G (12)'), or the units ALDI prints over
        a weight sold ('kg  EUR/kg  EUR' between 'BANANEN LOSE' and '0,158  1,19  0,19')."""
        row = self.rows[index]
        text = row.line.text
        units_only = letters(text) >= 2 and names_nothing(text)
        return (row.priced is None and row.kind is Kind.OTHER
                and ((letters(text) <= 1 and bool(_DIGITS.search(text))) or units_only))

    def _price_note(self, index: int, name: str) -> bool:
        """True when row `index`, right under an item row, holds no name but unit words or an '@'."""
        return (bool(self.items) and self.items[-1][0] == index - 1 and names_nothing(name)
                and _UNIT_WORDS.search(name) is not None)

    def _bare_amount(self, index: int) -> bool:
        """True when row `index` holds an amount in the column and nothing else."""
        row = self.rows[index] if 0 <= index < len(self.rows) else None
        return (row is not None and row.priced is not None and not row.priced[0].strip()
                and row.kind is Kind.OTHER and row.in_column)

    def _nameless_price(self, index: int) -> bool:
        """True when row `index` ends in an amount and holds no name ('£1.50 £3.00')."""
        priced = self.rows[index].priced if index < len(self.rows) else None
        return priced is not None and names_nothing(priced[0])

    def add(self, index: int, name: str, price: float, qty: Quantity | None) -> None:
        """Record an item read at row `index`."""
        line = self.rows[index].line
        item = RawItem(raw_text="", confidence=line.confidence, price=price, box=line.box)
        if names_nothing(name):
            read_bare_weight(item, name)
            named = self.name_for(index)
            name = named.text if named is not None else (name or line.text)
        if qty is not None:
            apply_quantity(item, qty)
        item.raw_text = clean_name(item, name)
        self.items.append((index, item))
        self.pending_name = None
        self.pending_qty = None

    def quantity_row(self, index: int, qty: Quantity) -> None:
        """A quantity row: completes the item above, names the row below, or is an item itself."""
        previous = self.items[-1][1] if self.items and self.items[-1][0] == index - 1 else None
        if previous is not None and previous.unit_price is None and qty.matches(previous.price):
            apply_quantity(previous, qty)
        elif qty.total is not None and self.rows[index].in_column:
            self.add(index, "", qty.total, qty)
        else:
            self.pending_qty = qty
            self.pending_name = None

    def price_row(self, index: int, name: str, price: float) -> None:
        """A row ending in an amount in the column, not a keyword line; a column header or a date and
        time left of the amount ('Quantity 13.81', 'PRICE/GAL 3.47', 'Date:14/02/18 8111 No. 9') is
        none, and so is an amount printed alone with no name row beside it to take ('$69.60' over the
        items, '25.00' under 'Tip:'): a total, tip or payment whose label stands elsewhere (amounts
        alone on rows next to each other are items whose names OCR lost: they stay), or a row of
        unit prices under an item row with no name to take ('0.20 EA 5 FOR 0.99'): the item's offer.
        An amount that the quantity line above it explains ('2 x 1,29' over '2,58') is that line's item."""
        if _header(name) or _DATE_OR_TIME.search(name):
            self.other_row(index)
            return
        qty = self.pending_qty if self.pending_qty is not None and self.pending_qty.matches(price) else None
        if (not name.strip() or self._price_note(index, name)) and qty is None:
            named = self.name_for(index)
            if named is None and not (self._bare_amount(index - 1) or self._bare_amount(index + 1)):
                self.other_row(index)
                return
            name = named.text if named is not None else name
        self.add(index, name, price, qty)

    def note_price(self, index: int, price: float) -> None:
        """A note row ending in an amount in the column right under a name row that has none ('B8-20 TOP'
        over 'ItemPrice 32.00 YouSave 25.60 6.40'): the till printed the item's price on its note."""
        self.add(index, "", price, None)

    def other_row(self, index: int) -> None:
        """Any other row: remembered as a name when it reads like one (a pack size line keeps the name
        above it pending)."""
        if self._filler(index) and self.pending_name == index - 1:
            self.pending_qty = None
            return
        self.pending_name = index if self.rows[index].name_like and index not in self.used else None
        self.pending_qty = None


def _names_sum(text: str, builder: _Builder) -> bool:
    """True when a row that does not end in a readable amount still prints the sum of the items so far
    (a total whose label and currency OCR garbled: 'CYMA 3771.64 「pH')."""
    if len(builder.items) < _MIN_SUMMED:
        return False
    running = builder.running_sum()
    return any(abs((parse_number(a) or 0.0) - running) < 0.005 for a in _ANY_AMOUNT.findall(text))


def _walk(rows: list[_Row]) -> tuple[list[tuple[int, RawItem]], int]:
    """Items up to the total, and the row of the first subtotal, tax or payment line after an item."""
    builder = _Builder(rows)
    soft_end = len(rows)
    for index, row in enumerate(rows):
        if row.quantity is not None and row.kind is Kind.OTHER:
            builder.quantity_row(index, row.quantity)
            continue
        if row.priced is None and _names_sum(row.line.text, builder):
            break
        if row.priced is not None and builder.items and row.kind in _STOPS:
            soft_end = min(soft_end, index)
        if row.kind is Kind.TOTAL and row.priced is not None:
            if builder.items and (row.priced[1] >= builder.running_sum() - 0.01
                                  or not _DIGITS.search(row.priced[0])):
                break
            builder.other_row(index)
            continue
        name, price, negative = row.priced or ("", 0.0, True)
        if row.kind is Kind.INFO and not negative and row.in_column and builder.pending_name == index - 1:
            builder.note_price(index, price)
            continue
        if row.priced is None or negative or row.kind is not Kind.OTHER or not row.in_column:
            builder.other_row(index)
            continue
        builder.price_row(index, name, price)
    return builder.items, soft_end


def _adds_up(items: Sequence[tuple[int, RawItem]], targets: set[float]) -> bool:
    total = round(sum(item.price or 0.0 for _, item in items), 2)
    return any(abs(total - target) < 0.011 for target in targets)


def _cut_at_sum(items: list[tuple[int, RawItem]], targets: set[float]) -> list[tuple[int, RawItem]]:
    """Items before the first run of one to three whose amounts add up to the sum of at least two before
    it: a total whose label the lexicons do not know ('KOKKU 63.00'), or the sum broken down by
    category or tax rate ('food 21.95', 'liquor 6.50'). Not when that sum is under half the smallest
    printed subtotal or total: then an item costs what the ones before it cost together."""
    prices = [item.price or 0.0 for _, item in items]
    floor = _SUM_SHARE * min(targets) if targets else 0.0
    for position in range(_MIN_SUMMED, len(items)):
        running = round(sum(prices[:position]), 2)
        if running > floor and any(_breaks_down(prices, position, end, running)
                               for end in range(position + 1, min(position + _BREAKDOWN, len(items)) + 1)):
            return items[:position]
    return items


def _breaks_down(prices: Sequence[float], start: int, end: int, running: float) -> bool:
    """True when prices[start:end] add up to `running`; a run of several must end the list (but for
    rows repeating the sum) and follow more items than it has rows, or repeated purchases and two
    items costing what two before them cost would pass for a breakdown."""
    if abs(sum(prices[start:end]) - running) >= 0.005:
        return False
    if end - start == 1:
        return True
    return start > end - start and all(abs(price - running) < 0.005 for price in prices[end:])


def _one_item_repeated(items: list[tuple[int, RawItem]], total: float | None) -> list[tuple[int, RawItem]]:
    """The first item alone when the list is two rows of one amount under different names and the
    receipt's total is under one and a half times it: the second row prints the sum of the first under a
    label the lexicons do not know ('Issue Postage: $12.35', 'Food 38.00', 'NETT PRICE 22.20'); a second
    purchase would double the total (unless coupons paid for it: the same name twice is two purchases)."""
    if len(items) != 2 or total is None:
        return items
    (_, first), (_, second) = items
    price = first.price or 0.0
    if price <= 0 or abs(price - (second.price or 0.0)) >= 0.005 or total >= _ONE_ITEM_TOTAL * price:
        return items
    similarity = difflib.SequenceMatcher(None, compact(first.raw_text), compact(second.raw_text)).ratio()
    return items if similarity >= _SAME_NAME else items[:1]


def _choose(rows: list[_Row], items: list[tuple[int, RawItem]], soft_end: int,
            total: float | None = None) -> list[RawItem]:
    """Items before the soft end, or the longer list when that adds up to a printed subtotal or total
    or goes on for several more items (a multi-section receipt, a keyword read inside a name), unless
    the items before the soft end already add up (then the rows after are taxes and charges), or
    both add up and several more items follow (sections with their own subtotals); `total` (the
    receipt's, from its header) tells one item and its sum from two purchases (`_one_item_repeated`)."""
    targets = {row.priced[1] for row in rows if row.priced and row.kind in (Kind.SUBTOTAL, Kind.TOTAL)}
    if not _adds_up(items, targets):
        items = _cut_at_sum(items, targets)
    early = [pair for pair in items if pair[0] < soft_end]
    more = len(items) - len(early)
    early_adds, all_adds = _adds_up(early, targets), _adds_up(items, targets)
    longer = more > 0 and (all_adds or more >= _MORE_ITEMS) and (not early_adds or (all_adds and more >= _MORE_ITEMS))
    return [item for _, item in _one_item_repeated(items if longer else early, total)]


def _as_lines(lines: Sequence[TextLine | str]) -> list[TextLine]:
    out = [line if isinstance(line, TextLine) else TextLine(line) for line in lines]
    return [TextLine(clean_ocr(line.text), line.confidence, line.box, line.x_span, line.height)
            for line in out if line.text.strip()]


def parse_receipt(lines: Sequence[TextLine | str], *, lang: str | None = None) -> ParsedReceipt:
    """Items and header of a receipt given its lines top to bottom; never raises on odd text.

    `lang` (the job's language) helps the header with the currency and the order of dates.
    """
    text_lines = _as_lines(lines)
    rows = _rows(text_lines)
    header = parse_header(text_lines, lang=lang)
    items = _choose(rows, *_walk(rows), header.total)
    return ParsedReceipt(items, header, bool(items) or header.total is not None)


def parse_text(text: str, *, lang: str | None = None) -> ParsedReceipt:
    """`parse_receipt` over the lines of a string."""
    return parse_receipt(text.splitlines(), lang=lang)
