"""Which modules run compiled to C (mypyc), and the guard that keeps a stale compiled form from running.

``scripts/compile_native.py`` compiles the modules of ``NATIVE_MODULES`` in place, next to their source, and
records each source's SHA-256 in ``_native.json``. Python imports a compiled module before its source, so a
compiled form left over from an older source would run silently in place of the code one reads. ``install()``
(called by ``import vpostcode``) therefore imports a module from its source whenever its compiled form does not
match it, with a warning that says how to rebuild, and whenever ``VPOSTCODE_PURE_PYTHON=1`` asks for the source.
The source is always complete and correct on its own; the compiled form is only faster.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

NATIVE_MODULES = ("vpostcode.address.core",)
"""The modules worth compiling: the address reader, whose time goes into Python-level look-ups and branches."""

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).resolve().with_name("_native.json")
PURE_ENV = "VPOSTCODE_PURE_PYTHON"


def source_path(module: str) -> Path:
    """The ``.py`` file of a module of this package."""
    return PACKAGE_ROOT.joinpath(*module.split(".")).with_suffix(".py")


def compiled_paths(module: str) -> list[Path]:
    """The compiled files of a module for this interpreter (empty when it was never compiled)."""
    source = source_path(module)
    return [path for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if (path := source.with_name(source.stem + suffix)).exists()]


def source_digest(module: str) -> str:
    """SHA-256 of a module's source, as the manifest records it."""
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


def manifest() -> dict[str, str]:
    """Module → SHA-256 of the source it was compiled from (empty when nothing was compiled)."""
    try:
        data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    modules = data.get("modules", {}) if isinstance(data, dict) else {}
    return {str(name): str(digest) for name, digest in modules.items()}


def pure_requested() -> bool:
    """True when the environment asks for the source of every module (``VPOSTCODE_PURE_PYTHON=1``)."""
    return os.environ.get(PURE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def status(module: str) -> str:
    """``compiled``, ``source`` (never compiled, or the source was asked for) or ``stale`` (compiled from another
    version of the source: the source runs)."""
    if not compiled_paths(module):
        return "source"
    if manifest().get(module) != source_digest(module):
        return "stale"
    return "source" if pure_requested() else "compiled"


def running() -> dict[str, str]:
    """What this process runs of each module of ``NATIVE_MODULES``: ``compiled`` or ``source`` (``not imported``
    before first use): the operator's check that a server reads addresses at full speed."""
    found = {}
    for module in NATIVE_MODULES:
        loaded = sys.modules.get(module)
        if loaded is None:
            found[module] = "not imported"
        else:
            found[module] = "source" if str(getattr(loaded, "__file__", "")).endswith(".py") else "compiled"
    return found


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the listed modules' ``.py`` files ahead of their compiled forms."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = frozenset(modules)

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        return importlib.util.spec_from_file_location(fullname, source_path(fullname))


def install() -> None:
    """Make the compiled modules that do not match their source (or all, when asked) import from source."""
    if any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
        return
    fallback = []
    for module in NATIVE_MODULES:
        state = status(module)
        if state == "stale":
            warnings.warn(f"{module}: its compiled form was built from another version of its source, so the "
                          f"source runs (about three times slower); rebuild it with `python scripts/compile_native.py`",
                          RuntimeWarning, stacklevel=2)
        if state == "stale" or (state == "source" and compiled_paths(module)):
            fallback.append(module)
    if fallback:
        sys.meta_path.insert(0, _SourceFinder(fallback))
