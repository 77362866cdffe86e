"""The store on both backends (``backend`` = sqlite | postgis): migrations, CRUD, upserts, spatial queries,
privacy of contact details, API keys, concurrency and error messages.

Every point here is synthetic (``source="synthetic"``), made up around Hà Nội; real post offices are imported by
later work.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
import sqlalchemy as sa

from tests.store.conftest import FreshUrl
from tests.store.workers import DISTINCT_KEYS, ROUNDS, WORKERS, concurrent_writer, expected, process_writer
from vpostcode.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InvalidInputError,
    InvalidRecordError,
    NotFoundError,
    StorageError,
    UnknownAddressError,
    UnknownApiKeyError,
    UnknownPointError,
)
from vpostcode.store import (
    DATABASE_URL_ENV,
    AddressRecord,
    Contact,
    PointRecord,
    Store,
    database_url,
    near_bbox,
    open_store,
)
from vpostcode.store import migrate as migrations
from vpostcode.store.engine import create_engine
from vpostcode.store.schema import metadata

EARTH_RADIUS_M = 6_371_008.8
GEOD = pyproj.Geod(ellps="WGS84")
HANOI = (21.0285, 105.8542)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean-radius sphere: the brute-force reference."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance on the WGS 84 ellipsoid (Karney's algorithm via PROJ)."""
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def synthetic(key: str, lat: float = HANOI[0], lon: float = HANOI[1], **fields: Any) -> PointRecord:
    """A synthetic postal point record (not a real office)."""
    base: dict[str, Any] = {
        "source": "synthetic", "source_key": key, "kind": "post_office", "name": f"Synthetic office {key}",
        "lat": lat, "lon": lon, "address": f"{key} Synthetic street", "commune_code": "00004",
    }
    base.update(fields)
    return PointRecord(**base)


@pytest.fixture
def synthetic_points() -> list[PointRecord]:
    """400 synthetic postal points scattered over ~60 km around Hà Nội (seeded), of every kind and precision."""
    rng = random.Random(20250701)
    kinds = ("post_office", "commune_cultural_post_office", "agent", "locker")
    points = []
    for i in range(400):
        kind = kinds[i % 4]
        points.append(
            synthetic(
                f"S{i:04d}", lat=HANOI[0] + rng.uniform(-0.3, 0.3), lon=HANOI[1] + rng.uniform(-0.3, 0.3),
                kind=kind, staffed=kind != "locker", commune_code=f"{i % 7:05d}",
                precision=("exact", "address", "commune")[i % 3],
                opening_hours={"mon-fri": "07:30-17:00"} if i % 2 else "Thứ 2 – Thứ 7",
            )
        )
    return points


def raw_rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a raw SQL query on the store's database, bypassing the repository."""
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


