"""Enrichment: name cleaning, quantities and units, merging, catalog matching, aliases and languages."""

from __future__ import annotations

import pytest

from app.recognition.base import RawItem
from app.recognition.catalog import LANGUAGES, load_catalog, parse_catalog
from app.recognition.enrich import CATEGORIES, Alias, Enricher, alias_key, clean_name


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher()


def _one(enricher: Enricher, raw: RawItem, lang: str = "en") -> tuple[str, float, str, str, str | None]:
    [item] = enricher.enrich([(0, raw)], lang=lang)
    return item.name, item.quantity, item.unit, item.category, item.catalog_key


@pytest.mark.parametrize(
    ("raw", "text", "quantity", "unit"),
    [
        ("4011 BANANEN", "BANANEN", None, None),
        ("VOLLMILCH 3,5% 1L A", "VOLLMILCH", 1.0, "l"),
        ("VOLLMILCH3,5%1L", "VOLLMILCH", 1.0, "l"),
        ("BUTTER 250G B", "BUTTER", 250.0, "g"),
        ("MOZZARELLA 125 G", "MOZZARELLA", 125.0, "g"),
        ("Wasser 1,5 L", "Wasser", 1.5, "l"),
        ("Coca Cola 6x0.33l", "Coca Cola", 1.98, "l"),
        ("BIER 6x330ml *", "BIER", 1980.0, "ml"),
        ("VIN ROUGE 75CL", "VIN ROUGE", 750.0, "ml"),
        ("EIER 10ER", "EIER", 10.0, "pcs"),
        ("OEUFS X6", "OEUFS", 6.0, "pcs"),
        ("98055Rum1,5L", "Rum", 1.5, "l"),
        ("Backschokolade 4o0G", "Backschokolade", 400.0, "g"),
        ("VOLLMILCHSCH0K0LADE 175G", "VOLLMILCHSCHOKOLADE", 175.0, "g"),
        ("KAPUSTA KISZONA IKG", "KAPUSTA KISZONA", 1.0, "kg"),
        ("REIS 1KG", "REIS", 1.0, "kg"),
        ("МОЛОКО 2,5% 900МЛ", "МОЛОКО", 900.0, "ml"),
        ("ЧАЙ ЧЕРНЫЙ 100Г", "ЧАЙ ЧЕРНЫЙ", 100.0, "g"),
        ("ВОДА 6х1,5Л", "ВОДА", 9.0, "l"),
        ("ЯЙЦА С0 10ШТ", "ЯЙЦА С0", 10.0, "pcs"),
        ("Хліб 500 г", "Хліб", 500.0, "g"),
        ("ГРЕЧКА 1КГ", "ГРЕЧКА", 1.0, "kg"),
        ("1 ГРЕЧКА", "1 ГРЕЧКА", None, None),
        ("ЯЙЦА 10 бр", "ЯЙЦА", 10.0, "pcs"),
        ("Јаја 10 ком", "Јаја", 10.0, "pcs"),
        ("นมสด 1ลิตร", "นมสด", 1.0, "l"),
        ("ข้าวหอมมะลิ 5กก.", "ข้าวหอมมะลิ", 5.0, "kg"),
        ("น้ำดื่ม 600มล.", "น้ำดื่ม", 600.0, "ml"),
        ("ไข่ไก่ 10 ฟอง", "ไข่ไก่", 10.0, "pcs"),
        ("EKMEK 2 ADET", "EKMEK", 2.0, "pcs"),
        ("ROHLIK 10 KS", "ROHLIK", 10.0, "pcs"),
        ("PEYNIR 500 GR", "PEYNIR", 500.0, "g"),
        ("VANILLEEIS 75OG", "VANILLEEIS", 750.0, "g"),
    ],
)
def test_clean_name_moves_pack_sizes_into_quantity(raw: str, text: str, quantity: float | None,
                                                  unit: str | None) -> None:
    name = clean_name(raw)
    assert (name.text, name.pack_quantity, name.pack_unit) == (text, quantity, unit)


