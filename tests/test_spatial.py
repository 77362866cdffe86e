"""Tests of vpostcode.spatial on the real 2025 communes (exact PIP, slivers, sea, snapping, near, bad input)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod, Transformer

from vpostcode.crs import to_wgs84
from vpostcode.errors import InvalidCoordinateError
from vpostcode.gazetteer import Gazetteer
from vpostcode.spatial import CommuneIndex, LocateResult, Match, local_metric_xy

GEOD = Geod(ellps="WGS84")
SEA = [(15.0, 113.0), (10.0, 109.5), (18.0, 108.5), (8.0, 106.0)]
ABROAD = [(13.75, 100.5), (17.97, 102.6), (25.04, 102.7), (11.55, 104.92)]  # Bangkok, Vientiane, Kunming, Phnom Penh


@pytest.fixture(scope="session")
def communes(gazetteer: Gazetteer) -> dict[str, np.ndarray]:
    """Codes and geometries of the 3,321 communes, in code order, from the built data."""
    frame = gazetteer.communes
    return {"code": frame["code"].to_numpy(dtype=str), "geometry": np.asarray(frame.geometry.values, dtype=object)}


@pytest.fixture(scope="session")
def index(communes: dict[str, np.ndarray]) -> CommuneIndex:
    """The index, built once per session."""
    return CommuneIndex(communes["geometry"], communes["code"])


@pytest.fixture(scope="session")
def slivers(communes: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A point strictly inside each overlap between neighbours: (lats, lons, row a, row b), a < b."""
    geoms = communes["geometry"]
    a, b = shapely.STRtree(geoms).query(geoms)  # bounding-box pairs, then the exact test on prepared polygons:
    keep = a < b  # 11 s, against 45 s for STRtree.query(predicate="overlaps"), which prepares the other side
    a, b = a[keep], b[keep]
    shapely.prepare(geoms)
    overlapping = shapely.overlaps(geoms[a], geoms[b])
    a, b = a[overlapping], b[overlapping]
    pieces = shapely.intersection(geoms[a], geoms[b])
    points = shapely.point_on_surface(pieces)
    x, y = shapely.get_x(points), shapely.get_y(points)
    inside = shapely.contains_xy(geoms[a], x, y) & shapely.contains_xy(geoms[b], x, y)
    return y[inside], x[inside], a[inside], b[inside]


def rows_of(result: LocateResult, i: int) -> set[int]:
    """The answer's polygon and the other polygons holding point ``i``."""
    return {int(result.index[i]), *result.also_in[i]}


def utm_distance(geom: shapely.Geometry, lat: float, lon: float) -> float:
    """Independent reference: distance in metres in the UTM zone of the point (scale error < 0.04%)."""
    zone = CRS.from_epsg(32648 if lon < 108 else 32649)
    project = Transformer.from_crs(4326, zone, always_xy=True).transform
    x, y = project(lon, lat)
    local = shapely.clip_by_rect(geom, lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05)
    return float(
        shapely.distance(
            shapely.transform(local, lambda c: np.column_stack(project(c[:, 0], c[:, 1]))), shapely.Point(x, y)
        )
    )


# -- exact point in polygon ----------------------------------------------------------------------------------------


def test_every_representative_point_maps_back(index: CommuneIndex, communes: dict[str, np.ndarray]) -> None:
    points = shapely.point_on_surface(communes["geometry"])
    result = index.locate_many(shapely.get_y(points), shapely.get_x(points))
    rows = np.arange(len(index))
    assert np.array_equal(result.index, rows), np.nonzero(result.index != rows)[0][:10]
    assert np.all(result.match == Match.INSIDE)
    assert np.all(result.distance_m == 0.0)


def test_grid_answers_agree_with_a_plain_exact_join(index: CommuneIndex, communes: dict[str, np.ndarray]) -> None:
    """Random points over the country: the accelerated answer equals STRtree + contains on the raw polygons."""
    rng = np.random.default_rng(7)
    lats, lons = rng.uniform(8.0, 23.5, 60_000), rng.uniform(102.0, 110.0, 60_000)
    result = index.locate_many(lats, lons)
    geoms = communes["geometry"]
    pos, cand = shapely.STRtree(geoms).query(shapely.points(lons, lats))
    hit = shapely.contains_xy(geoms[cand], lons[pos], lats[pos])
    count = np.bincount(pos[hit], minlength=len(lats))
    single = np.full(len(lats), -1)
    once = count[pos[hit]] == 1
    single[pos[hit][once]] = cand[hit][once]
    plain = count <= 1
    contained = np.isin(result.match, [Match.INSIDE, Match.OVERLAP])
    assert np.array_equal(np.where(contained, result.index, -1)[plain], single[plain])
    assert np.all(result.match[count >= 2] == Match.OVERLAP)


