"""Alembic environment for the store: always online, on the connection and transaction the caller opened.

:func:`vpostcode.store.migrate.upgrade` opens the connection, begins the transaction (taking the write lock on
SQLite, an advisory lock on PostgreSQL) and passes the connection in ``config.attributes["connection"]``; this
script only runs the revisions inside it, so a failed migration rolls back whole.
"""

from __future__ import annotations

from alembic import context

from vpostcode.store.migrate import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the store's migrations run only through vpostcode.store.migrate.upgrade")

context.configure(connection=connection, target_metadata=None, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
