"""The local form's arithmetic (vpostcode.localcode_math): tail length, shorten and recover around a reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpostcode import codec
from vpostcode import localcode_math as lm
from vpostcode.errors import InvalidCodeError, InvalidCoordinateError, OutsideDomainError

ROW_DEG, COL_DEG = codec.cell_degrees(codec.FULL_LENGTH)


@st.composite
def units(draw: st.DrawFn) -> tuple[float, float, lm.BBox]:
    """A unit: a bounding box from about 5 m to 400 km across, inside the domain, and a reference point in it."""
    height = draw(st.floats(min_value=5e-5, max_value=3.6))
    width = draw(st.floats(min_value=5e-5, max_value=3.6))
    south = draw(st.floats(min_value=codec.SOUTH, max_value=codec.NORTH - height))
    west = draw(st.floats(min_value=codec.WEST, max_value=codec.EAST - width))
    bbox = (south, west, south + height, west + width)
    ref_lat = draw(st.floats(min_value=south, max_value=south + height))
    ref_lon = draw(st.floats(min_value=west, max_value=west + width))
    return ref_lat, ref_lon, bbox


def _points_of(bbox: lm.BBox, rng: np.random.Generator, count: int) -> list[tuple[float, float]]:
    """The bbox's corners and edge midpoints, plus random points inside."""
    south, west, north, east = bbox
    fixed = [(lat, lon) for lat in (south, (south + north) / 2, north) for lon in (west, (west + east) / 2, east)]
    lats = rng.uniform(south, north, count)
    lons = rng.uniform(west, east, count)
    return fixed + list(zip(lats.tolist(), lons.tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(units(), st.integers(min_value=0, max_value=2**32 - 1))
def test_every_point_of_the_bbox_round_trips(unit: tuple[float, float, lm.BBox], seed: int) -> None:
    ref_lat, ref_lon, bbox = unit
    tail_length = lm.tail_length(ref_lat, ref_lon, bbox)
    for lat, lon in _points_of(bbox, np.random.default_rng(seed), 40):
        code = codec.encode(lat, lon)
        tail = lm.shorten_with_reference(code, ref_lat, ref_lon, bbox)
        assert len(tail) == tail_length + 1 and code.endswith(tail)
        assert lm.recover_with_reference(tail, ref_lat, ref_lon) == code
        local = lm.format_local("10000", tail)
        assert lm.parse_local(local.lower().replace("-", " ")) == ("10000", tail)


def test_every_cell_of_a_small_bbox_round_trips() -> None:
    """Exhaustive: all 40 x 36 level-9 cells of a small box around a level-7 corner (where shifts are needed)."""
    row0, col0 = 30 * 112_500, 30 * 25_700  # a level-7 cell corner near Hà Nội
    rows, cols = range(row0 - 20, row0 + 20), range(col0 - 18, col0 + 18)
    centre = lambda r, c: codec.decode(codec.code_from_indices(r, c))  # noqa: E731
    sw, ne = centre(rows[0], cols[0]), centre(rows[-1], cols[-1])
    bbox = (sw.lat, sw.lon, ne.lat, ne.lon)
    ref = centre(row0, col0)
    tail_length = lm.tail_length(ref.lat, ref.lon, bbox)
    assert tail_length == 3  # 40 rows exceed a 30-row level-7 cell: the prefix is level 6 (180 x 150 cells)
    for r in rows:
        for c in cols:
            code = codec.code_from_indices(r, c)
            tail = lm.shorten_with_reference(code, ref.lat, ref.lon, bbox)
            assert lm.recover_with_reference(tail, ref.lat, ref.lon) == code


@settings(max_examples=60, deadline=None)
@given(units())
def test_tail_length_is_minimal(unit: tuple[float, float, lm.BBox]) -> None:
    """With one data character fewer, some corner of the bbox recovers to a different code (or fails)."""
    ref_lat, ref_lon, bbox = unit
    tail_length = lm.tail_length(ref_lat, ref_lon, bbox)
    if tail_length == lm.MIN_TAIL:
        return
    south, west, north, east = bbox
    corners = ((south, west), (south, east), (north, west), (north, east))
    assert any(_recovers_elsewhere(codec.encode(lat, lon), tail_length - 1, ref_lat, ref_lon) for lat, lon in corners)


def _recovers_elsewhere(code: str, tail: int, ref_lat: float, ref_lon: float) -> bool:
    """True when the code's last ``tail`` data characters (and check) do not recover to the code itself."""
    try:
        return lm.recover_with_reference(code[-(tail + 1):], ref_lat, ref_lon) != code
    except InvalidCodeError:
        return True


def test_recovery_window_is_one_prefix_cell_around_the_reference() -> None:
    ref_row, ref_col = codec.grid_indices(16.05, 108.2)
    for tail in range(lm.MIN_TAIL, lm.MAX_TAIL):
        (row_lo, row_hi), (col_lo, col_hi) = lm.recovery_window(ref_row, ref_col, tail)
        level = lm.MAX_TAIL - tail
        assert row_hi - row_lo + 1 == codec.ROWS_PER_CELL[level]
        assert col_hi - col_lo + 1 == codec.COLS_PER_CELL[level]
        assert row_lo <= ref_row <= row_hi and col_lo <= ref_col <= col_hi
        ref = codec.code_from_indices(ref_row, ref_col)
        for row, col in ((row_lo, col_lo), (row_hi, col_hi), (row_lo, col_hi), (row_hi, col_lo)):
            code = codec.code_from_indices(row, col)
            assert lm.recover_with_reference(code[-(tail + 1):], 16.05, 108.2) == code
        outside = codec.code_from_indices(row_hi + 1, ref_col)
        assert _recovers_elsewhere(outside, tail, 16.05, 108.2)
        assert codec.code_from_indices(ref_row, ref_col) == ref
    assert lm.recovery_window(ref_row, ref_col, lm.MAX_TAIL) == ((0, codec.ROWS - 1), (0, codec.COLS - 1))


def test_tail_lengths_of_typical_units() -> None:
    """A 2 km ward needs 5 data characters with a central reference, 6 with one near its edge (the window must
    reach the far side); a 20 km rural commune 7; an archipelago 9 (the whole code); a single point 1."""
    ward = (21.02, 105.845, 21.04, 105.865)
    assert lm.tail_length(21.03, 105.855, ward) == 5
    assert lm.tail_length(21.021, 105.846, ward) == 6
    assert lm.tail_length(19.0, 104.5, (18.9, 104.4, 19.1, 104.6)) == 7
    assert lm.tail_length(10.0, 114.0, (7.18, 111.5, 11.5, 117.8)) == 9
    assert lm.tail_length(21.03, 105.85, (21.03, 105.85, 21.03, 105.85)) == 1


def test_point_outside_the_window_cannot_be_shortened() -> None:
    bbox = (21.02, 105.845, 21.04, 105.865)
    far = codec.encode(21.3, 105.85)
    with pytest.raises(InvalidCodeError, match="too far") as caught:
        lm.shorten_with_reference(far, 21.0285, 105.8542, bbox)
    assert caught.value.details["reason"] == "outside-reference-area"
    with pytest.raises(InvalidCodeError, match="full"):
        lm.shorten_with_reference(codec.encode(21.03, 105.85, 8), 21.0285, 105.8542, bbox)


def test_recovery_detects_a_mistyped_tail_or_postal_code() -> None:
    bbox = (21.02, 105.845, 21.04, 105.865)
    ref = (21.0285, 105.8542)
    code = codec.encode(21.031, 105.851)
    tail = lm.shorten_with_reference(code, *ref, bbox)
    last = codec.CHECK_ALPHABET[(codec.CHECK_ALPHABET.index(tail[-1]) + 1) % codec.PRIME]
    with pytest.raises(InvalidCodeError, match="wrong check") as caught:
        lm.recover_with_reference(tail[:-1] + last, *ref)
    assert caught.value.details["reason"] == "wrong-check"
    swapped = tail[1] + tail[0] + tail[2:]
    if swapped != tail:
        with pytest.raises(InvalidCodeError):
            lm.recover_with_reference(swapped, *ref)
    # the same tail read against a reference elsewhere (a mistyped postal code) fails its check
    with pytest.raises(InvalidCodeError):
        lm.recover_with_reference(tail, 10.78, 106.7)


def test_substitutions_in_the_tail_are_caught_when_the_recovered_prefix_stays() -> None:
    """A substituted tail character recovers to a code differing in one character, or in the prefix too; the
    first case is always detected, and over many tails nearly all are."""
    rng = np.random.default_rng(11)
    ref = (16.0544, 108.2022)
    bbox = (16.03, 108.18, 16.08, 108.23)
    detected = total = 0
    for lat, lon in zip(rng.uniform(16.03, 16.08, 200), rng.uniform(108.18, 108.23, 200), strict=True):
        code = codec.encode(float(lat), float(lon))
        tail = lm.shorten_with_reference(code, *ref, bbox)
        i = int(rng.integers(0, len(tail)))
        symbols = codec.ALPHABET if i < len(tail) - 1 else codec.CHECK_ALPHABET
        typo = tail[:i] + symbols[(symbols.index(tail[i]) + 1) % len(symbols)] + tail[i + 1:]
        total += 1
        try:
            recovered = lm.recover_with_reference(typo, *ref)
        except InvalidCodeError:
            detected += 1
            continue
        assert recovered[:-len(tail)] != code[:-len(tail)]  # only a prefix shift can hide a substitution
    assert detected >= total * 0.9


def test_recover_with_references_lists_every_match_in_order() -> None:
    bbox = (21.02, 105.845, 21.04, 105.865)
    ref_2025, ref_2020 = (21.0285, 105.8542), (21.0300, 105.8500)
    code = codec.encode(21.031, 105.851)
    tail = lm.shorten_with_reference(code, *ref_2025, bbox)
    found = lm.recover_with_references(tail, [ref_2025, ref_2020, (10.78, 106.7)])
    assert found[0] == (0, code)
    assert all(index != 2 for index, _ in found)
    assert lm.recover_with_references(tail, []) == []
    with pytest.raises(InvalidCodeError):
        lm.recover_with_references("Q", [ref_2025])


@pytest.mark.parametrize(("text", "reason"), [
    ("1000-ABC", "not-local-form"), ("ABCDE-12345", "not-local-form"), ("10000", "wrong-length"),
    ("10000-" + "2" * 11, "wrong-length"), ("10000-2U3", "bad-character"), ("10000-A23", "bad-character"),
    ("10000-0123456789", "bad-character"),
])
def test_parse_local_rejects(text: str, reason: str) -> None:
    assert not lm.is_local_form(text)
    with pytest.raises(InvalidCodeError) as caught:
        lm.parse_local(text)
    assert caught.value.details["reason"] == reason


def test_parse_and_format_local() -> None:
    assert lm.parse_local("1O000 - q47qgyy") == ("10000", "Q47QGYY")
    assert lm.format_local("10000", "q47-qgyy") == "10000-Q47QGYY"
    assert lm.is_local_form("10000-Q47QGYY") and not lm.is_local_form(codec.encode(21.03, 105.85))
    with pytest.raises(InvalidCodeError):
        lm.format_local("1000", "Q47QGYY")
    with pytest.raises(InvalidCodeError):
        lm.parse_local(10000)  # type: ignore[arg-type]


def test_bad_references_and_boxes() -> None:
    with pytest.raises(OutsideDomainError):
        lm.tail_length(0.0, 0.0, (0.0, 0.0, 1.0, 1.0))
    with pytest.raises(InvalidCoordinateError):
        lm.tail_length(21.0, 105.0, (21.1, 105.0, 21.0, 105.1))
    with pytest.raises(InvalidCoordinateError):
        lm.tail_length(21.0, 105.0, (float("nan"), 105.0, 21.1, 105.1))
    with pytest.raises(InvalidCodeError):
        lm.recovery_window(0, 0, 0)
