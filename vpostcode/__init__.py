"""vpostcode: Vietnam's open digital address codes, gazetteer and geocoder.

The package is importable without its built data; data is loaded on first use (``vpostcode data build`` makes it).
``vpostcode.reverse`` and ``vpostcode.reverse_many`` are the reverse geocoder's entry points, imported lazily so
that ``import vpostcode`` stays cheap. Some modules may run compiled to C (``vpostcode._native``).
"""

from __future__ import annotations

from typing import Any

from vpostcode import _native

_native.install()  # a compiled module that does not match its source must not run in its place

__version__ = "0.1.0"

_LAZY = {"reverse": "reverse_geocode", "reverse_many": "reverse_geocode", "communes_near": "reverse_geocode"}

__all__ = ["__version__", "communes_near", "reverse", "reverse_many"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"vpostcode.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vpostcode' has no attribute {name!r}")
