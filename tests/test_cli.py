"""The CLI surface other tools script against: names, --json fields, exit statuses, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from vpostcode.cli import main
from vpostcode.gazetteer import Gazetteer


def _json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict | list)
    return data


def test_info_reports_the_counts(runner: CliRunner, gazetteer: Gazetteer) -> None:
    data = _json(runner, "info")
    assert (data["provinces"], data["communes"], data["legacy_wards"]) == (34, 3321, 10040)
    assert data["postal_codes"] == 3321
    assert "communes_2025.gpkg" in data["sources"]


def test_commune_record_fields(runner: CliRunner, gazetteer: Gazetteer) -> None:
    data = _json(runner, "commune", "00004")
    for field in ("code", "name", "province_code", "province_name", "postal_code", "population", "area_km2",
                  "legacy_units"):
        assert field in data
    assert data["code"] == "00004"
    assert data["postal_code"] == gazetteer.commune("00004").postal_code
    assert {unit["code"] for unit in data["legacy_units"]} >= {"00004", "00013"}


def test_convert_by_code_and_by_path(runner: CliRunner, gazetteer: Gazetteer) -> None:
    by_code = _json(runner, "convert", "00007")
    assert {(c["code"], c["share"]) for c in by_code["candidates"]} == {("00008", "partial"), ("00025", "partial")}
    assert set(by_code["candidates"][0]) >= {"code", "full_name", "share"}
    by_path = _json(runner, "convert", "Cong Vi, Ba Dinh, Ha Noi")
    assert by_path["candidates"] == by_code["candidates"]


def test_unknown_code_is_one_line_and_exit_3(runner: CliRunner, gazetteer: Gazetteer) -> None:
    result = runner.invoke(main, ["commune", "99999", "--json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"] == "unknown-commune"
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr


def test_malformed_code_exit_2(runner: CliRunner, gazetteer: Gazetteer) -> None:
    result = runner.invoke(main, ["commune", "12a45"])
    assert result.exit_code == 2
    assert "5 digits" in result.stderr
    assert "Traceback" not in result.output


def test_missing_data_names_the_fix(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "vpostcode.cli", "info"], capture_output=True, text=True,
        env={"VPOSTCODE_DATA_DIR": str(tmp_path / "gis_data"), "PATH": ""}, check=False,
    )
    assert process.returncode == 1
    assert "run `vpostcode data build`" in process.stderr
    assert "Traceback" not in process.stderr


def test_data_build_reports_up_to_date(runner: CliRunner, gazetteer: Gazetteer, sources: Path) -> None:
    data = _json(runner, "data", "build", "--sources", str(sources))
    assert data["status"] == "up-to-date"
    assert data["counts"]["communes"] == 3321


def test_data_build_with_missing_sources_names_the_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["data", "build", "--sources", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "SHA256SUMS" in result.stderr