@pytest.mark.parametrize(
    ("raw", "lang", "expected"),
    [
        (RawItem("МОЛОКО 2,5% 900МЛ", 0.9, price=89.9), "ru", ("Молоко", 900.0, "ml", "dairy", "milk")),
        (RawItem("ЦУКОР 1КГ", 0.9, quantity=2.0, unit="шт"), "uk", ("Цукор", 2.0, "kg", "pantry", "sugar")),
        (RawItem("ДОМАТИ", 0.9, quantity=1.25, unit="кг"), "bg", ("Домати", 1.25, "kg", "produce", "tomato")),
        (RawItem("ПАРАДАЈЗ", 0.9, quantity=0.8, unit="кг"), "sr-Latn", ("Paradajz", 0.8, "kg", "produce", "tomato")),
        (RawItem("นมสด 2ลิตร", 0.9), "th", ("นมสด", 2.0, "l", "dairy", "milk")),
        (RawItem("ไข่ไก่ 10 ฟอง", 0.9), "th", ("ไข่ไก่", 10.0, "pcs", "dairy", "eggs")),
        (RawItem("AYÇİÇEK YAĞI 1 LT", 0.9), "tr", ("Ayçiçek yağı", 1.0, "l", "pantry", "sunflower_oil")),
        (RawItem("ROHLIK 10 KS", 0.9), "cs", ("Rohlíky", 10.0, "pcs", "bakery", "bread_rolls")),
    ],
)
def test_cyrillic_thai_turkish_and_czech_lines(enricher: Enricher, raw: RawItem, lang: str,
                                              expected: tuple[str, float, str, str, str]) -> None:
    assert _one(enricher, raw, lang) == expected


def test_weighed_lines_keep_their_weight(enricher: Enricher) -> None:
    raw = RawItem("BANANEN", 0.9, quantity=1.235, unit="kg", price=2.46, unit_price=1.99)
    assert _one(enricher, raw) == ("Banana", 1.235, "kg", "produce", "banana")


def test_count_times_pack_size(enricher: Enricher) -> None:
    raw = RawItem("BUTTER 250G", 0.9, quantity=2.0, unit="pcs", price=4.98)
    assert _one(enricher, raw, "de") == ("Butter", 500.0, "g", "dairy", "butter")


def test_plain_lines_are_one_piece(enricher: Enricher) -> None:
    assert _one(enricher, RawItem("BAGUETTE", 0.9, price=1.10)) == ("Baguette", 1.0, "pcs", "bakery", "baguette")


def test_identical_lines_merge_with_summed_quantity_and_price(enricher: Enricher) -> None:
    line = RawItem("VOLLMILCH 3,5% 1L A", 0.9, price=1.19)
    items = enricher.enrich([(0, line), (0, RawItem("BROT", 0.8, price=2.0)), (0, RawItem("VOLLMILCH 3,5% 1L A",
                             0.7, price=1.19))], lang="de")
    assert [(i.name, i.quantity, i.unit, i.price, i.confidence) for i in items] == [
        ("Milch", 2.0, "l", 2.38, 0.7),
        ("Brot", 1.0, "pcs", 2.0, 0.8),
    ]


def test_lines_of_different_images_do_not_merge(enricher: Enricher) -> None:
    items = enricher.enrich([(0, RawItem("BROT", 0.8, price=2.0)), (1, RawItem("BROT", 0.8, price=2.0))], lang="de")
    assert [(i.image_index, i.quantity) for i in items] == [(0, 1.0), (1, 1.0)]


