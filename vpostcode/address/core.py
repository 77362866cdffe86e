"""Vietnamese addresses as people write them: parsing, forward geocoding, validation and old → new conversion.

People type addresses with or without diacritics, with abbreviations (``P.``, ``Q.``, ``TP.``, ``Tp.HCM``, ``SG``),
either tone-mark placement, in the pre-2025 three-level form (ward, district, province) or the 2025 two-level
form (commune, province), with house numbers, alleys, streets and hamlets, with or without commas. This module
turns such text into the 2025 commune, its postal code and a location, and tells a checkout whether the address is
valid, outdated, ambiguous, inconsistent with a code or point, or wrong.

Index
-----
:class:`AddressIndex`, built once per :class:`~vpostcode.gazetteer.Gazetteer` on first use (about 0.5 s) and cached
(``address_index``): every unit name of both gazetteers — the 34 provinces and their nicknames
(``data/abbreviations.json``), 63 legacy provinces, 3,321 communes, 696 legacy districts, 10,040 legacy wards — keyed
by its *bare* folded name (no type word, no diacritics: ``text.fold``), each unit with its accent key
(``text.accent_key``), official type and parents; per kind of unit a tree of the names read backwards from their
last word, so that a look-up walks only the words that continue a name. Type words (``Phường``, ``P.``, ``Q``, ``TP``,
``ward``...) and street-part markers (``ngõ``, ``hẻm``, ``kiệt``, ``đường``, ``thôn``, ``ấp``, ``tổ``...) come from
the same table. For typos, prebuilt lists of folded names per 2025 province, per legacy district and nationally feed
``rapidfuzz.process.extract`` (C++), so no query scans names in Python.

Parser
------
Right to left, as Vietnamese addresses are written small → large. The text is read piece by piece (split at spaces),
each piece folded with a one-character-per-character ``str.translate`` table, so that every word keeps its offsets
in the original (spans) and commas delimit segments that no name may cross; the index remembers the pieces it has
read, since the same syllables recur from address to address. A *reading* is built from the end: the province
(longest name at the end, after trailing noise such as "Việt Nam" or a postal code; optional), then the unit before
it — a 2025 commune, a legacy ward, or a legacy district with one of *its* wards on its left (the legacy chain).
Readings are scored by what they explain and how consistently: 100 for the unit, +30 when the province written
holds it (+25 only through the reform: a new commune under its old province's name), +30 for a district holding
the ward, type words that fit (+4) or clash (-12 same level, -70 another level: ``Quận Ba Đình`` is no commune), -70
for a name read inside a longer name ending at the same word, -100 for a commune read in a repetition of the
province or district just read (``..., Thuận An, Bình Dương, Thuận An, Bình Dương``: the reader also looks past such
repetitions), -30 for a name after a type word that is not its own (a typo). The best reading wins; readings tied
at the top make the answer ambiguous. When the writer typed diacritics, units with the same folded name but other
marks are dropped (``Minh Quán`` ≠ ``Minh Quân``). Whatever lies before the unit is the street part, split by
markers and commas.

Typos
-----
When no reading names a unit, or the best is weak (its marks clash with the name, or penalties pulled it low), the
words before the province (or district) are matched fuzzily (``fuzz.ratio`` on folded names, cutoff 80) against the
names of that province (or district): from just after a type word when there is one, else the comma segment and
the last one to four words. Without a province, the province is first matched fuzzily, then the national list.
Fuzzy readings are scored like the others, less ``100 - score``.

Speed
-----
Compiled by mypyc (``scripts/compile_native.py``), most of the time goes to dictionary look-ups and small objects,
so the shortcuts avoid both, each checked against its plain form (``tests/test_address_speed.py``): remembered
pieces of text, suffix trees of names, cheap tests before the scan for an address code, answers without a street
part built once per commune and shared (a ``Candidate`` is immutable), and the public records kept in a module that
is not compiled (``answers``), where the reader fills them without the frozen dataclass's ``__init__``.

Ranking and confidence
----------------------
Candidates are the 2025 communes of the best readings (a legacy ward converted through the reform mapping: all the
communes of a split ward), ranked by distance from the legacy ward's centroid (split wards), then population.
``confidence`` is calibrated: ``data/confidence.json`` holds the precision of the top candidate, measured by
``scripts/bench/address.py --calibrate`` on the real test sets (every commune and legacy ward in every variant,
and the Vietnam Post office addresses), per match type (fuzzy: per score band) and number of candidates (1, 2, 3+).
The top candidate gets that precision, the others share the rest. A point or an address code whose commune is among
the candidates (reverse geocoding) makes it the top one with confidence 0.99; a checked address code that names
another commune than the words leads with 0.9.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import threading
import unicodedata
import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from vpostcode import codec
from vpostcode.address.answers import (
    Candidate,
    MatchType,
    ParsedAddress,
    Precision,
    Status,
    Structure,
    Validation,
    Verdict,
)
from vpostcode.errors import InvalidInputError, VpostcodeError
from vpostcode.text import abbreviations, accent_key, clean, fold, normalise_tones

if TYPE_CHECKING:
    import pandas as pd

    from vpostcode.gazetteer import Gazetteer

__all__ = [
    "BATCH_COLUMNS",
    "AddressIndex",
    "Candidate",
    "ParsedAddress",
    "Validation",
    "address_index",
    "geocode",
    "geocode_frame",
    "parse",
    "validate",
]

MAX_TEXT_LENGTH = 1000
"""Longest address text accepted (characters): longer input is an ``InvalidInputError``, not a slow query."""

PARTS = ("house_number", "alley", "street", "hamlet", "commune", "district", "province")
_DETAIL_PARTS = ("house_number", "alley", "street", "hamlet")

_MAX_TRAILING_SKIP = 3  # unknown tokens allowed after the province (a phone number, "(cũ)", ...)
_ANSWERS_MAX = 50_000  # shared answers an index keeps (``AddressIndex.plain_answer``)
_CHUNKS_MAX = 50_000  # pieces of text an index remembers (``AddressIndex.chunk``): a few MB
_WRITTEN_MAX = 10_000  # sets of province units whose ``_Written`` an index remembers (``AddressIndex.written_of``)
_FUZZY_CUTOFF = 80.0  # fuzz.ratio on folded names; one typo in a 6-letter name scores about 83
_FUZZY_MIN_QUERY = 3
_POINT_CONFIDENCE = 0.99
_CODE_OVER_TEXT = 0.9  # confidence of an address code's commune when the words name another
_SUBSUMED = 70.0  # score lost by a name read inside a longer name that ends at the same word
_REPEATED = 100.0  # score lost by a commune/ward reading of a repeated province or district name
_ORPHAN = 30.0  # score lost by a name read after unknown words that follow a type word
_OUTSIDE_BOX_M = 1e6  # ranks a split ward's communes whose box does not hold the ward's centre last
_SKIPPED = 5.0  # score lost by a reading found only by skipping names that repeat those already read
_WEAK = 125.0  # below this score (95 without a province; or with typed marks that disagree) typos are tried too
_ACCENT_CLASH = 15.0  # score lost by an exact reading whose typed diacritics name another word


class _Kind(IntEnum):
    PROVINCE = 0  # a 2025 province
    OLD_PROVINCE = 1  # a legacy (63) province
    COMMUNE = 2  # a 2025 commune
    DISTRICT = 3  # a legacy district
    WARD = 4  # a legacy ward (or a ward-less island district)


_PROVINCE_KINDS = frozenset({_Kind.PROVINCE, _Kind.OLD_PROVINCE})
_TYPE_LEVELS: dict[str, tuple[_Kind, ...]] = {  # official type (folded) → the kinds of unit that carry it
    "phuong": (_Kind.COMMUNE, _Kind.WARD), "xa": (_Kind.COMMUNE, _Kind.WARD), "thi tran": (_Kind.WARD,),
    "dac khu": (_Kind.COMMUNE,), "quan": (_Kind.DISTRICT,), "huyen": (_Kind.DISTRICT,),
    "thi xa": (_Kind.DISTRICT,), "thanh pho": (_Kind.DISTRICT, _Kind.PROVINCE, _Kind.OLD_PROVINCE),
    "tinh": (_Kind.PROVINCE, _Kind.OLD_PROVINCE),
}
_UNIT_KINDS = frozenset({_Kind.COMMUNE, _Kind.DISTRICT, _Kind.WARD})
_LOW_KINDS = frozenset({_Kind.COMMUNE, _Kind.WARD})


# ======================================================================================================== records


# ======================================================================================================== index


@dataclass(frozen=True, slots=True, eq=False)
class _Unit:
    """One named unit of either gazetteer, as the index sees it (compared and hashed by identity: each unit is
    built once, and look-ups hash tuples of them)."""

    kind: _Kind
    code: str
    row: int  # row in communes (COMMUNE) or legacy_units (WARD), else -1
    province: str  # 2025 code for PROVINCE/COMMUNE, legacy province code for OLD_PROVINCE/DISTRICT/WARD
    new_province: str  # the 2025 province it lies in
    district: str  # legacy district code (DISTRICT, WARD), else ""
    type_key: str  # folded official type: "phuong", "xa", "quan", "thanh pho", "tinh", ...
    accent: str  # accent key of the bare name
    numeric: bool  # the bare name is a number ("Phường 12"): only matched after a type word


@dataclass(frozen=True, slots=True)
class _TypeWord:
    display: str
    primary: str  # the official type (folded) it names
    matches: frozenset[str]  # the official types (folded) it can stand for
    levels: frozenset[_Kind]  # the kinds of unit those types belong to
    prefix: bool
    postfix: bool
    abbreviated: bool


@dataclass(frozen=True, slots=True)
class _Marker:
    part: str
    display: str
    needs_number: bool
    accent_strict: bool
    accents: frozenset[str]


class _Suffix:
    """A node of a phrase table's names read backwards, from their last word: ``key`` is the name that the words
    walked so far spell (None when they spell none), ``before`` the nodes one more word to the left."""

    __slots__ = ("before", "key")

    def __init__(self) -> None:
        self.key: str | None = None
        self.before: dict[str, _Suffix] = {}


@dataclass(frozen=True, slots=True)
class _PhraseTable:
    """The names of some kinds of unit: key → units, key → units without the numbered ones, and the names read
    backwards from their last word (``_Suffix``), so that a look-up walks only the words that continue a name."""

    units: dict[str, tuple[_Unit, ...]]
    plain: dict[str, tuple[_Unit, ...]]
    suffixes: dict[str, _Suffix]

    @classmethod
    def of(cls, phrases: dict[str, tuple[_Unit, ...]], kinds: frozenset[_Kind]) -> _PhraseTable:
        units: dict[str, tuple[_Unit, ...]] = {}
        plain: dict[str, tuple[_Unit, ...]] = {}
        suffixes: dict[str, _Suffix] = {}
        for key, found in phrases.items():
            chosen = tuple(unit for unit in found if unit.kind in kinds)
            if not chosen:
                continue
            units[key] = chosen
            named = tuple(unit for unit in chosen if not unit.numeric)
            if named:
                plain[key] = named
            words = key.split()
            node = suffixes.setdefault(words[-1], _Suffix())
            for word in reversed(words[:-1]):
                node = node.before.setdefault(word, _Suffix())
            node.key = key
        return cls(units, plain, suffixes)


@dataclass(frozen=True, slots=True)
class _FuzzyChoices:
    """Names for ``rapidfuzz.process.extract``: folded keys, each with the units that carry it."""

    keys: list[str]
    units: list[tuple[_Unit, ...]]


def _bare(full_name: str, unit_type: str) -> str:
    """The name without its leading type word (``Phường Ba Đình`` → ``Ba Đình``)."""
    if unit_type and full_name.lower().startswith(unit_type.lower() + " "):
        return full_name[len(unit_type) + 1:]
    return full_name


def _province_type(full_name: str) -> tuple[str, str]:
    """(type, bare name) of a province's full name."""
    for prefix in ("Thành phố ", "Tỉnh "):
        if full_name.startswith(prefix):
            return prefix.strip(), full_name[len(prefix):]
    return "", full_name


