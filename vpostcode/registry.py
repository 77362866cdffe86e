"""The household "Địa chỉ số" registry: a household registers its address and its point, and gets its address code.

``register(address, lat, lon)`` checks the address (``vpostcode.address.validate``) and the point (reverse
geocoding) and that they agree, assigns the full address code of the point (``XXXX-XXX-XXX``) and its local form
(``PPPPP-TAIL``, the commune's postal code and a short tail), and stores the record. ``lookup(code)`` answers for
either form; ``delete(code)`` erases the record.

What is public, what is private, and why
----------------------------------------
The registry follows data minimisation (Vietnam's Decree 13/2023/ND-CP on personal data protection, as the GDPR's
Article 5(1)(c)): it keeps only what an address needs, and shows only what delivering to it needs.

* **Public** (``lookup(code)``, any caller): the codes, the point, the commune and province, the postal code and
  the structured, standardised address (house number, alley, street, hamlet, commune, province). This is what is
  on the door and what a courier needs; anyone holding the code can already find the place, so the location adds
  no personal data that the code did not carry.
* **Private** (``lookup(code, include_private=True)``, which the API grants only to keys with the
  ``registry:private`` scope): the household's contact details (name, phone, e-mail). They identify people, not
  places, so they are stored only when the household consents (``consent=True``; contact details without consent
  are refused, not silently dropped) and are never part of the public answer.
* **Nothing else is kept**: no free text beyond the address as written, no request metadata, no history.
  ``delete(code)`` removes the record and its contact details at once; the store hard-deletes the row (and on
  SQLite overwrites the freed space), so the details do not linger for a later reader.

Agreement between address and point
-----------------------------------
The address must name one 2025 commune in its own words (a legacy address is converted; ``validate`` reports it
``valid_outdated``), and the point must lie in Vietnam (on land: a point at sea or abroad is refused). They agree
when the point's commune is the address's, or one of the communes of a boundary overlap sliver the point lies in
(``also_in``), or the point is within ``BOUNDARY_TOLERANCE_M`` of the address's commune (commune boundaries are
surveyed to a few metres; a house on the line must not be refused). Otherwise the registration is refused with
:class:`~vpostcode.errors.InconsistentAddressError`, naming both communes and the distance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from vpostcode.errors import (
    InconsistentAddressError,
    InvalidInputError,
    OutsideDomainError,
)

if TYPE_CHECKING:
    from vpostcode.address import Validation
    from vpostcode.reverse_geocode import ReverseResult
    from vpostcode.store import RegisteredAddress, Store

BOUNDARY_TOLERANCE_M: Final = 30.0
"""A point this close to the address's commune (outside it) still agrees with the address."""
COAST_TOLERANCE_M: Final = 30.0
"""A point outside every commune but this close to one (a house on the shore line) is still on land."""
ADDRESS_PARTS: Final = ("house_number", "alley", "street", "hamlet", "commune", "district", "province")
"""The parts an address may be given in (a dict), small to large as Vietnamese addresses are written."""
CONTACT_FIELDS: Final = ("name", "phone", "email")


@dataclass(frozen=True)
class Registration:
    """A registered household address: its codes, its place and its standardised address (never the contact)."""

    code: str
    display_code: str
    local_code: str | None
    commune_code: str
    commune_name: str
    province_code: str
    province_name: str
    postal_code: str | None
    lat: float
    lon: float
    standard_address: str | None
    structured: dict[str, Any]
    verdict: str
    contact_stored: bool
    created_at: datetime
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        record = asdict(self)
        record["created_at"] = self.created_at.isoformat()
        record["notes"] = list(self.notes)
        return record


# ======================================================================================================== helpers


def address_text(address: str | Mapping[str, Any]) -> str:
    """The address as one line: the text itself, or the parts (``ADDRESS_PARTS``) joined small to large."""
    if isinstance(address, str):
        text = address.strip()
    elif isinstance(address, Mapping):
        unknown = sorted(str(key) for key in address if key not in ADDRESS_PARTS)
        if unknown:
            raise InvalidInputError(f"unknown address part(s) {', '.join(unknown)}: use {', '.join(ADDRESS_PARTS)}",
                                    parameter="address")
        parts = []
        for name in ADDRESS_PARTS:
            value = address.get(name)
            if value is not None and not isinstance(value, str | int):
                raise InvalidInputError(f"address part {name} must be text", parameter="address")
            if value is not None and str(value).strip():
                parts.append(str(value).strip())
        text = ", ".join(parts)
    else:
        raise InvalidInputError("the address must be text or a dict of parts", parameter="address")
    if not text:
        raise InvalidInputError("the address is empty", parameter="address")
    return text


