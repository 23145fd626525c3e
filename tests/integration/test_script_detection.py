"""Cyrillic and Thai receipts submitted with the API's default language ('en'): the auto engine sees
that PP-OCR read another script as Latin and reads the page with Tesseract in that script."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.domain import JobType
from app.recognition import hybrid
from app.recognition.base import JobImage
from app.recognition.enrich import Enricher
from app.recognition.local import LocalRecognizer
from app.recognition.tesseract import missing_tesseract
from bench.corpus import generate

pytestmark = pytest.mark.skipif(missing_tesseract() is not None, reason="Tesseract language data not installed")


@pytest.fixture(scope="module")
async def recognizer() -> AsyncIterator[LocalRecognizer]:
    local = LocalRecognizer(ocr="auto")
    yield local
    await local.aclose()


@pytest.mark.parametrize(("script", "seed"), [("cyrillic", 2), ("cyrillic", 5), ("thai", 1)])
async def test_a_receipt_in_another_script_is_read_item_for_item_without_its_language(
        recognizer: LocalRecognizer, script: str, seed: int) -> None:
    data, mime, receipt = generate(seed, script=script)
    assert receipt.lang != "en"
    result = await recognizer.recognize(JobImage(0, data, mime), job_type=JobType.RECEIPT, lang="en")
    items = Enricher().enrich([(0, raw) for raw in result.items], lang="en")
    assert sorted((i.catalog_key or "", round(i.quantity, 3), i.unit, i.price or 0.0) for i in items) == sorted(
        (t.key, round(t.quantity, 3), t.unit, t.price) for t in receipt.items)


async def test_a_latin_receipt_is_not_checked_for_another_script(
        recognizer: LocalRecognizer, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a Latin page was checked for another script")

    monkeypatch.setattr(hybrid.HybridEngine, "script_of", refuse)
    for seed in (1, 2, 3):
        data, mime, receipt = generate(seed)
        result = await recognizer.recognize(JobImage(0, data, mime), job_type=JobType.RECEIPT, lang=receipt.lang)
        assert result.items
