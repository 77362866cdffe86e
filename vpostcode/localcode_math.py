"""Arithmetic of the local form of an address code: a commune's postal code plus the tail of the full code.

A local code reads ``PPPPP-TAIL``: the 5-digit postal code of the commune it was made for, then the last ``t``
data characters of the full code and its check character. It is recovered from the commune's *reference* (a point
inside the commune and its bounding box, both published in the gazetteer), like an Open Location Code short code:
take the reference point's full code, put the tail in place of its last ``t`` data characters, move the result by
one level-(9 - t) cell in each axis when that brings it nearer the reference, then verify the check character.

Everything here is pure integer arithmetic on the level-9 grid indices of ``vpostcode.codec``: no I/O, no gazetteer.
The lead module wraps it as ``shorten(code, commune)`` / ``recover(local_code)``. Normative text:
``docs/address-code.md``, section "Local form".

Bounding boxes are ``(south, west, north, east)`` in degrees, as ``vpostcode.types.Commune.bbox``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from vpostcode import codec
from vpostcode.errors import InvalidCodeError, InvalidCoordinateError

POSTAL_CODE_LENGTH: Final = 5
MIN_TAIL: Final = 1
"""Fewest data characters in a tail (the tail then has 2 characters with its check character)."""
MAX_TAIL: Final = codec.LEVELS
"""Most data characters in a tail: 9, the whole full code (for units spanning more than a level-1 cell)."""

BBox = tuple[float, float, float, float]
"""(south, west, north, east) in degrees."""
Window = tuple[tuple[int, int], tuple[int, int]]
"""((first row, last row), (first column, last column)) of level-9 cells, inclusive."""


def recovery_window(ref_row: int, ref_col: int, tail: int) -> Window:
    """The level-9 cells that a tail of ``tail`` data characters recovers to, around the reference cell.

    With prefix level ``k = 9 - tail``, a level-k cell spans ``D`` rows (``codec.ROWS_PER_CELL[k]``); the window
    holds the ``D`` rows ``ref_row - D // 2 .. ref_row + D - D // 2 - 1`` (and likewise for columns): exactly one
    row of each residue modulo ``D``, so the tail (which fixes the row modulo ``D``) names exactly one row in it.
    A 9-character tail is the whole code: its window is the whole grid.
    """
    _check_tail(tail)
    if tail == MAX_TAIL:
        return (0, codec.ROWS - 1), (0, codec.COLS - 1)
    level = MAX_TAIL - tail
    rows, cols = codec.ROWS_PER_CELL[level], codec.COLS_PER_CELL[level]
    return (
        (ref_row - rows // 2, ref_row + rows - rows // 2 - 1),
        (ref_col - cols // 2, ref_col + cols - cols // 2 - 1),
    )


def _check_tail(tail: int) -> None:
    """Raise InvalidCodeError unless ``tail`` is a tail length (1..9 data characters)."""
    if not MIN_TAIL <= tail <= MAX_TAIL:
        raise InvalidCodeError(f"a tail has {MIN_TAIL} to {MAX_TAIL} data characters, not {tail}", tail=tail)


def _bbox_indices(bbox: BBox) -> Window:
    """The level-9 rows and columns of a bounding box's south-west and north-east corners."""
    south, west, north, east = (float(value) for value in bbox)
    if not all(math.isfinite(value) for value in (south, west, north, east)) or south > north or west > east:
        raise InvalidCoordinateError(f"a bounding box is (south, west, north, east) with south <= north and "
                                     f"west <= east, got {bbox!r}", bbox=list(bbox))
    row_s, col_w = codec.grid_indices(south, west)
    row_n, col_e = codec.grid_indices(north, east)
    return (row_s, row_n), (col_w, col_e)


def _inside(window: Window, rows: tuple[int, int], cols: tuple[int, int]) -> bool:
    """True when the row range and column range both lie inside the window."""
    (row_lo, row_hi), (col_lo, col_hi) = window
    return row_lo <= rows[0] and rows[1] <= row_hi and col_lo <= cols[0] and cols[1] <= col_hi


