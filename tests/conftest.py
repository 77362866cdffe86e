"""Shared fixtures: the real gazetteer (built on demand from ../shared/data), the source bundle, a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from vpostcode.build import build
from vpostcode.config import sources_dir
from vpostcode.gazetteer import Gazetteer, get_gazetteer


@pytest.fixture(scope="session")
def sources() -> Path:
    """The real source bundle (../shared/data or $VPOSTCODE_SOURCES)."""
    path = sources_dir()
    if not (path / "SHA256SUMS").is_file():
        pytest.fail(f"the source bundle is missing at {path}: set $VPOSTCODE_SOURCES")
    return path


@pytest.fixture(scope="session")
def gazetteer(sources: Path) -> Gazetteer:
    """The gazetteer of the real data, built first if gis_data/ is missing (a no-op when it is current)."""
    build(sources=sources, progress=False)
    return get_gazetteer()


@pytest.fixture
def runner() -> CliRunner:
    """A click runner that keeps stderr apart from stdout."""
    return CliRunner()


def in_ci() -> bool:
    """True under CI, where a missing service is a failure rather than a skip."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
