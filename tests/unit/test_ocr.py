"""OCR engine choice: the job's language picks the engine and Tesseract's language data."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.recognition import tesseract
from app.recognition.layout import OcrBox
from app.recognition.ocr import AutoEngine, HybridEngine, base_lang, build_engine
from app.recognition.tesseract import _joins, _merge, languages_for, missing_tesseract, tessdata_dir


class Named:
    """A stand-in engine that answers with its own name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def read(self, image: Image.Image, lang: str) -> list[OcrBox]:
        return [OcrBox(((0, 0), (1, 0), (1, 1), (0, 1)), self.name, 1.0)]


def test_cyrillic_and_thai_go_to_tesseract_and_latin_to_pp_ocr() -> None:
    auto = AutoEngine(Named("pp"), Named("tess"))
    picked = {lang: auto.engine_for(lang).name for lang in ("en", "de", "pl", "tr", "en-IN", "uk", "bg", "ru",
                                                             "sr", "th", "th-TH")}
    assert picked == {"en": "pp", "de": "pp", "pl": "pp", "tr": "pp", "en-IN": "pp", "uk": "tess", "bg": "tess",
                      "ru": "tess", "sr": "tess", "th": "tess", "th-TH": "tess"}
    assert auto.read(Image.new("RGB", (4, 4)), "uk")[0].text == "tess"


def test_without_tesseract_every_language_uses_pp_ocr() -> None:
    auto = AutoEngine(Named("pp"), None)
    assert auto.engine_for("uk").name == "pp"


def test_language_codes_are_reduced_to_their_base() -> None:
    assert [base_lang(code) for code in ("en-IN", "pt_BR", "TH", "de")] == ["en", "pt", "th", "de"]


def test_tesseract_languages_add_english_and_skip_missing_data() -> None:
    have = frozenset({"eng", "deu", "bul", "srp", "tha"})
    assert languages_for("de", have) == "deu+eng"
    assert languages_for("bg", have) == "bul+eng"
    assert languages_for("sr", have) == "srp+eng"  # srp_latn is not installed
    assert languages_for("th-TH", have) == "tha+eng"
    assert languages_for("uk", have) == "eng"  # ukr missing: English rather than nothing
    assert languages_for("xx", have) == "eng"


def test_tessdata_prefix_may_name_the_folder_or_its_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "tessdata"
    folder.mkdir()
    (folder / "eng.traineddata").write_bytes(b"")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    assert tessdata_dir() == folder
    monkeypatch.setenv("TESSDATA_PREFIX", str(folder))
    assert tessdata_dir() == folder


def test_missing_language_data_is_named_with_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tesseract, "installed_languages", lambda: frozenset({"eng", "deu"}))
    missing_tesseract.cache_clear()
    try:
        problem = missing_tesseract()
    finally:
        missing_tesseract.cache_clear()
    assert problem is not None
    assert "tesseract-ocr-bul" in problem and "tesseract-ocr-tha" in problem and "tesseract-ocr-deu" not in problem


def test_an_unknown_engine_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown OCR engine"):
        build_engine("abbyy")


def _box(x0: float, x1: float, text: str, y0: float = 0, y1: float = 20) -> OcrBox:
    return OcrBox(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), text, 0.9)


class Fixed:
    """A stand-in engine with fixed boxes; `read_upright` as PP-OCR has it."""

    name = "fixed"

    def __init__(self, boxes: list[OcrBox]) -> None:
        self.boxes = boxes

    def read(self, image: Image.Image, lang: str) -> list[OcrBox]:
        return self.boxes

    def read_upright(self, image: Image.Image) -> tuple[list[OcrBox], Image.Image]:
        return self.boxes, image


def test_hybrid_takes_numbers_from_pp_ocr_and_words_from_tesseract() -> None:
    pp = Fixed([_box(0, 100, "Mnpko"), _box(300, 360, "12,50"), _box(0, 200, "12.03.2024", 40, 60)])
    tess = Fixed([_box(0, 100, "Мляко"), _box(300, 360, "12,5O"), _box(0, 200, "12.03.2O24", 40, 60),
                  _box(210, 260, "14:05", 40, 60)])
    hybrid = HybridEngine(pp, tess)  # type: ignore[arg-type]
    texts = sorted(b.text for b in hybrid.read(Image.new("RGB", (4, 4)), "bg"))
    assert texts == ["12,50", "12.03.2024", "14:05", "Мляко"]


def test_hybrid_drops_pp_ocr_digits_glued_to_letters_and_keeps_tesseract_units() -> None:
    pp = Fixed([_box(0, 80, "5PVOWb"), _box(100, 200, "400r"), _box(300, 360, "12,50"),
                _box(0, 100, "2 x 7.50", 40, 60)])
    tess = Fixed([_box(0, 80, "\u0411\u0420\u0418\u041e\u0428\u042c"), _box(100, 200, "400\u0413"),
                  _box(300, 360, "12,50"), _box(2, 30, "2\u0445", 40, 60), _box(55, 100, "7.5O", 40, 60)])
    hybrid = HybridEngine(pp, tess)  # type: ignore[arg-type]
    texts = sorted(b.text for b in hybrid.read(Image.new("RGB", (4, 4)), "ru"))
    assert texts == sorted(["12,50", "2", "x", "7.50", "\u0411\u0420\u0418\u041e\u0428\u042c", "400\u0413"])


