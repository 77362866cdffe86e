"""Reverse-geocoding benchmark: vpostcode ``CommuneIndex`` against PostGIS and ``geopandas.sjoin``.

One run, one set of points: ``--n`` points (default 1,000,000; seeded), 95% drawn inside real communes with
probability proportional to commune population (``--weight``; see ``points.py``), 5% at sea or abroad. Each
engine answers "which commune contains this point":

* vpostcode: ``CommuneIndex.locate_many`` (grid accelerator + exact GEOS tests; one core);
* PostGIS: polygons loaded once into ``communes`` with a GiST index (setup, not timed). Timed: ``COPY`` of the
  points into a temp table, ``ANALYZE``, one ``ST_Contains`` join, results out through ``COPY ... TO STDOUT``
  and parsed (temp tables are never scanned by parallel workers, so this is one core too);
* ``geopandas.sjoin(points, communes, predicate="within")`` (shapely STRtree).

Also measured: ``locate()`` latency over 10,000 single calls (p50, p99), index build time, and the RSS increase
of building the index (geometries already loaded: the grid plus GEOS prepared geometries). Correctness: on every
point outside the overlap slivers (PostGIS finds at most one polygon) vpostcode must give the same commune (or
no ``inside`` match when PostGIS finds none); on sliver points, vpostcode's ``index`` plus ``also_in`` must be
PostGIS's set.

Run: ``PYTHONPATH=. .venv/bin/python scripts/bench/reverse.py [--n 1000000] [--dsn postgresql://...]``.
Needs PostgreSQL with PostGIS (``apt-get install -y postgresql-15-postgis-3``); ``--skip-postgis`` without it.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from points import sample_points

from vpostcode.spatial import CommuneIndex, Match, release_free_memory

ROOT = Path(__file__).resolve().parents[2]
DATA_CANDIDATES = (
    ROOT / "gis_data" / "current" / "communes.parquet",
    ROOT.parent / "shared" / "data" / "communes_2025.gpkg",
)
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def rss_bytes(field: str = "VmRSS") -> int:
    """Resident set size of this process (``VmHWM``: its peak), from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def load_communes(path: Path) -> dict[str, Any]:
    """Codes, geometries (numpy array of shapely objects), population and area from GeoParquet or GeoPackage."""
    import geopandas as gpd
    import pyogrio

    columns = ["code", "population", "area_km2", "geometry"]
    if path.suffix == ".parquet":
        frame = gpd.read_parquet(path, columns=columns)
    else:
        frame = pyogrio.read_dataframe(path, columns=columns[:-1])
    frame = frame.sort_values("code").reset_index(drop=True)
    return {
        "code": frame["code"].to_numpy(dtype=str),
        "geometry": np.asarray(frame.geometry.values, dtype=object),
        "population": frame["population"].to_numpy(dtype=float),
        "area": frame["area_km2"].to_numpy(dtype=float),
    }


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


# -- PostGIS -----------------------------------------------------------------------------------------------------


def postgis_setup(dsn: str, codes: npt.NDArray[np.str_], geoms: npt.NDArray[np.object_]) -> None:
    """Create the extension and load the polygons once into ``bench_communes`` with a GiST index (not timed)."""
    import psycopg2

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute("DROP TABLE IF EXISTS bench_communes")
        cur.execute(
            "CREATE TABLE bench_communes (row_id integer PRIMARY KEY, code text, geom geometry(MultiPolygon, 4326))"
        )
        wkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
        buf = io.StringIO("".join(f"{i}\t{c}\t{w}\n" for i, (c, w) in enumerate(zip(codes, wkb, strict=True))))
        cur.copy_expert("COPY bench_communes (row_id, code, geom) FROM STDIN", buf)
        cur.execute("CREATE INDEX bench_communes_gix ON bench_communes USING gist (geom)")
        cur.execute("ANALYZE bench_communes")
        # The usual PostGIS tuning for point-in-polygon joins on big polygons: pieces of at most 255 vertices.
        cur.execute("DROP TABLE IF EXISTS bench_communes_sub")
        cur.execute("CREATE TABLE bench_communes_sub AS SELECT row_id, ST_Subdivide(geom, 255) AS geom"
                    " FROM bench_communes")
        cur.execute("CREATE INDEX bench_communes_sub_gix ON bench_communes_sub USING gist (geom)")
        cur.execute("ANALYZE bench_communes_sub")


