"""Writing responses: JSON by default, GeoJSON for anything with a geometry when the client asks for it.

A client asks for GeoJSON with ``Accept: application/geo+json`` or ``?format=geojson``; ``?format=json`` forces
JSON. JSON answers use the library's field names unchanged (the same as the CLI's ``--json``), keep the
library's key order and write non-ASCII text as is. NaN and infinities, which JSON cannot carry, become null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final

import numpy as np
from flask import Response, request
from flask.json.provider import DefaultJSONProvider

from vpostcode.errors import InvalidInputError

JSON: Final = "application/json"
GEOJSON: Final = "application/geo+json"
FORMATS: Final = ("json", "geojson")


def _default(value: Any) -> Any:
    """JSON for what the standard encoder does not know: NumPy values, dates, tuples, sets."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def sanitize(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (recursively), NumPy scalars made plain."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return sanitize(value.item())
    if isinstance(value, Mapping):
        return {key: sanitize(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [sanitize(item) for item in value]
    return value


def dumps(value: Any) -> str:
    """Compact UTF-8 JSON; the fast path is one ``json.dumps``, the slow one (NaN present) sanitises first."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default)
    except ValueError:
        return json.dumps(sanitize(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                          default=_default)


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON provider with the service's encoding (library key order, UTF-8, no NaN)."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialise like :func:`dumps` (keyword arguments are ignored: one encoding everywhere)."""
        return dumps(obj)


def wants_geojson() -> bool:
    """True when the client asked for GeoJSON (``?format=geojson``, or ``Accept`` prefers it over JSON)."""
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in FORMATS:
            raise InvalidInputError(f"format must be json or geojson, got {fmt!r}", parameter="format")
        return fmt == "geojson"
    header = request.headers.get("Accept")
    if not header or "geo+json" not in header:  # the common case, without parsing the header
        return False
    return request.accept_mimetypes.best_match([JSON, GEOJSON], default=JSON) == GEOJSON


def ok(data: Any, status: int = 200, *, mimetype: str = JSON, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON (or GeoJSON, by ``mimetype``) response."""
    response = Response(dumps(data), status=status, mimetype=mimetype)
    if headers:
        response.headers.update(headers)
    return response


def geojson(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A GeoJSON response (``application/geo+json``)."""
    return ok(data, status, mimetype=GEOJSON, headers=headers)


def point_feature(lat: float, lon: float, properties: Mapping[str, Any], feature_id: Any = None) -> dict[str, Any]:
    """A GeoJSON Point Feature (coordinates longitude first, as GeoJSON requires)."""
    feature: dict[str, Any] = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                               "properties": dict(properties)}
    if feature_id is not None:
        feature["id"] = feature_id
    return feature


def box_feature(south: float, west: float, north: float, east: float,
                properties: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON Polygon Feature for a cell or a bounding box, with its ``bbox``."""
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Feature", "bbox": [west, south, east, north],
            "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": dict(properties)}


def collection(features: Iterable[dict[str, Any]], **members: Any) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (extra members, e.g. ``total``, are allowed by RFC 7946 as foreign members)."""
    return {"type": "FeatureCollection", "features": list(features), **members}


def located_feature(record: Mapping[str, Any], feature_id: Any = None) -> dict[str, Any]:
    """A record with ``lat``/``lon`` as a Point Feature (a Feature with a null geometry when it has none)."""
    lat, lon = record.get("lat"), record.get("lon")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and math.isfinite(lat) and math.isfinite(lon):
        return point_feature(float(lat), float(lon), record, feature_id)
    feature: dict[str, Any] = {"type": "Feature", "geometry": None, "properties": dict(record)}
    if feature_id is not None:
        feature["id"] = feature_id
    return feature
