"""Generate the address-code test vectors: tests/vectors/address_codes.csv and address_codes_invalid.csv.

The points: the domain's corners and edge midpoints, points on cell edges of every level, points whose quantisation
is a tie or lands on an edge, the islands (Hoàng Sa, Trường Sa, Phú Quốc, Côn Đảo), three landmarks (the first is
the spec's worked example), one real commune in each of the 34 provinces (the representative point of the commune
with the smallest code, from communes_2025.gpkg) and seeded random points. Each is encoded at every length 2..10,
with the spec's integer intermediates.

The intermediates are computed here by a plain-Python transcription of the spec (``spec_*`` below), independent
of ``vpostcode.codec``; the script stops if the two disagree anywhere. Once written, the CSVs are pinned: the tests
check the codec against them, and a second implementation can be checked against them too.

    .venv/bin/python scripts/make_code_vectors.py [--sources ../shared/data] [--out tests/vectors]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from dataclasses import dataclass
from pathlib import Path

from vpostcode import codec
from vpostcode.config import sources_dir
from vpostcode.errors import InvalidCodeError, InvalidCoordinateError, InvalidInputError, OutsideDomainError

ROOT = Path(__file__).resolve().parent.parent
VECTOR_COLUMNS = [
    "id", "kind", "label", "province_code", "commune_code", "lat", "lon", "length", "lat_q", "lon_q", "row", "col",
    "level_rows", "level_cols", "digits", "values", "weighted_sum", "check_value", "code", "display",
    "south", "west", "north", "east", "center_lat", "center_lon",
]
INVALID_COLUMNS = ["id", "kind", "input", "lat", "lon", "length", "error", "reason", "position", "hint", "note"]


# --- The spec's arithmetic, transcribed in plain Python --------------------------------------------------------------


def spec_quantise(degrees: float) -> int:
    """floor(degrees * 90e6 + 0.5): one IEEE double product, then round half up (exact below 2**52)."""
    return math.floor(degrees * 90_000_000 + 0.5)


def spec_grid(lat: float, lon: float) -> tuple[int, int, int, int] | None:
    """(lat_q, lon_q, row, col), or None outside the domain."""
    lat_q = spec_quantise(lat) - 540_000_000
    lon_q = spec_quantise(lon) - 9_180_000_000
    if not (0 <= lat_q <= 1_620_000_000 and 0 <= lon_q <= 1_458_000_000):
        return None
    return lat_q, lon_q, min(lat_q // 400, 4_049_999), min(lon_q // 450, 3_239_999)


@dataclass(frozen=True)
class SpecCode:
    """A code of one length computed by the spec's arithmetic, with every intermediate."""

    level_rows: list[int]
    level_cols: list[int]
    digits: list[int]
    values: list[int]
    weighted_sum: int
    check_value: int
    code: str
    south: float
    west: float
    north: float
    east: float
    center_lat: float
    center_lon: float


