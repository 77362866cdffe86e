"""Postal-point coverage of the communes, computed on the store's current points.

Each answer is cached per worker under the fingerprint of the store's points (``features.store_points``) and its
parameters: reading the points costs milliseconds, the computation up to seconds, and any change to the points
changes the fingerprint, so a cached answer is never stale.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from api import params
from api.context import resources, settings, store
from api.respond import geojson, ok, wants_geojson
from api.routes import limited
from vpostcode.coverage import DEFAULT_RADIUS_KM, get_model
from vpostcode.errors import InvalidInputError
from vpostcode.features import (
    MAX_TOLERANCE,
    StorePoints,
    commune_coverage_feature,
    coverage_gaps,
    map_png,
    store_points,
)
from vpostcode.gazetteer import get_gazetteer

bp = Blueprint("coverage", __name__, url_prefix="/v1/coverage")

MAX_RADIUS_KM = 100.0
MAP_TOLERANCE = 0.003


def _radius() -> float:
    """The ``radius_km`` parameter (0.1..100 km; default 5)."""
    value = params.number("radius_km", default=DEFAULT_RADIUS_KM, minimum=0.1, maximum=MAX_RADIUS_KM)
    assert value is not None
    return value


def _tolerance(default: float) -> float:
    """The outline simplification ``tolerance`` in degrees."""
    value = params.number("tolerance", default=default, minimum=0, maximum=MAX_TOLERANCE)
    assert value is not None
    return value


def _points() -> StorePoints:
    """The store's current points and their fingerprint (the cache key of every answer)."""
    return store_points(store())


def _province() -> str | None:
    """The ``province`` parameter as a 2-digit code (a name is resolved), or None; 404 for an unknown one."""
    key = params.text("province", max_length=200)
    return get_gazetteer().province(key).code if key else None


@bp.get("/summary")
@limited("heavy")
def summary() -> Response:
    """National figures: communes served, with a staffed point, population within 1/2/5/10 km."""
    radius = _radius()
    current = _points()
    result = resources().cached((current.fingerprint, "summary", radius),
                                lambda: get_model().summary(current.points, radius))
    return ok(result)


@bp.get("/gaps")
@limited("heavy")
def gaps() -> Response:
    """The unserved communes, by province (``province``: one of them), largest population first."""
    radius = _radius()
    province = _province()
    current = _points()
    result = resources().cached((current.fingerprint, "gaps", radius, province),
                                lambda: coverage_gaps(current.points, radius, province))
    return ok(result)


@bp.get("/communes")
@limited("heavy")
def communes() -> Response:
    """Every commune (or a province's) with its coverage status and simplified outline: GeoJSON, for maps."""
    radius = _radius()
    province = _province()
    tolerance = _tolerance(MAP_TOLERANCE)
    current = _points()
    body = resources().cached(
        (current.fingerprint, "communes", radius, province, tolerance),
        lambda: get_model().communes_geojson(current.points, radius, tolerance=tolerance, province=province))
    return geojson(body)


@bp.get("/communes/<code>")
def commune(code: str) -> Response:
    """One commune's coverage: points inside, nearest staffed point, served or not, population covered."""
    radius = _radius()
    tolerance = _tolerance(0.0005)
    current = _points()
    feature: dict[str, Any] = resources().cached(
        (current.fingerprint, "commune", code, radius, tolerance),
        lambda: commune_coverage_feature(current.points, code, radius, tolerance))
    if wants_geojson():
        return geojson(feature)
    return ok({**feature["properties"], "geometry": feature["geometry"]})


@bp.post("/suggest")
@limited("heavy")
def suggest() -> Response:
    """Where the next ``k`` postal points should go to bring the most people within ``radius_km`` (MCLP)."""
    body = params.json_object()
    config = settings()
    k = params.field(body, "k", int, default=10)
    if not 1 <= k <= config.max_suggest_k:
        raise InvalidInputError(f"k must be within 1..{config.max_suggest_k}, got {k}", parameter="k")
    radius = float(params.field(body, "radius_km", (int, float), default=DEFAULT_RADIUS_KM))
    if not 0.1 <= radius <= MAX_RADIUS_KM:
        raise InvalidInputError(f"radius_km must be within 0.1..{MAX_RADIUS_KM}, got {radius}",
                                       parameter="radius_km")
    province_key = params.field(body, "province", str)
    province = get_gazetteer().province(province_key).code if province_key else None
    seconds = float(params.field(body, "time_limit_s", (int, float), default=10.0))
    if not 0.1 <= seconds <= config.max_suggest_seconds:
        raise InvalidInputError(f"time_limit_s must be within 0.1..{config.max_suggest_seconds}",
                                       parameter="time_limit_s")
    current = _points()
    result = resources().cached(
        (current.fingerprint, "suggest", k, radius, province, seconds),
        lambda: get_model().suggest(current.points, k, radius, province=province, time_limit_s=seconds))
    return ok(result)


@bp.get("/map.png")
@limited("heavy")
def map_image() -> Response:
    """A PNG map of served and unserved communes with the points: the country, or one ``province``."""
    radius = _radius()
    province = _province()
    current = _points()
    png = resources().cached((current.fingerprint, "map", radius, province),
                             lambda: map_png(current.points, province, radius))
    return Response(png, mimetype="image/png", headers={"Cache-Control": "public, max-age=300"})

