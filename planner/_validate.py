"""Validation of input frames against :mod:`planner.schema`.

A leaf module: it imports only :mod:`planner._errors` and :mod:`planner.schema`
(plus numpy/pandas/geopandas/shapely), so reading files (:mod:`planner.io`),
validating and building a Scenario (:mod:`planner.scenario`) do not import
each other in a circle.

Every problem is reported as a :class:`planner.PlannerError` naming the source,
the row as a spreadsheet shows it (header = row 1) and the column. No row is
ever dropped: a row is either valid or the whole table fails.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import geopandas as gpd
import shapely

from ._errors import PlannerError
from .schema import (FORCE_ALIASES, FORCE_VALUES, LEVELS, Column, GEOMETRY_REQUIRED, ID_COLUMN, KINDS,
                     SETTING_ALIASES, SHARE_COLUMNS, TABLES, TARGET_COLUMNS, canonical_level)

TRUE_WORDS = {"true", "t", "yes", "y", "1", "是", "1.0"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "否", "0.0"}
KIND_ALIASES = {"托育": "childcare", "托育机构": "childcare", "养老": "eldercare", "养老机构": "eldercare"}


def is_blank(s: pd.Series) -> np.ndarray:
    v = s.to_numpy(dtype=object)
    return np.array([x is None or (isinstance(x, float) and math.isnan(x)) or
                     (isinstance(x, str) and not x.strip()) or x is pd.NA or x is pd.NaT for x in v], bool)



def validate_frame(df: pd.DataFrame, table: str, source=None) -> pd.DataFrame:
    """Validate one input frame against :mod:`planner.schema`.

    Parameters
    ----------
    df : DataFrame or GeoDataFrame
        As read by :func:`planner.io.read_file` (``attrs["rows"]`` gives the
        spreadsheet row of each record) or as a user holds it.
    table : {"areas", "facilities", "districts", "od_matrix"}
    source : str, optional
        The file (or table name) named in error messages.

    Returns
    -------
    GeoDataFrame (EPSG:4326) for areas and facilities; DataFrame or
    GeoDataFrame for districts. Columns are typed, defaults filled, extra
    columns kept. ``df`` itself is not modified.
    """
    attrs = dict(df.attrs)
    df = df.copy().reset_index(drop=True)
    df.attrs.update(attrs)
    t = _Table(df, table, source or table)
    df.columns = [str(c).strip() for c in df.columns]
    dup = pd.Index(df.columns)[pd.Index(df.columns).duplicated()]
    if len(dup):
        raise PlannerError("column appears twice", t.source, t.header_row, dup[0])
    if len(df) == 0:
        raise PlannerError("the table is empty (no data rows)", t.source)

    for col in TABLES[table]:
        _coerce_column(t, col)
    if table in ID_COLUMN:
        _check_ids(t, ID_COLUMN[table])
        if "name" in df.columns:
            df["name"] = df["name"].where(df["name"] != "", df[ID_COLUMN[table]])
    _CHECKS[table](t)
    out = _geometry(t)
    out.attrs["rows"] = t.rows  # later checks (links, OD ids) report the same row numbers
    return out


class _Table:
    """A table under validation: the frame, its source and its row numbers."""

    def __init__(self, df: pd.DataFrame, name: str, source):
        self.df, self.name, self.source = df, name, str(source)
        self.rows = np.asarray(df.attrs.get("rows", np.arange(len(df)) + 2))
        self.header_row = int(df.attrs.get("header_row", 1))  # 2 under a row of Chinese labels

    def fail(self, bad: np.ndarray, column: str, message) -> None:
        """Raise for the first True in ``bad`` (message may be a function of the value)."""
        bad = np.asarray(bad, bool)
        if not bad.any():
            return
        idx = np.flatnonzero(bad)
        i = idx[0]
        msg = message(self.df[column].iloc[i]) if callable(message) else message
        if len(idx) > 1:
            more = ", ".join(str(r) for r in self.rows[idx[1:4]])
            msg += f" (also row{'s' if len(idx) > 2 else ''} {more}{', …' if len(idx) > 4 else ''})"
        raise PlannerError(msg, self.source, int(self.rows[i]), column)



def _coerce_column(t: _Table, col) -> None:
    df = t.df
    if col.name not in df.columns:
        if col.required:
            raise PlannerError(f"required column is missing (columns found: {', '.join(map(str, df.columns))})",
                               t.source, t.header_row, col.name)
        df[col.name] = col.default
        df[col.name] = df[col.name].astype({"number": float, "bool": bool}.get(col.dtype, object))
        if col.dtype in ("id", "text"):
            df[col.name] = df[col.name].astype(object)
        return
    blank = is_blank(df[col.name])
    if col.required:
        t.fail(blank, col.name, "value is missing")
    if col.dtype in ("id", "text"):
        df[col.name] = np.where(blank, col.default or "", [_text(x) for x in df[col.name].to_numpy(object)])
        df[col.name] = df[col.name].astype(object)
        if col.dtype == "id":  # Excel shows long codes as 1.40105E+11 and saves that text to CSV: digits lost
            t.fail(df[col.name].str.fullmatch(r"\d(\.\d+)?[eE]\+?\d+").to_numpy(bool), col.name,
                   lambda v: f"{v!r} is a code cut short by Excel's scientific format; format the column "
                             "as text in Excel and save the CSV again")
    elif col.dtype == "number":
        raw = df[col.name].to_numpy(object)
        cleaned = [x.strip().replace(",", "") if isinstance(x, str) else x for x in raw]
        num = pd.to_numeric(pd.Series(cleaned, dtype=object), errors="coerce").to_numpy(float)
        t.fail(~blank & np.isnan(num), col.name, lambda v: f"not a number: {v!r}")
        t.fail(np.isinf(num), col.name, lambda v: f"not a finite number: {v!r}")
        df[col.name] = np.where(blank, np.nan if col.default is None else col.default, num).astype(float)
        if col.minimum is not None:
            t.fail((df[col.name] < col.minimum).to_numpy(), col.name, lambda v: f"must be ≥ {col.minimum:g}, got {v:g}")
    elif col.dtype == "bool":
        out = []
        for x in df[col.name].to_numpy(object):
            if isinstance(x, (bool, np.bool_)):
                out.append(bool(x))
                continue
            w = _text(x).lower()
            out.append(True if w in TRUE_WORDS else False if w in FALSE_WORDS or w == "" else None)
        bad = np.array([v is None for v in out])
        t.fail(bad & ~blank, col.name, lambda v: f"expected true/false (or 是/否), got {v!r}")
        df[col.name] = np.where(blank, col.default, [bool(v) for v in out]).astype(bool)


def _text(x) -> str:
    """Cell → text; ids typed as numbers (140105.0) become '140105'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return str(int(x))
    return str(x).strip()


