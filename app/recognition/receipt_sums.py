"""The arithmetic receipts print around their total, as evidence for `receipt_total`'s candidates.

cash - change = total; subtotal + tax = total; the gross column of a tax table adds up to the
total; the items above add up to the total; a rounding
adjustment or a tip between an earlier total and the one paid; the total repeated on a card line.
When OCR misread one digit of the labelled total ('Net Total 35.20' for 85.20), the sum the
receipt's other amounts agree on (cash 100.20 - change 15.00) is the total: `mend_digit`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.recognition.receipt_rows import Row
    from app.recognition.receipt_total import Candidate, RowTags

_CENT = 0.005
_MAX_ROUNDING = 1.0
_NOT_PAID = frozenset({"change", "tendered", "count", "discount", "rounding", "tip"})
_WEIGHTS = {"cash_change": 2.5, "sub_tax": 1.5, "card": 1.0, "rounded": 2.0, "items_sum": 0.0, "tipped": 3.5}


def near(value: float, others: Iterable[float]) -> bool:
    """True when `value` is within half a cent of one of `others`."""
    return any(abs(value - other) < _CENT for other in others)


def _values(rows: list[Row], tags: list[RowTags], tag: str) -> list[float]:
    return [abs(a.value) for row, t in zip(rows, tags, strict=True) if tag in t.tags for a in row.amounts[-1:]]


@dataclass(slots=True)
class Sums:
    """Sums the receipt prints elsewhere, for the arithmetic features."""

    largest: float
    cash_minus_change: list[float]
    subtotal_plus_tax: list[float]
    card: list[float]
    adjustments: list[tuple[int, float, bool]]  # row, amount, True for a rounding (either sign), False for a tip
    items: list[tuple[int, float]]  # row, sum of the untagged amounts above it
    vat_table: list[float]  # the gross column of a tax table whose rows add up, summed (when two rows or more)
    found: list[Candidate]

    def after(self, index: int, *, paid: bool = False) -> list[float]:
        """Amounts below row `index` that are not marked as another kind of sum (`paid`: or are payments)."""
        return [c.value for c in self.found if c.row.index > index and (c.keyword >= 0 or paid)]

    def keyword_before(self, index: int) -> list[float]:
        """Amounts above row `index` labelled as a total."""
        return [c.value for c in self.found if c.row.index < index and c.keyword > 0]


def _item_sums(rows: list[Row], tags: list[RowTags]) -> list[tuple[int, float]]:
    """Running sums of the last amount of every row with words and no lexicon tag, top to bottom."""
    running, sums_ = 0.0, []
    for row, tag in zip(rows, tags, strict=True):
        if row.amounts and not tag.tags and row.amounts[-1].value > 0 and sum(c.isalpha() for c in row.text) >= 2:
            running += row.amounts[-1].value
            sums_.append((row.index, running))
    return sums_


def _vat_table(rows: list[Row]) -> list[float]:
    """The sum of the gross column of a tax table ('B 19,0% 1,44 7,55 8,99'), counting only rows whose
    tax and net add up to their gross; empty unless two rows or more do."""
    gross = []
    for row in rows:
        values = sorted(abs(a.value) for a in row.amounts)
        if "%" in row.text and len(values) >= 3 and abs(values[-1] - values[-2] - values[-3]) < _CENT:
            gross.append(values[-1])
    return [sum(gross)] if len(gross) >= 2 else []


def _adjustments(rows: list[Row], tags: list[RowTags]) -> list[tuple[int, float, bool]]:
    found = []
    for row, tag in zip(rows, tags, strict=True):
        if not row.amounts or "strong" in tag.tags:
            continue
        value = abs(row.amounts[-1].value)
        if "rounding" in tag.tags and _CENT <= value < _MAX_ROUNDING:
            found.append((row.index, value, True))
        elif "tip" in tag.tags and value >= _CENT:
            found.append((row.index, value, False))
    return found


def sums(rows: list[Row], tags: list[RowTags], found: list[Candidate]) -> Sums:
    """The sums of one receipt, from its rows, their lexicon tags and the amount candidates."""
    eligible = [c.value for c in found if not tags[c.row.index].tags & _NOT_PAID]
    cash = _values(rows, tags, "tendered")
    change = _values(rows, tags, "change")
    subtotals = [c.value for c in found if "not_total" in tags[c.row.index].tags and c.last]
    taxes = _values(rows, tags, "tax")
    return Sums(
        largest=max(eligible, default=0.0),
        cash_minus_change=[c - h for c in cash for h in change if c > h],
        subtotal_plus_tax=[s + t for s in subtotals for t in taxes if t > 0],
        card=_values(rows, tags, "card"),
        adjustments=_adjustments(rows, tags),
        items=_item_sums(rows, tags),
        vat_table=_vat_table(rows),
        found=found,
    )


def arithmetic(candidate: Candidate, ctx: Sums) -> float:
    """The arithmetic features' weighted sum for one candidate."""
    value = candidate.value
    score = _WEIGHTS["cash_change"] if near(value, ctx.cash_minus_change) else 0.0
    score += _WEIGHTS["sub_tax"] if near(value, [*ctx.subtotal_plus_tax, *ctx.vat_table]) else 0.0
    score += _WEIGHTS["card"] if candidate.keyword >= 0 and near(value, ctx.card) else 0.0
    score += _WEIGHTS["items_sum"] if near(value, (s for i, s in ctx.items if i < candidate.row.index)) else 0.0
    for index, adjustment, either_sign in ctx.adjustments:
        # The total after a rounding or tip line is the one paid; the one before it is not.
        before = candidate.row.index < index
        others = ctx.after(index, paid=not either_sign) if before else ctx.keyword_before(index)
        if before:
            shifted = [o - adjustment for o in others] + ([o + adjustment for o in others] if either_sign else [])
        else:
            shifted = [o + adjustment for o in others] + ([o - adjustment for o in others] if either_sign else [])
        if (candidate.keyword >= 0 or not (before or either_sign)) and near(value, shifted):
            weight = _WEIGHTS["rounded"] if either_sign else _WEIGHTS["tipped"]
            score += -weight if before else weight
    return score


def _digits(value: float) -> str:
    return f"{value:.2f}"


def one_digit_apart(a: float, b: float) -> bool:
    """True when the two amounts print with the same number of digits and differ in exactly one, not the
    last (a difference in the last cent is as likely a rounding as a misread)."""
    x, y = _digits(a), _digits(b)
    differ = [i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q] if len(x) == len(y) else []
    return len(differ) == 1 and differ[0] != len(x) - 1


def mend_digit(best: Candidate, ctx: Sums) -> float:
    """The best candidate's value, or the sum two other printed amounts agree on when the best one is
    that sum with one digit misread and the sum is printed on the receipt too."""
    agreed = [*ctx.cash_minus_change, *ctx.subtotal_plus_tax]
    agreed += [o + a for i, a, _ in ctx.adjustments for o in ctx.keyword_before(i)]
    if near(best.value, [*agreed, *ctx.vat_table]):
        return best.value
    printed = [c.value for c in ctx.found if c is not best]
    for value in agreed:
        if one_digit_apart(best.value, value) and near(value, printed):
            return round(value, 2)
    # A tax table whose every row adds up is evidence enough on its own.
    for value in ctx.vat_table:
        if one_digit_apart(best.value, value):
            return round(value, 2)
    return best.value
