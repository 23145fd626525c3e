"""The offline recognizer: OCR on the CPU (`ocr` engines) plus our own layout and receipt parsing.

What it can see:
- receipts: printed text in Latin, Cyrillic and Thai script. The engine is chosen per job
  language (`app.recognition.ocr`, setting RECOGNIZER_OCR): PP-OCRv6 for Latin scripts, Tesseract
  (with PP-OCRv6 for the numbers) for Cyrillic and Thai. Pages turned by 90/180/270 degrees are
  turned upright. Lines are rebuilt from the OCR boxes (`layout`) and parsed
  (`receipt_parser`): items with prices, quantity and weight lines, header (merchant, date,
  currency, total).
- product photos (`app.recognition.products`): a barcode when one is readable, else an image
  model for fruit, vegetables and packaged goods fused with the words printed on the pack, each
  product of a pile an item with its box.
What it cannot see: handwriting, scripts other than Latin, Cyrillic and Thai, and products
outside the image model's classes and the catalog; use the `openai` recognizer for those.

The OCR engines load their models once per recognizer, lazily, on first use. OCR runs in a
small dedicated thread pool (onnxruntime and Tesseract release the GIL), with one intra-op
thread per call by default: on a 2-core box two images run in parallel without
oversubscribing the CPU, and the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import io
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

from app.domain import JobType
from app.recognition.base import ImageRecognition, JobImage, RecognitionError
from app.recognition.layout import OcrBox, to_lines
from app.recognition.ocr import DET_MIN_SIDE, REC_MIN_WIDTH, OcrEngine, build_engine, to_boxes
from app.recognition.products.model import ProductModel
from app.recognition.products.recognize import Lookup, recognize_products
from app.recognition.receipt_parser import parse_receipt

if TYPE_CHECKING:
    from app.settings import Settings

__all__ = ["DET_MIN_SIDE", "REC_MIN_WIDTH", "LocalRecognizer", "decode_image", "read_receipt",
           "to_boxes"]

MAX_SIDE = 2000  # larger photos are scaled down before OCR; receipts stay legible
NOTE_NO_TEXT = "no text found in this image"
NOTE_NOT_RECEIPT = "no receipt lines with prices found in this image"


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
        return ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        raise RecognitionError(f"the image could not be decoded: {exc}") from exc


def decode_image(data: bytes) -> Image.Image:
    """An upright RGB image no larger than MAX_SIDE; RecognitionError(retryable=False) if unreadable."""
    image = _open(data)
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def read_receipt(boxes: Sequence[OcrBox], lang: str | None = None) -> ImageRecognition:
    """Items and header from a receipt's OCR boxes; an explanatory note when there are none."""
    if not boxes:
        return ImageRecognition(note=NOTE_NO_TEXT)
    parsed = parse_receipt(to_lines(boxes), lang=lang)
    if not parsed.items:
        return ImageRecognition(header=parsed.header, note=NOTE_NOT_RECEIPT)
    return ImageRecognition(items=parsed.items, header=parsed.header)


class LocalRecognizer:
    """Receipts and product labels through offline OCR; see the module docstring for its limits.

    `ocr` names the engine ("auto", "ppocrv6", "rapidocr", "tesseract", "hybrid", ...; see
    `app.recognition.ocr.ENGINES`);
    the RECOGNIZER_OCR setting reaches it through the registry. `engine` replaces it (tests).
    """

    name = "local"

    def __init__(self, settings: Settings | None = None, *, ocr: str = "auto", ocr_threads: int = 1,
                 max_parallel: int = 2, engine: OcrEngine | None = None, use_angle_classifier: bool = False,
                 det_min_side: int = DET_MIN_SIDE, rec_min_width: int = REC_MIN_WIDTH) -> None:
        self._settings = settings
        self._ocr_name = ocr
        self._ocr_threads = ocr_threads
        self._use_cls = use_angle_classifier
        self._sizes = (det_min_side, rec_min_width)
        self._engine = engine
        self._products = ProductModel(threads=ocr_threads)
        self._lookup: Lookup | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="foodai-ocr")

    def engine(self) -> OcrEngine:
        """The OCR engine, built on first call (thread-safe; each engine loads its models once)."""
        with self._lock:
            if self._engine is None:
                self._engine = build_engine(self._ocr_name, threads=self._ocr_threads, use_cls=self._use_cls,
                                            det_min_side=self._sizes[0], rec_min_width=self._sizes[1])
            return self._engine

    def ocr(self, data: bytes, lang: str = "en") -> list[OcrBox]:
        """Decode and OCR one image, synchronously (call it from a worker thread)."""
        return self.engine().read(decode_image(data), lang)

    def use_barcode_lookup(self, lookup: Lookup | None) -> None:
        """Resolve barcodes missing from the bundled table with `lookup` (the worker's cache and Open Food Facts)."""
        self._lookup = lookup

    def _recognize_sync(self, data: bytes, job_type: JobType, lang: str) -> ImageRecognition:
        image = decode_image(data)
        boxes = self.engine().read(image, lang)
        if job_type is JobType.RECEIPT:
            return read_receipt(boxes, lang)
        return recognize_products(image, boxes, lang=lang, model=self._products, lookup=self._lookup)

    async def recognize(self, image: JobImage, *, job_type: JobType, lang: str) -> ImageRecognition:
        """Read one image in the OCR pool; RecognitionError(retryable=False) if it cannot be decoded."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._recognize_sync, image.data, job_type, lang)

    async def aclose(self) -> None:
        """Stop the OCR pool (waiting for running calls) and drop the engine."""
        await asyncio.to_thread(self._pool.shutdown, wait=True)
        self._engine = None
