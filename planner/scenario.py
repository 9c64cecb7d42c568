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
    """

    childcare_per_1000: float = 4.5
    affordable_share: float = 0.5
    beds_per_1000_elderly: float = 40.0
    care_bed_share: float = 0.55
    access_minutes: float = 15.0
    access_share: float = 0.8

    def validate(self, where: str = "targets", prefix: str = "") -> None:
        """Raise PlannerError for a negative value or a share outside 0–1.

        ``where`` is the file named in the error (the scenario YAML when there is
        one), ``prefix`` goes before the key (``"targets."``).
        """
        for f in fields(self):
            check_target(f.name, getattr(self, f.name), where, key=prefix + f.name)


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

    @classmethod
    def from_frames(cls, areas, facilities, districts=None, *, targets=None, budget=None,
                    options=None, name="scenario", sources=None, crs=None):
        """Validate tables a user already holds (DataFrames, GeoDataFrames or file paths).

        ``districts`` may be omitted: districts are then the distinct
        ``district_id`` values of the areas, named by their ids.
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
        d = check_links(a, f, d, sources)
        budget = None if budget is None else as_number(budget)
        sc = cls(areas=a, facilities=f, districts=d, targets=targets or Targets(),
                 budget=budget, options=options or Options(), name=name, sources=sources)
        sc.validate()
        return sc

    def validate(self) -> None:
        """Check the settings (the tables were checked when read).

        Errors name the scenario file and the key (``targets.care_bed_share``)
        when the scenario came from a YAML file.
        """
        yaml_file = self.sources.get("scenario")
        self.targets.validate(yaml_file or "targets", "targets." if yaml_file else "")
        self.options.validate(yaml_file or "options", "options." if yaml_file else "")
        reach_rules(self.reach)
        if hasattr(self.travel, "check"):
            self.travel.check(self.areas, self.facilities)
        if self.budget is not None:
            b = as_number(self.budget)
            if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) or b < 0:
                raise PlannerError(f"budget must be a number of yuan ≥ 0 or null, got {shown(self.budget)}",
                                   yaml_file or "scenario", None, "budget")

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
                 "reach", "travel", "lang"}


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
    tables = {k: io.read_file(v) for k, v in files.items()}
    sources = {k: str(v) for k, v in files.items()}
    sources["scenario"] = str(path)
    sc = Scenario.from_frames(tables["areas"], tables["facilities"], tables.get("districts"),
                              targets=targets, budget=spec.get("budget"), options=options,
                              name=str(spec.get("name") or path.stem), sources=sources, crs=crs)
    sc.attribution = str(spec.get("attribution") or "")
    if spec.get("lang") not in (None, "zh", "en"):
        raise PlannerError(f"lang must be zh or en, got {shown(spec['lang'])}", path, None, "lang")
    sc.lang = spec.get("lang")
    sc.reach = spec.get("reach")
    sc.travel = _travel(spec.get("travel"), path, sc.sources)
    sc.validate()
    return sc


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
