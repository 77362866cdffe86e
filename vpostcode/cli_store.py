"""The command groups that work on the store: ``points``, ``registry``, ``coverage`` and ``keys``.

Kept apart from :mod:`vpostcode.cli` (which adds them with :func:`register`) so that the gazetteer commands and the
store commands can evolve separately; they share its helpers (``handles_errors``, ``json_option``, ``emit``), so
errors are the same one line on stderr with the same exit statuses, and every data command takes ``--json``
(always a JSON object).

Every group takes ``--database URL``; without it the store is ``$VPOSTCODE_DATABASE_URL``, else the embedded
SQLite file of :func:`vpostcode.store.open_store`. Heavy modules are imported inside the commands, so that
``vpostcode --help`` stays fast. Progress bars (tqdm, on stderr) appear only on a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vpostcode.errors import InvalidInputError

_pending: list[click.Group] = []


def register(main: click.Group) -> None:
    """Add the store command groups to the ``vpostcode`` program.

    Defined before this module imports :mod:`vpostcode.cli`: under ``python -m vpostcode.cli`` that import runs
    ``cli.py`` a second time, which calls ``register`` while this module is still being imported; such a call is
    completed when the groups exist (and the program actually run, ``__main__``, registers them again itself).
    """
    groups = globals().get("GROUPS")
    if groups is None:
        _pending.append(main)
        return
    for group in groups:
        main.add_command(group)


from vpostcode.cli import emit, handles_errors  # noqa: E402

if TYPE_CHECKING:
    _Command = TypeVar("_Command", bound=Callable[..., Any])

    def json_option(command: _Command) -> _Command:
        """``vpostcode.cli.json_option`` as mypy should see it (its type is inferred, and the two modules import
        each other, so mypy cannot infer it from here)."""
        ...
else:
    from vpostcode.cli import json_option

if TYPE_CHECKING:
    from vpostcode.coverage import PostalPoints
    from vpostcode.store import Store

DATABASE_HELP = "Database URL [$VPOSTCODE_DATABASE_URL, else the embedded SQLite file]."


# ======================================================================================================== helpers


def _database_option(group: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--database", "database", metavar="URL", default=None, help=DATABASE_HELP)(group)


def _remember_database(database: str | None) -> None:
    """Keep a group's ``--database`` for its commands."""
    click.get_current_context().ensure_object(dict)["database"] = database


@contextmanager
def _store(*, geo: bool = False) -> Iterator[Store]:
    """The store of the current command's group, closed afterwards.

    ``geo=True`` for commands that will load the gazetteer: pyproj is imported *before* SpatiaLite is loaded,
    because SpatiaLite links the system's PROJ and pyproj brings its own; loaded the other way round, the two
    libraries corrupt the heap when the process exits.
    """
    if geo:
        import pyproj  # noqa: F401

    from vpostcode.store import open_store

    context = click.get_current_context()
    database = (context.obj or {}).get("database")
    store = open_store(database)
    try:
        yield store
    finally:
        store.close()


