"""The code and reverse commands users script against: --json fields, batch files of every format, errors."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from vpostcode import codec
from vpostcode.cli import main
from vpostcode.gazetteer import Gazetteer

HOAN_KIEM = (21.0285, 105.8542)


def _json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_encode_fields(runner: CliRunner, gazetteer: Gazetteer) -> None:
    data = _json(runner, "encode", *map(str, HOAN_KIEM))
    assert set(data) >= {"code", "local_code", "commune_code", "lat", "lon", "cell_m"}
    assert data["code"] == codec.encode(*HOAN_KIEM)
    assert data["commune_code"] == "00070"
    assert data["local_code"].startswith(gazetteer.commune("00070").postal_code + "-")
    assert max(data["cell_m"]) < 1.0
    short = _json(runner, "encode", *map(str, HOAN_KIEM), "--length", "8")
    assert short["code"] == data["code"][:7] + short["code"][7] and short["local_code"] is None


def test_encode_local_flag_prints_the_local_form(runner: CliRunner, gazetteer: Gazetteer) -> None:
    result = runner.invoke(main, ["encode", *map(str, HOAN_KIEM), "--local"])
    assert result.exit_code == 0
    assert result.stdout.strip() == _json(runner, "encode", *map(str, HOAN_KIEM))["local_code"]


def test_decode_full_and_local_agree(runner: CliRunner, gazetteer: Gazetteer) -> None:
    encoded = _json(runner, "encode", *map(str, HOAN_KIEM))
    full = _json(runner, "decode", codec.format_code(encoded["code"]).lower())
    local = _json(runner, "decode", encoded["local_code"])
    for field in ("code", "lat", "lon", "south", "west", "north", "east", "commune_code"):
        assert field in full
        assert full[field] == local[field]
    assert full["south"] <= HOAN_KIEM[0] < full["north"] and full["west"] <= HOAN_KIEM[1] < full["east"]
    assert local["local"]["scheme"] == "2025"


def test_decode_typo_suggests_the_swap_first(runner: CliRunner, gazetteer: Gazetteer) -> None:
    code = codec.encode(*HOAN_KIEM)
    typo = code[:-2] + code[-1] + code[-2]
    result = runner.invoke(main, ["decode", typo, "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)
    assert error["error"] == "invalid-code"
    assert code in error["suggestions"][:2]
    assert "Traceback" not in result.stderr


def test_reverse_fields_and_bad_point(runner: CliRunner, gazetteer: Gazetteer) -> None:
    data = _json(runner, "reverse", *map(str, HOAN_KIEM))
    for field in ("commune_code", "commune_name", "province_code", "province_name", "postal_code", "address_code",
                  "local_code", "match", "distance_m", "also_in"):
        assert field in data
    assert data["match"] == "inside"
    swapped = runner.invoke(main, ["reverse", "105.85", "21.03"])
    assert swapped.exit_code == 2 and "swapped" in swapped.stderr
    unknown = runner.invoke(main, ["reverse", "21", "105", "--crs", "EPSG:3857"])
    assert unknown.exit_code == 2 and "CRS" in unknown.stderr


@pytest.fixture
def points_table(gazetteer: Gazetteer) -> pd.DataFrame:
    """Real representative points of 20 communes, plus a sea point and two bad rows (named as such)."""
    communes = gazetteer.communes.sample(20, random_state=8)
    table = pd.DataFrame({"id": range(20), "lat": communes["rep_lat"].to_numpy(), "lon": communes["rep_lon"].to_numpy(),
                          "expected": communes["code"].to_numpy()})
    extra = pd.DataFrame({"id": [20, 21, 22], "lat": [15.0, float("nan"), 105.8], "lon": [113.0, 105.0, 21.0],
                          "expected": [None, None, None]})
    return pd.concat([table, extra], ignore_index=True)


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg", ".parquet"])
def test_reverse_batch_every_format(runner: CliRunner, gazetteer: Gazetteer, points_table: pd.DataFrame,
                                    tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        points_table.to_csv(source, index=False)
    else:
        ok = points_table["lat"].notna()
        geoms = [shapely.Point(lon, lat) if good else None
                 for lat, lon, good in zip(points_table["lat"], points_table["lon"], ok)]
        frame = gpd.GeoDataFrame(points_table.drop(columns=["lat", "lon"]), geometry=geoms, crs="EPSG:4326")
        if suffix == ".parquet":
            frame.to_parquet(source)
        else:
            frame.to_file(source)
    out = tmp_path / f"out{suffix}"
    result = runner.invoke(main, ["reverse", "--input", str(source), "--output", str(out), "--chunk-size", "7",
                                  "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"] == len(points_table)
    written = pd.read_csv(out, dtype={"expected": str, "commune_code": str}) if suffix == ".csv" else (
        gpd.read_parquet(out) if suffix == ".parquet" else gpd.read_file(out))
    assert len(written) == len(points_table)
    assert {"id", "expected", "commune_code", "postal_code", "address_code", "match", "error"} <= set(written.columns)
    good = written.iloc[:20]
    assert (good["commune_code"].astype(str).str.zfill(5).to_numpy() == good["expected"].astype(str).to_numpy()).all()
    assert written["match"].iloc[20] == "none"
    if suffix == ".csv":
        assert written["error"].iloc[21:].notna().all()
        assert "swapped" in written["error"].iloc[22]
        assert report["errors"] == 2


def test_encode_then_decode_batch_round_trip(runner: CliRunner, gazetteer: Gazetteer, points_table: pd.DataFrame,
                                             tmp_path: Path) -> None:
    source, encoded, decoded = tmp_path / "in.csv", tmp_path / "enc.csv", tmp_path / "dec.csv"
    points_table.to_csv(source, index=False)
    assert runner.invoke(main, ["encode", "--input", str(source), "--output", str(encoded)]).exit_code == 0
    codes = pd.read_csv(encoded, dtype=str)
    assert codes["code"].iloc[:21].notna().all() and codes["error"].iloc[21:].notna().all()
    codes["code"] = codes["code"].where(codes.index % 2 == 0, codes["local_code"].fillna(codes["code"]))
    codes.drop(columns=["local_code", "commune_code", "error"]).to_csv(encoded, index=False)
    result = runner.invoke(main, ["decode", "--input", str(encoded), "--output", str(decoded), "--json"])
    assert result.exit_code == 0, result.output
    back = pd.read_csv(decoded, dtype={"commune_code": str, "expected": str})
    assert (back["commune_code"].iloc[:20] == back["expected"].iloc[:20]).all()
    assert (abs(back["lat"].iloc[:20] - points_table["lat"].iloc[:20]) < 1e-5).all()
    assert back["error"].iloc[21:].notna().all()


def test_batch_needs_both_files(runner: CliRunner, gazetteer: Gazetteer, tmp_path: Path) -> None:
    result = runner.invoke(main, ["reverse", "--input", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "--output" in result.stderr
    result = runner.invoke(main, ["reverse", "--input", str(tmp_path / "missing.csv"), "--output",
                                  str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    assert not (tmp_path / "o.csv").exists()
