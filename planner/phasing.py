"""The plan period: plan years, target schedules, population and budget per year.

A phased scenario (DESIGN.md "Phased plans over years") names its years
(``years: [2026, …, 2030]`` or ``{from: 2026, to: 2030}``), the population of
each year (a long table, or compound yearly rates from the areas table's base
year), targets that may change over the period (``{2025: 4.5, 2030: 5.5}``:
linear between the given years, flat outside) and a budget per year whose
unspent part carries over. This module turns those settings into plain
per-year numbers (the formulas themselves are in :mod:`planner.targets`);
validation of the files is in :mod:`planner.io`, the model rows in
:mod:`planner.phased`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._errors import PlannerError
from .targets import discounted, grown, scheduled

# Population columns that move with the years (pop_care_need only where the areas table has it).
POP_COLUMNS = ("pop_total", "pop_0_2", "pop_60_plus", "pop_care_need")
MAX_YEARS = 50  # a plan period, not a projection horizon


def plan_years(spec, where="scenario") -> list[int] | None:
    """Plan years from ``[2026, 2027, …]`` or ``{from: 2026, to: 2030}``; ``None`` stays ``None``.

    Years are whole numbers, consecutive and increasing (one model period
    per calendar year: budgets carry over and operating costs accrue yearly).
    """
    if spec is None:
        return None
    if isinstance(spec, dict):
        unknown = set(spec) - {"from", "to"}
        if unknown or not {"from", "to"} <= set(spec):
            raise PlannerError("years must be a list of years or {from: YEAR, to: YEAR}", where, None, "years")
        first, last = _year(spec["from"], where), _year(spec["to"], where)
        if last < first:
            raise PlannerError(f"years: 'to' ({last}) is before 'from' ({first})", where, None, "years")
        years = list(range(first, last + 1))
    elif isinstance(spec, (list, tuple, np.ndarray, pd.Index, range)):
        years = [_year(y, where) for y in spec]
    else:
        years = [_year(spec, where)]
    if not years:
        raise PlannerError("years is empty; give at least one plan year", where, None, "years")
    if any(b != a + 1 for a, b in zip(years, years[1:])):
        raise PlannerError(f"years must be consecutive and increasing (one per calendar year), got {years}",
                           where, None, "years")
    if len(years) > MAX_YEARS:
        raise PlannerError(f"{len(years)} plan years; at most {MAX_YEARS}", where, None, "years")
    return years


def _year(v, where, column="years") -> int:
    if isinstance(v, bool):
        raise PlannerError(f"a year must be a whole number, got {v!r}", where, None, column)
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise PlannerError(f"a year must be a whole number, got {v!r}", where, None, column) from None
    if not math.isfinite(f) or not f.is_integer() or not 1900 <= f <= 2200:
        raise PlannerError(f"a year must be a whole number between 1900 and 2200, got {v!r}", where, None, column)
    return int(f)


# ---------------------------------------------------------------- schedules

def is_schedule(value) -> bool:
    """A target given per year (``{2025: 4.5, 2030: 5.5}``) rather than one number."""
    return isinstance(value, dict)


def schedule_points(value, name: str, where="targets") -> tuple[np.ndarray, np.ndarray]:
    """The (years, values) of a schedule, sorted by year; raises PlannerError for a bad one."""
    if not value:
        raise PlannerError(f"{name}: a schedule needs at least one {{year: value}}", where, None, name)
    years = np.array([_year(y, where, name) for y in value], int)
    values = []
    for y in value:
        v = value[y]
        if isinstance(v, bool):
            raise PlannerError(f"{name} for {y} must be a number, got {v!r}", where, None, name)
        try:
            values.append(float(v))
        except (TypeError, ValueError):
            raise PlannerError(f"{name} for {y} must be a number, got {v!r}", where, None, name) from None
    order = np.argsort(years)
    years, values = years[order], np.asarray(values, float)[order]
    if len(np.unique(years)) != len(years):
        raise PlannerError(f"{name}: a year is given twice", where, None, name)
    return years, values


def at_year(value, year: int, name: str = "target") -> float:
    """A target's value in ``year``: the number itself, or the schedule linear between
    its given years and flat before the first and after the last."""
    if not is_schedule(value):
        return float(value)
    years, values = schedule_points(value, name)
    return float(scheduled(year, years, values))


def at_years(value, years, name: str = "target") -> np.ndarray:
    """:func:`at_year` for every plan year."""
    return np.array([at_year(value, y, name) for y in years], float)


# ---------------------------------------------------------------- population per year

def growth_factors(rates, years, base_year: int) -> np.ndarray:
    """Compound factors ``(1 + rate) ** (year − base_year)``, one per (rate, year).

    ``rates`` is an array of yearly rates (−0.05 = falling 5 % a year); the
    result has shape ``rates.shape + (len(years),)``.
    """
    steps = np.asarray(years, float) - float(base_year)
    return grown(np.asarray(rates, float)[..., None], steps)


def population_by_year(areas: pd.DataFrame, years, base_year: int, population=None, growth=None) -> pd.DataFrame:
    """The population of every area in every plan year (a long table).

    Parameters
    ----------
    areas : DataFrame
        Validated areas: ``area_id``, ``district_id`` and the population of
        ``base_year`` (``pop_total``, ``pop_0_2``, ``pop_60_plus``[, ``pop_care_need``]).
    years : list of int
    base_year : int
    population : DataFrame, optional
        Validated long table (``area_id``, ``year`` and population columns)
        covering every area and plan year; taken as it is.
    growth : dict or DataFrame, optional
        Yearly compound rates per population column, one set for all areas
        or a table with ``district_id`` and one row per district.

    Returns
    -------
    DataFrame with ``area_id``, ``year`` and the population columns, in
    (year, area order) order. Without ``population`` or ``growth`` the base
    population holds in every year.
    """
    cols = [c for c in POP_COLUMNS if c in areas.columns]
    n_a, n_y = len(areas), len(years)
    if population is not None:
        table = population.set_index(["year", "area_id"])
        idx = pd.MultiIndex.from_product([list(years), areas["area_id"]], names=["year", "area_id"])
        out = table.reindex(idx)
        for c in cols:  # a column the table leaves out follows the areas table (e.g. pop_care_need)
            if c not in table.columns:
                out[c] = np.tile(areas[c].to_numpy(float), n_y)
        return out.reset_index()[["area_id", "year", *cols]]
    data = {"area_id": np.tile(areas["area_id"].to_numpy(object), n_y), "year": np.repeat(years, n_a)}
    for c in cols:
        base = areas[c].to_numpy(float)
        rate = np.zeros(n_a)
        if isinstance(growth, pd.DataFrame):
            if c in growth.columns:
                by_d = growth.set_index("district_id")[c]
                rate = by_d.reindex(areas["district_id"]).fillna(0.0).to_numpy(float)
        elif growth:
            rate = np.full(n_a, float(growth.get(c, 0.0)))
        data[c] = (base[:, None] * growth_factors(rate, years, base_year)).T.ravel()
    return pd.DataFrame(data)


# ---------------------------------------------------------------- money per year

def budget_by_year(budget, years) -> np.ndarray | None:
    """Yuan available in each plan year (``None``: no budget, least cost).

    A number is the same every year; a dict gives years it names, 0 in the
    others (a year left out gets no new money, but unspent money carries over).
    """
    if budget is None:
        return None
    if isinstance(budget, dict):
        return np.array([float(budget.get(y, 0.0)) for y in years], float)
    return np.full(len(years), float(budget))


def discount_weights(years, rate: float) -> np.ndarray:
    """Present-value weight of a yuan spent in each year: ``1 / (1 + rate) ** (year − first year)``."""
    return discounted(rate, np.asarray(years, float) - float(years[0]))
