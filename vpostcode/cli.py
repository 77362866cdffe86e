"""The ``vpostcode`` command line: one program, subcommands, ``--json`` on every command that returns data.

Errors are one line on stderr naming the problem and the fix, with a non-zero exit status (2 for invalid input,
3 for something not found, 4 for a conflict with stored data, 1 for missing or corrupt data, 70 for a bug); with
``--json`` the same error is also printed as a JSON object on stdout so that scripts can read it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from vpostcode import __version__
from vpostcode.errors import ConflictError, DataError, InvalidInputError, NotFoundError, VpostcodeError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_DATA, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_INTERNAL = 1, 2, 3, 4, 70


def exit_status(error: VpostcodeError) -> int:
    """The process exit status for a library error."""
    if isinstance(error, InvalidInputError):
        return EXIT_INVALID
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, ConflictError):
        return EXIT_CONFLICT
    return EXIT_DATA if isinstance(error, DataError) else EXIT_INVALID


def emit(data: Any, as_json: bool, render: Callable[[Any], str] | None = None) -> None:
    """Print a result: JSON when asked (always an object or array), else the human rendering."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(render(data) if render else _render_mapping(data))


def _render_mapping(data: Any, indent: int = 0) -> str:
    if isinstance(data, dict):
        lines = []
        for key, value in data.items():
            if isinstance(value, dict | list) and value:
                lines.append(" " * indent + f"{key}:")
                lines.append(_render_mapping(value, indent + 2))
            else:
                lines.append(" " * indent + f"{key}: {value}")
        return "\n".join(lines)
    if isinstance(data, list):
        return "\n".join(
            " " * indent + "- " + (_render_mapping(item, indent + 2).lstrip() if isinstance(item, dict) else str(item))
            for item in data
        )
    return " " * indent + str(data)


def handles_errors(command: F) -> F:
    """Turn library errors into one clear line and an exit status, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except VpostcodeError as error:
            if kwargs.get("as_json"):
                click.echo(json.dumps(error.to_dict(), ensure_ascii=False, default=str))
            click.echo(f"vpostcode: error: {error.message}", err=True)
            sys.exit(exit_status(error))
        except OSError as error:
            click.echo(f"vpostcode: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), err=True)
            sys.exit(EXIT_DATA)
        except Exception as error:  # a bug: one line for the user, the traceback only when asked for
            if os.environ.get("VPOSTCODE_DEBUG"):
                raise
            click.echo(f"vpostcode: internal error: {type(error).__name__}: {error} "
                       "(set VPOSTCODE_DEBUG=1 for the traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vpostcode")
def main() -> None:
    """vpostcode: Vietnam's open digital address codes, gazetteer and geocoder."""


@main.group()
def data() -> None:
    """Build and inspect the serving data (gis_data/)."""


@data.command("build")
@click.option("--sources", type=click.Path(file_okay=False), help="Source bundle [../shared/data, $VPOSTCODE_SOURCES].")
@click.option("--out", type=click.Path(file_okay=False), help="Output directory [gis_data, $VPOSTCODE_DATA_DIR].")
@click.option("--force", is_flag=True, help="Rebuild even when the sources are unchanged.")
@json_option
@handles_errors
def data_build(sources: str | None, out: str | None, force: bool, as_json: bool) -> None:
    """Verify the source bundle against SHA256SUMS and build gis_data/ (atomic, idempotent)."""
    from vpostcode.build import build

    report = build(sources=sources, out=out, force=force)
    result = {"status": report.status, "path": str(report.path), **{
        key: report.manifest.get(key) for key in ("fingerprint", "built_at", "build_seconds", "counts")}}
    if as_json:
        emit(result, True)
    elif report.status == "up-to-date":
        click.echo(f"gis_data is up to date ({report.path}): sources unchanged, nothing to do")
    else:
        click.echo(f"built {report.path} in {report.manifest['build_seconds']} s")
        click.echo(_render_mapping(report.manifest["counts"], 2))


