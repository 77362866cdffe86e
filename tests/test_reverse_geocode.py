"""Reverse geocoding on the real communes: representative points, sea, bad rows, CRSs, chunks, nearby communes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

import vpostcode
from vpostcode.errors import InvalidCoordinateError, UnknownCRSError
from vpostcode.gazetteer import Gazetteer
from vpostcode.localcode import resolve
from vpostcode.reverse_geocode import RESULT_COLUMNS, ReverseGeocoder, get_reverse_geocoder


@pytest.fixture(scope="module")
def geocoder(gazetteer: Gazetteer) -> ReverseGeocoder:
    return get_reverse_geocoder(gazetteer)


@pytest.fixture(scope="module")
def at_reference_points(geocoder: ReverseGeocoder, gazetteer: Gazetteer) -> pd.DataFrame:
    communes = gazetteer.communes
    return geocoder.reverse_many(communes["rep_lat"], communes["rep_lon"])


def test_every_reference_point_maps_back_to_its_commune(at_reference_points: pd.DataFrame,
                                                        gazetteer: Gazetteer) -> None:
    communes = gazetteer.communes
    assert list(at_reference_points.columns) == list(RESULT_COLUMNS)
    assert (at_reference_points["commune_code"].to_numpy() == communes["code"].to_numpy()).all()
    assert (at_reference_points["postal_code"].to_numpy() == communes["postal_code"].to_numpy()).all()
    assert set(at_reference_points["match"]) <= {"inside", "overlap"}


def test_local_codes_of_reference_points_recover(at_reference_points: pd.DataFrame, gazetteer: Gazetteer) -> None:
    sample = at_reference_points.sample(400, random_state=4)
    assert sample["local_code"].notna().all()
    for local, full, postal in sample[["local_code", "address_code", "postal_code"]].itertuples(index=False):
        assert local.startswith(f"{postal}-")
        assert resolve(local, gazetteer).code == full


def test_top_level_exports(gazetteer: Gazetteer) -> None:
    result = vpostcode.reverse(21.0285, 105.8542)
    assert result.commune_code == "00070"  # Phường Hoàn Kiếm, around the lake
    frame = vpostcode.reverse_many([21.0285], [105.8542])
    assert frame.loc[0, "address_code"] == result.address_code


def test_scalar_agrees_with_array_form(geocoder: ReverseGeocoder) -> None:
    rng = np.random.default_rng(5)
    lats, lons = rng.uniform(8.0, 23.5, 300), rng.uniform(102.0, 110.0, 300)
    frame = geocoder.reverse_many(lats, lons)
    for i in range(300):
        one = geocoder.reverse(lats[i], lons[i]).to_dict()
        row = frame.iloc[i]
        for field in ("commune_code", "postal_code", "address_code", "local_code", "match"):
            expected = row[field] if isinstance(row[field], str) else None
            assert one[field] == expected, (field, lats[i], lons[i])


def test_sea_and_abroad_get_no_commune_without_error(geocoder: ReverseGeocoder) -> None:
    frame = geocoder.reverse_many([15.0, 10.0, 48.85], [113.0, 109.5, 2.35])
    assert frame["commune_code"].isna().all()
    assert (frame["match"] == "none").all()
    assert frame["error"].isna().all()
    assert frame["address_code"].notna().tolist() == [True, True, False]  # the code covers the sea, not Paris
    assert geocoder.reverse(15.0, 113.0).commune_code is None


def test_point_just_off_the_coast_snaps_with_its_distance(geocoder: ReverseGeocoder, gazetteer: Gazetteer) -> None:
    coast = gazetteer.commune_geometry("26732")  # Côn Đảo: islands, so open sea on every side
    south = shapely.bounds(coast)[1]
    lon_at_south = next(x for x, y in np.asarray(shapely.get_coordinates(coast)) if abs(y - south) < 1e-9)
    result = geocoder.reverse(south - 0.002, lon_at_south)  # ~220 m south of the southernmost vertex
    assert result.match == "nearest"
    assert result.commune_code == "26732"
    assert 150 < (result.distance_m or 0) < 300


def test_bad_rows_are_reported_and_the_batch_goes_on(geocoder: ReverseGeocoder) -> None:
    frame = geocoder.reverse_many([21.0285, np.nan, np.inf, 105.8, 91.0], [105.8542, 105.0, 105.0, 21.0, 105.0])
    assert frame.loc[0, "commune_code"] == "00070"
    assert frame["match"].tolist()[1:] == ["invalid"] * 4
    assert "swapped" in frame.loc[3, "error"]
    assert frame.loc[1:, "commune_code"].isna().all()


def test_scalar_bad_input_raises_with_hint(geocoder: ReverseGeocoder) -> None:
    with pytest.raises(InvalidCoordinateError, match="swapped"):
        geocoder.reverse(105.85, 21.03)
    with pytest.raises(InvalidCoordinateError):
        geocoder.reverse(float("nan"), 105.0)
    with pytest.raises(InvalidCoordinateError):
        geocoder.reverse("north", 105.0)  # type: ignore[arg-type]
    with pytest.raises(UnknownCRSError):
        geocoder.reverse(21.0, 105.8, crs="EPSG:3857")


def test_chunking_changes_nothing(geocoder: ReverseGeocoder) -> None:
    rng = np.random.default_rng(6)
    lats, lons = rng.uniform(10.0, 22.0, 500), rng.uniform(103.0, 109.0, 500)
    whole = geocoder.reverse_many(lats, lons)
    chunked = geocoder.reverse_many(lats, lons, chunk_size=37)
    pd.testing.assert_frame_equal(whole, chunked)


def test_vn2000_projected_input_lands_in_the_same_commune(geocoder: ReverseGeocoder, gazetteer: Gazetteer) -> None:
    hanoi = gazetteer.communes[gazetteer.communes["province_code"] == "01"].head(60)
    to_tm3 = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True)  # VN-2000 TM-3 105°00′ (Hà Nội)
    eastings, northings = to_tm3.transform(hanoi["rep_lon"].to_numpy(), hanoi["rep_lat"].to_numpy())
    frame = geocoder.reverse_many(northings, eastings, crs="EPSG:5897")
    assert (frame["commune_code"].to_numpy() == hanoi["code"].to_numpy()).all()
    offsets_m = np.hypot((frame["lat"] - hanoi["rep_lat"].to_numpy()) * 111_000,
                         (frame["lon"] - hanoi["rep_lon"].to_numpy()) * 104_000)
    assert offsets_m.max() < 2.0  # pyproj's round trip through the pinned 7-parameter shift (1 m stated)


def test_communes_near_are_ordered_and_start_with_the_one_it_is_in(geocoder: ReverseGeocoder) -> None:
    near = geocoder.communes_near(21.0285, 105.8542, 2_000)
    assert near[0].code == "00070" and near[0].distance_m == 0.0
    distances = [n.distance_m for n in near]
    assert distances == sorted(distances)
    assert all(d <= 2_000 for d in distances)
    assert len(near) > 1


def test_an_empty_batch_gives_an_empty_frame(geocoder: ReverseGeocoder) -> None:
    frame = geocoder.reverse_many([], [])
    assert len(frame) == 0
    assert list(frame.columns) == list(RESULT_COLUMNS)
