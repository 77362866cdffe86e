"""The address code (vpostcode.codec): pinned vectors, a second implementation from the spec, properties, errors.

``tests/vectors/address_codes*.csv`` are generated once by ``scripts/make_code_vectors.py`` and then pinned: a change
of the codec that moves any code fails here. ``spec_encode`` / ``spec_cell`` below transcribe
``docs/address-code.md`` in plain Python integers, so the spec itself is checked against the codec and the vectors.
"""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vpostcode import codec
from vpostcode.errors import InvalidCodeError, InvalidCoordinateError, InvalidInputError, OutsideDomainError

VECTORS = Path(__file__).parent / "vectors"
HALF_QUANTUM = 0.5 / codec.QUANTA_PER_DEGREE
ALPHABET31 = codec.CHECK_ALPHABET


def read_csv(name: str) -> list[dict[str, str]]:
    with (VECTORS / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


VALID = read_csv("address_codes.csv")
INVALID = read_csv("address_codes_invalid.csv")


# --- A second implementation, from the spec's text ----------------------------------------------------------------

LAT_RADICES = (5, 5, 6, 5, 6, 5, 6, 5, 6)
LON_RADICES = (4, 6, 5, 6, 5, 6, 5, 6, 5)


def spec_encode(lat: float, lon: float, length: int) -> str:
    """Encode by the spec: quantise, check the domain, take mixed-radix digits, append the mod-31 check."""
    lat_q = math.floor(lat * 90_000_000 + 0.5) - 540_000_000
    lon_q = math.floor(lon * 90_000_000 + 0.5) - 9_180_000_000
    assert 0 <= lat_q <= 1_620_000_000 and 0 <= lon_q <= 1_458_000_000
    row, col = min(lat_q // 400, 4_049_999), min(lon_q // 450, 3_239_999)
    rows_below, cols_below = 4_050_000, 3_240_000
    values = []
    for level in range(length - 1):
        rows_below //= LAT_RADICES[level]
        cols_below //= LON_RADICES[level]
        digit = (row // rows_below % LAT_RADICES[level]) * LON_RADICES[level] + col // cols_below % LON_RADICES[level]
        values.append(digit + (10 if level == 0 else 0))
    total = sum((length - i) * v for i, v in enumerate(values))
    return "".join(ALPHABET31[v] for v in values) + ALPHABET31[-total % 31]


def spec_cell(code: str) -> tuple[float, float, float, float]:
    """(south, west, north, east) of a valid compact code, by the spec: exact integers, one division each."""
    values = [ALPHABET31.index(ch) for ch in code[:-1]]
    row = col = 0
    rows_below, cols_below = 4_050_000, 3_240_000
    for level, value in enumerate(values):
        digit = value - 10 if level == 0 else value
        rows_below //= LAT_RADICES[level]
        cols_below //= LON_RADICES[level]
        row += digit // LON_RADICES[level] * rows_below
        col += digit % LON_RADICES[level] * cols_below
    south_q, west_q = row * 400 + 540_000_000, col * 450 + 9_180_000_000
    return (south_q / 9e7, west_q / 9e7, (south_q + rows_below * 400) / 9e7, (west_q + cols_below * 450) / 9e7)


def spec_valid(code: str) -> bool:
    """Validity by the spec, for compact upper-case text."""
    if not 2 <= len(code) <= 10 or code[0] not in codec.FIRST_ALPHABET:
        return False
    if any(ch not in codec.ALPHABET for ch in code[1:-1]) or code[-1] not in ALPHABET31:
        return False
    return sum((len(code) - i) * ALPHABET31.index(ch) for i, ch in enumerate(code)) % 31 == 0


domain_lat = st.floats(min_value=codec.SOUTH, max_value=codec.NORTH)
domain_lon = st.floats(min_value=codec.WEST, max_value=codec.EAST)
lengths = st.integers(min_value=codec.MIN_LENGTH, max_value=codec.FULL_LENGTH)


def random_codes(count: int, length: int, seed: int) -> np.ndarray:
    """``count`` codes of ``length`` for seeded uniform points of the domain."""
    rng = np.random.default_rng(seed)
    lats = rng.uniform(codec.SOUTH, codec.NORTH, count)
    lons = rng.uniform(codec.WEST, codec.EAST, count)
    return codec.encode_many(lats, lons, length)


# --- Pinned vectors -------------------------------------------------------------------------------------------------


def test_vectors_cover_what_the_spec_promises() -> None:
    kinds = {row["kind"] for row in VALID}
    assert {"corner", "edge", "boundary", "quantisation", "island", "province", "random"} <= kinds
    provinces = {row["province_code"] for row in VALID if row["kind"] == "province"}
    assert len(provinces) == 34
    assert {int(row["length"]) for row in VALID} == set(range(2, 11))
    labels = " ".join(row["label"] for row in VALID)
    for island in ("Hoàng Sa", "Trường Sa", "Phú Quốc", "Côn Đảo"):
        assert island in labels


@pytest.mark.parametrize("row", VALID, ids=lambda row: f"{row['id']}-{row['code']}")
def test_vector(row: dict[str, str]) -> None:
    lat, lon, length = float(row["lat"]), float(row["lon"]), int(row["length"])
    code = codec.encode(lat, lon, length)
    assert code == row["code"]
    assert codec.format_code(code) == row["display"]
    assert codec.grid_indices(lat, lon) == (int(row["row"]), int(row["col"]))
    area = codec.decode(row["display"])
    bounds = (area.south, area.west, area.north, area.east, area.lat, area.lon)
    assert bounds == tuple(float(row[k]) for k in ("south", "west", "north", "east", "center_lat", "center_lon"))
    assert area.length == length and area.code == code


@pytest.mark.parametrize("row", VALID, ids=lambda row: f"{row['id']}-{row['code']}")
def test_vector_intermediates_follow_the_spec(row: dict[str, str]) -> None:
    """The CSV's integer intermediates are those of the spec's arithmetic (as a second implementation uses them)."""
    lat, lon, length = float(row["lat"]), float(row["lon"]), int(row["length"])
    assert int(row["lat_q"]) == math.floor(lat * 90_000_000 + 0.5) - 540_000_000
    assert int(row["lon_q"]) == math.floor(lon * 90_000_000 + 0.5) - 9_180_000_000
    assert int(row["row"]) == min(int(row["lat_q"]) // 400, codec.ROWS - 1)
    assert int(row["col"]) == min(int(row["lon_q"]) // 450, codec.COLS - 1)
    level_rows = [int(v) for v in row["level_rows"].split()]
    level_cols = [int(v) for v in row["level_cols"].split()]
    digits = [int(v) for v in row["digits"].split()]
    values = [int(v) for v in row["values"].split()]
    assert len(digits) == length - 1 and len(values) == length
    assert digits == [r * LON_RADICES[i] + c for i, (r, c) in enumerate(zip(level_rows, level_cols, strict=True))]
    assert values[:-1] == [digits[0] + 10, *digits[1:]]
    assert int(row["weighted_sum"]) == sum((length - i) * v for i, v in enumerate(values[:-1]))
    assert values[-1] == int(row["check_value"]) == -int(row["weighted_sum"]) % 31
    assert "".join(ALPHABET31[v] for v in values) == row["code"] == spec_encode(lat, lon, length)
    assert spec_cell(row["code"]) == tuple(float(row[k]) for k in ("south", "west", "north", "east"))


def test_vectors_in_one_batch() -> None:
    """The array forms give the pinned codes and bounds for all vectors at once."""
    for length in range(codec.MIN_LENGTH, codec.FULL_LENGTH + 1):
        rows = [row for row in VALID if int(row["length"]) == length]
        codes = codec.encode_many([float(r["lat"]) for r in rows], [float(r["lon"]) for r in rows], length)
        assert codes.tolist() == [r["code"] for r in rows]
    result = codec.decode_many(np.array([row["display"] for row in VALID]))
    assert result.valid.all()
    assert result.code.tolist() == [row["code"] for row in VALID]
    assert result.south.tolist() == [float(row["south"]) for row in VALID]
    assert result.lon.tolist() == [float(row["center_lon"]) for row in VALID]
    assert result.length.tolist() == [int(row["length"]) for row in VALID]


CODE_ERRORS = [row for row in INVALID if row["kind"] == "code"]
COORDINATE_ERRORS = [row for row in INVALID if row["kind"] == "coordinate"]


@pytest.mark.parametrize("row", CODE_ERRORS, ids=lambda row: row["note"])
def test_invalid_code_vector(row: dict[str, str]) -> None:
    text = row["input"].replace("\\x00", "\x00")
    assert not codec.is_valid(text)
    with pytest.raises(InvalidCodeError) as caught:
        codec.normalize(text)
    assert caught.value.slug == row["error"]
    assert caught.value.details["reason"] == row["hint"]
    with pytest.raises(InvalidCodeError):
        codec.decode(text)
    result = codec.decode_many([text.replace("\x00", "\ufffd")])
    assert codec.CODE_REASONS[int(result.status[0])] == row["reason"]
    assert int(result.error_position[0]) == int(row["position"] or 0)
    assert math.isnan(result.lat[0]) and result.code[0] == ""


@pytest.mark.parametrize("row", COORDINATE_ERRORS, ids=lambda row: row["note"])
def test_invalid_coordinate_vector(row: dict[str, str]) -> None:
    lat, lon, length = float(row["lat"]), float(row["lon"]), int(row["length"])
    expected = {"invalid-coordinate": InvalidCoordinateError, "outside-domain": OutsideDomainError,
                "invalid-input": InvalidInputError}[row["error"]]
    with pytest.raises(expected) as caught:
        codec.encode(lat, lon, length)
    assert caught.value.slug == row["error"]
    if row["reason"] != "bad-length":
        status = {"invalid": codec.COORD_INVALID, "outside-domain": codec.COORD_OUTSIDE}[row["reason"]]
        assert codec.coordinate_status([lat], [lon]).tolist() == [status]
        assert codec.encode_many([lat, 21.03], [lon, 105.85], length).tolist() == ["", codec.encode(21.03, 105.85)]


# --- Properties -----------------------------------------------------------------------------------------------------


@given(domain_lat, domain_lon, lengths)
def test_decoded_cell_contains_the_point(lat: float, lon: float, length: int) -> None:
    """The cell contains the point up to the quantisation (half a quantum, 0.6 mm) and has the spec's size."""
    area = codec.decode(codec.encode(lat, lon, length))
    assert area.south - HALF_QUANTUM <= lat and area.west - HALF_QUANTUM <= lon
    on_north_edge = area.north == codec.NORTH
    on_east_edge = area.east == codec.EAST
    assert lat < area.north - HALF_QUANTUM or (on_north_edge and lat <= area.north + HALF_QUANTUM)
    assert lon < area.east - HALF_QUANTUM or (on_east_edge and lon <= area.east + HALF_QUANTUM)
    height, width = codec.cell_degrees(length)
    assert area.north - area.south == pytest.approx(height, rel=1e-9)
    assert area.east - area.west == pytest.approx(width, rel=1e-9)
    assert area.south < area.lat < area.north and area.west < area.lon < area.east


@given(domain_lat, domain_lon, lengths)
def test_codec_agrees_with_the_spec(lat: float, lon: float, length: int) -> None:
    code = codec.encode(lat, lon, length)
    assert code == spec_encode(lat, lon, length)
    area = codec.decode(code)
    assert (area.south, area.west, area.north, area.east) == spec_cell(code)


@given(domain_lat, domain_lon, lengths, lengths)
def test_prefixes_nest(lat: float, lon: float, short: int, long: int) -> None:
    """A shorter code's data is a prefix of the longer one's, and its cell contains the longer code's cell."""
    assume(short <= long)
    short_code, long_code = codec.encode(lat, lon, short), codec.encode(lat, lon, long)
    assert long_code[: short - 1] == short_code[:-1]
    outer, inner = codec.decode(short_code), codec.decode(long_code)
    assert outer.south <= inner.south and inner.north <= outer.north
    assert outer.west <= inner.west and inner.east <= outer.east


@given(domain_lat, domain_lon)
def test_cell_index_round_trip(lat: float, lon: float) -> None:
    row, col = codec.grid_indices(lat, lon)
    code = codec.code_from_indices(row, col)
    assert code == codec.encode(lat, lon)
    assert codec.indices_from_code(code) == (row, col, codec.FULL_LENGTH)
    assert codec.check_character(code[:-1]) == code[-1]


@given(domain_lat, domain_lon, lengths, st.data())
def test_normalize_accepts_case_spaces_hyphens_and_confusables(lat: float, lon: float, length: int,
                                                               data: st.DataObject) -> None:
    code = codec.encode(lat, lon, length)
    typed = []
    for ch in code:
        ch = data.draw(st.sampled_from([ch, ch.lower()]))
        if ch == "0":
            ch = data.draw(st.sampled_from(["0", "O", "o"]))
        elif ch == "1":
            ch = data.draw(st.sampled_from(["1", "I", "i", "L", "l"]))
        typed.append(ch + data.draw(st.sampled_from(["", "", " ", "-", " - ", "\u2013", "\u00a0"])))
    text = data.draw(st.sampled_from(["", " ", "-"])) + "".join(typed)
    assert codec.normalize(text) == code
    assert codec.normalize(codec.normalize(text)) == code
    assert codec.is_valid(text)
    assert codec.decode(text).code == code
    assert codec.decode_many([text]).code.tolist() == [code]


@given(domain_lat, domain_lon, lengths, st.data())
def test_single_errors_are_detected(lat: float, lon: float, length: int, data: st.DataObject) -> None:
    """Any substitution or transposition of neighbours in a valid code gives an invalid code, and suggest finds it."""
    code = codec.encode(lat, lon, length)
    i = data.draw(st.integers(min_value=0, max_value=length - 1))
    symbol = data.draw(st.sampled_from([s for s in ALPHABET31 if s != code[i]]))
    substituted = code[:i] + symbol + code[i + 1:]
    assert not codec.is_valid(substituted)
    assert code in codec.suggest(substituted)
    j = data.draw(st.integers(min_value=0, max_value=length - 2))
    swapped = code[:j] + code[j + 1] + code[j] + code[j + 2:]
    if swapped != code:
        assert not codec.is_valid(swapped)
        assert code in codec.suggest(swapped)
    assert codec.suggest(code) == []


def _mutations(codes: np.ndarray, length: int) -> list[np.ndarray]:
    """Every substitution (31 symbols) and neighbour transposition of each code, as batches of code points."""
    cps = codes.astype(f"<U{length}").view("<u4").reshape(-1, length)
    symbols = np.frombuffer(ALPHABET31.encode(), dtype=np.uint8).astype("<u4")
    batches = []
    for position in range(length):
        batch = np.repeat(cps, len(symbols), axis=0)
        batch[:, position] = np.tile(symbols, len(cps))
        batches.append(batch[batch[:, position] != np.repeat(cps[:, position], len(symbols))])
    for position in range(length - 1):
        batch = cps.copy()
        batch[:, [position, position + 1]] = batch[:, [position + 1, position]]
        batches.append(batch[batch[:, position] != batch[:, position + 1]])
    return batches


@pytest.mark.parametrize(("length", "count"), [(10, 20_000), (9, 2_000), (6, 2_000), (3, 2_000), (2, 2_000)])
def test_every_substitution_and_transposition_is_detected(length: int, count: int) -> None:
    """Exhaustive over a large sample: 20,000 full codes x (10 x 30 substitutions + 9 transpositions), vectorised."""
    codes = random_codes(count, length, seed=length)
    assert codec.decode_many(codes).valid.all()
    checked = 0
    for batch in _mutations(codes, length):
        result = codec.decode_many(batch.view(f"<U{length}").ravel())
        assert not result.valid.any()
        checked += len(batch)
    cps = codes.view("<u4").reshape(-1, length)
    swaps = np.count_nonzero(cps[:, :-1] != cps[:, 1:])
    assert checked == count * length * 30 + swaps


def test_twin_and_jump_errors_are_detected() -> None:
    """The weights also catch jump transpositions (abc -> cba) and twin errors (aa -> bb), as the spec claims."""
    codes = random_codes(3_000, codec.FULL_LENGTH, seed=7)
    cps = codes.view("<u4").reshape(-1, codec.FULL_LENGTH)
    symbols = np.frombuffer(ALPHABET31.encode(), dtype=np.uint8).astype("<u4")
    for i in range(codec.FULL_LENGTH - 2):
        jump = cps.copy()
        jump[:, [i, i + 2]] = jump[:, [i + 2, i]]
        changed = jump[:, i] != jump[:, i + 2]
        assert not codec.decode_many(jump[changed].view("<U10").ravel()).valid.any()
    for i in range(codec.FULL_LENGTH - 1):
        for gap in (1, 2):
            if i + gap >= codec.FULL_LENGTH:
                continue
            twins = cps[cps[:, i] == cps[:, i + gap]]
            for symbol in symbols:
                batch = twins[twins[:, i] != symbol].copy()
                batch[:, [i, i + gap]] = symbol
                assert not codec.decode_many(batch.view("<U10").ravel()).valid.any()


@given(st.text(max_size=14))
def test_arbitrary_text_never_crashes(text: str) -> None:
    valid = codec.is_valid(text)
    assert isinstance(valid, bool)
    if valid:
        assert codec.normalize(text) == codec.decode(text).code
    else:
        with pytest.raises(InvalidCodeError):
            codec.normalize(text)
    assert codec.decode_many([text, "W5Y95HJ402"]).valid.tolist() == [valid, True]
    assert isinstance(codec.suggest(text), list)


@given(st.text(alphabet=ALPHABET31 + "EU", min_size=2, max_size=10))
def test_validity_matches_the_spec(text: str) -> None:
    assert codec.is_valid(text) == spec_valid(text)


# --- Array forms ----------------------------------------------------------------------------------------------------


def test_array_form_keeps_bad_rows_out_of_the_batch() -> None:
    lats = np.array([21.03, np.nan, 95.0, 30.0, np.inf, 10.78, -1e308])
    lons = np.array([105.85, 105.0, 105.0, 105.0, 105.0, 106.7, 105.0])
    codes = codec.encode_many(lats, lons)
    assert codes.tolist() == [codec.encode(21.03, 105.85), "", "", "", "", codec.encode(10.78, 106.7), ""]
    assert codec.coordinate_status(lats, lons).tolist() == [0, 1, 1, 2, 1, 0, 1]
    objects = codec.encode_many([21.03, None, "x", True], [105.85, 105.0, 105.0, 105.0])
    assert objects.tolist() == [codec.encode(21.03, 105.85), "", "", ""]


def test_array_form_shapes_and_broadcasting() -> None:
    codes = codec.encode_many(np.array([[21.03], [10.78]]), np.array([105.85, 106.7]), 6)
    assert codes.shape == (2, 2)
    assert codes[1, 1] == codec.encode(10.78, 106.7, 6)
    assert codec.encode_many([], [], 4).shape == (0,)
    result = codec.decode_many(codes)
    assert result.valid.shape == (2, 2) and result.valid.all()
    assert result.lat[0, 1] == codec.decode(codes[0, 1]).lat
    assert len(codec.decode_many([])) == 0


def test_decode_many_marks_each_kind_of_bad_row() -> None:
    good = codec.encode(21.03, 105.85)
    inputs = np.array([good, "bad", None, 42, "", good[:-1] + "3", good.lower(), "W5Y9 5HJ 402"], dtype=object)
    result = codec.decode_many(inputs)
    reasons = [codec.CODE_REASONS[s] for s in result.status.tolist()]
    assert reasons == ["ok", "bad-character", "not-a-string", "not-a-string", "wrong-length", "wrong-check",
                       "ok", "ok"]
    assert result.valid.tolist() == [r == "ok" for r in reasons]
    assert np.isnan(result.south[~result.valid]).all() and not np.isnan(result.south[result.valid]).any()
    assert result.code.tolist() == [good, "", "", "", "", "", good, good]


@given(st.lists(st.tuples(domain_lat, domain_lon), min_size=1, max_size=30), lengths)
def test_scalar_and_array_forms_agree(points: list[tuple[float, float]], length: int) -> None:
    lats, lons = zip(*points, strict=True)
    codes = codec.encode_many(np.array(lats), np.array(lons), length)
    assert codes.tolist() == [codec.encode(lat, lon, length) for lat, lon in points]
    result = codec.decode_many(codes)
    for i, code in enumerate(codes.tolist()):
        area = codec.decode(code)
        assert (result.south[i], result.east[i], result.lat[i], result.length[i]) == (
            area.south, area.east, area.lat, area.length)


# --- Scalar errors and small functions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("lat", "lon", "error"), [
    (math.nan, 105.0, InvalidCoordinateError), (21.0, math.inf, InvalidCoordinateError),
    (91.0, 105.0, InvalidCoordinateError), (21.0, -181.0, InvalidCoordinateError),
    ("21.0", 105.0, InvalidCoordinateError), (None, 105.0, InvalidCoordinateError),
    (True, 105.0, InvalidCoordinateError), (5.0, 105.0, OutsideDomainError), (21.0, 120.0, OutsideDomainError),
])
def test_encode_rejects_bad_coordinates(lat: Any, lon: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        codec.encode(lat, lon)
    assert issubclass(OutsideDomainError, InvalidCoordinateError)


@pytest.mark.parametrize("length", [0, 1, 11, 2.0, True, "10", None])
def test_encode_rejects_bad_lengths(length: Any) -> None:
    with pytest.raises(InvalidInputError):
        codec.encode(21.03, 105.85, length)
    with pytest.raises(InvalidInputError):
        codec.encode_many([21.03], [105.85], length)


def test_error_messages_are_specific() -> None:
    good = codec.encode(21.03, 105.85)
    cases = {
        good + "B": "2 to 10 characters",
        good[:3] + "A" + good[4:]: "position 4",
        "0" + good[1:]: "position 1",
        good[:-1] + ALPHABET31[(ALPHABET31.index(good[-1]) + 1) % 31]: "wrong check character",
        "E" + good[1:]: "later version",
        "10000-" + good[-7:]: "local code",
    }
    for text, fragment in cases.items():
        with pytest.raises(InvalidCodeError, match=fragment):
            codec.normalize(text)
    with pytest.raises(InvalidCodeError, match="must be a string"):
        codec.decode(12345)  # type: ignore[arg-type]
    assert not codec.is_valid(None)
    assert codec.suggest(None) == []  # type: ignore[arg-type]


def test_format_code_groups_four_three_three() -> None:
    code = codec.encode(21.03, 105.85)
    assert codec.format_code(code) == f"{code[:4]}-{code[4:7]}-{code[7:]}"
    assert codec.format_code(code.lower()) == codec.format_code(code)
    assert codec.format_code(codec.encode(21.03, 105.85, 4)) == codec.encode(21.03, 105.85, 4)
    assert codec.format_code(codec.encode(21.03, 105.85, 6)).count("-") == 1
    assert codec.decode(code).display == codec.format_code(code)


def test_suggest_repairs_a_wrong_check_character() -> None:
    code = codec.encode(16.05, 108.2)
    typo = code[:-1] + ALPHABET31[(ALPHABET31.index(code[-1]) + 3) % 31]
    suggestions = codec.suggest(typo)
    assert code in suggestions
    assert all(codec.is_valid(s) for s in suggestions)
    assert all(sum(a != b for a, b in zip(s, typo, strict=True)) <= 2 for s in suggestions)
    assert codec.suggest(code[:5]) == codec.suggest(code[:5].lower())
    assert codec.suggest("W5Y9") == [s for s in codec.suggest("W5Y9") if codec.is_valid(s)]
    assert codec.suggest("WUUUUUUUU3") == []  # two bad characters: one edit cannot fix them


def test_first_character_is_always_a_letter_and_alphabets_avoid_confusables() -> None:
    assert len(codec.ALPHABET) == 30 and len(set(codec.ALPHABET)) == 30
    assert len(ALPHABET31) == codec.PRIME == 31
    assert not set("AEIOUL") & set(codec.ALPHABET)
    assert codec.FIRST_ALPHABET.isalpha() and len(codec.FIRST_ALPHABET) == 20
    codes = random_codes(5_000, 10, seed=3)
    assert set(np.char.str_len(codes).tolist()) == {10}
    assert {c[0] for c in codes.tolist()} <= set(codec.FIRST_ALPHABET)
    assert not any(set(c[:-1]) & set("AEU") for c in codes.tolist())


def test_full_code_cells_are_sub_metre_everywhere() -> None:
    """Full cells are under 0.6 m on both axes at the domain's south and north edges (geodesic, WGS84)."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    height, width = codec.cell_degrees(codec.FULL_LENGTH)
    for lat in (codec.SOUTH, codec.NORTH - height):
        north_south = geod.inv(110.0, lat, 110.0, lat + height)[2]
        east_west = geod.inv(110.0, lat, 110.0 + width, lat)[2]
        assert 0.45 < north_south < 0.6 and 0.45 < east_west < 0.6
        approx_w, approx_h = codec.cell_size_m(height, width, lat)
        assert approx_h == pytest.approx(north_south, rel=2e-3) and approx_w == pytest.approx(east_west, rel=2e-3)
    area = codec.decode(codec.encode(21.03, 105.85))
    assert all(0.45 < size < 0.6 for size in area.cell_m)


def test_scalar_calls_stay_cheap() -> None:
    """A loose guard (50x the target) against a scalar path that falls off the fast path: 1,000 calls < 2.5 s."""
    code = codec.encode(21.03, 105.85)
    start = time.perf_counter()
    for _ in range(1_000):
        codec.encode(21.03, 105.85)
        codec.decode(code)
    assert time.perf_counter() - start < 2.5
