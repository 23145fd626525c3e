"""Product photos: barcodes, regions of a pile, text + image fusion, the head trainer and the packaged model.

Every image here is drawn by the test (no dataset files): a barcode pasted on a package-like
photo, and a collage of fruit-like blobs on a table. Recognition logic runs against a stand-in
classifier so each rule is checked on its own; one test runs the packaged ONNX model itself.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.recognition.catalog import load_catalog
from app.recognition.layout import OcrBox
from app.recognition.products.barcode import (
    CodeEntry,
    bundled_table,
    check_digit_ok,
    ean_form,
    parse_code_table,
    read_barcodes,
)
from app.recognition.products.model import Box, Prediction, ProductModel
from app.recognition.products.recognize import NOTE_NO_PRODUCT, choose, recognize_products
from app.recognition.products.regions import iou, propose, suppress
from app.recognition.products.table import PrintedText, load_products, parse_products, text_hits
from app.recognition.products.training import fit_head, predict, stratified_folds
from tests.support import EAN, package_with_barcode, shelf_photo

LABELS = ("Banana", "Lemon", "Orange", "Arla-Standard-Milk", "Arla-Medium-Fat-Milk")


REFERENCE = {"Banana": (235, 205, 40), "Lemon": (200, 230, 60), "Orange": (245, 140, 20),
             "Arla-Standard-Milk": (40, 90, 220), "Arla-Medium-Fat-Milk": (60, 60, 160)}


class StubModel:
    """Classifies by the mean colour of the picture's saturated pixels, nearest of REFERENCE."""

    def __init__(self) -> None:
        self.calls = 0

    def _predict(self, image: Image.Image) -> Prediction:
        self.calls += 1
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3)
        vivid = pixels[pixels.max(axis=1) - pixels.min(axis=1) > 80]
        mean = (vivid if len(vivid) else pixels).mean(axis=0)
        logits = np.array([-np.linalg.norm(mean - REFERENCE[label]) / 20 for label in LABELS], np.float32)
        probs = np.exp(logits - logits.max())
        return Prediction(LABELS, (probs / probs.sum()).astype(np.float32))

    def classify(self, image: Image.Image) -> Prediction:
        return self._predict(image)

    def classify_crops(self, image: Image.Image, boxes: list[Box]) -> list[Prediction]:
        return [self._predict(image.crop(box)) for box in boxes]


class MilkModel(StubModel):
    """Sees milk in every picture."""

    def _predict(self, image: Image.Image) -> Prediction:
        self.calls += 1
        return Prediction(LABELS, np.array([0.05, 0.05, 0.05, 0.8, 0.05], np.float32))


