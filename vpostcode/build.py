"""Build the serving data (``gis_data/``) from the verified source bundle.

The build is a pure function of the source files and this module's ``FORMAT_VERSION``: their fingerprint names the
build, so a second run with unchanged sources does nothing. Each build is written into its own directory and
published by atomically replacing the ``current`` symlink, so a run killed midway leaves the previous build in
service. Tables are GeoParquet (geoarrow encoding, uncompressed). GeoPackage was measured and not chosen: the
7.1 M-vertex commune layer loads in 0.48 s (300 MB) as GeoPackage through pyogrio against 0.81 s (422 MB) as this
GeoParquet, best of 5 fresh processes (``scripts/bench/load_format.py``), but reading it goes through GDAL's SQLite,
and a process that has loaded SpatiaLite for the embedded store first (the office import, the API) then dies in
GDAL with a segmentation fault. Parquet needs no GDAL at load time and keeps column types for every table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from tqdm import tqdm

from vpostcode import __version__
from vpostcode.config import data_dir, sources_dir
from vpostcode.errors import SourceDataError
from vpostcode.text import fold

FORMAT_VERSION = 1
CHECKSUM_FILE = "SHA256SUMS"
REQUIRED_SOURCES = (
    "communes_2025.gpkg",
    "provinces_2025.gpkg",
    "reform_2025_merges.json",
    "reform_2025_splits.json",
    "legacy_units_2024.csv",
    "legacy_postcodes_2020.csv",
    "postal_codes_2025.csv",
    "postal_prefixes_2025.csv",
    "vnpost_offices.json",
)
CURRENT_LINK = "current"
MANIFEST = "manifest.json"
OUTPUTS = (
    "communes.parquet",
    "provinces.parquet",
    "legacy_units.parquet",
    "legacy_provinces.parquet",
    "legacy_postcodes.parquet",
    "conversion.parquet",
    "province_conversion.parquet",
)


@dataclass
class BuildReport:
    """What a build run did: ``built`` or ``up-to-date``, where, and the manifest in force afterwards."""

    status: str
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------------------
# Source verification


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(sources: Path) -> dict[str, str]:
    """The expected checksum of every source file, from the bundle's ``SHA256SUMS``."""
    path = sources / CHECKSUM_FILE
    if not path.is_file():
        raise SourceDataError(
            f"source bundle not found: {path} is missing (pass --sources DIR or set $VPOSTCODE_SOURCES)",
            file=str(path),
        )
    expected: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            checksum, name = line.split(maxsplit=1)
            expected[name.strip().lstrip("*")] = checksum.lower()
    return expected


def verify_sources(sources: Path) -> dict[str, dict[str, Any]]:
    """Check every source file against ``SHA256SUMS``; stop at the first missing or altered file, naming it."""
    expected = read_checksums(sources)
    for name in REQUIRED_SOURCES:
        if name not in expected:
            raise SourceDataError(f"{name}: not listed in {sources / CHECKSUM_FILE}", file=name)
    verified: dict[str, dict[str, Any]] = {}
    for name, checksum in sorted(expected.items()):
        path = sources / name
        if not path.is_file():
            raise SourceDataError(
                f"{name}: missing from the source bundle {sources} (restore it from the upstream source)", file=name
            )
        actual = _sha256(path)
        if actual != checksum:
            raise SourceDataError(
                f"{name}: checksum mismatch (expected {checksum[:12]}…, found {actual[:12]}…): "
                "the file is corrupt or was changed; restore it from the upstream source",
                file=name,
            )
        verified[name] = {"sha256": actual, "bytes": path.stat().st_size}
    return verified


def fingerprint(verified: dict[str, dict[str, Any]]) -> str:
    """The identity of a build: the source checksums and the output format version."""
    payload = json.dumps({"format": FORMAT_VERSION, "sources": {k: v["sha256"] for k, v in verified.items()}})
    return hashlib.sha256(payload.encode()).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# Tables


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceDataError(f"{path.name}: cannot be read as JSON ({exc})", file=path.name) from exc


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise SourceDataError(f"{path.name}: cannot be read as CSV ({exc})", file=path.name) from exc


