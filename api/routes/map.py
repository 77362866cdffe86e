"""The map page: communes coloured by postal coverage, the postal points, click-to-locate and search.

Everything it loads is served from this service: Leaflet from ``api/static/vendor`` (installed from the npm
registry by ``scripts/build_web.sh``) and the shapes from the API as GeoJSON. No tiles, no CDN, no internet.
"""

from __future__ import annotations

from flask import Blueprint, render_template, url_for

from api.context import settings
from api.routes import limited

bp = Blueprint("map", __name__)


@bp.get("/map")
@limited("exempt")
def map_page() -> str:
    """The interactive map (HTML; its data comes from ``/v1/...``)."""
    return render_template("map.html", leaflet_js=url_for("static", filename="vendor/leaflet/leaflet.js"),
                           leaflet_css=url_for("static", filename="vendor/leaflet/leaflet.css"),
                           public_url=settings().public_url)
