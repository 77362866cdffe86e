"""Addresses as people write them, on the real gazetteer: parsing, forward geocoding, validation, conversion.

The cases come from ``vpostcode.address_variants`` (shared with ``scripts/bench/address.py``): every 2025 commune,
every legacy ward (whose answers must be the reform mapping's), 300 Vietnam Post office addresses, and seeded
variants of them. Thresholds sit a little below what the current parser achieves (see the bench report).
"""

from __future__ import annotations

import contextlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vpostcode.address import BATCH_COLUMNS, address_index, geocode, parse, validate
from vpostcode.address import core as address
from vpostcode.address_variants import (
    VARIANTS,
    AddressCase,
    commune_cases,
    legacy_cases,
    office_cases,
    render_variant,
    with_variants,
)
from vpostcode.cli import main
from vpostcode.errors import InvalidInputError, VpostcodeError
from vpostcode.gazetteer import Gazetteer

# Share of cases whose top candidate is a right 2025 commune, per (form, variant): a little below what is achieved.
THRESHOLDS = {
    "2025": {"exact": 1.0, "no_diacritics": 0.999, "abbreviated": 0.999, "nickname": 0.999, "no_commas": 0.998,
             "tone_marks": 0.995, "house_street": 0.995, "typo": 0.96, "mixed": 0.995},
    "legacy": {"exact": 1.0, "no_diacritics": 0.999, "abbreviated": 0.998, "nickname": 0.999, "no_commas": 0.998,
               "tone_marks": 0.995, "house_street": 0.995, "typo": 0.975, "mixed": 0.995},
    "office": {"exact": 0.97, "no_diacritics": 0.97, "abbreviated": 0.97, "nickname": 0.97, "no_commas": 0.97,
               "tone_marks": 0.9, "house_street": 0.97, "typo": 0.9, "mixed": 0.97},
}
SAMPLE = {"2025": 1500, "legacy": 2000}  # variants other than exact/no_diacritics run on a seeded sample


def accuracy(cases: Sequence[AddressCase]) -> tuple[float, list[tuple[str, list[str], list[str]]]]:
    """Share of cases answered right, and the misses (text, expected, got)."""
    misses = []
    for case in cases:
        found = geocode(case.text, limit=10)
        if not found or found[0].commune_code not in case.expected:
            misses.append((case.text, sorted(case.expected), [c.commune_code for c in found[:3]]))
    return 1.0 - len(misses) / max(len(cases), 1), misses


@pytest.fixture(scope="module")
def base_cases(gazetteer: Gazetteer) -> dict[str, list[AddressCase]]:
    address_index(gazetteer)
    return {"2025": commune_cases(gazetteer), "legacy": legacy_cases(gazetteer), "office": office_cases(gazetteer)}


# ------------------------------------------------------------------------------------------------ the real tables


def test_the_cases_cover_every_unit_and_agree_with_the_reform_mapping(
        gazetteer: Gazetteer, base_cases: dict[str, list[AddressCase]]) -> None:
    assert len(base_cases["2025"]) == 3321
    assert len(base_cases["legacy"]) == 10040
    assert len(base_cases["office"]) == 300
    for case in random.Random(7).sample(base_cases["legacy"], 400):
        assert case.expected == {c.code for c in gazetteer.convert(case.source)}


def test_every_commune_in_its_2025_form(base_cases: dict[str, list[AddressCase]]) -> None:
    share, misses = accuracy(base_cases["2025"])
    assert share >= THRESHOLDS["2025"]["exact"], misses[:10]


def test_every_legacy_ward_converts_as_the_reform_says(base_cases: dict[str, list[AddressCase]]) -> None:
    """Top answer among the ward's communes, and *all* of them back for a ward that was split."""
    misses, incomplete, partial = [], [], 0
    for case in base_cases["legacy"]:
        found = geocode(case.text, limit=10)
        codes = {c.commune_code for c in found}
        if not found or found[0].commune_code not in case.expected:
            misses.append(case.text)
        if codes != case.expected:
            incomplete.append((case.text, sorted(codes), sorted(case.expected)))
        if len(case.expected) > 1:
            partial += 1
            assert all(c.match_type == "legacy_partial" for c in found), case.text
    assert 1.0 - len(misses) / len(base_cases["legacy"]) >= THRESHOLDS["legacy"]["exact"], misses[:10]
    assert len(incomplete) <= 3, incomplete[:10]
    assert partial > 400  # the reform split hundreds of wards: they are really exercised


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v != "exact"])
@pytest.mark.parametrize("form", ["2025", "legacy"])
def test_variants_people_write(gazetteer: Gazetteer, base_cases: dict[str, list[AddressCase]], form: str,
                               variant: str) -> None:
    cases = base_cases[form]
    if variant != "no_diacritics":
        cases = random.Random(f"{form}:{variant}").sample(cases, SAMPLE[form])
    rendered = with_variants(cases, [variant], gazetteer=gazetteer)
    assert rendered, variant
    share, misses = accuracy(rendered)
    assert share >= THRESHOLDS[form][variant], misses[:10]


