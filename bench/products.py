"""Products section of the recognition bench: product photos named, coarse and fine, and CPU per photo.

Runs the real product path on every grocery photo (`../shared/datasets/grocery`): decode,
OCR with the local recognizer's engine, then `recognize_products` (barcodes, regions, image
model + printed words). The shipped head was trained on these very photos, so scoring it
here would be training accuracy: instead each photo is scored by a head fitted (same
recipe as `scripts/train_products.py`) on photos it is not part of, for
- 5-fold cross-validation, stratified by class (every photo is held out once), and
- a fixed split: photos numbered 8-10 of each class held out, 1-7 trained on.
The backbone is the shipped one (ImageNet weights, never trained on these photos).

A photo counts as named (coarse) when the product answered belongs to its coarse class
('Apple'; for packs, e.g. 'Milk'), and named (fine) when it is the exact class ('Granny
Smith', 'Arla standard milk'). CPU is process CPU seconds per photo (one onnxruntime
thread): the whole path with OCR, and the image path alone (without OCR). The barcode step is
also timed on its own (`read_barcodes` on the decoded photo, as the recognizer runs it), with
the share of photos on which it reads a code. `--piles N` appends `bench.piles`: N composed
piles of real photos per kind (see that module).

    python -m bench.products [--data ../shared/datasets/grocery] [--limit 0] [--ocr auto] [--piles 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from app.recognition.base import ImageRecognition
from app.recognition.catalog import load_catalog
from app.recognition.local import LocalRecognizer, decode_image
from app.recognition.products.barcode import read_barcodes
from app.recognition.products.model import Backbone, Box, Head, Prediction, ProductModel, normalize, preprocess
from app.recognition.products.recognize import recognize_products
from app.recognition.products.table import Product, load_products
from app.recognition.products.training import fit_head, stratified_folds, views
from bench.common import machine

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "grocery"
HOLD_OUT_FROM = 8
SEED = 13


@dataclass(frozen=True, slots=True)
class Photo:
    """One photo, its class and its number within the class."""

    path: Path
    label: str
    number: int


@dataclass(slots=True)
class Tally:
    """Hits and CPU seconds of one evaluation."""

    name: str
    coarse: int = 0
    fine: int = 0
    count: int = 0
    by_group: dict[str, list[int]] = field(default_factory=dict)

    def add(self, group: str, coarse: bool, fine: bool) -> None:
        self.coarse, self.fine, self.count = self.coarse + coarse, self.fine + fine, self.count + 1
        row = self.by_group.setdefault(group, [0, 0, 0])
        row[0], row[1], row[2] = row[0] + coarse, row[1] + fine, row[2] + 1


class FoldModel:
    """The shipped backbone with a head fitted without the photos being scored."""

    def __init__(self, backbone: Backbone, head: Head) -> None:
        self._backbone, self._head = backbone, head

    def classify(self, image: Image.Image) -> Prediction:
        return self._head.predict(self._backbone.embed_image(image))[0]

    def classify_crops(self, image: Image.Image, boxes: list[Box]) -> list[Prediction]:
        batch = np.concatenate([preprocess(image.crop(box), self._backbone.size) for box in boxes])
        return self._head.predict(normalize(self._backbone.embed(batch)))


def list_photos(data: Path) -> list[Photo]:
    """Every photo under data/train and data/val with its fine class (the folder holding it)."""
    return [Photo(path, path.parent.name, int(path.stem.rsplit("_", 1)[-1]))
            for split in ("train", "val") for path in sorted((data / split).glob("*/*/**/*.jpg"))]


def embed(photos: Sequence[Photo], backbone: Backbone) -> np.ndarray:
    """Unit-length embeddings of every training view (photos x views x D)."""
    rows = []
    for photo in photos:
        image = decode_image(photo.path.read_bytes())
        batch = np.concatenate([preprocess(view, backbone.size) for view in views(image)])
        rows.append(normalize(backbone.embed(batch)))
    return np.stack(rows)


def fold_head(features: np.ndarray, photos: Sequence[Photo], train: np.ndarray, labels: tuple[str, ...]) -> Head:
    """A head fitted on the training photos' views, as the training script fits the shipped one."""
    flat = features[train].reshape(-1, features.shape[-1])
    targets = np.repeat([labels.index(photos[i].label) for i in train], features.shape[1])
    arrays = fit_head(flat, targets.tolist(), len(labels))
    return Head(arrays["weights"], arrays["bias"], arrays["mean"], labels)


def judge(result: ImageRecognition, truth: Product, products: dict[str, Product]) -> tuple[bool, bool]:
    """(coarse, fine) hit of the first item against the photo's class."""
    if not result.items:
        return False, False
    item = result.items[0]
    by_name = {p.name: p for p in products.values()}
    answered = by_name.get(item.raw_text)
    coarse_keys = {p.catalog_key for p in products.values() if p.coarse == truth.coarse}
    if answered is None:  # the text path: only its catalog item is known
        match = load_catalog().match(item.name_hint or item.raw_text)
        return match is not None and match.item.key in coarse_keys, False
    return answered.coarse == truth.coarse, answered.label == truth.label


