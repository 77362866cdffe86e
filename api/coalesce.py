"""Coalescing concurrent single-point reverse geocodes of one worker into one vectorised library call.

Why: one ``ReverseGeocoder.reverse`` costs about 0.45 ms, nearly all of it fixed per call (NumPy and GEOS
overhead on one-element arrays), while ``ReverseGeocoder.columns`` on 8 points costs about 0.8 ms in all (0.1 ms
each). Under load a worker's threads hold several ``GET /v1/reverse`` requests at once; answering them together
is what lets two cores serve thousands of requests a second.

How: the first request to arrive finds no batch running and becomes the *leader*: it takes every pending point
(its own included), makes one ``columns`` call and hands each waiting request its row. Requests that arrive while
that call runs queue up; when it finishes, the leader passes the lead to the oldest of them and returns with its
own answer, so no request ever waits for more than the batch before its own. A request that finds no batch
running pays nothing extra: alone, it is a batch of one. Under load (the previous batch held more than one
request) the leader first waits half a millisecond, releasing the GIL, so that the requests other threads are
parsing join its batch: larger batches, less CPU per request, at the price of that half millisecond.

The answers are the library's own columns, field for field what ``ReverseResult.to_dict`` gives
(``tests/api/test_coalesce.py`` checks them against the scalar call on random points at land, sea and borders).
Only valid WGS84 points come here; anything else takes the scalar path, which raises the library's errors.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from vpostcode.errors import InvalidCoordinateError

Columns = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]
Single = Callable[[float, float], dict[str, Any]]

MAX_BATCH: Final = 256
LINGER_S: Final = 0.0005
"""How long a leader waits for company when the previous batch was shared (never when traffic is light)."""
FIELDS: Final = ("lat", "lon", "commune_code", "commune_name", "province_code", "province_name", "postal_code",
                 "address_code", "local_code", "match", "distance_m", "also_in")


class _Job:
    """One waiting request: its point, then its answer (or error), or the lead."""

    __slots__ = ("error", "lat", "lead", "lon", "ready", "result")

    def __init__(self, lat: float, lon: float) -> None:
        self.lat = lat
        self.lon = lon
        self.ready = threading.Event()
        self.lead = False
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None


def _plain(value: Any) -> Any:
    """A NumPy scalar as the plain Python value ``to_dict`` would give."""
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _row(columns: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    """Row ``i`` of the library's columns as ``ReverseResult.to_dict`` writes it."""
    error = columns["error"][i]
    if error is not None:
        raise InvalidCoordinateError(str(error))
    record = {name: _plain(columns[name][i]) for name in FIELDS}
    record["lat"] = float(record["lat"])
    record["lon"] = float(record["lon"])
    distance = record["distance_m"]
    record["distance_m"] = None if distance is None or not math.isfinite(distance) else float(distance)
    record["also_in"] = [str(code) for code in record["also_in"]]
    return record


class ReverseCoalescer:
    """Batches the concurrent ``reverse`` calls of one process (see the module docstring)."""

    def __init__(self, columns: Columns, max_batch: int = MAX_BATCH, linger_s: float = LINGER_S,
                 single: Single | None = None) -> None:
        """``single``, when given, answers a batch of one (the scalar library call: cheaper than ``columns``
        on one point, and the usual case when traffic is light); it must give the same record."""
        self._columns = columns
        self._single = single
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._last_batch = 0
        self._lock = threading.Lock()
        self._pending: list[_Job] = []
        self._running = False
        self.batches = 0
        self.points = 0

    def reverse(self, lat: float, lon: float) -> dict[str, Any]:
        """The place of one WGS84 point, as ``ReverseGeocoder.reverse(lat, lon).to_dict()``."""
        job = _Job(lat, lon)
        with self._lock:
            self._pending.append(job)
            lead = not self._running
            self._running = True
        if lead:
            self._lead()
        else:
            job.ready.wait()
            if job.lead:
                self._lead()
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _lead(self) -> None:
        """Answer one batch of pending jobs, then pass the lead on (or stand down when none is left)."""
        if self._last_batch > 1 and self._linger_s > 0:
            time.sleep(self._linger_s)  # under load only: let the requests being parsed join this batch
        with self._lock:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
        self._last_batch = len(batch)
        try:
            self._answer(batch)
        finally:
            with self._lock:
                if self._pending:
                    successor = self._pending[0]
                    successor.lead = True
                    successor.ready.set()
                else:
                    self._running = False
            for job in batch:
                job.ready.set()

    def _answer(self, batch: list[_Job]) -> None:
        """One library call for the batch; each job gets its row or the error (never left waiting)."""
        if len(batch) == 1 and self._single is not None:
            job = batch[0]
            try:
                job.result = self._single(job.lat, job.lon)
            except BaseException as error:
                job.error = error
            self.batches += 1
            self.points += 1
            return
        lats = np.fromiter((job.lat for job in batch), dtype=np.float64, count=len(batch))
        lons = np.fromiter((job.lon for job in batch), dtype=np.float64, count=len(batch))
        try:
            columns = self._columns(lats, lons)
        except BaseException as error:  # every waiter gets the failure, none hangs
            for job in batch:
                job.error = error
            return
        self.batches += 1
        self.points += len(batch)
        for i, job in enumerate(batch):
            try:
                job.result = _row(columns, i)
            except BaseException as error:
                job.error = error
