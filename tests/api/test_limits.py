"""Rate limits: reads per IP, batches and computations per IP, writes per key; 429 with Retry-After; Redis."""

from __future__ import annotations

import secrets

import pytest
import redis

from tests.api.conftest import HANOI, bearer, problem
from tests.conftest import in_ci

REDIS_URL = "redis://127.0.0.1:6379/15"
URL = f"/v1/reverse?lat={HANOI[0]}&lon={HANOI[1]}"


def _exhaust(client, url: str, allowed: int, **kwargs) -> None:
    for _ in range(allowed):
        response = client.get(url, **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)


def test_read_limit_per_ip_is_429_with_retry_after(fresh_app) -> None:
    client = fresh_app(rate_limit_read="3 per minute").test_client()
    _exhaust(client, URL, 3)
    response = client.get(URL)
    body = problem(response, 429, "rate-limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60 and body["retry_after"] >= 1
    assert response.headers["X-RateLimit-Limit"] == "3"
    other = client.get(URL, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200  # another client has its own budget
    assert client.get("/healthz").status_code == 200  # operations are never limited
    assert client.get("/readyz").status_code == 200


def test_heavy_limit_applies_to_batches(fresh_app) -> None:
    client = fresh_app(rate_limit_heavy="1 per minute").test_client()
    assert client.post("/v1/reverse/batch", json={"points": [list(HANOI)]}).status_code == 200
    problem(client.post("/v1/reverse/batch", json={"points": [list(HANOI)]}), 429, "rate-limited")
    assert client.get(URL).status_code == 200  # single reads keep their own, larger budget


def test_write_limit_is_per_key(fresh_app, store) -> None:
    client = fresh_app(rate_limit_write="1 per minute").test_client()
    _, first = store.create_key("limit-a", ["points:write"])
    _, second = store.create_key("limit-b", ["points:write"])
    assert client.delete("/v1/postal-points/987654321", headers=bearer(first)).status_code == 404
    problem(client.delete("/v1/postal-points/987654321", headers=bearer(first)), 429, "rate-limited")
    assert client.delete("/v1/postal-points/987654321", headers=bearer(second)).status_code == 404


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if in_ci():
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {error}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


def test_redis_counters_are_shared_by_workers(fresh_app, redis_url: str) -> None:
    prefix = f"vpostcode-test-{secrets.token_hex(4)}"
    settings = {"redis_url": redis_url, "rate_limit_read": "3 per minute", "rate_limit_prefix": prefix}
    worker_a, worker_b = fresh_app(**settings).test_client(), fresh_app(**settings).test_client()
    assert worker_a.get(URL).status_code == 200
    assert worker_b.get(URL).status_code == 200
    assert worker_a.get(URL).status_code == 200
    problem(worker_b.get(URL), 429, "rate-limited")  # the fourth request, whichever worker takes it
    keys = redis.Redis.from_url(redis_url).keys(f"*{prefix}*")
    assert keys, "the counters live in Redis"
    redis.Redis.from_url(redis_url).delete(*keys)


def test_an_unreachable_redis_does_not_take_the_service_down(fresh_app) -> None:
    client = fresh_app(redis_url="redis://127.0.0.1:1/0", rate_limit_read="100 per minute").test_client()
    assert client.get(URL).status_code == 200
