"""Scenario, Targets and Options: what a planner sets before solving."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Callable
import math

import numpy as np
import pandas as pd

from ._errors import PlannerError
from .schema import SHARE_COLUMNS, TARGET_COLUMNS


@dataclass
class Targets:
    """Per-thousand targets and the life-circle access rule.

    Attributes
    ----------
    childcare_per_1000 : float
        Childcare slots per 1,000 residents (national 14th FYP: 4.5 by 2025).
    affordable_share : float
        Minimum affordable (普惠) share of all slots after the plan, 0–1.
    beds_per_1000_elderly : float
        Elderly-care beds per 1,000 people aged 60+ (GB 50437 norm: 40).
    care_bed_share : float
        Minimum care-oriented (护理型) share of beds, 0–1 (0.55 by 2025).
    access_minutes : float
        Catchment: a facility serves an area within this travel time.
    access_share : float
        Share of each area's need that must be served within the catchment.
    childcare_per_child : float
        Slots per child under 3 (e.g. 0.35), required as well as the
        per-1,000 target: need that follows births. 0 (default): off.

    In a phased scenario (``Scenario.years``) any target may be a schedule
    ``{year: value}``: linear between the given years, flat outside
    (:func:`planner.phasing.at_year`).
    """

    childcare_per_1000: float = 4.5
    affordable_share: float = 0.5
    beds_per_1000_elderly: float = 40.0
    care_bed_share: float = 0.55
    access_minutes: float = 15.0
    access_share: float = 0.8
    childcare_per_child: float = 0.0

    def validate(self, where: str = "targets") -> None:
        """Raise PlannerError for a negative value or a share outside 0–1 (in every year of a schedule)."""
        from .phasing import is_schedule, schedule_points

        for f in fields(self):
            value = getattr(self, f.name)
            if is_schedule(value):
                for year, v in zip(*schedule_points(value, f.name, where)):
                    check_target(f.name, v, f"{where} ({f.name} in {year})")
            else:
                check_target(f.name, value, where)

    def schedules(self) -> list[str]:
        """Names of the targets given per year."""
        from .phasing import is_schedule

        return [f.name for f in fields(self) if is_schedule(getattr(self, f.name))]

    def at(self, year: int) -> "Targets":
        """The targets of one year: every schedule evaluated at ``year``."""
        from .phasing import at_year

        return Targets(**{f.name: at_year(getattr(self, f.name), year, f.name) for f in fields(self)})


def check_target(name: str, value, where: str, row=None) -> None:
    """One target value: a finite number ≥ 0, shares ≤ 1, minutes > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise PlannerError(f"{name} must be a number, got {value!r}", where, row, name) from None
    if not math.isfinite(v) or v < 0:
        raise PlannerError(f"{name} must be a finite number ≥ 0, got {value!r}", where, row, name)
    if name in SHARE_COLUMNS and v > 1:
        raise PlannerError(f"{name} is a share between 0 and 1, got {value!r}", where, row, name)
    if name == "access_minutes" and v == 0:
        raise PlannerError("access_minutes must be > 0", where, row, name)