def _contact(contact: Any) -> dict[str, str | None]:
    """Contact details as ``contact_name``/``contact_phone``/``contact_email`` (None where not given)."""
    if contact is None:
        return {f"contact_{name}": None for name in CONTACT_FIELDS}
    values = contact if isinstance(contact, Mapping) else {
        name: getattr(contact, name, None) for name in CONTACT_FIELDS}
    unknown = sorted(str(key) for key in values if key not in CONTACT_FIELDS)
    if unknown:
        raise InvalidInputError(f"unknown contact field(s) {', '.join(unknown)}: use name, phone, email",
                                parameter="contact")
    out: dict[str, str | None] = {}
    for name in CONTACT_FIELDS:
        value = values.get(name)
        out[f"contact_{name}"] = str(value).strip() or None if value is not None else None
    return out


def normalize_code(code: str) -> str:
    """The stored (compact, canonical) form of a full address code, or of the full code a local code stands for.

    Accepts any display form (``W5Y9-62N-RPK``, lower case, spaces) and local codes (``11024-62NRPK``); raises
    ``InvalidCodeError`` naming what is wrong.
    """
    from vpostcode import codec
    from vpostcode.localcode import recover
    from vpostcode.localcode_math import is_local_form

    if not isinstance(code, str) or not code.strip():
        raise InvalidInputError("give an address code (XXXX-XXX-XXX) or a local code (PPPPP-TAIL)",
                                parameter="code")
    text = code.strip()
    return codec.normalize(recover(text) if is_local_form(text) else text)


def _open(store: Store | None) -> tuple[Store, bool]:
    """The store to use and whether this call opened it (and so must close it)."""
    if store is not None:
        return store, False
    from vpostcode.store import open_store

    return open_store(), True


def _locate(lat: float, lon: float) -> ReverseResult:
    """The point's commune and codes; a point at sea or outside Vietnam is an ``OutsideDomainError``."""
    from vpostcode.reverse_geocode import get_reverse_geocoder

    found = get_reverse_geocoder().reverse(lat, lon)
    on_land = found.match in ("inside", "overlap") or (
        found.match == "nearest" and found.distance_m is not None and found.distance_m <= COAST_TOLERANCE_M)
    if found.commune_code is None or not on_land or found.address_code is None:
        where = f"{found.distance_m:.0f} m from the nearest commune" if found.distance_m else "in no commune"
        raise OutsideDomainError(
            f"the point {lat:.6f},{lon:.6f} is at sea or outside Vietnam ({where}): give the point of the house",
            parameter="lat", lat=lat, lon=lon)
    return found


def _check_agreement(validation: Validation, found: ReverseResult, text: str) -> tuple[str, list[str]]:
    """The commune of the registration, once the address and the point agree; raise when they do not."""
    verdict = validation.verdict
    notes: list[str] = []
    commune_status = validation.components.get("commune", {}).get("status")
    if verdict != "invalid" and commune_status in ("missing", "unknown", None):
        # validate() takes the point's commune when the words name none; a registration needs it in the words.
        raise InvalidInputError(f"the address {text!r} names no commune or ward: write it with its commune (phường/"
                                "xã) and province", parameter="address", verdict="invalid")
    if verdict in ("valid", "valid_outdated"):
        chosen = validation.candidates[0].commune_code if validation.candidates else found.commune_code
        assert chosen is not None
        if chosen != found.commune_code and chosen not in found.also_in:
            notes.append(f"the point lies in {found.commune_code}, in the overlap with {chosen}")
        return chosen, notes
    if verdict == "inconsistent":
        distance = validation.distance_m
        named = validation.candidates[0] if validation.candidates else None
        if distance is not None and distance <= BOUNDARY_TOLERANCE_M and named is not None:
            notes.append(f"the point is {distance:.0f} m outside {named.commune_name}, within the "
                         f"{BOUNDARY_TOLERANCE_M:.0f} m boundary tolerance")
            return named.commune_code, notes
        where = named.commune_name if named is not None else "another commune"
        raise InconsistentAddressError(
            f"the address is in {where} but the point lies in {found.commune_name} ({found.commune_code})"
            + (f", {distance:.0f} m away" if distance is not None else "")
            + ": correct the address or move the point to the house",
            parameter="address", address_commune=named.commune_code if named else None,
            point_commune=found.commune_code, distance_m=distance)
    hint = f" (did you mean {validation.suggestions[0]}?)" if validation.suggestions else ""
    raise InvalidInputError(f"the address {text!r} cannot be registered: {validation.message}{hint}",
                            parameter="address", verdict=verdict, suggestions=list(validation.suggestions))


