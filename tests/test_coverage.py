"""Postal-point coverage on the real communes, with synthetic points whose answers are known.

Every point set here is synthetic and named so: staffed points at the representative points of a seeded random
subset of communes ("synthetic_rep_points"), points at known distances north of a representative point, points at
every grid cell of a province. The coverage model is built once per session (about 3 s).
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from vpostcode import coverage as cv
from vpostcode.coverage import CoverageModel, PostalPoints
from vpostcode.errors import InvalidCoordinateError, InvalidInputError, UnknownProvinceError
from vpostcode.gazetteer import SPECIAL_ZONES_OFFSHORE, Gazetteer

GEOD = Geod(ellps="WGS84")
SMALL_PROVINCE = "01"  # Hà Nội: 126 communes, dense and rural parts


@pytest.fixture(scope="session")
def model(gazetteer: Gazetteer) -> CoverageModel:
    return cv.get_model(gazetteer)


def synthetic_rep_points(model: CoverageModel, rows: np.ndarray, *, staffed: bool = True) -> PostalPoints:
    """Synthetic: one point at the representative point of each commune row, carrying that commune's code."""
    table = model.table
    return PostalPoints(lons=table["rep_lon"].to_numpy()[rows], lats=table["rep_lat"].to_numpy()[rows],
                        staffed=np.full(len(rows), staffed), commune_codes=model.codes[rows],
                        ids=np.array([f"synthetic-{i}" for i in range(len(rows))]))


