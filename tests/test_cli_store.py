"""The store commands (points, registry, coverage, keys): --json objects with their documented fields, one-line
errors with the documented exit statuses, and a program that still starts without its heavy modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from vpostcode.cli import main
from vpostcode.config import PROJECT_ROOT
from vpostcode.gazetteer import Gazetteer

SUMMARY_FIELDS = ("communes", "served", "unserved", "served_pct", "population_within_km")


def _invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(main, list(args), env=env, catch_exceptions=False)


def _json(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = _invoke(runner, *args, "--json", env=env)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def _fails(result: Result, status: int, fragment: str) -> None:
    """An error: the exit status, one line on stderr naming the problem, no traceback."""
    assert result.exit_code == status, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vpostcode: error: ") and fragment in lines[0], lines
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, gazetteer: Gazetteer, sources: Path) -> tuple[str, dict]:
    """A SQLite store with the Vietnam Post offices imported through the CLI, and the import's JSON report."""
    directory = tmp_path_factory.mktemp("cli_store")
    url = f"sqlite:///{directory / 'store.sqlite'}"
    report_path = directory / "report.json"
    runner = CliRunner()
    report = _json(runner, "points", "--database", url, "import", str(sources / "vnpost_offices.json"),
                   "--report", str(report_path))
    assert json.loads(report_path.read_text(encoding="utf-8"))["matched"] == report["matched"]
    return url, report


def test_points_import_reports_its_rows(database: tuple[str, dict]) -> None:
    _url, report = database
    for field in ("rows", "matched", "match_rate", "inserted", "updated", "unchanged", "unmatched",
                  "unmatched_reasons", "ambiguous", "methods", "chunks"):
        assert field in report
    assert report["rows"] == 1677 and report["match_rate"] >= 0.94
    assert report["inserted"] == report["matched"] and report["unchanged"] == 0
    assert len(report["unmatched"]) == report["rows"] - report["matched"]
    assert {"row", "key", "reason", "message"} <= set(report["unmatched"][0])


def test_coverage_summary_after_the_import(runner: CliRunner, database: tuple[str, dict]) -> None:
    url, report = database
    summary = _json(runner, "coverage", "summary", env={"VPOSTCODE_DATABASE_URL": url})
    for field in SUMMARY_FIELDS:
        assert field in summary
    assert summary["served"] + summary["unserved"] == summary["communes"]
    assert 3300 <= summary["communes"] <= 3321
    assert summary["points"] == summary["staffed_points"] == report["matched"]
    assert 30.0 < summary["served_pct"] < 90.0
    assert summary["with_staffed_point"] <= summary["served"]
    within = [summary["population_within_km"][km] for km in ("1", "2", "5", "10")]
    assert within == sorted(within) and within[0] > 0 and within[-1] < 100
    wider = _json(runner, "coverage", "--database", url, "summary", "--radius-km", "10")
    assert wider["served"] >= summary["served"]


def test_coverage_gaps_suggest_and_map(runner: CliRunner, database: tuple[str, dict], tmp_path: Path) -> None:
    url, _report = database
    gaps = _json(runner, "coverage", "--database", url, "gaps", "--province", "01")
    assert [p["code"] for p in gaps["provinces"]] == ["01"]
    assert gaps["unserved"] == len(gaps["provinces"][0]["unserved_communes"]) <= gaps["communes"]
    suggested = _json(runner, "coverage", "--database", url, "suggest", "--k", "3", "--radius-km", "5",
                      "--province", "01")
    assert len(suggested["sites"]) == 3 and suggested["covered_after"] >= suggested["covered_before"]
    out = tmp_path / "hanoi.png"
    drawn = _json(runner, "coverage", "--database", url, "map", "--out", str(out), "--province", "01")
    assert drawn["map"] == str(out) and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_points_list_filters(runner: CliRunner, database: tuple[str, dict]) -> None:
    url, _report = database
    in_commune = _json(runner, "points", "--database", url, "list", "--commune", "70", "--limit", "0")
    assert in_commune["count"] == len(in_commune["points"]) > 0
    assert {p["commune_code"] for p in in_commune["points"]} == {"00070"}
    near = _json(runner, "points", "--database", url, "list", "--near", "21.0285,105.8542", "--radius", "2000")
    distances = [p["distance_m"] for p in near["points"]]
    assert distances == sorted(distances) and all(d <= 2000 for d in distances)
    boxed = _json(runner, "points", "--database", url, "list", "--bbox", "105.8,21.0,105.9,21.1", "--limit", "0")
    assert boxed["count"] > 0 and all(105.8 <= p["lon"] <= 105.9 and 21.0 <= p["lat"] <= 21.1
                                      for p in boxed["points"])
    _fails(_invoke(runner, "points", "--database", url, "list", "--bbox", "105,20,x"), 2, "--bbox")
    _fails(_invoke(runner, "points", "--database", url, "list", "--near", "21.03"), 2, "--near")


