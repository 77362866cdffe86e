"""Coordinate reference systems accepted by vpostcode, conversion to WGS84, and coordinate validation.

Everything inside vpostcode is WGS84 latitude/longitude (EPSG:4326). Callers may also send coordinates in
VN-2000, the national datum, either geographic or in one of its projected grids. Accepted EPSG codes:

=================  ==========================================================================================
EPSG               CRS
=================  ==========================================================================================
4326               WGS 84 (latitude/longitude; the default)
32648, 32649      WGS 84 / UTM zone 48N, 49N
4756               VN-2000 (geographic latitude/longitude)
3405, 3406         VN-2000 / UTM zone 48N, 49N (6-degree zones, k0 = 0.9996)
5896, 5897, 5898   VN-2000 / TM-3 zone 481, 482, 491 (3-degree zones on 102E, 105E, 108E, k0 = 0.9999)
5899               VN-2000 / TM-3 107-45 (Quang Ninh, Da Nang, Quang Nam, Ba Ria-Vung Tau, Dong Nai, Lam Dong)
9205 ... 9218      VN-2000 / TM-3 103-00, 104-00, 104-30, 104-45, 105-30, 105-45, 106-00, 106-15, 106-30,
                   107-00, 107-15, 107-30, 108-15, 108-30: the provincial 3-degree grids (k0 = 0.9999)
=================  ==========================================================================================

(EPSG has no 9219/9220 and no separate code for the Ha Noi 105-00 grid: that one is TM-3 zone 482, EPSG:5897.)

Datum transformation. PROJ knows two VN-2000 -> WGS 84 operations, both with a nominal accuracy of 1 m:
EPSG:6960 "VN-2000 to WGS 84 (2)", the 7-parameter Helmert (coordinate frame) published by the Ministry of
Natural Resources and Environment for all of onshore Vietnam (dX=-191.90441429 m, dY=-39.30318279 m,
dZ=-111.45032835 m, rX=-0.00928836", rY=0.01975479", rZ=-0.00427372", dS=+0.252906278 ppm), and
EPSG:5194 "VN-2000 to WGS 84 (1)", an oil-industry fit for two Mekong-delta offshore blocks. Left to itself
PROJ would choose between them point by point (``Transformer.description`` says "unavailable until proj_trans
is called"), which puts a 0.7-0.8 m step into the Mekong delta. We pin EPSG:6960 everywhere, so the
transformation is continuous and the same one the national survey uses. Its pipeline description, as pyproj
reports it, is e.g. "Inverse of Vietnam TM-3 105-45 + VN-2000 to WGS 84 (2) + axis order change (2D)" with
``Transformer.accuracy == 1.0`` (metres). The datum shift itself is about 225 m, so forgetting the datum is a
real error; projection inverses (UTM, TM-3) are exact to well under a millimetre. WGS 84 UTM zones carry no
datum change (accuracy 0.0).

All transformers are built with ``always_xy=True``: ``xs`` are longitudes or eastings, ``ys`` latitudes or
northings. They are cached per CRS (``functools.lru_cache``) because building one costs milliseconds and
transforming a point costs a few hundred nanoseconds.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

from vpostcode.errors import InvalidInputError, UnknownCRSError

__all__ = [
    "VN2000_TO_WGS84_OPERATION",
    "WGS84",
    "accepted_crs",
    "normalize_crs",
    "to_wgs84",
    "transformer_info",
    "validate_lat_lon",
]

WGS84 = "EPSG:4326"
VN2000_TO_WGS84_OPERATION = "VN-2000 to WGS 84 (2)"
"""The EPSG operation name (EPSG:6960) pinned for every VN-2000 input."""

_WGS84_CODES: tuple[int, ...] = (4326, 32648, 32649)
_VN2000_CODES: tuple[int, ...] = (4756, 3405, 3406, 5896, 5897, 5898, 5899, *range(9205, 9219))
_ACCEPTED_CODES: tuple[int, ...] = _WGS84_CODES + _VN2000_CODES

FloatArray = npt.NDArray[np.float64]


@functools.cache
def accepted_crs() -> dict[str, str]:
    """Every accepted CRS as ``{"EPSG:<code>": "<name from the EPSG registry>"}``, in a stable order."""
    return {f"EPSG:{code}": CRS.from_epsg(code).name for code in _ACCEPTED_CODES}


_CRS_PATTERN = re.compile(r"^\s*(?:epsg\s*:\s*)?(\d{4,5})\s*$", re.IGNORECASE)
_CRS_URN = re.compile(r"^urn:ogc:def:crs:epsg:[\d.]*:(\d{4,5})$", re.IGNORECASE)


def normalize_crs(crs: str | int | None) -> str:
    """``"EPSG:<code>"`` for an accepted CRS given as ``4326``, ``"4326"``, ``"epsg:4326"``, an OGC URN or None.

    None means WGS84. Anything else, including valid EPSG codes that vpostcode does not serve, raises
    :class:`UnknownCRSError`, whose message lists what is accepted.
    """
    if crs is None:
        return WGS84
    code: int | None = None
    if isinstance(crs, (int, np.integer)) and not isinstance(crs, bool):
        code = int(crs)
    elif isinstance(crs, str):
        match = _CRS_PATTERN.match(crs) or _CRS_URN.match(crs.strip())
        if match:
            code = int(match.group(1))
        elif crs.strip().upper() in {"WGS84", "WGS 84"}:
            code = 4326
        elif crs.strip().upper() in {"VN2000", "VN-2000"}:
            code = 4756
    if code is None or code not in _ACCEPTED_CODES:
        accepted = ", ".join(accepted_crs())
        raise UnknownCRSError(
            f"unknown or unsupported CRS {crs!r}: use one of {accepted}", crs=str(crs), accepted=list(accepted_crs())
        )
    return f"EPSG:{code}"


@functools.lru_cache(maxsize=64)
def _transformer(crs: str) -> Transformer:
    """The cached transformer from an accepted CRS (``"EPSG:<code>"``) to WGS84 lon/lat, VN-2000 pinned to 6960."""
    source = CRS.from_user_input(crs)
    if int(crs.split(":")[1]) in _WGS84_CODES:
        return Transformer.from_crs(source, CRS.from_epsg(4326), always_xy=True)
    group = TransformerGroup(source, CRS.from_epsg(4326), always_xy=True)
    for candidate in group.transformers:
        if VN2000_TO_WGS84_OPERATION in candidate.description:
            return candidate
    raise UnknownCRSError(f"no {VN2000_TO_WGS84_OPERATION} transformation available for {crs}", crs=crs)


def transformer_info(crs: str | int | None) -> dict[str, str | float]:
    """The transformation applied for ``crs``: pyproj's description and its accuracy in metres (-1: unknown)."""
    transformer = _transformer(normalize_crs(crs))
    return {"crs": normalize_crs(crs), "description": transformer.description, "accuracy_m": transformer.accuracy}


