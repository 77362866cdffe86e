"""The shortcuts that make ``vpostcode.address`` fast give the answers of the plain computations they replace.

Each shortcut is checked against its plain form over every commune and legacy ward of the real gazetteer, in the
variants people write: the piece-by-piece tokenizer (with its remembered pieces) against the word-by-word one, the
suffix trees of names against joins of every length, the per-unit conversion rows against ``commune_rows_of``, the
pre-filters of address codes against the codec's alphabet and the full scan, the shared answers and the
``Candidate`` built without ``__init__`` against the dataclass's own.
"""

from __future__ import annotations

import string
from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpostcode import codec
from vpostcode.address import AddressIndex, Candidate, address_index, geocode
from vpostcode.address import core as address
from vpostcode.address_variants import VARIANTS, commune_cases, legacy_cases, office_cases, with_variants
from vpostcode.gazetteer import Gazetteer
from vpostcode.text import clean


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



_LENGTHS: dict[int, dict[str, set[int]]] = {}


def _lengths_of(table: address._PhraseTable) -> dict[str, set[int]]:
    """For each last word of a table's names, the numbers of words of the names ending in it."""
    if id(table) not in _LENGTHS:
        lengths: dict[str, set[int]] = {}
        for key in table.units:
            lengths.setdefault(key.split()[-1], set()).add(len(key.split()))
        _LENGTHS[id(table)] = lengths
    return _LENGTHS[id(table)]


def _joined_names_ending_at(index: AddressIndex, tokens: address._Tokens, end: int,
                            table: address._PhraseTable) -> list[tuple[object, ...]]:
    """``_names_ending_at`` as it was before the suffix trees: for each length of the names ending in a word, a join
    of that many words and a look-up. Each name as (start, name_start, end, stop, key, units, type word)."""
    lengths = _lengths_of(table)
    results: list[tuple[object, ...]] = []
    if end <= 0:
        return results
    keys, seg = tokens.keys, tokens.seg
    post_word = None
    name_end = end
    found = lengths.get(keys[end - 1])
    if found is None:
        post_word = index.postfix_words.get(keys[end - 1])
        if post_word is None or end < 2 or seg[end - 2] != seg[end - 1]:
            return results
        name_end = end - 1
        found = lengths.get(keys[name_end - 1])
        if found is None:
            return results
    for length in sorted(found, reverse=True):
        name_start = name_end - length
        if name_start < 0 or seg[name_start] != seg[name_end - 1]:
            continue
        key = " ".join(keys[name_start:name_end])
        units = table.units.get(key)
        if units is None:
            continue
        start, type_word = address._type_before(index, tokens, name_start)
        if type_word is not None and start == name_start - 1 and keys[start] in index.name_last_words and (
                start > 0 and seg[start - 1] == seg[start]):
            bare = table.plain.get(key)
            if bare:
                results.append((name_start, name_start, name_end, end, key, bare, None))
        if type_word is None:
            type_word = post_word
            if type_word is None:
                units = table.plain.get(key, ())
                if not units:
                    continue
        results.append((start, name_start, name_end, end, key, units, type_word))
    return results


def test_the_suffix_trees_find_the_names_that_joins_of_every_length_find(index: AddressIndex,
                                                                          texts: list[str]) -> None:
    """Every name ending at every token of the test texts, found by walking a table's suffix tree, is the one (in
    the same order, with the same type word) that a join of each possible number of words finds."""
    for text in texts[::7]:
        tokens = address._tokenize(index, text)
        for end in range(1, len(tokens) + 1):
            for table in (index.province_table, index.unit_table, index.low_table):
                walked = [(m.start, m.name_start, m.end, m.stop, m.key, m.units, m.type_word)
                          for m in address._names_ending_at(index, tokens, end, table)]
                assert walked == _joined_names_ending_at(index, tokens, end, table), (text, end)


_CODE_TEXT_PARTS = st.sampled_from(["", " ", ",", "_", "-", ".", "/", "(", ")", "Số 5", "Hà Nội", "Thai Nguyen",
                                    "ĐƯỜNG", "x", "E", "u", "12", "Ngõ 3"])


