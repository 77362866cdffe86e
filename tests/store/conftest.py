"""Fixtures for the store suite: every test that takes ``backend`` runs on SQLite + SpatiaLite and on PostGIS.

The PostGIS run uses the real local server ($VPOSTCODE_TEST_POSTGIS_URL, default the ``test`` database, used
only as a maintenance connection): each test session creates its own databases there and drops them at the
end. When the server is unreachable the PostGIS run is skipped, except under CI where it fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import in_ci
from vpostcode.store import Store, open_store
from vpostcode.store.engine import parse_url

BACKENDS = ("sqlite", pytest.param("postgis", marks=pytest.mark.postgis))
ADMIN_URL = os.environ.get("VPOSTCODE_TEST_POSTGIS_URL", "postgresql://postgres@127.0.0.1:5432/test")
TABLES = ("postal_points", "registered_addresses", "api_keys")

FreshUrl = Callable[[str], str]


class PostgisServer:
    """Creates throw-away databases on the local server and drops them all at the end of the session."""

    def __init__(self, admin_url: str) -> None:
        self.admin = sa.create_engine(
            parse_url(admin_url),
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 5},
            poolclass=sa.NullPool,
        )
        self.prefix = f"vpostcode_store_test_{os.getpid()}_{secrets.token_hex(3)}"
        self.created: list[str] = []

    def check(self) -> None:
        """Connect once and make sure PostGIS can be installed; raise when not."""
        with self.admin.connect() as conn:
            available = conn.execute(
                sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
            ).first()
        if available is None:
            raise RuntimeError("the postgis extension is not installed on the server")

    def create(self) -> str:
        """A new, empty database; its URL."""
        name = f"{self.prefix}_{len(self.created)}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database this session created (even with connections still open)."""
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[PostgisServer]:
    """The local PostGIS server, or a skip (a failure under CI) when it cannot be used."""
    server = PostgisServer(ADMIN_URL)
    try:
        server.check()
    except Exception as exc:  # any reason to be unusable is reported the same way
        server.admin.dispose()
        message = f"PostGIS server unusable at {ADMIN_URL}: {exc}".splitlines()[0]
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def fresh_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> FreshUrl:
    """A factory of URLs of new, empty databases for a backend (SQLite files or PostGIS databases)."""
    counter = iter(range(1_000_000))

    def make(backend: str) -> str:
        if backend == "sqlite":
            directory: Path = tmp_path_factory.mktemp("store")
            return f"sqlite:///{directory / f'store-{next(counter)}.sqlite'}"
        server: PostgisServer = request.getfixturevalue("postgis_server")
        return server.create()

    return make


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: ``sqlite`` (SpatiaLite) or ``postgis`` (marked ``postgis``)."""
    if request.param == "postgis":
        request.getfixturevalue("postgis_server")
    return str(request.param)


@pytest.fixture(scope="session")
def session_urls(fresh_url: FreshUrl) -> dict[str, str]:
    """One migrated database per backend for the whole session, created on first use."""
    return {}


@pytest.fixture
def store_url(backend: str, fresh_url: FreshUrl, session_urls: dict[str, str]) -> str:
    """The URL of this session's shared database for the backend under test."""
    if backend not in session_urls:
        session_urls[backend] = fresh_url(backend)
    return session_urls[backend]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store with every table emptied, on the backend under test."""
    opened = open_store(store_url)
    with opened.engine.begin() as conn:
        for table in TABLES:
            conn.execute(sa.text(f"DELETE FROM {table}"))
    yield opened
    opened.close()
