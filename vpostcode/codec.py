"""The vpostcode address code, version 1: encode a point to a short checked code and decode it back, with no I/O.

The normative description is ``docs/address-code.md``; this module is its reference implementation and the test
vectors in ``tests/vectors/address_codes.csv`` pin it. In short:

* The domain is the rectangle lat 6.0..24.0, lon 102.0..118.2 (all of Vietnam, Hoàng Sa and Trường Sa included,
  with a margin). Coordinates are quantised to 1/90,000,000 degree (round half up), then cut into a mixed-radix grid
  of 9 levels: level 1 is 5 rows x 4 columns, then levels alternate 5 x 6 and 6 x 5, ending with 4,050,000 rows x
  3,240,000 columns: cells of 1/225,000 deg x 1/200,000 deg (about 0.49 m x 0.55 m).
* Each level is one character. Level 1 uses 20 letters (the consonants and Y), deeper levels 30 symbols (those
  and the digits; no E, I, L, O, U); a last check character (those 30 plus ``A``) makes the weighted sum of all the
  symbol values, weights length..1, divisible by 31. That catches every single substitution and every transposition
  of neighbours.
* A code of length N (2..10) has N-1 data characters and the check character; 10 is the full, sub-metre code.

Everything is vectorised with NumPy: the array forms (``encode_many``, ``decode_many``) do integer arithmetic on
whole arrays, both axes at once, and map characters by table look-up; the scalar forms call them with one-element
arrays, so the two can never disagree. NumPy calls are kept few because each costs about a microsecond even on one
element.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vpostcode.errors import InvalidCodeError, InvalidCoordinateError, InvalidInputError, OutsideDomainError

# --- Constants of version 1 (normative: docs/address-code.md) ------------------------------------------------------

VERSION: Final = 1

ALPHABET: Final = "0123456789BCDFGHJKMNPQRSTVWXYZ"
"""The 30 data symbols; a symbol's value is its index (0..29)."""
FIRST_ALPHABET: Final = ALPHABET[10:]
"""The 20 symbols allowed in the first position (values 10..29): a code always starts with a letter."""
CHECK_ONLY: Final = "A"
CHECK_ALPHABET: Final = ALPHABET + CHECK_ONLY
"""The 31 symbols allowed in the check position (value 30 is ``A``, which appears nowhere else)."""
PRIME: Final = 31
RESERVED_FIRST: Final = "EU"
"""Letters that no version-1 code contains; a later version's codes start with one of them."""

CONFUSABLES: Final = {"O": "0", "I": "1", "L": "1"}
"""Input characters that ``normalize`` reads as the symbol they are mistaken for (lower case too)."""
SEPARATORS: Final = " \t-\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
"""Characters that ``normalize`` drops: space, tab, no-break space, hyphen, the Unicode dashes and minus sign."""

MIN_LENGTH: Final = 2
FULL_LENGTH: Final = 10
LEVELS: Final = FULL_LENGTH - 1

SOUTH: Final = 6.0
NORTH: Final = 24.0
WEST: Final = 102.0
EAST: Final = 118.2
QUANTA_PER_DEGREE: Final = 90_000_000
SOUTH_Q: Final = 540_000_000
WEST_Q: Final = 9_180_000_000
LAT_SPAN_Q: Final = 1_620_000_000
LON_SPAN_Q: Final = 1_458_000_000

LAT_RADICES: Final = (5, 5, 6, 5, 6, 5, 6, 5, 6)
"""Rows per cell at levels 1..9 (counted south to north)."""
LON_RADICES: Final = (4, 6, 5, 6, 5, 6, 5, 6, 5)
"""Columns per cell at levels 1..9 (counted west to east)."""
ROWS: Final = 4_050_000
COLS: Final = 3_240_000
ROW_QUANTA: Final = LAT_SPAN_Q // ROWS  # 400
COL_QUANTA: Final = LON_SPAN_Q // COLS  # 450

ROWS_PER_CELL: Final = tuple(math.prod(LAT_RADICES[n:]) for n in range(LEVELS + 1))
"""Level-9 rows in one cell of level n (index n = 0..9; level 0 is the whole domain)."""
COLS_PER_CELL: Final = tuple(math.prod(LON_RADICES[n:]) for n in range(LEVELS + 1))
"""Level-9 columns in one cell of level n (index n = 0..9)."""

# Status of a coordinate row (encode).
COORD_OK: Final = 0
COORD_INVALID: Final = 1
COORD_OUTSIDE: Final = 2

# Status of a code row (decode); CODE_REASONS names them in messages, error details and the test vectors.
CODE_OK: Final = 0
CODE_NOT_STRING: Final = 1
CODE_WRONG_LENGTH: Final = 2
CODE_BAD_CHARACTER: Final = 3
CODE_WRONG_CHECK: Final = 4
CODE_REASONS: Final = ("ok", "not-a-string", "wrong-length", "bad-character", "wrong-check")

_CHUNK: Final = 900  # rows (and columns) spanned by four levels of the alternating 5x6 / 6x5 pattern
_CHUNK_PLACE: Final = _CHUNK * _CHUNK  # 810,000: rows (columns) inside one level-1 cell
_BAD: Final = 253  # classes of input characters that are not symbols
_PAD: Final = 254
_SEP: Final = 255

