"""Benchmark the address code against Plus Codes (OLC), H3, DIGIPIN and mapcode on real points of Vietnam.

Draws ``--n`` seeded random points inside the 2025 communes (an equal share per commune, spread over each commune's
polygon parts by area, by rejection in their bounding boxes with shapely's vectorised ``contains_xy``; the draw is
cached as a .npy in the temp directory), then times:

* vpostcode's array forms (``encode_many`` / ``decode_many``) on all ``--n`` points, best of ``--repeat`` runs;
* vpostcode's scalar forms and every peer's per-point Python API on the first ``--peer-n`` points, one call per
  point in a Python loop, extrapolated to points per second.

It prints a markdown table of points/second and the ratio of vpostcode's array form to each.

    .venv/bin/python scripts/bench/codec.py [--n 1000000] [--peer-n 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vpostcode import codec
from vpostcode.config import sources_dir

DIGIPIN_SHIFT = 20.0  # DIGIPIN covers India only (lon 63.5..99.5): its timing uses the points moved 20 deg west


# --- Points ---------------------------------------------------------------------------------------------------------


def draw_points(n: int, seed: int, sources: Path) -> np.ndarray:
    """``n`` points (lat, lon) inside the communes: an equal quota per commune, spread over its parts by area."""
    import geopandas as gpd
    import shapely

    communes = gpd.read_file(sources / "communes_2025.gpkg").sort_values("code", ignore_index=True)
    parts = communes[["code", "geometry"]].explode(index_parts=False, ignore_index=True)
    parts["area"] = shapely.area(parts.geometry.to_numpy())  # in square degrees: only shares within a commune
    rng = np.random.default_rng(seed)
    quota = np.full(len(communes), n // len(communes))
    quota[: n % len(communes)] += 1
    part_counts = np.zeros(len(parts), dtype=np.int64)
    for commune_index, (_, group) in enumerate(parts.groupby("code", sort=True)):
        share = group["area"].to_numpy() / group["area"].sum()
        part_counts[group.index.to_numpy()] = rng.multinomial(quota[commune_index], share)
    geoms = parts.geometry.to_numpy()
    bounds = shapely.bounds(geoms)
    out = np.empty((n, 2))
    filled = 0
    for index in np.flatnonzero(part_counts):
        geom, need = geoms[index], int(part_counts[index])
        shapely.prepare(geom)
        west, south, east, north = bounds[index]
        got: list[np.ndarray] = []
        have = 0
        batch = max(64, need * 4)
        while have < need:
            lon = rng.uniform(west, east, batch)
            lat = rng.uniform(south, north, batch)
            keep = shapely.contains_xy(geom, lon, lat)
            got.append(np.column_stack((lat[keep], lon[keep])))
            have += int(keep.sum())
            batch = min(batch * 4, 4_000_000)
        out[filled : filled + need] = np.concatenate(got)[:need]
        filled += need
    return out[rng.permutation(n)]


def load_points(n: int, seed: int, cache_dir: Path, sources: Path) -> tuple[np.ndarray, str]:
    """The cached draw if there is one, else a new draw (cached)."""
    path = cache_dir / f"vpostcode_bench_points_{n}_{seed}.npy"
    if path.exists():
        return np.load(path), f"cached draw {path}"
    start = time.perf_counter()
    points = draw_points(n, seed, sources)
    np.save(path, points)
    return points, f"new draw in {time.perf_counter() - start:.0f} s, cached as {path}"


# --- Timing ---------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table."""

    name: str
    length: str
    cell: str
    encode: float
    decode: float
    sample: int
    note: str = ""


