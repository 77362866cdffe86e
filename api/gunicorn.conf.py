"""gunicorn settings for production: ``gunicorn -c api/gunicorn.conf.py``.

* ``preload_app``: the app (and so the gazetteer, the spatial index, the address index and the coverage model,
  about 1.4 GB) is built once in the master; the workers fork from it and share those pages copy-on-write.
* Workers: one per core (``VPOSTCODE_WORKERS`` overrides). Each is a ``gthread`` worker with 8 threads, so
  that keep-alive connections and a slow request (a batch, a coverage map) do not hold a whole process, and so
  that concurrent ``/v1/reverse`` requests can be answered by one vectorised call (``api.coalesce``); the work is
  CPU-bound, so more processes than cores would only contend.
* ``VPOSTCODE_BIND`` (default ``127.0.0.1:8000``), ``VPOSTCODE_THREADS`` (8), ``VPOSTCODE_TIMEOUT`` (120 s, for
  the largest batches and site suggestions), ``VPOSTCODE_ACCESS_LOG`` (``-`` for stdout; off by default).
"""

from __future__ import annotations

import gc
import os
from typing import Any

wsgi_app = "api.wsgi:app"
bind = os.environ.get("VPOSTCODE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("VPOSTCODE_WORKERS") or os.cpu_count() or 2)
worker_class = os.environ.get("VPOSTCODE_WORKER_CLASS", "gthread")
threads = int(os.environ.get("VPOSTCODE_THREADS", "8"))
preload_app = True
timeout = int(os.environ.get("VPOSTCODE_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
backlog = 2048
# Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads new connections evenly over the
# workers; with one shared socket, whichever worker is idle when a burst of keep-alive connections arrives takes
# them all (measured: all 32 of wrk's connections on one worker, half the throughput).
reuse_port = os.environ.get("VPOSTCODE_REUSE_PORT", "true").lower() in ("1", "true", "yes")
max_requests = int(os.environ.get("VPOSTCODE_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("VPOSTCODE_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("VPOSTCODE_LOG_LEVEL", "info")
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
forwarded_allow_ips = os.environ.get("VPOSTCODE_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "vpostcode"
# gunicorn >= 25 opens a control socket under $HOME by default: not used here, and $HOME may be read-only (Docker).
control_socket_disable = True

# Built once in the master with everything else, rather than by each worker on its first coverage request.
os.environ.setdefault("VPOSTCODE_PRELOAD_COVERAGE", "true")


def when_ready(server: Any) -> None:
    """Say where the service and its map are, once every worker can take requests."""
    host, _, port = bind.rpartition(":")
    base = f"http://{host or '127.0.0.1'}:{port}"
    server.log.info("vpostcode is serving on %s", base)
    print(f"vpostcode: API {base}/docs  map {base}/map", flush=True)


def pre_fork(server: Any, worker: Any) -> None:
    """Move everything the master loaded into the collector's permanent generation before each fork.

    The preloaded data is about 260,000 container objects that live as long as the process. Left to the
    collector, each full collection in a worker walks all of them (about 0.1-0.2 s with the GIL held: the p99 of
    every request in flight) and writes to their headers, which un-shares the copy-on-write pages. Frozen, they
    are never scanned again. What the worker creates afterwards is collected as usual.
    """
    gc.collect()
    gc.freeze()