class AddressIndex:
    """Every name of one gazetteer, indexed for right-to-left phrase look-ups and fuzzy matching (built once)."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        table = abbreviations()
        self.gazetteer = gazetteer
        self.variants: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        for group in table.get("token_variants", []):
            for word in group:
                self.variants[fold(word)] = fold(group[0])
        self.phrases: dict[str, list[_Unit]] = defaultdict(list)
        self.alias_keys: set[str] = set()
        self._build_records(gazetteer)
        self._build_answers()
        self._build_provinces(gazetteer, table)
        self._build_communes(gazetteer)
        self._build_legacy(gazetteer)
        self.max_phrase = max(len(key.split()) for key in self.phrases)
        self.phrase_units: dict[str, tuple[_Unit, ...]] = {key: tuple(units) for key, units in self.phrases.items()}
        self.province_table = _PhraseTable.of(self.phrase_units, _PROVINCE_KINDS)
        self.written: dict[tuple[_Unit, ...], _Written] = {
            units: _Written.of(units) for units in self.province_table.units.values()}
        self.unit_table = _PhraseTable.of(self.phrase_units, _UNIT_KINDS)
        self.low_table = _PhraseTable.of(self.phrase_units, _LOW_KINDS)
        self.type_words, self.max_type = self._build_type_words(table)
        self.type_last = frozenset(key.split()[-1] for key in self.type_words)
        self.name_last_words = frozenset(key.split()[-1] for key in self.phrase_units) & frozenset(self.type_words)
        self.postfix_words = {key: word for key, word in self.type_words.items() if word.postfix and " " not in key}
        self.markers, self.max_marker = self._build_markers(table)
        self.marker_first = frozenset(key.split()[0] for key in self.markers)
        self.glued = frozenset(fold(word) for word in table.get("glued_prefixes", []))
        self._chunks: dict[str, _Chunk] = {}
        self.noise = frozenset(self.key(word) for word in table.get("trailing_noise", []))
        self.max_noise = max((len(key.split()) for key in self.noise), default=1)
        self.noise_last = frozenset(key.split()[-1] for key in self.noise)
        self._build_fuzzy()

    # ------------------------------------------------------------------------------------------------ building

    def key(self, text: str) -> str:
        """The phrase key of a name: folded, with interchangeable spellings (``đắc``/``đắk``) read one way. For the
        index's own names, remembered; words of a request go through ``query_key``."""
        key = self._keys.get(text)
        if key is None:
            key = self.query_key(text)
            self._keys[text] = key
        return key

    def query_key(self, text: str) -> str:
        """``key`` of words read from a request: the same key, not remembered (the index remembers its own names
        only, so that its memory stays bounded whatever is asked)."""
        return " ".join([self.variants.get(token, token) for token in fold(text).split()])

    def chunk(self, piece: str) -> _Chunk:
        """The tokens of one space-delimited piece of text, read once and remembered (at most ``_CHUNKS_MAX``)."""
        chunk = self._chunks.get(piece)
        if chunk is None:
            chunk = _Chunk(piece, self.variants, self.glued)
            if len(self._chunks) >= _CHUNKS_MAX:
                self._chunks.clear()  # a flood of one-off pieces (house numbers, foreign text): start afresh
            self._chunks[piece] = chunk
        return chunk

    def written_of(self, units: tuple[_Unit, ...]) -> _Written:
        """The provinces a reading's province units name (``_Written``), each set of units computed once."""
        written = self.written.get(units)
        if written is None:
            written = _Written.of(units)
            if len(self.written) < _WRITTEN_MAX:  # a bounded set: sub-tuples of the province table's units
                self.written[units] = written
        return written

    def _add(self, name: str, unit: _Unit) -> None:
        keys = {self.key(name), self.key(name.replace("'", ""))}
        for key in keys:
            if key:
                self.phrases[key].append(unit)

    def _build_records(self, g: Gazetteer) -> None:
        communes = g.communes
        self.commune_code: list[str] = communes["code"].astype(str).tolist()
        self.commune_full: list[str] = [normalise_tones(name) for name in communes["full_name"]]
        self.commune_province: list[str] = communes["province_code"].astype(str).tolist()
        self.commune_postal: list[str | None] = [pc if isinstance(pc, str) else None
                                                 for pc in communes["postal_code"]]
        self.commune_lat: list[float] = communes["rep_lat"].astype(float).tolist()
        self.commune_lon: list[float] = communes["rep_lon"].astype(float).tolist()
        self.commune_population: list[int] = communes["population"].fillna(0).astype(int).tolist()
        self.commune_bbox: list[tuple[float, float, float, float]] = list(zip(
            *(communes[c].astype(float).tolist() for c in ("south", "west", "north", "east"))))
        provinces = g.provinces_table
        self.province_full: dict[str, str] = {
            code: normalise_tones(name) for code, name in zip(provinces["code"], provinces["full_name"])}
        self.new_province_of: dict[str, str] = dict(
            zip(g.province_conversion["legacy_code"], g.province_conversion["new_code"]))
        legacy = g.legacy_units
        self.legacy_code: list[str] = legacy["code"].astype(str).tolist()
        self.legacy_lat: list[float] = legacy["lat"].astype(float).tolist()
        self.legacy_lon: list[float] = legacy["lon"].astype(float).tolist()
        self.legacy_row: dict[str, int] = {code: row for row, code in enumerate(self.legacy_code)}
        conversion: dict[str, list[tuple[int, str]]] = defaultdict(list)
        row_of = {code: row for row, code in enumerate(self.commune_code)}
        conversion_columns = g.conversion[["legacy_code", "new_code", "share"]]
        for legacy_code, new_code, share in zip(*(conversion_columns[c].tolist() for c in conversion_columns)):
            row = row_of.get(new_code)
            conversion[legacy_code].append((g.commune_row(new_code) if row is None else row, share))
        self.conversion: dict[str, tuple[tuple[int, str], ...]] = {k: tuple(v) for k, v in conversion.items()}
        by_district: dict[str, dict[int, None]] = defaultdict(dict)
        for code, district in zip(self.legacy_code, legacy["district_code"].tolist()):
            for row, _share in self.conversion.get(code, ()):
                by_district[district][row] = None
        self.district_communes: dict[str, tuple[int, ...]] = {d: tuple(rows) for d, rows in by_district.items()}
        centres = legacy[["district_code", "lat", "lon"]].groupby("district_code")[["lat", "lon"]].mean()
        self.district_centre: dict[str, tuple[float, float]] = {
            d: (float(lat), float(lon)) for d, lat, lon in zip(centres.index, centres["lat"], centres["lon"])}

    def _build_answers(self) -> None:
        """Per commune row, what every answer naming it repeats: its ``Candidate`` fields, its standard address
        without street part, its rank among equals (population, then code); per unit, filled on first use, the
        commune rows it converts to (``unit_rows``)."""
        self.commune_fields: list[dict[str, Any]] = [
            {"commune_code": code, "commune_name": name, "province_code": province,
             "province_name": self.province_full.get(province, ""), "postal_code": postal}
            for code, name, province, postal in zip(
                self.commune_code, self.commune_full, self.commune_province, self.commune_postal)]
        self.commune_standard: list[str] = [", ".join(part for part in (fields["commune_name"],
                                                                        fields["province_name"]) if part)
                                            for fields in self.commune_fields]
        self.commune_order: list[tuple[int, str]] = [
            (-population, code) for population, code in zip(self.commune_population, self.commune_code)]
        self._unit_rows: dict[_Unit, tuple[tuple[int, str, float], ...]] = {}
        self._plain_answers: dict[tuple[int, str, float, str | None, str | None], Candidate] = {}

    def plain_answer(self, row: int, match_type: MatchType, confidence: float, legacy_code: str | None,
                     share: str | None) -> Candidate:
        """The candidate of a commune row found without a street part or a point: at the commune's point, with its
        standard address. Such answers recur from address to address, and a ``Candidate`` is immutable, so each
        is built once and shared (at most ``_ANSWERS_MAX``)."""
        key = (row, match_type, confidence, legacy_code, share)
        answer = self._plain_answers.get(key)
        if answer is None:
            answer = _candidate(self.commune_fields[row], self.commune_lat[row], self.commune_lon[row], "commune",
                                confidence, match_type, self.commune_standard[row], legacy_code, share)
            if len(self._plain_answers) >= _ANSWERS_MAX:
                self._plain_answers.clear()
            self._plain_answers[key] = answer
        return answer

    def _build_provinces(self, g: Gazetteer, table: dict[str, Any]) -> None:
        for code, name, name_en, full_name in g.provinces_table[
                ["code", "name", "name_en", "full_name"]].itertuples(index=False):
            type_name, bare = _province_type(full_name)
            unit = _Unit(_Kind.PROVINCE, code, -1, code, code, "", fold(type_name), accent_key(bare), False)
            for variant in {bare, name, name_en, fold(bare).replace(" ", "")}:
                self._add(variant, unit)
        for code, full_name in g.legacy_provinces[["code", "name"]].itertuples(index=False):
            type_name, bare = _province_type(full_name)
            new = self.new_province_of.get(code, code)
            unit = _Unit(_Kind.OLD_PROVINCE, code, -1, code, new, "", fold(type_name), accent_key(bare), False)
            for variant in {bare, fold(bare).replace(" ", "")}:
                self._add(variant, unit)
        for alias, target in table.get("province_aliases", {}).items():
            units = [u for u in self.phrases.get(self.key(target), []) if u.kind in _PROVINCE_KINDS]
            key = self.key(alias)
            if units and key not in self.phrases:
                self.phrases[key].extend(units)
                self.alias_keys.add(key)

    def _build_communes(self, g: Gazetteer) -> None:
        communes = g.communes
        columns = [communes[c].tolist() for c in ("code", "name", "full_name", "type", "province_code")]
        for row, (code, name, full_name, unit_type, province) in enumerate(zip(*columns)):
            key = self.key(name)
            # the type word of the official full name; 14 communes carry another ``type`` in the sources
            # (Phường Tân Phú, Đồng Nai, has type "xã"): they are indexed under both
            written_type = full_name[:-len(name)].strip() if full_name.endswith(name) else unit_type
            for type_key in dict.fromkeys((fold(written_type or unit_type), fold(unit_type))):
                self._add(name, _Unit(_Kind.COMMUNE, code, row, province, province, "", type_key,
                                      accent_key(name), key.isdigit()))

    def _build_legacy(self, g: Gazetteer) -> None:
        legacy = g.legacy_units
        seen_districts: set[str] = set()
        columns = ["code", "name", "type", "district_code", "district_name", "district_type", "province_code"]
        for row, (code, name, unit_type, district, district_name, district_type, province) in enumerate(
                zip(*(legacy[c].tolist() for c in columns))):
            new = self.new_province_of.get(province, province)
            if district not in seen_districts:
                seen_districts.add(district)
                bare = _bare(district_name, district_type)
                unit = _Unit(_Kind.DISTRICT, district, -1, province, new, district, fold(district_type),
                             accent_key(bare), self.key(bare).isdigit())
                self._add(bare, unit)
            bare = _bare(name, unit_type)  # (the five ward-less island districts are their own "ward")
            unit = _Unit(_Kind.WARD, code, row, province, new, district, fold(unit_type), accent_key(bare),
                         self.key(bare).isdigit())
            self._add(bare, unit)

    def _build_type_words(self, table: dict[str, Any]) -> tuple[dict[str, _TypeWord], int]:
        words: dict[str, _TypeWord] = {}
        for entry in table["unit_types"]:
            position = entry.get("position", "prefix")
            for word in entry["words"]:
                key = self.key(word)
                matches = frozenset(fold(m) for m in entry["matches"])
                levels = frozenset(kind for type_key, kinds in _TYPE_LEVELS.items() if type_key in matches
                                   for kind in kinds)
                words.setdefault(key, _TypeWord(
                    entry["display"], fold(entry["display"]), matches, levels, position in ("prefix", "both"),
                    position in ("postfix", "both"), key != fold(entry["display"])))
        return words, max(len(key.split()) for key in words)

    def _build_markers(self, table: dict[str, Any]) -> tuple[dict[str, _Marker], int]:
        markers: dict[str, _Marker] = {}
        for entry in table["part_markers"]:
            accents = frozenset(accent_key(word) for word in entry["words"])
            for word in entry["words"]:
                markers.setdefault(self.key(word), _Marker(
                    entry["part"], entry.get("display", ""), bool(entry.get("needs_number")),
                    bool(entry.get("accent_strict")), accents))
        return markers, max(len(key.split()) for key in markers)

    def _build_fuzzy(self) -> None:
        """Per 2025 province, per legacy district and nationally: the folded names to match typos against."""
        by_province: dict[str, dict[str, list[_Unit]]] = defaultdict(lambda: defaultdict(list))
        by_district: dict[str, dict[str, list[_Unit]]] = defaultdict(lambda: defaultdict(list))
        national: dict[str, list[_Unit]] = defaultdict(list)
        provinces: dict[str, list[_Unit]] = defaultdict(list)
        for key, units in self.phrase_units.items():
            for unit in units:
                if unit.kind in _PROVINCE_KINDS:
                    if len(key) >= 4:
                        provinces[key].append(unit)
                    continue
                if unit.numeric:
                    continue
                by_province[unit.new_province][key].append(unit)
                national[key].append(unit)
                if unit.kind == _Kind.WARD:
                    by_district[unit.district][key].append(unit)

        def choices(mapping: dict[str, list[_Unit]]) -> _FuzzyChoices:
            keys = sorted(mapping)
            return _FuzzyChoices(keys, [tuple(dict.fromkeys(mapping[key])) for key in keys])

        self.fuzzy_province = {code: choices(mapping) for code, mapping in by_province.items()}
        self.fuzzy_district = {code: choices(mapping) for code, mapping in by_district.items()}
        self.fuzzy_national = choices(national)
        self.fuzzy_provinces = choices(provinces)

    # ------------------------------------------------------------------------------------------------ look-ups

    def bbox_holds(self, row: int, lat: float, lon: float) -> bool:
        """True when a commune's bounding box holds a point (a cheap first test, no geometry)."""
        south, west, north, east = self.commune_bbox[row]
        return south <= lat <= north and west <= lon <= east

    def unit_rows(self, unit: _Unit) -> tuple[tuple[int, str, float], ...]:
        """``commune_rows_of`` with, for a legacy unit, each row's distance from the unit's centre (for ranking the
        communes of a split ward: ``_OUTSIDE_BOX_M`` more when the commune's box does not hold the centre; 0 for a
        commune or an unknown centre). Computed once per unit."""
        rows = self._unit_rows.get(unit)
        if rows is None:
            found: list[tuple[int, str, float]] = []
            for row, share in self.commune_rows_of(unit):
                distance = 0.0
                if unit.kind != _Kind.COMMUNE:
                    if unit.kind == _Kind.WARD:
                        origin = (self.legacy_lat[unit.row], self.legacy_lon[unit.row])
                    else:
                        origin = self.district_centre.get(unit.district, (math.nan, math.nan))
                    distance = _haversine_m(origin[0], origin[1], self.commune_lat[row], self.commune_lon[row])
                    if math.isnan(distance):
                        distance = 0.0
                    elif not self.bbox_holds(row, origin[0], origin[1]):
                        distance += _OUTSIDE_BOX_M  # the commune's bounding box does not even hold the centre
                found.append((row, share, distance))
            rows = self._unit_rows[unit] = tuple(found)
        return rows

    def commune_rows_of(self, unit: _Unit) -> list[tuple[int, str]]:
        """The 2025 commune rows (with share) a unit stands for: itself, its conversion, or its district's."""
        if unit.kind == _Kind.COMMUNE:
            return [(unit.row, "full")]
        if unit.kind == _Kind.WARD:
            return list(self.conversion.get(unit.code, ()))
        if unit.kind == _Kind.DISTRICT:
            rows = self.district_communes.get(unit.district, ())
            own = self.conversion.get(unit.district, ())  # the ward-less island districts
            if own:
                return list(own)
            share = "full" if len(rows) == 1 else "partial"
            return [(row, share) for row in rows]
        return []


