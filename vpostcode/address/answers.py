"""What the address reader answers: a parsed address, a geocoding candidate, a checkout's validation.

These are the public records of ``vpostcode.address``, frozen dataclasses: hashable, comparable, ``asdict`` and
``replace`` work on them. They live apart from the reader (``vpostcode.address.core``) because that module may be
compiled by mypyc, under which a frozen dataclass's generated ``__init__`` stays interpreted Python and costs about
1.5 µs per answer; here they are plain Python classes, which the reader fills directly (``core._candidate``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["Candidate", "MatchType", "ParsedAddress", "Precision", "Status", "Structure", "Validation", "Verdict"]

Structure = Literal["legacy", "2025", "unknown"]
MatchType = Literal["exact", "normalised", "fuzzy", "legacy_converted", "legacy_partial"]
Precision = Literal["address_code", "commune"]
Verdict = Literal["valid", "valid_outdated", "ambiguous", "invalid", "inconsistent"]
Status = Literal["ok", "corrected", "unknown", "outdated", "missing", "mismatch"]


@dataclass(frozen=True)
class ParsedAddress:
    """An address split into its parts, as written (tidied: NFC, canonical tone marks, single spaces).

    ``spans`` maps each part found (and ``address_code``) to its ``(start, end)`` character offsets in the
    original text (``text[start:end]``). ``structure`` is ``legacy`` when the text names a pre-2025 unit (a ward
    with its district, or a district), ``2025`` when it names a 2025 commune, ``unknown`` when it names neither.
    ``commune`` holds the lowest unit as written: the 2025 commune, or the legacy ward. The resolved codes are
    ``province_code`` (2025), ``district_code`` (legacy) and ``unit_codes`` (the 2025 commune codes, or the legacy
    ward codes, that the text can mean).
    """

    text: str
    house_number: str | None = None
    alley: str | None = None
    street: str | None = None
    hamlet: str | None = None
    commune: str | None = None
    district: str | None = None
    province: str | None = None
    address_code: str | None = None
    structure: Structure = "unknown"
    province_code: str | None = None
    district_code: str | None = None
    unit_codes: tuple[str, ...] = ()
    spans: dict[str, tuple[int, int]] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (spans as two-element lists)."""
        record = asdict(self)
        record["unit_codes"] = list(self.unit_codes)
        record["spans"] = {part: list(span) for part, span in self.spans.items()}
        return record


@dataclass(frozen=True)
class Candidate:
    """One 2025 commune an address may be in, with its postal code, a location and how it was found.

    ``lat``/``lon`` are the commune's representative point (``precision="commune"``) or, when the request holds a
    valid address code inside this commune, the code's location (``precision="address_code"``). ``legacy_code``
    and ``share`` say which legacy ward the answer was converted from and whether all of it went into this commune.
    """

    commune_code: str
    commune_name: str
    province_code: str
    province_name: str
    postal_code: str | None
    lat: float
    lon: float
    precision: Precision
    confidence: float
    match_type: MatchType
    standard_address: str
    legacy_code: str | None = None
    share: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"commune_code": self.commune_code, "commune_name": self.commune_name,
                "province_code": self.province_code, "province_name": self.province_name,
                "postal_code": self.postal_code, "lat": self.lat, "lon": self.lon, "precision": self.precision,
                "confidence": self.confidence, "match_type": self.match_type,
                "standard_address": self.standard_address, "legacy_code": self.legacy_code, "share": self.share}


@dataclass(frozen=True)
class Validation:
    """The answer for a checkout: one verdict, the status of each part, the 2025 address and its postal code.

    ``verdict``: ``valid`` (a 2025 address that names one commune), ``valid_outdated`` (pre-2025 units that convert
    to one commune; ``standard_address`` is the 2025 form), ``ambiguous`` (several communes fit: ``candidates`` and
    ``suggestions`` list them all), ``invalid`` (no commune, or a commune that is not in the province written) or
    ``inconsistent`` (the text and the address code or point name different communes; ``distance_m`` is the
    distance from the point to the commune of the text). ``components`` maps each part to
    ``{"value": as written or None, "status": ok|corrected|unknown|outdated|missing|mismatch, "standard": ...}``.
    """

    verdict: Verdict
    components: dict[str, dict[str, Any]]
    standard_address: str | None
    postal_code: str | None
    suggestions: list[str]
    candidates: list[Candidate]
    message: str
    distance_m: float | None = None
    structure: Structure = "unknown"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "verdict": self.verdict,
            "components": self.components,
            "standard_address": self.standard_address,
            "postal_code": self.postal_code,
            "suggestions": list(self.suggestions),
            "candidates": [candidate.to_dict() for candidate in self.candidates],
            "message": self.message,
            "distance_m": self.distance_m,
            "structure": self.structure,
        }
