"""The in-process fixed-window counter store (``vpostcode-memory://``) that the app uses when there is no Redis."""

from __future__ import annotations

import threading

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api import limits_storage
from api.errors import LIMITER_EXTENSION
from api.limits_storage import FixedWindowMemoryStorage
from tests.api.conftest import HANOI, problem


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A settable ``time.time`` for the storage module (one-element list: the current epoch seconds)."""
    now = [1_000_000.0]
    monkeypatch.setattr(limits_storage.time, "time", lambda: now[0])
    return now


def test_the_scheme_is_registered_with_limits() -> None:
    assert isinstance(storage_from_string("vpostcode-memory://"), FixedWindowMemoryStorage)


def test_counts_within_a_window_then_starts_afresh(clock: list[float]) -> None:
    storage = FixedWindowMemoryStorage()
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") == clock[0] + 60
    clock[0] += 59.9
    assert storage.incr("k", 60) == 4  # same window
    clock[0] += 0.2
    assert storage.get("k") == 0  # the window ended
    assert storage.incr("k", 60) == 1 and storage.get_expiry("k") == clock[0] + 60


def test_keys_are_independent_and_can_be_cleared(clock: list[float]) -> None:
    storage = FixedWindowMemoryStorage()
    storage.incr("a", 60, amount=5)
    storage.incr("b", 60)
    storage.clear("a")
    assert storage.get("a") == 0 and storage.get("b") == 1
    assert storage.reset() == 1 and storage.get("b") == 0
    assert storage.check()


def test_expired_keys_are_swept_so_memory_stays_bounded(clock: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits_storage, "SWEEP_EVERY", 10)
    storage = FixedWindowMemoryStorage()
    for index in range(9):
        storage.incr(f"old-{index}", 1)
    clock[0] += 2
    storage.incr("new", 60)  # the tenth increment sweeps
    assert set(storage._counters) == {"new"}


def test_concurrent_increments_are_not_lost(clock: list[float]) -> None:
    storage = FixedWindowMemoryStorage()

    def hammer() -> None:
        for _ in range(2_000):
            storage.incr("shared", 60)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storage.get("shared") == 8_000


def test_limits_fixed_window_strategy_runs_on_it(clock: list[float]) -> None:
    limiter = FixedWindowRateLimiter(FixedWindowMemoryStorage())
    item = parse("2 per minute")
    assert limiter.hit(item, "ip") and limiter.hit(item, "ip") and not limiter.hit(item, "ip")
    stats = limiter.get_window_stats(item, "ip")
    assert stats.remaining == 0 and stats.reset_time == clock[0] + 60
    clock[0] += 61
    assert limiter.hit(item, "ip")


@pytest.mark.parametrize(("strategy", "storage_type"), [("fixed-window", "FixedWindowMemoryStorage"),
                                                         ("moving-window", "MemoryStorage")])
def test_the_app_picks_the_store_by_strategy(fresh_app, strategy: str, storage_type: str) -> None:
    app = fresh_app(rate_limit_strategy=strategy, rate_limit_read="2 per minute")
    limiter = app.extensions[LIMITER_EXTENSION]
    assert type(limiter._storage).__name__ == storage_type
    client = app.test_client()
    url = f"/v1/reverse?lat={HANOI[0]}&lon={HANOI[1]}"
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    problem(client.get(url), 429, "rate-limited")
