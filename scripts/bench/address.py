"""Forward geocoding of typed Vietnamese addresses: vpostcode against ``vietnamadminunits`` (PyPI, 1.0.4).

Runs both on the same addresses, built from the real gazetteer by ``vpostcode.address_variants``: 10,000 new-form
addresses (the 3,321 communes, cycled, as ``"<commune>, <province>"``), 10,000 legacy addresses (a seeded sample of
the 10,040 wards as ``"<ward>, <district>, <province>"``) and 300 Vietnam Post office addresses, each in every
variant (exact, no diacritics, abbreviated, nicknames, no commas, other tone-mark placement, with house and street,
one typo, all mixed). For each system it reports throughput (single thread, CPU time of the calls, the two taking
turns so that a busy machine slows both alike; per form of address, and as CPU time per address per variant, which
is noisier: a group of 300 office addresses takes vpostcode less than one turn) and commune-level accuracy (the
top answer is one of the right 2025 communes: for a legacy ward that the reform split, any of the communes it went
into), overall and per variant; for vpostcode also whether *all* the communes of a split ward come back, and the
p50/p99 latency of ``validate()``.

vietnamadminunits is called as documented: ``parse_address(text)`` (mode FROM_2025) for new-form addresses and
``convert_address(text)`` (63 → 34 provinces) for legacy ones; its ``ward_code`` is its answer.
For a legacy ward that the reform split, ``convert_address`` asks an online geocoder (ArcGIS, through geopy) where
the address lies. Without internet access (as on the benchmark machines) that request fails after its DNS look-up
and the peer answers without it: the run then takes several times its CPU time in wall-clock time, and since
throughput is CPU time, those waits are not counted against it.

Two conditions keep the comparison even:

* Turns are of equal CPU time (``TURN_SECONDS``, 50 ms), not of an equal number of calls. After each switch the
  system whose turn it is runs on caches the other one filled, and pays to refill them. With 200 calls a turn,
  vpostcode's turns would last about 4 ms against the peer's 25 to 120 ms, so it would pay that refill many times
  as often per address (measured on the new-form addresses: vpostcode 31,569 addr/s with 200-call turns against
  43,676 and 45,838 with 50 ms turns, the peer 4,591 against 4,635 and 4,811).
* Both systems' data (vpostcode's gazetteer and address index, the peer's tables, loaded by a warm-up call) and the
  cases are moved to the garbage collector's permanent generation (``gc.freeze()``) before timing, as the API
  server does after loading its data (``api/gunicorn.conf.py``). Otherwise each full collection walks all of it
  (about 0.1 s), charged to whichever system allocates at that moment: nearly always vpostcode, whose calls
  allocate the containers that trigger collections (224 of the 243 collections in timed calls, in one measured
  run). ``--no-freeze`` measures without it.

``--calibrate`` also writes ``vpostcode/data/confidence.json``: the measured precision of vpostcode's top candidate
per match type (fuzzy: per score band) and number of candidates, which ``geocode`` reports as ``confidence``.

    .venv/bin/python scripts/bench/address.py [--n 10000] [--variants exact,typo] [--forms 2025,legacy,office]
        [--calibrate] [--no-peer] [--no-freeze]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpostcode.address import address_index, geocode, validate
from vpostcode.address_variants import VARIANTS, AddressCase, commune_cases, legacy_cases, office_cases, with_variants
from vpostcode.gazetteer import Gazetteer, get_gazetteer

BLOCK = 50  # calls per timed block
TURN_SECONDS = 0.05  # CPU time each system runs before the other takes its turn
CONFIDENCE_PATH = Path(__file__).resolve().parents[2] / "vpostcode" / "data" / "confidence.json"


@dataclass
class Tally:
    """Counts and CPU seconds of one system on one group of cases."""

    n: int = 0
    correct: int = 0
    complete: int = 0  # vpostcode: every right answer among the candidates (split wards)
    seconds: float = 0.0

    def add(self, other: Tally) -> None:
        self.n += other.n
        self.correct += other.correct
        self.complete += other.complete
        self.seconds += other.seconds


@dataclass
class Calibration:
    """Top-candidate hits per (match type or fuzzy band, candidate-count bucket)."""

    hits: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    centroids: dict[str, str] = field(default_factory=dict)  # legacy ward → commune holding its centroid

    def add(self, key: str, count: int, hit: bool) -> None:
        bucket = str(count) if count < 3 else "3+"
        cell = self.hits[(key, bucket)]
        cell[0] += int(hit)
        cell[1] += 1

    def table(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for (key, bucket), (hit, n) in sorted(self.hits.items()):
            # Laplace-smoothed, so that a small cell never claims certainty it has not earned
            out[key][bucket] = round((hit + 0.5) / (n + 1.0), 4)
        return dict(out)

    def counts(self) -> dict[str, dict[str, list[int]]]:
        out: dict[str, dict[str, list[int]]] = defaultdict(dict)
        for (key, bucket), cell in sorted(self.hits.items()):
            out[key][bucket] = list(cell)
        return dict(out)


def _fuzzy_band(score: float) -> str:
    for floor in (95, 90, 85):
        if score >= floor:
            return f"fuzzy_{floor}"
    return "fuzzy_80"


def centroid_communes(gazetteer: Gazetteer) -> dict[str, str]:
    """Legacy ward code → the 2025 commune holding the ward's centroid (reverse geocoding; empty if unavailable).

    For a ward the reform split, "the" right commune of an address is unknowable from its words; the commune that
    holds the ward's centre is the best single guess, so the confidence of a ``legacy_partial`` top candidate is
    calibrated as the rate at which it is that commune.
    """
    try:
        from vpostcode.reverse_geocode import reverse_many
    except ImportError:
        return {}
    units = gazetteer.legacy_units
    found = reverse_many(units["lat"].to_numpy(dtype=float), units["lon"].to_numpy(dtype=float))
    return {code: commune for code, commune in zip(units["code"], found["commune_code"]) if isinstance(commune, str)}


def run_vpostcode(cases: Sequence[AddressCase], calibration: Calibration | None) -> Tally:
    """Geocode every case with vpostcode; CPU time of the calls only."""
    tally = Tally()
    answers = []
    start = time.process_time()
    for case in cases:
        answers.append(geocode(case.text, limit=10))
    tally.seconds = time.process_time() - start
    for case, found in zip(cases, answers):
        tally.n += 1
        hit = bool(found) and found[0].commune_code in case.expected
        tally.correct += hit
        tally.complete += case.expected <= {c.commune_code for c in found}
        if calibration is not None and found:
            top = found[0]
            key: str = top.match_type
            if key == "fuzzy":
                key = _fuzzy_band(_fuzzy_score(case.text))
            if key == "legacy_partial":  # which of the split ward's communes: the one holding its centre?
                if case.form != "legacy" or case.source.split("#")[0] not in calibration.centroids:
                    continue
                hit = top.commune_code == calibration.centroids[case.source.split("#")[0]]
            calibration.add(key, len(found), hit)
    return tally


def _fuzzy_score(text: str) -> float:
    from vpostcode.address import core as address

    index = address_index()
    analysis = address._analyse(index, text)
    return max((h.fuzzy for h in analysis.best), default=0.0)


def peer_function(form: str) -> Callable[[str], Any]:
    """vietnamadminunits' documented entry point for a form of address."""
    from vietnamadminunits import convert_address, parse_address

    return parse_address if form == "2025" else convert_address