def _progress(description: str, total: int) -> Any:
    """A tqdm bar on stderr, shown only on a terminal (scripts and ``--json`` output stay clean)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="row", file=sys.stderr, disable=None, leave=False)


@contextmanager
def _stages(description: str, stages: int) -> Iterator[Callable[[str], None]]:
    """A stage bar for slow multi-step commands (loading data, building the model, solving)."""
    from tqdm import tqdm

    bar = tqdm(total=stages, desc=description, unit="step", file=sys.stderr, disable=None, leave=False)

    def step(label: str) -> None:
        bar.set_postfix_str(label)
        bar.update(1)

    try:
        yield step
    finally:
        bar.close()


def _floats(text: str, count: int, what: str, parameter: str) -> list[float]:
    """``count`` comma-separated numbers (``21.03,105.85``); anything else is one clear InvalidInputError."""
    parts = [part.strip() for part in text.split(",")]
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != count:
        raise InvalidInputError(f"--{parameter} must be {what}, got {text!r}", parameter=parameter)
    return values


# ======================================================================================================== points


@click.group()
@_database_option
def points(database: str | None) -> None:
    """Postal points: import the Vietnam Post offices (or a CSV/GeoJSON file), list and add points."""
    _remember_database(database)


@points.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--source", help="Source name for CSV/GeoJSON rows without one [the file's stem].")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="Also write the report (JSON) here.")
@click.option("--chunk-rows", default=200, show_default=True, help="Rows per transaction.")
@json_option
@handles_errors
def points_import(path: str, source: str | None, report_path: str | None, chunk_rows: int, as_json: bool) -> None:
    """Import postal points from PATH: the Vietnam Post offices (.json), a .csv or a .geojson file.

    Idempotent (keyed by source and source_key) and resumable: rows are committed 200 per transaction, so a killed
    run leaves whole chunks and a rerun completes it. Rows that cannot be located are listed with their reasons.
    """
    from vpostcode.postal_points import resolve_file, write_records, write_report

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = _progress("locating rows" if stage == "resolve" else "writing", total)
        bar.update(done - bar.n)

    import time

    started = time.perf_counter()
    try:
        report, resolved = resolve_file(path, source=source, progress=progress)
        with _store(geo=True) as store:
            write_records(report, resolved, store, chunk_rows=chunk_rows, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    report.seconds = time.perf_counter() - started
    if report_path:
        write_report(report, report_path)
    emit(report.to_dict(), as_json, _render_import)


def _render_import(result: dict[str, Any]) -> str:
    lines = [
        f"{result['path']}: {result['rows']} rows, {result['matched']} located "
        f"({100 * result['match_rate']:.1f} %), {result['unmatched_rows']} left out",
        f"  written: {result['inserted']} inserted, {result['updated']} updated, {result['unchanged']} unchanged "
        f"in {result['chunks']} transaction(s), {result['seconds']} s",
        f"  located by: {', '.join(f'{k} {v}' for k, v in result['methods'].items()) or '-'}",
    ]
    if result["ambiguous_rows"]:
        lines.append(f"  {result['ambiguous_rows']} row(s) in a legacy ward split between communes (one chosen; "
                     "see --json)")
    if result["unmatched_reasons"]:
        lines.append("  left out: " + ", ".join(f"{k} {v}" for k, v in result["unmatched_reasons"].items()))
        for problem in result["unmatched"][:10]:
            lines.append(f"    row {problem['row']} ({problem['key']}): {problem['reason']}: {problem['message']}")
        if len(result["unmatched"]) > 10:
            lines.append(f"    ... and {len(result['unmatched']) - 10} more (--json or --report FILE)")
    return "\n".join(lines)


@points.command("list")
@click.option("--commune", help="Only points of this 2025 commune (code).")
@click.option("--near", metavar="LAT,LON", help="Only points within --radius metres of this point, nearest first.")
@click.option("--radius", type=float, default=5000.0, show_default=True, help="Radius for --near, metres.")
@click.option("--bbox", metavar="W,S,E,N", help="Only points in this box (degrees).")
@click.option("--kind", help="Only points of this kind (post_office, agent, ...).")
@click.option("--limit", default=100, show_default=True, help="At most this many points (0: all).")
@json_option
@handles_errors
def points_list(commune: str | None, near: str | None, radius: float, bbox: str | None, kind: str | None,
                limit: int, as_json: bool) -> None:
    """List postal points, filtered by commune, distance or box."""
    near_arg = None
    if near is not None:
        lat, lon = _floats(near, 2, "LAT,LON", "near")
        near_arg = (lat, lon, radius)
    box = None
    if bbox is not None:
        west, south, east, north = _floats(bbox, 4, "W,S,E,N (west, south, east, north)", "bbox")
        box = (west, south, east, north)
    if commune is not None:
        from vpostcode.gazetteer import normalize_unit_code

        commune = normalize_unit_code(commune, 5, "a commune code")
    with _store() as store:
        found = store.list_points(commune_code=commune, near=near_arg, bbox=box, kind=kind,
                                  limit=None if limit == 0 else limit)
    emit({"count": len(found), "points": [point.to_dict() for point in found]}, as_json, _render_points)


def _render_points(result: dict[str, Any]) -> str:
    if not result["points"]:
        return "no postal points match"
    lines = []
    for p in result["points"]:
        distance = f" {p['distance_m']:.0f} m" if p.get("distance_m") is not None else ""
        lines.append(f"{p['id']:>6} {p['lat']:.5f},{p['lon']:.5f} {p['commune_code'] or '-----'} {p['kind']:<12} "
                     f"{'staffed' if p['staffed'] else 'unstaffed'} {p['name']}{distance}")
    return "\n".join([*lines, f"{result['count']} point(s)"])


@points.command("add")
@click.option("--name", required=True, help="The point's name.")
@click.option("--lat", type=float, required=True, help="Latitude (WGS84).")
@click.option("--lon", type=float, required=True, help="Longitude (WGS84).")
@click.option("--kind", default="post_office", show_default=True,
              type=click.Choice(["post_office", "commune_cultural_post_office", "agent", "locker"]))
@click.option("--staffed/--unstaffed", default=None, help="Staffed by postal staff [yes for a post office only].")
@click.option("--address", help="Its street address.")
@click.option("--source", default="manual", show_default=True, help="Source of the point.")
@click.option("--source-key", help="Its key in the source [the address code of the point].")
@json_option
@handles_errors
def points_add(name: str, lat: float, lon: float, kind: str, staffed: bool | None, address: str | None, source: str,
               source_key: str | None, as_json: bool) -> None:
    """Add one postal point; it must lie in Vietnam, and its commune is filled by reverse geocoding."""
    from vpostcode.errors import OutsideDomainError
    from vpostcode.reverse_geocode import get_reverse_geocoder

    with _store(geo=True) as store:
        found = get_reverse_geocoder().reverse(lat, lon)
        if found.commune_code is None:
            raise OutsideDomainError(f"the point {lat:.6f},{lon:.6f} lies at sea or outside Vietnam",
                                     parameter="lat")
        point = store.add_point({
            "source": source, "source_key": source_key or found.address_code, "kind": kind, "name": name,
            "lat": found.lat, "lon": found.lon, "address": address, "commune_code": found.commune_code,
            "precision": "exact", "staffed": kind == "post_office" if staffed is None else staffed,
        })
    emit(point.to_dict(), as_json)


# ======================================================================================================== registry


@click.group()
@_database_option
def registry(database: str | None) -> None:
    """The household "Địa chỉ số" registry: register an address at a point, look it up, erase it."""
    _remember_database(database)


@registry.command("register")
@click.argument("address")
@click.option("--lat", type=float, required=True, help="Latitude of the house (WGS84).")
@click.option("--lon", type=float, required=True, help="Longitude of the house (WGS84).")
@click.option("--contact-name", help="Contact name (private; needs --consent).")
@click.option("--contact-phone", help="Contact phone (private; needs --consent).")
@click.option("--contact-email", help="Contact e-mail (private; needs --consent).")
@click.option("--consent", is_flag=True, help="The household agrees to its contact details being stored.")
@json_option
@handles_errors
def registry_register(address: str, lat: float, lon: float, contact_name: str | None, contact_phone: str | None,
                      contact_email: str | None, consent: bool, as_json: bool) -> None:
    """Register ADDRESS at a point: checks that they agree and prints the address codes."""
    from vpostcode.registry import register

    contact = {"name": contact_name, "phone": contact_phone, "email": contact_email}
    with _store(geo=True) as store:
        registration = register(address, lat, lon, contact=contact, consent=consent, store=store)
    emit(registration.to_dict(), as_json, lambda r: (
        f"{r['display_code']} (local {r['local_code']})\n  {r['standard_address']}\n"
        f"  {r['commune_name']}, {r['province_name']}, postal code {r['postal_code']}"))


@registry.command("lookup")
@click.argument("code")
@click.option("--private", "include_private", is_flag=True, help="Include the contact details.")
@json_option
@handles_errors
def registry_lookup(code: str, include_private: bool, as_json: bool) -> None:
    """The registered address of CODE (full XXXX-XXX-XXX or local PPPPP-TAIL)."""
    from vpostcode.registry import lookup, public_view

    with _store(geo=True) as store:
        found = lookup(code, include_private=include_private, store=store)
    emit(public_view(found), as_json)


@registry.command("delete")
@click.argument("code")
@json_option
@handles_errors
def registry_delete(code: str, as_json: bool) -> None:
    """Erase the registration of CODE and its contact details (cannot be undone)."""
    from vpostcode.registry import delete

    with _store(geo=True) as store:
        erased = delete(code, store=store)
    emit({"deleted": erased}, as_json, lambda r: f"deleted {r['deleted']}")


# ======================================================================================================== coverage


@click.group()
@_database_option
def coverage(database: str | None) -> None:
    """Postal-point coverage of the 2025 communes, from the points in the store."""
    _remember_database(database)


def _coverage_inputs(step: Callable[[str], None]) -> tuple[Any, PostalPoints]:
    """The coverage model and the store's points (the slow part: data, grid and model, 2-4 s on first use)."""
    from vpostcode.coverage import PostalPoints, get_model

    with _store(geo=True) as store:
        arrays = store.points_array()
    step("points read")
    points_ = PostalPoints.from_store(arrays)
    model = get_model()
    step("model built")
    return model, points_


