"""Image preparation for OCR: text height, page crop, deskew and light flattening on drawn images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from app.recognition.preprocess import (
    crop_page,
    deskew,
    flatten_light,
    prepare,
    scale_for_text,
    skew_angle,
    text_height,
)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def _receipt(size: int = 20, lines: int = 14, width: int = 520) -> Image.Image:
    """A white slip with monospaced till lines, as a thermal printer would print them."""
    font = ImageFont.truetype(FONT, size)
    image = Image.new("RGB", (width, 40 + lines * int(size * 1.6)), "white")
    draw = ImageDraw.Draw(image)
    for row in range(lines):
        draw.text((20, 20 + row * int(size * 1.6)), f"ITEM {row:02d} MILK 1L   {row + 1},49 A", font=font,
                  fill="black")
    return image


def test_text_height_follows_the_font_size() -> None:
    small, large = text_height(_receipt(14)), text_height(_receipt(28))
    assert small is not None and large is not None
    assert 1.6 < large / small < 2.4
    assert 8 <= small <= 16


def test_scale_brings_text_to_the_target_height() -> None:
    image = _receipt(14)
    height = text_height(image)
    assert height is not None
    assert scale_for_text(image, 30) == pytest.approx(30 / height, rel=0.01)
    assert scale_for_text(Image.new("RGB", (300, 300), "white"), 30) == 1.0  # no text: unchanged


def test_a_receipt_on_a_dark_table_is_cut_out_and_squared() -> None:
    slip = _receipt()
    table = Image.new("RGB", (1200, 1400), (60, 50, 45))
    table.paste(slip.rotate(8, expand=True, fillcolor=(60, 50, 45)), (250, 200))
    page = crop_page(table)
    assert abs(page.width - slip.width) < 0.1 * slip.width
    assert abs(page.height - slip.height) < 0.1 * slip.height
    assert np.asarray(page.convert("L")).mean() > 200  # paper, not table


def test_a_scan_that_is_all_paper_is_left_alone() -> None:
    slip = _receipt()
    assert crop_page(slip) is slip


def test_a_slightly_rotated_receipt_is_levelled() -> None:
    slip = _receipt()
    tilted = slip.rotate(3, expand=True, fillcolor="white", resample=Image.Resampling.BICUBIC)
    assert skew_angle(tilted) == pytest.approx(-3, abs=0.6)
    assert abs(skew_angle(deskew(tilted))) <= 0.5
    assert deskew(slip) is slip


def test_a_shadow_is_divided_out() -> None:
    slip = np.asarray(_receipt().convert("L")).astype(np.float32)
    shade = np.linspace(0.45, 1.0, slip.shape[1], dtype=np.float32)[None, :]
    shadowed = Image.fromarray((slip * shade).astype(np.uint8)).convert("RGB")
    flat = np.asarray(flatten_light(shadowed).convert("L"))
    paper = flat[np.asarray(_receipt().convert("L")) > 250]
    assert paper.std() < 12  # the paper is evenly white again
    assert flat.min() < 60  # and the print still dark


def test_prepare_runs_the_named_steps_in_order() -> None:
    slip = _receipt()
    assert prepare(slip, []) is slip
    assert prepare(slip, ["crop", "deskew"]).size == slip.size
