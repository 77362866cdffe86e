"""Forward geocoding and validation over HTTP: the CLI's ``--json`` answers, batches, bad input."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.conftest import problem
from vpostcode.address import geocode, validate


def test_geocode_answers_like_the_library(client: FlaskClient) -> None:
    response = client.get("/v1/geocode", query_string={"q": "Phuc Xa, Ba Dinh, Ha Noi", "limit": 3})
    assert response.status_code == 200
    assert response.json == {"candidates": [c.to_dict() for c in geocode("Phuc Xa, Ba Dinh, Ha Noi", limit=3)]}
    assert response.json["candidates"][0]["province_code"] == "01"


def test_geocode_with_a_point_or_code_and_as_geojson(client: FlaskClient) -> None:
    with_code = client.get("/v1/geocode", query_string={"q": "Ngọc Hà, Hà Nội", "code": "W5Y7DH420Y"}).json
    assert with_code["candidates"][0]["precision"] == "address_code"
    with_point = client.get("/v1/geocode", query_string={"q": "Ngọc Hà, Hà Nội", "lat": 21.0336, "lon": 105.8144})
    assert with_point.json["candidates"][0]["commune_code"] == "00008"
    geo = client.get("/v1/geocode", query_string={"q": "Ba Đình, Hà Nội", "format": "geojson"})
    assert geo.mimetype == "application/geo+json" and geo.json["features"][0]["id"] == "00004"
    assert client.get("/v1/geocode", query_string={"q": "zzzz qqqq"}).json == {"candidates": []}


def test_geocode_errors(client: FlaskClient) -> None:
    assert problem(client.get("/v1/geocode"), 400)["invalid-params"][0]["name"] == "q"
    problem(client.get("/v1/geocode", query_string={"q": "Ba Dinh", "limit": 0}), 400)
    problem(client.get("/v1/geocode", query_string={"q": "Ba Dinh", "lat": 21}), 400)
    problem(client.get("/v1/geocode", query_string={"q": "x" * 1001}), 400)


def test_geocode_batch_one_row_per_address(client: FlaskClient) -> None:
    response = client.post("/v1/geocode/batch", json={"addresses": ["Phường Ba Đình, Hà Nội", "", "zzzz"]})
    assert response.status_code == 200
    rows = response.json["results"]
    assert rows[0]["commune_code"] == "00004" and rows[0]["error"] is None
    assert rows[1]["error"] == "empty address" and rows[2]["error"]
    assert problem(client.post("/v1/geocode/batch", json={"addresses": ["x", 5]}),
                   400)["invalid-params"][0]["name"] == "addresses[1]"
    geo = client.post("/v1/geocode/batch?format=geojson", json={"addresses": ["Phường Ba Đình, Hà Nội"]})
    assert geo.json["features"][0]["geometry"]["type"] == "Point"
    problem(client.post("/v1/geocode/batch", json={"addresses": ["x"] * 1001}), 413, "batch-too-large")
    problem(client.post("/v1/geocode/batch", json={"addresses": "Ba Dinh"}), 400)


def test_validate_gives_the_checkout_verdict(client: FlaskClient) -> None:
    text = "12 Phố Huế, Phường Hai Bà Trưng, Hà Nội"
    response = client.post("/v1/validate", json={"address": text})
    assert response.status_code == 200
    assert response.json == validate(text).to_dict()
    assert response.json["verdict"] == "valid"
    outdated = client.post("/v1/validate", json={"address": "Phường Phúc Xá, Quận Ba Đình, Hà Nội"}).json
    assert outdated["verdict"] == "valid_outdated"
    inconsistent = client.post("/v1/validate", json={"address": text, "lat": 10.7726, "lon": 106.698}).json
    assert inconsistent["verdict"] == "inconsistent"
    typo = client.post("/v1/validate", json={"address": text, "code": "W5Y7DH42Y0"}).json
    assert typo["verdict"] == "invalid"


def test_validate_errors(client: FlaskClient) -> None:
    assert problem(client.post("/v1/validate", json={}), 400)["invalid-params"][0]["name"] == "address"
    problem(client.post("/v1/validate", json={"address": 5}), 400)
    problem(client.post("/v1/validate", json={"address": "x", "lat": 21}), 400)
    problem(client.post("/v1/validate", json={"address": "x", "lat": True, "lon": 1}), 400)
    problem(client.post("/v1/validate", json={"address": "x" * 1001}), 400)
    problem(client.post("/v1/validate", json={"address": "x", "lat": 95, "lon": 105}), 400)
    problem(client.post("/v1/validate", data="address=x", content_type="text/plain"), 415)
