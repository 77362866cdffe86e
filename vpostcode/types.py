"""Plain records shared across the library: administrative units and the reform conversion.

They are frozen dataclasses with JSON-ready ``to_dict`` forms, so that the CLI's ``--json`` and the API serialise
the same field names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Share = Literal["full", "partial"]


@dataclass(frozen=True)
class Province:
    """A province or centrally-run city in force since 1 July 2025."""

    code: str
    name: str
    name_en: str
    full_name: str
    full_name_en: str
    postal_prefixes: tuple[str, ...]
    area_km2: float
    population: int
    commune_count: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {**asdict(self), "postal_prefixes": list(self.postal_prefixes)}


@dataclass(frozen=True)
class LegacyUnit:
    """A lowest-level unit of the pre-2025 three-level gazetteer (a ward, or a ward-less island district)."""

    code: str
    level: str
    name: str
    type: str
    district_code: str
    district_name: str
    province_code: str
    province_name: str
    postcode_2020: str | None
    lat: float
    lon: float

    @property
    def full_path(self) -> str:
        """"<ward>, <district>, <province>" as written on pre-reform addresses."""
        parts = [self.name] if self.level == "ward" else []
        return ", ".join([*parts, self.district_name, self.province_name])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the full name path."""
        return {**asdict(self), "full_path": self.full_path}


@dataclass(frozen=True)
class ConversionCandidate:
    """One 2025 commune that (part of) a legacy unit went into."""

    code: str
    full_name: str
    province_code: str
    province_name: str
    share: Share

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


@dataclass(frozen=True)
class Commune:
    """A commune (phường, xã or đặc khu) in force since 1 July 2025."""

    code: str
    name: str
    name_en: str
    full_name: str
    full_name_en: str
    type: str
    province_code: str
    province_name: str
    postal_code: str | None
    area_km2: float
    population: int
    rep_lat: float
    rep_lon: float
    bbox: tuple[float, float, float, float]  # south, west, north, east
    legacy_units: tuple[dict[str, str], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (without geometry)."""
        record = asdict(self)
        record["bbox"] = list(self.bbox)
        record["legacy_units"] = [dict(unit) for unit in self.legacy_units]
        return record
