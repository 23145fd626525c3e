"""The recognizer contract: what the worker asks of any recognizer, and what it gets back.

A recognizer sees one image at a time and reports what it read, raw. The enricher
(`app.recognition.enrich`) then turns raw lines into pantry items: clean names,
canonical units, categories and shelf lives. Keeping the two apart lets a vision
LLM and the local OCR pipeline share one enrichment step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from app.domain import JobType


@dataclass(frozen=True, slots=True)
class JobImage:
    """One stored image of a job, as handed to a recognizer."""

    index: int
    data: bytes
    mime: str


@dataclass(slots=True)
class RawItem:
    """One line or product as read from an image, before enrichment.

    `quantity` and `unit` are None when the image did not say; the enricher fills
    them in. `box` is the outline of the text on the image (pixel corners), when
    the recognizer knows it, so clients can draw it.
    """

    raw_text: str
    confidence: float
    quantity: float | None = None
    unit: str | None = None
    price: float | None = None
    unit_price: float | None = None
    name_hint: str | None = None
    category_hint: str | None = None
    box: list[tuple[float, float]] | None = None


@dataclass(slots=True)
class ReceiptHeader:
    """Fields printed once on a receipt; any of them may be unreadable."""

    merchant: str | None = None
    purchased_at: str | None = None  # ISO 8601 date or date-time, as printed
    currency: str | None = None  # ISO 4217 code
    total: float | None = None
    subtotal: float | None = None  # before tax, as printed
    tax: float | None = None  # the tax amount, as printed
    address: str | None = None  # the shop's address lines, joined


@dataclass(slots=True)
class ImageRecognition:
    """Everything one recognizer call learned from one image.

    `note` explains an empty result (a blank photo, no receipt found) so the client
    can tell the user; it is not an error.
    """

    items: list[RawItem] = field(default_factory=list)
    header: ReceiptHeader | None = None
    note: str | None = None


class RecognitionError(Exception):
    """The recognizer could not process this image (corrupt, refused, unreachable).

    `retryable` says whether trying the same call again may succeed (a timeout, a
    429 or 5xx from a remote model) or never will (an undecodable image).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Recognizer(Protocol):
    """Reads one image. Implementations must not block the event loop."""

    name: str

    async def recognize(self, image: JobImage, *, job_type: JobType, lang: str) -> ImageRecognition:
        """Return what the image shows, or raise RecognitionError."""
        ...

    async def aclose(self) -> None:
        """Release models, pools and HTTP clients."""
        ...
