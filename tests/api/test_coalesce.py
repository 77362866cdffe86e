"""The coalescer: batched answers equal the scalar library call, under real concurrency, errors included."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from api.coalesce import ReverseCoalescer
from vpostcode.errors import InvalidCoordinateError
from vpostcode.reverse_geocode import get_reverse_geocoder


@pytest.fixture(scope="module")
def geocoder(gazetteer):
    return get_reverse_geocoder()


def test_rows_equal_the_scalar_call(geocoder) -> None:
    rng = np.random.default_rng(11)
    lats = np.concatenate([rng.uniform(8, 23.5, 400), rng.uniform(20.95, 21.1, 100), [21.0336, 50.0, 16.5, 10.0]])
    lons = np.concatenate([rng.uniform(102, 117, 400), rng.uniform(105.75, 105.9, 100), [105.8144, 0.0, 112.3, 109]])
    coalescer = ReverseCoalescer(geocoder.columns)
    for lat, lon in zip(lats.tolist(), lons.tolist()):
        assert coalescer.reverse(lat, lon) == geocoder.reverse(lat, lon).to_dict()


def _hanoi_points(seed: int, n: int) -> list[tuple[float, float]]:
    """``n`` seeded random points around central Hà Nội."""
    rng = np.random.default_rng(seed)
    return list(zip(rng.uniform(20.95, 21.1, n).tolist(), rng.uniform(105.75, 105.9, n).tolist()))


def _reverse_concurrently(coalescer: ReverseCoalescer, points: list[tuple[float, float]]) -> dict[int, dict]:
    """Each point's answer, asked for by its own thread, all at once (so that the coalescer can batch them)."""
    results: dict[int, dict] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, coalescer.reverse(*points[i])))
               for i in range(len(points))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_concurrent_callers_are_batched_and_each_gets_its_own_row(geocoder) -> None:
    calls: list[int] = []

    def slow_columns(lats, lons):
        calls.append(len(lats))
        time.sleep(0.02)  # let the other callers queue up behind the running batch
        return geocoder.columns(lats, lons)

    coalescer = ReverseCoalescer(slow_columns)
    points = _hanoi_points(seed=3, n=64)
    results = _reverse_concurrently(coalescer, points)
    assert len(results) == len(points)
    for i, (lat, lon) in enumerate(points):
        assert results[i] == geocoder.reverse(lat, lon).to_dict()
    assert sum(calls) == len(points) and max(calls) > 1 and len(calls) < len(points)


def test_a_failing_batch_fails_every_waiter_and_the_next_one_works(geocoder) -> None:
    state = {"fail": True}

    def flaky(lats, lons):
        if state["fail"]:
            raise RuntimeError("boom")
        return geocoder.columns(lats, lons)

    coalescer = ReverseCoalescer(flaky)
    with pytest.raises(RuntimeError):
        coalescer.reverse(21.0, 105.8)
    state["fail"] = False
    assert coalescer.reverse(21.0336, 105.8144)["commune_code"] == "00008"


def test_invalid_coordinates_raise_the_library_error(geocoder) -> None:
    coalescer = ReverseCoalescer(geocoder.columns)
    with pytest.raises(InvalidCoordinateError):
        coalescer.reverse(float("nan"), 105.0)


def test_a_lone_request_takes_the_scalar_call_and_a_crowd_the_batch(geocoder) -> None:
    used: list[str] = []

    def columns(lats, lons):
        used.append(f"columns:{len(lats)}")
        time.sleep(0.02)  # the others queue up meanwhile
        return geocoder.columns(lats, lons)

    def single(lat, lon):
        used.append("single")
        time.sleep(0.02)
        return geocoder.reverse(lat, lon).to_dict()

    coalescer = ReverseCoalescer(columns, single=single)
    assert coalescer.reverse(21.0336, 105.8144) == geocoder.reverse(21.0336, 105.8144).to_dict()
    assert used == ["single"]
    points = _hanoi_points(seed=5, n=32)
    results = _reverse_concurrently(coalescer, points)
    assert all(results[i] == geocoder.reverse(*points[i]).to_dict() for i in range(len(points)))
    assert any(call.startswith("columns:") for call in used)


def test_the_scalar_path_raises_the_library_error(geocoder) -> None:
    coalescer = ReverseCoalescer(geocoder.columns, single=lambda lat, lon: geocoder.reverse(lat, lon).to_dict())
    with pytest.raises(InvalidCoordinateError):
        coalescer.reverse(float("nan"), 105.0)
