"""Result: the plan as tables a planner reads, with why any target is missed."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
import json

import numpy as np
import pandas as pd
import geopandas as gpd

from . import i18n, targets
from .access import max_served
from .schema import DISTRICT_SHORTFALL_COLUMNS

TOL = 1e-3  # slots/beds: shortfalls below this are solver round-off, not a shortfall

#: The files :meth:`Result.to_csv` writes into its folder.
CSV_OUTPUTS = ("districts.csv", "facilities.csv", "areas.csv", "summary.json")

# Reason and target words live in planner.i18n (zh and en); the English ones, by code:
REASONS = {code: words[1] for code, words in i18n.REASONS.items()}
TARGET_WORDS = {code: words[1] for code, words in i18n.TARGET_WORDS.items()}


@dataclass
class Result:
    """A solved plan.

    Attributes
    ----------
    status : str
        ``"optimal"`` (every target met at least cost, or the best use of the
        budget with nothing missing), ``"shortfall"`` (some targets cannot be
        met; see ``districts``) or ``"time_limit"`` (the solver stopped at
        ``options.time_limit_s`` with a plan not proven optimal; integer mode:
        ``info.mip_gap`` is the proven gap).
    cost : float
        Total yuan of the plan.
    districts, facilities, areas : DataFrame / GeoDataFrame
        The tables of DESIGN.md (inputs plus plan columns).
    scenario : planner.Scenario
    info : planner.solve.SolveInfo
    solution : planner.lp.Solution
        The model's columns and row duals by block and label
        (``res.solution["add"].loc["f12"]``, ``res.solution.dual("slots")``);
        see ``docs/model.md`` for the blocks.
    by_year, facility_years : DataFrame, phased plans only
        One row per (``district_id``, ``year``) with the district table's
        columns; one row per (``facility_id``, ``year``) with what is added,
        converted, repurposed, opened and spent in that year. ``districts``,
        ``facilities`` and ``areas`` are then the last plan year's.
    cost_by_year : Series, phased plans only
        Yuan spent per year (capital + operating), indexed by year.
    per_year : dict, phased plans only
        Year → the single-year Result of that year (maps, exports).
    """

    status: str
    cost: float
    districts: pd.DataFrame
    facilities: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    scenario: object = field(repr=False)
    info: object = field(repr=False)
    aggregate_targets: pd.DataFrame | None = field(default=None, repr=False)
    solution: object = field(default=None, repr=False)
    by_year: pd.DataFrame | None = field(default=None, repr=False)
    facility_years: pd.DataFrame | None = field(default=None, repr=False)
    cost_by_year: pd.Series | None = field(default=None, repr=False)
    per_year: dict | None = field(default=None, repr=False)

    @property
    def years(self) -> list | None:
        """The plan years of a phased plan (``None`` for one period)."""
        return None if self.per_year is None else list(self.per_year)

    def for_year(self, year) -> "Result":
        """A phased plan's Result of one year (its tables, map and exports)."""
        if self.per_year is None or int(year) not in self.per_year:
            from ._errors import PlannerError
            raise PlannerError(f"{year} is not a plan year of this result", "years", None, "year")
        return self.per_year[int(year)]

    @property
    def solver_status(self) -> str:
        """``"optimal"`` or ``"time_limit"`` (a plan, not proven optimal)."""
        return self.info.status

    @classmethod
    def from_solution(cls, model, x, info) -> "Result":
        sc, p, lp = model.scenario, model.prepared, model.lp
        x = np.clip(np.asarray(x, float), lp.lower, lp.upper)
        x[np.abs(x) < 1e-9] = 0.0
        sol = model.solution(x, getattr(info, "duals", None))
        v = model.per_area({name: sol.array(name) for name in lp.blocks})
        f, a = sc.facilities, sc.areas
        n_f, n_a, n_d = len(f), len(a), p.n_districts
        C, E, K = np.flatnonzero(p.child), np.flatnonzero(~p.child), np.flatnonzero(p.cand)

        # facilities
        added = v["add"]
        aff = np.zeros(n_f)
        aff[C] = v["aff"]
        conv = np.zeros(n_f)
        conv[E] = v["conv"]
        open_frac = np.zeros(n_f)
        open_frac[K] = v["open"]
        # Columns are read from the input frames once and kept as arrays (fin, ain): the tables below
        # read them again many times, and a (Geo)DataFrame column read costs tens of µs each.
        fin, ain = _Columns(f), _Columns(a)
        fixed = fin["fixed_cost"]
        cost_f = p.cost_unit * added + p.cost_conv * conv + fixed * open_frac
        add_slots = np.where(p.child, added, 0.0)
        add_beds = np.where(p.child, 0.0, added)
        opened = p.cand & (open_frac > 1e-6)
        fcols = {
            "added_slots": add_slots, "added_affordable": aff, "added_beds": add_beds,
            "converted_care_beds": conv, "opened": opened, "open_fraction": open_frac,
            "slots_after": fin["slots"] + add_slots,
            "beds_after": fin["beds"] + add_beds,
            "beds_care_after": fin["beds_care"] + conv + (add_beds if p.new_beds_care else 0.0),
            "state": np.select([p.cand & opened, p.cand, added > TOL, conv > TOL],
                               ["opened", "not_opened", "expanded", "converted"], "unchanged"),
            "cost": cost_f}
        fac = _with_columns(f, fcols)
        fin.update(fcols)

        # areas
        cols = {"need_childcare": p.need_c, "need_beds": p.need_e}
        for kind, pairs, need, unit, flow in (("childcare", p.pairs_c, p.need_c, "slots", v["flow_c"]),
                                              ("beds", p.pairs_e, p.need_e, "beds", v["flow_e"])):
            after = np.minimum(max_served(pairs, need, fin[f"{unit}_after"], flow), need)
            # Before: the existing capacity alone, each area capped at its value after. Where catchments
            # overlap, two free max-flows could split capacity differently and show an area losing reach
            # to a plan that only adds; capped, the split agrees and the total is still the maximum
            # (tests/test_properties.py checks it against an independent max-flow).
            before = max_served(pairs, after, fin[unit], np.zeros(len(pairs)))
            for suffix, served in (("_before", before), ("", after)):
                cols[f"served_in_reach_{kind}{suffix}"] = served
                cols[f"access_share_{kind}{suffix}"] = _share(served, need)
        cols["sites_in_reach_childcare"] = np.bincount(p.pairs_c.area, minlength=n_a)
        cols["sites_in_reach_beds"] = np.bincount(p.pairs_e.area, minlength=n_a)
        cols["shortfall_access_childcare"] = _clean(v["sf_acc_c"])
        cols["shortfall_access_beds"] = _clean(v["sf_acc_e"])
        cols.update(_scores(ain, fin, p, sc.options.score_decay))
        ar = _with_columns(a, cols)
        ain.update(cols)

        fac["affordable_centre"] = _affordable_centres(fin, model, v)
        districts = _district_table(sc, p, fac, ar, v, n_d, info.status, fin, ain,
                                    after=lambda out: _marginal_costs(out, model, sol),
                                    tail=lambda out: _centre_columns(out, fac, model, v))
        _care_need_reasons(districts, p)
        aggregates = _aggregate_table(model, v, districts)
        met_all = bool(districts["met"].all()) and bool((aggregates["shortfall"] <= TOL).all())
        _add_aggregate_marginal_costs(aggregates, model, sol, districts)
        cost = float(cost_f.sum())
        status = "time_limit" if info.status == "time_limit" else "optimal" if met_all else "shortfall"
        return cls(status=status, cost=cost, districts=districts,
                   facilities=fac, areas=ar, scenario=sc, info=info, solution=sol, aggregate_targets=aggregates)

    # ------------------------------------------------------------ summaries

    def summary(self) -> dict:
        """Headline figures as plain JSON-able values (a phased plan: of the last year, plus money by year)."""
        out = self._summary()
        if self.by_year is not None:
            sc = self.scenario
            out["years"] = list(self.years)
            out["base_year"] = sc.base_year
            out["discount_rate"] = sc.options.discount_rate
            out["cost_by_year_yuan"] = {int(y): round(float(v), 2) for y, v in self.cost_by_year.items()}
            out["districts_met_by_year"] = {int(y): int(n) for y, n in self.by_year.groupby("year")["met"].sum().items()}
            out["explanations"] = self.explain_years()
        return out

    def _summary(self) -> dict:
        d, f = self.districts, self.facilities
        tot = lambda c: float(d[c].sum())  # noqa: E731
        per = lambda num, den: None if den == 0 else round(targets.per_1000(num, den), 4)  # noqa: E731
        t = self.scenario.targets
        return {
            "scenario": self.scenario.name,
            "status": self.status,
            "solver_status": self.info.status,
            "cost_yuan": round(self.cost, 2),
            "budget_yuan": self.scenario.budget,
            "integer": bool(self.scenario.options.integer),
            "mip_gap": None if self.info.mip_gap is None else float(self.info.mip_gap),
            "cost_basis": self.cost_basis(),
            "cost_note": self.cost_note("en"),
            "targets": {fl.name: getattr(t, fl.name) for fl in fields(t)},
            "districts": int(len(d)),
            "districts_met": int(d["met"].sum()),
            "districts_met_targets": int(d["met_targets"].sum()),
            "districts_met_access": int(d["met_access"].sum()),
            "slots_before": tot("slots_before"), "slots_after": tot("slots_after"),
            "slots_per_1000_before": per(tot("slots_before"), tot("pop_total")),
            "slots_per_1000_after": per(tot("slots_after"), tot("pop_total")),
            "beds_before": tot("beds_before"), "beds_after": tot("beds_after"),
            "beds_per_1000_elderly_before": per(tot("beds_before"), tot("pop_60_plus")),
            "beds_per_1000_elderly_after": per(tot("beds_after"), tot("pop_60_plus")),
            "added_slots": float(f["added_slots"].sum()), "added_beds": float(f["added_beds"].sum()),
            "converted_care_beds": float(f["converted_care_beds"].sum()),
            "sites_opened": int(f["opened"].sum()),
            "shortfall_slots": tot("shortfall_slots"), "shortfall_beds": tot("shortfall_beds"),
            "shortfall_affordable": tot("shortfall_affordable"), "shortfall_care_beds": tot("shortfall_care_beds"),
            "shortfall_access_childcare": tot("shortfall_access_childcare"),
            "shortfall_access_beds": tot("shortfall_access_beds"),
            **self._fairness(),
            "load_report": getattr(self.scenario, "load_report", {}) or {},
            "solver": self.info.solver, "build_seconds": round(self.info.build_seconds, 4),
            "solve_seconds": round(self.info.solve_seconds, 4),
            "variables": self.info.n_variables, "constraints": self.info.n_constraints,
        }

    def rollup(self, level) -> pd.DataFrame:
        """The district table aggregated to an administrative level.

        Parameters
        ----------
        level : str
            ``"province"``, ``"prefecture"``, ``"county"``, ``"township"``,
            ``"village"`` (or 省/市/县/乡镇/村), ``"leaf"`` (the district table
            itself) or ``"all"`` (one row for the whole region).

        Returns
        -------
        DataFrame (GeoDataFrame where the rows have polygons)
            One row per district of that level, keyed by ``district_id``:
            people, capacity before/after, requirements, shortfalls and cost
            summed exactly over its leaves; per-1,000 figures and shares
            recomputed from the sums. A row that carries its own target
            (a parent row's column, or ``target_level``) shows that target,
            its requirement and its shortfall instead of its leaves' sums;
            ``met`` holds when its own targets and every leaf below are met.
        """
        from .levels import Tree, resolve_level, rollup, ratio_columns

        tree = Tree.from_scenario(self.scenario)
        lv = resolve_level(tree, level)
        if lv == "leaf":
            return self.districts.copy()
        leaf = pd.DataFrame(self.districts.drop(columns="geometry", errors="ignore"))
        n = tree.n_leaves
        pos = pd.Index(leaf["district_id"]).get_indexer(self.areas["district_id"])
        for col in ("need_childcare", "need_beds", "served_in_reach_childcare", "served_in_reach_beds",
                    "served_in_reach_childcare_before", "served_in_reach_beds_before"):
            if col in self.areas:
                leaf[col] = np.bincount(pos, self.areas[col].to_numpy(float), n)
        out = rollup(leaf, tree, lv, self.aggregate_targets, ratios=ratio_columns)
        if lv == "all":
            out["name"] = str(getattr(self.scenario, "name", "") or "all")
        return _with_geometry(out, self, tree, lv)

    def _fairness(self) -> dict:
        """Worst-off district and Gini figures before and after (the equity objective's yardsticks)."""
        d = self.districts
        r = lambda v: None if v is None else round(v, 6)  # noqa: E731
        out = {"objective": getattr(self.scenario, "objective", "least_cost"),
               "target_level": getattr(self.scenario, "target_level", "leaf"),
               "min_attainment_childcare": r(targets.worst(d["attainment_childcare"])),
               "min_attainment_beds": r(targets.worst(d["attainment_beds"]))}
        for name, num, den in (("gini_slots_per_1000", "slots", "pop_total"),
                               ("gini_beds_per_1000_elderly", "beds", "pop_60_plus")):
            for when in ("before", "after"):
                people = d[den].to_numpy(float)
                out[f"{name}_{when}"] = r(targets.gini(targets.per_1000(d[f"{num}_{when}"], people), people))
        return out
    def cost_basis(self) -> str:
        """Which cost this is: ``"lp_relaxation"`` (LP mode: a lower bound, sites may open in part),
        ``"integer"`` (proven within ``options.mip_gap``) or ``"integer_time_limit"``."""
        if not getattr(self.info, "integer", False):  # what was solved, not the scenario's current setting
            return "lp_relaxation"
        return "integer_time_limit" if self.info.status == "time_limit" else "integer"

    def cost_note(self, lang: str = "en") -> str:
        """One line saying which cost this is, for the summary, the CLI and the app."""
        from .i18n import t

        gap = self.info.mip_gap
        key = {"lp_relaxation": "cost_relaxation", "integer": "cost_integer",
               "integer_time_limit": "cost_integer_time_limit"}[self.cost_basis()]
        return t(key, lang).format(gap="–" if gap is None else f"{100 * max(gap, 0.0):.2g}%")

    def explain(self, district_id, lang: str | None = None) -> list[str]:
        """Lines on why a district misses targets (empty if met), in the scenario's language.

        ``lang``: ``"zh"`` or ``"en"``; default :func:`planner.i18n.scenario_lang`
        (the scenario's ``lang``, else Chinese when its names are Chinese).
        """
        row = self.districts.loc[self.districts["district_id"] == str(district_id)]
        if row.empty:
            from ._errors import PlannerError
            raise PlannerError(f"unknown district {district_id!r}", "districts", None, "district_id")
        return i18n.reason_lines(row["shortfall_reason"].iloc[0], lang or i18n.scenario_lang(self.scenario))

    # ------------------------------------------------------------ phased plans

    def phasing(self, district_id=None) -> pd.DataFrame:
        """A phased plan's need against capacity and money by year (see :func:`planner.phased_tables.phasing_table`)."""
        from .phased_tables import phasing_table

        return phasing_table(self, district_id)

    def explain_years(self, lang: str | None = None) -> list[str]:
        """A phased plan's missed targets, one line per year and district (``"2029: … short by 120 in …"``)."""
        from .phased_tables import explain_years

        return explain_years(self, lang)

    def phasing_figure(self, district_id=None, lang: str = "zh"):
        """The phasing chart (need vs capacity by year) as a matplotlib Figure."""
        from .charts import phasing_figure

        return phasing_figure(self, district_id, lang)

    def to_phasing_png(self, path, district_id=None, lang: str = "zh"):
        """Write the phasing chart as a PNG (whole region, or one district); returns the Path."""
        from .charts import write_phasing_png

        return write_phasing_png(self, path, district_id, lang)

    def to_csv(self, folder) -> dict:
        """Write districts.csv, facilities.csv, areas.csv and summary.json (atomically).

        A phased plan also writes by_year.csv, facility_years.csv, phasing.csv and phasing.png.
        """
        from pathlib import Path
        from .io import check_outputs, write_atomic, write_text_atomic

        folder = Path(folder)
        protect = list(self.scenario.sources.values())
        check_outputs([folder / n for n in CSV_OUTPUTS], protect)  # all refused before any is written
        written = {}
        for name in ("districts", "facilities", "areas"):
            table = _plain(getattr(self, name))
            written[name] = write_atomic(folder / f"{name}.csv",
                                         lambda p, t=table: t.to_csv(p, index=False, encoding="utf-8-sig"), protect)
        if self.by_year is not None:  # a phased plan: every year, facilities by year, the phasing
            for name, table in (("by_year", self.by_year), ("facility_years", self.facility_years),
                                ("phasing", self.phasing())):
                written[name] = write_atomic(folder / f"{name}.csv",
                                             lambda p, t=table: t.to_csv(p, index=False, encoding="utf-8-sig"), protect)
            written["phasing_png"] = self.to_phasing_png(folder / "phasing.png")
        text = json.dumps(self.summary(), ensure_ascii=False, indent=2)
        written["summary"] = write_text_atomic(text, folder / "summary.json", protect)
        return written

    # ------------------------------------------------------------ maps and exports

    def _of_year(self, year) -> "Result":
        """A phased plan's Result of ``year`` (default the last plan year); a single-period plan itself."""
        if self.per_year is None:
            if year is not None:
                from ._errors import PlannerError
                raise PlannerError("year applies to phased plans (set the plan years)", "years", None, "year")
            return self
        return self.for_year(self.years[-1] if year is None else year)

    def map(self, lang: str = "zh", tiles=None, year=None, **kwargs):
        """The interactive map as a ``folium.Map`` (see :func:`planner.maps.build_map`).

        ``lang`` is ``"zh"`` or ``"en"``; ``tiles`` adds a tile layer (needs
        the internet); ``year``: a phased plan's year (default the last);
        other keywords: ``measure``, ``when``, ``show_areas``.
        """
        from .maps import build_map

        return build_map(self._of_year(year), lang=lang, tiles=tiles, **kwargs)

    def to_html(self, path, lang: str = "zh", tiles=None, year=None, **kwargs):
        """Write the map as one self-contained HTML file that works offline; returns the Path.

        A phased plan: every year's map behind a year selector, or only ``year``'s map.
        """
        from .maps import write_html, write_years_html

        if self.per_year is not None and year is None:
            return write_years_html(self, path, lang=lang, tiles=tiles, **kwargs)
        return write_html(self._of_year(year), path, lang=lang, tiles=tiles, **kwargs)

    def to_geopackage(self, path):
        """Write districts (if polygons), facilities and areas as GeoPackage layers; returns the Path."""
        from .export import write_geopackage

        return write_geopackage(self, path)

    def to_excel(self, path, lang: str = "zh"):
        """Write one sheet per table with headers in ``lang`` (row 2: column names); returns the Path."""
        from .export import write_excel

        return write_excel(self, path, lang=lang)

    def to_png(self, path, lang: str = "zh", measure: str = "slots", when: str = "after", year=None, **kwargs):
        """Write the attainment map as a static PNG for reports; returns the Path (``year``: as :meth:`to_html`)."""
        from .maps import write_png

        return write_png(self._of_year(year), path, lang=lang, measure=measure, when=when, **kwargs)