def _blob(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> None:
    draw.ellipse(box, fill=colour)
    x0, y0, x1, y1 = box
    shade = tuple(max(0, c - 40) for c in colour)
    draw.ellipse((x0 + (x1 - x0) // 3, y0 + (y1 - y0) // 3, x1 - (x1 - x0) // 4, y1 - (y1 - y0) // 4), fill=shade)


PILE = [((40, 60, 220, 200), (235, 205, 40)), ((300, 220, 420, 340), (245, 140, 20)),
        ((470, 50, 600, 170), (40, 90, 220))]


def _pile_on_table(checked: bool = False) -> Image.Image:
    """Three fruit-like blobs (yellow, orange, blue) on an even wooden-table colour, or on a checked cloth."""
    rng = np.random.default_rng(3)
    table = np.clip(np.full((400, 640, 3), (200, 180, 150), np.float32) + rng.normal(0, 4, (400, 640, 3)), 0, 255)
    if checked:
        ys, xs = np.mgrid[0:400, 0:640]
        table[((xs // 40 + ys // 40) % 2) == 1] = (120, 40, 40)
    image = Image.fromarray(table.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for box, colour in PILE:
        _blob(draw, box, colour)
    return image


def test_check_digits_and_upc_as_ean() -> None:
    assert check_digit_ok(EAN)
    assert not check_digit_ok("4006381333932")
    assert check_digit_ok("96385074")  # EAN-8
    assert ean_form("036000291452") == "0036000291452"
    assert check_digit_ok(ean_form("036000291452"))
    assert not check_digit_ok("12345")


def test_ean13_on_a_package_photo_is_read_exactly() -> None:
    codes = read_barcodes(package_with_barcode(EAN))
    assert [c.code for c in codes] == [EAN]
    assert codes[0].symbology == "EAN-13"
    xs = [x for x, _ in codes[0].box]
    assert 190 < min(xs) < max(xs) < 460


def test_known_barcode_is_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    table = parse_code_table(f"code\tcatalog_key\tlabel\tphotos\n{EAN}\tmilk\t\t0\n")
    monkeypatch.setattr("app.recognition.products.recognize.bundled_table", lambda: table)
    model = StubModel()
    result = recognize_products(package_with_barcode(EAN), [], lang="de", model=model)
    assert [(i.name_hint, i.confidence) for i in result.items] == [("milk", 0.99)]
    assert model.calls == 0


def test_every_bundled_code_names_a_catalog_item_and_a_model_class() -> None:
    products, catalog = load_products(), load_catalog()
    for code, entry in bundled_table().items():
        assert check_digit_ok(code) and entry.code == code and entry.photos >= 1
        assert catalog.get(entry.catalog_key) is not None
        assert products[entry.label].catalog_key == entry.catalog_key


def test_code_table_rows_with_a_bad_check_digit_or_no_catalog_key_are_skipped() -> None:
    text = "# comment\ncode\tcatalog_key\tlabel\tphotos\n4006381333932\tmilk\n96385074\t\n96385074\tmilk\tX\t3\n"
    assert parse_code_table(text) == {"96385074": CodeEntry("96385074", "milk", "X", 3)}


def test_barcode_known_only_to_the_lookup() -> None:
    asked: list[str] = []

    def lookup(code: str) -> str | None:
        asked.append(code)
        return "Haferdrink Barista"

    result = recognize_products(package_with_barcode(EAN), [], lang="de", model=StubModel(), lookup=lookup)
    assert asked == [EAN]
    assert result.items[0].raw_text == "Haferdrink Barista"
    assert result.items[0].name_hint == "oat drink"


def test_unreadable_barcode_falls_back_to_the_image_model() -> None:
    photo = package_with_barcode(EAN)
    ImageDraw.Draw(photo).rectangle((290, 200, 350, 420), fill=(250, 250, 250))  # the middle bars torn off
    assert read_barcodes(photo) == []
    result = recognize_products(photo, [], lang="en", model=MilkModel(), lookup=lambda code: pytest.fail(code))
    assert len(result.items) == 1
    assert result.items[0].raw_text == "Arla standard milk"
    assert result.items[0].box == [(0.0, 0.0), (640.0, 0.0), (640.0, 480.0), (0.0, 480.0)]


def test_unknown_barcode_falls_back_to_the_image_model() -> None:
    result = recognize_products(package_with_barcode(EAN), [], lang="en", model=MilkModel(), lookup=lambda c: None)
    assert result.items[0].raw_text == "Arla standard milk"


@pytest.mark.parametrize("checked", [False, True], ids=["plain table", "checked cloth"])
def test_regions_of_a_pile_on_a_table(checked: bool) -> None:
    boxes = propose(_pile_on_table(checked))
    assert len(boxes) == 3
    for truth, _ in PILE:
        assert max(iou(box, tuple(map(float, truth))) for box in boxes) > 0.7


def test_a_busy_photo_is_not_a_pile() -> None:
    assert propose(shelf_photo()) == []
    assert propose(package_with_barcode(EAN)) == []


def test_each_product_of_a_pile_is_an_item_with_its_box() -> None:
    result = recognize_products(_pile_on_table(), [], lang="en", model=StubModel())
    names = sorted(item.raw_text for item in result.items)
    assert names == ["Arla standard milk", "banana", "orange"]
    for item in result.items:
        assert item.box is not None and len(item.box) == 4
        assert item.box != [(0.0, 0.0), (640.0, 0.0), (640.0, 400.0), (0.0, 400.0)]


def test_non_max_suppression_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = [(0.0, 0.0, 10.0, 10.0), (1.0, 1.0, 11.0, 11.0), (50.0, 50.0, 60.0, 60.0)]
    assert suppress(boxes, [0.5, 0.9, 0.7]) == [1, 2]


def test_printed_words_settle_between_lookalike_packages() -> None:
    products = load_products()
    labels = ("Arla-Standard-Milk", "Arla-Medium-Fat-Milk", "Banana")
    prediction = Prediction(labels, np.array([0.3, 0.6, 0.1], np.float32))
    printed = PrintedText.of(["Arla", "STANDARDMJÖLK", "3%"])
    assert text_hits(printed, labels, products) == [2, 1, 0]
    choice = choose(prediction, printed, products)
    assert choice is not None and choice.product.label == "Arla-Standard-Milk"
    assert choose(prediction, PrintedText.of([]), products).product.label == "Arla-Medium-Fat-Milk"  # type: ignore[union-attr]


def test_ocr_misreads_of_long_words_still_count() -> None:
    assert PrintedText.of(["BRAVO", "XPPLE", "JUICE"]).contains("apple")
    assert not PrintedText.of(["BRAVO"]).contains("arla")


def test_text_alone_names_products_the_image_model_does_not_know() -> None:
    unsure = StubModel()
    unsure._predict = lambda image: Prediction(LABELS, np.full(len(LABELS), 0.2, np.float32))  # type: ignore[method-assign]
    box = OcrBox(((10, 10), (200, 10), (200, 40), (10, 40)), "Spaghetti", 0.9)
    result = recognize_products(shelf_photo(), [box], lang="en", model=unsure)
    assert [item.name_hint for item in result.items] == ["spaghetti"]
    nothing = recognize_products(shelf_photo(), [], lang="en", model=unsure)
    assert nothing.note == NOTE_NO_PRODUCT or nothing.items


def test_product_table_covers_the_model_and_the_catalog() -> None:
    meta = json.loads(resources.files("app.recognition.products").joinpath("data/classes.json").read_text("utf-8"))
    products = load_products()
    assert sorted(products) == sorted(meta["labels"])
    assert len(products) == 81
    catalog = load_catalog()
    missing = sorted({p.catalog_key for p in products.values() if catalog.get(p.catalog_key) is None})
    assert missing == []
    assert {products[label].coarse for label in meta["labels"]} == set(meta["coarse"])


def test_parse_products_reads_words_folded() -> None:
    table = parse_products("label\tcoarse\tcatalog_key\tname\twords\nX\tY\tmilk\tX milk\tArla|Mellanmjölk\n")
    assert table["X"].words == ("arla", "mellanmjolk")


def test_head_training_separates_classes_and_folds_are_stratified() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    labels = [i % 3 for i in range(60)]
    features = np.stack([centres[i] + 0.3 * rng.normal(size=16) for i in labels]).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    head = fit_head(features[:45], labels[:45], 3)
    assert (predict(head, features[45:]).argmax(axis=1) == np.array(labels[45:])).mean() > 0.9
    folds = stratified_folds([str(i) for i in labels], 5, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(60))
    assert all(len(fold) == 12 for fold in folds)


def test_the_packaged_model_classifies_a_photo() -> None:
    model = ProductModel()
    image = _pile_on_table()
    prediction = model.classify(image)
    assert len(prediction.labels) == 81
    assert prediction.probs.sum() == pytest.approx(1.0, abs=1e-4)
    crops = model.classify_crops(image, [(40.0, 60.0, 220.0, 200.0), (0.0, 0.0, 100.0, 100.0)])
    assert len(crops) == 2 and crops[0].top(1)[0][0] in prediction.labels


def test_text_naming_the_image_models_own_guess_keeps_the_finer_image_answer() -> None:
    unsure = StubModel()
    unsure._predict = lambda image: Prediction(  # type: ignore[method-assign]
        LABELS, np.array([0.2, 0.2, 0.15, 0.25, 0.2], np.float32))
    box = OcrBox(((10, 10), (200, 10), (200, 40), (10, 40)), "Milch", 0.9)
    result = recognize_products(shelf_photo(), [box], lang="de", model=unsure)
    assert [item.raw_text for item in result.items] == ["Arla standard milk"]