def to_wgs84(xs: npt.ArrayLike, ys: npt.ArrayLike, crs: str | int | None = WGS84) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates in an accepted CRS to WGS84 ``(lats, lons)`` float64 arrays, vectorised.

    ``xs`` are longitudes (geographic CRS) or eastings, ``ys`` latitudes or northings, in metres for projected
    CRSs. Note the order: x/y in, lat/lon out (the order every other vpostcode function takes). Non-finite inputs
    stay non-finite (NaN or inf) so that :func:`validate_lat_lon` reports them per row. Raises
    :class:`UnknownCRSError` for a CRS that is not accepted.
    """
    code = normalize_crs(crs)
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.shape != y.shape:
        raise InvalidInputError(f"xs and ys differ in shape: {x.shape} != {y.shape}")
    if code == WGS84:
        return y.copy(), x.copy()
    lon, lat = _transformer(code).transform(x, y, errcheck=False)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    # PROJ signals a failed point with inf; keep the caller's NaNs as NaN (not inf) so messages stay truthful.
    bad = ~(np.isfinite(x) & np.isfinite(y))
    lat[bad] = np.where(np.isnan(y[bad]) | np.isnan(x[bad]), np.nan, lat[bad])
    lon[bad] = np.where(np.isnan(y[bad]) | np.isnan(x[bad]), np.nan, lon[bad])
    return lat, lon


def _looks_swapped(lat: float, lon: float) -> bool:
    """True for a pair that only makes sense for Vietnam read the other way round (lat 102-118, lon 7-24)."""
    return 102.0 <= lat <= 118.0 and 7.0 <= lon <= 24.0


def _describe_invalid(lat: float, lon: float) -> str:
    """The one-line message for one invalid (lat, lon) pair; see :func:`validate_lat_lon`."""
    problems: list[str] = []
    for label, value, limit in (("latitude", lat, 90.0), ("longitude", lon, 180.0)):
        if np.isnan(value):
            problems.append(f"{label} is NaN")
        elif not np.isfinite(value):
            problems.append(f"{label} is {value} (not finite)")
        elif abs(value) > limit:
            problems.append(f"{label} {value:g} is outside [-{limit:g}, {limit:g}]")
    message = "; ".join(problems)
    if _looks_swapped(lat, lon):
        message += f": latitude and longitude look swapped, did you mean lat={lon:g}, lon={lat:g}?"
    return message


def validate_lat_lon(lats: npt.ArrayLike, lons: npt.ArrayLike) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.object_]]:
    """Check WGS84 latitudes/longitudes row by row: ``(ok_mask, messages)``.

    A row is valid when both values are finite, ``|lat| <= 90`` and ``|lon| <= 180``. ``messages`` is an object
    array holding None for valid rows and a one-line message otherwise, e.g. ``"latitude is NaN"`` or
    ``"latitude 105.8 is outside [-90, 90]: latitude and longitude look swapped, did you mean lat=21, lon=105.8?"``
    (the hint is given when the pair only makes sense swapped: latitude in 102-118 and longitude in 7-24).
    A valid coordinate far from Vietnam is *valid* here: being outside the served area is not a format error.
    """
    lat = np.asarray(lats, dtype=np.float64)
    lon = np.asarray(lons, dtype=np.float64)
    if lat.shape != lon.shape:
        raise InvalidInputError(f"lats and lons differ in shape: {lat.shape} != {lon.shape}")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0)
    messages = np.full(lat.shape, None, dtype=object)
    for i in zip(*np.nonzero(~ok), strict=True):
        messages[i] = _describe_invalid(float(lat[i]), float(lon[i]))
    return ok, messages
