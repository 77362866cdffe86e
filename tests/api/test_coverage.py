"""Coverage over HTTP: computed on the store's current points, cached per store state."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.conftest import bearer, problem
from vpostcode.coverage import get_model
from vpostcode.features import store_points
from vpostcode.store import Store


def test_summary_is_the_library_answer_on_the_stored_points(client: FlaskClient, store: Store) -> None:
    body = client.get("/v1/coverage/summary").json
    assert body == get_model().summary(store_points(store).points)
    assert body["staffed_points"] >= 2 and body["communes"] == 3319
    assert client.get("/v1/coverage/summary?radius_km=2").json["radius_km"] == 2.0
    problem(client.get("/v1/coverage/summary?radius_km=0"), 400)
    problem(client.get("/v1/coverage/summary?radius_km=1000"), 400)


def test_answers_follow_the_store(client: FlaskClient, keys: dict[str, str]) -> None:
    before = client.get("/v1/coverage/summary").json
    assert client.get("/v1/coverage/summary").json == before  # cached, same state
    created = client.post("/v1/postal-points", headers=bearer(keys["points"]), json={
        "source": "coverage-test", "source_key": "hue", "kind": "post_office", "name": "Bưu cục Huế",
        "lat": 16.4637, "lon": 107.5909}).json
    try:
        after = client.get("/v1/coverage/summary").json
        assert after["staffed_points"] == before["staffed_points"] + 1
        assert after["served"] > before["served"]
    finally:
        client.delete(f"/v1/postal-points/{created['id']}", headers=bearer(keys["points"]))
    assert client.get("/v1/coverage/summary").json == before


def test_gaps_by_province(client: FlaskClient) -> None:
    national = client.get("/v1/coverage/gaps").json
    assert len(national["provinces"]) == 34
    hanoi = client.get("/v1/coverage/gaps?province=Hà Nội").json
    assert hanoi["province"]["code"] == "01" and [p["code"] for p in hanoi["provinces"]] == ["01"]
    assert hanoi["unserved"] < hanoi["communes"] == 126
    problem(client.get("/v1/coverage/gaps?province=Atlantis"), 404, "unknown-province")


def test_communes_geojson_and_one_commune(client: FlaskClient) -> None:
    collection = client.get("/v1/coverage/communes?province=01")
    assert collection.mimetype == "application/geo+json"
    statuses = {f["properties"]["code"]: f["properties"]["status"] for f in collection.json["features"]}
    assert len(statuses) == 126 and statuses["00004"] == "inside"
    one = client.get("/v1/coverage/communes/00004").json
    assert one["status"] == "inside" and one["staffed_points"] == 1 and one["geometry"]["type"]
    feature = client.get("/v1/coverage/communes/00004?format=geojson").json
    assert feature["type"] == "Feature" and feature["properties"]["code"] == "00004"
    assert client.get("/v1/coverage/communes/00008").json["status"] in ("nearby", "inside")
    problem(client.get("/v1/coverage/communes/99999"), 404, "unknown-commune")


def test_suggest_sites(client: FlaskClient) -> None:
    body = client.post("/v1/coverage/suggest", json={"k": 2, "province": "01", "time_limit_s": 5}).json
    assert body["k"] == 2 and len(body["sites"]) == 2 and body["province"]["code"] == "01"
    assert body["covered_after"] >= body["covered_before"]
    problem(client.post("/v1/coverage/suggest", json={"k": 0}), 400)
    problem(client.post("/v1/coverage/suggest", json={"k": 1000}), 400)
    problem(client.post("/v1/coverage/suggest", json={"k": "five"}), 400)
    problem(client.post("/v1/coverage/suggest", json={"radius_km": 0}), 400)
    problem(client.post("/v1/coverage/suggest", json={"time_limit_s": 600}), 400)
    problem(client.post("/v1/coverage/suggest", json={"province": "Atlantis"}), 404)


def test_map_png(client: FlaskClient) -> None:
    response = client.get("/v1/coverage/map.png?province=01")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data[:8] == b"\x89PNG\r\n\x1a\n" and len(response.data) > 10_000
    problem(client.get("/v1/coverage/map.png?province=Atlantis"), 404)