def _province_code(province: str | None) -> str | None:
    if province is None:
        return None
    from vpostcode.gazetteer import get_gazetteer

    return get_gazetteer().province(province).code


@coverage.command("summary")
@click.option("--radius-km", type=float, default=5.0, show_default=True,
              help="A commune is served by a staffed point inside it or this close to its centre.")
@json_option
@handles_errors
def coverage_summary(radius_km: float, as_json: bool) -> None:
    """National coverage: communes served and unserved, population within 1/2/5/10 km of a staffed point."""
    with _stages("coverage", 3) as step:
        model, points_ = _coverage_inputs(step)
        result = model.summary(points_, radius_km)
        step("done")
    emit(result, as_json, _render_summary)


def _render_summary(r: dict[str, Any]) -> str:
    within = ", ".join(f"{km} km {pct} %" for km, pct in r["population_within_km"].items())
    return (f"{r['points']} points ({r['staffed_points']} staffed)\n"
            f"communes: {r['communes']}, served {r['served']} ({r['served_pct']} %), unserved {r['unserved']}; "
            f"with a staffed point inside: {r['with_staffed_point']}\n"
            f"population within: {within}")


@coverage.command("gaps")
@click.option("--province", help="Only this province (code or name).")
@click.option("--radius-km", type=float, default=5.0, show_default=True, help="Served within this distance.")
@json_option
@handles_errors
def coverage_gaps(province: str | None, radius_km: float, as_json: bool) -> None:
    """The unserved communes, by province, largest population first."""
    with _stages("coverage", 3) as step:
        model, points_ = _coverage_inputs(step)
        result = model.gaps(points_, radius_km)
        step("done")
    code = _province_code(province)
    if code is not None:
        result = _one_province(result, code)
    emit(result, as_json, _render_gaps)


