"""The store's tables as SQLAlchemy Core objects, used to build queries.

The DDL itself belongs to the Alembic migrations (``migrations/versions``); these definitions must describe the
same columns, and ``tests/store`` checks that they do. Geometry columns are declared with ``spatial_index=False``
here because the index is created by the migration (a GiST index on PostGIS, an R*Tree on SpatiaLite).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

SRID: Final = 4326

metadata = sa.MetaData()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the backend keeps.

    PostgreSQL stores ``timestamptz``; SQLite keeps naive ISO text, so values are converted to UTC on the way in
    and marked as UTC on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Reject naive datetimes and convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Mark a naive value as UTC; convert an aware one."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON on SQLite, JSONB on PostgreSQL (JSONB has equality, which the upsert's change test needs).

    Python None is stored as SQL NULL, not as the JSON ``null``, so that "no opening hours" compares equal.
    """
    return sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def id_type() -> sa.types.TypeEngine[int]:
    """BIGINT identity on PostgreSQL; INTEGER on SQLite so that the id is the rowid the R*Tree index refers to."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def point_type() -> Geometry:
    """A 2-D point in WGS 84 longitude/latitude."""
    return Geometry(geometry_type="POINT", srid=SRID, spatial_index=False, nullable=False)


postal_points = sa.Table(
    "postal_points",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("source_key", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("address", sa.Text(), nullable=True),
    sa.Column("commune_code", sa.String(10), nullable=True),
    sa.Column("geom", point_type(), nullable=False),
    sa.Column("precision", sa.String(10), nullable=False),
    sa.Column("staffed", sa.Boolean(), nullable=False),
    sa.Column("opening_hours", json_type(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("source", "source_key", name="uq_postal_points_source_key"),
)

registered_addresses = sa.Table(
    "registered_addresses",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(32), nullable=False, unique=True),
    sa.Column("local_code", sa.String(64), nullable=True),
    sa.Column("structured", json_type(), nullable=False),
    sa.Column("commune_code", sa.String(10), nullable=False),
    sa.Column("geom", point_type(), nullable=False),
    sa.Column("consent", sa.Boolean(), nullable=False),
    sa.Column("contact_name", sa.String(200), nullable=True),
    sa.Column("contact_phone", sa.String(32), nullable=True),
    sa.Column("contact_email", sa.String(254), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("scopes", json_type(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("revoked_at", UTCDateTime(), nullable=True),
)

PRIVATE_ADDRESS_COLUMNS: Final = ("contact_name", "contact_phone", "contact_email")
"""Columns of ``registered_addresses`` that hold personal data: read only on request, erased with the row."""

POINTS_RTREE: Final = "idx_postal_points_geom"
"""SpatiaLite's R*Tree for ``postal_points.geom`` (virtual table with pkid, xmin, xmax, ymin, ymax)."""

points_rtree = sa.table(
    POINTS_RTREE,
    sa.column("pkid", sa.Integer()),
    sa.column("xmin", sa.Float()),
    sa.column("xmax", sa.Float()),
    sa.column("ymin", sa.Float()),
    sa.column("ymax", sa.Float()),
)
