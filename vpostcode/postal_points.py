"""Importing postal points into the store: the Vietnam Post offices, and points from CSV or GeoJSON files.

``import_points(path, store)`` reads a file, turns every row into a :class:`~vpostcode.store.PointRecord` (or a
per-row problem naming the reason), then writes the records through ``Store.upsert_points`` in chunks of
``chunk_rows`` (200), one transaction per chunk, and returns an :class:`ImportReport`.

Why it is safe to run twice, or to kill
---------------------------------------
* **Idempotent.** Every record is keyed by (``source``, ``source_key``): for the offices, ``vnpost_offices`` and the
  6-digit office code. Reading a file is deterministic, and the store's upsert leaves a row whose values are already
  the same untouched, so a second run inserts nothing and updates nothing.
* **Resumable after ``kill -9``.** Every file is read and every row resolved *before* the first write, so a malformed
  file is refused with nothing written. Then each chunk is its own transaction: a run killed at any instant leaves
  whole chunks, and a rerun inserts exactly the missing rows (the ones already there count as ``unchanged``).
* **Nothing half-written per row.** A bad row (malformed, outside Vietnam, an unknown commune, a key already used
  earlier in the same file) is left out whole and reported with its reason; the other rows are imported.

The Vietnam Post offices (``vnpost_offices.json``)
--------------------------------------------------
The 1,677 offices (bưu cục) carry a *legacy* (pre-2025) address: ``ward``, ``district``, ``province`` and a street
address, but no coordinates. Each office is located in three steps (:class:`OfficeLocator`):

1. **The legacy ward, by name** (``Gazetteer.find_legacy_units``), after tidying what the source writes loosely: a
   province named without its hyphen or by an older name (``Bà Rịa Vũng Tàu``, ``Thừa Thiên Huế``, through the
   alias table of ``data/abbreviations.json``), a district spelt differently (``Đắk RLấp``, ``Krông Pắk``) or
   abolished (Hồ Chí Minh's ``Quận 2``/``Quận 9``, now Thủ Đức), type words and abbreviations in the ward (``TT``,
   ``P.``, ``N.T.`` for *Nông trường*, ``Số 5``), and wards numbered in digits where the gazetteer writes Roman
   numerals (``Phường 5`` of Vị Thanh is ``Phường V``). The ward is looked for in the office's district; in the
   whole province when the district is not in the 2024 gazetteer (renamed or merged since); and in a neighbouring
   district (within ``NEAR_KM``) when a town's growth moved it there. Wards whose type contradicts the type word
   written in the street address (``TT Đầm Hà`` is the *thị trấn*, not the *xã*) are dropped, and the diacritics
   decide between near-homonyms (``Sa Pa`` / ``Sa Pả``).
2. **The 2025 commune** (conversion table of ``Gazetteer.convert``). A ward that went whole into one commune is done.
   A ward split between several communes (``partial``) is resolved with the street address's help: the address
   geocoder (``vpostcode.address.geocode``) ranks the communes of the split for the full address (by the distance
   from the legacy ward to each commune, as the geocoder ranks partial conversions), and its first one among them is
   taken; the report lists every such office under ``ambiguous`` with all the candidates and how the choice was made.
3. **Fallback: the address geocoder** on ``"detailAddress, ward, district, province"``, then on the street address
   with the district and province alone (it often names the ward as it is called now), for the offices whose ward is
   not in the 2024 gazetteer (wards merged or renamed before 2024: most of these addresses are older). A candidate
   is accepted only when it received land from the office's legacy district (or province, when the district is
   unknown too) *and* something besides the district's name supports it: the geocoder read a legacy ward, or the
   2025 commune's own name is the ward written or appears in the street address. (The geocoder would otherwise read
   ``"..., Hai Bà Trưng, Hà Nội"`` as the 2025 Phường Hai Bà Trưng, which holds only part of the old district.)
   Offices that nothing locates are reported as ``unknown-legacy-ward`` rather than guessed.

No exact location exists in the source, so the point is the commune's representative point (inside its polygon)
with ``precision="commune"``. Offices are ``kind="post_office"`` and ``staffed=True``: a bưu cục is by definition a
post office run by Vietnam Post's own staff (agents and lockers may not be staffed, so for them the file must say).
The phone number is kept in the record's JSON attribute (``opening_hours``, as ``{"phone": ...}``), the only
free-form field the store has; leading zeros that the source lost (numbers stored as integers) are restored.

CSV and GeoJSON files
---------------------
``import_points`` chooses the reader by extension (``.csv``; ``.geojson``, or ``.json`` holding a
FeatureCollection; ``.json`` holding a list of offices). Columns (CSV) or properties (GeoJSON, with a Point
geometry): ``name``, ``kind`` (one of ``POINT_KINDS``), ``source_key`` (required: the row's stable key), and a
location: ``lat`` + ``lon`` (or the geometry), else ``commune_code`` (the commune's representative point), else
``address`` (geocoded to its commune's representative point). Optional: ``staffed`` (default: true for a
``post_office`` only), ``commune_code`` (checked against the point), ``address``, ``precision``, ``phone``,
``source`` (default: the ``source`` argument, else the file's stem). A point is reverse-geocoded to fill
``commune_code``; one at sea or outside Vietnam is refused.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from vpostcode.errors import InvalidInputError, InvalidRecordError, VpostcodeError
from vpostcode.store.records import POINT_KINDS, PRECISIONS, PointRecord
from vpostcode.text import abbreviations, accent_key, fold

if TYPE_CHECKING:
    from vpostcode.gazetteer import Gazetteer
    from vpostcode.store import Store
    from vpostcode.types import LegacyUnit

SOURCE_VNPOST: Final = "vnpost_offices"
"""The ``source`` of the Vietnam Post offices; their ``source_key`` is the 6-digit office code."""
DEFAULT_CHUNK_ROWS: Final = 200
"""Rows per transaction: small enough that a killed import loses little, large enough to be fast."""
MAX_FILE_BYTES: Final = 200 * 1024 * 1024

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``stage`` is ``"resolve"`` (rows read and located) or ``"write"`` (rows
committed; called after each chunk's transaction)."""