@pytest.fixture(scope="session")
def subset_rows(model: CoverageModel) -> np.ndarray:
    """A seeded random 25 % of the (non-offshore) communes."""
    rng = np.random.default_rng(20250701)
    candidates = np.flatnonzero(~model.offshore)
    return np.sort(rng.choice(candidates, size=len(candidates) // 4, replace=False))


@pytest.fixture(scope="session")
def subset_points(model: CoverageModel, subset_rows: np.ndarray) -> PostalPoints:
    return synthetic_rep_points(model, subset_rows)


def north_of(lon: float, lat: float, metres: float) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, 0.0, metres)
    return float(lon2), float(lat2)


def haversine_m(lon1, lat1, lon2, lat2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * cv.MEAN_EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


# ------------------------------------------------------------------------------------------------ distances


def test_distances_agree_with_geodesics_to_centimetres() -> None:
    rng = np.random.default_rng(7)
    lon1, lat1 = rng.uniform(102, 118, 2000), rng.uniform(7, 24, 2000)
    true = rng.uniform(0, 100_000, 2000)
    lon2, lat2, _ = GEOD.fwd(lon1, lat1, rng.uniform(0, 360, 2000), true)
    assert np.abs(cv.distance_m(lon1, lat1, lon2, lat2) - true).max() < 0.03


@given(st.floats(0, 500_000))
def test_chord_and_arc_are_inverse(arc: float) -> None:
    assert cv.chord_to_arc_m(cv.arc_to_chord_m(arc)) == pytest.approx(arc, abs=1e-6)


def test_nearest_staffed_distance_matches_brute_force_haversine(model: CoverageModel,
                                                                subset_points: PostalPoints) -> None:
    frame = model.communes(subset_points)
    rng = np.random.default_rng(3)
    sample = rng.choice(len(frame), 300, replace=False)
    lon, lat = frame["rep_lon"].to_numpy()[sample], frame["rep_lat"].to_numpy()[sample]
    brute = haversine_m(lon[:, None], lat[:, None], subset_points.lons[None, :], subset_points.lats[None, :])
    got = frame["nearest_staffed_m"].to_numpy()[sample]
    # a sphere is off by up to 0.5 % from the ellipsoid; the nearest point is the same up to near-ties
    np.testing.assert_allclose(got, brute.min(axis=1), rtol=6e-3, atol=0.5)
    exact = cv.distance_m(np.repeat(lon, len(subset_points)), np.repeat(lat, len(subset_points)),
                          np.tile(subset_points.lons, len(sample)), np.tile(subset_points.lats, len(sample)))
    np.testing.assert_allclose(got, exact.reshape(len(sample), -1).min(axis=1), rtol=1e-9, atol=1e-3)


# ------------------------------------------------------------------------------------------------ per commune


def test_commune_with_staffed_point_inside_is_served(model: CoverageModel, subset_points: PostalPoints,
                                                     subset_rows: np.ndarray) -> None:
    frame = model.communes(subset_points)
    assert len(frame) == len(model.codes) and (frame["code"].to_numpy() == model.codes).all()
    chosen = frame.iloc[subset_rows]
    assert chosen["served"].all() and (chosen["served_by"] == "inside").all()
    assert (chosen["staffed_points"] == 1).all() and (chosen["nearest_staffed_m"] < 1.0).all()
    others = frame[~np.isin(np.arange(len(frame)), subset_rows)]
    assert (others["staffed_points"] == 0).all()
    far = others[others["nearest_staffed_m"] > cv.DEFAULT_RADIUS_KM * 1000]
    assert len(far) > 100 and not far["served"].any() and (far["served_by"] == "").all()
    near = others[others["nearest_staffed_m"] <= cv.DEFAULT_RADIUS_KM * 1000]
    assert near["served"].all() and (near["served_by"] == "nearby").all()


@pytest.mark.parametrize(("metres", "served"), [(3000.0, True), (4990.0, True), (5010.0, False), (9000.0, False)])
def test_a_staffed_point_at_a_known_distance(model: CoverageModel, metres: float, served: bool) -> None:
    row = model.commune_rows(["00004"])[0]  # Phường Ba Đình
    lon, lat = north_of(model.table["rep_lon"].to_numpy()[row], model.table["rep_lat"].to_numpy()[row], metres)
    points = PostalPoints(np.array([lon]), np.array([lat]), np.array([True]), np.array([""]))  # synthetic
    frame = model.communes(points, radius_km=5)
    assert frame["nearest_staffed_m"].iat[row] == pytest.approx(metres, abs=0.05)
    assert frame["served"].iat[row] == served
    assert frame["staffed_points"].sum() == 0  # a point without a commune code is counted nowhere


def test_an_unstaffed_point_counts_but_does_not_serve(model: CoverageModel) -> None:
    rows = np.array([model.commune_rows(["00004"])[0]])
    frame = model.communes(synthetic_rep_points(model, rows, staffed=False))
    assert frame["points"].iat[rows[0]] == 1 and frame["staffed_points"].iat[rows[0]] == 0
    assert not frame["served"].any() and np.isinf(frame["nearest_staffed_m"]).all()


def test_no_points_at_all(model: CoverageModel) -> None:
    result = model.summary(PostalPoints.empty())
    assert result["served"] == 0 and result["unserved"] == result["communes"]
    assert set(result["population_within_km"].values()) == {0.0}
    assert result["median_nearest_staffed_m"] is None
    json.dumps(result, allow_nan=False)


# ------------------------------------------------------------------------------------------------ grid & population


def test_grid_conserves_every_commune_population(model: CoverageModel) -> None:
    grid = model.grid
    per_commune = np.bincount(grid.commune, weights=grid.weight, minlength=len(model.codes))
    np.testing.assert_allclose(per_commune, model.population, rtol=1e-9)
    assert np.bincount(grid.commune, minlength=len(model.codes)).min() >= 1
    assert set(np.unique(grid.level)) <= {0, 7, 8, 9, 10}
    assert grid.half_diagonal_m.max() < 650


def test_grid_cells_lie_inside_their_commune(model: CoverageModel, gazetteer: Gazetteer) -> None:
    import shapely

    rng = np.random.default_rng(11)
    sample = rng.choice(len(model.grid), 5000, replace=False)
    geoms = gazetteer.communes.geometry.to_numpy()[model.grid.commune[sample]]
    inside = shapely.contains_xy(geoms, model.grid.lon[sample], model.grid.lat[sample])
    assert inside[model.grid.level[sample] > 0].all()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(0.1, 30.0), min_size=1, max_size=5, unique=True))
