"""The amount paid: every amount on the receipt is a candidate, and a weighted score picks one.

The score adds up transparent features: a total keyword on the amount's row (or on the row
above when the amount stands alone), minus keywords that mark other sums (subtotal, tax, change,
cash tendered, rounding, discount, counts); the row's place (lower half, right column) and font
size; whether the amount is the largest one that is not cash or change; and arithmetic that
receipts print: cash - change = total, subtotal + tax = total, a rounding adjustment between an
unrounded and the paid total, the total repeated on a card payment line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.recognition import receipt_words as kw
from app.recognition.receipt_rows import Lexicon, Row

_L = {
    name: Lexicon(phrases, fuzzy={"strong": 8, "plain": 5}.get(name, 0))
    for name, phrases in (
        ("strong", kw.TOTAL_STRONG), ("plain", kw.TOTAL_PLAIN), ("not_total", kw.NOT_TOTAL),
        ("tax", kw.TAX_LINE), ("change", kw.CHANGE_LINE), ("tendered", kw.TENDERED_LINE),
        ("card", kw.CARD_LINE), ("rounding", kw.ROUNDING_LINE), ("discount", kw.DISCOUNT_LINE),
        ("count", kw.COUNT_LINE),
    )
}
_CENT = 0.005
_MAX_ROUNDING = 1.0
_WHOLE = re.compile(r"(?:^|(?<=[\s:$€£¥A-Za-z]))(\d{1,3}(?:[., ']\d{3})+|\d{1,6})(?![\d.,])[^\d]{0,5}$")
_STRONG_OVERRIDES = frozenset({"tax", "rounding", "tendered"})
_NOT_PAID = frozenset({"change", "tendered", "count", "discount", "rounding"})
WEIGHTS = {
    "strong": 4.0, "plain": 2.5, "not_total": -4.0, "change": -5.0, "discount": -3.0, "count": -3.0,
    "tax": -2.5, "rounding": -4.0, "tendered": -2.0, "inherited": 0.8, "low": 1.0, "top": -1.5,
    "size": 1.5, "right": 0.5, "largest": 1.5, "repeat": 0.7, "card": 1.0, "cash_change": 2.5,
    "sub_tax": 1.5, "rounded": 2.0,
}


@dataclass(frozen=True, slots=True)
class RowTags:
    """Which lexicons a row's label (its text left of the last amount) matched, and where."""

    spans: dict[str, tuple[int, int]]  # lexicon name -> (start, length) in the squeezed label

    @property
    def tags(self) -> frozenset[str]:
        """The matched lexicons' names."""
        return frozenset(self.spans)

    def _covered(self, tag: str) -> bool:
        """True when a longer strong-total phrase contains this match ('TOTAL GST INCL' over 'TOTAL GST')."""
        if tag not in self.spans or "strong" not in self.spans:
            return False
        (start, size), (s_start, s_size) = self.spans[tag], self.spans["strong"]
        return s_size > size and s_start <= start and start + size <= s_start + s_size

    def keyword_score(self, *, rounded: bool = False) -> float:
        """Positive for total words, negative for words of other sums.

        A count or tax word before the total word does not count against it
        ('ITEM 2 TOTAL WITH GST'), and a strong total ('ROUNDED TOTAL', 'TOTAL INCL GST') is not
        a tax, rounding or payment line. `rounded`: the amount is too large for a rounding
        adjustment, so a rounding word labels the rounded total ('ROUNDING RM 45.35').
        """
        where = {k: v[0] for k, v in self.spans.items() if not self._covered(k)}
        if rounded:
            where = {("plain" if k == "rounding" else k): v for k, v in where.items()}
        strong = "strong" in where
        score = WEIGHTS["strong"] if strong else WEIGHTS["plain"] if "plain" in where else 0.0
        total_at = min((where[t] for t in ("strong", "plain") if t in where), default=-1)
        for tag in ("not_total", "change", "discount", "count", "tax", "rounding", "tendered"):
            if tag not in where or (strong and tag in _STRONG_OVERRIDES):
                continue
            if tag not in ("count", "tax") or where[tag] >= total_at:
                score += WEIGHTS[tag]
        return score


@dataclass(frozen=True, slots=True)
class Candidate:
    """One amount on one row, with the keyword score it inherits from its row."""

    value: float
    row: Row
    keyword: float
    last: bool


def _label(row: Row) -> str:
    """The text left of the row's last amount, back to the amount before it when words stand between."""
    if not row.amounts:
        return row.text
    before = row.text[: row.amounts[-1].start]
    if len(row.amounts) > 1:
        segment = row.text[row.amounts[-2].end : row.amounts[-1].start]
        if _has_letters(segment):
            return segment
    return before


def tag_row(row: Row) -> RowTags:
    """The lexicons matched by the row's label, with where each last matched."""
    label = _label(row)
    spans = {}
    for name, lexicon in _L.items():
        found = lexicon.locate(label)
        if found is not None:
            spans[name] = (found[1], len(found[0]))
    return RowTags(spans)


def _has_letters(text: str) -> bool:
    return sum(c.isalpha() for c in text) >= 2


