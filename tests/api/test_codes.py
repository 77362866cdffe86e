"""Address codes over HTTP: the same fields as ``vpostcode encode/decode --json``, suggestions for typos."""

from __future__ import annotations

import numpy as np
from flask.testing import FlaskClient

from tests.api.conftest import HANOI, problem
from vpostcode.codes import decode_any, encode_point


def test_encode_answers_with_the_library_fields(client: FlaskClient) -> None:
    response = client.get(f"/v1/codes/encode?lat={HANOI[0]}&lon={HANOI[1]}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json == encode_point(*HANOI)
    assert response.json["code"] == "W5Y7DH420Y" and response.json["commune_code"] == "00008"


def test_encode_shorter_code_and_geojson(client: FlaskClient) -> None:
    short = client.get(f"/v1/codes/encode?lat={HANOI[0]}&lon={HANOI[1]}&length=6").json
    assert len(short["code"]) == 6 and short["local_code"] is None
    feature = client.get(f"/v1/codes/encode?lat={HANOI[0]}&lon={HANOI[1]}",
                         headers={"Accept": "application/geo+json"})
    assert feature.mimetype == "application/geo+json"
    assert feature.json["geometry"] == {"type": "Point", "coordinates": [HANOI[1], HANOI[0]]}


def test_encode_matches_the_library_everywhere(client: FlaskClient) -> None:
    """The service takes its commune from the batched reverse geocode: still the library's answer, field for
    field, on land, at sea and at every code length (random points in the code's domain)."""
    rng = np.random.default_rng(7)
    lats = rng.uniform(7.0, 24.0, 40)
    lons = rng.uniform(102.0, 112.0, 40)
    lengths = rng.choice([2, 4, 6, 8, 10, 10, 10], 40)
    for lat, lon, length in zip(lats.tolist(), lons.tolist(), lengths.tolist()):
        response = client.get(f"/v1/codes/encode?lat={lat!r}&lon={lon!r}&length={length}")
        assert response.status_code == 200, (lat, lon, response.json)
        assert response.json == encode_point(lat, lon, length=length), (lat, lon, length)


def test_encode_bad_parameters_are_named(client: FlaskClient) -> None:
    body = problem(client.get("/v1/codes/encode?lat=21"), 400, "invalid-input")
    assert body["invalid-params"][0]["name"] == "lon"
    body = problem(client.get("/v1/codes/encode?lat=95&lon=105"), 400, "invalid-input")
    assert body["invalid-params"][0]["name"] == "lat"
    problem(client.get("/v1/codes/encode?lat=21&lon=105&length=11"), 400)
    problem(client.get("/v1/codes/encode?lat=21&lon=105&format=xml"), 400)
    problem(client.get("/v1/codes/encode?lat=50&lon=10"), 422, "outside-domain")


def test_decode_full_display_and_local_codes(client: FlaskClient) -> None:
    for code in ("W5Y7DH420Y", "W5Y7-DH4-20Y", "w5y7 dh4 20y"):
        response = client.get(f"/v1/codes/{code}")
        assert response.status_code == 200, code
        assert response.json == decode_any("W5Y7DH420Y")
    local = client.get("/v1/codes/11119-7DH420Y").json
    assert local["code"] == "W5Y7DH420Y" and local["local"]["scheme"] == "2025"
    cell = client.get("/v1/codes/W5Y7DH420Y?format=geojson").json
    assert cell["geometry"]["type"] == "Polygon" and cell["properties"]["commune_code"] == "00008"


def test_invalid_code_suggests_the_valid_neighbours(client: FlaskClient) -> None:
    body = problem(client.get("/v1/codes/W5Y7DH42Y0"), 400, "invalid-code")
    assert "W5Y7DH420Y" in body["suggestions"]
    assert body["invalid-params"][0]["name"] == "code"
    assert problem(client.get("/v1/codes/" + "X" * 80), 400, "invalid-code")["suggestions"] == []


def test_decode_unknown_postal_code_is_not_found(client: FlaskClient) -> None:
    problem(client.get("/v1/codes/99999-7DH420Y"), 404)


def test_batch_encodes_and_decodes_with_row_errors(client: FlaskClient) -> None:
    response = client.post("/v1/codes/batch", json={
        "encode": [list(HANOI), {"lat": 10.7726, "lon": 106.698}, [100, 200]],
        "decode": ["W5Y7-DH4-20Y", "11119-7DH420Y", "W5Y7DH42Y0", ""],
    })
    assert response.status_code == 200, response.json
    encoded, decoded = response.json["encode"], response.json["decode"]
    assert encoded[0]["code"] == "W5Y7DH420Y" and encoded[0]["error"] is None
    assert encoded[1]["commune_code"] == "26743"
    assert encoded[2]["code"] is None and encoded[2]["error"]
    assert [row["full_code"] for row in decoded[:2]] == ["W5Y7DH420Y", "W5Y7DH420Y"]
    assert decoded[2]["error"] and decoded[3]["error"]
    # an item of the wrong shape is the caller's bug: the whole request fails, naming it
    bad = problem(client.post("/v1/codes/batch", json={"encode": [list(HANOI), "nope"]}), 400)
    assert bad["invalid-params"][0]["name"] == "encode[1]"
    bad = problem(client.post("/v1/codes/batch", json={"decode": ["W5Y7DH420Y", 7]}), 400)
    assert bad["invalid-params"][0]["name"] == "decode[1]"
    geo = client.post("/v1/codes/batch?format=geojson", json={"encode": [list(HANOI)]})
    assert geo.mimetype == "application/geo+json" and geo.json["type"] == "FeatureCollection"


def test_batch_limits_and_bad_bodies(client: FlaskClient, fresh_app) -> None:
    problem(client.post("/v1/codes/batch", json={}), 400, "invalid-input")
    problem(client.post("/v1/codes/batch", json={"encode": "x"}), 400)
    problem(client.post("/v1/codes/batch", json={"encode": [list(HANOI)], "length": "ten"}), 400)
    problem(client.post("/v1/codes/batch", json={"decode": ["W5Y7DH420Y"], "length": 11}), 400)
    problem(client.post("/v1/codes/batch", json=[1, 2]), 400, "bad-request")
    problem(client.post("/v1/codes/batch", data="{", content_type="application/json"), 400, "bad-request")
    problem(client.post("/v1/codes/batch", data="a=b"), 415, "unsupported-media-type")
    small = fresh_app(max_codes_batch=2, rate_limits_enabled=False).test_client()
    body = problem(small.post("/v1/codes/batch", json={"decode": ["A", "B", "C"]}), 413, "batch-too-large")
    assert body["max_items"] == 2 and body["invalid-params"][0]["name"] == "decode"