_INDEXES: weakref.WeakKeyDictionary[Any, AddressIndex] = weakref.WeakKeyDictionary()
_INDEX_LOCK = threading.Lock()


_DEFAULT_INDEX: list[AddressIndex] = []


def address_index(gazetteer: Gazetteer | None = None) -> AddressIndex:
    """The address index of a gazetteer (the process-wide one by default), built on first use and cached.

    The default is the index of ``get_gazetteer()`` at first use, kept for the life of the process (so that a query
    does not pay for resolving the data directory again); pass a gazetteer to use another build.
    """
    if gazetteer is None:
        if _DEFAULT_INDEX:
            return _DEFAULT_INDEX[0]
        from vpostcode.gazetteer import get_gazetteer

        built = address_index(get_gazetteer())
        _DEFAULT_INDEX[:] = [built]
        return built
    index = _INDEXES.get(gazetteer)
    if index is None:
        with _INDEX_LOCK:
            index = _INDEXES.get(gazetteer)
            if index is None:
                index = AddressIndex(gazetteer)
                _INDEXES[gazetteer] = index
    return index


# ======================================================================================================== tokens

_GLUED = re.compile(r"^([a-z]{1,3})(\d+)$")
_GLUED_HINT = re.compile(r"[a-z]\d")  # a letter before a digit: the text may hold a glued prefix ("p12")
_FULL_CODE = re.compile(r"(?<![^\W_])[A-Za-z][A-Za-z0-9]{3}[ -]?[A-Za-z0-9]{3}[ -]?[A-Za-z0-9]{3}(?![^\W_])")
_LOCAL_CODE = re.compile(r"(?<![^\W_])(\d{5})[ -]([A-Za-z0-9]{2,9})(?![^\W_])")
# What any match of _FULL_CODE (in the codec's characters: no E, no U) and of _LOCAL_CODE must hold; searched first,
# since the look-behind of the full patterns makes them slow to scan a text that holds no code at all.
_CODE_CLASS = "[0-9A-DF-TV-Za-df-tv-z]"  # the letters and digits of _CODE_CHARS
_FULL_CODE_HINT = re.compile(f"{_CODE_CLASS}{{4}}[ -]?{_CODE_CLASS}{{3}}[ -]?{_CODE_CLASS}{{3}}")
_LOCAL_CODE_HINT = re.compile(r"\d{5}[ -][A-Za-z0-9]{2}")
# Every character a full address code may hold, either case (``codec``: its 31 symbols, the confusables O, I, L it
# reads as digits, and the separators): a word pair with any other letter ("Thai Nguyen": E, U) is no code, and is
# not worth the codec's (NumPy, ~150 µs) check.
_CODE_CHARS = frozenset("0123456789BCDFGHJKMNPQRSTVWXYZA" "OIL" "oil" "bcdfghjkmnpqrstvwxyza" " -")


class _Tokens:
    """The words of a text: folded keys, comma-delimited segments, and (computed on demand) spans and accents.

    ``seg[i]`` is the number of strong separators (commas, semicolons, brackets, new lines) before token i: a name
    never spans two segments. ``plain[i]`` is True when token i was typed without diacritics. Spans in the original
    text are only computed when asked for (display); accent keys come with the pieces (``_Chunk``), or are computed
    when asked for.
    ``chunks`` holds the space-delimited pieces of the text (``_Chunk``) when it was read piece by piece; else
    ``pieces`` maps tokens to words when a glued ``P12`` was split, and is None when every token is one whole word
    of the folded text.
    """

    __slots__ = ("_accents", "_folded", "_spans", "accent_keys", "all_plain", "chunks", "keys", "lowered", "pieces",
                 "plain", "seg", "text")

    def __init__(self, text: str, folded: str | None, keys: list[str], lowered: list[str] | None, seg: list[int],
                 plain: list[bool], pieces: list[tuple[int, int, int]] | None, all_plain: bool,
                 chunks: list[_Chunk] | None = None, accent_keys: list[str] | None = None) -> None:
        self.text = text
        self._folded = folded
        self.keys = keys
        self.lowered = lowered  # the tokens in lower case (None when ``accent_keys`` holds their accent keys)
        self.accent_keys = accent_keys
        self.seg = seg
        self.plain = plain
        self.pieces = pieces  # (word number, start, end within the word) of each token; None: token i is word i
        self.all_plain = all_plain
        self.chunks = chunks
        self._accents: dict[int, str] = {}
        self._spans: list[tuple[int, int]] | None = None

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def folded(self) -> str:
        """The folded text: one character per character of the text (an address code in it blanked out)."""
        if self._folded is None:
            self._folded = " ".join([chunk.folded for chunk in self.chunks or ()])
        return self._folded

    def accent(self, i: int) -> str:
        """The accent key of token i (its lower case when it was typed without diacritics)."""
        if self.accent_keys is not None:
            return self.accent_keys[i]
        lowered = self.lowered or []
        if self.plain[i]:
            return lowered[i]
        value = self._accents.get(i)
        if value is None:
            value = accent_key(lowered[i])
            self._accents[i] = value
        return value

    def accents(self, start: int, end: int) -> str:
        """The accent keys of tokens start..end, joined by spaces."""
        if start + 1 == end:
            return self.accent(start)
        return " ".join([self.accent(i) for i in range(start, end)])

    def is_plain(self, start: int, end: int) -> bool:
        """True when tokens start..end carry no diacritics."""
        return self.all_plain or all(self.plain[start:end])

    def numeric(self, i: int) -> bool:
        """True when token i starts with a digit (a house number, an alley number, a numbered ward)."""
        return 0 <= i < len(self.keys) and self.keys[i][:1].isdigit()

    def floor(self, i: int) -> int:
        """The first token of the segment holding token i."""
        seg = self.seg
        while i > 0 and seg[i - 1] == seg[i]:
            i -= 1
        return i

    def span(self, i: int) -> tuple[int, int]:
        """(start, end) of token i in the original text."""
        spans = self._spans
        if spans is None:
            spans = self._spans = self._all_spans()
        return spans[i]

    def _all_spans(self) -> list[tuple[int, int]]:
        if self.chunks is not None:
            spans: list[tuple[int, int]] = []
            offset = 0
            for chunk in self.chunks:
                for start, end in chunk.spans:
                    spans.append((offset + start, offset + end))
                offset += len(chunk.folded) + 1
            return spans
        words = [m.span() for m in _FOLDED_WORD.finditer(self.folded)]
        if self.pieces is None:
            return words
        return [(words[w][0] + a, words[w][0] + b) for w, a, b in self.pieces]

    def raw(self, start: int, end: int) -> str:
        """The original text of tokens start..end (with what lies between them), tidied for display."""
        if start >= end:
            return ""
        return _clean(self.text[self.span(start)[0]:self.span(end - 1)[1]])

    def gap(self, i: int) -> str:
        """The original text between tokens i - 1 and i."""
        return self.text[self.span(i - 1)[1]:self.span(i)[0]]


_CLEANED: dict[str, str] = {}
_CLEANED_MAX = 20_000


def _clean(text: str) -> str:
    """``text.clean``, remembered: the street and hamlet names of addresses recur."""
    value = _CLEANED.get(text)
    if value is None:
        value = clean(text)
        if len(_CLEANED) >= _CLEANED_MAX:
            _CLEANED.clear()
        _CLEANED[text] = value
    return value


class _Chunk:
    """The tokens of one space-delimited piece of a text (``"Đình,"``, ``"P.12"``), as ``_tokenize`` reads them.

    Pieces recur from address to address (the same syllables, type words and province names), so each index keeps
    the pieces it has read (``AddressIndex.chunk``): a text is then read with one look-up per piece instead of two
    ``str.translate`` passes and the splits over the whole text. ``seg`` counts the separators before each token
    within the piece, ``breaks`` all of the piece's; ``glued``: the piece may hold a glued prefix (``P12``), which
    sends the whole text to the word-by-word reader.
    """

    __slots__ = ("accent", "accent_keys", "all_plain", "breaks", "code_shape", "code_shapes", "folded", "glued",
                 "key", "keys", "local_code", "plain", "seg", "single", "spans")

    def __init__(self, piece: str, variants: dict[str, str], glued_prefixes: frozenset[str]) -> None:
        folded = piece.translate(_FOLD_TABLE)
        lowered = folded if piece.isascii() else piece.translate(_LOWER_TABLE)
        self.folded = folded
        self.glued = bool(glued_prefixes) and _GLUED_HINT.search(folded) is not None
        self.keys: list[str] = []
        self.accent_keys: list[str] = []
        self.plain: list[bool] = []
        self.seg: list[int] = []
        self.spans: list[tuple[int, int]] = []
        # for _may_hold_code: each word's shape as a group of an address code (``_code_shape``); and whether a
        # word is the five digits that open a local code
        self.code_shapes: list[int] = []
        self.local_code = False
        self.breaks = 0
        if folded.isalnum():  # one word, no separator: most pieces
            self._word(folded, lowered, 0, len(folded), variants)
        elif folded[-1:] == "," and folded[:-1].isalnum():  # one word and a comma: the next most
            self._word(folded[:-1], lowered[:-1], 0, len(folded) - 1, variants)
            self.breaks = 1
        else:
            for match in _WORD_OR_BREAK.finditer(folded):
                word = match.group()
                if word == ",":
                    self.breaks += 1
                else:
                    start, end = match.span()
                    self._word(word, lowered[start:end], start, end, variants)
        self.all_plain = all(self.plain)
        # the common piece of one word (and perhaps a comma after it), as scalars: ``_tokenize`` then touches no list
        self.single = len(self.keys) == 1 and self.seg[0] == 0
        self.key = self.keys[0] if self.single else ""
        self.accent = self.accent_keys[0] if self.single else ""
        self.code_shape = self.code_shapes[0] if self.single else 0

    def _word(self, word: str, low: str, start: int, end: int, variants: dict[str, str]) -> None:
        self.keys.append(variants.get(word, word))
        self.accent_keys.append(low if word == low else accent_key(low))
        self.plain.append(word == low)
        self.seg.append(self.breaks)
        self.spans.append((start, end))
        self.code_shapes.append(_code_shape(low))
        self.local_code = self.local_code or (len(word) == 5 and word.isdigit())


_CODE_LENGTH_BITS = 15  # a word's length, in the low bits of its code shape
_CODE_NO_A = 16  # the word holds no "a" (the check character's own symbol): it may be any group, not only the last
_CODE_OPENS = 32  # the word opens with a symbol a code may open with (``codec.FIRST_ALPHABET``)
_CODE_FIRST_GROUP = 4 | _CODE_NO_A | _CODE_OPENS  # "XXXX" of "XXXX-XXX-XXX"
_CODE_FIRST_TWO = 7 | _CODE_NO_A | _CODE_OPENS  # "XXXXXXX" of "XXXXXXX-XXX"
_CODE_MIDDLE_GROUP = 3 | _CODE_NO_A
_CODE_OPENING = frozenset(codec.FIRST_ALPHABET.lower())
_CODE_BODY = frozenset((codec.ALPHABET + "".join(codec.CONFUSABLES)).lower())


def _code_shape(word: str) -> int:
    """What a word (lower case, marks kept) can be in a full address code: 0 when no part of one; else its length,
    plus ``_CODE_NO_A`` and ``_CODE_OPENS`` when they hold (see ``_may_hold_code``).

    Written in any form, a code's characters are ASCII letters and digits: the codec's symbols and the confusables
    it reads as digits (O, I, L), with ``A`` only as the check character, its last. The first is a letter of
    ``codec.FIRST_ALPHABET``.
    """
    if not 0 < len(word) <= 10 or not word.isascii():
        return 0
    body = word[:-1] if word[-1] == "a" else word
    if not _CODE_BODY.issuperset(body):
        return 0
    return len(word) | (_CODE_NO_A if len(body) == len(word) else 0) | (_CODE_OPENS if word[0] in _CODE_OPENING
                                                                         else 0)


