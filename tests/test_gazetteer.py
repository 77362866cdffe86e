"""The gazetteer on the real data: counts, codes, names, postal codes, the reform conversion and its quirks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from vpostcode.errors import (
    AmbiguousError,
    InvalidInputError,
    UnknownCommuneError,
    UnknownLegacyUnitError,
    UnknownPostcodeError,
    UnknownProvinceError,
)
from vpostcode.gazetteer import SPECIAL_ZONES_OFFSHORE, Gazetteer


def test_counts_match_the_reform(gazetteer: Gazetteer) -> None:
    info = gazetteer.info()
    assert (info["provinces"], info["communes"], info["legacy_wards"]) == (34, 3321, 10040)
    assert info["legacy_provinces"] == 63
    assert info["postal_codes"] == int(gazetteer.communes["postal_code"].notna().sum())


def test_every_commune_has_a_distinct_postal_code_in_its_province_prefixes(gazetteer: Gazetteer) -> None:
    communes = gazetteer.communes
    assert communes["postal_code"].notna().all()
    assert communes["postal_code"].is_unique
    prefixes = {p.code: p.postal_prefixes for p in gazetteer.provinces()}
    outside = [c for c, p, pc in communes[["code", "province_code", "postal_code"]].itertuples(index=False)
               if pc[:2] not in prefixes[p]]
    assert outside == []


def test_reference_points_lie_inside_their_own_polygon(gazetteer: Gazetteer) -> None:
    communes = gazetteer.communes
    inside = shapely.contains_xy(communes.geometry.values, communes["rep_lon"], communes["rep_lat"])
    assert inside.all(), list(communes.loc[~inside, "code"])


def test_centroids_would_not_do_for_concave_communes(gazetteer: Gazetteer) -> None:
    """The quirk behind reference points: some centroids fall outside their own commune."""
    geoms = gazetteer.communes.geometry.values
    centroids = shapely.centroid(geoms)
    assert (~shapely.contains(geoms, centroids)).sum() > 0


def test_commune_lookup_by_code_pads_and_rejects(gazetteer: Gazetteer) -> None:
    assert gazetteer.commune(4).full_name == "Phường Ba Đình"
    assert gazetteer.commune("00004").postal_code == gazetteer.communes.loc[0, "postal_code"]
    with pytest.raises(UnknownCommuneError):
        gazetteer.commune("99999")
    with pytest.raises(InvalidInputError):
        gazetteer.commune("12a45")
    with pytest.raises(InvalidInputError):
        gazetteer.commune("123456")


def test_ba_che_code_quirk_resolves_both_ways(gazetteer: Gazetteer) -> None:
    """Xã Ba Chẽ is 06978 in the commune layer and 06970 in the reform mapping."""
    assert gazetteer.commune("06970").code == "06978"
    assert gazetteer.commune("06978").full_name == "Xã Ba Chẽ"
    assert gazetteer.info()["quirks"]["code_aliases"]["06970"] == "06978"
    targets = {c.code for c in gazetteer.convert("06970")}  # the legacy town of Ba Chẽ
    assert targets == {"06978"}


def test_lookup_by_postal_code_round_trips(gazetteer: Gazetteer) -> None:
    for code, postal in gazetteer.communes[["code", "postal_code"]].sample(200, random_state=1).itertuples(index=False):
        assert gazetteer.commune_by_postal_code(postal).code == code
    with pytest.raises(UnknownPostcodeError):
        gazetteer.commune_by_postal_code("00000")


def test_names_match_without_diacritics_or_type(gazetteer: Gazetteer) -> None:
    assert [c.code for c in gazetteer.find_communes("Phuong Ba Dinh")] == ["00004"]
    assert {c.code for c in gazetteer.find_communes("ba dinh", province="Hà Nội")} == {"00004"}
    ambiguous = gazetteer.find_communes("Ba Đình")
    assert len({c.province_code for c in ambiguous}) > 1


def test_every_commune_is_found_by_its_name_within_its_province(gazetteer: Gazetteer) -> None:
    table = gazetteer.communes
    for code, full_name, province in table[["code", "full_name", "province_code"]].itertuples(index=False):
        assert code in {c.code for c in gazetteer.find_communes(full_name, province=province)}


def test_province_lookup_by_code_and_names(gazetteer: Gazetteer) -> None:
    assert gazetteer.province("79").name == "Hồ Chí Minh"
    assert gazetteer.province("thanh pho ho chi minh").code == "79"
    assert gazetteer.province("Ho Chi Minh City").code == "79"
    assert sum(p.commune_count for p in gazetteer.provinces()) == 3321
    with pytest.raises(UnknownProvinceError):
        gazetteer.province("Atlantis")


def test_every_legacy_unit_converts_to_at_least_one_commune(gazetteer: Gazetteer) -> None:
    for code in gazetteer.legacy_units["code"]:
        candidates = gazetteer.convert(code)
        assert candidates, code
        assert all(c.share in ("full", "partial") for c in candidates)


def _mapping_pairs(sources: Path, aliases: dict[str, str]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    merges = json.loads((sources / "reform_2025_merges.json").read_text())["data"]
    splits = json.loads((sources / "reform_2025_splits.json").read_text())["data"]
    by_merges = {(old["old_id"], aliases.get(unit["level2_id"], unit["level2_id"]))
                 for province in merges for unit in province["level2s"] for old in unit["merges"]}
    by_splits = {(unit.get("level3_id") or unit["level2_id"], aliases.get(new["new_id"], new["new_id"]))
                 for province in splits for key in ("level3s", "level2s") for unit in province.get(key, [])
                 for new in unit["splits"]}
    return by_merges, by_splits


def test_conversion_agrees_with_both_mapping_files(gazetteer: Gazetteer, sources: Path) -> None:
    aliases = gazetteer.info()["quirks"]["code_aliases"]
    by_merges, by_splits = _mapping_pairs(sources, aliases)
    ours = set(gazetteer.conversion[["legacy_code", "new_code"]].itertuples(index=False, name=None))
    assert ours == by_merges | by_splits
    assert by_splits <= by_merges  # the files agree; any future disagreement shows up here
    for legacy in gazetteer.legacy_units["code"].sample(300, random_state=2):
        assert {c.code for c in gazetteer.convert(legacy)} == {n for o, n in ours if o == legacy}


def test_shares_follow_the_merges_file(gazetteer: Gazetteer, sources: Path) -> None:
    merges = json.loads((sources / "reform_2025_merges.json").read_text())["data"]
    aliases = gazetteer.info()["quirks"]["code_aliases"]
    stated = {(old["old_id"], aliases.get(unit["level2_id"], unit["level2_id"])): old["type"]
              for province in merges for unit in province["level2s"] for old in unit["merges"]}
    table = gazetteer.conversion
    ours = dict(zip(zip(table["legacy_code"], table["new_code"]), table["share"]))
    assert ours == stated


def test_new_commune_lists_its_origins(gazetteer: Gazetteer) -> None:
    origins = gazetteer.commune("00004").legacy_units
    assert {"code": "00004", "name": "Phường Trúc Bạch", "level": "ward", "share": "full"} in origins
    for code in gazetteer.communes["code"].sample(100, random_state=3):
        for origin in gazetteer.commune(code).legacy_units:
            assert code in {c.code for c in gazetteer.convert(origin["code"])}


def test_legacy_lookup_by_name_path(gazetteer: Gazetteer) -> None:
    [unit] = gazetteer.find_legacy_units("Phúc Xá", "Ba Đình", "Hà Nội")
    assert unit.code == "00001"
    assert [c.code for c in gazetteer.convert_path("phuong phuc xa", "quan ba dinh", "thanh pho ha noi")] == ["00097"]
    with pytest.raises(AmbiguousError) as excinfo:
        gazetteer.convert_path("Phường 1")
    assert len(excinfo.value.details["candidates"]) > 1
    with pytest.raises(UnknownLegacyUnitError):
        gazetteer.convert_path("Nowhere", "Ba Đình", "Hà Nội")


def test_island_districts_without_wards_are_legacy_units(gazetteer: Gazetteer) -> None:
    islands = gazetteer.legacy_units[gazetteer.legacy_units["level"] == "district"]
    assert len(islands) == 5
    for code in islands["code"]:
        [target] = gazetteer.convert(code)
        assert target.share == "full"
        assert gazetteer.commune(target.code).type == "đặc khu"
        assert np.isfinite(gazetteer.legacy_unit(code).lat)


def test_legacy_postcodes_of_units_abolished_before_2024_are_kept_apart(gazetteer: Gazetteer) -> None:
    postcodes = gazetteer.legacy_postcodes
    gone = postcodes[(postcodes["level"] == "ward") & ~postcodes["in_2024"]]
    assert len(gone) == gazetteer.info()["quirks"]["legacy_postcodes_of_units_gone_by_2024"] > 0
    code = gone["gso_code"].iloc[0]
    with pytest.raises(UnknownLegacyUnitError):
        gazetteer.legacy_unit(code)


def test_legacy_postcode_lookup(gazetteer: Gazetteer) -> None:
    [unit] = gazetteer.legacy_units_by_postcode("11116")
    assert unit.code == "00001"


def test_offshore_special_zones_are_present(gazetteer: Gazetteer) -> None:
    names = {gazetteer.commune(code).name_en for code in SPECIAL_ZONES_OFFSHORE}
    assert names == {"Paracel", "Spratly"}
    assert all(gazetteer.commune(code).type == "đặc khu" for code in SPECIAL_ZONES_OFFSHORE)


def test_gazetteer_loads_in_a_process_that_opened_the_embedded_store(gazetteer: Gazetteer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SpatiaLite and GDAL's SQLite clash in one process; the gazetteer must load without GDAL (a regression)."""
    import subprocess
    import sys

    script = (
        "from vpostcode.store import open_store\n"
        f"open_store('sqlite:///{tmp_path}/s.sqlite').ping()\n"
        "from vpostcode.gazetteer import get_gazetteer\n"
        "from vpostcode.reverse_geocode import get_reverse_geocoder\n"
        "print(get_reverse_geocoder(get_gazetteer()).reverse(21.0285, 105.8542).commune_code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "00070"
