"""Alembic migration scripts of the store, run programmatically by :func:`vpostcode.store.migrate.upgrade`."""
