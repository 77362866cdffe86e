"""Postal-point coverage of the 2025 communes: gaps, distances, population within reach, and where to add points.

The national target is a staffed postal point in every commune. Given the postal points (a :class:`PostalPoints`
of plain arrays, so this module does not depend on the store), a :class:`CoverageModel` answers: which communes
have no staffed point, how far each commune's people live from the nearest one, what share of the population lives
within X km of one (nationally and by province), and where the next K points should go to reach the most people.
Everything is vectorised; the population grid and the geometry it needs are prepared once per gazetteer
(:func:`get_model`), so each question costs milliseconds to a few seconds.

Methods
-------
**Distances.** Points are placed at their WGS84 Earth-centred (ECEF) position on the ellipsoid (height 0) and put
in a ``scipy.spatial.cKDTree``. The tree's Euclidean distance is then the exact straight-line *chord* between the
two positions on the ellipsoid, and the surface distance is ``2 R asin(c / 2R)`` with the mean Earth radius
``R = 6,371,008.8 m``. The chord is exact; only the chord-to-arc correction (``c^3 / 24 R^2``, 1 m at 100 km)
uses a sphere, so against ``pyproj.Geod`` (geodesics on the ellipsoid) the error is below 1.1 cm up to 100 km,
2.5 m at 600 km (4 ppm) and 90 m at 2,000 km (measured on 20,000 random pairs in Vietnam's box;
``tests/test_coverage.py`` checks 3 cm up to 100 km). Radii are converted the
other way (``arc_to_chord_m``) before querying the tree, so "within 5 km" means 5 km along the surface.
A haversine on a sphere would be off by up to 0.5 % (25 m at 5 km) in Vietnam's latitudes.

**Points per commune** are counted by each point's ``commune_code`` (assigned at import by reverse geocoding,
which resolves the 242 overlap slivers once and for all), not by a second point-in-polygon test here; codes the
sources disagree on (``06970``/``06978``) are accepted in either form. Points whose code names no 2025 commune are
counted in ``points_without_commune`` and still serve by distance.

**Served.** A commune is *served* when a staffed point lies in it (by code, ``served_by = "inside"``) or the
nearest staffed point anywhere is within ``radius_km`` (default 5 km) of the commune's representative point
(``served_by = "nearby"``). ``with_staffed_point`` counts only the first kind: it is the national target.

**Population grid.** Populations are published per commune, so each commune's population is spread uniformly
over its land on a regular grid: cells of ``2**-L`` degree whose centre is inside the commune's full-resolution
polygon (``shapely.contains_xy`` on every part's bounding-box grid, all parts in one vectorised call). ``L`` is
chosen per commune, 7 to 10 (about 870 m down to 110 m), as the coarsest level that gives the commune at least
100 cells, so dense urban wards get fine cells and large rural communes coarse ones (770 k cells in all, built in
about 2 s). Each cell carries ``population / cells`` of its commune, so every commune's (and province's) total is
exact; a commune with no cell centre inside (none at present) gets one cell at its representative point. Cells
of the two communes of an overlap sliver both count (each carries its own commune's share).

*Error bound.* Under the uniform-within-commune model, every person in a cell is within ``h`` (the cell's
half-diagonal: 616 m at level 7, 77 m at level 10; the bounding-box diagonal for a single-cell commune) of the cell
centre, and the distance to the nearest staffed point is 1-Lipschitz, so the true population within X km lies
between the population of the cells with ``d + h <= X`` and of those with ``d - h <= X``. Every result reports
that bracket (``population_within_km_bounds``): with the office stand-in of ``scripts/bench/coverage.py`` it is
5.6 % [3.8, 8.0] at 1 km and 79.4 % [77.8, 80.9] at 10 km. That is the worst case; the actual discretisation error
is far smaller, because people move both ways across the circle: against a grid 4 times finer in each direction
(levels 9 to 12, 12.3 M cells) the national percentages differ by at most 0.02 points and the provincial ones by at
most 0.25 points (1, 2, 5, 10 km; the stand-in offices and 1,700 random points). The larger, unquantifiable error
is the model itself: people cluster in villages and along roads, not uniformly over a commune, and the published
populations are indicative (their national sum is 109.3 M).

**Offshore special zones.** Hoàng Sa and Trường Sa (``SPECIAL_ZONES_OFFSHORE``) are reported separately
(``offshore``) and left out of every count, percentage and site suggestion.

**Site suggestions** (:meth:`CoverageModel.suggest`) solve a maximal covering location problem (Church & ReVelle
1974, as in ``spopt.locate.MCLP``): choose exactly K candidate sites to maximise the population newly within
``radius_km``; existing staffed points count as already covering, so demand already covered is a constant and is
dropped (exact). Demand: the uncovered grid cells aggregated to coarser cells of ``2**-L`` degree with side about a
third of the radius (1/64 degree, 1.7 km, for 5 km), each at its population-weighted centroid. Candidates: those
centroids, snapped to the nearest fine cell (so each is on land, in a known commune), plus the representative points
of the unserved communes; kept are the ``max(1000, 40 K)`` candidates (at most 5,000) that reach the most uncovered
people alone (on the national 5 km instance with the office stand-in, keeping 1,000, 2,000, 3,000 or 20,000
candidates gives the same optimum; 300 loses 23 %). The model, ``max sum_i(w_i x_i)`` s.t.
``x_i<=sum_{j:d(i,j)<=r}(y_j)``, ``sum_j(y_j) = K``, ``y`` binary, ``x`` in [0, 1], is built sparsely in PuLP and
solved by HiGHS (``highspy``; CBC, shipped with PuLP, as the fallback). ``spopt.locate.MCLP`` builds the same model
from a dense cost matrix in Python, about 20 µs per demand-candidate pair: 200 s for the 5,400 x 2,000 national
instance, so it is used only as the reference in the tests. The greedy solution is computed too and kept if the
solver stops at its time limit with a worse one. The reported figures (covered before/after, newly covered per site,
each cell counted once, for its nearest new site) are re-evaluated on the fine grid, not on the aggregated demand.

Performance
-----------
On the 2-core machine, with 1,463 staffed points (``scripts/bench/coverage.py``): model build 2-3 s (kept: 60 MB);
national ``summary`` 0.3-0.5 s, dominated by the 770 k grid-cell nearest-point queries, against 83 s for the same
answer from PostGIS (``ST_Contains``/``ST_DWithin`` on geography, GiST-indexed), with identical results;
``suggest(k=50)`` 3-4 s (2,000 candidates x 5,300 demand points, HiGHS proves optimality in about 2 s).
Everything reads the model without changing it, so one model serves concurrent requests.

HiGHS prints a banner on the C-level stdout when the first solver of a process is created; that first instance
is created with fd 1 briefly pointed at /dev/null so that ``--json`` output stays clean.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy import sparse
from scipy.spatial import cKDTree

from vpostcode.crs import validate_lat_lon
from vpostcode.errors import (
    InvalidCoordinateError,
    InvalidInputError,
    MissingDependencyError,
    OptimizationError,
    VpostcodeError,
)
from vpostcode.gazetteer import SPECIAL_ZONES_OFFSHORE, Gazetteer, get_gazetteer

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DEFAULT_RADIUS_KM",
    "DEFAULT_WITHIN_KM",
    "CoverageModel",
    "PopulationGrid",
    "PostalPoints",
    "arc_to_chord_m",
    "build_population_grid",
    "chord_to_arc_m",
    "commune_coverage",
    "communes_geojson",
    "distance_m",
    "ecef",
    "gaps",
    "get_model",
    "points_geojson",
    "population_within",
    "render_map",
    "suggest",
    "summary",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_RADIUS_KM = 5.0
"""A commune is served by a staffed point within this distance of its representative point."""
DEFAULT_WITHIN_KM: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0)
"""The distances for which ``population_within_km`` is reported by default."""

GRID_MIN_CELLS = 100
GRID_LEVELS = (7, 10)  # cell side 2**-7 .. 2**-10 degree

MEAN_EARTH_RADIUS_M = 6_371_008.8
_A = 6_378_137.0  # WGS84
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)

_MIN_CANDIDATES = 1000
_CANDIDATES_PER_SITE = 40
_MAX_CANDIDATES = 5000


# -------------------------------------------------------------------------------------------------------- distances


def ecef(lons: npt.ArrayLike, lats: npt.ArrayLike) -> FloatArray:
    """WGS84 Earth-centred, Earth-fixed coordinates (metres, height 0) as an ``(n, 3)`` array."""
    lon = np.radians(np.asarray(lons, dtype=np.float64))
    lat = np.radians(np.asarray(lats, dtype=np.float64))
    sin_lat = np.sin(lat)
    n = _A / np.sqrt(1.0 - _E2 * sin_lat * sin_lat)
    return np.column_stack([n * np.cos(lat) * np.cos(lon), n * np.cos(lat) * np.sin(lon), n * (1 - _E2) * sin_lat])


def chord_to_arc_m(chord: npt.ArrayLike) -> FloatArray:
    """Surface distance (m) for a straight-line chord between two points on the ellipsoid (inf stays inf)."""
    c = np.asarray(chord, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        arc = 2.0 * MEAN_EARTH_RADIUS_M * np.arcsin(np.minimum(c / (2.0 * MEAN_EARTH_RADIUS_M), 1.0))
    return np.where(np.isinf(c), np.inf, arc)


def arc_to_chord_m(arc_m: float) -> float:
    """The chord of a surface distance (m): the radius to give the ECEF KD-trees."""
    return 2.0 * MEAN_EARTH_RADIUS_M * math.sin(min(arc_m / (2.0 * MEAN_EARTH_RADIUS_M), math.pi / 2))


def distance_m(lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike) -> FloatArray:
    """Pairwise surface distance (m) by the same method as the KD-trees (ECEF chord, then arc)."""
    return chord_to_arc_m(np.linalg.norm(ecef(lon1, lat1) - ecef(lon2, lat2), axis=1))


def _half_diagonal_m(lats: FloatArray, step_deg: FloatArray) -> FloatArray:
    """Half the diagonal (m) of a ``step_deg`` cell centred at latitude ``lats``, from the ellipsoid's radii."""
    phi = np.radians(lats)
    w = 1.0 - _E2 * np.sin(phi) ** 2
    meridional = _A * (1 - _E2) / w**1.5
    normal = _A / np.sqrt(w)
    step = np.radians(step_deg)
    return 0.5 * np.hypot(step * meridional, step * normal * np.cos(phi))


