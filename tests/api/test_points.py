"""Postal points over HTTP: public reads by commune, box and distance; writes with ``points:write``."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.conftest import bearer, problem


def test_commune_points(client: FlaskClient) -> None:
    body = client.get("/v1/communes/00004/postal-points").json
    assert [p["source_key"] for p in body["points"]] == ["ba-dinh"]
    geo = client.get("/v1/communes/00004/postal-points?format=geojson").json
    assert geo["features"][0]["geometry"]["coordinates"] == [105.8364, 21.0394]
    assert client.get("/v1/communes/00008/postal-points").json["points"] == []
    problem(client.get("/v1/communes/99999/postal-points"), 404, "unknown-commune")


def test_points_by_box_and_distance(client: FlaskClient) -> None:
    box = client.get("/v1/postal-points?bbox=105.7,20.9,105.9,21.1").json["points"]
    assert {p["source_key"] for p in box} >= {"ba-dinh", "hoan-kiem"}
    assert "ben-thanh" not in {p["source_key"] for p in box}
    near = client.get("/v1/postal-points?near=21.03,105.85&radius=3000").json["points"]
    assert near[0]["source_key"] == "hoan-kiem" and near[0]["distance_m"] < near[-1]["distance_m"] + 1
    staffed = client.get("/v1/postal-points?staffed=false").json["points"]
    assert [p["source_key"] for p in staffed] == ["ben-thanh"]
    agents = client.get("/v1/postal-points?kind=agent&limit=1").json
    assert agents["limit"] == 1 and len(agents["points"]) == 1
    assert client.get("/v1/postal-points?format=geojson").json["type"] == "FeatureCollection"


def test_point_query_errors(client: FlaskClient) -> None:
    assert problem(client.get("/v1/postal-points?bbox=1,2,3"), 400)["invalid-params"][0]["name"] == "bbox"
    problem(client.get("/v1/postal-points?bbox=106,21,105,22"), 400, "invalid-input")
    problem(client.get("/v1/postal-points?near=21,105"), 400)
    problem(client.get("/v1/postal-points?near=21,105&radius=-1"), 400)
    problem(client.get("/v1/postal-points?near=21,105&radius=10&bbox=1,2,3,4"), 400)
    problem(client.get("/v1/postal-points?staffed=maybe"), 400)
    problem(client.get("/v1/postal-points?offset=149663876339294499121589490024448"), 400)  # never a driver overflow
    problem(client.get("/v1/postal-points/123456789"), 404, "unknown-point")
    problem(client.get("/v1/postal-points/99999999999999999999999"), 404, "unknown-point")


def test_create_change_delete_a_point(client: FlaskClient, keys: dict[str, str]) -> None:
    auth = bearer(keys["points"])
    new = {"source": "api-test", "source_key": "k1", "kind": "locker", "name": "Tủ Phố Huế", "lat": 21.0136,
           "lon": 105.8516, "staffed": False}
    created = client.post("/v1/postal-points", json=new, headers=auth)
    assert created.status_code == 201, created.json
    point = created.json
    assert point["commune_code"] and created.headers["Location"] == f"/v1/postal-points/{point['id']}"
    assert client.get(created.headers["Location"]).json["name"] == "Tủ Phố Huế"
    problem(client.post("/v1/postal-points", json=new, headers=auth), 409, "conflict")
    moved = client.patch(f"/v1/postal-points/{point['id']}", json={"lat": 10.7726, "lon": 106.698}, headers=auth)
    assert moved.status_code == 200 and moved.json["commune_code"] == "26743"
    renamed = client.patch(f"/v1/postal-points/{point['id']}", json={"name": "Tủ mới"}, headers=auth).json
    assert renamed["name"] == "Tủ mới" and renamed["commune_code"] == "26743"
    assert client.delete(f"/v1/postal-points/{point['id']}", headers=auth).status_code == 204
    problem(client.delete(f"/v1/postal-points/{point['id']}", headers=auth), 404, "unknown-point")
    problem(client.patch(f"/v1/postal-points/{point['id']}", json={"name": "x"}, headers=auth), 404)


def test_point_writes_validate(client: FlaskClient, keys: dict[str, str]) -> None:
    auth = bearer(keys["points"])
    base = {"source": "api-test", "source_key": "bad", "kind": "agent", "name": "x", "lat": 21.0, "lon": 105.8}
    body = problem(client.post("/v1/postal-points", json={**base, "kind": "shop"}, headers=auth), 422)
    assert body["invalid-params"][0]["name"] == "kind"
    problem(client.post("/v1/postal-points", json={**base, "lat": 17.0, "lon": 110.0}, headers=auth), 400)
    problem(client.post("/v1/postal-points", json={**base, "lat": 95}, headers=auth), 422, "invalid-record")
    problem(client.post("/v1/postal-points", json={**base, "commune_code": "26743"}, headers=auth), 400)
    problem(client.post("/v1/postal-points", json={**base, "colour": "red"}, headers=auth), 422)
    problem(client.post("/v1/postal-points", json=[base], headers=auth), 400, "bad-request")
    problem(client.patch("/v1/postal-points/1", json={}, headers=auth), 400, "bad-request")
    problem(client.patch("/v1/postal-points/1", json={"kind": "shop"}, headers=auth), 422)
