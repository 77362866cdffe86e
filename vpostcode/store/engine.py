"""Choosing the database and opening it: URL resolution, engines for SQLite + SpatiaLite and PostgreSQL + PostGIS,
and turning driver errors into the library's own.

URL resolution follows :mod:`vpostcode.config`: an argument, then ``$VPOSTCODE_DATABASE_URL``, then the embedded
default ``sqlite:///<data dir>/vpostcode.sqlite``.

SQLite connections are set up on connect:

* SpatiaLite is loaded as a run-time extension (``mod_spatialite``, or ``$SPATIALITE_LIBRARY_PATH``) — the same
  thing ``geoalchemy2.load_spatialite`` does, minus its metadata initialisation, which the first migration does
  under the write lock so that two processes opening a new file cannot both initialise it. The standard
  ``sqlite3`` module is used when its build can load extensions; otherwise (pyenv and some other builds omit it)
  the drop-in ``pysqlite3`` (PyPI ``pysqlite3-binary``) is used.
* ``journal_mode=WAL``: readers never block the single writer and the writer never blocks readers, so the API can
  serve reads while an import runs; ``synchronous=FULL`` keeps every committed transaction across a power cut.
* ``busy_timeout``: a writer that finds the write lock taken waits (up to 30 s) instead of failing at once.
* ``secure_delete=ON``: deleted rows (a household's contact details) are overwritten with zeros in the file,
  not merely unlinked.
* The driver's own transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself: plain ``BEGIN``
  for reads and ``BEGIN IMMEDIATE`` for writes, so a writer takes the write lock before it reads and two
  writers queue on the busy timeout instead of failing with SQLITE_BUSY on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any, Final

# pyproj must be loaded before mod_spatialite: both link PROJ, and when SpatiaLite's copy is initialised first the
# process aborts at exit ("double free or corruption"). Importing it here fixes the order for every caller.
import pyproj  # noqa: F401
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from vpostcode.config import data_dir
from vpostcode.errors import DatabaseUnavailableError, StorageError

DATABASE_URL_ENV: Final = "VPOSTCODE_DATABASE_URL"
DEFAULT_DB_FILENAME: Final = "vpostcode.sqlite"
SPATIALITE_ENV: Final = "SPATIALITE_LIBRARY_PATH"
SPATIALITE_DEFAULT: Final = "mod_spatialite"
BUSY_TIMEOUT_MS: Final = 30_000
PG_CONNECT_TIMEOUT_S: Final = 5
WRITE_OPTION: Final = "vpostcode_write"
"""Execution option that marks a connection's next transaction as a write (``BEGIN IMMEDIATE`` on SQLite)."""


def database_url(explicit: str | URL | None = None) -> str:
    """The database URL: the argument, else ``$VPOSTCODE_DATABASE_URL``, else a SQLite file in the data dir."""
    if explicit is not None:
        return explicit.render_as_string(hide_password=False) if isinstance(explicit, URL) else str(explicit)
    if env := os.environ.get(DATABASE_URL_ENV):
        return env
    return f"sqlite:///{(data_dir() / DEFAULT_DB_FILENAME).resolve()}"


def redact(url: str | URL) -> str:
    """The URL with any password replaced by ``***``, safe for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable database URL>"


def parse_url(url: str) -> URL:
    """Parse and check a database URL: only ``sqlite`` and ``postgresql`` backends are served."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError as err:
        raise DatabaseUnavailableError(f"not a database URL: {redact(url)} ({err})", url=redact(url)) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUnavailableError(
            f"unsupported database {backend!r} in {redact(parsed)}: use sqlite:///PATH or postgresql://...",
            url=redact(parsed),
        )
    if parsed.drivername == "postgresql":  # SQLAlchemy 2.1 would pick psycopg 3; the postgis extra ships psycopg2
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


# ------------------------------------------------------------------------------------------------------- SQLite