def test_population_within_is_monotone_and_bracketed(model: CoverageModel, subset_points: PostalPoints,
                                                     within: list[float]) -> None:
    table = model.population_within(subset_points, within)
    keys = [cv._km_key(km) for km in sorted(within)]
    people = np.array([table[f"within_{k}km"].sum() for k in keys])
    assert (np.diff(people) >= -1e-6).all()
    for k in keys:
        low, mid, high = (table[f"within_{k}km{s}"] for s in ("_low", "", "_high"))
        assert (low <= mid + 1e-6).all() and (mid <= high + 1e-6).all()
        assert (high <= table["population"] + 1e-6).all()


def test_everyone_is_within_1_km_when_every_cell_has_a_point(model: CoverageModel) -> None:
    cells = np.flatnonzero(model.table["province_code"].to_numpy()[model.grid.commune] == SMALL_PROVINCE)
    points = PostalPoints(model.grid.lon[cells], model.grid.lat[cells], np.ones(len(cells), dtype=bool),
                          model.codes[model.grid.commune[cells]])  # synthetic: a staffed point on every cell
    table = model.population_within(points, [1.0]).set_index("province_code")
    assert table.loc[SMALL_PROVINCE, "within_1km_pct"] == pytest.approx(100.0)
    assert table.loc[SMALL_PROVINCE, "within_1km_low"] == pytest.approx(table.loc[SMALL_PROVINCE, "population"])
    assert table.drop(index=SMALL_PROVINCE)["within_1km_pct"].max() < 100.0


def test_province_totals_add_up_to_the_national_summary(model: CoverageModel, subset_points: PostalPoints) -> None:
    result = model.summary(subset_points)
    table = model.population_within(subset_points)
    counted = model.population[~model.offshore].sum()
    assert result["population"] == pytest.approx(counted, abs=1)
    assert table["population"].sum() == pytest.approx(counted, rel=1e-12)
    for key, pct in result["population_within_km"].items():
        people = table[f"within_{key}km"].sum()
        assert result["population_within_km_people"][key] == pytest.approx(people, abs=1)
        assert pct == pytest.approx(100 * people / counted, abs=1e-3)
        low, high = result["population_within_km_bounds"][key]
        assert low <= pct <= high
    gaps = model.gaps(subset_points)
    assert sum(p["unserved"] for p in gaps["provinces"]) == gaps["unserved"] == result["unserved"]
    assert sum(p["communes"] for p in gaps["provinces"]) == gaps["communes"] == result["communes"]
    assert sum(p["unserved_population"] for p in gaps["provinces"]) == gaps["unserved_population"]
    assert sum(p["without_staffed_point"] for p in gaps["provinces"]) == gaps["without_staffed_point"]
    assert all(len(p["unserved_communes"]) == p["unserved"] for p in gaps["provinces"])
    frame = model.communes(subset_points).set_index("code")
    listed = [c["code"] for p in gaps["provinces"] for c in p["unserved_communes"]]
    assert not frame.loc[listed, "served"].any()


def test_offshore_zones_are_reported_but_not_counted(model: CoverageModel, subset_points: PostalPoints) -> None:
    before = model.summary(subset_points)
    assert before["communes"] == len(model.codes) - 2
    assert {z["code"] for z in before["offshore"]["zones"]} == set(SPECIAL_ZONES_OFFSHORE)
    offshore_rows = np.flatnonzero(model.offshore)
    with_islands = synthetic_rep_points(model, np.concatenate([np.flatnonzero(np.isin(
        model.codes, subset_points.commune_codes)), offshore_rows]))
    after = model.summary(with_islands)
    for key in ("communes", "served", "unserved", "served_pct", "population", "population_within_km"):
        assert after[key] == before[key], key
    assert all(z["served"] and z["staffed_points"] == 1 for z in after["offshore"]["zones"])
    assert not any(z["served"] for z in before["offshore"]["zones"])
    gaps = model.gaps(subset_points)
    assert {z["code"] for z in gaps["offshore"]} == set(SPECIAL_ZONES_OFFSHORE)
    assert not {c["code"] for p in gaps["provinces"] for c in p["unserved_communes"]} & set(SPECIAL_ZONES_OFFSHORE)


