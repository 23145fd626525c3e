"""Piles of products in one photo, composed from the real grocery photos (no real pile photos exist in the data).

Each composite is 2-4 held-out grocery photos (numbered 8-10 in their class) laid on a
table-like background (plain: one colour with a lighting gradient and sensor noise;
textured: wood grain or a checked cloth) at a random scale and position, seeded, with a
soft shadow. A product is either its whole photo (a frame: the shop behind it comes
along) or the photo cut to its object (GrabCut from a central rectangle; a photo whose
cut fails is not used as a cut). Its truth box is where it was pasted.

The composite runs through `recognize_products` without OCR, with the image model's head
fitted on photos 1-7 only (the shipped backbone), and is scored per product: found when an
item's box overlaps the truth with IoU >= 0.5 (each item matched once), right when that
item also names the coarse class (fine: the exact class); items matched to no product are
false items.

    python -m bench.piles [--piles 40] [--features /tmp/grocery-features.npz]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from app.recognition.base import ImageRecognition
from app.recognition.local import decode_image
from app.recognition.products.model import Box, ProductModel
from app.recognition.products.recognize import recognize_products
from app.recognition.products.regions import iou
from app.recognition.products.table import Product, load_products
from bench.common import machine
from bench.products import DATA, HOLD_OUT_FROM, FoldModel, Photo, embed, fold_head, list_photos

CANVAS = (1024, 768)
MIN_CUT_AREA = 0.15  # a GrabCut mask smaller than this share of the photo counts as a failed cut
MATCH_IOU = 0.5


@dataclass(frozen=True, slots=True)
class Piece:
    """A product ready to paste: its pixels, an alpha mask (L) and its class."""

    image: Image.Image
    mask: Image.Image
    label: str


@dataclass(slots=True)
class Score:
    """Products found (box), found right (box + coarse, box + fine), false items, piles, for one kind of pile."""

    products: int = 0
    boxed: int = 0
    coarse: int = 0
    fine: int = 0
    false_items: int = 0
    piles: int = 0
    seen_as_pile: int = 0
    misses: list[str] = field(default_factory=list)


def cut_object(image: Image.Image) -> Image.Image | None:
    """The photo's main object as an L mask (GrabCut from a central rectangle); None when the cut fails."""
    import cv2

    small = np.asarray(image.convert("RGB").resize((image.width // 2, image.height // 2)))[:, :, ::-1].copy()
    height, width = small.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    rect = (int(width * 0.12), int(height * 0.08), int(width * 0.76), int(height * 0.84))
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models with k-means: the same cut every run
    cv2.grabCut(small, mask, rect, models[0], models[1], 4, cv2.GC_INIT_WITH_RECT)
    fore = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fore)
    if count < 2:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[biggest, cv2.CC_STAT_AREA] < MIN_CUT_AREA * width * height:
        return None
    alpha = Image.fromarray(np.where(labels == biggest, 255, 0).astype(np.uint8)).resize(image.size)
    return alpha.filter(ImageFilter.GaussianBlur(1))


def pieces(photos: Sequence[Photo], mode: str) -> list[Piece]:
    """Every photo as a frame, or cut to its object (photos whose cut fails are left out)."""
    out = []
    for photo in photos:
        image = decode_image(photo.path.read_bytes())
        if mode == "frame":
            out.append(Piece(image, Image.new("L", image.size, 255), photo.label))
        elif (mask := cut_object(image)) is not None:
            bbox = mask.getbbox() or (0, 0, image.width, image.height)
            out.append(Piece(image.crop(bbox), mask.crop(bbox), photo.label))
    return out


def background(kind: str, rng: random.Random) -> Image.Image:
    """A table: plain (a colour, a lighting gradient, noise) or textured (wood grain or a checked cloth)."""
    width, height = CANVAS
    gen = np.random.default_rng(rng.randrange(2**32))
    base = np.array([rng.uniform(60, 235) for _ in range(3)], np.float32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1 + rng.uniform(-0.12, 0.12) * (xs / width - 0.5) + rng.uniform(-0.12, 0.12) * (ys / height - 0.5)
    texture = np.zeros((height, width), np.float32)
    if kind == "textured" and rng.random() < 0.5:
        wobble = np.cumsum(gen.normal(0, 0.6, height)).astype(np.float32)[:, None]
        texture = 18 * np.sin((xs + wobble + 6 * np.sin(ys / 37)) / rng.uniform(5, 12))
    elif kind == "textured":
        step = rng.randrange(24, 64)
        texture = 22 * (((xs // step + ys // step) % 2) * 2 - 1) + 6 * np.sin(xs / 2.5) * np.sin(ys / 2.5)
    pixels = base * light[:, :, None] + texture[:, :, None] + gen.normal(0, 3, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _place(sizes: Sequence[tuple[int, int]], rng: random.Random) -> list[Box]:
    """Non-overlapping boxes for the given sizes on the canvas (a piece that does not fit is left out)."""
    boxes: list[Box] = []
    for width, height in sizes:
        for _ in range(200):
            left, top = rng.uniform(0, CANVAS[0] - width), rng.uniform(0, CANVAS[1] - height)
            box = (left, top, left + width, top + height)
            gap = 12
            if all(box[2] + gap < b[0] or b[2] + gap < box[0] or box[3] + gap < b[1] or b[3] + gap < box[1]
                   for b in boxes):
                boxes.append(box)
                break
    return boxes


def compose(chosen: Sequence[Piece], kind: str, rng: random.Random) -> tuple[Image.Image, list[tuple[Box, str]]]:
    """The pile photo and its truth (box, class) per product pasted."""
    canvas = background(kind, rng)
    sizes = []
    for piece in chosen:
        side = rng.uniform(0.3, 0.5) * CANVAS[1]
        scale = side / max(piece.image.size)
        sizes.append((round(piece.image.width * scale), round(piece.image.height * scale)))
    truth = []
    for piece, box, size in zip(chosen, _place(sizes, rng), sizes, strict=False):
        left, top = round(box[0]), round(box[1])
        image, mask = piece.image.resize(size, Image.Resampling.BILINEAR), piece.mask.resize(size)
        shadow = Image.new("RGB", size, (0, 0, 0))
        shade = mask.point(lambda v: v * 0.35).filter(ImageFilter.GaussianBlur(6))
        canvas.paste(shadow, (left + 8, top + 8), shade)
        canvas.paste(image, (left, top), mask)
        bbox = mask.getbbox() or (0, 0, *size)
        truth.append(((left + bbox[0], top + bbox[1], left + bbox[2], top + bbox[3]), piece.label))
    return canvas, truth


def _item_box(points: Sequence[tuple[float, float]]) -> Box:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (min(xs), min(ys), max(xs), max(ys))


def score(result: ImageRecognition, truth: Sequence[tuple[Box, str]], products: dict[str, Product],
          tally: Score) -> None:
    """Match items to products one to one by IoU and add the outcome to the tally."""
    by_name = {p.name: p for p in products.values()}
    items = [(_item_box(item.box or []), by_name.get(item.raw_text)) for item in result.items]
    used: set[int] = set()
    for box, label in truth:
        overlaps = [(iou(box, b), i) for i, (b, _) in enumerate(items) if i not in used]
        best, index = max(overlaps, default=(0.0, -1))
        tally.products += 1
        if best < MATCH_IOU:
            tally.misses.append(label)
            continue
        used.add(index)
        answered = items[index][1]
        tally.boxed += 1
        tally.coarse += answered is not None and answered.coarse == products[label].coarse
        tally.fine += answered is not None and answered.label == label
    tally.false_items += len(items) - len(used)
    tally.piles += 1
    tally.seen_as_pile += len(items) >= 2 and all(b != (0, 0, *CANVAS) for b, _ in items)


def fold_model(photos: Sequence[Photo], features_path: Path | None) -> FoldModel:
    """The shipped backbone with a head fitted on photos 1-7 of each class (embeddings cached if asked)."""
    backbone, shipped = ProductModel().parts()
    train = [p for p in photos if p.number < HOLD_OUT_FROM]
    if features_path is not None and features_path.exists():
        features = np.load(features_path)["features"]
    else:
        features = embed(train, backbone)
        if features_path is not None:
            np.savez_compressed(features_path, features=features)
    return FoldModel(backbone, fold_head(features, train, np.arange(len(train)), shipped.labels))


def run(data: Path, piles: int, features_path: Path | None, save: Path | None = None, seed: int = 13) -> str:
    """Compose and score `piles` piles of each kind; the markdown report."""
    photos = list_photos(data)
    model, products = fold_model(photos, features_path), load_products()
    held_out = [p for p in photos if p.number >= HOLD_OUT_FROM]
    rows = []
    for mode in ("frame", "cut"):
        stock = pieces(held_out, mode)
        for kind in ("plain", "textured"):
            rng, tally = random.Random(f"{seed}-{mode}-{kind}"), Score()
            for number in range(piles):
                image, truth = compose(rng.sample(stock, rng.randint(2, 4)), kind, rng)
                if save is not None and number < 2:
                    image.save(save / f"pile-{mode}-{kind}-{number}.jpg", quality=85)
                score(recognize_products(image, [], lang="en", model=model), truth, products, tally)
            rows.append((mode, kind, len(stock), tally))
    return report(rows, piles)


def report(rows: Sequence[tuple[str, str, int, Score]], piles: int) -> str:
    """The markdown table of pile results."""
    info = machine()
    lines = ["### Piles composed from real product photos (not real pile photos)", "",
             f"Machine: {info['cpu']}, {info['cores']} cores; commit {info['commit']}; {info['when']}; "
             f"{piles} piles of 2-4 held-out photos per row; head fitted on photos 1-7 of each class.", "",
             "| products as | table | photos | products | boxed (IoU >= 0.5) | boxed + coarse | boxed + fine "
             "| false items per pile | seen as a pile |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mode, kind, stock, t in rows:
        lines.append(f"| {mode} | {kind} | {stock} | {t.products} | {t.boxed / t.products:.3f} | "
                     f"{t.coarse / t.products:.3f} | {t.fine / t.products:.3f} | {t.false_items / t.piles:.2f} | "
                     f"{t.seen_as_pile / t.piles:.3f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run, print the markdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--piles", type=int, default=40, help="piles per kind (frame/cut x plain/textured)")
    parser.add_argument("--features", type=Path, default=None, help="cache of the training views' embeddings")
    parser.add_argument("--save", type=Path, default=None, help="a folder to write the first piles of each kind to")
    args = parser.parse_args(argv)
    print(run(args.data, args.piles, args.features, args.save), flush=True)


if __name__ == "__main__":
    main()
