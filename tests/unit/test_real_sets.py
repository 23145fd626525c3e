"""The real-set loaders, their truth rules and the scoring of the accuracy bench, on tiny fixtures."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bench.real_report import KEEP_END, KEEP_START, assemble_page
from bench.real_run import boxes_json, read_boxes
from bench.real_scoring import Prediction, f1, name_price_hits, score
from bench.real_sets import (
    DOLLARS,
    Truth,
    TruthItem,
    currencies_in,
    de_truth,
    load_set,
    parse_amount,
    parse_dates,
    wild_items,
    wild_total,
)


def _box(label: int, text: str, x: float, y: float, w: float = 100, h: float = 30) -> dict[str, Any]:
    """A WildReceipt annotation: corners bottom-left, bottom-right, top-right, top-left."""
    return {"box": [x, y + h, x + w, y + h, x + w, y, x, y], "text": text, "label": label}


@pytest.mark.parametrize(("text", "value"), [
    ("9.00", 9.0), ("RM 57.40", 57.4), ("$1,007.50", 1007.5), ("109,98", 109.98), ("AED105.", 105.0),
    ("E99.33", 99.33), (".48", 0.48), ("48,000", 48000.0), ("12BALDUE", None), ("TOTAL", None), ("", None),
])
def test_amounts_are_read_with_their_currency_marks_stripped(text: str, value: float | None) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize(("text", "day_first", "dates"), [
    ("25/12/2018", True, {date(2018, 12, 25)}),
    ("05-02-18", True, {date(2018, 2, 5)}),
    ("05 MAR 2018", True, {date(2018, 3, 5)}),
    ("2014-07-22", None, {date(2014, 7, 22)}),
    ("02/14/12", None, {date(2012, 2, 14)}),
    ("06/04/14", None, {date(2014, 6, 4), date(2014, 4, 6)}),
    ("4/4/20127:33AM", None, {date(2012, 4, 4)}),
    ("Mar05,2017", None, {date(2017, 3, 5)}),
    ("Jul19'14", None, {date(2014, 7, 19)}),
    ("0ct25'14", None, {date(2014, 10, 25)}),
    ("18AVR2014", None, {date(2014, 4, 18)}),
    ("FRI23-10-92", None, {date(1992, 10, 23)}),
    ("Jun15", None, set()),
])
def test_dates_in_the_forms_the_sets_print(text: str, day_first: bool | None, dates: set[date]) -> None:
    assert parse_dates(text, day_first=day_first) == dates


def test_currency_comes_from_symbols_or_codes_and_a_bare_dollar_accepts_any_dollar() -> None:
    assert currencies_in(["28.95", "€28.95"]) == {"EUR"}
    assert currencies_in(["GBP6.40"]) == {"GBP"}
    assert currencies_in(["AU$77.43"]) == {"AUD"}
    assert currencies_in(["$21.00"]) == DOLLARS
    assert currencies_in(["21.00"]) == frozenset()


def test_sroie_loader_reads_keys_beside_the_images(tmp_path: Path) -> None:
    (tmp_path / "sroie" / "images").mkdir(parents=True)
    (tmp_path / "sroie" / "keys").mkdir()
    (tmp_path / "sroie" / "images" / "007.jpg").write_bytes(b"jpeg")
    keys = {"company": "SAM SAM TRADING CO", "date": "29-12-2017", "total": "RM14.10", "address": "x"}
    (tmp_path / "sroie" / "keys" / "007.json").write_text(json.dumps(keys))
    [sample] = load_set("sroie", tmp_path)
    assert (sample.stem, sample.lang) == ("007", "en")
    assert sample.truth == Truth(total=14.1, dates=frozenset({date(2017, 12, 29)}), merchants=("samsamtradingco",),
                                 currencies=frozenset({"MYR"}))


def test_wildreceipt_items_pair_names_and_prices_by_row() -> None:
    boxes = [
        _box(11, "DOUBLECOMBO", 400, 100), _box(15, "7.69", 850, 95),           # same row, slightly offset
        _box(11, "ROOTBEER", 400, 140),                                         # a name with no price: no item
        _box(11, "SPICYSOUP", 400, 180), _box(15, "30.00", 700, 180), _box(15, "$60.00", 850, 180),
        _box(13, "2", 300, 180),                                                # rightmost price, quantity on row
        _box(11, "BACON", 400, 220), _box(13, "(3@$0.70)", 400, 260), _box(15, "2.10", 850, 260),  # name above
    ]
    assert wild_items(boxes) == (TruthItem("DOUBLECOMBO", 7.69), TruthItem("SPICYSOUP", 60.0, 2.0),
                                 TruthItem("BACON", 2.1, 3.0))


def test_wildreceipt_items_on_a_tilted_photo_pair_by_the_rows_of_the_upright_page() -> None:
    # the page is turned 5 degrees: each price lies 40 px (a row) below its name's height
    tilt = 40 / 450

    def tilted(label: int, text: str, x: float, y: float) -> dict[str, object]:
        return _box(label, text, x, y + (x - 400) * tilt)

    boxes = [tilted(11, "SALAD", 400, 100), tilted(15, "7.95", 850, 100),
             tilted(11, "PADTHAI", 400, 140), tilted(15, "8.95", 850, 140),
             tilted(11, "MANGO", 400, 180), tilted(15, "3.00", 850, 180)]
    assert wild_items(boxes) == (TruthItem("SALAD", 7.95), TruthItem("PADTHAI", 8.95), TruthItem("MANGO", 3.0))


def test_wildreceipt_price_without_any_name_is_kept_for_price_matching() -> None:
    boxes = [_box(15, "4.50", 850, 100), _box(15, "1.00", 850, 140)]
    assert wild_items(boxes) == (TruthItem(None, 4.5), TruthItem(None, 1.0))


def test_wildreceipt_total_is_the_most_frequent_amount_and_ties_go_to_the_lowest_box() -> None:
    assert wild_total([_box(23, "12BALDUE", 0, 10), _box(23, "37.00", 0, 50), _box(23, "$37.00", 0, 90)]) == 37.0
    assert wild_total([_box(23, "30.00", 0, 10), _box(23, "33.00", 0, 90)]) == 33.0
    assert wild_total([_box(25, "9.99", 0, 10)]) is None


def test_wildreceipt_loader_builds_every_truth_field(tmp_path: Path) -> None:
    root = tmp_path / "wildreceipt"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "images" / "000.jpg").write_bytes(b"jpeg")
    boxes = [_box(1, "WENDY'S", 400, 10), _box(7, "2014-07-22", 300, 50), _box(11, "COMBO", 400, 100),
             _box(15, "$7.69", 850, 100), _box(23, "$7.69", 850, 300)]
    (root / "labels" / "000.json").write_text(json.dumps({"annotations": boxes}))
    (root / "labels" / "001.json").write_text(json.dumps({"annotations": []}))  # no image: left out
    [sample] = load_set("wildreceipt", tmp_path)
    truth = sample.truth
    assert (truth.total, truth.dates, truth.merchants) == (7.69, {date(2014, 7, 22)}, ("wendys",))
    assert truth.currencies == DOLLARS
    assert truth.items == (TruthItem("COMBO", 7.69),)


def test_de_receipt_truth_comes_from_the_file_name_with_or_without_an_item_count() -> None:
    lidl = de_truth("A-lidl_07042020_06_01569")
    assert (lidl.total, lidl.dates, lidl.merchants, lidl.item_count) == (15.69, {date(2020, 4, 7)}, ("lidl",), 6)
    saturn = de_truth("C-saturn_08092017_112900")
    assert (saturn.total, saturn.item_count) == (1129.0, None)
    assert de_truth("C-tanke_07092018_01_03400").merchants == ("tankstelle", "westfalen")


def test_de_loader_lists_the_scans(tmp_path: Path) -> None:
    (tmp_path / "de-receipts").mkdir()
    for name in ("B-thalia_06052020_01_04990.jpg", "A-aldi_02032020_19_02423.jpg"):
        (tmp_path / "de-receipts" / name).write_bytes(b"jpeg")
    samples = load_set("de-receipts", tmp_path, limit=1)
    assert [(s.stem, s.lang, s.truth.currencies) for s in samples] == [("A-aldi_02032020_19_02423", "de", {"EUR"})]


def test_header_fields_are_scored_by_the_set_rules_and_missing_truth_is_not_applicable() -> None:
    truth = Truth(total=9.0, dates=frozenset({date(2018, 12, 25)}), merchants=("booktaktamandayasdnbhd",))
    got = Prediction(merchant="BOOK TA.K (TAMAN DAYA) SDN BND", purchased_at="2018-12-25T10:01", total=9.004)
    assert score(truth, got).fields == {"total": True, "date": True, "merchant": True, "currency": None}
    assert score(truth, Prediction(merchant="TAMAN DAYA", purchased_at="25/12")).fields == {
        "total": False, "date": False, "merchant": False, "currency": None}


def test_de_merchant_is_right_when_the_slug_appears_in_the_compacted_name() -> None:
    truth = de_truth("A-real_15042020_04_01946")
    assert score(truth, Prediction(merchant="real,- SB-Warenhaus")).fields["merchant"] is True
    assert score(truth, Prediction(merchant="Lidl")).fields["merchant"] is False


def test_items_are_matched_on_price_and_on_name_and_price() -> None:
    truth = Truth(items=(TruthItem("DOUBLECOMBO", 7.69), TruthItem("ROOTBEER", 1.09), TruthItem(None, 2.0)))
    got = Prediction(items=[("DOUBLE C0MBO", 7.69), ("ROOT BEER", 1.09), ("SOMETHING", 2.0), ("HST", 2.24),
                            ("NO PRICE", None)])
    result = score(truth, got)
    assert (result.found, result.expected, result.price_hits, result.name_hits) == (5, 3, 3, 2)
    assert f1(result.price_hits or 0, result.found, result.expected or 0) == pytest.approx(0.75)
    # over the named items: the unnamed 2.00 leaves the expected items, 'SOMETHING' 2.00 the found ones
    assert (result.named_found, result.named_expected) == (4, 2)


def test_one_predicted_item_matches_at_most_one_expected_item() -> None:
    expected = [TruthItem("REUTILIZABLE", 0.05), TruthItem("REUTILIZABLE", 0.05)]
    assert name_price_hits(expected, [("REUTILIZABLE", 0.05)]) == 1


def test_ocr_boxes_round_trip_through_the_cache_format(tmp_path: Path) -> None:
    path = tmp_path / "000.json"
    path.write_text(json.dumps({"cpu_s": 1.5, "boxes": [[[[0, 0], [10, 0], [10, 5], [0, 5]], "TOTAL", 0.9],
                                                         [[[0, 9], [1, 9], [1, 10], [0, 10]], " ", 0.5]]}))
    boxes = read_boxes(path)
    assert [(b.text, b.points[2]) for b in boxes] == [("TOTAL", (10.0, 5.0))]
    path.write_text(boxes_json(boxes, None))
    assert read_boxes(path) == boxes


def test_the_page_keeps_its_hand_written_section() -> None:
    previous = f"# Title\n\n{KEEP_START}\n| before | 0.58 |\n{KEEP_END}\n\nold numbers\n"
    page = assemble_page(previous, ["new numbers"])
    assert "| before | 0.58 |" in page and "new numbers" in page and "old numbers" not in page
    assert KEEP_START in assemble_page(None, ["x"])


def test_the_data_folder_comes_from_the_flag_then_the_environment(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.accuracy import resolve_data

    monkeypatch.setenv("FOODAI_DATASETS", str(tmp_path))
    assert resolve_data(None)[0] == tmp_path
    assert resolve_data(tmp_path / "sub")[0] is None
    monkeypatch.setenv("FOODAI_DATASETS", str(tmp_path / "absent"))
    path, note = resolve_data(None)
    assert path is None and note.startswith("real sets skipped") and "FOODAI_DATASETS" in note


def test_price_boxes_drawn_shifted_against_their_names_pair_in_order() -> None:
    # as on WildReceipt 030 and 300: each price box is drawn half a line below its name, so the rows
    # pair it with the name below
    level = [_box(0, text, x, y, 50, 25) for y in (20, 50, 200, 230, 260) for x, text in ((60, "KEY"), (160, "VALUE"))]
    boxes = [*level, _box(11, "Kopi", 60, 100, 80, 25), _box(11, "Wanton", 60, 125, 80, 25),
             _box(11, "Toast", 60, 150, 80, 25), _box(15, "1.70", 160, 118, 50, 18), _box(15, "8.90", 160, 143, 50, 18),
             _box(15, "5.90", 160, 168, 50, 18)]
    assert [(t.name, t.price) for t in wild_items(boxes)] == [("Kopi", 1.7), ("Wanton", 8.9), ("Toast", 5.9)]


def test_a_name_over_two_rows_keeps_the_row_pairing() -> None:
    # a name without a price of its own above the first priced row: the rows pair right, no shift
    boxes = [_box(11, "(Bottle)", 60, 100, 80, 20), _box(11, "Capisok", 60, 125, 80, 20),
             _box(15, "8.00", 160, 125, 50, 20), _box(11, "Bread", 60, 150, 80, 20),
             _box(15, "16.00", 160, 150, 50, 20), _box(15, "33.00", 160, 175, 50, 20)]
    assert [(t.name, t.price) for t in wild_items(boxes)] == [("Capisok", 8.0), ("Bread", 16.0), (None, 33.0)]
