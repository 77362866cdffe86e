"""Postal points: read by commune, box or distance (public); create, change and delete (scope ``points:write``)."""

from __future__ import annotations

from flask import Blueprint, Response, url_for

from api import params
from api.auth import require_scope
from api.context import settings, store, uses_spatial_index
from api.errors import BadRequest
from api.respond import collection, geojson, located_feature, ok, wants_geojson
from api.routes import limited
from vpostcode.errors import InvalidInputError, UnknownPointError
from vpostcode.features import add_point, commune_postal_points, update_point
from vpostcode.store import PostalPoint
from vpostcode.store.store import MAX_RADIUS_M

bp = Blueprint("points", __name__, url_prefix="/v1")

WRITE_SCOPE = "points:write"
MAX_ID = 2**63 - 1


def _answer(points: list[PostalPoint], limit: int, offset: int) -> Response:
    """A list of points as JSON (with the page) or a GeoJSON FeatureCollection."""
    records = [point.to_dict() for point in points]
    if wants_geojson():
        return geojson(collection((located_feature(r, r["id"]) for r in records), limit=limit, offset=offset))
    return ok({"points": records, "limit": limit, "offset": offset})


def _id(point_id: int) -> int:
    """A point id that the database can hold (larger ones name no point: 404, never a driver overflow)."""
    if point_id > MAX_ID:
        raise UnknownPointError(f"no postal point has id {point_id}", id=point_id)
    return point_id


def _page() -> tuple[int, int]:
    """The ``limit`` and ``offset`` parameters (``limit`` at most ``max_list_limit``)."""
    limit = params.integer("limit", 100, minimum=0, maximum=settings().max_list_limit)
    return limit, params.integer("offset", 0, minimum=0, maximum=params.MAX_OFFSET)


@bp.get("/communes/<code>/postal-points")
def commune_points(code: str) -> Response:
    """The postal points assigned to a commune (404 for a commune that does not exist)."""
    limit, offset = _page()
    return _answer(commune_postal_points(store(), code, limit=limit, offset=offset), limit, offset)


@bp.get("/postal-points")
def list_points() -> Response:
    """Points in a box (``bbox=min_lon,min_lat,max_lon,max_lat``) or within ``radius`` metres of ``near=lat,lon``.

    Without either, every point (paged). ``kind`` and ``staffed`` filter further; ``near`` sorts by distance.
    """
    box = params.numbers("bbox", 4, params.text("bbox", max_length=200))
    bbox = (box[0], box[1], box[2], box[3]) if box is not None else None
    near = params.numbers("near", 2, params.text("near", max_length=200))
    radius = params.number("radius", minimum=0, maximum=MAX_RADIUS_M)
    if bbox is not None and near is not None:
        raise InvalidInputError("give bbox or near, not both", parameter="near")
    if (near is None) != (radius is None):
        raise InvalidInputError("near and radius go together", parameter="radius" if near is not None else "near")
    kind = params.text("kind", max_length=64)
    staffed = params.boolean("staffed")
    limit, offset = _page()
    found = store().list_points(
        bbox=bbox, near=(near[0], near[1], radius) if near is not None and radius is not None else None,
        kind=kind, staffed=staffed, limit=limit, offset=offset)
    return _answer(found, limit, offset)


@bp.get("/postal-points/<int:point_id>")
def get_point(point_id: int) -> Response:
    """One postal point by id."""
    record = store().get_point(_id(point_id)).to_dict()
    return geojson(located_feature(record, record["id"])) if wants_geojson() else ok(record)


@bp.post("/postal-points")
@limited("write")
@require_scope(WRITE_SCOPE)
@uses_spatial_index
def create_point() -> Response:
    """Add a postal point; its commune is assigned by reverse geocoding. 201 with ``Location``."""
    body = params.json_object()
    point = add_point(store(), body)
    location = url_for("points.get_point", point_id=point.id)
    return ok(point.to_dict(), 201, headers={"Location": location})


@bp.patch("/postal-points/<int:point_id>")
@limited("write")
@require_scope(WRITE_SCOPE)
@uses_spatial_index
def patch_point(point_id: int) -> Response:
    """Change some fields of a point (a move re-assigns its commune)."""
    body = params.json_object()
    if not body:
        raise BadRequest("the body must name at least one field to change", parameter="body")
    return ok(update_point(store(), _id(point_id), body).to_dict())


@bp.delete("/postal-points/<int:point_id>")
@limited("write")
@require_scope(WRITE_SCOPE)
def delete_point(point_id: int) -> Response:
    """Delete a point. 204."""
    store().delete_point(_id(point_id))
    return Response(status=204)