OFFICE_FIELDS: Final = ("code", "name", "province", "district", "ward", "detailAddress")
_ROMAN: Final = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII", 9: "IX", 10: "X",
                 11: "XI", 12: "XII", 13: "XIII", 14: "XIV", 15: "XV", 16: "XVI", 17: "XVII", 18: "XVIII",
                 19: "XIX", 20: "XX"}
_WARD_ABBREVIATIONS: Final = ((re.compile(r"\bN\.?\s*T\.?\s*(?=\S)", re.IGNORECASE), "Nông trường "),)
_NUMBER_WORDS: Final = re.compile(r"^(?:số|so|no\.?)\s*(?=\d)", re.IGNORECASE)
_PHONE_JUNK: Final = re.compile(r"[\u00a0\u200b-\u200f\u202a-\u202e\ufeff]")
_TYPE_WORDS: Final = {"Thị trấn": ("thi tran", "tt"), "Xã": ("xa", "x"), "Phường": ("phuong", "p")}
"""Type words written before a ward's name in a street address (folded), per legacy ward type."""
_FORMER_DISTRICTS: Final = {("79", "quan2"): "thuduc", ("79", "quan9"): "thuduc", ("79", "quanthuduc"): "thuduc"}
"""Districts abolished before the 2024 gazetteer, by compact key: Hồ Chí Minh's Quận 2, 9 and Thủ Đức became the
city of Thủ Đức in 2021 (resolution 1111/NQ-UBTVQH14)."""
_DISTRICT_FUZZ: Final = 85.0
NEAR_KM: Final = 10.0
"""A ward found outside the office's district is taken only within this distance of a ward of that district."""
_TRUE: Final = frozenset({"true", "1", "yes", "y", "t", "co", "x"})
_FALSE: Final = frozenset({"false", "0", "no", "n", "f", "khong", ""})


# ======================================================================================================== report


@dataclass(frozen=True)
class RowProblem:
    """Why one row of the file was not imported: ``row`` is its 1-based position among the file's records."""

    row: int
    key: str | None
    reason: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


@dataclass(frozen=True)
class Ambiguity:
    """A row whose legacy ward went into several 2025 communes: the candidates, the one taken, and how."""

    row: int
    key: str
    legacy_code: str | None
    legacy_name: str | None
    candidates: tuple[str, ...]
    chosen: str
    chosen_by: str  # "geocode" (the address geocoder ranked it first) or "first" (the conversion's first)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        record = asdict(self)
        record["candidates"] = list(self.candidates)
        return record


@dataclass
class ImportReport:
    """What an import did: rows read, located and written, and every row left out or resolved by a choice."""

    path: str
    format: str
    source: str
    rows: int = 0
    matched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0
    seconds: float = 0.0
    methods: dict[str, int] = field(default_factory=dict)
    unmatched: list[RowProblem] = field(default_factory=list)
    ambiguous: list[Ambiguity] = field(default_factory=list)

    @property
    def match_rate(self) -> float:
        """The share of the file's rows that became a point (0..1)."""
        return self.matched / self.rows if self.rows else 0.0

    def reasons(self) -> dict[str, int]:
        """Unmatched rows per reason, most frequent first."""
        return dict(Counter(problem.reason for problem in self.unmatched).most_common())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``vpostcode points import --json`` and ``--report FILE``)."""
        return {
            "path": self.path, "format": self.format, "source": self.source, "rows": self.rows,
            "matched": self.matched, "unmatched_rows": len(self.unmatched),
            "match_rate": round(self.match_rate, 4), "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "chunks": self.chunks, "seconds": round(self.seconds, 2),
            "methods": dict(sorted(self.methods.items())), "unmatched_reasons": self.reasons(),
            "ambiguous_rows": len(self.ambiguous),
            "unmatched": [problem.to_dict() for problem in self.unmatched],
            "ambiguous": [choice.to_dict() for choice in self.ambiguous],
        }


class _RowError(Exception):
    """Raised while reading one row: becomes a :class:`RowProblem` of the report, never leaves this module."""

    def __init__(self, reason: str, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.key = key


@dataclass(frozen=True)
class _Resolved:
    """One row turned into a record, with how it was located and any choice made among communes."""

    row: int
    record: PointRecord
    method: str
    ambiguity: Ambiguity | None = None


# ======================================================================================================== helpers


def _key(text: str) -> str:
    """A comparison key: folded (no diacritics, lower case), punctuation and repeated blanks removed."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


