"""The service's routes, one blueprint per concept; ``BLUEPRINTS`` lists them in registration order.

Views are tagged with their rate-limit class by :func:`limited` (``read`` is the default for every route); the app
factory turns the tags into Flask-Limiter limits of its own configuration, so that one set of blueprints serves
apps with different settings (tests create several).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal, TypeVar

if TYPE_CHECKING:
    from flask import Blueprint

F = TypeVar("F", bound=Callable[..., object])
LimitClass = Literal["heavy", "write", "exempt"]
LIMIT_ATTRIBUTE: Final = "vpostcode_limit"


def limited(kind: LimitClass) -> Callable[[F], F]:
    """Tag a view: ``heavy`` (batches, computations; per IP), ``write`` (per API key) or ``exempt`` (ops)."""

    def tag(view: F) -> F:
        """Set the attribute the app factory reads."""
        setattr(view, LIMIT_ATTRIBUTE, kind)
        return view

    return tag


def blueprints() -> list[Blueprint]:
    """Every blueprint of the service (imported here, not at package import, to keep ``import api`` cheap)."""
    from api.routes import codes, coverage, gazetteer, geocode, map, ops, points, registry, reverse

    return [ops.bp, codes.bp, reverse.bp, geocode.bp, gazetteer.bp, points.bp, coverage.bp, registry.bp, map.bp]
