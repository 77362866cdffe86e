"""Storage for vpostcode: postal points, registered digital addresses and API keys behind one repository.

``open_store(url)`` returns a :class:`Store` over SQLite + SpatiaLite (the embedded default, no server) or
PostgreSQL + PostGIS, chosen by the URL (argument > ``$VPOSTCODE_DATABASE_URL`` >
``sqlite:///<data dir>/vpostcode.sqlite``), with the schema migrated by Alembic. Callers get plain dataclasses,
never ORM objects, and the library's own exceptions.

Design choices, and why:

* **SQLAlchemy Core + GeoAlchemy2, not the ORM.** The store's operations are set-wise (batch upserts, spatial
  filters, whole-table arrays); Core expresses them directly and nothing stateful (sessions, identity maps)
  can leak to callers, who receive frozen dataclasses.
* **Points are geometry(Point, 4326) with a spatial index on both backends** (GiST on PostGIS, an R*Tree on
  SpatiaLite). Filters run in SQL: an index prefilter on a box, then an exact test; distances are metres on
  the WGS 84 ellipsoid (PostGIS geography; SpatiaLite ``ST_Distance(a, b, 1)``).
* **Upsert is one ``INSERT ... ON CONFLICT (source, source_key) DO UPDATE ... WHERE <something changed>``**
  on both dialects: atomic per row under concurrency (no read-then-write race), idempotent (re-importing the
  same offices writes nothing and keeps ``updated_at``), and counted exactly (PostgreSQL's ``xmax = 0`` marks
  inserted rows; on SQLite the writer holds the write lock, so the keys present beforehand are the updates).
  A batch is one transaction: a failure anywhere leaves no partial rows. Rows are written in key order so
  concurrent PostgreSQL writers lock in the same order; a deadlock or serialization failure is retried.
* **SQLite runs in WAL mode with a busy timeout and ``BEGIN IMMEDIATE`` for writes.** WAL lets readers and the
  one writer proceed together; the busy timeout makes a second writer wait instead of failing; taking the write
  lock at BEGIN avoids the lock-upgrade deadlock that makes deferred transactions fail with SQLITE_BUSY.
* **Contact details of a household are private columns,** read only when asked for
  (``include_private=True``), stored only with consent (checked in Python and by a CHECK constraint), and
  erased with the row on delete (SQLite ``secure_delete`` plus a WAL checkpoint so they leave the file).
* **API keys are stored as SHA-256 of a 256-bit random token,** found by a short public key id; the plaintext is
  returned once by ``create_key``. A fast hash suits a high-entropy token (a slow password KDF would only add
  latency); comparison is constant-time. See :mod:`vpostcode.store.keys`.
* **Migrations are Alembic scripts inside the package,** run by ``open_store``/``Store.migrate`` in one locked
  transaction, idempotent and safe when several processes start at once.
"""

from __future__ import annotations

from vpostcode.store.engine import DATABASE_URL_ENV, database_url, redact
from vpostcode.store.records import (
    POINT_KINDS,
    PRECISIONS,
    AddressRecord,
    Contact,
    KeyInfo,
    PointRecord,
    PointsArray,
    PostalPoint,
    RegisteredAddress,
    UpsertReport,
)
from vpostcode.store.store import BBox, Near, Store, StoreStatus, near_bbox, open_store

__all__ = [
    "DATABASE_URL_ENV",
    "POINT_KINDS",
    "PRECISIONS",
    "AddressRecord",
    "BBox",
    "Contact",
    "KeyInfo",
    "Near",
    "PointRecord",
    "PointsArray",
    "PostalPoint",
    "RegisteredAddress",
    "Store",
    "StoreStatus",
    "UpsertReport",
    "database_url",
    "near_bbox",
    "open_store",
    "redact",
]
