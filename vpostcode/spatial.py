"""Reverse geocoding: which commune polygon holds a WGS84 point, for one point or a million.

Design (figures measured on the 3,321 communes of 2025, 7.1 M vertices, on the 2-core dev machine, with
population-weighted random points; see ``scripts/bench/reverse.py``)
--------------------------------------------------------------------------------------------------------------
The index is a *cell grid accelerator in front of exact point-in-polygon tests*:

1. A regular grid of square cells (default 2**8 = 256 cells per degree, about 430 m) covers the data's bounding
   box. The origin is a whole degree and the cell size a power of two, so a point's cell,
   ``floor((lon - x0) * 2**k)``, is computed without any rounding error.
2. At build time every polygon ring edge marks the cells it passes through (conservatively: each edge is cut into
   pieces shorter than half a cell and each piece marks the cells of its bounding box grown by a guard band of
   4e-10 degree, 0.04 mm). A cell no edge touches lies wholly inside one commune or wholly outside all of them;
   which, is found by a scanline fill (crossing-number parity along each cell row's centre line, accumulated
   with difference arrays), so the build takes about 1.5 s (plus 0.6 s of GEOS warm-up), not one PIP test per
   cell.
3. A point in a *wholly inside* cell is answered from the grid with no geometry test; that is 70% of
   population-weighted points (more in the countryside, fewer in the inner-city wards). A point in a *boundary
   cell* is tested exactly against the communes whose edges cross that cell (1.9 on average), with GEOS
   prepared-geometry ``shapely.contains_xy`` on the full-resolution polygons, pairs sorted by polygon for cache
   locality (about 2 M pair tests/s, against 30 k points/s for ``STRtree.query(predicate="within")``, which
   prepares the points, not the polygons). Empty cells farther than the snap distance from every boundary cell
   answer ``none`` at once.

So answers are exact: the grid only skips tests whose result it knows and never stands in for one; the guard
band can only make more cells "boundary" (slower, never wrong).

Grid resolution (``cell_deg_log2``), measured on 1 M points: k=7: 19 MiB, 53% of points decided by the grid,
1.7 M points/s; k=8 (default): 69 MiB, 70%, 2.2 M points/s; k=9: 269 MiB, 82%, 3.3 M points/s. The default is
the memory/speed knee; the grid is capped at 64 M cells (k is lowered for larger extents).

Tree: a ``shapely.STRtree`` over the polygons' bounding boxes serves the rare paths (snapping, :meth:`near`,
build). rtree 1.4.1 was measured and not used: a vectorised bounding-box query of 200 k points takes 0.27 s
with ``STRtree.query`` (740 k points/s) against 2.3 s with rtree's ``intersection_v`` (89 k points/s), and
per point 71 k/s against 37 k/s; the STRtree also ships with shapely.

Memory: the polygons passed in are *prepared in place* (``shapely.prepare``) and their GEOS point-in-area
indexes built at start-up; with the grid (69 MiB) the index adds about 350 MiB of RSS to the loaded geometries
(the GEOS indexes are most of the rest). Threads: after construction every query only reads the index and the
GEOS structures, but GEOS does not promise that prepared geometries are thread-safe: in a threaded server, guard
calls with a lock or use processes.

Rules
-----
* **inside**: the point is in the interior of exactly one polygon (``shapely.contains`` semantics, like PostGIS
  ``ST_Contains``). ``distance_m`` is 0.
* **overlap**: the point is in the interior of two or more polygons (the data has 242 thin slivers where
  neighbours overlap). The answer is the polygon that contains the point *most deeply*, i.e. whose boundary is
  farthest from the point (local metric distance, below); depths within 1 mm of each other tie, and ties go to
  the lowest key. In a sliver between A and B this splits the sliver along its centre line: each half goes to
  the commune whose undisputed side it touches. The rule is deterministic, independent of row order and input
  order, and costs a distance computation only for sliver points (about 1 in 20,000). ``distance_m`` is 0 and
  the other polygon(s) are listed in ``also_in``, ordered by key.
* **nearest**: the point is in no polygon's interior (sea near the coast, river mouths, border rivers, gaps
  between neighbours, or exactly on a boundary line) but within ``snap_distance_m`` (default 500 m, per call
  too; 0 disables snapping) of a polygon: the nearest polygon wins, ties go to the lowest key, and
  ``distance_m`` says how far it is (0.0 for a point exactly on a boundary).
* **none**: nothing within the snap distance (sea, abroad). ``index`` is -1, ``distance_m`` NaN. Not an error.
* **invalid**: NaN, infinite or out-of-range coordinates (batch form only: the row gets ``match=INVALID`` and a
  message in ``error``, with a hint when latitude and longitude look swapped; the rest of the batch is answered).
  The scalar :meth:`CommuneIndex.locate` and :meth:`CommuneIndex.near` raise ``InvalidCoordinateError`` instead.

Distances
---------
Distances are measured in a local metric frame centred on the query point: each vertex is placed at
``x = dlon * N(phi_m) * cos(phi_m)``, ``y = dlat * M(phi_m)``, where ``M`` and ``N`` are the WGS84 meridional
and prime-vertical radii of curvature at the mid-latitude ``phi_m`` of the vertex and the query point. Against
``pyproj.Geod`` geodesic distances (20,000 random pairs over Vietnam's latitudes) the largest error is 1e-7 m at
500 m, 5e-7 m at 1 km, 4 mm at 20 km and 6 cm at 50 km (``tests/test_spatial.py`` checks the bounds). Edges are
straight lines between vertices in this frame; for the data's edges (tens of metres) the difference from straight
lines in longitude/latitude (the PostGIS ``geometry`` convention) is far below a millimetre.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from vpostcode.crs import validate_lat_lon
from vpostcode.errors import InvalidCoordinateError, InvalidInputError

__all__ = [
    "MATCH_LABELS",
    "CommuneIndex",
    "LocateResult",
    "Location",
    "Match",
    "local_metric_xy",
    "metric_distances",
    "release_free_memory",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# WGS84 ellipsoid.
_A = 6378137.0
_E2 = 6.69437999014e-3

# Grid cell codes (values < 0 in the grid; values >= 0 are the row of the commune that holds the whole cell).
_EMPTY_FAR = -1  # no polygon within the build-time snap distance of any point of the cell
_EMPTY_NEAR = -2  # no polygon in the cell, but one may be within the snap distance
_BOUNDARY0 = -3  # boundary cell number b is stored as _BOUNDARY0 - b

_MAX_CELLS = 64 * 2**20  # the grid never exceeds 64 M cells (256 MB); the cell size grows for larger extents
_GUARD_CELLS = 1e-7  # guard band (in cells, i.e. ~4e-10 degree) when marking the cells an edge touches
_DEPTH_TIE_M = 1e-3  # overlap depths closer than this are a tie (-> lowest key)


class Match(IntEnum):
    """How a point was matched: the values of ``LocateResult.match``."""

    NONE = 0
    INSIDE = 1
    OVERLAP = 2
    NEAREST = 3
    INVALID = 4

    @property
    def label(self) -> str:
        """The lower-case name used in JSON and messages (``"inside"``, ``"overlap"``, ...)."""
        return self.name.lower()


MATCH_LABELS: npt.NDArray[np.str_] = np.array([m.label for m in Match])
_EMPTY_TUPLE: tuple[int, ...] = ()


@dataclass(frozen=True)
class LocateResult:
    """The answer for a batch of points, one row per input point (arrays of equal length).

    ``index``: row into the index's geometries/keys, -1 for none or invalid. ``match``: int8 :class:`Match`
    codes (``match_labels`` gives strings). ``distance_m``: 0.0 inside or overlap, metres for nearest, NaN for
    none and invalid. ``also_in``: object array of tuples, the other polygons holding an overlap point (empty
    tuple elsewhere). ``error``: object array, None or the message for an invalid row.
    """

    index: IntArray
    match: npt.NDArray[np.int8]
    distance_m: FloatArray
    also_in: npt.NDArray[np.object_]
    error: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.index)

    @property
    def match_labels(self) -> npt.NDArray[np.str_]:
        """``match`` as strings: ``"inside"``, ``"overlap"``, ``"nearest"``, ``"none"`` or ``"invalid"``."""
        return MATCH_LABELS[self.match]


@dataclass(frozen=True)
class Location:
    """The answer for one point (see :meth:`CommuneIndex.locate`)."""

    index: int
    key: Any
    match: str
    distance_m: float
    also_in: tuple[int, ...] = field(default=_EMPTY_TUPLE)
    also_in_keys: tuple[Any, ...] = field(default=_EMPTY_TUPLE)


def _radii(lat_deg: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Metres per degree of latitude and of longitude at ``lat_deg`` on the WGS84 ellipsoid."""
    phi = np.radians(lat_deg)
    w = np.sqrt(1.0 - _E2 * np.sin(phi) ** 2)
    per_deg_lat = np.radians(_A * (1.0 - _E2) / w**3)
    per_deg_lon = np.radians(_A / w * np.cos(phi))
    return per_deg_lat, per_deg_lon


