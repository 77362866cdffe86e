"""What one worker process holds: the gazetteer and its indexes, the store, and cached coverage answers.

The data (gazetteer, reverse-geocoding index, address index; about 10 s and 1 GB) is loaded once per process, by
the library's own process-wide caches, under a lock so that concurrent first requests never build it twice. The
app loads it when it is created (``preload``, the default; under gunicorn ``--preload`` that happens in the master
before it forks, so workers share the pages) or on the first request that needs it.

The store is opened lazily, per process and after any fork (a connection pool must never cross a fork), and a
failed open is not cached: the next request tries again, so a database that comes back is picked up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from api.coalesce import ReverseCoalescer
from vpostcode.config import DATA_DIR_ENV
from vpostcode.errors import DataError
from vpostcode.store import Store, open_store

log = logging.getLogger("api")
T = TypeVar("T")


class Resources:
    """The per-process state of the service; one instance per app."""

    def __init__(self, data_dir: str | None, database_url: str | None, cache_size: int) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self._data_lock = threading.Lock()
        self._store_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._loaded = False
        self._loading_error: DataError | None = None
        self._background: threading.Thread | None = None
        self._store: Store | None = None
        self._store_pid: int | None = None
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_size = cache_size
        self.load_seconds: float | None = None
        self._coalescer: ReverseCoalescer | None = None
        self.index_lock = threading.RLock()
        """Held around every use of the spatial index (see ``api.context.uses_spatial_index``)."""

    # ------------------------------------------------------------------------------------------------ data

    @property
    def loaded(self) -> bool:
        """True once the gazetteer and the indexes are in memory."""
        return self._loaded

    def load(self, coverage: bool = False) -> None:
        """Load the data now (idempotent, thread-safe); ``coverage`` also builds the coverage model.

        Raises the library's ``DataError`` (``data-not-built``...) when ``gis_data/`` is missing or stale.
        """
        if self._loaded and not coverage:
            return
        with self._data_lock:
            if self.data_dir:
                os.environ[DATA_DIR_ENV] = self.data_dir  # the library resolves its data dir from here
            started = time.perf_counter()
            from vpostcode.address import address_index
            from vpostcode.gazetteer import get_gazetteer
            from vpostcode.reverse_geocode import get_reverse_geocoder

            try:
                get_gazetteer()
                get_reverse_geocoder()
                address_index()
                if coverage:
                    from vpostcode.coverage import get_model

                    get_model()
            except DataError as error:
                self._loading_error = error
                raise
            if not self._loaded:
                self.load_seconds = round(time.perf_counter() - started, 2)
                log.info("data loaded in %.1f s", self.load_seconds)
            self._loaded = True
            self._loading_error = None

    def ensure_loaded(self) -> None:
        """Block until the data is loaded (the first request of a lazily-loading worker pays for it)."""
        if not self._loaded:
            self.load()

    def load_in_background(self) -> None:
        """Start loading in a thread (used by ``/readyz`` of a lazily-loading worker); returns at once."""
        if self._loaded or (self._background is not None and self._background.is_alive()):
            return

        def run() -> None:
            """Load, logging (not raising) a failure: readiness reports it."""
            try:
                self.load()
            except DataError:
                log.exception("the data could not be loaded")

        self._background = threading.Thread(target=run, name="vpostcode-load", daemon=True)
        self._background.start()

    @property
    def loading_error(self) -> DataError | None:
        """Why the last load failed, if it did."""
        return self._loading_error

    def coalescer(self) -> ReverseCoalescer:
        """The process's batcher of single-point reverse geocodes (made on first use, after any fork)."""
        found = self._coalescer
        if found is None:
            from vpostcode.reverse_geocode import get_reverse_geocoder

            geocoder = get_reverse_geocoder()
            lock = self.index_lock

            def locked_columns(lats: Any, lons: Any) -> Any:
                with lock:
                    return geocoder.columns(lats, lons)

            def locked_single(lat: float, lon: float) -> dict[str, Any]:
                with lock:
                    return geocoder.reverse(lat, lon).to_dict()

            with self._data_lock:
                if self._coalescer is None:
                    self._coalescer = ReverseCoalescer(locked_columns, single=locked_single)
                found = self._coalescer
        return found

    # ------------------------------------------------------------------------------------------------ store

    def store(self) -> Store:
        """The store of this process, opened (and migrated) on first use; DatabaseUnavailableError when down."""
        pid = os.getpid()
        store = self._store
        if store is not None and self._store_pid == pid:
            return store
        with self._store_lock:
            if self._store is None or self._store_pid != pid:
                # pyproj's PROJ must be loaded before SpatiaLite's (the other order corrupts the heap at exit).
                import pyproj  # noqa: F401

                self._store = open_store(self.database_url)
                self._store_pid = pid
            return self._store

    def close(self) -> None:
        """Close the store's connections (at shutdown, and in tests)."""
        with self._store_lock:
            if self._store is not None and self._store_pid == os.getpid():
                self._store.close()
            self._store = None

    # ------------------------------------------------------------------------------------------------ cache

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()``, remembered under ``key`` (least recently used answers are dropped first).

        Two requests for the same missing key may both compute it; both answers are equal, so that is harmless
        and cheaper than holding a lock across a multi-second computation.
        """
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                value: T = self._cache[key]
                return value
        value = compute()
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value
