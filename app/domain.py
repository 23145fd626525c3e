"""The domain's words, defined once: plans, job types and statuses, and the documents a job stores.

The lowest layer: it imports only the standard library, and every other layer may import it.

- The enums are the values stored in the database, sent on Kafka and, by member name, shown in
  GraphQL (`app.schema.types` exposes these very classes through strawberry).
- `JobResult` is the result document: `app.services.processing` builds it, its `to_json()` is
  stored in `product_recognition_jobs.result`, and `app.schema.mapping` reads it back with
  `from_json()`, which also accepts the shapes earlier versions stored (see each `from_json`).
- `ReviewedItem` is one entry of `confirmed_items`, written by `app.services.confirm`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self


class _Values(StrEnum):
    @classmethod
    def parse(cls, value: object) -> Self | None:
        """The member whose value is `value`; None for anything else, of any type."""
        if not isinstance(value, str):
            return None
        try:
            return cls(value)
        except ValueError:
            return None


class Plan(_Values):
    """The user's plan; paid jobs are served before free ones."""

    FREE = "free"
    PAID = "paid"


class JobType(_Values):
    """What the photos show: a shop receipt, or the products themselves."""

    RECEIPT = "receipt"
    PRODUCTS = "products"


class JobStatus(_Values):
    """Where a job is: PENDING -> PROCESSING -> DONE or FAILED, never back."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """DONE or FAILED: the job will not change any more (but for its confirmed items)."""
        return self in (JobStatus.DONE, JobStatus.FAILED)


class ImageStatus(_Values):
    """What happened to one image of a job."""

    DONE = "done"
    FAILED = "failed"


Point = tuple[float, float]  # pixels from the image's top-left corner


@dataclass(frozen=True, slots=True)
class ResultItem:
    """One pantry item, as the enricher (`app.recognition.enrich`) makes it and a result stores it.

    `catalog_key` names the catalog entry that matched; it is stored, not shown in GraphQL.
    """

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
    box: tuple[Point, ...] | None = None
    catalog_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored object: every field, in declaration order, the box as [[x, y], ...]."""
        return {
            "name": self.name, "raw_text": self.raw_text, "quantity": self.quantity, "unit": self.unit,
            "category": self.category, "confidence": self.confidence, "image_index": self.image_index,
            "price": self.price, "unit_price": self.unit_price, "storage_days": self.storage_days,
            "box": None if self.box is None else [[x, y] for x, y in self.box],
            "catalog_key": self.catalog_key,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ResultItem:
        """Read a stored item; the first version had no storage_days and no catalog_key."""
        box = doc.get("box")
        return cls(
            name=doc["name"], raw_text=doc["raw_text"], quantity=doc["quantity"], unit=doc["unit"],
            category=doc["category"], confidence=doc["confidence"], image_index=doc["image_index"],
            price=doc.get("price"), unit_price=doc.get("unit_price"), storage_days=doc.get("storage_days"),
            box=None if box is None else tuple((p[0], p[1]) for p in box),
            catalog_key=doc.get("catalog_key"),
        )


@dataclass(frozen=True, slots=True)
class ImageResult:
    """What happened to one image: read (maybe with nothing found, then `note` says why) or failed."""

    index: int
    status: ImageStatus
    item_count: int = 0
    duration_ms: int = 0
    error: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored object: every field, in declaration order."""
        return {
            "index": self.index, "status": self.status.value, "item_count": self.item_count,
            "duration_ms": self.duration_ms, "error": self.error, "note": self.note,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ImageResult:
        """Read a stored image outcome; only `index` and `status` were ever required."""
        return cls(
            index=doc["index"], status=ImageStatus(doc["status"]), item_count=doc.get("item_count", 0),
            duration_ms=doc.get("duration_ms", 0), error=doc.get("error"), note=doc.get("note"),
        )


@dataclass(frozen=True, slots=True)
class ReceiptFields:
    """Fields printed once on a receipt, merged over the job's images; any may be unreadable.

    `total_matches`: the items' prices add up to the printed total.
    """

    merchant: str | None = None
    purchased_at: str | None = None  # ISO 8601 date or date-time, as printed
    currency: str | None = None  # ISO 4217 code
    total: float | None = None
    subtotal: float | None = None
    tax: float | None = None
    address: str | None = None
    total_matches: bool = False

    def to_json(self) -> dict[str, Any]:
        """The stored object: every field, in declaration order."""
        return {
            "merchant": self.merchant, "purchased_at": self.purchased_at, "currency": self.currency,
            "total": self.total, "subtotal": self.subtotal, "tax": self.tax, "address": self.address,
            "total_matches": self.total_matches,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ReceiptFields:
        """Read stored receipt fields; the first version had no subtotal, tax or address."""
        return cls(
            merchant=doc.get("merchant"), purchased_at=doc.get("purchased_at"), currency=doc.get("currency"),
            total=doc.get("total"), subtotal=doc.get("subtotal"), tax=doc.get("tax"), address=doc.get("address"),
            total_matches=bool(doc.get("total_matches")),
        )


@dataclass(frozen=True, slots=True)
class JobResult:
    """A finished job's result document: its items, what happened to each image, the receipt's fields."""

    items: tuple[ResultItem, ...] = ()
    images: tuple[ImageResult, ...] = ()
    receipt: ReceiptFields | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored document: items, images and receipt (null when no image had a receipt header)."""
        return {
            "items": [i.to_json() for i in self.items],
            "images": [i.to_json() for i in self.images],
            "receipt": None if self.receipt is None else self.receipt.to_json(),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> JobResult:
        """Read a stored document; a missing or null list or receipt reads as empty."""
        receipt = doc.get("receipt")
        return cls(
            items=tuple(ResultItem.from_json(i) for i in doc.get("items") or ()),
            images=tuple(ImageResult.from_json(i) for i in doc.get("images") or ()),
            receipt=None if receipt is None else ReceiptFields.from_json(receipt),
        )


@dataclass(frozen=True, slots=True)
class ReviewedItem:
    """One item of a job as the user confirmed it (an entry of `confirmed_items`)."""

    name: str
    quantity: float
    unit: str
    category: str
    raw_text: str | None = None
    price: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The stored object: every field, in declaration order."""
        return {
            "name": self.name, "quantity": self.quantity, "unit": self.unit, "category": self.category,
            "raw_text": self.raw_text, "price": self.price,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ReviewedItem:
        """Read a stored item; raw_text and price may be missing."""
        return cls(
            name=doc["name"], quantity=doc["quantity"], unit=doc["unit"], category=doc["category"],
            raw_text=doc.get("raw_text"), price=doc.get("price"),
        )

    @staticmethod
    def list_to_json(items: Sequence[ReviewedItem]) -> list[dict[str, Any]]:
        """The stored `confirmed_items` list."""
        return [i.to_json() for i in items]

    @staticmethod
    def list_from_json(docs: Sequence[Mapping[str, Any]]) -> tuple[ReviewedItem, ...]:
        """Read a stored `confirmed_items` list."""
        return tuple(ReviewedItem.from_json(d) for d in docs)