def test_hybrid_mends_a_pack_size_tesseract_garbled_where_pp_ocr_read_digits_and_a_look_alike() -> None:
    pp = Fixed([_box(0, 200, "\u0421EMEHA 250\u0393")])
    tess = Fixed([_box(0, 120, "\u0421\u0415\u041c\u0415\u041d\u0410"), _box(140, 200, "250\u00b0")])
    hybrid = HybridEngine(pp, tess)  # type: ignore[arg-type]
    texts = [b.text for b in hybrid.read(Image.new("RGB", (4, 4)), "ru")]
    assert "250\u0413" in texts and "250\u00b0" not in texts


def test_thai_syllables_from_tesseract_join_into_words() -> None:
    first, second = _box(0, 30, "ขน"), _box(34, 60, "มปัง")
    assert _joins(first, second)
    assert _merge(first, second).text == "ขนมปัง"
    assert not _joins(_box(0, 30, "ขน"), _box(120, 160, "มปัง"))  # a wide gap is a real space
    assert not _joins(_box(0, 30, "MILK"), _box(34, 60, "1L"))


def test_auto_without_tesseract_data_warns_once_and_reads_everything_with_pp_ocr(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from app.recognition import ocr

    monkeypatch.setattr(ocr, "missing_tesseract", lambda: "Tesseract language data missing: apt-get install x")
    with caplog.at_level("WARNING", logger="app.recognition.ocr"):
        engine = build_engine("auto")
    assert isinstance(engine, AutoEngine)
    assert engine.engine_for("uk") is engine.engine_for("en")
    assert engine.engine_for("en").name.startswith("ppocrv6")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "scripts/install-ocr.sh" in warnings[0] and "apt-get install x" in warnings[0]


def test_an_amount_after_a_misread_currency_sign_is_kept() -> None:
    from app.recognition.ocr import numeric_parts

    assert [b.text for b in numeric_parts(_box(0, 100, "B1920.56"), standalone=True)] == ["1920.56"]
    assert [b.text for b in numeric_parts(_box(0, 100, "K0K0C 3IPA"), standalone=True)] == []


def test_hybrid_keeps_pp_ocr_tax_marks_over_tesseract_letters_for_them() -> None:
    pp = Fixed([_box(400, 480, "430.53 *"), _box(400, 480, "12.50 B", 40, 60)])
    tess = Fixed([_box(400, 460, "430.53"), _box(470, 480, "\u0416"), _box(400, 460, "12.50", 40, 60),
                  _box(470, 480, "8", 40, 60)])
    texts = sorted(b.text for b in HybridEngine(pp, tess).read(Image.new("RGB", (4, 4)), "uk"))  # type: ignore[arg-type]
    assert texts == ["*", "12.50", "430.53", "B"]


def test_hybrid_keeps_the_numbers_and_unit_pp_ocr_lost_and_drops_digit_look_alikes() -> None:
    # PP-OCR: '6x0.33Π' (the litre as a Greek Pi glues 0.33 to a letter), '3 x 33.07' for '3 x 33.07'.
    pp = Fixed([_box(100, 200, "6x0.33\u03a0"), _box(0, 100, "3 x 33.07", 40, 60)])
    tess = Fixed([_box(100, 200, "6\u04450.33\u041b"), _box(0, 10, "\u0417", 40, 60), _box(20, 30, "\u0445", 40, 60),
                  _box(45, 100, "33.07", 40, 60)])
    boxes = HybridEngine(pp, tess).read(Image.new("RGB", (4, 4)), "ru")  # type: ignore[arg-type]
    top = [b.text for b in sorted((b for b in boxes if b.centre[1] < 30), key=lambda b: b.centre[0])]
    assert top == ["6", "x", "0.33", "\u041b"]
    assert sorted(b.text for b in boxes if b.centre[1] > 30) == ["3", "33.07", "x"]


def test_hybrid_mends_a_pack_size_tesseract_read_with_a_letter_for_a_digit_but_keeps_a_good_one() -> None:
    pp = Fixed([_box(100, 160, "400r"), _box(100, 160, "1400\u0393", 40, 60)])
    tess = Fixed([_box(100, 160, "\u041400\u0413"), _box(110, 160, "400\u0413", 40, 60)])
    texts = sorted(b.text for b in HybridEngine(pp, tess).read(Image.new("RGB", (4, 4)), "bg"))  # type: ignore[arg-type]
    assert texts == ["400\u0413", "400\u0413"]


def test_hybrid_reads_thai_x_and_drops_pp_ocr_digits_inside_thai_words() -> None:
    pp = Fixed([_box(0, 120, "3X 676"), _box(0, 120, "4x0.5", 40, 60)])
    tess = Fixed([_box(0, 10, "3"), _box(15, 25, "%\u00ab"), _box(60, 120, "\u0e19\u0e32\u0e19"),
                  _box(0, 120, "4%0.5", 40, 60)])
    boxes = HybridEngine(pp, tess).read(Image.new("RGB", (4, 4)), "th")  # type: ignore[arg-type]
    assert "676" not in [b.text for b in boxes]
    assert sorted(b.text for b in boxes if b.centre[1] < 30) == ["3", "X", "\u0e19\u0e32\u0e19"]


def test_a_latin_second_reading_needs_pp_ocr_to_have_read_it_there() -> None:
    from app.recognition.hybrid import LatinWitness

    witness = LatinWitness([_box(0, 120, "COCA-COLA 0.5L"), _box(0, 120, "ir", 40, 60),
                            _box(0, 120, "\u220fACTEPHAK", 80, 100)])
    brand = _box(0, 90, "\u0421\u041e\u0421\u0410-\u0421\u041e\u0413\u0410")
    assert witness.saw_latin(brand) and witness.agrees(brand, "COCA-COLA")
    thai = _box(0, 40, "\u0e25\u0e34\u0e49\u0e19\u0e08\u0e35\u0e48", 40, 60)
    assert not witness.saw_latin(thai) and not witness.agrees(thai, "aua")
    assert not witness.saw_latin(_box(0, 90, "\u041f\u0410\u0421\u0422\u0415\u0420\u041d\u0410\u041a", 80, 100))


def test_cyrillic_and_thai_pages_are_read_in_their_own_script_first() -> None:
    from app.recognition.tesseract import reading_plan

    have = frozenset({"eng", "bul", "srp", "srp_latn", "tha", "deu"})
    assert reading_plan("bg", have) == ("bul", "eng")
    assert reading_plan("sr", have) == ("srp", "srp_latn+eng")
    assert reading_plan("th-TH", have) == ("tha", "eng")
    assert reading_plan("de", have) == ("deu+eng", None)


@pytest.mark.skipif(missing_tesseract() is not None, reason="Tesseract language data not installed")
def test_a_latin_brand_on_a_ukrainian_receipt_is_read_in_latin() -> None:
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (600, 90), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 22)
    draw.text((10, 10), "COCA-COLA 0.5L", font=font, fill="black")
    draw.text((10, 50), "\u041f\u0410\u0421\u0422\u0415\u0420\u041d\u0410\u041a", font=font, fill="black")
    words = [b.text for b in tesseract.TesseractEngine().read(image, "uk")]
    assert "COCA-COLA" in words and "\u041f\u0410\u0421\u0422\u0415\u0420\u041d\u0410\u041a" in words


