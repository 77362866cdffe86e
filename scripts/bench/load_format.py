"""Why gis_data/ is GeoParquet: load time and memory of the commune layer in each candidate format.

Writes the built commune table as GeoPackage, GeoParquet (WKB, snappy) and GeoParquet (geoarrow, uncompressed, the
format the build uses) to a temporary directory, then times a cold-ish read of each (best of --repeat, each in a
fresh subprocess so caches of the Python process do not help; module imports happen before the timer, as they
do once per process in the service) and prints a table.

    .venv/bin/python scripts/bench/load_format.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd

from vpostcode.gazetteer import get_gazetteer

READER = """
import json, sys, time, psutil, pyarrow as pa
pa.set_memory_pool(pa.system_memory_pool())
import geopandas as gpd, pyogrio, pyarrow.parquet  # the gazetteer imports pyarrow.parquet for its other tables
path, kind = sys.argv[1], sys.argv[2]
before = psutil.Process().memory_info().rss
start = time.perf_counter()
frame = pyogrio.read_dataframe(path) if kind == "gpkg" else gpd.read_parquet(path)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rss_mb": (psutil.Process().memory_info().rss - before) / 1e6,
                  "rows": len(frame)}))
"""


def main() -> None:
    """Write each format once, read each several times in fresh processes, print the best times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    communes = get_gazetteer().communes
    with tempfile.TemporaryDirectory() as tmp:
        paths = {
            "GeoPackage (pyogrio)": (Path(tmp) / "c.gpkg", "gpkg"),
            "GeoParquet WKB snappy": (Path(tmp) / "wkb.parquet", "parquet"),
            "GeoParquet geoarrow uncompressed (used)": (Path(tmp) / "ga.parquet", "parquet"),
        }
        communes.to_file(paths["GeoPackage (pyogrio)"][0], layer="communes")
        communes.to_parquet(paths["GeoParquet WKB snappy"][0])
        gpd.GeoDataFrame(communes).to_parquet(paths["GeoParquet geoarrow uncompressed (used)"][0],
                                              geometry_encoding="geoarrow", compression=None)
        rows = []
        for label, (path, kind) in paths.items():
            runs = [json.loads(subprocess.run([sys.executable, "-c", READER, str(path), kind], capture_output=True,
                                              text=True, check=True).stdout) for _ in range(args.repeat)]
            best = min(runs, key=lambda run: run["seconds"])
            rows.append((label, best["seconds"], best["rss_mb"], path.stat().st_size / 1e6))
    baseline = rows[0][1]
    print(f"| format | load s (best of {args.repeat}) | RSS MB | file MB | speed vs GeoPackage |")
    print("|---|---:|---:|---:|---:|")
    for label, seconds, rss, size in rows:
        print(f"| {label} | {seconds:.3f} | {rss:.0f} | {size:.0f} | {baseline / seconds:.2f}x |")


if __name__ == "__main__":
    main()