AGGREGATE_COLUMNS = ("district_id", "name", "level", "target", "value", "required", "achieved", "shortfall")


def _aggregate_table(model, v, districts) -> pd.DataFrame:
    """Targets on aggregates of districts and their outcome: one row per (aggregate, target).

    ``required`` / ``achieved``: slots, beds, care-oriented beds, affordable
    slots or centres the target asks for and the plan gives; ``shortfall``
    the model's shortfall (0 when met). Per-leaf targets are in ``districts``.
    """
    from .formulation import AGGREGATE_KEYS

    lv = getattr(getattr(model, "data", None), "levels", None)
    rows = []
    if lv is not None:
        leaf = districts
        sums = lambda g, col: _sum_over(g, leaf[col].to_numpy(float))  # noqa: E731
        spec = {  # target → (required as f(value, group), achieved column)
            "childcare_per_1000": (lambda t, g: targets.required(t, sums(g, "pop_total")), "slots_after"),
            "affordable_share": (lambda t, g: targets.share_floor(t, sums(g, "slots_after")), "affordable_slots_after"),
            "beds_per_1000_elderly": (lambda t, g: targets.required(t, sums(g, "pop_60_plus")), "beds_after"),
            "care_bed_share": (lambda t, g: targets.share_floor(t, sums(g, "beds_after")), "care_beds_after"),
            "care_beds_per_care_need": (lambda t, g: targets.care_beds_required(t, sums(g, "care_need")),
                                        "care_beds_after"),
        }
        groups = [(name, g, f"sf_agg_{AGGREGATE_KEYS[name]}") for name, g in lv.aggregates.items()]
        if lv.centres is not None:
            groups.append(("min_affordable_centres", lv.centres, "sf_centres"))
        for name, g, block in groups:
            if block not in v:  # (care need at 0 asks for nothing: no rows)
                continue
            ids = lv.group_ids(g)
            by_id = pd.Series(np.asarray(v[block], float), index=model.problem.variables[block].index)
            if name == "min_affordable_centres":
                required = g.value
                achieved = sums(g, "affordable_centres_after")
            else:
                fn, col = spec[name]
                required, achieved = fn(g.value, g), sums(g, col)
            for i, gid in enumerate(ids):
                r = g.row[i]
                rows.append({"district_id": gid, "name": "all" if r < 0 else lv.tree.names[r],
                             "level": lv.group_levels(g)[i], "target": name, "value": float(g.value[i]),
                             "required": float(required[i]), "achieved": float(achieved[i]),
                             "shortfall": float(_clean(by_id.get(gid, 0.0)))})
    if rows:
        out = pd.DataFrame(rows)
        leaf_rows = out["district_id"].isin(districts["district_id"]) & (out["target"] == "min_affordable_centres")
        return out[~leaf_rows].reset_index(drop=True)  # a leaf's centres are in its own row
    return pd.DataFrame({c: np.empty(0, object if c in ("district_id", "name", "level", "target") else float)
                         for c in AGGREGATE_COLUMNS})  # (arrays: a quarter of the time of empty Series)


