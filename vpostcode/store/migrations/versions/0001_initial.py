"""The initial schema: postal points, registered addresses, API keys.

Both backends get the same tables. The point columns are ``geometry(Point, 4326)``: on PostGIS a typed geometry
column with a GiST index; on SpatiaLite a column registered with ``AddGeometryColumn`` (which enforces type and
SRID with triggers) and an R*Tree made by ``CreateSpatialIndex``. SpatiaLite's own metadata tables are created
here too (WGS 84 reference systems only), inside the migration's transaction and write lock.

Revision ID: 0001
Revises:
Create Date: 2025-07-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KINDS = ("post_office", "commune_cultural_post_office", "agent", "locker")
PRECISIONS = ("exact", "address", "commune")
POINT_TABLES = ("postal_points", "registered_addresses")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _id() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(), primary_key=True
    )


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _geom() -> list[sa.Column[object]]:
    """The point column for PostGIS; on SpatiaLite it is added after the table by AddGeometryColumn."""
    if _sqlite():
        return []
    return [sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False)]


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _spatialite_call(sql: str) -> None:
    """Run a SpatiaLite admin function, which reports failure by returning 0 rather than raising."""
    result = op.get_bind().execute(sa.text(sql)).scalar()
    if result != 1:
        raise RuntimeError(f"SpatiaLite refused: {sql} returned {result!r}")


def _add_point_column(table: str) -> None:
    """Add ``geom`` (Point, 4326) with its spatial index, on either backend."""
    if _sqlite():
        _spatialite_call(f"SELECT AddGeometryColumn('{table}', 'geom', 4326, 'POINT', 'XY', 1)")
        _spatialite_call(f"SELECT CreateSpatialIndex('{table}', 'geom')")
    else:
        op.create_index(f"idx_{table}_geom", table, ["geom"], postgresql_using="gist")


def upgrade() -> None:
    """Create every table of the store."""
    bind = op.get_bind()
    if _sqlite():
        if bind.execute(sa.text("SELECT CheckSpatialMetaData()")).scalar() == 0:
            _spatialite_call("SELECT InitSpatialMetaData(0, 'WGS84')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "postal_points",
        _id(),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_key", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("commune_code", sa.String(10), nullable=True),
        *_geom(),
        sa.Column("precision", sa.String(10), nullable=False),
        sa.Column("staffed", sa.Boolean(), nullable=False),
        sa.Column("opening_hours", _json(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("source", "source_key", name="uq_postal_points_source_key"),
        sa.CheckConstraint(_in("kind", KINDS), name="ck_postal_points_kind"),
        sa.CheckConstraint(_in("precision", PRECISIONS), name="ck_postal_points_precision"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_postal_points_commune_code", "postal_points", ["commune_code"])

    op.create_table(
        "registered_addresses",
        _id(),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("local_code", sa.String(64), nullable=True),
        sa.Column("structured", _json(), nullable=False),
        sa.Column("commune_code", sa.String(10), nullable=False),
        *_geom(),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("contact_phone", sa.String(32), nullable=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("code", name="uq_registered_addresses_code"),
        sa.CheckConstraint(
            "consent OR (contact_name IS NULL AND contact_phone IS NULL AND contact_email IS NULL)",
            name="ck_registered_addresses_contact_consent",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_registered_addresses_commune_code", "registered_addresses", ["commune_code"])

    op.create_table(
        "api_keys",
        _id(),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
        sqlite_autoincrement=True,
    )

    for table in POINT_TABLES:
        _add_point_column(table)


def downgrade() -> None:
    """Drop every table of the store (and, on SpatiaLite, their geometry registrations and R*Trees)."""
    if _sqlite():
        for table in POINT_TABLES:
            op.execute(f"SELECT DisableSpatialIndex('{table}', 'geom')")
            op.execute(f"DROP TABLE IF EXISTS idx_{table}_geom")
            op.execute(f"SELECT DiscardGeometryColumn('{table}', 'geom')")
    op.drop_table("api_keys")
    op.drop_table("registered_addresses")
    op.drop_table("postal_points")