def tail_length(ref_lat: float, ref_lon: float, bbox: BBox) -> int:
    """The smallest tail (data characters) with which every point of ``bbox`` recovers from the reference point.

    That is the smallest ``t`` whose recovery window (``recovery_window``) around the reference point's level-9
    cell contains the level-9 cells of the bounding box's corners; 9 (the whole code) when none does.
    """
    ref_row, ref_col = codec.grid_indices(ref_lat, ref_lon)
    rows, cols = _bbox_indices(bbox)
    for tail in range(MIN_TAIL, MAX_TAIL):
        if _inside(recovery_window(ref_row, ref_col, tail), rows, cols):
            return tail
    return MAX_TAIL


def shorten_with_reference(code: str, ref_lat: float, ref_lon: float, bbox: BBox) -> str:
    """The tail of a full code for the unit with this reference: its last ``t`` data characters and its check.

    ``t`` is ``tail_length(ref_lat, ref_lon, bbox)``. Raises InvalidCodeError when the code is not a valid full
    (10-character) code, or when its cell lies outside the recovery window (the local form would recover to
    another place: use the full code, or the unit the point is in).
    """
    full = codec.normalize(code)
    if len(full) != codec.FULL_LENGTH:
        raise InvalidCodeError(
            f"only a full {codec.FULL_LENGTH}-character code has a local form, {code!r} has {len(full)}",
            reason="not-full-code",
        )
    row, col, _ = codec.indices_from_code(full)
    tail = tail_length(ref_lat, ref_lon, bbox)
    ref_row, ref_col = codec.grid_indices(ref_lat, ref_lon)
    if not _inside(recovery_window(ref_row, ref_col, tail), (row, row), (col, col)):
        raise InvalidCodeError(
            f"{full} is too far from this unit's reference point for its local form: use the full code",
            reason="outside-reference-area",
        )
    return full[-(tail + 1):]


def _normalise_tail(tail: str) -> str:
    """The tail upper-cased, without separators, confusables read as in ``codec.normalize``; checked symbols.

    Raises InvalidCodeError for a wrong length or a character not allowed at its position (the first character of
    a 10-character tail is a level-1 letter; data characters come from ``codec.ALPHABET``; the last one is the
    check character, from ``codec.CHECK_ALPHABET``).
    """
    if not isinstance(tail, str):
        raise InvalidCodeError(f"a tail must be a string, got {type(tail).__name__}", reason="not-a-string")
    text = "".join(codec.CONFUSABLES.get(ch, ch) for ch in tail.upper() if ch not in codec.SEPARATORS)
    if not MIN_TAIL + 1 <= len(text) <= MAX_TAIL + 1:
        raise InvalidCodeError(
            f"the tail of a local code has {MIN_TAIL + 1} to {MAX_TAIL + 1} characters, {tail!r} has {len(text)}",
            reason="wrong-length",
        )
    for position, char in enumerate(text, start=1):
        if position == len(text):
            allowed = codec.CHECK_ALPHABET
        elif position == 1 and len(text) == MAX_TAIL + 1:
            allowed = codec.FIRST_ALPHABET
        else:
            allowed = codec.ALPHABET
        if char not in allowed:
            raise InvalidCodeError(
                f"bad character {char!r} at position {position} of the tail {tail!r}: expected one of {allowed}",
                reason="bad-character",
                position=position,
            )
    return text


