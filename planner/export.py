"""Exports of a plan for GIS and spreadsheets: GeoPackage and Excel.

- :func:`write_geopackage`: layers ``districts`` (polygons, or an attribute
  table when the districts have none), ``facilities`` and ``areas``, in
  EPSG:4326, readable by QGIS and geopandas.
- :func:`write_excel`: one sheet per table. Row 1 holds headers a planner
  reads (Chinese or English, from :mod:`planner.i18n`), row 2 the machine
  column names, data from row 3 as real numbers, booleans and text. A notes
  sheet says what is what. :func:`read_excel` reads such a file back into
  DataFrames keyed by table name.

Every write goes through :func:`planner.io.write_atomic` (temporary file,
then rename) and refuses to overwrite the scenario's input files.
"""

from __future__ import annotations

from pathlib import Path
import math
import os
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd

from . import i18n
from .io import write_atomic

__all__ = ["write_geopackage", "write_excel", "read_excel", "TABLES"]

TABLES = ("districts", "facilities", "areas")
ID_COLUMNS = {"districts": "district_id", "facilities": "facility_id", "areas": "area_id"}


#: Roll-up sheet titles (both languages) → table key.
ROLLUP_SHEETS = {i18n.table_label(k, lang): k for k in i18n.TABLE_LABELS if k.startswith("rollup_")
                 for lang in ("zh", "en")}


