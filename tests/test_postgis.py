"""The real PostGIS server that CI prepares: the commune polygons load into it and agree with the gazetteer."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import shapely

from tests.conftest import in_ci
from vpostcode.gazetteer import Gazetteer

psycopg2 = pytest.importorskip("psycopg2")

DSN = os.environ.get("VPOSTCODE_TEST_POSTGIS_URL", "postgresql://postgres@127.0.0.1:5432/test")
pytestmark = pytest.mark.postgis


@pytest.fixture(scope="module")
def connection() -> Iterator[object]:
    try:
        conn = psycopg2.connect(DSN, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        if in_ci():
            pytest.fail(f"PostGIS server unreachable in CI at {DSN}: {exc}")
        pytest.skip(f"PostGIS server unreachable at {DSN}")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    yield conn
    conn.close()


def test_postgis_contains_agrees_with_reference_points(connection, gazetteer: Gazetteer) -> None:  # type: ignore[no-untyped-def]
    communes = gazetteer.communes[gazetteer.communes["province_code"] == "01"]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE t_communes (code text PRIMARY KEY, geom geometry(MultiPolygon, 4326))")
        cursor.executemany(
            "INSERT INTO t_communes VALUES (%s, ST_Multi(ST_GeomFromWKB(%s, 4326)))",
            [(code, psycopg2.Binary(shapely.to_wkb(geom))) for code, geom in zip(communes["code"], communes.geometry)],
        )
        cursor.execute("CREATE INDEX ON t_communes USING gist (geom)")
        mismatches = []
        for code, lon, lat in communes[["code", "rep_lon", "rep_lat"]].itertuples(index=False):
            cursor.execute(
                "SELECT array_agg(code) FROM t_communes"
                " WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                (lon, lat),
            )
            found = cursor.fetchone()[0] or []
            if code not in found:
                mismatches.append(code)
        cursor.execute("SELECT count(*), sum(ST_NPoints(geom)) FROM t_communes")
        count, vertices = cursor.fetchone()
    assert mismatches == []
    assert count == len(communes)
    assert vertices == int(shapely.get_num_coordinates(communes.geometry.values).sum())