def _check_ids(t: _Table, id_col: str) -> None:
    dup = t.df[id_col].duplicated(keep="first").to_numpy()
    if dup.any():
        first = {v: r for v, r in zip(t.df[id_col][::-1], t.rows[::-1])}
        t.fail(dup, id_col, lambda v: f"duplicate id {v!r} (first seen in row {first[v]})")


def _check_areas(t: _Table) -> None:
    df = t.df
    setting = df["setting"].map(lambda v: SETTING_ALIASES.get(v, v.lower()) if v else "urban")
    t.fail(~setting.isin(["urban", "rural"]).to_numpy(), "setting",
           lambda v: f"setting must be urban or rural (城镇/农村), got {v!r}")
    df["setting"] = setting
    for c in ("pop_0_2", "pop_60_plus"):
        t.fail((df[c] > df["pop_total"]).to_numpy(), c, lambda v, c=c: f"{c} ({v:g}) exceeds pop_total")
    t.fail((df["pop_care_need"] > df["pop_60_plus"]).to_numpy(), "pop_care_need",
           lambda v: f"pop_care_need ({v:g}) exceeds pop_60_plus: assessed people are aged 60+")


def _check_facilities(t: _Table) -> None:
    df = t.df
    kind = df["kind"].map(lambda k: KIND_ALIASES.get(k, k.lower()))
    t.fail(~kind.isin(KINDS).to_numpy(), "kind", lambda v: f"unknown kind {v!r}; use 'childcare' or 'eldercare'")
    df["kind"] = kind
    child, cand = (kind == "childcare").to_numpy(), df["candidate"].to_numpy(bool)
    t.fail((df["slots_affordable"] > df["slots"]).to_numpy(), "slots_affordable",
           lambda v: f"affordable slots ({v:g}) exceed slots")
    t.fail((df["beds_care"] > df["beds"]).to_numpy(), "beds_care", lambda v: f"care-oriented beds ({v:g}) exceed beds")
    for c in ("beds", "beds_care"):
        t.fail(child & (df[c] > 0).to_numpy(), c, f"a childcare facility cannot have {c}")
    for c in ("slots", "slots_affordable"):
        t.fail(~child & (df[c] > 0).to_numpy(), c, f"an eldercare facility cannot have {c}")
    # A 0 in a column that does not apply to the row's kind means "does not apply", like a blank.
    t.fail(child & (df["cost_per_conversion"] > 0).to_numpy(), "cost_per_conversion",
           "conversion applies to eldercare beds only; leave it blank (or 0) for childcare")
    df.loc[child, "cost_per_conversion"] = np.nan
    force = df["force"].map(lambda v: FORCE_ALIASES.get(v, v.lower()))
    t.fail(~force.isin(FORCE_VALUES).to_numpy(), "force",
           lambda v: f"force must be open, closed or blank, got {v!r}")
    df["force"] = force
    grows = (df["max_add"] > 0).to_numpy() | cand
    t.fail(grows & df["cost_per_unit"].isna().to_numpy(), "cost_per_unit",
           "cost_per_unit is needed where the facility can grow (max_add > 0 or candidate)")
    # Candidate sites: sized by min/max_size, no existing capacity.
    for c in ("slots", "beds"):
        t.fail(cand & (df[c] > 0).to_numpy(), c, "a candidate site has no existing capacity; put it in a row of its own")
    t.fail(cand & (df["max_add"] > 0).to_numpy(), "max_add",
           "a candidate's size is set by min_size/max_size, not max_add")
    t.fail(cand & df["max_size"].isna().to_numpy(), "max_size", "max_size is needed for a candidate site")
    t.fail(cand & (df["min_size"] > df["max_size"]).to_numpy(), "min_size",
           lambda v: f"min_size ({v:g}) exceeds max_size")
    for c in ("fixed_cost", "min_size", "max_size"):
        t.fail(~cand & (df[c].fillna(0) > 0).to_numpy(), c, f"{c} applies to candidate sites only (candidate = true)")
    df["max_size"] = df["max_size"].fillna(0.0)
    # Repurposing (phased plans): a childcare facility gives up slots for beds in place.
    rep = df["repurpose_to_beds"]
    t.fail(~child & (rep.fillna(0) > 0).to_numpy(), "repurpose_to_beds",
           "repurposing applies to childcare facilities (slots become beds); leave it blank for eldercare")
    df.loc[~child | (rep == 0).to_numpy(), "repurpose_to_beds"] = np.nan  # 0 or eldercare: does not apply
    t.fail(df["repurpose_to_beds"].notna().to_numpy() & df["cost_per_repurpose"].isna().to_numpy(),
           "cost_per_repurpose", "cost_per_repurpose is needed where repurpose_to_beds is given")