@pytest.mark.parametrize(
    ("lang", "name"),
    [("en", "Milk"), ("de", "Milch"), ("fr", "Lait"), ("es", "Leche"), ("it", "Latte"), ("nl", "Melk"),
     ("pt", "Leite"), ("pl", "Mleko"), ("cs", "Mléko"), ("tr", "Süt"), ("ru", "Молоко"), ("uk", "Молоко"),
     ("bg", "Прясно мляко"), ("sr", "Млеко"), ("sr-Latn", "Mleko"), ("th", "นมสด"), ("de-AT", "Milch"),
     ("en-IN", "Milk"), ("xx", "Milk")],
)
def test_the_job_language_chooses_the_display_name(enricher: Enricher, lang: str, name: str) -> None:
    assert _one(enricher, RawItem("H-MILCH 1L", 0.9), lang)[0] == name


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("VOLLMILCH", "milk"), ("BIO BANANEN", "banana"), ("VOLLM", "milk"), ("HAEHN.BRUSTFIL", "chicken_breast"),
        ("Creme fraiche", "creme_fraiche"), ("ELSTAR APFEL", "apple"), ("LAIT DEMI ECREME", "semi_skimmed_milk"),
        ("JAMON SERRANO", "raw_ham"), ("PETTO DI POLLO", "chicken_breast"), ("ŁOSOŚ WĘDZONY", "smoked_salmon"),
        ("LENTILLESCORAIL", "red_lentils"), ("MASCARP0NE", "mascarpone"), ("TOILETTENPAPIER", "toilet_paper"),
        ("ERDBEERKONFITUERE", "jam"), ("SPAGH.", "spaghetti"), ("AARDAPPELEN", "potato"),
    ],
)
def test_tolerant_catalog_matching(text: str, key: str) -> None:
    match = load_catalog().match(text)
    assert match is not None
    assert match.item.key == key


def test_unknown_words_are_other_never_an_error(enricher: Enricher) -> None:
    item = enricher.enrich([(0, RawItem("ZQX WIDGET 3000", 0.5, price=9.99))], lang="en")[0]
    assert (item.name, item.category, item.storage_days, item.catalog_key) == ("ZQX WIDGET 3000", "other", None, None)


def test_user_aliases_apply_before_the_catalog(enricher: Enricher) -> None:
    aliases = {alias_key("  Vollmilch  3,5%  1L "): Alias(name="Oat milk (mine)", category="beverages", unit="l")}
    item = enricher.enrich([(0, RawItem("VOLLMILCH 3,5% 1L", 0.9, price=1.19))], lang="en", aliases=aliases)[0]
    assert (item.name, item.category, item.unit, item.quantity, item.catalog_key) == (
        "Oat milk (mine)", "beverages", "l", 1.0, None)


def test_name_and_category_hints_from_a_vision_model(enricher: Enricher) -> None:
    hinted = RawItem("Bio-Hafer 1,5% Fett", 0.9, name_hint="oat drink", category_hint="dairy")
    assert _one(enricher, hinted, "de") == ("Haferdrink", 1.0, "pcs", "dairy", "oat_drink")
    unknown = RawItem("Mystery jar", 0.9, name_hint="yuzu kosho", category_hint="pantry")
    assert _one(enricher, unknown) == ("yuzu kosho", 1.0, "pcs", "pantry", None)


def test_catalog_has_500_items_with_all_languages() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 500
    assert len({item.key for item in catalog.items}) == len(catalog)
    for item in catalog.items:
        assert item.category in CATEGORIES
        assert item.storage_days > 0
        assert all(item.names[lang] for lang in LANGUAGES), item.key
    assert {item.category for item in catalog.items} == set(CATEGORIES)


def test_catalog_loads_once_per_process() -> None:
    assert load_catalog() is load_catalog()


def test_an_injected_catalog_is_used() -> None:
    header = "key\tcategory\tstorage_days\t" + "\t".join(LANGUAGES) + "\taliases"
    row = "yuzu\tproduce\t14\tyuzu\tYuzu" + "\tyuzu" * (len(LANGUAGES) - 2) + "\tYZU"
    enricher = Enricher(parse_catalog(f"{header}\n{row}\n"))
    assert _one(enricher, RawItem("YZU", 0.9), "de") == ("Yuzu", 1.0, "pcs", "produce", "yuzu")
