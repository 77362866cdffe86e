"""The repository: one :class:`Store` over SQLite + SpatiaLite or PostgreSQL + PostGIS, one transaction per call.

Every public method runs in exactly one transaction (:meth:`Store._run`): it commits whole or rolls back whole,
and driver errors come out as the library's own (DatabaseUnavailableError, ConflictError, StorageError). On
PostgreSQL a deadlock or serialization failure retries the whole transaction a few times.

Spatial filtering stays in SQL and uses the spatial index on both backends: a bounding-box prefilter (PostGIS
``&&`` on the GiST index; SpatiaLite's R*Tree virtual table queried directly) followed by an exact test. Distances
are metres on the WGS 84 ellipsoid on both: PostGIS ``ST_DWithin``/``ST_Distance`` on a geography cast, SpatiaLite
``ST_Distance(a, b, 1)`` (its geodesic, ellipsoidal form). The prefilter box of a ``near`` query is computed from
the radius with bounds on metres-per-degree that can only make it larger than the circle.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import numpy as np
import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy import exc
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from vpostcode.errors import (
    ConflictError,
    InvalidInputError,
    InvalidRecordError,
    StorageError,
    UnknownAddressError,
    UnknownApiKeyError,
    UnknownPointError,
    VpostcodeError,
)
from vpostcode.store import keys as keylib
from vpostcode.store import migrate as migrations
from vpostcode.store.engine import (
    WRITE_OPTION,
    create_engine,
    database_url,
    is_unavailable,
    redact,
    retryable,
    sqlstate,
    storage_error,
    unavailable_error,
)
from vpostcode.store.records import (
    AddressRecord,
    Contact,
    KeyInfo,
    PointRecord,
    PointsArray,
    PostalPoint,
    RegisteredAddress,
    UpsertReport,
    check_coordinate,
    check_scopes,
    check_text,
    check_unknown_fields,
)
from vpostcode.store.schema import (
    PRIVATE_ADDRESS_COLUMNS,
    SRID,
    api_keys,
    points_rtree,
    postal_points,
    registered_addresses,
)

T = TypeVar("T")
BBox = tuple[float, float, float, float]
"""A box as (min_lon, min_lat, max_lon, max_lat): west, south, east, north, as in GeoJSON."""
Near = tuple[float, float, float]
"""A circle as (lat, lon, radius in metres)."""

MAX_RETRIES: Final = 5
MAX_RADIUS_M: Final = 1_000_000.0
MIN_M_PER_DEG_LAT: Final = 110_000.0
"""Below the shortest degree of latitude on WGS 84 (110,574 m at the equator)."""
MIN_M_PER_DEG_LON_EQ: Final = 111_000.0
"""Below the length of a degree of longitude at the equator (111,319 m); times cos(lat) elsewhere."""
DEFAULT_LIMIT: Final = 100
DEFAULT_CHUNK: Final = 500

POINT_FIELDS: Final = tuple(name for name in PointRecord.__dataclass_fields__)
POINT_DATA_COLUMNS: Final = (
    "kind", "name", "address", "commune_code", "precision", "staffed", "opening_hours",
)


@dataclass(frozen=True)
class StoreStatus:
    """What :meth:`Store.ping` found: the backend, the (redacted) URL, schema revisions, round-trip time."""

    backend: str
    url: str
    revision: str | None
    head: str
    latency_ms: float

    @property
    def schema_current(self) -> bool:
        """True when the database is migrated to the newest revision."""
        return self.revision == self.head

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {**asdict(self), "schema_current": self.schema_current}


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------- query helpers


def _point_columns() -> list[sa.ColumnElement[Any]]:
    t = postal_points
    return [
        t.c.id, t.c.source, t.c.source_key, t.c.kind, t.c.name,
        sa.func.ST_Y(t.c.geom).label("lat"), sa.func.ST_X(t.c.geom).label("lon"),
        t.c.address, t.c.commune_code, t.c.precision, t.c.staffed, t.c.opening_hours,
        t.c.created_at, t.c.updated_at,
    ]


def _to_point(row: sa.Row[Any], distance: float | None = None) -> PostalPoint:
    m = row._mapping
    return PostalPoint(
        id=int(m["id"]), source=m["source"], source_key=m["source_key"], kind=m["kind"], name=m["name"],
        lat=float(m["lat"]), lon=float(m["lon"]), address=m["address"], commune_code=m["commune_code"],
        precision=m["precision"], staffed=bool(m["staffed"]), opening_hours=m["opening_hours"],
        created_at=m["created_at"], updated_at=m["updated_at"], distance_m=distance,
    )


def _to_key(row: sa.Row[Any]) -> KeyInfo:
    m = row._mapping
    return KeyInfo(
        key_id=m["key_id"], name=m["name"], scopes=tuple(m["scopes"]), created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )


def _check_bbox(bbox: Any) -> BBox:
    """A (min_lon, min_lat, max_lon, max_lat) box with finite, in-range, ordered corners."""
    if not isinstance(bbox, Sequence) or isinstance(bbox, str) or len(bbox) != 4:
        raise InvalidInputError("bbox: must be (min_lon, min_lat, max_lon, max_lat)", field="bbox")
    west = check_coordinate(bbox[0], "bbox.min_lon", 180.0)
    south = check_coordinate(bbox[1], "bbox.min_lat", 90.0)
    east = check_coordinate(bbox[2], "bbox.max_lon", 180.0)
    north = check_coordinate(bbox[3], "bbox.max_lat", 90.0)
    if west > east or south > north:
        raise InvalidInputError("bbox: min corner must not exceed max corner", field="bbox")
    return west, south, east, north


def _check_near(near: Any) -> Near:
    """A (lat, lon, radius_m) circle with a positive radius of at most 1,000 km."""
    if not isinstance(near, Sequence) or isinstance(near, str) or len(near) != 3:
        raise InvalidInputError("near: must be (lat, lon, radius_m)", field="near")
    lat = check_coordinate(near[0], "near.lat", 90.0)
    lon = check_coordinate(near[1], "near.lon", 180.0)
    radius = near[2]
    if isinstance(radius, bool) or not isinstance(radius, int | float) or not 0 < radius <= MAX_RADIUS_M:
        raise InvalidInputError(
            f"near.radius_m: must be a number in (0, {MAX_RADIUS_M:.0f}] metres, got {radius!r}",
            field="near.radius_m",
        )
    return lat, lon, float(radius)


def near_bbox(lat: float, lon: float, radius_m: float) -> BBox:
    """A box that surely contains every point within ``radius_m`` metres of (lat, lon) (no antimeridian wrap)."""
    dlat = radius_m / MIN_M_PER_DEG_LAT
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    edge = max(abs(south), abs(north))
    if edge >= 89.0:
        return -180.0, south, 180.0, north
    dlon = radius_m / (MIN_M_PER_DEG_LON_EQ * math.cos(math.radians(edge)))
    return max(-180.0, lon - dlon), south, min(180.0, lon + dlon), north


def _check_page(limit: int | None, offset: int) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInputError(f"limit: must be a non-negative integer, got {limit!r}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset: must be a non-negative integer, got {offset!r}", field="offset")


def _unique_violation(err: exc.IntegrityError) -> bool:
    return sqlstate(err) == "23505" or "unique constraint" in str(err.orig).lower()


# --------------------------------------------------------------------------------------------------- the store


class Store:
    """Postal points, registered addresses and API keys in one database; see the module docstring."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self._engine = engine
        self._url = url
        self.backend: str = engine.dialect.name

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @property
    def url(self) -> str:
        """The database URL with its password hidden."""
        return redact(self._url)

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine, for tools and tests that need raw access."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------------------------- transactions

    def _run(self, work: Callable[[sa.Connection], T], *, write: bool, action: str, conflict: str = "") -> T:
        """Run ``work`` in one transaction; translate errors; retry PostgreSQL deadlocks and serialization failures.

        ``conflict`` is the message for a unique-constraint violation (a ConflictError); without it, such a
        violation is a StorageError.
        """
        for attempt in range(MAX_RETRIES):
            try:
                with self._engine.connect() as conn:
                    if write:
                        conn.execution_options(**{WRITE_OPTION: True})
                    with conn.begin():
                        return work(conn)
            except VpostcodeError:
                raise
            except exc.IntegrityError as err:
                if conflict and _unique_violation(err):
                    raise ConflictError(conflict) from None
                raise storage_error(err, self._url, action) from None
            except exc.DBAPIError as err:
                if is_unavailable(err, self.backend):
                    raise unavailable_error(err, self._url) from None
                if retryable(err, self.backend) and attempt + 1 < MAX_RETRIES:
                    time.sleep(0.02 * 2**attempt * (1 + random.random()))
                    continue
                raise storage_error(err, self._url, action) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -------------------------------------------------------------------------------------------- admin

    def migrate(self) -> str | None:
        """Bring the schema to the newest revision (idempotent, safe to run from several processes at once)."""
        try:
            return migrations.upgrade(self._engine)
        except VpostcodeError:
            raise
        except exc.DBAPIError as err:
            if is_unavailable(err, self.backend):
                raise unavailable_error(err, self._url) from None
            raise storage_error(err, self._url, "migration") from None

    def ping(self) -> StoreStatus:
        """Readiness: one round trip, and the schema revision; raises DatabaseUnavailableError when unreachable."""
        started = time.perf_counter()

        def work(conn: sa.Connection) -> str | None:
            conn.execute(sa.text("SELECT 1"))
            return migrations.current_revision(conn)

        revision = self._run(work, write=False, action="ping")
        latency = (time.perf_counter() - started) * 1000.0
        return StoreStatus(self.backend, self.url, revision, migrations.head_revision(), round(latency, 3))

    # ------------------------------------------------------------------------------------ point SQL bits

    def _make_point(self, lon: Any, lat: Any) -> sa.ColumnElement[Any]:
        """SQL for a WGS 84 point from longitude and latitude expressions (bound parameters: exact doubles)."""
        if self.backend == "sqlite":
            return sa.func.MakePoint(lon, lat, SRID)
        return sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), SRID)

    def _in_box(self, table: sa.Table, box: BBox, rtree: sa.TableClause | None) -> sa.ColumnElement[bool]:
        """Rows whose point lies in ``box``: an index prefilter, then an exact test on the coordinates."""
        west, south, east, north = box
        if self.backend == "sqlite":
            assert rtree is not None
            prefilter: sa.ColumnElement[bool] = table.c.id.in_(
                sa.select(rtree.c.pkid).where(
                    rtree.c.xmin <= east, rtree.c.xmax >= west, rtree.c.ymin <= north, rtree.c.ymax >= south
                )
            )
        else:
            envelope = sa.func.ST_MakeEnvelope(west, south, east, north, SRID)
            prefilter = table.c.geom.op("&&")(envelope)
        exact = sa.and_(
            sa.func.ST_X(table.c.geom).between(west, east), sa.func.ST_Y(table.c.geom).between(south, north)
        )
        return sa.and_(prefilter, exact)

    def _distance(self, table: sa.Table, lat: float, lon: float) -> sa.ColumnElement[float]:
        """Metres on the WGS 84 ellipsoid from each row's point to (lat, lon)."""
        here = self._make_point(lon, lat)
        if self.backend == "sqlite":
            return sa.func.ST_Distance(table.c.geom, here, 1)
        geography = Geography(srid=SRID)
        return sa.func.ST_Distance(sa.cast(table.c.geom, geography), sa.cast(here, geography))

    def _within(self, table: sa.Table, lat: float, lon: float, radius: float) -> sa.ColumnElement[bool]:
        """Rows within ``radius`` metres (ellipsoidal) of (lat, lon); PostGIS's ST_DWithin on geography."""
        if self.backend == "sqlite":
            return self._distance(table, lat, lon) <= radius
        geography = Geography(srid=SRID)
        here = self._make_point(lon, lat)
        return sa.func.ST_DWithin(sa.cast(table.c.geom, geography), sa.cast(here, geography), radius)

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT construct (which has ON CONFLICT) for ``table``."""
        if self.backend == "sqlite":
            return sqlite_dialect.insert(table)
        return pg_dialect.insert(table)

    # ------------------------------------------------------------------------------------ postal points

    @staticmethod
    def _point_params(record: PointRecord, now: datetime) -> dict[str, Any]:
        params = {name: getattr(record, name) for name in POINT_FIELDS}
        params["created_at"] = now
        params["updated_at"] = now
        return params

    def _point_values(self) -> dict[str, Any]:
        """VALUES for a point insert, as bound parameters named after the record's fields."""
        values: dict[str, Any] = {
            name: sa.bindparam(name, type_=postal_points.c[name].type)
            for name in (*POINT_FIELDS, "created_at", "updated_at")
            if name not in ("lat", "lon")
        }
        values["geom"] = self._make_point(sa.bindparam("lon", type_=sa.Float()), sa.bindparam("lat", type_=sa.Float()))
        return values

    def upsert_points(
        self, records: Iterable[PointRecord | Mapping[str, Any]], *, chunk_size: int = DEFAULT_CHUNK
    ) -> UpsertReport:
        """Insert or update points keyed by (source, source_key), all in one transaction; report what changed.

        Every record is checked before anything is written; a failure anywhere rolls the whole batch back.
        A row whose stored values already equal the record is left untouched (``updated_at`` kept) and
        counted as unchanged, so re-running an import is a no-op. Records are written in key order, in
        statements of at most ``chunk_size`` rows, so that concurrent upserts lock rows in the same order.
        Ids are stable per key but not dense: both backends draw an id for a conflicting row too.
        """
        batch = [PointRecord.coerce(record, index) for index, record in enumerate(records)]
        seen: dict[tuple[str, str], int] = {}
        for index, record in enumerate(batch):
            key = (record.source, record.source_key)
            if key in seen:
                raise InvalidRecordError(
                    f"source_key (record {index}): duplicates record {seen[key]} ({key[0]}/{key[1]})",
                    field="source_key", index=index,
                )
            seen[key] = index
        if not batch:
            return UpsertReport()
        if chunk_size < 1:
            raise InvalidInputError("chunk_size: must be at least 1", field="chunk_size")
        batch.sort(key=lambda r: (r.source, r.source_key))
        now = _now()

        def work(conn: sa.Connection) -> UpsertReport:
            inserted = updated = 0
            for start in range(0, len(batch), chunk_size):
                chunk = batch[start:start + chunk_size]
                ins, upd = self._upsert_chunk(conn, chunk, now)
                inserted += ins
                updated += upd
            return UpsertReport(inserted, updated, len(batch) - inserted - updated)

        return self._run(work, write=True, action="upsert of postal points")

    def _upsert_chunk(self, conn: sa.Connection, chunk: list[PointRecord], now: datetime) -> tuple[int, int]:
        """``INSERT ... ON CONFLICT DO UPDATE ... WHERE changed RETURNING``: (inserted, updated) in the chunk."""
        t = postal_points
        ins = self._insert(t).values(self._point_values())
        changing = (*POINT_DATA_COLUMNS, "geom")
        changed = sa.or_(*(t.c[name].is_distinct_from(ins.excluded[name]) for name in changing))
        updates = {name: ins.excluded[name] for name in changing}
        updates["updated_at"] = ins.excluded.updated_at
        stmt = ins.on_conflict_do_update(index_elements=["source", "source_key"], set_=updates, where=changed)
        params = [self._point_params(record, now) for record in chunk]
        if self.backend == "postgresql":
            # xmax is 0 on a freshly inserted row version and non-zero on one written by the DO UPDATE branch.
            flags = conn.execute(stmt.returning(sa.literal_column("(xmax = 0)", sa.Boolean)), params).scalars()
            written = [bool(flag) for flag in flags]
            return sum(written), len(written) - sum(written)
        # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE), so the keys present before the
        # statement are exactly the ones it can update.
        existing = {
            (row.source, row.source_key)
            for row in conn.execute(
                sa.select(t.c.source, t.c.source_key).where(
                    t.c.source.in_({r.source for r in chunk}), t.c.source_key.in_({r.source_key for r in chunk})
                )
            )
        }
        returned = conn.execute(stmt.returning(t.c.source, t.c.source_key), params).all()
        updated = sum(1 for row in returned if (row.source, row.source_key) in existing)
        return len(returned) - updated, updated

    def add_point(self, record: PointRecord | Mapping[str, Any]) -> PostalPoint:
        """Insert one new point; ConflictError if its (source, source_key) is taken."""
        point = PointRecord.coerce(record)
        now = _now()

        def work(conn: sa.Connection) -> PostalPoint:
            stmt = sa.insert(postal_points).values(self._point_values()).returning(postal_points.c.id)
            new_id = conn.execute(stmt, self._point_params(point, now)).scalar_one()
            return self._get_point(conn, new_id)

        return self._run(
            work, write=True, action="insert of a postal point",
            conflict=f"a postal point {point.source}/{point.source_key} already exists",
        )

    def _get_point(self, conn: sa.Connection, point_id: int, *, lock: bool = False) -> PostalPoint:
        stmt = sa.select(*_point_columns()).where(postal_points.c.id == point_id)
        if lock and self.backend == "postgresql":
            stmt = stmt.with_for_update(of=postal_points)
        row = conn.execute(stmt).first()
        if row is None:
            raise UnknownPointError(f"no postal point has id {point_id}", id=point_id)
        return _to_point(row)

    def get_point(self, point_id: int) -> PostalPoint:
        """The point with this id; UnknownPointError if none."""
        return self._run(lambda conn: self._get_point(conn, point_id), write=False, action="read of a postal point")

    def update_point(self, point_id: int, **fields: Any) -> PostalPoint:
        """Change some fields of a point (``lat`` and ``lon`` move it); the result is checked like a new record.

        ``updated_at`` moves only when a value actually changes.
        """
        check_unknown_fields(fields, set(POINT_FIELDS))

        def work(conn: sa.Connection) -> PostalPoint:
            current = self._get_point(conn, point_id, lock=True)
            merged = {name: getattr(current, name) for name in POINT_FIELDS}
            merged.update(fields)
            record = PointRecord.coerce(merged)
            if all(getattr(record, name) == getattr(current, name) for name in POINT_FIELDS):
                return current
            values = self._point_values()
            del values["created_at"]
            params = self._point_params(record, _now())
            del params["created_at"]
            conn.execute(sa.update(postal_points).where(postal_points.c.id == point_id).values(values), params)
            return self._get_point(conn, point_id)

        return self._run(
            work, write=True, action="update of a postal point",
            conflict="another postal point already has this source/source_key",
        )

    def delete_point(self, point_id: int) -> None:
        """Delete a point; UnknownPointError if none has this id."""

        def work(conn: sa.Connection) -> None:
            result = conn.execute(sa.delete(postal_points).where(postal_points.c.id == point_id))
            if result.rowcount == 0:
                raise UnknownPointError(f"no postal point has id {point_id}", id=point_id)

        self._run(work, write=True, action="delete of a postal point")

    def list_points(
        self,
        *,
        commune_code: str | None = None,
        bbox: BBox | None = None,
        near: Near | None = None,
        kind: str | None = None,
        staffed: bool | None = None,
        limit: int | None = DEFAULT_LIMIT,
        offset: int = 0,
    ) -> list[PostalPoint]:
        """Points matching every filter given, by id (or by distance, then id, with ``near``).

        ``bbox`` is (min_lon, min_lat, max_lon, max_lat), edges included; ``near`` is (lat, lon, radius_m),
        distance in metres on the WGS 84 ellipsoid, boundary included, and sets ``distance_m`` on each result.
        ``limit=None`` returns every match.
        """
        _check_page(limit, offset)
        t = postal_points
        conditions: list[sa.ColumnElement[bool]] = []
        if commune_code is not None:
            conditions.append(t.c.commune_code == commune_code)
        if kind is not None:
            conditions.append(t.c.kind == kind)
        if staffed is not None:
            conditions.append(t.c.staffed == bool(staffed))
        if bbox is not None:
            conditions.append(self._in_box(t, _check_bbox(bbox), points_rtree))
        distance: sa.ColumnElement[float] | None = None
        if near is not None:
            lat, lon, radius = _check_near(near)
            conditions.append(self._in_box(t, near_bbox(lat, lon, radius), points_rtree))
            conditions.append(self._within(t, lat, lon, radius))
            distance = self._distance(t, lat, lon).label("distance_m")
        columns = _point_columns() + ([distance] if distance is not None else [])
        stmt = sa.select(*columns).where(*conditions)
        stmt = stmt.order_by(*(([distance] if distance is not None else []) + [t.c.id]))
        if limit is not None:
            stmt = stmt.limit(limit)
        if offset:
            stmt = stmt.offset(offset)

        def work(conn: sa.Connection) -> list[PostalPoint]:
            rows = conn.execute(stmt).all()
            if distance is None:
                return [_to_point(row) for row in rows]
            return [_to_point(row, float(row._mapping["distance_m"])) for row in rows]

        return self._run(work, write=False, action="query of postal points")

    def count_points(self) -> int:
        """How many points are stored."""
        stmt = sa.select(sa.func.count()).select_from(postal_points)
        return int(self._run(lambda conn: conn.execute(stmt).scalar_one(), write=False, action="count of points"))

    def points_array(self, *, kind: str | None = None) -> PointsArray:
        """Every point (or every point of one kind) as NumPy arrays ordered by id, for vectorised coverage."""
        t = postal_points
        stmt = sa.select(
            t.c.id, sa.func.ST_X(t.c.geom), sa.func.ST_Y(t.c.geom), t.c.staffed, t.c.commune_code, t.c.kind
        ).order_by(t.c.id)
        if kind is not None:
            stmt = stmt.where(t.c.kind == kind)
        rows = self._run(lambda conn: conn.execute(stmt).all(), write=False, action="read of points")
        columns = list(zip(*rows)) if rows else [(), (), (), (), (), ()]
        return PointsArray(
            ids=np.asarray(columns[0], dtype=np.int64),
            lons=np.asarray(columns[1], dtype=np.float64),
            lats=np.asarray(columns[2], dtype=np.float64),
            staffed=np.asarray([bool(v) for v in columns[3]], dtype=np.bool_),
            commune_codes=np.asarray(columns[4], dtype=object),
            kinds=np.asarray(columns[5], dtype=object),
        )

    # ----------------------------------------------------------------------------- registered addresses

    def _address_columns(self, include_private: bool) -> list[sa.ColumnElement[Any]]:
        t = registered_addresses
        columns: list[sa.ColumnElement[Any]] = [
            t.c.code, t.c.local_code, t.c.structured, t.c.commune_code,
            sa.func.ST_Y(t.c.geom).label("lat"), sa.func.ST_X(t.c.geom).label("lon"),
            t.c.consent, t.c.created_at, t.c.updated_at,
        ]
        if include_private:
            columns += [t.c[name] for name in PRIVATE_ADDRESS_COLUMNS]
        return columns

    def _get_address(self, conn: sa.Connection, code: str, include_private: bool) -> RegisteredAddress:
        stmt = sa.select(*self._address_columns(include_private)).where(registered_addresses.c.code == code)
        row = conn.execute(stmt).first()
        if row is None:
            raise UnknownAddressError(f"no registered address has code {code!r}", code=code)
        m = row._mapping
        contact = None
        if include_private:
            contact = Contact(m["contact_name"], m["contact_phone"], m["contact_email"])
        return RegisteredAddress(
            code=m["code"], local_code=m["local_code"], structured=dict(m["structured"] or {}),
            commune_code=m["commune_code"], lat=float(m["lat"]), lon=float(m["lon"]), consent=bool(m["consent"]),
            created_at=m["created_at"], updated_at=m["updated_at"], contact=contact,
        )

    def add_address(self, record: AddressRecord | Mapping[str, Any]) -> RegisteredAddress:
        """Register an address; ConflictError if its code is taken. Returns the public view (no contact)."""
        address = AddressRecord.coerce(record)
        now = _now()
        values: dict[str, Any] = {
            "code": address.code, "local_code": address.local_code, "structured": dict(address.structured),
            "commune_code": address.commune_code, "consent": address.consent,
            "contact_name": address.contact_name, "contact_phone": address.contact_phone,
            "contact_email": address.contact_email, "created_at": now, "updated_at": now,
            "geom": self._make_point(
                sa.literal(address.lon, sa.Float()), sa.literal(address.lat, sa.Float())
            ),
        }

        def work(conn: sa.Connection) -> RegisteredAddress:
            conn.execute(sa.insert(registered_addresses).values(values))
            return self._get_address(conn, address.code, include_private=False)

        return self._run(
            work, write=True, action="registration of an address",
            conflict=f"address code {address.code!r} is already registered",
        )

    def get_address(self, code: str, include_private: bool = False) -> RegisteredAddress:
        """The address with this code; contact details only with ``include_private=True``."""
        return self._run(
            lambda conn: self._get_address(conn, code, include_private), write=False, action="read of an address"
        )

    def delete_address(self, code: str) -> None:
        """Delete an address and, with the row, its contact details (hard delete; nothing is kept).

        On SQLite ``secure_delete`` zeroes the freed space and a WAL checkpoint then writes that to the main
        file and truncates the log, so the details leave the disk at once (unless a long reader holds the
        log). On PostgreSQL the row is gone for every query at once; its dead tuple is reclaimed by vacuum.
        """

        def work(conn: sa.Connection) -> None:
            stmt = sa.delete(registered_addresses).where(registered_addresses.c.code == code)
            if conn.execute(stmt).rowcount == 0:
                raise UnknownAddressError(f"no registered address has code {code!r}", code=code)

        self._run(work, write=True, action="deletion of an address")
        if self.backend == "sqlite":
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Write the WAL into the database file and truncate it (SQLite only; best effort)."""
        raw = self._engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        except Exception:  # a busy checkpoint is left to SQLite's automatic checkpoints
            pass
        finally:
            raw.close()

    # ------------------------------------------------------------------------------------------ API keys

    def create_key(self, name: str, scopes: Iterable[str]) -> tuple[str, str]:
        """A new API key: returns (key_id, plaintext token). The token is shown only here; only its hash is kept."""
        label = check_text(name, "name", 200)
        scope_list = check_scopes(list(scopes) if not isinstance(scopes, str) else scopes)
        for _ in range(3):
            key_id, token = keylib.new_token()
            values = {
                "key_id": key_id, "key_hash": keylib.hash_token(token), "name": label, "scopes": list(scope_list),
                "created_at": _now(), "revoked_at": None,
            }
            try:
                self._insert_key(values)
            except ConflictError:  # pragma: no cover - 48-bit ids: a collision is astronomically rare
                continue
            return key_id, token
        raise StorageError("could not allocate a unique API key id")  # pragma: no cover

    def _insert_key(self, values: dict[str, Any]) -> None:
        """Insert one API key row; ConflictError if its key id is taken."""
        stmt = sa.insert(api_keys).values(values)
        self._run(lambda conn: conn.execute(stmt), write=True, action="creation of an API key", conflict="key id taken")

    def verify_key(self, token: str) -> KeyInfo | None:
        """The key a token belongs to, if the token is exactly right and the key not revoked; else None."""
        key_id = keylib.key_id_of(token)
        if key_id is None:
            return None
        stmt = sa.select(api_keys).where(api_keys.c.key_id == key_id)
        row = self._run(lambda conn: conn.execute(stmt).first(), write=False, action="API key check")
        stored = row._mapping["key_hash"] if row is not None else None
        if not keylib.token_matches(token, stored) or row is None:
            return None
        info = _to_key(row)
        return info if info.active else None

    def get_key(self, key_id: str) -> KeyInfo:
        """The public description of a key; UnknownApiKeyError if none."""
        stmt = sa.select(api_keys).where(api_keys.c.key_id == key_id)
        row = self._run(lambda conn: conn.execute(stmt).first(), write=False, action="read of an API key")
        if row is None:
            raise UnknownApiKeyError(f"no API key has id {key_id!r}", key_id=key_id)
        return _to_key(row)

    def list_keys(self) -> list[KeyInfo]:
        """Every key, revoked ones included, oldest first."""
        stmt = sa.select(api_keys).order_by(api_keys.c.id)
        return [_to_key(row) for row in self._run(lambda c: c.execute(stmt).all(), write=False, action="keys")]

    def revoke_key(self, key_id: str) -> KeyInfo:
        """Revoke a key (idempotent: a second call keeps the first time); UnknownApiKeyError if none."""

        def work(conn: sa.Connection) -> KeyInfo:
            conn.execute(
                sa.update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
            if row is None:
                raise UnknownApiKeyError(f"no API key has id {key_id!r}", key_id=key_id)
            return _to_key(row)

        return self._run(work, write=True, action="revocation of an API key")


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open the store at ``url`` (argument > ``$VPOSTCODE_DATABASE_URL`` > SQLite in the data dir).

    The schema is migrated to the newest revision unless ``migrate=False``. Raises DatabaseUnavailableError,
    naming the URL without its password, when the database cannot be reached.
    """
    resolved = database_url(url)
    store = Store(create_engine(resolved), resolved)
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
