"""The current app's settings and per-process resources, for views (a thin typed wrapper over ``current_app``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Final, ParamSpec, TypeVar

from flask import current_app

from api.config import Settings
from api.resources import Resources
from vpostcode.store import Store

P = ParamSpec("P")
R = TypeVar("R")
RESOURCES_EXTENSION: Final = "vpostcode"
SETTINGS_KEY: Final = "VPOSTCODE"


def resources() -> Resources:
    """The app's :class:`Resources` (data, store, cache)."""
    found: Resources = current_app.extensions[RESOURCES_EXTENSION]
    return found


def settings() -> Settings:
    """The app's effective :class:`Settings`."""
    found: Settings = current_app.config[SETTINGS_KEY]
    return found


def store() -> Store:
    """The store of this worker process (opened on first use)."""
    return resources().store()


def uses_spatial_index(view: Callable[P, R]) -> Callable[P, R]:
    """Run a view that reaches the reverse geocoder's spatial index under the process's index lock.

    The index is GEOS prepared geometries, which GEOS does not promise to be thread-safe (``vpostcode.spatial``:
    "guard calls with a lock or use processes"), and shapely releases the GIL inside them, so two threads of a
    gthread worker could be in there at once. The lock costs nothing uncontended, and little under load: the GIL
    serialises this CPU-bound work anyway. Batched single-point reverse geocodes take the same lock.
    """

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with resources().index_lock:
            return view(*args, **kwargs)

    return wrapper
