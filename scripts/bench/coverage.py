"""National postal-point coverage in one run: vpostcode (ECEF KD-trees over a population grid) against PostGIS.

Both sides answer the same question on the same data: for every commune, whether it is served (a staffed point
inside it, or one within 5 km of its representative point), and what share of the population (the same grid of
population cells, offshore zones excluded) lives within 1, 2, 5 and 10 km of a staffed point.

* vpostcode: ``CoverageModel.summary(points)`` once the model is built (best of ``--repeat``).
* PostGIS: the communes (full-resolution polygons), points and grid cells are loaded into a scratch schema of the
  local server once, untimed, with GiST indexes and ANALYZE. The timed statement computes served per commune with
  ``ST_Contains`` (point in polygon) or ``ST_DWithin`` on geography, and for every grid cell the distance to the
  nearest staffed point within 10 km (``ST_DWithin`` + ``min(ST_Distance)`` on geography, one pass for all four
  distances), summed per threshold. Best of ``--sql-repeat``.
* ``suggest(points, k=50)``: the site-suggestion MCLP, timed once.

Points: the offices imported in ``gis_data/vpostcode.sqlite`` when the store holds any; otherwise a documented
stand-in, the 1,677 Vietnam Post offices of ``vnpost_offices.json`` placed at the representative point of the 2025
commune their legacy ward went into (``find_legacy_units(ward, district, province)``, then the ward name in the
province alone when that is unique; ``convert(code)``'s first candidate). The stand-in is coarse (offices stacked
at commune centres) and the output says so.

    .venv/bin/python scripts/bench/coverage.py [--url postgresql://postgres@127.0.0.1:5432/test] [--k 50]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import psycopg2
import shapely

from vpostcode.config import data_dir, sources_dir
from vpostcode.coverage import DEFAULT_WITHIN_KM, CoverageModel, PostalPoints, get_model
from vpostcode.errors import VpostcodeError
from vpostcode.gazetteer import Gazetteer, get_gazetteer

SCHEMA = "vpostcode_bench_coverage"
RADIUS_KM = 5.0
T = TypeVar("T")


# -------------------------------------------------------------------------------------------------------- points


def store_points() -> PostalPoints | None:
    """The points imported in the embedded store, or None when there is no store file or it holds no point."""
    path = data_dir() / "vpostcode.sqlite"
    if not path.is_file():
        return None
    try:
        from vpostcode.store import open_store

        store = open_store(f"sqlite:///{path}", migrate=False)
        try:
            arrays = store.points_array()
        finally:
            store.close()
    except (ImportError, VpostcodeError, AttributeError) as exc:
        print(f"note: could not read the store at {path} ({exc}); using the stand-in")
        return None
    return PostalPoints.from_store(arrays) if len(arrays.ids) else None


def _legacy_unit(gazetteer: Gazetteer, office: dict[str, Any]) -> str | None:
    """The legacy ward code of an office: by ward + district + province, else by ward + province if unique."""
    ward, district, province = (str(office.get(k) or "") for k in ("ward", "district", "province"))
    if not ward:
        return None
    units = gazetteer.find_legacy_units(ward, district or None, province or None)
    if not units and province:
        units = gazetteer.find_legacy_units(ward, None, province)
        units = units if len(units) == 1 else []
    return units[0].code if units else None


def standin_points(gazetteer: Gazetteer) -> tuple[PostalPoints, int, int]:
    """The stand-in offices (see the module docstring): (points, offices read, offices placed)."""
    offices = json.loads((sources_dir() / "vnpost_offices.json").read_text(encoding="utf-8"))
    ids, codes = [], []
    for office in offices:
        legacy = _legacy_unit(gazetteer, office)
        candidates = gazetteer.convert(legacy) if legacy else []
        if candidates:
            ids.append(str(office["code"]))
            codes.append(candidates[0].code)
    rows = np.array([gazetteer.commune_row(code) for code in codes], dtype=np.int64)
    communes = gazetteer.communes
    points = PostalPoints.from_arrays(np.array(ids), communes["rep_lon"].to_numpy()[rows],
                                      communes["rep_lat"].to_numpy()[rows], np.ones(len(ids), dtype=bool),
                                      np.array(codes), kinds=np.full(len(ids), "post_office"))
    return points, len(offices), len(ids)


# -------------------------------------------------------------------------------------------------------- timing


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    """The best wall time of ``repeat`` calls and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    assert result is not None
    return min(times), result


# -------------------------------------------------------------------------------------------------------- PostGIS


def _copy(cur: Any, table: str, rows: io.StringIO, columns: str) -> None:
    rows.seek(0)
    cur.copy_expert(f"COPY {SCHEMA}.{table} ({columns}) FROM STDIN WITH (FORMAT text)", rows)