def local_metric_xy(
    lons: FloatArray, lats: FloatArray, lon0: FloatArray, lat0: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Positions in metres of points relative to origins (lon0, lat0), mid-latitude scaling (see module doc)."""
    per_lat, per_lon = _radii(0.5 * (lats + lat0))
    return (lons - lon0) * per_lon, (lats - lat0) * per_lat


_MIN_PER_DEG_LAT = float(_radii(np.zeros(1))[0][0])  # metres per degree of latitude at the equator (the least)


def _degree_box(lats: FloatArray, radius_m: float) -> tuple[FloatArray, FloatArray]:
    """Half-widths (dlat, dlon) in degrees of a box around each point holding everything within ``radius_m``.

    Conservative: 1% slack, the least metres-per-degree of latitude, and the metres-per-degree of longitude at the
    box edge farthest from the equator.
    """
    edge = np.clip(np.abs(lats) + np.degrees(radius_m / 6.3e6), 0.0, 89.0)
    slack = 1.01 * radius_m + 1e-3
    return np.full(len(lats), slack / _MIN_PER_DEG_LAT), np.minimum(slack / _radii(edge)[1], 180.0)


def metric_distances(geoms: npt.NDArray[np.object_], lats: FloatArray, lons: FloatArray, radius_m: float) -> FloatArray:
    """Distance in metres from each point to the paired geometry (0 if inside), inf when beyond ``radius_m``.

    Vectorised over pairs: each geometry is clipped to a box around its point that holds everything within
    ``radius_m`` (``radius_m=inf``: no clipping), moved into the point's local metric frame, and measured.
    """
    out = np.full(len(geoms), np.inf)
    if len(geoms) == 0:
        return out
    if math.isfinite(radius_m):
        dlat, dlon = _degree_box(lats, radius_m)
        boxes = np.column_stack([lons - dlon, lats - dlat, lons + dlon, lats + dlat]).tolist()
        pieces = np.array([shapely.clip_by_rect(g, *box) for g, box in zip(geoms, boxes, strict=True)], dtype=object)
    else:
        pieces = np.array(geoms, dtype=object, copy=True)
    keep = ~shapely.is_empty(pieces)
    pieces = pieces[keep]
    coords, owner = shapely.get_coordinates(pieces, return_index=True)
    if len(coords):
        x, y = local_metric_xy(coords[:, 0], coords[:, 1], lons[keep][owner], lats[keep][owner])
        pieces = shapely.set_coordinates(shapely.transform(pieces, lambda c: c), np.column_stack([x, y]))
    dist = shapely.distance(pieces, shapely.points(np.zeros((len(pieces), 2))))
    dist = np.where(dist <= radius_m, dist, np.inf)
    out[keep] = dist
    return out


@dataclass(frozen=True)
class _Grid:
    """The cell grid: origin (whole degrees), 2**k cells per degree, cell codes and boundary-cell candidates."""

    x0: float
    y0: float
    per_deg: float
    nx: int
    ny: int
    cells: npt.NDArray[np.int32]  # flat, row-major (row = latitude band); see the _EMPTY/_BOUNDARY codes
    cand_ptr: IntArray  # CSR: candidates of boundary cell b are cand[cand_ptr[b]:cand_ptr[b + 1]]
    cand: npt.NDArray[np.int32]
    snap_m: float  # the snap distance the _EMPTY_FAR cells were computed for

    def lookup(self, lats: FloatArray, lons: FloatArray) -> npt.NDArray[np.int32]:
        """The cell code of each point; points off the grid get ``_EMPTY_FAR``."""
        col = np.floor((lons - self.x0) * self.per_deg)
        row = np.floor((lats - self.y0) * self.per_deg)
        on = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        codes = np.full(len(lats), _EMPTY_FAR, dtype=np.int32)
        codes[on] = self.cells[row[on].astype(np.int64) * self.nx + col[on].astype(np.int64)]
        return codes

    def candidates(self, codes: npt.NDArray[np.int32]) -> tuple[IntArray, IntArray]:
        """For boundary-cell codes: (position in ``codes``, candidate row) pairs, one per candidate."""
        b = (_BOUNDARY0 - codes).astype(np.int64)
        start = self.cand_ptr[b]
        count = self.cand_ptr[b + 1] - start
        pos = np.repeat(np.arange(len(codes)), count)
        offset = np.arange(len(pos)) - np.repeat(np.cumsum(count) - count, count)
        return pos, self.cand[np.repeat(start, count) + offset].astype(np.int64)

    @property
    def nbytes(self) -> int:
        """Memory held by the grid arrays."""
        return int(self.cells.nbytes + self.cand_ptr.nbytes + self.cand.nbytes)

    @property
    def stats(self) -> dict[str, int]:
        """Cell counts by kind, for benchmarks and logs."""
        return {
            "cells": len(self.cells),
            "inside": int(np.count_nonzero(self.cells >= 0)),
            "boundary": len(self.cand_ptr) - 1,
            "empty_near": int(np.count_nonzero(self.cells == _EMPTY_NEAR)),
            "candidates": len(self.cand),
        }


@dataclass
class _GridBuilder:
    """Builds a :class:`_Grid`: marks the cells polygon edges touch and scan-fills the cells between them."""

    geoms: npt.NDArray[np.object_]
    snap_m: float
    per_deg: float
    x0: float = 0.0
    y0: float = 0.0
    nx: int = 0
    ny: int = 0

    def __post_init__(self) -> None:
        xmin, ymin, xmax, ymax = shapely.total_bounds(self.geoms)
        dlat, dlon = _degree_box(np.array([max(abs(ymin), abs(ymax))]), self.snap_m)
        margin = max(float(dlat[0]), float(dlon[0])) + 2.0 / self.per_deg
        self.x0, self.y0 = math.floor(xmin - margin), math.floor(ymin - margin)
        self.nx = math.ceil((xmax + margin - self.x0) * self.per_deg)
        self.ny = math.ceil((ymax + margin - self.y0) * self.per_deg)

    def build(self, batch: int = 256) -> _Grid:
        """Run the whole build: edges batch by batch (bounded memory), then fill, candidates and far cells."""
        marks: list[IntArray] = []
        fills: list[tuple[IntArray, IntArray, IntArray]] = []
        for first in range(0, len(self.geoms), batch):
            u1, w1, u2, w2, owner = self._edges(first, first + batch)
            marks.append(self._marks(u1, w1, u2, w2, owner))
            fills.append(self._fill_intervals(u1, w1, u2, w2, owner))
        count, label = self._fill(fills)
        pairs = _unique(np.concatenate(marks))
        return self._assemble(pairs, count, label)

    def _edges(self, lo: int, hi: int) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, IntArray]:
        """Ring edges of polygons ``lo:hi`` in cell units (u = column, w = row) with their polygon row."""
        parts, part_owner = shapely.get_parts(self.geoms[lo:hi], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        u = (coords[:, 0] - self.x0) * self.per_deg
        w = (coords[:, 1] - self.y0) * self.per_deg
        start = np.nonzero(ring_of[1:] == ring_of[:-1])[0]
        owner = part_owner[ring_part][ring_of[start]].astype(np.int64) + lo
        return u[start], w[start], u[start + 1], w[start + 1], owner

    def _marks(self, u1: FloatArray, w1: FloatArray, u2: FloatArray, w2: FloatArray, owner: IntArray) -> IntArray:
        """Unique ``cell * n + polygon`` ids of every (cell, polygon) pair where a polygon edge touches the cell.

        Edges are cut into pieces at most half a cell long; each piece marks the (at most 2 x 2) cells of its
        bounding box grown by the guard band, which covers every cell the piece passes through.
        """
        pieces = np.maximum(1, np.ceil(2.0 * np.maximum(np.abs(u2 - u1), np.abs(w2 - w1)))).astype(np.int64)
        edge = np.repeat(np.arange(len(u1)), pieces)
        k = np.arange(len(edge)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        t0 = k / pieces[edge]
        t1 = (k + 1) / pieces[edge]
        du, dw = (u2 - u1)[edge], (w2 - w1)[edge]
        pu1, pw1 = u1[edge] + du * t0, w1[edge] + dw * t0
        pu2, pw2 = u1[edge] + du * t1, w1[edge] + dw * t1
        c_lo = np.floor(np.minimum(pu1, pu2) - _GUARD_CELLS).astype(np.int64)
        c_hi = np.floor(np.maximum(pu1, pu2) + _GUARD_CELLS).astype(np.int64)
        r_lo = np.floor(np.minimum(pw1, pw2) - _GUARD_CELLS).astype(np.int64)
        r_hi = np.floor(np.maximum(pw1, pw2) + _GUARD_CELLS).astype(np.int64)
        n = len(self.geoms)
        own = owner[edge]
        ids = [(r_lo * self.nx + c_lo) * n + own]
        wide, tall = c_hi != c_lo, r_hi != r_lo
        ids.append((r_lo[wide] * self.nx + c_hi[wide]) * n + own[wide])
        ids.append((r_hi[tall] * self.nx + c_lo[tall]) * n + own[tall])
        both = wide & tall
        ids.append((r_hi[both] * self.nx + c_hi[both]) * n + own[both])
        return _unique(np.concatenate(ids))

    def _fill_intervals(
        self, u1: FloatArray, w1: FloatArray, u2: FloatArray, w2: FloatArray, owner: IntArray
    ) -> tuple[IntArray, IntArray, IntArray]:
        """Runs of cells whose centre is inside a polygon: (flat start, flat end exclusive, polygon row).

        Each edge crosses the centre lines ``w = r + 0.5`` of rows ``r`` with ``r + 0.5`` in ``[min w, max w)``
        (half-open, so a vertex on a centre line counts once). Sorting one polygon's crossings along a row and
        pairing them 1-2, 3-4, ... gives its inside runs (even-odd rule; holes and multipolygons need nothing
        special).
        """
        r_start = np.ceil(np.minimum(w1, w2) - 0.5).astype(np.int64)
        r_end = np.ceil(np.maximum(w1, w2) - 0.5).astype(np.int64)
        count = r_end - r_start
        edge = np.repeat(np.arange(len(u1)), count)
        row = r_start[edge] + (np.arange(len(edge)) - np.repeat(np.cumsum(count) - count, count))
        slope = (u2 - u1)[edge] / (w2 - w1)[edge]
        u = u1[edge] + (row + 0.5 - w1[edge]) * slope
        own = owner[edge]
        order = np.lexsort((u, row, own))
        u, row, own = u[order], row[order], own[order]
        if len(u) % 2 or np.any(row[0::2] != row[1::2]) or np.any(own[0::2] != own[1::2]):
            raise ValueError("polygon rings are not closed or not valid: cannot scan-fill the grid")
        c_start = np.clip(np.ceil(u[0::2] - 0.5), 0, self.nx).astype(np.int64)
        c_end = np.clip(np.ceil(u[1::2] - 0.5), 0, self.nx).astype(np.int64)
        keep = c_end > c_start
        r = row[0::2][keep]
        return r * (self.nx + 1) + c_start[keep], r * (self.nx + 1) + c_end[keep], own[0::2][keep]

    def _fill(self, fills: list[tuple[IntArray, IntArray, IntArray]]) -> tuple[npt.NDArray[np.int32], ...]:
        """Per cell: how many polygons hold its centre, and the sum of (row + 1) of those polygons."""
        size = self.ny * (self.nx + 1)
        count = np.zeros(size, dtype=np.int32)
        label = np.zeros(size, dtype=np.int32)
        for start, end, own in fills:
            np.add.at(count, start, 1)
            np.add.at(count, end, -1)
            np.add.at(label, start, (own + 1).astype(np.int32))
            np.add.at(label, end, -(own + 1).astype(np.int32))
        count = np.cumsum(count.reshape(self.ny, self.nx + 1), axis=1, dtype=np.int32)[:, : self.nx].ravel()
        label = np.cumsum(label.reshape(self.ny, self.nx + 1), axis=1, dtype=np.int32)[:, : self.nx].ravel()
        return count, label

    def _centre_pairs(self, cells: IntArray) -> IntArray:
        """``cell * n + polygon`` for each polygon whose interior holds the centre of one of ``cells`` (exact)."""
        row, col = np.divmod(cells, self.nx)
        lon = self.x0 + (col + 0.5) / self.per_deg
        lat = self.y0 + (row + 0.5) / self.per_deg
        pos, cand = shapely.STRtree(self.geoms).query(shapely.points(lon, lat))
        inside = shapely.contains_xy(self.geoms[cand], lon[pos], lat[pos])
        return cells[pos[inside]] * len(self.geoms) + cand[inside]

    def _assemble(self, pairs: IntArray, count: npt.NDArray[np.int32], label: npt.NDArray[np.int32]) -> _Grid:
        """Cell codes and candidate lists from the marked pairs and the fill."""
        n = len(self.geoms)
        boundary = np.zeros(self.nx * self.ny, dtype=bool)
        boundary[pairs // n] = True
        multi = np.nonzero(count >= 2)[0]  # centre in 2+ polygons: exact test needed, cell is not decidable
        boundary[multi] = True
        single = np.nonzero(boundary & (count == 1))[0]
        pairs = _unique(np.concatenate([pairs, single * n + (label[single] - 1), self._centre_pairs(multi)]))
        cell_of = pairs // n
        b_cells, b_first = np.unique(cell_of, return_index=True)
        cells = np.where(count == 1, label - 1, _EMPTY_NEAR).astype(np.int32)
        far = ~self._dilate(boundary.reshape(self.ny, self.nx)).ravel()
        cells[far & (count == 0)] = _EMPTY_FAR
        cells[b_cells] = _BOUNDARY0 - np.arange(len(b_cells), dtype=np.int32)
        return _Grid(
            x0=float(self.x0),
            y0=float(self.y0),
            per_deg=self.per_deg,
            nx=self.nx,
            ny=self.ny,
            cells=cells,
            cand_ptr=np.append(b_first, len(pairs)).astype(np.int64),
            cand=(pairs % n).astype(np.int32),
            snap_m=self.snap_m,
        )

    def _dilate(self, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """``mask`` grown by the snap distance (in cells, rounded up, plus one) in both axes (square window)."""
        top = max(abs(self.y0), abs(self.y0 + self.ny / self.per_deg))
        dlat, dlon = _degree_box(np.array([float(top)]), self.snap_m)
        reach = math.ceil(max(float(dlat[0]), float(dlon[0])) * self.per_deg) + 1
        out = mask.copy()
        for axis in (0, 1):
            grown = out.copy()
            for shift in range(1, reach + 1):
                src = [slice(None), slice(None)]
                dst = [slice(None), slice(None)]
                src[axis], dst[axis] = slice(None, -shift), slice(shift, None)
                grown[tuple(dst)] |= out[tuple(src)]
                grown[tuple(src)] |= out[tuple(dst)]
            out = grown
        return out


def _unique(ids: IntArray) -> IntArray:
    """Sorted unique values; drops runs of repeats first (consecutive ring edges mostly share a cell)."""
    if len(ids) > 1:
        ids = ids[np.append(True, ids[1:] != ids[:-1])]
    ids = np.sort(ids)  # np.unique's hash path is several times slower on these arrays
    return ids[np.append(True, ids[1:] != ids[:-1])] if len(ids) else ids


def release_free_memory() -> None:
    """Hand freed heap memory back to the OS (glibc ``malloc_trim``; a no-op elsewhere).

    The grid build frees ~80 MiB of temporaries in pieces small enough to stay in the heap; without this they
    would count in the process RSS although they are free.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _fit_resolution(geoms: npt.NDArray[np.object_], log2: int) -> int:
    """The finest ``2**k`` cells per degree, k <= log2, whose grid over the data stays under ``_MAX_CELLS``."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    area_deg2 = (xmax - xmin + 2.0) * (ymax - ymin + 2.0)
    while log2 > 0 and area_deg2 * 4.0**log2 > _MAX_CELLS:
        log2 -= 1
    return log2


def _empty_tuples(n: int) -> npt.NDArray[np.object_]:
    """An object array of ``n`` empty tuples."""
    out = np.empty(n, dtype=object)
    out.fill(_EMPTY_TUPLE)
    return out


class CommuneIndex:
    """Exact point-in-commune lookup for batches of WGS84 points, with snapping and overlap resolution.

    ``geometries``: shapely (Multi)Polygons in EPSG:4326 (they are prepared in place); ``keys``: one key per
    geometry (e.g. commune codes), used to break ties and in :class:`Location`; ``snap_distance_m``: default
    snapping distance (per call too); ``cell_deg_log2``: the grid has ``2**cell_deg_log2`` cells per degree;
    ``chunk_size``: points processed at a time by :meth:`locate_many` (bounds memory for huge batches).
    """

    def __init__(
        self,
        geometries: npt.ArrayLike,
        keys: npt.ArrayLike,
        snap_distance_m: float = 500.0,
        *,
        cell_deg_log2: int = 8,
        chunk_size: int = 131_072,
    ) -> None:
        geoms = np.asarray(geometries, dtype=object)
        keys_arr = np.asarray(keys)
        if geoms.ndim != 1 or keys_arr.shape != geoms.shape or len(geoms) == 0:
            raise ValueError(f"need non-empty 1-D geometries and keys of one length: {geoms.shape}, {keys_arr.shape}")
        if not (math.isfinite(snap_distance_m) and snap_distance_m >= 0.0):
            raise InvalidInputError(f"snap_distance_m must be a finite number >= 0, not {snap_distance_m!r}")
        if chunk_size < 1 or not 0 <= cell_deg_log2 <= 12:
            raise ValueError("chunk_size must be >= 1 and cell_deg_log2 in 0..12")
        self.geometries = geoms
        self.keys = keys_arr
        self.snap_distance_m = float(snap_distance_m)
        self.chunk_size = int(chunk_size)
        self._key_rank = np.empty(len(keys_arr), dtype=np.int64)
        self._key_rank[np.argsort(keys_arr, kind="stable")] = np.arange(len(keys_arr))
        shapely.prepare(geoms)
        self._tree = shapely.STRtree(geoms)
        self.cell_deg_log2 = _fit_resolution(geoms, cell_deg_log2)
        self._grid = _GridBuilder(geoms, self.snap_distance_m, float(2**self.cell_deg_log2)).build()
        self._warm_up()
        release_free_memory()

    def __len__(self) -> int:
        return len(self.geometries)

    @property
    def grid_stats(self) -> dict[str, int]:
        """Cell counts of the accelerator grid and its memory in bytes."""
        return {**self._grid.stats, "bytes": self._grid.nbytes}

    def _warm_up(self) -> None:
        """Build every polygon's GEOS point-in-area index now, so the first queries are as fast as the rest.

        GEOS builds that index on the *second* test against a prepared polygon (the first is a plain scan), so
        each polygon is tested twice: 0.6 s here, against a 5x slower first pass over a million points.
        """
        xmin, ymin, xmax, ymax = shapely.bounds(self.geometries).T
        for _ in range(2):
            shapely.contains_xy(self.geometries, (xmin + xmax) / 2, (ymin + ymax) / 2)
        self.locate_many(np.array([0.0]), np.array([0.0]))

    # -- batch -------------------------------------------------------------------------------------------------

    def locate_many(
        self,
        lats: npt.ArrayLike,
        lons: npt.ArrayLike,
        snap_distance_m: float | None = None,
        *,
        chunk_size: int | None = None,
    ) -> LocateResult:
        """Locate WGS84 points; one row of :class:`LocateResult` per point, in input order.

        Never raises for bad coordinates: those rows get ``match=INVALID`` and a message in ``error``.
        ``snap_distance_m`` overrides the index default for this call (0 turns snapping off).
        """
        lat = np.atleast_1d(np.asarray(lats, dtype=np.float64))
        lon = np.atleast_1d(np.asarray(lons, dtype=np.float64))
        if lat.shape != lon.shape or lat.ndim != 1:
            raise InvalidInputError(f"lats and lons must be 1-D arrays of one length: {lat.shape}, {lon.shape}")
        snap = self.snap_distance_m if snap_distance_m is None else float(snap_distance_m)
        if not (math.isfinite(snap) and snap >= 0.0):
            raise InvalidInputError(f"snap_distance_m must be a finite number >= 0, not {snap_distance_m!r}")
        n = len(lat)
        result = LocateResult(
            index=np.full(n, -1, dtype=np.int64),
            match=np.zeros(n, dtype=np.int8),
            distance_m=np.full(n, np.nan),
            also_in=_empty_tuples(n),
            error=np.full(n, None, dtype=object),
        )
        step = chunk_size or self.chunk_size
        for lo in range(0, n, step):
            self._locate_chunk(lat[lo : lo + step], lon[lo : lo + step], snap, result, lo)
        return result

    def _locate_chunk(self, lat: FloatArray, lon: FloatArray, snap: float, out: LocateResult, lo: int) -> None:
        """Answer one chunk into ``out`` rows ``lo:lo+len(lat)``."""
        ok, messages = validate_lat_lon(lat, lon)
        rows = np.nonzero(ok)[0]
        bad = np.nonzero(~ok)[0]
        out.match[lo + bad] = Match.INVALID
        out.error[lo + bad] = messages[bad]
        lat, lon = lat[rows], lon[rows]
        codes = self._grid.lookup(lat, lon)
        index = np.where(codes >= 0, codes, -1).astype(np.int64)
        match = np.where(codes >= 0, Match.INSIDE, Match.NONE).astype(np.int8)
        distance = np.where(codes >= 0, 0.0, np.nan)
        also_in: dict[int, tuple[int, ...]] = {}
        in_boundary = np.nonzero(codes <= _BOUNDARY0)[0]
        if len(in_boundary):
            self._exact(in_boundary, lat, lon, codes, index, match, also_in)
        distance[match != Match.NONE] = 0.0
        far = snap > self._grid.snap_m
        pending = np.nonzero((match == Match.NONE) & ((codes == _EMPTY_NEAR) | (codes <= _BOUNDARY0) | far))[0]
        if snap > 0.0 and len(pending):
            near_row, near_dist = self._snap(lat[pending], lon[pending], snap)
            hit = near_row >= 0
            index[pending[hit]] = near_row[hit]
            match[pending[hit]] = Match.NEAREST
            distance[pending[hit]] = near_dist[hit]
        out.index[lo + rows] = index
        out.match[lo + rows] = match
        out.distance_m[lo + rows] = distance
        for pos, others in also_in.items():
            out.also_in[lo + rows[pos]] = others

    def _exact(
        self,
        pos: IntArray,
        lat: FloatArray,
        lon: FloatArray,
        codes: npt.NDArray[np.int32],
        index: IntArray,
        match: npt.NDArray[np.int8],
        also_in: dict[int, tuple[int, ...]],
    ) -> None:
        """Exact PIP for points in boundary cells: fills ``index``/``match`` (and ``also_in`` for overlaps)."""
        which, cand = self._grid.candidates(codes[pos])
        point = pos[which]
        order = np.argsort(cand, kind="stable")  # group by polygon: far better cache use in GEOS
        point, cand = point[order], cand[order]
        hit = shapely.contains_xy(self.geometries[cand], lon[point], lat[point])
        point, cand = point[hit], cand[hit]
        hits = np.bincount(point, minlength=len(lat))
        single = hits[point] == 1
        index[point[single]] = cand[single]
        match[point[single]] = Match.INSIDE
        if not np.all(single):
            self._resolve_overlaps(point[~single], cand[~single], lat, lon, index, match, also_in)

    def _resolve_overlaps(
        self,
        point: IntArray,
        cand: IntArray,
        lat: FloatArray,
        lon: FloatArray,
        index: IntArray,
        match: npt.NDArray[np.int8],
        also_in: dict[int, tuple[int, ...]],
    ) -> None:
        """Points inside 2+ polygons: the deepest polygon wins (ties: lowest key); see the module docstring."""
        depth = self._depths(cand, lat[point], lon[point])
        order = np.lexsort((self._key_rank[cand], -np.round(depth / _DEPTH_TIE_M), point))
        point, cand = point[order], cand[order]
        first = np.ones(len(point), dtype=bool)
        first[1:] = point[1:] != point[:-1]
        for start, stop in zip(np.nonzero(first)[0], [*np.nonzero(first)[0][1:], len(point)], strict=True):
            p = int(point[start])
            index[p] = cand[start]
            match[p] = Match.OVERLAP
            others = cand[start + 1 : stop]
            also_in[p] = tuple(int(c) for c in others[np.argsort(self._key_rank[others])])

    def _depths(self, cand: IntArray, lat: FloatArray, lon: FloatArray) -> FloatArray:
        """Distance in metres from each point to the boundary of its paired polygon (the point is inside)."""
        boundaries = shapely.boundary(self.geometries[cand])
        depth = metric_distances(boundaries, lat, lon, 2_000.0)
        deep = ~np.isfinite(depth)
        if np.any(deep):
            depth[deep] = metric_distances(boundaries[deep], lat[deep], lon[deep], math.inf)
        return depth

    def _snap(self, lat: FloatArray, lon: FloatArray, snap: float) -> tuple[IntArray, FloatArray]:
        """Nearest polygon within ``snap`` metres of each point: (row or -1, metres or NaN); ties by key."""
        row = np.full(len(lat), -1, dtype=np.int64)
        dist = np.full(len(lat), np.nan)
        pos, cand, metres = self._within(lat, lon, snap)
        if len(pos):
            order = np.lexsort((self._key_rank[cand], metres, pos))
            pos, cand, metres = pos[order], cand[order], metres[order]
            first = np.ones(len(pos), dtype=bool)
            first[1:] = pos[1:] != pos[:-1]
            row[pos[first]] = cand[first]
            dist[pos[first]] = metres[first]
        return row, dist

    def _within(self, lat: FloatArray, lon: FloatArray, radius_m: float) -> tuple[IntArray, IntArray, FloatArray]:
        """(point position, polygon row, metres) for every polygon within ``radius_m`` of each point."""
        dlat, dlon = _degree_box(lat, radius_m)
        pos, cand = self._tree.query(shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat))
        metres = metric_distances(self.geometries[cand], lat[pos], lon[pos], radius_m)
        keep = np.isfinite(metres)
        return pos[keep], cand[keep], metres[keep]

    # -- scalar ------------------------------------------------------------------------------------------------

    def _check_point(self, lat: float, lon: float) -> None:
        """Raise :class:`InvalidCoordinateError` for one bad coordinate (message as in ``validate_lat_lon``)."""
        ok, messages = validate_lat_lon(np.array([lat], dtype=np.float64), np.array([lon], dtype=np.float64))
        if not ok[0]:
            raise InvalidCoordinateError(str(messages[0]), lat=lat, lon=lon)

    def locate(self, lat: float, lon: float, snap_distance_m: float | None = None) -> Location:
        """Locate one WGS84 point (through :meth:`locate_many`); raises InvalidCoordinateError for bad input."""
        result = self.locate_many(np.array([lat], dtype=np.float64), np.array([lon], dtype=np.float64), snap_distance_m)
        if result.match[0] == Match.INVALID:
            raise InvalidCoordinateError(str(result.error[0]), lat=lat, lon=lon)
        row = int(result.index[0])
        also: tuple[int, ...] = result.also_in[0]
        return Location(
            index=row,
            key=self.key_of(row),
            match=Match(int(result.match[0])).label,
            distance_m=float(result.distance_m[0]),
            also_in=also,
            also_in_keys=tuple(self.key_of(i) for i in also),
        )

    def key_of(self, row: int) -> Any:
        """The key of a row as a plain Python value (``str`` for commune codes), None for -1."""
        if row < 0:
            return None
        key = self.keys[row]
        return key.item() if isinstance(key, np.generic) else key

    def near(self, lat: float, lon: float, radius_m: float) -> list[tuple[int, float]]:
        """Rows of the polygons within ``radius_m`` metres of the point, as (row, metres), nearest first.

        The distance is from the point to the polygon (0.0 if the point is inside it); ties go to the lowest key.
        """
        self._check_point(lat, lon)
        if not (math.isfinite(radius_m) and radius_m >= 0.0):
            raise InvalidInputError(f"radius_m must be a finite number >= 0, not {radius_m!r}")
        _, cand, metres = self._within(np.array([float(lat)]), np.array([float(lon)]), float(radius_m))
        order = np.lexsort((self._key_rank[cand], metres))
        return [(int(cand[i]), float(metres[i])) for i in order]