def test_vnpost_office_addresses(gazetteer: Gazetteer, base_cases: dict[str, list[AddressCase]]) -> None:
    for variant in VARIANTS:
        share, misses = accuracy(with_variants(base_cases["office"], [variant], gazetteer=gazetteer))
        assert share >= THRESHOLDS["office"][variant], (variant, misses[:10])


def test_variants_are_deterministic(base_cases: dict[str, list[AddressCase]]) -> None:
    case = base_cases["legacy"][123]
    for variant in VARIANTS:
        assert render_variant(case, variant, seed=3) == render_variant(case, variant, seed=3)


# ------------------------------------------------------------------------------------------------ parsing


def test_parse_splits_a_full_address_with_spans(gazetteer: Gazetteer) -> None:
    text = "Số 12, ngõ 34, đường Láng, Phường Láng, Thành phố Hà Nội"
    parsed = parse(text)
    assert (parsed.house_number, parsed.alley, parsed.street) == ("12", "Ngõ 34", "Đường Láng")
    assert (parsed.commune, parsed.province, parsed.structure) == ("Phường Láng", "Thành phố Hà Nội", "2025")
    assert parsed.province_code == "01" and parsed.unit_codes == ("00199",)
    for part in ("house_number", "alley", "street", "commune", "province"):
        start, end = parsed.spans[part]
        assert text[start:end].lower().endswith(str(getattr(parsed, part)).split()[-1].lower())
    assert text[slice(*parsed.spans["commune"])] == "Phường Láng"


def test_parse_reads_right_to_left_without_commas(gazetteer: Gazetteer) -> None:
    parsed = parse("45/3 hem 12 Nguyen Trai P Ben Thanh Q1 Tp.HCM")
    assert parsed.house_number == "45/3"
    assert parsed.alley == "Hẻm 12"
    assert parsed.street == "Nguyen Trai"
    assert (parsed.commune, parsed.district, parsed.province) == ("P Ben Thanh", "Q1", "Tp.HCM")
    assert parsed.structure == "legacy" and parsed.district_code == "760"


def test_parse_hamlets_and_markers_that_are_names(gazetteer: Gazetteer) -> None:
    parsed = parse("Thôn Kênh Đào, Xã An Mỹ, Mỹ Đức, Hà Nội")
    assert (parsed.hamlet, parsed.commune, parsed.district) == ("Thôn Kênh Đào", "Xã An Mỹ", "Mỹ Đức")
    assert parsed.structure == "legacy"
    street = parse("12 Tô Hiệu, Phường Hà Đông, Hà Nội")  # "Tô" is a name, not "tổ" (a hamlet)
    assert (street.street, street.hamlet) == ("Tô Hiệu", None)
    assert parse("Tổ 5, Phường Hà Đông, Hà Nội").hamlet == "Tổ 5"
    kiet = parse("268 Lý Thường Kiệt, Phường 14, Quận 10, TP.HCM")  # "Kiệt" ends a name; "Kiệt 30" is an alley
    assert (kiet.house_number, kiet.street, kiet.alley) == ("268", "Lý Thường Kiệt", None)
    assert parse("Kiệt 30 Hùng Vương, P. Phú Nhuận, TP Huế").alley == "Kiệt 30"


def test_parse_of_nothing_known(gazetteer: Gazetteer) -> None:
    parsed = parse("The quick brown fox")
    assert parsed.structure == "unknown" and parsed.commune is None and parsed.unit_codes == ()


# ------------------------------------------------------------------------------------------------ geocoding