def _sum_over(groups, per_leaf) -> np.ndarray:
    return groups.members.astype(float) @ np.nan_to_num(np.asarray(per_leaf, float))


def _care_need_reasons(districts, p) -> None:
    """Reason codes for a care-need shortfall: all allowed conversions and new beds are not enough, or budget."""
    short = districts["shortfall_care_need_beds"].to_numpy(float) > TOL
    if not short.any():
        return
    C = p.child
    n = p.n_districts
    conv_up = np.bincount(p.fac_d[~C], p.conv_upper[~C], n)
    new_up = np.bincount(p.fac_d[~C], p.add_upper[~C], n) if p.new_beds_care else np.zeros(n)
    possible = (districts["care_beds_before"].to_numpy(float) + conv_up + new_up
                >= districts["target_care_need_beds"].to_numpy(float) - TOL)
    limited = "budget" if p.budget is not None else "expansion_limit"
    codes = districts["shortfall_reason"].to_numpy(object).copy()
    for i in np.flatnonzero(short):
        code = f"care_need:{limited if possible[i] else 'expansion_limit'}"
        codes[i] = ";".join(filter(None, [codes[i], code]))
    districts["shortfall_reason"] = codes
    districts.loc[short, "met_targets"] = False
    districts.loc[short, "met"] = False