def _compact(text: str) -> str:
    """A district key: folded, with every non-alphanumeric character (blanks, apostrophes, hyphens) removed."""
    return re.sub(r"[^0-9a-z]+", "", fold(text))


def _bare_name(unit: LegacyUnit) -> str:
    """A legacy ward's name without its type word (``Xã Đăk Long`` → ``Đăk Long``)."""
    return unit.name[len(unit.type) + 1:] if unit.name.startswith(unit.type + " ") else unit.name


def _bare_commune(full_name: str) -> str:
    """A 2025 commune's name without its type word (``Phường Sông Trí`` → ``Sông Trí``)."""
    return re.sub(r"^(Phường|Xã|Đặc khu)\s+", "", full_name)


def _is_ward_code(code: str | None) -> bool:
    """True for a legacy ward code (5 digits), false for a district code (3) or None."""
    return code is not None and len(code) == 5


def _has_phrase(text: str, phrase: str) -> bool:
    """True when ``phrase`` occurs in ``text`` as whole words (both already keys)."""
    return bool(phrase) and f" {phrase} " in f" {text} "


def _text(value: Any) -> str:
    """A cell as stripped text (numbers as written, None and NaN as empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def clean_phone(value: Any) -> str | None:
    """An office phone number as text, with the leading zero the source lost when it stored it as a number.

    Vietnamese numbers are dialled with a leading ``0``: 10 digits for mobiles, 11 for landlines with their area
    code. The source keeps many as integers (``2438256686`` for ``024 3825 6686``), so a 9- or 10-digit integer
    gets its zero back; 7- and 8-digit local numbers are kept as they are. Text is kept as written (tidied).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        digits = str(value)
        return "0" + digits if len(digits) in (9, 10) else digits
    if isinstance(value, float):
        if math.isnan(value):
            return None
        text = repr(value)
    else:
        text = str(value)
    text = " ".join(_PHONE_JUNK.sub(" ", text).split())
    return text[:64] or None


def parse_bool(value: Any, field_name: str) -> bool:
    """A yes/no cell: true/false, 1/0, yes/no, có/không (any case); anything else is a row error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _key(str(value))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _RowError("invalid-field", f"{field_name}: {value!r} is not true or false")


# ======================================================================================================== offices


@dataclass(frozen=True)
class Location:
    """Where an office's legacy address went in 2025: the commune, how it was found, and any choice made."""

    commune_code: str
    method: str
    legacy_code: str | None = None
    legacy_name: str | None = None
    candidates: tuple[str, ...] = ()
    chosen_by: str | None = None


