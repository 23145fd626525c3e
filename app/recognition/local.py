"""The offline recognizer: RapidOCR (PP-OCRv4 ONNX models, CPU) plus our own layout and receipt parsing.

What it can see:
- receipts: printed text in Latin script. Lines are rebuilt from the OCR boxes
  (`layout`) and parsed (`receipt_parser`): items with prices, quantity and weight
  lines, header (merchant, date, currency, total). Accents are often read without
  their marks ('Crème' -> 'Creme') and '€'/'£' are usually not read at all; the
  enricher folds accents and the header falls back to currency codes and tax words.
- product photos: only the words printed on the packaging ('Vollmilch', 'Spaghetti',
  '500 g'), matched against the catalog. One item per recognized catalog product.
What it cannot see: anything that is not text. Loose fruit and vegetables without
a label, a product's brand logo, colours or shapes, handwriting, and scripts other
than Latin are invisible to it; use the `openai` recognizer for those.

The OCR engine is loaded once per recognizer, lazily and under a lock, on first
use. OCR runs in a small dedicated thread pool (onnxruntime releases the GIL), with
one intra-op thread per call by default: on a 2-core box two images run in parallel
without oversubscribing the CPU, and the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import io
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from app.recognition.base import ImageInput, ImageRecognition, JobType, RawItem, RecognitionError
from app.recognition.catalog import Catalog, load_catalog
from app.recognition.layout import OcrBox, to_lines
from app.recognition.receipt_parser import TextLine, parse_receipt

if TYPE_CHECKING:
    from app.settings import Settings

MAX_SIDE = 2000  # larger photos are scaled down before OCR; receipts stay legible
# Detection upscales images whose short side is below this (RapidOCR's default is 736).
DET_MIN_SIDE = 736
# Recognition pads every text crop to at least this width at 48 px height; RapidOCR's 320
# doubles the work for the many short crops of a receipt (prices, tax letters).
REC_MIN_WIDTH = 96
NOTE_NO_TEXT = "no text found in this image"
NOTE_NOT_RECEIPT = "no receipt lines with prices found in this image"
NOTE_NO_PRODUCTS = "no known product names found in the text on this image"


class OcrEngine(Protocol):
    """The part of RapidOCR we use: image in, (boxes with text and score, timings) out."""

    def __call__(self, img_content: Any, use_cls: bool | None = None) -> tuple[Any, Any]: ...


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


def to_boxes(result: Sequence[Sequence[Any]] | None) -> list[OcrBox]:
    """RapidOCR's `[[corners, text, score], ...]` (or None) as OcrBoxes."""
    boxes = []
    for corners, text, score in result or []:
        points = tuple((float(x), float(y)) for x, y in corners)
        if len(points) == 4 and str(text).strip():
            boxes.append(OcrBox(points, str(text), float(score)))
    return boxes


def read_receipt(boxes: Sequence[OcrBox]) -> ImageRecognition:
    """Items and header from a receipt's OCR boxes; an explanatory note when there are none."""
    if not boxes:
        return ImageRecognition(note=NOTE_NO_TEXT)
    parsed = parse_receipt(to_lines(boxes))
    if not parsed.items:
        return ImageRecognition(header=parsed.header, note=NOTE_NOT_RECEIPT)
    return ImageRecognition(items=parsed.items, header=parsed.header)


def _product_item(line: TextLine, catalog: Catalog) -> tuple[str, RawItem] | None:
    match = catalog.match(line.text)
    if match is None:
        return None
    item = match.item
    raw = RawItem(raw_text=line.text, confidence=round(line.confidence * min(match.score, 1.0), 4),
                  name_hint=item.names["en"][0], category_hint=item.category, box=line.box)
    return item.key, raw


def read_products(boxes: Sequence[OcrBox], catalog: Catalog) -> ImageRecognition:
    """One raw item per catalog product named in the visible text (by line, then by single box)."""
    if not boxes:
        return ImageRecognition(note=NOTE_NO_TEXT)
    lines = to_lines(boxes) + [TextLine(b.text, b.score, [*b.points]) for b in boxes]
    found: dict[str, RawItem] = {}
    for line in lines:
        hit = _product_item(line, catalog)
        if hit is not None and hit[0] not in found:
            found[hit[0]] = hit[1]
    if not found:
        return ImageRecognition(note=NOTE_NO_PRODUCTS)
    return ImageRecognition(items=list(found.values()))


class LocalRecognizer:
    """Receipts and product labels through offline OCR; see the module docstring for its limits."""

    name = "local"

    def __init__(self, settings: Settings | None = None, *, ocr_threads: int = 1, max_parallel: int = 2,
                 engine: OcrEngine | None = None, use_angle_classifier: bool = False,
                 det_min_side: int = DET_MIN_SIDE, rec_min_width: int = REC_MIN_WIDTH) -> None:
        self._settings = settings
        self._ocr_threads = ocr_threads
        self._det_min_side = det_min_side
        self._rec_min_width = rec_min_width
        self._use_cls = use_angle_classifier
        self._engine = engine
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="foodai-ocr")

    def engine(self) -> OcrEngine:
        """The OCR engine, created on first call (thread-safe; loads the ONNX models once)."""
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR(
                    intra_op_num_threads=self._ocr_threads, inter_op_num_threads=1,
                    det_limit_side_len=self._det_min_side, rec_img_shape=[3, 48, self._rec_min_width],
                )
            return self._engine

    def ocr(self, data: bytes) -> list[OcrBox]:
        """Decode and OCR one image, synchronously (call it from a worker thread)."""
        image = decode_image(data)
        result, _ = self.engine()(image, use_cls=self._use_cls)
        return to_boxes(result)

    def _recognize_sync(self, data: bytes, job_type: JobType) -> ImageRecognition:
        boxes = self.ocr(data)
        if job_type is JobType.RECEIPT:
            return read_receipt(boxes)
        return read_products(boxes, load_catalog())

    async def recognize(self, image: ImageInput, *, job_type: JobType, lang: str) -> ImageRecognition:
        """Read one image in the OCR pool; RecognitionError(retryable=False) if it cannot be decoded."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._recognize_sync, image.data, job_type)

    async def aclose(self) -> None:
        """Stop the OCR pool (waiting for running calls) and drop the engine."""
        await asyncio.to_thread(self._pool.shutdown, wait=True)
        self._engine = None