_LOW_Q: Final = np.array([[SOUTH_Q], [WEST_Q]], dtype=np.float64)
_OFFSET_Q: Final = 0.5 - _LOW_Q
_CELL_Q: Final = np.array([[ROW_QUANTA], [COL_QUANTA]], dtype=np.int64)
_LAST_INDEX: Final = np.array([[ROWS - 1], [COLS - 1]], dtype=np.int64)
_SPAN_Q: Final = np.array([[LAT_SPAN_Q], [LON_SPAN_Q]], dtype=np.float64)
_ENCODE_BLOCK: Final = 65_536
_DECODE_BLOCK: Final = 16_384
_PART_WEIGHTS: Final = np.array([[LON_RADICES[0]], [_CHUNK], [_CHUNK]], dtype=np.int64)
_ORIGIN_Q: Final = np.array([[SOUTH_Q], [WEST_Q]], dtype=np.int64)
_LIMITS: Final = np.array([[90.0], [180.0]])
_SCALAR_CLEAN: Final = {**{ord(sep): None for sep in SEPARATORS}, 0: "\ufffd"}
_UNICODE_SEPARATORS: Final = np.array([ord(s) for s in SEPARATORS if ord(s) >= 128], dtype=np.uint32)


# --- Results --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeArea:
    """The cell a code names: bounds and centre in degrees (WGS84), the normalised code and its length.

    The cell is half-open (south and west edges included), except that the domain's northernmost row and
    easternmost column also include the domain's north and east edges.
    """

    code: str
    south: float
    west: float
    north: float
    east: float
    lat: float
    lon: float
    length: int

    @property
    def cell_m(self) -> tuple[float, float]:
        """Approximate (width east-west, height north-south) of the cell in metres, at its centre latitude."""
        return cell_size_m(self.north - self.south, self.east - self.west, self.lat)

    @property
    def display(self) -> str:
        """The grouped display form of the code (``XXXX-XXX-XXX`` for a full code)."""
        return format_code(self.code)


@dataclass(frozen=True)
class CodeAreas:
    """The array result of ``decode_many``: one row per input code, NaN bounds where the code is invalid.

    ``status`` holds ``CODE_OK`` or the reason the row is invalid (``CODE_REASONS[status]`` names it);
    ``error_position`` the 1-based position of the first bad character (counted without separators) in a
    ``CODE_BAD_CHARACTER`` row, else 0; ``code`` the normalised code, or ``""``; ``length`` 0 for invalid rows.
    """

    code: npt.NDArray[np.str_]
    valid: npt.NDArray[np.bool_]
    status: npt.NDArray[np.uint8]
    error_position: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]
    south: npt.NDArray[np.float64]
    west: npt.NDArray[np.float64]
    north: npt.NDArray[np.float64]
    east: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.valid.size)


# --- Look-up tables (built once, on first use) ----------------------------------------------------------------------


