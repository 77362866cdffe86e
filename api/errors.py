"""Every error the service answers with, in one place: RFC 9457 ``application/problem+json`` bodies.

Each library exception class carries a stable ``slug`` (``vpostcode.errors``); the service adds a few of its own
for what only HTTP has (authentication, rate limits, body size...). A slug becomes the problem ``type``
``/problems/<slug>``, a relative URI that the service itself answers with the problem's documentation, so the
types are stable, unique and dereferenceable wherever the service is deployed. ``STATUS`` below is the only
table from slugs to HTTP statuses; a library exception added later without an entry inherits the status of its
nearest ancestor that has one, so nothing ever falls through to a bare 500.

Bodies carry ``type``, ``title``, ``status``, ``detail`` (the exception's one-line message) and ``instance`` (the
request path), and these extension members where they apply: ``invalid-params`` (``[{"name", "reason"}]``, for
400/422 answers that a parameter or field caused), ``suggestions`` (valid codes one typo away),
``candidates`` (for an ambiguous name) and ``retry_after`` (seconds, also in the ``Retry-After`` header).

No stack trace, SQL text or database URL ever reaches a client: storage and unexpected errors get a fixed
``detail``, and the real cause goes to the log with the request id.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from flask import Flask, Response, current_app, g, json, request
from werkzeug.exceptions import HTTPException

from vpostcode import errors as lib

log = logging.getLogger("api")

PROBLEM_JSON: Final = "application/problem+json"
PROBLEM_BASE: Final = "/problems/"
LIMITER_EXTENSION: Final = "vpostcode.limiter"


class ApiError(Exception):
    """An error that only the HTTP layer knows (no key, wrong scope, batch too large...); mapped by ``slug``."""

    slug = "bad-request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.details: dict[str, Any] = details


class BadRequest(ApiError):
    """The request cannot be read: malformed JSON, a body that is not an object, a wrong parameter type."""

    slug = "bad-request"


class Unauthorized(ApiError):
    """The operation needs an API key (``Authorization: Bearer vpk_...``) and none, or an invalid one, was sent."""

    slug = "unauthorized"


class Forbidden(ApiError):
    """The API key is valid but lacks the scope the operation needs (``details['required_scope']``)."""

    slug = "forbidden"


class BatchTooLarge(ApiError):
    """A batch holds more items than one request may (``details['max_items']``)."""

    slug = "batch-too-large"


class UnsupportedMediaType(ApiError):
    """A request body that is not ``application/json``."""

    slug = "unsupported-media-type"


class ServiceUnavailable(ApiError):
    """The service cannot answer yet (data still loading) or at all (data missing)."""

    slug = "service-unavailable"


@dataclass(frozen=True)
class ProblemType:
    """One documented problem type: its slug, HTTP status, short title and what it means."""

    slug: str
    status: int
    title: str
    description: str

    @property
    def uri(self) -> str:
        """The ``type`` member of the problem body."""
        return PROBLEM_BASE + self.slug

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, for ``/problems`` and the API reference."""
        return {"type": self.uri, "slug": self.slug, "status": self.status, "title": self.title,
                "description": self.description}


STATUS: Final[dict[str, int]] = {
    # library errors (vpostcode.errors)
    "error": 500,
    "invalid-input": 400,
    "invalid-coordinate": 400,
    "outside-domain": 422,
    "invalid-code": 400,
    "unknown-crs": 400,
    "invalid-record": 422,
    "inconsistent-address": 422,
    "not-found": 404,
    "ambiguous": 422,
    "conflict": 409,
    "data-error": 503,
    "storage-error": 500,
    "database-unavailable": 503,
    "missing-dependency": 500,
    "optimization-failed": 500,
    # the service's own
    "bad-request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "route-not-found": 404,
    "method-not-allowed": 405,
    "payload-too-large": 413,
    "batch-too-large": 413,
    "unsupported-media-type": 415,
    "rate-limited": 429,
    "internal-error": 500,
    "service-unavailable": 503,
}
"""The one table from problem slug to HTTP status (subclasses not listed inherit their parent's)."""

