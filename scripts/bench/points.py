"""Seeded random points inside real commune polygons (and at sea / abroad), for benchmarks and tests.

How points are drawn (vectorised, exact):

1. a commune for each point, with probability proportional to ``weights`` (the caller picks: population, the
   default of the reverse benchmark, models where geocoding requests come from; area gives uniform points over
   the land; ones gives the same count per commune);
2. within that commune one of its polygon parts, with probability proportional to the part's area in degrees
   (so island communes such as Truong Sa, whose bounding box is mostly sea, still sample fast);
3. a uniform point in the part's bounding box, kept if ``shapely.contains_xy`` says it is inside the part, redrawn
   otherwise (rejection sampling: the kept points are uniform inside the part).

Outside points are uniform in a box around Vietnam (``OUTSIDE_BOX``) and kept only if no polygon contains them:
they are sea or a neighbouring country, and a few land within the snap distance of the coast.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

OUTSIDE_BOX = (100.0, 6.0, 120.0, 25.0)
"""(lon_min, lat_min, lon_max, lat_max) of the box outside points are drawn from."""


def sample_inside(
    geoms: npt.NDArray[np.object_], weights: npt.ArrayLike, n: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """``n`` points inside the polygons: (lats, lons, row of the polygon each was drawn in)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    shapely.prepare(parts)
    part_area = shapely.area(parts)
    w = np.asarray(weights, dtype=np.float64)
    # weight of a part = weight of its commune * share of the commune's area in this part
    commune_area = np.bincount(owner, weights=part_area, minlength=len(geoms))
    p = w[owner] * part_area / commune_area[owner]
    p = p / p.sum()
    chosen = np.sort(rng.choice(len(parts), size=n, p=p))  # sorted: GEOS cache locality
    xmin, ymin, xmax, ymax = shapely.bounds(parts).T
    lats = np.empty(n)
    lons = np.empty(n)
    todo = np.arange(n)
    while len(todo):
        part = chosen[todo]
        x = rng.uniform(xmin[part], xmax[part])
        y = rng.uniform(ymin[part], ymax[part])
        ok = shapely.contains_xy(parts[part], x, y)
        lats[todo[ok]] = y[ok]
        lons[todo[ok]] = x[ok]
        todo = todo[~ok]
    return lats, lons, owner[chosen].astype(np.int64)


def sample_outside(
    geoms: npt.NDArray[np.object_], n: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``n`` points in ``OUTSIDE_BOX`` that no polygon contains (sea or abroad): (lats, lons)."""
    shapely.prepare(geoms)
    tree = shapely.STRtree(geoms)
    lats: list[npt.NDArray[np.float64]] = []
    lons: list[npt.NDArray[np.float64]] = []
    got = 0
    while got < n:
        x = rng.uniform(OUTSIDE_BOX[0], OUTSIDE_BOX[2], 2 * (n - got) + 16)
        y = rng.uniform(OUTSIDE_BOX[1], OUTSIDE_BOX[3], 2 * (n - got) + 16)
        pos, cand = tree.query(shapely.points(x, y))
        inside = np.zeros(len(x), dtype=bool)
        inside[pos[shapely.contains_xy(geoms[cand], x[pos], y[pos])]] = True
        lats.append(y[~inside])
        lons.append(x[~inside])
        got += int(np.count_nonzero(~inside))
    return np.concatenate(lats)[:n], np.concatenate(lons)[:n]


def sample_points(
    geoms: npt.NDArray[np.object_],
    weights: npt.ArrayLike,
    n: int,
    *,
    outside_share: float = 0.05,
    seed: int = 20250701,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """``n`` shuffled points: ``outside_share`` of them outside every polygon (row -1), the rest inside.

    Returns (lats, lons, rows): ``rows`` is the polygon a point was drawn in (-1 for outside points); a point in
    an overlap sliver may also lie in another polygon.
    """
    rng = np.random.default_rng(seed)
    n_out = round(n * outside_share)
    lat_in, lon_in, rows_in = sample_inside(geoms, weights, n - n_out, rng)
    lat_out, lon_out = sample_outside(geoms, n_out, rng)
    lats = np.concatenate([lat_in, lat_out])
    lons = np.concatenate([lon_in, lon_out])
    rows = np.concatenate([rows_in, np.full(n_out, -1, dtype=np.int64)])
    order = rng.permutation(n)
    return lats[order], lons[order], rows[order]