def _read_layer(path: Path) -> gpd.GeoDataFrame:
    try:
        return pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise SourceDataError(f"{path.name}: cannot be read as a GeoPackage ({exc})", file=path.name) from exc


def _with_reference(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add the reference point (inside the polygon, unlike a centroid) and the bounding box of each unit."""
    geoms = frame.geometry.values
    reps = shapely.point_on_surface(geoms)
    bounds = shapely.bounds(geoms)
    frame = frame.copy()
    frame["rep_lon"] = shapely.get_x(reps)
    frame["rep_lat"] = shapely.get_y(reps)
    frame["west"], frame["south"], frame["east"], frame["north"] = bounds.T
    return frame


def build_communes(sources: Path) -> gpd.GeoDataFrame:
    """The 3,321 communes of 2025 with their 2025 postal code, reference point and bounding box."""
    communes = _read_layer(sources / "communes_2025.gpkg").sort_values("code", ignore_index=True)
    postal = _read_csv(sources / "postal_codes_2025.csv")
    communes = communes.merge(postal, on="code", how="left", validate="one_to_one")
    communes = _with_reference(communes)
    if communes["code"].duplicated().any():
        raise SourceDataError("communes_2025.gpkg: duplicate commune codes", file="communes_2025.gpkg")
    return communes


def build_provinces(sources: Path, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The 34 provinces of 2025 with postal prefixes and totals derived from their communes."""
    provinces = _read_layer(sources / "provinces_2025.gpkg").sort_values("code", ignore_index=True)
    prefixes = _read_csv(sources / "postal_prefixes_2025.csv").rename(
        columns={"province_code": "code", "postal_code_prefixes": "postal_prefixes"}
    )
    totals = communes.groupby("province_code").agg(
        population=("population", "sum"), commune_count=("code", "size")
    )
    provinces = provinces.merge(prefixes, on="code", how="left", validate="one_to_one")
    provinces = provinces.merge(totals, left_on="code", right_index=True, how="left", validate="one_to_one")
    return _with_reference(provinces)


def build_legacy_postcodes(sources: Path, legacy_codes: set[str]) -> pd.DataFrame:
    """The 2020 postcode list as published, flagged where the unit no longer existed in 2024."""
    postcodes = _read_csv(sources / "legacy_postcodes_2020.csv")
    postcodes["in_2024"] = postcodes["gso_code"].isin(legacy_codes)
    return postcodes


def build_legacy_units(sources: Path, postcodes: pd.DataFrame, communes: gpd.GeoDataFrame,
                       conversion: pd.DataFrame) -> pd.DataFrame:
    """The 10,040 lowest-level legacy units (wards, plus the five island districts that had no wards).

    Island districts carry no ward code in the source: they stand as their own lowest unit, keyed by the district
    code, and take their location from the 2025 special zone they became in full.
    """
    raw = _read_csv(sources / "legacy_units_2024.csv")
    district_only = raw["ward_code"].isna()
    units = pd.DataFrame({
        "code": raw["ward_code"].fillna(raw["district_code"]),
        "level": np.where(district_only, "district", "ward"),
        "name": raw["ward"].fillna(raw["district"]),
        "type": raw["ward_type"].fillna(raw["district_type"]),
        "district_code": raw["district_code"],
        "district_name": raw["district"],
        "district_type": raw["district_type"],
        "province_code": raw["province_code"],
        "province_name": raw["province"],
        "lat": pd.to_numeric(raw["ward_lat"]),
        "lon": pd.to_numeric(raw["ward_lon"]),
    })
    corners = raw["ward_bbox"].str.extract(r"([\d.]+),([\d.]+)\s*\S\s*([\d.]+),([\d.]+)").astype(float)
    units["south"], units["west"], units["north"], units["east"] = (corners[i] for i in range(4))
    units["location_source"] = np.where(district_only, "commune_2025", "legacy_2024")
    units = _fill_island_locations(units, communes, conversion)
    ward_postcodes = postcodes[postcodes["level"] == "ward"].set_index("gso_code")["postcode"]
    district_postcodes = postcodes[postcodes["level"] == "district"].set_index("gso_code")["postcode"]
    units["postcode_2020"] = units["code"].map(ward_postcodes)
    units["district_postcode_2020"] = units["district_code"].map(district_postcodes)
    return units


def _fill_island_locations(units: pd.DataFrame, communes: gpd.GeoDataFrame, conversion: pd.DataFrame) -> pd.DataFrame:
    """Give ward-less island districts the reference point and bounding box of the special zone they became."""
    targets: dict[str, str] = dict(
        conversion.loc[conversion["legacy_level"] == "district", ["legacy_code", "new_code"]].itertuples(index=False)
    )
    by_code = communes.set_index("code")
    for position in np.flatnonzero(units["level"].to_numpy() == "district"):
        zone = by_code.loc[targets[str(units.at[position, "code"])]]
        units.loc[position, ["lat", "lon", "south", "west", "north", "east"]] = [
            zone["rep_lat"], zone["rep_lon"], zone["south"], zone["west"], zone["north"], zone["east"]
        ]
    return units


def _code_aliases(mapping_units: list[tuple[str, str, str]], communes: gpd.GeoDataFrame) -> dict[str, str]:
    """Commune codes used by the reform mapping but not by the commune layer, matched by province and name.

    Real sources disagree (Xã Ba Chẽ is 06978 in the layer and 06970 in the mapping): each such code is resolved to
    the one commune of the same province with the same name, or the build stops.
    """
    known = set(communes["code"])
    keyed = communes.assign(key=communes["full_name"].map(fold)).groupby(["province_code", "key"])["code"].agg(list)
    aliases: dict[str, str] = {}
    for province_code, new_code, name in mapping_units:
        if new_code in known or new_code in aliases:
            continue
        matches = keyed.get((province_code, fold(name)), [])
        if len(matches) != 1:
            raise SourceDataError(
                f"reform_2025_merges.json: commune {new_code} ({name}) matches {len(matches)} communes of the layer",
                file="reform_2025_merges.json",
            )
        aliases[new_code] = matches[0]
    return aliases


def build_conversion(sources: Path, communes: gpd.GeoDataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every legacy unit → 2025 commune pair from both mapping files, with its share (full or partial).

    A pair is kept if either file states it; ``in_merges`` / ``in_splits`` say which did, so that tests (and
    users) can see where the two disagree.
    """
    merges = _load_json(sources / "reform_2025_merges.json")["data"]
    splits = _load_json(sources / "reform_2025_splits.json")["data"]
    merge_rows = [
        (province["level1_id"], unit["level2_id"], unit["name"], old["old_id"], old["name"], old["type"])
        for province in merges for unit in province["level2s"] for old in unit["merges"]
    ]
    split_rows = [
        (unit[f"{key}_id"], unit["name"], new["new_id"], new["name"])
        for province in splits for key in ("level3", "level2") for unit in province.get(f"{key}s", [])
        for new in unit["splits"]
    ]
    aliases = _code_aliases([(p, n, name) for p, n, name, *_ in merge_rows], communes)
    by_merges = pd.DataFrame(merge_rows, columns=["province_code", "new_code", "new_name", "legacy_code",
                                                  "legacy_name", "share"])
    by_splits = pd.DataFrame(split_rows, columns=["legacy_code", "legacy_name", "new_code", "new_name"])
    for frame in (by_merges, by_splits):
        frame["new_code"] = frame["new_code"].replace(aliases)
    pairs = by_merges[["legacy_code", "legacy_name", "new_code", "share"]].assign(in_merges=True).merge(
        by_splits[["legacy_code", "legacy_name", "new_code"]].assign(in_splits=True),
        on=["legacy_code", "new_code"], how="outer", suffixes=("", "_splits"),
    )
    pairs["legacy_name"] = pairs["legacy_name"].fillna(pairs.pop("legacy_name_splits"))
    pairs["in_merges"] = pairs["in_merges"].astype("boolean").fillna(False).astype(bool)
    pairs["in_splits"] = pairs["in_splits"].astype("boolean").fillna(False).astype(bool)
    targets = pairs.groupby("legacy_code")["new_code"].transform("size")
    pairs["share"] = pairs["share"].fillna(pd.Series(np.where(targets == 1, "full", "partial"), index=pairs.index))
    pairs["legacy_level"] = np.where(pairs["legacy_code"].str.len() == 3, "district", "ward")
    names = communes.set_index("code")["full_name"]
    pairs["new_name"] = pairs["new_code"].map(names)
    if pairs["new_name"].isna().any():
        missing = sorted(set(pairs.loc[pairs["new_name"].isna(), "new_code"]))
        raise SourceDataError(f"reform mapping names unknown communes {missing[:5]}", file="reform_2025_merges.json")
    pairs = pairs.sort_values(["legacy_code", "new_code"], ignore_index=True)
    return pairs, aliases


def build_province_conversion(sources: Path) -> pd.DataFrame:
    """Legacy province (63) → 2025 province (34), from the merges file."""
    merges = _load_json(sources / "reform_2025_merges.json")["data"]
    rows = [(old["old_id"], old["name"], province["level1_id"], province["name"], old["type"])
            for province in merges for old in province["merges"]]
    return pd.DataFrame(rows, columns=["legacy_code", "legacy_name", "new_code", "new_name", "share"]).sort_values(
        ["legacy_code", "new_code"], ignore_index=True)


def build_legacy_provinces(units: pd.DataFrame, postcodes: pd.DataFrame) -> pd.DataFrame:
    """The 63 legacy provinces with their 2020 postal prefixes."""
    provinces = units.groupby("province_code", as_index=False).agg(
        name=("province_name", "first"), districts=("district_code", "nunique"), units=("code", "size"))
    prefixes = postcodes[postcodes["level"] == "province"].set_index("gso_code")["postcode"].str.replace("|", ";")
    provinces["postal_prefixes_2020"] = provinces["province_code"].map(prefixes)
    return provinces.rename(columns={"province_code": "code"})


def quirks(communes: gpd.GeoDataFrame, provinces: gpd.GeoDataFrame, postcodes: pd.DataFrame,
           aliases: dict[str, str]) -> dict[str, Any]:
    """The source disagreements found and resolved by this build, recorded in the manifest."""
    prefixes = provinces.set_index("code")["postal_prefixes"].str.split(";")
    mismatched = [
        code for code, province, postal in communes[["code", "province_code", "postal_code"]].itertuples(index=False)
        if isinstance(postal, str) and postal[:2] not in prefixes.get(province, [])
    ]
    ward_postcodes = postcodes[postcodes["level"] == "ward"]
    return {
        "code_aliases": aliases,
        "communes_without_postal_code": sorted(communes.loc[communes["postal_code"].isna(), "code"]),
        "postal_codes_outside_province_prefixes": mismatched,
        "legacy_postcodes_of_units_gone_by_2024": int((~ward_postcodes["in_2024"]).sum()),
    }


# --------------------------------------------------------------------------------------------------------------
# Publishing


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(path, geometry_encoding="geoarrow", compression=None, index=False)
    else:
        frame.to_parquet(path, compression=None, index=False)


def current_build(out: Path) -> Path | None:
    """The directory of the build in service, or None when nothing has been published."""
    link = out / CURRENT_LINK
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest of the build in service, or None."""
    build = current_build(out)
    if build is None or not (build / MANIFEST).is_file():
        return None
    manifest: dict[str, Any] = json.loads((build / MANIFEST).read_text())
    return manifest


def _is_complete(out: Path, fp: str) -> bool:
    manifest = read_manifest(out)
    build = current_build(out)
    return (
        manifest is not None and build is not None and manifest.get("fingerprint") == fp
        and all((build / name).is_file() for name in OUTPUTS)
    )


def _publish(out: Path, staging: Path, fp: str) -> Path:
    """Move a finished staging directory into place and switch ``current`` to it in one atomic rename."""
    final = out / f"build-{fp[:16]}"
    if final.exists():
        shutil.rmtree(final)
    staging.rename(final)
    link_tmp = out / f".{CURRENT_LINK}.{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    link_tmp.symlink_to(final.name)
    os.replace(link_tmp, out / CURRENT_LINK)
    manifest_link = out / MANIFEST
    if not manifest_link.is_symlink():
        if manifest_link.exists():
            manifest_link.unlink()
        manifest_link.symlink_to(Path(CURRENT_LINK) / MANIFEST)
    return final


def _remove_stale(out: Path, keep: Path) -> None:
    for entry in out.iterdir():
        stale = entry.name.startswith(("build-", ".staging-")) and entry != keep
        if stale and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def _step(bar: tqdm, label: str) -> Iterator[None]:
    bar.set_postfix_str(label)
    yield
    bar.update(1)


def build(sources: str | os.PathLike[str] | None = None, out: str | os.PathLike[str] | None = None,
          force: bool = False, progress: bool | None = None,
          log: Callable[[str], None] | None = None) -> BuildReport:
    """Verify the sources and build ``gis_data/``; do nothing when the build in service has the same fingerprint."""
    src = sources_dir(sources)
    out_dir = data_dir(out)
    started = time.perf_counter()
    verified = verify_sources(src)
    fp = fingerprint(verified)
    if not force and _is_complete(out_dir, fp):
        return BuildReport("up-to-date", current_build(out_dir) or out_dir, read_manifest(out_dir) or {})
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".staging-{fp[:16]}-{os.getpid()}"
    staging.mkdir()
    try:
        manifest = _build_into(src, staging, verified, fp, started, progress)
        final = _publish(out_dir, staging, fp)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_stale(out_dir, final)
    return BuildReport("built", final, manifest)


def _build_into(src: Path, staging: Path, verified: dict[str, dict[str, Any]], fp: str, started: float,
                progress: bool | None) -> dict[str, Any]:
    with tqdm(total=8, desc="data build", unit="step", disable=None if progress is None else not progress) as bar:
        with _step(bar, "communes"):
            communes = build_communes(src)
        with _step(bar, "provinces"):
            provinces = build_provinces(src, communes)
        with _step(bar, "reform mapping"):
            conversion, aliases = build_conversion(src, communes)
            province_conversion = build_province_conversion(src)
        with _step(bar, "legacy units"):
            raw_codes = _read_csv(src / "legacy_units_2024.csv")
            legacy_codes = set(raw_codes["ward_code"].dropna()) | set(raw_codes["district_code"])
            legacy_codes |= set(raw_codes["province_code"])
            postcodes = build_legacy_postcodes(src, legacy_codes)
            units = build_legacy_units(src, postcodes, communes, conversion)
            legacy_provinces = build_legacy_provinces(units, postcodes)
        tables: dict[str, pd.DataFrame] = {
            "communes.parquet": communes,
            "provinces.parquet": provinces,
            "legacy_units.parquet": units,
            "legacy_provinces.parquet": legacy_provinces,
            "legacy_postcodes.parquet": postcodes,
            "conversion.parquet": conversion,
            "province_conversion.parquet": province_conversion,
        }
        with _step(bar, "writing"):
            for name, frame in tables.items():
                _write_table(frame, staging / name)
        with _step(bar, "checks"):
            found = quirks(communes, provinces, postcodes, aliases)
        with _step(bar, "manifest"):
            manifest = {
                "format_version": FORMAT_VERSION,
                "code_version": __version__,
                "fingerprint": fp,
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "build_seconds": round(time.perf_counter() - started, 2),
                "sources": verified,
                "outputs": {name: {"rows": len(frame), "bytes": (staging / name).stat().st_size}
                            for name, frame in tables.items()},
                "counts": {
                    "provinces": len(provinces),
                    "communes": len(communes),
                    "legacy_provinces": len(legacy_provinces),
                    "legacy_districts": int(units["district_code"].nunique()),
                    "legacy_wards": len(units),
                    "postal_codes": int(communes["postal_code"].notna().sum()),
                    "legacy_postcodes_2020": int((units["postcode_2020"].notna()).sum()),
                    "conversion_pairs": len(conversion),
                },
                "quirks": found,
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        with _step(bar, "done"):
            pass
    return manifest
