"""Text normalisation: variants that people consider the same name share one match key."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpostcode.text import fold, slug, strip_diacritics, to_nfc


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Hoà", "Hòa"),  # both tone-mark placements
        ("Thành phố Hồ Chí Minh", "THANH PHO HO CHI MINH"),
        ("Đồng Hới", "dong hoi"),
        ("Phường  Ba   Đình", "phuong ba dinh"),
        (unicodedata.normalize("NFD", "Quảng Ngãi"), "Quảng Ngãi"),  # decomposed input
        ("Tp.HCM", "tp hcm"),
    ],
)
def test_variants_share_a_match_key(left: str, right: str) -> None:
    assert fold(left) == fold(right)


def test_different_names_keep_different_keys() -> None:
    assert fold("Hà Nội") != fold("Hà Nam")


def test_display_form_keeps_diacritics() -> None:
    assert to_nfc("  Phường\tBa  Đình ") == "Phường Ba Đình"
    assert strip_diacritics("Đạ M'ri") == "Da M'ri"
    assert slug("Phường Ba Đình") == "phuong_ba_dinh"


@given(st.text())
def test_fold_is_idempotent_and_ascii_for_vietnamese(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert once == once.strip()
    assert "  " not in once


@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ ĐÀ"))
def test_vietnamese_letters_fold_to_ascii(text: str) -> None:
    assert fold(text).isascii()