def shown(value) -> str:
    """A value as a planner wrote it: 1.5 (not np.float64(1.5)), 'abc' quoted."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{float(value):g}"
    return repr(value)


def as_number(value):
    """A number from a YAML/cell value: 3e9 written in YAML arrives as the string '3e9'.

    Returns a float, or the value unchanged when it is not a number (for the caller to report).
    """
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        try:
            return float(text)
        except ValueError:
            return value
    if isinstance(value, (np.integer, np.floating)) and not isinstance(value, np.bool_):
        return float(value)
    return value


def check_target(name: str, value, where: str, row=None, key=None) -> None:
    """One target value: a finite number ≥ 0, shares ≤ 1, minutes > 0.

    ``key`` is the column/key named in the error (default ``name``), e.g.
    ``"targets.care_bed_share"`` for a scenario file.
    """
    key = key or name
    v = as_number(value)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PlannerError(f"{name} must be a number, got {shown(value)}", where, row, key)
    if not math.isfinite(v) or v < 0:
        raise PlannerError(f"{name} must be a finite number ≥ 0, got {shown(value)}", where, row, key)
    if name in SHARE_COLUMNS and v > 1:
        raise PlannerError(f"{name} is a share between 0 and 1, got {shown(value)}", where, row, key)
    if name == "access_minutes" and v == 0:
        raise PlannerError("access_minutes must be > 0", where, row, key)


def _check_districts(t: _Table) -> None:
    n = t.df["min_affordable_centres"].to_numpy(float)
    t.fail(~np.isnan(n) & (n != np.round(n)), "min_affordable_centres",
           lambda v: f"min_affordable_centres is a whole number of centres, got {v:g}")
    for col in TARGET_COLUMNS:
        for i, v in enumerate(t.df[col.name].to_numpy(float)):
            if not math.isnan(v):
                check_target(col.name, v, t.source, int(t.rows[i]))


def _check_od(t: _Table) -> None:
    df = t.df
    mode = df["mode"].str.lower()
    t.fail(~mode.isin(["", "walk", "drive"]).to_numpy(), "mode", lambda v: f"mode must be walk or drive, got {v!r}")
    df["mode"] = mode
    key = df[["origin_id", "destination_id", "mode"]]
    dup = key.duplicated(keep="first").to_numpy()
    t.fail(dup, "destination_id", lambda v: f"the pair to {v!r} is listed twice")
    if (mode == "").any() and (mode != "").any():
        t.fail((mode == "").to_numpy(), "mode", "give a mode in every row or in none")


def _check_population(t: _Table) -> None:
    df = t.df
    year = df["year"].to_numpy(float)
    t.fail(~np.isclose(year, np.round(year)), "year", lambda v: f"a year must be a whole number, got {v:g}")
    df["year"] = np.round(year).astype(int)
    dup = df.duplicated(["area_id", "year"], keep="first").to_numpy()
    t.fail(dup, "year", lambda v: "this area and year are given twice")
    for c in ("pop_0_2", "pop_60_plus"):
        t.fail((df[c] > df["pop_total"]).to_numpy(), c, lambda v, c=c: f"{c} ({v:g}) exceeds pop_total")


def _check_growth(t: _Table) -> None:
    dup = t.df["district_id"].duplicated(keep="first").to_numpy()
    t.fail(dup, "district_id", lambda v: f"district {v!r} is given twice")


_CHECKS = {"areas": _check_areas, "facilities": _check_facilities, "districts": _check_districts,
           "od_matrix": _check_od, "population": _check_population, "growth": _check_growth}

# the population columns a growth rate may apply to (as planner.phasing.POP_COLUMNS)
POP_COLUMNS = tuple(c.name for c in TABLES["growth"] if c.dtype == "number") + ("pop_care_need",)


def validate_population(df, areas, years, source="population") -> pd.DataFrame:
    """Validate the population table of a phased plan against the areas and plan years.

    Every (area, plan year) must be there exactly once; a row for an area not
    in the areas table, or for a year outside the plan, is an error (never
    silently dropped). An optional ``pop_care_need`` column must be a number ≥ 0.
    """
    df = validate_frame(df, "population", source)
    rows = df.attrs["rows"]
    t = _Table(df, "population", source)
    if "pop_care_need" in df.columns:
        _coerce_column(t, Column("pop_care_need", "number", False, np.nan, "people", ""))
    known = set(areas["area_id"])
    t.fail(~df["area_id"].isin(known).to_numpy(), "area_id", lambda v: f"unknown area {v!r} (not in the areas table)")
    t.fail(~df["year"].isin(years).to_numpy(), "year",
           lambda v: f"{v} is outside the plan years {years[0]}–{years[-1]}")
    have = pd.MultiIndex.from_frame(df[["area_id", "year"]])
    want = pd.MultiIndex.from_product([areas["area_id"], list(years)], names=["area_id", "year"])
    missing = want.difference(have, sort=False)
    if len(missing):
        a, y = missing[0]
        more = f" and {len(missing) - 1} more area-years" if len(missing) > 1 else ""
        raise PlannerError(f"no row for area {a!r} in {y}{more}: give every area in every plan year", source,
                           None, "year")
    df = df.reset_index(drop=True)
    df.attrs["rows"] = rows
    df.attrs["checked_years"] = tuple(years)
    return pd.DataFrame(df.drop(columns=[c for c in ("geometry", "lon", "lat") if c in df.columns]))


def validate_growth(obj, districts, areas, source="growth"):
    """Yearly growth rates: a mapping of population column → rate, or a per-district table.

    Rates are compound yearly fractions (−0.05 = 5 % fewer each year), > −1.
    A table needs a row for every district that has areas.
    """
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k not in POP_COLUMNS:
                raise PlannerError(f"unknown growth key; allowed: {', '.join(POP_COLUMNS)}", source, None, k)
            try:
                r = float(v)
            except (TypeError, ValueError):
                raise PlannerError(f"growth rate must be a number, got {v!r}", source, None, k) from None
            if not math.isfinite(r) or r <= -1 or r > 1:
                raise PlannerError(f"growth rate is a yearly fraction between -1 and 1 (-0.05 = 5 % fewer a year), "
                                   f"got {v!r}", source, None, k)
            out[k] = r
        return out
    if isinstance(obj, pd.DataFrame) and obj.attrs.get("checked_growth"):
        return obj
    df = validate_frame(obj, "growth", source)
    t = _Table(df, "growth", source)
    if "pop_care_need" in df.columns:
        _coerce_column(t, Column("pop_care_need", "number", False, 0.0, "per year", "", minimum=-0.99))
    known = set(districts["district_id"])
    t.fail(~df["district_id"].isin(known).to_numpy(), "district_id",
           lambda v: f"unknown district {v!r} (not in the districts table)")
    for c in [c for c in POP_COLUMNS if c in df.columns]:
        t.fail((df[c] > 1).to_numpy(), c, lambda v: f"growth rate is a yearly fraction ≤ 1, got {v:g}")
    needed = pd.unique(areas["district_id"])
    missing = [d for d in needed if d not in set(df["district_id"])]
    if missing:
        raise PlannerError(f"no growth rates for district {missing[0]!r}"
                           + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
                           + ": give a row for every district with areas", source, None, "district_id")
    out = pd.DataFrame(df.drop(columns=[c for c in ("geometry", "lon", "lat") if c in df.columns]))
    out.attrs["rows"] = df.attrs.get("rows")
    out.attrs["checked_growth"] = True
    return out




def fail_at(df, source, bad, column, message) -> None:
    """Raise PlannerError for the first True in ``bad``, at that row of ``df``."""
    _Table(df, "", source).fail(bad, column, message)


def _geometry(t: _Table) -> pd.DataFrame:
    """Points/polygons in EPSG:4326 from the geometry column or lon/lat."""
    df, required = t.df, GEOMETRY_REQUIRED[t.name]
    has_geom = isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns and df.geometry.notna().any()
    has_lonlat = {"lon", "lat"} <= set(df.columns)
    if has_geom:
        gdf = df
        if gdf.crs is None:
            raise PlannerError("the geometry has no coordinate reference system (CRS); "
                               "set it (EPSG:4326 for lon/lat degrees)", t.source, None, "geometry")
        geom = gdf.geometry
        t.fail((geom.isna() | geom.is_empty).to_numpy(), geom.name, "geometry is missing or empty")
        if not gdf.crs.equals("EPSG:4326"):
            try:
                gdf = gdf.to_crs(4326)
            except Exception as exc:
                raise PlannerError(f"cannot convert from {gdf.crs.to_string()} to EPSG:4326: {exc}",
                                   t.source, None, "geometry") from None
        geom = gdf.geometry
        bad = ~geom.is_valid.to_numpy()
        if bad.any():  # repair self-intersections rather than reject real boundaries
            gdf.loc[bad, geom.name] = shapely.make_valid(geom[bad].to_numpy())
        b = gdf.geometry.bounds.to_numpy()
        t.fail((b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90), gdf.geometry.name,
               "coordinates out of range for lon/lat degrees (wrong CRS?)")
        if has_lonlat:
            lon, lat = _lonlat(t, required=False)
            p = gdf.geometry.representative_point()
            far = (np.abs(p.x.to_numpy() - lon) > 0.01) | (np.abs(p.y.to_numpy() - lat) > 0.01)
            t.fail(far & ~np.isnan(lon), "lon", "lon/lat disagree with the geometry by more than 0.01° "
                   "(are they in different coordinate systems?)")
        return gdf
    if has_lonlat:
        lon, lat = _lonlat(t, required=required)
        if required or not np.isnan(lon).all():
            t.fail(np.isnan(lon) != np.isnan(lat), "lat", "give both lon and lat, or neither")
            pts = gpd.points_from_xy(lon, lat)
            return gpd.GeoDataFrame(pd.DataFrame(df), geometry=pts, crs=4326)
    if required:
        raise PlannerError("no locations: give a geometry (GeoJSON/GeoPackage) or 'lon' and 'lat' columns "
                           "in WGS84 degrees", t.source, t.header_row, "lon")
    return pd.DataFrame(df.drop(columns="geometry", errors="ignore"))


def _lonlat(t: _Table, required: bool):
    out = []
    for c, lim in (("lon", 180), ("lat", 90)):
        raw = t.df[c].to_numpy(object)
        blank = is_blank(t.df[c])
        if required:
            t.fail(blank, c, "value is missing")
        v = pd.to_numeric(pd.Series([x.strip() if isinstance(x, str) else x for x in raw], dtype=object),
                          errors="coerce").to_numpy(float)
        t.fail(~blank & np.isnan(v), c, lambda x: f"not a number: {x!r}")
        t.fail(np.abs(v) > lim, c, lambda x, lim=lim: f"{x} is outside ±{lim}: give WGS84 degrees, not projected metres")
        t.df[c] = v
        out.append(v)
    return out


def check_links(areas, facilities, districts, sources, report=None):
    """Check the district tree and that every area and facility names a leaf district.

    Derives the districts from the areas when there is no table. Area and
    facility ``district_id`` values that are 12-digit statistical division
    codes (统计用区划代码) match a leaf whose id is their first 9 or 6 digits
    (a township or county table); the code is kept in ``division_code`` and
    the matches are counted in ``report`` (the scenario's load report).

    Returns
    -------
    (leaves, parents) : the leaf rows and the rows above them (``None`` when
    the table has one level).
    """
    report = {} if report is None else report
    if districts is None:
        ids = pd.unique(areas["district_id"])
        districts = pd.DataFrame({"district_id": ids, "name": ids, "parent_id": "", "level": ""})
        for col in TARGET_COLUMNS:
            districts[col.name] = np.nan
        districts["min_affordable_centres"] = np.nan
        districts.attrs["derived"] = True
    src = sources.get("districts", "districts")
    is_leaf = check_tree(districts, src)
    known = set(districts["district_id"])
    leaf_ids = set(districts["district_id"][is_leaf])
    what = "districts table" if not districts.attrs.get("derived") else "areas table"
    for table, df in (("areas", areas), ("facilities", facilities)):
        t = _Table(df, table, sources.get(table, table))
        _match_division_codes(df, leaf_ids, districts, table, report)
        t.fail(~df["district_id"].isin(known).to_numpy(), "district_id",
               lambda v: f"unknown district {v!r} (not in the {what})")
        t.fail(~df["district_id"].isin(leaf_ids).to_numpy(), "district_id",
               lambda v: f"district {v!r} has districts below it in the districts table; "
                         "point areas and facilities at the lowest level (a leaf district)")
    if is_leaf.all():
        return districts, None
    rows = np.asarray(districts.attrs.get("rows", np.arange(len(districts)) + 2))
    leaves, parents = districts[is_leaf].reset_index(drop=True), districts[~is_leaf].reset_index(drop=True)
    leaves.attrs["rows"], parents.attrs["rows"] = rows[is_leaf], rows[~is_leaf]
    return leaves, parents


def check_tree(districts, source) -> np.ndarray:
    """Validate ``parent_id`` / ``level`` as a tree; returns which rows are leaves.

    A table is several levels when some ``parent_id`` names a row of the
    table; then every ``parent_id`` must name one, links may not loop, and
    a row's level (where given) must lie below its parent's. A one-level
    table may use ``parent_id`` as a free label (e.g. the prefecture's code).
    Level words are stored in canonical form (``县`` → ``county``).
    """
    t = _Table(districts, "districts", source)
    d = districts
    if "level" not in d.columns:
        d["level"] = ""
    level = d["level"].astype(str).str.strip()
    canon = level.map(lambda w: canonical_level(w) if w else "")
    t.fail((level != "").to_numpy() & canon.isna().to_numpy(), "level",
           lambda v: f"unknown level {v!r}; use {', '.join(LEVELS)} (省/市/县/乡镇/村)")
    d["level"] = canon.fillna("").astype(object)
    ids = d["district_id"].astype(str).to_numpy(object)
    parent = d["parent_id"].astype(str).to_numpy(object)
    pos = pd.Index(ids).get_indexer(parent)
    given = parent != ""
    if not (pos >= 0).any():  # one level: parent_id is a label
        return np.ones(len(d), bool)
    t.fail(given & (pos < 0), "parent_id",
           lambda v: f"unknown parent {v!r}: no row of the districts table has this district_id")
    t.fail(parent == ids, "parent_id", lambda v: f"district {v!r} names itself as its parent")
    # cycles: follow parents for as many steps as there are rows
    up = pos.copy()
    for _ in range(len(d)):
        up = np.where(up >= 0, pos[np.maximum(up, 0)], -1)
    on_cycle = np.zeros(len(d), bool)
    on_cycle[up[up >= 0]] = True  # after n steps every walk that never ends sits on a loop
    if on_cycle.any():
        i = int(np.flatnonzero(on_cycle)[0])
        chain, j = [ids[i]], pos[i]
        while j != i:
            chain.append(ids[j])
            j = pos[j]
        t.fail(on_cycle, "parent_id", f"parent links form a loop: {' → '.join(chain + [ids[i]])}")
    rank = np.array([LEVELS.index(v) if v else -1 for v in d["level"]])
    pr = np.where(pos >= 0, rank[np.maximum(pos, 0)], -1)
    bad = (rank >= 0) & (pr >= 0) & (rank <= pr)
    t.fail(bad, "level", lambda v: f"level {v!r} is not below its parent's level")
    has_child = np.zeros(len(d), bool)
    has_child[pos[pos >= 0]] = True
    return ~has_child


def _match_division_codes(df, leaf_ids, districts, table, report) -> None:
    """12-digit statistical codes → the leaf named by their first 9 or 6 digits (kept in division_code)."""
    code = df["district_id"].astype(str)
    unknown = ~code.isin(leaf_ids) & code.str.fullmatch(r"\d{12}")
    if not unknown.any():
        return
    matched = pd.Series("", index=df.index, dtype=object)
    for digits in (9, 6):
        prefix = code.str[:digits]
        hit = unknown & (matched == "") & prefix.isin(leaf_ids)
        matched[hit] = prefix[hit]
    hit = (matched != "").to_numpy()
    if not hit.any():
        return
    if "division_code" not in df.columns:
        df["division_code"] = ""
    df.loc[hit, "division_code"] = code[hit].to_numpy()
    df.loc[hit, "district_id"] = matched[hit].to_numpy()
    levels = districts.set_index("district_id")["level"] if "level" in districts else None
    lv = sorted({(levels.get(m) if levels is not None else "") or f"{len(m)}-digit" for m in matched[hit]})
    report.setdefault("division_codes", {})[table] = {
        "rows": int(hit.sum()),
        "matched_to": ", ".join(lv),
        "message": f"{int(hit.sum())} {table} rows carry a 12-digit statistical division code (统计用区划代码) "
                   f"as district_id; matched to the districts table by the code's leading digits "
                   f"(original code kept in column division_code)",
    }