_BREAK_CHARS = ",;|\n\r\t()[]{}<>"


class _CharTable(dict[int, str]):
    """A ``str.translate`` table giving one character per character, so that offsets are kept: a letter or digit
    becomes its fold (``folded=True``: lower case without marks) or its lower case, a strong separator becomes a
    comma, anything else a space. Entries are computed on first sight and kept."""

    def __init__(self, folded: bool) -> None:
        super().__init__()
        self.folded = folded

    def __missing__(self, code: int) -> str:
        char = chr(code)
        if char in _BREAK_CHARS:
            value = ","
        elif char.isalnum():
            value = fold(char) if self.folded else char.lower()
            if len(value) != 1:
                value = char
        else:
            value = " "
        self[code] = value
        return value


_FOLD_TABLE = _CharTable(folded=True)
_LOWER_TABLE = _CharTable(folded=False)
_FOLDED_WORD = re.compile(r"[^\s,]+")
_WORD_OR_BREAK = re.compile(r",|[^\s,]+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _tokenize(index: AddressIndex, text: str, skip: Sequence[tuple[int, int]] = (), nfc: bool = False) -> _Tokens:
    """The tokens of a text (``nfc``: the caller has already brought it to NFC).

    The text is read piece by piece (split at spaces), each piece read once per index and remembered (``_Chunk``):
    folding and lower-casing are one character per character, so that offsets hold, and commas split the text into
    segments. A letter glued to a number (``P12``, ``Q1``) is split in two when the letters are a known prefix: such
    a text goes to ``_tokenize_glued``, where tokens and words are no longer one to one (``pieces``).
    """
    if not nfc and not text.isascii() and _COMBINING.search(text):
        text = unicodedata.normalize("NFC", text)  # decomposed input: spans then refer to the NFC form
    shown = text
    for start, end in skip:  # blank out an address code written in the text (offsets are kept)
        text = text[:start] + " " * (end - start) + text[end:]
    keys: list[str] = []
    accents: list[str] = []
    plain: list[bool] = []
    seg: list[int] = []
    chunks: list[_Chunk] = []
    segment = 0
    all_plain = True
    for piece in text.split(" "):
        chunk = index.chunk(piece)
        if chunk.glued:
            folded = text.translate(_FOLD_TABLE)
            return _tokenize_glued(index, shown, folded, folded if text.isascii() else text.translate(_LOWER_TABLE))
        chunks.append(chunk)
        if chunk.single:
            keys.append(chunk.key)
            accents.append(chunk.accent)
            plain.append(chunk.all_plain)
            seg.append(segment)
            all_plain = all_plain and chunk.all_plain
        elif chunk.keys:
            keys += chunk.keys
            accents += chunk.accent_keys
            plain += chunk.plain
            all_plain = all_plain and chunk.all_plain
            seg += chunk.seg if segment == 0 else [segment + n for n in chunk.seg]
        segment += chunk.breaks
    return _Tokens(shown, None, keys, None, seg, plain, None, all_plain, chunks, accents)


def _tokenize_glued(index: AddressIndex, shown: str, folded: str, lowered_text: str) -> _Tokens:
    """``_tokenize`` for a text that may hold a glued prefix (``P12``): word by word."""
    if "," in folded:
        words = folded.replace(",", " , ").split()
        lowers = lowered_text.replace(",", " , ").split()
    else:
        words = folded.split()
        lowers = lowered_text.split()
    variants = index.variants
    glued_prefixes = index.glued
    keys: list[str] = []
    lowered: list[str] = []
    seg: list[int] = []
    plain: list[bool] = []
    pieces: list[tuple[int, int, int]] = []
    segment = 0
    number = 0
    for key, low in zip(words, lowers):
        if key == ",":
            segment += 1
            continue
        is_plain = key == low
        if key[-1].isdigit() and key[0].isalpha() and len(key) <= 7:
            glued = _GLUED.match(key)
            if glued and glued.group(1) in glued_prefixes:
                cut = len(glued.group(1))
                keys += [glued.group(1), glued.group(2)]
                lowered += [low[:cut], low[cut:]]
                seg += [segment, segment]
                plain += [is_plain, True]
                pieces += [(number, 0, cut), (number, cut, len(key))]
                number += 1
                continue
        keys.append(variants.get(key, key))
        lowered.append(low)
        seg.append(segment)
        plain.append(is_plain)
        pieces.append((number, 0, len(key)))
        number += 1
    return _Tokens(shown, folded, keys, lowered, seg, plain, pieces, all(plain))


# ======================================================================================================== matching


# The reader's working records (_Match, _Hypothesis, _Analysis, _Scored) are plain classes with a written-out
# ``__init__``, not dataclasses: a dataclass's generated ``__init__`` stays interpreted Python under mypyc, and the
# reader makes several of them per address.


class _Match:
    """A run of tokens naming units: tokens ``start..stop`` (type words included), the name ``name_start..end``."""

    __slots__ = ("accent_ok", "end", "fuzzy", "key", "name_start", "start", "stop", "type_word", "units")

    def __init__(self, start: int, name_start: int, end: int, stop: int, key: str, units: tuple[_Unit, ...],
                 type_word: _TypeWord | None, accent_ok: bool | None, fuzzy: float = 0.0) -> None:
        self.start = start
        self.name_start = name_start
        self.end = end
        self.stop = stop
        self.key = key
        self.units = units
        self.type_word = type_word
        self.accent_ok = accent_ok  # None: typed without diacritics; True: marks agree; False: marks disagree
        self.fuzzy = fuzzy  # 0: exact key; else the rapidfuzz score


def _type_before(index: AddressIndex, tokens: _Tokens, position: int) -> tuple[int, _TypeWord | None]:
    """The prefix type word ending just before token ``position`` in the same segment (longest), if any."""
    keys = tokens.keys
    if position <= 0 or keys[position - 1] not in index.type_last:
        return position, None
    seg = tokens.seg
    here = seg[position] if position < len(keys) else seg[position - 1] + 1
    for length in range(min(index.max_type, position), 0, -1):
        if seg[position - length] != here:
            continue
        word = index.type_words.get(" ".join(keys[position - length:position]))
        if word is not None and word.prefix:
            return position - length, word
    return position, None


def _names_ending_at(index: AddressIndex, tokens: _Tokens, end: int, table: _PhraseTable) -> list[_Match]:
    """Every known name (of the table's kinds) whose last token is ``end - 1``, longest first, with its type word."""
    results: list[_Match] = []
    if end <= 0:
        return results
    keys = tokens.keys
    seg = tokens.seg
    post_word: _TypeWord | None = None
    name_end = end
    node = table.suffixes.get(keys[end - 1])
    if node is None:
        post_word = index.postfix_words.get(keys[end - 1])
        if post_word is None or end < 2 or seg[end - 2] != seg[end - 1]:
            return results
        name_end = end - 1
        node = table.suffixes.get(keys[name_end - 1])
        if node is None:
            return results
    here = seg[name_end - 1]
    names: list[tuple[int, str]] = []  # (first token, key) of the names ending at name_end, shortest first
    name_start = name_end - 1
    while node is not None:
        if node.key is not None:
            names.append((name_start, node.key))
        name_start -= 1
        if name_start < 0 or seg[name_start] != here:  # a name never spans two segments
            break
        node = node.before.get(keys[name_start])
    for name_start, key in reversed(names):
        units = table.units[key]
        start, type_word = _type_before(index, tokens, name_start)
        if type_word is not None and start == name_start - 1 and keys[start] in index.name_last_words and (
                start > 0 and seg[start - 1] == seg[start]):
            # the "type word" may end the previous name ("Hớn Quản Bình Phước", "Hà Tĩnh Hà Tĩnh"): read both ways
            bare = table.plain.get(key)
            if bare:
                results.append(_Match(name_start, name_start, name_end, end, key, bare, None, None))
        if type_word is None:
            type_word = post_word
            if type_word is None:
                units = table.plain.get(key, ())
                if not units:
                    continue
        results.append(_Match(start, name_start, name_end, end, key, units, type_word, None))
    return results


def _refine(tokens: _Tokens, best: list[_Hypothesis]) -> None:
    """Bring the typed diacritics to bear on the best readings (only they need it, so it is done last).

    Each match learns whether its marks agree with the name (``accent_ok``: None when typed without marks), and
    units that share a folded name but not the typed marks (``Minh Quán``/``Minh Quân``) are dropped.
    """
    if tokens.all_plain:
        return
    for h in best:
        for match in (h.unit, h.district, h.province):
            if match is None or match.fuzzy:
                continue
            # a name typed without marks in a text with marks is read as written ("Nga Thanh", not "Nga Thành")
            typed = tokens.accents(match.name_start, match.end)
            agree = any(unit.accent == typed for unit in match.units)
            if agree or not tokens.is_plain(match.name_start, match.end):
                match.accent_ok = agree
            if match is h.unit and agree:
                same = tuple([unit for unit in h.units if unit.accent == typed])
                if same:
                    h.units = same


# ------------------------------------------------------------------------------------------------ hypotheses


class _Hypothesis:
    """One reading of the administrative part of the text."""

    __slots__ = ("district", "fuzzy", "mismatch", "outdated_province", "province", "province_units", "score",
                 "structure", "unit", "units")

    def __init__(self, score: float, structure: Structure, units: tuple[_Unit, ...], unit: _Match | None,
                 district: _Match | None, province: _Match | None, province_units: tuple[_Unit, ...] = (),
                 mismatch: bool = False, outdated_province: bool = False, fuzzy: float = 0.0) -> None:
        self.score = score
        self.structure = structure
        self.units = units  # the lowest units named (communes, wards, or a district when no ward)
        self.unit = unit
        self.district = district
        self.province = province
        self.province_units = province_units
        self.mismatch = mismatch  # the province written does not hold the unit
        self.outdated_province = outdated_province  # a legacy province name (it holds the unit via the reform)
        self.fuzzy = fuzzy

    @property
    def start(self) -> int:
        """The first token of the administrative part."""
        for match in (self.unit, self.district, self.province):
            if match is not None:
                return match.start
        return -1


def _type_score(match: _Match | None, units: tuple[_Unit, ...]) -> tuple[float, tuple[_Unit, ...]]:
    """+4 and the units of the type named (+2 and those of a type it may stand for) when the type word fits; -12
    and all units when it names another type of the
    same level (``Xã`` for a ``Phường``: people mislabel those), -70 when it names another level (``Huyện`` before
    a commune: that reading is almost certainly wrong)."""
    if match is None or match.type_word is None:
        return 0.0, units
    word = match.type_word
    primary = word.primary
    fitting = 0
    for unit in units:
        if unit.type_key == primary:
            fitting += 1
    if fitting == len(units):  # the common case: every unit is of the type named (no new tuple)
        return (4.0, units) if units else (-70.0, units)
    if fitting:
        return 4.0, tuple([unit for unit in units if unit.type_key == primary])
    matches = word.matches
    compatible = tuple([unit for unit in units if unit.type_key in matches])
    if compatible:  # "Thị trấn X" for the 2025 "Xã X" that the town became
        return 2.0, compatible
    levels = word.levels
    same_level = tuple([unit for unit in units if unit.kind in levels])
    if same_level:
        return -12.0, same_level
    return -70.0, units


@dataclass(frozen=True, slots=True)
class _Written:
    """The province(s) a text names, as sets of codes: 2025 codes, legacy codes, and the 2025 codes those went
    into."""

    new: frozenset[str]
    old: frozenset[str]
    old_into: frozenset[str]

    @classmethod
    def of(cls, units: tuple[_Unit, ...]) -> _Written:
        return cls(frozenset(u.code for u in units if u.kind == _Kind.PROVINCE),
                   frozenset(u.code for u in units if u.kind == _Kind.OLD_PROVINCE),
                   frozenset(u.new_province for u in units if u.kind == _Kind.OLD_PROVINCE))

    def holds(self, unit: _Unit) -> int:
        """0: the province written does not hold the unit; 1: it does; 2: it does only through the reform (a
        legacy province name for a 2025 commune, or a 2025 province name for a legacy unit)."""
        if unit.kind == _Kind.COMMUNE:
            if unit.province in self.new:
                return 1
            return 2 if unit.new_province in self.old_into else 0
        if unit.province in self.old:
            return 1
        return 2 if unit.new_province in self.new or unit.new_province in self.old_into else 0


_NO_PROVINCE = _Written(frozenset(), frozenset(), frozenset())


class _Reader:
    """Builds and scores the readings of one tokenised text (scores: see ``_low`` and ``_districts``)."""

    def __init__(self, index: AddressIndex, tokens: _Tokens) -> None:
        self.index = index
        self.tokens = tokens
        self.hypotheses: list[_Hypothesis] = []
        self.mismatches: list[_Hypothesis] = []
        self.top = -math.inf

    def read(self) -> list[_Hypothesis]:
        end = self._strip_noise(len(self.tokens))
        table = self.index.province_table
        covered = end  # the first token of a province named at the end, if it fits its type word
        for skip in range(min(_MAX_TRAILING_SKIP, end - 1) + 1):
            provinces = _names_ending_at(self.index, self.tokens, end - skip, table)
            if not provinces:
                continue
            longest = max(p.end - p.name_start for p in provinces)
            for province in provinces:
                if province.end - province.name_start == longest:  # not "Vũng Tàu" inside "Bà Rịa - Vũng Tàu"
                    self._below(province.start, province, penalty=6.0 * skip)
                    if skip == 0 and _type_score(province, province.units)[0] >= 0:
                        covered = min(covered, province.start)
            break
        if self.top < 120.0:  # a reading without the province cannot beat a consistent unit + province one
            self._below(end, None, penalty=0.0, before=covered)
        if not any(h.unit is not None for h in self.hypotheses):
            self.hypotheses += self.mismatches
        return self.hypotheses

    def _strip_noise(self, end: int) -> int:
        keys = self.tokens.keys
        noise = self.index.noise
        changed = True
        while changed and end > 0:
            changed = False
            last = keys[end - 1]
            if last.isdigit() and len(last) >= 5:  # a postal code or a phone number
                end -= 1
                changed = True
                continue
            if last not in self.index.noise_last:
                break
            for length in range(min(self.index.max_noise, end), 0, -1):
                if " ".join(keys[end - length:end]) in noise:
                    end -= length
                    changed = True
                    break
        return end

    def _orphan(self, match: _Match) -> bool:
        """True when a name without a type word follows, within three words of its segment, a type word."""
        if match.type_word is not None:
            return False
        keys, seg, words = self.tokens.keys, self.tokens.seg, self.index.type_words
        for i in range(match.start - 1, max(match.start - 4, -1), -1):
            if seg[i] != seg[match.start]:
                return False
            if keys[i] in words and not keys[i].isdigit():
                return i < match.start - 1 or False
        return False

    def _skip_repeats(self, end: int, names: tuple[str, ...]) -> int:
        """The token before which the text stops repeating names already read (each with its type word)."""
        keys = self.tokens.keys
        moved = True
        while moved and end > 0:
            moved = False
            last = keys[end - 1]
            for name in names:
                if not name.endswith(last) or (len(name) > len(last) and name[-len(last) - 1] != " "):
                    continue  # its last word is not the word before ``end``
                words = name.split(" ")
                start = end - len(words)
                if start >= 0 and keys[start:end] == words:
                    end = _type_before(self.index, self.tokens, start)[0]
                    moved = True
                    break
        return end

    def _add(self, hypothesis: _Hypothesis) -> None:
        self.hypotheses.append(hypothesis)
        if hypothesis.score > self.top:
            self.top = hypothesis.score

    def _below(self, end: int, province: _Match | None, penalty: float, before: int | None = None) -> None:
        """Readings of the unit(s) ending at token ``end`` under an optional province.

        ``before``: only units that start before this token (a reading that takes the province named at the end
        of the text for a ward elsewhere must at least explain more of the text than the province does).
        """
        base_score = -penalty
        province_units: tuple[_Unit, ...] = ()
        written = _NO_PROVINCE
        if province is not None:
            type_score, province_units = _type_score(province, province.units)
            base_score += type_score
            written = self.index.written_of(province_units)
        named = False
        matches = _names_ending_at(self.index, self.tokens, end, self.index.unit_table)
        if province is not None:  # "..., Thuận An, Bình Dương, Thuận An, Bình Dương": also read past the repetition
            earlier = self._skip_repeats(end, (province.key,))
            if earlier < end:
                matches += _names_ending_at(self.index, self.tokens, earlier, self.index.unit_table)
        widest = _widest(matches)
        for match in matches:
            if before is not None and match.start >= before:
                continue
            # a name inside a longer name of the text ("Từ Liêm" in "Quận Bắc Từ Liêm") is a weak reading, and
            # so is a name after a type word that is not its own ("Xã Trun Khánh Vĩnh": a typo in "Trung")
            base = base_score - (_SUBSUMED if match.start > widest[match.end] else 0.0) - (
                _ORPHAN if match.type_word is None and self._orphan(match) else 0.0) - (
                _SKIPPED if match.end < end else 0.0)
            low_base = base - (_REPEATED if province is not None and _repeats(match, (province.key,)) else 0.0)
            communes, wards, districts = _by_kind(match.units)
            if communes:
                named |= self._low(match, communes, None, province, province_units, written, low_base, "2025")
            if wards:
                named |= self._low(match, wards, None, province, province_units, written, low_base, "legacy")
            if districts:
                named |= self._districts(match, districts, province, province_units, written, base)
        if not named and province is not None:
            self._add(_Hypothesis(10.0 + base_score, "unknown", (), None, None, province, province_units))

    def _low(self, match: _Match, units: tuple[_Unit, ...], district: _Match | None, province: _Match | None,
             province_units: tuple[_Unit, ...], written: _Written, base: float, structure: Structure) -> bool:
        """A reading whose lowest unit is a commune (2025) or a legacy ward, under an optional district.

        Score: 100 for naming the unit; +30 when the province written holds it (+25 only through the reform),
        -20 when it does not; +4/-12 for a fitting/clashing type word; +3 for the 2025 reading of a two-level
        text. The caller's ``base`` carries the district and province terms.
        """
        type_score, units = _type_score(match, units)
        score = 100.0 + base + type_score + (3.0 if structure == "2025" else 0.0)
        mismatch = outdated = False
        if province is not None:
            kept: list[_Unit] = []
            outdated = True
            for unit in units:
                how = written.holds(unit)
                if how:
                    kept.append(unit)
                    outdated = outdated and how == 2
            if kept:
                units = tuple(kept)
                score += 25.0 if outdated else 30.0
            else:
                outdated = False
                mismatch = True
                score -= 20.0
        hypothesis = _Hypothesis(score, structure, units, match, district, province, province_units,
                                 mismatch=mismatch, outdated_province=outdated)
        if mismatch:  # kept aside: only worth reporting when nothing in the province fits
            self.mismatches.append(hypothesis)
        else:
            self._add(hypothesis)
        return True

    def _districts(self, match: _Match, districts: tuple[_Unit, ...], province: _Match | None,
                   province_units: tuple[_Unit, ...], written: _Written, base: float) -> bool:
        """Readings through a legacy district: its ward on the left (the legacy chain: +30), a 2025 commune of its
        province on the left (+12: a new commune written with its old district), or the district alone (40)."""
        type_score, districts = _type_score(match, districts)
        if type_score <= -70.0:
            return False  # "Phường Ba Đình" does not name Quận Ba Đình
        outdated = False
        if province is not None:
            held = [(d, written.holds(d)) for d in districts]
            kept = tuple(d for d, how in held if how)
            if not kept:
                return False
            outdated = all(how == 2 for _d, how in held if how)
            districts = kept
            base += 25.0 if outdated else 30.0
        district_score = type_score
        inner = (_names_ending_at(self.index, self.tokens, match.start, self.index.low_table)
                 if match.start > 0 else [])
        # "xã X, huyện Y, tỉnh Z, Y, Z": the ward may be before repeated names
        read = (match.key, *((province.key,) if province else ()))
        earlier = self._skip_repeats(match.start, read)
        if earlier < match.start:
            inner += _names_ending_at(self.index, self.tokens, earlier, self.index.low_table)
        chained = False
        widest = _widest(inner)
        for district in districts:
            district_match = _Match(match.start, match.name_start, match.end, match.stop, match.key, (district,),
                                    match.type_word, match.accent_ok, match.fuzzy)
            for low in inner:
                low_base = base + district_score - (_SUBSUMED if low.start > widest[low.end] else 0.0) - (
                    _REPEATED if _repeats(low, read) else 0.0) - (_ORPHAN if self._orphan(low) else 0.0) - (
                    _SKIPPED if low.end < match.start else 0.0)
                wards = tuple(u for u in low.units if u.kind == _Kind.WARD and u.district == district.district)
                if wards:
                    chained |= self._low(low, wards, district_match, province, province_units, written,
                                         low_base + 30.0, "legacy")
                communes = tuple(u for u in low.units
                                 if u.kind == _Kind.COMMUNE and u.province == district.new_province)
                if communes:
                    chained |= self._low(low, communes, district_match, province, province_units, written,
                                         low_base + 12.0, "2025")
        if not chained:
            self._add(_Hypothesis(40.0 + base + district_score, "legacy", districts, None, match, province,
                                  province_units, outdated_province=outdated))
        return True


_BY_KIND: dict[tuple[_Unit, ...], tuple[tuple[_Unit, ...], tuple[_Unit, ...], tuple[_Unit, ...]]] = {}


def _by_kind(units: tuple[_Unit, ...]) -> tuple[tuple[_Unit, ...], tuple[_Unit, ...], tuple[_Unit, ...]]:
    """(communes, legacy wards, the rest: districts) of the units a name carries. Memoised: the tuples of units
    are those of the index's tables (a bounded set), so each is split once."""
    split = _BY_KIND.get(units)
    if split is None:
        split = (tuple(u for u in units if u.kind == _Kind.COMMUNE), tuple(u for u in units if u.kind == _Kind.WARD),
                 tuple(u for u in units if u.kind != _Kind.COMMUNE and u.kind != _Kind.WARD))
        if len(_BY_KIND) < 100_000:
            _BY_KIND[units] = split
    return split


def _widest(matches: list[_Match]) -> dict[int, int]:
    """For each end token, the first token of the longest match ending there."""
    widest: dict[int, int] = {}
    for match in matches:
        if match.start < widest.get(match.end, match.end + 1):
            widest[match.end] = match.start
    return widest


def _repeats(match: _Match, keys: tuple[str, ...]) -> bool:
    """True when a match repeats a name already read (a province or district) without a type word of its own
    level: in "Tỉnh Bình Dương, Bến Cát, Bình Dương" the first "Bình Dương" is not the 2025 Phường Bình Dương."""
    if match.key not in keys:
        return False
    word = match.type_word
    return word is None or not any(u.type_key in word.matches for u in match.units if u.kind in _LOW_KINDS)


def _best(hypotheses: list[_Hypothesis]) -> list[_Hypothesis]:
    """The hypotheses tied at the top score (an empty list when there are none)."""
    if not hypotheses:
        return []
    top = max(h.score for h in hypotheses)
    return [h for h in hypotheses if h.score >= top - 1e-9]


# ------------------------------------------------------------------------------------------------ fuzzy


def _fuzzy_queries(index: AddressIndex, tokens: _Tokens, end: int) -> list[tuple[int, int, _TypeWord | None]]:
    """(start, name_start, type word) of the runs of words ending at token ``end`` that may be a misspelt name.

    A type word marks where a name starts ("Xã Trriệu Việt Vương"); without one, the comma segment (when short)
    and the last one to four words are tried.
    """
    if end <= 0:
        return []
    floor = tokens.floor(end - 1)
    typed: list[tuple[int, int, _TypeWord | None]] = []
    for name_start in range(floor + 1, end):
        type_start, type_word = _type_before(index, tokens, name_start)
        if type_word is not None:
            typed.append((type_start, name_start, type_word))
    if typed:
        return typed
    starts = list(dict.fromkeys([*range(end - 1, max(floor, end - 4) - 1, -1), *([floor] if end - floor <= 6
                                                                                   else [])]))
    return [(name_start, name_start, None) for name_start in starts]


def _fuzzy_match(index: AddressIndex, tokens: _Tokens, end: int, choices: _FuzzyChoices,
                 kinds: frozenset[_Kind], cutoff: float = _FUZZY_CUTOFF) -> _Match | None:
    """The best fuzzy name (of the given kinds) ending at token ``end``; near-ties are all kept as units.

    Names are compared folded (a missing or misplaced mark is no typo); ``fuzz.ratio`` is the normalised Indel
    similarity, so one wrong letter in a 7-letter name scores about 86.
    """
    best: _Match | None = None
    for start, name_start, type_word in _fuzzy_queries(index, tokens, end):
        query = " ".join(tokens.keys[name_start:end])
        if len(query) < _FUZZY_MIN_QUERY or query.replace(" ", "").isdigit():
            continue
        found = [hit for hit in process.extract(query, choices.keys, scorer=fuzz.ratio, limit=6, score_cutoff=cutoff)
                 if hit[1] < 100.0]  # an exact name is the exact reader's business
        if not found:
            continue
        top = found[0][1]
        units: list[_Unit] = []
        for _choice, score, position in found:
            if score >= top - 0.5:
                units.extend(u for u in choices.units[position] if u.kind in kinds)
        if not units:
            continue
        chosen = tuple(dict.fromkeys(units))
        if type_word is not None:
            chosen = tuple(u for u in chosen if u.type_key in type_word.matches) or chosen
        if best is None or top > best.fuzzy + 1e-9 or (abs(top - best.fuzzy) < 1e-9 and start < best.start):
            best = _Match(start, name_start, end, end, found[0][0], chosen, type_word, None, fuzzy=float(top))
    return best


class _FuzzyReader(_Reader):
    """The typo fallback: the unit is matched fuzzily inside the province (or district) the text names.

    Its readings are scored like the exact ones, less ``100 - score`` of the fuzzy match; ``fuzzy`` on each reading
    holds the lowest fuzzy score among its parts (for the confidence table).
    """

    def run(self, best: list[_Hypothesis]) -> list[_Hypothesis]:
        anchor = best[0] if best else None
        if anchor is not None and anchor.district is not None and anchor.unit is None and anchor.units:
            self._under_district(anchor.district, anchor.units, anchor.province, anchor.province_units, 0.0)
        elif anchor is not None and anchor.province is not None:
            # a real name in another province than the one written: only a close lookalike may replace it,
            # unless the name is only part of the words before the province ("Quảb Bạ": "Bạ")
            whole = anchor.unit is not None and self.tokens.floor(anchor.unit.start) >= anchor.unit.start
            cutoff = 90.0 if anchor.mismatch and whole else _FUZZY_CUTOFF
            self._under_province(anchor.province, anchor.province_units, cutoff)
        else:
            end = self._strip_noise(len(self.tokens))
            province = _fuzzy_match(self.index, self.tokens, end, self.index.fuzzy_provinces, _PROVINCE_KINDS,
                                    85.0)
            if province is not None:
                self._under_province(province, province.units, _FUZZY_CUTOFF)
            else:
                unit = _fuzzy_match(self.index, self.tokens, end, self.index.fuzzy_national, _UNIT_KINDS, 88.0)
                if unit is not None:
                    self._from_fuzzy(unit, None, ())
        return self.hypotheses

    def _under_district(self, district: _Match, districts: tuple[_Unit, ...], province: _Match | None,
                        province_units: tuple[_Unit, ...], penalty: float) -> None:
        written = self.index.written_of(province_units) if province is not None else _NO_PROVINCE
        for unit in districts:
            choices = self.index.fuzzy_district.get(unit.district)
            if choices is None:
                continue
            low = _fuzzy_match(self.index, self.tokens, district.start, choices, _LOW_KINDS)
            if low is None:
                continue
            one = _Match(district.start, district.name_start, district.end, district.stop, district.key, (unit,),
                         district.type_word, district.accent_ok, district.fuzzy)
            before = len(self.hypotheses)
            self._low(low, low.units, one, province, province_units, written,
                      30.0 - penalty - (100.0 - low.fuzzy), "legacy")
            self._mark(before, low, one, province)

    def _under_province(self, province: _Match, province_units: tuple[_Unit, ...], cutoff: float) -> None:
        for code in dict.fromkeys(u.new_province for u in province_units):
            choices = self.index.fuzzy_province.get(code)
            if choices is not None:
                unit = _fuzzy_match(self.index, self.tokens, province.start, choices, _UNIT_KINDS, cutoff)
                if unit is not None:
                    self._from_fuzzy(unit, province, province_units)

    def _from_fuzzy(self, unit: _Match, province: _Match | None, province_units: tuple[_Unit, ...]) -> None:
        penalty = 100.0 - unit.fuzzy
        written = self.index.written_of(province_units) if province is not None else _NO_PROVINCE
        before = len(self.hypotheses)
        communes = tuple(u for u in unit.units if u.kind == _Kind.COMMUNE)
        wards = tuple(u for u in unit.units if u.kind == _Kind.WARD)
        districts = tuple(u for u in unit.units if u.kind == _Kind.DISTRICT)
        if communes:
            self._low(unit, communes, None, province, province_units, written, -penalty, "2025")
        if wards:
            self._low(unit, wards, None, province, province_units, written, -penalty, "legacy")
        if districts:
            self._districts(unit, districts, province, province_units, written, -penalty)
        self._mark(before, unit, None, province)
        for hypothesis in list(self.hypotheses[before:]):
            if hypothesis.unit is None and hypothesis.district is not None:  # a district, no ward: a fuzzy ward
                self._under_district(hypothesis.district, hypothesis.units, province, province_units, penalty)

    def _mark(self, before: int, *matches: _Match | None) -> None:
        scores = [m.fuzzy for m in matches if m is not None and m.fuzzy]
        for hypothesis in self.hypotheses[before:]:
            found = [*scores, *(m.fuzzy for m in (hypothesis.unit, hypothesis.district, hypothesis.province)
                                if m is not None and m.fuzzy)]
            hypothesis.fuzzy = min(found) if found else 0.0


# ======================================================================================================== detail


def _number_run(tokens: _Tokens, i: int, end: int) -> int:
    """The end of a house number starting at token i: ``12``, ``12A``, ``12/3``, ``45-47``, ``12/3/5B``."""
    j = i + 1
    while j < end and tokens.numeric(j) and tokens.seg[j] == tokens.seg[i]:
        gap = tokens.gap(j).strip()
        if gap not in ("/", "-", "\\"):
            break
        j += 1
    return j


def _marker_at(index: AddressIndex, tokens: _Tokens, i: int, end: int) -> tuple[_Marker | None, int]:
    """The part marker (``ngõ``, ``đường``, ``thôn``...) starting at token i, and its length in tokens.

    A marker typed with diacritics must carry the right ones when the table says so (``Tô`` Hiệu is no ``tổ``), and
    the markers that are ambiguous without them (``to``, ``ban``) or short (``h``, ``k``) need a number after them.
    """
    if tokens.keys[i] not in index.marker_first:
        return None, 0
    for length in range(min(index.max_marker, end - i), 0, -1):
        if tokens.seg[i + length - 1] != tokens.seg[i]:
            continue
        marker = index.markers.get(" ".join(tokens.keys[i:i + length]))
        if marker is None:
            continue
        plain = tokens.is_plain(i, i + length)
        if marker.accent_strict and not plain and tokens.accents(i, i + length) not in marker.accents:
            continue
        numbered = tokens.numeric(i + length) and tokens.seg[i + length] == tokens.seg[i]
        if (marker.needs_number or (marker.accent_strict and plain)) and not numbered:
            continue
        return marker, length
    return None, 0


class _OpenPart:
    """A street part being read by ``_detail``: tokens ``start..stop``, its name from ``name_start``."""

    __slots__ = ("display", "name_start", "part", "start", "stop")

    def __init__(self, part: str, start: int, name_start: int, stop: int, display: str) -> None:
        self.part = part
        self.start = start
        self.name_start = name_start
        self.stop = stop
        self.display = display  # the marker as shown ("Ngõ"), or "" when the part has none


def _close_part(tokens: _Tokens, parts: dict[str, tuple[int, int, str]], current: _OpenPart | None) -> None:
    """Add a part read by ``_detail`` to ``parts`` (a second street or hamlet joins the first, after a comma)."""
    if current is None or current.stop <= current.start:
        return
    name = tokens.raw(current.name_start, current.stop)
    value = f"{current.display} {name}".strip() if current.display else name
    if not value:
        return
    old = parts.get(current.part)
    if old is not None:
        parts[current.part] = (old[0], current.stop, f"{old[2]}, {value}")
    else:
        parts[current.part] = (current.start, current.stop, value)


def _detail(index: AddressIndex, tokens: _Tokens, end: int) -> dict[str, tuple[int, int, str]]:
    """House number, alley, street and hamlet among tokens ``0..end``: part → (first token, end token, value)."""
    parts: dict[str, tuple[int, int, str]] = {}
    current: _OpenPart | None = None
    i = 0
    while i < end:
        if current is not None and tokens.seg[i] != tokens.seg[current.start]:
            _close_part(tokens, parts, current)
            current = None
        marker, length = _marker_at(index, tokens, i, end)
        if marker is not None:
            _close_part(tokens, parts, current)
            current = None
            if marker.part == "house":
                j = _number_run(tokens, i + length, end)
                parts.setdefault("house_number", (i, j, tokens.raw(i + length, j)))
                i = j
                continue
            current = _OpenPart(marker.part, i, i + length, i + length, marker.display)
            i += length
            if marker.part == "alley" and tokens.numeric(i):
                j = _number_run(tokens, i, end)
                current.stop = j
                _close_part(tokens, parts, current)
                current = None
                i = j
            continue
        if current is None:
            if tokens.numeric(i) and "house_number" not in parts and "street" not in parts:
                j = _number_run(tokens, i, end)
                parts["house_number"] = (i, j, tokens.raw(i, j))
                i = j
                continue
            part = "street" if "street" not in parts else ("hamlet" if "hamlet" not in parts else "street")
            current = _OpenPart(part, i, i, i + 1, "")
        else:
            current.stop = i + 1
        i += 1
    _close_part(tokens, parts, current)
    return parts


# ======================================================================================================== codes


@dataclass(frozen=True, slots=True)
class _CodeInText:
    code: str  # the full code (recovered from a local code)
    span: tuple[int, int]
    lat: float | None
    lon: float | None
    postal_code: str | None  # the 5-digit prefix of a local code


def _find_code(text: str) -> _CodeInText | None:
    """The first valid address code in the text (full ``XXXX-XXX-XXX`` or local ``PPPPP-XXXX``), if any."""
    for match in _FULL_CODE.finditer(text) if _FULL_CODE_HINT.search(text) else ():
        if not _CODE_CHARS.issuperset(match.group()) or not _check_character_fits(match.group()):
            continue
        located = _locate_code(match.group())
        if located is not None:
            return _CodeInText(located[0], match.span(), located[1], located[2], None)
    for match in _LOCAL_CODE.finditer(text) if _LOCAL_CODE_HINT.search(text) else ():
        from vpostcode.localcode import recover  # imported when first needed: it loads the gazetteer's postcodes

        try:
            full = recover(match.group())
        except (VpostcodeError, ValueError):
            continue
        located = _locate_code(full)
        if located is not None:
            return _CodeInText(located[0], match.span(), located[1], located[2], match.group(1))
        return _CodeInText(match.group(), match.span(), None, None, match.group(1))
    return None


_CODE_DATA = frozenset(codec.ALPHABET)
_CODE_COMPACT = str.maketrans({**{typed: meant for typed, meant in codec.CONFUSABLES.items()},
                               **{typed.lower(): meant for typed, meant in codec.CONFUSABLES.items()},
                               " ": None, "-": None})  # the codec's reading of confusables, and no separators


def _may_hold_code(chunks: list[_Chunk]) -> bool:
    """False when a text (read piece by piece) cannot hold an address code, so ``_find_code`` need not scan it.

    A full code that ``_find_code`` accepts is ten of the codec's characters in groups of 4, 3 and 3, each joined
    by one space, one hyphen or nothing, with no word character around it: once folded, that is one word of 10, or
    words of 4 and 6, 7 and 3, or 4, 3 and 3, one after the other, of code characters only (``_code_shape``): the
    first opening as a code does, and none but the last holding an ``a``. A local code opens with a word of five
    digits. True when the words hold either (it may still be no code: ``_find_code`` decides).
    """
    before = last = 0  # the code shapes of the two words before
    for chunk in chunks:
        if chunk.local_code:
            return True
        for shape in (chunk.code_shape,) if chunk.single else chunk.code_shapes:
            length = shape & _CODE_LENGTH_BITS
            if (length == 10 and shape & _CODE_OPENS) or (last == _CODE_FIRST_GROUP and length == 6) or (
                    last == _CODE_FIRST_TWO and length == 3) or (
                    before == _CODE_FIRST_GROUP and last & ~_CODE_OPENS == _CODE_MIDDLE_GROUP and length == 3):
                return True
            before, last = last, shape
    return False


def _check_character_fits(written: str) -> bool:
    """True when a full code's last character is the check character of the others (``codec.check_character``,
    plain Python): a necessary condition, false for 30 in 31 pairs of words that merely look like a code
    ("Binh Thanh Hoa"), which then skip the codec's NumPy decode. The codec stays the judge of the rest."""
    compact = written.translate(_CODE_COMPACT).upper()
    if len(compact) != codec.FULL_LENGTH or compact[0] not in codec.FIRST_ALPHABET or not _CODE_DATA.issuperset(
            compact[1:-1]):
        return False  # not worth the codec's exception
    try:
        return codec.check_character(compact[:-1]) == compact[-1]
    except VpostcodeError:
        return False


def _locate_code(code: str) -> tuple[str, float, float] | None:
    """(normalised code, lat, lon) of a valid full address code, or None."""
    try:
        if not codec.is_valid(code):
            return None
        area = codec.decode(code)
    except (VpostcodeError, ValueError, TypeError):
        return None
    return area.code, float(area.lat), float(area.lon)


def _code_point(code: str) -> tuple[str, float, float]:
    """The location of an address code given as a parameter: full, or local (``PPPPP-XXXX``, recovered first)."""
    text = code.strip()
    if _LOCAL_CODE.fullmatch(text):
        from vpostcode.localcode import recover  # imported when first needed: it loads the gazetteer's postcodes

        text = recover(text)
    area = codec.decode(text)
    return area.code, float(area.lat), float(area.lon)


@dataclass(frozen=True, slots=True)
class _PointCheck:
    lat: float
    lon: float
    commune_code: str | None
    also_in: tuple[str, ...]
    from_code: bool


def _reverse_function() -> Any:
    """The reverse geocoder's ``reverse(lat, lon)``, wherever this installation has it (None if nowhere)."""
    for module in ("vpostcode.reverse", "vpostcode.reverse_geocode"):
        try:
            return importlib.import_module(module).reverse
        except (ImportError, AttributeError):
            continue
    return None


def _reverse(lat: float, lon: float, from_code: bool) -> _PointCheck | None:
    """Reverse-geocode a point (None when the reverse geocoder is not available in this installation)."""
    reverse = _reverse_function()
    if reverse is None:
        return None
    result = reverse(lat, lon)
    commune = getattr(result, "commune_code", None)
    also = tuple(getattr(result, "also_in", ()) or ())
    return _PointCheck(lat, lon, commune, also, from_code)


# ======================================================================================================== analysis


class _Analysis:
    """What the reader made of a text: its tokens, the best readings, its street part and its address code."""

    __slots__ = ("best", "code", "detail", "tokens")

    def __init__(self, tokens: _Tokens, best: list[_Hypothesis], detail: dict[str, tuple[int, int, str]],
                 code: _CodeInText | None) -> None:
        self.tokens = tokens
        self.best = best
        self.detail = detail
        self.code = code


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidInputError(f"an address must be text, got {type(text).__name__}", parameter="text")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInputError(
            f"the address is {len(text)} characters long; at most {MAX_TEXT_LENGTH} are accepted: "
            "send the address alone", parameter="text", length=len(text))
    return text


def _analyse(index: AddressIndex, text: str) -> _Analysis:
    """Read a text: its address code, its tokens, the best readings (exact, else fuzzy) and its street part."""
    text = _check_text(text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text) and _COMBINING.search(text):
        text = unicodedata.normalize("NFC", text)  # decomposed input: offsets refer to the NFC form
    tokens = _tokenize(index, text, (), nfc=True)
    code = _find_code(text) if tokens.chunks is None or _may_hold_code(tokens.chunks) else None
    if code is not None:  # read the words around it: blanked out, the code is not read as words
        tokens = _tokenize(index, text, (code.span,), nfc=True)
    best = _best(_Reader(index, tokens).read())
    _refine(tokens, best)
    named = [h for h in best if h.unit is not None and not h.mismatch]
    clash = any(h.unit is not None and h.unit.accent_ok is False for h in named)
    weak = best[0].score < (_WEAK if best[0].province is not None else _WEAK - 30.0) if best else True
    if not named or clash or weak:
        found = [h for h in _FuzzyReader(index, tokens).run(best) if h.unit is not None and not h.mismatch]
        if found:
            for h in named:
                if h.unit is not None and h.unit.accent_ok is False:
                    h.score -= _ACCENT_CLASH
            best = _best(named + found)
            _refine(tokens, best)
    start = min((h.start for h in best if h.start >= 0), default=len(tokens))
    detail = _detail(index, tokens, start) if start > 0 else {}
    return _Analysis(tokens, best, detail, code)


# ======================================================================================================== parse


def _match_text(tokens: _Tokens, match: _Match | None) -> tuple[str | None, tuple[int, int] | None]:
    if match is None:
        return None, None
    return tokens.raw(match.start, match.stop), (tokens.span(match.start)[0], tokens.span(match.stop - 1)[1])


def _parsed(analysis: _Analysis) -> ParsedAddress:
    tokens = analysis.tokens
    values: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    for part, (start, stop, value) in analysis.detail.items():
        values[part] = value
        spans[part] = (tokens.span(start)[0], tokens.span(stop - 1)[1])
    structure: Structure = "unknown"
    province_code = district_code = None
    unit_codes: tuple[str, ...] = ()
    if analysis.best:
        top = analysis.best[0]
        structure = top.structure
        for part, match in (("commune", top.unit), ("district", top.district), ("province", top.province)):
            written, span = _match_text(tokens, match)
            if written is not None and span is not None:
                values[part], spans[part] = written, span
        codes = dict.fromkeys(u.new_province for h in analysis.best for u in h.province_units)
        if top.units and not top.mismatch:
            codes = dict.fromkeys(u.new_province for h in analysis.best for u in h.units)
        province_code = next(iter(codes)) if len(codes) == 1 else None
        districts = {u.district for h in analysis.best for u in (h.district.units if h.district else ())}
        district_code = next(iter(districts)) if len(districts) == 1 else None
        if top.unit is not None:
            unit_codes = tuple(dict.fromkeys(u.code for h in analysis.best for u in h.units))
    if analysis.code is not None:
        values["address_code"] = analysis.code.code
        spans["address_code"] = analysis.code.span
    return ParsedAddress(text=tokens.text, structure=structure, province_code=province_code,
                         district_code=district_code, unit_codes=unit_codes, spans=spans, **values)


def parse(text: str, gazetteer: Gazetteer | None = None) -> ParsedAddress:
    """``vpostcode.address.parse`` (documented there), once it has checked its arguments."""
    return _parsed(_analyse(address_index(gazetteer), text))


# ======================================================================================================== geocode


@lru_cache(maxsize=1)
def _confidence_table() -> dict[str, dict[str, float]]:
    """Measured precision of the top candidate per match type and candidate count (``data/confidence.json``)."""
    try:
        source = resources.files("vpostcode").joinpath("data", "confidence.json")
        table: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        table = {}
    return {key: value for key, value in table.get("precision", {}).items() if isinstance(value, dict)}


_DEFAULT_PRECISION = {"exact": 1.0, "normalised": 0.99, "fuzzy": 0.9, "legacy_converted": 0.99,
                      "legacy_partial": 0.99}


def _bucket(count: int) -> str:
    return str(count) if count < 3 else "3+"


def _fuzzy_bucket(score: float) -> str:
    for floor in (95, 90, 85):
        if score >= floor:
            return f"fuzzy_{floor}"
    return "fuzzy_80"


_TOP_CONFIDENCE: dict[tuple[str, int], float] = {}


def _top_confidence(match_type: str, count: int, fuzzy_score: float) -> float:
    """The calibrated probability that the top candidate is right (see the module docstring); each (match type or
    fuzzy band, number of candidates) is looked up once."""
    key = _fuzzy_bucket(fuzzy_score) if match_type == "fuzzy" else match_type
    value = _TOP_CONFIDENCE.get((key, count))
    if value is None:
        measured = _confidence_table().get(key, {}).get(_bucket(count))
        if measured is None:
            measured = _DEFAULT_PRECISION.get(match_type, 0.9) / count
        value = float(measured)
        if len(_TOP_CONFIDENCE) < 10_000:  # a bounded set: a few keys times the candidate counts seen
            _TOP_CONFIDENCE[(key, count)] = value
    return value


def _standard(index: AddressIndex, detail: dict[str, tuple[int, int, str]], row: int) -> str:
    if not detail:
        return index.commune_standard[row]
    parts = [detail[part][2] for part in _DETAIL_PARTS if part in detail]
    parts += [index.commune_full[row], index.province_full.get(index.commune_province[row], "")]
    return ", ".join(part for part in parts if part)


def _hypothesis_match_type(h: _Hypothesis, tokens: _Tokens, index: AddressIndex) -> MatchType:
    if h.fuzzy or (h.unit is not None and h.unit.fuzzy):
        return "fuzzy"
    if h.structure == "legacy" or (h.district is not None and h.unit is not None):
        return "legacy_converted"
    exact = True
    for match in (h.unit, h.province):
        if match is None:
            continue
        if match.accent_ok is not True or match.key in index.alias_keys:
            exact = False
        if match.type_word is not None and match.type_word.abbreviated:
            exact = False
    return "exact" if exact else "normalised"


def _haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(a)))


