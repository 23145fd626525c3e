"""The generated corpus per script: deterministic, drawn with fonts that cover every character, names that the
catalog and the enricher read back; and the original seeds unchanged."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

import bench.corpus as corpus
from app.recognition.base import RawItem
from app.recognition.enrich import Enricher
from bench.corpus import FONT_DIR, SCRIPTS, THAI_FONT_DIR, FontError, generate, make_receipt, missing_glyphs, truth_json

SEEDS = range(1, 7)


def test_scripts_cover_the_app_languages() -> None:
    langs = {script: {locale.lang for locale in locales} for script, locales in SCRIPTS.items()}
    assert langs == {
        "latin": {"de", "en", "fr", "es", "it", "nl", "pt", "pl", "cs", "tr", "en-IN"},
        "cyrillic": {"ru", "uk", "bg", "sr"},
        "thai": {"th"},
    }
    assert {locale.currency for locales in SCRIPTS.values() for locale in locales} >= {
        "CZK", "TRY", "INR", "RUB", "UAH", "BGN", "RSD", "THB"}


def test_the_original_seeds_keep_their_receipts() -> None:
    summary = [(r.lang, r.currency, r.total, [t.key for t in r.items][:3]) for r in map(make_receipt, (1, 2, 3))]
    assert summary == [
        ("en", "USD", 97.21, ["toothpaste", "coconut", "orange"]),
        ("de", "EUR", 79.21, ["brioche", "lemonade", "toilet_paper"]),
        ("fr", "EUR", 48.3, ["cherry", "frozen_spinach", "shaving_foam"]),
    ]
    assert truth_json(make_receipt(2))["script"] == "latin"


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_script_is_deterministic_and_renders(script: str) -> None:
    for seed in SEEDS[:2]:
        first, second = generate(seed, script=script), generate(seed, script=script)
        assert first[0] == second[0]
        assert truth_json(first[2]) == truth_json(second[2])
        assert first[2].script == script
    data, mime, _ = generate(1, script=script, degraded=True)
    assert (mime, data[:2]) == ("image/jpeg", b"\xff\xd8")


def _letters(text: str) -> set[str]:
    return {unicodedata.name(c).split()[0] for c in text if c.isalpha()}


@pytest.mark.parametrize(("script", "letters"), [("cyrillic", "CYRILLIC"), ("thai", "THAI")])
def test_item_names_are_printed_in_the_script(script: str, letters: str) -> None:
    for seed in SEEDS:
        receipt = make_receipt(seed, script)
        for item in receipt.items:
            assert letters in _letters(item.text), (seed, item.text)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_item_line_reads_back_to_its_catalog_item(script: str) -> None:
    enricher = Enricher()
    for seed in SEEDS:
        receipt = make_receipt(seed, script)
        items = enricher.enrich([(0, RawItem(t.text, 1.0)) for t in receipt.items], lang=receipt.lang)
        assert [i.catalog_key for i in items] == [t.key for t in receipt.items], (seed, receipt.lang)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_the_fonts_draw_every_character_of_the_script(script: str) -> None:
    text = "".join(left + right for seed in SEEDS for left, right in make_receipt(seed, script).lines)
    fonts = sorted(THAI_FONT_DIR.glob("*.ttf")) if script == "thai" else sorted(FONT_DIR.glob("DejaVuSans*.ttf"))
    covering = [font for font in fonts if not missing_glyphs(str(font), text)]
    assert covering, f"no font draws all of {script}"


def test_a_font_without_thai_would_draw_boxes() -> None:
    assert missing_glyphs(str(FONT_DIR / "DejaVuSansMono.ttf"), "นมสด 1L") == {"น", "ม", "ส", "ด"}


def test_thai_receipts_fail_clearly_without_a_thai_font(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(corpus, "THAI_FONT_DIR", tmp_path)
    with pytest.raises(FontError, match="fonts-tlwg"):
        generate(1, script="thai")
