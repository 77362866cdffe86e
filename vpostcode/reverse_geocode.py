"""Reverse geocoding: a point → its 2025 commune, province, postal code, and address code (full and local).

One ``ReverseGeocoder`` per process holds the spatial index over the full-resolution commune polygons
(``vpostcode.spatial``) and answers arrays of points in chunks; the scalar ``reverse`` calls the array form.
Input may be WGS84 (default) or VN-2000, geographic or projected (``vpostcode.crs`` lists the accepted EPSG codes
and the transformation applied); for a projected CRS, ``lat`` is the northing and ``lon`` the easting.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from vpostcode import codec
from vpostcode.batchio import add_columns, null_where, point_columns
from vpostcode.crs import WGS84, normalize_crs, to_wgs84
from vpostcode.errors import InvalidCoordinateError, InvalidInputError, OutsideDomainError
from vpostcode.gazetteer import Gazetteer, get_gazetteer
from vpostcode.localcode import local_code_table
from vpostcode.spatial import MATCH_LABELS, CommuneIndex, Match

DEFAULT_SNAP_M = 500.0
DEFAULT_CHUNK = 200_000
RESULT_COLUMNS = (
    "lat", "lon", "commune_code", "commune_name", "province_code", "province_name", "postal_code",
    "address_code", "local_code", "match", "distance_m", "also_in", "error",
)


@dataclass(frozen=True)
class ReverseResult:
    """Where one point is: its commune (or none, at sea or abroad), postal code and address codes."""

    lat: float
    lon: float
    commune_code: str | None
    commune_name: str | None
    province_code: str | None
    province_name: str | None
    postal_code: str | None
    address_code: str | None
    local_code: str | None
    match: str
    distance_m: float | None
    also_in: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, the same names as the CLI's ``--json`` and the API.

        Every field is a plain value already, so a shallow copy does (``asdict``'s deep copy was a sixth of the
        cost of a single-point ``reverse``).
        """
        record = {name: getattr(self, name) for name in _RESULT_FIELDS}
        record["also_in"] = list(self.also_in)
        return record


_RESULT_FIELDS: tuple[str, ...] = tuple(item.name for item in fields(ReverseResult))


@dataclass(frozen=True)
class NearbyCommune:
    """A commune within a radius of a point, with the distance from the point to its polygon."""

    code: str
    name: str
    province_code: str
    province_name: str
    postal_code: str | None
    distance_m: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