def test_points_add_fills_the_commune_and_refuses_the_sea(runner: CliRunner, tmp_path: Path,
                                                          gazetteer: Gazetteer) -> None:
    url = f"sqlite:///{tmp_path / 'add.sqlite'}"
    point = _json(runner, "points", "--database", url, "add", "--name", "Đại lý Hàng Bạc", "--lat", "21.0343",
                  "--lon", "105.853", "--kind", "agent", "--unstaffed")
    assert (point["commune_code"], point["kind"], point["staffed"], point["source"]) == (
        "00070", "agent", False, "manual")
    _fails(_invoke(runner, "points", "--database", url, "add", "--name", "Buoy", "--lat", "20.5", "--lon",
                   "107.5"), 2, "outside Vietnam")
    _fails(_invoke(runner, "points", "--database", url, "add", "--name", "Again", "--lat", "21.0343", "--lon",
                   "105.853"), 4, "already exists")


def test_points_import_of_a_malformed_file(runner: CliRunner, tmp_path: Path, gazetteer: Gazetteer) -> None:
    url = f"sqlite:///{tmp_path / 'bad.sqlite'}"
    broken = tmp_path / "broken.json"
    broken.write_text('[{"code": 1', encoding="utf-8")
    result = _invoke(runner, "points", "--database", url, "import", str(broken), "--json")
    _fails(result, 2, "not valid JSON")
    assert json.loads(result.stdout)["error"] == "invalid-input"
    assert _json(runner, "points", "--database", url, "list")["count"] == 0


def test_registry_commands(runner: CliRunner, tmp_path: Path, gazetteer: Gazetteer) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    registered = _json(runner, "registry", "--database", url, "register", "12 Hàng Bạc, Hoàn Kiếm, Hà Nội",
                       "--lat", "21.0343", "--lon", "105.853", "--contact-name", "Lan", "--contact-phone",
                       "0912345678", "--consent")
    for field in ("code", "display_code", "local_code", "commune_code", "postal_code", "standard_address"):
        assert registered[field]
    public = _json(runner, "registry", "--database", url, "lookup", registered["local_code"])
    assert public["code"] == registered["code"] and "contact" not in public
    private = _json(runner, "registry", "--database", url, "lookup", registered["display_code"], "--private")
    assert private["contact"]["phone"] == "0912345678"
    _fails(_invoke(runner, "registry", "--database", url, "register", "Phường Ba Đình, Hà Nội", "--lat",
                   "21.0285", "--lon", "105.8542"), 2, "Ba Đình")
    _fails(_invoke(runner, "registry", "--database", url, "register", "Phường Hoàn Kiếm, Hà Nội", "--lat",
                   "21.0343", "--lon", "105.853"), 4, "already registered")
    _fails(_invoke(runner, "registry", "--database", url, "register", "Phường Hoàn Kiếm, Hà Nội", "--lat",
                   "21.03", "--lon", "105.85", "--contact-phone", "0912345678"), 2, "consent")
    assert _json(runner, "registry", "--database", url, "delete", registered["code"]) == {
        "deleted": registered["code"]}
    _fails(_invoke(runner, "registry", "--database", url, "lookup", registered["code"]), 3, "no registered")
    _fails(_invoke(runner, "registry", "--database", url, "lookup", "not-a-code"), 2, "")


def test_keys_commands(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.sqlite'}"
    created = _json(runner, "keys", "--database", url, "create", "--name", "partner",
                    "--scopes", "registry:write,points:write,registry:private")
    assert created["token"] and created["scopes"] == ["points:write", "registry:private", "registry:write"]
    listed = _json(runner, "keys", "--database", url, "list")
    assert listed["count"] == 1 and listed["keys"][0]["key_id"] == created["key_id"]
    assert "token" not in listed["keys"][0] and created["token"] not in json.dumps(listed)
    revoked = _json(runner, "keys", "--database", url, "revoke", created["key_id"])
    assert revoked["revoked_at"] is not None
    _fails(_invoke(runner, "keys", "--database", url, "revoke", "000000000000"), 3, "no API key")
    _fails(_invoke(runner, "keys", "--database", url, "create", "--name", "x", "--scopes", "Bad Scope"), 2,
           "scope")


def test_the_program_starts_without_its_heavy_modules() -> None:
    code = ("import sys, vpostcode.cli; print(sorted(m for m in ('pandas', 'geopandas', 'sqlalchemy', 'numpy', "
            "'shapely', 'tqdm', 'vpostcode.store', 'vpostcode.postal_points') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            check=True, timeout=60)
    assert loaded.stdout.strip() == "[]"
    listed = subprocess.run([sys.executable, "-m", "vpostcode.cli", "--help"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True, timeout=60)
    for group in ("points", "registry", "coverage", "keys"):
        assert group in listed.stdout