def test_summary_is_json_ready_with_the_agreed_keys(model: CoverageModel, subset_points: PostalPoints) -> None:
    result = cv.summary(subset_points, gazetteer=model.gazetteer)
    assert {"communes", "served", "unserved", "served_pct", "population_within_km", "offshore"} <= set(result)
    assert list(result["population_within_km"]) == ["1", "2", "5", "10"]
    assert result["served"] + result["unserved"] == result["communes"]
    assert result["with_staffed_point"] == len(subset_points)
    json.dumps(result, allow_nan=False)


# ------------------------------------------------------------------------------------------------ inputs


def test_points_are_validated() -> None:
    with pytest.raises(InvalidCoordinateError, match="index 1"):
        PostalPoints(np.array([105.8, math.nan]), np.array([21.0, 21.0]), np.array([True, True]),
                     np.array(["00004", "00004"]))
    with pytest.raises(InvalidInputError):
        PostalPoints(np.array([105.8]), np.array([21.0, 21.0]), np.array([True]), np.array(["00004"]))


def test_codes_are_normalised_and_aliases_accepted(model: CoverageModel) -> None:
    points = PostalPoints.from_arrays([1, 2, 3], [105.8] * 3, [21.0] * 3, [True] * 3, [4, "06970", None])
    assert list(points.commune_codes) == ["00004", "06970", ""]
    rows = model.commune_rows(points.commune_codes)
    assert list(model.codes[rows[:2]]) == ["00004", "06978"] and rows[2] == -1


def test_points_from_the_store_shape(model: CoverageModel) -> None:
    store_like = SimpleNamespace(ids=np.array([7]), lons=np.array([105.84]), lats=np.array([21.04]),
                                 staffed=np.array([True]), commune_codes=np.array(["00004"], dtype=object),
                                 kinds=np.array(["post_office"], dtype=object))
    points = PostalPoints.from_store(store_like)
    assert points.id_at(0) == 7 and points.kinds is not None
    assert PostalPoints.from_store((np.array([7]), [105.84], [21.04], [True], ["00004"])).id_at(0) == 7


def test_bad_arguments_are_invalid_input(model: CoverageModel, subset_points: PostalPoints) -> None:
    with pytest.raises(InvalidInputError):
        model.summary(subset_points, radius_km=0)
    with pytest.raises(InvalidInputError):
        model.population_within(subset_points, [])
    with pytest.raises(InvalidInputError):
        model.suggest(subset_points, k=0)
    with pytest.raises(UnknownProvinceError):
        model.suggest(subset_points, k=1, province="Atlantis")


# ------------------------------------------------------------------------------------------------ MCLP


@pytest.fixture(scope="module")
def province_suggestion(model: CoverageModel, subset_points: PostalPoints) -> dict:
    return model.suggest(subset_points, k=6, radius_km=3, province=SMALL_PROVINCE)


def test_suggestion_adds_k_sites_and_never_loses_coverage(model: CoverageModel, subset_points: PostalPoints,
                                                          province_suggestion: dict) -> None:
    result = province_suggestion
    assert len(result["sites"]) == 6
    assert result["covered_after"] >= result["covered_before"]
    assert result["newly_covered"] == pytest.approx(sum(s["newly_covered_population"] for s in result["sites"]),
                                                    abs=6)
    assert all(s["province_code"] == SMALL_PROVINCE for s in result["sites"])
    newly = [s["newly_covered_population"] for s in result["sites"]]
    assert newly == sorted(newly, reverse=True) and newly[0] > 0
    assert result["solver"]["status"] == "optimal" and result["solver"]["objective"] >= result["solver"][
        "greedy_objective"]
    table = model.population_within(subset_points, [3.0]).set_index("province_code")
    assert result["covered_before"] == pytest.approx(table.loc[SMALL_PROVINCE, "within_3km"], abs=1)
    # the sites really cover what they claim: re-evaluate with the sites added as staffed points
    sites = PostalPoints(np.array([s["lon"] for s in result["sites"]]), np.array([s["lat"] for s in result["sites"]]),
                         np.ones(6, dtype=bool), np.array([s["commune_code"] for s in result["sites"]]))
    combined = PostalPoints(np.concatenate([subset_points.lons, sites.lons]),
                            np.concatenate([subset_points.lats, sites.lats]), np.ones(len(subset_points) + 6, bool),
                            np.concatenate([subset_points.commune_codes, sites.commune_codes]))
    table = model.population_within(combined, [3.0]).set_index("province_code")
    assert table.loc[SMALL_PROVINCE, "within_3km"] == pytest.approx(result["covered_after"], rel=1e-4)
    json.dumps(result, allow_nan=False)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # spopt builds its variables the PuLP 3 way
