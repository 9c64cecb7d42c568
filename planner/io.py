"""Read input files into frames and write output files atomically.

Reading keeps every record and remembers its spreadsheet row number (header =
row 1) in ``attrs["rows"]``; :mod:`planner._validate` checks the frames.
Fully blank lines are not rows and are skipped, but row numbers still count
them. Every problem is a :class:`planner.PlannerError` naming file, row and column.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
import csv
import json
import math
import os
import tempfile

import numpy as np
import pandas as pd
import geopandas as gpd
import shapely
import shapely.geometry

from . import crs as crs_
from ._errors import PlannerError
from . import _validate
from ._validate import is_blank, validate_frame
from .schema import TABLES

READERS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
           ".ods": "excel", ".geojson": "vector", ".json": "vector", ".gpkg": "vector", ".shp": "vector",
           ".parquet": "parquet", ".geoparquet": "parquet"}
# openpyxl for today's Excel; calamine (Rust, through pandas) for old .xls and LibreOffice .ods
EXCEL_ENGINES = {".xlsx": "openpyxl", ".xlsm": "openpyxl", ".xls": "calamine", ".ods": "calamine"}
SEPARATORS = (",", "\t", ";", "|")
# every column name the schema knows: a header row is the row that holds most of them
KNOWN_COLUMNS = {c.name for cols in TABLES.values() for c in cols} | {"lon", "lat", "geometry"}


# ---------------------------------------------------------------- reading

def read_file(path) -> pd.DataFrame:
    """Read one table file as it is (no validation), keeping text as text.

    CSV: UTF-8 (with or without BOM), else UTF-16 (with BOM), else GB18030
    (files saved by Chinese Excel); the separator is the one of ``, ; tab |``
    the header row holds most of. Excel: .xlsx/.xlsm (openpyxl), .xls and
    .ods (calamine). Parquet and GeoParquet (pyarrow). GeoJSON, GeoPackage,
    Shapefile (pyogrio).

    In CSV and spreadsheets the header is row 1, or row 2 when row 1 holds
    labels (a merged Chinese header as offices make them, or this planner's
    own Excel exports) and row 2 the column names. A column named twice, a
    nameless column holding values and a row with more values than the
    header has columns are errors, never silently renamed or dropped.

    Returns a DataFrame or GeoDataFrame whose ``attrs["rows"]`` holds the
    spreadsheet row number of each record.
    """
    path = Path(path)
    if not path.exists():
        raise PlannerError("file not found", path)
    if path.is_dir():
        raise PlannerError("this is a folder; give the table file inside it", path)
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise PlannerError(f"unsupported file type {path.suffix!r}; use CSV, Excel (.xlsx, .xls), .ods, "
                           "GeoJSON, GeoPackage or Parquet", path)
    rows, header_row = None, 1
    try:
        if kind == "csv":
            df, rows, header_row = _frame_from_grid(_csv_grid(path), path)
        elif kind == "excel":
            grid = pd.read_excel(path, sheet_name=0, header=None, dtype=object,
                                 engine=EXCEL_ENGINES[path.suffix.lower()])
            df, rows, header_row = _frame_from_grid(grid.to_numpy(object).tolist(), path)
        elif kind == "parquet":
            try:
                df = gpd.read_parquet(path)
            except (ValueError, KeyError):
                df = pd.read_parquet(path)
        else:
            try:
                df = gpd.read_file(path)
            except Exception:
                if path.suffix.lower() in (".geojson", ".json"):
                    _geojson_diagnose(path)  # names the feature's row when one geometry is bad
                raise
    except PlannerError:
        raise
    except Exception as exc:  # the reader's own message is the useful part
        raise PlannerError(f"cannot read the file: {exc}", path) from None
    if rows is None:
        _check_header(list(df.columns), path)
        rows = np.arange(len(df)) + 2
    blank = _blank_rows(df)
    if blank.any():
        df, rows = df.loc[~blank], rows[~blank]
    df = df.reset_index(drop=True)
    df.attrs["rows"] = rows
    df.attrs["header_row"] = header_row
    return df


def _decode(raw: bytes, path) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    raise PlannerError("cannot decode the text: save the file as UTF-8 (CSV UTF-8 in Excel)", path)


def _csv_grid(path) -> list[list[str]]:
    """CSV/TSV text → list of records (lists of cell strings); blank lines are empty records."""
    text = _decode(Path(path).read_bytes(), path)
    first = next((line for line in text.splitlines() if line.strip()), "")
    sep = max(SEPARATORS, key=first.count)
    try:
        return [rec for rec in csv.reader(StringIO(text, newline=""), delimiter=sep)]
    except csv.Error as exc:
        raise PlannerError(f"cannot read the CSV: {exc}", path) from None


def _cell_text(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return str(x).strip()


def _header_index(grid: list[list]) -> int:
    """0 when row 1 is the header; 1 when row 2 holds more known column names (a two-row header)."""
    def hits(i):
        return sum(_cell_text(c) in KNOWN_COLUMNS for c in grid[i]) if i < len(grid) else 0
    return 1 if hits(1) >= 2 and hits(1) > hits(0) else 0


def _check_header(names: list, path, row: int = 1) -> None:
    """A column named twice is an error (pandas would rename the second 'pop_total.1' and use the first)."""
    seen = {}
    for i, name in enumerate(names):
        name = str(name).strip()
        if name in seen and name:
            raise PlannerError(f"column appears twice (columns {_letter(seen[name])} and {_letter(i)}); "
                               "rename or delete one", path, row, name)
        seen[name] = i


def _letter(i: int) -> str:
    """0 → 'A', 27 → 'AB': columns as a spreadsheet names them."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _frame_from_grid(grid: list[list], path):
    """A grid of cells (header row or rows first) → (DataFrame, spreadsheet row of each record, header row)."""
    lead = 0
    while lead < len(grid) and not any(_cell_text(c) for c in grid[lead]):
        lead += 1  # blank lines before the header still count in row numbers
    grid = grid[lead:]
    if not grid:
        raise PlannerError("the file is empty (no header row)", path)
    h = _header_index(grid)
    header_row = lead + h + 1
    named = [_cell_text(c) for c in grid[h]]
    data = grid[h + 1:]
    width = max([len(named)] + [len(r) for r in data])
    header = named + [""] * (width - len(named))
    records = [r if len(r) == width else list(r) + [""] * (width - len(r)) for r in data]
    _check_header(header, path, header_row)
    keep = []
    for j, name in enumerate(header):
        if name:
            keep.append(j)
            continue
        # a nameless column: fine when empty (a trailing comma on every line), an error when it holds values
        full = next((i for i, r in enumerate(records) if _cell_text(r[j])), None)
        if full is None:
            continue
        if all(not n for n in header[j:]):
            raise PlannerError(f"the row has more values than the header has columns "
                               f"({sum(map(bool, header))}): {_cell_text(records[full][j])!r} "
                               f"in column {_letter(j)} has no column name", path, header_row + 1 + full, _letter(j))
        raise PlannerError(f"column {_letter(j)} holds values but has no name in the header row",
                           path, header_row, _letter(j))
    df = pd.DataFrame(records, columns=range(width), dtype=object)[keep] if records else \
        pd.DataFrame(columns=range(len(keep)), dtype=object)
    df.columns = [header[j] for j in keep]
    return df, np.arange(len(records)) + header_row + 1, header_row


