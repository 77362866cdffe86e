"""vpostcode: Vietnam's open digital address codes, gazetteer and geocoder.

The package is importable without its built data; data is loaded on first use (``vpostcode data build`` makes it).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
