"""The local form of an address code, ``PPPPP-TAIL``, tied to the commune (or legacy ward) it was made for.

``vpostcode.localcode_math`` holds the arithmetic; this module gives it the gazetteer's references: a 2025 postal
code names a commune (its reference point and bounding box), and a 2020 postcode names a legacy ward (its own
reference point and box), so a local code written before the 1 July 2025 reform still recovers after it. The
resolution rule of ``docs/address-code.md`` applies: a postal code is looked up among the 2025 codes first, then
among the 2020 ones, and the first reference under which the tail's check character holds wins; the others that
also hold are reported as alternatives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from vpostcode import codec
from vpostcode.errors import InvalidCodeError, UnknownPostcodeError
from vpostcode.gazetteer import Gazetteer, get_gazetteer
from vpostcode.localcode_math import (
    MAX_TAIL,
    format_local,
    parse_local,
    recover_with_references,
    shorten_with_reference,
    tail_length,
)


@dataclass(frozen=True)
class LocalResolution:
    """What a local code stands for: the full code, and the unit whose reference recovered it."""

    local_code: str
    code: str
    postal_code: str
    scheme: str  # "2025" (a commune's postal code) or "2020" (a legacy ward's postcode)
    unit_code: str  # the 2025 commune code or the legacy ward code
    commune_candidates: tuple[str, ...]  # the 2025 communes of that unit (one for a 2025 code)
    alternatives: tuple[dict[str, str], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        record = asdict(self)
        record["commune_candidates"] = list(self.commune_candidates)
        record["alternatives"] = [dict(a) for a in self.alternatives]
        return record


def bbox_cells(south: npt.ArrayLike, west: npt.ArrayLike, north: npt.ArrayLike,
               east: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The level-9 cell ranges (first row, last row, first column, last column) of bounding boxes.

    A unit's local codes are made, and read back, only for cells in this range: a reading that falls outside it
    is a typo, not a place of that unit.
    """
    row_s, col_w, _ = codec.grid_indices_many(south, west)
    row_n, col_e, _ = codec.grid_indices_many(north, east)
    return np.stack([row_s, row_n, col_w, col_e], axis=-1).astype(np.int64)


