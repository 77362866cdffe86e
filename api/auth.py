"""API keys and scopes: who may write, and who may read private data.

Reads are public. Writes and private data need ``Authorization: Bearer vpk_<key id>_<secret>``, a key made by
``vpostcode keys create --scopes ...`` and verified through the store (only a SHA-256 of each token is stored,
compared in constant time; a revoked key is refused). The scopes the service checks:

``points:write``
    create, change and delete postal points;
``registry:write``
    register and delete digital addresses;
``registry:private``
    read a registered address's contact details.

No key where one is needed, or a key that is unknown, malformed or revoked, is 401 with a
``WWW-Authenticate: Bearer`` challenge; a valid key without the scope is 403. Where a key only adds something
(``GET /v1/addresses/{code}``: the contact details) a bad key is 401 too, rather than silently ignored, so that a
misconfigured client learns at once; other public reads ignore the header (no database round trip for them).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Final, ParamSpec, TypeVar

from flask import g, request

from api.context import resources
from api.errors import Forbidden, Unauthorized
from vpostcode.store import KeyInfo

P = ParamSpec("P")
R = TypeVar("R")

SCOPES: Final = {
    "points:write": "create, change and delete postal points",
    "registry:write": "register and delete digital addresses",
    "registry:private": "read the contact details of registered addresses",
}
REALM: Final = 'Bearer realm="vpostcode"'
_UNSET: Final = object()


def _challenge(error: str | None = None, scope: str | None = None) -> dict[str, str]:
    """The ``WWW-Authenticate`` header of a 401/403 (RFC 6750 error codes)."""
    value = REALM
    if error:
        value += f', error="{error}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without the header; 401 for another scheme."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <API key>'",
                           headers=_challenge("invalid_request"))
    return token.strip()


def current_key() -> KeyInfo | None:
    """The verified key of this request (verified once, then remembered for the request), or None without one.

    A token that does not verify is 401.
    """
    cached = g.get("api_key", _UNSET)
    if cached is not _UNSET:
        return cached
    token = bearer_token()
    key: KeyInfo | None = None
    if token is not None:
        store = resources().store()
        key = store.verify_key(token)
        if key is None:
            raise Unauthorized("the API key is unknown, malformed or revoked", headers=_challenge("invalid_token"))
    g.api_key = key
    return key


def has_scope(scope: str) -> bool:
    """True when this request carries a valid key with ``scope`` (401 for a bad key, False for none)."""
    key = current_key()
    return key is not None and scope in key.scopes


def require_scope(scope: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a view that needs a key with ``scope``: 401 without a (valid) key, 403 without the scope."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        """Wrap ``view`` so that the scope is checked before it runs."""

        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            """Check the scope, then run the view."""
            check_scope(scope)
            return view(*args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate


def check_scope(scope: str) -> KeyInfo:
    """The request's key, which must exist and hold ``scope`` (401 / 403 otherwise)."""
    key = current_key()
    if key is None:
        raise Unauthorized(f"this operation needs an API key with the scope {scope}", headers=_challenge(),
                           required_scope=scope)
    if scope not in key.scopes:
        raise Forbidden(f"the API key {key.key_id} lacks the scope {scope}",
                        headers=_challenge("insufficient_scope", scope), required_scope=scope)
    return key


def rate_limit_key() -> str:
    """Writes are counted per API key (verified here: an unverified key id could be anyone's)."""
    key = current_key()
    if key is not None:
        return f"key:{key.key_id}"
    return f"ip:{request.remote_addr or '-'}"
