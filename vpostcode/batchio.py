"""Streamed reading and writing of tabular files for the batch commands (CSV, GeoJSON, GeoPackage, GeoParquet).

The format is chosen by the file extension. Files are read and written in chunks so that a batch of any size runs
in bounded memory; every input column is kept, and result columns are appended to each chunk before it is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely

from vpostcode.errors import InvalidInputError

FORMATS = {".csv": "csv", ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".parquet": "parquet",
           ".geoparquet": "parquet"}
DEFAULT_CHUNK = 50_000


def file_format(path: str | Path) -> str:
    """The format name for a path, from its extension; anything else is an ``InvalidInputError``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInputError(
            f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(sorted(FORMATS))}",
            parameter="path",
        )
    return FORMATS[suffix]


def count_rows(path: str | Path) -> int | None:
    """The number of rows, when it is cheap to know (for a progress bar's total); None otherwise."""
    _require_file(path)
    kind = file_format(path)
    if kind == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    if kind in ("gpkg", "geojson"):
        return int(pyogrio.read_info(path)["features"])
    with open(path, "rb") as handle:
        return max(sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)


def _require_file(path: str | Path) -> Path:
    source = Path(path)
    if not source.is_file():
        raise InvalidInputError(f"{source}: no such file", parameter="input")
    return source


def read_chunks(path: str | Path, chunk_size: int = DEFAULT_CHUNK) -> Iterator[pd.DataFrame]:
    """Yield the rows of a file in chunks; spatial formats yield GeoDataFrames (geometry column ``geometry``)."""
    source = _require_file(path)
    kind = file_format(source)
    if kind == "csv":
        yield from pd.read_csv(source, chunksize=chunk_size, dtype=str, keep_default_na=False)
    elif kind == "parquet":
        yield from _parquet_chunks(source, chunk_size)
    else:
        total = int(pyogrio.read_info(source)["features"])
        for start in range(0, total, chunk_size):
            yield pyogrio.read_dataframe(source, skip_features=start, max_features=chunk_size)


def _parquet_chunks(source: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    parquet = pq.ParquetFile(source)
    is_geo = b"geo" in (parquet.schema_arrow.metadata or {})
    for batch in parquet.iter_batches(batch_size=chunk_size):
        table = pa.Table.from_batches([batch], schema=parquet.schema_arrow)
        yield gpd.GeoDataFrame.from_arrow(table) if is_geo else table.to_pandas()


def point_columns(frame: pd.DataFrame, lat_column: str | None, lon_column: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Latitudes and longitudes of a chunk: from the named (or usual) columns, else from point geometries.

    Values that are not numbers become NaN so that the row gets an error and the batch goes on.
    """
    lat_name = lat_column or _find_column(frame, ("lat", "latitude", "y"))
    lon_name = lon_column or _find_column(frame, ("lon", "lng", "longitude", "x"))
    if lat_name in frame.columns and lon_name in frame.columns:
        lats = pd.to_numeric(frame[lat_name], errors="coerce").to_numpy(dtype=float)
        lons = pd.to_numeric(frame[lon_name], errors="coerce").to_numpy(dtype=float)
        return lats, lons
    if isinstance(frame, gpd.GeoDataFrame) and lat_column is None and lon_column is None:
        geoms = frame.geometry.to_numpy()
        is_point = shapely.get_type_id(geoms) == 0
        lons = np.where(is_point, shapely.get_x(geoms), np.nan)
        lats = np.where(is_point, shapely.get_y(geoms), np.nan)
        return lats, lons
    raise InvalidInputError(
        f"no coordinate columns {lat_name!r} / {lon_name!r} in the input "
        f"(columns: {', '.join(map(str, frame.columns))}); name them with --lat-column and --lon-column",
        parameter="lat_column",
    )


def _find_column(frame: pd.DataFrame, names: tuple[str, ...]) -> str:
    lowered = {str(column).lower(): str(column) for column in frame.columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    return names[0]


class ChunkWriter:
    """Append chunks to an output file of any supported format; the file appears complete only on success.

    Output goes to a temporary sibling first and is renamed into place on a clean exit, so an interrupted batch
    never leaves a truncated file under the requested name.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.kind = file_format(self.path)
        self._tmp = self.path.with_name(f".{self.path.name}.partial{self.path.suffix}")
        self._parquet: pq.ParquetWriter | None = None
        self._rows = 0

    def __enter__(self) -> ChunkWriter:
        if self._tmp.exists():
            self._tmp.unlink()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append one chunk (all chunks must have the same columns)."""
        first = self._rows == 0
        if self.kind == "csv":
            frame.to_csv(self._tmp, mode="w" if first else "a", header=first, index=False)
        elif self.kind == "parquet":
            self._write_parquet(frame)
        else:
            spatial = frame if isinstance(frame, gpd.GeoDataFrame) else _as_points(frame)
            driver = "GPKG" if self.kind == "gpkg" else "GeoJSON"
            pyogrio.write_dataframe(spatial, self._tmp, driver=driver, append=not first, layer=self.path.stem)
        self._rows += len(frame)

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        if isinstance(frame, gpd.GeoDataFrame):
            # geopandas has no incremental GeoParquet writer; its own converter gives the table with "geo" metadata.
            from geopandas.io.arrow import _geopandas_to_arrow

            table = _geopandas_to_arrow(frame, index=False)
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._tmp, table.schema)
        self._parquet.write_table(table.cast(self._parquet.schema))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if exc_type is None:
            if not self._tmp.exists():
                self._tmp.write_text("")
            self._tmp.replace(self.path)
        elif self._tmp.exists():
            self._tmp.unlink()


def _as_points(frame: pd.DataFrame, lat: str = "lat", lon: str = "lon") -> gpd.GeoDataFrame:
    """A plain table as point features (from its result coordinates), for the spatial output formats."""
    lats, lons = (
        pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float) if name in frame.columns
        else np.full(len(frame), np.nan)
        for name in (lat, lon)
    )
    ok = np.isfinite(lats) & np.isfinite(lons)
    geoms = np.asarray(shapely.points(np.where(ok, lons, 0.0), np.where(ok, lats, 0.0)), dtype=object)
    geoms[~ok] = None
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def as_dict_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A chunk as JSON-ready records (NaN → None)."""
    return [
        {str(key): (None if isinstance(value, float) and not np.isfinite(value) else value)
         for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def add_columns(frame: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """The input chunk with result columns appended; a result named like an input column gets ``result_``."""
    out = frame.copy()
    for name, values in columns.items():
        out[f"result_{name}" if name in frame.columns else name] = values
    return out


def null_where(values: npt.ArrayLike, missing: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """``values`` as an object column with None where ``missing`` is true (None, not NaN, for text columns)."""
    out = np.asarray(values).astype(object)
    out[np.asarray(missing, dtype=bool)] = None
    return out
