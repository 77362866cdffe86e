"""Vietnamese text normalisation for matching names, with the original kept for display.

Two forms matter: the *display* form (Unicode NFC, tidy whitespace, the original diacritics) and the *match key*
(case-folded, diacritics and tone marks removed, ``đ`` → ``d``, punctuation to spaces), so that "Hoà", "Hòa",
"HOA" and "hoa" meet in one key while the record keeps its real name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_D_MAP = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def to_nfc(text: str) -> str:
    """Unicode NFC with whitespace collapsed: the form shown to people and stored."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def strip_diacritics(text: str) -> str:
    """Remove every Vietnamese diacritic and tone mark (``Đồng Hới`` → ``Dong Hoi``), keeping case."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """The match key: lower case, no diacritics, punctuation as spaces, single spaces.

    Used for every name comparison, so that spelling variants that people consider the same name compare equal.
    """
    folded = strip_diacritics(unicodedata.normalize("NFC", text)).casefold()
    return _SPACES.sub(" ", _NON_WORD.sub(" ", folded.replace("_", " "))).strip()


def slug(text: str) -> str:
    """An ASCII identifier (``Phường Ba Đình`` → ``phuong_ba_dinh``), as the sources' ``code_name``."""
    return fold(text).replace(" ", "_")
