"""Page texts: every French text has its English one, and area files never redefine an id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parcours.core import i18n

LOCALES = Path(i18n.__file__).resolve().parent.parent / "web" / "locales"


def test_french_and_english_define_the_same_texts() -> None:
    french, english = i18n._catalog("fr"), i18n._catalog("en")
    assert sorted(french.keys() - english.keys()) == []
    assert sorted(english.keys() - french.keys()) == []


def test_area_files_are_paired() -> None:
    assert sorted(p.name for p in (LOCALES / "fr").glob("*.json")) == sorted(
        p.name for p in (LOCALES / "en").glob("*.json")
    )


def test_an_id_defined_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx.json").write_text(json.dumps({"a": "A"}), encoding="utf-8")
    (tmp_path / "xx" / "area.json").write_text(json.dumps({"a": "again"}), encoding="utf-8")
    monkeypatch.setattr(i18n, "_LOCALES_DIR", tmp_path)
    i18n._catalog.cache_clear()
    try:
        with pytest.raises(ValueError, match="already defined: a"):
            i18n._catalog("xx")
    finally:
        i18n._catalog.cache_clear()


def test_english_falls_back_to_french_then_to_the_id() -> None:
    assert i18n.translate("en", "associate.section.till") == "Till"
    assert i18n.translate("fr", "associate.section.till") == "Caisse"
    assert i18n.translate("en", "no.such.text") == "no.such.text"