def test_candidate_fields_and_standard_address(gazetteer: Gazetteer) -> None:
    best = geocode("12 ngo 34 duong Lang, P Lang, HN")[0]
    commune = gazetteer.commune("00199")
    assert (best.commune_code, best.postal_code, best.precision) == ("00199", commune.postal_code, "commune")
    assert (best.lat, best.lon) == pytest.approx((commune.rep_lat, commune.rep_lon))
    assert best.match_type == "normalised" and 0.9 <= best.confidence <= 1.0
    assert best.standard_address == "12, Ngõ 34, Đường Lang, Phường Láng, Thành phố Hà Nội"
    assert set(best.to_dict()) >= {"commune_code", "commune_name", "province_code", "province_name",
                                   "postal_code", "lat", "lon", "precision", "confidence", "match_type",
                                   "standard_address"}
    assert geocode("Phường Ba Đình, Thành phố Hà Nội")[0].match_type == "exact"
    assert geocode("Phuong Ba Dinhh, Ha Noi")[0].match_type == "fuzzy"


def test_a_split_ward_returns_every_commune_and_a_point_picks_one(gazetteer: Gazetteer) -> None:
    text = "Phường Cống Vị, Quận Ba Đình, Hà Nội"
    found = geocode(text)
    assert {c.commune_code for c in found} == {c.code for c in gazetteer.convert("00007")}
    assert {c.match_type for c in found} == {"legacy_partial"}
    assert abs(sum(c.confidence for c in found) - 1.0) < 0.01
    if address._reverse_function() is None:
        pytest.skip("the reverse geocoder is not available")
    for candidate in found:
        commune = gazetteer.commune(candidate.commune_code)
        picked = geocode(text, lat=commune.rep_lat, lon=commune.rep_lon)
        assert picked[0].commune_code == commune.code and picked[0].confidence >= 0.99


def test_an_address_code_in_the_text_gives_its_location(gazetteer: Gazetteer) -> None:
    codec = pytest.importorskip("vpostcode.codec")
    if address._reverse_function() is None:
        pytest.skip("the reverse geocoder is not available")
    commune = gazetteer.commune("00025")
    code = codec.format_code(codec.encode(commune.rep_lat, commune.rep_lon))
    found = geocode(f"P. Cống Vị, Q. Ba Đình, Hà Nội {code}")
    assert found[0].commune_code == "00025" and found[0].precision == "address_code"
    assert (found[0].lat, found[0].lon) == pytest.approx((commune.rep_lat, commune.rep_lon), abs=1e-5)
    assert parse(f"P. Cống Vị, Q. Ba Đình, Hà Nội {code}").address_code == codec.normalize(code)
    only = geocode(code)
    assert only[0].commune_code == "00025" and only[0].precision == "address_code"


def test_a_name_in_several_provinces_is_ambiguous_with_every_candidate(gazetteer: Gazetteer) -> None:
    communes = gazetteer.communes
    counts = Counter(zip(communes["full_name"], communes["province_code"]))
    by_name = Counter(name for name, _province in counts)
    name = next(name for name, n in by_name.most_common() if n >= 5)
    expected = set(communes.loc[communes["full_name"] == name, "code"])
    found = geocode(name, limit=100)
    assert expected <= {c.commune_code for c in found}
    result = validate(name)
    assert result.verdict == "ambiguous"
    assert expected <= {c.commune_code for c in result.candidates}
    assert len(result.suggestions) == len(result.candidates) and result.standard_address is None


# ------------------------------------------------------------------------------------------------ validation


def test_validate_a_2025_address(gazetteer: Gazetteer) -> None:
    result = validate("Số 12, Ngõ 34, Đường Láng, Phường Láng, Thành phố Hà Nội")
    assert result.verdict == "valid"
    assert result.postal_code == gazetteer.commune("00199").postal_code
    assert result.standard_address == "12, Ngõ 34, Đường Láng, Phường Láng, Thành phố Hà Nội"
    statuses = {part: c["status"] for part, c in result.components.items()}
    assert statuses == {"house_number": "ok", "alley": "ok", "street": "ok", "hamlet": "missing", "commune": "ok",
                        "district": "missing", "province": "ok"}
    corrected = validate("phuong lang, hn")
    assert corrected.verdict == "valid"
    assert corrected.components["commune"] == {"value": "phuong lang", "status": "corrected",
                                               "standard": "Phường Láng"}
    assert corrected.components["province"]["status"] == "corrected"