def _chunk_digits(ym: npt.NDArray[np.int64], xm: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Digits (0..29) of four consecutive levels from the row and column (0..899 each) within their chunk.

    Levels 2..5 and levels 6..9 share the radices (5x6, 6x5, 5x6, 6x5), so one table serves both chunks. A level's
    digit is ``row * columns + column`` (row-major from the south-west corner).
    """
    lat_rad, lon_rad = LAT_RADICES[1:5], LON_RADICES[1:5]
    digits = []
    for level in range(4):
        row = (ym // math.prod(lat_rad[level + 1:])) % lat_rad[level]
        col = (xm // math.prod(lon_rad[level + 1:])) % lon_rad[level]
        digits.append(row * lon_rad[level] + col)
    return np.stack(digits, axis=-1)


_FULL_ROW: Final = np.dtype([("first", "u1"), ("mid", "<u4"), ("low", "<u4"), ("check", "u1")])
"""A full code as 10 packed bytes: level 1, levels 2..5 and 6..9 (4 bytes each, one table look-up), check."""


@dataclass(frozen=True)
class _Tables:
    """Look-up tables of the codec (about 23 MB), indexed by small integers with ``ndarray.take``."""

    norm: npt.NDArray[np.uint8]  # (129,) code point (128: any code point >= 128) -> symbol value, _BAD, _PAD, _SEP
    byte_of_value: npt.NDArray[np.uint8]  # (256,) symbol value -> ASCII byte (0 for _BAD, _PAD, _SEP)
    first_byte: npt.NDArray[np.uint8]  # (20,) level-1 digit -> ASCII byte
    chunk_hi: npt.NDArray[np.int64]  # ym * 900 + xm -> (sum of values x 9,8,7,6) << 32 | its 4 ASCII characters
    chunk_lo: npt.NDArray[np.int64]  # ... (sum of values x 5,4,3,2) << 32 | ...: levels 6..9 of a full code
    chunk_value_words: npt.NDArray[np.uint32]  # ym * 900 + xm -> the 4 symbol values, packed
    check_byte_of_sum: npt.NDArray[np.uint8]  # weighted sum s of the data -> ASCII byte of the check (-s) mod 31
    key_packed: npt.NDArray[np.int64]  # base-30 key of 4 symbol values -> ym << 32 | xm
    first_packed: npt.NDArray[np.int64]  # (256,) value of the first character -> level-1 row, column (x 810000)
    lowest: tuple[npt.NDArray[np.uint8], ...]  # code length -> smallest value allowed at each position
    span: tuple[npt.NDArray[np.uint8], ...]  # code length -> largest minus smallest value allowed at each position
    decode_matrix: tuple[npt.NDArray[np.int64], ...]  # code length -> (length, 3): mid key, low key, check sum
    status_of_sum: npt.NDArray[np.uint8]  # weighted sum of a whole code -> CODE_OK if divisible by 31, else ..CHECK
    size_q: npt.NDArray[np.int64]  # (2, 12): code length (11: longer) -> cell height, width in quanta


def _decode_matrix(length: int) -> npt.NDArray[np.int64]:
    """The (length, 3) matrix that turns a code's symbol values into its two chunk keys and its check sum.

    Column 0 is the base-30 key of levels 2..5, column 1 that of levels 6..9 (levels the code does not have
    count as digit 0), column 2 the weighted sum (weights length..1) that the check makes divisible by 31.
    """
    matrix = np.zeros((length, 3), dtype=np.int64)
    for position in range(1, length - 1):
        chunk, place = divmod(position - 1, 4)
        matrix[position, chunk] = 30 ** (3 - place)
    matrix[:, 2] = np.arange(length, 0, -1)
    return matrix


@cache
def _tables() -> _Tables:
    """Build the look-up tables the first time a code is encoded or decoded (about 0.1 s)."""
    norm = np.full(129, _BAD, dtype=np.uint8)
    for value, symbol in enumerate(CHECK_ALPHABET):
        norm[ord(symbol)] = norm[ord(symbol.lower())] = value
    for typed, meant in CONFUSABLES.items():
        norm[ord(typed)] = norm[ord(typed.lower())] = CHECK_ALPHABET.index(meant)
    for sep in SEPARATORS:
        if ord(sep) < 128:
            norm[ord(sep)] = _SEP
    norm[0] = _PAD
    byte_of_value = np.zeros(256, dtype=np.uint8)
    byte_of_value[: len(CHECK_ALPHABET)] = np.frombuffer(CHECK_ALPHABET.encode("ascii"), dtype=np.uint8)

    ym, xm = np.divmod(np.arange(_CHUNK_PLACE, dtype=np.int64), _CHUNK)
    digits = _chunk_digits(ym, xm)
    keys = ((digits[:, 0] * 30 + digits[:, 1]) * 30 + digits[:, 2]) * 30 + digits[:, 3]
    key_packed = np.empty(_CHUNK_PLACE, dtype=np.int64)
    key_packed[keys] = (ym << 32) | xm
    first_packed = np.zeros(256, dtype=np.int64)
    first_row, first_col = np.divmod(np.arange(20), LON_RADICES[0])
    first_packed[10:30] = ((first_row * _CHUNK_PLACE) << 32) | (first_col * _CHUNK_PLACE)

    by_length = range(FULL_LENGTH + 1)
    highest = [np.array([29] * (n - 1) + [30] * (n > 0), dtype=np.uint8) for n in by_length]
    lowest = tuple(np.array([10] + [0] * (n - 1) if n else [], dtype=np.uint8) for n in by_length)
    size_level = np.clip(np.arange(12) - 1, 0, LEVELS)
    max_data_sum = 100 + 10 * 19 + 29 * (9 + 8 + 7 + 6) + 29 * (5 + 4 + 3 + 2)
    chunk_chars = np.ascontiguousarray(byte_of_value[digits]).view("<u4").ravel().astype(np.int64)
    max_code_sum = 255 * sum(range(FULL_LENGTH + 1))
    return _Tables(
        norm=norm,
        byte_of_value=byte_of_value,
        first_byte=byte_of_value[10:30].copy(),
        chunk_hi=((digits @ np.array([9, 8, 7, 6])) << 32) | chunk_chars,
        chunk_lo=((digits @ np.array([5, 4, 3, 2])) << 32) | chunk_chars,
        chunk_value_words=np.ascontiguousarray(digits.astype(np.uint8)).view("<u4").ravel(),
        check_byte_of_sum=byte_of_value[(-np.arange(max_data_sum + 1)) % PRIME],
        key_packed=key_packed,
        first_packed=first_packed,
        lowest=lowest,
        span=tuple(high - low for high, low in zip(highest, lowest, strict=True)),
        decode_matrix=tuple(_decode_matrix(n) for n in by_length),
        status_of_sum=np.where(np.arange(max_code_sum + 1) % PRIME, CODE_WRONG_CHECK, CODE_OK).astype(np.uint8),
        size_q=np.stack([
            np.asarray(ROWS_PER_CELL)[size_level] * ROW_QUANTA,
            np.asarray(COLS_PER_CELL)[size_level] * COL_QUANTA,
        ]),
    )


# --- Coordinates -> grid indices ------------------------------------------------------------------------------------


def _as_float_array(values: Any) -> npt.NDArray[np.float64]:
    """``values`` as a float64 array; entries that are not real numbers (None, text, bools, objects) become NaN."""
    raw = np.asarray(values)
    if raw.dtype.kind in "fiu":
        return raw.astype(np.float64, copy=False)
    objects = raw.astype(object)
    out = np.full(objects.shape, np.nan)
    for position, value in np.ndenumerate(objects):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            out[position] = float(value)
    return out


def _grid(
    coords: npt.NDArray[np.float64], finite: bool = False
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Level-9 (row, column) of points given as a (2, n) array of (lat, lon), and each point's status.

    The spec's arithmetic: ``q = floor(deg * 90e6 + 0.5)`` (one IEEE double product, then an exact half-up
    rounding); inside when ``0 <= lat_q - 540e6 <= 1620e6`` and ``0 <= lon_q - 9180e6 <= 1458e6``; then
    ``row = min((lat_q - 540e6) // 400, ROWS - 1)``, ``col = min((lon_q - 9180e6) // 450, COLS - 1)``.
    Points that are not ``COORD_OK`` get row and column 0. ``finite`` says the caller has checked that every
    coordinate is finite and within +-90 / +-180, so no floating-point warning can arise.
    """
    if finite:
        q = coords * QUANTA_PER_DEGREE
        q += _OFFSET_Q
        np.floor(q, out=q)
        fits = (q >= 0.0) & (q <= _SPAN_Q)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            q = coords * QUANTA_PER_DEGREE
            q += _OFFSET_Q  # 0.5 - origin in one exact addition: floor(x + 0.5) - origin == floor(x + 0.5 - origin)
            np.floor(q, out=q)
            fits = (q >= 0.0) & (q <= _SPAN_Q)  # False for NaN
    inside = fits[0] & fits[1]
    if np.count_nonzero(inside) == inside.size:
        status = np.zeros(inside.shape, dtype=np.uint8)
    else:
        in_range = (np.abs(coords) <= _LIMITS).all(axis=0)  # False for NaN
        status = np.where(inside, COORD_OK, np.where(in_range, COORD_OUTSIDE, COORD_INVALID)).astype(np.uint8)
        q[:, ~inside] = 0.0
    quanta = q.astype(np.int64)
    index = np.empty_like(quanta)
    np.floor_divide(quanta[0], ROW_QUANTA, out=index[0])
    np.floor_divide(quanta[1], COL_QUANTA, out=index[1])
    np.minimum(index, _LAST_INDEX, out=index)
    return index, status


def _coords(lats: Any, lons: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], tuple[int, ...]]:
    """Latitudes and longitudes as flat float arrays of equal size, and the shape they broadcast to."""
    lat, lon = _as_float_array(lats), _as_float_array(lons)
    if lat.shape != lon.shape:
        lat, lon = np.broadcast_arrays(lat, lon)
    return lat.ravel(), lon.ravel(), lat.shape


