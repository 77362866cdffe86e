"""``vpostcode serve``: builds the app with the host and port given and runs Werkzeug's threaded server."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from vpostcode.cli import main


def test_serve_runs_the_app_on_the_address_given(monkeypatch: pytest.MonkeyPatch, gazetteer: Any) -> None:
    calls: dict[str, Any] = {}

    def fake_run(self: Flask, **kwargs: Any) -> None:
        calls.update(kwargs, app=self)

    monkeypatch.setattr(Flask, "run", fake_run)
    result = CliRunner().invoke(main, ["serve", "--host", "127.0.0.1", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls["host"] == "127.0.0.1" and calls["port"] == 8123 and calls["threaded"] is True
    assert "http://127.0.0.1:8123/map" in result.stderr
    assert calls["app"].config["VPOSTCODE"].public_url == "http://127.0.0.1:8123"


def test_serve_reports_missing_data_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("VPOSTCODE_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["serve", "--port", "8124"])
    assert result.exit_code == 1
    assert "vpostcode: error:" in result.stderr and "Traceback" not in result.output


def test_serve_rejects_a_bad_port() -> None:
    assert CliRunner().invoke(main, ["serve", "--port", "0"]).exit_code == 2
