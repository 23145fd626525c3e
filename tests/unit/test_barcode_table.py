"""The bundled barcode table is built from codes read on the photos, and the recognizer answers from it.

A small dataset folder is drawn here (package photos with generated EAN-13 symbols, in the
grocery dataset's layout), so the build script runs without the real photos. The codes
are in GS1's in-store range (prefix 20), which no real product carries.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.recognition.products.barcode import CodeEntry, parse_code_table
from app.recognition.products.recognize import recognize_products
from scripts.build_barcode_table import scan, table_of, write_table
from tests.support import package_with_barcode, shelf_photo

MILK = "2000000000015"
SHARED = "2000000000022"
PRODUCE = "2000000000039"


class NoModel:
    """Fails the test if the image model is asked: a known code must answer alone."""

    def classify(self, image: Image.Image) -> object:
        pytest.fail("the image model was asked")

    def classify_crops(self, image: Image.Image, boxes: list[object]) -> list[object]:
        pytest.fail("the image model was asked")


def _put(data: Path, folders: str, number: int, image: Image.Image) -> None:
    folder = data / "train" / folders
    folder.mkdir(parents=True, exist_ok=True)
    image.save(folder / f"{folder.name}_{number:03d}.jpg", quality=95)


def _dataset(data: Path) -> None:
    _put(data, "Packages/Milk/Arla-Standard-Milk", 1, package_with_barcode(MILK))
    _put(data, "Packages/Milk/Arla-Standard-Milk", 2, package_with_barcode(MILK))
    _put(data, "Packages/Milk/Arla-Standard-Milk", 3, shelf_photo())
    _put(data, "Packages/Juice/Bravo-Apple-Juice", 1, package_with_barcode(SHARED))
    _put(data, "Packages/Milk/Arla-Medium-Fat-Milk", 1, package_with_barcode(SHARED))
    _put(data, "Fruit/Banana", 1, package_with_barcode(PRODUCE))


def test_codes_on_one_packaged_class_are_kept_with_their_photo_count(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _dataset(tmp_path / "grocery")
    evidence = scan(tmp_path / "grocery", quick=True)
    assert (evidence.photos, evidence.read_as_served) == (6, 5)
    assert table_of(evidence) == [CodeEntry(MILK, "milk", "Arla-Standard-Milk", 2)]
    printed = capsys.readouterr().out
    assert f"dropped {SHARED}: seen on Arla-Medium-Fat-Milk (1), Bravo-Apple-Juice (1)" in printed
    assert f"not kept {PRODUCE}: read on produce photos ['Banana/Banana_001.jpg']" in printed


def test_the_written_table_names_its_code_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "barcodes.tsv"
    write_table([CodeEntry(MILK, "milk", "Arla-Standard-Milk", 2)], out)
    table = parse_code_table(out.read_text("utf-8"))
    assert table == {MILK: CodeEntry(MILK, "milk", "Arla-Standard-Milk", 2)}
    monkeypatch.setattr("app.recognition.products.recognize.bundled_table", lambda: table)
    result = recognize_products(package_with_barcode(MILK), [], lang="en", model=NoModel())  # type: ignore[arg-type]
    assert [(i.raw_text, i.name_hint, i.category_hint, i.confidence) for i in result.items] == [
        ("Arla standard milk", "milk", "dairy", 0.99)]
    xs = [x for x, _ in result.items[0].box or []]
    assert 190 < min(xs) < max(xs) < 460
