"""The household registry on both backends: register, look up (public and private), delete, and what is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.store.conftest import (  # noqa: F401  (fixtures)
    backend,
    fresh_url,
    postgis_server,
    session_urls,
    store,
    store_url,
)
from vpostcode import codec, registry
from vpostcode.errors import (
    ConflictError,
    InconsistentAddressError,
    InvalidCodeError,
    InvalidInputError,
    OutsideDomainError,
    UnknownAddressError,
)
from vpostcode.gazetteer import Gazetteer
from vpostcode.store import Store

HANG_BAC = ("12 Hàng Bạc, Hoàn Kiếm, Hà Nội", 21.0343, 105.8530)
"""A house in the legacy Phường Hàng Bạc, now wholly in Phường Hoàn Kiếm (00070)."""
CONTACT = {"name": "Nguyễn Thị Lan", "phone": "0912 345 678", "email": "lan@example.vn"}


@pytest.fixture(autouse=True)
def _data(gazetteer: Gazetteer) -> Iterator[None]:
    """Every test needs the built data (and loads it before any store opens SpatiaLite)."""
    yield


def _raw_rows(db: Store, code: str) -> list[dict]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM registered_addresses WHERE code = :code"), {"code": code})
        return [dict(row._mapping) for row in rows]


def test_register_lookup_and_delete_with_privacy(store: Store) -> None:  # noqa: F811
    registration = registry.register(*HANG_BAC, contact=CONTACT, consent=True, store=store)
    assert registration.commune_code == "00070" and registration.postal_code == "11024"
    assert registration.verdict == "valid_outdated" and registration.contact_stored
    assert registration.code == codec.normalize(codec.encode(HANG_BAC[1], HANG_BAC[2]))
    assert registration.local_code is not None and registration.local_code.startswith("11024-")
    assert registration.standard_address == "12, Phường Hoàn Kiếm, Thành phố Hà Nội"
    assert registration.structured["house_number"] == "12"
    assert not any(value in str(registration.to_dict()) for value in CONTACT.values())

    public = registry.lookup(registration.display_code.lower(), store=store)
    assert public.contact is None and "contact" not in public.to_dict()
    assert "Lan" not in str(registry.public_view(public)) and "0912" not in str(registry.public_view(public))
    assert (public.lat, public.lon, public.commune_code) == (HANG_BAC[1], HANG_BAC[2], "00070")

    private = registry.lookup(registration.local_code, include_private=True, store=store)
    assert private.code == registration.code
    assert private.contact is not None and private.contact.phone == "0912 345 678"

    assert _raw_rows(store, registration.code)[0]["contact_email"] == "lan@example.vn"
    assert registry.delete(registration.display_code, store=store) == registration.code
    assert _raw_rows(store, registration.code) == []
    with pytest.raises(UnknownAddressError):
        registry.lookup(registration.code, store=store)
    with pytest.raises(UnknownAddressError):
        registry.delete(registration.code, store=store)


def test_deleted_contact_details_leave_the_sqlite_file(tmp_path: Path) -> None:
    from vpostcode.store import open_store

    path = tmp_path / "registry.sqlite"
    with open_store(f"sqlite:///{path}") as db:
        registration = registry.register(*HANG_BAC, contact={"phone": "0987 654 321"}, consent=True, store=db)
        registry.delete(registration.code, store=db)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("registry.sqlite"))
    assert b"0987 654 321" not in data


def test_contact_without_consent_is_refused(store: Store) -> None:  # noqa: F811
    with pytest.raises(InvalidInputError, match="consent"):
        registry.register(*HANG_BAC, contact={"phone": "0912345678"}, store=store)
    registration = registry.register(*HANG_BAC, store=store)  # no contact: no consent needed
    assert not registration.contact_stored
    private = registry.lookup(registration.code, include_private=True, store=store)
    assert private.contact is not None and private.contact.is_empty() and not private.consent


def test_registering_the_same_code_twice_is_a_conflict(store: Store) -> None:  # noqa: F811
    registry.register(*HANG_BAC, store=store)
    with pytest.raises(ConflictError):
        registry.register("Phường Hoàn Kiếm, Hà Nội", HANG_BAC[1], HANG_BAC[2], store=store)


def test_an_address_in_another_commune_than_its_point_is_refused(store: Store) -> None:  # noqa: F811
    with pytest.raises(InconsistentAddressError) as caught:
        registry.register("Phường Ba Đình, Hà Nội", 21.0285, 105.8542, store=store)  # the point is in Hoàn Kiếm
    assert caught.value.details["address_commune"] == "00004"
    assert caught.value.details["point_commune"] == "00070"
    assert caught.value.details["distance_m"] > 500


def _point_outside_hoan_kiem(gazetteer: Gazetteer, metres: float) -> tuple[float, float]:
    """A point about ``metres`` outside Phường Hoàn Kiếm (00070), in a neighbour and in no overlap sliver."""
    import math

    import shapely

    from vpostcode.reverse_geocode import reverse

    commune = gazetteer.commune("00070")
    for lon, lat in shapely.get_coordinates(gazetteer.commune_geometry("00070"))[::7]:
        east, north = (lon - commune.rep_lon) * math.cos(math.radians(lat)), lat - commune.rep_lat
        step = metres / 111_320 / math.hypot(east, north)
        point = (lat + north * step, lon + (lon - commune.rep_lon) * step)
        found = reverse(*point)
        if found.commune_code not in (None, "00070") and not found.also_in and found.match == "inside":
            return point
    raise AssertionError("no such point")


def test_a_point_just_over_the_boundary_is_tolerated(store: Store, gazetteer: Gazetteer) -> None:  # noqa: F811
    lat, lon = _point_outside_hoan_kiem(gazetteer, 12.0)
    registration = registry.register("5 Tràng Tiền, Phường Hoàn Kiếm, Hà Nội", lat, lon, store=store)
    assert registration.commune_code == "00070"
    assert registration.notes and "boundary tolerance" in registration.notes[0]
    lat, lon = _point_outside_hoan_kiem(gazetteer, 150.0)
    with pytest.raises(InconsistentAddressError):
        registry.register("5 Tràng Tiền, Phường Hoàn Kiếm, Hà Nội", lat, lon, store=store)


@pytest.mark.parametrize(("lat", "lon"), [(20.5, 107.5), (21.0, 110.5), (13.0, 100.5)])
def test_a_point_at_sea_or_abroad_is_refused(store: Store, lat: float, lon: float) -> None:  # noqa: F811
    with pytest.raises(OutsideDomainError, match="at sea or outside Vietnam"):
        registry.register("Phường Hoàn Kiếm, Hà Nội", lat, lon, store=store)


@pytest.mark.parametrize("address", ["xyz", "", "Thành phố Hà Nội", {"province": "Hà Nội"}])
def test_an_address_that_names_no_commune_is_refused(store: Store, address: object) -> None:  # noqa: F811
    with pytest.raises(InvalidInputError):
        registry.register(address, HANG_BAC[1], HANG_BAC[2], store=store)  # type: ignore[arg-type]


def test_an_address_given_in_parts(store: Store) -> None:  # noqa: F811
    parts = {"house_number": "12", "street": "Hàng Bạc", "commune": "Phường Hoàn Kiếm", "province": "Hà Nội"}
    registration = registry.register(parts, HANG_BAC[1], HANG_BAC[2], store=store)
    assert registration.verdict == "valid" and registration.commune_code == "00070"
    assert registration.structured["parts_given"]["street"] == "Hàng Bạc"
    with pytest.raises(InvalidInputError, match="unknown address part"):
        registry.register({"road": "x"}, HANG_BAC[1], HANG_BAC[2], store=store)


def test_malformed_codes_are_refused(store: Store) -> None:  # noqa: F811
    with pytest.raises(InvalidCodeError):
        registry.lookup("W5Y9-CFW-B5X", store=store)
    with pytest.raises(InvalidInputError):
        registry.lookup("   ", store=store)
