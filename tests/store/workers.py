"""Writers for the concurrency tests, in a module of their own so that spawned processes import only the store.

Every record is synthetic: what a writer writes for a key depends only on the key and the round, so the final
contents of the table are known whatever order the writers run in.
"""

from __future__ import annotations

import random
from typing import Any

from vpostcode.store import PointRecord, open_store

ROUNDS = 3
WORKERS = 4
KEYS_PER_WORKER = 60
STRIDE = 30
"""Worker ``w`` writes keys ``[w*STRIDE, w*STRIDE + KEYS_PER_WORKER)``: neighbours share half their keys."""
DISTINCT_KEYS = (WORKERS - 1) * STRIDE + KEYS_PER_WORKER


def expected(key: int, round_no: int) -> PointRecord:
    """The synthetic record every writer writes for ``key`` in round ``round_no``."""
    return PointRecord(
        source="synthetic", source_key=f"K{key:04d}", kind="post_office", name=f"Synthetic {key} r{round_no}",
        lat=20.0 + key * 1e-3, lon=105.0 + round_no * 1e-4, staffed=bool((key + round_no) % 2),
    )


def concurrent_writer(url: str, worker: int, barrier: Any) -> list[int]:
    """Open a store of one's own, then upsert this worker's keys (shuffled) in each round; the insert counts."""
    inserted = []
    with open_store(url) as store:
        for round_no in range(ROUNDS):
            keys = list(range(worker * STRIDE, worker * STRIDE + KEYS_PER_WORKER))
            random.Random(worker * 100 + round_no).shuffle(keys)
            barrier.wait(timeout=60)
            report = store.upsert_points([expected(k, round_no) for k in keys], chunk_size=16)
            if report.total != KEYS_PER_WORKER:
                raise AssertionError(f"worker {worker} round {round_no}: {report}")
            inserted.append(report.inserted)
    return inserted


def process_writer(url: str, worker: int, barrier: Any, results: Any) -> None:
    """Process entry point: run :func:`concurrent_writer` and put (worker, counts) or (worker, error) on the queue."""
    try:
        results.put((worker, concurrent_writer(url, worker, barrier)))
    except BaseException as exc:
        barrier.abort()
        results.put((worker, f"{type(exc).__name__}: {exc}"))
        raise
