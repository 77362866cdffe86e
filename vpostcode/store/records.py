"""Plain records going into and out of the store, and the checks that a record must pass before it is written.

Callers never see ORM objects: the store hands back frozen dataclasses (``PostalPoint``, ``RegisteredAddress``,
``KeyInfo``, ``UpsertReport``, ``PointsArray``) and takes input records (``PointRecord``, ``AddressRecord``) or
plain mappings with the same field names. Every check raises :class:`~vpostcode.errors.InvalidRecordError` naming
the field (and, in a batch, the record's index), before any row is touched, so that a bad batch writes nothing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from vpostcode.errors import InvalidRecordError

POINT_KINDS: Final = ("post_office", "commune_cultural_post_office", "agent", "locker")
"""Kinds of postal point: a Vietnam Post office, a commune cultural post office (điểm BĐ-VHX), an agent, a locker."""

PRECISIONS: Final = ("exact", "address", "commune")
"""How a point's position was obtained: surveyed, geocoded from its address, or only known to its commune."""

COMMUNE_CODE_RE: Final = re.compile(r"^\d{5}$")
SCOPE_RE: Final = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
EMAIL_RE: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE: Final = re.compile(r"^\+?[0-9 ().-]{6,32}$")

MAX_SOURCE: Final = 64
MAX_SOURCE_KEY: Final = 128
MAX_NAME: Final = 300
MAX_ADDRESS: Final = 1000
MAX_ADDRESS_CODE: Final = 32
MAX_LOCAL_CODE: Final = 64
MAX_CONTACT_NAME: Final = 200


# --------------------------------------------------------------------------------------------------- field checks


def _fail(field_name: str, problem: str, index: int | None) -> InvalidRecordError:
    where = f" (record {index})" if index is not None else ""
    details: dict[str, Any] = {"field": field_name}
    if index is not None:
        details["index"] = index
    return InvalidRecordError(f"{field_name}{where}: {problem}", **details)


def check_text(
    value: Any, field_name: str, max_len: int, *, optional: bool = False, index: int | None = None
) -> str | None:
    """A non-blank string of at most ``max_len`` characters (surrounding blanks stripped), or None if optional."""
    if value is None:
        if optional:
            return None
        raise _fail(field_name, "is required", index)
    if not isinstance(value, str):
        raise _fail(field_name, f"must be a string, not {type(value).__name__}", index)
    text = value.strip()
    if not text:
        if optional:
            return None
        raise _fail(field_name, "must not be blank", index)
    if len(text) > max_len:
        raise _fail(field_name, f"is longer than {max_len} characters", index)
    return text


def check_coordinate(value: Any, field_name: str, limit: float, index: int | None = None) -> float:
    """A finite latitude or longitude within ``±limit`` degrees, as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise _fail(field_name, f"must be a number, not {type(value).__name__}", index)
    number = float(value)
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise _fail(field_name, f"must be a finite number between -{limit:g} and {limit:g}, got {value!r}", index)
    return number


def check_choice(value: Any, field_name: str, choices: tuple[str, ...], index: int | None = None) -> str:
    """One of ``choices``, spelled exactly."""
    if value not in choices:
        raise _fail(field_name, f"must be one of {', '.join(choices)}; got {value!r}", index)
    return str(value)


def check_bool(value: Any, field_name: str, index: int | None = None) -> bool:
    """A real bool (not 0/1 or "yes"), so that a mistyped column cannot slip through as truthy."""
    if not isinstance(value, bool | np.bool_):
        raise _fail(field_name, f"must be true or false, not {value!r}", index)
    return bool(value)


def check_commune_code(value: Any, field_name: str, *, optional: bool, index: int | None = None) -> str | None:
    """A 2025 commune code: five digits such as ``"00004"``."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not COMMUNE_CODE_RE.match(value):
        raise _fail(field_name, f"must be a five-digit 2025 commune code, got {value!r}", index)
    return value


