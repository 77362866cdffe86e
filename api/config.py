"""The service's settings: defaults, then a file (``$VPOSTCODE_CONFIG``, TOML or JSON), then ``VPOSTCODE_*``
environment variables, then the mapping given to ``create_app(config=...)`` (most explicit wins).

Every setting has one name, used in all four places: ``rate_limit_read`` is ``rate_limit_read = "..."`` in the
file, ``VPOSTCODE_RATE_LIMIT_READ`` in the environment and ``{"rate_limit_read": ...}`` in code. Values from the
environment are strings and are parsed by the field's type (``true``/``false``/``1``/``0`` for booleans, a comma
list for ``cors_origins``). An unknown key in a file or mapping is an error, so a typo never passes silently.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final

from vpostcode.errors import InvalidInputError

CONFIG_ENV: Final = "VPOSTCODE_CONFIG"
ENV_PREFIX: Final = "VPOSTCODE_"
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with; see the module docstring for where values come from."""

    data_dir: str | None = None
    """The built ``gis_data/`` directory (the library's ``VPOSTCODE_DATA_DIR``); None: the library's default."""
    database_url: str | None = None
    """The store (``VPOSTCODE_DATABASE_URL``); None: the embedded SQLite file in the data directory."""
    redis_url: str | None = None
    """Rate-limit counters shared by every worker (``redis://127.0.0.1:6379/0``); None: per-process memory."""
    preload: bool = True
    """Load the gazetteer and the indexes when the app is created (else on the first request that needs them)."""
    preload_coverage: bool = False
    """Also build the coverage model (2-3 s, 60 MB) at creation; gunicorn turns it on before forking."""
    rate_limits_enabled: bool = True
    rate_limit_read: str = "1200 per minute"
    """Per client IP, for every public read."""
    rate_limit_heavy: str = "60 per minute"
    """Per client IP, for batches, coverage computations and the coverage map (on top of the read limit)."""
    rate_limit_write: str = "120 per minute"
    """Per API key, for every write."""
    rate_limit_strategy: str = "fixed-window"
    rate_limit_headers: bool = True
    """Send ``X-RateLimit-Limit/Remaining/Reset`` on every answer (``Retry-After`` on a 429 is always sent)."""
    rate_limit_prefix: str = "vpostcode"
    """Prefix of the counters' keys in Redis (separates services sharing one Redis)."""
    cors_origins: tuple[str, ...] = ("*",)
    """Origins allowed to call the API from a browser (a checkout widget); ``*`` for any."""
    max_body_bytes: int = 2 * 1024 * 1024
    """Largest request body accepted; larger is 413."""
    max_reverse_batch: int = 10_000
    max_codes_batch: int = 10_000
    max_geocode_batch: int = 1_000
    max_list_limit: int = 5_000
    """Largest ``limit`` for list endpoints (postal points, communes)."""
    max_suggest_k: int = 200
    max_suggest_seconds: float = 30.0
    coverage_cache_size: int = 64
    """Coverage answers kept per worker, keyed by the store's state (an import invalidates them)."""
    gzip: bool = True
    """Compress large JSON/GeoJSON answers for clients that accept gzip (off when a proxy in front does it)."""
    trusted_proxies: int = 0
    """How many reverse proxies in front set ``X-Forwarded-For`` (0: use the socket's peer address)."""
    public_url: str = "http://127.0.0.1:8000"
    """Where the service is reached; printed with the map URL when it starts."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    """Flask settings passed through unchanged (e.g. ``TESTING``)."""


_FIELDS: Final = {f.name: f for f in fields(Settings) if f.name != "extra"}


def _parse_bool(name: str, value: Any) -> bool:
    """A boolean setting from a bool or the usual words (``true``/``false``, ``1``/``0``, ``yes``/``no``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInputError(f"setting {name}: expected true or false, got {value!r}", parameter=name)


def _coerce(name: str, value: Any) -> Any:
    """``value`` converted to the type of setting ``name`` (strings from the environment are parsed)."""
    kind = str(_FIELDS[name].type)
    if value is None:
        if "None" in kind:
            return None
        raise InvalidInputError(f"setting {name} cannot be empty", parameter=name)
    if kind == "bool":
        return _parse_bool(name, value)
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"setting {name}: expected a number, got {value!r}", parameter=name) from None
    if kind.startswith("tuple"):
        items = value.split(",") if isinstance(value, str) else list(value)
        return tuple(str(item).strip() for item in items if str(item).strip())
    if isinstance(value, str) and "None" in kind and not value.strip():
        return None
    return str(value)


def read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings in a TOML (``.toml``) or JSON file; keys may sit at the top or under a ``[vpostcode]`` table."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInputError(f"cannot read the config file {file}: {error.strerror}", parameter=CONFIG_ENV) from None
    try:
        data = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise InvalidInputError(f"the config file {file} is not valid: {error}", parameter=CONFIG_ENV) from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"the config file {file} must hold a table of settings", parameter=CONFIG_ENV)
    section = data.get("vpostcode", data)
    return dict(section) if isinstance(section, dict) else {}


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings named by ``VPOSTCODE_<NAME>`` variables (``VPOSTCODE_CONFIG`` itself excluded)."""
    return {name: environ[ENV_PREFIX + name.upper()] for name in _FIELDS if ENV_PREFIX + name.upper() in environ}


def _apply(settings: Settings, values: Mapping[str, Any], origin: str) -> Settings:
    """``settings`` with ``values`` applied; an unknown name is an error naming it."""
    unknown = sorted(set(values) - set(_FIELDS) - {"extra"})
    if unknown:
        raise InvalidInputError(f"unknown setting(s) in {origin}: {', '.join(unknown)}", parameter=unknown[0])
    changes = {name: _coerce(name, value) for name, value in values.items() if name != "extra"}
    if "extra" in values:
        changes["extra"] = {**settings.extra, **dict(values["extra"])}
    return replace(settings, **changes)


def load_settings(config: Mapping[str, Any] | Settings | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """The effective settings: defaults < ``$VPOSTCODE_CONFIG`` file < ``VPOSTCODE_*`` variables < ``config``.

    Upper-case keys in ``config`` (``TESTING``, ``SERVER_NAME``...) are Flask settings and go to ``extra``.
    """
    if isinstance(config, Settings):
        return config
    env = os.environ if environ is None else environ
    settings = Settings()
    if path := env.get(CONFIG_ENV):
        settings = _apply(settings, read_file(path), path)
    settings = _apply(settings, from_environ(env), "the environment")
    if config:
        mine = {key: value for key, value in config.items() if not key.isupper()}
        flask_keys = {key: value for key, value in config.items() if key.isupper()}
        if flask_keys:
            mine["extra"] = {**dict(mine.get("extra", {})), **flask_keys}
        settings = _apply(settings, mine, "the app's config")
    return settings
