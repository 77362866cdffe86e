"""The household registry over HTTP: register and delete with ``registry:write``; contact only for ``private``."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.conftest import bearer, problem

HOUSE = {"address": "12 Phố Huế, Phường Hai Bà Trưng, Hà Nội", "lat": 21.0136, "lon": 105.8516}


def test_register_lookup_delete(client: FlaskClient, keys: dict[str, str]) -> None:
    writer = bearer(keys["registry"])
    created = client.post("/v1/addresses", headers=writer,
                          json={**HOUSE, "contact": {"name": "Nguyễn Văn A", "phone": "+84 912 345 678"},
                                "consent": True})
    assert created.status_code == 201, created.json
    code = created.json["code"]
    assert created.headers["Location"] == f"/v1/addresses/{code}" and created.json["contact_stored"] is True
    try:
        public = client.get(f"/v1/addresses/{code}").json
        assert public["code"] == code and "contact" not in public
        assert "Nguyễn" not in str(public)
        private = client.get(f"/v1/addresses/{public['display_code']}", headers=bearer(keys["private"])).json
        assert private["contact"]["name"] == "Nguyễn Văn A"
        assert "contact" not in client.get(f"/v1/addresses/{code}", headers=bearer(keys["none"])).json
        local = client.get(f"/v1/addresses/{created.json['local_code']}").json
        assert local["code"] == code
        feature = client.get(f"/v1/addresses/{code}?format=geojson").json
        assert feature["geometry"]["type"] == "Point"
        problem(client.post("/v1/addresses", headers=writer, json=HOUSE), 409, "conflict")
    finally:
        assert client.delete(f"/v1/addresses/{code}", headers=writer).status_code == 204
    problem(client.get(f"/v1/addresses/{code}"), 404, "unknown-address")
    problem(client.delete(f"/v1/addresses/{code}", headers=writer), 404, "unknown-address")


def test_register_refuses_what_does_not_fit(client: FlaskClient, keys: dict[str, str]) -> None:
    writer = bearer(keys["registry"])
    body = problem(client.post("/v1/addresses", headers=writer, json={**HOUSE, "contact": {"name": "A"}}), 400)
    assert body["invalid-params"][0]["name"] == "consent"
    problem(client.post("/v1/addresses", headers=writer, json={**HOUSE, "lat": 10.7726, "lon": 106.698}), 422,
            "inconsistent-address")
    problem(client.post("/v1/addresses", headers=writer, json={**HOUSE, "lat": 17.0, "lon": 110.0}), 422)
    problem(client.post("/v1/addresses", headers=writer, json={"address": "x"}), 400)
    problem(client.post("/v1/addresses", headers=writer, json={**HOUSE, "consent": "yes"}), 400)
    problem(client.get("/v1/addresses/NOT-A-CODE"), 400, "invalid-code")
