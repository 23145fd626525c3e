"""Build the bundled barcode table (app/recognition/products/data/barcodes.tsv) from the grocery photos.

Every photo under `<data>/train|val/<group>/<coarse>/[<fine>/]*.jpg` is scanned with the
recognizer's own reader (`read_barcodes`), first as the service sees it, then at a few
larger scales, tilts and crops to find codes too small or skewed for a single pass. Only
the table is affected by the extra passes: the recognizer itself runs the single pass.

A code (EAN-13, EAN-8, UPC-A as EAN-13; check digit verified) read on a photo of a packaged
class is evidence that the code is that product's; it is written with the class's catalog
key, the class label and the number of photos that showed it. A code seen on photos of two
different classes is dropped (and printed), and codes read on fruit or vegetable photos are
printed but not kept (loose produce carries no retail code of its own). Nothing but codes
and counts leaves the dataset.

    .venv/bin/python scripts/build_barcode_table.py ../shared/datasets/grocery [--out PATH] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.recognition.products.barcode import TABLE_COLUMNS, CodeEntry, read_barcodes  # noqa: E402
from app.recognition.products.table import load_products  # noqa: E402

OUT = ROOT / "app" / "recognition" / "products" / "data" / "barcodes.tsv"
PACKAGED = "Packages"
HEADER = """# Barcodes read on the grocery photos (shared/datasets/grocery), written by scripts/build_barcode_table.py:
# code (EAN-13; UPC-A as 0 + 12 digits; or EAN-8) <TAB> catalog key <TAB> model class <TAB> photos showing it.
# Only codes read on photos of one packaged class are here (none typed in by hand); codes that users name
# or that Open Food Facts answers are kept in the database (table barcode_products, migration 0005).
"""


def say(line: str) -> None:
    """One line of progress or result on stdout, at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(slots=True)
class Evidence:
    """What the scan found: per code, the photos of each class that showed it."""

    packaged: dict[str, dict[str, set[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    produce: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    photos: int = 0
    read_as_served: int = 0
    read_any: int = 0
    served_cpu: float = 0.0


def photos_of(data: Path) -> Iterator[tuple[Path, str, str]]:
    """(photo, group, class label) for every photo; the label is the folder holding it."""
    for split in ("train", "val"):
        for path in sorted((data / split).glob("*/*/**/*.jpg")):
            yield path, path.relative_to(data / split).parts[0], path.parent.name


def variants(image: Image.Image, quick: bool) -> Iterator[Image.Image]:
    """Larger, sharpened, tilted and cropped copies of a photo, where small or skewed bars may resolve."""
    grey = ImageOps.autocontrast(image.convert("L"))
    for scale in (2,) if quick else (2, 3):
        big = grey.resize((grey.width * scale, grey.height * scale), Image.Resampling.BICUBIC)
        big = big.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=2))
        yield big
        for angle in () if quick else (-30, 30):
            yield big.rotate(angle, expand=True, fillcolor=255, resample=Image.Resampling.BILINEAR)
    if not quick:
        width, height = grey.size
        for left, top in ((0, 0), (width // 2, 0), (0, height // 2), (width // 2, height // 2)):
            margin_x, margin_y = width // 10, height // 10
            crop = grey.crop((max(0, left - margin_x), max(0, top - margin_y),
                              min(width, left + width // 2 + margin_x), min(height, top + height // 2 + margin_y)))
            yield crop.resize((crop.width * 4, crop.height * 4), Image.Resampling.BICUBIC)


def scan(data: Path, quick: bool) -> Evidence:
    """Read every photo, as served and in its variants, and gather the codes by class."""
    evidence = Evidence()
    for path, group, label in photos_of(data):
        image = Image.open(path).convert("RGB")
        start = time.process_time()
        served = {code.code for code in read_barcodes(image)}
        evidence.served_cpu += time.process_time() - start
        found = served | {code.code for variant in variants(image, quick) for code in read_barcodes(variant)}
        evidence.photos += 1
        evidence.read_as_served += bool(served)
        evidence.read_any += bool(found)
        for code in found:
            if group == PACKAGED:
                evidence.packaged[code][label].add(path.name)
            else:
                evidence.produce[code].add(f"{label}/{path.name}")
    return evidence


def table_of(evidence: Evidence) -> list[CodeEntry]:
    """One entry per code seen on photos of exactly one packaged class with a catalog product; conflicts printed."""
    products = load_products()
    entries = []
    for code, by_label in sorted(evidence.packaged.items()):
        if len(by_label) > 1:
            say(f"dropped {code}: seen on {', '.join(f'{k} ({len(v)})' for k, v in sorted(by_label.items()))}")
            continue
        [(label, photos)] = by_label.items()
        product = products.get(label)
        if product is None:
            say(f"dropped {code}: class {label} has no product in products.tsv")
            continue
        entries.append(CodeEntry(code, product.catalog_key, label, len(photos)))
    for code, where in sorted(evidence.produce.items()):
        say(f"not kept {code}: read on produce photos {sorted(where)}")
    return entries


def write_table(entries: list[CodeEntry], out: Path) -> None:
    """The TSV the table module loads: the header comment, a column line, one row per code."""
    rows = ["\t".join(TABLE_COLUMNS)] + [f"{e.code}\t{e.catalog_key}\t{e.label}\t{e.photos}" for e in entries]
    out.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")


def summary(evidence: Evidence, entries: list[CodeEntry], packaged_classes: int) -> str:
    """What the scan found, in a few lines."""
    served = evidence.read_as_served
    covered = len({e.label for e in entries})
    return "\n".join([
        f"photos scanned: {evidence.photos}",
        f"photos with a code read as the service reads them: {served} ({served / max(1, evidence.photos):.3f}); "
        f"barcode step CPU {evidence.served_cpu / max(1, evidence.photos):.4f} s a photo (mean)",
        f"photos with a code read by any pass: {evidence.read_any}",
        f"codes kept: {len(entries)}; packaged classes covered: {covered} of {packaged_classes}",
    ])


def main(argv: list[str] | None = None) -> None:
    """Scan, build and write the table, print what was found."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="the grocery dataset folder (holds train/ and classes.csv)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--quick", action="store_true", help="only the served pass and one 2x upscale")
    args = parser.parse_args(argv)
    evidence = scan(args.data, args.quick)
    entries = table_of(evidence)
    write_table(entries, args.out)
    packaged_classes = len({label for _, group, label in photos_of(args.data) if group == PACKAGED})
    say(summary(evidence, entries, packaged_classes))
    say(f"wrote {args.out}")


if __name__ == "__main__":
    main()