class _Scored:
    """A commune row among the candidates, with how it was found."""

    __slots__ = ("distance", "fuzzy", "legacy_code", "match_type", "row", "share")

    def __init__(self, row: int, match_type: MatchType, legacy_code: str | None, share: str | None,
                 distance: float, fuzzy: float) -> None:
        self.row = row
        self.match_type = match_type
        self.legacy_code = legacy_code
        self.share = share
        self.distance = distance  # from the legacy centroid (partial conversions), for ranking
        self.fuzzy = fuzzy


def _candidate_rows(index: AddressIndex, analysis: _Analysis) -> list[_Scored]:
    """The 2025 communes the best readings name, each once, with how it was found."""
    rows: dict[int, _Scored] = {}
    for h in analysis.best:
        if not h.units or h.mismatch:
            continue
        base_type = _hypothesis_match_type(h, analysis.tokens, index)
        for unit in h.units:
            conversions = index.unit_rows(unit)
            if unit.kind == _Kind.COMMUNE:
                for row, _share, distance in conversions:
                    if row not in rows:
                        rows[row] = _Scored(row, base_type, None, None, distance, h.fuzzy)
                continue
            match_type: MatchType = base_type
            if base_type != "fuzzy":
                match_type = "legacy_partial" if len(conversions) > 1 else "legacy_converted"
            for row, share, distance in conversions:
                if row not in rows:
                    rows[row] = _Scored(row, match_type, unit.code, share, distance, h.fuzzy)
    if len(rows) < 2:
        return list(rows.values())
    order = index.commune_order
    return sorted(rows.values(), key=lambda s: (s.distance, order[s.row]))


