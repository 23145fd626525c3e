"""OCR boxes -> receipt lines: rows by vertical overlap, left to right, skew-tolerant."""

from __future__ import annotations

import math

import pytest

from app.recognition.layout import OcrBox, estimate_skew, group_rows, to_lines


def _box(x: float, y: float, w: float, h: float, text: str, score: float = 0.9, angle_deg: float = 0.0) -> OcrBox:
    """An axis-aligned box at (x, y), rotated by `angle_deg` about the page origin."""
    a = math.radians(angle_deg)

    def rot(px: float, py: float) -> tuple[float, float]:
        return (px * math.cos(a) - py * math.sin(a), px * math.sin(a) + py * math.cos(a))

    return OcrBox((rot(x, y), rot(x + w, y), rot(x + w, y + h), rot(x, y + h)), text, score)


def test_boxes_on_one_printed_line_are_joined_left_to_right() -> None:
    boxes = [_box(400, 52, 80, 26, "1,19 A"), _box(20, 50, 200, 28, "VOLLMILCH 1L"), _box(20, 10, 180, 28, "REWE")]
    assert [line.text for line in to_lines(boxes)] == ["REWE", "VOLLMILCH 1L 1,19 A"]


def test_rows_are_ordered_top_to_bottom_whatever_the_input_order() -> None:
    boxes = [_box(20, 10 + 32 * i, 150, 26, f"LINE {i}") for i in (3, 0, 2, 1)]
    assert [line.text for line in to_lines(boxes)] == ["LINE 0", "LINE 1", "LINE 2", "LINE 3"]


def test_adjacent_rows_with_small_spacing_stay_apart() -> None:
    boxes = [_box(20, 0, 200, 26, "BANANEN"), _box(420, 1, 60, 26, "2,46"), _box(40, 29, 250, 26, "1,235 kg x 1,99")]
    assert [line.text for line in to_lines(boxes)] == ["BANANEN 2,46", "1,235 kg x 1,99"]


def test_a_rotated_page_is_deskewed_before_grouping() -> None:
    # At 4 degrees the price on the right sits ~30 px lower than the name: more than a line height.
    rows = [("BROT", "2,10"), ("MILCH", "1,19"), ("KAESE", "3,49"), ("SUMME", "6,78")]
    boxes = []
    for i, (name, price) in enumerate(rows):
        boxes.append(_box(20, 40 + 32 * i, 150, 26, name, angle_deg=4))
        boxes.append(_box(480, 40 + 32 * i, 70, 26, price, angle_deg=4))
    assert math.degrees(estimate_skew(boxes)) == pytest.approx(4, abs=0.01)
    assert [line.text for line in to_lines(boxes)] == ["BROT 2,10", "MILCH 1,19", "KAESE 3,49", "SUMME 6,78"]


def test_line_confidence_is_the_mean_score_and_box_the_outline() -> None:
    [line] = to_lines([_box(10, 10, 100, 20, "A", 0.8), _box(200, 12, 50, 20, "B", 0.6)])
    assert line.confidence == 0.7
    assert line.box == [(10, 10), (250, 10), (250, 32), (10, 32)]


def test_no_boxes_no_lines_and_blank_text_is_dropped() -> None:
    assert to_lines([]) == []
    assert group_rows([_box(0, 0, 10, 10, "  ")]) == []
    assert estimate_skew([]) == 0.0


def _upright_box(cx: float, cy: float, w: float, h: float, text: str) -> OcrBox:
    """An axis-aligned rectangle centred at (cx, cy), as annotators and some detectors draw them."""
    return OcrBox(((cx - w / 2, cy - h / 2), (cx + w / 2, cy - h / 2), (cx + w / 2, cy + h / 2),
                   (cx - w / 2, cy + h / 2)), text, 0.9)


def test_axis_aligned_boxes_on_a_skewed_page_are_deskewed_by_how_rows_line_up() -> None:
    # Text tilted by 3 degrees but every box axis-aligned: the price sits ~21 px lower than its name,
    # most of a row's spacing (26 px), so grouping by height alone pairs each price with the row below.
    tilt = math.tan(math.radians(3))
    rows = [("1", "EGG ROLL", "7.95"), ("1", "TEMPURA", "11.95"), ("1", "BEEF EGGPLANT", "12.95"),
            ("1", "SA-TAY", "9.95"), ("1", "THAI SALAD", "7.95")]
    boxes = []
    for i, (count, name, price) in enumerate(rows):
        y = 100 + 26 * i
        boxes += [_upright_box(30, y + 30 * tilt, 16, 18, count), _upright_box(120, y + 120 * tilt, 140, 18, name),
                  _upright_box(430, y + 430 * tilt, 60, 18, price)]
    assert math.degrees(estimate_skew(boxes)) == pytest.approx(3, abs=0.5)
    assert [line.text for line in to_lines(boxes)] == [" ".join(r) for r in rows]


def test_lines_carry_their_upright_extent_and_text_height() -> None:
    [line] = to_lines([_box(10, 10, 100, 20, "MILK"), _box(300, 10, 60, 20, "1.19")])
    assert line.x_span == pytest.approx((10, 360))
    assert line.height == pytest.approx(20)


def test_amounts_a_part_of_a_line_off_their_names_on_bent_paper_join_their_names() -> None:
    names = ["Cajun Chix WRAP", "Oak Smoked Salmon", "Chips SM", "Fries SM", "Coke", "Diet Coke", "Tea", "Cake"]
    prices = ["£6.95", "£6.25", "£1.25", "£1.50", "£3.00", "£2.00", "£1.00", "£2.50"]
    lifts = [7.0, 7.2, 8.4, 7.0, 0.0, 0.5, 0.0, 0.0]  # how far each amount stands above its name
    boxes = [box for i, (name, price, lift) in enumerate(zip(names, prices, lifts, strict=True))
             for box in (_box(20, 100 + 15 * i, 100, 16, name), _box(225, 100 + 15 * i - lift, 36, 16, price))]
    assert [line.text for line in to_lines(boxes)] == [f"{n} {p}" for n, p in zip(names, prices, strict=True)]