def _affordable_centres(fin, model, v) -> np.ndarray:
    """Per facility: an affordable (普惠) childcare centre after the plan (existing with affordable slots, or opened as one)."""
    p = model.prepared
    existing = p.child & ~p.cand & (fin["slots_affordable"] > 0)
    return existing | (_opened_as_centres(p, v) > 1e-6)


def _opened_as_centres(p, v) -> np.ndarray:
    opened = np.zeros(len(p.fac_d))
    if "open_aff" in v:
        opened[np.flatnonzero(p.cand & p.child)] = np.asarray(v["open_aff"], float)
    return opened


def _centre_columns(out: dict, fac, model, v) -> dict:
    """Affordable (普惠) childcare centres per district, before and after (``min_affordable_centres``).

    ``out``: the district columns so far (``met``, ``met_targets`` and ``shortfall_reason`` are
    updated where a district is short of centres); returns the new columns.
    """
    p = model.prepared
    n = p.n_districts
    existing = p.child & ~p.cand & (fac["slots_affordable"].to_numpy(float) > 0)
    before = np.bincount(p.fac_d[existing], minlength=n).astype(float)
    after = before + np.bincount(p.fac_d, _opened_as_centres(p, v), n) if "open_aff" in v else before.copy()
    sc = model.scenario
    own = sc.districts["min_affordable_centres"].to_numpy(float) if "min_affordable_centres" in sc.districts \
        else np.full(n, np.nan)
    sf = np.zeros(n)
    if "sf_centres" in v:
        by_id = pd.Series(np.asarray(v["sf_centres"], float), index=model.problem.variables["sf_centres"].index)
        sf = _clean(by_id.reindex(out["district_id"]).fillna(0.0).to_numpy(float))
    short = sf > TOL
    if short.any():
        for col in ("met_targets", "met"):
            out[col] = np.where(short, False, out[col])
        why = "centres:expansion_limit" if p.budget is None else "centres:budget"
        out["shortfall_reason"] = np.array([";".join(filter(None, [r, why])) if s else r
                                            for r, s in zip(out["shortfall_reason"], short)], dtype=object)
    return {"affordable_centres_before": before, "affordable_centres_after": after,
            "target_affordable_centres": own, "shortfall_affordable_centres": sf}


