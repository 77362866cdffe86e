"""Tests of vpostcode.crs: accepted CRSs, VN-2000 -> WGS84 (checked against an independent Helmert), validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod, Transformer

from vpostcode import crs
from vpostcode.errors import UnknownCRSError

GEOD = Geod(ellps="WGS84")
TM3 = [f"EPSG:{code}" for code in range(9205, 9219)]
VN2000_PROJECTED = ["EPSG:3405", "EPSG:3406", "EPSG:5896", "EPSG:5897", "EPSG:5898", "EPSG:5899", *TM3]
# (lat, lon) of a few places: Ha Noi, Ho Chi Minh City, Da Nang, Can Tho (Mekong delta), Lao Cai, Phu Quoc
PLACES = np.array(
    [
        [21.0285, 105.8542],
        [10.7769, 106.7009],
        [16.0544, 108.2022],
        [10.0452, 105.7469],
        [22.4856, 103.9707],
        [10.2270, 103.9679],
    ]
)


def metres_apart(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Geodesic distances in metres."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def helmert_vn2000_to_wgs84(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent implementation of the MONRE 7-parameter transformation (coordinate frame rotation)."""
    cart = Transformer.from_pipeline("+proj=cart +ellps=WGS84")
    x, y, z = cart.transform(lon, lat, np.zeros_like(lat))
    arcsec = np.radians(1.0 / 3600.0)
    rx, ry, rz = np.array([-0.00928836, 0.01975479, -0.00427372]) * arcsec
    rotation = np.array([[1.0, rz, -ry], [-rz, 1.0, rx], [ry, -rx, 1.0]])
    shift = np.array([[-191.90441429], [-39.30318279], [-111.45032835]])
    out = shift + (1.0 + 0.252906278e-6) * rotation @ np.vstack([x, y, z])
    lon2, lat2, _ = cart.transform(out[0], out[1], out[2], direction="INVERSE")
    return np.asarray(lat2), np.asarray(lon2)


def test_accepted_crs_lists_the_documented_codes() -> None:
    accepted = crs.accepted_crs()
    expected = {"EPSG:4326", "EPSG:32648", "EPSG:32649", "EPSG:4756", *VN2000_PROJECTED}
    assert set(accepted) == expected
    assert accepted["EPSG:4756"] == "VN-2000"
    assert accepted["EPSG:9210"] == "VN-2000 / TM-3 105-45"
    assert all(
        name.startswith("VN-2000")
        for code, name in accepted.items()
        if code not in {"EPSG:4326", "EPSG:32648", "EPSG:32649"}
    )


@pytest.mark.parametrize(
    ("given_crs", "expected"),
    [
        (None, "EPSG:4326"),
        (4326, "EPSG:4326"),
        ("4326", "EPSG:4326"),
        ("epsg:9210", "EPSG:9210"),
        (" EPSG : 3405 ", "EPSG:3405"),
        ("urn:ogc:def:crs:EPSG::4756", "EPSG:4756"),
        ("VN-2000", "EPSG:4756"),
        ("WGS84", "EPSG:4326"),
        (np.int64(32648), "EPSG:32648"),
    ],
)
def test_normalize_crs_accepts_common_spellings(given_crs: object, expected: str) -> None:
    assert crs.normalize_crs(given_crs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [3857, "EPSG:9219", "EPSG:4326x", "mercator", "", True, 4.5])
def test_unknown_crs_raises_with_the_accepted_list(bad: object) -> None:
    with pytest.raises(UnknownCRSError) as info:
        crs.to_wgs84([105.0], [21.0], bad)  # type: ignore[arg-type]
    assert info.value.slug == "unknown-crs"
    assert "EPSG:9210" in info.value.message


def test_wgs84_is_identity_with_lat_lon_order() -> None:
    lats, lons = crs.to_wgs84(PLACES[:, 1], PLACES[:, 0])
    np.testing.assert_array_equal(lats, PLACES[:, 0])
    np.testing.assert_array_equal(lons, PLACES[:, 1])


@pytest.mark.parametrize("code", ["EPSG:4756", *VN2000_PROJECTED])
def test_vn2000_pins_the_national_helmert_with_1m_accuracy(code: str) -> None:
    info = crs.transformer_info(code)
    assert crs.VN2000_TO_WGS84_OPERATION in str(info["description"])
    assert info["accuracy_m"] == 1.0


@pytest.mark.parametrize("code", ["EPSG:4326", "EPSG:32648", "EPSG:32649"])
def test_wgs84_inputs_have_no_datum_change(code: str) -> None:
    info = crs.transformer_info(code)
    assert "VN-2000" not in str(info["description"])
    assert info["accuracy_m"] == 0.0


