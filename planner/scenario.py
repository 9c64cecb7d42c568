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
        ``f(lp, variables, scenario)`` adds rows to the model before it is
        flattened and solved: ``lp`` is the :class:`planner.lp.LinearProblem`,
        ``variables`` maps block names to labelled :class:`planner.lp.Variable`
        blocks (``variables["add"].loc["c1"]``; flows per area group). Write
        ``lp.add_constraints("name", expr <= rhs)`` or ``lp += expr <= rhs``.
        Solved on the default HiGHS path, areas still merged (``docs/model.md``).
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
        from . import io

        sources = dict(sources or {})
        for table in ("areas", "facilities", "districts"):
            sources.setdefault(table, table)
        a = io.validate_table(areas, "areas", sources["areas"])
        f = io.validate_table(facilities, "facilities", sources["facilities"])
        d = None if districts is None else io.validate_table(districts, "districts", sources["districts"])
        d = io.check_links(a, f, d, sources)
        sc = cls(areas=a, facilities=f, districts=d, targets=targets or Targets(),
                 budget=budget, options=options or Options(), name=name, sources=sources)
        sc.validate()
        return sc

    def validate(self) -> None:
        """Check the settings (the tables were checked when read)."""
        from .access import reach_rules

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