def _with_geometry(out, res, tree, level):
    """Roll-up rows with their polygons: parents' own, or the union of the leaves for "all"."""
    leaves = res.districts
    if not isinstance(leaves, gpd.GeoDataFrame):
        return out
    if level == "all":
        import shapely

        geom = [shapely.union_all(leaves.geometry.to_numpy())]
    else:
        parents = res.scenario.parents
        if not isinstance(parents, gpd.GeoDataFrame):
            return out
        g = parents.set_index(parents["district_id"].astype(str)).geometry
        geom = g.reindex(out["district_id"].astype(str)).to_numpy()
    return gpd.GeoDataFrame(out, geometry=list(geom), crs=leaves.crs)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """A table for CSV: geometry as WKT, lon/lat of points kept."""
    if isinstance(df, gpd.GeoDataFrame):
        out = pd.DataFrame(df.drop(columns=df.geometry.name))
        out["geometry_wkt"] = df.geometry.to_wkt()
        return out
    return df


def _scores(ain, fin, p, decay) -> dict:
    """2SFCA and enhanced 2SFCA per area: capacity per 1,000 people in reach, before and after."""
    from .access import two_step_fca

    out = {}
    for service, pairs, limit, demand, cap in (
            ("childcare", p.pairs_c, p.limit_c, ain["pop_total"], "slots"),
            ("beds", p.pairs_e, p.limit_e, ain["pop_60_plus"], "beds")):
        for when, col in (("before", cap), ("after", f"{cap}_after")):
            supply = fin[col]
            out[f"score_2sfca_{service}_{when}"] = two_step_fca(pairs, demand, supply, limit, "none")
            out[f"score_e2sfca_{service}_{when}"] = two_step_fca(pairs, demand, supply, limit, decay)
    return out


