"""Scenario, Targets and Options: what a planner sets before solving; load_scenario reads them from YAML."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable
import math

import numpy as np
import pandas as pd
import yaml

from . import io
from ._errors import PlannerError
from ._validate import check_links, check_target
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
    """

    childcare_per_1000: float = 4.5
    affordable_share: float = 0.5
    beds_per_1000_elderly: float = 40.0
    care_bed_share: float = 0.55
    access_minutes: float = 15.0
    access_share: float = 0.8

    def validate(self, where: str = "targets") -> None:
        """Raise PlannerError for a negative value or a share outside 0–1."""
        for f in fields(self):
            check_target(f.name, getattr(self, f.name), where)


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
        ``f(problem, variables, scenario)`` adds PuLP constraints to the model
        before it is solved (``variables`` maps block names to lists of
        ``pulp.LpVariable``). Solving then goes through PuLP.
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

    @classmethod
    def from_frames(cls, areas, facilities, districts=None, *, targets=None, budget=None,
                    options=None, name="scenario", sources=None):
        """Validate tables a user already holds (DataFrames or GeoDataFrames).

        ``districts`` may be omitted: districts are then the distinct
        ``district_id`` values of the areas, named by their ids.
        """
        sources = dict(sources or {})
        for table in ("areas", "facilities", "districts"):
            sources.setdefault(table, table)
        a = io.validate_table(areas, "areas", sources["areas"])
        f = io.validate_table(facilities, "facilities", sources["facilities"])
        d = None if districts is None else io.validate_table(districts, "districts", sources["districts"])
        d = check_links(a, f, d, sources)
        sc = cls(areas=a, facilities=f, districts=d, targets=targets or Targets(),
                 budget=budget, options=options or Options(), name=name, sources=sources)
        sc.validate()
        return sc

    def validate(self) -> None:
        """Check the settings (the tables were checked when read)."""
        self.targets.validate()
        self.options.validate()
        reach_rules(self.reach)
        if hasattr(self.travel, "check"):
            self.travel.check(self.areas, self.facilities)
        if self.budget is not None:
            b = self.budget
            if isinstance(b, bool) or not isinstance(b, (int, float, np.number)) or not math.isfinite(b) or b < 0:
                raise PlannerError(f"budget must be a number of yuan ≥ 0 or None, got {b!r}", "scenario", None, "budget")

    def district_targets(self) -> pd.DataFrame:
        """Targets per district: the district's override where given, else the scenario's.

        Returns a DataFrame indexed like ``districts`` with one column per
        target name.
        """
        d, n = self.districts, len(self.districts)
        out = {}
        for col in TARGET_COLUMNS:
            default = float(getattr(self.targets, col.name))
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
        return replace(self, areas=keep(self.areas), facilities=keep(self.facilities),
                       districts=keep(self.districts), targets=replace(self.targets),
                       options=replace(self.options))

    def copy(self) -> "Scenario":
        """An independent copy whose targets/options/budget can be changed freely."""
        return replace(self, targets=replace(self.targets), options=replace(self.options))


# ---------------------------------------------------------------- scenario files

SCENARIO_KEYS = {"name", "areas", "facilities", "districts", "targets", "budget", "options", "attribution",
                 "reach", "travel"}


def load_scenario(path):
    """Read a scenario YAML and the files it names (paths relative to the YAML).

    Returns
    -------
    planner.Scenario
    """
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
            raise PlannerError(f"unknown {key} key; allowed: {', '.join(sorted(allowed))}", path, None, sorted(bad)[0])
        return cls(**given)

    files = {k: (path.parent / str(spec[k])) for k in ("areas", "facilities", "districts") if spec.get(k)}
    tables = {k: io.read_file(v) for k, v in files.items()}
    sc = Scenario.from_frames(tables["areas"], tables["facilities"], tables.get("districts"),
                              targets=section("targets", Targets), budget=spec.get("budget"),
                              options=section("options", Options), name=str(spec.get("name") or path.stem),
                              sources={k: str(v) for k, v in files.items()})
    sc.sources["scenario"] = str(path)
    sc.attribution = str(spec.get("attribution") or "")
    sc.reach = spec.get("reach")
    sc.travel = _travel(spec.get("travel"), path, sc.sources)
    sc.validate()
    return sc


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