def _structured(validation: Validation, text: str, commune_code: str, given: Any) -> dict[str, Any]:
    """The public, structured address: parts as written (tidied), their 2025 standard, and the commune."""
    components = validation.components
    parts: dict[str, Any] = {"text": text, "standard_address": validation.standard_address,
                             "commune_code": commune_code, "postal_code": validation.postal_code}
    for name in ("house_number", "alley", "street", "hamlet"):
        value = components.get(name, {}).get("value")
        if value:
            parts[name] = value
    for name in ("commune", "district", "province"):
        component = components.get(name, {})
        if component.get("value"):
            parts[f"{name}_as_written"] = component["value"]
        if component.get("standard"):
            parts[name] = component["standard"]
    if isinstance(given, Mapping):
        parts["parts_given"] = {k: str(v) for k, v in given.items() if v is not None and str(v).strip()}
    return parts


# ======================================================================================================== API


def register(address: str | Mapping[str, Any], lat: float, lon: float, contact: Any = None, consent: bool = False,
             store: Store | None = None) -> Registration:
    """Register a household's address at a point; see the module docstring for the checks and what is kept.

    ``address`` is text or a dict of ``ADDRESS_PARTS``; ``contact`` (name, phone, email, as a dict or an object
    with those attributes) is stored only with ``consent=True`` and refused without it. Raises
    ``InvalidInputError`` (bad address, contact without consent), ``OutsideDomainError`` (a point at sea or abroad),
    ``InconsistentAddressError`` (address and point in different communes) or ``ConflictError`` (the point's code is
    already registered).
    """
    from vpostcode import codec
    from vpostcode.address import validate
    from vpostcode.store import AddressRecord

    if not isinstance(consent, bool):
        raise InvalidInputError("consent must be true or false", parameter="consent")
    contact_fields = _contact(contact)
    if any(contact_fields.values()) and not consent:
        raise InvalidInputError("contact details are stored only with the household's consent: pass consent=True "
                                "(--consent), or leave the contact out", parameter="consent")
    text = address_text(address)
    found = _locate(lat, lon)
    validation = validate(text, lat=found.lat, lon=found.lon)
    commune_code, notes = _check_agreement(validation, found, text)
    assert found.address_code is not None
    code = codec.normalize(found.address_code)
    record = AddressRecord(
        code=code, lat=found.lat, lon=found.lon, commune_code=commune_code,
        structured=_structured(validation, text, commune_code, address), local_code=found.local_code,
        consent=consent, **contact_fields,
    )
    opened, owned = _open(store)
    try:
        stored = opened.add_address(record)
    finally:
        if owned:
            opened.close()
    return _registration(stored, validation.verdict, any(contact_fields.values()), tuple(notes))


def _registration(stored: RegisteredAddress, verdict: str, contact_stored: bool,
                  notes: tuple[str, ...]) -> Registration:
    from vpostcode import codec
    from vpostcode.gazetteer import get_gazetteer

    commune = get_gazetteer().commune(stored.commune_code)
    return Registration(
        code=stored.code, display_code=codec.format_code(stored.code), local_code=stored.local_code,
        commune_code=commune.code, commune_name=commune.full_name, province_code=commune.province_code,
        province_name=commune.province_name, postal_code=commune.postal_code, lat=stored.lat, lon=stored.lon,
        standard_address=stored.structured.get("standard_address"), structured=dict(stored.structured),
        verdict=verdict, contact_stored=contact_stored, created_at=stored.created_at, notes=notes,
    )


def lookup(code: str, include_private: bool = False, store: Store | None = None) -> RegisteredAddress:
    """The registered address of a code (full, in any display form, or local); the contact only on request.

    ``include_private=True`` adds the contact details; the API grants it only to keys with the
    ``registry:private`` scope. Raises ``InvalidCodeError`` for a malformed code and ``UnknownAddressError`` when
    no household registered it.
    """
    normalized = normalize_code(code)
    opened, owned = _open(store)
    try:
        return opened.get_address(normalized, include_private=include_private)
    finally:
        if owned:
            opened.close()


def public_view(address: RegisteredAddress) -> dict[str, Any]:
    """The JSON answer of a lookup: the stored record plus the display code (and ``contact`` only if loaded)."""
    from vpostcode import codec

    return {"display_code": codec.format_code(address.code), **address.to_dict()}


def delete(code: str, store: Store | None = None) -> str:
    """Erase a registration and its contact details at once (a hard delete); returns the code erased."""
    normalized = normalize_code(code)
    opened, owned = _open(store)
    try:
        opened.delete_address(normalized)
    finally:
        if owned:
            opened.close()
    return normalized


__all__ = [
    "ADDRESS_PARTS",
    "BOUNDARY_TOLERANCE_M",
    "Registration",
    "address_text",
    "delete",
    "lookup",
    "normalize_code",
    "public_view",
    "register",
]