# -------------------------------------------------------------------------------------------------------- inputs


def _as_code_array(codes: npt.ArrayLike, n: int) -> npt.NDArray[np.str_]:
    """Commune codes as zero-padded strings; None/NaN/empty become ``""`` (no commune)."""
    raw = np.asarray(codes, dtype=object).reshape(-1)
    if len(raw) != n:
        raise InvalidInputError(f"commune_codes has {len(raw)} values for {n} points", parameter="commune_codes")
    text = np.array(["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip() for v in raw],
                    dtype=str)
    if n == 0:
        return text
    digits = np.char.isdigit(text) & (np.char.str_len(text) < 5)
    return np.where(digits, np.char.zfill(text, 5), text)


@dataclass(frozen=True)
class PostalPoints:
    """Postal points as parallel arrays: where they are, whether staffed, and the commune each was assigned to.

    ``commune_codes`` are the 5-digit 2025 codes given to the points at import (``""`` when unknown); ``ids`` and
    ``kinds`` (e.g. ``"post_office"``) are optional and only passed through to outputs. Validated on creation:
    every coordinate must be a finite WGS84 latitude/longitude.
    """

    lons: FloatArray
    lats: FloatArray
    staffed: BoolArray
    commune_codes: npt.NDArray[np.str_]
    ids: npt.NDArray[Any] | None = None
    kinds: npt.NDArray[Any] | None = None

    def __post_init__(self) -> None:
        lons = np.asarray(self.lons, dtype=np.float64).reshape(-1)
        lats = np.asarray(self.lats, dtype=np.float64).reshape(-1)
        n = len(lons)
        if len(lats) != n:
            raise InvalidInputError(f"lats has {len(lats)} values for {n} longitudes", parameter="lats")
        staffed = np.asarray(self.staffed).reshape(-1)
        if len(staffed) != n:
            raise InvalidInputError(f"staffed has {len(staffed)} values for {n} points", parameter="staffed")
        ok, messages = validate_lat_lon(lats, lons)
        if not ok.all():
            bad = np.flatnonzero(~ok)
            raise InvalidCoordinateError(
                f"{len(bad)} postal point(s) have invalid coordinates, first at index {bad[0]}: {messages[bad[0]]}",
                parameter="points", index=int(bad[0]))
        object.__setattr__(self, "lons", lons)
        object.__setattr__(self, "lats", lats)
        object.__setattr__(self, "staffed", staffed.astype(bool))
        object.__setattr__(self, "commune_codes", _as_code_array(self.commune_codes, n))
        for name in ("ids", "kinds"):
            value = getattr(self, name)
            if value is not None:
                array = np.asarray(value).reshape(-1)
                if len(array) != n:
                    raise InvalidInputError(f"{name} has {len(array)} values for {n} points", parameter=name)
                object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return len(self.lons)

    @classmethod
    def from_arrays(cls, ids: npt.ArrayLike | None, lons: npt.ArrayLike, lats: npt.ArrayLike,
                    staffed: npt.ArrayLike, commune_codes: npt.ArrayLike | Sequence[Any],
                    kinds: npt.ArrayLike | None = None) -> PostalPoints:
        """From the store's ``points_array()`` order: ``(ids, lons, lats, staffed, commune_codes)``."""
        return cls(lons=np.asarray(lons, dtype=np.float64), lats=np.asarray(lats, dtype=np.float64),
                   staffed=np.asarray(staffed, dtype=bool), commune_codes=np.asarray(commune_codes, dtype=object),
                   ids=None if ids is None else np.asarray(ids), kinds=None if kinds is None else np.asarray(kinds))

    @classmethod
    def from_store(cls, arrays: Sequence[npt.ArrayLike] | Mapping[str, npt.ArrayLike] | Any) -> PostalPoints:
        """From whatever ``open_store(url).points_array()`` returns: a 5-tuple, a mapping or an object of arrays."""
        get: Any
        if isinstance(arrays, Mapping):
            get = arrays.get
        elif isinstance(arrays, Sequence) and not isinstance(arrays, str):
            if len(arrays) not in (5, 6):
                raise InvalidInputError("points_array() must give (ids, lons, lats, staffed, commune_codes[, kinds])")
            return cls.from_arrays(*arrays)
        else:
            def get(name: str) -> Any:
                return getattr(arrays, name, None)
        return cls.from_arrays(get("ids"), get("lons"), get("lats"), get("staffed"), get("commune_codes"),
                               get("kinds"))

    @classmethod
    def empty(cls) -> PostalPoints:
        """No points at all (every commune unserved)."""
        return cls(np.empty(0), np.empty(0), np.empty(0, dtype=bool), np.empty(0, dtype=str))

    def subset(self, mask: npt.ArrayLike) -> PostalPoints:
        """The points selected by a boolean mask or an index array."""
        sel = np.asarray(mask)
        return PostalPoints(self.lons[sel], self.lats[sel], self.staffed[sel], self.commune_codes[sel],
                            None if self.ids is None else self.ids[sel],
                            None if self.kinds is None else self.kinds[sel])

    def id_at(self, index: int) -> Any:
        """The id of the point at ``index`` (its position when the points have no ids), JSON-ready."""
        if self.ids is None:
            return int(index)
        value = self.ids[index]
        return value.item() if isinstance(value, np.generic) else value


# -------------------------------------------------------------------------------------------------------- grid


@dataclass(frozen=True)
class PopulationGrid:
    """Commune populations spread over grid cells (one row per cell; see the module docstring for the method).

    ``lon``/``lat``: cell centre; ``xyz``: its ECEF position; ``weight``: people; ``commune``: row of the commune in
    ``gazetteer.communes``; ``level``: cells are ``2**-level`` degree (0 for a single cell at a representative
    point); ``half_diagonal_m``: how far a person of the cell can be from its centre.
    """

    lon: FloatArray
    lat: FloatArray
    xyz: FloatArray
    weight: FloatArray
    commune: npt.NDArray[np.int32]
    level: npt.NDArray[np.int8]
    half_diagonal_m: FloatArray

    def __len__(self) -> int:
        return len(self.lon)


def _commune_levels(geoms: npt.NDArray[np.object_], min_cells: int, levels: tuple[int, int]) -> IntArray:
    """Per commune, the coarsest level in ``levels`` that gives it at least ``min_cells`` cells."""
    area_deg2 = np.maximum(shapely.area(geoms), 1e-12)
    wanted = np.ceil(np.log(min_cells / area_deg2) / np.log(4.0))
    return np.clip(wanted, levels[0], levels[1]).astype(np.int64)


def _cell_centres_inside(geoms: npt.NDArray[np.object_], level: IntArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """Centres of the ``2**-level`` cells that fall inside each geometry: (lon, lat, row of the geometry).

    All parts' bounding-box grids are generated at once and tested in one ``contains_xy`` call on the prepared
    parts (parts, not whole communes, so an island commune's sea is never gridded).
    """
    parts, owner = shapely.get_parts(geoms, return_index=True)
    shapely.prepare(parts)
    step = 2.0 ** -level[owner].astype(np.float64)
    xmin, ymin, xmax, ymax = shapely.bounds(parts).T
    ix0 = np.floor(xmin / step).astype(np.int64)
    iy0 = np.floor(ymin / step).astype(np.int64)
    nx = np.floor(xmax / step).astype(np.int64) - ix0 + 1
    ny = np.floor(ymax / step).astype(np.int64) - iy0 + 1
    count = nx * ny
    part = np.repeat(np.arange(len(parts)), count)
    local = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    x = (ix0[part] + local % nx[part] + 0.5) * step[part]
    y = (iy0[part] + local // nx[part] + 0.5) * step[part]
    inside = shapely.contains_xy(parts[part], x, y)
    return x[inside], y[inside], owner[part[inside]].astype(np.int64)


def build_population_grid(communes: pd.DataFrame, *, min_cells: int = GRID_MIN_CELLS,
                          levels: tuple[int, int] = GRID_LEVELS) -> PopulationGrid:
    """Spread every commune's population uniformly over the grid cells whose centre is inside it."""
    geoms = np.asarray(communes.geometry.values, dtype=object)
    n = len(geoms)
    level = _commune_levels(geoms, min_cells, levels)
    lon, lat, row = _cell_centres_inside(geoms, level)
    cells = np.bincount(row, minlength=n)
    lonely = np.flatnonzero(cells == 0)  # no cell centre inside: one cell at the representative point
    rep_lon = communes["rep_lon"].to_numpy(dtype=np.float64)
    rep_lat = communes["rep_lat"].to_numpy(dtype=np.float64)
    lon = np.concatenate([lon, rep_lon[lonely]])
    lat = np.concatenate([lat, rep_lat[lonely]])
    row = np.concatenate([row, lonely])
    cells[lonely] = 1
    cell_level = np.concatenate([level[row[: len(row) - len(lonely)]], np.zeros(len(lonely), dtype=np.int64)])
    population = communes["population"].to_numpy(dtype=np.float64)
    weight = population[row] / cells[row]
    half = _half_diagonal_m(lat, 2.0 ** -np.maximum(cell_level, 1).astype(np.float64))
    if len(lonely):
        west, south, east, north = (communes[c].to_numpy(dtype=np.float64)[lonely]
                                    for c in ("west", "south", "east", "north"))
        half[len(half) - len(lonely):] = distance_m(west, south, east, north)  # the whole bbox diagonal: a bound
    order = np.lexsort((lat, lon, row))  # commune order: cache-friendly and deterministic
    return PopulationGrid(lon=lon[order], lat=lat[order], xyz=ecef(lon[order], lat[order]), weight=weight[order],
                          commune=row[order].astype(np.int32), level=cell_level[order].astype(np.int8),
                          half_diagonal_m=half[order])


# -------------------------------------------------------------------------------------------------------- model


def _release_freed_memory() -> None:
    """Hand the heap freed by the grid build back to the OS (glibc ``malloc_trim``; a no-op elsewhere).

    The build's temporaries (1.7 M candidate cell centres, the prepared copies of 5,400 polygon parts) leave
    about 450 MB of freed but unreturned heap: the process holds 510 MB more after the build without the trim,
    58 MB more with it (measured).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


@dataclass(frozen=True)
class _Assessment:
    """What one set of points means for the communes and the grid (independent of the serving radius)."""

    point_rows: IntArray  # commune row of each point, -1 when its code names no commune
    points: IntArray  # per commune
    staffed: IntArray  # per commune
    nearest_m: FloatArray  # per commune: representative point -> nearest staffed point (inf: none)
    nearest_point: IntArray  # per commune: index of that point in the input (-1: none)
    grid_m: FloatArray  # per cell: distance to the nearest staffed point, inf beyond the query bound
    bound_m: float


def _weighted_count(index: npt.ArrayLike, weights: npt.ArrayLike, n: int) -> FloatArray:
    """``np.bincount`` with weights, typed: the sum of ``weights`` per ``index`` in ``0..n-1``."""
    return np.bincount(np.asarray(index), weights=np.asarray(weights, dtype=np.float64),
                       minlength=n).astype(np.float64, copy=False)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as plain dicts (column name → value)."""
    return [dict(zip(frame.columns, values, strict=True)) for values in frame.itertuples(index=False, name=None)]


def _km_key(km: float) -> str:
    """``1.0`` → ``"1"``, ``2.5`` → ``"2.5"``: the keys of ``population_within_km``."""
    return f"{km:g}"


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 3) if whole > 0 else 0.0


def _metres(value: float) -> float | None:
    """A distance for JSON: metres to 0.1 m, None for 'no staffed point at all'."""
    return None if not math.isfinite(value) else round(float(value), 1)


def _check_radius(radius_km: float, name: str = "radius_km") -> float:
    value = float(radius_km)
    if not math.isfinite(value) or value <= 0 or value > 1000:
        raise InvalidInputError(f"{name} must be a distance in km in (0, 1000], got {radius_km!r}", parameter=name)
    return value


def _check_within(within_km: Sequence[float]) -> tuple[float, ...]:
    values = tuple(sorted({_check_radius(km, "within_km") for km in within_km}))
    if not values:
        raise InvalidInputError("within_km must name at least one distance", parameter="within_km")
    return values


class CoverageModel:
    """The population grid and commune tables of one gazetteer, ready to assess any set of postal points.

    Build it once (``get_model()`` caches one per gazetteer; 2-3 s, 60 MB kept), then call its methods with
    different points. Results are aligned with ``gazetteer.communes`` (row order) and exclude the offshore special
    zones from every count and percentage (they are reported under ``offshore``).
    """

    def __init__(self, gazetteer: Gazetteer, *, min_cells: int = GRID_MIN_CELLS,
                 levels: tuple[int, int] = GRID_LEVELS) -> None:
        self.gazetteer = gazetteer
        communes = gazetteer.communes
        columns = ["code", "name", "full_name", "type", "province_code", "province_name", "population", "area_km2",
                   "rep_lat", "rep_lon"]
        self.table: pd.DataFrame = pd.DataFrame(communes[columns]).reset_index(drop=True)
        self.codes: npt.NDArray[np.str_] = self.table["code"].to_numpy(dtype=str)
        self.offshore: BoolArray = np.isin(self.codes, SPECIAL_ZONES_OFFSHORE)
        self.population: FloatArray = self.table["population"].to_numpy(dtype=np.float64)
        self.rep_xyz: FloatArray = ecef(self.table["rep_lon"], self.table["rep_lat"])
        self.grid: PopulationGrid = build_population_grid(communes, min_cells=min_cells, levels=levels)
        _release_freed_memory()
        self.province_codes, self.commune_province = np.unique(self.table["province_code"].to_numpy(dtype=str),
                                                               return_inverse=True)
        names = self.table.drop_duplicates("province_code").set_index("province_code")["province_name"]
        self.province_names: list[str] = [str(names[code]) for code in self.province_codes]
        self.cell_counted: BoolArray = ~self.offshore[self.grid.commune]
        self._cell_province: IntArray = self.commune_province[self.grid.commune].astype(np.int64)
        self._counted_weight: FloatArray = np.where(self.cell_counted, self.grid.weight, 0.0)
        self._code_index = pd.Index(self.codes)
        self._simplified: dict[float, npt.NDArray[np.object_]] = {}

    # ------------------------------------------------------------------------------------------------ core

    def commune_rows(self, codes: npt.ArrayLike) -> IntArray:
        """Row in ``gazetteer.communes`` of each code (aliases accepted), -1 for codes that name no commune."""
        text = _as_code_array(codes, len(np.asarray(codes, dtype=object).reshape(-1)))
        rows = self._code_index.get_indexer(pd.Index(text)).astype(np.int64)
        for code in np.unique(text[rows < 0]):
            with contextlib.suppress(VpostcodeError):
                rows[text == code] = self.gazetteer.commune_row(code)
        return rows

    def _province_filter(self, province: str | None) -> tuple[BoolArray, dict[str, str] | None]:
        """Commune mask and ``{"code", "name"}`` of a province given by code or name (all communes for None)."""
        if province is None:
            return np.ones(len(self.codes), dtype=bool), None
        record = self.gazetteer.province(province)
        mask = self.table["province_code"].to_numpy(dtype=str) == record.code
        return mask, {"code": record.code, "name": record.full_name}

    def assess(self, points: PostalPoints, bound_m: float) -> _Assessment:
        """Counts per commune, nearest staffed point of each commune, and of every grid cell up to ``bound_m``."""
        n = len(self.codes)
        rows = self.commune_rows(points.commune_codes)
        known = rows >= 0
        counts = np.bincount(rows[known], minlength=n).astype(np.int64)
        staffed_counts = np.bincount(rows[known & points.staffed], minlength=n).astype(np.int64)
        staffed_index = np.flatnonzero(points.staffed)
        if len(staffed_index) == 0:
            return _Assessment(rows, counts, staffed_counts, np.full(n, np.inf), np.full(n, -1, dtype=np.int64),
                               np.full(len(self.grid), np.inf), bound_m)
        tree = cKDTree(ecef(points.lons[staffed_index], points.lats[staffed_index]))
        chord, nearest = tree.query(self.rep_xyz, workers=-1)
        grid_chord, _ = tree.query(self.grid.xyz, distance_upper_bound=arc_to_chord_m(bound_m) * (1 + 1e-9),
                                   workers=-1)
        return _Assessment(rows, counts, staffed_counts, chord_to_arc_m(chord), staffed_index[nearest],
                           chord_to_arc_m(grid_chord), bound_m)

    def _served(self, a: _Assessment, radius_km: float) -> tuple[BoolArray, BoolArray]:
        """(served, served because a staffed point is inside) per commune."""
        inside = a.staffed > 0
        return inside | (a.nearest_m <= radius_km * 1000.0), inside

    # ------------------------------------------------------------------------------------------------ per commune

    def communes(self, points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM) -> pd.DataFrame:
        """One row per commune (aligned with ``gazetteer.communes``): counts, nearest staffed point, served.

        Columns: the commune's ``code``, names, province, ``population``, ``area_km2``, ``rep_lat``/``rep_lon``,
        ``offshore``; ``points``, ``staffed_points`` (by the points' commune codes); ``nearest_staffed_m`` from
        the representative point (inf when there is no staffed point) and ``nearest_staffed_id``; ``served`` and
        ``served_by`` (``"inside"``, ``"nearby"`` or ``""``); ``covered_population``: its people (grid cells)
        within ``radius_km`` of a staffed point, and ``covered_pct``.
        """
        radius_km = _check_radius(radius_km)
        a = self.assess(points, radius_km * 1000.0)
        served, inside = self._served(a, radius_km)
        covered = _weighted_count(self.grid.commune, np.where(a.grid_m <= radius_km * 1000.0, self.grid.weight, 0.0),
                                  len(self.codes))
        frame = self.table.copy()
        frame["offshore"] = self.offshore
        frame["points"] = a.points
        frame["staffed_points"] = a.staffed
        frame["nearest_staffed_m"] = a.nearest_m
        frame["nearest_staffed_id"] = [points.id_at(int(i)) if i >= 0 else None for i in a.nearest_point]
        frame["served"] = served
        frame["served_by"] = np.where(inside, "inside", np.where(served, "nearby", ""))
        frame["covered_population"] = covered
        frame["covered_pct"] = np.where(self.population > 0, 100.0 * covered / np.maximum(self.population, 1), 0.0)
        return frame

    def _offshore_records(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [
            {"code": r["code"], "name": r["full_name"], "province_code": r["province_code"],
             "province_name": r["province_name"], "population": int(r["population"]), "points": int(r["points"]),
             "staffed_points": int(r["staffed_points"]), "served": bool(r["served"]),
             "nearest_staffed_m": _metres(float(r["nearest_staffed_m"]))}
            for r in _records(frame[frame["offshore"]])
        ]

    def gaps(self, points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM) -> dict[str, Any]:
        """The unserved communes by province (largest population first), with totals; offshore zones apart.

        Each province lists ``communes``, ``unserved``, ``unserved_population``, ``without_staffed_point`` (no
        staffed point inside, even if one is near: the national target) and its ``unserved_communes``.
        """
        frame = self.communes(points, radius_km)
        counted = frame[~frame["offshore"]]
        provinces = []
        for (code, name), group in counted.groupby(["province_code", "province_name"], sort=True):
            gap = group[~group["served"]].sort_values(["population", "code"], ascending=[False, True])
            provinces.append({
                "code": code, "name": name, "communes": len(group), "unserved": len(gap),
                "unserved_pct": _pct(len(gap), len(group)),
                "unserved_population": int(gap["population"].sum()),
                "without_staffed_point": int((group["staffed_points"] == 0).sum()),
                "unserved_communes": [
                    {"code": r["code"], "name": r["full_name"], "population": int(r["population"]),
                     "area_km2": float(r["area_km2"]), "points": int(r["points"]),
                     "nearest_staffed_m": _metres(float(r["nearest_staffed_m"])),
                     "rep_lat": round(float(r["rep_lat"]), 6), "rep_lon": round(float(r["rep_lon"]), 6)}
                    for r in _records(gap)
                ],
            })
        unserved = counted[~counted["served"]]
        return {
            "radius_km": radius_km,
            "communes": len(counted),
            "unserved": len(unserved),
            "unserved_pct": _pct(len(unserved), len(counted)),
            "unserved_population": int(unserved["population"].sum()),
            "without_staffed_point": int((counted["staffed_points"] == 0).sum()),
            "provinces": provinces,
            "offshore": self._offshore_records(frame),
        }

    # ------------------------------------------------------------------------------------------------ population

    def _within_table(self, a: _Assessment, within_km: tuple[float, ...]) -> pd.DataFrame:
        """People per province within each distance, with the grid's lower and upper bounds (offshore excluded).

        One ``searchsorted`` + ``bincount`` per column kind: ``d <= X_j`` exactly when the first threshold
        ``>= d`` has index ``<= j``, so the cumulative sum over threshold indices gives every distance at once.
        """
        k = len(self.province_codes)
        n_x = len(within_km)
        thresholds = np.array(within_km) * 1000.0
        h = self.grid.half_diagonal_m

        def cumulative(distance: FloatArray) -> FloatArray:
            index = np.searchsorted(thresholds, distance, side="left")
            people = _weighted_count(self._cell_province * (n_x + 1) + index, self._counted_weight, k * (n_x + 1))
            return np.cumsum(people.reshape(k, n_x + 1), axis=1)[:, :n_x]

        data: dict[str, Any] = {"province_code": self.province_codes, "province_name": self.province_names,
                                "population": _weighted_count(self._cell_province, self._counted_weight, k)}
        for suffix, distance in (("", a.grid_m), ("_low", a.grid_m + h), ("_high", a.grid_m - h)):
            table = cumulative(distance)
            for j, km in enumerate(within_km):
                data[f"within_{_km_key(km)}km{suffix}"] = table[:, j]
        frame = pd.DataFrame(data)
        for km in within_km:
            key = _km_key(km)
            frame[f"within_{key}km_pct"] = 100.0 * frame[f"within_{key}km"] / frame["population"].where(
                frame["population"] > 0)
        return frame

    def population_within(self, points: PostalPoints,
                          within_km: Sequence[float] = DEFAULT_WITHIN_KM) -> pd.DataFrame:
        """Population within each distance of a staffed point, one row per province (offshore zones excluded).

        Columns: ``province_code``, ``province_name``, ``population``, and per distance X (``1``, ``2.5`` ...)
        ``within_Xkm`` (people), ``within_Xkm_low``/``_high`` (the grid's bracket, see the module docstring) and
        ``within_Xkm_pct``. The national figures are the column sums.
        """
        within = _check_within(within_km)
        a = self.assess(points, self._bound_m(within))
        return self._within_table(a, within)

    def _bound_m(self, within: tuple[float, ...]) -> float:
        return max(within) * 1000.0 + float(self.grid.half_diagonal_m.max())

    # ------------------------------------------------------------------------------------------------ summary

    def summary(self, points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM,
                within_km: Sequence[float] = DEFAULT_WITHIN_KM) -> dict[str, Any]:
        """The national figures as a JSON-ready dict (``vpostcode coverage summary --json``).

        ``communes``/``served``/``unserved``/``served_pct`` count communes (offshore zones excluded) served within
        ``radius_km``; ``with_staffed_point`` those with a staffed point inside; ``population_within_km`` maps
        ``"1"``, ``"2"``... to the percentage of people within that distance of a staffed point (with
        ``population_within_km_people`` and the grid's ``population_within_km_bounds`` in percent).
        """
        radius_km = _check_radius(radius_km)
        within = _check_within(within_km)
        a = self.assess(points, max(self._bound_m(within), radius_km * 1000.0))
        served, inside = self._served(a, radius_km)
        counted = ~self.offshore
        table = self._within_table(a, within)
        population = float(table["population"].sum())
        n_counted = int(counted.sum())
        n_served = int((served & counted).sum())
        finite = np.isfinite(a.nearest_m) & counted
        offshore = [
            {"code": str(self.codes[i]), "name": str(self.table["full_name"].iat[i]),
             "province_code": str(self.table["province_code"].iat[i]), "population": int(self.population[i]),
             "points": int(a.points[i]), "staffed_points": int(a.staffed[i]), "served": bool(served[i]),
             "nearest_staffed_m": _metres(float(a.nearest_m[i]))}
            for i in np.flatnonzero(self.offshore).tolist()
        ]
        return {
            "radius_km": radius_km,
            "points": len(points),
            "staffed_points": int(points.staffed.sum()),
            "points_without_commune": int((a.point_rows < 0).sum()),
            "communes": n_counted,
            "served": n_served,
            "unserved": n_counted - n_served,
            "served_pct": _pct(n_served, n_counted),
            "with_staffed_point": int((inside & counted).sum()),
            "with_staffed_point_pct": _pct(int((inside & counted).sum()), n_counted),
            "median_nearest_staffed_m": _metres(float(np.median(a.nearest_m[finite]))) if finite.any() else None,
            "population": round(population),
            "population_within_km": {_km_key(km): _pct(float(table[f"within_{_km_key(km)}km"].sum()), population)
                                     for km in within},
            "population_within_km_people": {_km_key(km): round(float(table[f"within_{_km_key(km)}km"].sum()))
                                            for km in within},
            "population_within_km_bounds": {
                _km_key(km): [_pct(float(table[f"within_{_km_key(km)}km_low"].sum()), population),
                              _pct(float(table[f"within_{_km_key(km)}km_high"].sum()), population)]
                for km in within},
            "offshore": {"communes": len(offshore), "population": int(self.population[self.offshore].sum()),
                         "zones": offshore},
        }

    # ------------------------------------------------------------------------------------------------ suggestions

    def suggest(self, points: PostalPoints, k: int = 50, radius_km: float = DEFAULT_RADIUS_KM, *,
                province: str | None = None, time_limit_s: float = 60.0, max_candidates: int | None = None,
                solver: str = "highs") -> dict[str, Any]:
        """The ``k`` new sites that bring the most people within ``radius_km`` of a staffed point (MCLP).

        ``province`` (code or name) restricts demand and candidates to one province. Returns the population and
        the covered population before and after, and the sites (``lat``, ``lon``, ``commune_code``... and
        ``newly_covered_population``: the people newly within reach for whom this site is the nearest new one),
        plus how the problem was solved (``solver``). See the module docstring for the formulation.
        """
        start = time.perf_counter()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= int(k) <= 2000:
            raise InvalidInputError(f"k must be a whole number of sites in 1..2000, got {k!r}", parameter="k")
        k = int(k)
        radius_km = _check_radius(radius_km)
        radius_m = radius_km * 1000.0
        area_mask, province_info = self._province_filter(province)
        a = self.assess(points, radius_m)
        served, _ = self._served(a, radius_km)
        in_area = area_mask[self.grid.commune] & self.cell_counted
        covered = a.grid_m <= radius_m
        population = float(self.grid.weight[in_area].sum())
        before = float(self.grid.weight[in_area & covered].sum())
        demand = np.flatnonzero(in_area & ~covered & (self.grid.weight > 0))
        problem = _MclpProblem.build(self, demand, radius_km,
                                     np.flatnonzero(area_mask & ~served & ~self.offshore), k, max_candidates)
        chosen, solver_info = problem.solve(k, time_limit_s, solver)
        sites_lon, sites_lat, sites_row, sites_source = problem.sites(chosen)
        newly, reach = self._newly_covered(demand, sites_lon, sites_lat, radius_m)
        order = np.argsort(-newly, kind="stable")
        sites = [
            {"rank": rank + 1, "lat": round(float(sites_lat[i]), 6), "lon": round(float(sites_lon[i]), 6),
             "commune_code": str(self.codes[sites_row[i]]),
             "commune_name": str(self.table["full_name"].iat[sites_row[i]]),
             "province_code": str(self.table["province_code"].iat[sites_row[i]]),
             "province_name": str(self.table["province_name"].iat[sites_row[i]]),
             "newly_covered_population": round(float(newly[i])),
             "reach_population": round(float(reach[i])),
             "source": sites_source[i]}
            for rank, i in enumerate(order)
        ]
        after = before + float(newly.sum())
        return {
            "k": k, "radius_km": radius_km, "province": province_info,
            "population": round(population),
            "covered_before": round(before), "covered_before_pct": _pct(before, population),
            "covered_after": round(after), "covered_after_pct": _pct(after, population),
            "newly_covered": round(after - before),
            "sites": sites,
            "solver": {**solver_info, **problem.stats()},
            "seconds": round(time.perf_counter() - start, 3),
        }

    def _newly_covered(self, demand: IntArray, lons: FloatArray, lats: FloatArray,
                       radius_m: float) -> tuple[FloatArray, FloatArray]:
        """Per new site, on the fine grid: people it newly covers as their nearest new site, and all it reaches."""
        n = len(lons)
        if n == 0 or len(demand) == 0:
            return np.zeros(n), np.zeros(n)
        xyz = self.grid.xyz[demand]
        weight = self.grid.weight[demand]
        tree = cKDTree(ecef(lons, lats))
        chord = arc_to_chord_m(radius_m) * (1 + 1e-9)
        _, nearest = tree.query(xyz, distance_upper_bound=chord, workers=-1)
        hit = nearest < n
        newly = _weighted_count(nearest[hit], weight[hit], n)
        reach_pairs = tree.query_ball_point(xyz[hit], r=chord, workers=-1)
        lengths = np.fromiter((len(p) for p in reach_pairs), dtype=np.int64, count=len(reach_pairs))
        site = np.fromiter((j for p in reach_pairs for j in p), dtype=np.int64, count=int(lengths.sum()))
        reach = _weighted_count(site, np.repeat(weight[hit], lengths), n)
        return newly, reach

    # ------------------------------------------------------------------------------------------------ outputs

    def simplified_geometries(self, tolerance: float) -> npt.NDArray[np.object_]:
        """Commune geometries simplified by ``tolerance`` degrees (Douglas-Peucker; cached per tolerance).

        Simplification without topology preservation takes 0.5-2 s nationally against 15-30 s with it; the few
        that it empties are simplified again preserving topology.
        """
        tolerance = float(tolerance)
        if not math.isfinite(tolerance) or tolerance < 0:
            raise InvalidInputError(f"tolerance must be >= 0 degrees, got {tolerance!r}", parameter="tolerance")
        if tolerance not in self._simplified:
            geoms = np.asarray(self.gazetteer.communes.geometry.values, dtype=object)
            if tolerance == 0:
                simple = geoms
            else:
                simple = shapely.simplify(geoms, tolerance, preserve_topology=False)
                bad = shapely.is_empty(simple) | ~shapely.is_valid(simple)
                if bad.any():
                    simple[bad] = shapely.simplify(geoms[bad], tolerance, preserve_topology=True)
            if len(self._simplified) >= 4:
                self._simplified.pop(next(iter(self._simplified)))
            self._simplified[tolerance] = simple
        return self._simplified[tolerance]

    def communes_geojson(self, points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM, *,
                         tolerance: float = 0.001, province: str | None = None) -> dict[str, Any]:
        """The communes as a GeoJSON FeatureCollection with their coverage (geometry simplified by ``tolerance``).

        Properties: ``code``, ``name``, ``province_code``, ``population``, ``points``, ``staffed_points``,
        ``served``, ``status`` (``inside``, ``nearby``, ``unserved`` or ``offshore``), ``nearest_staffed_m`` and
        ``covered_population``. Coordinates are rounded to 6 decimals (0.1 m).
        """
        frame = self.communes(points, radius_km)
        mask, _ = self._province_filter(province)
        rows = np.flatnonzero(mask)
        geoms = shapely.transform(self.simplified_geometries(tolerance)[rows], lambda c: np.round(c, 6))
        status = _status(frame)
        features = []
        for r, state, text in zip(_records(frame.iloc[rows]), status[rows], shapely.to_geojson(geoms), strict=True):
            features.append({"type": "Feature", "id": r["code"], "geometry": json.loads(text), "properties": {
                "code": r["code"], "name": r["full_name"], "province_code": r["province_code"],
                "population": int(r["population"]), "points": int(r["points"]),
                "staffed_points": int(r["staffed_points"]), "served": bool(r["served"]), "status": str(state),
                "nearest_staffed_m": _metres(float(r["nearest_staffed_m"])),
                "covered_population": round(float(r["covered_population"])),
            }})
        return {"type": "FeatureCollection", "features": features}

    def render_map(self, points: PostalPoints, out_path: str | Path, province: str | None = None, *,
                   radius_km: float = DEFAULT_RADIUS_KM, width_px: int = 1200, height_px: int = 1400,
                   dpi: int = 100) -> Path:
        """A PNG choropleth (``width_px`` x ``height_px``) of the country or one province.

        Communes are coloured served by a staffed point inside / served by one within ``radius_km`` / unserved
        (offshore zones grey), with the points on top, a legend and a title with the counts.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if width_px < 200 or height_px < 200 or dpi < 20:
            raise InvalidInputError("the map must be at least 200 x 200 px at 20 dpi or more", parameter="width_px")
        frame = self.communes(points, radius_km)
        mask, province_info = self._province_filter(province)
        rows = np.flatnonzero(mask)
        fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)  # no pyplot: no global state
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.05, 0.03, 0.93, 0.87))
        _draw_map(ax, self, frame, rows, points, province_info, radius_km)
        counted = frame.iloc[rows][~frame["offshore"].iloc[rows]]
        n_served = int(counted["served"].sum())
        where = province_info["name"] if province_info else "Việt Nam"
        fig.text(0.5, 0.975, f"Postal-point coverage: {where}", ha="center", va="top", fontsize=16,
                 fontweight="bold")
        fig.text(0.5, 0.935,
                 f"{n_served:,} of {len(counted):,} communes served ({_pct(n_served, len(counted)):.1f} %): a "
                 f"staffed point inside or within {radius_km:g} km of the commune's centre",
                 ha="center", va="top", fontsize=10.5)
        out = Path(out_path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=dpi, format="png")
        return out


# -------------------------------------------------------------------------------------------------------- MCLP


@dataclass
class _MclpProblem:
    """A reduced MCLP instance: aggregated uncovered demand, candidate sites and the sparse coverage matrix."""

    cover: sparse.csr_matrix  # candidates x demand, 1 where the candidate is within the radius
    weight: FloatArray  # people per demand point
    lon: FloatArray  # candidates
    lat: FloatArray
    row: IntArray  # commune row of each candidate
    source: list[str]  # "grid" or "commune" per candidate
    demand_points: int
    candidates_total: int
    level: int

    @staticmethod
    def demand_level(radius_km: float) -> int:
        """Aggregation level: cells of ``2**-L`` degree with a side near a third of the radius (5 km → 6)."""
        return int(np.clip(math.floor(math.log2(3 * 111.32 / radius_km)), 4, 8))

    @classmethod
    def build(cls, model: CoverageModel, demand: IntArray, radius_km: float, unserved_rows: IntArray, k: int,
              max_candidates: int | None) -> _MclpProblem:
        """Aggregate ``demand`` (grid cells), gather candidates, keep the strongest, and build the matrix."""
        grid = model.grid
        level = cls.demand_level(radius_km)
        if len(demand) == 0:  # everyone in the area is covered already
            return cls(sparse.csr_matrix((0, 0)), np.empty(0), np.empty(0), np.empty(0),
                       np.empty(0, dtype=np.int64), [], 0, 0, level)
        scale = 2.0**level
        lon, lat, weight = grid.lon[demand], grid.lat[demand], grid.weight[demand]
        key = np.floor(lon * scale).astype(np.int64) * (1 << 20) + np.floor(lat * scale).astype(np.int64)
        _, group = np.unique(key, return_inverse=True)
        n_groups = int(group.max()) + 1 if len(group) else 0
        w = _weighted_count(group, weight, n_groups)
        c_lon = _weighted_count(group, weight * lon, n_groups) / w
        c_lat = _weighted_count(group, weight * lat, n_groups) / w
        # snap each centroid to the nearest fine cell of its group: on land, in a known commune
        gap = ((lon - c_lon[group]) * np.cos(np.radians(lat))) ** 2 + (lat - c_lat[group]) ** 2
        first = np.lexsort((gap, group))
        take = first[np.r_[True, group[first][1:] != group[first][:-1]]]
        cand_lon = np.concatenate([lon[take], model.table["rep_lon"].to_numpy()[unserved_rows]])
        cand_lat = np.concatenate([lat[take], model.table["rep_lat"].to_numpy()[unserved_rows]])
        cand_row = np.concatenate([grid.commune[demand][take].astype(np.int64), unserved_rows])
        source = ["grid"] * len(take) + ["commune"] * len(unserved_rows)
        chord = arc_to_chord_m(radius_km * 1000.0) * (1 + 1e-9)
        cover = cKDTree(ecef(cand_lon, cand_lat)).sparse_distance_matrix(
            cKDTree(ecef(c_lon, c_lat)), chord, output_type="coo_matrix").tocsr()
        cover.data[:] = 1.0
        cover.eliminate_zeros()
        # a zero distance is dropped by sparse_distance_matrix: a candidate always covers its own demand point
        own = np.arange(len(take))
        cover = (cover + sparse.csr_matrix((np.ones(len(own)), (own, own)), shape=cover.shape)).tocsr()
        cover.data[:] = 1.0
        reach = np.asarray(cover @ w).ravel()
        limit = max_candidates or min(_MAX_CANDIDATES, max(_MIN_CANDIDATES, _CANDIDATES_PER_SITE * k))
        keep = np.argsort(-reach, kind="stable")[:limit]
        keep = np.sort(keep[reach[keep] > 0])
        cover = cover[keep]
        reachable = np.flatnonzero(np.asarray(cover.sum(axis=0)).ravel() > 0)
        return cls(cover[:, reachable].tocsr(), w[reachable], cand_lon[keep], cand_lat[keep], cand_row[keep],
                   [source[i] for i in keep], len(w), len(cand_lon), level)

    def stats(self) -> dict[str, Any]:
        """Sizes of the instance, for the report."""
        return {"demand_points": self.demand_points, "demand_points_reachable": int(self.cover.shape[1]),
                "demand_cell_deg": 2.0**-self.level, "candidates": self.candidates_total,
                "candidates_kept": int(self.cover.shape[0]), "nonzeros": int(self.cover.nnz)}

    def covered_weight(self, chosen: IntArray) -> float:
        """People (aggregated demand) covered by the chosen candidates."""
        if len(chosen) == 0:
            return 0.0
        hit = np.asarray(self.cover[chosen].sum(axis=0)).ravel() > 0
        return float(self.weight[hit].sum())

    def greedy(self, k: int) -> IntArray:
        """The classic greedy: repeatedly add the candidate that covers the most uncovered people."""
        chosen: list[int] = []
        left = self.weight.copy()
        cover_t = self.cover.tocsc()
        gain = np.asarray(self.cover @ left).ravel()
        for _ in range(min(k, self.cover.shape[0])):
            j = int(np.argmax(gain))
            if gain[j] <= 0:
                break
            chosen.append(j)
            newly = self.cover.indices[self.cover.indptr[j]:self.cover.indptr[j + 1]]
            newly = newly[left[newly] > 0]
            # the candidates that also cover the newly covered demand lose that weight
            sub = cover_t[:, newly]
            gain -= np.asarray(sub @ left[newly]).ravel()
            left[newly] = 0.0
            gain[j] = -1.0
        return np.array(chosen, dtype=np.int64)

    def solve(self, k: int, time_limit_s: float, solver: str) -> tuple[IntArray, dict[str, Any]]:
        """Solve the MCLP with PuLP + HiGHS (or CBC); keep the greedy answer if the solver's is worse."""
        n_cand = self.cover.shape[0]
        greedy = self.greedy(k)
        greedy_value = self.covered_weight(greedy)
        info: dict[str, Any] = {"greedy_objective": round(greedy_value, 1)}
        if n_cand <= k:  # every candidate fits: nothing to choose
            chosen = np.flatnonzero(np.asarray(self.cover.sum(axis=1)).ravel() > 0)
            return chosen, {**info, "name": "none (all candidates)", "status": "trivial", "used": "all",
                            "objective": round(self.covered_weight(chosen), 1), "seconds": 0.0}
        try:
            import pulp
        except ImportError as exc:  # pragma: no cover - pulp is a declared dependency of the coverage extra
            raise MissingDependencyError("site suggestions need PuLP and highspy: pip install pulp highspy",
                                         package="pulp") from exc
        lp_solver = _lp_solver(pulp, solver, time_limit_s)
        start = time.perf_counter()
        problem = pulp.LpProblem("mclp", pulp.LpMaximize)
        y = [problem.add_variable(f"y{j}", 0, 1, cat=pulp.LpBinary) for j in range(n_cand)]
        x = [problem.add_variable(f"x{i}", 0, 1) for i in range(len(self.weight))]
        problem += pulp.LpAffineExpression(zip(x, self.weight.tolist(), strict=True)), "covered_population"
        by_demand = self.cover.tocsc()
        for i in range(len(self.weight)):
            terms = [(y[j], 1.0) for j in by_demand.indices[by_demand.indptr[i]:by_demand.indptr[i + 1]]]
            problem += pulp.LpAffineExpression([*terms, (x[i], -1.0)]) >= 0, f"cover{i}"
        problem += pulp.lpSum(y) == k, "sites"
        try:
            problem.solve(lp_solver)
        except pulp.PulpSolverError as exc:
            raise OptimizationError(f"the MCLP solver failed: {exc}", solver=solver) from exc
        values = np.array([v.varValue or 0.0 for v in y])
        chosen = np.flatnonzero(values > 0.5)
        optimal = problem.sol_status == pulp.LpSolutionOptimal
        status = "optimal" if optimal else ("time limit" if problem.sol_status == pulp.LpSolutionIntegerFeasible
                                            else pulp.LpSolution[problem.sol_status].lower())
        value = self.covered_weight(chosen) if len(chosen) == k else -1.0
        info.update({"name": f"{lp_solver.name} via PuLP {pulp.__version__}", "status": status,
                     "objective": round(value, 1), "seconds": round(time.perf_counter() - start, 3),
                     "time_limit_s": time_limit_s})
        if value < greedy_value:
            if len(greedy) == 0:
                raise OptimizationError(f"the MCLP solver found no solution ({status})", solver=solver)
            info["used"] = "greedy"
            return greedy, info
        info["used"] = "mip"
        return chosen, info

    def sites(self, chosen: IntArray) -> tuple[FloatArray, FloatArray, IntArray, list[str]]:
        """Longitude, latitude, commune row and source of the chosen candidates."""
        return self.lon[chosen], self.lat[chosen], self.row[chosen], [self.source[i] for i in chosen]


@functools.cache
def _silence_highs_banner() -> None:
    """Create the process's first HiGHS instance with stdout (fd 1) pointed at /dev/null.

    HiGHS prints a copyright banner on the C-level stdout the first time a solver is created in a process, whatever
    its options; that would corrupt ``vpostcode coverage suggest --json``. Later instances print nothing.
    """
    import ctypes
    import os
    import sys

    import highspy

    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all: nothing to protect
        highspy.Highs()
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
            ctypes.CDLL(None).fflush(None)
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _lp_solver(pulp: Any, name: str, time_limit_s: float) -> Any:
    """The PuLP solver object: ``highs`` (HiGHS through highspy) or ``cbc`` (shipped with PuLP)."""
    if not math.isfinite(time_limit_s) or time_limit_s <= 0:
        raise InvalidInputError(f"time_limit_s must be > 0, got {time_limit_s!r}", parameter="time_limit_s")
    wanted = name.lower()
    if wanted == "highs":
        highs = pulp.HiGHS(msg=False, timeLimit=time_limit_s, gapRel=1e-6)
        if highs.available():
            _silence_highs_banner()
            return highs
        wanted = "cbc"  # HiGHS missing: CBC ships with PuLP
    if wanted == "cbc":
        coin = pulp.COIN_CMD(msg=False, timeLimit=time_limit_s, gapRel=1e-6)  # a CBC from pulp[cbc] or the system
        if coin.available():
            return coin
        with warnings.catch_warnings():  # PuLP 3.3 deprecates its bundled CBC in favour of pulp[cbc]
            warnings.simplefilter("ignore", DeprecationWarning)
            cbc = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s, gapRel=1e-6)
        if cbc.available():
            return cbc
        raise MissingDependencyError("neither HiGHS (pip install highspy) nor CBC is available to PuLP",
                                     package="highspy")
    raise InvalidInputError(f"solver must be 'highs' or 'cbc', got {name!r}", parameter="solver")


# -------------------------------------------------------------------------------------------------------- drawing

_COLOURS = {"inside": "#1a9850", "nearby": "#a6d96a", "unserved": "#d73027", "offshore": "#bdbdbd"}
_LABELS = {"inside": "staffed point inside", "nearby": "staffed point within {r:g} km",
           "unserved": "unserved", "offshore": "offshore special zone (not counted)"}


def _status(frame: pd.DataFrame) -> npt.NDArray[np.str_]:
    """``inside``, ``nearby``, ``unserved`` or ``offshore`` per commune."""
    status = np.where(frame["served_by"] == "", "unserved", frame["served_by"]).astype("<U8")
    status[frame["offshore"].to_numpy()] = "offshore"
    return status


def _fit_view(ax: Axes, bounds: tuple[float, float, float, float]) -> None:
    """Show ``bounds`` (degrees) at a true local scale (1/cos(latitude) aspect), widened to fill the axes box."""
    xmin, ymin, xmax, ymax = bounds
    aspect = 1.0 / math.cos(math.radians((ymin + ymax) / 2))
    box = ax.get_position(original=True)
    fig_w, fig_h = ax.get_figure(root=True).get_size_inches()  # type: ignore[union-attr]
    box_ratio = (box.height * fig_h) / (box.width * fig_w)  # height / width of the axes on paper
    width, height = xmax - xmin, (ymax - ymin) * aspect
    if height / width < box_ratio:  # too wide: grow the latitude span
        grow = (width * box_ratio / aspect - (ymax - ymin)) / 2
        ymin, ymax = ymin - grow, ymax + grow
    else:
        grow = (height / box_ratio - width) / 2
        xmin, xmax = xmin - grow, xmax + grow
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect(aspect, adjustable="box")


def _draw_map(ax: Axes, model: CoverageModel, frame: pd.DataFrame, rows: IntArray, points: PostalPoints,
              province_info: dict[str, str] | None, radius_km: float) -> None:
    """Communes coloured by status, points on top, a legend; equal-area-looking aspect at the map's latitude."""
    import geopandas as gpd
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tolerance = 0.0003 if province_info else 0.004
    geoms = model.simplified_geometries(tolerance)[rows]
    status = _status(frame)[rows]
    layer = gpd.GeoSeries(geoms, crs="EPSG:4326")
    edge = 0.25 if province_info else 0.05
    layer.plot(ax=ax, color=[_COLOURS[s] for s in status], edgecolor="white", linewidth=edge)
    if province_info is None:
        outlines = gpd.GeoSeries(model.gazetteer.provinces_table.geometry.values, crs="EPSG:4326")
        outlines.boundary.plot(ax=ax, color="#525252", linewidth=0.35)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    pad = 0.03 * max(xmax - xmin, ymax - ymin)
    rows_of_points = model.commune_rows(points.commune_codes)
    in_view = ((points.lons >= xmin - pad) & (points.lons <= xmax + pad) & (points.lats >= ymin - pad)
               & (points.lats <= ymax + pad))
    if province_info is not None:
        in_view &= np.isin(rows_of_points, rows) | (rows_of_points < 0)
    size = 10 if province_info else 3
    staffed = in_view & points.staffed
    other = in_view & ~points.staffed
    ax.scatter(points.lons[staffed], points.lats[staffed], s=size, c="#08306b", edgecolors="white",
               linewidths=0.2 if province_info is None else 0.5, zorder=3)
    ax.scatter(points.lons[other], points.lats[other], s=size, facecolors="none", edgecolors="#08306b",
               linewidths=0.5, zorder=3)
    _fit_view(ax, (xmin - pad, ymin - pad, xmax + pad, ymax + pad))
    ax.tick_params(labelsize=7)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_facecolor("#eef4f8")
    if province_info is None:
        for code, label in zip(SPECIAL_ZONES_OFFSHORE, ("Hoàng Sa", "Trường Sa"), strict=True):
            hit = np.flatnonzero(model.codes == code)
            if len(hit):
                r = model.table.iloc[int(hit[0])]
                ax.annotate(label, (float(r["rep_lon"]), float(r["rep_lat"])), xytext=(0, 10),
                            textcoords="offset points", ha="center", fontsize=8, color="#525252")
    counts = {s: int((status == s).sum()) for s in _COLOURS}
    handles: list[Any] = [Patch(facecolor=_COLOURS[s], edgecolor="#525252", linewidth=0.3,
                                label=f"{_LABELS[s].format(r=radius_km)} ({counts[s]:,})")
                          for s in _COLOURS if counts[s] or s != "offshore"]
    handles.append(Line2D([], [], linestyle="", marker="o", markersize=5, markerfacecolor="#08306b",
                          markeredgecolor="white", label=f"staffed postal point ({int(staffed.sum()):,})"))
    if other.any():
        handles.append(Line2D([], [], linestyle="", marker="o", markersize=5, markerfacecolor="none",
                              markeredgecolor="#08306b", label=f"unstaffed point ({int(other.sum()):,})"))
    ax.legend(handles=handles, loc="lower left" if province_info else "upper right", fontsize=9, framealpha=0.92,
              title="Communes", title_fontsize=9)


# -------------------------------------------------------------------------------------------------------- GeoJSON


def points_geojson(points: PostalPoints) -> dict[str, Any]:
    """The points as a GeoJSON FeatureCollection (``id``, ``staffed``, ``commune_code`` and ``kind`` if given)."""
    features = []
    for i in range(len(points)):
        properties: dict[str, Any] = {"id": points.id_at(i), "staffed": bool(points.staffed[i]),
                                      "commune_code": str(points.commune_codes[i]) or None}
        if points.kinds is not None:
            kind = points.kinds[i]
            properties["kind"] = kind.item() if isinstance(kind, np.generic) else kind
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            round(float(points.lons[i]), 7), round(float(points.lats[i]), 7)]}, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


