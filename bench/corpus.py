"""Synthetic, labelled shop receipts for the recognition benchmark and tests.

Each receipt is drawn with PIL from a seeded spec: a store layout, a language, a
currency, 5-14 catalog items printed the way tills print them (upper case, pack
sizes, tax-class letters, article codes, quantity lines below or above the item,
'2 x' prefixes), then a total, tax and payment block. The degraded set adds
rotation, blur, noise, thermal fading and JPEG compression.

`generate(seed)` draws from the original nine Latin-script locales (seeds keep their
receipts); `generate(seed, script=...)` draws from one script of `SCRIPTS`: 'latin'
(those nine plus cs, tr, en-IN), 'cyrillic' (ru, uk, bg, sr) or 'thai' (th). Item names
come from the catalog column of the locale's language. Latin and Cyrillic are drawn in
DejaVu; Thai needs the TLWG fonts (Debian fonts-tlwg-typo-ttf and/or
fonts-tlwg-garuda-ttf). A receipt whose text the chosen font cannot draw is an error,
never a page of empty boxes. The truth records the receipt's script.

Ground truth (`*.json` next to each image): items as the enricher should report
them (catalog key, quantity, unit, price) and the header (merchant, date, currency,
total).

    python -m bench.corpus --out .foodai/corpus --count 30 [--degraded] [--seed 1] [--script thai]
"""

from __future__ import annotations

import argparse
import io
import json
import random
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from app.recognition.catalog import CatalogItem, base_language, load_catalog
from bench.corpus_locales import LOCALES, SCRIPTS, Locale

__all__ = ["LOCALES", "SCRIPTS", "Locale", "Receipt", "TruthItem", "generate", "make_receipt", "render", "truth_json"]

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSans.ttf", "DejaVuSansCondensed.ttf")
THAI_FONT_DIR = Path("/usr/share/fonts/truetype/tlwg")
# TlwgMono is left out: shaped by raqm, its tone marks land on the following letter.
THAI_FONTS = ("TlwgTypo.ttf", "TlwgTypo-Bold.ttf", "Garuda.ttf", "Garuda-Bold.ttf")
THAI_PACKAGES = "fonts-tlwg-typo-ttf fonts-tlwg-garuda-ttf"
WIDTH = 576  # an 80 mm thermal roll at 203 dpi
MARGIN = 18
_ORIGINAL = frozenset(LOCALES)  # these print as they always did: receipt aliases, packs as written
_TAX_RATES = {"EUR": 7, "GBP": 20, "USD": 8, "PLN": 5}


PACKS = {"dairy": ("1L", "500G", "250G", "200G", "400G"), "beverages": ("1,5L", "1L", "0,5L", "6x0,33L", "0,75L"),
         "pantry": ("500G", "1KG", "400G", "250G"), "snacks": ("100G", "175G", "200G"),
         "frozen": ("750G", "450G", "1KG"), "meat": ("400G", "500G", "250G"), "fish": ("200G", "300G")}
WEIGHED = ("produce", "meat", "fish")


@dataclass(slots=True)
class TruthItem:
    """One expected pantry item: catalog key and the quantity, unit and price the line says."""

    key: str
    text: str
    quantity: float
    unit: str
    price: float


@dataclass(slots=True)
class Receipt:
    """A receipt spec: what gets drawn and what the recognizer should find."""

    lang: str
    currency: str
    layout: str
    merchant: str
    purchased_at: str
    total: float
    items: list[TruthItem] = field(default_factory=list)
    lines: list[tuple[str, str]] = field(default_factory=list)  # (left text, right text)
    script: str = "latin"


def _money(value: float, locale: Locale) -> str:
    return f"{value:.2f}".replace(".", locale.decimal)


def _qty(value: float, locale: Locale, places: int) -> str:
    return f"{value:.{places}f}".replace(".", locale.decimal)


def _pack_value(pack: str) -> tuple[float, str]:
    text = pack.lower().replace(",", ".")
    count = 1.0
    if "x" in text:
        head, text = text.split("x")
        count = float(head)
    for suffix, unit in (("kg", "kg"), ("g", "g"), ("l", "l")):
        if text.endswith(suffix):
            return round(count * float(text[: -len(suffix)]), 6), unit
    raise ValueError(pack)


