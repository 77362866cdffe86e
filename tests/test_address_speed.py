"""The shortcuts that make ``vpostcode.address`` fast give the answers of the plain computations they replace.

Each shortcut is checked against its plain form over every commune and legacy ward of the real gazetteer, in the
variants people write: the piece-by-piece tokenizer (with its remembered pieces) against the word-by-word one, the per-unit
conversion rows against ``commune_rows_of``, the pre-filter of address codes against the codec's alphabet, and
the ``Candidate`` built without ``__init__`` against the dataclass's own.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpostcode import codec
from vpostcode.address import AddressIndex, Candidate, address_index, geocode
from vpostcode.address import core as address
from vpostcode.address_variants import VARIANTS, commune_cases, legacy_cases, office_cases, with_variants
from vpostcode.gazetteer import Gazetteer


@pytest.fixture(scope="module")
def index(gazetteer: Gazetteer) -> AddressIndex:
    return address_index(gazetteer)


@pytest.fixture(scope="module")
def texts(gazetteer: Gazetteer) -> list[str]:
    """Every commune and legacy ward (and the post offices) in every variant, plus glued and odd inputs."""
    base = [*commune_cases(gazetteer), *legacy_cases(gazetteer), *office_cases(gazetteer)]
    cases = with_variants(base, VARIANTS, gazetteer=gazetteer)
    extra = ["P12 Q3 TPHCM", "p.12, q.3, tp hcm", "Phường 1,, Quận 1,; TP HCM", "", " , ,", "X1, H2; T3",
             "Ho\u0300a Bi\u0300nh, Ha\u0300 No\u0323i", "Phường Bến Nghé (cũ), Q1, SG 700000"]
    return [case.text for case in cases] + extra


def test_the_piece_tokenizer_reads_every_text_as_the_word_by_word_one(index: AddressIndex,
                                                                      texts: list[str]) -> None:
    for text in texts:
        fast = address._tokenize(index, text)
        folded = fast.folded
        lowered = folded if fast.text.isascii() else fast.text.translate(address._LOWER_TABLE)
        plain = address._tokenize_glued(index, fast.text, folded, lowered)
        assert (fast.keys, fast.seg, fast.plain, fast.all_plain) == (
            plain.keys, plain.seg, plain.plain, plain.all_plain), text
        assert [fast.accent(i) for i in range(len(fast))] == [plain.accent(i) for i in range(len(plain))], text
        assert [fast.span(i) for i in range(len(fast))] == [plain.span(i) for i in range(len(plain))], text


def test_unit_rows_are_the_conversion_rows(index: AddressIndex) -> None:
    units = {unit for found in index.phrase_units.values() for unit in found}
    for unit in units:
        rows = index.unit_rows(unit)
        assert [(row, share) for row, share, _distance in rows] == index.commune_rows_of(unit)
        assert all(distance == 0.0 for _row, _share, distance in rows) or unit.kind != address._Kind.COMMUNE


def test_the_code_prefilter_keeps_every_character_the_codec_reads() -> None:
    allowed = set(codec.CHECK_ALPHABET) | set(codec.CONFUSABLES) | set(" -")
    assert set(address._CODE_CHARS) == allowed | {char.lower() for char in allowed}


@settings(max_examples=400, deadline=None)
@given(st.floats(6.0, 24.0), st.floats(102.0, 118.2), st.sampled_from(["display", "compact", "lower", "confused"]))
def test_the_check_character_filter_keeps_every_valid_code(lat: float, lon: float, form: str) -> None:
    code = codec.encode(lat, lon)
    written = {"display": code, "compact": code.replace("-", ""), "lower": code.lower(),
               "confused": code.replace("0", "O").replace("1", "l")}[form]
    assert address._check_character_fits(written)
    assert address._find_code(f"Số 5, {written}, Hà Nội") is not None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=sorted(set(codec.CHECK_ALPHABET) | set("OILoil")), min_size=10, max_size=10))
def test_the_check_character_filter_rejects_only_invalid_codes(written: str) -> None:
    if not address._check_character_fits(written):
        assert not codec.is_valid(written)


def test_a_code_in_words_that_look_like_one_is_still_found(index: AddressIndex) -> None:
    code = codec.encode(21.0285, 105.8542)
    found = address._find_code(f"Thai Nguyen {code}, Hà Nội")
    assert found is not None and found.code == codec.normalize(code)


def test_candidates_built_without_init_equal_the_dataclass(index: AddressIndex) -> None:
    for text in ("Phường Ba Đình, Hà Nội", "Phường 1, Quận 1, TP.HCM", "Xã Tân Phú, Huyện Tam Bình, Vĩnh Long"):
        for candidate in geocode(text, limit=10, gazetteer=index.gazetteer):
            rebuilt = Candidate(**asdict(candidate))
            assert rebuilt == candidate and hash(rebuilt) == hash(candidate)
            assert rebuilt.to_dict() == candidate.to_dict() == asdict(candidate)

