"""Address codes: encode a point, decode a full or local code, and both in bulk.

``GET /v1/codes/encode`` and ``GET /v1/codes/{code}`` answer with the fields of ``vpostcode encode --json`` and
``vpostcode decode --json``; an invalid code's problem lists ``suggestions`` (valid codes one typo away).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from flask import Blueprint, Response

from api import params
from api.context import resources, settings, uses_spatial_index
from api.respond import box_feature, collection, geojson, located_feature, ok, sanitize, wants_geojson
from api.routes import limited
from vpostcode import codec
from vpostcode.codes import decode_any, decode_frame, encode_frame, encode_point, suggestions_for
from vpostcode.errors import InvalidCodeError, InvalidInputError

bp = Blueprint("codes", __name__, url_prefix="/v1/codes")


@bp.get("/encode")
def encode() -> Response:
    """The address code of a WGS84 point, with its display form, commune, local code and cell size."""
    lat = params.required_number("lat", minimum=-90, maximum=90)
    lon = params.required_number("lon", minimum=-180, maximum=180)
    length = params.integer("length", codec.FULL_LENGTH, minimum=codec.MIN_LENGTH, maximum=codec.FULL_LENGTH)
    located = resources().coalescer().reverse(lat, lon)  # batched with the other requests' points (and locked)
    result = encode_point(lat, lon, length=length, located=located)
    if wants_geojson():
        return geojson(located_feature(result, result["code"]))
    return ok(result)


@bp.get("/<code>")
@uses_spatial_index
def decode(code: str) -> Response:
    """The cell of a full code (``XXXX-XXX-XXX``, any length 2..10) or a local code (``PPPPP-TAIL``)."""
    if len(code) > 64:
        raise InvalidCodeError("an address code has at most 10 characters (a local code about 16)",
                               reason="wrong-length", parameter="code", suggestions=[])
    try:
        result = decode_any(code)
    except InvalidCodeError as error:
        error.details.setdefault("parameter", "code")
        error.details.setdefault("suggestions", suggestions_for(code))
        raise
    if wants_geojson():
        return geojson(box_feature(result["south"], result["west"], result["north"], result["east"], result))
    return ok(result)


def _point_of(item: Any, name: str) -> tuple[float, float]:
    """(lat, lon) of one batch item: ``{"lat": .., "lon": ..}`` or ``[lat, lon]`` with numbers.

    An item of another shape is the caller's bug and fails the request (400 naming ``points[i]``); numbers that
    are not a valid coordinate are the data's problem and get a row ``error`` from the library instead.
    """
    lat: Any
    lon: Any
    if isinstance(item, dict) and "lat" in item and "lon" in item:
        lat, lon = item["lat"], item["lon"]
    elif isinstance(item, list) and len(item) == 2:
        lat, lon = item
    else:
        raise InvalidInputError(f'{name} must be {{"lat": ..., "lon": ...}} or [lat, lon]', parameter=name)
    if isinstance(lat, bool) or isinstance(lon, bool) or not isinstance(lat, int | float) \
            or not isinstance(lon, int | float):
        raise InvalidInputError(f"{name}: lat and lon must be numbers", parameter=name)
    return float(lat), float(lon)


def points_of(items: list[Any], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude arrays of batch items (400 naming the first malformed item)."""
    parsed = [_point_of(item, f"{name}[{i}]") for i, item in enumerate(items)]
    lats = np.array([p[0] for p in parsed], dtype=np.float64)
    lons = np.array([p[1] for p in parsed], dtype=np.float64)
    return lats, lons


def strings_of(items: list[Any], name: str) -> list[str]:
    """Batch items that must all be strings (400 naming the first that is not)."""
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidInputError(f"{name}[{i}] must be a string", parameter=f"{name}[{i}]")
    return items


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A result frame as JSON-ready rows (NaN as null)."""
    records: list[dict[str, Any]] = sanitize(frame.to_dict(orient="records"))
    return records


@bp.post("/batch")
@limited("heavy")
@uses_spatial_index
def batch() -> Response:
    """Encode (``encode``: points) and/or decode (``decode``: codes) many at once, each row with its ``error``."""
    body = params.json_object()
    limit = settings().max_codes_batch
    to_encode = params.items(body, "encode", limit, required=False)
    to_decode = params.items(body, "decode", limit - len(to_encode), required=False)
    if not to_encode and not to_decode:
        raise InvalidInputError("give points to encode, codes to decode, or both", parameter="encode")
    length = params.field(body, "length", int, default=codec.FULL_LENGTH)
    if not codec.MIN_LENGTH <= length <= codec.FULL_LENGTH:
        raise InvalidInputError(f"length must be within {codec.MIN_LENGTH}..{codec.FULL_LENGTH}, got {length}",
                                parameter="length")
    result: dict[str, Any] = {}
    if to_encode:
        lats, lons = points_of(to_encode, "encode")
        frame = encode_frame(pd.DataFrame({"lat": lats, "lon": lons}), "lat", "lon", length)
        result["encode"] = rows(frame)
    if to_decode:
        frame = decode_frame(pd.DataFrame({"code": strings_of(to_decode, "decode")}), "code")
        result["decode"] = rows(frame)
    if wants_geojson():
        features = [located_feature(row) for row in (*result.get("encode", []), *result.get("decode", []))]
        return geojson(collection(features))
    return ok(result)
