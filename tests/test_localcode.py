"""The local form on the real gazetteer: round trips, legacy postcodes after the reform, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from vpostcode import codec
from vpostcode.errors import InvalidCodeError, UnknownPostcodeError
from vpostcode.gazetteer import Gazetteer
from vpostcode.localcode import resolve, shorten
from vpostcode.reverse_geocode import get_reverse_geocoder


@pytest.fixture(scope="module")
def points_in_communes(gazetteer: Gazetteer):  # type: ignore[no-untyped-def]
    """Seeded random points across Vietnam that fall in a commune, with their codes and local codes."""
    rng = np.random.default_rng(11)
    lats, lons = rng.uniform(8.5, 23.3, 20_000), rng.uniform(102.2, 109.5, 20_000)
    frame = get_reverse_geocoder(gazetteer).reverse_many(lats, lons)
    return frame[frame["commune_code"].notna()].head(600)


def test_local_codes_round_trip(points_in_communes, gazetteer: Gazetteer) -> None:  # type: ignore[no-untyped-def]
    made = points_in_communes[points_in_communes["local_code"].notna()]
    assert len(made) >= 0.97 * len(points_in_communes)  # only snapped points outside a commune's box lack one
    for local, full, commune in made[["local_code", "address_code", "commune_code"]].itertuples(index=False):
        resolution = resolve(local, gazetteer)
        assert resolution.code == full
        assert resolution.scheme == "2025" and resolution.unit_code == commune
        assert shorten(full, commune=commune, gazetteer=gazetteer) == local


def test_legacy_postcode_local_code_recovers_after_the_reform(gazetteer: Gazetteer) -> None:
    units = gazetteer.legacy_units.dropna(subset=["postcode_2020"]).sample(200, random_state=12)
    for code, lat, lon, postcode in units[["code", "lat", "lon", "postcode_2020"]].itertuples(index=False):
        full = codec.encode(lat, lon)
        local = shorten(full, legacy_ward=code, gazetteer=gazetteer)
        assert local.startswith(f"{postcode}-")
        resolution = resolve(local, gazetteer)
        assert resolution.code == full
        if resolution.scheme == "2020":
            assert resolution.unit_code == code
            assert set(resolution.commune_candidates) == {c.code for c in gazetteer.convert(code)}
        else:  # the 2020 postcode is also a 2025 code and the tail happens to fit there: told as an alternative
            assert any(a["unit_code"] == code for a in resolution.alternatives) or resolution.code == full


def test_typos_in_a_local_code_are_caught(points_in_communes, gazetteer: Gazetteer) -> None:  # type: ignore[no-untyped-def]
    """Every single typo past the tail's first character is caught; the first one can move the recovered cell
    into a neighbouring prefix cell, where the check passes by chance (docs/address-code.md §10.4)."""
    undetected = {"first": 0, "rest": 0}
    tried = {"first": 0, "rest": 0}
    for local in points_in_communes["local_code"].dropna().head(150):
        postal, tail = local.split("-")
        typos = [(i, f"{postal}-{tail[:i]}{tail[i + 1]}{tail[i]}{tail[i + 2:]}") for i in range(len(tail) - 1)
                 if tail[i] != tail[i + 1]]
        typos += [(i, f"{postal}-{tail[:i]}{c}{tail[i + 1:]}") for i in range(len(tail) - 1)
                  for c in codec.ALPHABET if c != tail[i]]
        for position, typo in typos:
            where = "first" if position == 0 else "rest"
            tried[where] += 1
            try:
                resolve(typo, gazetteer)
            except InvalidCodeError:
                continue
            undetected[where] += 1
    assert undetected["rest"] == 0
    assert undetected["first"] / tried["first"] < 0.005


def test_unknown_postcode_is_named(gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPostcodeError, match="00000"):
        resolve("00000-6RPK", gazetteer)
    with pytest.raises(InvalidCodeError):
        resolve("ABCDE-62NRPK", gazetteer)


def test_full_code_outside_the_commune_has_no_local_form(gazetteer: Gazetteer) -> None:
    saigon = codec.encode(10.7769, 106.7009)
    with pytest.raises(InvalidCodeError):
        shorten(saigon, commune="00070", gazetteer=gazetteer)  # Hoàn Kiếm, Hà Nội
