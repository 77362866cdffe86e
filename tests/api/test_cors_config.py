"""CORS for checkout widgets, and where settings come from (defaults < file < environment < code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.config import Settings, load_settings
from tests.api.conftest import HANOI
from vpostcode.errors import InvalidInputError

URL = f"/v1/reverse?lat={HANOI[0]}&lon={HANOI[1]}"


def test_cors_any_origin_by_default(client) -> None:
    response = client.get(URL, headers={"Origin": "https://shop.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
    preflight = client.options("/v1/validate", headers={"Origin": "https://shop.example",
                                                         "Access-Control-Request-Method": "POST",
                                                         "Access-Control-Request-Headers": "Content-Type"})
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in client.get("/healthz", headers={"Origin": "https://x"}).headers


def test_cors_configured_origins_only(fresh_app) -> None:
    client = fresh_app(cors_origins="https://shop.example, https://checkout.example",
                       rate_limits_enabled=False).test_client()
    allowed = client.get(URL, headers={"Origin": "https://checkout.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://checkout.example"
    assert "Origin" in allowed.headers["Vary"]
    refused = client.get(URL, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 200 and "Access-Control-Allow-Origin" not in refused.headers
    preflight = client.options("/v1/validate", headers={"Origin": "https://evil.example",
                                                         "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_settings_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "vpostcode.toml"
    toml.write_text('[vpostcode]\nrate_limit_read = "10 per minute"\nmax_reverse_batch = 50\n'
                    'cors_origins = ["https://a.example"]\n', encoding="utf-8")
    env = {"VPOSTCODE_CONFIG": str(toml), "VPOSTCODE_MAX_REVERSE_BATCH": "70", "VPOSTCODE_PRELOAD": "false"}
    settings = load_settings(environ=env)
    assert settings.rate_limit_read == "10 per minute"  # from the file
    assert settings.max_reverse_batch == 70  # the environment beats the file
    assert settings.preload is False and settings.cors_origins == ("https://a.example",)
    assert load_settings({"max_reverse_batch": 5, "TESTING": True}, environ=env).max_reverse_batch == 5
    assert load_settings({"TESTING": True}, environ={}).extra == {"TESTING": True}
    given = Settings(max_reverse_batch=3)
    assert load_settings(given) is given


def test_json_config_and_bad_settings(tmp_path: Path) -> None:
    path = tmp_path / "vpostcode.json"
    path.write_text(json.dumps({"redis_url": "redis://127.0.0.1:6379/1", "trusted_proxies": 1}), encoding="utf-8")
    settings = load_settings(environ={"VPOSTCODE_CONFIG": str(path)})
    assert settings.redis_url == "redis://127.0.0.1:6379/1" and settings.trusted_proxies == 1
    with pytest.raises(InvalidInputError, match="unknown setting"):
        load_settings({"rate_limit_reed": "1 per second"}, environ={})
    with pytest.raises(InvalidInputError, match="true or false"):
        load_settings(environ={"VPOSTCODE_PRELOAD": "perhaps"})
    with pytest.raises(InvalidInputError, match="number"):
        load_settings(environ={"VPOSTCODE_MAX_BODY_BYTES": "lots"})
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_settings(environ={"VPOSTCODE_CONFIG": str(tmp_path / "missing.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text("rate_limit_read = ", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not valid"):
        load_settings(environ={"VPOSTCODE_CONFIG": str(broken)})


def test_trusted_proxy_sets_the_client_address(fresh_app) -> None:
    app = fresh_app(trusted_proxies=1, rate_limit_read="1 per minute")
    client = app.test_client()
    assert client.get(URL, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 200
    assert client.get(URL, headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 200
    assert client.get(URL, headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 429