def _one_province(result: dict[str, Any], code: str) -> dict[str, Any]:
    """The gaps of one province: its entry, with the totals recomputed for it."""
    entries = [entry for entry in result["provinces"] if entry["code"] == code]
    totals = {key: sum(entry[key] for entry in entries)
              for key in ("communes", "unserved", "unserved_population", "without_staffed_point")}
    share = round(100.0 * totals["unserved"] / totals["communes"], 2) if totals["communes"] else 0.0
    return {**result, **totals, "unserved_pct": share, "province": code, "provinces": entries,
            "offshore": [zone for zone in result["offshore"] if zone["province_code"] == code]}


def _render_gaps(r: dict[str, Any]) -> str:
    lines = [f"{r['unserved']} of {r['communes']} communes unserved ({r['unserved_pct']} %), "
             f"{r['unserved_population']:,} people"]
    for entry in r["provinces"]:
        if entry["unserved"]:
            names = ", ".join(c["name"] for c in entry["unserved_communes"][:5])
            more = "..." if entry["unserved"] > 5 else ""
            lines.append(f"  {entry['code']} {entry['name']}: {entry['unserved']} ({names}{more})")
    return "\n".join(lines)


@coverage.command("suggest")
@click.option("--k", "k", type=int, default=50, show_default=True, help="How many new sites.")
@click.option("--radius-km", type=float, default=5.0, show_default=True, help="Coverage radius of a site.")
@click.option("--province", help="Only this province (code or name).")
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Solver time limit, seconds.")
@json_option
@handles_errors
def coverage_suggest(k: int, radius_km: float, province: str | None, time_limit: float, as_json: bool) -> None:
    """Where K new staffed points would bring the most people within reach (maximal covering, exact MILP)."""
    with _stages("coverage", 3) as step:
        model, points_ = _coverage_inputs(step)
        result = model.suggest(points_, k, radius_km, province=province, time_limit_s=time_limit)
        step("solved")
    emit(result, as_json)


