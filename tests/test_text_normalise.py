"""Tone-mark placement, accent keys, tidy display text and the abbreviation table (vpostcode.text)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpostcode.text import (
    CANONICAL_TONE_STYLE,
    abbreviations,
    accent_key,
    clean,
    fold,
    has_diacritics,
    normalise_tones,
)

VIETNAMESE = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
             "ĐÀÒÓỦÚ -,.'",
    max_size=60,
)


@pytest.mark.parametrize(
    ("traditional", "modern"),
    [("hòa", "hoà"), ("Hòa Bình", "Hoà Bình"), ("khỏe", "khoẻ"), ("thủy", "thuỷ"), ("Thanh Hóa", "Thanh Hoá"),
     ("HÒA", "HOÀ"), ("tòa", "toà"), ("Khánh Hòa", "Khánh Hoà")],
)
def test_both_placements_convert_both_ways(traditional: str, modern: str) -> None:
    assert CANONICAL_TONE_STYLE == "modern"
    assert normalise_tones(traditional) == modern
    assert normalise_tones(modern, "traditional") == traditional
    assert accent_key(traditional) == accent_key(modern)


@pytest.mark.parametrize("word", ["quý", "Quỳnh", "hoàng", "thuyền", "khuya", "Hoà1", "nguyễn", "Huế", "ngoằn"])
def test_syllables_without_the_choice_are_left_alone(word: str) -> None:
    assert normalise_tones(word) == word
    assert normalise_tones(word, "traditional") == word


def test_accent_key_keeps_diacritics_that_change_the_name() -> None:
    assert accent_key("Minh Quán") != accent_key("Minh Quân")  # two real wards of one district
    assert fold("Minh Quán") == fold("Minh Quân")
    assert accent_key("  Phường  BA ĐÌNH ") == "phường ba đình"


def test_clean_gives_the_display_form() -> None:
    assert clean("Phường\x00 Ba\u200b  Đình\t–  “Hà Nội”") == 'Phường Ba Đình - "Hà Nội"'
    assert clean(unicodedata.normalize("NFD", "Thủy")) == "Thuỷ"
    assert has_diacritics("Hà Nội") and not has_diacritics("Ha Noi")


def test_the_abbreviation_table_is_data() -> None:
    table = abbreviations()
    assert abbreviations() is table  # read once
    words = {fold(word) for entry in table["unit_types"] for word in entry["words"]}
    assert {"p", "q", "tp", "tx", "h", "x", "tt", "phuong", "quan"} <= words
    assert fold(table["province_aliases"]["sg"]) == "ho chi minh"
    assert fold(table["province_aliases"]["hn"]) == "ha noi"
    parts = {entry["part"] for entry in table["part_markers"]}
    assert parts == {"house", "alley", "street", "hamlet"}
    alleys = {fold(word) for entry in table["part_markers"] if entry["part"] == "alley" for word in entry["words"]}
    assert {"ngo", "ngach", "hem", "kiet"} <= alleys


@settings(max_examples=300, deadline=None)
@given(VIETNAMESE)
def test_tone_normalisation_is_idempotent_and_changes_no_letters(text: str) -> None:
    once = normalise_tones(text)
    assert normalise_tones(once) == once
    assert fold(once) == fold(text)
    assert len(once) == len(text)
    back = normalise_tones(once, "traditional")
    assert normalise_tones(back) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_keys_never_fail_on_any_text(text: str) -> None:
    key = accent_key(text)
    assert accent_key(key) == key
    assert "  " not in key
    assert isinstance(clean(text), str)


# Upper case, typographic quotes and dashes, odd whitespace and control characters too: the shortcuts of ``clean``
# and ``normalise_tones`` (tests that skip the regular expressions when they cannot apply) must not change answers.
TYPED = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạèẻẽéẹòỏõóọùủũúụỳỷỹýỵ" "AOUYEÒÓỎÕỌÙÚỦŨỤỲÝỶỸỴÀÁÈÉQ"
             " \t\n\u00a0\u2003,.-’‘ʼ`“”–—‐‑−\x00\x1f\u200b\ufeff",
    max_size=60,
)


def _clean_by_definition(text: str) -> str:
    import re

    from vpostcode import text as module

    text = module._CONTROL.sub(" ", unicodedata.normalize("NFC", text)).translate(module._QUOTES)
    text = re.sub(r"\s+", " ", text).strip()
    return module._DIPHTHONG_END.sub(lambda match: module._move_tone(match, CANONICAL_TONE_STYLE), text)


@settings(max_examples=600, deadline=None)
@given(TYPED)
def test_clean_and_tone_shortcuts_give_the_definitions_answers(text: str) -> None:
    assert clean(text) == _clean_by_definition(text)
    nfc = unicodedata.normalize("NFC", text)
    for style in ("modern", "traditional"):
        from vpostcode import text as module

        expected = module._DIPHTHONG_END.sub(lambda match, s=style: module._move_tone(match, s), nfc)  # type: ignore[misc]
        assert normalise_tones(nfc, style) == expected  # type: ignore[arg-type]