def load_postgis(conn: Any, model: CoverageModel, points: PostalPoints) -> float:
    """Create the scratch schema with communes, points and grid cells, indexed and analysed; returns seconds."""
    start = time.perf_counter()
    table = model.table
    geoms = np.asarray(model.gazetteer.communes.geometry.values, dtype=object)
    with conn.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};")
        cur.execute(f"""
            CREATE TABLE {SCHEMA}.communes (code text PRIMARY KEY, offshore boolean, population bigint,
                                            rep_lon double precision, rep_lat double precision, wkb text);
            CREATE TABLE {SCHEMA}.points (id text, staffed boolean, commune_code text,
                                          lon double precision, lat double precision);
            CREATE TABLE {SCHEMA}.grid_raw (lon double precision, lat double precision, weight double precision,
                                            counted boolean);""")
        buffer = io.StringIO()
        for code, off, pop, lon, lat, wkb in zip(model.codes, model.offshore, table["population"].tolist(),
                                                 table["rep_lon"].tolist(), table["rep_lat"].tolist(),
                                                 shapely.to_wkb(geoms, hex=True), strict=True):
            buffer.write(f"{code}\t{'t' if off else 'f'}\t{int(pop)}\t{lon!r}\t{lat!r}\t{wkb}\n")
        _copy(cur, "communes", buffer, "code, offshore, population, rep_lon, rep_lat, wkb")
        buffer = io.StringIO()
        for i in range(len(points)):
            buffer.write(f"{points.id_at(i)}\t{'t' if points.staffed[i] else 'f'}\t{points.commune_codes[i]}\t"
                         f"{float(points.lons[i])!r}\t{float(points.lats[i])!r}\n")
        _copy(cur, "points", buffer, "id, staffed, commune_code, lon, lat")
        grid = model.grid
        buffer = io.StringIO()
        np.savetxt(buffer, np.column_stack([grid.lon, grid.lat, grid.weight]), fmt="%.10g", delimiter="\t")
        lines = buffer.getvalue().splitlines()
        counted = np.where(model.cell_counted, "t", "f")
        buffer = io.StringIO("".join(f"{line}\t{flag}\n" for line, flag in zip(lines, counted, strict=True)))
        _copy(cur, "grid_raw", buffer, "lon, lat, weight, counted")
        cur.execute(f"""
            ALTER TABLE {SCHEMA}.communes ADD COLUMN geom geometry(MultiPolygon, 4326),
                                          ADD COLUMN rep geography(Point, 4326);
            UPDATE {SCHEMA}.communes SET geom = ST_Multi(ST_GeomFromWKB(decode(wkb, 'hex'), 4326)),
                                         rep = ST_SetSRID(ST_MakePoint(rep_lon, rep_lat), 4326)::geography;
            ALTER TABLE {SCHEMA}.communes DROP COLUMN wkb;
            ALTER TABLE {SCHEMA}.points ADD COLUMN geom geometry(Point, 4326), ADD COLUMN geog geography(Point, 4326);
            UPDATE {SCHEMA}.points SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326), geog = ST_SetSRID(
                ST_MakePoint(lon, lat), 4326)::geography;
            CREATE TABLE {SCHEMA}.grid AS SELECT weight, counted,
                ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS geog FROM {SCHEMA}.grid_raw;
            DROP TABLE {SCHEMA}.grid_raw;
            CREATE INDEX ON {SCHEMA}.communes USING gist (geom);
            CREATE INDEX ON {SCHEMA}.communes USING gist (rep);
            CREATE INDEX ON {SCHEMA}.points USING gist (geom);
            CREATE INDEX ON {SCHEMA}.points USING gist (geog);
            CREATE INDEX ON {SCHEMA}.points (commune_code);
            CREATE INDEX ON {SCHEMA}.grid USING gist (geog);
            ANALYZE {SCHEMA}.communes; ANALYZE {SCHEMA}.points; ANALYZE {SCHEMA}.grid;""")
    conn.commit()
    return time.perf_counter() - start


def coverage_sql(radius_m: float, within_m: tuple[float, ...]) -> str:
    """The PostGIS statement: communes served and population within each distance, offshore zones excluded."""
    bound = max(within_m)
    sums = ",\n".join(f"    sum(weight) FILTER (WHERE d <= {x:g}) AS within_{int(x)}" for x in within_m)
    return f"""
WITH served AS (
  SELECT c.code,
         EXISTS (SELECT 1 FROM {SCHEMA}.points p WHERE p.staffed AND ST_Contains(c.geom, p.geom))
         OR EXISTS (SELECT 1 FROM {SCHEMA}.points p WHERE p.staffed AND ST_DWithin(p.geog, c.rep, {radius_m:g}))
           AS served
  FROM {SCHEMA}.communes c WHERE NOT c.offshore
), cells AS (
  SELECT g.weight,
         (SELECT min(ST_Distance(g.geog, p.geog)) FROM {SCHEMA}.points p
           WHERE p.staffed AND ST_DWithin(g.geog, p.geog, {bound:g})) AS d
  FROM {SCHEMA}.grid g WHERE g.counted
), population AS (
  SELECT sum(weight) AS total,
{sums}
  FROM cells
)
SELECT (SELECT count(*) FROM served), (SELECT count(*) FILTER (WHERE served) FROM served), population.*
FROM population"""


