"""The memo of Flask-Limiter's limit resolution gives the manager's own answer for every endpoint, every time."""

from __future__ import annotations

from typing import Any

from flask_limiter.util import get_qualified_name

from api.errors import LIMITER_EXTENSION
from api.limits_memo import memoize_limit_resolution


def _described(limits: Any) -> list[tuple[str, Any, bool]]:
    """The limits as comparable values (the manager makes new objects for blueprint limits on each call)."""
    return [(str(limit.limit), limit.scope, limit.override_defaults) for limit in limits]


def test_memo_agrees_with_the_manager_for_every_endpoint(fresh_app) -> None:
    app = fresh_app(rate_limit_read="5 per minute", rate_limit_heavy="2 per minute", rate_limit_write="3 per minute")
    manager = app.extensions[LIMITER_EXTENSION].limit_manager
    own = type(manager)
    assert manager.resolve_limits.__name__ == "memo_resolve_limits"
    kinds = set()
    for rule in app.url_map.iter_rules():
        endpoint = rule.endpoint
        blueprint = endpoint.rpartition(".")[0] or None
        name = get_qualified_name(app.view_functions[endpoint])
        for in_middleware, marked in ((True, False), (True, True), (False, True)):
            expected = own.resolve_limits(manager, app, endpoint, blueprint, name, in_middleware, marked)
            for _ in range(2):  # the first call fills the memo, the second reads it
                got = manager.resolve_limits(app, endpoint, blueprint, name, in_middleware, marked)
                assert [_described(part) for part in got] == [_described(part) for part in expected], endpoint
            kinds.add(tuple(limit.scope for part in expected for limit in part))
        for _ in range(2):
            assert manager.exemption_scope(app, endpoint, blueprint) == own.exemption_scope(manager, app, endpoint,
                                                                                              blueprint), endpoint
    assert len(kinds) > 2  # read, heavy and write endpoints were all among them


def test_limits_still_hold_with_the_memo(fresh_app) -> None:
    client = fresh_app(rate_limit_read="2 per minute", rate_limit_heavy="1 per minute").test_client()
    for url in ("/v1/provinces", "/v1/codes/encode?lat=21.03&lon=105.85"):
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 429, url
    assert client.post("/v1/reverse/batch", json={"points": [[21.03, 105.85]]}).status_code == 200
    assert client.post("/v1/reverse/batch", json={"points": [[21.03, 105.85]]}).status_code == 429
    assert client.get("/healthz").status_code == 200


def test_memo_leaves_an_unknown_limiter_alone() -> None:
    class NoManager:
        pass

    assert memoize_limit_resolution(NoManager()) is False
