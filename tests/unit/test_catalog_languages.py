"""The catalog in the app's fifteen languages: Latin, Cyrillic (ru, uk, bg, sr) and Thai names, and the text folding
that lets them match."""

from __future__ import annotations

import re
import string
import unicodedata

import pytest

from app.recognition.catalog import LANGUAGES, SR_LATIN, base_language, language_key, load_catalog, parse_catalog
from app.recognition.text import clean_ocr, compact, fold, words


@pytest.mark.parametrize(
    ("text", "folded", "spaced", "squeezed"),
    [
        ("ЧАЙ ЧЁРНЫЙ 100г", "чаи черныи 100г", "чаи черныи 100г", "чаичерныи100г"),
        ("ХЛІБ «Їжак», ґ", "хліб «іжак», ґ", "хліб іжак ґ", "хлібіжакґ"),
        ("Шљиве ЂУМБИР", "шљиве ђумбир", "шљиве ђумбир", "шљивеђумбир"),
        ("ไข่ไก่ เบอร์ 2 ฿45.00", "ไข่ไก่ เบอร์ 2 ฿45.00", "ไข่ไก่ เบอร์ 2 45 00", "ไข่ไก่เบอร์24500"),
        ("KIRMIZI kırmızı İNCİR", "kirmizi kirmizi incir", "kirmizi kirmizi incir", "kirmizikirmiziincir"),
        ("Crème Brûlée", "creme brulee", "creme brulee", "cremebrulee"),
    ],
)
def test_cyrillic_thai_and_turkish_letters_survive_folding(text: str, folded: str, spaced: str, squeezed: str) -> None:
    assert (unicodedata.normalize("NFC", fold(text)), words(text), compact(text)) == (folded, spaced, squeezed)


@pytest.mark.parametrize("text", [string.printable, "SUMME EUR 12,34", "Total: $5.00 (incl. tax)", "a_b-c/d"])
def test_ascii_text_folds_as_before(text: str) -> None:
    assert words(text) == re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
    assert compact(text) == re.sub(r"[^a-z0-9]+", "", text.lower())


def test_clean_ocr_keeps_the_thai_vowel_sara_am_whole() -> None:
    assert clean_ocr("น้ำดื่ม  600มล.") == "น้ำดื่ม 600มล."


@pytest.mark.parametrize(
    ("text", "lang", "key", "name"),
    [
        ("МОЛОКО", "ru", "milk", "Молоко"),
        ("МОЛОКО ПАСТЕР.", "ru", "milk", "Молоко"),
        ("ГРЕЧКА ЯДРИЦА", "ru", "buckwheat", "Гречка"),
        ("ЯЙЦА С0", "ru", "eggs", "Яйца"),
        ("ХЛІБ БАТОН НАРІЗНИЙ", "uk", "bread", "Хліб"),
        ("ЦУКОР", "uk", "sugar", "Цукор"),
        ("КИСЕЛО МЛЯКО", "bg", "yogurt", "Кисело мляко"),
        ("СИРЕНЕ КРАВЕ", "bg", "feta", "Сирене"),
        ("ПАРАДАЈЗ", "sr", "tomato", "Парадајз"),
        ("PARADAJZ", "sr-Latn", "tomato", "Paradajz"),
        ("ŠLJIVE", "sr", "plum", "Шљиве"),
        ("นมสด", "th", "milk", "นมสด"),
        ("กล้วยหอมทอง", "th", "banana", "กล้วยหอม"),
        ("ข้าวหอมมะลิ", "th", "jasmine_rice", "ข้าวหอมมะลิ"),
        ("ROHLIK", "cs", "bread_rolls", "Rohlíky"),
        ("KUŘECÍ PRSA", "cs", "chicken_breast", "Kuřecí prsa"),
        ("AYCICEK YAGI", "tr", "sunflower_oil", "Ayçiçek yağı"),
        ("DOMATES SALÇASI", "tr", "tomato_paste", "Domates salçası"),
    ],
)
def test_names_in_the_new_languages_match(text: str, lang: str, key: str, name: str) -> None:
    match = load_catalog().match(text, lang=lang)
    assert match is not None
    assert (match.item.key, match.item.display_name(lang)) == (key, name)