def test_chunking_does_not_change_answers(index: CommuneIndex) -> None:
    rng = np.random.default_rng(3)
    lats, lons = rng.uniform(20.9, 21.1, 2_000), rng.uniform(105.7, 105.9, 2_000)  # Ha Noi: small wards
    whole = index.locate_many(lats, lons)
    chunked = index.locate_many(lats, lons, chunk_size=97)
    assert np.array_equal(whole.index, chunked.index)
    assert np.array_equal(whole.match, chunked.match)
    np.testing.assert_array_equal(whole.distance_m, chunked.distance_m)


# -- overlaps ------------------------------------------------------------------------------------------------------


def test_sliver_points_are_overlaps_with_the_other_listed(index: CommuneIndex, slivers: tuple[np.ndarray, ...]) -> None:
    lats, lons, a, b = slivers
    assert len(lats) >= 200  # the data has 242 overlapping pairs
    result = index.locate_many(lats, lons)
    assert np.all(result.match == Match.OVERLAP)
    assert np.all(result.distance_m == 0.0)
    for i in range(len(lats)):
        assert {int(a[i]), int(b[i])} <= rows_of(result, i)
        assert int(result.index[i]) not in result.also_in[i]


def test_sliver_answers_are_deterministic_and_order_free(index: CommuneIndex, slivers: tuple[np.ndarray, ...]) -> None:
    lats, lons, _, _ = slivers
    first = index.locate_many(lats, lons)
    order = np.random.default_rng(11).permutation(len(lats))
    again = index.locate_many(lats[order], lons[order], chunk_size=13)
    assert np.array_equal(first.index[order], again.index)
    assert list(first.also_in[order]) == list(again.also_in)


def test_sliver_winner_is_the_deepest_polygon(
    index: CommuneIndex, communes: dict[str, np.ndarray], slivers: tuple[np.ndarray, ...]
) -> None:
    lats, lons, _, _ = slivers
    result = index.locate_many(lats, lons)
    geoms = communes["geometry"]
    for i in range(0, len(lats), 10):
        depth = {r: utm_distance(shapely.boundary(geoms[r]), lats[i], lons[i]) for r in rows_of(result, i)}
        assert depth[int(result.index[i])] >= max(depth.values()) - 0.01


def test_sliver_rule_does_not_depend_on_row_order(
    communes: dict[str, np.ndarray], slivers: tuple[np.ndarray, ...]
) -> None:
    lats, lons, a, b = slivers
    geoms, codes = communes["geometry"], communes["code"]
    for i in range(0, len(lats), 40):
        pair = np.array([a[i], b[i]])
        forward = CommuneIndex(geoms[pair], codes[pair]).locate(lats[i], lons[i])
        backward = CommuneIndex(geoms[pair[::-1]], codes[pair[::-1]]).locate(lats[i], lons[i])
        assert forward.key == backward.key and forward.match == "overlap"
        assert forward.also_in_keys == backward.also_in_keys


# -- sea, abroad, snapping -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lat", "lon"), SEA + ABROAD)
def test_sea_and_abroad_get_no_commune(index: CommuneIndex, lat: float, lon: float) -> None:
    location = index.locate(lat, lon)
    assert (location.index, location.match, location.key) == (-1, "none", None)
    assert np.isnan(location.distance_m)


def coast_crossing(
    index: CommuneIndex, land: tuple[float, float], sea: tuple[float, float]
) -> tuple[float, float, int]:
    """Bisect the segment land -> sea to the last point still inside a commune: (lat, lon, that commune)."""
    (lat_in, lon_in), (lat_out, lon_out) = land, sea
    row = index.locate(lat_in, lon_in, snap_distance_m=0).index
    assert row >= 0 and index.locate(lat_out, lon_out).match == "none"
    for _ in range(60):
        lat_mid, lon_mid = (lat_in + lat_out) / 2, (lon_in + lon_out) / 2
        found = index.locate(lat_mid, lon_mid, snap_distance_m=0)
        if found.index >= 0:
            lat_in, lon_in, row = lat_mid, lon_mid, found.index
        else:
            lat_out, lon_out = lat_mid, lon_mid
    return lat_in, lon_in, row