@settings(max_examples=600, deadline=None)
@given(st.floats(8.5, 23.3), st.floats(102.2, 109.4),
       st.sampled_from(["display", "compact", "spaced", "lower", "confused"]),
       _CODE_TEXT_PARTS, _CODE_TEXT_PARTS, _CODE_TEXT_PARTS, _CODE_TEXT_PARTS)
def test_a_text_holding_a_code_is_always_scanned_for_it(index: AddressIndex, lat: float, lon: float, form: str,
                                                        a: str, b: str, c: str, d: str) -> None:
    """The cheap tests that skip ``_find_code``'s scan (``_may_hold_code``, the two hints) never skip a code."""
    code = codec.encode(lat, lon)
    written = {"display": code, "compact": code.replace("-", ""), "spaced": code.replace("-", " "),
               "lower": code.lower(), "confused": code.replace("0", "O").replace("1", "l")}[form]
    for text in (f"{a}{b}{written}{c}{d}", f"{a} {written}{b}", f"{c}{written}", f"{written}{d}"):
        found = address._find_code(text)
        if found is None:
            continue
        tokens = address._tokenize(index, text)
        assert tokens.chunks is None or address._may_hold_code(tokens.chunks), text
        assert address._FULL_CODE_HINT.search(text) or address._LOCAL_CODE_HINT.search(text), text


@settings(max_examples=300, deadline=None)
@given(st.integers(10000, 99999), st.text(alphabet="ABCDEFGHJK0123456789", min_size=2, max_size=9),
       st.sampled_from([" ", "-"]), _CODE_TEXT_PARTS, _CODE_TEXT_PARTS)
def test_a_text_holding_a_local_code_is_always_scanned_for_it(index: AddressIndex, postal: int, rest: str, sep: str,
                                                              a: str, b: str) -> None:
    text = f"{a} {postal}{sep}{rest} {b}"
    if address._LOCAL_CODE.search(text):
        tokens = address._tokenize(index, text)
        assert tokens.chunks is None or address._may_hold_code(tokens.chunks), text
        assert address._LOCAL_CODE_HINT.search(text), text


def _codes_checked_by(check: str, count: int) -> list[str]:
    """Real codes (encoded from points in Vietnam) whose check character is ``check``, with no letter just before a
    digit: a text holding one is read piece by piece (a letter glued to a number sends it to the word-by-word
    reader, which always scans for codes)."""
    codes = [code for step in range(20_000)
             if (code := codec.encode(8.5 + step * 0.0007, 103.0 + step * 0.0003))[-1] == check
             and not address._GLUED_HINT.search(code.lower())]
    assert len(codes) >= count
    return codes[:count]


@pytest.mark.parametrize("check", ["A", "H", "K"])
def test_a_code_whose_check_character_is_a_is_always_scanned_for(index: AddressIndex, check: str) -> None:
    """``A`` is the one symbol only the check character uses: the prefilter allows it there and nowhere else."""
    read_by_pieces = 0
    for code in _codes_checked_by(check, 10):
        for written in (code, code.lower(), f"{code[:4]}-{code[4:7]}-{code[7:]}", f"{code[:4]} {code[4:7]} {code[7:]}",
                        f"{code[:4]} {code[4:]}", f"{code[:7]} {code[7:]}"):
            text = f"Số 5 {written}, Hà Nội"
            assert address._find_code(text) is not None, text
            tokens = address._tokenize(index, text)
            if tokens.chunks is not None:  # else (a glued prefix, "G5..."): read word by word, always scanned
                read_by_pieces += 1
                assert address._may_hold_code(tokens.chunks), text
    assert read_by_pieces >= 30


@pytest.mark.parametrize("text", ["Tỉnh Lào Cai", "Tinh Lao Cai", "Xa Binh Thanh Hoa, Tinh Tay Ninh",
                                  "Phuong Dong Hoa, TP Ho Chi Minh", "xã tân hòa đông", "Binh Tri Dong A"])