def grid_indices_many(
    lats: Any, lons: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Level-9 row and column of each point, and its status (``COORD_OK``, ``COORD_INVALID``, ``COORD_OUTSIDE``).

    Rows whose status is not ``COORD_OK`` get row and column 0. Never raises for bad coordinates.
    """
    lat, lon, shape = _coords(lats, lons)
    index, status = _grid(np.stack((lat, lon)))
    return index[0].reshape(shape), index[1].reshape(shape), status.reshape(shape)


def coordinate_status(lats: Any, lons: Any) -> npt.NDArray[np.uint8]:
    """Per point: ``COORD_OK``, ``COORD_INVALID`` (NaN, infinite, not a number, out of range) or ``COORD_OUTSIDE``."""
    return grid_indices_many(lats, lons)[2]


# --- Grid indices -> codes ------------------------------------------------------------------------------------------


def _check_length(length: Any) -> int:
    """``length`` as an int in MIN_LENGTH..FULL_LENGTH, or InvalidInputError."""
    if type(length) is int and MIN_LENGTH <= length <= FULL_LENGTH:
        return length
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or not (
        MIN_LENGTH <= int(length) <= FULL_LENGTH
    ):
        raise InvalidInputError(
            f"code length must be an integer from {MIN_LENGTH} to {FULL_LENGTH}, got {length!r}", length=repr(length)
        )
    return int(length)


def _codes(
    index: npt.NDArray[np.int64], ok: npt.NDArray[np.bool_] | None, length: int, out: npt.NDArray[np.uint32]
) -> None:
    """Write into ``out`` (m, length) the code points of the codes of the level-9 cells in the (2, m) ``index``.

    A row (column) index splits as ``first * 810000 + mid * 900 + low``: ``first`` is the level-1 row (column),
    ``mid`` covers levels 2..5 and ``low`` levels 6..9, whose 4 characters come from one look-up in a table of
    810,000 entries. The characters are assembled as bytes, then widened to code points. Rows where ``ok`` is
    False get ``""`` (all zeros).
    """
    tables = _tables()
    parts = np.empty((3, *index.shape), dtype=np.int64)  # first, mid, low: (3, 2, n)
    np.floor_divide(index, _CHUNK_PLACE, out=parts[0])
    np.remainder(index, _CHUNK_PLACE, out=parts[2])
    np.floor_divide(parts[2], _CHUNK, out=parts[1])
    np.remainder(parts[2], _CHUNK, out=parts[2])
    keys = parts[:, 0] * _PART_WEIGHTS  # level-1 digit (row * 4 + column), then ym * 900 + xm of each chunk
    keys += parts[:, 1]
    first_digit, mid_key, low_key = keys[0], keys[1], keys[2]
    text = np.empty((first_digit.size, FULL_LENGTH), dtype=np.uint8)
    packed = np.ndarray(first_digit.shape, dtype=_FULL_ROW, buffer=text)
    if length == FULL_LENGTH:
        mid = tables.chunk_hi.take(mid_key)  # check-sum contribution << 32 | the 4 characters
        low = tables.chunk_lo.take(low_key)
        packed["first"] = tables.first_byte.take(first_digit)
        packed["mid"] = mid
        packed["low"] = low
        mid >>= 32
        low >>= 32
        mid += low
        first_digit *= 10  # the first symbol's value is 10 + digit and its weight 10
        first_digit += 100
        mid += first_digit
        packed["check"] = tables.check_byte_of_sum.take(mid)
    else:
        data = length - 1
        packed["first"] = first_digit + 10
        packed["mid"] = tables.chunk_value_words.take(mid_key)
        packed["low"] = tables.chunk_value_words.take(low_key)
        values = text[:, :data]
        total = values @ np.arange(length, 1, -1)  # integer matrix product: no BLAS, exact
        text[:, data] = tables.check_byte_of_sum.take(total)
        text[:, :data] = tables.byte_of_value.take(values)
    out[...] = text[:, :length]
    if ok is not None:
        out[~ok] = 0


def encode_many(lats: Any, lons: Any, length: int = FULL_LENGTH) -> npt.NDArray[np.str_]:
    """Codes of many points at once, as a fixed-width string array of the inputs' broadcast shape.

    A row whose coordinate is not a finite number in range, or lies outside the domain, gets ``""`` and does not
    fail the batch (``coordinate_status`` tells why). Raises InvalidInputError only for a bad ``length``. Works in
    blocks of ``_ENCODE_BLOCK`` points so that the intermediate arrays stay in the processor's cache.
    """
    length = _check_length(length)
    lat, lon, shape = _coords(lats, lons)
    out = np.empty((lat.size, length), dtype="<u4")
    for start in range(0, lat.size, _ENCODE_BLOCK):
        stop = start + _ENCODE_BLOCK
        index, status = _grid(np.stack((lat[start:stop], lon[start:stop])))
        ok = None if not np.count_nonzero(status) else status == COORD_OK
        _codes(index, ok, length, out[start:stop])
    return out.view(f"<U{length}").reshape(shape)


def _scalar_coordinate(value: Any, name: str) -> float:
    """``value`` as a float, or InvalidCoordinateError when it is not a real number."""
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidCoordinateError(f"{name} must be a number, got {value!r}", **{name: repr(value)})
    return float(value)


def _raise_for_coordinate(status: int, lat: float, lon: float) -> None:
    """Raise the error that a coordinate status other than ``COORD_OK`` stands for."""
    if status == COORD_INVALID:
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise InvalidCoordinateError(f"coordinates must be finite numbers, got ({lat}, {lon})", lat=lat, lon=lon)
        raise InvalidCoordinateError(
            f"latitude must be within -90..90 and longitude within -180..180, got ({lat}, {lon})", lat=lat, lon=lon
        )
    if status == COORD_OUTSIDE:
        raise OutsideDomainError(
            f"({lat}, {lon}) is outside the address-code domain (lat {SOUTH}..{NORTH}, lon {WEST}..{EAST})",
            lat=lat,
            lon=lon,
        )


def _grid_one(lat: Any, lon: Any) -> npt.NDArray[np.int64]:
    """The (2, 1) level-9 index of one point (by the array form), or the coordinate error."""
    lat_f, lon_f = _scalar_coordinate(lat, "lat"), _scalar_coordinate(lon, "lon")
    if not (abs(lat_f) <= 90.0 and abs(lon_f) <= 180.0):  # also False for NaN
        _raise_for_coordinate(COORD_INVALID, lat_f, lon_f)
    index, status = _grid(np.array([[lat_f], [lon_f]]), finite=True)
    _raise_for_coordinate(int(status[0]), lat_f, lon_f)
    return index


def _code_of(index: npt.NDArray[np.int64], length: int) -> str:
    """The code of the single cell of a (2, 1) index."""
    out = np.empty((1, length), dtype="<u4")
    _codes(index, None, length, out)
    return str(out.view(f"<U{length}")[0, 0])


def encode(lat: float, lon: float, length: int = FULL_LENGTH) -> str:
    """The code (compact, upper case) of the cell of ``length`` characters that contains the point.

    Raises InvalidCoordinateError for a coordinate that is not a finite number in range, OutsideDomainError for
    one outside the domain, InvalidInputError for a length outside 2..10.
    """
    length = _check_length(length)
    return _code_of(_grid_one(lat, lon), length)


def grid_indices(lat: float, lon: float) -> tuple[int, int]:
    """The level-9 (row, column) of one point; raises InvalidCoordinateError or OutsideDomainError."""
    index = _grid_one(lat, lon)
    return int(index[0, 0]), int(index[1, 0])


def code_from_indices(row: int, col: int, length: int = FULL_LENGTH) -> str:
    """The code of the level-9 cell (row, col), truncated to ``length`` characters (check included)."""
    length = _check_length(length)
    if not (0 <= row < ROWS and 0 <= col < COLS):
        raise OutsideDomainError(f"grid cell ({row}, {col}) is outside the grid of {ROWS} x {COLS} cells")
    return _code_of(np.array([[row], [col]], dtype=np.int64), length)


# --- Codes -> grid indices ------------------------------------------------------------------------------------------


def _code_points(codes: Any) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_] | None, tuple[int, ...]]:
    """The inputs as a (n, width) array of code points, which rows were strings (None: all), and the input shape."""
    arr = np.asarray(codes)
    shape = arr.shape
    is_str = None
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, "latin-1")
    elif arr.dtype.kind != "U":
        objects = arr.astype(object).ravel()
        is_str = np.fromiter((isinstance(v, str) for v in objects), dtype=bool, count=objects.size)
        arr = np.array(
            [v.replace("\x00", "\ufffd") if s else "" for v, s in zip(objects, is_str, strict=True)], dtype=str
        )
    if arr.dtype.itemsize == 0:
        arr = arr.astype("<U1")
    arr = np.ascontiguousarray(arr).ravel()
    return arr.view("<u4").reshape(arr.size, arr.dtype.itemsize // 4), is_str, shape


def _compact(cp: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Classify the characters and drop separators: the first 10 classes of each row (padded) and its length.

    Classes are symbol values 0..30, or _BAD, _PAD (NumPy's NUL padding) and _SEP. A NUL followed by a real
    character is not padding but a bad character. Input without separators or padding takes the short path.
    """
    tables = _tables()
    n, width = cp.shape
    cls = tables.norm.take(np.minimum(cp, 128))  # entry 128 (_BAD) stands for every code point >= 128
    if not np.count_nonzero(cls >= _BAD):  # the usual input: symbols only, all rows of the same length
        lengths = np.empty(n, dtype=np.int64)
        lengths.fill(width)
    else:
        if np.count_nonzero(cp > 127):
            cls[np.isin(cp, _UNICODE_SEPARATORS)] = _SEP
        skip = cls >= _PAD
        lengths = width - np.count_nonzero(skip, axis=1)
        inner = skip[:, :-1] > skip[:, 1:]  # a separator or NUL before a character
        if np.count_nonzero(inner):
            rows = np.flatnonzero(inner.any(axis=1))
            sub, sub_skip = cls[rows], skip[rows]
            char_at_or_after = np.logical_or.accumulate(~sub_skip[:, ::-1], axis=1)[:, ::-1]
            sub[(sub == _PAD) & char_at_or_after] = _BAD
            sub_skip = sub >= _PAD
            cls[rows] = np.take_along_axis(sub, np.argsort(sub_skip, axis=1, kind="stable"), axis=1)
            lengths[rows] = width - np.count_nonzero(sub_skip, axis=1)
    if width >= FULL_LENGTH:
        return cls[:, :FULL_LENGTH], lengths
    out = np.full((n, FULL_LENGTH), _PAD, dtype=np.uint8)
    out[:, :width] = cls
    return out, lengths


@dataclass(frozen=True)
class _Decoded:
    """Codes decoded to level-9 indices (flattened), shared by decode_many and the scalar helpers."""

    index: npt.NDArray[np.int64]  # (2, n): row, column of the cell's south-west corner (0 for invalid rows)
    values: npt.NDArray[np.uint8]  # (n, 10): symbol values, then padding
    lengths: npt.NDArray[np.int64]
    status: npt.NDArray[np.uint8]
    position: npt.NDArray[np.int64]


def _all_allowed(codes: npt.NDArray[np.uint8]) -> bool:
    """True when every character of these same-length codes is allowed at its position (the usual case).

    Three whole-block tests instead of one per character: every value is at most 30; 30 (``A``) occurs only in the
    last column; the first column holds letters (10..29).
    """
    if codes.max(initial=0) > PRIME - 1:
        return False
    last_a = np.count_nonzero(codes[:, -1] == PRIME - 1)
    if np.count_nonzero(codes == PRIME - 1) != last_a:
        return False
    return not np.count_nonzero((codes[:, 0] - np.uint8(10)) > np.uint8(19))


def _decode_length(
    values: npt.NDArray[np.uint8], length: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Status, first bad position (1-based, else 0) and (2, m) level-9 indices of m codes of one ``length``.

    Checks, in order: every character allowed at its position (a letter first, data symbols, any of the 31 last),
    then the check (sum of value times weight, weights length..1, is 0 mod 31). The two chunk keys and the check
    sum come from one integer matrix product.
    """
    tables = _tables()
    m = values.shape[0]
    codes = values[:, :length]
    sums = codes @ tables.decode_matrix[length]  # (m, 3), an exact integer matrix product
    status = tables.status_of_sum.take(sums[:, 2])
    position = np.zeros(m, dtype=np.int64)
    if m <= 64:  # few codes: one comparison per character is cheaper than three whole-block tests
        bad = (codes - tables.lowest[length]) > tables.span[length]  # uint8: below the lowest wraps round to > span
        any_bad = bool(np.count_nonzero(bad))
    else:
        any_bad = not _all_allowed(codes)
        if any_bad:
            bad = (codes - tables.lowest[length]) > tables.span[length]
    if any_bad:
        has_bad = bad.any(axis=1)
        status[has_bad] = CODE_BAD_CHARACTER
        position[has_bad] = bad[has_bad].argmax(axis=1) + 1
        np.minimum(sums, _CHUNK_PLACE - 1, out=sums)  # only codes with a bad character exceed it
    packed = tables.key_packed.take(sums[:, 0])
    packed *= _CHUNK
    packed += tables.key_packed.take(sums[:, 1])
    packed += tables.first_packed.take(codes[:, 0])  # row << 32 | column: the halves never carry into each other
    index = np.empty((2, m), dtype=np.int64)
    np.right_shift(packed, 32, out=index[0])
    np.bitwise_and(packed, 0xFFFFFFFF, out=index[1])
    return status, position, index


def _decode_block(cp: npt.NDArray[np.uint32]) -> _Decoded:
    """Normalise, validate and decode a block of codes given as a (m, width) array of code points.

    Rows are grouped by length (at most 12 groups, usually one): the length is checked first (2..10 characters
    without separators), then each group is validated and decoded with that length's constants.
    """
    values, lengths = _compact(cp)
    n = lengths.size
    if n and MIN_LENGTH <= lengths[0] <= FULL_LENGTH and not np.count_nonzero(lengths != lengths[0]):
        status, position, index = _decode_length(values, int(lengths[0]))
    else:
        status = np.full(n, CODE_WRONG_LENGTH, dtype=np.uint8)
        position = np.zeros(n, dtype=np.int64)
        index = np.zeros((2, n), dtype=np.int64)
        capped = np.minimum(lengths, FULL_LENGTH + 1)
        for length in np.flatnonzero(np.bincount(capped, minlength=FULL_LENGTH + 2)[MIN_LENGTH : FULL_LENGTH + 1]):
            rows = np.flatnonzero(capped == length + MIN_LENGTH)
            status[rows], position[rows], index[:, rows] = _decode_length(values[rows], int(length) + MIN_LENGTH)
    return _Decoded(index, values, lengths, status, position)


def _decode_core(codes: Any) -> _Decoded:
    """``_decode_block`` of any array-like of codes in one block (for small inputs), entries not strings marked."""
    cp, is_str, _ = _code_points(codes)
    core = _decode_block(cp)
    if is_str is not None and np.count_nonzero(is_str) < is_str.size:
        core.status[~is_str] = CODE_NOT_STRING
        core.position[~is_str] = 0
    return core


def _write_areas(core: _Decoded, bounds: npt.NDArray[np.float64], text: npt.NDArray[np.uint32] | None) -> None:
    """Write the (3, 2, m) bounds (south-west, north-east, centre) and the normalised text of a decoded block."""
    tables = _tables()
    size_q = tables.size_q.take(np.minimum(core.lengths, FULL_LENGTH + 1), axis=1)
    south_west = core.index * _CELL_Q
    south_west += _ORIGIN_Q
    np.divide(south_west, float(QUANTA_PER_DEGREE), out=bounds[0])
    size_q += south_west
    np.divide(size_q, float(QUANTA_PER_DEGREE), out=bounds[1])
    size_q += south_west
    np.divide(size_q, 2.0 * QUANTA_PER_DEGREE, out=bounds[2])  # (2 * south_west + size) / (2 * quanta)
    if text is not None:
        text[...] = tables.byte_of_value.take(core.values)


def decode_many(codes: Any) -> CodeAreas:
    """Decode many codes at once; invalid ones give NaN bounds, ``valid`` False and the reason in ``status``.

    Accepts any array-like of strings, in compact or display form (as ``normalize``); entries that are not strings
    are invalid rows (``CODE_NOT_STRING``). Never raises for bad codes. Bounds are exact integers divided once:
    ``south = (row * 400 + 540e6) / 90e6`` and the centre ``(2 * south_q + height_q) / 180e6``. Works in blocks of
    ``_DECODE_BLOCK`` codes so that the intermediate arrays stay in the processor's cache.
    """
    cp, is_str, shape = _code_points(codes)
    n = cp.shape[0]
    status = np.empty(n, dtype=np.uint8)
    position = np.empty(n, dtype=np.int64)
    lengths = np.empty(n, dtype=np.int64)
    bounds = np.empty((3, 2, n))
    text = np.empty((n, FULL_LENGTH), dtype="<u4")
    for start in range(0, n, _DECODE_BLOCK):
        stop = start + _DECODE_BLOCK
        core = _decode_block(cp[start:stop])
        status[start:stop], position[start:stop], lengths[start:stop] = core.status, core.position, core.lengths
        _write_areas(core, bounds[:, :, start:stop], text[start:stop])
    if is_str is not None and np.count_nonzero(is_str) < n:
        status[~is_str] = CODE_NOT_STRING
        position[~is_str] = 0
    valid = status == CODE_OK
    if np.count_nonzero(valid) < n:
        bounds[:, :, ~valid] = np.nan
        text[~valid] = 0
        lengths[~valid] = 0

    def shaped(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return arr if arr.shape == shape else arr.reshape(shape)

    return CodeAreas(
        code=shaped(text.view(f"<U{FULL_LENGTH}")[:, 0]),
        valid=shaped(valid),
        status=shaped(status),
        error_position=shaped(position),
        length=shaped(lengths),
        south=shaped(bounds[0, 0]),
        west=shaped(bounds[0, 1]),
        north=shaped(bounds[1, 0]),
        east=shaped(bounds[1, 1]),
        lat=shaped(bounds[2, 0]),
        lon=shaped(bounds[2, 1]),
    )


# --- Scalar code functions ------------------------------------------------------------------------------------------


def _scalar_code_points(code: Any) -> npt.NDArray[np.uint32]:
    """A (1, width) array of the code points of one string (NUL, which NumPy strings drop, made a bad character).

    Raises InvalidCodeError when ``code`` is not a string.
    """
    if not isinstance(code, str):
        raise _error_for(code, CODE_NOT_STRING, 0)
    raw = code.translate(_SCALAR_CLEAN).encode("utf-32-le", "surrogatepass")  # separators dropped, as the array does
    return np.frombuffer(raw, dtype="<u4").reshape(1, -1)


def _decode_one(code: Any) -> _Decoded:
    """The array form's decoding of one valid code; InvalidCodeError (with a specific message) otherwise."""
    core = _decode_block(_scalar_code_points(code))
    if core.status[0] != CODE_OK:
        raise _error_for(code, int(core.status[0]), int(core.position[0]))
    return core


def _compact_text(code: str) -> str:
    """The code with separators dropped and upper-cased (confusables not mapped): for messages and suggestions."""
    return "".join(ch for ch in code if ch not in SEPARATORS).upper()


def _error_for(code: Any, status: int, position: int) -> InvalidCodeError:
    """The InvalidCodeError, with a specific message and a ``reason`` detail, for an invalid code."""
    reason = CODE_REASONS[status]
    if status == CODE_NOT_STRING:
        return InvalidCodeError(f"an address code must be a string, got {type(code).__name__}", reason=reason)
    text = _compact_text(code)
    if len(text) >= 5 and all(ch in "0123456789" for ch in text[:5]):
        return InvalidCodeError(
            f"{code!r} starts with a 5-digit postal code: it is a local code, recover it with its commune",
            reason="local-form",
        )
    if text[:1] and text[0] in RESERVED_FIRST:
        return InvalidCodeError(
            f"{code!r} starts with {text[0]!r}, which is reserved for a later version of the address code",
            reason="unsupported-version",
        )
    if status == CODE_WRONG_LENGTH:
        return InvalidCodeError(
            f"an address code has {MIN_LENGTH} to {FULL_LENGTH} characters (not counting spaces and hyphens), "
            f"{code!r} has {len(text)}",
            reason=reason,
            length=len(text),
        )
    if status == CODE_BAD_CHARACTER:
        char = text[position - 1]
        if position == 1:
            allowed = f"a letter of {FIRST_ALPHABET}"
        elif position == len(text):
            allowed = f"one of {CHECK_ALPHABET}"
        else:
            allowed = f"one of {ALPHABET}" + (" (A is only used as the check character)" if char == "A" else "")
        return InvalidCodeError(
            f"bad character {char!r} at position {position} of {code!r}: expected {allowed}",
            reason=reason,
            position=position,
        )
    return InvalidCodeError(
        f"wrong check character in {code!r}: a character is mistyped or two are swapped", reason=reason
    )


def normalize(code: str) -> str:
    """The compact canonical form of a code: upper case, no separators, O read as 0 and I, L as 1.

    Raises InvalidCodeError with a specific message: wrong length, bad character at position N (counted without
    separators), wrong check character, or a hint when the text is a local code or a later version's code.
    """
    core = _decode_one(code)
    return "".join(CHECK_ALPHABET[value] for value in core.values[0, : int(core.lengths[0])].tolist())


def is_valid(code: Any) -> bool:
    """True when ``code`` is a valid address code (any length 2..10, display or compact form); never raises."""
    return isinstance(code, str) and bool(_decode_block(_scalar_code_points(code)).status[0] == CODE_OK)


def decode(code: str) -> CodeArea:
    """The cell a code names; raises InvalidCodeError (as ``normalize``) when the code is not valid."""
    core = _decode_one(code)
    bounds = np.empty((3, 2, 1))
    _write_areas(core, bounds, None)
    south, west, north, east, lat, lon = bounds.ravel().tolist()
    length = int(core.lengths[0])
    text = "".join(CHECK_ALPHABET[value] for value in core.values[0, :length].tolist())
    return CodeArea(text, south, west, north, east, lat, lon, length)


def indices_from_code(code: str) -> tuple[int, int, int]:
    """(row, column, length) of a code: the level-9 indices of its cell's south-west corner, and its length.

    Raises InvalidCodeError (as ``normalize``) when the code is not valid.
    """
    core = _decode_one(code)
    return int(core.index[0, 0]), int(core.index[1, 0]), int(core.lengths[0])


def check_character(data: str) -> str:
    """The check character that completes the data characters ``data`` (1..9 symbols, the first a letter).

    The check value c makes ``sum((N - i) * value_i for i in 0..N-1)`` divisible by 31, N = len(data) + 1 and
    value_{N-1} = c: the weights are N..1, so the check's own weight is 1 and ``c = -(data sum) mod 31``.
    """
    if not isinstance(data, str) or not 1 <= len(data) <= LEVELS:
        raise InvalidCodeError(f"data of a code has 1 to {LEVELS} characters, got {data!r}", reason="wrong-length")
    for position, char in enumerate(data, start=1):
        if char not in (FIRST_ALPHABET if position == 1 else ALPHABET):
            raise InvalidCodeError(f"bad character {char!r} at position {position} of {data!r}",
                                   reason="bad-character", position=position)
    length = len(data) + 1
    total = sum((length - i) * ALPHABET.index(char) for i, char in enumerate(data))
    return CHECK_ALPHABET[-total % PRIME]


def format_code(code: str) -> str:
    """The display form: the normalised code with a hyphen after the 4th and 7th characters (``XXXX-XXX-XXX``)."""
    compact = normalize(code)
    return "-".join(part for part in (compact[:4], compact[4:7], compact[7:]) if part)


def suggest(code: str) -> list[str]:
    """Valid codes one substitution or one transposition of neighbours away from ``code`` ("did you mean").

    Transposition readings come first, then substitutions, each in position order.

    The input is read leniently (case, separators and confusables as in ``normalize``). A valid code has no such
    neighbour (the check character guarantees it), so the list is empty for it, as for text of a wrong length.
    """
    if not isinstance(code, str):
        return []
    text = "".join(CONFUSABLES.get(ch, ch) for ch in _compact_text(code))
    if not MIN_LENGTH <= len(text) <= FULL_LENGTH:
        return []
    # Transpositions first: swapping neighbours is the commonest slip, so those readings lead the list.
    candidates = [text[:i] + text[i + 1] + text[i] + text[i + 2:] for i in range(len(text) - 1)
                  if text[i] != text[i + 1]]
    candidates += [text[:i] + sym + text[i + 1:] for i in range(len(text)) for sym in CHECK_ALPHABET if sym != text[i]]
    core = _decode_core(np.array(candidates))
    return list(dict.fromkeys(candidates[i] for i in np.flatnonzero(core.status == CODE_OK)))


# --- Sizes ----------------------------------------------------------------------------------------------------------


def cell_degrees(length: int) -> tuple[float, float]:
    """(height in degrees of latitude, width in degrees of longitude) of the cell of a code of ``length``."""
    level = _check_length(length) - 1
    return ROWS_PER_CELL[level] * ROW_QUANTA / QUANTA_PER_DEGREE, COLS_PER_CELL[level] * COL_QUANTA / QUANTA_PER_DEGREE


def cell_size_m(height_deg: float, width_deg: float, lat: float) -> tuple[float, float]:
    """Approximate (width, height) in metres of a cell of the given size in degrees at latitude ``lat`` (WGS84)."""
    phi = math.radians(lat)
    per_deg_lat = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_deg_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)
    return width_deg * per_deg_lon, height_deg * per_deg_lat
