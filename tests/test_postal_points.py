"""Importing postal points: the real Vietnam Post offices on SQLite + SpatiaLite and on PostGIS, CSV and GeoJSON.

The office import is checked for real: its match rate, idempotence, and resumability after ``kill -9`` (a
subprocess is killed with SIGKILL right after its first committed chunk, then the import is run again and the rows
are counted exactly). PostGIS runs use the local server like ``tests/store`` (skipped when it is unreachable,
failed under CI).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.store.conftest import BACKENDS, FreshUrl, fresh_url, postgis_server  # noqa: F401  (fixtures)
from vpostcode.config import PROJECT_ROOT
from vpostcode.errors import InvalidInputError
from vpostcode.gazetteer import Gazetteer
from vpostcode.postal_points import (
    DEFAULT_CHUNK_ROWS,
    SOURCE_VNPOST,
    ImportReport,
    OfficeLocator,
    clean_phone,
    import_points,
    resolve_file,
)
from vpostcode.store import open_store

MATCH_RATE = 0.94
"""Achieved: 1,589 of 1,677 offices (94.75 %); the rest name wards merged or renamed before the 2024 gazetteer."""
KNOWN_REASONS = {"unknown-legacy-ward", "ambiguous-legacy-ward", "unknown-province", "invalid-row", "no-conversion"}


@pytest.fixture(scope="module")
def offices(sources: Path) -> Path:
    return sources / "vnpost_offices.json"


@pytest.fixture(scope="module")
def resolved(offices: Path, gazetteer: Gazetteer) -> tuple[ImportReport, list]:
    """The offices read and located once for the module (nothing written)."""
    return resolve_file(offices, gazetteer=gazetteer)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, fresh_url: FreshUrl) -> str:  # noqa: F811
    """A new, empty database on the backend under test."""
    if request.param == "postgis":
        request.getfixturevalue("postgis_server")
    return fresh_url(str(request.param))


def _keys(url: str) -> list[str]:
    with open_store(url) as store, store.engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT source_key FROM postal_points ORDER BY source_key"))]


# ------------------------------------------------------------------------------------------------ the offices


def test_offices_are_located_with_the_expected_match_rate(resolved: tuple[ImportReport, list],
                                                          gazetteer: Gazetteer) -> None:
    report, items = resolved
    assert report.format == "vnpost" and report.rows == 1677
    assert report.matched == len(items) == report.rows - len(report.unmatched)
    assert report.match_rate >= MATCH_RATE
    assert set(report.reasons()) <= KNOWN_REASONS
    assert all(problem.message and problem.key for problem in report.unmatched)
    keys = [item.record.source_key for item in items]
    assert len(set(keys)) == len(keys) and all(len(key) == 6 and key.isdigit() for key in keys)
    for item in items[::37]:
        record = item.record
        commune = gazetteer.commune(record.commune_code)
        assert (record.lat, record.lon) == (commune.rep_lat, commune.rep_lon)
        assert (record.source, record.kind, record.precision, record.staffed) == (
            SOURCE_VNPOST, "post_office", "commune", True)
    assert sum(report.methods.values()) == report.matched
    assert report.methods["legacy_ward"] > 0.8 * report.rows


def test_split_wards_are_resolved_and_reported(resolved: tuple[ImportReport, list]) -> None:
    report, items = resolved
    assert len(report.ambiguous) > 50
    by_key = {item.record.source_key: item.record for item in items}
    for choice in report.ambiguous:
        assert len(choice.candidates) > 1 and choice.chosen in choice.candidates
        assert by_key[choice.key].commune_code == choice.chosen and by_key[choice.key].precision == "commune"
        assert choice.chosen_by in ("geocode", "first")


def test_a_known_office(resolved: tuple[ImportReport, list]) -> None:
    """Bưu cục Giao dịch Trung tâm, 75 Đinh Tiên Hoàng, Tràng Tiền (a ward split between Hoàn Kiếm and Cửa Nam)."""
    _report, items = resolved
    record = next(item.record for item in items if item.record.source_key == "100000")
    assert record.name == "Giao dịch Trung tâm"
    assert record.commune_code in ("00070", "00082")
    assert record.opening_hours == {"phone": "02438256686"}
    assert record.address is not None and record.address.startswith("75 Đinh Tiên Hoàng")


def test_phone_numbers_get_their_leading_zero_back() -> None:
    assert clean_phone(2438256686) == "02438256686"
    assert clean_phone(912345678) == "0912345678"
    assert clean_phone(3854178) == "3854178"
    assert clean_phone("\xa00914804669") == "0914804669"
    assert clean_phone(None) is None


@pytest.mark.parametrize(("ward", "district", "province", "detail", "expected"), [
    ("5", "Vị Thanh", "Hậu Giang", "Số 93, Đường 3/2, KV3, P5", "31327"),  # Roman numerals: Phường V
    ("Ngãi Giao", "Châu Đức", "Bà Rịa Vũng Tàu", "316 Lê Hồng Phong, TT Ngãi Giao", None),  # no hyphen
    ("Kim Long", "Huế", "Thừa Thiên Huế", "118 Đường Kim Long, Phường Kim Long", "19774"),  # former province
    ("N.T.Liên Sơn", "Văn Chấn", "Yên Bái", "Tổ 1, Thị trấn N.T.Liên Sơn", None),  # abbreviation
    ("Nhân Cơ", "Đắk RLấp", "Đắk Nông", "Thôn 3 Nhân Cơ, Đắk R lấp, Đắk Nông", "24751"),  # district spelling
])
def test_loosely_written_legacy_addresses(gazetteer: Gazetteer, ward: str, district: str, province: str,
                                          detail: str, expected: str | None) -> None:
    locator = OfficeLocator(gazetteer)
    location = locator.locate(ward, district, province, detail)
    assert location.method.startswith("legacy_ward")
    if expected is not None:
        assert location.legacy_code == expected
    assert location.commune_code in locator.converted(location.legacy_code or "")


def test_a_type_word_in_the_street_address_picks_the_ward(gazetteer: Gazetteer) -> None:
    """Hát Lót is both a thị trấn and a xã of Mai Sơn; the street address says which."""
    locator = OfficeLocator(gazetteer)
    town = locator.locate("Hát Lót", "Mai Sơn", "Sơn La", "TT Hát Lót")
    commune = locator.locate("Hát Lót", "Mai Sơn", "Sơn La", "xã Hát Lót")
    assert {town.legacy_code, commune.legacy_code} == {u.code for u in gazetteer.find_legacy_units(
        "Hát Lót", "Mai Sơn", "Sơn La")}


# ------------------------------------------------------------------------------------------- both backends

KILLED_IMPORT = textwrap.dedent("""
    import sys, time
    import pyproj  # before SpatiaLite (see vpostcode.cli_store._store)
    from vpostcode.postal_points import import_points
    from vpostcode.store import open_store

    def progress(stage, done, total):
        if stage == "write":
            print(f"committed {done}", flush=True)
            time.sleep(600)  # killed here, between two transactions of a running import

    import_points(sys.argv[2], open_store(sys.argv[1]), progress=progress)