def candidates(rows: list[Row], tags: list[RowTags]) -> list[Candidate]:
    """Every positive amount, with its row's keyword score (or the row above's, for a bare amount)."""
    found = []
    for row, tag in zip(rows, tags, strict=True):
        keyword = tag.keyword_score()
        if not _has_letters(_label(row).replace("RM", "")) and row.index > 0:
            above = rows[row.index - 1]
            if not above.amounts:
                keyword = WEIGHTS["inherited"] * tags[row.index - 1].keyword_score()
        for i, amount in enumerate(row.amounts):
            last = i == len(row.amounts) - 1
            if amount.value <= 0:
                continue
            if "rounding" in tag.tags and amount.value >= _MAX_ROUNDING:
                keyword = tag.keyword_score(rounded=True)
            found.append(Candidate(amount.value, row, keyword if last else min(keyword, 0.0), last))
        whole = _whole_amount(row) if not row.amounts and keyword > 0 else None
        if whole:
            found.append(Candidate(whole, row, keyword - 1.0, True))
    return found


def _whole_amount(row: Row) -> float | None:
    """A total printed without cents at the end of a total row ('GrandTotal 2545', 'TOTAL XPF 12 312')."""
    match = _WHOLE.search(row.text)
    return float(re.sub(r"\D", "", match.group(1))) if match else None


def _values(rows: list[Row], tags: list[RowTags], tag: str) -> list[float]:
    return [abs(a.value) for row, t in zip(rows, tags, strict=True) if tag in t.tags for a in row.amounts[-1:]]


def _near(value: float, others: Iterable[float]) -> bool:
    return any(abs(value - other) < _CENT for other in others)


@dataclass(slots=True)
class _Context:
    """Sums the receipt prints elsewhere, for the arithmetic features."""

    largest: float
    cash_minus_change: list[float]
    subtotal_plus_tax: list[float]
    card: list[float]
    rounding: list[tuple[int, float]]
    found: list[Candidate]

    def after(self, index: int) -> list[float]:
        """Amounts below row `index` that are not marked as another kind of sum."""
        return [c.value for c in self.found if c.row.index > index and c.keyword >= 0]

    def keyword_before(self, index: int) -> list[float]:
        """Amounts above row `index` labelled as a total."""
        return [c.value for c in self.found if c.row.index < index and c.keyword > 0]


def _context(rows: list[Row], tags: list[RowTags], found: list[Candidate]) -> _Context:
    eligible = [c.value for c in found if not tags[c.row.index].tags & _NOT_PAID]
    cash = _values(rows, tags, "tendered")
    change = _values(rows, tags, "change")
    subtotals = [c.value for c in found if "not_total" in tags[c.row.index].tags and c.last]
    taxes = _values(rows, tags, "tax")
    rounding = [(row.index, abs(row.amounts[-1].value)) for row, t in zip(rows, tags, strict=True)
                if "rounding" in t.tags and "strong" not in t.tags and row.amounts]
    return _Context(
        largest=max(eligible, default=0.0),
        cash_minus_change=[c - h for c in cash for h in change if c > h],
        subtotal_plus_tax=[s + t for s in subtotals for t in taxes if t > 0],
        card=_values(rows, tags, "card"),
        rounding=[(i, r) for i, r in rounding if _CENT <= r < _MAX_ROUNDING],
        found=found,
    )


def _arithmetic(candidate: Candidate, ctx: _Context) -> float:
    value = candidate.value
    score = WEIGHTS["cash_change"] if _near(value, ctx.cash_minus_change) else 0.0
    score += WEIGHTS["sub_tax"] if _near(value, ctx.subtotal_plus_tax) else 0.0
    score += WEIGHTS["card"] if candidate.keyword >= 0 and _near(value, ctx.card) else 0.0
    for index, adjustment in ctx.rounding:
        # The total after a rounding line is the one paid; the one before it was rounded away.
        before = candidate.row.index < index
        others = ctx.after(index) if before else ctx.keyword_before(index)
        if candidate.keyword >= 0 and _near(value, [o + adjustment for o in others] + [o - adjustment for o in others]):
            score += -WEIGHTS["rounded"] if before else WEIGHTS["rounded"]
    return score


def score(candidate: Candidate, ctx: _Context, repeats: int) -> float:
    """The weighted sum of a candidate's features."""
    row = candidate.row
    total = candidate.keyword + WEIGHTS["low"] * row.y + (WEIGHTS["top"] if row.y < 0.15 else 0.0)
    total += WEIGHTS["size"] * min(row.size - 1.0, 1.0) if row.size > 1.15 else 0.0
    total += WEIGHTS["right"] if row.right > 0.75 and candidate.last else 0.0
    total += WEIGHTS["largest"] if abs(candidate.value - ctx.largest) < _CENT else 0.0
    total += WEIGHTS["repeat"] * min(repeats, 2)
    return total + _arithmetic(candidate, ctx)


def find_total(rows: list[Row]) -> float | None:
    """The best-scored amount, or None when the receipt prints no amount."""
    tags = [tag_row(row) for row in rows]
    found = candidates(rows, tags)
    if not found:
        return None
    ctx = _context(rows, tags, found)
    rows_by_value: dict[float, set[int]] = {}
    for c in found:
        rows_by_value.setdefault(round(c.value, 2), set()).add(c.row.index)
    best = max(found, key=lambda c: score(c, ctx, len(rows_by_value[round(c.value, 2)]) - 1))
    return round(best.value, 2)