@main.command()
@json_option
@handles_errors
def info(as_json: bool) -> None:
    """Counts, sources and quirks of the loaded data."""
    from vpostcode.gazetteer import get_gazetteer

    emit(get_gazetteer().info(), as_json)


@main.command()
@click.argument("code")
@json_option
@handles_errors
def commune(code: str, as_json: bool) -> None:
    """A 2025 commune by its code, with its postal code and the legacy units it came from."""
    from vpostcode.gazetteer import get_gazetteer

    emit(get_gazetteer().commune(code).to_dict(), as_json)


@main.command()
@click.argument("legacy")
@json_option
@handles_errors
def convert(legacy: str, as_json: bool) -> None:
    """The 2025 commune(s) a legacy ward went into.

    LEGACY is a legacy ward code (00001) or a name path ("Phúc Xá, Ba Đình, Hà Nội").
    """
    from vpostcode.gazetteer import get_gazetteer

    gazetteer = get_gazetteer()
    if legacy.strip().isdigit():
        unit = gazetteer.legacy_unit(legacy)
        candidates = gazetteer.convert(unit.code)
    else:
        parts = [part.strip() for part in legacy.split(",")] + [None, None]
        candidates = gazetteer.convert_path(parts[0] or "", parts[1], parts[2])
        unit = gazetteer.find_legacy_units(parts[0] or "", parts[1], parts[2])[0]
    result = {"legacy": unit.to_dict(), "candidates": [c.to_dict() for c in candidates]}
    emit(result, as_json, _render_conversion)


def _render_conversion(result: dict[str, Any]) -> str:
    lines = [f"{result['legacy']['full_path']} ({result['legacy']['code']}) →"]
    lines += [f"  {c['code']} {c['full_name']}, {c['province_name']} ({c['share']})" for c in result["candidates"]]
    return "\n".join(lines)


@main.command()
def demo() -> None:
    """A short tour of the CLI on the built data."""
    from vpostcode.gazetteer import get_gazetteer

    try:
        gazetteer = get_gazetteer()
    except VpostcodeError as error:
        click.echo(f"vpostcode: error: {error.message}", err=True)
        sys.exit(exit_status(error))
    counts = gazetteer.info()
    click.echo(f"$ vpostcode info  → {counts['provinces']} provinces, {counts['communes']} communes, "
               f"{counts['legacy_wards']} legacy wards, {counts['postal_codes']} postal codes")
    ba_dinh = gazetteer.commune("00004")
    click.echo(f"$ vpostcode commune 00004  → {ba_dinh.full_name}, {ba_dinh.province_name}, "
               f"postal code {ba_dinh.postal_code}, from {len(ba_dinh.legacy_units)} legacy wards")
    click.echo("$ vpostcode convert 00007")
    click.echo(_render_conversion({"legacy": gazetteer.legacy_unit("00007").to_dict(),
                                   "candidates": [c.to_dict() for c in gazetteer.convert("00007")]}))


def _batch_options(command: F) -> F:
    """The options every batch-capable command shares."""
    for option in reversed([
        click.option("--input", "input_path", type=click.Path(dir_okay=False), help="Batch input file."),
        click.option("--output", "output_path", type=click.Path(dir_okay=False), help="Batch output file."),
        click.option("--chunk-size", default=50_000, show_default=True, help="Rows per streamed chunk."),
    ]):
        command = option(command)
    return command


def _run_batch(input_path: str | None, output_path: str | None, transform: Callable[[Any], Any],
               as_json: bool) -> None:
    """Stream a file through a chunk transform; report rows and per-row errors."""
    from vpostcode.codes import run_file

    if not input_path or not output_path:
        raise InvalidInputError("a batch needs both --input and --output", parameter="input")
    report = run_file(input_path, output_path, transform)
    emit({"input": input_path, "output": output_path, **report}, as_json,
         lambda r: f"wrote {r['rows']} rows to {r['output']} ({r['errors']} with an error)")


