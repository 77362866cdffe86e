"""Compile vpostcode's hot pure-Python modules to C with mypyc, in place, and record what they were built from.

The address reader (``vpostcode.address.core``) spends its time in Python-level dictionary look-ups, small
objects and branches; compiled by mypyc (part of mypy, the compiler that builds mypy and black) it reads an
address about three times as fast, with the same code and the same answers (``tests/test_native.py`` checks them
against the source's on the real test sets). Each compiled file sits next to its source; ``_native.json`` records
the SHA-256 of the source it came from, and ``vpostcode._native`` runs the source instead whenever the two differ.

Idempotent: a module whose compiled form matches its source is left alone. Works on a checkout and on an
installed package alike (the Dockerfile compiles the installed one). Needs a C compiler, mypy and setuptools;
without them the source runs, and this script says so and exits 1 (``scripts/setup.sh`` goes on).

    .venv/bin/python scripts/compile_native.py [--force] [--check] [--clean]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

warnings.filterwarnings("ignore", message=".*compiled form was built from another version", category=RuntimeWarning)
from vpostcode import _native  # noqa: E402  (after the filter: a stale compiled form is what this script fixes)


def _remove_compiled(module: str) -> None:
    for path in _native.compiled_paths(module):
        path.unlink()
    source = _native.source_path(module)
    for path in source.parent.glob(f"{source.stem}__mypyc.*"):
        path.unlink()
    entries = _native.manifest()
    if entries.pop(module, None) is not None:
        _write_manifest(entries)


def _write_manifest(entries: dict[str, str]) -> None:
    text = json.dumps({"_doc": "written by scripts/compile_native.py: module -> SHA-256 of the source compiled",
                       "modules": dict(sorted(entries.items()))}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=_native.MANIFEST.parent, prefix=".native-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, _native.MANIFEST)


def _python_sources(directory: str, names: list[str]) -> list[str]:
    """``shutil.copytree``'s ignore: everything but Python sources and the folders that hold them."""
    return [name for name in names
            if name == "__pycache__" or not (name.endswith(".py") or (Path(directory) / name).is_dir())]


def compile_module(module: str) -> bool:
    """Compile one module with mypyc; True on success (the manifest then records its source).

    The build runs on a copy of the package's sources in a temporary folder, so that neither the checkout nor an
    installed package's ``site-packages`` (whose other top-level modules mypy would trip on) gets a ``build/``
    folder; the compiled files are then copied next to the source.
    """
    root = _native.PACKAGE_ROOT
    source = _native.source_path(module)
    relative = source.relative_to(root)
    digest = _native.source_digest(module)
    with tempfile.TemporaryDirectory(prefix="vpostcode-mypyc-") as tmp:
        work = Path(tmp)
        shutil.copytree(root / "vpostcode", work / "vpostcode", ignore=_python_sources)
        command = [sys.executable, "-m", "mypyc", "--ignore-missing-imports", str(relative)]
        print(f"compile_native: {module}: {' '.join(command[1:])}", file=sys.stderr)
        done = subprocess.run(command, cwd=work, capture_output=True, text=True,
                              env={**os.environ, "MYPYC_OPT_LEVEL": "3"}, check=False)
        built = [path for path in (work / relative.parent).glob(f"{source.stem}*") if path.suffix != ".py"]
        if done.returncode != 0 or not built:
            print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
            return False
        _remove_compiled(module)
        for path in built:
            shutil.copy2(path, source.parent / path.name)
    if not _native.compiled_paths(module) or _native.source_digest(module) != digest:
        _remove_compiled(module)  # never leave a compiled form that the manifest does not vouch for
        print(f"compile_native: {module} changed while compiling, or no compiled file came out", file=sys.stderr)
        return False
    entries = _native.manifest()
    entries[module] = digest
    _write_manifest(entries)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Compile what is out of date; 0 when every module runs compiled afterwards."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="compile even the modules that are up to date")
    parser.add_argument("--check", action="store_true", help="compile nothing; exit 1 unless all are up to date")
    parser.add_argument("--clean", action="store_true", help="remove the compiled forms (the source runs)")
    args = parser.parse_args(argv)
    ok = True
    for module in _native.NATIVE_MODULES:
        up_to_date = bool(_native.compiled_paths(module)) and _native.manifest().get(module) == \
            _native.source_digest(module)
        if args.clean:
            _remove_compiled(module)
            print(f"compile_native: {module}: removed the compiled form", file=sys.stderr)
        elif args.check:
            print(f"compile_native: {module}: {'compiled, up to date' if up_to_date else 'not compiled'}")
            ok &= up_to_date
        elif up_to_date and not args.force:
            print(f"compile_native: {module}: up to date", file=sys.stderr)
        elif compile_module(module):
            print(f"compile_native: {module}: compiled", file=sys.stderr)
        else:
            print(f"compile_native: {module}: not compiled (no C compiler or mypy?); the source runs",
                  file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
