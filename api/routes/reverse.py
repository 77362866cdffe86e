"""Reverse geocoding: a point's 2025 commune, province, postal code and address codes, one or many at once.

``GET /v1/reverse`` answers with the fields of ``vpostcode reverse --json`` at the top level (``commune_code``,
``postal_code``, ``address_code``, ``local_code``, ``match``, ``distance_m``, ``also_in``...). ``POST
/v1/reverse/batch`` takes up to ``max_reverse_batch`` (10,000) points in one library call (``reverse_many``);
a point that cannot be placed gets its ``error`` and the others go on.
"""

from __future__ import annotations

from flask import Blueprint, Response

from api import params
from api.context import resources, settings, uses_spatial_index
from api.respond import collection, geojson, located_feature, ok, wants_geojson
from api.routes import limited
from api.routes.codes import points_of, rows
from vpostcode.crs import WGS84, normalize_crs
from vpostcode.reverse_geocode import get_reverse_geocoder

bp = Blueprint("reverse", __name__, url_prefix="/v1/reverse")


@bp.get("")
def reverse() -> Response:
    """Where one point is. For a projected ``crs``, ``lat`` is the northing and ``lon`` the easting (metres)."""
    crs = normalize_crs(params.text("crs", max_length=64) or WGS84)
    lat = params.required_number("lat")
    lon = params.required_number("lon")
    if crs == WGS84 and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0:
        result = resources().coalescer().reverse(lat, lon)  # the library's columns, batched with other requests
    else:
        with resources().index_lock:
            result = get_reverse_geocoder().reverse(lat, lon, crs=crs).to_dict()
    if wants_geojson():
        return geojson(located_feature(result, result["address_code"]))
    return ok(result)


@bp.post("/batch")
@limited("heavy")
@uses_spatial_index
def reverse_batch() -> Response:
    """Many points (``points``: ``[[lat, lon], ...]`` or ``[{"lat": .., "lon": ..}, ...]``) in one call."""
    body = params.json_object()
    items = params.items(body, "points", settings().max_reverse_batch)
    crs = params.field(body, "crs", (str, int), default=WGS84)
    lats, lons = points_of(items, "points")
    normalize_crs(crs)  # a bad CRS is a 400 even for an empty batch
    # (reverse_many of zero points fails inside the library's local-code table; nothing to place anyway)
    results = rows(get_reverse_geocoder().reverse_many(lats, lons, crs=crs)) if items else []
    if wants_geojson():
        return geojson(collection(located_feature(row) for row in results))
    return ok({"results": results})
