"""An in-process counter store for Flask-Limiter's fixed windows, registered as ``vpostcode-memory://``.

Why not ``memory://``: the ``limits`` package's ``MemoryStorage`` expires keys with a ``threading.Timer`` that it
starts anew 10 ms after the previous one ran, so a busy worker spawns about a hundred threads a second, and every
increment takes two locks (measured: Flask-Limiter added 0.47 ms of CPU to each request, about 40 %). Here a key
is a (count, window end) pair under one lock, expired lazily when read; a sweep every ``SWEEP_EVERY`` increments
bounds the memory. Only the fixed-window strategy needs this much; the app falls back to ``memory://`` for the
others, and uses Redis whenever ``redis_url`` is set (counters shared by every worker).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Final

from limits.storage import Storage

SWEEP_EVERY: Final = 10_000


class FixedWindowMemoryStorage(Storage):
    """Counters with an expiry, for ``FixedWindowRateLimiter`` (one lock, no timer thread)."""

    STORAGE_SCHEME: list[str] | None = ["vpostcode-memory"]  # noqa: RUF012  (typed as on the base class)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, list[float]] = {}  # key -> [count, window end (epoch seconds)]
        self._since_sweep = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """Nothing here talks to a server, so nothing is a storage failure."""
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to the key's count, starting a new window of ``expiry`` seconds if it has none."""
        now = time.time()
        with self._lock:
            entry = self._counters.get(key)
            if entry is None or entry[1] <= now:
                entry = [0.0, now + expiry]
                self._counters[key] = entry
            entry[0] += amount
            self._since_sweep += 1
            if self._since_sweep >= SWEEP_EVERY:
                self._sweep(now)
            return int(entry[0])

    def _sweep(self, now: float) -> None:
        """Drop every expired key (called with the lock held)."""
        self._since_sweep = 0
        for key in [key for key, entry in self._counters.items() if entry[1] <= now]:
            del self._counters[key]

    def get(self, key: str) -> int:
        """The key's count in its current window (0 when it has none)."""
        entry = self._counters.get(key)
        return int(entry[0]) if entry is not None and entry[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (now, when it has none)."""
        entry = self._counters.get(key)
        now = time.time()
        return entry[1] if entry is not None and entry[1] > now else now

    def check(self) -> bool:
        """Always healthy: it is this process's memory."""
        return True

    def reset(self) -> int | None:
        """Forget every counter; how many there were."""
        with self._lock:
            count = len(self._counters)
            self._counters.clear()
            return count

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        with self._lock:
            self._counters.pop(key, None)