def test_names_that_merely_look_like_code_groups_are_not_scanned(index: AddressIndex, text: str) -> None:
    """Words of 4, 3 and 3 letters are common in names; with an ``a`` inside, a mark, or a vowel opening a code,
    they cannot be one, and ``_find_code``'s scan is skipped."""
    tokens = address._tokenize(index, text)
    assert tokens.chunks is not None and not address._may_hold_code(tokens.chunks)
    assert address._find_code(text) is None


@pytest.mark.parametrize(("word", "shape"), [
    ("tinh", 4 | address._CODE_NO_A | address._CODE_OPENS), ("hoa", 3 | address._CODE_OPENS), ("lao", 0),
    ("tỉnh", 0), ("o12", 3 | address._CODE_NO_A), ("a", 1), ("", 0), ("bcdfghjkmnp", 0), ("e12", 0)])
def test_the_code_shape_of_a_word(word: str, shape: int) -> None:
    assert address._code_shape(word) == shape


def test_the_full_code_hint_admits_exactly_the_codec_letters_and_digits() -> None:
    for char in string.ascii_letters + string.digits:
        assert bool(address._FULL_CODE_HINT.fullmatch(char * 10)) == (char in address._CODE_CHARS), char


def test_remembered_pieces_stay_bounded_and_right(index: AddressIndex) -> None:
    """When the pieces an index remembers reach their bound they are dropped, and texts still read the same."""
    text = "151B Phạm Văn Đồng, Phường Ba Đình, Thành phố Hà Nội"
    before = [c.to_dict() for c in geocode(text, limit=10, gazetteer=index.gazetteer)]
    for n in range(address._CHUNKS_MAX - len(index._chunks)):
        index.chunk(f"synthetic{n}")  # synthetic one-off pieces (as a flood of house numbers would be)
    assert len(index._chunks) == address._CHUNKS_MAX and "4093Q" not in index._chunks
    moved = geocode(text.replace("151B", "4093Q"), limit=10, gazetteer=index.gazetteer)  # a piece not yet seen
    assert len(index._chunks) < address._CHUNKS_MAX
    assert [c.commune_code for c in moved] == [c["commune_code"] for c in before]
    assert moved[0].standard_address.startswith("4093Q, Phạm Văn Đồng")
    assert [c.to_dict() for c in geocode(text, limit=10, gazetteer=index.gazetteer)] == before


def test_shared_plain_answers_are_the_answers_built_afresh(index: AddressIndex) -> None:
    """An answer without a street part is shared between calls; it is the candidate built field by field."""
    for text in ("Phường Ba Đình, Hà Nội", "Xã Tân Phú, Huyện Tam Bình, Vĩnh Long", "P. Bến Nghé, Q.1, TP.HCM"):
        first = geocode(text, limit=10, gazetteer=index.gazetteer)
        again = geocode(text, limit=10, gazetteer=index.gazetteer)
        assert first == again and first
        for candidate in first:
            row = index.gazetteer.commune_row(candidate.commune_code)
            built = Candidate(**index.commune_fields[row], lat=index.commune_lat[row], lon=index.commune_lon[row],
                              precision="commune", confidence=candidate.confidence,
                              match_type=candidate.match_type, standard_address=index.commune_standard[row],
                              legacy_code=candidate.legacy_code, share=candidate.share)
            assert candidate == built


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_remembered_clean_is_clean(text: str) -> None:
    assert address._clean(text) == clean(text)
    assert address._clean(text) == clean(text)  # the second time from memory


def test_requests_leave_the_index_key_memory_as_it_was(index: AddressIndex) -> None:
    """Words read from requests (the "did you mean" look-alikes) are keyed without being remembered: what the index
    remembers is its own names only, however many different texts it is asked."""
    from vpostcode.address import validate

    before = dict(index._keys)
    for number in range(40):
        assert validate(f"Xã Qwzrtx{number} Plmkjv, Tỉnh Hưng Yên").suggestions is not None
    assert index._keys == before