""")


def _run_and_kill_after_first_chunk(url: str, offices: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT, url, str(offices)], cwd=PROJECT_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == f"committed {DEFAULT_CHUNK_ROWS}", (line, child.stderr.read() if child.stderr else "")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def test_office_import_resumes_after_kill_9_and_is_idempotent(url: str, offices: Path,
                                                              resolved: tuple[ImportReport, list],
                                                              gazetteer: Gazetteer) -> None:
    expected, items = resolved
    _run_and_kill_after_first_chunk(url, offices)
    assert len(_keys(url)) == DEFAULT_CHUNK_ROWS  # one whole chunk, nothing of the second

    with open_store(url) as store:
        rerun = import_points(offices, store, gazetteer=gazetteer)
        assert (rerun.inserted, rerun.updated, rerun.unchanged) == (
            expected.matched - DEFAULT_CHUNK_ROWS, 0, DEFAULT_CHUNK_ROWS)
        assert rerun.chunks == math.ceil(expected.matched / DEFAULT_CHUNK_ROWS)
        assert store.count_points() == expected.matched

        again = import_points(offices, store, gazetteer=gazetteer)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, expected.matched)
        assert again.match_rate == rerun.match_rate >= MATCH_RATE

        stored = {p.source_key: p for p in store.list_points(limit=None)}
    keys = _keys(url)
    assert len(keys) == len(set(keys)) == expected.matched  # no duplicates
    for item in items[::53]:
        point = stored[item.record.source_key]
        assert point.commune_code == item.record.commune_code
        assert point.lat == pytest.approx(item.record.lat, abs=1e-9)
        assert point.opening_hours == item.record.opening_hours


# ------------------------------------------------------------------------------------------------ other files

GOOD_AND_BAD_CSV = """name,kind,lat,lon,address,commune_code,staffed,source_key
Đại lý Hàng Bạc,agent,21.0343,105.853,,,yes,A1
Tủ Ba Đình,locker,21.0355,105.834,,,,L1
At sea,locker,20.5,107.5,,,no,L2
Unknown commune,agent,,,,99999,no,A2
By commune,agent,,,,00004,true,A3
Repeated key,agent,21.0343,105.853,,,yes,A1
Wrong commune,agent,21.0343,105.853,,00004,yes,A4
Nowhere,agent,,,,,yes,A5
Bad kind,shop,21.0343,105.853,,,yes,A6
Bad flag,agent,21.0343,105.853,,,maybe,A7
"""


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'points.sqlite'}"


def test_csv_rows_get_clear_errors_and_good_rows_are_written(tmp_path: Path, sqlite_url: str,
                                                               gazetteer: Gazetteer) -> None:
    path = tmp_path / "points.csv"
    path.write_text(GOOD_AND_BAD_CSV, encoding="utf-8")
    with open_store(sqlite_url) as store:
        report = import_points(path, store, gazetteer=gazetteer)
        written = {p.source_key: p for p in store.list_points(limit=None)}
    reasons = {problem.key: problem.reason for problem in report.unmatched}
    assert reasons == {"L2": "outside-vietnam", "A2": "unknown-commune", "A1": "duplicate-key",
                       "A4": "commune-mismatch", "A5": "no-location", "A6": "invalid-field", "A7": "invalid-field"}
    assert report.source == "points" and report.rows == 10 and report.matched == 3
    assert set(written) == {"A1", "L1", "A3"}
    assert written["A1"].commune_code == "00070" and written["A1"].staffed and written["A1"].precision == "exact"
    assert written["L1"].staffed is False  # a locker is not staffed unless the file says so
    assert written["A3"].precision == "commune" and written["A3"].commune_code == "00004"
    duplicate = next(p for p in report.unmatched if p.reason == "duplicate-key")
    assert duplicate.row == 6 and "row 1" in duplicate.message


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("broken.json", '[{"code": 100000, "name": "x"', "not valid JSON"),
    ("broken.csv", 'name,kind,lat,lon,source_key\n"Unclosed,agent,21,105.8,K1\n', "not valid CSV"),
    ("ragged.csv", "name,kind,lat,lon,source_key\nA,agent,21.03,105.85,K1\nB,agent,21.03,105.85,K2,extra\n",
     "6 fields where the header has 5"),
    ("object.json", '{"offices": []}', "neither a list of Vietnam Post offices"),
    ("points.txt", "name\n", "unknown format"),
])
def test_a_malformed_file_is_refused_and_nothing_is_written(tmp_path: Path, sqlite_url: str, name: str,
                                                            content: str, fragment: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with open_store(sqlite_url) as store:
        with pytest.raises(InvalidInputError, match=fragment):
            import_points(path, store)
        assert store.count_points() == 0


def test_geojson_points(tmp_path: Path, sqlite_url: str, gazetteer: Gazetteer) -> None:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.853, 21.0343]},
         "properties": {"name": "G1", "kind": "agent", "source_key": "G1", "staffed": False, "phone": "024 1"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[105.8, 21.0], [105.9, 21.1]]},
         "properties": {"name": "G2", "kind": "agent", "source_key": "G2"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [110.5, 21.0]},
         "properties": {"name": "G3", "kind": "post_office", "source_key": "G3"}},
    ]
    path = tmp_path / "agents.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    with open_store(sqlite_url) as store:
        report = import_points(path, store, source="partner", gazetteer=gazetteer)
        (point,) = store.list_points(limit=None)
    assert {(p.key, p.reason) for p in report.unmatched} == {("G2", "invalid-geometry"), ("G3", "outside-vietnam")}
    assert (point.source, point.source_key, point.commune_code, point.staffed) == ("partner", "G1", "00070", False)
    assert point.opening_hours == {"phone": "024 1"}
