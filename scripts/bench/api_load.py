"""HTTP load benchmark of the service: gunicorn on 127.0.0.1 driven by wrk, on the four hot endpoints.

What it does, all on loopback and bounded in time:

1. makes realistic inputs, seeded: ``--points`` points inside real communes drawn in proportion to population
   (5 % at sea or abroad, as ``scripts/bench/points.py`` draws them) and as many addresses written the way people
   write them (2025 and legacy forms, every variant of ``vpostcode.address_variants``: no diacritics,
   abbreviations, typos, house and street...); each becomes one request line in a file;
2. starts gunicorn with ``api/gunicorn.conf.py`` (``--workers``, default one per core; rate limits off unless
   ``--rate-limits``) on a free port with a throw-away SQLite store, and waits for ``/readyz``;
3. for each endpoint, runs wrk (``--threads``/``--connections``, ``--duration`` s) with a Lua script that picks a
   random line per request, after a warm-up, and reads back requests/s, latency percentiles and errors (socket
   errors plus any answer that is not 2xx);
4. runs ``/v1/reverse`` once more at a fixed offered rate (``--rate``, default 1,000 req/s) by pacing each wrk
   connection with Lua's ``delay()`` (wrk has no constant-rate mode; this is an approximation: a slow answer
   delays that connection's next request, so tail latency is under- rather than over-stated);
5. reports the resident memory of each worker (RSS, and PSS, which splits the pages the workers share with the
   preloading master fairly), stops gunicorn, and prints a Markdown table (``--json`` for a file of results),
   with the share of the machine's CPU time the hypervisor gave to other guests during each run (``steal %``,
   from ``/proc/stat``): on a shared host, latency measured while it is high reflects the host, not the service.

Run: ``.venv/bin/python scripts/bench/api_load.py [--duration 15] [--connections 32]``. Needs ``wrk``
(``apt-get install wrk``) and the built ``gis_data/``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

PACED_LUA = r"""
-- Only in the paced script: wrk schedules every request through a timer when delay() exists, which would slow
-- the unpaced runs.
function delay()
  return pace_ms
end
"""
LUA = r"""
-- One request per line of the input file: METHOD <tab> PATH [<tab> JSON BODY]; a random line per request.
local lines = {}
local pace_ms = tonumber(os.getenv("VPOSTCODE_PACE_MS") or "0")
local file_name = os.getenv("VPOSTCODE_REQUESTS")

function setup(thread)
  thread:set("id", tostring(thread))
end