_COMPILED = not __file__.endswith(".py")
"""True when this module runs compiled by mypyc (``scripts/compile_native.py``)."""


def _candidate(fields: dict[str, Any], lat: float, lon: float, precision: Precision, confidence: float,
               match_type: MatchType, standard_address: str, legacy_code: str | None,
               share: str | None) -> Candidate:
    """``Candidate(**fields, lat=lat, ...)``: a commune's fixed fields (``AddressIndex.commune_fields``) and the
    rest, filled in without the frozen dataclass's ``__init__``, whose one ``object.__setattr__`` per field is
    most of the cost of an answer (``tests/test_address_speed.py`` checks that the two agree)."""
    candidate = object.__new__(Candidate)
    values = candidate.__dict__
    values.update(fields)
    values.update(lat=lat, lon=lon, precision=precision, confidence=confidence, match_type=match_type,
                  standard_address=standard_address, legacy_code=legacy_code, share=share)
    return candidate


def _rank(index: AddressIndex, analysis: _Analysis, point: _PointCheck | None,
          code: tuple[str, float, float] | None) -> list[Candidate]:
    scored = _candidate_rows(index, analysis)
    if not scored:
        return []
    picked: set[int] = set()
    if point is not None and point.commune_code is not None:
        wanted = {point.commune_code, *point.also_in}
        picked = {s.row for s in scored if index.commune_code[s.row] in wanted}
        if picked:
            scored.sort(key=lambda s: (s.row not in picked, index.commune_code[s.row] != point.commune_code))
    count = len(scored)
    top = scored[0]
    p_top = _top_confidence(top.match_type, count, top.fuzzy)
    if picked:
        p_top = max(p_top, _POINT_CONFIDENCE)
    rest = (1.0 - p_top) / (count - 1) if count > 1 else 0.0
    candidates: list[Candidate] = []
    for position, s in enumerate(scored):
        confidence = round(p_top if position == 0 else rest, 4)
        at_code = code is not None and point is not None and point.from_code and s.row in picked
        if at_code and code is not None:
            candidates.append(_candidate(index.commune_fields[s.row], code[1], code[2], "address_code", confidence,
                                         s.match_type, _standard(index, analysis.detail, s.row), s.legacy_code,
                                         s.share))
        elif analysis.detail:
            candidates.append(_candidate(index.commune_fields[s.row], index.commune_lat[s.row],
                                         index.commune_lon[s.row], "commune", confidence, s.match_type,
                                         _standard(index, analysis.detail, s.row), s.legacy_code, s.share))
        else:
            candidates.append(index.plain_answer(s.row, s.match_type, confidence, s.legacy_code, s.share))
    return candidates