_HTTP_SLUGS: Final = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "route-not-found", 405: "method-not-allowed",
413: "payload-too-large", 415: "unsupported-media-type", 429: "rate-limited",
    503: "service-unavailable",
}
"""Werkzeug's HTTP exceptions (routing, body size, rate limiter) by status."""

_SERVICE_TYPES: Final = {
    "route-not-found": ("Not found", "No resource at this path: check the URL against /openapi.json."),
    "method-not-allowed": ("Method not allowed", "The path exists but not with this method; ``Allow`` lists those "
                           "that do."),
    "payload-too-large": ("Payload too large", "The request body is larger than the service accepts "
                          "(``max_body_bytes``, 2 MiB by default)."),
    "rate-limited": ("Too many requests", "The client's rate limit is used up; retry after ``Retry-After`` "
                     "seconds. Reads are limited per IP address, writes per API key."),
    "internal-error": ("Internal error", "An unexpected failure; the log has the details under the request id "
                       "(``X-Request-Id``). Nothing about it is shown to the client."),
}

_SAFE_DETAIL: Final = {
    "data-error": "the service's data is missing or damaged: the operator must run `vpostcode data build`",
    "data-not-built": "the service's data is not built: the operator must run `vpostcode data build`",
    "source-data": "the service's data sources are missing or damaged",
    "storage-error": "the database failed the operation; try again later",
    "database-unavailable": "the database is unavailable; try again later",
    "internal-error": "an unexpected error occurred; the log has the details under this request's id",
    "error": "an unexpected error occurred; the log has the details under this request's id",
}
"""Slugs whose message may name internals (SQL, a URL): clients get this fixed text instead."""

_RETRY_AFTER: Final = {"database-unavailable": 5, "service-unavailable": 10, "data-error": 30}


def _library_classes() -> Iterator[type[lib.VpostcodeError]]:
    """Every exception class of ``vpostcode.errors`` (the library's, present and future)."""
    for _name, cls in inspect.getmembers(lib, inspect.isclass):
        if issubclass(cls, lib.VpostcodeError):
            yield cls


def _api_classes() -> Iterator[type[ApiError]]:
    """Every :class:`ApiError` subclass of this module."""
    for value in list(globals().values()):
        if isinstance(value, type) and issubclass(value, ApiError):
            yield value


def _first_line(text: str | None) -> str:
    """The first paragraph of a docstring on one line: the problem type's description."""
    return " ".join((text or "").strip().split("\n\n")[0].split())


def status_for(cls: type[BaseException]) -> int:
    """The HTTP status of an exception class: its slug's, else its nearest ancestor's (500 when none)."""
    for klass in cls.__mro__:
        slug = getattr(klass, "slug", None)
        if isinstance(slug, str) and slug in STATUS:
            return STATUS[slug]
    return 500


def _title(slug: str) -> str:
    """A slug as a title (``invalid-code`` → ``Invalid code``)."""
    return slug.replace("-", " ").capitalize()


def problem_types() -> dict[str, ProblemType]:
    """Every documented problem type by slug: the library's exceptions, the service's own and HTTP's."""
    types: dict[str, ProblemType] = {}
    classes: list[type[lib.VpostcodeError] | type[ApiError]] = [*_library_classes(), *_api_classes()]
    for cls in classes:
        slug = cls.slug
        types[slug] = ProblemType(slug, status_for(cls), _title(slug), _first_line(cls.__doc__))
    for slug, (title, description) in _SERVICE_TYPES.items():
        types[slug] = ProblemType(slug, STATUS[slug], title, description)
    return dict(sorted(types.items(), key=lambda item: (item[1].status, item[0])))


def _invalid_params(details: dict[str, Any], message: str) -> list[dict[str, str]] | None:
    """RFC 9457's ``invalid-params`` for an error that names its parameter (``parameter``) or field (``field``)."""
    name = details.get("parameter") or details.get("field")
    if not isinstance(name, str):
        return None
    return [{"name": name, "reason": message}]