def table_names(url: str) -> set[str]:
    """Tables in a database, read with a plain engine (so nothing is migrated)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------------- migrations


def test_migrations_from_empty_idempotent_and_reversible(backend: str, fresh_url: FreshUrl) -> None:
    url = fresh_url(backend)
    assert not {"postal_points", "registered_addresses", "api_keys"} & table_names(url)
    with open_store(url, migrate=False) as unmigrated:
        status = unmigrated.ping()
        assert status.revision is None and not status.schema_current

    with open_store(url) as store:
        assert store.ping().schema_current
        point = store.add_point(synthetic("M1"))
    with open_store(url) as again:  # a second run finds the schema at head and changes nothing
        assert again.migrate() == migrations.head_revision()
        assert again.get_point(point.id) == point
        status = again.ping()
        assert status.revision == status.head == migrations.head_revision()
        assert status.backend == ("sqlite" if backend == "sqlite" else "postgresql")
    assert {"postal_points", "registered_addresses", "api_keys", migrations.VERSION_TABLE} <= table_names(url)

    with open_store(url) as store:  # down to empty and up again
        assert migrations.downgrade(store.engine) is None
        assert not {"postal_points", "registered_addresses", "api_keys"} & table_names(url)
        assert store.migrate() == migrations.head_revision()
        assert store.upsert_points([synthetic("D1")]).inserted == 1


def test_spatial_indexes_exist(store: Store) -> None:
    if store.backend == "sqlite":
        rows = raw_rows(store, "SELECT f_table_name, srid, spatial_index_enabled FROM geometry_columns")
        assert sorted(rows) == [("postal_points", 4326, 1), ("registered_addresses", 4326, 1)]
    else:
        rows = raw_rows(
            store, "SELECT tablename, indexdef FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%'"
        )
        assert sorted(table for table, _ in rows) == ["postal_points", "registered_addresses"]
        types = raw_rows(store, "SELECT f_table_name, type, srid FROM geometry_columns ORDER BY 1")
        assert types == [("postal_points", "POINT", 4326), ("registered_addresses", "POINT", 4326)]


def test_schema_matches_the_query_models(store: Store) -> None:
    """The Core tables used by queries describe exactly the columns the migrations created."""
    with store.engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in metadata.sorted_tables:
            assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys()), table.name


# ------------------------------------------------------------------------------------------------ postal points


def test_point_crud(store: Store) -> None:
    created = store.add_point(synthetic("C1", opening_hours={"sat": "07:00-11:30"}, staffed=True))
    assert created.id > 0 and created.source_key == "C1" and created.opening_hours == {"sat": "07:00-11:30"}
    assert created.created_at == created.updated_at and created.created_at.tzinfo is not None
    assert store.get_point(created.id) == created

    moved = store.update_point(created.id, name="Renamed synthetic office", lat=21.1, staffed=False)
    assert (moved.name, moved.lat, moved.lon, moved.staffed) == ("Renamed synthetic office", 21.1, HANOI[1], False)
    assert moved.created_at == created.created_at and moved.updated_at > created.updated_at
    assert store.get_point(created.id) == moved
    assert store.update_point(created.id, name="Renamed synthetic office") == moved  # no change, no new timestamp

    store.delete_point(created.id)
    with pytest.raises(UnknownPointError):
        store.get_point(created.id)
    with pytest.raises(NotFoundError):
        store.delete_point(created.id)
    with pytest.raises(UnknownPointError):
        store.update_point(created.id, name="x")


def test_add_point_twice_is_a_conflict(store: Store) -> None:
    store.add_point(synthetic("DUP"))
    with pytest.raises(ConflictError, match="synthetic/DUP"):
        store.add_point(synthetic("DUP", name="Other"))
    other = store.add_point(synthetic("DUP2"))
    with pytest.raises(ConflictError):
        store.update_point(other.id, source_key="DUP")
    assert store.count_points() == 2


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(0.1 + 0.2, 1e-7), (-89.99999999999999, -179.99999999999997), (90.0, 180.0), (21.028511234567891, 105.0)],
)
def test_coordinates_round_trip_exactly(store: Store, lat: float, lon: float) -> None:
    point = store.add_point(synthetic("RT", lat=lat, lon=lon))
    assert (point.lat, point.lon) == (lat, lon)
    arrays = store.points_array()
    assert (arrays.lats[0], arrays.lons[0]) == (lat, lon)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": 90.5}, "lat"),
        ({"lon": -180.01}, "lon"),
        ({"lat": float("nan")}, "lat"),
        ({"lon": True}, "lon"),
        ({"kind": "shop"}, "kind"),
        ({"precision": "rough"}, "precision"),
        ({"staffed": "yes"}, "staffed"),
        ({"name": "  "}, "name"),
        ({"commune_code": "4"}, "commune_code"),
        ({"opening_hours": {1, 2}}, "opening_hours"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_point_records_name_the_field(store: Store, change: dict[str, Any], field: str) -> None:
    data = {**synthetic("BAD").__dict__, **change}
    with pytest.raises(InvalidRecordError) as info:
        store.add_point(data)
    assert isinstance(info.value, InvalidInputError)
    assert info.value.details["field"] == field and field in str(info.value)
    good = store.add_point(synthetic("GOOD"))
    with pytest.raises(InvalidRecordError) as info:
        store.update_point(good.id, **change)
    assert info.value.details["field"] == field
    assert store.count_points() == 1 and store.get_point(good.id) == good


def test_upsert_is_idempotent_and_counts_exactly(store: Store, synthetic_points: list[PointRecord]) -> None:
    first = store.upsert_points(synthetic_points, chunk_size=64)
    assert (first.inserted, first.updated, first.unchanged) == (400, 0, 0)
    before = {p.source_key: p for p in store.list_points(limit=None)}

    again = store.upsert_points([p.__dict__ for p in synthetic_points])  # mappings are accepted too
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 400)
    assert {p.source_key: p for p in store.list_points(limit=None)} == before  # not even updated_at moved

    changed = list(synthetic_points)
    changed[3] = replace(changed[3], name="Changed name")
    changed[7] = replace(changed[7], lat=changed[7].lat + 1e-9)
    changed[9] = replace(changed[9], opening_hours={"mon-fri": "08:00-17:00"})
    changed.append(synthetic("S9999"))
    third = store.upsert_points(changed, chunk_size=100)
    assert third.to_dict() == {"inserted": 1, "updated": 3, "unchanged": 397, "total": 401}

    after = {p.source_key: p for p in store.list_points(limit=None)}
    moved = {key for key in before if after[key] != before[key]}
    assert moved == {changed[3].source_key, changed[7].source_key, changed[9].source_key}
    for key in moved:
        assert after[key].id == before[key].id and after[key].created_at == before[key].created_at
        assert after[key].updated_at > before[key].updated_at
    assert after[changed[7].source_key].lat == changed[7].lat
    assert store.upsert_points([]).total == 0


def test_upsert_rejects_a_bad_batch_before_writing(store: Store, synthetic_points: list[PointRecord]) -> None:
    batch: list[Any] = [p.__dict__ for p in synthetic_points[:10]]
    batch[6] = {**batch[6], "kind": "kiosk"}
    with pytest.raises(InvalidRecordError) as info:
        store.upsert_points(batch)
    assert info.value.details == {"field": "kind", "index": 6}
    assert store.count_points() == 0

    with pytest.raises(InvalidInputError) as dup:
        store.upsert_points([synthetic("A"), synthetic("B"), synthetic("A", name="again")])
    assert dup.value.details == {"field": "source_key", "index": 2}
    assert store.count_points() == 0


def _install_failing_trigger(store: Store) -> Callable[[], None]:
    """Make the database itself reject a row named 'boom' (on insert and update); returns the cleanup."""
    with store.engine.begin() as conn:
        if store.backend == "sqlite":
            conn.execute(sa.text(
                "CREATE TRIGGER test_boom BEFORE INSERT ON postal_points WHEN NEW.name = 'boom' "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END"
            ))
        else:
            conn.execute(sa.text(
                "CREATE FUNCTION test_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.name = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$"
            ))
            conn.execute(sa.text(
                "CREATE TRIGGER test_boom BEFORE INSERT ON postal_points FOR EACH ROW EXECUTE FUNCTION test_boom()"
            ))

    def cleanup() -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER test_boom" + ("" if store.backend == "sqlite" else " ON postal_points")))
            if store.backend != "sqlite":
                conn.execute(sa.text("DROP FUNCTION test_boom()"))

    return cleanup


def test_a_failing_batch_rolls_back_whole(store: Store, synthetic_points: list[PointRecord]) -> None:
    store.upsert_points(synthetic_points[:5])
    before = store.list_points(limit=None)
    updates = [replace(p, name=p.name + " (new)") for p in synthetic_points[:5]]
    batch = updates + synthetic_points[5:20] + [synthetic("ZZZZ-last", name="boom")]  # fails in the last chunk
    cleanup = _install_failing_trigger(store)
    try:
        with pytest.raises(StorageError, match="boom"):
            store.upsert_points(batch, chunk_size=4)
    finally:
        cleanup()
    assert store.list_points(limit=None) == before  # earlier chunks (inserts and updates) rolled back
    assert store.upsert_points(batch[:-1]).to_dict() == {"inserted": 15, "updated": 5, "unchanged": 0, "total": 20}


# ----------------------------------------------------------------------------------------------------- queries


def test_filters_and_pages(store: Store, synthetic_points: list[PointRecord]) -> None:
    store.upsert_points(synthetic_points)
    every = store.list_points(limit=None)
    assert [p.id for p in every] == sorted(p.id for p in every) and len(every) == 400
    assert len(store.list_points()) == 100  # default limit
    lockers = store.list_points(kind="locker", limit=None)
    assert len(lockers) == 100 and all(p.kind == "locker" and not p.staffed for p in lockers)
    assert store.list_points(staffed=False, limit=None) == lockers
    commune = store.list_points(commune_code="00003", limit=None)
    assert {p.source_key for p in commune} == {r.source_key for r in synthetic_points if r.commune_code == "00003"}
    pages = [store.list_points(limit=30, offset=o) for o in range(0, 400, 30)]
    assert [p for page in pages for p in page] == every
    assert store.list_points(kind="agent", commune_code="00001", staffed=True, limit=None) == [
        p for p in every if p.kind == "agent" and p.commune_code == "00001"
    ]
    with pytest.raises(InvalidInputError):
        store.list_points(limit=-1)


def test_bbox_matches_brute_force(store: Store, synthetic_points: list[PointRecord]) -> None:
    edge = synthetic("EDGE", lat=21.0, lon=105.9)  # exactly on the box's corner: included
    store.upsert_points([*synthetic_points, edge])
    points = store.list_points(limit=None)
    rng = random.Random(7)
    boxes = [(105.9, 21.0, 106.0, 21.2), (105.55, 20.7, 106.2, 21.4), (105.8, 21.0, 105.8001, 21.0001)]
    for _ in range(12):
        lon0, lat0 = rng.uniform(105.5, 106.1), rng.uniform(20.7, 21.3)
        boxes.append((lon0, lat0, lon0 + rng.uniform(0.001, 0.3), lat0 + rng.uniform(0.001, 0.3)))
    for box in boxes:
        west, south, east, north = box
        expected = {p.id for p in points if west <= p.lon <= east and south <= p.lat <= north}
        got = store.list_points(bbox=box, limit=None)
        assert {p.id for p in got} == expected, box
    assert any(p.source_key == "EDGE" for p in store.list_points(bbox=boxes[0], limit=None))
    with pytest.raises(InvalidInputError):
        store.list_points(bbox=(106.0, 21.0, 105.0, 21.5))
    with pytest.raises(InvalidInputError):
        store.list_points(bbox=(105.0, 21.0, 106.0, 95.0))


def test_near_matches_brute_force(store: Store, synthetic_points: list[PointRecord]) -> None:
    store.upsert_points(synthetic_points)
    points = store.list_points(limit=None)
    rng = random.Random(11)
    circles = [(HANOI[0], HANOI[1], 5_000.0), (HANOI[0], HANOI[1], 40_000.0), (21.2, 105.6, 12_345.0)]
    circles += [(p.lat, p.lon, 1.0) for p in points[:3]]  # a point at its own centre, distance 0
    for _ in range(10):
        circles.append((rng.uniform(20.8, 21.3), rng.uniform(105.6, 106.1), rng.uniform(500, 30_000)))
    for lat, lon, radius in circles:
        got = store.list_points(near=(lat, lon, radius), limit=None)
        by_id = {p.id: p for p in got}
        for p in points:
            sphere = haversine_m(lat, lon, p.lat, p.lon)
            ellipsoid = geodesic_m(lat, lon, p.lat, p.lon)
            if abs(sphere - radius) > 0.006 * radius:  # clear of the sphere/ellipsoid disagreement band
                assert (p.id in by_id) == (sphere <= radius), (lat, lon, radius, p.id, sphere)
            if abs(ellipsoid - radius) > 0.01:
                assert (p.id in by_id) == (ellipsoid <= radius), (lat, lon, radius, p.id, ellipsoid)
            if p.id in by_id:
                distance = by_id[p.id].distance_m
                assert distance is not None
                assert distance == pytest.approx(ellipsoid, abs=0.01)
                assert distance == pytest.approx(sphere, rel=0.006, abs=0.01)
        distances = [p.distance_m for p in got]
        assert distances == sorted(distances)  # type: ignore[type-var]
    limited = store.list_points(near=(HANOI[0], HANOI[1], 40_000.0), limit=5)
    assert limited == store.list_points(near=(HANOI[0], HANOI[1], 40_000.0), limit=None)[:5]
    locker_ids = {p.id for p in store.list_points(near=(HANOI[0], HANOI[1], 20_000.0), kind="locker", limit=None)}
    assert locker_ids == {
        p.id for p in points if p.kind == "locker" and geodesic_m(HANOI[0], HANOI[1], p.lat, p.lon) <= 20_000.0
    }
    with pytest.raises(InvalidInputError, match="radius"):
        store.list_points(near=(21.0, 105.0, -5))


@pytest.mark.parametrize("lat", [0.0, 21.0, 60.0, -75.0, 88.5])
def test_near_bbox_contains_the_circle(lat: float) -> None:
    """The index prefilter box holds every point of the circle (checked on 360 points of its rim)."""
    for radius in (1.0, 10_000.0, 500_000.0):
        west, south, east, north = near_bbox(lat, 105.0, radius)
        for azimuth in range(0, 360):
            lon2, lat2, _ = GEOD.fwd(105.0, lat, azimuth, radius)
            assert west <= lon2 <= east and south <= lat2 <= north, (lat, radius, azimuth)


def test_points_array(store: Store, synthetic_points: list[PointRecord]) -> None:
    empty = store.points_array()
    assert len(empty) == 0 and empty.lons.dtype == np.float64
    store.upsert_points(synthetic_points)
    arrays = store.points_array()
    points = store.list_points(limit=None)
    assert len(arrays) == 400 and arrays.ids.dtype == np.int64 and arrays.staffed.dtype == np.bool_
    assert arrays.ids.tolist() == [p.id for p in points]
    assert arrays.lons.tolist() == [p.lon for p in points] and arrays.lats.tolist() == [p.lat for p in points]
    assert arrays.staffed.tolist() == [p.staffed for p in points]
    assert arrays.commune_codes.tolist() == [p.commune_code for p in points]
    assert len(store.points_array(kind="locker")) == 100


# --------------------------------------------------------------------------------------- registered addresses

CONTACT = {
    "contact_name": "Nguyễn Văn Tổng Hợp",
    "contact_phone": "+84 912 000 111",
    "contact_email": "synthetic.household@example.vn",
}


def _address(code: str = "SYN-0001", **fields: Any) -> dict[str, Any]:
    """A synthetic registered address with private contact details."""
    record = {
        "code": code, "lat": 21.03, "lon": 105.85, "commune_code": "00004", "local_code": "BD-17",
        "structured": {"house_number": "17", "alley": "ngõ 5", "street": "Phố Synthetic", "province_code": "01"},
        "consent": True, **CONTACT,
    }
    record.update(fields)
    return record


def test_contact_details_are_private_and_erased(store: Store, tmp_path: Path) -> None:
    public = store.add_address(_address())
    assert public.contact is None and "contact" not in public.to_dict()
    assert public.structured["street"] == "Phố Synthetic" and public.local_code == "BD-17"
    assert store.get_address("SYN-0001") == public
    private = store.get_address("SYN-0001", include_private=True)
    assert private.contact is not None and private.contact.email == CONTACT["contact_email"]
    assert private.contact.name == CONTACT["contact_name"] and private.contact.phone == CONTACT["contact_phone"]

    raw = raw_rows(store, "SELECT contact_name, contact_phone, contact_email FROM registered_addresses")
    assert raw == [(CONTACT["contact_name"], CONTACT["contact_phone"], CONTACT["contact_email"])]

    store.add_address(
        _address(
            "SYN-0002", contact_name="Hàng Xóm", contact_phone="0243 000 222", contact_email="neighbour@example.vn"
        )
    )
    store.delete_address("SYN-0001")
    with pytest.raises(UnknownAddressError):
        store.get_address("SYN-0001", include_private=True)
    rows = raw_rows(store, "SELECT code, contact_name, contact_phone, contact_email FROM registered_addresses")
    assert [row[0] for row in rows] == ["SYN-0002"]
    assert not any(CONTACT["contact_name"] in str(row) or CONTACT["contact_phone"] in str(row) for row in rows)
    if store.backend == "sqlite":  # the details are gone from the database file itself, WAL included
        path = Path(store.engine.url.database or "")
        on_disk = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert CONTACT["contact_email"].encode() not in on_disk
        assert CONTACT["contact_name"].encode() not in on_disk
        assert b"neighbour@example.vn" in on_disk
    with pytest.raises(UnknownAddressError):
        store.delete_address("SYN-0001")


def test_address_conflicts_and_checks(store: Store) -> None:
    store.add_address(_address())
    with pytest.raises(ConflictError, match="SYN-0001"):
        store.add_address(_address(lat=10.0))
    with pytest.raises(InvalidRecordError) as info:
        store.add_address(_address("SYN-0003", consent=False))
    assert info.value.details["field"] == "consent"
    anonymous = store.add_address(_address("SYN-0004", consent=False, **dict.fromkeys(CONTACT)))
    assert store.get_address("SYN-0004", include_private=True).contact == Contact(None, None, None)
    assert anonymous.consent is False
    changes: list[tuple[dict[str, Any], str]] = [
        ({"lat": -91}, "lat"), ({"commune_code": "X"}, "commune_code"), ({"contact_email": "nobody"}, "contact_email"),
        ({"structured": {"commune_code": "00005"}}, "structured.commune_code"), ({"code": ""}, "code"),
    ]
    for change, field in changes:
        with pytest.raises(InvalidRecordError) as info:
            store.add_address({**_address("SYN-0009"), **change})
        assert info.value.details["field"] == field
    with store.engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):  # the database's own guard
        conn.execute(sa.text(
            "INSERT INTO registered_addresses (code, structured, commune_code, geom, consent, contact_email,"
            " created_at, updated_at) SELECT 'RAW', '{}', '00004', geom, false, 'x@example.vn', created_at,"
            " updated_at FROM registered_addresses WHERE code = 'SYN-0001'"
        ))


def test_address_record_dataclass_is_accepted(store: Store) -> None:
    record = AddressRecord(code="SYN-0100", lat=21.0, lon=105.8, commune_code="00004")
    stored = store.add_address(record)
    assert (stored.code, stored.lat, stored.lon, stored.structured, stored.consent) == (
        "SYN-0100", 21.0, 105.8, {}, False,
    )


# ---------------------------------------------------------------------------------------------------- API keys


def test_api_keys_store_only_a_hash(store: Store) -> None:
    key_id, token = store.create_key("synthetic importer", ["points:write", "points:read", "points:read"])
    assert token.startswith(f"vpk_{key_id}_") and len(token) >= 40
    info = store.verify_key(token)
    assert info is not None and info.key_id == key_id and info.scopes == ("points:read", "points:write")
    assert info.name == "synthetic importer" and info.active

    secret = token.rsplit("_", 1)[-1] if token.count("_") == 2 else token[len(f"vpk_{key_id}_"):]
    rows = raw_rows(store, "SELECT * FROM api_keys")
    assert len(rows) == 1
    flat = " ".join(str(value) for value in rows[0])
    assert token not in flat and secret not in flat and secret[:16] not in flat
    if store.backend == "sqlite":
        path = Path(store.engine.url.database or "")
        on_disk = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert secret.encode() not in on_disk

    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert store.verify_key(tampered) is None
    assert store.verify_key("vpk_000000000000_" + secret) is None
    assert store.verify_key("not a token") is None and store.verify_key("") is None
    assert store.verify_key(None) is None  # type: ignore[arg-type]

    revoked = store.revoke_key(key_id)
    assert revoked.revoked_at is not None and not revoked.active
    assert store.verify_key(token) is None
    assert store.revoke_key(key_id).revoked_at == revoked.revoked_at  # idempotent
    assert store.get_key(key_id) == revoked and store.list_keys() == [revoked]
    with pytest.raises(UnknownApiKeyError):
        store.revoke_key("000000000000")
    with pytest.raises(InvalidRecordError):
        store.create_key("bad scopes", ["Points Write"])
    with pytest.raises(InvalidRecordError):
        store.create_key("", ["points:read"])


# ------------------------------------------------------------------------------------------------- concurrency

def _check_final(store: Store) -> None:
    """Exactly one row per distinct key, each holding the last round's values."""
    points = {p.source_key: p for p in store.list_points(limit=None)}
    assert len(points) == DISTINCT_KEYS == store.count_points()
    for key in range(DISTINCT_KEYS):
        want = expected(key, ROUNDS - 1)
        got = points[want.source_key]
        assert (got.name, got.lat, got.lon, got.staffed) == (want.name, want.lat, want.lon, want.staffed)