def test_vn2000_geographic_matches_an_independent_helmert() -> None:
    lats, lons = crs.to_wgs84(PLACES[:, 1], PLACES[:, 0], "EPSG:4756")
    ref_lat, ref_lon = helmert_vn2000_to_wgs84(PLACES[:, 0], PLACES[:, 1])
    assert metres_apart(lats, lons, ref_lat, ref_lon).max() < 0.001
    shift = metres_apart(PLACES[:, 0], PLACES[:, 1], lats, lons)
    assert np.all((shift > 200) & (shift < 250))  # the datum shift is real: ~225 m everywhere in Vietnam


@pytest.mark.parametrize("code", VN2000_PROJECTED)
def test_vn2000_projected_matches_geographic_then_helmert(code: str) -> None:
    """Project with PROJ's pure map projection (no datum step), then to_wgs84 must equal the Helmert result."""
    projection = Transformer.from_crs(CRS.from_epsg(4756), CRS.from_user_input(code), always_xy=True)
    xs, ys = projection.transform(PLACES[:, 1], PLACES[:, 0])
    lats, lons = crs.to_wgs84(xs, ys, code)
    ref_lat, ref_lon = helmert_vn2000_to_wgs84(PLACES[:, 0], PLACES[:, 1])
    assert metres_apart(lats, lons, ref_lat, ref_lon).max() < 0.001


def test_pinned_operation_agrees_with_the_mekong_block_operation_within_accuracy() -> None:
    """Both EPSG operations claim 1 m: where the other one applies (Mekong delta) they differ by < 2 m."""
    lats, lons = crs.to_wgs84([105.7469, 106.0], [10.0452, 10.3], "EPSG:4756")
    other = Transformer.from_pipeline("urn:ogc:def:coordinateOperation:EPSG::5194")
    o_lon, o_lat = other.transform([10.0452, 10.3], [105.7469, 106.0])  # EPSG axis order: lat, lon
    assert metres_apart(lats, lons, np.asarray(o_lon), np.asarray(o_lat)).max() < 2.0


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(min_value=8.0, max_value=23.5),
    lon=st.floats(min_value=102.0, max_value=114.0),
)
def test_wgs84_utm_round_trip(lat: float, lon: float) -> None:
    code = "EPSG:32648" if lon < 108.0 else "EPSG:32649"
    x, y = Transformer.from_crs(4326, code, always_xy=True).transform(lon, lat)
    lats, lons = crs.to_wgs84([x], [y], code)
    assert metres_apart(lats, lons, np.array([lat]), np.array([lon]))[0] < 1e-4


def test_non_finite_inputs_stay_non_finite() -> None:
    lats, lons = crs.to_wgs84([np.nan, 500000.0, np.inf], [2300000.0, np.nan, 2300000.0], "EPSG:9210")
    assert np.isnan(lats[0]) and np.isnan(lons[1])
    assert not np.isfinite(lats[2])
    ok, _ = crs.validate_lat_lon(lats, lons)
    assert not ok.any()


def test_shape_mismatch_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="shape"):
        crs.to_wgs84([1.0, 2.0], [1.0], "EPSG:4756")
    with pytest.raises(ValueError, match="shape"):
        crs.validate_lat_lon([1.0, 2.0], [1.0])


def test_validate_lat_lon_reports_each_row() -> None:
    lats = np.array([21.0, np.nan, 95.0, 21.0, np.inf, 105.8, -90.0, 150.0])
    lons = np.array([105.8, 105.8, 105.8, -181.0, 105.8, 21.0, 180.0, 21.0])
    ok, messages = crs.validate_lat_lon(lats, lons)
    assert ok.tolist() == [True, False, False, False, False, False, True, False]
    assert messages[0] is None and messages[6] is None
    assert messages[1] == "latitude is NaN"
    assert messages[2] == "latitude 95 is outside [-90, 90]"
    assert messages[3] == "longitude -181 is outside [-180, 180]"
    assert "not finite" in messages[4]
    assert "swapped" in messages[5] and "lat=21, lon=105.8" in messages[5]
    assert "swapped" not in messages[7]  # 150 is no Vietnamese longitude: no hint


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(allow_nan=True, allow_infinity=True), lon=st.floats(allow_nan=True, allow_infinity=True))
def test_validate_lat_lon_never_raises_and_agrees_with_the_rule(lat: float, lon: float) -> None:
    ok, messages = crs.validate_lat_lon([lat], [lon])
    expected = bool(np.isfinite(lat) and np.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180)
    assert bool(ok[0]) is expected
    assert (messages[0] is None) is expected
