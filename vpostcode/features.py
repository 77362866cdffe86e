"""Library answers shaped for a service: commune shapes as GeoJSON, paged commune lists, a ward's conversion,
postal points with their commune filled in, and coverage questions asked of the store's current points.

The HTTP API (``api/``) is a thin layer: a handler parses its request, makes one call here or elsewhere in the
library, and serialises the result. Whatever needs the gazetteer, geometry or the store's semantics lives here,
so that the CLI, scripts and the API give the same answers.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from vpostcode.coverage import DEFAULT_RADIUS_KM, CoverageModel, PostalPoints, get_model
from vpostcode.errors import InvalidCoordinateError, InvalidInputError
from vpostcode.gazetteer import Gazetteer, get_gazetteer
from vpostcode.reverse_geocode import get_reverse_geocoder
from vpostcode.store import PostalPoint, Store
from vpostcode.types import Commune

__all__ = [
    "MAX_TOLERANCE",
    "CommunePage",
    "StorePoints",
    "add_point",
    "commune_coverage_feature",
    "commune_feature",
    "commune_postal_points",
    "coverage_gaps",
    "geometry_json",
    "list_communes",
    "map_png",
    "page_features",
    "store_points",
    "update_point",
    "ward_conversion",
]

MAX_TOLERANCE: Final = 0.1
"""Largest simplification tolerance accepted, in degrees (about 11 km): coarser shapes say nothing."""
DECIMALS: Final = 6
"""Coordinates are rounded to 6 decimals (0.1 m): more is noise and bytes."""


def _check_tolerance(tolerance: float) -> float:
    """A tolerance in degrees, finite and within 0..MAX_TOLERANCE."""
    value = float(tolerance)
    if not math.isfinite(value) or not 0.0 <= value <= MAX_TOLERANCE:
        raise InvalidInputError(f"tolerance must be within 0..{MAX_TOLERANCE} degrees, got {tolerance!r}",
                                parameter="tolerance")
    return value


def geometry_json(geometry: BaseGeometry, tolerance: float = 0.0) -> dict[str, Any]:
    """A shape as a GeoJSON geometry object, simplified by ``tolerance`` degrees and rounded to 0.1 m.

    Simplification preserves topology for a single shape (it never empties a commune or makes it invalid).
    """
    tol = _check_tolerance(tolerance)
    shape = shapely.simplify(geometry, tol, preserve_topology=True) if tol > 0 else geometry
    rounded = shapely.transform(shape, lambda coords: np.round(coords, DECIMALS))
    result: dict[str, Any] = json.loads(shapely.to_geojson(rounded))
    return result


def commune_feature(code: str, tolerance: float = 0.0001, gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """A commune as a GeoJSON Feature: its record (``Commune.to_dict``) as properties, its simplified outline.

    ``tolerance`` is the Douglas-Peucker tolerance in degrees (0 keeps the full-resolution boundary; 0.0001,
    about 11 m, the default, keeps the shape recognisable at street level at a tenth of the size).
    """
    gaz = gazetteer or get_gazetteer()
    row = gaz.commune_row(code)
    commune = gaz.commune_at(row)
    return {"type": "Feature", "id": commune.code,
            "geometry": geometry_json(gaz.communes.geometry.iloc[row], tolerance),
            "properties": commune.to_dict()}


@dataclass(frozen=True)
class CommunePage:
    """One page of a commune list: how many matched in all, and the communes of this page."""

    total: int
    limit: int
    offset: int
    communes: tuple[Commune, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"total": self.total, "limit": self.limit, "offset": self.offset,
                "communes": [commune.to_dict() for commune in self.communes]}


def list_communes(province: str | None = None, q: str | None = None, limit: int = 100, offset: int = 0,
                  gazetteer: Gazetteer | None = None) -> CommunePage:
    """Communes in code order: all, those of a province (code or name), or those named ``q`` (as ``find_communes``).

    ``limit``/``offset`` page the result; ``total`` counts every match.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InvalidInputError(f"limit must be a non-negative integer, got {limit!r}", parameter="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be a non-negative integer, got {offset!r}", parameter="offset")
    gaz = gazetteer or get_gazetteer()
    if q is not None and q.strip():
        found = gaz.find_communes(q, province)
        rows = [gaz.commune_row(commune.code) for commune in found]
    else:
        codes = gaz.communes["province_code"].to_numpy(dtype=str)
        mask = np.ones(len(codes), dtype=bool) if province is None else codes == gaz.province(province).code
        rows = np.flatnonzero(mask).tolist()
    page = rows[offset:offset + limit]
    return CommunePage(len(rows), limit, offset, tuple(gaz.commune_at(row) for row in page))


