"""The vpostcode HTTP service: ``create_app(config)`` builds a Flask app over the library.

Importing ``api`` builds nothing. ``create_app`` reads the settings (``api.config``), registers the blueprints of
``api.routes``, the one error map (``api.errors``), rate limits, CORS and request limits, and, unless
``preload`` is off, loads the data. Handlers parse the request, make one library call and serialise the answer;
there is no geometry in this package.

Run it with ``vpostcode serve`` (development) or ``gunicorn -c api/gunicorn.conf.py`` (production).
"""

from __future__ import annotations

import gzip
import itertools
import logging
import os
import re
import uuid
from collections.abc import Mapping
from typing import Any, Final, cast

from flask import Flask, Response, g, request

from api.config import Settings, load_settings

__all__ = ["Settings", "create_app"]

log = logging.getLogger("api")

_REQUEST_ID: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_COMPRESSIBLE: Final = ("application/json", "application/geo+json", "application/problem+json", "text/html",
                        "image/svg+xml")
_GZIP_MIN_BYTES: Final = 2048
_EXPOSED_HEADERS: Final = ["Location", "Retry-After", "X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                           "X-RateLimit-Reset"]


def create_app(config: Mapping[str, Any] | Settings | None = None) -> Flask:
    """A configured app. ``config`` overrides the environment and ``$VPOSTCODE_CONFIG`` (see ``api.config``).

    Raises the library's ``DataError`` when ``preload`` is on and ``gis_data/`` is not built, so that a server
    never starts without its data.
    """
    from api import errors
    from api.context import RESOURCES_EXTENSION, SETTINGS_KEY
    from api.resources import Resources
    from api.respond import JsonProvider
    from api.routes import blueprints
    from api.templating import inline_markdown

    settings = load_settings(config)
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.json = JsonProvider(app)
    app.jinja_env.filters["md"] = inline_markdown
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes, MAX_FORM_MEMORY_SIZE=settings.max_body_bytes,
                      **{SETTINGS_KEY: settings}, **settings.extra)
    resources = Resources(settings.data_dir, settings.database_url, settings.coverage_cache_size)
    app.extensions[RESOURCES_EXTENSION] = resources
    errors.register(app)
    if settings.trusted_proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    for blueprint in blueprints():
        app.register_blueprint(blueprint)
    _rate_limits(app, settings)
    _cors(app, settings)
    _hooks(app, resources, settings)
    if settings.preload:
        resources.load(coverage=settings.preload_coverage)
    return app


def _client_ip() -> str:
    """The client's address (after ``ProxyFix`` when ``trusted_proxies`` is set): the key of public limits."""
    return request.remote_addr or "-"


def _rate_limits(app: Flask, settings: Settings) -> None:
    """Flask-Limiter: the read limit on every route by IP, plus the heavy (IP) and write (API key) classes."""
    from flask_limiter import Limiter

    import api.limits_storage  # noqa: F401  (registers the vpostcode-memory:// storage)
    from api.auth import rate_limit_key
    from api.errors import LIMITER_EXTENSION
    from api.limits_memo import memoize_limit_resolution
    from api.routes import LIMIT_ATTRIBUTE

    if settings.redis_url:
        storage = settings.redis_url
    else:
        storage = "vpostcode-memory://" if settings.rate_limit_strategy == "fixed-window" else "memory://"
    limiter = Limiter(
        _client_ip, app=app, default_limits=[settings.rate_limit_read], storage_uri=storage,
        strategy=settings.rate_limit_strategy, headers_enabled=settings.rate_limit_headers,
        enabled=settings.rate_limits_enabled,
        key_prefix=settings.rate_limit_prefix, in_memory_fallback_enabled=bool(settings.redis_url),
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1} if settings.redis_url else None,
    )
    app.extensions[LIMITER_EXTENSION] = limiter
    for endpoint, view in list(app.view_functions.items()):
        kind = "exempt" if endpoint == "static" else getattr(view, LIMIT_ATTRIBUTE, None)
        if kind == "exempt":
            limiter.exempt(view)
        elif kind == "heavy":
            app.view_functions[endpoint] = cast(Any, limiter.limit(settings.rate_limit_heavy,
                                                                   override_defaults=False, scope="heavy")(view))
        elif kind == "write":
            app.view_functions[endpoint] = cast(Any, limiter.limit(
                settings.rate_limit_write, key_func=rate_limit_key, override_defaults=False, scope="write")(view))
    memoize_limit_resolution(limiter)  # after every limit is registered: each endpoint's set is fixed from here on


def _cors(app: Flask, settings: Settings) -> None:
    """CORS on ``/v1`` for browser clients (checkout widgets): the configured origins, no cookies.

    Written out rather than taken from flask-cors, which deep-copies its options and raises several exceptions
    on every request (measured: a third of the cost of a reverse-geocoding request).
    """
    from api.cors import Cors

    Cors(settings.cors_origins, exposed=_EXPOSED_HEADERS).init_app(app)


def _hooks(app: Flask, resources: Any, settings: Settings) -> None:
    """Per request: an id, the data loaded before any ``/v1`` work; per response: headers and compression."""

    @app.before_request
    def _before() -> None:
        """Give the request an id and make sure the data is there before any ``/v1`` work."""
        supplied = request.headers.get("X-Request-Id")
        g.request_id = supplied if supplied and _REQUEST_ID.match(supplied) else _next_request_id()
        if request.path.startswith("/v1/"):
            resources.ensure_loaded()

    compress = settings.gzip

    @app.after_request
    def _after(response: Response) -> Response:
        """Echo the request id, forbid MIME sniffing, lock pages to this origin, compress large answers."""
        headers = response.headers
        headers["X-Request-Id"] = g.get("request_id", "-")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype in ("text/html",):
            headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; "
                                                          "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
        return _compress(response) if compress else response


_ids = itertools.count(1)
_id_prefix: dict[int, str] = {}


def _next_request_id() -> str:
    """A request id unique across workers and restarts: a random per-process prefix and a counter (no syscall)."""
    pid = os.getpid()
    prefix = _id_prefix.get(pid)
    if prefix is None:
        prefix = _id_prefix.setdefault(pid, uuid.uuid4().hex[:12])
    return f"{prefix}-{next(_ids):x}"


def _compress(response: Response) -> Response:
    """Gzip a large textual answer when the client accepts it (GeoJSON shapes shrink about five times)."""
    if (response.direct_passthrough or response.status_code < 200 or response.status_code >= 300
            or "Content-Encoding" in response.headers or response.mimetype not in _COMPRESSIBLE
            or "gzip" not in request.headers.get("Accept-Encoding", "")):
        return response
    data = response.get_data()
    if len(data) < _GZIP_MIN_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    response.headers.add("Vary", "Accept-Encoding")
    return response
