"""Scenario, Targets and Options: what a planner sets before solving; load_scenario reads them from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable
import math

import numpy as np
import pandas as pd
import yaml

from . import crs as crs_, io
from ._errors import PlannerError
from ._validate import as_number, check_links, check_target, shown
from .access import ODMatrix, RoadNetwork, reach_rules
from .schema import TARGET_COLUMNS


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
    care_beds_per_care_need : float
        Care-oriented beds per person aged 60+ assessed as needing long-term
        care (areas column ``pop_care_need``), e.g. 0.3; 0 = no such target.
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
    care_beds_per_care_need: float = 0.0
    childcare_per_child: float = 0.0

    def validate(self, where: str = "targets", prefix: str = "") -> None:
        """Raise PlannerError for a negative value or a share outside 0–1 (in every year of a schedule).

        ``where`` is the file named in the error (the scenario YAML when there is
        one), ``prefix`` goes before the key (``"targets."``).
        """
        from .phasing import is_schedule, schedule_points

        for f in fields(self):
            value = getattr(self, f.name)
            if is_schedule(value):
                for year, v in zip(*schedule_points(value, f.name, where)):
                    check_target(f.name, v, f"{where} ({f.name} in {year})", key=prefix + f.name)
            else:
                check_target(f.name, value, where, key=prefix + f.name)

    def schedules(self) -> list[str]:
        """Names of the targets given per year."""
        from .phasing import is_schedule

        return [f.name for f in fields(self) if is_schedule(getattr(self, f.name))]

    def at(self, year: int) -> "Targets":
        """The targets of one year: every schedule evaluated at ``year``."""
        from .phasing import at_year

        return Targets(**{f.name: at_year(getattr(self, f.name), year, f.name) for f in fields(self)})


OBJECTIVES = ("least_cost", "equity")


def check_objective(value, where="scenario") -> None:
    """``objective`` is one of :data:`OBJECTIVES`."""
    if value not in OBJECTIVES:
        raise PlannerError(f"objective must be one of {', '.join(OBJECTIVES)}, got {value!r}", where, None,
                           "objective")


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

    def validate(self, where: str = "options", prefix: str = "") -> None:
        """Raise PlannerError naming ``where`` (the scenario file) and the key for a bad option."""
        if self.solver not in ("highs", "cbc"):
            raise PlannerError(f"solver must be 'highs' or 'cbc', got {shown(self.solver)}", where, None,
                               prefix + "solver")
        if self.score_decay not in ("step", "gaussian"):
            raise PlannerError(f"score_decay must be 'step' or 'gaussian', got {shown(self.score_decay)}",
                               where, None, prefix + "score_decay")
        for name in ("integer", "new_beds_care"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise PlannerError(f"{name} must be true or false, got {shown(getattr(self, name))}",
                                   where, None, prefix + name)
        for name in ("time_limit_s", "circuity", "speed_kmh", "drive_speed_kmh", "drive_circuity", "mip_gap"):
            v = getattr(self, name)
            low_ok = v >= 0 if name == "mip_gap" else v > 0  # a gap of 0 asks for the exact optimum
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not low_ok:
                what = "a number ≥ 0" if name == "mip_gap" else "a positive number"
                raise PlannerError(f"{name} must be {what}, got {shown(v)}", where, None, prefix + name)
        r = self.discount_rate
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or not 0 <= r < 1:
            raise PlannerError(f"discount_rate is a yearly rate between 0 and 1 (0.03 = 3 %), got {shown(r)}",
                               where, None, prefix + "discount_rate")
        for name in ("circuity", "drive_circuity"):
            if getattr(self, name) < 1:
                raise PlannerError(f"{name} is road ÷ straight-line distance, ≥ 1; got {shown(getattr(self, name))}",
                                   where, None, prefix + name)


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
    lang : {"zh", "en"}, optional
        The language of words the planner reads (``Result.explain``); default:
        Chinese when the scenario or district names are Chinese, else English.
    extra_functionality : callable, optional
        ``f(lp, variables, scenario)`` adds rows to the model before it is
        flattened and solved: ``lp`` is the :class:`planner.lp.LinearProblem`,
        ``variables`` maps block names to labelled :class:`planner.lp.Variable`
        blocks (``variables["add"].loc["c1"]``; flows per area group). Write
        ``lp.add_constraints("name", expr <= rhs)`` or ``lp += expr <= rhs``.
        Solved on the default HiGHS path, areas still merged (``docs/model.md``).
    parents : DataFrame or None
        District rows above the leaves (prefectures, the province …) when the
        districts table holds several levels; ``districts`` holds the leaves,
        the rows areas and facilities point to (see :mod:`planner.levels`).
    target_level : str
        Where the scenario-wide ``targets`` apply: ``"leaf"`` (default, every
        leaf district), a level name (``"prefecture"``, 市 …: the aggregate of
        each district of that level) or ``"all"`` (the whole region). Leaves
        keep only their own target columns, as floors.
    objective : str
        ``"least_cost"`` (default) or ``"equity"``: within the budget, first
        lift the worst district's attainment, then least cost with it held.
    load_report : dict
        What loading did besides validating (e.g. areas matched to a county
        by the first 6 digits of a 12-digit statistical code).
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
    lang: str | None = None
    years: list | None = None
    base_year: int | None = None
    population: pd.DataFrame | None = None
    growth: object = None

    parents: pd.DataFrame | None = None
    target_level: str = "leaf"
    objective: str = "least_cost"
    load_report: dict = field(default_factory=dict)

    @classmethod
    def from_frames(cls, areas, facilities, districts=None, *, targets=None, budget=None,
                    options=None, name="scenario", sources=None, crs=None, years=None, base_year=None,
                    population=None, growth=None, target_level="leaf", objective="least_cost"):
        """Validate tables a user already holds (DataFrames, GeoDataFrames or file paths).

        ``districts`` may be omitted: districts are then the distinct
        ``district_id`` values of the areas, named by their ids. It may hold
        rows of several levels (``parent_id``, ``level``): they are checked
        as a tree and split into leaves (``districts``) and ``parents``.
        ``years``, ``base_year``, ``population`` and ``growth`` make a phased plan.
        ``crs``: the coordinate system of the tables' lon/lat, one for all
        (``"gcj02"``) or per table (``{"facilities": "bd09"}``); ``"wgs84"``
        (default), ``"gcj02"`` (Amap/Tencent), ``"bd09"`` (Baidu) or an EPSG
        code. Coordinates are converted to WGS84 on load.
        """
        sources = dict(sources or {})
        for table in ("areas", "facilities", "districts"):
            sources.setdefault(table, table)
        crs = crs if isinstance(crs, dict) else {t: crs for t in ("areas", "facilities", "districts")}
        a = io.validate_table(areas, "areas", sources["areas"], crs.get("areas"))
        f = io.validate_table(facilities, "facilities", sources["facilities"], crs.get("facilities"))
        d = None if districts is None else io.validate_table(districts, "districts", sources["districts"],
                                                             crs.get("districts"))
        report = {}
        d, parents = check_links(a, f, d, sources, report)
        budget = None if budget is None else as_number(budget)
        sc = cls(areas=a, facilities=f, districts=d, targets=targets or Targets(),
                 budget=budget, options=options or Options(), name=name, sources=sources,
                 years=years, base_year=base_year, population=population, growth=growth,
                 parents=parents, target_level=target_level, objective=objective, load_report=report)
        sc.validate()
        return sc

    def validate(self) -> None:
        """Check the settings (the tables were checked when read).

        Errors name the scenario file and the key (``targets.care_bed_share``)
        when the scenario came from a YAML file.
        """
        from .levels import Tree, check_target_level, resolve_level

        yaml_file = self.sources.get("scenario")
        self.targets.validate(yaml_file or "targets", "targets." if yaml_file else "")
        self.options.validate(yaml_file or "options", "options." if yaml_file else "")
        self.target_level = check_target_level(self.target_level, yaml_file or "scenario")
        if self.target_level not in ("leaf", "all"):
            try:
                resolve_level(Tree.from_scenario(self), self.target_level)
            except PlannerError as exc:
                if not yaml_file:
                    raise
                raise PlannerError(exc.message, yaml_file, None, "target_level") from None
        check_objective(self.objective, yaml_file or "scenario")
        self._validate_years()
        self._validate_levels_with_years()
        reach_rules(self.reach)
        if hasattr(self.travel, "check"):
            self.travel.check(self.areas, self.facilities)
        if self.budget is not None:
            if self.phased:
                self._check_budget()
            else:
                b = as_number(self.budget)
                if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) or b < 0:
                    raise PlannerError(f"budget must be a number of yuan ≥ 0 or null, got {shown(self.budget)}",
                                       yaml_file or "scenario", None, "budget")

    def _validate_levels_with_years(self) -> None:
        """Aggregate targets, care need, minimum centres and equity are single-period for now: say so."""
        if self.years is None:
            return
        from .levels import AGGREGATE_TARGETS

        where = self.sources.get("scenario", "scenario")
        used = []
        if self.target_level != "leaf":
            used.append("target_level")
        if self.objective != "least_cost":
            used.append("objective")
        care = getattr(self.targets, "care_beds_per_care_need", 0)
        if isinstance(care, dict) or float(care or 0) > 0:
            used.append("targets.care_beds_per_care_need" if "scenario" in self.sources else "care_beds_per_care_need")
        tables = [("districts", self.districts)] + ([("districts", self.parents)] if self.parents is not None else [])
        for _, t in tables:
            if "min_affordable_centres" in t and t["min_affordable_centres"].notna().any():
                used.append("min_affordable_centres")
            if "care_beds_per_care_need" in t and (t["care_beds_per_care_need"].fillna(0) > 0).any():
                used.append("care_beds_per_care_need")
        if self.parents is not None:
            cols = [c for c in AGGREGATE_TARGETS if c in self.parents and self.parents[c].notna().any()]
            used += [f"{c} (on a parent row)" for c in cols]
        if used:
            raise PlannerError(f"{sorted(set(used))[0]} is not yet available in a phased plan (years): solve "
                               "one year at a time (scenario.for_year(year)) or leave it out", where, None,
                               sorted(set(used))[0].split(" ")[0])

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
        target name. With several levels or ``target_level`` above the
        leaves, the rate each leaf is held to or counted against
        (:func:`planner.levels.leaf_rates`); which aggregates the targets
        constrain is :func:`planner.levels.target_groups`.
        """
        if self.target_level != "leaf" or (self.parents is not None and len(self.parents)):
            from .levels import leaf_rates

            rates = leaf_rates(self, targets=self.targets if year is None else self.targets.at(year))
            return rates[[c.name for c in TARGET_COLUMNS if c.name in rates.columns]]
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
        parents = self.parents
        if parents is not None and len(parents):  # the rows above the kept leaves
            from .levels import Tree

            tree = Tree.from_scenario(self)
            leaf = np.flatnonzero(np.isin(tree.ids[:tree.n_leaves], list(ids)))
            above = np.flatnonzero(np.asarray(tree.members[:, leaf].sum(axis=1)).ravel() > 0)
            above = above[above >= tree.n_leaves] - tree.n_leaves
            parents = parents.iloc[np.sort(above)].reset_index(drop=True)
        sub = replace(self, areas=keep(self.areas), facilities=keep(self.facilities),
                      districts=keep(self.districts), targets=replace(self.targets),
                      options=replace(self.options), parents=parents,
                      load_report=dict(self.load_report))
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


