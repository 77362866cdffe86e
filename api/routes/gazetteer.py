"""The gazetteer of the 2025 reform: provinces, communes (with their outlines), and the legacy conversion."""

from __future__ import annotations

from flask import Blueprint, Response

from api import params
from api.context import settings
from api.respond import geojson, ok, wants_geojson
from vpostcode.features import MAX_TOLERANCE, commune_feature, list_communes, page_features, ward_conversion
from vpostcode.gazetteer import get_gazetteer

bp = Blueprint("gazetteer", __name__, url_prefix="/v1")

DEFAULT_TOLERANCE = 0.0001


@bp.get("/provinces")
def provinces() -> Response:
    """The 34 provinces and centrally-run cities, in code order."""
    return ok({"provinces": [province.to_dict() for province in get_gazetteer().provinces()]})


@bp.get("/provinces/<code>")
def province(code: str) -> Response:
    """One province by its 2-digit code (or any of its names)."""
    return ok(get_gazetteer().province(code).to_dict())


@bp.get("/communes")
def communes() -> Response:
    """Communes in code order: all, a province's (``province``: code or name), or those named ``q``; paged."""
    province_key = params.text("province", max_length=200)
    q = params.text("q", max_length=200)
    limit = params.integer("limit", 100, minimum=0, maximum=settings().max_list_limit)
    offset = params.integer("offset", 0, minimum=0, maximum=params.MAX_OFFSET)
    tolerance = params.number("tolerance", default=0.001, minimum=0, maximum=MAX_TOLERANCE)
    assert tolerance is not None
    geo = wants_geojson()
    page = list_communes(province=province_key or None, q=q or None, limit=limit, offset=offset)
    if geo:
        return geojson(page_features(page, tolerance))
    return ok(page.to_dict())


@bp.get("/communes/<code>")
def commune(code: str) -> Response:
    """A commune's record and its outline, simplified by ``tolerance`` degrees (0: full resolution)."""
    tolerance = params.number("tolerance", default=DEFAULT_TOLERANCE, minimum=0, maximum=MAX_TOLERANCE)
    assert tolerance is not None
    feature = commune_feature(code, tolerance)
    if wants_geojson():
        return geojson(feature)
    return ok({**feature["properties"], "geometry": feature["geometry"]})


@bp.get("/legacy/wards/<code>/conversion")
def legacy_conversion(code: str) -> Response:
    """The 2025 commune(s) a legacy ward went into, each ``full`` or ``partial``."""
    return ok(ward_conversion(code))
