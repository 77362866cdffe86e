"""Registered digital addresses: register (scope ``registry:write``), look up (public fields; contact details only
for a key with ``registry:private``) and delete (``registry:write``; the contact details go with the row).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, url_for

from api import params
from api.auth import has_scope, require_scope
from api.context import store, uses_spatial_index
from api.respond import geojson, located_feature, ok, wants_geojson
from api.routes import limited

bp = Blueprint("registry", __name__, url_prefix="/v1/addresses")

WRITE_SCOPE = "registry:write"
PRIVATE_SCOPE = "registry:private"


def _record(result: Any) -> dict[str, Any]:
    """A library result as a JSON-ready dict."""
    record: dict[str, Any] = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    return record


@bp.post("")
@limited("write")
@require_scope(WRITE_SCOPE)
@uses_spatial_index
def register_address() -> Response:
    """Register an address at a point: its code, local code and commune come from the point. 201 + ``Location``.

    Contact details (``contact``: ``name``, ``phone``, ``email``) are kept only with ``consent: true``.
    """
    from vpostcode.registry import register

    body = params.json_object()
    address = params.field(body, "address", (str, dict), required=True)
    lat = params.field(body, "lat", (int, float), required=True)
    lon = params.field(body, "lon", (int, float), required=True)
    contact = params.field(body, "contact", dict)
    consent = params.field(body, "consent", bool, default=False)
    record = _record(register(address, lat, lon, contact=contact, consent=consent, store=store()))
    return ok(record, 201, headers={"Location": url_for("registry.get_address", code=record["code"])})


@bp.get("/<code>")
def get_address(code: str) -> Response:
    """A registered address: public fields, plus ``contact`` for a key with ``registry:private``."""
    from vpostcode.registry import lookup, public_view

    record = public_view(lookup(code, include_private=has_scope(PRIVATE_SCOPE), store=store()))
    if wants_geojson():
        return geojson(located_feature(record, record.get("code")))
    return ok(record)


@bp.delete("/<code>")
@limited("write")
@require_scope(WRITE_SCOPE)
def delete_address(code: str) -> Response:
    """Delete a registered address and its contact details. 204."""
    from vpostcode.registry import delete

    delete(code, store=store())
    return Response(status=204)
