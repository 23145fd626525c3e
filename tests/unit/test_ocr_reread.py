"""The second reading of unsure boxes: which boxes are read again and which reading is kept."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.recognition.layout import OcrBox
from app.recognition.ocr import build_engine
from app.recognition.reread import RereadEngine


def _box(x0: float, text: str, score: float) -> OcrBox:
    return OcrBox(((x0, 0), (x0 + 50, 0), (x0 + 50, 20), (x0, 20)), text, score)


class Tiny:
    """A stand-in first engine: fixed boxes; each crop is a 1x1 array holding the box's left edge."""

    name = "tiny"

    def __init__(self, boxes: list[OcrBox]) -> None:
        self.boxes = boxes
        self.cropped: list[str] = []

    def read_upright(self, image: Image.Image) -> tuple[list[OcrBox], Image.Image]:
        return list(self.boxes), image

    def crops(self, image: Image.Image, boxes: Sequence[OcrBox]) -> list[np.ndarray]:
        self.cropped += [b.text for b in boxes]
        return [np.full((1, 1), b.points[0][0]) for b in boxes]


class Second:
    """A stand-in second recognizer reading each crop (by its left edge) from a table."""

    def __init__(self, readings: dict[float, tuple[str, float]]) -> None:
        self.readings = readings

    def __call__(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        return [self.readings[float(crop[0, 0])] for crop in crops]


def test_only_boxes_read_with_a_low_score_are_read_again_and_take_the_second_reading() -> None:
    tiny = Tiny([_box(0, "TOTAL", 0.99), _box(100, "12.5O", 0.71), _box(200, "AMOUNI", 0.86)])
    engine = RereadEngine("reread", tiny, Second({100: ("12.50", 0.98), 200: ("AMOUNT", 0.97)}), below=0.95)
    boxes = engine.read(Image.new("RGB", (4, 4)), "en")
    assert tiny.cropped == ["12.5O", "AMOUNI"]
    assert [(b.text, b.score) for b in boxes] == [("TOTAL", 0.99), ("12.50", 0.98), ("AMOUNT", 0.97)]
    assert [b.points for b in boxes] == [b.points for b in tiny.boxes]


def test_a_second_reading_scored_lower_than_the_first_is_not_taken() -> None:
    tiny = Tiny([_box(0, "5.47", 0.93)])
    engine = RereadEngine("reread", tiny, Second({0: ("5.17", 0.88)}), below=0.95)
    assert [b.text for b in engine.read(Image.new("RGB", (4, 4)), "en")] == ["5.47"]
    assert tiny.cropped == ["5.47"]


def test_an_empty_second_reading_keeps_the_first() -> None:
    tiny = Tiny([_box(0, "Milch", 0.5)])
    engine = RereadEngine("reread", tiny, Second({0: ("  ", 0.0)}), below=0.95)
    assert [b.text for b in engine.read(Image.new("RGB", (4, 4)), "de")] == ["Milch"]


def test_a_page_where_every_box_is_sure_runs_no_second_reading() -> None:
    tiny = Tiny([_box(0, "TOTAL", 0.99)])
    engine = RereadEngine("reread", tiny, Second({}), below=0.95)
    assert [b.text for b in engine.read(Image.new("RGB", (4, 4)), "en")] == ["TOTAL"]
    assert tiny.cropped == []


def test_a_page_tiny_read_as_another_script_is_left_as_read() -> None:
    tiny = Tiny([_box(0, "5PVOWb", 0.6), _box(100, "MAPKET", 0.7)])
    engine = RereadEngine("reread", tiny, Second({}), below=0.95, as_read=lambda boxes: len(boxes) == 2)
    assert [b.text for b in engine.read(Image.new("RGB", (4, 4)), "en")] == ["5PVOWb", "MAPKET"]
    assert tiny.cropped == []


def test_the_reread_engine_reads_a_printed_line_with_the_real_models() -> None:
    image = Image.new("RGB", (420, 90), "white")
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 30)
    ImageDraw.Draw(image).text((12, 25), "TOTAL 12.50", fill="black", font=font)
    engine = build_engine("ppocrv6-reread")
    assert engine.name == "ppocrv6-reread"
    assert "12.50" in " ".join(b.text for b in engine.read(image, "en"))
