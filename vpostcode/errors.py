"""The library's exceptions: one small hierarchy that callers (CLI, API) map to messages and problem types.

Every exception carries a stable ``slug`` naming its kind. The slug never changes once published: the HTTP API
turns it into the RFC 9457 problem ``type`` and scripts match on it. Messages are one line, say what is wrong and,
where there is one, the fix.
"""

from __future__ import annotations

from typing import Any


class VpostcodeError(Exception):
    """Base of every error vpostcode raises on purpose."""

    slug = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: the slug, the message and any structured details."""
        return {"error": self.slug, "message": self.message, **self.details}


class InvalidInputError(VpostcodeError, ValueError):
    """The caller passed a value that can never be valid (as opposed to one that is merely unknown)."""

    slug = "invalid-input"


class InvalidCoordinateError(InvalidInputError):
    """A latitude/longitude that is not a finite number in range, or that lies outside the domain served."""

    slug = "invalid-coordinate"


class OutsideDomainError(InvalidCoordinateError):
    """A valid coordinate that lies outside the area the address code covers (Vietnam and its islands)."""

    slug = "outside-domain"


class InvalidCodeError(InvalidInputError):
    """A string that is not a well-formed address code (wrong length, alphabet or check character)."""

    slug = "invalid-code"


class UnknownCRSError(InvalidInputError):
    """A coordinate reference system that vpostcode does not accept."""

    slug = "unknown-crs"


class NotFoundError(VpostcodeError, LookupError):
    """A well-formed identifier that names nothing in the data."""

    slug = "not-found"


class UnknownCommuneError(NotFoundError):
    """No 2025 commune has this code, postal code or name."""

    slug = "unknown-commune"


class UnknownProvinceError(NotFoundError):
    """No 2025 province has this code or name."""

    slug = "unknown-province"


class UnknownLegacyUnitError(NotFoundError):
    """No pre-2025 ward, district or province has this code or name path."""

    slug = "unknown-legacy-unit"


class UnknownPostcodeError(NotFoundError):
    """A postal code that no commune (2025) or legacy ward (2020) carries."""

    slug = "unknown-postcode"


class DataError(VpostcodeError):
    """The built data or its sources are missing, stale or corrupt."""

    slug = "data-error"


class DataNotBuiltError(DataError):
    """``gis_data/`` has not been built (or is incomplete)."""

    slug = "data-not-built"


class SourceDataError(DataError):
    """A source file is missing, fails its checksum or cannot be read."""

    slug = "source-data"


class AmbiguousError(VpostcodeError, LookupError):
    """A name that matches several units; ``details['candidates']`` lists them so the caller can choose."""

    slug = "ambiguous"


class InvalidRecordError(InvalidInputError):
    """A record handed to the store is malformed; ``details['field']`` names the offending field."""

    slug = "invalid-record"


class UnknownPointError(NotFoundError):
    """No postal point has this id."""

    slug = "unknown-point"


class UnknownAddressError(NotFoundError):
    """No registered address has this address code."""

    slug = "unknown-address"


class UnknownApiKeyError(NotFoundError):
    """No API key has this key id."""

    slug = "unknown-api-key"


class ConflictError(VpostcodeError):
    """A write that collides with existing data (a duplicate address code, a point key already taken)."""

    slug = "conflict"


class StorageError(VpostcodeError):
    """The database refused or failed an operation for a reason that is not the caller's input."""

    slug = "storage-error"


class DatabaseUnavailableError(StorageError):
    """The database cannot be reached or opened; the message names the URL without its password."""

    slug = "database-unavailable"


class MissingDependencyError(VpostcodeError):
    """An optional package that a feature needs is not installed; ``details['package']`` names it."""

    slug = "missing-dependency"


class OptimizationError(VpostcodeError):
    """An optimisation (e.g. the site-suggestion MCLP) failed to produce any solution."""

    slug = "optimization-failed"


class InconsistentAddressError(InvalidInputError):
    """An address whose commune is not the commune its point lies in; ``details`` name both and the distance."""

    slug = "inconsistent-address"