def run_peer(cases: Sequence[AddressCase], aliases: dict[str, str]) -> Tally:
    """Geocode every case with vietnamadminunits; CPU time of the calls only (failures count as wrong)."""
    tally = Tally()
    answers: list[str | None] = []
    start = time.process_time()
    for case in cases:
        function = peer_function(case.form)
        try:
            unit = function(case.text)
            answers.append(getattr(unit, "ward_code", None))
        except Exception:
            answers.append(None)
    tally.seconds = time.process_time() - start
    for case, code in zip(cases, answers):
        tally.n += 1
        code = aliases.get(code, code) if code else None
        tally.correct += code in case.expected
    return tally


def interleaved(cases: Sequence[AddressCase], peer: bool, aliases: dict[str, str],
                calibration: Calibration | None) -> tuple[Tally, Tally | None]:
    """Both systems on the same cases, taking turns of about TURN_SECONDS of CPU time each (see the docstring)."""
    ours, theirs = Tally(), (Tally() if peer else None)
    mine = their = 0  # how far each system has got through the cases
    while mine < len(cases) or (theirs is not None and their < len(cases)):
        mine = _turn(cases, mine, ours, lambda block: run_vpostcode(block, calibration))
        if theirs is not None:
            their = _turn(cases, their, theirs, lambda block: run_peer(block, aliases))
    return ours, theirs