def _pack_label(pack: str, locale: Locale) -> str:
    """A pack size as this locale prints it: '1,5L' -> '1.5ลิตร' in Thai, '500G' -> '500Г' in Russian."""
    if locale in _ORIGINAL:
        return pack
    grams, kilos, litres = locale.units
    for suffix, unit in (("KG", kilos), ("G", grams), ("L", litres)):
        if pack.endswith(suffix):
            return pack[: -len(suffix)].replace(",", locale.decimal) + unit
    return pack


def _upper(name: str, lang: str) -> str:
    return name.replace("i", "İ").upper() if lang == "tr" else name.upper()  # Turkish capitals: dotted İ for i


def _receipt_name(item: CatalogItem, locale: Locale, rng: random.Random) -> str:
    lang = base_language(locale.lang)
    names = list(item.names[lang])
    # The catalog's receipt aliases are German-style till abbreviations: only the original locales print them.
    aliases = [a for a in item.aliases if len(a) <= 22] if locale in _ORIGINAL else []
    name = rng.choice(aliases) if aliases and rng.random() < 0.3 else rng.choice(names)
    name = _upper(name, lang) if rng.random() < 0.75 else name
    return name if locale.script == "thai" else name[:22].rstrip()  # cutting Thai could orphan its vowel marks


def _pick_items(rng: random.Random, locale: Locale, count: int) -> list[tuple[CatalogItem, str]]:
    catalog = load_catalog()
    chosen: list[tuple[CatalogItem, str]] = []
    keys: set[str] = set()
    while len(chosen) < count:
        item = rng.choice(catalog.items)
        name = _receipt_name(item, locale, rng)
        match = catalog.match(name, lang=locale.lang)
        # A name the catalog itself would file under another item is ambiguous data, not a reading error.
        if item.key in keys or match is None or match.item.key != item.key:
            continue
        keys.add(item.key)
        chosen.append((item, name))
    return chosen


def _item_lines(item: CatalogItem, name: str, locale: Locale, layout: str, rng: random.Random,
                ) -> tuple[TruthItem, list[tuple[str, str]]]:
    tax = rng.choice(("A", "B", "1", "*")) if layout != "us" else ""
    roll = rng.random()
    if item.category in WEIGHED and roll < 0.35:
        weight = round(rng.uniform(0.15, 2.4), 3)
        unit_price = round(rng.uniform(0.99, 14.99) * locale.price_scale, 2)
        price = round(weight * unit_price, 2)
        cur = locale.per_kg or locale.currency
        qty_text = f"{_qty(weight, locale, 3)} {locale.kg} x {_money(unit_price, locale)} {cur}/{locale.kg}"
        lines = [(name, f"{_money(price, locale)} {tax}".strip()), ("  " + qty_text, "")]
        if layout == "us":
            lines = [("  " + f"{_qty(weight, locale, 3)} kg @ {_money(unit_price, locale)}/kg", ""),
                     (name, _money(price, locale))]
        return TruthItem(item.key, name, weight, "kg", price), lines
    pack = rng.choice(PACKS[item.category]) if item.category in PACKS and rng.random() < 0.5 else None
    label = _pack_label(pack, locale) if pack else ""
    shown = f"{name} {label}" if pack and len(name) + len(label) < 26 else name
    count = rng.choice((2, 2, 3, 4)) if roll > 0.7 else 1
    unit_price = round(rng.uniform(0.39, 9.99) * locale.price_scale, 2)
    price = round(count * unit_price, 2)
    if pack and shown != name:
        pack_qty, unit = _pack_value(pack)
        truth = TruthItem(item.key, shown, round(count * pack_qty, 6), unit, price)
    else:
        truth = TruthItem(item.key, shown, float(count), "pcs", price)
    if rng.random() < 0.15 and layout == "classic":
        shown = f"{rng.randint(1000, 99999)} {shown}"
    return truth, _count_lines(shown, count, unit_price, price, tax, locale, layout)


def _count_lines(shown: str, count: int, unit_price: float, price: float, tax: str, locale: Locale,
                 layout: str) -> list[tuple[str, str]]:
    total = f"{_money(price, locale)} {tax}".strip()
    if count == 1:
        return [(shown, total)]
    if layout == "us":
        return [(f"  {count} @ {_money(unit_price, locale)}", ""), (shown, total)]
    if layout == "inline":
        return [(f"{count} x {shown}", total)]
    if layout == "qty_total":
        return [(shown, ""), (f"  {count} x {_money(unit_price, locale)}", total)]
    return [(shown, total), (f"  {count} x {_money(unit_price, locale)}", "")]