def run_sql(conn: Any, sql: str) -> dict[str, Any]:
    """Run the statement; its answer in the shape of ``summary()``'s counts and percentages."""
    with conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    conn.rollback()
    communes, served, total, *within = row
    return {"communes": int(communes), "served": int(served),
            "population_within_km": {f"{km:g}": round(100.0 * float(w or 0) / float(total), 3)
                                     for km, w in zip(DEFAULT_WITHIN_KM, within, strict=True)}}


# -------------------------------------------------------------------------------------------------------- main


def main() -> None:
    """Build the model, pick the points, time both ways and suggest(k), print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("VPOSTCODE_TEST_POSTGIS_URL",
                                                        "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--repeat", type=int, default=5, help="runs of the vpostcode summary (best is kept)")
    parser.add_argument("--sql-repeat", type=int, default=1, help="runs of the PostGIS statement (best is kept)")
    parser.add_argument("--k", type=int, default=50, help="sites for the suggest timing (0 to skip)")
    parser.add_argument("--keep", action="store_true", help=f"keep the scratch schema {SCHEMA}")
    args = parser.parse_args()

    gazetteer = get_gazetteer()
    start = time.perf_counter()
    model = get_model(gazetteer)
    build_s = time.perf_counter() - start

    points = store_points()
    if points is not None:
        source = f"{len(points):,} points imported in {data_dir() / 'vpostcode.sqlite'}"
    else:
        points, read, placed = standin_points(gazetteer)
        source = (f"STAND-IN: {placed:,} of the {read:,} Vietnam Post offices of vnpost_offices.json, each placed at "
                  f"the representative point of the 2025 commune its legacy ward went into "
                  f"({read - placed} offices whose ward is not in the legacy gazetteer are left out)")
    print(f"points: {source}\n")

    ours_s, ours = best_of(args.repeat, lambda: model.summary(points, radius_km=RADIUS_KM))

    conn = psycopg2.connect(args.url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT postgis_lib_version(), current_setting('max_parallel_workers_per_gather')")
            postgis_version, workers = cur.fetchone()
        conn.commit()
        load_s = load_postgis(conn, model, points)
        sql = coverage_sql(RADIUS_KM * 1000, tuple(km * 1000 for km in DEFAULT_WITHIN_KM))
        sql_s, theirs = best_of(args.sql_repeat, lambda: run_sql(conn, sql))
        if not args.keep:
            with conn.cursor() as cur:
                cur.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
            conn.commit()
    finally:
        conn.close()

    suggest_s = suggestion = None
    if args.k:
        start = time.perf_counter()
        suggestion = model.suggest(points, k=args.k, radius_km=RADIUS_KM)
        suggest_s = time.perf_counter() - start

    cells = len(model.grid)
    print(f"| step | vpostcode | PostGIS {postgis_version} | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| national summary: {ours['communes']:,} communes served (inside or within {RADIUS_KM:g} km) + "
          f"population within 1/2/5/10 km ({cells:,} grid cells, {int(points.staffed.sum()):,} staffed points) | "
          f"{ours_s:.3f} s | {sql_s:.2f} s | {sql_s / ours_s:,.0f}x |")
    print(f"| served communes | {ours['served']:,} | {theirs['served']:,} | |")
    for key, pct in ours["population_within_km"].items():
        print(f"| population within {key} km | {pct:.3f} % | {theirs['population_within_km'][key]:.3f} % | |")
    print(f"| one-off preparation (untimed above) | model build {build_s:.1f} s | load + index {load_s:.1f} s | |")
    if suggestion is not None and suggest_s is not None:
        solver = suggestion["solver"]
        print(f"| suggest k={args.k} ({RADIUS_KM:g} km): {solver['name']}, {solver['status']}, "
              f"{solver['candidates_kept']:,} candidates x {solver['demand_points_reachable']:,} demand points | "
              f"{suggest_s:.2f} s | | |")
        print(f"| covered population before -> after suggest | {suggestion['covered_before_pct']:.2f} % -> "
              f"{suggestion['covered_after_pct']:.2f} % (+{suggestion['newly_covered']:,}) | | |")
    print(f"\nPostGIS: max_parallel_workers_per_gather = {workers}; served uses ST_Contains on the polygons, "
          "vpostcode the points' commune codes (the same communes for these points unless a point sits in an "
          "overlap sliver).")
    print(f"vpostcode goal: < 1 s and >= 10x PostGIS: {'met' if ours_s < 1 and sql_s / ours_s >= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