# ---------------------------------------------------------------- scenario files

SCENARIO_KEYS = {"name", "areas", "facilities", "districts", "targets", "budget", "options", "attribution",
                 "reach", "travel", "lang", "years", "base_year", "population", "growth",
                 "target_level", "objective"}


def load_scenario(path):
    """Read a scenario YAML and the files it names (paths relative to the YAML).

    Returns
    -------
    planner.Scenario
    """
    from .levels import LEAF, check_target_level

    path = Path(path)
    if not path.exists():
        raise PlannerError("scenario file not found", path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PlannerError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path,
                           None if mark is None else mark.line + 1) from None
    if not isinstance(spec, dict):
        raise PlannerError("a scenario file is a mapping with keys areas, facilities, targets, …", path)
    unknown = set(spec) - SCENARIO_KEYS
    if unknown:
        raise PlannerError(f"unknown key; allowed: {', '.join(sorted(SCENARIO_KEYS))}", path, None, sorted(unknown)[0])
    for key in ("areas", "facilities"):
        if not spec.get(key):
            raise PlannerError("required key is missing", path, None, key)

    def section(key, cls):
        given = spec.get(key) or {}
        if not isinstance(given, dict):
            raise PlannerError(f"{key} must be a mapping", path, None, key)
        allowed = {f for f in cls.__dataclass_fields__}
        bad = set(given) - allowed
        if bad:
            raise PlannerError(f"unknown {key} key; allowed: {', '.join(sorted(allowed))}", path, None,
                               f"{key}.{sorted(bad)[0]}")
        # YAML reads 3e9 or 1e-3 (no dot) as text: numbers where the default is a number
        defaults = {f.name: f.default for f in fields(cls)}
        return cls(**{k: as_number(v) if isinstance(defaults[k], (int, float)) and not isinstance(defaults[k], bool)
                      else v for k, v in given.items()})

    files, crs = {}, {}
    for k in ("areas", "facilities", "districts"):
        if spec.get(k):
            files[k], crs[k] = _table_spec(spec[k], k, path)
    targets, options = section("targets", Targets), section("options", Options)
    # settings first: a typo in the YAML is reported before the tables are read
    targets.validate(str(path), "targets.")
    options.validate(str(path), "options.")
    target_level = check_target_level(spec.get("target_level") or LEAF, path)
    objective = spec.get("objective") or "least_cost"
    check_objective(objective, path)
    tables = {k: io.read_file(v) for k, v in files.items()}
    sources = {k: str(v) for k, v in files.items()}
    sources["scenario"] = str(path)
    sc = Scenario.from_frames(tables["areas"], tables["facilities"], tables.get("districts"),
                              targets=targets, budget=spec.get("budget"), options=options,
                              name=str(spec.get("name") or path.stem), sources=sources, crs=crs,
                              target_level=target_level, objective=objective, **_phased(spec, path, sources))
    sc.attribution = str(spec.get("attribution") or "")
    if spec.get("lang") not in (None, "zh", "en"):
        raise PlannerError(f"lang must be zh or en, got {shown(spec['lang'])}", path, None, "lang")
    sc.lang = spec.get("lang")
    sc.reach = spec.get("reach")
    sc.travel = _travel(spec.get("travel"), path, sc.sources)
    sc.validate()
    return sc


