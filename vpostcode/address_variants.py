"""Deterministic address test cases built from the real gazetteer, shared by the tests and the benchmark.

Three sources, each case with the set of 2025 commune codes that are a right answer:

* every 2025 commune written ``"<commune full name>, <province full name>"`` (3,321);
* every legacy ward written ``"<ward>, <district>, <province>"`` (10,040; the five ward-less island districts as
  ``"<district>, <province>"``), whose right answers are the communes the reform mapping sends it to (all of them
  for a ward that was split);
* Vietnam Post office addresses (``vnpost_offices.json``): their street address with the legacy ward, district
  and province they give, answered through the same mapping.

Each can be rendered in variants that people actually produce: ``exact``; ``no_diacritics``; ``abbreviated``
(``P.``, ``Q.``, ``TP.``...); ``nickname`` (``Tp.HCM``, ``HN``, bare province names); ``no_commas``;
``tone_marks`` (the other tone-mark placement, only cases whose text changes); ``house_street`` (a house number,
sometimes an alley or hamlet, and a street named after a common street name); ``typo`` (one seeded edit in the
lowest unit's name); ``mixed`` (no diacritics, abbreviated, no commas, with house and street). Everything is
seeded: the same arguments give the same cases.

When two units have the same written path (``Xã Minh Quán`` and ``Xã Minh Quân`` of one district lose their
difference without diacritics), the right answers of a case are the union over all units with that path, under
the variant's equivalence (accent-insensitive for the variants without diacritics).
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vpostcode.text import accent_key, fold, normalise_tones, strip_diacritics

if TYPE_CHECKING:
    from vpostcode.gazetteer import Gazetteer

Form = Literal["2025", "legacy", "office"]

VARIANTS = ("exact", "no_diacritics", "abbreviated", "nickname", "no_commas", "tone_marks", "house_street",
            "typo", "mixed")
"""Every variant kind, in report order."""

_ABBREVIATIONS = {"Phường": ["P.", "P. ", "P "], "Xã": ["X.", "X. ", "xã "], "Thị trấn": ["TT.", "TT. ", "TT "],
                  "Quận": ["Q.", "Q. ", "Q "], "Huyện": ["H.", "H. ", "H "], "Thị xã": ["TX.", "TX. ", "TX "],
                  "Thành phố": ["TP.", "TP. ", "Tp "], "Tỉnh": ["", "T. ", ""], "Đặc khu": ["Đặc khu "]}
_NICKNAMES = {"Hồ Chí Minh": ["TP.HCM", "Tp.HCM", "HCM", "SG", "Sài Gòn", "TPHCM"], "Hà Nội": ["HN", "Hà Nội"],
              "Hải Phòng": ["HP", "Hải Phòng"], "Bà Rịa - Vũng Tàu": ["BRVT", "Vũng Tàu"], "Huế": ["TT Huế", "Huế"],
              "Đắk Lắk": ["Daklak", "Đắk Lắk"]}
# The most common Vietnamese street names (national heroes and dynasties): real street parts of real addresses,
# and adversarial ones, since many are also commune names (Phường Quang Trung, Xã Lê Lợi, ...).
_STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
            "Hùng Vương", "Nguyễn Huệ", "Lê Duẩn", "Phan Chu Trinh", "Nguyễn Du", "Trần Phú", "Lê Hồng Phong",
            "Điện Biên Phủ", "Nguyễn Văn Cừ", "Hoàng Hoa Thám", "Võ Thị Sáu", "Nguyễn Thị Minh Khai",
            "Cách Mạng Tháng Tám", "Bà Triệu", "Lý Thái Tổ", "Ngô Quyền", "Phạm Văn Đồng", "Lê Thánh Tông")
_ALLEYS = ("Ngõ {n}", "Ngách {n}", "Hẻm {n}", "Kiệt {n}", "Hẻm {n}/{m}")
_HAMLETS = ("Thôn {n}", "Ấp {n}", "Tổ {n}", "Khu phố {n}", "Xóm Mới", "Thôn Đông", "Ấp Bình An", "Bản Nà")
_KEYBOARD_NEIGHBOURS = {"a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "g": "fh", "h": "gj", "i": "uo",
                        "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o", "q": "w", "r": "et",
                        "s": "ad", "t": "ry", "u": "yi", "v": "cb", "x": "zc", "y": "tu"}


@dataclass(frozen=True)
class Level:
    """One administrative level of a case: its type word and bare name (``Phường``, ``Ba Đình``)."""

    type: str
    name: str

    @property
    def full(self) -> str:
        """``type name`` (or the name alone when there is no type word)."""
        return f"{self.type} {self.name}".strip()


@dataclass(frozen=True)
class AddressCase:
    """One test address: its text, the right answers (2025 commune codes), and where it came from."""

    text: str
    expected: frozenset[str]
    form: Form
    variant: str
    source: str  # the commune code, legacy ward code or office id it was built from
    levels: tuple[Level, ...] = ()  # small → large (commune/ward, [district], province)
    detail: str = ""  # the street part written before the units (office addresses)


_TYPE_WORDS = ("Thành phố", "Thị trấn", "Thị xã", "Đặc khu", "Phường", "Quận", "Huyện", "Tỉnh", "Xã")


def _split_type(full_name: str, unit_type: str) -> Level:
    """The type word and bare name of a full name (the type word as the full name writes it)."""
    for word in (unit_type, *_TYPE_WORDS):
        if word and full_name.lower().startswith(word.lower() + " "):
            return Level(full_name[:len(word)], full_name[len(word) + 1:])
    return Level("", full_name)


def _province_level(full_name: str) -> Level:
    for prefix in ("Thành phố", "Tỉnh"):
        if full_name.startswith(prefix + " "):
            return Level(prefix, full_name[len(prefix) + 1:])
    return Level("", full_name)


def _render(levels: Sequence[Level], detail: str = "", separator: str = ", ") -> str:
    parts = ([detail] if detail else []) + [level.full for level in levels]
    return separator.join(part for part in parts if part)


def commune_cases(gazetteer: Gazetteer, n: int | None = None) -> list[AddressCase]:
    """Every 2025 commune as ``"<commune full name>, <province full name>"`` (cycled to ``n`` cases if given).

    The right answers are the commune and any commune of the same province with the same type and name.
    """
    communes = gazetteer.communes
    records = list(zip(communes["code"].tolist(), communes["full_name"].tolist(), communes["type"].tolist(),
                       communes["province_name"].tolist()))
    same: dict[tuple[str, str], set[str]] = defaultdict(set)
    for code, full_name, _type, province in records:
        same[(accent_key(full_name), province)].add(code)
    cases = []
    for code, full_name, unit_type, province in records:
        levels = (_split_type(full_name, unit_type.capitalize()), _province_level(province))
        expected = frozenset(same[(accent_key(full_name), province)])
        cases.append(AddressCase(_render(levels), expected, "2025", "exact", code, levels))
    return _cycle(cases, n)


def legacy_cases(gazetteer: Gazetteer, n: int | None = None, seed: int = 2025) -> list[AddressCase]:
    """Every legacy ward as ``"<ward>, <district>, <province>"`` (a seeded sample of ``n`` if given).

    The right answers are the 2025 communes the reform mapping sends the ward to (``gazetteer.convert``).
    """
    units = gazetteer.legacy_units
    conversion: dict[str, set[str]] = defaultdict(set)
    for legacy_code, new_code in zip(gazetteer.conversion["legacy_code"].tolist(),
                                     gazetteer.conversion["new_code"].tolist()):
        conversion[legacy_code].add(new_code)
    cases = []
    columns = ("code", "level", "name", "type", "district_name", "district_type", "province_name")
    for code, level, name, unit_type, district, district_type, province in zip(
            *(units[c].tolist() for c in columns)):
        levels: tuple[Level, ...] = (_split_type(district, district_type), _province_level(province))
        if level == "ward":
            levels = (_split_type(name, unit_type), *levels)
        cases.append(AddressCase(_render(levels), frozenset(conversion[code]), "legacy", "exact", code, levels))
    if n is not None and n < len(cases):
        cases = random.Random(seed).sample(cases, n)
    return cases


def office_cases(gazetteer: Gazetteer, path: str | Path | None = None, n: int = 300,
                 seed: int = 2025) -> list[AddressCase]:
    """``n`` Vietnam Post office addresses (seeded sample) whose legacy ward resolves in the gazetteer.

    The text is the office's street address followed by its legacy ward (unless the street address already names
    it), district and province, as the source gives them (bare names, no type words).
    """
    from vpostcode.config import sources_dir

    source = Path(path) if path is not None else sources_dir() / "vnpost_offices.json"
    offices = json.loads(source.read_text(encoding="utf-8"))
    cases = []
    for office in offices:
        ward, district, province = (str(office.get(k) or "").strip() for k in ("ward", "district", "province"))
        detail = " ".join(str(office.get("detailAddress") or "").split())
        if not (ward and district and province):
            continue
        units = gazetteer.find_legacy_units(ward, district, province)
        if not units:
            continue
        expected = frozenset(c.code for unit in units for c in gazetteer.convert(unit.code))
        if not expected:
            continue
        written = [Level("", district), Level("", province)]
        if fold(ward) not in fold(detail):
            written.insert(0, Level("", ward))
        text = _render(written, detail)
        cases.append(AddressCase(text, expected, "office", "exact", str(office.get("id")), tuple(written), detail))
    if n < len(cases):
        cases = random.Random(seed).sample(cases, n)
    return cases


def _cycle(cases: list[AddressCase], n: int | None) -> list[AddressCase]:
    if n is None:
        return cases
    return [replace(cases[i % len(cases)], source=f"{cases[i % len(cases)].source}#{i // len(cases)}")
            if i >= len(cases) else cases[i] for i in range(n)]


# ------------------------------------------------------------------------------------------------ variants


def _abbreviate(level: Level, rng: random.Random) -> Level:
    options = _ABBREVIATIONS.get(level.type)
    if not options:
        return level
    prefix = rng.choice(options)
    return Level("", f"{prefix}{level.name}")


def _nickname(level: Level, rng: random.Random) -> Level:
    options = _NICKNAMES.get(level.name)
    return Level("", rng.choice(options) if options else level.name)


def _typo(name: str, rng: random.Random) -> str:
    """One seeded keyboard slip in the longest word of a name (never its first letter)."""
    words = name.split(" ")
    target = max(range(len(words)), key=lambda i: (len(words[i]), -i))
    word = words[target]
    if len(word) < 3 or not word.isalpha():
        return name
    position = rng.randrange(1, len(word))
    operation = rng.choice(("delete", "swap", "replace", "double"))
    if operation == "delete":
        word = word[:position] + word[position + 1:]
    elif operation == "swap" and position < len(word) - 1:
        word = word[:position] + word[position + 1] + word[position] + word[position + 2:]
    elif operation == "replace":
        base = strip_diacritics(word[position]).lower()
        word = word[:position] + rng.choice(_KEYBOARD_NEIGHBOURS.get(base, "a")) + word[position + 1:]
    else:
        word = word[:position] + word[position] + word[position:]
    words[target] = word
    return " ".join(words)


def _street(rng: random.Random, rural: bool) -> str:
    number = rng.choice((str(rng.randint(1, 300)), f"{rng.randint(1, 200)}{rng.choice('ABC')}",
                         f"{rng.randint(1, 99)}/{rng.randint(1, 40)}"))
    parts = [number]
    if rng.random() < 0.35:
        parts.append(rng.choice(_ALLEYS).format(n=rng.randint(1, 150), m=rng.randint(1, 30)))
    parts.append(rng.choice(("", "Đường ", "Phố ", "đường ")) + rng.choice(_STREETS))
    if rural or rng.random() < 0.2:
        parts.append(rng.choice(_HAMLETS).format(n=rng.randint(1, 12)))
    separator = rng.choice((" ", ", "))
    return separator.join(parts)


def render_variant(case: AddressCase, variant: str, seed: int = 0) -> AddressCase | None:
    """The case written in one variant (None for ``tone_marks`` when the other placement changes nothing).

    Randomness (abbreviation spacing, nicknames, house numbers, typos) is seeded by ``seed`` and the case's source,
    so a case renders the same way on every run.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: one of {', '.join(VARIANTS)}")
    rng = random.Random(f"{seed}:{case.form}:{case.source}:{variant}")
    levels = list(case.levels)
    detail = case.detail
    text: str
    if variant == "exact":
        return case
    if variant == "no_diacritics":
        text = strip_diacritics(case.text)
    elif variant == "abbreviated":
        text = _render([_abbreviate(level, rng) for level in levels], detail)
    elif variant == "nickname":
        text = _render([*levels[:-1], _nickname(levels[-1], rng)], detail)
    elif variant == "no_commas":
        text = _render(levels, detail, " ")
    elif variant == "tone_marks":
        text = normalise_tones(case.text, "traditional")
        if text == case.text:
            text = normalise_tones(case.text, "modern")
        if text == case.text:
            return None
    elif variant == "house_street":
        text = _render(levels, ", ".join(p for p in (_street(rng, levels[0].type == "Xã"), detail) if p))
    elif variant == "typo":
        text = _render([Level(levels[0].type, _typo(levels[0].name, rng)), *levels[1:]], detail)
    else:  # mixed
        street = _street(rng, levels[0].type == "Xã")
        text = strip_diacritics(_render([_abbreviate(level, rng) for level in levels],
                                        " ".join(p for p in (street, detail) if p), " ").replace(",", ""))
    return replace(case, text=text, variant=variant)