def check_json(value: Any, field_name: str, index: int | None = None) -> Any:
    """A value that JSON can store (str, number, bool, None, lists and string-keyed objects of those)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _fail(field_name, f"must be JSON-serialisable ({exc})", index) from None
    return value


def check_unknown_fields(data: Mapping[str, Any], allowed: set[str], index: int | None = None) -> None:
    """Reject keys that are not fields of the record, so that a typo is not silently dropped."""
    for key in data:
        if key not in allowed:
            raise _fail(str(key), "is not a known field", index)


# ------------------------------------------------------------------------------------------------- postal points


@dataclass(frozen=True)
class PointRecord:
    """A postal point to write: its external key (``source``, ``source_key``), what it is and where it is."""

    source: str
    source_key: str
    kind: str
    name: str
    lat: float
    lon: float
    address: str | None = None
    commune_code: str | None = None
    precision: str = "exact"
    staffed: bool = True
    opening_hours: Any = None

    @classmethod
    def coerce(cls, value: PointRecord | Mapping[str, Any], index: int | None = None) -> PointRecord:
        """Check a record (or a mapping with the same keys) and return it normalised; raise naming the field."""
        data = asdict(value) if isinstance(value, PointRecord) else dict(value)
        allowed = {f.name for f in fields(cls)}
        check_unknown_fields(data, allowed, index)
        for name in ("source", "source_key", "kind", "name", "lat", "lon"):
            if name not in data:
                raise _fail(name, "is required", index)
        return cls(
            source=_req(check_text(data["source"], "source", MAX_SOURCE, index=index)),
            source_key=_req(check_text(data["source_key"], "source_key", MAX_SOURCE_KEY, index=index)),
            kind=check_choice(data["kind"], "kind", POINT_KINDS, index),
            name=_req(check_text(data["name"], "name", MAX_NAME, index=index)),
            lat=check_coordinate(data["lat"], "lat", 90.0, index),
            lon=check_coordinate(data["lon"], "lon", 180.0, index),
            address=check_text(data.get("address"), "address", MAX_ADDRESS, optional=True, index=index),
            commune_code=check_commune_code(data.get("commune_code"), "commune_code", optional=True, index=index),
            precision=check_choice(data.get("precision", "exact"), "precision", PRECISIONS, index),
            staffed=check_bool(data.get("staffed", True), "staffed", index),
            opening_hours=check_json(data.get("opening_hours"), "opening_hours", index),
        )


def _req(value: str | None) -> str:
    """Narrow a required checked text to ``str`` (the check already raised when it was missing)."""
    assert value is not None
    return value


@dataclass(frozen=True)
class PostalPoint:
    """A stored postal point; ``distance_m`` is set only by a ``near`` query (metres on the WGS 84 ellipsoid)."""

    id: int
    source: str
    source_key: str
    kind: str
    name: str
    lat: float
    lon: float
    address: str | None
    commune_code: str | None
    precision: str
    staffed: bool
    opening_hours: Any
    created_at: datetime
    updated_at: datetime
    distance_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (timestamps in ISO 8601)."""
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        return out


@dataclass(frozen=True)
class UpsertReport:
    """What an upsert did: rows inserted, rows changed, and rows already identical (left untouched)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Records in the batch."""
        return self.inserted + self.updated + self.unchanged

    def to_dict(self) -> dict[str, int]:
        """JSON-ready counts."""
        return {**asdict(self), "total": self.total}


@dataclass(frozen=True)
class PointsArray:
    """Every stored point as parallel NumPy arrays, ordered by id, for vectorised coverage computations."""

    ids: npt.NDArray[np.int64]
    lons: npt.NDArray[np.float64]
    lats: npt.NDArray[np.float64]
    staffed: npt.NDArray[np.bool_]
    commune_codes: npt.NDArray[np.object_]
    kinds: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return int(self.ids.shape[0])


# -------------------------------------------------------------------------------------------- registered addresses