def page_features(page: CommunePage, tolerance: float = 0.001,
                  gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """A page of communes as a GeoJSON FeatureCollection (outlines simplified by ``tolerance`` degrees).

    ``total``, ``limit`` and ``offset`` are kept as foreign members, as RFC 7946 allows.
    """
    gaz = gazetteer or get_gazetteer()
    features = [commune_feature(commune.code, tolerance, gaz) for commune in page.communes]
    return {"type": "FeatureCollection", "features": features, "total": page.total, "limit": page.limit,
            "offset": page.offset}


def ward_conversion(code: str, gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """A legacy ward and the 2025 commune(s) it went into (``vpostcode convert CODE --json``)."""
    gaz = gazetteer or get_gazetteer()
    unit = gaz.legacy_unit(code)
    return {"legacy": unit.to_dict(), "candidates": [candidate.to_dict() for candidate in gaz.convert(unit.code)]}


# ------------------------------------------------------------------------------------------------ postal points


def commune_postal_points(store: Store, code: str, limit: int | None = 100, offset: int = 0,
                          gazetteer: Gazetteer | None = None) -> list[PostalPoint]:
    """The postal points assigned to a 2025 commune (an unknown commune is ``UnknownCommuneError``, not [])."""
    commune = (gazetteer or get_gazetteer()).commune(code)
    return store.list_points(commune_code=commune.code, limit=limit, offset=offset)


def _with_commune(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record with ``commune_code`` filled in by reverse geocoding (checked against it when given).

    A point at sea or outside Vietnam is refused: a postal point serves a commune.
    """
    data = dict(record)
    lat, lon = data.get("lat"), data.get("lon")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon)):
        return data  # the store's own check names the bad field
    assert isinstance(lat, int | float) and isinstance(lon, int | float)
    try:
        place = get_reverse_geocoder().reverse(float(lat), float(lon))
    except InvalidCoordinateError:
        return data  # out of range: the store's check says so, naming the field
    if place.commune_code is None:
        raise InvalidInputError(f"({lat}, {lon}) lies in no commune of Vietnam: a postal point must be on land",
                                field="lat")
    given = data.get("commune_code")
    if given is None:
        data["commune_code"] = place.commune_code
    elif str(given) not in (place.commune_code, *place.also_in):
        raise InvalidInputError(f"commune_code {given} does not contain the point, which lies in "
                                f"{place.commune_code} ({place.commune_name})", field="commune_code")
    return data


def add_point(store: Store, record: Mapping[str, Any]) -> PostalPoint:
    """Insert one postal point, its commune assigned by reverse geocoding (as an import does)."""
    if not isinstance(record, Mapping):
        raise InvalidInputError("a postal point must be an object of fields", field="body")
    return store.add_point(_with_commune(record))


def update_point(store: Store, point_id: int, fields: Mapping[str, Any]) -> PostalPoint:
    """Change fields of a point; a move (``lat``/``lon``) re-assigns its commune unless ``commune_code`` is given."""
    if not isinstance(fields, Mapping):
        raise InvalidInputError("the changes must be an object of fields", field="body")
    changes = dict(fields)
    if "lat" in changes or "lon" in changes:
        current = store.get_point(point_id)
        merged = {"lat": changes.get("lat", current.lat), "lon": changes.get("lon", current.lon)}
        if "commune_code" in changes:
            merged["commune_code"] = changes["commune_code"]
        changes["commune_code"] = _with_commune(merged).get("commune_code")
    return store.update_point(point_id, **changes)


# ------------------------------------------------------------------------------------------------ coverage


@dataclass(frozen=True)
class StorePoints:
    """The store's postal points as coverage input, with a fingerprint of their state (for caching answers)."""

    points: PostalPoints
    fingerprint: str


def store_points(store: Store) -> StorePoints:
    """Every stored point as :class:`PostalPoints`, and a digest of ids, positions, staffing and communes.

    Any insert, move, re-staffing or deletion changes the fingerprint, so answers cached under it are never stale.
    """
    arrays = store.points_array()
    digest = hashlib.blake2b(digest_size=16)
    for values in (arrays.ids, arrays.lons, arrays.lats, arrays.staffed):
        digest.update(np.ascontiguousarray(values).tobytes())
    digest.update("\x1f".join(str(code) for code in arrays.commune_codes).encode())
    return StorePoints(PostalPoints.from_store(arrays), digest.hexdigest())


def coverage_gaps(points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM, province: str | None = None,
                  model: CoverageModel | None = None) -> dict[str, Any]:
    """The unserved communes (``CoverageModel.gaps``), of one province (code or name) or of all."""
    model = model or get_model()
    result = model.gaps(points, radius_km)
    if province is None:
        return result
    record = model.gazetteer.province(province)
    provinces = [p for p in result["provinces"] if p["code"] == record.code]
    mine = provinces[0] if provinces else {"code": record.code, "name": record.full_name, "communes": 0,
                                           "unserved": 0, "unserved_pct": 0.0, "unserved_population": 0,
                                           "without_staffed_point": 0, "unserved_communes": []}
    return {"radius_km": result["radius_km"], "province": {"code": record.code, "name": record.full_name},
            "communes": mine["communes"], "unserved": mine["unserved"], "unserved_pct": mine["unserved_pct"],
            "unserved_population": mine["unserved_population"],
            "without_staffed_point": mine["without_staffed_point"], "provinces": provinces,
            "offshore": [zone for zone in result["offshore"] if zone["province_code"] == record.code]}


def _plain(value: Any) -> Any:
    """A pandas/NumPy scalar as a JSON-ready Python value (NaN and infinities as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def commune_coverage_feature(points: PostalPoints, code: str, radius_km: float = DEFAULT_RADIUS_KM,
                             tolerance: float = 0.0005, model: CoverageModel | None = None) -> dict[str, Any]:
    """One commune's coverage (a row of ``CoverageModel.communes``) as a GeoJSON Feature with its outline."""
    model = model or get_model()
    row = model.gazetteer.commune_row(code)
    frame = model.communes(points, radius_km)
    record = {str(key): _plain(value) for key, value in frame.iloc[row].items()}
    record["radius_km"] = float(radius_km)
    for key in ("covered_population", "nearest_staffed_m"):
        if isinstance(record.get(key), float):
            record[key] = round(record[key], 1)
    record["covered_pct"] = round(float(record["covered_pct"] or 0.0), 2)
    record["status"] = ("offshore" if record["offshore"] else
                        {"inside": "inside", "nearby": "nearby"}.get(str(record["served_by"]), "unserved"))
    return {"type": "Feature", "id": record["code"],
            "geometry": geometry_json(model.gazetteer.communes.geometry.iloc[row], tolerance),
            "properties": record}


def map_png(points: PostalPoints, province: str | None = None, radius_km: float = DEFAULT_RADIUS_KM,
            width_px: int = 1200, height_px: int = 1400, model: CoverageModel | None = None) -> bytes:
    """The coverage map (``CoverageModel.render_map``) as PNG bytes, drawn in a private temporary directory."""
    model = model or get_model()
    with tempfile.TemporaryDirectory(prefix="vpostcode-map-") as folder:
        path = model.render_map(points, Path(folder) / "map.png", province, radius_km=radius_km,
                                width_px=width_px, height_px=height_px)
        return path.read_bytes()

