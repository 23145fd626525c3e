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
from dataclasses import dataclass

from app.recognition import receipt_words as kw
from app.recognition.receipt_fuzzy import OcrLexicon
from app.recognition.receipt_rows import Lexicon, Row
from app.recognition.receipt_sums import Sums, arithmetic, mend_digit, sums

_FUZZY = {"strong": 8, "plain": 5, "not_total": 8, "tendered": 6, "change": 6}
# Words of a tip or gratuity added after the total: the amount after it is the one paid.
TIP_LINE = ("tip", "tips", "gratuity", "trinkgeld", "pourboire", "propina", "mancia", "fooi", "napiwek",
            "spropitne", "bahsis", "чаевые", "чайові", "бакшиш", "ทิป")
_EXTRA = {"strong": ("bal due", "balance due"), "plain": ("due",), "card": ("cheque",)}
_PHRASES = {
    name: (*phrases, *_EXTRA.get(name, ()))
    for name, phrases in (
        ("strong", kw.TOTAL_STRONG), ("plain", kw.TOTAL_PLAIN), ("not_total", kw.NOT_TOTAL),
        ("tax", kw.TAX_LINE), ("change", kw.CHANGE_LINE), ("tendered", kw.TENDERED_LINE),
        ("card", kw.CARD_LINE), ("rounding", kw.ROUNDING_LINE), ("discount", kw.DISCOUNT_LINE),
        ("count", kw.COUNT_LINE), ("tip", TIP_LINE),
    )
}
_L = {name: OcrLexicon(p, fuzzy=_FUZZY.get(name, 0), confusable_only=name == "change") for name, p in _PHRASES.items()}
_EXACT = {name: Lexicon(p) for name, p in _PHRASES.items()}
_CENT = 0.005
_MAX_ROUNDING = 1.0
# A whole amount ends the row, followed at most by a currency ('TOTAL 2545', 'Summe 12 EUR', 'TOTAL 40,-').
_WHOLE = re.compile(
    r"(?:^|(?<=[\s:$€£¥₹A-Za-z]))(\d{1,3}(?:[., ']\d{3})+|\d{1,6})(?!\d|[.,]\d)"
    r"\s*(?:[A-Z]{2,3}\b|[$€£¥₹₺₽฿]|[,.]?-+)?[\s*=)]*$"
)
_STRONG_OVERRIDES = frozenset({"tax", "rounding", "tendered"})
WEIGHTS = {
    "strong": 4.0, "plain": 2.5, "not_total": -4.0, "change": -5.0, "discount": -3.0, "count": -3.0,
    "tax": -2.5, "rounding": -4.0, "tip": -4.0, "tendered": -2.0, "inherited": 0.8, "low": 1.0, "top": -1.5,
    "size": 1.5, "right": 0.5, "largest": 1.5, "repeat": 0.7,
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
        for tag in ("not_total", "change", "discount", "count", "tax", "rounding", "tendered", "tip"):
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


def tag_row(row: Row, *, fuzzy: bool = True) -> RowTags:
    """The lexicons matched by the row's label, with where each last matched; `fuzzy` forgives OCR slips."""
    label = _label(row)
    spans = {}
    for name, lexicon in (_L if fuzzy else _EXACT).items():
        found = lexicon.locate(label)
        if found is not None:
            spans[name] = (found[1], len(found[0]))
    return RowTags(spans)


def _has_letters(text: str) -> bool:
    return sum(c.isalpha() for c in text) >= 2


def _bare(row: Row) -> bool:
    """True when the row is one amount alone, perhaps with a currency ('RM 60.30', '€ 9,99')."""
    label = _label(row)
    return len(row.amounts) == 1 and not _has_letters(label.replace("RM", "")) and not any(
        c.isdigit() for c in label)


def candidates(rows: list[Row], tags: list[RowTags]) -> list[Candidate]:
    """Every positive amount, with its row's keyword score (or the row above's, for a bare amount)."""
    found, wholes = [], []
    printed = {round(a.value, 2) for row in rows for a in row.amounts}
    for row, tag in zip(rows, tags, strict=True):
        keyword = tag.keyword_score()
        if _bare(row) and row.index > 0:
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
        whole = _whole_amount(row, printed) if not row.amounts and keyword > 0 else None
        if whole:
            wholes.append(Candidate(whole, row, keyword - 1.0, True))
    # A number without cents is a total only on receipts whose total words label no amount with cents.
    return found + ([] if any(c.keyword > 0 and c.last for c in found) else wholes)


def _whole_amount(row: Row, printed: set[float]) -> float | None:
    """A total printed without cents at the end of a total row ('GrandTotal 2545', 'TOTAL XPF 12 312').

    When OCR lost the decimal point ('Total 600' beside 'Payment 6.00'), the amount with the point
    put back is taken if it is printed elsewhere and the whole number is not.
    """
    match = _WHOLE.search(row.text)
    if match is None:
        return None
    value = float(re.sub(r"\D", "", match.group(1)))
    return value / 100 if value >= 100 and value / 100 in printed and value not in printed else value


def score(candidate: Candidate, ctx: Sums, repeats: int) -> float:
    """The weighted sum of a candidate's features."""
    row = candidate.row
    total = candidate.keyword + WEIGHTS["low"] * row.y + (WEIGHTS["top"] if row.y < 0.15 else 0.0)
    total += WEIGHTS["size"] * min(row.size - 1.0, 1.0) if row.size > 1.15 else 0.0
    total += WEIGHTS["right"] if row.right > 0.75 and candidate.last else 0.0
    total += WEIGHTS["largest"] if abs(candidate.value - ctx.largest) < _CENT else 0.0
    total += WEIGHTS["repeat"] * min(repeats, 2)
    return total + arithmetic(candidate, ctx)


def _may_label(rows: list[Row], row: Row) -> bool:
    """True when the row's words can label an amount: it has one, or the row below is a bare amount."""
    below = rows[row.index + 1] if row.index + 1 < len(rows) else None
    return bool(row.amounts) or (below is not None and _bare(below))


def find_total(rows: list[Row]) -> float | None:
    """The best-scored amount, or None when the receipt prints no amount."""
    tags = [tag_row(row, fuzzy=_may_label(rows, row)) for row in rows]
    found = candidates(rows, tags)
    if not found:
        return None
    ctx = sums(rows, tags, found)
    rows_by_value: dict[float, set[int]] = {}
    for c in found:
        rows_by_value.setdefault(round(c.value, 2), set()).add(c.row.index)
    best = max(found, key=lambda c: score(c, ctx, len(rows_by_value[round(c.value, 2)]) - 1))
    return round(mend_digit(best, ctx), 2)