def postgis_run(
    dsn: str, lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64], table: str = "bench_communes"
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The timed part: points in (COPY to a temp table), one ST_Contains join, (point id, row_id) pairs out.

    On the subdivided table a point on the cut line between two pieces of one commune would match twice: the
    join keeps distinct (point, commune) pairs.
    """
    import psycopg2

    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET max_parallel_workers_per_gather = 0")
        cur.execute("CREATE TEMP TABLE pts (id integer, lon float8, lat float8) ON COMMIT DROP")
        text = "\n".join(
            f"{i}\t{x!r}\t{y!r}" for i, (x, y) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True))
        )
        cur.copy_expert("COPY pts (id, lon, lat) FROM STDIN", io.StringIO(text + "\n"))
        cur.execute("ANALYZE pts")
        out = io.StringIO()
        cur.copy_expert(
            f"COPY (SELECT DISTINCT p.id, c.row_id FROM pts p JOIN {table} c"
            " ON ST_Contains(c.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))) TO STDOUT",
            out,
        )
    pairs = (
        np.loadtxt(io.StringIO(out.getvalue()), dtype=np.int64, ndmin=2) if out.tell() else np.zeros((0, 2), np.int64)
    )
    return pairs[:, 0], pairs[:, 1]


# -- geopandas ---------------------------------------------------------------------------------------------------


def sjoin_run(
    geoms: npt.NDArray[np.object_], lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """geopandas.sjoin(points, polygons, predicate="within"): (point id, polygon row) pairs."""
    import geopandas as gpd

    polygons = gpd.GeoDataFrame(
        {"row_id": np.arange(len(geoms))}, geometry=shapely.from_wkb(shapely.to_wkb(geoms)), crs=4326
    )
    points = gpd.GeoDataFrame({"id": np.arange(len(lats))}, geometry=gpd.points_from_xy(lons, lats), crs=4326)
    joined = gpd.sjoin(points, polygons, predicate="within", how="inner")
    return joined["id"].to_numpy(np.int64), joined["row_id"].to_numpy(np.int64)


# -- comparison --------------------------------------------------------------------------------------------------


def agreement(result: Any, point_ids: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], n: int) -> dict[str, float]:
    """Compare vpostcode's answer with another engine's (point, containing polygon) pairs.

    Outside slivers (the engine finds 0 or 1 polygon): agree when the rows match (1) or vpostcode has no
    inside/overlap match (0). Sliver points (2+ polygons): agree when ``{index} + also_in`` is the same set.
    """
    count = np.bincount(point_ids, minlength=n)
    single_row = np.full(n, -1, dtype=np.int64)
    once = count[point_ids] == 1
    single_row[point_ids[once]] = rows[once]
    contained = (result.match == Match.INSIDE) | (result.match == Match.OVERLAP)
    ours = np.where(contained, result.index, -1)
    plain = count <= 1
    agree_plain = int(np.count_nonzero(ours[plain] == single_row[plain]))
    multi = np.nonzero(count >= 2)[0]
    theirs: dict[int, set[int]] = {}
    for p, r in zip(point_ids.tolist(), rows.tolist(), strict=True):
        if count[p] >= 2:
            theirs.setdefault(p, set()).add(r)
    agree_multi = sum(1 for p in multi if {int(result.index[p]), *result.also_in[p]} == theirs[int(p)])
    return {
        "plain": float(np.count_nonzero(plain)),
        "plain_agree": agree_plain,
        "multi": float(len(multi)),
        "multi_agree": agree_multi,
    }


def latency(
    index: Any, lats: npt.NDArray[np.float64], lons: npt.NDArray[np.float64], calls: int
) -> tuple[float, float]:
    """p50 and p99 in milliseconds of ``index.locate`` (or a geocoder's ``reverse``) over ``calls`` points."""
    call = index.locate if hasattr(index, "locate") else index.reverse
    samples = np.empty(calls)
    for i in range(calls):
        lat, lon = float(lats[i]), float(lons[i])
        start = time.perf_counter_ns()
        call(lat, lon)
        samples[i] = time.perf_counter_ns() - start
    return float(np.percentile(samples, 50) / 1e6), float(np.percentile(samples, 99) / 1e6)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of points (default 1,000,000)")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help=f"PostgreSQL/PostGIS DSN (default {DEFAULT_DSN})")
    parser.add_argument("--data", type=Path, default=None, help="communes GeoParquet or GeoPackage")
    parser.add_argument("--weight", choices=("population", "area", "uniform"), default="population")
    parser.add_argument("--seed", type=int, default=20250701)
    parser.add_argument("--calls", type=int, default=10_000, help="single-point locate() calls for latency")
    parser.add_argument("--cell-deg-log2", type=int, default=8, help="grid: 2**k cells per degree (default 8)")
    parser.add_argument("--skip-postgis", action="store_true")
    parser.add_argument("--skip-sjoin", action="store_true")
    parser.add_argument("--skip-full", action="store_true", help="skip the full reverse_many pipeline")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a markdown table."""
    args = parse_args(argv)
    path = args.data or next((p for p in DATA_CANDIDATES if p.exists()), None)
    if path is None:
        print("no communes data found; pass --data", file=sys.stderr)
        return 2
    extra_latency: list[tuple[float, float]] = []
    data = load_communes(path)
    geoms, codes = data["geometry"], data["code"]
    gc.collect()
    release_free_memory()
    rss_before = rss_bytes()
    index, build_s = timed(lambda: CommuneIndex(geoms, codes, cell_deg_log2=args.cell_deg_log2))
    rss_index = (rss_before, rss_bytes())
    weights = {"population": data["population"], "area": data["area"], "uniform": np.ones(len(geoms))}[args.weight]
    (lats, lons, _drawn), sample_s = timed(lambda: sample_points(geoms, weights, args.n, seed=args.seed))
    n = len(lats)
    index.locate_many(lats[:10_000], lons[:10_000])  # warm caches as a long-running service would be
    result, ours_s = timed(lambda: index.locate_many(lats, lons))
    p50, p99 = latency(index, lats, lons, min(args.calls, n))
    rows: list[tuple[str, float, str]] = [("vpostcode CommuneIndex.locate_many", ours_s, "")]
    if not args.skip_full:
        from vpostcode.reverse_geocode import get_reverse_geocoder

        geocoder = get_reverse_geocoder()
        geocoder.reverse_many(lats[:10_000], lons[:10_000])
        full, full_s = timed(lambda: geocoder.reverse_many(lats, lons))
        rows.append(("vpostcode reverse_many (all fields: commune, postal, address and local codes)", full_s, ""))
        full_p50, full_p99 = latency(geocoder, lats, lons, min(args.calls, n))
        extra_latency.append((full_p50, full_p99))
        del full
    checks: list[str] = []
    if not args.skip_postgis:
        postgis_setup(args.dsn, codes, geoms)
        (pg_ids, pg_rows), pg_s = timed(lambda: postgis_run(args.dsn, lats, lons))
        agree = agreement(result, pg_ids, pg_rows, n)
        rows.append(("PostGIS ST_Contains join (COPY in + out)", pg_s, ""))
        checks.append(describe_agreement("PostGIS", agree))
        (sub_ids, sub_rows), sub_s = timed(lambda: postgis_run(args.dsn, lats, lons, "bench_communes_sub"))
        rows.append(("PostGIS ST_Contains join, ST_Subdivide(255) polygons", sub_s, ""))
        checks.append(describe_agreement("PostGIS (subdivided)", agreement(result, sub_ids, sub_rows, n)))
    if not args.skip_sjoin:
        (sj_ids, sj_rows), sj_s = timed(lambda: sjoin_run(geoms, lats, lons))
        rows.append(("geopandas.sjoin (predicate within)", sj_s, ""))
        checks.append(describe_agreement("geopandas.sjoin", agree=agreement(result, sj_ids, sj_rows, n)))
    print_report(args, path, n, index, build_s, sample_s, rss_index, rows, (p50, p99), result, checks,
                 extra_latency)
    return 0


def describe_agreement(engine: str, agree: dict[str, float]) -> str:
    """One line: agreement outside slivers and on sliver points."""
    plain = agree["plain_agree"] / agree["plain"] if agree["plain"] else 1.0
    multi = agree["multi_agree"] / agree["multi"] if agree["multi"] else 1.0
    return (
        f"vpostcode vs {engine}: {plain:.4%} agree on {int(agree['plain']):,} points outside slivers "
        f"({int(agree['plain'] - agree['plain_agree'])} differ); sliver points: {int(agree['multi_agree'])}"
        f"/{int(agree['multi'])} same set ({multi:.1%})"
    )


def print_report(
    args: argparse.Namespace,
    path: Path,
    n: int,
    index: CommuneIndex,
    build_s: float,
    sample_s: float,
    rss_index: tuple[int, int],
    rows: list[tuple[str, float, str]],
    latency_ms: tuple[float, float],
    result: Any,
    checks: list[str],
    extra_latency: list[tuple[float, float]],
) -> None:
    """The markdown table and the checks."""
    ours = rows[0][1]
    labels, counts = np.unique(result.match_labels, return_counts=True)
    print(f"\n## Reverse geocoding benchmark: {n:,} points ({args.weight}-weighted, 5% sea/abroad, seed {args.seed})")
    print(f"data: {path.name}, {len(index):,} polygons; host: {os.cpu_count()} cores; sampling took {sample_s:.1f} s\n")
    full = next((seconds for name, seconds, _ in rows if name.startswith("vpostcode reverse_many")), ours)
    print("| engine | time (s) | points/s | locate_many speed-up | reverse_many speed-up |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, _ in rows:
        print(f"| {name} | {seconds:.2f} | {n / seconds:,.0f} | {seconds / ours:.1f}x | {seconds / full:.1f}x |")
    calls = min(args.calls, n)
    p50, p99 = latency_ms
    print(f"| vpostcode locate() single point, {calls:,} calls | p50 {p50:.3f} ms | p99 {p99:.3f} ms | | |")
    for full_p50, full_p99 in extra_latency:
        print(f"| vpostcode reverse() single point, all fields, {calls:,} calls | p50 {full_p50:.3f} ms "
              f"| p99 {full_p99:.3f} ms | | |")
    grid_mib = index.grid_stats["bytes"] / 2**20
    added = (rss_index[1] - rss_index[0]) / 2**20
    print(f"| vpostcode index build | {build_s:.2f} | RSS +{added:,.0f} MiB | grid {grid_mib:,.0f} MiB | |")
    mib = [value / 2**20 for value in (*rss_index, rss_bytes("VmHWM"))]
    print(f"\nprocess RSS: {mib[0]:,.0f} MiB with the polygons loaded, {mib[1]:,.0f} MiB with the index", end="")
    print(f", peak {mib[2]:,.0f} MiB")
    print("\nmatches: " + ", ".join(f"{label} {count:,}" for label, count in zip(labels, counts, strict=True)))
    for line in checks:
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())
