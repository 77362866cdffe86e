"""Where vpostcode finds its source bundle and its built data.

Resolution order, most explicit first: an argument, then an environment variable (``VPOSTCODE_DATA_DIR``,
``VPOSTCODE_SOURCES``), then the project's conventional places (``gis_data/`` and ``../shared/data`` seen from the
working directory, then from the project root for an editable install).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR_ENV = "VPOSTCODE_DATA_DIR"
SOURCES_ENV = "VPOSTCODE_SOURCES"
DEFAULT_DATA_DIRNAME = "gis_data"
DEFAULT_SOURCES = Path("..") / "shared" / "data"


def _first_existing(candidates: list[Path], fallback: Path) -> Path:
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return fallback


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding the built serving data (``gis_data/``)."""
    if explicit is not None:
        return Path(explicit)
    if env := os.environ.get(DATA_DIR_ENV):
        return Path(env)
    cwd_dir = Path.cwd() / DEFAULT_DATA_DIRNAME
    return _first_existing([cwd_dir, PROJECT_ROOT / DEFAULT_DATA_DIRNAME], cwd_dir)


def sources_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding the raw source bundle (``../shared/data`` by default)."""
    if explicit is not None:
        return Path(explicit)
    if env := os.environ.get(SOURCES_ENV):
        return Path(env)
    cwd_dir = Path.cwd() / DEFAULT_SOURCES
    return _first_existing([cwd_dir, PROJECT_ROOT / DEFAULT_SOURCES], cwd_dir)