def test_a_word_shared_by_two_languages_follows_the_job_language() -> None:
    catalog = load_catalog()
    assert [catalog.match("ДИНЯ", lang=lang).item.key for lang in ("uk", "bg")] == ["melon", "watermelon"]  # type: ignore[union-attr]


def test_derived_serbian_latin_names_do_not_match_inside_other_words() -> None:
    match = load_catalog().match("PÃO DE CACHO", lang="pt")  # 'odeca' (одећа, clothing) is inside it
    assert match is not None
    assert match.item.key == "hot_dog_buns"


@pytest.mark.parametrize(
    ("lang", "name"),
    [("uk", "Молоко"), ("ru-RU", "Молоко"), ("bg", "Прясно мляко"), ("sr", "Млеко"), ("sr-Latn", "Mleko"),
     ("sr_latn_RS", "Mleko"), ("th", "นมสด"), ("cs", "Mléko"), ("tr-TR", "Süt"), ("en-IN", "Milk"), ("xx", "Milk")],
)
def test_display_names_follow_the_job_language(lang: str, name: str) -> None:
    milk = load_catalog().get("milk")
    assert milk is not None
    assert milk.display_name(lang) == name


def test_language_tags() -> None:
    assert [base_language(t) for t in ("sr-Latn", "pt_BR", "EN", "th")] == ["sr", "pt", "en", "th"]
    assert [language_key(t) for t in ("sr-Latn", "sr", "uk-UA", "en-IN")] == [SR_LATIN, "sr", "uk", "en"]


def test_every_item_is_named_in_every_language_in_its_script() -> None:
    scripts = {"ru": "CYRILLIC", "uk": "CYRILLIC", "bg": "CYRILLIC", "sr": "CYRILLIC", "th": "THAI",
               "cs": "LATIN", "tr": "LATIN", SR_LATIN: "LATIN"}
    for item in load_catalog().items:
        for lang in (*LANGUAGES, SR_LATIN):
            assert item.names[lang], (item.key, lang)
        for lang, script in scripts.items():
            letters = {unicodedata.name(c).split()[0] for name in item.names[lang] for c in name if c.isalpha()}
            allowed = {script, "LATIN", "MODIFIER"} if script == "CYRILLIC" else {script}  # AA, LED, мʼята
            assert script in letters <= allowed, (item.key, lang)


def test_each_name_finds_its_own_item_in_its_language() -> None:
    catalog = load_catalog()
    wrong = [(item.key, lang, name) for item in catalog.items for lang in ("cs", "tr", "ru", "uk", "bg", "sr", "th")
             for name in item.names[lang] if (m := catalog.match(name, lang=lang)) is None or m.item is not item]
    assert wrong == []


def test_any_language_column_is_read() -> None:
    catalog = parse_catalog("key\tcategory\tstorage_days\ten\teo\taliases\nbread\tbakery\t4\tbread\tpano\tLOAF\n")
    item = catalog.items[0]
    assert item.display_name("eo") == "Pano"
    assert catalog.match("LOAF") is not None


def test_latin_look_alikes_of_cyrillic_match_on_cyrillic_jobs_only() -> None:
    catalog = load_catalog()
    found = catalog.match("TOHUK", lang="bg")  # Tesseract's Latin reading of ТОНИК
    assert found is not None and found.item.key == "tonic_water"
    assert catalog.match("TOHUK", lang="en") is None


def test_thai_names_match_when_ocr_confused_a_mark_above_or_below() -> None:
    catalog = load_catalog()
    peas = "\u0e16\u0e31\u0e48\u0e27\u0e25\u0e49\u0e19\u0e40\u0e15\u0e32"  # ถั่วลันเตา with mai tho for mai han-akat
    for text, key in (("\u0e0b\u0e39\u0e1b", "canned_soup"), (peas, "sugar_snap_peas")):
        found = catalog.match(text, lang="th")
        assert found is not None and found.item.key == key, text