@coverage.command("map")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="PNG file to write.")
@click.option("--province", help="Only this province (code or name).")
@click.option("--radius-km", type=float, default=5.0, show_default=True, help="Served within this distance.")
@json_option
@handles_errors
def coverage_map(out_path: str, province: str | None, radius_km: float, as_json: bool) -> None:
    """A PNG map of served and unserved communes with the points."""
    with _stages("coverage map", 3) as step:
        model, points_ = _coverage_inputs(step)
        try:
            written = model.render_map(points_, out_path, province, radius_km=radius_km)
        except OSError as exc:
            raise InvalidInputError(f"cannot write {out_path}: {exc.strerror or exc}", parameter="out") from None
        step("drawn")
    emit({"map": str(written), "province": province}, as_json, lambda r: f"wrote {r['map']}")


# ======================================================================================================== keys


@click.group()
@_database_option
def keys(database: str | None) -> None:
    """API keys: create (the token is shown once), list, revoke."""
    _remember_database(database)


@keys.command("create")
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option("--scopes", default="", help="Comma-separated scopes (registry:write,points:write,registry:private).")
@json_option
@handles_errors
def keys_create(name: str, scopes: str, as_json: bool) -> None:
    """Create an API key; its token is printed once and only its hash is kept."""
    scope_list = [scope.strip() for scope in scopes.split(",") if scope.strip()]
    with _store() as store:
        key_id, token = store.create_key(name, scope_list)
        info = store.get_key(key_id)
    emit({**info.to_dict(), "token": token}, as_json, lambda r: (
        f"key {r['key_id']} ({r['name']}; scopes: {', '.join(r['scopes']) or 'none'})\n"
        f"token: {r['token']}\nthe token is shown only now: store it safely"))


@keys.command("list")
@json_option
@handles_errors
def keys_list(as_json: bool) -> None:
    """Every API key (never the tokens), revoked ones included."""
    with _store() as store:
        found = store.list_keys()
    emit({"count": len(found), "keys": [info.to_dict() for info in found]}, as_json, _render_keys)


def _render_keys(r: dict[str, Any]) -> str:
    if not r["keys"]:
        return "no API keys"
    return "\n".join(f"{k['key_id']} {k['name']} [{', '.join(k['scopes'])}] "
                     f"{'revoked ' + k['revoked_at'] if k['revoked_at'] else 'active'}" for k in r["keys"])


@keys.command("revoke")
@click.argument("key_id")
@json_option
@handles_errors
def keys_revoke(key_id: str, as_json: bool) -> None:
    """Revoke an API key (idempotent)."""
    with _store() as store:
        info = store.revoke_key(key_id)
    emit(info.to_dict(), as_json, lambda r: f"revoked {r['key_id']} at {r['revoked_at']}")


# ======================================================================================================== wiring

GROUPS: Sequence[click.Group] = (points, registry, coverage, keys)

for _main in _pending:
    register(_main)
_pending.clear()
