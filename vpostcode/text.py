"""Vietnamese text normalisation for matching names, with the original kept for display.

Two forms matter: the *display* form (Unicode NFC, tidy whitespace, the original diacritics, one canonical tone-mark
placement) and the *match keys*:

* ``fold`` — case-folded, diacritics and tone marks removed, ``đ`` → ``d``, punctuation to spaces — so that "Hoà",
  "Hòa", "HOA" and "hoa" meet in one key while the record keeps its real name;
* ``accent_key`` — lower case and punctuation-free but *with* diacritics, tone marks moved to the canonical place —
  so that "Minh Quán" and "Minh Quân" (two real wards of one district) stay apart when the writer typed the marks,
  while "Hoà" and "Hòa" still meet.

Tone-mark placement
-------------------
In an open syllable ending in ``oa``, ``oe`` or ``uy`` Vietnamese writes the tone mark in one of two places:
on the second vowel (``hoà``, ``khoẻ``, ``thuỷ``; the "kiểu mới" placement of the 1980s spelling rules) or on the
first (``hòa``, ``khỏe``, ``thủy``; "kiểu cũ", the traditional placement). Both are correct and people type both.
vpostcode's canonical placement, used for display (``standard_address``) and for ``accent_key``, is the one on
the **second vowel** (``hoà``, ``thuỷ``): it is the placement of the 2025 gazetteer itself (202 commune names
with it against 1 with the other), so official names are shown as the data spells them. ``normalise_tones`` converts
either way (``style="traditional"`` for ``hòa``). ``qu`` + ``y`` (``quý``) is not a diphthong and is left alone.

The abbreviation table (unit-type words such as ``P.``/``Q.``/``TP.``, province nicknames such as ``Tp.HCM``/``SG``,
the markers of house numbers, alleys, streets and hamlets) is data, not code: ``vpostcode/data/abbreviations.json``,
read once by :func:`abbreviations`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

ToneStyle = Literal["modern", "traditional"]

CANONICAL_TONE_STYLE: ToneStyle = "modern"
"""The placement vpostcode displays: the mark on the second vowel of an open ``oa``/``oe``/``uy`` (``hoà``)."""

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_D_MAP = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff]")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-",
                         "‐": "-", "‑": "-", "−": "-"})
_QUOTE_CHARS = re.compile("[" + "".join(re.escape(chr(code)) for code in _QUOTES) + "]")
# A tone-marked oa/oe/uy pair: without one, tone placement has nothing to move (a cheap test before _DIPHTHONG_END).
_TONED_PAIR = re.compile(r"[òóỏõọ][ae]|o[àáảãạèéẻẽẹ]|[ùúủũụ]y|u[ỳýỷỹỵ]")  # searched in lower case
# A word ending in a tone-bearing oa/oe/uy diphthong (the only places where the two placements differ).
_DIPHTHONG_END = re.compile(
    r"(?<![^\W\d_])([^\W\d_]*?)([oòóỏõọ][aàáảãạeèéẻẽẹ]|[uùúủũụ][yỳýỷỹỵ])(?![^\W_])", re.IGNORECASE
)


def collapse_spaces(text: str) -> str:
    """Runs of whitespace as one space, none at the ends (``str.split`` and ``re``'s ``\\s`` agree on what
    whitespace is)."""
    return " ".join(text.split())


def to_nfc(text: str) -> str:
    """Unicode NFC with whitespace collapsed: the form shown to people and stored."""
    return collapse_spaces(unicodedata.normalize("NFC", text))


def clean(text: str) -> str:
    """The tidy display form of typed text: NFC, control and zero-width characters removed, typographic quotes and
    dashes made plain, whitespace collapsed, canonical tone placement."""
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text))
    if _QUOTE_CHARS.search(text):
        text = text.translate(_QUOTES)
    return normalise_tones(collapse_spaces(text))


def strip_diacritics(text: str) -> str:
    """Remove every Vietnamese diacritic and tone mark (``Đồng Hới`` → ``Dong Hoi``), keeping case."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_MAP))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese mark (so its writer typed them and they can be trusted)."""
    return any(ord(ch) > 127 and ch.isalpha() for ch in text)


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


def _split_tone(char: str) -> tuple[str, str]:
    """A letter as (letter without its tone mark, the tone mark or "")."""
    decomposed = unicodedata.normalize("NFD", char)
    tone = "".join(ch for ch in decomposed if ch in _TONES)
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    return base, tone


def _move_tone(match: re.Match[str], style: ToneStyle) -> str:
    prefix, pair = match.group(1), match.group(2)
    if pair[0].lower() in "uùúủũụ" and prefix[-1:].lower() == "q":
        return match.group(0)  # "quý": the u belongs to the consonant, the mark is on y in both styles
    (first, first_tone), (second, second_tone) = _split_tone(pair[0]), _split_tone(pair[1])
    tone = first_tone or second_tone
    if not tone or (first_tone and second_tone):
        return match.group(0)
    if style == "modern":
        return prefix + first + unicodedata.normalize("NFC", second + tone)
    return prefix + unicodedata.normalize("NFC", first + tone) + second


def normalise_tones(text: str, style: ToneStyle = CANONICAL_TONE_STYLE) -> str:
    """Move the tone mark of open ``oa``/``oe``/``uy`` syllables to one placement (see the module docstring).

    ``style="modern"`` (the default, vpostcode's canonical placement) gives ``hoà``, ``khoẻ``, ``thuỷ``;
    ``style="traditional"`` gives ``hòa``, ``khỏe``, ``thủy``. Case is kept; other syllables are untouched. The input
    should be NFC (``clean`` and ``accent_key`` see to it).
    """
    if text.isascii() or not _TONED_PAIR.search(text.lower()):
        return text
    return _DIPHTHONG_END.sub(lambda match: _move_tone(match, style), text)


@lru_cache(maxsize=65536)
def accent_key(text: str) -> str:
    """The diacritic-preserving match key: NFC, lower case, canonical tone placement, punctuation as spaces.

    Two spellings have the same ``accent_key`` exactly when they differ only in case, spacing, punctuation or
    tone-mark placement.
    """
    lowered = normalise_tones(unicodedata.normalize("NFC", text).lower())
    return _SPACES.sub(" ", _NON_WORD.sub(" ", lowered.replace("_", " "))).strip()


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, Any]:
    """The abbreviation table shipped as package data (``vpostcode/data/abbreviations.json``), read once.

    Keys: ``unit_types`` (type words and their abbreviations, with the official types each is compatible with),
    ``province_aliases`` (nicknames → province name), ``glued_prefixes`` (abbreviations that people glue to a
    number: ``P12``, ``Q1``), ``part_markers`` (words that open a house number, alley, street or hamlet part) and
    ``trailing_noise`` (country names and the like that may end an address).
    """
    source = resources.files("vpostcode").joinpath("data", "abbreviations.json")
    table: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return table
