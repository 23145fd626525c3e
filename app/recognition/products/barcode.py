"""Retail barcodes (EAN-13, EAN-8, UPC-A) read from a photo with zxing-cpp, and the bundled code table.

A code counts only when its check digit is right (zxing-cpp already refuses bad ones; we
check again so a table or a cache can never be fed a misread). UPC-A codes are reported
as their 13-digit EAN form ('0' + 12 digits), the form shops and Open Food Facts use.

`data/barcodes.tsv` maps codes to catalog keys and the image model's class. It holds only
codes read on the grocery photos themselves (`scripts/build_barcode_table.py` writes it;
nothing is typed in by hand); codes learnt from users or from Open Food Facts live in the
database cache (`app.recognition.products.off`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import zxingcpp
from PIL import Image

Point = tuple[float, float]
FORMATS = ("EAN13", "EAN8", "UPCA")
_SCAN_SIDE = 1600  # larger photos are scaled down for the scan; bars stay resolvable


@dataclass(frozen=True, slots=True)
class Barcode:
    """One code read from the image: its digits (EAN form), symbology and outline."""

    code: str
    symbology: str
    box: list[Point]


def check_digit_ok(code: str) -> bool:
    """Whether an 8-, 12- or 13-digit code's last digit is its GS1 check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13):
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def ean_form(code: str) -> str:
    """A UPC-A code as its EAN-13 twin; EAN-8 and EAN-13 unchanged."""
    return "0" + code if len(code) == 12 else code


def _outline(position: object, scale: float) -> list[Point]:
    corners = [getattr(position, name) for name in ("top_left", "top_right", "bottom_right", "bottom_left")]
    return [(round(p.x * scale, 1), round(p.y * scale, 1)) for p in corners]


def read_barcodes(image: Image.Image) -> list[Barcode]:
    """The retail codes visible in the image (each code once), with their outline in the image's pixels."""
    scale = 1.0
    scan = image.convert("L")
    if max(scan.size) > _SCAN_SIDE:
        scale = max(scan.size) / _SCAN_SIDE
        scan = scan.resize((round(scan.width / scale), round(scan.height / scale)), Image.Resampling.BILINEAR)
    formats = zxingcpp.barcode_formats_from_str(",".join(FORMATS))
    found: dict[str, Barcode] = {}
    for result in zxingcpp.read_barcodes(scan, formats=formats):
        code = ean_form(result.text)
        if check_digit_ok(code) and code not in found:
            found[code] = Barcode(code, str(result.format).rsplit(".", 1)[-1], _outline(result.position, scale))
    return list(found.values())


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One row of the bundled table: the code, its catalog item, the model class and how many photos showed it."""

    code: str
    catalog_key: str
    label: str = ""
    photos: int = 0


TABLE_COLUMNS = ("code", "catalog_key", "label", "photos")


def parse_code_table(text: str) -> dict[str, CodeEntry]:
    """Entries by code from TSV text in the format of `data/barcodes.tsv` ('#' lines are comments).

    Rows with a bad check digit or without a catalog key are skipped, so a typo can never
    name a product.
    """
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    table = {}
    for row in csv.reader(lines, delimiter="\t"):
        if len(row) < 2 or row[0] == TABLE_COLUMNS[0] or not check_digit_ok(row[0]) or not row[1]:
            continue
        label = row[2] if len(row) > 2 else ""
        photos = int(row[3]) if len(row) > 3 and row[3].isdigit() else 0
        table[row[0]] = CodeEntry(row[0], row[1], label, photos)
    return table


@lru_cache(maxsize=1)
def bundled_table() -> dict[str, CodeEntry]:
    """The packaged code table, read once per process."""
    text = resources.files("app.recognition.products").joinpath("data/barcodes.tsv").read_text("utf-8")
    return parse_code_table(text)


def bundled_codes() -> dict[str, str]:
    """The packaged code -> catalog key table."""
    return {code: entry.catalog_key for code, entry in bundled_table().items()}