def _footer(total: float, locale: Locale, rng: random.Random) -> list[tuple[str, str]]:
    paid = float(int(total) + rng.choice((1, 5, 10, 20)))
    rate = locale.tax_rate or _TAX_RATES[locale.currency]
    tax = round(total * rate / (100 + rate), 2)
    shown = rng.choice(locale.money).format(_money(total, locale)) if locale.money else _money(total, locale)
    return [("-" * 30, ""), (locale.total, shown), ("", ""),
            (locale.payment, _money(paid, locale)), (locale.change, _money(paid - total, locale)),
            (f"{locale.tax} {rate}%", _money(tax, locale))]


def _date_text(day: date, locale: Locale, rng: random.Random) -> str:
    if locale.buddhist_year and rng.random() < 0.5:
        return day.strftime(locale.date_format).replace(str(day.year), str(day.year + 543))
    return day.strftime(locale.date_format)


def make_receipt(seed: int, script: str | None = None) -> Receipt:
    """A random but reproducible receipt spec for `seed`, in a locale of `script` (any original one when None)."""
    rng = random.Random(seed)
    locale = rng.choice(LOCALES if script is None else SCRIPTS[script])
    layout = "us" if locale.currency == "USD" else rng.choice(("classic", "inline", "qty_total", "classic"))
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
    receipt = Receipt(locale.lang, locale.currency, layout, rng.choice(locale.merchants), day.isoformat(), 0.0,
                      script=locale.script)
    receipt.lines += [(receipt.merchant, ""), (locale.street, ""),
                      (f"{_date_text(day, locale, rng)}  {rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}",
                       f"#{rng.randint(100, 9999)}"), ("", "")]
    for item, name in _pick_items(rng, locale, rng.randint(5, 14)):
        truth, lines = _item_lines(item, name, locale, layout, rng)
        receipt.items.append(truth)
        receipt.lines += lines
    receipt.total = round(sum(t.price for t in receipt.items), 2)
    receipt.lines += _footer(receipt.total, locale, rng)
    return receipt


class FontError(RuntimeError):
    """No installed font can draw a receipt's text."""


@lru_cache(maxsize=64)
def _glyph_check(path: str, size: int) -> tuple[ImageFont.FreeTypeFont, tuple[tuple[int, int], bytes]]:
    # Plain cmap lookup (no shaping, so no dotted circles for lone Thai marks); U+FFFF is never mapped.
    font = ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
    return font, _mask(font, "\uffff")


