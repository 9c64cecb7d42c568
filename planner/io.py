"""Read input files into frames and write output files atomically.

Reading keeps every record and remembers its spreadsheet row number (header =
row 1) in ``attrs["rows"]``; :mod:`planner._validate` checks the frames.
Fully blank lines are not rows and are skipped, but row numbers still count
them. Every problem is a :class:`planner.PlannerError` naming file, row and column.
"""

from __future__ import annotations

from pathlib import Path
import os
import tempfile

import numpy as np
import pandas as pd
import geopandas as gpd

from ._errors import PlannerError
from ._validate import is_blank, validate_frame

READERS = {".csv": "csv", ".txt": "csv", ".xlsx": "excel", ".xlsm": "excel", ".geojson": "vector",
           ".json": "vector", ".gpkg": "vector", ".shp": "vector", ".parquet": "parquet"}


# ---------------------------------------------------------------- reading

def read_file(path) -> pd.DataFrame:
    """Read one table file as it is (no validation), keeping text as text.

    CSV is read as UTF-8 (with or without BOM), falling back to GB18030 for
    files saved by Chinese Excel. Returns a DataFrame or GeoDataFrame whose
    ``attrs["rows"]`` holds the spreadsheet row number of each record.
    """
    path = Path(path)
    if not path.exists():
        raise PlannerError("file not found", path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        hint = " (save it as .xlsx)" if path.suffix.lower() == ".xls" else ""
        raise PlannerError(f"unsupported file type {path.suffix!r}{hint}; use CSV, .xlsx, GeoJSON, "
                           "GeoPackage or Parquet", path)
    try:
        if kind == "csv":
            try:
                df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                                 encoding="utf-8-sig")
            except UnicodeDecodeError:
                df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                                 encoding="gb18030")
        elif kind == "excel":
            df = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
        elif kind == "parquet":
            try:
                df = gpd.read_parquet(path)
            except (ValueError, KeyError):
                df = pd.read_parquet(path)
        else:
            df = gpd.read_file(path)
    except PlannerError:
        raise
    except Exception as exc:  # the reader's own message is the useful part
        raise PlannerError(f"cannot read the file: {exc}", path) from None
    rows = np.arange(len(df)) + 2
    blank = _blank_rows(df)
    if blank.any():
        df, rows = df.loc[~blank], rows[~blank]
    df = df.reset_index(drop=True)
    df.attrs["rows"] = rows
    return df


def _blank_rows(df: pd.DataFrame) -> np.ndarray:
    cols = [c for c in df.columns if c != "geometry"]
    if not cols or df.empty:
        return np.zeros(len(df), bool)
    return np.column_stack([is_blank(df[c]) for c in cols]).all(axis=1) & (
        df.geometry.isna().to_numpy() if isinstance(df, gpd.GeoDataFrame) else True)


# ---------------------------------------------------------------- reading + validating

def validate_table(obj, table: str, source=None) -> pd.DataFrame:
    """Read (if a path) and validate one input table against :mod:`planner.schema`.

    Parameters
    ----------
    obj : path or DataFrame or GeoDataFrame
        A file (read with :func:`read_file`) or a frame the user holds.
    table : {"areas", "facilities", "districts", "od_matrix"}
    source : str, optional
        Name used in error messages; defaults to the file path or the table name.

    Returns
    -------
    GeoDataFrame (EPSG:4326) for areas and facilities; DataFrame or
    GeoDataFrame for districts. Columns are typed, defaults filled, extra
    columns kept. The input object is not modified.
    """
    if isinstance(obj, (str, os.PathLike)):
        source = source or str(obj)
        obj = read_file(obj)
    elif not isinstance(obj, pd.DataFrame):
        raise PlannerError(f"expected a file path or a DataFrame, got {type(obj).__name__}", source or table)
    return validate_frame(obj, table, source or table)


def validate_od(obj, source="od_matrix") -> pd.DataFrame:
    """Validate a long-format OD matrix (origin_id, destination_id, minutes[, mode])."""
    df = validate_table(obj, "od_matrix", source)
    if not (df["mode"] != "").any():
        rows = df.attrs["rows"]
        df = df.drop(columns="mode")
        df.attrs["rows"] = rows
    return df


# ---------------------------------------------------------------- writing

def write_atomic(path, write, protect=()) -> Path:
    """Write a file through a temporary file in the same folder, then rename.

    Readers see the old file or the complete new one, never half of it; a
    failed write leaves neither a partial file nor the temporary one.

    Parameters
    ----------
    path : str or PathLike
        Destination; missing folders are created.
    write : callable
        ``write(tmp_path)`` writes the content to the temporary path, which
        keeps the destination's suffix (writers that go by it still work).
    protect : iterable of paths
        Input files never to overwrite (compared after resolving symlinks,
        ``..`` and hard links).
    """
    path = Path(path)
    target = path.resolve()
    for p in protect:
        p = Path(p)
        if p.resolve() == target or (p.exists() and path.exists() and os.path.samefile(p, path)):
            raise PlannerError("refusing to overwrite an input file; choose another output path", path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes the file 0600; outputs are shared, so use the usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(text: str, path, protect=()) -> Path:
    """:func:`write_atomic` for a UTF-8 text document (flushed to disk before the rename)."""
    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    return write_atomic(path, write, protect)
