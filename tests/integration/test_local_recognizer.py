"""The local recognizer end to end: a rendered receipt through the real OCR, parser and enricher."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from app.domain import JobType
from app.recognition.base import JobImage, RecognitionError
from app.recognition.enrich import Enricher
from app.recognition.local import NOTE_NO_TEXT, LocalRecognizer
from bench.corpus import Receipt, generate


@pytest.fixture(scope="module")
async def recognizer() -> AsyncIterator[LocalRecognizer]:
    local = LocalRecognizer()
    yield local
    await local.aclose()


def _expected(receipt: Receipt) -> list[tuple[str, float, str, float]]:
    return sorted((t.key, round(t.quantity, 3), t.unit, t.price) for t in receipt.items)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def test_a_rendered_receipt_comes_back_item_for_item(recognizer: LocalRecognizer) -> None:
    data, mime, receipt = generate(2)  # German, quantity lines below items, pack sizes
    result = await recognizer.recognize(JobImage(0, data, mime), job_type=JobType.RECEIPT, lang="de")
    items = Enricher().enrich([(0, raw) for raw in result.items], lang="de")
    assert sorted((i.catalog_key or "", round(i.quantity, 3), i.unit, i.price or 0.0) for i in items) == (
        _expected(receipt))
    assert result.header is not None
    header = result.header
    # the receipt prints a time too: purchased_at is its date-time (ISO 8601, "as printed")
    assert (header.merchant, (header.purchased_at or "")[:10], header.currency, header.total) == (
        receipt.merchant, receipt.purchased_at, receipt.currency, receipt.total)
    assert all(raw.box is not None and len(raw.box) == 4 for raw in result.items)


async def test_a_blank_photo_gives_no_items_and_a_note(recognizer: LocalRecognizer) -> None:
    blank = _png(Image.new("RGB", (640, 480), (235, 235, 230)))
    result = await recognizer.recognize(JobImage(0, blank, "image/png"), job_type=JobType.RECEIPT, lang="en")
    assert (result.items, result.note) == ([], NOTE_NO_TEXT)


async def test_corrupt_bytes_raise_a_non_retryable_error(recognizer: LocalRecognizer) -> None:
    with pytest.raises(RecognitionError) as caught:
        await recognizer.recognize(JobImage(0, b"\x89PNG\r\n\x1a\nnot really", "image/png"),
                                   job_type=JobType.RECEIPT, lang="en")
    assert caught.value.retryable is False


async def test_ocr_runs_off_the_event_loop(recognizer: LocalRecognizer) -> None:
    data, mime, _ = generate(3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await recognizer.recognize(JobImage(0, data, mime), job_type=JobType.RECEIPT, lang="fr")
    task.cancel()
    assert ticks > 100  # the loop kept running while OCR worked


async def test_product_photo_text_is_matched_to_the_catalog(recognizer: LocalRecognizer) -> None:
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (900, 500), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=56)
    draw.text((60, 60), "Frische Vollmilch", font=font, fill=(20, 40, 160))
    draw.text((60, 150), "3,5% Fett  1 L", font=font, fill=(20, 40, 160))
    draw.text((60, 320), "SPAGHETTI  500 g", font=font, fill=(0, 0, 0))
    result = await recognizer.recognize(JobImage(0, _png(image), "image/png"), job_type=JobType.PRODUCTS,
                                        lang="en")
    items = Enricher().enrich([(0, raw) for raw in result.items], lang="en")
    assert sorted((i.catalog_key, i.name, i.category) for i in items) == [
        ("milk", "Milk", "dairy"), ("spaghetti", "Spaghetti", "pantry")]


async def test_a_receipt_photographed_upside_down_or_sideways_is_read_upright(recognizer: LocalRecognizer) -> None:
    data, _, receipt = generate(2)
    upright = Image.open(io.BytesIO(data)).convert("RGB")
    for turn in (90, 180, 270):
        turned = _png(upright.rotate(turn, expand=True, fillcolor="white"))
        result = await recognizer.recognize(JobImage(0, turned, "image/png"), job_type=JobType.RECEIPT, lang="de")
        assert result.header is not None
        assert (turn, result.header.total) == (turn, receipt.total)