def _geojson_diagnose(path) -> None:
    """Find the feature GDAL could not turn into a geometry; raise PlannerError naming its row."""
    try:
        doc = json.loads(_decode(Path(path).read_bytes(), path))
    except ValueError as exc:
        raise PlannerError(f"not valid JSON: {exc}", path) from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        return
    for i, feat in enumerate(features):
        geom = feat.get("geometry") if isinstance(feat, dict) else None
        if not geom:
            continue
        polys = []
        if geom.get("type") == "Polygon":
            polys = [geom.get("coordinates") or []]
        elif geom.get("type") == "MultiPolygon":
            polys = geom.get("coordinates") or []
        for poly in polys:
            for k, ring in enumerate(poly):
                if len(ring) < 4 or list(ring[0]) != list(ring[-1]):
                    what = "outer ring" if k == 0 else f"hole {k}"
                    raise PlannerError(f"the polygon's {what} is not closed (its first and last points differ) "
                                       "or has fewer than 4 points", path, i + 2, "geometry")
        try:
            shapely.geometry.shape(geom)
        except Exception as exc:
            raise PlannerError(f"unreadable geometry: {exc}", path, i + 2, "geometry") from None


def _blank_rows(df: pd.DataFrame) -> np.ndarray:
    cols = [c for c in df.columns if c != "geometry"]
    if not cols or df.empty:
        return np.zeros(len(df), bool)
    return np.column_stack([is_blank(df[c]) for c in cols]).all(axis=1) & (
        df.geometry.isna().to_numpy() if isinstance(df, gpd.GeoDataFrame) else True)


# ---------------------------------------------------------------- reading + validating