def _code_only_candidate(index: AddressIndex, analysis: _Analysis, point: _PointCheck,
                         code: tuple[str, float, float] | None) -> list[Candidate]:
    """The commune of a point or address code, when the text names no commune (or, for a code, another one)."""
    if point.commune_code is None or (not point.from_code and analysis.best and analysis.best[0].unit is not None):
        return []
    try:
        row = index.gazetteer.commune_row(point.commune_code)
    except VpostcodeError:
        return []
    lat, lon = (code[1], code[2]) if code is not None else (point.lat, point.lon)
    return [Candidate(
        commune_code=index.commune_code[row], commune_name=index.commune_full[row],
        province_code=index.commune_province[row],
        province_name=index.province_full.get(index.commune_province[row], ""),
        postal_code=index.commune_postal[row], lat=lat, lon=lon,
        precision="address_code" if point.from_code else "commune",
        confidence=_CODE_OVER_TEXT if analysis.best and analysis.best[0].unit is not None else _POINT_CONFIDENCE,
        match_type="exact", standard_address=_standard(index, analysis.detail, row))]


def _point_for(analysis: _Analysis, code: str | None, lat: float | None,
               lon: float | None) -> tuple[_PointCheck | None, tuple[str, float, float] | None]:
    """The point that decides between candidates: an explicit code, else a code in the text, else lat/lon."""
    located: tuple[str, float, float] | None = None
    if code is not None and str(code).strip():
        located = _code_point(str(code))
    elif analysis.code is not None and analysis.code.lat is not None and analysis.code.lon is not None:
        located = (analysis.code.code, analysis.code.lat, analysis.code.lon)
    if located is not None:
        return _reverse(located[1], located[2], from_code=True), located
    if lat is not None and lon is not None:
        from vpostcode.crs import validate_lat_lon

        ok, messages = validate_lat_lon([lat], [lon])
        if not bool(ok[0]):
            from vpostcode.errors import InvalidCoordinateError

            raise InvalidCoordinateError(str(messages[0]), lat=lat, lon=lon)
        return _reverse(float(lat), float(lon), from_code=False), None
    if (lat is None) != (lon is None):
        raise InvalidInputError("give both lat and lon, or neither", parameter="lat" if lat is None else "lon")
    return None, None