def run(data: Path, limit: int, ocr: str) -> str:
    """Score both evaluations and return the markdown report."""
    photos = list_photos(data)[: limit or None]
    products = load_products()
    backbone, shipped = ProductModel().parts()
    labels = shipped.labels
    started = time.process_time()
    features = embed(photos, backbone)
    embed_cpu = time.process_time() - started
    recognizer = LocalRecognizer(ocr=ocr)
    numbers = np.array([p.number for p in photos])
    splits = {"5-fold cross-validation": stratified_folds([p.label for p in photos], 5, SEED),
              f"held-out photos {HOLD_OUT_FROM}-10": [np.where(numbers >= HOLD_OUT_FROM)[0]]}
    tallies, cpu_all, cpu_image, barcodes = [], [], [], Barcodes()
    for name, folds in splits.items():
        tally = Tally(name)
        for test in folds:
            train = np.setdiff1d(np.arange(len(photos)), test)
            model = FoldModel(backbone, fold_head(features, photos, train, labels))
            for index in test:
                photo = photos[index]
                barcodes.time(photo)
                total, image_only, result = score_photo(photo, recognizer, model)
                cpu_all.append(total)
                cpu_image.append(image_only)
                truth = products[photo.label]
                tally.add(photo.path.relative_to(data).parts[1], *judge(result, truth, products))
        tallies.append(tally)
    return report(tallies, cpu_all, cpu_image, embed_cpu, len(photos)) + "\n" + barcodes.line()


@dataclass(slots=True)
class Barcodes:
    """The barcode step on its own: CPU per photo and the photos on which a code was read."""

    cpu: list[float] = field(default_factory=list)
    read: set[Path] = field(default_factory=set)
    photos: set[Path] = field(default_factory=set)

    def time(self, photo: Photo) -> None:
        """Read the photo's codes as the recognizer does, timing only the read."""
        image = decode_image(photo.path.read_bytes())
        start = time.process_time()
        codes = read_barcodes(image)
        self.cpu.append(time.process_time() - start)
        self.photos.add(photo.path)
        if codes:
            self.read.add(photo.path)

    def line(self) -> str:
        """One markdown line with the read share and the step's CPU."""
        cpu = f"CPU median {statistics.median(self.cpu):.3f} s, p90 {_p90(self.cpu):.3f} s"
        return (f"\nBarcode step (`read_barcodes` on the decoded photo): a code read on {len(self.read)} of "
                f"{len(self.photos)} photos; {cpu}.")


def score_photo(photo: Photo, recognizer: LocalRecognizer, model: FoldModel) -> tuple[float, float, ImageRecognition]:
    """(CPU with OCR, CPU without OCR, result) for one photo, the way the recognizer would run it."""
    data = photo.path.read_bytes()
    start = time.process_time()
    image = decode_image(data)
    decoded = time.process_time()
    boxes = recognizer.engine().read(image, "en")
    read = time.process_time()
    result = recognize_products(image, boxes, lang="en", model=model)
    end = time.process_time()
    return end - start, (decoded - start) + (end - read), result


def _p90(values: Sequence[float]) -> float:
    return float(np.percentile(values, 90)) if values else 0.0


def report(tallies: list[Tally], cpu_all: list[float], cpu_image: list[float], embed_cpu: float, count: int) -> str:
    """The markdown table and the lines around it."""
    info = machine()
    lines = ["### Product photos (grocery, 81 classes)", "",
             f"Machine: {info['cpu']}, {info['cores']} cores; commit {info['commit']}; {info['when']}; "
             f"{count} photos; model: EfficientNet-Lite0 backbone + linear head; OCR in the CPU column.", "",
             "| evaluation | photos | named (coarse) | named (fine) | fruit | vegetables | packages |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for tally in tallies:
        groups = [tally.by_group.get(group, [0, 0, 0]) for group in ("Fruit", "Vegetables", "Packages")]
        cells = [f"{g[0] / g[2]:.3f} / {g[1] / g[2]:.3f}" if g[2] else "-" for g in groups]
        lines.append(f"| {tally.name} | {tally.count} | {tally.coarse / tally.count:.3f} | "
                     f"{tally.fine / tally.count:.3f} | {' | '.join(cells)} |")
    lines += ["", "Per group: coarse / fine.", "",
              "| CPU per photo (s) | median | p90 |", "| --- | ---: | ---: |",
              f"| whole product path (decode, OCR, barcode, regions, model) | {statistics.median(cpu_all):.3f} | "
              f"{_p90(cpu_all):.3f} |",
              f"| image path alone (decode, barcode, regions, model) | {statistics.median(cpu_image):.3f} | "
              f"{_p90(cpu_image):.3f} |", "",
              f"(Embedding the training views for the fold heads took {embed_cpu:.0f} s CPU; not part of serving.)"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run, print the markdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (0: all)")
    parser.add_argument("--ocr", default="auto", help="OCR engine of the local recognizer")
    parser.add_argument("--piles", type=int, default=40, help="composed piles per kind (0: none)")
    args = parser.parse_args(argv)
    print(run(args.data, args.limit, args.ocr))
    if args.piles:
        from bench.piles import run as run_piles

        print("\n" + run_piles(args.data, args.piles, None))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