def test_pp_ocr_reading_another_script_as_latin_is_noticed() -> None:
    from app.recognition.hybrid import FOREIGN_SHARE, foreign_share

    cyrillic = ["\u0393acTpoHoM", "\u220fACTEPHAK 393.15 1", "CO4EBVLA 4EPBOHA 500", "1554.27"]
    latin = ["WARAKUYA PERMAS CITY", "TOTAL 12.50", "Vollmilch 3,5% 1L", "Mc Donald's", "SN0001"]
    assert foreign_share([_box(0, 100, t) for t in cyrillic]) > FOREIGN_SHARE
    assert foreign_share([_box(0, 100, t) for t in latin]) == 0.0
    assert foreign_share([]) == 0.0


def test_an_unsure_tesseract_word_over_pp_ocr_amount_is_that_amount_garbled() -> None:
    pp = Fixed([_box(0, 80, "IM5UP"), _box(400, 500, "70.13 A")])
    tess = Fixed([_box(0, 80, "\u0406\u041c\u0411\u0418\u0420"),
                  OcrBox(((400, 0), (490, 0), (490, 20), (400, 20)), "\u0422\u041e\u041b\u0417\u0410", 0.7)])
    texts = sorted(b.text for b in HybridEngine(pp, tess).read(Image.new("RGB", (4, 4)), "uk"))  # type: ignore[arg-type]
    assert texts == ["70.13", "A", "\u0406\u041c\u0411\u0418\u0420"]


def test_a_cyrillic_word_is_not_replaced_by_its_latin_twin() -> None:
    from app.recognition.tesseract import _cyrillic_look_alike

    assert _cyrillic_look_alike("\u0421\u0423\u041c\u0410", "CYMA")
    assert not _cyrillic_look_alike("\u0421\u041e\u0421\u0410-\u0421\u041e\u0426\u0410", "COCA-COLA")
    assert not _cyrillic_look_alike("\u0e25\u0e34\u0e49\u0e19", "aua")


def test_a_sure_tesseract_pack_size_wins_over_pp_ocr_digits_and_an_unsure_one_yields() -> None:
    pp = Fixed([_box(100, 160, "15"), _box(100, 160, "\u220fACTA 400T", 40, 60)])
    tess = Fixed([_box(110, 150, "1\u041b"),
                  OcrBox(((150, 40), (160, 40), (160, 60), (150, 60)), "4900\u0433", 0.29)])
    texts = sorted(b.text for b in HybridEngine(pp, tess).read(Image.new("RGB", (4, 4)), "uk"))  # type: ignore[arg-type]
    assert texts == ["1\u041b", "400\u0413"]