class _Columns(dict):
    """Columns of a frame as float arrays, each read once (plus arrays set with ``update``)."""

    def __init__(self, frame):
        super().__init__()
        self.frame = frame

    def __missing__(self, name):
        value = self[name] = self.frame[name].to_numpy(float)
        return value


def _share(served, need):
    """Share of an area's need served in reach (1 where it needs nothing)."""
    return np.nan_to_num(targets.share(served, need), nan=1.0)


def _clean(v):
    v = np.asarray(v, float)
    return np.where(v > TOL, v, 0.0)


def _with_columns(frame: pd.DataFrame, columns: dict) -> pd.DataFrame:
    """A copy of ``frame`` with ``columns`` set, new ones joined at once (one concat, not one insert each)."""
    new = {k: v for k, v in columns.items() if k not in frame.columns}
    out = pd.concat([frame, pd.DataFrame(new, index=frame.index)], axis=1) if new else frame.copy()
    for k, v in columns.items():
        if k in frame.columns:  # a column the input already had keeps its place
            out[k] = v
    return out


def _district_table(sc, p, fac, ar, v, n_d, status, fin=None, ain=None, after=None, tail=None) -> pd.DataFrame:
    """The district table, framed once. ``after(out)`` and ``tail(out)`` give columns placed after
    ``cost`` and after the geometry (they see the columns so far, as arrays, and may update them)."""
    # Columns are gathered as arrays and framed once: inserting ~60 columns one by one into a
    # DataFrame was most of the Result's time on county-sized plans (every slider step pays it).
    d = sc.districts
    t = p.targets
    bc = lambda idx, w: np.bincount(idx, np.asarray(w, float), n_d)  # noqa: E731
    C = p.child
    fd = p.fac_d
    fin = _Columns(fac) if fin is None else fin
    ain = _Columns(ar) if ain is None else ain
    fcol, acol = fin.__getitem__, ain.__getitem__
    out = {"district_id": d["district_id"].to_numpy(object), "name": d["name"].to_numpy(object)}
    if "parent_id" in d.columns:
        out["parent_id"] = d["parent_id"].to_numpy(object)
    for c in ("pop_total", "pop_0_2", "pop_60_plus"):
        out[c] = bc(p.area_d, np.nan_to_num(acol(c)) if c == "pop_0_2" else acol(c))
    pop, eld = out["pop_total"], out["pop_60_plus"]
    per, frac = targets.per_1000, targets.share
    slots_b = bc(fd[C], fcol("slots")[C])
    slots_a = bc(fd[C], fcol("slots_after")[C])
    aff_b = bc(fd[C], fcol("slots_affordable")[C])
    aff_a = aff_b + bc(fd[C], fcol("added_affordable")[C])
    beds_b = bc(fd[~C], fcol("beds")[~C])
    beds_a = bc(fd[~C], fcol("beds_after")[~C])
    care_b = bc(fd[~C], fcol("beds_care")[~C])
    care_a = bc(fd[~C], fcol("beds_care_after")[~C])
    for name in t.columns:
        out[f"target_{name}"] = t[name].to_numpy(float)
    # the larger of the per-1,000 target and, where set, the per-child one (need that follows births)
    out["target_slots"] = targets.required_slots(t["childcare_per_1000"].to_numpy(), pop,
                                                 t["childcare_per_child"].to_numpy(), out["pop_0_2"])
    out["target_beds"] = targets.required(t["beds_per_1000_elderly"].to_numpy(), eld)
    out["slots_before"], out["slots_after"] = slots_b, slots_a
    kids = out["pop_0_2"]
    out["slots_per_child_before"], out["slots_per_child_after"] = frac(slots_b, kids), frac(slots_a, kids)
    out["slots_per_1000_before"], out["slots_per_1000_after"] = per(slots_b, pop), per(slots_a, pop)
    out["affordable_slots_before"], out["affordable_slots_after"] = aff_b, aff_a
    out["affordable_share_before"], out["affordable_share_after"] = frac(aff_b, slots_b), frac(aff_a, slots_a)
    out["beds_before"], out["beds_after"] = beds_b, beds_a
    out["beds_per_1000_elderly_before"], out["beds_per_1000_elderly_after"] = per(beds_b, eld), per(beds_a, eld)
    out["care_beds_before"], out["care_beds_after"] = care_b, care_a
    out["care_share_before"], out["care_share_after"] = frac(care_b, beds_b), frac(care_a, beds_a)
    # assessed care need (护理需求评估): care-oriented beds per assessed person
    need = bc(p.area_d, acol("pop_care_need")) if "pop_care_need" in ar else np.zeros(n_d)
    out["care_need"] = need
    out["target_care_need_beds"] = targets.care_beds_required(t["care_beds_per_care_need"].to_numpy(float), need) \
        if "care_beds_per_care_need" in t else np.zeros(n_d)
    out["care_beds_per_care_need_before"] = frac(care_b, need)
    out["care_beds_per_care_need_after"] = frac(care_a, need)
    out["shortfall_slots"] = _clean(v["sf_slots"])
    out["shortfall_affordable"] = _clean(v["sf_aff"])
    out["shortfall_beds"] = _clean(v["sf_beds"])
    out["shortfall_care_beds"] = _clean(v["sf_care"])
    out["shortfall_care_need_beds"] = _clean(v["sf_careneed"]) if "sf_careneed" in v else np.zeros(n_d)
    out["shortfall_access_childcare"] = bc(p.area_d, acol("shortfall_access_childcare"))
    out["shortfall_access_beds"] = bc(p.area_d, acol("shortfall_access_beds"))
    for kind, col, people in (("childcare", "need_childcare", "pop_total"), ("beds", "need_beds", "pop_60_plus")):
        people_a = acol(people)
        for suffix in ("_before", ""):
            out[f"access_share_{kind}{suffix}"] = frac(bc(p.area_d, acol(f"served_in_reach_{kind}{suffix}")),
                                                       bc(p.area_d, acol(col)))
        nothing = (acol(f"sites_in_reach_{kind}") == 0) & (acol(col) > 0)
        out[f"areas_without_reach_{kind}"] = bc(p.area_d, nothing)
        out[f"people_without_reach_{kind}"] = bc(p.area_d, people_a * nothing)
        for when in ("before", "after"):  # demand-weighted mean score of the district
            score = f"score_e2sfca_{kind}_{when}"
            out[score] = frac(bc(p.area_d, acol(score) * people_a), bc(p.area_d, people_a))
    sf_cols = ["shortfall_slots", "shortfall_affordable", "shortfall_beds", "shortfall_care_beds",
               "shortfall_access_childcare", "shortfall_access_beds"]
    # per-1,000, shares and assessed care need
    met_targets = np.all([np.asarray(out[c]) <= TOL for c in sf_cols[:4] + ["shortfall_care_need_beds"]], axis=0)
    met_access = np.all([np.asarray(out[c]) <= TOL for c in sf_cols[4:]], axis=0)   # the life-circle reach rule
    out["met_targets"], out["met_access"], out["met"] = met_targets, met_access, met_targets & met_access
    out["shortfall_reason"] = np.array(_reasons(p, ain, out, status), dtype=object)
    out["attainment_childcare"] = np.asarray(targets.attainment(slots_a, out["target_slots"]), float)
    out["attainment_beds"] = np.asarray(targets.attainment(beds_a, out["target_beds"]), float)
    out["cost"] = bc(fd, fcol("cost"))
    if after is not None:
        out.update(after(out))
    geom = getattr(d, "geometry", None) if isinstance(d, gpd.GeoDataFrame) else None
    if geom is not None:
        out["geometry"] = geom.to_numpy()
    if tail is not None:
        out.update(tail(out))
    if geom is not None:
        return gpd.GeoDataFrame(out, geometry="geometry", crs=d.crs)
    return pd.DataFrame(out)


