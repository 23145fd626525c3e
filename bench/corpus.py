"""Synthetic, labelled shop receipts for the recognition benchmark and tests.

Each receipt is drawn with PIL from a seeded spec: a store layout, a language, a
currency, 5-14 catalog items printed the way tills print them (upper case, pack
sizes, tax-class letters, article codes, quantity lines below or above the item,
'2 x' prefixes), then a total, tax and payment block. The degraded set adds
rotation, blur, noise, thermal fading and JPEG compression.

Ground truth (`*.json` next to each image): items as the enricher should report
them (catalog key, quantity, unit, price) and the header (merchant, date, currency,
total).

    python -m bench.corpus --out .foodai/corpus --count 30 [--degraded] [--seed 1]
"""

from __future__ import annotations

import argparse
import io
import json
import random
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from app.recognition.catalog import CatalogItem, load_catalog

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSans.ttf", "DejaVuSansCondensed.ttf")
WIDTH = 576  # an 80 mm thermal roll at 203 dpi
MARGIN = 18


@dataclass(frozen=True, slots=True)
class Locale:
    """How one country's tills print: words, number and date format, currency."""

    lang: str
    currency: str
    decimal: str
    date_format: str
    total: str
    tax: str
    payment: str
    change: str
    merchants: tuple[str, ...]
    street: str


LOCALES = (
    Locale("de", "EUR", ",", "%d.%m.%Y", "SUMME EUR", "MwSt", "Geg. BAR", "Rueckgeld",
           ("FRISCHMARKT Berlin", "Edeka Nord", "Bio Laden Sonnenschein"), "Hauptstr. 12, 10115 Berlin"),
    Locale("en", "GBP", ".", "%d/%m/%Y", "TOTAL GBP", "VAT", "CASH", "CHANGE",
           ("Corner Grocer", "Greenfield Foods", "Market Street Stores"), "12 High Street, Leeds"),
    Locale("en", "USD", ".", "%m/%d/%Y", "TOTAL USD", "SALES TAX", "CASH", "CHANGE",
           ("Fresh Mart", "Sunny Side Market", "Pine Valley Grocery"), "455 Main St, Springfield"),
    Locale("fr", "EUR", ",", "%d/%m/%Y", "TOTAL EUR", "TVA", "ESPECES", "RENDU",
           ("Marche Central", "Epicerie du Coin", "Primeurs de Lyon"), "8 rue de la Paix, Lyon"),
    Locale("es", "EUR", ",", "%d/%m/%Y", "TOTAL EUR", "IVA", "EFECTIVO", "CAMBIO",
           ("Supermercado Sol", "Mercado Central", "Fruteria La Huerta"), "Calle Mayor 5, Madrid"),
    Locale("it", "EUR", ",", "%d/%m/%Y", "TOTALE EUR", "IVA", "CONTANTI", "RESTO",
           ("Alimentari Rossi", "Supermercato Verde", "Mercato Fresco"), "Via Roma 21, Milano"),
    Locale("nl", "EUR", ",", "%d-%m-%Y", "TOTAAL EUR", "BTW", "CONTANT", "WISSELGELD",
           ("Buurtsuper De Hoek", "Versmarkt Utrecht", "Groenteman Jansen"), "Dorpsstraat 3, Utrecht"),
    Locale("pt", "EUR", ",", "%d-%m-%Y", "TOTAL EUR", "IVA", "DINHEIRO", "TROCO",
           ("Mercearia Lisboa", "Supermercado Atlantico", "Frutaria Central"), "Rua Augusta 40, Lisboa"),
    Locale("pl", "PLN", ",", "%Y-%m-%d", "SUMA PLN", "PTU", "GOTOWKA", "RESZTA",
           ("Sklep Spozywczy Ania", "Market Pod Lipami", "Delikatesy Centrum"), "ul. Dluga 7, Krakow"),
)
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


def _receipt_name(item: CatalogItem, lang: str, rng: random.Random) -> str:
    names = list(item.names[lang])
    aliases = [a for a in item.aliases if len(a) <= 22]
    name = rng.choice(aliases) if aliases and rng.random() < 0.3 else rng.choice(names)
    name = name.upper() if rng.random() < 0.75 else name
    return name[:22].rstrip()


