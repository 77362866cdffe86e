"""The gazetteer over HTTP: provinces, communes with outlines, legacy conversion."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.conftest import problem
from vpostcode.gazetteer import get_gazetteer


def test_provinces(client: FlaskClient) -> None:
    body = client.get("/v1/provinces").json
    assert len(body["provinces"]) == 34 and body["provinces"][0]["code"] == "01"
    assert client.get("/v1/provinces/01").json == get_gazetteer().province("01").to_dict()
    assert client.get("/v1/provinces/Hà Nội").json["code"] == "01"
    problem(client.get("/v1/provinces/99"), 404, "unknown-province")
    problem(client.get("/v1/provinces/123"), 400, "invalid-input")


def test_communes_lists_pages_and_filters(client: FlaskClient) -> None:
    everything = client.get("/v1/communes?limit=5").json
    assert everything["total"] == 3321 and len(everything["communes"]) == 5
    hanoi = client.get("/v1/communes?province=01&limit=200").json
    assert hanoi["total"] == 126 and {c["province_code"] for c in hanoi["communes"]} == {"01"}
    named = client.get("/v1/communes", query_string={"q": "ba dinh"}).json
    assert "00004" in [c["code"] for c in named["communes"]]
    in_hanoi = client.get("/v1/communes", query_string={"q": "ba dinh", "province": "Hà Nội"}).json
    assert [c["code"] for c in in_hanoi["communes"]] == ["00004"]
    second = client.get("/v1/communes?province=01&limit=2&offset=2").json
    assert [c["code"] for c in second["communes"]] == [c["code"] for c in hanoi["communes"][2:4]]
    geo = client.get("/v1/communes?province=01&limit=3&format=geojson&tolerance=0.01").json
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 3 and geo["total"] == 126
    problem(client.get("/v1/communes?province=Atlantis"), 404, "unknown-province")
    problem(client.get("/v1/communes?limit=-1"), 400)
    problem(client.get("/v1/communes?limit=100000"), 400)


def test_commune_with_its_outline(client: FlaskClient) -> None:
    body = client.get("/v1/communes/00004").json
    assert body["full_name"] == "Phường Ba Đình" and body["geometry"]["type"] in ("Polygon", "MultiPolygon")
    fine = client.get("/v1/communes/4?tolerance=0").json["geometry"]
    coarse = client.get("/v1/communes/00004?tolerance=0.01").json["geometry"]
    assert len(str(coarse)) < len(str(fine))
    feature = client.get("/v1/communes/00004", headers={"Accept": "application/geo+json"})
    assert feature.mimetype == "application/geo+json" and feature.json["properties"]["code"] == "00004"
    problem(client.get("/v1/communes/99999"), 404, "unknown-commune")
    problem(client.get("/v1/communes/abc"), 400, "invalid-input")
    problem(client.get("/v1/communes/00004?tolerance=1"), 400)


def test_legacy_conversion(client: FlaskClient) -> None:
    body = client.get("/v1/legacy/wards/00007/conversion").json
    assert body["legacy"]["name"] == "Phường Cống Vị"
    assert {c["code"] for c in body["candidates"]} == {"00008", "00025"}
    assert {c["share"] for c in body["candidates"]} == {"partial"}
    problem(client.get("/v1/legacy/wards/99999/conversion"), 404, "unknown-legacy-unit")
    problem(client.get("/v1/legacy/wards/x/conversion"), 400)
