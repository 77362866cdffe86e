"""The ``vpostcode`` command line: one program, subcommands, ``--json`` on every command that returns data.

Errors are one line on stderr naming the problem and the fix, with a non-zero exit status (2 for invalid input,
3 for something not found, 1 for missing or corrupt data); with ``--json`` the same error is also printed as a JSON
object on stdout so that scripts can read it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from vpostcode import __version__
from vpostcode.errors import DataError, InvalidInputError, NotFoundError, VpostcodeError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_DATA, EXIT_INVALID, EXIT_NOT_FOUND = 1, 2, 3


def exit_status(error: VpostcodeError) -> int:
    """The process exit status for a library error."""
    if isinstance(error, InvalidInputError):
        return EXIT_INVALID
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
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


if __name__ == "__main__":  # pragma: no cover
    main()
