"""Reading requests: typed query parameters and JSON bodies, with errors that name the parameter.

Every failure is an ``InvalidInputError`` with ``parameter=<name>`` (a 400 whose problem body lists it under
``invalid-params``), except a body that is not JSON at all (415) or cannot be parsed (400 ``bad-request``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from flask import g, request

from api.errors import BadRequest, BatchTooLarge, UnsupportedMediaType
from vpostcode.errors import InvalidInputError

_MISSING: Final = object()
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


def _raw(name: str, required: bool, empty_is_absent: bool = True) -> str | None:
    """The raw value of a query parameter; an empty value counts as absent only where ``empty_is_absent``."""
    value = request.args.get(name)
    if value is None or (value == "" and (required or empty_is_absent)):
        if required:
            raise InvalidInputError(f"the query parameter {name!r} is required", parameter=name)
        return None
    return value


def number(name: str, *, required: bool = False, default: float | None = None, minimum: float | None = None,
           maximum: float | None = None) -> float | None:
    """A finite decimal query parameter, optionally bounded (inclusive); ``name=`` with no value is a 400."""
    raw = _raw(name, required, empty_is_absent=False)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number, got {raw!r}", parameter=name) from None
    if not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number, got {raw!r}", parameter=name)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidInputError(f"{name} must be within {minimum}..{maximum}, got {raw}", parameter=name)
    return value


def required_number(name: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """A required finite decimal query parameter."""
    value = number(name, required=True, minimum=minimum, maximum=maximum)
    assert value is not None
    return value


MAX_OFFSET: Final = 1_000_000_000
"""Largest ``offset`` accepted (beyond any table's size, well inside the databases' integers)."""


def integer(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole-number query parameter within ``minimum..maximum``; ``name=`` with no value is a 400."""
    raw = _raw(name, False, empty_is_absent=False)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise InvalidInputError(f"{name} must be a whole number, got {raw!r}", parameter=name) from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else str(maximum)
        raise InvalidInputError(f"{name} must be within {minimum}..{upper}, got {value}", parameter=name)
    return value


def text(name: str, *, required: bool = False, max_length: int = 1000) -> str | None:
    """A string query parameter (stripped of surrounding space), at most ``max_length`` characters."""
    raw = _raw(name, required)
    if raw is None:
        return None
    if len(raw) > max_length:
        raise InvalidInputError(f"{name} is longer than {max_length} characters", parameter=name)
    if "\x00" in raw:
        raise InvalidInputError(f"{name} must not contain NUL characters", parameter=name)
    return raw.strip()


def boolean(name: str) -> bool | None:
    """``true``/``false`` (also ``1``/``0``, ``yes``/``no``), or None when absent; ``name=`` is a 400."""
    raw = _raw(name, False, empty_is_absent=False)
    if raw is None:
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise InvalidInputError(f"{name} must be true or false, got {raw!r}", parameter=name)


def numbers(name: str, count: int, raw: str | None) -> tuple[float, ...] | None:
    """``count`` comma-separated finite numbers (``bbox=w,s,e,n``, ``near=lat,lon``), or None when absent."""
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) != count:
        raise InvalidInputError(f"{name} must be {count} comma-separated numbers, got {raw!r}", parameter=name)
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        raise InvalidInputError(f"{name} must be {count} comma-separated numbers, got {raw!r}",
                                parameter=name) from None
    if not all(math.isfinite(v) for v in values):
        raise InvalidInputError(f"{name} must hold finite numbers, got {raw!r}", parameter=name)
    return values


MAX_JSON_INT: Final = 2**53
"""Integers in a body must be exactly representable as floats: larger ones are refused, never overflowed."""


def _json_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_JSON_INT:
        raise ValueError(f"integer {text[:20]}... is beyond ±2^53")
    return value


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is not finite")
    return value


def _json_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def json_body() -> Any:
    """The request's JSON body; 415 when it is not ``application/json``, 400 when it does not parse.

    Stricter than ``json.loads``: ``NaN``/``Infinity``, numbers that overflow a double and integers beyond 2^53
    are refused (400) rather than turned into infinities or overflow errors deep in the library; so is nesting
    deeper than the parser's recursion limit.
    """
    if not request.is_json:
        raise UnsupportedMediaType(
            f"the body must be application/json, got {request.mimetype or 'none'}",
            headers={"Accept-Post": "application/json"})
    cached = g.get("json_body", _MISSING)
    if cached is not _MISSING:
        return cached
    raw = request.get_data(cache=True)  # 413 when over max_body_bytes
    try:
        data = json.loads(raw, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = str(error) if not isinstance(error, RecursionError) else "nested too deeply"
        raise BadRequest(f"the body is not valid JSON (UTF-8): {reason[:200]}", parameter="body") from None
    g.json_body = data
    return data


def json_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    data = json_body()
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", parameter="body")
    return data


def field(body: dict[str, Any], name: str, kinds: type | tuple[type, ...], *, required: bool = False,
          default: Any = None) -> Any:
    """A member of a JSON object body checked for type (booleans are never numbers), or ``default``."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise InvalidInputError(f"the body member {name!r} is required", parameter=name)
        return default
    wanted = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool) and bool not in wanted:
        raise InvalidInputError(f"{name} must be {_kind_names(wanted)}, got a boolean", parameter=name)
    if not isinstance(value, wanted):
        raise InvalidInputError(f"{name} must be {_kind_names(wanted)}, got {type(value).__name__}",
                                parameter=name)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(f"{name} must be a finite number", parameter=name)
    return value


def _kind_names(kinds: tuple[type, ...]) -> str:
    """Human names of JSON types for messages (``a number or a string``)."""
    names = {int: "a number", float: "a number", str: "a string", bool: "a boolean", list: "an array",
             dict: "an object"}
    return " or ".join(dict.fromkeys(names.get(kind, kind.__name__) for kind in kinds))


def items(body: dict[str, Any], name: str, maximum: int, *, required: bool = True) -> list[Any]:
    """A batch member: a JSON array of at most ``maximum`` items (more is 413 ``batch-too-large``)."""
    value = field(body, name, list, required=required, default=[])
    if len(value) > maximum:
        raise BatchTooLarge(f"{name} holds {len(value)} items; one request takes at most {maximum}",
                            max_items=maximum, parameter=name)
    return list(value)