def _mask(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def missing_glyphs(path: str, text: str, size: int = 22) -> set[str]:
    """The characters of `text` the font at `path` would draw as its empty box (.notdef)."""
    font, notdef = _glyph_check(path, size)
    return {char for char in set(text) if not char.isspace() and _mask(font, char) == notdef}


def _font_paths(script: str) -> list[Path]:
    if script == "thai":
        paths = [THAI_FONT_DIR / name for name in THAI_FONTS if (THAI_FONT_DIR / name).exists()]
        if not paths:
            raise FontError(f"Thai receipts need a Thai font in {THAI_FONT_DIR}: apt-get install {THAI_PACKAGES}")
        return paths
    return [FONT_DIR / name for name in FONTS if (FONT_DIR / name).exists()]


def _font(size: int, rng: random.Random, receipt: Receipt) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font drawn by `rng` among the script's fonts; another one if it lacks a glyph; FontError if all do."""
    available = _font_paths(receipt.script)
    if not available:
        if receipt.script != "latin":
            raise FontError(f"{receipt.script} receipts need DejaVu in {FONT_DIR}: apt-get install fonts-dejavu-core")
        return ImageFont.load_default(size=size)
    first = rng.choice(available)
    text = "".join(left + right for left, right in receipt.lines)
    for path in (first, *(p for p in available if p != first)):
        if not missing_glyphs(str(path), text):
            return ImageFont.truetype(str(path), size)
    lacking = sorted(set.intersection(*(missing_glyphs(str(path), text) for path in available)))
    raise FontError(f"no installed font draws {lacking} of a {receipt.script} receipt ({receipt.lang}); "
                    f"install fonts-dejavu-core (Latin, Cyrillic) or {THAI_PACKAGES} (Thai)")


def render(receipt: Receipt, seed: int) -> Image.Image:
    """Draw the receipt in black on white, prices right-aligned."""
    rng = random.Random(seed * 7919 + 1)
    size = rng.randint(20, 24)
    font = _font(size, rng, receipt)
    step = int(size * 1.45)
    image = Image.new("L", (WIDTH, MARGIN * 2 + step * len(receipt.lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, (left, right) in enumerate(receipt.lines):
        y = MARGIN + row * step
        x = (WIDTH - draw.textlength(left, font=font)) / 2 if row < 2 else MARGIN
        draw.text((x, y), left, font=font, fill=0)
        if right:
            draw.text((WIDTH - MARGIN - draw.textlength(right, font=font), y), right, font=font, fill=0)
    return image


def degrade(image: Image.Image, seed: int) -> Image.Image:
    """A phone photo of a worn receipt: faded print, blur, noise, a slight rotation, JPEG artefacts."""
    rng = random.Random(seed * 104729 + 3)
    pixels = np.asarray(image, dtype=np.float64)
    fade = np.linspace(rng.uniform(0.55, 0.8), rng.uniform(0.8, 1.0), pixels.shape[0])[:, None]
    pixels = 255 - (255 - pixels) * fade  # thermal print fading towards one end
    noise = np.random.default_rng(seed).normal(0, rng.uniform(6, 14), pixels.shape)
    pixels = np.clip(pixels + noise + rng.uniform(-25, 0), 0, 255).astype(np.uint8)
    out = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0)))
    out = out.rotate(rng.uniform(-3.0, 3.0), expand=True, fillcolor=rng.randint(200, 240),
                     resample=Image.Resampling.BICUBIC)
    return out


def encode(image: Image.Image, *, degraded: bool) -> tuple[bytes, str]:
    """PNG for clean receipts, JPEG (quality 60) for degraded ones, as a phone would send them."""
    buffer = io.BytesIO()
    if degraded:
        image.save(buffer, "JPEG", quality=60)
        return buffer.getvalue(), "image/jpeg"
    image.save(buffer, "PNG")
    return buffer.getvalue(), "image/png"


def generate(seed: int, *, degraded: bool = False, script: str | None = None) -> tuple[bytes, str, Receipt]:
    """Image bytes, MIME type and ground truth of receipt number `seed`, in `script` (a key of SCRIPTS).

    Without a script, a receipt of the original nine Latin locales: the same seed gives the same receipt as ever.
    """
    receipt = make_receipt(seed, script)
    image = render(receipt, seed)
    if degraded:
        image = degrade(image, seed)
    data, mime = encode(image, degraded=degraded)
    return data, mime, receipt


def truth_json(receipt: Receipt) -> dict[str, object]:
    """The ground truth as saved next to the image."""
    data = asdict(receipt)
    data.pop("lines")
    data["header"] = {"merchant": receipt.merchant, "purchased_at": receipt.purchased_at,
                      "currency": receipt.currency, "total": receipt.total}
    return data


def write_corpus(out: Path, count: int, *, degraded: bool, first_seed: int = 1,
                 script: str | None = None) -> list[Path]:
    """Write `count` receipts (image + .json) into `out`; returns the image paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(first_seed, first_seed + count):
        data, mime, receipt = generate(seed, degraded=degraded, script=script)
        path = out / f"receipt_{seed:04d}.{'jpg' if mime == 'image/jpeg' else 'png'}"
        path.write_bytes(data)
        path.with_suffix(".json").write_text(json.dumps(truth_json(receipt), ensure_ascii=False, indent=1))
        paths.append(path)
    return paths


def main() -> None:
    """Command line: write a corpus directory."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--degraded", action="store_true")
    parser.add_argument("--script", choices=sorted(SCRIPTS), default=None,
                        help="one script's locales (default: the original nine Latin locales)")
    args = parser.parse_args()
    paths = write_corpus(args.out, args.count, degraded=args.degraded, first_seed=args.seed, script=args.script)
    print(f"wrote {len(paths)} receipts to {args.out}")


if __name__ == "__main__":
    main()