@pytest.mark.parametrize(
    ("land", "sea"),
    [((17.45, 106.60), (17.60, 107.00)), ((13.10, 109.20), (13.10, 109.60)), ((10.45, 107.15), (10.25, 107.35))],
    ids=["quang-tri-coast", "phu-yen-coast", "vung-tau-coast"],
)
def test_point_100m_off_the_coast_snaps_at_about_100m(
    index: CommuneIndex, communes: dict[str, np.ndarray], land: tuple[float, float], sea: tuple[float, float]
) -> None:
    lat_c, lon_c, row = coast_crossing(index, land, sea)
    azimuth = GEOD.inv(land[1], land[0], sea[1], sea[0])[0]
    lon_p, lat_p, _ = GEOD.fwd(lon_c, lat_c, azimuth, 100.0)
    location = index.locate(lat_p, lon_p)
    assert location.match == "nearest"
    reference = utm_distance(communes["geometry"][location.index], lat_p, lon_p)
    assert location.distance_m == pytest.approx(reference, abs=0.1)
    assert 40.0 < location.distance_m <= 100.01
    assert location.index == row or location.distance_m < 100.0
    assert index.locate(lat_p, lon_p, snap_distance_m=0).match == "none"
    far_lon, far_lat, _ = GEOD.fwd(lon_c, lat_c, azimuth, 2_000.0)
    assert index.locate(far_lat, far_lon).match == "none"
    widened = index.locate(far_lat, far_lon, snap_distance_m=5_000)
    assert widened.match == "nearest" and 0 < widened.distance_m <= 2_000.01


def test_point_on_a_shared_boundary_is_nearest_at_zero(index: CommuneIndex, communes: dict[str, np.ndarray]) -> None:
    geoms = communes["geometry"]
    vertex = shapely.get_coordinates(geoms[0])[5]
    containing = shapely.contains_xy(geoms, vertex[0], vertex[1])
    location = index.locate(vertex[1], vertex[0])
    if containing.any():
        assert location.index in set(np.nonzero(containing)[0])
    else:
        assert (location.match, location.distance_m, location.index) == ("nearest", 0.0, 0)


# -- near ------------------------------------------------------------------------------------------------------------


def test_near_lists_the_commune_itself_first_then_neighbours(
    index: CommuneIndex, communes: dict[str, np.ndarray]
) -> None:
    geoms = communes["geometry"]
    row = 0
    point = shapely.point_on_surface(geoms[row])
    lat, lon = point.y, point.x
    assert index.near(lat, lon, 0.0) == [(row, 0.0)]
    found = index.near(lat, lon, 3_000.0)
    assert found[0] == (row, 0.0)
    distances = [d for _, d in found]
    assert distances == sorted(distances) and distances[-1] <= 3_000.0
    assert len(found) >= 4  # Ba Dinh is an inner-city ward: many neighbours within 3 km
    for r, d in found[1:6]:
        assert d == pytest.approx(utm_distance(geoms[r], lat, lon), rel=1e-3, abs=0.2)
    nearby = shapely.STRtree(geoms).query(shapely.box(lon - 0.04, lat - 0.04, lon + 0.04, lat + 0.04))
    reference = {int(r): utm_distance(geoms[r], lat, lon) for r in nearby}
    listed = {r for r, _ in found}
    assert (
        {r for r, d in reference.items() if d < 2_999.0} <= listed <= {r for r, d in reference.items() if d < 3_001.0}
    )


def test_near_rejects_bad_input(index: CommuneIndex) -> None:
    with pytest.raises(InvalidCoordinateError):
        index.near(float("nan"), 105.0, 100.0)
    with pytest.raises(ValueError, match="radius"):
        index.near(21.0, 105.8, -1.0)


# -- distances -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("distance", "tolerance"), [(100.0, 1e-6), (500.0, 1e-6), (1_000.0, 1e-5), (20_000.0, 0.01)])
def test_local_metric_distance_matches_geodesic(distance: float, tolerance: float) -> None:
    rng = np.random.default_rng(5)
    lat0, lon0, azimuth = rng.uniform(7, 24, 5_000), rng.uniform(102, 118, 5_000), rng.uniform(0, 360, 5_000)
    lon1, lat1, _ = GEOD.fwd(lon0, lat0, azimuth, np.full(5_000, distance))
    x, y = local_metric_xy(np.asarray(lon1), np.asarray(lat1), lon0, lat0)
    assert np.abs(np.hypot(x, y) - distance).max() < tolerance


