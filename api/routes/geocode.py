"""Forward geocoding and address validation (``vpostcode geocode`` / ``vpostcode validate``).

``GET /v1/geocode?q=`` ranks the 2025 communes an address names (``{"candidates": [...]}``, best first);
``POST /v1/geocode/batch`` geocodes many addresses, one best candidate per row; ``POST /v1/validate`` gives a
checkout its verdict (``valid``, ``valid_outdated``, ``ambiguous``, ``invalid``, ``inconsistent``).
"""

from __future__ import annotations

import pandas as pd
from flask import Blueprint, Response

from api import params
from api.context import settings, uses_spatial_index
from api.respond import collection, geojson, located_feature, ok, wants_geojson
from api.routes import limited
from api.routes.codes import rows, strings_of
from vpostcode.address import MAX_TEXT_LENGTH, geocode_frame, validate
from vpostcode.address import geocode as geocode_text
from vpostcode.errors import InvalidInputError

bp = Blueprint("geocode", __name__, url_prefix="/v1")

MAX_LIMIT = 50


@bp.get("/geocode")
@uses_spatial_index
def geocode() -> Response:
    """The communes an address may be in; ``lat``/``lon`` or ``code`` pick among them and locate the answer."""
    q = params.text("q", required=True, max_length=MAX_TEXT_LENGTH)
    assert q is not None
    limit = params.integer("limit", 5, minimum=1, maximum=MAX_LIMIT)
    lat = params.number("lat", minimum=-90, maximum=90)
    lon = params.number("lon", minimum=-180, maximum=180)
    if (lat is None) != (lon is None):
        raise InvalidInputError("give both lat and lon, or neither", parameter="lat" if lat is None else "lon")
    code = params.text("code", max_length=64)
    candidates = [c.to_dict() for c in geocode_text(q, limit=limit, lat=lat, lon=lon, code=code)]
    if wants_geojson():
        return geojson(collection(located_feature(c, c["commune_code"]) for c in candidates))
    return ok({"candidates": candidates})


@bp.post("/geocode/batch")
@limited("heavy")
@uses_spatial_index
def geocode_batch() -> Response:
    """Many addresses (``addresses``: strings): the best candidate's fields per row, or its ``error``."""
    body = params.json_object()
    items = params.items(body, "addresses", settings().max_geocode_batch)
    texts = strings_of(items, "addresses")
    results = rows(geocode_frame(pd.DataFrame({"address": texts}), "address")) if texts else []
    if wants_geojson():
        return geojson(collection(located_feature(row) for row in results))
    return ok({"results": results})


@bp.post("/validate")
@uses_spatial_index
def validate_address() -> Response:
    """One address for a checkout (``address``), optionally with the ``code`` or point (``lat``/``lon``) given."""
    body = params.json_object()
    address = params.field(body, "address", str, required=True)
    code = params.field(body, "code", str)
    lat = params.field(body, "lat", (int, float))
    lon = params.field(body, "lon", (int, float))
    if (lat is None) != (lon is None):
        raise InvalidInputError("give both lat and lon, or neither", parameter="lat" if lat is None else "lon")
    if len(address) > MAX_TEXT_LENGTH:
        raise InvalidInputError(f"address is longer than {MAX_TEXT_LENGTH} characters", parameter="address")
    result = validate(address, code=code, lat=lat, lon=lon).to_dict()
    return ok(result)
