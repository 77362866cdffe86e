"""Reverse geocoding over HTTP: the library's fields at the top level, one or 10,000 points at once."""

from __future__ import annotations

import numpy as np
from flask.testing import FlaskClient

from tests.api.conftest import HANOI, problem
from vpostcode.reverse_geocode import get_reverse_geocoder


def test_reverse_has_the_library_fields_at_the_top_level(client: FlaskClient) -> None:
    response = client.get(f"/v1/reverse?lat={HANOI[0]}&lon={HANOI[1]}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json == get_reverse_geocoder().reverse(*HANOI).to_dict()
    assert (response.json["commune_code"], response.json["postal_code"]) == ("00008", "11119")
    assert list(response.json)[:4] == ["lat", "lon", "commune_code", "commune_name"]


def test_reverse_geojson_by_accept_or_format(client: FlaskClient) -> None:
    url = f"/v1/reverse?lat={HANOI[0]}&lon={HANOI[1]}"
    for response in (client.get(url, headers={"Accept": "application/geo+json"}), client.get(url + "&format=geojson")):
        assert response.mimetype == "application/geo+json"
        assert response.json["type"] == "Feature"
        assert response.json["properties"]["address_code"] == "W5Y7DH420Y"
    plain = client.get(f"/v1/reverse?lat={HANOI[0]}&lon={HANOI[1]}",
                       headers={"Accept": "application/json, application/geo+json;q=0.5"})
    assert plain.mimetype == "application/json"


def test_reverse_at_sea_and_in_vn2000(client: FlaskClient) -> None:
    sea = client.get("/v1/reverse?lat=17.0&lon=110.0").json
    assert sea["commune_code"] is None and sea["match"] == "none"
    # the same place in VN-2000 / TM-3 zone 105-30 (EPSG:9209), northing then easting
    vn = client.get("/v1/reverse?lat=2326705.19&lon=532481.92&crs=EPSG:9209").json
    assert vn["commune_code"] is not None and vn["province_code"] == "01"


def test_reverse_errors(client: FlaskClient) -> None:
    assert problem(client.get("/v1/reverse?lon=105"), 400)["invalid-params"][0]["name"] == "lat"
    assert problem(client.get("/v1/reverse?lat=x&lon=105"), 400)["invalid-params"][0]["name"] == "lat"
    problem(client.get("/v1/reverse?lat=nan&lon=105"), 400)
    problem(client.get("/v1/reverse?lat=91&lon=105"), 400, "invalid-coordinate")
    problem(client.get("/v1/reverse?lat=21&lon=105&crs=EPSG:2154"), 400, "unknown-crs")


def test_batch_places_every_point_in_one_call(client: FlaskClient) -> None:
    rng = np.random.default_rng(7)
    lats, lons = rng.uniform(8.5, 23.0, 300), rng.uniform(102.5, 109.0, 300)
    points = [[float(a), float(b)] for a, b in zip(lats, lons)]
    response = client.post("/v1/reverse/batch", json={"points": [*points, {"lat": 21.0, "lon": 105.8}, [91, 0]]})
    assert response.status_code == 200
    rows = response.json["results"]
    assert len(rows) == 302
    expected = get_reverse_geocoder().reverse_many(lats, lons)
    wanted = [code if isinstance(code, str) else None for code in expected["commune_code"]]
    assert [row["commune_code"] for row in rows[:300]] == wanted
    assert rows[300]["error"] is None and rows[300]["commune_code"]
    assert rows[301]["error"] and rows[301]["match"] == "invalid"
    for item in ("x", [1], {"lat": 1}, [True, 1], {"lat": "1", "lon": 2}, [None, 1]):
        body = problem(client.post("/v1/reverse/batch", json={"points": [list(HANOI), item]}), 400)
        assert body["invalid-params"][0]["name"] == "points[1]"


def test_batch_size_limit_crs_and_geojson(client: FlaskClient, fresh_app) -> None:
    geo = client.post("/v1/reverse/batch", json={"points": [list(HANOI)]}, headers={"Accept": "application/geo+json"})
    assert geo.mimetype == "application/geo+json" and len(geo.json["features"]) == 1
    vn = client.post("/v1/reverse/batch", json={"points": [[2326705.19, 532481.92]], "crs": 9209}).json
    assert vn["results"][0]["province_code"] == "01"
    problem(client.post("/v1/reverse/batch", json={"points": [list(HANOI)], "crs": "EPSG:1"}), 400, "unknown-crs")
    problem(client.post("/v1/reverse/batch", json={"points": [list(HANOI)], "crs": True}), 400)
    problem(client.post("/v1/reverse/batch", json={}), 400)
    big = client.post("/v1/reverse/batch", json={"points": [list(HANOI)] * 10_001})
    assert problem(big, 413, "batch-too-large")["max_items"] == 10_000
    full = client.post("/v1/reverse/batch", json={"points": [list(HANOI)] * 10_000})
    assert full.status_code == 200 and len(full.json["results"]) == 10_000


def test_concurrent_requests_get_their_own_answers(app) -> None:
    """Threads (as gunicorn's) hitting /v1/reverse and the store at once: every answer is the right one."""
    import threading

    rng = np.random.default_rng(21)
    points = list(zip(rng.uniform(20.9, 21.1, 96).tolist(), rng.uniform(105.7, 105.9, 96).tolist()))
    failures: list[str] = []

    def worker(chunk: list[tuple[float, float]]) -> None:
        client = app.test_client()
        for lat, lon in chunk:
            got = client.get(f"/v1/reverse?lat={lat}&lon={lon}").json
            if got != get_reverse_geocoder().reverse(lat, lon).to_dict():
                failures.append(f"{lat},{lon}")
            if client.get("/v1/postal-points?limit=5").status_code != 200:
                failures.append("points")

    threads = [threading.Thread(target=worker, args=(points[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