def _protect(result) -> list:
    sources = getattr(result.scenario, "sources", {}) or {}
    return [p for p in sources.values() if p]


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Columns with one clear type: object columns of numbers become float,
    of booleans bool, anything else text (blanks stay missing)."""
    out = df.copy()
    for c in out.columns:
        if c == getattr(out, "_geometry_column_name", None) or str(out[c].dtype) == "geometry":
            continue
        s = out[c]
        if s.dtype != object and not pd.api.types.is_string_dtype(s.dtype):
            continue
        values = [v for v in s.to_numpy(object) if not _missing(v)]
        if values and all(isinstance(v, (bool, np.bool_)) for v in values) and len(values) == len(s):
            out[c] = s.astype(bool)
        elif values and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                            for v in values):
            out[c] = pd.to_numeric(s, errors="coerce").astype(float)
        else:
            out[c] = pd.Series([None if _missing(v) else str(v) for v in s.to_numpy(object)],
                               index=s.index, dtype=object)
    return out


def rollup_tables(result) -> dict:
    """``{"rollup_prefecture": frame, …}``: one roll-up per level above the leaves, top level first."""
    from .levels import Tree

    parents = getattr(result.scenario, "parents", None)
    if parents is None or not len(parents) or not hasattr(result, "rollup"):
        return {}
    tree = Tree.from_scenario(result.scenario)
    above = [lv for lv in tree.levels if lv in set(tree.level[tree.n_leaves:])]
    return {f"rollup_{lv}": result.rollup(lv) for lv in above}


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


# ------------------------------------------------------------------ GeoPackage

def write_geopackage(result, path) -> Path:
    """Write the plan's tables as GeoPackage layers (atomically).

    Parameters
    ----------
    result : planner.Result
    path : str or Path
        The ``.gpkg`` file; replaced if it exists (never an input file).

    Returns
    -------
    pathlib.Path
    """
    import pyogrio

    tables = {}
    rollups = rollup_tables(result)
    for name in (*TABLES, *rollups):
        df = rollups[name] if name in rollups else getattr(result, name)
        if df is None:
            continue
        tidy = _tidy(df)
        if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
            tidy = gpd.GeoDataFrame(tidy, geometry=df.geometry.name, crs=df.crs or "EPSG:4326")
        tables[name] = tidy

    def write(tmp):
        os.unlink(tmp)  # GDAL creates the file itself
        for name, df in tables.items():
            if isinstance(df, gpd.GeoDataFrame):
                df.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
            else:  # districts without polygons: an attribute table
                pyogrio.write_dataframe(pd.DataFrame(df), tmp, layer=name, driver="GPKG")

    return write_atomic(Path(path), write, _protect(result))


# ------------------------------------------------------------------ Excel

PERCENT_COLUMNS = {"affordable_share", "care_bed_share", "access_share", "target_affordable_share",
                   "target_care_bed_share", "target_access_share", "affordable_share_before",
                   "affordable_share_after", "care_share_before", "care_share_after", "access_share_childcare",
                   "access_share_beds", "access_share_childcare_before", "access_share_beds_before",
                   "open_fraction"}
MONEY_COLUMNS = {"cost", "cost_per_unit", "cost_per_conversion", "fixed_cost"}
PEOPLE_COLUMNS = {"pop_total", "pop_0_2", "pop_60_plus", "pop_65_plus"}
# phased plans: money per year, whole years
MONEY_COLUMNS |= {"capital_cost", "operating_cost", "cost_yuan", "spent_to_date_yuan", "budget_yuan",
                  "budget_to_date_yuan", "cost_per_repurpose", "operating_cost_per_unit_year"}


def _number_format(column: str) -> str:
    if column in PERCENT_COLUMNS:
        return "0.0%"
    if column in MONEY_COLUMNS or column in PEOPLE_COLUMNS:
        return "#,##0"
    if column in ("lon", "lat"):
        return "0.00000"
    if column == "year":
        return "0"
    if "per_1000" in column or column.startswith("score_"):
        return "0.00"
    if column.startswith("people_"):
        return "#,##0"
    return "#,##0.0"


def _sheet_frame(result, name: str, lang: str, df=None) -> pd.DataFrame:
    """The table as written: geometry dropped (lon/lat kept), code columns explained in words."""
    df = getattr(result, name) if df is None else df
    geom = df.geometry if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns else None
    out = pd.DataFrame(df.drop(columns=[geom.name] if geom is not None else []))
    if geom is not None and name in ("facilities", "areas") and not {"lon", "lat"} <= set(out.columns):
        pts = geom.where(geom.geom_type == "Point", geom.representative_point())
        out["lon"], out["lat"] = pts.x.to_numpy(), pts.y.to_numpy()
    out = _tidy(out)

    def insert_after(col, new, values):
        if col in out.columns:
            out.insert(out.columns.get_loc(col) + 1, new, values)

    if name == "districts" and "shortfall_reason" in out.columns:
        insert_after("shortfall_reason", "shortfall_reason_text",
                     ["；".join(i18n.reason_lines(c, lang)) if lang == "zh" else "; ".join(i18n.reason_lines(c, lang))
                      for c in out["shortfall_reason"].fillna("")])
    if name == "facilities":
        if "state" in out.columns:
            insert_after("state", "state_text", [i18n.state_label(s, lang) for s in out["state"].fillna("")])
        if "kind" in out.columns:
            insert_after("kind", "kind_text", [i18n.kind_label(k, lang) for k in out["kind"].fillna("")])
    return out


def _kind(dtype) -> str:
    """'bool', 'number' or 'text': how a column is stored (listed on the notes sheet)."""
    if dtype == bool:
        return "bool"
    return "number" if pd.api.types.is_numeric_dtype(dtype) else "text"


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def write_excel(result, path, lang: str = "zh") -> Path:
    """Write the plan as an Excel workbook (atomically), ready to print.

    One sheet per table (区县 / 机构 / 需求单元, or Districts / Facilities /
    Areas) and a notes sheet. Row 1: headers in ``lang``; row 2: machine
    column names (read back with :func:`read_excel`); data from row 3 with
    numbers stored as numbers (shares formatted as %), the header rows
    frozen and column widths set. Geometry is dropped; points keep lon/lat.
    Printing: A4 landscape, fitted to one page wide, the two header rows
    repeated on every page.

    Written with XlsxWriter (number formats per column, rows streamed): on
    the Shanxi demo about 1.2 CPU-seconds, a third of the openpyxl writer it
    replaced (benchmarks/bench_export.py).

    Returns
    -------
    pathlib.Path
    """
    import xlsxwriter

    i18n.check_lang(lang)
    frames = {name: _sheet_frame(result, name, lang) for name in TABLES}
    titles = {name: i18n.table_label(name, lang) for name in TABLES}
    if getattr(result, "by_year", None) is not None:  # a phased plan: the phasing, every year, facilities by year
        for name, (title, df) in _phased_frames(result, lang).items():
            frames[name], titles[name] = df, title
    for name, df in rollup_tables(result).items():  # one sheet per level above the districts
        frames[name], titles[name] = _sheet_frame(result, name, lang, df), i18n.table_label(name, lang)

    def write(tmp):
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "nan_inf_to_errors": False,
                                            "strings_to_numbers": False, "strings_to_formulas": False,
                                            "strings_to_urls": False})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top"})
        code = wb.add_format({"italic": True, "font_color": "#808080", "font_size": 9})
        formats = {}
        for name, df in frames.items():
            ws = wb.add_worksheet(titles[name])
            cols = list(df.columns)
            kinds = [_kind(df[c].dtype) for c in cols]
            for j, c in enumerate(cols):
                fmt = None
                if kinds[j] == "number":
                    key = _number_format(c)
                    fmt = formats.setdefault(key, wb.add_format({"num_format": key}))
                sample = [_display_width(x) for x in df[c].head(200).astype(str)] if len(df) else [0]
                width = max(_display_width(i18n.column_label(c, lang)) * 0.6, _display_width(c) * 0.8,
                            max(sample) if kinds[j] == "text" else 10)
                ws.set_column(j, j, min(max(width + 2, 9), 45), fmt)
            ws.set_row(0, 32)
            ws.write_row(0, 0, [i18n.column_label(c, lang) for c in cols], head)
            ws.write_row(1, 0, cols, code)
            for r, row in enumerate(zip(*(_cell_values(df[c], kind) for c, kind in zip(cols, kinds))), start=2):
                ws.write_row(r, 0, row)  # None: a blank cell (the column's number format stays)
            ws.freeze_panes(2, 1)
            if cols:
                ws.autofilter(1, 0, len(df) + 1, len(cols) - 1)
            ws.set_landscape()
            ws.set_paper(9)            # A4
            ws.fit_to_pages(1, 0)      # one page wide, as many tall as needed
            ws.repeat_rows(0, 1)       # both header rows on every printed page
            ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        _notes_sheet(wb, result, frames, lang, wb.add_format({"bold": True}), formats, titles)
        wb.close()

    return write_atomic(Path(path), write, _protect(result))


def _phased_frames(result, lang: str) -> dict:
    """Sheets of a phased plan: name → (title, frame), year first so they read back apart from the tables."""
    out = {"phasing": (i18n.t("sheet_phasing", lang), _tidy(result.phasing()))}
    for year, rows in result.by_year.groupby("year", sort=True):
        df = rows.reset_index(drop=True)
        df = df[["year"] + [c for c in df.columns if c != "year"]]
        out[f"districts_{year}"] = (i18n.t("sheet_year", lang).format(year=year), _tidy(df))
    fy = result.facility_years
    out["facility_years"] = (i18n.t("sheet_facility_years", lang),
                             _tidy(fy[["year"] + [c for c in fy.columns if c != "year"]]))
    return out


def _cell_values(column: pd.Series, kind: str) -> list:
    """One column as Python values for the sheet: float / bool / str, None where missing or not finite."""
    if kind == "number":
        v = pd.to_numeric(column, errors="coerce").to_numpy(float)
        out = v.astype(object)
        out[~np.isfinite(v)] = None
        return out.tolist()
    if kind == "bool":
        return [None if _missing(x) else bool(x) for x in column.to_numpy(object)]
    return [None if _missing(x) else str(x) for x in column.to_numpy(object)]


def _notes_sheet(wb, result, frames, lang, bold, formats, titles=None) -> None:
    t = lambda k: i18n.t(k, lang)  # noqa: E731
    ws = wb.add_worksheet(t("sheet_notes"))
    sc = result.scenario
    status = t(f"status_{result.status}")
    rows = [
        (t("notes_scenario"), getattr(sc, "name", "")),
        (t("notes_status"), f"{status} ({result.status})"),
        (t("notes_cost"), float(result.cost)),
        (t("notes_attribution"), getattr(sc, "attribution", "") or t("attr_user_data")),
    ]
    targets = getattr(sc, "targets", None)
    if targets is not None:
        for k, v in vars(targets).items():  # a schedule {year: value} as text
            value = "; ".join(f"{y}: {x:g}" for y, x in sorted(v.items())) if isinstance(v, dict) else float(v)
            rows.append((f"{t('notes_targets')}: {i18n.column_label(k, lang)}", value))
    rows += [("", ""), (t("notes_machine_row"), ""), (t("notes_geometry"), ""), ("", "")]
    if getattr(result, "by_year", None) is not None:  # a phased plan: what its marginal costs are in
        rate = float(getattr(sc.options, "discount_rate", 0.0) or 0.0)
        rows.insert(len(rows) - 1, (t("notes_mc_years").format(rate=f"{100 * rate:g}%"), ""))
    money = formats.setdefault("#,##0", wb.add_format({"num_format": "#,##0"}))
    for i, (k, v) in enumerate(rows):
        ws.write_string(i, 0, str(k), bold if i < 4 else None)
        if isinstance(v, float):
            ws.write_number(i, 1, v, money if i == 2 else None)
        elif v != "":
            ws.write_string(i, 1, str(v))
    r = len(rows)
    for j, h in enumerate((t("notes_sheet"), t("notes_column"), t("notes_label"), t("notes_type"))):
        ws.write_string(r, j, h, bold)
    for name, df in frames.items():
        title = titles[name] if titles else i18n.table_label(name, lang)
        for c in df.columns:
            r += 1
            ws.write_row(r, 0, [title, c, i18n.column_label(c, lang), _kind(df[c].dtype)])
    ws.set_column(0, 0, 40)
    ws.set_column(1, 2, 36)
    ws.set_portrait()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


def read_excel(path) -> dict[str, pd.DataFrame]:
    """Read a workbook written by :func:`write_excel` back into tables.

    Returns ``{"districts": …, "facilities": …, "areas": …}`` (and
    ``"rollup_<level>"`` for each roll-up sheet) with the
    machine column names of row 2; sheets are recognised by their first
    column (``district_id`` …), whatever the language. Cell types are kept
    as stored: numeric columns come back as float, TRUE/FALSE columns as
    bool, text as text (empty cells as ``""``; in numeric columns NaN).
    """
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    out = {}
    try:
        tables, kinds = [], {}  # kinds: (sheet, column) -> stored type, from the notes sheet
        for ws in wb.worksheets:
            first = next(ws.iter_rows(min_row=2, max_row=2, max_col=1, values_only=True), (None,))
            if first and first[0] in ID_COLUMNS.values():
                tables.append(ws)
                continue
            for r in ws.iter_rows(values_only=True):
                if len(r) >= 4 and r[3] in ("bool", "number", "text") and r[0] and r[1]:
                    kinds[(r[0], r[1])] = r[3]
        for ws in tables:
            rows = ws.iter_rows(min_row=2, values_only=True)
            columns = next(rows)
            name = next(k for k, v in ID_COLUMNS.items() if v == columns[0])
            name = ROLLUP_SHEETS.get(ws.title, name)  # a roll-up sheet: keyed by district_id too
            data = [r for r in rows if any(v is not None for v in r)]
            cols = {}
            for j, c in enumerate(columns):
                if c is None:
                    continue
                values = [r[j] if j < len(r) else None for r in data]
                present = [v for v in values if v is not None]
                kind = kinds.get((ws.title, c))
                if kind is None:  # not listed: infer from the cells
                    kind = ("bool" if present and all(isinstance(v, bool) for v in present) else
                            "number" if present and all(isinstance(v, (int, float)) for v in present) else "text")
                if kind == "bool":
                    cols[c] = np.array([bool(v) for v in values], dtype=bool) if len(present) == len(values) \
                        else pd.array(values, dtype="boolean")
                elif kind == "number":
                    cols[c] = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
                else:
                    cols[c] = np.array(["" if v is None else str(v) for v in values], dtype=object)
            out[name] = pd.DataFrame(cols)
    finally:
        wb.close()
    return out