def _need_point(lat: float | None, lon: float | None) -> tuple[float, float]:
    if lat is None or lon is None:
        raise InvalidInputError("give LAT and LON, or --input and --output for a batch", parameter="lat")
    return lat, lon


@main.command()
@click.argument("lat", type=float, required=False)
@click.argument("lon", type=float, required=False)
@click.option("--length", default=10, show_default=True, help="Code length (2..10, 10 = sub-metre).")
@click.option("--local", "local_only", is_flag=True, help="Print the local form (postal code + tail).")
@click.option("--lat-column", help="Batch: latitude column [lat].")
@click.option("--lon-column", help="Batch: longitude column [lon].")
@_batch_options
@json_option
@handles_errors
def encode(lat: float | None, lon: float | None, length: int, local_only: bool, lat_column: str | None,
           lon_column: str | None, input_path: str | None, output_path: str | None, chunk_size: int,
           as_json: bool) -> None:
    """The address code of a point (WGS84), with its commune and local form."""
    from vpostcode.codes import encode_frame, encode_point

    if input_path or output_path:
        _run_batch(input_path, output_path, lambda chunk: encode_frame(chunk, lat_column, lon_column, length),
                   as_json)
        return
    result = encode_point(*_need_point(lat, lon), length=length)
    emit(result, as_json, lambda r: str(r["local_code"] if local_only and r["local_code"] else r["display"]))


@main.command()
@click.argument("code", required=False)
@click.option("--code-column", default="code", show_default=True, help="Batch: the column holding codes.")
@_batch_options
@json_option
@handles_errors
def decode(code: str | None, code_column: str, input_path: str | None, output_path: str | None,
           chunk_size: int, as_json: bool) -> None:
    """The cell of a full code (XXXX-XXX-XXX) or a local code (PPPPP-TAIL), and its commune."""
    from vpostcode.codes import decode_any, decode_frame, suggestions_for

    if input_path or output_path:
        _run_batch(input_path, output_path, lambda chunk: decode_frame(chunk, code_column), as_json)
        return
    if code is None:
        raise InvalidInputError("give a CODE, or --input and --output for a batch", parameter="code")
    try:
        result = decode_any(code)
    except VpostcodeError as error:
        if suggestions := suggestions_for(code):
            error.details["suggestions"] = suggestions
            error.message += f" (did you mean {', '.join(suggestions[:5])}?)"
        raise
    emit(result, as_json)


@main.command("reverse")
@click.argument("lat", type=float, required=False)
@click.argument("lon", type=float, required=False)
@click.option("--crs", default="EPSG:4326", show_default=True,
              help="CRS of the input (WGS84, VN-2000 geographic or TM-3; for projected CRSs LAT is the northing).")
@click.option("--lat-column", help="Batch: latitude (or northing) column [lat].")
@click.option("--lon-column", help="Batch: longitude (or easting) column [lon].")
@_batch_options
@json_option
@handles_errors
def reverse_command(lat: float | None, lon: float | None, crs: str, lat_column: str | None, lon_column: str | None,
                    input_path: str | None, output_path: str | None, chunk_size: int, as_json: bool) -> None:
    """The 2025 commune, province, postal code and address code of a point."""
    from vpostcode.reverse_geocode import get_reverse_geocoder

    geocoder = get_reverse_geocoder()
    if input_path or output_path:
        _run_batch(input_path, output_path,
                   lambda chunk: geocoder.reverse_frame(chunk, lat_column, lon_column, crs), as_json)
        return
    emit(geocoder.reverse(*_need_point(lat, lon), crs=crs).to_dict(), as_json)