class OfficeLocator:
    """Finds the 2025 commune of a legacy address (ward, district, province, street address); see the module doc.

    Built once per gazetteer; holds the name indexes that ``Gazetteer.find_legacy_units`` does not (province
    aliases, district codes per province, the communes that received land from each legacy district).
    """

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        table = abbreviations()
        self._province_aliases = {_key(alias): name for alias, name in table["province_aliases"].items()}
        self._type_words = sorted(
            {_key(word) for entry in table["unit_types"] for word in entry["words"]
             if set(entry["matches"]) & {"phuong", "xa", "thi tran"}},
            key=len, reverse=True)

    # ------------------------------------------------------------------------------------------------ indexes

    @cached_property
    def _provinces(self) -> dict[str, tuple[str, str]]:
        """Legacy province key (full and bare name) → (code, full name)."""
        out: dict[str, tuple[str, str]] = {}
        for code, name in self.gazetteer.legacy_provinces[["code", "name"]].itertuples(index=False):
            bare = re.sub(r"^(Thành phố|Tỉnh)\s+", "", name)
            for key in {_key(name), _key(bare)}:
                out[key] = (code, name)
        return out

    @cached_property
    def _districts(self) -> dict[str, dict[str, set[str]]]:
        """Legacy province code → {compact district key, with and without its type word → district codes}."""
        out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        units = self.gazetteer.legacy_units
        columns = units[["province_code", "district_code", "district_name", "district_type"]].drop_duplicates()
        for province, code, name, unit_type in columns.itertuples(index=False):
            bare = name[len(unit_type) + 1:] if name.lower().startswith(unit_type.lower() + " ") else name
            for key in {_compact(name), _compact(bare)}:
                out[province][key].add(code)
        return {province: dict(keys) for province, keys in out.items()}

    @cached_property
    def _parents(self) -> dict[str, tuple[str, str]]:
        """Legacy ward code → (district code, province code)."""
        units = self.gazetteer.legacy_units
        return dict(zip(units["code"], zip(units["district_code"], units["province_code"])))

    @cached_property
    def _communes_of(self) -> dict[str, set[str]]:
        """Legacy district code or province code (prefixed ``P``) → the 2025 communes that received land from it."""
        out: dict[str, set[str]] = defaultdict(set)
        for legacy, new in self.gazetteer.conversion[["legacy_code", "new_code"]].itertuples(index=False):
            if legacy in self._parents:
                district, province = self._parents[legacy]
                out[district].add(new)
                out["P" + province].add(new)
        return dict(out)

    @cached_property
    def _district_points(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Legacy district code → the centroids (lat, lon arrays) of its wards, to tell near from far."""
        units = self.gazetteer.legacy_units
        return {str(code): (group["lat"].to_numpy(float), group["lon"].to_numpy(float))
                for code, group in units.groupby("district_code")}

    # ------------------------------------------------------------------------------------------------ names

    def province(self, name: str) -> tuple[str, str] | None:
        """(code, full name) of a legacy province written loosely (no hyphen, no type word, an old name)."""
        key = _key(name)
        found = self._provinces.get(key)
        if found is None and key in self._province_aliases:
            found = self._provinces.get(_key(self._province_aliases[key]))
        return found

    def district_codes(self, province_code: str, name: str) -> set[str]:
        """Legacy district codes of a province written loosely: type word optional (``TX``, ``TP`` read),
        spaces and apostrophes ignored (``Đắk RLấp``), a near spelling accepted (``Krông Pắk``), and the districts
        of Hồ Chí Minh merged into Thủ Đức in 2021 read as Thủ Đức."""
        keys = self._districts.get(province_code, {})
        key = _compact(name)
        key = _FORMER_DISTRICTS.get((province_code, key), key)
        codes = keys.get(key) or keys.get(re.sub(r"^(tx|tp|q|h|huyen|quan|thixa|thanhpho)(?=\D)", "", key))
        if codes:
            return set(codes)
        from rapidfuzz import fuzz, process

        best = process.extractOne(key, list(keys), scorer=fuzz.ratio, score_cutoff=_DISTRICT_FUZZ)
        return set(keys[best[0]]) if best is not None else set()

    def ward_names(self, ward: str) -> list[str]:
        """The ward as written, then tidied spellings: type word and ``Số`` dropped, abbreviations expanded,
        a number also in Roman numerals (``5`` → ``V``) and without leading zeros."""
        names = [ward]
        text = ward
        for pattern, replacement in _WARD_ABBREVIATIONS:
            text = pattern.sub(replacement, text)
        key = _key(text)
        for word in self._type_words:
            if key.startswith(word + " "):
                text = " ".join(re.sub(r"[.,]", " ", text).split()[len(word.split()):])
                break
        text = _NUMBER_WORDS.sub("", text).strip()
        names.append(text)
        if text.isdigit():
            number = int(text)
            names += [str(number), _ROMAN.get(number, str(number))]
        return [name for name in dict.fromkeys(names) if name]

    # ------------------------------------------------------------------------------------------------ lookup

    def _near(self, unit: LegacyUnit, districts: set[str]) -> bool:
        """True when a ward's centroid lies within ``NEAR_KM`` of a ward of one of ``districts``."""
        for code in districts:
            lats, lons = self._district_points.get(code, (np.empty(0), np.empty(0)))
            if lats.size:
                dlat = np.radians(lats - unit.lat)
                dlon = np.radians(lons - unit.lon) * math.cos(math.radians(unit.lat))
                if float(np.min(np.hypot(dlat, dlon))) * 6371.0 <= NEAR_KM:
                    return True
        return False

    def legacy_wards(self, ward: str, districts: set[str], province_name: str,
                     detail: str) -> tuple[list[LegacyUnit], str]:
        """The legacy wards the row can mean (usually one) and how they were found.

        First in the office's district; else, when the district is unknown (renamed or merged since), anywhere in
        the province; else in the province near the district (a ward moved to a neighbouring district when a town
        grew). Wards whose type contradicts the type word written in the street address are dropped.
        """
        names = self.ward_names(ward)
        found: list[LegacyUnit] = []
        for name in names:
            found = self.gazetteer.find_legacy_units(name, None, province_name)
            if found:
                found = self._narrow(found, name, detail)
                break
        if not found:
            return [], "none"
        inside = [u for u in found if u.district_code in districts]
        if inside:
            return inside, "legacy_ward"
        if not districts:
            return found, "legacy_ward_province"
        near = [u for u in found if self._near(u, districts)]
        return near, "legacy_ward_moved"

    def _narrow(self, units: list[LegacyUnit], name: str, detail: str) -> list[LegacyUnit]:
        """Keep the wards whose type agrees with the type word the street address writes before the name (a
        thị trấn may have become a phường), then, if several remain, those whose diacritics agree."""
        folded = f" {_key(detail)} "
        bare = _key(name)
        written = {unit_type for unit_type, words in _TYPE_WORDS.items()
                   if any(f" {word} {bare} " in folded for word in words)}
        if written:
            units = [u for u in units if u.type in written or (u.type == "Phường" and "Thị trấn" in written)]
        if len(units) > 1 and name != fold(name):
            wanted = accent_key(name)
            same = [u for u in units if accent_key(_bare_name(u)) == wanted]
            units = same or units
        return units

    def locate(self, ward: str, district: str, province: str, detail: str) -> Location:
        """The 2025 commune of an office; raises ``_RowError`` with the reason when none can be found."""
        found = self.province(province)
        if found is None:
            raise _RowError("unknown-province", f"no legacy province is named {province!r}")
        province_code, province_name = found
        districts = self.district_codes(province_code, district)
        units, method = self.legacy_wards(ward, districts, province_name, detail)
        text = ", ".join(part for part in (detail, ward, district, province) if part)
        if len(units) == 1:
            return self._convert(units[0], method, text)
        if units and method != "legacy_ward_moved":  # several wards of that name where the office is
            allowed = {code for unit in units for code in self.converted(unit.code)}
        else:
            allowed = set().union(*(self._communes_of.get(code, set()) for code in districts or {"P" + province_code}))
        shorter = ", ".join(part for part in (detail, district, province) if part)
        located = self._geocode((text, shorter), allowed, ward, detail)
        if located is not None:
            return located
        if units and method != "legacy_ward_moved":
            raise _RowError("ambiguous-legacy-ward", f"{len(units)} legacy wards are named {ward!r} in {district}, "
                                                     f"{province} and the street address does not tell them apart")
        if not districts:
            raise _RowError("unknown-legacy-ward", f"neither the district {district!r} nor the ward {ward!r} is in "
                                                   f"the 2024 gazetteer of {province}, and the street address names "
                                                   "no ward of it")
        raise _RowError("unknown-legacy-ward", f"no ward {ward!r} in {district}, {province} in the 2024 gazetteer "
                                               "(merged or renamed before 2024), and the street address names no "
                                               "other ward of that district")

    @cached_property
    def _conversions(self) -> dict[str, tuple[str, ...]]:
        """Legacy ward code → the 2025 communes it went into, in the order of ``Gazetteer.convert`` (a plain dict:
        ``convert`` builds full records row by row, too slow for a whole file)."""
        out: dict[str, list[str]] = defaultdict(list)
        for legacy, new in self.gazetteer.conversion[["legacy_code", "new_code"]].itertuples(index=False):
            if new not in out[legacy]:
                out[legacy].append(new)
        return {legacy: tuple(codes) for legacy, codes in out.items()}

    def converted(self, legacy_code: str) -> tuple[str, ...]:
        """The 2025 commune codes a legacy ward went into (one for a ``full`` share)."""
        return self._conversions.get(legacy_code, ())

    def _convert(self, unit: LegacyUnit, method: str, text: str) -> Location:
        """The commune a legacy ward went into; a split ward is resolved with the geocoder's ranking."""
        codes = self.converted(unit.code)
        if not codes:
            raise _RowError("no-conversion", f"legacy ward {unit.code} {unit.name} has no 2025 commune")
        if len(codes) == 1:
            return Location(codes[0], method, unit.code, unit.name)
        from vpostcode.address import geocode

        ranked = [c.commune_code for c in geocode(text, limit=len(codes) + 5, gazetteer=self.gazetteer)]
        chosen = next((code for code in ranked if code in codes), None)
        return Location(chosen or codes[0], method, unit.code, unit.name, codes, "geocode" if chosen else "first")

    def _geocode(self, queries: Sequence[str], allowed: set[str], ward: str, detail: str) -> Location | None:
        """The address geocoder's first commune among ``allowed`` for the first query that yields one.

        A candidate counts only when something other than the district's name supports it: the geocoder read a
        legacy *ward* (a 5-digit ``legacy_code``; a 3-digit one is a district, which names no commune), or the
        2025 commune's own name is the ward written or appears in the street address. The geocoder would
        otherwise read a district's name as the 2025 commune of that name, which usually holds only the old
        district seat.
        """
        from vpostcode.address import geocode

        written = {_key(ward), _key(detail)}
        for query in dict.fromkeys(queries):
            candidates = [
                c for c in geocode(query, limit=10, gazetteer=self.gazetteer) if c.commune_code in allowed and (
                    _is_ward_code(c.legacy_code)
                    or any(_has_phrase(text, _key(_bare_commune(c.commune_name))) for text in written))]
            if candidates:
                top = candidates[0]
                legacy = top.legacy_code if _is_ward_code(top.legacy_code) else None
                codes = tuple(dict.fromkeys(c.commune_code for c in candidates))
                if len(codes) == 1:
                    return Location(top.commune_code, "geocoded", legacy)
                return Location(top.commune_code, "geocoded", legacy, None, codes, "geocode")
        return None


# ======================================================================================================== readers


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing, unreadable or oversized file is an ``InvalidInputError`` naming it."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInputError(f"{path} is {size:,} bytes, more than the {MAX_FILE_BYTES:,} accepted",
                                    path=str(path))
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {path}", path=str(path)) from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path} is a directory, not a file", path=str(path)) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8",
                                path=str(path)) from None


