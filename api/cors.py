"""Cross-origin resource sharing for ``/v1``, so that a checkout widget on a shop's page can call the API.

Only what the service needs, and cheap on every request: an ``Origin`` that is allowed gets
``Access-Control-Allow-Origin`` (the origin itself, with ``Vary: Origin``, unless every origin is allowed) and the
headers a script may read; a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered 204 with
the methods and headers allowed. Credentials (cookies) are never allowed: the API authenticates with bearer keys.
A request from an origin that is not allowed is served as usual but without the headers, so the browser withholds
the answer from the script.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from flask import Flask, Response, request

PREFIX: Final = "/v1/"
ALLOWED_METHODS: Final = "GET, POST, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS: Final = "Authorization, Content-Type, Accept, X-Request-Id"
MAX_AGE: Final = "600"


class Cors:
    """The CORS policy of one app: which origins, and which response headers scripts may read."""

    def __init__(self, origins: Iterable[str], exposed: Iterable[str]) -> None:
        listed = [origin.rstrip("/") for origin in origins]
        self.any_origin = "*" in listed
        self.origins = frozenset(listed)
        self.exposed = ", ".join(exposed)

    def allowed(self, origin: str) -> bool:
        """True when a page from ``origin`` may read the answers."""
        return self.any_origin or origin.rstrip("/") in self.origins

    def init_app(self, app: Flask) -> None:
        """Answer preflights before routing and add the headers to every ``/v1`` answer."""
        app.before_request(self._preflight)
        app.after_request(self._headers)

    def _preflight(self) -> Response | None:
        """Answer a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) at once."""
        if (request.method != "OPTIONS" or not request.path.startswith(PREFIX)
                or "Access-Control-Request-Method" not in request.headers):
            return None
        origin = request.headers.get("Origin")
        response = Response(status=204)
        if origin and self.allowed(origin):
            self._allow(response, origin)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = MAX_AGE
        return response

    def _headers(self, response: Response) -> Response:
        """Let a page from an allowed origin read this ``/v1`` answer."""
        origin = request.headers.get("Origin")
        if origin and request.path.startswith(PREFIX) and self.allowed(origin):
            self._allow(response, origin)
            response.headers["Access-Control-Expose-Headers"] = self.exposed
        return response

    def _allow(self, response: Response, origin: str) -> None:
        """The allow-origin header: ``*``, or the origin itself with ``Vary: Origin``."""
        if self.any_origin:
            response.headers["Access-Control-Allow-Origin"] = "*"
        else:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers.add("Vary", "Origin")