def _turn(cases: Sequence[AddressCase], cursor: int, tally: Tally, run: Callable[[Sequence[AddressCase]], Tally]
          ) -> int:
    """Run one system on blocks of cases from ``cursor`` until its turn's CPU time is spent; the new cursor."""
    spent = tally.seconds
    while cursor < len(cases) and tally.seconds - spent < TURN_SECONDS:
        block = cases[cursor:cursor + BLOCK]
        tally.add(run(block))
        cursor += len(block)
    return cursor


def validate_latency(cases: Sequence[AddressCase], n: int) -> tuple[float, float, float]:
    """p50, p99 and mean wall-clock latency of validate() in milliseconds, over n cases spread across variants."""
    step = max(1, len(cases) // n)
    sample = list(cases[::step])[:n]
    times = []
    for case in sample:
        start = time.perf_counter()
        validate(case.text)
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))], statistics.fmean(times)


def _pct(tally: Tally) -> str:
    return f"{100.0 * tally.correct / tally.n:.2f}" if tally.n else "–"


def _rate(tally: Tally) -> float:
    return tally.n / tally.seconds if tally.seconds else float("nan")


def build_cases(gazetteer: Gazetteer, n: int, offices: int, variants: Sequence[str]) -> list[AddressCase]:
    """The benchmark's cases: n new-form, n legacy and the office addresses, in every variant."""
    base = [*commune_cases(gazetteer, n), *legacy_cases(gazetteer, n), *office_cases(gazetteer, n=offices)]
    return with_variants(base, variants, gazetteer=gazetteer)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="new-form and legacy base addresses each")
    parser.add_argument("--offices", type=int, default=300)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--forms", default="2025,legacy,office", help="which forms of address to run")
    parser.add_argument("--validate-samples", type=int, default=5000)
    parser.add_argument("--no-peer", action="store_true", help="skip vietnamadminunits")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave the loaded data of both systems to the garbage collector")
    parser.add_argument("--calibrate", action="store_true", help=f"write {CONFIDENCE_PATH.name}")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]

    gazetteer = get_gazetteer()
    started = time.perf_counter()
    address_index(gazetteer)
    index_seconds = time.perf_counter() - started
    aliases: dict[str, str] = gazetteer.manifest.get("quirks", {}).get("code_aliases", {})
    peer = not args.no_peer
    if peer:
        for form in ("2025", "legacy"):  # warm up the peer (it loads its data on first use)
            peer_function(form)("Phường Ba Đình, Hà Nội")
    forms = {form for form in args.forms.split(",") if form}
    cases = [case for case in build_cases(gazetteer, args.n, args.offices, variants) if case.form in forms]
    calibration = Calibration(centroids=centroid_communes(gazetteer)) if args.calibrate else None
    if not args.no_freeze:  # as the API server does (api/gunicorn.conf.py): see the module docstring
        gc.collect()
        gc.freeze()

    groups: dict[tuple[str, str], list[AddressCase]] = defaultdict(list)
    for case in cases:
        groups[(case.form, case.variant)].append(case)
    results: dict[tuple[str, str], tuple[Tally, Tally | None]] = {}
    for key in sorted(groups, key=lambda k: (k[0], variants.index(k[1]))):
        results[key] = interleaved(groups[key], peer, aliases, calibration)
        print(f"  {key[0]:7} {key[1]:14} {len(groups[key]):6} done", file=sys.stderr)

    _print_tables(results, variants, peer, len(cases))
    p50, p99, mean = validate_latency(cases, args.validate_samples)
    print(f"\n`validate()` latency over {min(args.validate_samples, len(cases))} addresses spread over all forms "
          f"and variants (wall clock, one thread): p50 {p50:.3f} ms, p99 {p99:.3f} ms, mean {mean:.3f} ms.")
    print(f"Address index built in {index_seconds:.2f} s (once per process).")
    if calibration is not None:
        table = {"_doc": "Precision of geocode()'s top candidate, measured by scripts/bench/address.py --calibrate "
                         "on the real test sets, per match type (fuzzy: per score band) and number of candidates "
                         "(1, 2, 3+); Laplace-smoothed (hits + 0.5) / (n + 1). For legacy_partial (a ward the "
                         "reform split) a hit is the top candidate being the commune that holds the ward's "
                         "centroid.",
                 "precision": calibration.table(), "counts": calibration.counts()}
        CONFIDENCE_PATH.write_text(json.dumps(table, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {CONFIDENCE_PATH}")


def _print_tables(results: dict[tuple[str, str], tuple[Tally, Tally | None]], variants: Sequence[str],
                  peer: bool, total: int) -> None:
    forms = ("2025", "legacy", "office")
    titles = {"2025": "new form (2025)", "legacy": "legacy (ward, district, province)", "office": "VNPost offices"}
    print(f"\n### Throughput ({total:,} addresses, single thread, CPU time)\n")
    print("| addresses | vpostcode (addr/s) | vietnamadminunits (addr/s) | speed-up |")
    print("|---|---:|---:|---:|")
    overall_ours, overall_theirs = Tally(), Tally()
    for form in forms:
        ours, theirs = Tally(), Tally()
        for (f, _v), (o, t) in results.items():
            if f == form:
                ours.add(o)
                if t is not None:
                    theirs.add(t)
        overall_ours.add(ours)
        overall_theirs.add(theirs)
        if ours.n:
            print(f"| {titles[form]} | {_rate(ours):,.0f} | {_rate(theirs) if peer else float('nan'):,.0f} | "
                  f"{_rate(ours) / _rate(theirs) if peer else float('nan'):.1f}× |")
    print(f"| **all** | **{_rate(overall_ours):,.0f}** | **{_rate(overall_theirs) if peer else float('nan'):,.0f}** "
          f"| **{_rate(overall_ours) / _rate(overall_theirs) if peer else float('nan'):.1f}×** |")

    _print_variant_speed(results, variants, peer, forms, titles)

    print("\n### Accuracy at commune level (% of addresses whose top answer is a right 2025 commune)\n")
    header = "| variant | " + " | ".join(
        f"{titles[f]}: vpostcode | {titles[f]}: vietnamadminunits" for f in forms) + " |"
    print(header)
    print("|---|" + "---:|" * (2 * len(forms)))
    for variant in [*variants, "all"]:
        cells = []
        for form in forms:
            ours, theirs = Tally(), Tally()
            for (f, v), (o, t) in results.items():
                if f == form and (variant == "all" or v == variant):
                    ours.add(o)
                    if t is not None:
                        theirs.add(t)
            cells += [_pct(ours), _pct(theirs) if peer else "–"]
        name = f"**{variant}**" if variant == "all" else variant
        print(f"| {name} | " + " | ".join(cells) + " |")

    print("\n### vpostcode: split legacy wards (all the communes a ward went into are among the candidates)\n")
    print("| variant | legacy: all right communes returned (%) | offices (%) |")
    print("|---|---:|---:|")
    for variant in variants:
        row = []
        for form in ("legacy", "office"):
            tally = results.get((form, variant), (Tally(), None))[0]
            row.append(f"{100.0 * tally.complete / tally.n:.2f}" if tally.n else "–")
        print(f"| {variant} | " + " | ".join(row) + " |")


def _print_variant_speed(results: dict[tuple[str, str], tuple[Tally, Tally | None]], variants: Sequence[str],
                         peer: bool, forms: Sequence[str], titles: dict[str, str]) -> None:
    """CPU time per address of each variant: where each system spends its time (and where the ratio comes from)."""
    shown = [form for form in forms if any(f == form for f, _v in results)]
    print("\n### CPU time per address by variant (µs: vpostcode / vietnamadminunits, speed-up)\n")
    print("| variant | " + " | ".join(titles[form] for form in shown) + " |")
    print("|---|" + "---:|" * len(shown))
    for variant in variants:
        cells = []
        for form in shown:
            ours, theirs = results.get((form, variant), (Tally(), None))
            if not ours.n:
                cells.append("–")
            elif peer and theirs is not None and theirs.n:
                mine, their = 1e6 * ours.seconds / ours.n, 1e6 * theirs.seconds / theirs.n
                cells.append(f"{mine:.1f} / {their:.1f} ({their / mine:.1f}×)")
            else:
                cells.append(f"{1e6 * ours.seconds / ours.n:.1f}")
        print(f"| {variant} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