def test_validate_a_legacy_address(gazetteer: Gazetteer) -> None:
    result = validate("Thôn Kênh Đào, Xã An Mỹ, Huyện Mỹ Đức, Thành phố Hà Nội")
    assert result.verdict == "valid_outdated"
    (new,) = gazetteer.convert(gazetteer.find_legacy_units("An Mỹ", "Mỹ Đức", "Hà Nội")[0].code)
    assert result.standard_address == f"Thôn Kênh Đào, {new.full_name}, Thành phố Hà Nội"
    assert result.components["commune"]["status"] == "outdated"
    assert result.components["district"]["status"] == "outdated"
    moved = validate("Số 5, Phường Thủ Dầu Một, Bình Dương")  # a 2025 commune under its abolished province
    assert moved.verdict == "valid" and moved.components["province"]["status"] == "outdated"
    assert moved.standard_address is not None and moved.standard_address.endswith("Thành phố Hồ Chí Minh")


def test_validate_a_split_ward_is_ambiguous_until_a_point_decides(gazetteer: Gazetteer) -> None:
    result = validate("P. Cống Vị, Q. Ba Đình, TP. Hà Nội")
    assert result.verdict == "ambiguous" and len(result.candidates) == 2
    if address._reverse_function() is None:
        pytest.skip("the reverse geocoder is not available")
    commune = gazetteer.commune("00025")
    decided = validate("P. Cống Vị, Q. Ba Đình, TP. Hà Nội", lat=commune.rep_lat, lon=commune.rep_lon)
    assert decided.verdict == "valid_outdated" and decided.postal_code == commune.postal_code


def test_validate_text_and_point_that_disagree(gazetteer: Gazetteer) -> None:
    if address._reverse_function() is None:
        pytest.skip("the reverse geocoder is not available")
    elsewhere = gazetteer.commune("00008")
    result = validate("Phường Ba Đình, Hà Nội", lat=elsewhere.rep_lat, lon=elsewhere.rep_lon)
    assert result.verdict == "inconsistent"
    assert result.distance_m is not None and 0 < result.distance_m < 5000
    assert result.components["commune"]["status"] == "mismatch"


def test_validate_with_a_mistyped_code_suggests_codes(gazetteer: Gazetteer) -> None:
    codec = pytest.importorskip("vpostcode.codec")
    commune = gazetteer.commune("00004")
    code = codec.encode(commune.rep_lat, commune.rep_lon)
    wrong = code[:-1] + ("B" if code[-1] != "B" else "C")
    result = validate("Phường Ba Đình, Hà Nội", code=wrong)
    assert result.verdict == "invalid"
    assert result.components["address_code"]["status"] == "unknown"
    assert code in result.suggestions


@pytest.mark.parametrize(
    ("text", "verdict"),
    [("", "invalid"), ("   ", "invalid"), ("The quick brown fox", "invalid"), ("東京都港区六本木", "invalid"),
     ("Phường\x00 Ba\x07 Đình,\x1b Hà\u200b Nội", "valid"), ("Hà Nội", "invalid"), ("!!!???", "invalid")],
)
def test_bad_input_gets_a_clear_verdict(gazetteer: Gazetteer, text: str, verdict: str) -> None:
    result = validate(text)
    assert result.verdict == verdict
    assert result.message
    json.dumps(result.to_dict(), ensure_ascii=False)


def test_a_wrong_province_for_a_real_commune_is_invalid_with_the_right_one_suggested(gazetteer: Gazetteer) -> None:
    result = validate("Phường Ba Đình, Tỉnh Cà Mau")
    assert result.verdict == "invalid"
    assert result.components["province"]["status"] == "mismatch"
    assert "Phường Ba Đình, Thành phố Hà Nội" in result.suggestions
    assert geocode("Phường Ba Đình, Tỉnh Cà Mau") == []


def test_text_of_10_kb_or_more_is_refused_clearly(gazetteer: Gazetteer) -> None:
    long_text = "Phường Ba Đình, Hà Nội " * 500
    for call in (parse, geocode, validate):
        with pytest.raises(InvalidInputError, match="characters long"):
            call(long_text)
    with pytest.raises(InvalidInputError):
        geocode(12345)  # type: ignore[arg-type]