class ReverseGeocoder:
    """The spatial index and the attribute columns of one gazetteer, built once at start-up."""

    def __init__(self, gazetteer: Gazetteer, snap_distance_m: float = DEFAULT_SNAP_M) -> None:
        self.gazetteer = gazetteer
        communes = gazetteer.communes
        self.index = CommuneIndex(communes.geometry.to_numpy(), gazetteer.commune_codes, snap_distance_m)
        self.local_codes = local_code_table(gazetteer)
        self._codes = gazetteer.commune_codes.astype(object)
        self._names = communes["full_name"].to_numpy(dtype=object)
        self._province_codes = communes["province_code"].to_numpy(dtype=object)
        self._province_names = communes["province_name"].to_numpy(dtype=object)
        self._postal = communes["postal_code"].to_numpy(dtype=object)

    def columns(self, lats: npt.ArrayLike, lons: npt.ArrayLike, crs: str | int | None = WGS84,
                snap_distance_m: float | None = None) -> dict[str, npt.NDArray[Any]]:
        """The result columns for one batch of points (no chunking): the array core of everything here."""
        code = normalize_crs(crs)
        lat_in = np.atleast_1d(np.asarray(lats, dtype=np.float64))
        lon_in = np.atleast_1d(np.asarray(lons, dtype=np.float64))
        lat, lon = (lat_in, lon_in) if code == WGS84 else to_wgs84(lon_in, lat_in, code)
        located = self.index.locate_many(lat, lon, snap_distance_m)
        rows = located.index
        missing = rows < 0
        safe = np.where(missing, 0, rows)
        full = codec.encode_many(lat, lon)
        no_code = np.char.str_len(full) == 0
        error = located.error.copy()
        outside = no_code & (located.match != Match.INVALID)
        error[outside & (located.match == Match.NONE)] = None
        return {
            "lat": lat,
            "lon": lon,
            "commune_code": null_where(self._codes[safe], missing),
            "commune_name": null_where(self._names[safe], missing),
            "province_code": null_where(self._province_codes[safe], missing),
            "province_name": null_where(self._province_names[safe], missing),
            "postal_code": null_where(self._postal[safe], missing),
            "address_code": null_where(full, no_code),
            "local_code": self.local_codes.shorten_many(lat, lon, full, rows),
            "match": MATCH_LABELS[located.match],
            "distance_m": located.distance_m,
            "also_in": self._also_in(located.also_in),
            "error": error,
        }

    def _also_in(self, rows: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
        """Commune codes of the other polygons holding each overlap point (empty tuples elsewhere)."""
        out = np.empty(len(rows), dtype=object)
        out[:] = [tuple(self._codes[list(other)]) if other else () for other in rows]
        return out

    def reverse_many(self, lats: npt.ArrayLike, lons: npt.ArrayLike, crs: str | int | None = WGS84,
                     snap_distance_m: float | None = None, chunk_size: int = DEFAULT_CHUNK) -> pd.DataFrame:
        """One row per point with ``RESULT_COLUMNS``; bad rows get an ``error`` and the batch goes on.

        Points are processed in chunks of ``chunk_size`` so that a million points stay in bounded memory.
        """
        lat = np.atleast_1d(np.asarray(lats, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lons, dtype=np.float64))
        if lat.shape != lon.shape or lat.ndim != 1:
            raise InvalidInputError(f"lats and lons must be 1-D arrays of one length: {lat.shape}, {lon.shape}")
        if chunk_size < 1:
            raise InvalidInputError(f"chunk_size must be at least 1, got {chunk_size}", parameter="chunk_size")
        parts = [
            pd.DataFrame(self.columns(lat[start:start + chunk_size], lon[start:start + chunk_size], crs,
                                      snap_distance_m), columns=list(RESULT_COLUMNS))
            for start in range(0, max(lat.size, 1), chunk_size)
        ]
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return frame.iloc[: lat.size]

    def reverse(self, lat: float, lon: float, crs: str | int | None = WGS84,
                snap_distance_m: float | None = None) -> ReverseResult:
        """The place of one point; invalid coordinates raise ``InvalidCoordinateError`` (with a swap hint).

        Composed of the scalar forms of the index, the codec and the local-code table (each calls its array
        form), which keeps one point well under a millisecond.
        """
        try:
            lat_f, lon_f = float(lat), float(lon)
        except (TypeError, ValueError) as exc:
            raise InvalidCoordinateError(f"coordinates must be numbers, got ({lat!r}, {lon!r})") from exc
        code = normalize_crs(crs)
        if code != WGS84:
            lats, lons = to_wgs84([lon_f], [lat_f], code)
            lat_f, lon_f = float(lats[0]), float(lons[0])
        located = self.index.locate(lat_f, lon_f, snap_distance_m)
        row = located.index
        try:
            full: str | None = codec.encode(lat_f, lon_f)
        except OutsideDomainError:
            full = None
        has_commune = row >= 0
        return ReverseResult(
            lat=lat_f, lon=lon_f,
            commune_code=self._codes[row] if has_commune else None,
            commune_name=self._names[row] if has_commune else None,
            province_code=self._province_codes[row] if has_commune else None,
            province_name=self._province_names[row] if has_commune else None,
            postal_code=self._postal[row] if has_commune else None,
            address_code=full,
            local_code=self.local_codes.shorten_one(lat_f, lon_f, full, row) if full and has_commune else None,
            match=located.match,
            distance_m=None if np.isnan(located.distance_m) else located.distance_m,
            also_in=tuple(str(key) for key in located.also_in_keys),
        )

    def reverse_frame(self, frame: pd.DataFrame, lat_column: str | None = None, lon_column: str | None = None,
                      crs: str | int | None = WGS84) -> pd.DataFrame:
        """One chunk of a batch file: every input column plus the result columns (``error`` for bad rows)."""
        lats, lons = point_columns(frame, lat_column, lon_column)
        columns = self.columns(lats, lons, crs)
        wgs84 = normalize_crs(crs) == WGS84
        results = {name: columns[name] for name in RESULT_COLUMNS if name not in ("lat", "lon") or not wgs84}
        results["also_in"] = np.array([";".join(codes) for codes in columns["also_in"]], dtype=object)
        return add_columns(frame, results)

    def communes_near(self, lat: float, lon: float, radius_m: float) -> list[NearbyCommune]:
        """The communes within ``radius_m`` of a point, nearest first (0 m for the one it is in)."""
        return [
            NearbyCommune(str(self._codes[row]), str(self._names[row]), str(self._province_codes[row]),
                          str(self._province_names[row]), self._postal[row], distance)
            for row, distance in self.index.near(float(lat), float(lon), float(radius_m))
        ]


@lru_cache(maxsize=4)
def get_reverse_geocoder(gazetteer: Gazetteer | None = None) -> ReverseGeocoder:
    """The process-wide reverse geocoder of a gazetteer (default: the default one), built on first use."""
    return ReverseGeocoder(gazetteer or get_gazetteer())


def reverse(lat: float, lon: float, crs: str | int | None = WGS84) -> ReverseResult:
    """Where a point is: commune, province, postal code, address code (see ``ReverseGeocoder.reverse``)."""
    return get_reverse_geocoder().reverse(lat, lon, crs)


def reverse_many(lats: npt.ArrayLike, lons: npt.ArrayLike, crs: str | int | None = WGS84,
                 chunk_size: int = DEFAULT_CHUNK) -> pd.DataFrame:
    """Reverse-geocode arrays of points in chunks; one row per point (see ``ReverseGeocoder.reverse_many``)."""
    return get_reverse_geocoder().reverse_many(lats, lons, crs, chunk_size=chunk_size)


def communes_near(lat: float, lon: float, radius_m: float) -> list[NearbyCommune]:
    """The communes within a radius of a point, nearest first."""
    return get_reverse_geocoder().communes_near(lat, lon, radius_m)