@dataclass
class Options:
    """How the problem is built and solved.

    Attributes
    ----------
    integer : bool
        Exact MILP: candidate sites open or not, slots and beds in whole units.
        Default False solves the LP relaxation (fast, fractional openings).
    solver : str
        ``"highs"`` (HiGHS via highspy, default) or ``"cbc"`` (PuLP's CBC).
    time_limit_s : float
        Solver time limit in seconds.
    mip_gap : float
        Relative optimality gap accepted in integer mode.
    new_beds_care : bool
        New beds are built care-oriented (counts towards the care share).
    circuity : float
        Walking: road distance ÷ straight-line distance (default 1.3).
    speed_kmh : float
        Walking speed, km/h (default 4.5).
    drive_speed_kmh, drive_circuity : float
        The same for driving (rural reach rules): 30 km/h, 1.4.
    score_decay : str
        Distance decay of the enhanced 2SFCA score: ``"step"`` (E2SFCA zones
        1/0.68/0.22) or ``"gaussian"``. The classic 2SFCA is always reported too.
    discount_rate : float
        Phased plans: yuan spent in year y weigh ``1 / (1 + rate) ** (y − first year)``
        in the objective (0: every year alike). Reported costs are not discounted.
    """

    integer: bool = False
    solver: str = "highs"
    time_limit_s: float = 60.0
    mip_gap: float = 1e-4
    new_beds_care: bool = True
    circuity: float = 1.3
    speed_kmh: float = 4.5
    drive_speed_kmh: float = 30.0
    drive_circuity: float = 1.4
    score_decay: str = "step"
    discount_rate: float = 0.0

    def validate(self, where: str = "options") -> None:
        if self.solver not in ("highs", "cbc"):
            raise PlannerError(f"solver must be 'highs' or 'cbc', got {self.solver!r}", where, None, "solver")
        if self.score_decay not in ("step", "gaussian"):
            raise PlannerError(f"score_decay must be 'step' or 'gaussian', got {self.score_decay!r}",
                               where, None, "score_decay")
        for name in ("time_limit_s", "circuity", "speed_kmh", "drive_speed_kmh", "drive_circuity"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise PlannerError(f"{name} must be a positive number, got {v!r}", where, None, name)
        r = self.discount_rate
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or not 0 <= r < 1:
            raise PlannerError(f"discount_rate is a yearly rate between 0 and 1 (0.03 = 3 %), got {r!r}",
                               where, None, "discount_rate")
        for name in ("circuity", "drive_circuity"):
            if getattr(self, name) < 1:
                raise PlannerError(f"{name} is road ÷ straight-line distance, ≥ 1; got {getattr(self, name)!r}",
                                   where, None, name)


@dataclass
class Scenario:
    """Everything one planning run needs: validated tables plus settings.

    Build one with :func:`planner.load_scenario`, :func:`planner.load_demo`
    or :meth:`Scenario.from_frames`; the tables are validated there, so the
    model can trust them.

    Attributes
    ----------
    areas, facilities : geopandas.GeoDataFrame
        Validated input tables (EPSG:4326), in input order.
    districts : pandas.DataFrame or geopandas.GeoDataFrame
        One row per district; polygons optional.
    targets : Targets
    budget : float or None
        Yuan. ``None``: meet every target at least cost. A number: spend at
        most this and minimise the total shortfall instead.
    options : Options
    name : str
    sources : dict
        Table name → file it was read from (for messages and to protect inputs).
    attribution : str
        Data sources (and which parts are synthetic), shown on maps.
    reach : None, str or dict
        Catchment rules per service and setting (urban/rural areas): ``None``
        walks ``targets.access_minutes`` everywhere; ``"life_circle"`` is the
        GB 50180 preset (childcare 5-minute walk, elderly care 15-minute walk,
        rural areas by car); see :func:`planner.access.reach_rules`.
    travel : None or a travel-time source
        ``planner.access.StraightLine()`` (default), ``ODMatrix`` or
        ``RoadNetwork``.
    extra_functionality : callable, optional
        ``f(lp, variables, scenario)`` adds rows to the model before it is
        flattened and solved: ``lp`` is the :class:`planner.lp.LinearProblem`,
        ``variables`` maps block names to labelled :class:`planner.lp.Variable`
        blocks (``variables["add"].loc["c1"]``; flows per area group). Write
        ``lp.add_constraints("name", expr <= rhs)`` or ``lp += expr <= rhs``.
        Solved on the default HiGHS path, areas still merged (``docs/model.md``).
    years : list of int, optional
        Plan years (consecutive), e.g. ``[2026, …, 2030]``: one model over all
        of them (DESIGN.md "Phased plans over years"). ``None``: one period.
    base_year : int, optional
        The year of the population in the areas table (default: the first
        plan year); growth rates compound from it.
    population : DataFrame, optional
        Long table ``area_id, year, pop_total, pop_0_2, pop_60_plus`` for every
        area and plan year (instead of ``growth``).
    growth : dict or DataFrame, optional
        Compound yearly rates, e.g. ``{"pop_0_2": -0.05, "pop_60_plus": 0.035}``,
        or a table with ``district_id`` and one row per district.
    """

    areas: pd.DataFrame
    facilities: pd.DataFrame
    districts: pd.DataFrame
    targets: Targets = field(default_factory=Targets)
    budget: float | None = None
    options: Options = field(default_factory=Options)
    name: str = "scenario"
    sources: dict = field(default_factory=dict)
    attribution: str = ""
    reach: object = None
    travel: object = None
    extra_functionality: Callable | None = None
    years: list | None = None
    base_year: int | None = None
    population: pd.DataFrame | None = None
    growth: object = None

    @classmethod
    def from_frames(cls, areas, facilities, districts=None, *, targets=None, budget=None,
                    options=None, name="scenario", sources=None, years=None, base_year=None,
                    population=None, growth=None):
        """Validate tables a user already holds (DataFrames or GeoDataFrames).

        ``districts`` may be omitted: districts are then the distinct
        ``district_id`` values of the areas, named by their ids. ``years``,
        ``base_year``, ``population`` and ``growth`` make a phased plan.
        """
        from . import io

        sources = dict(sources or {})
        for table in ("areas", "facilities", "districts"):
            sources.setdefault(table, table)
        a = io.validate_table(areas, "areas", sources["areas"])
        f = io.validate_table(facilities, "facilities", sources["facilities"])
        d = None if districts is None else io.validate_table(districts, "districts", sources["districts"])
        d = io.check_links(a, f, d, sources)
        sc = cls(areas=a, facilities=f, districts=d, targets=targets or Targets(),
                 budget=budget, options=options or Options(), name=name, sources=sources,
                 years=years, base_year=base_year, population=population, growth=growth)
        sc.validate()
        return sc

    def validate(self) -> None:
        """Check the settings (the tables were checked when read)."""
        from .access import reach_rules

        self.targets.validate()
        self.options.validate()
        self._validate_years()
        reach_rules(self.reach)
        if hasattr(self.travel, "check"):
            self.travel.check(self.areas, self.facilities)
        if self.budget is not None:
            if self.phased:
                self._check_budget()
            else:
                b = self.budget
                if isinstance(b, bool) or not isinstance(b, (int, float, np.number)) or not math.isfinite(b) or b < 0:
                    raise PlannerError(f"budget must be a number of yuan ≥ 0 or None, got {b!r}", "scenario", None,
                                       "budget")

    def _validate_years(self) -> None:
        """The phased-plan settings: years, base year, schedules, budget per year, population."""
        from . import io
        from .phasing import plan_years

        where = self.sources.get("scenario", "scenario")
        if self.years is None:
            for key in ("population", "growth", "base_year"):
                if getattr(self, key) is not None:
                    raise PlannerError(f"{key} is given but years is not; set the plan years", where, None, key)
            if self.targets.schedules():
                raise PlannerError("a target given per year needs the plan years (key years)", where, None,
                                   self.targets.schedules()[0])
            if isinstance(self.budget, dict):
                raise PlannerError("a budget per year needs the plan years (key years)", where, None, "budget")
            return
        self.years = plan_years(self.years, where)
        if self.base_year is None:
            self.base_year = self.years[0]
        self.base_year = plan_years([self.base_year], where)[0]
        if self.base_year > self.years[0]:
            raise PlannerError(f"base_year {self.base_year} is after the first plan year {self.years[0]}",
                               where, None, "base_year")
        if self.population is not None and self.growth is not None:
            raise PlannerError("give population (a table per year) or growth (yearly rates), not both",
                               where, None, "growth")
        if self.population is not None and not self.population.attrs.get("checked_years") == tuple(self.years):
            self.population = io.validate_population(self.population, self.areas, self.years,
                                                     self.sources.get("population", "population"))
        if self.growth is not None:
            self.growth = io.validate_growth(self.growth, self.districts, self.areas,
                                             self.sources.get("growth", where))

    def _check_budget(self) -> None:
        """A phased budget: yuan ≥ 0, the same each year or ``{year: yuan}`` over plan years."""
        from .phasing import _year

        b = self.budget
        where = self.sources.get("scenario", "scenario")
        items = b.items() if isinstance(b, dict) else [(None, b)]
        clean = {}
        for year, v in items:
            if year is not None:
                year = _year(year, where, "budget")
                if year not in self.years:
                    raise PlannerError(f"budget for {year}: not a plan year ({self.years[0]}–{self.years[-1]})",
                                       where, None, "budget")
            if isinstance(v, str):  # YAML 1.1 reads 4e8 as text
                try:
                    v = float(v.replace(",", ""))
                except ValueError:
                    pass
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v) or v < 0:
                what = "budget" if year is None else f"budget for {year}"
                raise PlannerError(f"{what} must be a number of yuan ≥ 0, got {v!r}", where, None, "budget")
            clean[year] = float(v)
        self.budget = clean if isinstance(b, dict) else clean[None]

    @property
    def phased(self) -> bool:
        """True when the scenario plans over several years (``years`` is set)."""
        return self.years is not None

    def population_by_year(self) -> pd.DataFrame:
        """Population of every area in every plan year (long table; see :mod:`planner.phasing`)."""
        from .phasing import population_by_year

        if not self.phased:
            raise PlannerError("population_by_year needs the plan years (key years)", "scenario", None, "years")
        return population_by_year(self.areas, self.years, self.base_year, self.population, self.growth)

    def for_year(self, year: int, population: pd.DataFrame | None = None) -> "Scenario":
        """A single-period scenario of one plan year: that year's population and targets.

        ``population`` (from :meth:`population_by_year`) saves recomputing it.
        The budget is left out (a phased budget spans years).
        """
        year = int(year)
        if not self.phased or year not in self.years:
            raise PlannerError(f"{year} is not a plan year", "scenario", None, "years")
        pop = self.population_by_year() if population is None else population
        rows = pop[pop["year"] == year]
        areas = self.areas.copy()
        for c in rows.columns.drop(["area_id", "year"]):
            areas[c] = rows[c].to_numpy(float)
        return replace(self, areas=areas, targets=self.targets.at(year), options=replace(self.options),
                       budget=None, years=None, base_year=None, population=None, growth=None,
                       name=f"{self.name} · {year}")

    def district_targets(self, year: int | None = None) -> pd.DataFrame:
        """Targets per district: the district's override where given, else the scenario's.

        ``year`` evaluates target schedules in that year (phased plans).
        Returns a DataFrame indexed like ``districts`` with one column per
        target name.
        """
        d, n = self.districts, len(self.districts)
        targets = self.targets if year is None else self.targets.at(year)
        out = {}
        for col in TARGET_COLUMNS:
            default = float(getattr(targets, col.name))
            if col.name in d.columns:
                v = d[col.name].to_numpy(float)
                out[col.name] = np.where(np.isnan(v), default, v)
            else:
                out[col.name] = np.full(n, default)
        return pd.DataFrame(out, index=d.index)

    def subset(self, district_ids) -> "Scenario":
        """A scenario restricted to some districts (areas and facilities in them)."""
        ids = set(map(str, district_ids))
        unknown = ids - set(self.districts["district_id"])
        if unknown:
            raise PlannerError(f"unknown district id(s): {', '.join(sorted(unknown))}", "districts", None, "district_id")
        keep = lambda t: t[t["district_id"].isin(ids)].reset_index(drop=True)  # noqa: E731
        sub = replace(self, areas=keep(self.areas), facilities=keep(self.facilities),
                      districts=keep(self.districts), targets=replace(self.targets),
                      options=replace(self.options))
        if self.population is not None:
            sub.population = self.population[self.population["area_id"].isin(set(sub.areas["area_id"]))]
            sub.population = sub.population.reset_index(drop=True)
            sub.population.attrs["checked_years"] = self.population.attrs.get("checked_years")
        if isinstance(self.growth, pd.DataFrame):
            sub.growth = keep(self.growth)
        return sub

    def copy(self) -> "Scenario":
        """An independent copy whose targets/options/budget can be changed freely."""
        return replace(self, targets=replace(self.targets), options=replace(self.options))