@pytest.mark.parametrize(("call", "kwargs", "parameter"), [
    ("geocode", {"limit": "5"}, "limit"),
    ("geocode", {"limit": True}, "limit"),
    ("geocode", {"limit": 0}, "limit"),
    ("geocode", {"lat": "north", "lon": 105.8}, "lat"),
    ("validate", {"lat": 21.0, "lon": [105.8]}, "lon"),
    ("validate", {"lat": False, "lon": 105.8}, "lat"),
    ("geocode_frame", {"column": 3}, "column"),
])
def test_a_callers_wrong_argument_is_named(gazetteer: Gazetteer, call: str, kwargs: dict[str, Any],
                                           parameter: str) -> None:
    import pandas as pd

    from vpostcode import address as public

    first: Any = pd.DataFrame({"address": ["Phường Ba Đình, Hà Nội"]}) if call == "geocode_frame" else \
        "Phường Ba Đình, Hà Nội"
    with pytest.raises(InvalidInputError) as caught:
        getattr(public, call)(first, **kwargs)
    assert caught.value.details.get("parameter") == parameter


def test_numbers_written_as_text_are_read_as_numbers(gazetteer: Gazetteer) -> None:
    as_text = validate("Phường Ba Đình, Hà Nội", lat="21.0341", lon="105.8372")  # type: ignore[arg-type]
    assert as_text.to_dict() == validate("Phường Ba Đình, Hà Nội", lat=21.0341, lon=105.8372).to_dict()
    assert geocode("Phường Ba Đình, Hà Nội", code=None) == geocode("Phường Ba Đình, Hà Nội")


WORDS = ["Phường", "P.", "Q1", "Quận", "Hà Nội", "Ba Đình", "12/3", "Tp.HCM", "Ngõ", "hẻm", "Xã", "Tân", "Thành",
         "Huyện", "SG", "Tỉnh", "Thôn", "tổ", "số", "W5Y7-MV5-BWK", "11119-7MV5", "Việt Nam", "đ", "x", "1"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from([",", " ", "-", ".", "\x00", "/", "(", "'"])),
             max_size=25).map("".join)))
def test_arbitrary_text_raises_nothing_but_vpostcode_errors(gazetteer: Gazetteer, text: str) -> None:
    for call in (parse, geocode, validate):
        with contextlib.suppress(VpostcodeError):
            call(text)


def test_the_index_is_built_once(gazetteer: Gazetteer) -> None:
    index = address_index(gazetteer)
    assert address_index(gazetteer) is index
    assert address_index() is address_index()
    assert len(index.phrase_units) > 5_000


# ------------------------------------------------------------------------------------------------ command line


def test_cli_geocode_and_validate_json(runner: CliRunner, gazetteer: Gazetteer) -> None:
    result = runner.invoke(main, ["geocode", "P. Cống Vị, Q. Ba Đình, Hà Nội", "--limit", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["candidates"]) == 1 and data["candidates"][0]["match_type"] == "legacy_partial"
    result = runner.invoke(main, ["validate", "Phường Ba Đình, Hà Nội", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"verdict", "components", "standard_address", "postal_code", "suggestions"}
    assert data["verdict"] == "valid"
    human = runner.invoke(main, ["validate", "Phuong Ba Dinh, Ha Noi"])
    assert human.exit_code == 0 and human.stdout.startswith("valid:")


def test_cli_geocode_batch_keeps_columns_and_marks_bad_rows(runner: CliRunner, gazetteer: Gazetteer,
                                                            tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('id,dia chi\n1,"Phường Ba Đình, Hà Nội"\n2,\n3,"The quick brown fox"\n'
                      f'4,"{"x" * 2000}"\n5,"Cong Vi Ba Dinh HN"\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    result = runner.invoke(main, ["geocode", "--input", str(source), "--column", "dia chi", "--output", str(out),
                                  "--chunk-size", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"input": str(source), "output": str(out), "rows": 5, "errors": 3}
    import pandas as pd

    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(table.columns) == ["id", "dia chi", *BATCH_COLUMNS]
    assert table["commune_code"].tolist()[:1] == ["00004"]
    assert table["error"].tolist()[1] == "empty address" and "characters long" in table["error"].tolist()[3]
    assert table["match_type"].tolist()[4] == "legacy_partial" and table["candidates"].tolist()[4] == "2"
    missing = runner.invoke(main, ["geocode", "--input", str(source), "--output", str(out)])
    assert missing.exit_code == 2 and "--column" in missing.stderr