def test_concurrent_threads_upserting_overlapping_keys(store: Store) -> None:
    """Several threads, each with a store (engine, pool) of its own, upsert overlapping keys at once."""
    url = store.engine.url.render_as_string(hide_password=False)
    barrier = threading.Barrier(WORKERS)
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            results[worker] = concurrent_writer(url, worker, barrier)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    _check_final(store)
    assert sum(sum(r) for r in results.values()) == DISTINCT_KEYS  # each key counted as inserted exactly once


def test_concurrent_processes_migrating_and_upserting(backend: str, fresh_url: FreshUrl) -> None:
    """Several processes open a brand-new database at once (racing migrations), then upsert overlapping keys."""
    url = fresh_url(backend)
    context = multiprocessing.get_context("forkserver")  # children fork from a clean server that imported the store
    context.set_forkserver_preload(["tests.store.workers"])
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    processes = [context.Process(target=process_writer, args=(url, w, barrier, results)) for w in range(WORKERS)]
    for process in processes:
        process.start()
    collected = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert all(isinstance(counts, list) for counts in collected.values()), collected
    assert [process.exitcode for process in processes] == [0] * WORKERS
    with open_store(url) as store:
        _check_final(store)
    assert sum(sum(r) for r in collected.values()) == DISTINCT_KEYS


