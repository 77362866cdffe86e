"""The data build: verified sources, clear failures, idempotent and atomic publishing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vpostcode import build as build_module
from vpostcode.build import build, current_build, read_manifest
from vpostcode.errors import DataNotBuiltError, SourceDataError
from vpostcode.gazetteer import Gazetteer


def _linked_bundle(sources: Path, target: Path, copy: tuple[str, ...] = ()) -> Path:
    """A bundle of symlinks to the real sources, with some files copied so a test may alter them."""
    target.mkdir()
    for entry in sources.iterdir():
        if entry.name in copy:
            shutil.copy(entry, target / entry.name)
        else:
            (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def built(sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gis_data")
    build(sources=sources, out=out, progress=False)
    return out


def test_build_writes_manifest_with_counts_and_checksums(built: Path, sources: Path) -> None:
    manifest = read_manifest(built)
    assert manifest is not None
    assert manifest["counts"]["communes"] == 3321
    expected = dict(line.split()[::-1] for line in (sources / "SHA256SUMS").read_text().splitlines() if line)
    assert {name: entry["sha256"] for name, entry in manifest["sources"].items()} == expected
    assert manifest["code_version"]
    assert manifest["build_seconds"] > 0


def test_second_build_with_unchanged_sources_does_nothing(built: Path, sources: Path) -> None:
    before = current_build(built)
    report = build(sources=sources, out=built, progress=False)
    assert report.status == "up-to-date"
    assert current_build(built) == before


def test_corrupt_source_is_named(sources: Path, tmp_path: Path) -> None:
    bundle = _linked_bundle(sources, tmp_path / "bundle", copy=("postal_prefixes_2025.csv",))
    with (bundle / "postal_prefixes_2025.csv").open("a") as handle:
        handle.write("99,99\n")
    with pytest.raises(SourceDataError, match=r"postal_prefixes_2025\.csv: checksum mismatch"):
        build(sources=bundle, out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "current").exists()


def test_missing_source_is_named(sources: Path, tmp_path: Path) -> None:
    bundle = _linked_bundle(sources, tmp_path / "bundle")
    (bundle / "legacy_units_2024.csv").unlink()
    with pytest.raises(SourceDataError, match=r"legacy_units_2024\.csv: missing"):
        build(sources=bundle, out=tmp_path / "out", progress=False)


def test_missing_bundle_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(SourceDataError, match="--sources"):
        build(sources=tmp_path / "nowhere", out=tmp_path / "out", progress=False)


def test_failed_build_leaves_previous_data_in_service(built: Path, sources: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    before = current_build(built)

    def crash(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_module, "_write_table", crash)
    with pytest.raises(RuntimeError):
        build(sources=sources, out=built, force=True, progress=False)
    assert current_build(built) == before
    assert not [p for p in built.iterdir() if p.name.startswith(".staging-")]
    assert Gazetteer.load(built).info()["communes"] == 3321


def test_killed_build_leaves_previous_data_usable(built: Path, sources: Path) -> None:
    """A build killed with SIGKILL midway: the old build still loads, and the next build cleans up."""
    before = current_build(built)
    process = subprocess.Popen(
        [sys.executable, "-m", "vpostcode.cli", "data", "build", "--force", "--sources", str(sources),
         "--out", str(built)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".staging-") for p in built.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert current_build(built) == before
    assert Gazetteer.load(built).info()["communes"] == 3321
    build(sources=sources, out=built, force=True, progress=False)
    assert not [p for p in built.iterdir() if p.name.startswith(".staging-")]


def test_loading_without_a_build_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataNotBuiltError, match="vpostcode data build"):
        Gazetteer.load(tmp_path)
