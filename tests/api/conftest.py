"""Fixtures for the service's tests: one app per test process over the real data and a throw-away SQLite store.

The data (gazetteer and indexes) is loaded once per process by the library's caches, so the extra apps that some
tests build (other settings, other stores) cost milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from vpostcode.gazetteer import Gazetteer
from vpostcode.store import Store, open_store

HANOI = (21.0336, 105.8144)
"""A point in Phường Ngọc Hà (00008), Hà Nội."""

POINTS = [
    {"source": "test", "source_key": "ba-dinh", "kind": "post_office", "name": "Bưu cục Ba Đình",
     "lat": 21.0394, "lon": 105.8364, "commune_code": "00004"},
    {"source": "test", "source_key": "hoan-kiem", "kind": "post_office", "name": "Bưu cục Hoàn Kiếm",
     "lat": 21.0285, "lon": 105.8542},
    {"source": "test", "source_key": "ben-thanh", "kind": "agent", "name": "Đại lý Bến Thành",
     "lat": 10.7726, "lon": 106.6980, "staffed": False},
]


def pytest_configure(config: pytest.Config) -> None:
    """Register this suite's marker (the project's pyproject runs pytest with --strict-markers)."""
    config.addinivalue_line("markers", "browser: drives the map page in a real headless Chromium")


@pytest.fixture(scope="session")
def store_url(tmp_path_factory: pytest.TempPathFactory, gazetteer: Gazetteer) -> str:
    """A fresh SQLite store for this test process, with a few postal points in Hà Nội and Hồ Chí Minh City."""
    path = tmp_path_factory.mktemp("api-store") / "vpostcode.sqlite"
    url = f"sqlite:///{path}"
    from vpostcode.features import add_point

    with open_store(url) as store:
        for record in POINTS:
            add_point(store, record)
    return url


@pytest.fixture(scope="session")
def app(store_url: str) -> Flask:
    """The app under test: real data, the session's store, rate limits off (they have their own tests)."""
    return create_app({"database_url": store_url, "rate_limits_enabled": False, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture(scope="session")
def store(app: Flask) -> Store:
    """The app's own store (the one its requests use)."""
    found: Store = app.extensions["vpostcode"].store()
    return found


@pytest.fixture(scope="session")
def keys(store: Store) -> dict[str, str]:
    """Tokens by name: ``points`` (points:write), ``registry`` (registry:write), ``private`` (registry:private),
    ``none`` (no scope), ``revoked`` (points:write, revoked)."""
    tokens = {}
    for name, scopes in (("points", ["points:write"]), ("registry", ["registry:write"]),
                         ("private", ["registry:private"]), ("none", []), ("revoked", ["points:write"])):
        key_id, token = store.create_key(f"test {name}", scopes)
        tokens[name] = token
        if name == "revoked":
            store.revoke_key(key_id)
    return tokens


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status (and type), and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json", response.mimetype
    body = json.loads(response.get_data(as_text=True))
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert {"type", "title", "status", "detail"} <= set(body)
    if slug is not None:
        assert body["type"] == f"/problems/{slug}", body
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    if status >= 500:
        assert not any(leak in text.lower() for leak in ("select ", "sqlite", "postgresql://", "psycopg"))
    return body


@pytest.fixture
def fresh_app(store_url: str) -> Iterator[Any]:
    """A factory of extra apps (other settings) over the same data; closes their stores afterwards."""
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        config = {"database_url": store_url, "TESTING": True, **settings}
        made.append(create_app(config))
        return made[-1]

    yield make
    for app in made:
        app.extensions["vpostcode"].close()


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    """An empty directory (a data dir with no build in it)."""
    path = tmp_path / "empty"
    path.mkdir()
    return path