class LocalCodeTable:
    """Per-commune tail lengths and cell ranges, computed once, for shortening many codes at once."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        communes = gazetteer.communes
        self.postal_codes = communes["postal_code"].fillna("").to_numpy(dtype=str)
        bboxes = communes[["south", "west", "north", "east"]].to_numpy()
        self.tails = np.array([
            tail_length(lat, lon, tuple(box))
            for lat, lon, box in zip(communes["rep_lat"], communes["rep_lon"], bboxes)
        ], dtype=np.int64)
        self.cells = bbox_cells(*bboxes.T)

    def shorten_many(self, lats: npt.ArrayLike, lons: npt.ArrayLike, codes: npt.NDArray[np.str_],
                     commune_rows: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        """The local code of each point for the commune at ``commune_rows`` (None where there is none).

        A point gets no local code when it has no commune (row -1), no full code, or lies outside the commune's
        bounding box (possible for points snapped to a commune from the sea).
        """
        out = np.full(len(codes), None, dtype=object)
        if len(codes) == 0:
            return out
        grid_rows, grid_cols, _ = codec.grid_indices_many(lats, lons)
        has = (commune_rows >= 0) & (np.char.str_len(codes) == codec.FULL_LENGTH)
        safe = np.where(has, commune_rows, 0)
        cells = self.cells[safe]
        inside = ((cells[:, 0] <= grid_rows) & (grid_rows <= cells[:, 1])
                  & (cells[:, 2] <= grid_cols) & (grid_cols <= cells[:, 3]))
        has &= inside & (self.postal_codes[safe] != "")
        points = np.ascontiguousarray(codes).view(np.uint32).reshape(len(codes), -1)
        tails = self.tails[safe]
        for tail in np.unique(tails[has]):
            pick = has & (tails == tail)
            tail_text = points[pick, codec.FULL_LENGTH - tail - 1:].copy().view(f"<U{tail + 1}").ravel()
            out[pick] = np.char.add(np.char.add(self.postal_codes[safe[pick]], "-"), tail_text)
        return out

    def shorten_one(self, lat: float, lon: float, code: str, commune_row: int) -> str | None:
        """The local code of one point for one commune (as ``shorten_many``), without array overhead."""
        grid_row, grid_col = codec.grid_indices(lat, lon)
        row_lo, row_hi, col_lo, col_hi = self.cells[commune_row].tolist()
        postal = str(self.postal_codes[commune_row])
        if not (row_lo <= grid_row <= row_hi and col_lo <= grid_col <= col_hi and postal):
            return None
        return f"{postal}-{code[-int(self.tails[commune_row]) - 1:]}"


@lru_cache(maxsize=4)
def local_code_table(gazetteer: Gazetteer) -> LocalCodeTable:
    """The table for a gazetteer, built on first use."""
    return LocalCodeTable(gazetteer)


def shorten(code: str, commune: str | None = None, legacy_ward: str | None = None,
            gazetteer: Gazetteer | None = None) -> str:
    """The local form ``PPPPP-TAIL`` of a full code, for a 2025 commune (default: the one the code lies in).

    ``legacy_ward`` makes the local form against a legacy ward's 2020 postcode instead (for printing on old
    stationery); the result still recovers after the reform.
    """
    gaz = gazetteer or get_gazetteer()
    if legacy_ward is not None:
        unit = gaz.legacy_units.iloc[gaz.legacy_unit_row(legacy_ward)]
        if not isinstance(unit["postcode_2020"], str):
            raise UnknownPostcodeError(f"legacy ward {unit['code']} has no 2020 postcode", code=unit["code"])
        box = (unit["south"], unit["west"], unit["north"], unit["east"])
        return format_local(unit["postcode_2020"], shorten_with_reference(code, unit["lat"], unit["lon"], box))
    if commune is None:
        from vpostcode.reverse_geocode import get_reverse_geocoder

        area = codec.decode(code)
        located = get_reverse_geocoder(gaz).reverse(area.lat, area.lon)
        if located.commune_code is None:
            raise InvalidCodeError(f"{code} lies in no commune: it has no local form", reason="no-commune")
        commune = located.commune_code
    record = gaz.commune(commune)
    if record.postal_code is None:
        raise UnknownPostcodeError(f"commune {record.code} has no postal code", code=record.code)
    return format_local(record.postal_code, shorten_with_reference(code, record.rep_lat, record.rep_lon, record.bbox))


@dataclass(frozen=True)
class _Reference:
    """A unit that carries a postal code: where its local codes are recovered from, and which communes it means."""

    scheme: str
    unit_code: str
    lat: float
    lon: float
    bbox: tuple[float, float, float, float]
    communes: tuple[str, ...]

    def holds(self, code: str) -> bool:
        """True when the code's cell lies in the unit's bounding box: the only cells its local codes are made for."""
        row, col, _ = codec.indices_from_code(code)
        row_lo, row_hi, col_lo, col_hi = bbox_cells(*self.bbox).tolist()
        return bool(row_lo <= row <= row_hi and col_lo <= col <= col_hi)


def _references(gaz: Gazetteer, postal: str) -> list[_Reference]:
    """Every unit carrying this postal code, 2025 communes first, then 2020 legacy wards."""
    references = []
    try:
        commune = gaz.commune_by_postal_code(postal)
        references.append(_Reference("2025", commune.code, commune.rep_lat, commune.rep_lon, commune.bbox,
                                     (commune.code,)))
    except UnknownPostcodeError:
        pass
    try:
        for unit in gaz.legacy_units_by_postcode(postal):
            row = gaz.legacy_units.iloc[gaz.legacy_unit_row(unit.code)]
            box = (float(row["south"]), float(row["west"]), float(row["north"]), float(row["east"]))
            targets = tuple(candidate.code for candidate in gaz.convert(unit.code))
            references.append(_Reference("2020", unit.code, unit.lat, unit.lon, box, targets))
    except UnknownPostcodeError:
        pass
    if not references:
        raise UnknownPostcodeError(
            f"no 2025 commune or 2020 ward has the postal code {postal}: check the first five digits",
            postal_code=postal,
        )
    return references


def resolve(local_code: str, gazetteer: Gazetteer | None = None) -> LocalResolution:
    """Recover a local code and say which unit it was made for, and what else it could have meant.

    Many 2025 postal codes equal a 2020 postcode of another place. Among the readings whose check character
    holds and whose cell lies in its unit's bounding box (the only cells local codes are made for), the first
    (2025 before 2020) wins; the others are listed as alternatives. No such reading means a typo.
    """
    gaz = gazetteer or get_gazetteer()
    postal, tail = parse_local(local_code)
    references = _references(gaz, postal)
    found = [(index, code) for index, code in
             recover_with_references(tail, [(ref.lat, ref.lon) for ref in references]) if references[index].holds(code)]
    if not found:
        raise InvalidCodeError(
            f"the local code {local_code!r} does not check: the tail or the postal code is mistyped",
            reason="wrong-check",
        )
    first, code = found[0]
    chosen = references[first]
    alternatives = tuple(
        {"code": other, "scheme": references[index].scheme, "unit_code": references[index].unit_code}
        for index, other in found if index != first and other != code
    )
    return LocalResolution(format_local(postal, tail), code, postal, chosen.scheme, chosen.unit_code,
                           chosen.communes, alternatives)


def recover(local_code: str, gazetteer: Gazetteer | None = None) -> str:
    """The full code a local code stands for."""
    return resolve(local_code, gazetteer).code


__all__ = ["MAX_TAIL", "LocalCodeTable", "LocalResolution", "local_code_table", "recover", "resolve", "shorten"]
