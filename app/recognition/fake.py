"""A deterministic recognizer for tests and benchmarks (RECOGNIZER_*=fake); never a user's default.

What it "reads" depends only on the image bytes, so a test knows the answer:
- bytes containing `FOODAI-FAIL` raise a non-retryable RecognitionError;
- bytes containing `FOODAI-FLAKY` raise a retryable RecognitionError every time;
- bytes containing `FOODAI-HANG` never answer (the worker's timeout must end the call);
- bytes containing `FOODAI-GARBAGE` answer with an item no real recognizer may return;
- bytes containing `FOODAI-EMPTY` give no items and a note;
- bytes containing `FOODAI-ITEMS:` followed by `name*qty*unit*price;...` give exactly those lines;
- bytes containing `FOODAI-GATE:<path>` wait until that file exists (tests use it to step a job);
- anything else gives 1-3 lines chosen by the sha256 of the bytes.
Latency and a failure rate (decided per image by its hash, so repeatable) come from settings.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from app.domain import JobType
from app.recognition.base import ImageRecognition, JobImage, RawItem, RecognitionError

_POOL = (
    ("MILK 1L", 1.0, "l", 1.19),
    ("BANANAS", 1.0, "kg", 1.49),
    ("BREAD", 1.0, "pcs", 2.10),
    ("EGGS 10", 10.0, "pcs", 2.99),
    ("APPLE JUICE", 1.0, "l", 1.79),
    ("BUTTER 250G", 250.0, "g", 2.49),
)


def _parse_script(data: bytes) -> list[RawItem] | None:
    marker = data.find(b"FOODAI-ITEMS:")
    if marker < 0:
        return None
    text = data[marker + len(b"FOODAI-ITEMS:") :].split(b"\n", 1)[0].decode("utf-8", "replace")
    items: list[RawItem] = []
    for part in filter(None, text.split(";")):
        name, qty, unit, price = [*part.split("*"), "", "", ""][:4]
        items.append(
            RawItem(
                raw_text=name.strip(),
                confidence=0.99,
                quantity=float(qty) if qty else None,
                unit=unit or None,
                price=float(price) if price else None,
            )
        )
    return items


async def _wait_for_gate(data: bytes) -> None:
    marker = data.find(b"FOODAI-GATE:")
    if marker < 0:
        return
    gate = Path(data[marker + len(b"FOODAI-GATE:") :].split(b"\n", 1)[0].decode())
    while not await asyncio.to_thread(gate.exists):  # noqa: ASYNC110 - a test aid; the timeout bounds it
        await asyncio.sleep(0.02)


class FakeRecognizer:
    """Answers from the image bytes alone; see the module docstring."""

    name = "fake"

    def __init__(self, *, latency_ms: int = 0, failure_rate: float = 0.0) -> None:
        self._latency_s = latency_ms / 1000
        self._failure_rate = failure_rate

    async def recognize(self, image: JobImage, *, job_type: JobType, lang: str) -> ImageRecognition:
        """Return the scripted or hash-chosen lines for these bytes."""
        if self._latency_s:
            await asyncio.sleep(self._latency_s)
        await _wait_for_gate(image.data)
        digest = hashlib.sha256(image.data).digest()
        if b"FOODAI-FAIL" in image.data:
            raise RecognitionError("the image could not be read (scripted failure)")
        if b"FOODAI-FLAKY" in image.data:
            raise RecognitionError("the recognizer is unavailable (scripted)", retryable=True)
        if b"FOODAI-HANG" in image.data:
            await asyncio.Event().wait()
        if b"FOODAI-GARBAGE" in image.data:
            return ImageRecognition(items=[RawItem(raw_text="", confidence=7.0, quantity=float("nan"))])
        if int.from_bytes(digest[:4], "big") / 2**32 < self._failure_rate:
            raise RecognitionError("simulated recognizer failure", retryable=True)
        if b"FOODAI-EMPTY" in image.data:
            return ImageRecognition(note="no items found in this image")
        scripted = _parse_script(image.data)
        if scripted is not None:
            return ImageRecognition(items=scripted)
        count = 1 + digest[0] % 3
        picks = [_POOL[b % len(_POOL)] for b in digest[1 : 1 + count]]
        return ImageRecognition(
            items=[RawItem(raw_text=t, confidence=0.9, quantity=q, unit=u, price=p) for t, q, u, p in picks]
        )

    async def aclose(self) -> None:
        """Nothing to release."""
