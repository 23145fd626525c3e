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
    assert engine.engine_for("uk").name == engine.engine_for("en").name == "ppocrv6"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "scripts/install-ocr.sh" in warnings[0] and "apt-get install x" in warnings[0]


def test_an_amount_after_a_misread_currency_sign_is_kept() -> None:
    from app.recognition.ocr import numeric_parts

    assert [b.text for b in numeric_parts(_box(0, 100, "B1920.56"), standalone=True)] == ["1920.56"]
    assert [b.text for b in numeric_parts(_box(0, 100, "K0K0C 3IPA"), standalone=True)] == []