def spec_code(row: int, col: int, length: int) -> SpecCode:
    """The code of the level-9 cell (row, col) truncated to ``length``, by the spec's definitions."""
    levels = length - 1
    level_rows = [(row // codec.ROWS_PER_CELL[n]) % codec.LAT_RADICES[n - 1] for n in range(1, levels + 1)]
    level_cols = [(col // codec.COLS_PER_CELL[n]) % codec.LON_RADICES[n - 1] for n in range(1, levels + 1)]
    digits = [r * codec.LON_RADICES[n] + c for n, (r, c) in enumerate(zip(level_rows, level_cols, strict=True))]
    values = [digits[0] + 10, *digits[1:]]
    weighted_sum = sum((length - i) * v for i, v in enumerate(values))
    check_value = -weighted_sum % 31
    code = "".join(codec.CHECK_ALPHABET[v] for v in [*values, check_value])
    south_row = sum(r * codec.ROWS_PER_CELL[n + 1] for n, r in enumerate(level_rows))
    west_col = sum(c * codec.COLS_PER_CELL[n + 1] for n, c in enumerate(level_cols))
    south_q = south_row * 400 + 540_000_000
    west_q = west_col * 450 + 9_180_000_000
    height_q = codec.ROWS_PER_CELL[levels] * 400
    width_q = codec.COLS_PER_CELL[levels] * 450
    return SpecCode(
        level_rows, level_cols, digits, [*values, check_value], weighted_sum, check_value, code,
        south_q / 90_000_000, west_q / 90_000_000, (south_q + height_q) / 90_000_000,
        (west_q + width_q) / 90_000_000, (2 * south_q + height_q) / 180_000_000,
        (2 * west_q + width_q) / 180_000_000,
    )


# --- The points ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """A vector point and what it is."""

    kind: str
    label: str
    lat: float
    lon: float
    province_code: str = ""
    commune_code: str = ""


def domain_points() -> list[Point]:
    """The domain's corners and edge midpoints (north and east edges included: they clamp into the last cell)."""
    s, n, w, e = codec.SOUTH, codec.NORTH, codec.WEST, codec.EAST
    mid_lat, mid_lon = (s + n) / 2, (w + e) / 2
    return [
        Point("corner", "south-west corner", s, w), Point("corner", "south-east corner", s, e),
        Point("corner", "north-west corner", n, w), Point("corner", "north-east corner", n, e),
        Point("edge", "south edge middle", s, mid_lon), Point("edge", "north edge middle", n, mid_lon),
        Point("edge", "west edge middle", mid_lat, w), Point("edge", "east edge middle", mid_lat, e),
        Point("edge", "just inside north edge", n - 1e-9, mid_lon),
        Point("edge", "just inside east edge", mid_lat, e - 1e-9),
        Point("quantisation", "below the south edge, rounds onto it", s - 5e-9, mid_lon),
        Point("quantisation", "beyond the north edge, rounds onto it", n + 4e-9, mid_lon),
    ]


def boundary_points() -> list[Point]:
    """Points exactly on (or a hair off) cell edges of every level, and quantisation ties."""
    points = [
        Point("boundary", "level-1 corner (16.8, 110.1)", 16.8, 110.1),
        Point("boundary", "level-1 corner (9.6, 106.05)", 9.6, 106.05),
        Point("boundary", "level-1 edges (20.4, 114.15)", 20.4, 114.15),
        Point("boundary", "level-1 edges (13.2, 110.1)", 13.2, 110.1),
    ]
    for level in range(2, codec.LEVELS + 1):  # a corner of a level-n cell that is no corner of a coarser cell
        rows = 3_000_000 // codec.ROWS_PER_CELL[level] + level
        cols = 1_000_000 // codec.COLS_PER_CELL[level] + level
        rows += rows % codec.LAT_RADICES[level - 1] == 0
        cols += cols % codec.LON_RADICES[level - 1] == 0
        lat = 6.0 + rows * codec.ROWS_PER_CELL[level] / 225_000
        lon = 102.0 + cols * codec.COLS_PER_CELL[level] / 200_000
        points.append(Point("boundary", f"level-{level} cell corner", lat, lon))
    edge = 21.0 + 1 / 225_000  # a level-9 row edge that is not a double
    points += [
        Point("boundary", "level-9 row edge (not a double)", edge, 105.85),
        Point("quantisation", "0.4 quantum below a level-9 row edge", edge - 0.4 / 90_000_000, 105.85),
        Point("quantisation", "0.6 quantum below a level-9 row edge", edge - 0.6 / 90_000_000, 105.85),
    ]
    ties = 0
    m = 1_890_000_000  # look for doubles whose scaled value is exactly k + 0.5: round half up decides
    while ties < 3:
        lat = (m + 0.5) / 90_000_000
        if lat * 90_000_000 == m + 0.5:
            points.append(Point("quantisation", f"tie: lat * 90e6 = {m}.5 exactly", lat, 105.85))
            ties += 1
        m += 400 * 7 + 1
    return points


def island_points() -> list[Point]:
    """The islands named in the spec, at the approximate points the issue gives."""
    return [
        Point("island", "Hoàng Sa (Paracel), approximate", 16.5, 111.6),
        Point("island", "Trường Sa (Spratly), approximate", 8.6, 111.9),
        Point("island", "Phú Quốc, approximate", 10.227, 103.967),
        Point("island", "Côn Đảo, approximate", 8.683, 106.607),
    ]


def landmark_points() -> list[Point]:
    """Well-known places; the first is the worked example of the spec."""
    return [
        Point("landmark", "Hồ Gươm, Hà Nội (worked example)", 21.0288, 105.8522),
        Point("landmark", "Nhà thờ Đức Bà, Thành phố Hồ Chí Minh", 10.7798, 106.699),
        Point("landmark", "Cầu Rồng, Đà Nẵng", 16.0612, 108.2275),
    ]


def commune_points(sources: Path) -> list[Point]:
    """One commune per province (the smallest commune code), and the four island special zones."""
    import geopandas as gpd

    communes = gpd.read_file(sources / "communes_2025.gpkg").sort_values("code")
    chosen = communes.groupby("province_code", sort=True).head(1)
    zones = communes[communes["code"].isin(["20333", "22736", "31078", "26732"])]
    points = []
    for kind, frame in (("province", chosen), ("island", zones)):
        reps = frame.geometry.representative_point()
        for (_, row), rep in zip(frame.iterrows(), reps, strict=True):
            points.append(Point(kind, str(row["full_name"]), float(rep.y), float(rep.x),
                                str(row["province_code"]), str(row["code"])))
    return points


def random_points(count: int, seed: int) -> list[Point]:
    """Seeded uniform points in the domain."""
    rng = random.Random(seed)
    return [
        Point("random", f"random #{i + 1}", rng.uniform(codec.SOUTH, codec.NORTH), rng.uniform(codec.WEST, codec.EAST))
        for i in range(count)
    ]


# --- Writing ---------------------------------------------------------------------------------------------------------


def vector_rows(points: list[Point]) -> list[dict[str, object]]:
    """Every point at every length, checked against the codec."""
    rows: list[dict[str, object]] = []
    for point in points:
        grid = spec_grid(point.lat, point.lon)
        if grid is None:
            raise SystemExit(f"vector point outside the domain: {point}")
        lat_q, lon_q, row, col = grid
        if codec.grid_indices(point.lat, point.lon) != (row, col):
            raise SystemExit(f"codec and spec disagree on the grid cell of {point}")
        for length in range(codec.MIN_LENGTH, codec.FULL_LENGTH + 1):
            spec = spec_code(row, col, length)
            code = codec.encode(point.lat, point.lon, length)
            area = codec.decode(code)
            mine = (area.south, area.west, area.north, area.east, area.lat, area.lon)
            theirs = (spec.south, spec.west, spec.north, spec.east, spec.center_lat, spec.center_lon)
            if code != spec.code or mine != theirs:
                raise SystemExit(f"codec and spec disagree at length {length} for {point}: {code} / {spec.code}")
            rows.append({
                "id": len(rows) + 1, "kind": point.kind, "label": point.label,
                "province_code": point.province_code, "commune_code": point.commune_code,
                "lat": repr(point.lat), "lon": repr(point.lon), "length": length,
                "lat_q": lat_q, "lon_q": lon_q, "row": row, "col": col,
                "level_rows": " ".join(map(str, spec.level_rows)), "level_cols": " ".join(map(str, spec.level_cols)),
                "digits": " ".join(map(str, spec.digits)), "values": " ".join(map(str, spec.values)),
                "weighted_sum": spec.weighted_sum, "check_value": spec.check_value,
                "code": code, "display": codec.format_code(code),
                "south": repr(spec.south), "west": repr(spec.west), "north": repr(spec.north),
                "east": repr(spec.east), "center_lat": repr(spec.center_lat), "center_lon": repr(spec.center_lon),
            })
    return rows


def _swap(code: str, i: int) -> str:
    return code[:i] + code[i + 1] + code[i] + code[i + 2:]


def _substitute(code: str, i: int, symbol: str) -> str:
    return code[:i] + symbol + code[i + 1:]


def invalid_rows() -> list[dict[str, object]]:
    """Inputs that must fail, each with the error class slug, the codec's reason and the message hint."""
    hanoi = codec.encode(21.03, 105.85)
    other_check = codec.CHECK_ALPHABET[(codec.CHECK_ALPHABET.index(hanoi[-1]) + 1) % 31]
    code_cases: list[tuple[str, str]] = [
        ("", "empty"),
        (hanoi[0], "one character"),
        (hanoi + "B", "11 characters"),
        ("-- --", "separators only"),
        (hanoi[:-1] + other_check, "wrong check character"),
        (_substitute(hanoi, 4, "Q" if hanoi[4] != "Q" else "R"), "one substitution"),
        (_swap(hanoi, 2), "adjacent transposition"),
        (_swap(hanoi, 8), "transposition with the check character"),
        (hanoi[:4] + hanoi[5:] + hanoi[4], "a character moved"),
        ("0" + hanoi[1:], "digit in the first position"),
        ("A" + hanoi[1:], "A (check-only) in the first position"),
        ("E" + hanoi[1:], "E is reserved for a later version"),
        ("U" + hanoi[1:], "U is reserved for a later version"),
        (hanoi[:3] + "A" + hanoi[4:], "A (check-only) in a data position"),
        (hanoi[:-1] + "U", "U is in no alphabet"),
        (hanoi[:5] + "\u00dc" + hanoi[6:], "non-ASCII letter"),
        (hanoi[:5] + "_" + hanoi[6:], "underscore is not a separator"),
        (hanoi[:5] + "\x00" + hanoi[6:], "NUL character"),
        ("10000-" + hanoi[-7:], "a local code"),
    ]
    rows: list[dict[str, object]] = []
    for text, note in code_cases:
        try:
            codec.normalize(text)
        except InvalidCodeError as error:
            result = codec.decode_many([text.replace("\x00", "\ufffd")])
            rows.append({
                "kind": "code", "input": text.replace("\x00", "\\x00"), "error": error.slug,
                "reason": codec.CODE_REASONS[int(result.status[0])],
                "position": int(result.error_position[0]) or "", "hint": error.details.get("reason", ""), "note": note,
            })
        else:
            raise SystemExit(f"invalid vector {text!r} ({note}) was accepted")
    coordinate_cases: list[tuple[str, str, str, str]] = [
        ("nan", "105.85", "10", "NaN latitude"),
        ("21.03", "nan", "10", "NaN longitude"),
        ("inf", "105.85", "10", "infinite latitude"),
        ("21.03", "-inf", "10", "infinite longitude"),
        ("90.0001", "105.85", "10", "latitude above 90"),
        ("-91", "105.85", "10", "latitude below -90"),
        ("21.03", "180.5", "10", "longitude above 180"),
        ("1e308", "105.85", "10", "huge latitude"),
        ("5.99", "110", "10", "south of the domain"),
        ("24.0000001", "110", "10", "north of the domain"),
        ("15", "101.99", "10", "west of the domain"),
        ("15", "118.20000002", "10", "east of the domain (after rounding)"),
        ("-33.86", "151.2", "10", "Sydney: valid, outside the domain"),
        ("21.03", "105.85", "1", "length 1"),
        ("21.03", "105.85", "11", "length 11"),
        ("21.03", "105.85", "0", "length 0"),
    ]
    for lat, lon, length, note in coordinate_cases:
        try:
            codec.encode(float(lat), float(lon), int(length))
        except (InvalidCoordinateError, OutsideDomainError, InvalidInputError) as error:
            reason = {"outside-domain": "outside-domain", "invalid-input": "bad-length"}.get(error.slug, "invalid")
            rows.append({"kind": "coordinate", "lat": lat, "lon": lon, "length": length, "error": error.slug,
                         "reason": reason, "note": note})
        else:
            raise SystemExit(f"invalid coordinate vector ({lat}, {lon}, {length}) was accepted")
    for number, row in enumerate(rows, start=1):
        row["id"] = number
    return rows


def write_csv(path: Path, columns: list[str], rows: list[dict[str, object]]) -> None:
    """Write rows with a fixed column order and Unix line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in columns})


def main() -> None:
    """Parse the options, build both vector files and report their size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=Path, default=None, help="source bundle (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "vectors", help="output directory")
    parser.add_argument("--random", type=int, default=40, help="number of seeded random points")
    parser.add_argument("--seed", type=int, default=20250701)
    args = parser.parse_args()
    points = (domain_points() + boundary_points() + island_points() + landmark_points()
              + commune_points(sources_dir(args.sources)) + random_points(args.random, args.seed))
    rows = vector_rows(points)
    write_csv(args.out / "address_codes.csv", VECTOR_COLUMNS, rows)
    invalid = invalid_rows()
    write_csv(args.out / "address_codes_invalid.csv", INVALID_COLUMNS, invalid)
    print(f"{len(points)} points, {len(rows)} vectors -> {args.out / 'address_codes.csv'}")
    print(f"{len(invalid)} invalid inputs -> {args.out / 'address_codes_invalid.csv'}")


if __name__ == "__main__":
    main()