# --------------------------------------------------------------------------------------------- configuration


def test_unreachable_database_is_named_without_its_password(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url, shown = f"sqlite:///{tmp_path}", f"sqlite:///{tmp_path}"  # a directory cannot be opened
        secret = None
    else:
        secret = "s3cret-Passw0rd"
        url, shown = f"postgresql://vp_user:{secret}@127.0.0.1:1/vpostcode", "postgresql://vp_user:***@127.0.0.1:1"
    with pytest.raises(DatabaseUnavailableError) as info:
        open_store(url)
    message = str(info.value)
    assert shown in message and info.value.details["url"].startswith(shown)
    if secret:
        assert secret not in message and secret not in repr(info.value.to_dict())


def test_url_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://u:pw@db.example/vp")
    assert database_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
    assert database_url() == "postgresql://u:pw@db.example/vp"
    monkeypatch.delenv(DATABASE_URL_ENV)
    monkeypatch.setenv("VPOSTCODE_DATA_DIR", str(tmp_path))
    assert database_url() == f"sqlite:///{tmp_path.resolve() / 'vpostcode.sqlite'}"
    with pytest.raises(DatabaseUnavailableError, match="unsupported"):
        open_store("mysql://u:secret@127.0.0.1/vp")


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(fresh_url: FreshUrl) -> None:
    with open_store(fresh_url("sqlite")) as store:
        assert raw_rows(store, "PRAGMA journal_mode") == [("wal",)]
        assert raw_rows(store, "PRAGMA busy_timeout")[0][0] >= 1000
        assert raw_rows(store, "PRAGMA secure_delete") == [(1,)]