def _phased(spec, path, sources) -> dict:
    """The phased-plan keys: years, base_year, population (a file) or growth (rates or a file)."""
    out = {"years": spec.get("years"), "base_year": spec.get("base_year"), "population": None, "growth": None}
    if spec.get("population") is not None:
        full = path.parent / str(spec["population"])
        sources["population"] = str(full)
        out["population"] = io.read_file(full)
    growth = spec.get("growth")
    if isinstance(growth, str):
        full = path.parent / growth
        sources["growth"] = str(full)
        growth = io.read_file(full)
    elif growth is not None and not isinstance(growth, dict):
        raise PlannerError("growth must be {pop_total: RATE, …} or a file with district_id and rates",
                           path, None, "growth")
    out["growth"] = growth
    return out


def _table_spec(value, key, path):
    """``areas: FILE`` or ``areas: {path: FILE, crs: gcj02}`` → (file path, crs or None)."""
    if isinstance(value, dict):
        bad = set(value) - {"path", "crs"}
        if bad or not value.get("path"):
            raise PlannerError(f"{key} is a file name or {{path: FILE, crs: gcj02 | bd09 | wgs84 | EPSG:…}}",
                               path, None, f"{key}.{sorted(bad)[0]}" if bad else f"{key}.path")
        try:
            crs_.parse(value.get("crs"))
        except ValueError as exc:
            raise PlannerError(str(exc), path, None, f"{key}.crs") from None
        return path.parent / str(value["path"]), value.get("crs")
    if isinstance(value, (list, tuple)):
        raise PlannerError(f"{key} names one file", path, None, key)
    return path.parent / str(value), None


def _travel(spec, path, sources):
    """The ``travel:`` key: straight_line, or an OD matrix / OSM file relative to the YAML."""
    if spec in (None, "straight_line"):
        return None
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in ("od_matrix", "network"):
        raise PlannerError("travel must be straight_line, {od_matrix: FILE} or {network: FILE.osm.pbf}",
                           path, None, "travel")
    kind, file = next(iter(spec.items()))
    full = path.parent / str(file)
    sources[kind] = str(full)
    if kind == "od_matrix":
        return ODMatrix.from_file(full)
    if not full.exists():
        raise PlannerError("file not found", full)
    return RoadNetwork(full)