def test_mclp_optimum_equals_spopt_on_the_same_instance(model: CoverageModel, subset_points: PostalPoints) -> None:
    locate = pytest.importorskip("spopt.locate")
    pulp = pytest.importorskip("pulp")
    mask, _ = model._province_filter(SMALL_PROVINCE)
    a = model.assess(subset_points, 3000.0)
    demand = np.flatnonzero(mask[model.grid.commune] & (a.grid_m > 3000.0))
    problem = cv._MclpProblem.build(model, demand, 3.0, np.empty(0, dtype=np.int64), 4, max_candidates=40)
    assert problem.cover.shape[0] == 40
    chosen, _ = problem.solve(4, 60.0, "highs")
    ours = problem.covered_weight(chosen)
    cost = np.where(problem.cover.T.toarray() > 0, 0.0, 1.0)  # demand x candidates
    reference = locate.MCLP.from_cost_matrix(cost, problem.weight, service_radius=0.5, p_facilities=4)
    reference.solve(pulp.HiGHS(msg=False))
    theirs = float(pulp.value(reference.problem.objective))
    assert ours == pytest.approx(theirs, rel=1e-6)
    assert ours >= problem.covered_weight(problem.greedy(4)) - 1e-6
    chosen_cbc, _ = problem.solve(4, 60.0, "cbc")
    assert problem.covered_weight(chosen_cbc) == pytest.approx(ours, rel=1e-6)


# ------------------------------------------------------------------------------------------------ outputs


def test_communes_geojson(model: CoverageModel, subset_points: PostalPoints) -> None:
    collection = model.communes_geojson(subset_points, tolerance=0.001, province=SMALL_PROVINCE)
    features = collection["features"]
    assert len(features) == int((model.table["province_code"] == SMALL_PROVINCE).sum())
    assert {f["geometry"]["type"] for f in features} <= {"Polygon", "MultiPolygon"}
    statuses = {f["properties"]["status"] for f in features}
    assert statuses <= {"inside", "nearby", "unserved"} and "inside" in statuses
    json.dumps(collection, allow_nan=False)
    points = cv.points_geojson(subset_points)
    assert len(points["features"]) == len(subset_points)
    assert points["features"][0]["properties"]["id"] == "synthetic-0"


def test_render_map_writes_a_png_of_the_requested_size(model: CoverageModel, subset_points: PostalPoints,
                                                       tmp_path) -> None:
    from PIL import Image

    out = model.render_map(subset_points, tmp_path / "hn.png", province=SMALL_PROVINCE, width_px=640,
                           height_px=480)
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (640, 480)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    palette = {tuple(int(cv._COLOURS[s][i:i + 2], 16) for i in (1, 3, 5)) for s in ("inside", "unserved")}
    assert palette <= {c for _, c in colours}


def test_suggest_when_everyone_is_already_covered(model: CoverageModel) -> None:
    cells = np.flatnonzero(model.table["province_code"].to_numpy()[model.grid.commune] == SMALL_PROVINCE)
    points = PostalPoints(model.grid.lon[cells], model.grid.lat[cells], np.ones(len(cells), dtype=bool),
                          model.codes[model.grid.commune[cells]])  # synthetic: a staffed point on every cell
    result = model.suggest(points, k=3, radius_km=2, province=SMALL_PROVINCE)
    assert result["sites"] == [] and result["newly_covered"] == 0
    assert result["covered_before"] == result["covered_after"] == result["population"]
