"""Builds the recognizer for each job type from settings (RECOGNIZER_RECEIPT, RECOGNIZER_PRODUCTS)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.domain import JobType
from app.recognition.base import Recognizer
from app.recognition.fake import FakeRecognizer
from app.recognition.openai_compat import OpenAIRecognizer
from app.settings import RecognizerName, Settings


def _build(name: RecognizerName, settings: Settings, cache: dict[str, Recognizer]) -> Recognizer:
    if name in cache:
        return cache[name]
    recognizer: Recognizer
    if name == "fake":
        recognizer = FakeRecognizer(
            latency_ms=settings.fake_recognizer_latency_ms,
            failure_rate=settings.fake_recognizer_failure_rate,
        )
    elif name == "local":
        from app.recognition.local import LocalRecognizer  # heavy: loads ONNX models

        recognizer = LocalRecognizer(
            settings, ocr=settings.recognizer_ocr, ocr_threads=settings.ocr_threads, max_parallel=settings.ocr_parallel,
            use_angle_classifier=settings.ocr_angle_classifier,
        )
    else:
        recognizer = OpenAIRecognizer(settings)
    cache[name] = recognizer
    return recognizer


def build_recognizers(settings: Settings) -> dict[JobType, Recognizer]:
    """One recognizer per job type; a recognizer named twice is built once and shared."""
    cache: dict[str, Recognizer] = {}
    return {
        JobType.RECEIPT: _build(settings.recognizer_receipt, settings, cache),
        JobType.PRODUCTS: _build(settings.recognizer_products, settings, cache),
    }


def use_barcode_lookup(recognizers: Mapping[JobType, Recognizer], lookup: Callable[[str], str | None]) -> None:
    """Hand the worker's barcode lookup to every recognizer that reads barcodes (the local one)."""
    for recognizer in recognizers.values():
        attach = getattr(recognizer, "use_barcode_lookup", None)
        if attach is not None:
            attach(lookup)
