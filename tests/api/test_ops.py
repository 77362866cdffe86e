"""Operations: liveness, readiness (data and database), the document, the reference, the problem types."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from api import create_app
from tests.api.conftest import problem


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz").json
    assert ready["status"] == "ready" and ready["database"]["schema_current"] is True
    assert ready["database"]["backend"] == "sqlite" and "url" not in ready["database"]
    assert ready["data"]["fingerprint"]
    from vpostcode.address import core

    assert ready["native"] == {"vpostcode.address.core": "source" if core.__file__.endswith(".py") else "compiled"}


def test_readyz_is_503_when_the_database_is_down(fresh_app) -> None:
    app = fresh_app(database_url="postgresql://postgres@127.0.0.1:1/nowhere", rate_limits_enabled=False)
    client = app.test_client()
    body = problem(client.get("/readyz"), 503, "database-unavailable")
    assert "127.0.0.1:1" not in body["detail"]
    response = client.get("/v1/postal-points")
    problem(response, 503, "database-unavailable")
    assert response.headers["Retry-After"] == "5"
    assert client.get("/v1/reverse?lat=21.03&lon=105.81").status_code == 200  # data-only answers go on


def test_readyz_and_v1_are_503_without_data(monkeypatch: pytest.MonkeyPatch, empty_dir, store_url: str) -> None:
    monkeypatch.setenv("VPOSTCODE_DATA_DIR", str(empty_dir))
    from vpostcode.errors import DataNotBuiltError

    with pytest.raises(DataNotBuiltError):
        create_app({"database_url": store_url})
    app = create_app({"database_url": store_url, "preload": False, "rate_limits_enabled": False})
    client = app.test_client()
    problem(client.get("/v1/provinces"), 503, "data-not-built")
    body = problem(client.get("/readyz"), 503, "service-unavailable")
    assert body["reason"] == "data-not-built"
    assert client.get("/healthz").status_code == 200


def test_lazy_loading_app_loads_on_first_request(store_url: str) -> None:
    app = create_app({"database_url": store_url, "preload": False, "rate_limits_enabled": False})
    resources = app.extensions["vpostcode"]
    assert not resources.loaded
    assert app.test_client().get("/v1/provinces").status_code == 200
    assert resources.loaded


def test_openapi_docs_problems_and_root(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.1") and "/v1/reverse" in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and docs.mimetype == "text/html"
    page = docs.get_data(as_text=True)
    assert "/v1/reverse/batch" in page and "/problems/invalid-code" in page
    assert "http://" not in page and "https://" not in page.replace("https://spec.openapis.org", "")
    listing = client.get("/problems").json["problems"]
    assert {"invalid-code", "rate-limited", "unauthorized"} <= {p["slug"] for p in listing}
    one = client.get("/problems/invalid-code")
    assert one.json["status"] == 400 and one.json["type"] == "/problems/invalid-code"
    assert "Invalid code" in client.get("/problems/invalid-code", headers={"Accept": "text/html"}).get_data(True)
    problem(client.get("/problems/nope"), 404)
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 302
    assert client.get("/").json["openapi"] == "/openapi.json"


def test_map_page_is_served_locally(client: FlaskClient) -> None:
    page = client.get("/map")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "/static/vendor/leaflet/leaflet.js" in html and "//" not in html.replace("://", "").split("<body")[0]
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/map.js").status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