# -- CRS input -------------------------------------------------------------------------------------------------------


def test_vn2000_input_locates_like_wgs84(index: CommuneIndex, communes: dict[str, np.ndarray]) -> None:
    """Representative points sent as VN-2000 TM-3 105-45 coordinates come back to within 1 m, same commune."""
    points = shapely.point_on_surface(communes["geometry"][::7])
    lats, lons = shapely.get_y(points), shapely.get_x(points)
    to_vn2000 = Transformer.from_crs(4326, 9210, always_xy=True)  # PROJ's own choice of operation
    xs, ys = to_vn2000.transform(lons, lats)
    back_lat, back_lon = to_wgs84(xs, ys, "EPSG:9210")
    assert np.asarray(GEOD.inv(lons, lats, back_lon, back_lat)[2]).max() < 2.0  # two 1 m operations at worst
    assert np.array_equal(index.locate_many(back_lat, back_lon).index, np.arange(len(communes["code"]))[::7])


# -- bad input -------------------------------------------------------------------------------------------------------


def test_bad_rows_are_reported_without_failing_the_batch(index: CommuneIndex) -> None:
    lats = np.array([21.0285, np.nan, 105.8542, 95.0, np.inf, 15.0])
    lons = np.array([105.8542, 105.0, 21.0285, 105.0, 105.0, 113.0])
    result = index.locate_many(lats, lons)
    assert result.match_labels.tolist() == ["inside", "invalid", "invalid", "invalid", "invalid", "none"]
    assert result.index.tolist()[1:] == [-1] * 5
    assert result.error[0] is None and result.error[5] is None
    assert "NaN" in result.error[1]
    assert "swapped" in result.error[2] and "lat=21.0285, lon=105.854" in result.error[2]
    assert "outside [-90, 90]" in result.error[3]
    assert np.isnan(result.distance_m[1:]).all()


@pytest.mark.parametrize(
    ("lat", "lon", "text"), [(105.85, 21.03, "swapped"), (float("nan"), 105.0, "NaN"), (21.0, 181.0, "longitude")]
)
def test_scalar_bad_input_raises(index: CommuneIndex, lat: float, lon: float, text: str) -> None:
    with pytest.raises(InvalidCoordinateError, match=text) as info:
        index.locate(lat, lon)
    assert info.value.slug == "invalid-coordinate"


@pytest.mark.parametrize("snap", [-1.0, float("nan"), float("inf")])
def test_bad_snap_distance_is_rejected(index: CommuneIndex, snap: float) -> None:
    with pytest.raises(ValueError, match="snap_distance_m"):
        index.locate(21.0285, 105.8542, snap_distance_m=snap)


def test_keys_come_back_as_plain_strings(index: CommuneIndex) -> None:
    location = index.locate(21.0285, 105.8542)  # Hoan Kiem, Ha Noi
    assert location.match == "inside" and type(location.key) is str and len(location.key) == 5


def test_empty_batch(index: CommuneIndex) -> None:
    result = index.locate_many(np.array([]), np.array([]))
    assert len(result) == 0 and result.match.dtype == np.int8


def test_mismatched_arrays_are_rejected(index: CommuneIndex) -> None:
    with pytest.raises(ValueError):
        index.locate_many(np.zeros(3), np.zeros(2))


# -- properties ------------------------------------------------------------------------------------------------------

coordinate = st.one_of(
    st.tuples(st.floats(8.0, 23.5), st.floats(102.0, 110.0)),  # the mainland box
    st.tuples(st.floats(20.95, 21.1), st.floats(105.75, 105.9)),  # central Ha Noi: small wards, many boundaries
    st.tuples(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(points=st.lists(coordinate, min_size=1, max_size=30))
def test_batch_equals_per_point_locate(index: CommuneIndex, points: list[tuple[float, float]]) -> None:
    lats = np.array([p[0] for p in points])
    lons = np.array([p[1] for p in points])
    batch = index.locate_many(lats, lons)
    for i, (lat, lon) in enumerate(points):
        if batch.match[i] == Match.INVALID:
            with pytest.raises(InvalidCoordinateError):
                index.locate(lat, lon)
            continue
        single = index.locate(lat, lon)
        assert (single.index, single.match, single.also_in) == (batch.index[i], batch.match_labels[i], batch.also_in[i])
        assert single.distance_m == pytest.approx(batch.distance_m[i], nan_ok=True)