@main.command("geocode")
@click.argument("text", required=False)
@click.option("--limit", default=5, show_default=True, help="Most candidates to return.")
@click.option("--code", help="An address code of the place (picks among candidates, gives the exact location).")
@click.option("--lat", type=float, help="A point at the place (WGS84), to pick among candidates.")
@click.option("--lon", type=float, help="Longitude of that point.")
@click.option("--column", help="Batch: the column holding the addresses [address].")
@click.option("--input", "input_path", type=click.Path(dir_okay=False), help="Batch input file (CSV, Parquet...).")
@click.option("--output", "output_path", type=click.Path(dir_okay=False), help="Batch output file.")
@click.option("--chunk-size", default=20_000, show_default=True, help="Batch: rows per streamed chunk.")
@json_option
@handles_errors
def geocode_command(text: str | None, limit: int, code: str | None, lat: float | None, lon: float | None,
                    column: str | None, input_path: str | None, output_path: str | None, chunk_size: int,
                    as_json: bool) -> None:
    """The 2025 commune(s) of an address as people type it, with postal code, location and confidence.

    TEXT may be in the 2025 form (commune, province) or the legacy one (ward, district, province), with or without
    diacritics and commas. With --input/--output every row of the file is geocoded (the best candidate's fields
    are added to it; a row without an answer gets an `error`).
    """
    from vpostcode.address import geocode, geocode_frame

    if input_path or output_path:
        from vpostcode.codes import run_file

        if not input_path or not output_path:
            raise InvalidInputError("a batch needs both --input and --output", parameter="input")
        report = run_file(input_path, output_path, lambda chunk: geocode_frame(chunk, column), chunk_size)
        emit({"input": input_path, "output": output_path, **report}, as_json,
             lambda r: f"wrote {r['rows']} rows to {r['output']} ({r['errors']} without an answer)")
        return
    if text is None:
        raise InvalidInputError("give an address TEXT, or --input and --output for a batch", parameter="text")
    candidates = geocode(text, limit=limit, lat=lat, lon=lon, code=code)
    emit({"candidates": [candidate.to_dict() for candidate in candidates]}, as_json, _render_candidates)


def _render_candidates(result: dict[str, Any]) -> str:
    if not result["candidates"]:
        return "no commune found"
    return "\n".join(
        f"{c['commune_code']} {c['commune_name']}, {c['province_name']} (postal code {c['postal_code']}) "
        f"{c['lat']:.5f},{c['lon']:.5f} {c['match_type']} {c['confidence']:.2f}\n  {c['standard_address']}"
        for c in result["candidates"])


@main.command("validate")
@click.argument("text")
@click.option("--code", help="The address code given with the address (checked against it).")
@click.option("--lat", type=float, help="A point given with the address (WGS84), checked against it.")
@click.option("--lon", type=float, help="Longitude of that point.")
@json_option
@handles_errors
def validate_command(text: str, code: str | None, lat: float | None, lon: float | None, as_json: bool) -> None:
    """Check an address for a checkout: valid, valid_outdated, ambiguous, invalid or inconsistent."""
    from vpostcode.address import validate

    emit(validate(text, code=code, lat=lat, lon=lon).to_dict(), as_json, _render_validation)


def _render_validation(result: dict[str, Any]) -> str:
    lines = [f"{result['verdict']}: {result['message']}"]
    if result["standard_address"]:
        lines.append(f"  2025 address: {result['standard_address']} (postal code {result['postal_code']})")
    for part, component in result["components"].items():
        if component["value"] or component["status"] not in ("missing",):
            lines.append(f"  {part}: {component['value']} [{component['status']}]")
    lines += [f"  suggestion: {suggestion}" for suggestion in result["suggestions"]]
    return "\n".join(lines)


from vpostcode.cli_store import register as _register_store_commands  # noqa: E402

_register_store_commands(main)

from vpostcode.cli_serve import register as _register_serve  # noqa: E402

_register_serve(main)

if __name__ == "__main__":  # pragma: no cover
    main()
