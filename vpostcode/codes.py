"""Address codes as users meet them: encode a point with its commune and local form, decode a full or local code.

This joins the pure codec (``vpostcode.codec``), the local form (``vpostcode.localcode``) and the reverse geocoder,
so that the CLI, batch files and the API all answer with the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from vpostcode import codec
from vpostcode.batchio import ChunkWriter, add_columns, count_rows, null_where, point_columns, read_chunks
from vpostcode.errors import InvalidCodeError, InvalidInputError
from vpostcode.localcode import resolve
from vpostcode.localcode_math import is_local_form
from vpostcode.reverse_geocode import get_reverse_geocoder

_COORDINATE_ERRORS = {
    codec.COORD_INVALID: "coordinates must be finite, with latitude in -90..90 and longitude in -180..180",
    codec.COORD_OUTSIDE: f"outside the address-code domain (lat {codec.SOUTH}..{codec.NORTH}, "
                         f"lon {codec.WEST}..{codec.EAST})",
}


def encode_point(lat: float, lon: float, length: int = codec.FULL_LENGTH,
                 located: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A point's code, display form, cell size, and (for a full code in a commune) its commune and local code.

    ``located`` is the point's reverse-geocoding record (``ReverseResult.to_dict()`` of the same WGS84 point) when
    the caller already has it: the service gets it batched with other requests' points, which is cheaper than
    one more lookup here.
    """
    code = codec.encode(lat, lon, length)
    place = located if located is not None else get_reverse_geocoder().reverse(lat, lon).to_dict()
    height, width = codec.cell_degrees(length)
    cell_width, cell_height = codec.cell_size_m(height, width, lat)
    return {
        "code": code,
        "display": codec.format_code(code),
        "local_code": place["local_code"] if length == codec.FULL_LENGTH else None,
        "commune_code": place["commune_code"],
        "lat": float(lat),
        "lon": float(lon),
        "cell_m": [round(cell_width, 3), round(cell_height, 3)],
    }


def decode_any(text: str) -> dict[str, Any]:
    """Decode a full code or a local code (``PPPPP-TAIL``) to its cell and the commune it lies in.

    For a local code, ``local`` says which unit's reference recovered it (a 2025 commune or a 2020 ward) and
    lists any other reading.
    """
    local = resolve(text) if isinstance(text, str) and is_local_form(text) else None
    area = codec.decode(local.code if local else text)
    located = get_reverse_geocoder().reverse(area.lat, area.lon)
    result: dict[str, Any] = {
        "code": area.code,
        "display": codec.format_code(area.code),
        "lat": area.lat,
        "lon": area.lon,
        "south": area.south,
        "west": area.west,
        "north": area.north,
        "east": area.east,
        "length": area.length,
        "commune_code": located.commune_code,
        "local_code": located.local_code,
    }
    if local is not None:
        result["local"] = local.to_dict()
    return result


def suggestions_for(text: str) -> list[str]:
    """Valid codes one substitution or adjacent transposition away (empty when the text is not code-like)."""
    try:
        return codec.suggest(text)
    except InvalidCodeError:
        return []


def encode_frame(frame: pd.DataFrame, lat_column: str | None, lon_column: str | None,
                 length: int = codec.FULL_LENGTH) -> pd.DataFrame:
    """One chunk of a batch: every input column, plus ``code``, ``local_code``, ``commune_code`` and ``error``."""
    lats, lons = point_columns(frame, lat_column, lon_column)
    codes = codec.encode_many(lats, lons, length)
    status = codec.coordinate_status(lats, lons)
    columns = get_reverse_geocoder().columns(lats, lons)
    return add_columns(frame, {
        "code": null_where(codes, status != codec.COORD_OK),
        "local_code": columns["local_code"] if length == codec.FULL_LENGTH else None,
        "commune_code": columns["commune_code"],
        "error": [_COORDINATE_ERRORS.get(int(s)) for s in status],
    })


def decode_frame(frame: pd.DataFrame, code_column: str) -> pd.DataFrame:
    """One chunk of a batch: every input column, plus the decoded centre, bounds, commune and ``error``.

    Full codes are decoded in one vectorised call; local codes (rarer) one by one through the gazetteer.
    """
    if code_column not in frame.columns:
        raise InvalidInputError(f"no column {code_column!r} in the input; name it with --code-column",
                                parameter="code_column")
    texts = frame[code_column].fillna("").astype(str).to_numpy()
    areas = codec.decode_many(texts)
    bounds = {name: getattr(areas, name).copy() for name in ("lat", "lon", "south", "west", "north", "east")}
    errors: list[str | None] = [None if ok else f"invalid code ({codec.CODE_REASONS[s]})"
                                for ok, s in zip(areas.valid, areas.status)]
    full_codes = np.where(areas.valid, areas.code, "").astype(object)
    for i in np.flatnonzero(~areas.valid):
        if is_local_form(texts[i]):
            try:
                found = codec.decode(resolve(texts[i]).code)
            except (InvalidCodeError, LookupError) as error:
                errors[i] = str(error)
                continue
            for name, values in bounds.items():
                values[i] = getattr(found, name)
            full_codes[i], errors[i] = found.code, None
    valid = np.array([e is None for e in errors], dtype=bool)
    columns = get_reverse_geocoder().columns(np.where(valid, bounds["lat"], 0.0), np.where(valid, bounds["lon"], 0.0))
    out = add_columns(frame, {
        "full_code": null_where(full_codes, ~valid),
        **{name: np.where(valid, values, np.nan) for name, values in bounds.items()},
        "commune_code": null_where(columns["commune_code"], ~valid),
        "error": errors,
    })
    return out


def run_file(input_path: str | Path, output_path: str | Path, transform: Any, chunk_size: int = 50_000,
             progress: bool | None = None) -> dict[str, int]:
    """Stream a file through ``transform(chunk) -> chunk`` into the output, with a progress bar.

    Returns the number of rows and of rows with an error; the output appears only when the run completes.
    """
    rows = errors = 0
    with ChunkWriter(output_path) as writer, tqdm(total=count_rows(input_path), unit="row",
                                                  disable=None if progress is None else not progress) as bar:
        for chunk in read_chunks(input_path, chunk_size):
            result = transform(chunk)
            writer.write(result)
            rows += len(result)
            errors += int(result[error_column(result)].notna().sum())
            bar.update(len(result))
    return {"rows": rows, "errors": errors}


def error_column(frame: pd.DataFrame) -> str:
    """The name under which a batch chunk carries its per-row errors (``error``, or ``result_error``)."""
    return "result_error" if "result_error" in frame.columns else "error"
