"""Running the store's Alembic migrations from code, safely when several processes open a store at once.

The whole upgrade runs in one transaction, so a failing revision leaves the database as it was (PostgreSQL and
SQLite both have transactional DDL). Before Alembic reads the current revision, the transaction takes a lock
that serialises concurrent upgraders: ``BEGIN IMMEDIATE`` (the write lock) on SQLite, a transaction-scoped
advisory lock on PostgreSQL. The second process then finds the schema at head and does nothing, which is also
what makes :func:`upgrade` idempotent.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from vpostcode.store.engine import WRITE_OPTION

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE: Final = "vpostcode_store_version"
"""Alembic's version table, named for the store so that it cannot clash with another Alembic user of the DB."""

PG_LOCK_KEY: Final = 0x7670_6F73_7431
"""Key of the PostgreSQL advisory lock held while migrating (any constant unique to vpostcode)."""

_PROCESS_LOCK: Final = threading.Lock()
"""Alembic keeps its running context in module globals, so two threads of one process must not migrate at once."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration for the store's scripts, without an ini file; ``connection`` is used by env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The newest revision among the store's scripts."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the store has no migration scripts"
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The revision a database is at, or None when the store was never migrated into it."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _has_version_table(connection: sa.Connection) -> bool:
    """True when the store's version table exists (reading it otherwise would fail on PostgreSQL)."""
    return sa.inspect(connection).has_table(VERSION_TABLE)


def upgrade(engine: sa.Engine, target: str = "head") -> str | None:
    """Bring the database to ``target`` (default: head) in one locked transaction; return the revision reached.

    A database already at head is recognised by one read, without taking any lock.
    """
    if target == "head":
        with engine.connect() as connection, connection.begin():
            if _has_version_table(connection) and current_revision(connection) == head_revision():
                return head_revision()
    with _PROCESS_LOCK, engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            command.upgrade(alembic_config(connection), target)
            return current_revision(connection)


def downgrade(engine: sa.Engine, target: str = "base") -> str | None:
    """Revert the database to ``target`` (default: empty) in one locked transaction; for tests and rollbacks."""
    with _PROCESS_LOCK, engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            command.downgrade(alembic_config(connection), target)
            return current_revision(connection)