def with_variants(cases: Iterable[AddressCase], variants: Sequence[str] = VARIANTS, seed: int = 0,
                  gazetteer: Gazetteer | None = None) -> list[AddressCase]:
    """Every case in every variant (cases a variant does not apply to are left out).

    With a ``gazetteer``, the right answers of the variants without diacritics are widened to every unit whose
    path folds to the same text (see the module docstring).
    """
    cases = list(cases)
    widen = _folded_answers(gazetteer) if gazetteer is not None else None
    out: list[AddressCase] = []
    for variant in variants:
        for case in cases:
            rendered = render_variant(case, variant, seed)
            if rendered is None:
                continue
            if widen is not None and variant in ("no_diacritics", "mixed") and case.form != "office":
                key = tuple(fold(level.full) for level in case.levels)
                rendered = replace(rendered, expected=rendered.expected | widen.get((case.form, key), frozenset()))
            out.append(rendered)
    return out


@lru_cache(maxsize=2)
def _folded_answers(gazetteer: Gazetteer) -> dict[tuple[str, tuple[str, ...]], frozenset[str]]:
    """(form, folded path) → every right answer of every unit with that folded path (once per gazetteer)."""
    answers: dict[tuple[str, tuple[str, ...]], set[str]] = defaultdict(set)
    for case in [*commune_cases(gazetteer), *legacy_cases(gazetteer)]:
        answers[(case.form, tuple(fold(level.full) for level in case.levels))] |= case.expected
    return {key: frozenset(value) for key, value in answers.items()}
