"""Every error is an RFC 9457 problem: one map from exception to status and type, nothing internal leaks."""

from __future__ import annotations

import inspect

import pytest
from flask.testing import FlaskClient

from api import errors
from tests.api.conftest import HANOI, problem
from vpostcode import errors as lib
from vpostcode.errors import StorageError


def test_every_library_exception_has_a_status_and_a_documented_type() -> None:
    types = errors.problem_types()
    for _name, cls in inspect.getmembers(lib, inspect.isclass):
        if issubclass(cls, lib.VpostcodeError):
            assert cls.slug in types, cls
            assert types[cls.slug].status == errors.status_for(cls)
            assert 400 <= types[cls.slug].status < 600
    assert errors.status_for(lib.InvalidCodeError) == 400
    assert errors.status_for(lib.UnknownCommuneError) == 404
    assert errors.status_for(lib.ConflictError) == 409
    assert errors.status_for(lib.DatabaseUnavailableError) == 503

    class NewKindOfNotFound(lib.NotFoundError):
        slug = "something-new"

    assert errors.status_for(NewKindOfNotFound) == 404  # a later library exception inherits its parent's status


def test_404_405_route_errors(client: FlaskClient) -> None:
    problem(client.get("/v1/nothing-here"), 404, "route-not-found")
    response = client.put("/v1/reverse")
    problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["Allow"]
    problem(client.delete("/v1/codes/batch"), 405)


def test_413_for_a_large_body(client: FlaskClient) -> None:
    body = b'{"points": [' + b"[21.0, 105.8]," * 200_000 + b"[21.0, 105.8]]}"
    assert len(body) > 2 * 1024 * 1024
    response = client.post("/v1/reverse/batch", data=body, content_type="application/json")
    problem(response, 413, "payload-too-large")


def test_415_and_malformed_json(client: FlaskClient) -> None:
    problem(client.post("/v1/validate", data="<x/>", content_type="application/xml"), 415, "unsupported-media-type")
    problem(client.post("/v1/validate", data=b"\xff\xfe", content_type="application/json"), 400, "bad-request")


def test_unexpected_errors_are_500_without_internals(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.routes.gazetteer as route

    def broken() -> None:
        raise RuntimeError("SELECT secret FROM sqlite_master -- /srv/secret/path")

    monkeypatch.setattr(route, "get_gazetteer", broken)
    response = client.get("/v1/provinces")
    body = problem(response, 500, "internal-error")
    assert "secret" not in response.get_data(as_text=True)
    assert body["detail"].startswith("an unexpected error")
    assert response.headers["X-Request-Id"]


def test_storage_errors_hide_sql(client: FlaskClient, monkeypatch: pytest.MonkeyPatch, store) -> None:
    def failing(**_kwargs: object) -> None:
        raise StorageError("query of postal points failed on sqlite:////x.sqlite: SELECT * FROM postal_points")

    monkeypatch.setattr(store, "list_points", failing)
    response = client.get("/v1/postal-points")
    problem(response, 500, "storage-error")
    assert "postal_points" not in response.get_data(as_text=True)


def test_request_ids_are_echoed_or_made(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id <script>"}).headers["X-Request-Id"]
    assert made != "bad id <script>" and len(made) > 8


def test_large_answers_are_gzipped(client: FlaskClient) -> None:
    response = client.get("/v1/communes/00004?tolerance=0", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    import gzip
    import json

    assert json.loads(gzip.decompress(response.data))["code"] == "00004"
    small = client.get(f"/v1/reverse?lat={HANOI[0]}&lon={HANOI[1]}", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


def test_bodies_are_read_strictly(client: FlaskClient) -> None:
    """Numbers that would overflow deep in the library, NaN, and absurd nesting are 400s, never 500s."""
    for body in (b'{"address": "x", "lat": 1' + b"0" * 400 + b', "lon": 1}', b'{"address": NaN}',
                 b'{"address": "x", "lat": 1e999, "lon": 1}', b"[" * 100_000 + b"]" * 100_000):
        body_problem = problem(client.post("/v1/validate", data=body, content_type="application/json"), 400)
        assert body_problem["type"] == "/problems/bad-request"
    problem(client.get("/v1/postal-points?offset=" + "9" * 40), 400)