def _local_code_rows(index: AddressIndex, analysis: _Analysis) -> list[Candidate]:
    """When the text holds a local code whose full form cannot be recovered here, its postal code names a commune."""
    if analysis.code is None or analysis.code.postal_code is None:
        return []
    try:
        commune = index.gazetteer.commune_by_postal_code(analysis.code.postal_code)
    except VpostcodeError:
        return []
    row = index.gazetteer.commune_row(commune.code)
    return [Candidate(
        commune_code=commune.code, commune_name=index.commune_full[row], province_code=commune.province_code,
        province_name=index.province_full.get(commune.province_code, ""), postal_code=commune.postal_code,
        lat=index.commune_lat[row], lon=index.commune_lon[row], precision="commune", confidence=0.95,
        match_type="exact", standard_address=_standard(index, analysis.detail, row))]


def _geocode(index: AddressIndex, analysis: _Analysis, code: str | None, lat: float | None,
             lon: float | None) -> tuple[list[Candidate], list[Candidate], _PointCheck | None]:
    """(candidates, the candidates the words alone name, the point checked): the words' candidates, ranked with
    the point's help, and led by an address code's commune when the words name another one or none."""
    point, located = _point_for(analysis, code, lat, lon)
    named = _rank(index, analysis, point, located)
    candidates = named
    if point is not None and (not named or (point.from_code and named[0].precision != "address_code")):
        # the text names no commune, or not the code's: a checked address code outranks typed words
        found = _code_only_candidate(index, analysis, point, located)
        share = 1.0 - _CODE_OVER_TEXT if found else 1.0
        candidates = found + [replace(c, confidence=round(c.confidence * share, 4)) for c in named
                              if not found or c.commune_code != found[0].commune_code]
    if not candidates:
        candidates = _local_code_rows(index, analysis)
    return candidates, named, point


def geocode(text: str, limit: int = 5, lat: float | None = None, lon: float | None = None,
            code: str | None = None, gazetteer: Gazetteer | None = None) -> list[Candidate]:
    """``vpostcode.address.geocode`` (documented there), once it has checked its arguments."""
    index = address_index(gazetteer)
    candidates, _named, _point = _geocode(index, _analyse(index, text), code, lat, lon)
    return candidates[:limit]


# ======================================================================================================== batch

BATCH_COLUMNS = ("commune_code", "commune_name", "province_code", "province_name", "postal_code", "lat", "lon",
                 "precision", "confidence", "match_type", "standard_address", "candidates", "error")
"""The columns a batch adds to every input row: the best candidate's fields, how many candidates there were, and
the reason a row has no answer."""
_ADDRESS_COLUMNS = ("address", "dia_chi", "diachi", "text", "full_address")


def geocode_frame(frame: pd.DataFrame, column: str | None = None,
                  gazetteer: Gazetteer | None = None) -> pd.DataFrame:
    """``vpostcode.address.geocode_frame`` (documented there), once it has checked its arguments."""
    from vpostcode.batchio import add_columns

    name = column or next((c for c in frame.columns if str(c).lower() in _ADDRESS_COLUMNS), None)
    if name is None or name not in frame.columns:
        raise InvalidInputError(
            f"no address column {column or '(address, dia_chi, text)'} in the input; its columns are "
            f"{', '.join(map(str, frame.columns))}: name it with --column", parameter="column")
    index = address_index(gazetteer)
    out: dict[str, list[Any]] = {key: [] for key in BATCH_COLUMNS}
    for value in frame[name].tolist():
        best: Candidate | None = None
        count = 0
        error: str | None = None
        try:
            text = value if isinstance(value, str) else "" if value is None or value != value else str(value)
            candidates, _named, _point = _geocode(index, _analyse(index, text), None, None, None)
            count = len(candidates)
            best = candidates[0] if candidates else None
            if best is None:
                error = "empty address" if not text.strip() else "no commune is named in the address"
        except VpostcodeError as failure:
            error = failure.message
        record = best.to_dict() if best is not None else {}
        for key in BATCH_COLUMNS[:-2]:
            out[key].append(record.get(key))
        out["candidates"].append(count)
        out["error"].append(error)
    return add_columns(frame, out)


# ======================================================================================================== validate


def _component(value: str | None, status: Status, standard: str | None = None) -> dict[str, Any]:
    return {"value": value, "status": status, "standard": standard}


def _distance_to_commune(index: AddressIndex, row: int, lat: float, lon: float) -> float:
    """Metres from a point to a commune's polygon (to its representative point if the spatial module is missing)."""
    try:
        import numpy as np

        from vpostcode.spatial import metric_distances
    except ImportError:
        return round(_haversine_m(lat, lon, index.commune_lat[row], index.commune_lon[row]), 1)
    geometry = index.gazetteer.commune_geometry(index.commune_code[row])
    distance = metric_distances(np.array([geometry], dtype=object), np.array([lat]), np.array([lon]), math.inf)
    return round(float(distance[0]), 1)


def _commune_status(analysis: _Analysis, parsed: ParsedAddress, candidates: list[Candidate]) -> Status:
    top = analysis.best[0] if analysis.best else None
    if top is None or top.unit is None:
        return "unknown" if _unread_words(analysis) else "missing"
    if top.mismatch:
        return "ok"
    if top.structure == "legacy" and top.units and top.units[0].kind == _Kind.WARD:
        return "outdated"
    return "ok" if candidates and candidates[0].match_type == "exact" else "corrected"


def _province_status(index: AddressIndex, top: _Hypothesis | None) -> Status:
    if top is None or top.province is None:
        return "missing"
    if top.mismatch:
        return "mismatch"
    match = top.province
    if not any(u.kind == _Kind.PROVINCE for u in top.province_units):
        return "outdated"  # a province abolished in 2025 ("Bình Dương", now part of Hồ Chí Minh)
    if match.fuzzy or match.accent_ok is not True or match.key in index.alias_keys or (
            match.type_word is not None and match.type_word.abbreviated):
        return "corrected"
    return "ok"


def _unread_words(analysis: _Analysis) -> str | None:
    """The words just before the province (or district) read, when no commune was read there."""
    top = analysis.best[0] if analysis.best else None
    anchor = top.district or top.province if top is not None else None
    tokens = analysis.tokens
    end = anchor.start if anchor is not None else len(tokens)
    if end <= 0:
        return None
    return tokens.raw(tokens.floor(end - 1), end) or None


def _components(index: AddressIndex, analysis: _Analysis, parsed: ParsedAddress,
                candidates: list[Candidate]) -> dict[str, dict[str, Any]]:
    """Each part of the address: as written, its status, and its 2025 standard form."""
    components = {part: _component(getattr(parsed, part), "ok" if getattr(parsed, part) else "missing",
                                   getattr(parsed, part)) for part in _DETAIL_PARTS}
    top = analysis.best[0] if analysis.best else None
    unique = candidates[0] if len(candidates) == 1 else None
    commune_status = _commune_status(analysis, parsed, candidates)
    written = parsed.commune if commune_status != "unknown" else _unread_words(analysis)
    components["commune"] = _component(written, commune_status, unique.commune_name if unique else None)
    components["district"] = _component(parsed.district, "outdated" if parsed.district else "missing")
    provinces = {c.province_code for c in candidates}
    components["province"] = _component(parsed.province, _province_status(index, top),
                                        candidates[0].province_name if len(provinces) == 1 else None)
    return components


def _suggestions(index: AddressIndex, analysis: _Analysis, candidates: list[Candidate]) -> list[str]:
    """Standard addresses to offer: every candidate; else the communes of a reading in another province; else the
    names of the province written that look most like the words before it."""
    if candidates:
        return [candidate.standard_address for candidate in candidates]
    rows: dict[int, None] = {}
    for h in analysis.best:
        if h.mismatch:
            for unit in h.units:
                for row, _share in index.commune_rows_of(unit):
                    rows[row] = None
    if not rows:
        rows = dict.fromkeys(_lookalikes(index, analysis))
    return [_standard(index, analysis.detail, row) for row in rows]


def _lookalikes(index: AddressIndex, analysis: _Analysis, limit: int = 3) -> list[int]:
    """Commune rows whose names look somewhat like the unread words before the province (a loose "did you mean")."""
    top = analysis.best[0] if analysis.best else None
    words = _unread_words(analysis)
    if top is None or top.province is None or not words:
        return []
    rows: list[int] = []
    query = index.query_key(words)
    for code in dict.fromkeys(u.new_province for u in top.province_units):
        choices = index.fuzzy_province.get(code)
        if choices is None:
            continue
        for _key, _score, position in process.extract(query, choices.keys, scorer=fuzz.WRatio, limit=limit,
                                                      score_cutoff=60):
            for unit in choices.units[position]:
                rows += [row for row, _share in index.commune_rows_of(unit) if unit.kind == _Kind.COMMUNE]
    return list(dict.fromkeys(rows))[:limit]


def _display_code(code: str) -> str:
    """The grouped display form of a full code (``XXXX-XXX-XXX``), or the code as it is."""
    try:
        return codec.format_code(code)
    except VpostcodeError:
        return code


def _code_component(code: str | None, analysis: _Analysis) -> tuple[dict[str, Any] | None, str | None, list[str]]:
    """(component, normalised code, suggested codes) of the address code given or written, if any."""
    if code is not None and str(code).strip():
        try:
            full, _lat, _lon = _code_point(str(code))
        except VpostcodeError as error:
            suggested = codec.suggest(str(code))  # never raises: an unreadable code has no neighbours
            component = _component(str(code), "unknown")
            component["message"] = error.message
            return component, None, suggested
        return _component(str(code), "ok", _display_code(full)), full, []
    if analysis.code is not None:
        return _component(analysis.code.code, "ok", _display_code(analysis.code.code)), analysis.code.code, []
    return None, None, []


def validate(text: str, code: str | None = None, lat: float | None = None, lon: float | None = None,
             gazetteer: Gazetteer | None = None) -> Validation:
    """``vpostcode.address.validate`` (documented there), once it has checked its arguments."""
    index = address_index(gazetteer)
    analysis = _analyse(index, text)
    parsed = _parsed(analysis)
    code_component, good_code, code_suggestions = _code_component(code, analysis)
    all_candidates, named, point = _geocode(index, analysis, good_code, lat, lon)
    candidates = all_candidates
    distance: float | None = None
    if point is not None and point.commune_code is not None and named:
        wanted = {point.commune_code, *point.also_in}
        agreeing = [c for c in all_candidates if c.commune_code in wanted and c.commune_code in
                    {n.commune_code for n in named}]
        if agreeing:
            candidates = agreeing[:1]
        else:
            candidates = named
            distance = min(_distance_to_commune(index, index.gazetteer.commune_row(c.commune_code), point.lat,
                                                point.lon) for c in named)
    components = _components(index, analysis, parsed, candidates)
    if code_component is not None:
        if distance is not None and point is not None and point.from_code:
            code_component["status"] = "mismatch"
        components["address_code"] = code_component
    suggestions = _suggestions(index, analysis, candidates)
    verdict, message = _verdict(analysis, parsed, candidates, distance, point, suggestions, text)
    if code_component is not None and code_component["status"] == "unknown" and verdict != "invalid":
        verdict = "invalid"
        message = code_component.get("message") or "the address code cannot be checked here"
        suggestions = code_suggestions or suggestions
    if distance is not None:
        components["commune"]["status"] = "mismatch"
    unique = candidates[0] if len(candidates) == 1 and verdict in ("valid", "valid_outdated") else None
    return Validation(
        verdict=verdict, components=components,
        standard_address=unique.standard_address if unique else None,
        postal_code=unique.postal_code if unique else None,
        suggestions=[] if verdict == "valid" else suggestions,
        candidates=all_candidates if verdict == "inconsistent" else candidates,
        message=message, distance_m=distance, structure=parsed.structure,
    )


def _verdict(analysis: _Analysis, parsed: ParsedAddress, candidates: list[Candidate], distance: float | None,
             point: _PointCheck | None, suggestions: list[str], text: str) -> tuple[Verdict, str]:
    """The verdict of ``validate`` and its one-line explanation."""
    top = analysis.best[0] if analysis.best else None
    if distance is not None:
        what = "address code" if point is not None and point.from_code else "point"
        return "inconsistent", (f"the address names {candidates[0].commune_name}, but the {what} lies in another "
                                f"commune, {distance:.0f} m from it")
    if top is not None and top.mismatch:
        hint = f"did you mean {suggestions[0]}?" if suggestions else "check the province"
        return "invalid", f"{parsed.commune} is not in {parsed.province}: {hint}"
    if not candidates:
        if not text.strip():
            return "invalid", "the address is empty"
        if top is not None and top.province is not None:
            return "invalid", f"no commune of {parsed.province} is named in the address"
        return "invalid", "no commune of Vietnam (2025) or legacy ward is named in the address"
    if len(candidates) > 1:
        return "ambiguous", (f"{len(candidates)} communes fit the address: name the province or district, or give "
                             "an address code or a point")
    if candidates[0].match_type.startswith("legacy") or parsed.structure == "legacy":
        return "valid_outdated", "the address uses units abolished on 1 July 2025; standard_address is its 2025 form"
    return "valid", "the address names one 2025 commune"