function init(args)
  -- every request is formatted once, here, so that the client spends its time sending, not building
  for line in io.lines(file_name) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    local headers = nil
    if body == "" then body = nil else headers = {["Content-Type"] = "application/json"} end
    lines[#lines + 1] = wrk.format(method, path, headers, body)
  end
  math.randomseed(os.time() + tonumber(string.sub(tostring(lines), -6), 16))
end

function request()
  return lines[math.random(#lines)]
end

function done(summary, latency, requests)
  local out = string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max, latency.mean)
  io.write("VPOSTCODE_RESULT " .. out .. "\n")
end
"""


# ------------------------------------------------------------------------------------------------ inputs


def make_inputs(n: int, seed: int) -> dict[str, list[str]]:
    """Request lines (``METHOD\\tPATH[\\tBODY]``) per endpoint, from real points and realistic addresses."""
    from points import sample_points

    from vpostcode.address_variants import VARIANTS, commune_cases, legacy_cases, render_variant
    from vpostcode.gazetteer import get_gazetteer

    gazetteer = get_gazetteer()
    communes = gazetteer.communes
    lats, lons, _rows = sample_points(communes.geometry.to_numpy(), communes["population"].to_numpy(float), n,
                                      seed=seed)
    rng = random.Random(seed)
    cases = commune_cases(gazetteer) + legacy_cases(gazetteer)
    addresses: list[str] = []
    while len(addresses) < n:
        case = rng.choice(cases)
        variant = render_variant(case, rng.choice(VARIANTS), seed=rng.randrange(1 << 30))
        if variant is not None:
            addresses.append(variant.text)
    from vpostcode import codec

    reverse = [f"GET\t/v1/reverse?lat={lat:.6f}&lon={lon:.6f}" for lat, lon in zip(lats, lons)]
    # people encode where they are; points outside the code's domain would be (correct) 422 answers, not load
    encode = [f"GET\t/v1/codes/encode?lat={lat:.6f}&lon={lon:.6f}" for lat, lon in zip(lats, lons)
              if codec.SOUTH <= lat < codec.NORTH and codec.WEST <= lon < codec.EAST]
    geocode = [f"GET\t/v1/geocode?{urlencode({'q': text, 'limit': 5}, quote_via=quote)}" for text in addresses]
    validate = ["POST\t/v1/validate\t" + json.dumps({"address": text}, ensure_ascii=False) for text in addresses]
    return {"/v1/reverse": reverse, "/v1/codes/encode": encode, "/v1/geocode": geocode, "/v1/validate": validate}


# ------------------------------------------------------------------------------------------------ server


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def gunicorn(port: int, workers: int, threads: int, rate_limits: bool, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn with the production settings on 127.0.0.1:``port``; stopped (by its pid) on exit."""
    folder = Path(tempfile.mkdtemp(prefix="vpostcode-bench-"))
    env = {**os.environ, "VPOSTCODE_BIND": f"127.0.0.1:{port}", "VPOSTCODE_WORKERS": str(workers),
           "VPOSTCODE_THREADS": str(threads), "VPOSTCODE_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}",
           "VPOSTCODE_RATE_LIMITS_ENABLED": "true" if rate_limits else "false",
           "VPOSTCODE_RATE_LIMIT_READ": "1000000 per minute", "VPOSTCODE_PRELOAD_COVERAGE": "false"}
    with log.open("wb") as out:
        process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "api/gunicorn.conf.py"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", process, timeout=180)
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
            shutil.rmtree(folder, ignore_errors=True)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll ``/readyz`` until it answers 200 (the data is loaded in the master before the workers fork)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the service was not ready after {timeout:.0f} s")


def machine_ticks() -> tuple[int, int]:
    """(all CPU time, stolen CPU time) of the machine so far, in clock ticks (0, 0 where /proc/stat is missing).

    On a virtual machine, time the hypervisor gives to other guests ("steal") is time this run could not use:
    latency measured while it is high says more about the host than about the service.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    steal = fields[7] if len(fields) > 7 else 0
    return sum(fields[:8]), steal


def server_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system, s) used so far by the gunicorn master and its workers."""
    import psutil

    master = psutil.Process(master_pid)
    total = 0.0
    for process in (master, *master.children()):
        times = process.cpu_times()
        total += times.user + times.system
    return total


def worker_memory(master_pid: int) -> list[dict[str, float]]:
    """RSS and PSS (MB) of each gunicorn worker (PSS counts pages shared with the master and siblings fairly)."""
    import psutil

    out = []
    for child in psutil.Process(master_pid).children():
        info = child.memory_full_info()
        out.append({"pid": child.pid, "rss_mb": round(info.rss / 2**20, 1), "pss_mb": round(info.pss / 2**20, 1),
                    "uss_mb": round(info.uss / 2**20, 1)})
    return out


# ------------------------------------------------------------------------------------------------ wrk


def run_wrk(base: str, requests_file: Path, script: Path, threads: int, connections: int, seconds: int,
            pace_ms: int = 0, server_pid: int | None = None) -> dict[str, Any]:
    """One wrk run; its Lua ``done`` hook's numbers (latencies in µs), and the server's CPU per request.

    CPU per request (the server's user + system time over the requests answered) hardly depends on what else the
    machine runs, unlike requests/s: ``2000 / cpu_ms`` is what two cores would serve with nothing else to do.
    """
    cpu_before = server_cpu_seconds(server_pid) if server_pid else 0.0
    ticks_before, steal_before = machine_ticks()
    env = {**os.environ, "VPOSTCODE_REQUESTS": str(requests_file), "VPOSTCODE_PACE_MS": str(pace_ms)}
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
               base]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    for line in completed.stdout.splitlines():
        if line.startswith("VPOSTCODE_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("VPOSTCODE_RESULT "))
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
            if server_pid:
                used = server_cpu_seconds(server_pid) - cpu_before
                result["cpu_ms_per_request"] = 1000.0 * used / max(result["requests"], 1)
            ticks_after, steal_after = machine_ticks()
            result["steal_pct"] = 100.0 * (steal_after - steal_before) / max(ticks_after - ticks_before, 1)
            return result
    raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")


def table(rows: list[dict[str, Any]], memory: list[dict[str, float]]) -> str:
    """The Markdown report."""
    lines = ["| endpoint | mode | connections | req/s | p50 ms | p90 ms | p99 ms | errors | server CPU ms/req "
             "| steal % |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        cpu = row.get("cpu_ms_per_request")
        lines.append(f"| `{row['endpoint']}` | {row['mode']} | {row['connections']} | {row['rps']:,.0f} | "
                     f"{row['p50_us'] / 1000:.2f} | {row['p90_us'] / 1000:.2f} | {row['p99_us'] / 1000:.2f} | "
                     f"{row['errors']} | {'' if cpu is None else f'{cpu:.3f}'} | {row.get('steal_pct', 0.0):.1f} |")
    lines.append("")
    lines.append("| worker pid | RSS MB | PSS MB | USS MB |")
    lines.append("|---|---:|---:|---:|")
    for worker in memory:
        lines.append(f"| {worker['pid']} | {worker['rss_mb']:,.0f} | {worker['pss_mb']:,.0f} | "
                     f"{worker['uss_mb']:,.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run every measurement, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run [15]")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of warm-up before each endpoint [10]")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections [32]")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads [1: leave the cores to the server]")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers [cores]")
    parser.add_argument("--server-threads", type=int, default=8, help="threads per gunicorn worker [8]")
    parser.add_argument("--rate", type=int, default=1000, help="offered req/s of the paced /v1/reverse run [1000]")
    parser.add_argument("--points", type=int, default=20_000, help="distinct inputs per endpoint [20000]")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--rate-limits", action="store_true", help="keep Flask-Limiter on (a huge read limit)")
    parser.add_argument("--endpoints", default="/v1/reverse,/v1/codes/encode,/v1/geocode,/v1/validate")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="vpostcode-wrk-"))
    script = work / "requests.lua"
    script.write_text(LUA, encoding="utf-8")
    paced_script = work / "paced.lua"
    paced_script.write_text(LUA + PACED_LUA, encoding="utf-8")
    print(f"making {args.points:,} inputs per endpoint…", file=sys.stderr)
    inputs = make_inputs(args.points, args.seed)
    files = {}
    for endpoint, lines in inputs.items():
        files[endpoint] = work / (endpoint.strip("/").replace("/", "_") + ".txt")
        files[endpoint].write_text("\n".join(lines) + "\n", encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    rows: list[dict[str, Any]] = []
    print(f"starting gunicorn ({args.workers} workers x {args.server_threads} threads) on {base}…", file=sys.stderr)
    with gunicorn(port, args.workers, args.server_threads, args.rate_limits, work / "gunicorn.log") as process:
        for endpoint in args.endpoints.split(","):
            run_wrk(base, files[endpoint], script, args.threads, args.connections, args.warmup)
            result = run_wrk(base, files[endpoint], script, args.threads, args.connections, args.duration,
                             server_pid=process.pid)
            rows.append({"endpoint": endpoint, "mode": "max", "connections": args.connections, **result})
            print(f"  {endpoint}: {result['rps']:,.0f} req/s, p99 {result['p99_us'] / 1000:.1f} ms, "
                  f"{result['errors']} errors", file=sys.stderr)
        # ~args.rate req/s: each of C connections waits pace_ms after each answer, so the rate is about
        # C / (pace + latency); the pace is calibrated on short runs until the rate is within 5 % of the target
        paced_connections = 32
        pace_ms = max(1, round(paced_connections * 1000 / args.rate))
        for _ in range(4):
            probe = run_wrk(base, files["/v1/reverse"], paced_script, 1, paced_connections, 3, pace_ms)
            if abs(probe["rps"] - args.rate) <= 0.05 * args.rate:
                break
            pace_ms = max(1, round(pace_ms * probe["rps"] / args.rate))
        result = run_wrk(base, files["/v1/reverse"], paced_script, 1, paced_connections, args.duration, pace_ms,
                         server_pid=process.pid)
        result["pace_ms"] = pace_ms
        rows.append({"endpoint": "/v1/reverse", "mode": f"paced ~{args.rate}/s", "connections": paced_connections,
                     **result})
        memory = worker_memory(process.pid)
    report = table(rows, memory)
    print(report)
    if args.json:
        args.json.write_text(json.dumps({"runs": rows, "workers": memory, "args": vars(args) | {"json": None}},
                                        indent=2, default=str), encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