@dataclass(frozen=True)
class Contact:
    """A household's private contact details; returned only when explicitly asked for."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None

    def is_empty(self) -> bool:
        """True when no detail is present."""
        return self.name is None and self.phone is None and self.email is None


@dataclass(frozen=True)
class AddressRecord:
    """A digital address to register: its code, its point, its structured address and optional private contact.

    Contact details may only be stored with ``consent=True`` (the household agreed to their processing); the
    database enforces the same rule with a CHECK constraint.
    """

    code: str
    lat: float
    lon: float
    commune_code: str
    structured: Mapping[str, Any] = field(default_factory=dict)
    local_code: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    consent: bool = False

    @classmethod
    def coerce(cls, value: AddressRecord | Mapping[str, Any]) -> AddressRecord:
        """Check a record (or a mapping with the same keys) and return it normalised; raise naming the field."""
        data = asdict(value) if isinstance(value, AddressRecord) else dict(value)
        check_unknown_fields(data, {f.name for f in fields(cls)})
        for name in ("code", "lat", "lon", "commune_code"):
            if name not in data:
                raise _fail(name, "is required", None)
        commune_code = _req(check_commune_code(data["commune_code"], "commune_code", optional=False))
        structured = data.get("structured") or {}
        if not isinstance(structured, Mapping) or not all(isinstance(k, str) for k in structured):
            raise _fail("structured", "must be an object with string keys", None)
        structured = dict(check_json(dict(structured), "structured"))
        if structured.get("commune_code", commune_code) != commune_code:
            raise _fail("structured.commune_code", f"disagrees with commune_code {commune_code}", None)
        email = check_text(data.get("contact_email"), "contact_email", 254, optional=True)
        if email is not None and not EMAIL_RE.match(email):
            raise _fail("contact_email", "is not an e-mail address", None)
        phone = check_text(data.get("contact_phone"), "contact_phone", 32, optional=True)
        if phone is not None and not PHONE_RE.match(phone):
            raise _fail("contact_phone", "is not a telephone number (digits, spaces, + ( ) . -)", None)
        record = cls(
            code=_req(check_text(data["code"], "code", MAX_ADDRESS_CODE)),
            lat=check_coordinate(data["lat"], "lat", 90.0),
            lon=check_coordinate(data["lon"], "lon", 180.0),
            commune_code=commune_code,
            structured=structured,
            local_code=check_text(data.get("local_code"), "local_code", MAX_LOCAL_CODE, optional=True),
            contact_name=check_text(data.get("contact_name"), "contact_name", MAX_CONTACT_NAME, optional=True),
            contact_phone=phone,
            contact_email=email,
            consent=check_bool(data.get("consent", False), "consent"),
        )
        if not record.consent and not record.contact.is_empty():
            raise _fail("consent", "contact details are stored only with the household's consent", None)
        return record

    @property
    def contact(self) -> Contact:
        """The private part of the record."""
        return Contact(self.contact_name, self.contact_phone, self.contact_email)


@dataclass(frozen=True)
class RegisteredAddress:
    """A stored digital address. ``contact`` is None unless the caller asked for private fields."""

    code: str
    local_code: str | None
    structured: dict[str, Any]
    commune_code: str
    lat: float
    lon: float
    consent: bool
    created_at: datetime
    updated_at: datetime
    contact: Contact | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; ``contact`` appears only when it was loaded."""
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        if self.contact is None:
            del out["contact"]
        return out


# ------------------------------------------------------------------------------------------------------- API keys


@dataclass(frozen=True)
class KeyInfo:
    """An API key's public description: never its token or hash."""

    key_id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "key_id": self.key_id,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def check_scopes(scopes: Any) -> tuple[str, ...]:
    """A list of distinct scope names (lower-case words such as ``points:write``), sorted for stable storage."""
    if isinstance(scopes, str) or not isinstance(scopes, list | tuple | set | frozenset):
        raise _fail("scopes", "must be a list of scope names", None)
    out = set()
    for scope in scopes:
        if not isinstance(scope, str) or not SCOPE_RE.match(scope):
            raise _fail("scopes", f"{scope!r} is not a scope name (lower-case letters, digits, _ . : -)", None)
        out.add(scope)
    return tuple(sorted(out))