def problem_response(slug: str, status: int, detail: str, *, extra: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    """A ``application/problem+json`` response (the only way the service answers with an error)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": _title(slug) if slug not in _SERVICE_TYPES else _SERVICE_TYPES[slug][0],
        "status": status,
        "detail": detail,
        "instance": request.path if request else None,
    }
    if extra:
        body.update({key: value for key, value in extra.items() if key not in body})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if slug in _RETRY_AFTER and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = str(_RETRY_AFTER[slug])
    return response


_PASSED_DETAILS: Final = ("suggestions", "candidates", "max_items", "required_scope", "reason", "position",
                          "accepted", "index", "verdict", "address_commune", "point_commune", "distance_m")
"""Library error details that are safe and useful to show (the others may be internal)."""


def _from_library(error: lib.VpostcodeError) -> Response:
    """The problem for a library error: its slug's status; internals hidden for 5xx and data errors."""
    slug = error.slug
    status = status_for(type(error))
    extra: dict[str, Any] = {}
    detail = error.message
    if slug in _SAFE_DETAIL or status >= 500:
        log.error("request %s failed: %s", getattr(g, "request_id", "-"), error.message)
        detail = _SAFE_DETAIL.get(slug, _SAFE_DETAIL["error"])
    else:
        if params := _invalid_params(error.details, error.message):
            extra["invalid-params"] = params
        extra.update({key: error.details[key] for key in _PASSED_DETAILS if key in error.details})
    return problem_response(slug, status, detail, extra=extra)


def _from_api(error: ApiError) -> Response:
    """The problem for one of the service's own errors (with its headers, e.g. ``WWW-Authenticate``)."""
    extra = dict(error.details)
    if params := _invalid_params(error.details, error.message):
        extra["invalid-params"] = params
    extra.pop("parameter", None)
    return problem_response(error.slug, status_for(type(error)), error.message, extra=extra, headers=error.headers)


def _from_http(error: HTTPException) -> Response:
    """The problem for Werkzeug's HTTP errors: routing (404, 405), body size (413), rate limits (429)."""
    status = error.code or 500
    slug = _HTTP_SLUGS.get(status, "internal-error" if status >= 500 else "bad-request")
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if status == 405 and (valid := getattr(error, "valid_methods", None)):
        headers["Allow"] = ", ".join(sorted(valid))
    if status == 429:
        detail = f"rate limit exceeded ({error.description}): retry later"
        retry = _retry_after_seconds()
        headers["Retry-After"] = str(retry)
        extra["retry_after"] = retry
    elif status == 413:
        detail = "the request body is too large"
    elif status == 404:
        detail = f"no resource at {request.path}"
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.path}"
    else:
        detail = str(error.description or slug)
    return problem_response(slug, status, detail, extra=extra, headers=headers)


def _retry_after_seconds() -> int:
    """Seconds until the breached rate-limit window resets (at least 1; 60 when the limiter cannot tell)."""
    try:
        limiter = current_app.extensions.get(LIMITER_EXTENSION)
        current = getattr(limiter, "current_limit", None)
        if current is not None:
            return max(1, math.ceil(current.reset_at - time.time()))
    except Exception:  # the header must never turn a 429 into a 500
        log.warning("could not read the rate-limit window", exc_info=True)
    return 60


def _unexpected(error: Exception) -> Response:
    """Anything else is a bug: logged with its traceback, answered 500 without a word about it."""
    log.exception("request %s failed with an unexpected error", getattr(g, "request_id", "-"))
    return problem_response("internal-error", 500, _SAFE_DETAIL["internal-error"])


def register(app: Flask) -> None:
    """Install the handlers that turn every exception into a problem response."""
    app.register_error_handler(lib.VpostcodeError, _from_library)
    app.register_error_handler(ApiError, _from_api)
    app.register_error_handler(HTTPException, _from_http)
    app.register_error_handler(Exception, _unexpected)