def sqlite_dbapi() -> ModuleType:
    """A ``sqlite3``-compatible module that can load extensions (stdlib first, then ``pysqlite3``)."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        return importlib.import_module("pysqlite3.dbapi2")
    except ImportError:
        raise DatabaseUnavailableError(
            "this Python's sqlite3 cannot load extensions (SpatiaLite): pip install pysqlite3-binary",
        ) from None


def _load_spatialite(dbapi_conn: Any) -> None:
    """Load the SpatiaLite extension into one raw connection."""
    library = os.environ.get(SPATIALITE_ENV, SPATIALITE_DEFAULT)
    dbapi_conn.enable_load_extension(True)
    try:
        dbapi_conn.load_extension(library)
    except Exception as err:
        raise DatabaseUnavailableError(
            f"cannot load SpatiaLite ({library}): {err}; install it (apt-get install libsqlite3-mod-spatialite)"
            f" or set ${SPATIALITE_ENV}",
        ) from None
    finally:
        dbapi_conn.enable_load_extension(False)


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    """Configure a new SQLite connection: our own BEGIN, SpatiaLite, busy timeout, WAL, secure delete."""
    dbapi_conn.isolation_level = None
    _load_spatialite(dbapi_conn)
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA secure_delete = ON")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: sa.Connection) -> None:
    """Emit BEGIN ourselves: IMMEDIATE (take the write lock now) for writes, DEFERRED for reads."""
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_engine(url: URL) -> sa.Engine:
    database = url.database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if not memory:
        path = Path(database)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DatabaseUnavailableError(
                f"cannot create the directory for {redact(url)}: {err.strerror}", url=redact(url)
            ) from None
    kwargs: dict[str, Any] = {
        "module": sqlite_dbapi(),
        "connect_args": {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        "json_serializer": _json_dumps,
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


# --------------------------------------------------------------------------------------------------- PostgreSQL


def _pg_engine(url: URL) -> sa.Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    connect_args["application_name"] = url.query.get("application_name", "vpostcode")
    return sa.create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,
        json_serializer=_json_dumps,
    )


def _json_dumps(value: Any) -> str:
    """JSON with sorted keys, so that equal objects serialise to equal text (the upsert compares them)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url`` (already resolved), configured for its backend."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    return _pg_engine(parsed)


# ------------------------------------------------------------------------------------------------------- errors

_UNAVAILABLE_SQLITE = ("unable to open database", "disk i/o error", "not a database", "readonly database")


def is_unavailable(err: exc.DBAPIError, backend: str) -> bool:
    """True when a driver error means the database cannot be reached or opened (as opposed to a bad statement)."""
    if err.connection_invalidated:
        return True
    if backend == "sqlite":
        message = str(err.orig).lower()
        return any(part in message for part in _UNAVAILABLE_SQLITE)
    code = sqlstate(err)
    if code is None:
        return isinstance(err, exc.OperationalError | exc.InterfaceError)
    return str(code).startswith(("08", "57P", "53", "3D"))


def retryable(err: exc.DBAPIError, backend: str) -> bool:
    """True for a PostgreSQL deadlock or serialization failure, which a retry of the transaction resolves."""
    return backend == "postgresql" and sqlstate(err) in ("40P01", "40001")


def sqlstate(err: exc.DBAPIError) -> str | None:
    """The SQLSTATE of a PostgreSQL error (``pgcode`` in psycopg2, ``sqlstate`` in psycopg 3), if any."""
    code = getattr(err.orig, "pgcode", None) or getattr(err.orig, "sqlstate", None)
    return str(code) if code else None


def unavailable_error(err: BaseException, url: str | URL) -> DatabaseUnavailableError:
    """A DatabaseUnavailableError naming the URL without its password, and the driver's reason."""
    safe = redact(url)
    reason = _reason(err, url)
    return DatabaseUnavailableError(f"database unavailable at {safe}: {reason}", url=safe)


def storage_error(err: BaseException, url: str | URL, action: str) -> StorageError:
    """A StorageError for a failed ``action`` with the driver's reason (password removed)."""
    return StorageError(f"{action} failed on {redact(url)}: {_reason(err, url)}", url=redact(url))


def _reason(err: BaseException, url: str | URL) -> str:
    """The first line of the driver's message, with the password scrubbed should the driver echo it."""
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    with contextlib.suppress(exc.ArgumentError):
        password = make_url(url).password
        if password:
            text = text.replace(str(password), "***")
    return text
