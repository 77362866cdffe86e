"""API keys: reads are public; writes and private data need a key with the scope (401 without, 403 with another)."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.api.conftest import bearer, problem

NEW_POINT = {"source": "auth-test", "source_key": "a", "kind": "agent", "name": "x", "lat": 21.0, "lon": 105.8}


def test_writes_need_a_key(client: FlaskClient) -> None:
    for response in (client.post("/v1/postal-points", json=NEW_POINT), client.patch("/v1/postal-points/1", json={}),
                     client.delete("/v1/postal-points/1"), client.post("/v1/addresses", json={}),
                     client.delete("/v1/addresses/W5Y7DH420Y")):
        body = problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert body["required_scope"] in ("points:write", "registry:write")


def test_bad_keys_are_401(client: FlaskClient, keys: dict[str, str]) -> None:
    for header in ({"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"},
                   bearer("vpk_000000000000_" + "A" * 43), bearer("not-a-token"), bearer(keys["revoked"])):
        response = client.post("/v1/postal-points", json=NEW_POINT, headers=header)
        problem(response, 401, "unauthorized")
        assert "error=" in response.headers["WWW-Authenticate"]
    # where a key would add private data, a bad one is refused rather than ignored
    problem(client.get("/v1/addresses/W5Y7DH420Y", headers=bearer("vpk_000000000000_" + "A" * 43)), 401)


def test_wrong_scope_is_403(client: FlaskClient, keys: dict[str, str]) -> None:
    for token in (keys["none"], keys["registry"], keys["private"]):
        response = client.post("/v1/postal-points", json=NEW_POINT, headers=bearer(token))
        body = problem(response, 403, "forbidden")
        assert body["required_scope"] == "points:write"
        assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    problem(client.post("/v1/addresses", json={}, headers=bearer(keys["points"])), 403, "forbidden")
    problem(client.delete("/v1/addresses/W5Y7DH420Y", headers=bearer(keys["private"])), 403, "forbidden")


def test_reads_are_public(client: FlaskClient) -> None:
    assert client.get("/v1/postal-points").status_code == 200
    assert client.get("/v1/provinces").status_code == 200