def validate_table(obj, table: str, source=None, crs=None) -> pd.DataFrame:
    """Read (if a path) and validate one input table against :mod:`planner.schema`.

    Parameters
    ----------
    obj : path or DataFrame or GeoDataFrame
        A file (read with :func:`read_file`) or a frame the user holds.
    table : {"areas", "facilities", "districts", "od_matrix"}
    source : str, optional
        Name used in error messages; defaults to the file path or the table name.
    crs : str or int, optional
        The coordinate system of the table's ``lon``/``lat`` (or ``x``/``y``)
        columns or of a geometry without one: ``"wgs84"`` (default),
        ``"gcj02"`` (Amap, Tencent), ``"bd09"`` (Baidu) or an EPSG code
        (``"EPSG:4547"``, ``4547``). Converted to WGS84 on load.

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
    source = source or table
    if crs is not None:
        obj = to_wgs84(obj, crs, source)
    return validate_frame(obj, table, source)


def to_wgs84(df: pd.DataFrame, crs, source) -> pd.DataFrame:
    """A copy of ``df`` whose coordinates, given in ``crs``, are WGS84 lon/lat.

    Cells that are not numbers are left as they are, for validation to name.
    """
    try:
        parsed = crs_.parse(crs)
    except ValueError as exc:
        raise PlannerError(str(exc), source, None, "crs") from None
    attrs = dict(df.attrs)
    df = df.copy()
    df.attrs.update(attrs)
    if parsed == "wgs84":
        return df
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns and df.geometry.notna().any():
        if isinstance(parsed, str):  # GCJ-02/BD-09 files say WGS84 (GeoJSON must); the numbers are not
            if df.crs is not None and not df.crs.equals("EPSG:4326"):
                raise PlannerError(f"the file's geometry is in {df.crs.to_string()}, not {crs}: "
                                   "drop the crs setting or fix the file", source, None, "crs")
            geom = shapely.transform(df.geometry.to_numpy(), crs_.transform_coords(parsed))
            df = df.set_geometry(gpd.GeoSeries(geom, index=df.index), crs=4326)
        elif df.crs is None:
            df = df.set_crs(parsed)
        elif not df.crs.equals(parsed):
            raise PlannerError(f"the file's geometry says {df.crs.to_string()} but crs is {crs}",
                               source, None, "crs")
        return df
    cols = [("lon", "lat")] if {"lon", "lat"} <= set(df.columns) else [("x", "y")] if {"x", "y"} <= set(df.columns) else []
    if not cols:
        return df
    cx, cy = cols[0]
    x = pd.to_numeric(pd.Series([v.strip() if isinstance(v, str) else v for v in df[cx]], dtype=object),
                      errors="coerce").to_numpy(float)
    y = pd.to_numeric(pd.Series([v.strip() if isinstance(v, str) else v for v in df[cy]], dtype=object),
                      errors="coerce").to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    lon, lat = np.full(len(df), np.nan), np.full(len(df), np.nan)
    if ok.any():
        lon[ok], lat[ok] = crs_.to_wgs84_lonlat(x[ok], y[ok], parsed)
    df["lon"] = np.where(ok, lon, df[cx].to_numpy(object)).astype(object)
    df["lat"] = np.where(ok, lat, df[cy].to_numpy(object)).astype(object)
    return df


def validate_population(obj, areas, years, source="population") -> pd.DataFrame:
    """Read (if a path) and validate a phased plan's population table (see :func:`planner._validate.validate_population`)."""
    if isinstance(obj, (str, os.PathLike)):
        source = source if source != "population" else str(obj)
        obj = read_file(obj)
    return _validate.validate_population(obj, areas, years, source)


def validate_growth(obj, districts, areas, source="growth"):
    """Growth rates: a mapping, or a table read (if a path) and validated (see :func:`planner._validate.validate_growth`)."""
    if isinstance(obj, (str, os.PathLike)):
        source = source if source != "growth" else str(obj)
        obj = read_file(obj)
    return _validate.validate_growth(obj, districts, areas, source)


def validate_od(obj, source="od_matrix") -> pd.DataFrame:
    """Validate a long-format OD matrix (origin_id, destination_id, minutes[, mode])."""
    df = validate_table(obj, "od_matrix", source)
    if not (df["mode"] != "").any():
        rows = df.attrs["rows"]
        df = df.drop(columns="mode")
        df.attrs["rows"] = rows
    return df


# ---------------------------------------------------------------- writing

def check_outputs(paths, protect=()) -> None:
    """Refuse a set of outputs before any is written (no partial sets).

    Raises PlannerError when an output would overwrite one of the ``protect``
    input files (compared after resolving symlinks, ``..`` and hard links), is
    an existing folder, or lies in a "folder" that is an existing file.
    """
    protect = [Path(p) for p in protect]
    for path in map(Path, paths):
        target = path.resolve()
        for p in protect:
            if p.resolve() == target or (p.exists() and path.exists() and os.path.samefile(p, path)):
                raise PlannerError("refusing to overwrite an input file; choose another output path", path)
        if path.is_dir():
            raise PlannerError("an output file would replace this folder; choose another output path", path)
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise PlannerError("this is a file, not a folder: choose a folder for the outputs", parent)
                break


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
    check_outputs([path], protect)
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