def recover_with_reference(tail: str, ref_lat: float, ref_lon: float) -> str:
    """The full code that a tail stands for near this reference point (OLC's "recover nearest", on the grid).

    The reference point's full code with its last ``t`` data characters replaced by the tail's gives a cell in the
    reference's level-(9 - t) cell; it is moved by one such cell north or south (east or west) when that puts it in
    the recovery window, i.e. nearer the reference. The tail's check character must then match the full code's:
    else InvalidCodeError (the tail, or the postal code that chose the reference, is mistyped).
    """
    text = _normalise_tail(tail)
    data = len(text) - 1
    ref_row, ref_col = codec.grid_indices(ref_lat, ref_lon)
    ref_code = codec.code_from_indices(ref_row, ref_col)
    candidate_data = ref_code[: codec.LEVELS - data] + text[:-1]
    row, col, _ = codec.indices_from_code(candidate_data + codec.check_character(candidate_data))
    (row_lo, _), (col_lo, _) = recovery_window(ref_row, ref_col, data)
    level = MAX_TAIL - data
    rows, cols = codec.ROWS_PER_CELL[level], codec.COLS_PER_CELL[level]
    row = row_lo + (row - row_lo) % rows
    col = col_lo + (col - col_lo) % cols
    if not (0 <= row < codec.ROWS and 0 <= col < codec.COLS):
        raise InvalidCodeError(
            f"the tail {tail!r} recovers to a place outside the address-code domain from this reference",
            reason="outside-domain",
        )
    full = codec.code_from_indices(row, col)
    if full[-1] != text[-1]:
        raise InvalidCodeError(
            f"wrong check character in the local code tail {tail!r}: the tail or the postal code is mistyped",
            reason="wrong-check",
        )
    return full


def recover_with_references(tail: str, references: Sequence[tuple[float, float]]) -> list[tuple[int, str]]:
    """Recover a tail from each reference in turn: (index, full code) for every reference whose check matches.

    The resolution rule of the spec (a 2025 postal code's commune first, then a 2020 one's legacy ward) takes the
    first entry; further entries with a different code are the alternatives a client is told about. A tail that
    is malformed raises InvalidCodeError; a reference that gives a wrong check is skipped.
    """
    _normalise_tail(tail)
    found: list[tuple[int, str]] = []
    for index, (lat, lon) in enumerate(references):
        try:
            found.append((index, recover_with_reference(tail, lat, lon)))
        except InvalidCodeError as error:
            if error.details.get("reason") not in ("wrong-check", "outside-domain"):
                raise
    return found


def parse_local(local_code: str) -> tuple[str, str]:
    """Split a local code into (postal code, tail), both normalised; InvalidCodeError when it is not one.

    Separators, case and confusables are read as in ``codec.normalize``; the first five characters must be digits
    (no full code starts with a digit) and the rest a well-formed tail.
    """
    if not isinstance(local_code, str):
        raise InvalidCodeError(f"a local code must be a string, got {type(local_code).__name__}", reason="not-a-string")
    text = "".join(codec.CONFUSABLES.get(ch, ch) for ch in local_code.upper() if ch not in codec.SEPARATORS)
    postal, tail = text[:POSTAL_CODE_LENGTH], text[POSTAL_CODE_LENGTH:]
    if len(postal) < POSTAL_CODE_LENGTH or not all(ch in "0123456789" for ch in postal):
        raise InvalidCodeError(
            f"a local code starts with a {POSTAL_CODE_LENGTH}-digit postal code, {local_code!r} does not",
            reason="not-local-form",
        )
    return postal, _normalise_tail(tail)


def is_local_form(text: str) -> bool:
    """True when ``text`` reads as a local code (five digits, then a well-formed tail); never raises."""
    try:
        parse_local(text)
    except InvalidCodeError:
        return False
    return True


def format_local(postal_code: str, tail: str) -> str:
    """The display form of a local code: ``PPPPP-TAIL`` (postal code, hyphen, tail in one group)."""
    if len(postal_code) != POSTAL_CODE_LENGTH or not all(ch in "0123456789" for ch in postal_code):
        raise InvalidCodeError(f"a postal code has {POSTAL_CODE_LENGTH} digits, got {postal_code!r}",
                               reason="bad-postal-code")
    return f"{postal_code}-{_normalise_tail(tail)}"