def _marginal_costs(out: dict, model, sol) -> dict:
    """``marginal_cost_*`` columns (yuan per +1 unit of a district's target; see docs/model.md)."""
    from .formulation import MARGINAL_COST_COLUMNS, marginal_costs

    n = len(out["district_id"])
    # phased plans' year views carry no per-area populations: no marginal costs there (yet)
    if sol is None or sol.duals is None or model.data is None or getattr(model.data, "area_pop", None) is None:
        return {c: np.full(n, np.nan) for c in MARGINAL_COST_COLUMNS}
    col = lambda c: np.asarray(out[c], float)  # noqa: E731
    shortfall = {k: col(c) for k, c in DISTRICT_SHORTFALL_COLUMNS.items()}
    mc = marginal_costs(model.data, sol, col("slots_after"), col("beds_after"), shortfall)
    return {c: np.asarray(mc[c], float) for c in MARGINAL_COST_COLUMNS}


def _add_aggregate_marginal_costs(aggregates, model, sol, districts) -> None:
    """``marginal_cost`` of each aggregate target: yuan for +1 unit of its own target (per 1,000, or one
    point of a share), like the districts' ``marginal_cost_*`` (:func:`planner.formulation.aggregate_marginal_costs`);
    NaN for targets without one (care need, centres) and where there are no duals."""
    from .formulation import aggregate_marginal_costs

    aggregates["marginal_cost"] = np.nan
    data = getattr(model, "data", None)
    if not len(aggregates) or sol is None or sol.duals is None or getattr(data, "area_pop", None) is None:
        return
    after = {c: districts[c].to_numpy(float) for c in ("slots_after", "beds_after")}
    mc = aggregate_marginal_costs(data, sol, after)
    for name, values in mc.items():
        ids = data.levels.group_ids(data.levels.aggregates[name])
        by_id = pd.Series(values, index=ids)
        rows = aggregates["target"] == name
        aggregates.loc[rows, "marginal_cost"] = by_id.reindex(aggregates.loc[rows, "district_id"]).to_numpy(float)