def _pick_items(rng: random.Random, lang: str, count: int) -> list[tuple[CatalogItem, str]]:
    catalog = load_catalog()
    chosen: list[tuple[CatalogItem, str]] = []
    keys: set[str] = set()
    while len(chosen) < count:
        item = rng.choice(catalog.items)
        name = _receipt_name(item, lang, rng)
        match = catalog.match(name, lang=lang)
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
        unit_price = round(rng.uniform(0.99, 14.99), 2)
        price = round(weight * unit_price, 2)
        cur = "EUR" if locale.currency == "EUR" else locale.currency
        qty_text = f"{_qty(weight, locale, 3)} kg x {_money(unit_price, locale)} {cur}/kg"
        lines = [(name, f"{_money(price, locale)} {tax}".strip()), ("  " + qty_text, "")]
        if layout == "us":
            lines = [("  " + f"{_qty(weight, locale, 3)} kg @ {_money(unit_price, locale)}/kg", ""),
                     (name, _money(price, locale))]
        return TruthItem(item.key, name, weight, "kg", price), lines
    pack = rng.choice(PACKS[item.category]) if item.category in PACKS and rng.random() < 0.5 else None
    shown = f"{name} {pack}" if pack and len(name) + len(pack) < 26 else name
    count = rng.choice((2, 2, 3, 4)) if roll > 0.7 else 1
    unit_price = round(rng.uniform(0.39, 9.99), 2)
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
    rate = {"EUR": 7, "GBP": 20, "USD": 8, "PLN": 5}[locale.currency]
    tax = round(total * rate / (100 + rate), 2)
    return [("-" * 30, ""), (locale.total, _money(total, locale)), ("", ""),
            (locale.payment, _money(paid, locale)), (locale.change, _money(paid - total, locale)),
            (f"{locale.tax} {rate}%", _money(tax, locale))]


def make_receipt(seed: int) -> Receipt:
    """A random but reproducible receipt spec for `seed`."""
    rng = random.Random(seed)
    locale = rng.choice(LOCALES)
    layout = "us" if locale.currency == "USD" else rng.choice(("classic", "inline", "qty_total", "classic"))
    day = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
    receipt = Receipt(locale.lang, locale.currency, layout, rng.choice(locale.merchants), day.isoformat(), 0.0)
    receipt.lines += [(receipt.merchant, ""), (locale.street, ""),
                      (f"{day.strftime(locale.date_format)}  {rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}",
                       f"#{rng.randint(100, 9999)}"), ("", "")]
    for item, name in _pick_items(rng, locale.lang, rng.randint(5, 14)):
        truth, lines = _item_lines(item, name, locale, layout, rng)
        receipt.items.append(truth)
        receipt.lines += lines
    receipt.total = round(sum(t.price for t in receipt.items), 2)
    receipt.lines += _footer(receipt.total, locale, rng)
    return receipt


def _font(size: int, rng: random.Random) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    available = [FONT_DIR / name for name in FONTS if (FONT_DIR / name).exists()]
    if not available:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(rng.choice(available)), size)


def render(receipt: Receipt, seed: int) -> Image.Image:
    """Draw the receipt in black on white, prices right-aligned."""
    rng = random.Random(seed * 7919 + 1)
    size = rng.randint(20, 24)
    font = _font(size, rng)
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


def generate(seed: int, *, degraded: bool = False) -> tuple[bytes, str, Receipt]:
    """Image bytes, MIME type and ground truth of receipt number `seed`."""
    receipt = make_receipt(seed)
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


def write_corpus(out: Path, count: int, *, degraded: bool, first_seed: int = 1) -> list[Path]:
    """Write `count` receipts (image + .json) into `out`; returns the image paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(first_seed, first_seed + count):
        data, mime, receipt = generate(seed, degraded=degraded)
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
    args = parser.parse_args()
    paths = write_corpus(args.out, args.count, degraded=args.degraded, first_seed=args.seed)
    print(f"wrote {len(paths)} receipts to {args.out}")


if __name__ == "__main__":
    main()