def best_of(repeat: int, func: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest wall time of ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def per_point(func: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> tuple[float, list[Any]]:
    """Points per second of a per-point API called in a plain Python loop, and its results."""
    start = time.perf_counter()
    results = [func(*a) for a in args]
    return len(args) / (time.perf_counter() - start), results


def bench_vpostcode(points: np.ndarray, sample: np.ndarray, repeat: int) -> list[Row]:
    """vpostcode's array forms on all points, its scalar forms on the sample."""
    lats, lons = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
    codec.encode_many(lats[:10], lons[:10])  # build the look-up tables outside the timing
    encode_s, codes = best_of(repeat, lambda: codec.encode_many(lats, lons))
    decode_s, result = best_of(repeat, lambda: codec.decode_many(codes))
    if not result.valid.all():
        raise SystemExit("benchmark points fell outside the domain")
    n = len(points)
    width, height = codec.cell_size_m(*codec.cell_degrees(codec.FULL_LENGTH), 16.0)
    cell = f"{height:.2f} x {width:.2f} m"
    scalar_args = [tuple(p) for p in sample.tolist()]
    scalar_encode, scalar_codes = per_point(codec.encode, scalar_args)
    scalar_decode, _ = per_point(codec.decode, [(c,) for c in scalar_codes])
    length9 = codec.encode_many(lats, lons, 9)
    encode9_s, _ = best_of(repeat, lambda: codec.encode_many(lats, lons, 9))
    decode9_s, _ = best_of(repeat, lambda: codec.decode_many(length9))
    w9, h9 = codec.cell_size_m(*codec.cell_degrees(9), 16.0)
    return [
        Row("vpostcode encode_many / decode_many", "10 (incl. check)", cell, n / encode_s, n / decode_s, n),
        Row("vpostcode, 9 characters (array)", "9 (incl. check)", f"{h9:.1f} x {w9:.1f} m", n / encode9_s,
            n / decode9_s, n),
        Row("vpostcode encode / decode (scalar)", "10 (incl. check)", cell, scalar_encode, scalar_decode,
            len(sample), "one call per point"),
    ]


def bench_peers(sample: np.ndarray) -> list[Row]:
    """Each peer's per-point Python API on the sample."""
    import digipin
    import h3
    import mapcode
    import openlocationcode.openlocationcode as olc

    args = [tuple(p) for p in sample.tolist()]
    rows = []
    for length, cell in ((10, "13.9 x 13.9 m (at 16N: 13.9 x 13.4)"), (11, "3.5 x 2.8 m")):
        enc, codes = per_point(lambda lat, lon, n=length: olc.encode(lat, lon, n), args)
        dec, _ = per_point(olc.decode, [(c,) for c in codes])
        rows.append(Row(f"openlocationcode encode / decode ({length})", f"{length} + '+'", cell, enc, dec,
                        len(args)))
    enc, cells = per_point(lambda lat, lon: h3.latlng_to_cell(lat, lon, 15), args)
    dec, _ = per_point(h3.cell_to_latlng, [(c,) for c in cells])
    rows.append(Row("h3 latlng_to_cell / cell_to_latlng (res 15)", "15 hex", "~0.9 m2 hexagon", enc, dec, len(args)))
    shifted = [(lat, lon - DIGIPIN_SHIFT) for lat, lon in args]
    enc, pins = per_point(digipin.encode, shifted)
    dec, _ = per_point(digipin.decode, [(p,) for p in pins])
    rows.append(Row("digipin encode / decode", "10", "~3.8 x 3.8 m", enc, dec, len(args),
                    f"India-only: points moved {DIGIPIN_SHIFT:.0f} deg west"))
    enc, found = per_point(lambda lat, lon: mapcode.encode(lat, lon, "VNM"), args)
    codes = [f[0][0] for f in found if f]
    dec, _ = per_point(lambda code: mapcode.decode(code, "VNM"), [(c,) for c in codes])
    missing = len(found) - len(codes)
    rows.append(Row("mapcode encode / decode (territory VNM)", "5-9 + territory", "~10 m", enc, dec, len(args),
                    f"{missing} points without a VNM mapcode" if missing else "all mapcodes of the point"))
    return rows


def table(rows: list[Row], reference: Row) -> str:
    """A markdown table with the ratio of vpostcode's array form to each row."""
    lines = [
        "| method | code length | cell | encode points/s | decode points/s | points timed | "
        "vpostcode array encode ÷ this | decode ÷ this | note |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.length} | {row.cell} | {row.encode:,.0f} | {row.decode:,.0f} | {row.sample:,} | "
            f"{reference.encode / row.encode:,.1f}x | {reference.decode / row.decode:,.1f}x | {row.note} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse the options, draw or load the points, time everything, print the table and the goals."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="points for vpostcode's array forms")
    parser.add_argument("--peer-n", type=int, default=100_000, help="points for per-point APIs (subsample)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each array timing (best is kept)")
    parser.add_argument("--seed", type=int, default=20250701)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--sources", type=Path, default=None, help="source bundle (default: ../shared/data)")
    args = parser.parse_args()
    points, origin = load_points(args.n, args.seed, args.cache_dir, sources_dir(args.sources))
    sample = points[: min(args.peer_n, len(points))]
    print(f"points: {len(points):,} inside the 2025 communes ({origin}); per-point APIs on the first {len(sample):,},"
          " extrapolated to points/second")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (wall-clock timings)\n")
    ours = bench_vpostcode(points, sample, args.repeat)
    peers = bench_peers(sample)
    print(table(ours + peers, ours[0]))
    olc10 = next(row for row in peers if row.name.endswith("(10)"))
    h3_row = next(row for row in peers if row.name.startswith("h3"))
    print(f"\ngoal: encode >= 50x openlocationcode (10): {ours[0].encode / olc10.encode:.0f}x "
          f"({'met' if ours[0].encode >= 50 * olc10.encode else 'NOT met'}); faster than h3's per-point API: "
          f"{ours[0].encode / h3_row.encode:.0f}x ({'met' if ours[0].encode > h3_row.encode else 'NOT met'})")


if __name__ == "__main__":
    main()
