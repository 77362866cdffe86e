"""The address reader compiled by mypyc gives the answers of its source, and a stale compiled form never runs.

The source module is loaded a second time, from its ``.py`` file under another name, beside the compiled one that
``import vpostcode.address`` gives; both read every commune and legacy ward of the real gazetteer (and the post
offices) in every variant, and must answer alike, field for field. Under CI the compiled form must be present
(``scripts/setup.sh`` builds it), so that this comparison cannot be skipped there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import in_ci
from vpostcode import _native
from vpostcode.address import core
from vpostcode.address_variants import VARIANTS, commune_cases, legacy_cases, office_cases, with_variants
from vpostcode.gazetteer import Gazetteer

MODULE = "vpostcode.address.core"


@pytest.fixture(scope="module")
def source_reader() -> ModuleType:
    """The reader loaded from its source file, whatever ``vpostcode.address.core`` runs."""
    spec = importlib.util.spec_from_file_location("vpostcode_address_core_from_source", _native.source_path(MODULE))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compiled() -> None:
    state = _native.status(MODULE)
    if state != "compiled":
        if in_ci():
            pytest.fail(f"{MODULE} is not compiled under CI ({state}): scripts/setup.sh should have built it")
        pytest.skip(f"{MODULE} runs from source here ({state}): nothing to compare")
    assert not core.__file__.endswith(".py") and core._COMPILED


@pytest.fixture(scope="module")
def texts(gazetteer: Gazetteer) -> list[str]:
    base = [*commune_cases(gazetteer), *legacy_cases(gazetteer), *office_cases(gazetteer)]
    cases = with_variants(base, VARIANTS, gazetteer=gazetteer)
    odd = ["", " , ,", "P12 Q3 TPHCM", "Phường Bến Nghé (cũ), Q1, SG 700000", "hello world", "\x00\x07 Hà Nội",
           "Ho\u0300a Bi\u0300nh, Ha\u0300 No\u0323i", "Xã Tân Phú, Bắc Ninh", "Phường 1, Quận 1, TP.HCM"]
    return [case.text for case in cases] + odd


def test_the_compiled_reader_geocodes_every_text_as_its_source(compiled: None, source_reader: ModuleType,
                                                              gazetteer: Gazetteer, texts: list[str]) -> None:
    assert source_reader.__file__.endswith(".py") and not source_reader._COMPILED
    differ = []
    for text in texts:
        ours = [c.to_dict() for c in core.geocode(text, limit=10, gazetteer=gazetteer)]
        theirs = [c.to_dict() for c in source_reader.geocode(text, limit=10, gazetteer=gazetteer)]
        if ours != theirs:
            differ.append(text)
    assert not differ, f"{len(differ)} of {len(texts)} texts differ, e.g. {differ[:5]}"


def test_the_compiled_reader_parses_and_validates_as_its_source(compiled: None, source_reader: ModuleType,
                                                               gazetteer: Gazetteer, texts: list[str]) -> None:
    sample = texts[::23] + texts[-9:]
    for text in sample:
        assert core.parse(text, gazetteer).to_dict() == source_reader.parse(text, gazetteer).to_dict(), text
        assert core.validate(text, gazetteer=gazetteer).to_dict() == \
            source_reader.validate(text, gazetteer=gazetteer).to_dict(), text
    code_text = "Phường Ba Đình, Hà Nội"
    for kwargs in ({"lat": 21.0341, "lon": 105.8372}, {"lat": 10.77, "lon": 106.70}):
        assert core.validate(code_text, gazetteer=gazetteer, **kwargs).to_dict() == \
            source_reader.validate(code_text, gazetteer=gazetteer, **kwargs).to_dict()


def _import_in_child(env: dict[str, str]) -> tuple[str, str]:
    """(file of vpostcode.address.core, warnings) in a fresh interpreter."""
    program = ("import warnings; warnings.simplefilter('always')\n"
               "import vpostcode.address.core as c, vpostcode._native as n\n"
               "print(c.__file__); print(n.status('vpostcode.address.core'))")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True,
                          env={**os.environ, **env}, cwd=Path(__file__).resolve().parents[1])
    return done.stdout, done.stderr


def test_the_environment_can_ask_for_the_source(compiled: None) -> None:
    out, _err = _import_in_child({_native.PURE_ENV: "1"})
    assert out.splitlines()[0].endswith("core.py")
    out, _err = _import_in_child({_native.PURE_ENV: ""})
    assert not out.splitlines()[0].endswith("core.py")


def test_a_compiled_form_of_another_source_is_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a synthetic package: one "compiled" file (an empty stand-in) beside its source, and a manifest
    package = tmp_path / "vpostcode" / "address"
    package.mkdir(parents=True)
    source = package / "core.py"
    source.write_text("ANSWER = 1\n", encoding="utf-8")
    compiled_file = package / ("core" + importlib.machinery.EXTENSION_SUFFIXES[0])
    manifest = tmp_path / "vpostcode" / "_native.json"
    monkeypatch.setattr(_native, "PACKAGE_ROOT", tmp_path)
    monkeypatch.setattr(_native, "MANIFEST", manifest)
    monkeypatch.delenv(_native.PURE_ENV, raising=False)
    assert _native.status(MODULE) == "source"  # never compiled
    compiled_file.write_bytes(b"")
    assert _native.status(MODULE) == "stale"  # compiled, no manifest
    manifest.write_text(json.dumps({"modules": {MODULE: _native.source_digest(MODULE)}}), encoding="utf-8")
    assert _native.status(MODULE) == "compiled"
    source.write_text("ANSWER = 2\n", encoding="utf-8")  # the source was edited after compiling
    assert _native.status(MODULE) == "stale"
    spec = _native._SourceFinder([MODULE]).find_spec(MODULE, None)
    assert spec is not None and spec.origin == str(source)
    assert _native._SourceFinder([MODULE]).find_spec("vpostcode.codec", None) is None


def test_install_warns_of_a_stale_compiled_form_and_finds_the_source(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    package = tmp_path / "vpostcode" / "address"
    package.mkdir(parents=True)
    (package / "core.py").write_text("ANSWER = 2\n", encoding="utf-8")
    (package / ("core" + importlib.machinery.EXTENSION_SUFFIXES[0])).write_bytes(b"")  # synthetic stand-in
    monkeypatch.setattr(_native, "PACKAGE_ROOT", tmp_path)
    monkeypatch.setattr(_native, "MANIFEST", tmp_path / "vpostcode" / "_native.json")
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if not isinstance(f, _native._SourceFinder)])
    with pytest.warns(RuntimeWarning, match="compile_native.py"):
        _native.install()
    finder = sys.meta_path[0]
    assert isinstance(finder, _native._SourceFinder) and finder.modules == {MODULE}
