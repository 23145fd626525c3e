"""Scoring a recognizer's answer for one receipt against the truth of `bench.real_sets`.

Header fields are right or wrong (None when the receipt has no truth for the field); items are
counted for F1 twice: price-matched (multisets of prices in cents) and name-and-price matched
(equal price and compacted names at least NAME_RATIO similar, matched one to one). The
name-and-price F1 is reported twice: over every expected item (an item whose labels give no
name is a miss whatever we answer), and over the items the labels name, as `bench.real_sets`
says such an item is expected: for price matching only (it leaves the expected count, and the
answered item whose price it matches, after the name matches, leaves the found count).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from app.recognition.text import compact
from bench.real_sets import Truth, TruthItem

MERCHANT_RATIO = 0.9
NAME_RATIO = 0.8


@dataclass(slots=True)
class Prediction:
    """What the recognizer answered: header fields and (raw name, price) per item."""

    merchant: str | None = None
    purchased_at: str | None = None
    currency: str | None = None
    total: float | None = None
    items: list[tuple[str, float | None]] = field(default_factory=list)


@dataclass(slots=True)
class ImageScore:
    """One image's result: each header field right/wrong/None (no truth), and item counts."""

    fields: dict[str, bool | None]
    found: int = 0
    expected: int | None = None
    price_hits: int | None = None
    name_hits: int | None = None
    named_found: int | None = None  # found less the answers price-matched to items the labels do not name
    named_expected: int | None = None  # expected items the labels name


def ratio(a: str, b: str) -> float:
    """difflib similarity of the compacted alphanumerics of two texts."""
    return difflib.SequenceMatcher(None, compact(a), compact(b), autojunk=False).ratio()


def merchant_right(truth: Truth, merchant: str | None) -> bool | None:
    """The merchant rule of the set (see `bench.real_sets`); None when the set has no merchant truth."""
    if not truth.merchants:
        return None
    got = compact(merchant or "")
    if truth.merchant_rule == "contains":
        return bool(got) and any(name in got for name in truth.merchants)
    return bool(got) and any(ratio(got, name) >= MERCHANT_RATIO for name in truth.merchants)


def date_right(truth: Truth, purchased_at: str | None) -> bool | None:
    """Same calendar date (the time is ignored); None without date truth."""
    if not truth.dates:
        return None
    try:
        return purchased_at is not None and date.fromisoformat(purchased_at[:10]) in truth.dates
    except ValueError:
        return False


def _cents(price: float | None) -> int | None:
    return None if price is None else round(price * 100)


def name_price_hits(expected: Sequence[TruthItem], got: Sequence[tuple[str, float | None]]) -> int:
    """Pairs with equal price and names at least NAME_RATIO similar, matched greedily by similarity."""
    return len(_name_matches(expected, got))


def _name_matches(expected: Sequence[TruthItem], got: Sequence[tuple[str, float | None]]) -> set[int]:
    """The answers (indices into `got`) matched by `name_price_hits`."""
    pairs = sorted(((ratio(t.name, g[0]), i, j) for i, t in enumerate(expected) for j, g in enumerate(got)
                    if t.name and _cents(t.price) == _cents(g[1])), reverse=True)
    used_t: set[int] = set()
    used_g: set[int] = set()
    for similarity, i, j in pairs:
        if similarity >= NAME_RATIO and i not in used_t and j not in used_g:
            used_t.add(i)
            used_g.add(j)
    return used_g


def unnamed_matches(expected: Sequence[TruthItem], got: Sequence[tuple[str, float | None]], used: set[int]) -> int:
    """How many answers not in `used` match, by price one to one, an expected item the labels do not name."""
    want = Counter(_cents(t.price) for t in expected if not t.name)
    have = Counter(_cents(p) for j, (_, p) in enumerate(got) if j not in used and p is not None)
    return sum((want & have).values())


def score(truth: Truth, got: Prediction) -> ImageScore:
    """Score one prediction; fields without truth are None (n/a)."""
    fields = {
        "total": None if truth.total is None else got.total is not None and abs(got.total - truth.total) < 0.005,
        "date": date_right(truth, got.purchased_at),
        "merchant": merchant_right(truth, got.merchant),
        "currency": (got.currency in truth.currencies) if truth.currencies else None,
    }
    result = ImageScore(fields, found=len(got.items), expected=truth.item_count)
    if truth.items is not None:
        want = Counter(_cents(t.price) for t in truth.items)
        result.expected = len(truth.items)
        result.price_hits = sum((Counter(_cents(p) for _, p in got.items if p is not None) & want).values())
        used = _name_matches(truth.items, got.items)
        result.name_hits = len(used)
        result.named_expected = sum(1 for t in truth.items if t.name)
        result.named_found = result.found - unnamed_matches(truth.items, got.items, used)
    return result


def f1(hits: int, found: int, expected: int) -> float:
    """F1 from matched, predicted and expected counts (0 when nothing was predicted or expected)."""
    return 2 * hits / (found + expected) if found + expected else 0.0
