"""Enrichment: raw recognized lines -> pantry items (name, quantity, unit, category, shelf life).

One module used by the API and the worker, as the seed's itemEnricher.
PLACEHOLDER VERSION: the recognition work replaces the body with catalog-backed
normalisation; the public names and signatures below are the contract.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.recognition.base import RawItem

CATEGORIES = (
    "produce", "dairy", "meat", "fish", "bakery", "frozen",
    "pantry", "beverages", "snacks", "household", "other",
)
UNITS = ("pcs", "g", "kg", "ml", "l")


@dataclass(frozen=True, slots=True)
class Alias:
    """A user's correction of a raw receipt line, applied before the catalog."""

    name: str
    category: str
    unit: str


@dataclass(slots=True)
class PantryItem:
    """One enriched item, as stored in a job's result and shown to clients."""

    name: str
    raw_text: str
    quantity: float
    unit: str
    category: str
    confidence: float
    image_index: int
    price: float | None = None
    unit_price: float | None = None
    storage_days: int | None = None
    box: list[tuple[float, float]] | None = None


def alias_key(raw_text: str) -> str:
    """The key a raw line is looked up by in a user's aliases (case and spacing folded)."""
    return " ".join(raw_text.lower().split())


class Enricher:
    """Turns raw items into pantry items; cheap to call, load it once per process."""

    def enrich(
        self,
        items: Sequence[tuple[int, RawItem]],
        *,
        lang: str,
        aliases: Mapping[str, Alias] | None = None,
    ) -> list[PantryItem]:
        """Enrich `(image_index, raw_item)` pairs; never raises on unknown words."""
        aliases = aliases or {}
        out: list[PantryItem] = []
        for image_index, raw in items:
            alias = aliases.get(alias_key(raw.raw_text))
            out.append(
                PantryItem(
                    name=alias.name if alias else (raw.name_hint or raw.raw_text),
                    raw_text=raw.raw_text,
                    quantity=raw.quantity if raw.quantity is not None else 1.0,
                    unit=alias.unit if alias else (raw.unit or "pcs"),
                    category=alias.category if alias else (raw.category_hint or "other"),
                    confidence=raw.confidence,
                    image_index=image_index,
                    price=raw.price,
                    unit_price=raw.unit_price,
                    box=raw.box,
                )
            )
        return out