def _reasons(p, ar, out, status) -> list[str]:
    """Why each missed target is missed, as 'target:reason' codes."""
    n_d = p.n_districts
    C = p.child
    bc = lambda idx, w: np.bincount(idx, np.asarray(w, float), n_d)  # noqa: E731
    fd = p.fac_d
    up_c = bc(fd[C], p.add_upper[C])
    up_e = bc(fd[~C], p.add_upper[~C])
    conv_up = bc(fd[~C], p.conv_upper[~C])
    # What is reachable with every allowed expansion/conversion (budget aside).
    col = lambda c: np.asarray(out[c], float)  # noqa: E731 - out: the district columns (frame or dict)
    possible = targets.reachable(
        slots=col("slots_before"), affordable=col("affordable_slots_before"),
        beds=col("beds_before"), care=col("care_beds_before"),
        add_slots=up_c, add_beds=up_e, convertible=conv_up, target_slots=col("target_slots"),
        affordable_share=col("target_affordable_share"), target_beds=col("target_beds"),
        care_bed_share=col("target_care_bed_share"), new_beds_care=p.new_beds_care)
    # A shortfall that full expansion could close is the budget's (or the time limit's) doing.
    limited = "budget" if p.budget is not None else "time_limit" if status == "time_limit" else "expansion_limit"
    cols = DISTRICT_SHORTFALL_COLUMNS
    # One code column per target and reach kind ("" where nothing is missed), joined per district.
    parts = []
    for target, name in cols.items():
        short = col(name) > TOL
        why = np.where(np.asarray(possible[target], bool), limited, "expansion_limit")
        parts.append(np.where(short, np.char.add(f"{target}:", why.astype(str)), ""))
    # Areas short of reach: is anything in reach at all?
    for kind, sites, sf in (("childcare", "sites_in_reach_childcare", "shortfall_access_childcare"),
                            ("beds", "sites_in_reach_beds", "shortfall_access_beds")):
        short = np.asarray(ar[sf], float) > TOL
        none = short & (np.asarray(ar[sites], float) == 0)
        parts.append(np.where(bc(p.area_d, none) > 0, f"access_{kind}:no_site_in_reach", ""))
        parts.append(np.where(bc(p.area_d, short & ~none) > 0, f"access_{kind}:{limited}", ""))
    return [";".join(filter(None, row)) for row in zip(*(part.tolist() for part in parts))]