# -------------------------------------------------------------------------------------------------------- module API


@functools.lru_cache(maxsize=2)
def _model_for(gazetteer: Gazetteer) -> CoverageModel:
    return CoverageModel(gazetteer)


def get_model(gazetteer: Gazetteer | None = None) -> CoverageModel:
    """The process-wide coverage model of a gazetteer (the default one when None), built on first use."""
    return _model_for(gazetteer if gazetteer is not None else get_gazetteer())


def commune_coverage(points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM, *,
                     gazetteer: Gazetteer | None = None) -> pd.DataFrame:
    """Per-commune coverage (see :meth:`CoverageModel.communes`)."""
    return get_model(gazetteer).communes(points, radius_km)


def gaps(points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM, *,
         gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """The unserved communes by province (see :meth:`CoverageModel.gaps`)."""
    return get_model(gazetteer).gaps(points, radius_km)


def population_within(points: PostalPoints, within_km: Sequence[float] = DEFAULT_WITHIN_KM, *,
                      gazetteer: Gazetteer | None = None) -> pd.DataFrame:
    """Population within X km of a staffed point by province (see :meth:`CoverageModel.population_within`)."""
    return get_model(gazetteer).population_within(points, within_km)


def summary(points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM,
            within_km: Sequence[float] = DEFAULT_WITHIN_KM, *, gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """The national coverage summary (see :meth:`CoverageModel.summary`)."""
    return get_model(gazetteer).summary(points, radius_km, within_km)


def suggest(points: PostalPoints, k: int = 50, radius_km: float = DEFAULT_RADIUS_KM, *, province: str | None = None,
            time_limit_s: float = 60.0, solver: str = "highs", gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """The ``k`` new sites that newly cover the most people (see :meth:`CoverageModel.suggest`)."""
    return get_model(gazetteer).suggest(points, k, radius_km, province=province, time_limit_s=time_limit_s,
                                        solver=solver)


def communes_geojson(points: PostalPoints, radius_km: float = DEFAULT_RADIUS_KM, *, tolerance: float = 0.001,
                     province: str | None = None, gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """Communes with their coverage as GeoJSON (see :meth:`CoverageModel.communes_geojson`)."""
    return get_model(gazetteer).communes_geojson(points, radius_km, tolerance=tolerance, province=province)


def render_map(points: PostalPoints, out_path: str | Path, province: str | None = None, *,
               radius_km: float = DEFAULT_RADIUS_KM, width_px: int = 1200, height_px: int = 1400,
               gazetteer: Gazetteer | None = None) -> Path:
    """A PNG map of served and unserved communes with the points (see :meth:`CoverageModel.render_map`)."""
    return get_model(gazetteer).render_map(points, out_path, province, radius_km=radius_km, width_px=width_px,
                                           height_px=height_px)