def _load_json(path: Path) -> Any:
    """Parse a JSON file; a syntax error names the line and column."""
    text = _decode(path, _read_bytes(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                                path=str(path), line=exc.lineno) from None


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file (UTF-8, comma-separated, a header row) as dicts keyed by lower-case column name.

    A file that is not well-formed CSV (bad quoting, a row with more or fewer fields than the header, no header,
    repeated column names) is refused as a whole, naming the line, so that nothing of it is written.
    """
    text = _decode(path, _read_bytes(path))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise InvalidInputError(f"{path} has no header row (name, kind, lat, lon, ...)", path=str(path))
        columns = [cell.strip().lower() for cell in header]
        duplicated = sorted({c for c in columns if columns.count(c) > 1 and c})
        if duplicated:
            raise InvalidInputError(f"{path}: column(s) {', '.join(duplicated)} appear twice in the header",
                                    path=str(path))
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) != len(columns):
                raise InvalidInputError(
                    f"{path} line {reader.line_num}: {len(cells)} fields where the header has {len(columns)}: "
                    "quote fields that contain commas", path=str(path), line=reader.line_num)
            rows.append(dict(zip(columns, cells)))
    except csv.Error as exc:
        raise InvalidInputError(f"{path} line {reader.line_num} is not valid CSV: {exc}", path=str(path),
                                line=reader.line_num) from None
    return rows


def geojson_rows(path: Path, data: Any) -> list[dict[str, Any] | _RowError]:
    """The features of a GeoJSON FeatureCollection as flat rows (properties plus ``lat``/``lon`` of a Point).

    A feature that is not an object, or whose geometry is not a Point, is a row error; a document that is not a
    FeatureCollection is refused as a whole.
    """
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise InvalidInputError(f"{path} is not a GeoJSON FeatureCollection (a \"features\" list of Point features)",
                                path=str(path))
    rows: list[dict[str, Any] | _RowError] = []
    for feature in data["features"]:
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            rows.append(_RowError("invalid-row", "not a GeoJSON Feature object"))
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, Mapping):
            rows.append(_RowError("invalid-row", "properties must be an object", None))
            continue
        row = {str(k).lower(): v for k, v in properties.items()}
        key = _text(row.get("source_key")) or None
        geometry = feature.get("geometry")
        if geometry is not None:
            coordinates = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
            if not isinstance(geometry, Mapping) or geometry.get("type") != "Point" or not isinstance(
                    coordinates, list) or len(coordinates) < 2:
                kind = geometry.get("type") if isinstance(geometry, Mapping) else type(geometry).__name__
                rows.append(_RowError("invalid-geometry", f"the geometry must be a Point [lon, lat], not {kind}", key))
                continue
            row["lon"], row["lat"] = coordinates[0], coordinates[1]
        rows.append(row)
    return rows


# ======================================================================================================== rows


class _Context:
    """What resolving rows needs, loaded on first use: the gazetteer, the office locator, the reverse geocoder."""

    def __init__(self, gazetteer: Gazetteer | None) -> None:
        self._gazetteer = gazetteer
        self._communes: dict[str, tuple[str, float, float]] = {}

    @cached_property
    def gazetteer(self) -> Gazetteer:
        """The gazetteer given, else the process-wide one."""
        from vpostcode.gazetteer import get_gazetteer

        return self._gazetteer or get_gazetteer()

    @cached_property
    def locator(self) -> OfficeLocator:
        """The office locator (built on the first office row)."""
        return OfficeLocator(self.gazetteer)

    def rep_point(self, code: str) -> tuple[str, float, float]:
        """(canonical code, lat, lon) of a commune's representative point; an unknown code is a row error."""
        from vpostcode.errors import UnknownCommuneError

        if code not in self._communes:
            try:
                row = self.gazetteer.commune_row(code)
            except (UnknownCommuneError, InvalidInputError):
                raise _RowError("unknown-commune", f"no 2025 commune has code {code!r}") from None
            table = self.gazetteer.communes
            self._communes[code] = (str(table["code"].iat[row]), float(table["rep_lat"].iat[row]),
                                    float(table["rep_lon"].iat[row]))
        return self._communes[code]

    def reverse(self, lat: float, lon: float) -> tuple[str, tuple[str, ...]]:
        """(commune code, other communes of an overlap) of a point; at sea or abroad is a row error."""
        from vpostcode.errors import InvalidCoordinateError
        from vpostcode.gazetteer import get_gazetteer
        from vpostcode.reverse_geocode import get_reverse_geocoder

        # the process-wide geocoder (cached under None) unless another gazetteer was given: one index per process
        own = None if self.gazetteer is get_gazetteer() else self.gazetteer
        try:
            found = get_reverse_geocoder(own).reverse(lat, lon)
        except InvalidCoordinateError as exc:
            raise _RowError("invalid-coordinate", exc.message) from None
        if found.commune_code is None:
            raise _RowError("outside-vietnam", f"the point {lat:.6f},{lon:.6f} lies at sea or outside Vietnam")
        return str(found.commune_code), tuple(found.also_in)


def _office_record(row: Any, context: _Context) -> tuple[PointRecord, Location]:
    """One office of ``vnpost_offices.json`` → its record; malformed rows and unlocated offices raise _RowError."""
    if not isinstance(row, Mapping):
        raise _RowError("invalid-row", f"an office must be a JSON object, not {type(row).__name__}")
    missing = [name for name in OFFICE_FIELDS if not _text(row.get(name))]
    if missing:
        raise _RowError("invalid-row", f"missing {', '.join(missing)}")
    code = _text(row["code"])
    if not re.fullmatch(r"\d{5,6}", code):
        raise _RowError("invalid-row", f"office code {code!r} is not a 6-digit number")
    ward, district, province, detail = (_text(row[name]) for name in ("ward", "district", "province",
                                                                       "detailAddress"))
    location = context.locator.locate(ward, district, province, detail)
    commune_code, lat, lon = context.rep_point(location.commune_code)
    phone = clean_phone(row.get("phone"))
    record = PointRecord(
        source=SOURCE_VNPOST, source_key=code.zfill(6), kind="post_office", name=_text(row["name"]), lat=lat,
        lon=lon, address=", ".join(part for part in (detail, ward, district, province) if part),
        commune_code=commune_code, precision="commune", staffed=True,
        opening_hours={"phone": phone} if phone else None,
    )
    return record, location


def _number(value: Any, name: str) -> float:
    """A coordinate cell as a float; text that is not a number is a row error."""
    if isinstance(value, bool):
        raise _RowError("invalid-coordinate", f"{name} must be a number, not {value!r}")
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise _RowError("invalid-coordinate", f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise _RowError("invalid-coordinate", f"{name} must be finite, not {value!r}")
    return number


def _point_record(row: Mapping[str, Any], context: _Context, source: str) -> tuple[PointRecord, str]:
    """One CSV row or GeoJSON feature → its record and how it was located; bad rows raise _RowError."""
    name = _text(row.get("name"))
    kind = _text(row.get("kind"))
    key = _text(row.get("source_key"))
    if not key:
        raise _RowError("invalid-row", "source_key is required (the row's stable key, for idempotent re-imports)")
    if not name:
        raise _RowError("invalid-row", "name is required")
    if kind not in POINT_KINDS:
        raise _RowError("invalid-field", f"kind must be one of {', '.join(POINT_KINDS)}; got {kind!r}")
    given_code = _text(row.get("commune_code")) or None
    address = _text(row.get("address")) or None
    lat_cell, lon_cell = _text(row.get("lat")), _text(row.get("lon"))
    precision = _text(row.get("precision")) or None
    if bool(lat_cell) != bool(lon_cell):
        raise _RowError("invalid-coordinate", "give both lat and lon, or neither")
    if lat_cell:
        lat, lon = _number(row.get("lat"), "lat"), _number(row.get("lon"), "lon")
        commune_code, also_in = context.reverse(lat, lon)
        if given_code is not None:
            canonical = context.rep_point(given_code)[0]
            if canonical != commune_code and canonical not in also_in:
                raise _RowError("commune-mismatch", f"commune_code {given_code} disagrees with the point, which "
                                                    f"lies in commune {commune_code}")
        method, default_precision = "point", "exact"
    elif given_code is not None:
        commune_code, lat, lon = context.rep_point(given_code)
        method, default_precision = "commune_code", "commune"
    elif address:
        commune_code, lat, lon = _geocode_address(address, context)
        method, default_precision = "geocoded", "commune"
    else:
        raise _RowError("no-location", "give lat and lon, a commune_code or an address")
    precision = precision or default_precision
    if precision not in PRECISIONS:
        raise _RowError("invalid-field", f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    staffed_cell = row.get("staffed")
    staffed = kind == "post_office" if _text(staffed_cell) == "" else parse_bool(staffed_cell, "staffed")
    phone = clean_phone(row.get("phone")) if _text(row.get("phone")) else None
    try:
        record = PointRecord.coerce({
            "source": _text(row.get("source")) or source, "source_key": key, "kind": kind, "name": name,
            "lat": lat, "lon": lon, "address": address, "commune_code": commune_code, "precision": precision,
            "staffed": staffed, "opening_hours": {"phone": phone} if phone else None,
        })
    except InvalidRecordError as exc:
        raise _RowError("invalid-field", exc.message) from None
    return record, method


def _geocode_address(address: str, context: _Context) -> tuple[str, float, float]:
    """The commune of a free-text address and its representative point; several communes is a row error,
    unless they are the parts of one split legacy ward (the first is taken, as for the offices)."""
    from vpostcode.address import geocode

    try:
        candidates = geocode(address, limit=5, gazetteer=context.gazetteer)
    except VpostcodeError as exc:
        raise _RowError("invalid-field", f"address: {exc.message}") from None
    if not candidates:
        raise _RowError("unknown-address", f"no 2025 commune is named in the address {address!r}")
    top = candidates[0]
    if len(candidates) > 1 and top.match_type != "legacy_partial":
        names = "; ".join(c.standard_address for c in candidates[:3])
        raise _RowError("ambiguous-address", f"the address names {len(candidates)} communes ({names}): add the "
                                             "province or district, a commune_code, or lat/lon")
    return context.rep_point(top.commune_code)


# ======================================================================================================== import


def _detect_format(path: Path, data: Any) -> str:
    """``vnpost`` (a list of office objects), ``geojson`` (a FeatureCollection); anything else is refused."""
    if isinstance(data, list) and all(isinstance(row, Mapping) and "detailAddress" in row for row in data[:20]):
        return "vnpost"
    if isinstance(data, Mapping) and data.get("type") == "FeatureCollection":
        return "geojson"
    raise InvalidInputError(f"{path} is neither a list of Vietnam Post offices (objects with code, name, ward, "
                            "district, province, detailAddress) nor a GeoJSON FeatureCollection", path=str(path))


def resolve_file(path: str | Path, *, source: str | None = None, gazetteer: Gazetteer | None = None,
                 progress: ProgressFn | None = None) -> tuple[ImportReport, list[_Resolved]]:
    """Read a file and resolve every row, writing nothing: the report so far and the records to write.

    A malformed file raises ``InvalidInputError``; bad rows are in ``report.unmatched``.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    rows: Sequence[Any]
    if suffix == ".csv":
        fmt, rows = "csv", read_csv_rows(file)
    elif suffix in (".json", ".geojson"):
        data = _load_json(file)
        fmt = "geojson" if suffix == ".geojson" else _detect_format(file, data)
        rows = geojson_rows(file, data) if fmt == "geojson" else data
    else:
        raise InvalidInputError(f"{file}: unknown format {suffix or '(no extension)'!r}; use .json (the Vietnam "
                                "Post offices, or GeoJSON), .geojson or .csv", path=str(file))
    default_source = SOURCE_VNPOST if fmt == "vnpost" else (source or file.stem)
    report = ImportReport(path=str(file), format=fmt, source=source or default_source, rows=len(rows))
    context = _Context(gazetteer)
    resolved: list[_Resolved] = []
    first_row: dict[tuple[str, str], int] = {}
    for number, row in enumerate(rows, start=1):
        key: str | None = row.key if isinstance(row, _RowError) else (
            _office_key(row) if fmt == "vnpost" else _row_key(row))
        try:
            if isinstance(row, _RowError):
                raise row
            item = _resolve_row(fmt, number, row, context, source or default_source)
            key = item.record.source_key
            ident = (item.record.source, item.record.source_key)
            if ident in first_row:
                raise _RowError("duplicate-key", f"source_key {key!r} is already used by row {first_row[ident]} "
                                                 "of this file")
            first_row[ident] = number
            resolved.append(item)
        except _RowError as problem:
            report.unmatched.append(RowProblem(number, key, problem.reason, problem.message))
        if progress is not None and (number % 50 == 0 or number == len(rows)):
            progress("resolve", number, len(rows))
    report.matched = len(resolved)
    report.methods = dict(Counter(item.method for item in resolved))
    report.ambiguous = [item.ambiguity for item in resolved if item.ambiguity is not None]
    return report, resolved


def _office_key(row: Any) -> str | None:
    code = _text(row.get("code")) if isinstance(row, Mapping) else ""
    return code.zfill(6) if code.isdigit() else (code or None)


def _row_key(row: Any) -> str | None:
    return (_text(row.get("source_key")) or None) if isinstance(row, Mapping) else None


def _resolve_row(fmt: str, number: int, row: Any, context: _Context, source: str) -> _Resolved:
    """One row of any format → a resolved record (or a _RowError)."""
    if fmt == "vnpost":
        record, location = _office_record(row, context)
        ambiguity = None
        if location.candidates:
            ambiguity = Ambiguity(number, record.source_key, location.legacy_code, location.legacy_name,
                                  location.candidates, location.commune_code, location.chosen_by or "first")
        return _Resolved(number, record, location.method, ambiguity)
    if not isinstance(row, Mapping):
        raise _RowError("invalid-row", "a row must be an object")
    record, method = _point_record(row, context, source)
    return _Resolved(number, record, method)


def _chunks(items: Sequence[_Resolved], size: int) -> Iterator[Sequence[_Resolved]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def write_records(report: ImportReport, resolved: Sequence[_Resolved], store: Store, *,
                  chunk_rows: int = DEFAULT_CHUNK_ROWS, progress: ProgressFn | None = None) -> ImportReport:
    """Upsert resolved records in chunks of ``chunk_rows``, one transaction each; add the counts to ``report``."""
    if chunk_rows < 1:
        raise InvalidInputError("chunk_rows must be at least 1", parameter="chunk_rows")
    done = 0
    for chunk in _chunks(resolved, chunk_rows):
        counts = store.upsert_points([item.record for item in chunk])
        report.inserted += counts.inserted
        report.updated += counts.updated
        report.unchanged += counts.unchanged
        report.chunks += 1
        done += len(chunk)
        if progress is not None:
            progress("write", done, len(resolved))
    return report


def import_points(path: str | Path, store: Store, *, progress: ProgressFn | None = None,
                  source: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                  gazetteer: Gazetteer | None = None) -> ImportReport:
    """Import a file of postal points (offices JSON, CSV or GeoJSON) into ``store``; see the module docstring.

    Every row is read and resolved before anything is written (a malformed file raises ``InvalidInputError`` and
    writes nothing); then the records are upserted ``chunk_rows`` at a time, one transaction per chunk, so that
    a killed run leaves whole chunks and a rerun completes it. ``progress(stage, done, total)`` is called while
    rows are resolved and after each committed chunk.
    """
    started = time.perf_counter()
    report, resolved = resolve_file(path, source=source, gazetteer=gazetteer, progress=progress)
    write_records(report, resolved, store, chunk_rows=chunk_rows, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


def write_report(report: ImportReport, path: str | Path) -> Path:
    """Write the report as JSON (UTF-8, indented) to ``path``; returns the path."""
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write the report to {out}: {exc.strerror or exc}", path=str(out)) from None
    return out


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "SOURCE_VNPOST",
    "Ambiguity",
    "ImportReport",
    "Location",
    "OfficeLocator",
    "RowProblem",
    "clean_phone",
    "import_points",
    "read_csv_rows",
    "resolve_file",
    "write_records",
    "write_report",
]
