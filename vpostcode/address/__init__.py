"""Vietnamese addresses as people write them: parsing, forward geocoding, validation and old → new conversion.

The public entry points: ``parse``, ``geocode``, ``validate`` and ``geocode_frame`` (one chunk of a batch file);
their answers are the records of ``vpostcode.address.answers``. They check their arguments here, at the boundary,
so that a caller's mistake (a number for the text, a word for a latitude) is an ``InvalidInputError`` naming the
parameter. The reader itself is ``vpostcode.address.core`` (its docstring tells how it reads, ranks and
calibrates): plain Python that ``scripts/compile_native.py`` compiles to C with mypyc when a compiler is at hand
(``vpostcode._native`` loads the compiled form only while it matches the source), which is about three times as
fast with the same answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vpostcode.address import core
from vpostcode.address.answers import (
    Candidate,
    MatchType,
    ParsedAddress,
    Precision,
    Status,
    Structure,
    Validation,
    Verdict,
)
from vpostcode.address.core import BATCH_COLUMNS, MAX_TEXT_LENGTH, PARTS, AddressIndex, address_index
from vpostcode.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

    from vpostcode.gazetteer import Gazetteer

__all__ = [
    "BATCH_COLUMNS",
    "MAX_TEXT_LENGTH",
    "PARTS",
    "AddressIndex",
    "Candidate",
    "MatchType",
    "ParsedAddress",
    "Precision",
    "Status",
    "Structure",
    "Validation",
    "Verdict",
    "address_index",
    "geocode",
    "geocode_frame",
    "parse",
    "validate",
]


def _coordinate(value: object, name: str) -> float | None:
    """A latitude or longitude as a float (None stays None); anything that is not a number is the caller's error."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"{name} must be a number, got {value!r}", parameter=name)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a number, got {value!r}", parameter=name) from None
    return number  # out of range, NaN or infinite: the reader's coordinate check names it


def _code(value: object) -> str | None:
    """An address code as text (a number typed in a form is read as its digits)."""
    return None if value is None else value if isinstance(value, str) else str(value)


def _column(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidInputError(f"the address column must be named by text, got {value!r}", parameter="column")


def parse(text: str, gazetteer: Gazetteer | None = None) -> ParsedAddress:
    """Split an address into house number, alley, street, hamlet, commune, district and province.

    The administrative parts are recognised by the gazetteers' names, right to left (commas optional); the rest
    is split by part markers. Raises ``InvalidInputError`` for non-text or text over ``MAX_TEXT_LENGTH``.
    """
    return core.parse(core._check_text(text), gazetteer)


def geocode(text: str, limit: int = 5, lat: float | None = None, lon: float | None = None,
            code: str | None = None, gazetteer: Gazetteer | None = None) -> list[Candidate]:
    """The 2025 communes an address names, best first (at most ``limit``; an empty list when none).

    Each candidate carries the postal code, a location, a calibrated ``confidence`` and its ``match_type``
    (``exact``, ``normalised``, ``fuzzy``, ``legacy_converted``, ``legacy_partial``). A legacy ward that the
    reform split yields all the communes it went into (``legacy_partial``); a point (``lat``/``lon``) or an address
    code (``code``, or one written in the text) picks the right one by reverse geocoding and, for a code, gives
    the code's location (``precision="address_code"``).
    """
    if lat is None and lon is None and code is None and type(limit) is int and limit >= 1:
        return core.geocode(core._check_text(text), limit, None, None, None, gazetteer)  # the common call
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError(f"limit must be a positive integer, got {limit!r}", parameter="limit")
    return core.geocode(core._check_text(text), limit, _coordinate(lat, "lat"), _coordinate(lon, "lon"),
                        _code(code), gazetteer)


def validate(text: str, code: str | None = None, lat: float | None = None, lon: float | None = None,
             gazetteer: Gazetteer | None = None) -> Validation:
    """Check an address for a checkout in one call: a verdict, each part's status, the 2025 address, suggestions.

    See :class:`Validation` for the verdicts. Bad *text* never raises: empty, foreign or unrecognisable text is
    ``invalid``, and so is a mistyped ``code`` (with the valid codes one slip away as ``suggestions``). Only a
    non-string, text over ``MAX_TEXT_LENGTH`` or invalid coordinates raise ``InvalidInputError`` (a caller's
    mistake, not the customer's).
    """
    return core.validate(core._check_text(text), _code(code), _coordinate(lat, "lat"), _coordinate(lon, "lon"),
                         gazetteer)


def geocode_frame(frame: pd.DataFrame, column: str | None = None,
                  gazetteer: Gazetteer | None = None) -> pd.DataFrame:
    """One chunk of a batch file: every input column plus ``BATCH_COLUMNS`` for the best candidate of each row.

    ``column`` names the address column (default: the first of ``address``, ``dia_chi``, ``text``...). A row that
    cannot be geocoded (empty, too long, no commune named) gets its reason in ``error``; the others go on.
    """
    return core.geocode_frame(frame, _column(column), gazetteer)
