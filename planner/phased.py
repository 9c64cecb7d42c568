"""The phased plan: one LP/MILP over all plan years (DESIGN.md "Phased plans over years").

Every block of the single-period model (:mod:`planner.formulation`) gets a
``year`` level, the first level of its index. Capacity decisions are
*states*: ``add[y, f]`` is what facility f has added by the end of year y
(likewise affordable slots ``aff``, conversions ``conv``, candidate sites
open ``open`` and slots given up for beds ``rep``), so every district,
share, site and reach row of year y reads exactly as the single-period row
with year y's population and targets. What is spent in year y is the
increase of the states; that telescopes, so the budget rows and the
objective stay linear in the states:

    spent by the end of y   = Σ_f cost_f · X[y, f]  +  Σ_f op_f · Σ_{s<y} add[s, f]
    objective (least cost)  = Σ_y Σ_f (w_y − w_{y+1}) · cost_f · X[y, f]
                              + Σ_s Σ_f op_f · add[s, f] · w_{s+1}  + shortfall terms

with ``X`` any priced state (add, conv, open, rep), ``w_y = 1/(1+r)^(y − y0)``
(``options.discount_rate``; ``w_{T+1} = 0``) and ``op`` the operating cost of
an added slot or bed, from the year after it is added. ``w`` also falls by
``TIE_BREAK`` a year, so that when timing makes no difference to cost
(no discounting, no operating cost) capacity is built in the year it is
needed rather than at an arbitrary earlier one.

Repurposing (facilities columns ``repurpose_to_beds`` g and
``cost_per_repurpose``): an existing childcare facility gives up ``rep``
slots (≤ its existing slots) and gains g · rep elderly-care beds in place,
built care-oriented like new beds (option ``new_beds_care``). Slots given up
are taken in proportion to the facility's affordable share ρ = SA/S, so its
existing affordable slots fall by ρ · rep. The beds count in the district
rows (beds, care share) and in the eldercare reach rows: areas within the
eldercare catchment of the facility may be served by its g · rep beds.

Rows per year y and district d (t = year y's targets, P = year y's population):

    slots:       Σ_C add − Σ_R rep + sf_slots ≥ max(t_1000 · P_total / 1000, t_child · P_0_2) − S
    affordable:  Σ_C (aff − t_aff · add) + Σ_R (t_aff − ρ) · rep + sf_aff ≥ t_aff · S − SA
    beds:        Σ_E add + Σ_R g · rep + sf_beds ≥ t_beds · P_60 / 1000 − B
    care:        Σ_E (conv + (n − t_care) · add) + Σ_R (n − t_care) · g · rep + sf_care ≥ t_care · B − BC
    stays:       X[y, f] − X[y−1, f] ≥ 0   (added, converted, repurposed stays; open stays open)
    budget:      spent by the end of y ≤ Σ_{s≤y} budget_s   (unspent money carries over)

and per year the single-period rows ``aff_link``, ``site_max``/``site_min``,
``access_*``/``capacity_*`` (reach of year y's need; a repurposing
facility's childcare capacity falls by ``rep``, its eldercare capacity is g · rep). With one plan year and no
repurposing or operating cost this is the single-period model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import targets as T
from .formulation import SHORTFALL_BLOCKS, SHORTFALL_PRICE
from .lp import LinearProblem, lazy_index
from .phasing import budget_by_year, discount_weights
from .schema import DISTRICT_SHORTFALL_COLUMNS

TIE_BREAK = 1e-3  # relative weight lost per year: build when needed, not earlier, if cost is equal (less
#                    degenerate than 1e-4: about a quarter faster on 10,000 areas × 5 years)
DISTRICT_SHORTFALLS = ("sf_slots", "sf_aff", "sf_beds", "sf_care")


@dataclass
class PhasedData:
    """What the phased ``define_*`` functions read (built by :func:`build_phased`).

    Per-year arrays have the year as their first axis (``n_years × …``).
    """

    years: list
    p: object                 # planner.model.Prepared of the first year (reach pairs, bounds, costs)
    per_year: list            # Prepared of each year (its targets and need)
    groups: dict              # "c"/"e" → AreaGroups (the same every year: reach does not change)
    districts: pd.Index
    facilities: pd.Index
    area_ids: np.ndarray
    existing: dict            # slots, affordable, beds, care → per facility
    fixed: np.ndarray
    min_size: np.ndarray
    max_size: np.ndarray
    rep_gain: np.ndarray      # beds per slot given up (0: cannot), per facility
    rep_cost: np.ndarray      # yuan per slot given up
    op_cost: np.ndarray       # yuan per added slot/bed per year
    pop: np.ndarray           # n_years × n_districts
    elderly: np.ndarray
    children: np.ndarray
    budget: np.ndarray | None  # yuan per year
    weights: np.ndarray       # discount (and tie-break) weight per year
    scale: float
    cost_weight: float
    price: dict               # shortfall block → n_years × n labels
    C: np.ndarray = field(default=None)
    E: np.ndarray = field(default=None)
    K: np.ndarray = field(default=None)
    R: np.ndarray = field(default=None)
    area_pop: list = field(default=None)  # per year: "pop_total", "pop_60_plus" → per area (marginal costs)

    def __post_init__(self):
        p = self.p
        self.C, self.E, self.K = np.flatnonzero(p.child), np.flatnonzero(~p.child), np.flatnonzero(p.cand)
        self.R = np.flatnonzero(self.rep_gain > 0)

    @property
    def n_years(self) -> int:
        return len(self.years)

    def index_years(self) -> pd.Index:
        return pd.Index(self.years, name="year")

    def index(self, labels, pos=None, name=None):
        """(year, label) index over ``labels`` (a lazy Index) restricted to ``pos``; year-major."""
        n = labels.n if pos is None else len(pos)
        years = self.years

        def make():
            lab = labels.get() if pos is None else labels.get()[pos]
            return pd.MultiIndex.from_product([pd.Index(years, name="year"), lab])
        return lazy_index(n * len(years), make)

    def per_district(self, fac_set, values) -> np.ndarray:
        return np.bincount(self.p.fac_d[fac_set], np.asarray(values, float)[fac_set], len(self.p.district_ids))

    def flow_pairs(self, name: str):
        p = self.p
        pairs = p.pairs_c if name == "c" else p.pairs_e
        g = self.groups[name]
        return pairs if len(g.flow_pairs) == len(pairs) else pairs.select(g.flow_pairs)

    def group_index(self, name: str):
        g, ids = self.groups[name], self.area_ids

        def make():
            first = np.full(g.n, -1)
            first[g.of_area[::-1]] = np.arange(len(g.of_area))[::-1]
            return pd.Index(ids[first], name="area_group")
        return lazy_index(g.n, make)


def _rows(d: PhasedData, n: int, pos) -> np.ndarray:
    """Row of (year, label) for a year-major block of ``n`` labels per year: pos + year · n."""
    return (np.arange(d.n_years)[:, None] * n + np.asarray(pos)[None, :]).ravel()


def _per_year(d: PhasedData, var, n_labels: int):
    """The positions of ``var`` year by year (a year-major block of ``n_labels`` per year)."""
    return var.positions.reshape(d.n_years, n_labels)


# ------------------------------------------------------------------ variables

def define_capacity_variables(lp: LinearProblem, d: PhasedData) -> dict:
    """States per (year, facility), by the end of the year:

    add[y, f] ∈ [0, max_add_f] (candidates [0, max_size_f]); aff[y, f] for f ∈ C;
    conv[y, f] ∈ [0, B_f − BC_f] for f ∈ E; open[y, k] ∈ [0, 1] for k ∈ K;
    rep[y, f] ∈ [0, S_f] for f ∈ R (childcare facilities that may repurpose). Integer in integer mode.
    """
    p, C, E, K, R = d.p, d.C, d.E, d.K, d.R
    tile = lambda a: np.tile(np.asarray(a, float), d.n_years)  # noqa: E731
    return {
        "add": lp.add_variables("add", d.index(d.facilities), upper=tile(p.add_upper), integer=p.integer),
        "aff": lp.add_variables("aff", d.index(d.facilities, C), upper=tile(p.add_upper[C]), integer=p.integer),
        "conv": lp.add_variables("conv", d.index(d.facilities, E), upper=tile(p.conv_upper[E]), integer=p.integer),
        "open": lp.add_variables("open", d.index(d.facilities, K), upper=1.0, integer=p.integer),
        "rep": lp.add_variables("rep", d.index(d.facilities, R), upper=tile(d.existing["slots"][R]),
                                integer=p.integer),
    }


def define_flow_variables(lp: LinearProblem, d: PhasedData) -> dict:
    """flow_c[y, g, f], flow_e[y, g, f] ≥ 0: year y's need of area group g served by f in reach."""
    out = {}
    for name in ("c", "e"):
        fp = d.flow_pairs(name)
        gi, g = d.group_index(name), d.groups[name]
        group_of = g.of_area[fp.area]
        n = len(fp)

        def make(gi=gi, group_of=group_of, fac=fp.facility, n=n):
            return pd.MultiIndex(levels=[pd.Index(d.years, name="year"), gi.get(), d.facilities.get()],
                                 codes=[np.repeat(np.arange(d.n_years), n), np.tile(group_of, d.n_years),
                                        np.tile(fac, d.n_years)],
                                 names=["year", "area_group", "facility_id"], verify_integrity=False)
        out[f"flow_{name}"] = lp.add_variables(f"flow_{name}", lazy_index(n * d.n_years, make))
    return out


def define_shortfall_variables(lp: LinearProblem, d: PhasedData) -> dict:
    """Shortfalls ≥ 0 per (year, district) and per (year, area group), slots or beds."""
    return {name: lp.add_variables(name, d.index(d.districts if name in DISTRICT_SHORTFALLS
                                                 else d.group_index(name[-1])))
            for name in SHORTFALL_BLOCKS}


# ------------------------------------------------------------------ rows

def _by_district(d: PhasedData, var, fac_set, factor=None):
    """Σ over the facilities of each district, per year: (year, district) rows of a (year, f ∈ fac_set)
    block, each term times ``factor`` (one value per (year, f), year-major)."""
    rows = _rows(d, len(d.p.district_ids), d.p.fac_d[fac_set])
    e = var.to_expr() if factor is None else var * factor
    return e.sum_by(rows, d.index(d.districts))


def _yearly(d: PhasedData, key: str) -> np.ndarray:
    """A district target of every year, year-major (n_years · n_districts)."""
    return np.concatenate([py.targets[key].to_numpy(float) for py in d.per_year])


def define_district_slots(lp: LinearProblem, v: dict, d: PhasedData):
    """Per (y, d): Σ_C add − Σ_R rep + sf_slots ≥ max(t_1000 · P_total / 1000, t_child · P_0_2) − S   (slots)."""
    C, R = d.C, d.R
    need = np.maximum(T.required(_yearly(d, "childcare_per_1000"), d.pop.ravel()),
                      _yearly(d, "childcare_per_child") * d.children.ravel())
    lhs = _by_district(d, v["add"][_rows(d, len(d.p.fac_d), C)], C) + v["sf_slots"]
    if len(R):
        lhs = lhs - _by_district(d, v["rep"], R)
    return lp.add_constraints("slots", lhs >= need - np.tile(d.per_district(C, d.existing["slots"]), d.n_years))


def define_affordable_share(lp: LinearProblem, v: dict, d: PhasedData):
    """Per (y, d): Σ_C (aff − t_aff · add) + Σ_R (t_aff − ρ) · rep + sf_aff ≥ t_aff · S − SA   (slots).

    That is SA − Σ ρ · rep + Σ aff ≥ t_aff · (S + Σ add − Σ rep), with ρ = SA_f / S_f.
    """
    p, C, R = d.p, d.C, d.R
    n_d = len(p.district_ids)
    t_aff = _yearly(d, "affordable_share")
    year_of = lambda fac_set: np.repeat(np.arange(d.n_years), len(fac_set))  # noqa: E731
    tC = t_aff[year_of(C) * n_d + np.tile(p.fac_d[C], d.n_years)]
    lhs = _by_district(d, v["aff"], C) + _by_district(d, v["add"][_rows(d, len(p.fac_d), C)], C, -tC) + v["sf_aff"]
    if len(R):
        rho = T.share(d.existing["affordable"][R], d.existing["slots"][R])
        tR = t_aff[year_of(R) * n_d + np.tile(p.fac_d[R], d.n_years)]
        lhs = lhs + _by_district(d, v["rep"], R, tR - np.tile(np.nan_to_num(rho), d.n_years))
    S, SA = d.per_district(C, d.existing["slots"]), d.per_district(C, d.existing["affordable"])
    return lp.add_constraints("affordable", lhs >= T.share_floor(t_aff, np.tile(S, d.n_years)) - np.tile(SA, d.n_years))


def define_district_beds(lp: LinearProblem, v: dict, d: PhasedData):
    """Per (y, d): Σ_E add + Σ_R g · rep + sf_beds ≥ t_beds · P_60 / 1000 − B   (beds)."""
    E, R = d.E, d.R
    lhs = _by_district(d, v["add"][_rows(d, len(d.p.fac_d), E)], E) + v["sf_beds"]
    if len(R):
        lhs = lhs + _by_district(d, v["rep"], R, np.tile(d.rep_gain[R], d.n_years))
    need = T.required(_yearly(d, "beds_per_1000_elderly"), d.elderly.ravel())
    return lp.add_constraints("beds", lhs >= need - np.tile(d.per_district(E, d.existing["beds"]), d.n_years))


def define_care_share(lp: LinearProblem, v: dict, d: PhasedData):
    """Per (y, d): Σ_E (conv + (n − t_care) · add) + Σ_R (n − t_care) · g · rep + sf_care ≥ t_care · B − BC   (beds)."""
    p, E, R = d.p, d.E, d.R
    n_d = len(p.district_ids)
    t_care = _yearly(d, "care_bed_share")
    n = float(p.new_beds_care)
    tE = t_care[np.repeat(np.arange(d.n_years), len(E)) * n_d + np.tile(p.fac_d[E], d.n_years)]
    lhs = (_by_district(d, v["conv"], E) + _by_district(d, v["add"][_rows(d, len(p.fac_d), E)], E, n - tE)
           + v["sf_care"])
    if len(R):
        tR = t_care[np.repeat(np.arange(d.n_years), len(R)) * n_d + np.tile(p.fac_d[R], d.n_years)]
        lhs = lhs + _by_district(d, v["rep"], R, (n - tR) * np.tile(d.rep_gain[R], d.n_years))
    B, BC = d.per_district(E, d.existing["beds"]), d.per_district(E, d.existing["care"])
    return lp.add_constraints("care", lhs >= T.share_floor(t_care, np.tile(B, d.n_years)) - np.tile(BC, d.n_years))


def define_affordable_link(lp: LinearProblem, v: dict, d: PhasedData):
    """Per (y, f ∈ C): aff[y, f] − add[y, f] ≤ 0."""
    return lp.add_constraints("aff_link", v["aff"] - v["add"][_rows(d, len(d.p.fac_d), d.C)] <= 0.0)


def define_site_linking(lp: LinearProblem, v: dict, d: PhasedData) -> list:
    """Per (y, k ∈ K): add − max_size_k · open ≤ 0 and add − min_size_k · open ≥ 0."""
    K = d.K
    add = v["add"][_rows(d, len(d.p.fac_d), K)]
    return [lp.add_constraints("site_max", add - v["open"] * np.tile(d.max_size[K], d.n_years) <= 0.0),
            lp.add_constraints("site_min", add - v["open"] * np.tile(d.min_size[K], d.n_years) >= 0.0)]


def define_stays(lp: LinearProblem, v: dict, d: PhasedData) -> list:
    """Per block X ∈ {add, aff, conv, open, rep}, year y > first and label f: X[y, f] − X[y−1, f] ≥ 0.

    Capacity added, converted or repurposed stays in every later year; a candidate opened stays open.
    """
    out = []
    if d.n_years < 2:
        return out
    for name in ("add", "aff", "conv", "open", "rep"):
        var = v[name]
        n = len(var) // d.n_years
        if n == 0:
            continue
        later, earlier = var[n:], var[:-n]
        out.append(lp.add_constraints(f"stays_{name}", later - earlier >= 0.0))
    return out


def define_reach(lp: LinearProblem, v: dict, d: PhasedData) -> list:
    """Per year y, service (c, e), area group g and facility f of the service:

    access:   Σ_{f in reach of g} flow[y, g, f] + sf_acc[y, g] ≥ Σ_{a∈g} access_share_a · need[y, a]
    capacity: Σ_{g in reach of f} flow[y, g, f] − add[y, f] (+ rep[y, f] for f ∈ R) ≤ existing_f

    Eldercare capacity rows also cover every repurposing childcare facility f ∈ R, whose beds are
    the slots it has given up times its gain g_f (its eldercare pairs are those within the eldercare
    catchment, :func:`build_phased`):

    capacity (e, f ∈ R): Σ_{g in reach of f} flow_e[y, g, f] − g_f · rep[y, f] ≤ 0
    """
    p = d.p
    out = []
    n_f = len(p.fac_d)
    beds_at = np.union1d(d.E, d.R)  # eldercare facilities and the childcare ones that may gain beds
    beds_now = np.where(p.child, 0.0, d.existing["beds"])
    for name, fac_set, cap_now in (("c", d.C, d.existing["slots"]), ("e", beds_at, beds_now)):
        g = d.groups[name]
        fp = d.flow_pairs(name)
        flow = v[f"flow_{name}"]
        required = np.concatenate([np.bincount(g.of_area, py.access_share_a * (py.need_c if name == "c" else py.need_e),
                                               g.n) for py in d.per_year])
        out.append(lp.add_constraints(
            f"access_{name}", flow.sum_by(_rows(d, g.n, g.of_area[fp.area]), d.index(d.group_index(name)))
            + v[f"sf_acc_{name}"] >= required))
        local = np.full(n_f, -1)
        local[fac_set] = np.arange(len(fac_set))
        rows = d.index(d.facilities, fac_set)
        lhs = flow.sum_by(_rows(d, len(fac_set), local[fp.facility]), rows)
        built = d.C if name == "c" else d.E
        add = v["add"][_rows(d, n_f, built)]
        lhs = lhs - (add if len(built) == len(fac_set) else add.sum_by(_rows(d, len(fac_set), local[built]), rows))
        if len(d.R):
            # childcare: slots given up leave; eldercare: they come back as g_f beds each, in place
            gained = v["rep"] if name == "c" else v["rep"] * -np.tile(d.rep_gain[d.R], d.n_years)
            lhs = lhs + gained.sum_by(_rows(d, len(fac_set), local[d.R]), rows)
        out.append(lp.add_constraints(f"capacity_{name}", lhs <= np.tile(cap_now[fac_set], d.n_years)))
    return out


def cost_terms(v: dict, d: PhasedData) -> list:
    """(state block, yuan per unit per label) of every priced state: add, conv, open, rep (one year's labels)."""
    p = d.p
    return [(v["add"], p.cost_unit), (v["conv"], p.cost_conv[d.E]), (v["open"], d.fixed[d.K]),
            (v["rep"], d.rep_cost[d.R])]


def _spent_by_year(v: dict, d: PhasedData):
    """Yuan spent by the end of each year, as (year) rows: capital states of y + operating cost of added
    capacity in every earlier year."""
    years = d.index_years()
    expr = None
    for var, yuan in cost_terms(v, d):
        n = len(yuan)
        if n == 0 or not np.any(yuan):
            continue
        term = (var * np.tile(yuan, d.n_years)).sum_by(np.repeat(np.arange(d.n_years), n), years)
        expr = term if expr is None else expr + term
    op = d.op_cost
    if d.n_years > 1 and np.any(op):
        n_f = len(op)
        # add[s, f] counts in the rows of every year y > s
        s_of, y_of = np.triu_indices(d.n_years, k=1)
        src = (s_of[:, None] * n_f + np.arange(n_f)[None, :]).ravel()
        dst = np.repeat(y_of, n_f)
        term = (v["add"] * np.tile(op, d.n_years)).map_rows(src, dst, years)
        expr = term if expr is None else expr + term
    return expr


def define_budget(lp: LinearProblem, v: dict, d: PhasedData):
    """Budget mode only, per year y: (yuan spent by the end of y) / scale ≤ Σ_{s≤y} budget_s / scale.

    Spent = Σ cost_per_unit · add[y] + cost_per_conversion · conv[y] + fixed_cost · open[y]
    + cost_per_repurpose · rep[y] + Σ_{s<y} operating_cost · add[s]: unspent money carries over.
    """
    if d.budget is None:
        return None
    expr = _spent_by_year(v, d)
    if expr is None:
        return None
    return lp.add_constraints("budget", expr * (1.0 / d.scale) <= np.cumsum(d.budget) / d.scale)


def define_objective(lp: LinearProblem, v: dict, d: PhasedData) -> None:
    """min  cw · Σ_y (w_y − w_{y+1}) · Σ yuan · X[y] / scale  +  cw · Σ_s op · add[s] · w_{s+1} / scale
           +  SHORTFALL_PRICE · Σ_y Σ price · shortfall[y].

    (The first two terms are Σ_y w_y · yuan spent in year y, telescoped; cw as in the single-period model.)
    """
    w = d.weights
    following = np.append(w[1:], 0.0)                     # w_{y+1} (0 after the last year)
    step = w - following                                  # w_y − w_{y+1}
    for var, yuan in cost_terms(v, d):
        if len(yuan):
            lp.add_objective(var * (d.cost_weight * np.outer(step, yuan).ravel() / d.scale))
    if np.any(d.op_cost):  # the state add[s] runs in year s + 1 (paid then): op · w_{s+1}
        lp.add_objective(v["add"] * (d.cost_weight * np.outer(following, d.op_cost).ravel() / d.scale))
    for name in SHORTFALL_BLOCKS:
        lp.add_objective(v[name] * (SHORTFALL_PRICE * d.price[name].ravel()))


VARIABLES = (define_capacity_variables, define_flow_variables, define_shortfall_variables)
CONSTRAINTS = (define_district_slots, define_affordable_share, define_district_beds, define_care_share,
               define_affordable_link, define_site_linking, define_stays, define_reach, define_budget)


# ------------------------------------------------------------------ building


def build_phased(scenario, *, merge_areas: bool = True):
    """Assemble the phased LP/MILP of ``scenario`` (which has ``years``); returns a :class:`planner.model.Model`
    whose ``data`` is the :class:`PhasedData`."""
    from .model import AreaGroups, Model, cost_scale, labels_and_sites, prepare

    years = list(scenario.years)
    pop = scenario.population_by_year()
    first = scenario.for_year(years[0], pop)
    p = prepare(first)  # reach pairs once: travel times do not change with the years
    f = scenario.facilities
    gain = np.nan_to_num(f["repurpose_to_beds"].to_numpy(float)) if "repurpose_to_beds" in f else np.zeros(len(f))
    gain = np.where(p.child & ~p.cand & (f["slots"].to_numpy(float) > 0), gain, 0.0)
    if (gain > 0).any():  # a nursery that may give up slots for beds is an eldercare site in reach too
        from .access import merge_pairs, service_pairs

        p = replace(p, pairs_e=merge_pairs(p.pairs_e, service_pairs(first, "eldercare", np.flatnonzero(gain > 0))))
    area_d, n_d = p.area_d, p.n_districts
    per_year, P, area_pop = [], {c: [] for c in ("pop_total", "pop_60_plus", "pop_0_2")}, []
    for y in years:
        rows = pop[pop["year"] == y]
        t = scenario.district_targets(y)
        area_pop.append({c: np.nan_to_num(rows[c].to_numpy(float)) for c in ("pop_total", "pop_60_plus")})
        for c in P:
            P[c].append(np.bincount(area_d, np.nan_to_num(rows[c].to_numpy(float)), n_d))
        per_year.append(replace(
            p, targets=t,
            need_c=T.required(t["childcare_per_1000"].to_numpy(float)[area_d], rows["pop_total"].to_numpy(float)),
            need_e=T.required(t["beds_per_1000_elderly"].to_numpy(float)[area_d], rows["pop_60_plus"].to_numpy(float)),
            access_share_a=t["access_share"].to_numpy(float)[area_d]))
    make = AreaGroups.from_pairs if merge_areas else (lambda pairs, n, _d: AreaGroups.identity(pairs, n))
    groups = {s: make(pairs, len(area_d), area_d) for s, pairs in (("c", p.pairs_c), ("e", p.pairs_e))}
    fixed, min_size = f["fixed_cost"].to_numpy(float), f["min_size"].to_numpy(float)
    rep_cost = np.nan_to_num(f["cost_per_repurpose"].to_numpy(float)) if "cost_per_repurpose" in f else np.zeros(len(f))
    op = (np.nan_to_num(f["operating_cost_per_unit_year"].to_numpy(float)) if "operating_cost_per_unit_year" in f
          else np.zeros(len(f)))
    scale = cost_scale(p, fixed, min_size)
    scale = max(scale, float((rep_cost[gain > 0]).max(initial=0.0)))
    budget = budget_by_year(scenario.budget, years)
    cost_weight = 1.0 if budget is None else min(1.0, 1.0 / max(budget.sum() / scale, 1e-12))
    share_price = (lambda s: np.ones_like(s)) if budget is not None else (lambda s: 1.0 / np.maximum(1.0 - s, 1e-3))
    price = {"sf_slots": np.ones((len(years), n_d)), "sf_beds": np.ones((len(years), n_d)),
             "sf_aff": np.stack([share_price(py.targets["affordable_share"].to_numpy(float)) for py in per_year]),
             "sf_care": np.stack([share_price(py.targets["care_bed_share"].to_numpy(float)) for py in per_year]),
             "sf_acc_c": np.ones((len(years), groups["c"].n)), "sf_acc_e": np.ones((len(years), groups["e"].n))}
    weights = discount_weights(years, scenario.options.discount_rate) * (1 - TIE_BREAK * np.arange(len(years)))
    d = PhasedData(
        years=years, p=p, per_year=per_year, groups=groups, **labels_and_sites(scenario, p),
        rep_gain=gain, rep_cost=rep_cost, op_cost=op,
        pop=np.stack(P["pop_total"]), elderly=np.stack(P["pop_60_plus"]), children=np.stack(P["pop_0_2"]),
        budget=budget, weights=weights, scale=scale, cost_weight=cost_weight, price=price, area_pop=area_pop)
    lp = LinearProblem()
    variables = {}
    for define in VARIABLES:
        variables.update(define(lp, d))
    for define in CONSTRAINTS:
        define(lp, variables, d)
    define_objective(lp, variables, d)
    if scenario.extra_functionality is not None:
        scenario.extra_functionality(lp, variables, scenario)
    arrays = lp.to_arrays()
    return Model(lp=arrays, prepared=p, scenario=scenario, scale=scale, cost_yuan=np.zeros(arrays.shape[1]),
                 groups=groups, problem=lp, variables=variables, data=d)


# ------------------------------------------------------------------ solving

def run_phased(model, warm=None, keep=False):
    """Solve a phased model: each year on its own first, then, only where needed, with the years linked.

    Without the ``stays`` rows the model falls apart into one independent LP
    per year (and per region), solved one year after the other at single-year
    speed and memory: the last year first, then each earlier year starting
    from the basis of the year after it (the years share their layout, and
    neighbouring years' plans differ little: about a quarter of a cold
    solve). The objective is a positive combination of per-year terms, so
    that relaxation's optimum is a lower bound; in every independent piece
    of the linked model (``stays`` rows join a facility's years, nothing
    joins regions) whose states already never fall, they are feasible,
    hence optimal for that piece, and the relaxation's duals (0 on
    ``stays``) are optimal duals. Only the pieces where some state falls
    (equal-cost alternatives, or need that falls) are solved linked, by
    dual simplex starting from the relaxation's basis with the ``stays``
    slacks basic: dual feasible, so only the violated rows need pivots. A
    budget (its rows span the years), integer mode, CBC or a warm start from
    a previous solve go straight to the linked model.
    """
    import dataclasses

    from .solve import run

    d, lp = model.data, model.lp
    stays = np.zeros(lp.shape[0], bool)
    for name, sl in lp.row_blocks.items():
        stays[sl] = name.startswith("stays_")
    direct = (warm is not None or lp.integer.any() or not stays.any() or d.budget is not None
              or model.scenario.options.solver != "highs" or model.scenario.extra_functionality is not None)
    if direct:
        return run(model, warm=warm, keep=keep)
    import highspy

    from .solve import basis_codes, basis_statuses, blocks

    # The linked model's independent pieces (regions: ``stays`` rows join a facility's years, nothing joins
    # regions), found once; each piece restricted to one year is a piece of that year's model.
    parts = blocks(lp)
    year_of_col, year_of_row = _years_of(lp.blocks, lp.shape[1], d.n_years), _years_of(lp.row_blocks, lp.shape[0],
                                                                                       d.n_years)
    year_of_row[stays] = -1
    x = np.zeros(lp.shape[1])
    duals = np.zeros(lp.shape[0])
    cols = np.zeros(lp.shape[1], np.int8)  # basis statuses as codes (solve.basis_codes)
    rows = np.full(lp.shape[0], highspy.HighsBasisStatus.kBasic.value, np.int8)  # stays slacks basic
    A = lp.A.tocsc()
    seconds, optimal = 0.0, True
    local_row, local_col = np.empty(lp.shape[0], np.int64), np.empty(lp.shape[1], np.int64)
    # Each year alone, one after the other (one year's solvers in memory at a time): the bases are kept.
    for k, y in enumerate(reversed(range(d.n_years))):
        r, c = np.flatnonzero(year_of_row == y), np.flatnonzero(year_of_col == y)
        local_row[r], local_col[c] = np.arange(len(r)), np.arange(len(c))
        year_parts = [(local_row[pr[year_of_row[pr] == y]], local_col[pc[year_of_col[pc] == y]]) for pr, pc in parts]
        year_parts = [(pr, pc) for pr, pc in year_parts if len(pc)]
        sub = dataclasses.replace(lp, A=_submatrix(A, r, c, local_row), row_lower=lp.row_lower[r],
                                  row_upper=lp.row_upper[r], cost=lp.cost[c], lower=lp.lower[c], upper=lp.upper[c],
                                  integer=lp.integer[c], blocks={}, row_blocks={})
        # Years share their layout (year-major blocks): the previous year's basis is this year's start.
        start = None if k == 0 else (lambda rr, cc, pc=cols[c_prev], pr=rows[r_prev]:
                                     (basis_statuses(pc[cc]), basis_statuses(pr[rr])))
        x_y, info_y = run(dataclasses.replace(model, lp=sub), keep=True, parts=year_parts, start=start)
        x[c] = x_y
        if info_y.duals is not None:
            duals[r] = info_y.duals
        for (rr, cc), solver in zip(info_y.state.parts, info_y.state.solvers):
            basis = solver.getBasis()
            cols[c[cc]] = basis_codes(basis.col_status)
            rows[r[rr]] = basis_codes(basis.row_status)
        seconds += info_y.solve_seconds
        optimal &= info_y.status == "optimal"
        info_y.state = solver = basis = sub = None
        _release_freed_memory()  # the year's solvers are gone: hand their memory back before the next year
        r_prev, c_prev = r, c
    del A
    _keep_affordable(model, x)
    falls = _falling_columns(model, x)
    # A piece whose states never fall is optimal as it is (see above); only the others are linked and re-solved.
    linked = parts if keep or not optimal else [(pr, pc) for pr, pc in parts if falls[pc].any()]
    if linked:
        x_l, info = run(model, keep=keep, start=lambda r, c: (basis_statuses(cols[c]), basis_statuses(rows[r])),
                        parts=linked)
        for pr, pc in linked:
            x[pc] = x_l[pc]
            if info.duals is not None:
                duals[pr] = info.duals[pr]
        info.solve_seconds += seconds
    else:
        info = info_y
        info.solve_seconds = seconds
    info.objective = float(lp.cost @ x)
    info.duals = duals if info.duals is not None else None
    info.n_constraints, info.n_nonzeros = lp.shape[0], lp.A.nnz
    if not keep:
        info.state = None
    return x, info


def _submatrix(A, rows, cols, local_row):
    """Rows ``rows`` and columns ``cols`` of the CSC matrix ``A`` (``local_row[rows]`` = 0, 1, … set): the
    columns are gathered, then entries in other rows (``stays`` rows linking the years) dropped."""
    from scipy import sparse

    sub = A[:, cols]
    keep = np.zeros(A.shape[0], bool)
    keep[rows] = True
    mask = keep[sub.indices]
    kept_before = np.concatenate([[0], np.cumsum(mask)])  # entries kept before each position
    indptr = kept_before[sub.indptr]
    return sparse.csc_matrix((sub.data[mask], local_row[sub.indices[mask]], indptr), shape=(len(rows), len(cols)))


def _release_freed_memory() -> None:
    """Return memory freed by the solver to the operating system (glibc keeps freed pages of many small
    allocations otherwise: a province's peak grew by the size of each year's solver)."""
    import ctypes
    import contextlib

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _years_of(blocks: dict, n: int, n_years: int) -> np.ndarray:
    """The plan year (0, 1, …) of every column or row: each block is year-major (the ``stays`` rows,
    which link years, are not: −1 where a block does not split into years)."""
    out = np.full(n, -1, np.int64)
    for sl in blocks.values():
        size = sl.stop - sl.start
        if size and size % n_years == 0:
            out[sl] = np.arange(size) // (size // n_years)
    return out


def _keep_affordable(model, x) -> None:
    """Make added affordable slots never fall where the added slots do not (in place, exact).

    Which added slots are affordable costs nothing, so the years solved apart may pick them
    differently from year to year. Raising ``aff[y, f]`` to its largest earlier value keeps every
    row (aff ≤ add where add does not fall; more affordable slots only help the share rows) and
    the cost, which is still the relaxation's lower bound: the plan is optimal for the linked
    model and the relaxation's duals stay optimal, so those pieces need no linked re-solve.
    """
    d, var = model.data, model.variables
    n_y = d.n_years
    if n_y < 2 or not len(var["aff"]):
        return
    aff_pos = np.asarray(var["aff"].positions).reshape(n_y, -1)
    add_pos = np.asarray(var["add"].positions).reshape(n_y, -1)[:, d.C]
    aff, add = np.asarray(x[aff_pos], float), np.asarray(x[add_pos], float)
    steady = (np.diff(add, axis=0) >= 0).all(axis=0)
    kept = np.minimum(np.maximum.accumulate(aff[:, steady], axis=0), add[:, steady])
    x[aff_pos[:, steady]] = kept


def _falling_columns(model, x, tol: float = 1e-7) -> np.ndarray:
    """Per column: True for every year of a state (added, affordable, converted, open, given up) that falls
    from one year to the next somewhere."""
    n_y = model.data.n_years
    out = np.zeros(len(x), bool)
    for name in ("add", "aff", "conv", "open", "rep"):
        var = model.variables[name]
        if len(var):
            pos = np.asarray(var.positions).reshape(n_y, -1)
            X = np.asarray(x[pos], float)
            fall = (np.diff(X, axis=0) < -tol * np.maximum(1.0, np.abs(X[:-1]))).any(axis=0)
            out[pos[:, fall].ravel()] = True
    return out


# ------------------------------------------------------------------ reading the solution

def year_values(model, x: np.ndarray) -> list[dict]:
    """The solution year by year, in the single-period block layout (states of the year).

    ``add`` is the *net* capacity change per facility (added − slots given up),
    ``aff`` the net affordable change (added − ρ · given up), so the
    single-period tables read slots, affordable share and reach directly;
    ``rep`` and ``built`` (added) are kept for the repurposing columns.
    """
    d, var = model.data, model.variables
    n_y = d.n_years
    out = []
    xs = {name: np.asarray(x[v.positions], float).reshape(n_y, -1) if len(v) else np.zeros((n_y, 0))
          for name, v in var.items() if name in ("add", "aff", "conv", "open", "rep", "flow_c", "flow_e",
                                                   *SHORTFALL_BLOCKS)}
    rho = np.nan_to_num(T.share(d.existing["affordable"][d.R], d.existing["slots"][d.R]))
    C_pos = np.full(len(d.p.fac_d), -1)
    C_pos[d.C] = np.arange(len(d.C))
    for i in range(n_y):
        v = {name: xs[name][i] for name in xs}
        rep = np.zeros(len(d.p.fac_d))
        rep[d.R] = v["rep"]
        v["built"] = v["add"].copy()
        v["repurposed"] = rep
        v["add"] = v["add"] - rep
        aff = v["aff"].copy()
        aff[C_pos[d.R]] -= rho * v["rep"]
        v["aff"] = aff
        out.append(v)
    return out


def facility_years(model, x: np.ndarray) -> pd.DataFrame:
    """One row per (facility_id, year): what is added, converted, given up, opened and spent in that year.

    ``cost`` is the yuan spent in the year (capital for the year's increments
    + ``operating_cost``: running the capacity added in earlier years).
    """
    d, var = model.data, model.variables
    n_y, n_f = d.n_years, len(d.p.fac_d)
    f = model.scenario.facilities

    def states(name, pos):
        full = np.zeros((n_y, n_f))
        if len(pos):
            full[:, pos] = np.asarray(x[var[name].positions], float).reshape(n_y, -1)
        return _clean(full)

    add, conv, opn, rep = states("add", np.arange(n_f)), states("conv", d.E), states("open", d.K), states("rep", d.R)
    inc = lambda s: np.diff(s, axis=0, prepend=0.0)  # noqa: E731 - yearly increase of a state
    capital = (inc(add) * d.p.cost_unit + inc(conv) * d.p.cost_conv + inc(opn) * d.fixed + inc(rep) * d.rep_cost)
    operating = np.vstack([np.zeros(n_f), add[:-1]]) * d.op_cost
    child = d.p.child
    out = pd.DataFrame({
        "facility_id": np.tile(f["facility_id"].to_numpy(object), n_y),
        "year": np.repeat(d.years, n_f),
        "name": np.tile(f["name"].to_numpy(object), n_y),
        "kind": np.tile(f["kind"].to_numpy(object), n_y),
        "district_id": np.tile(f["district_id"].to_numpy(object), n_y),
        "added_slots": np.where(child, inc(add), 0.0).ravel(),
        "added_beds": np.where(child, 0.0, inc(add)).ravel(),
        "converted_care_beds": inc(conv).ravel(),
        "repurposed_slots": inc(rep).ravel(),
        "beds_from_repurposing": (inc(rep) * d.rep_gain).ravel(),
        "opened": (np.where(d.p.cand, opn, 0.0) > 1e-6).ravel(),
        "slots_after": np.where(child, f["slots"].to_numpy(float) + add - rep, 0.0).ravel(),
        "beds_after": np.where(child, rep * d.rep_gain, f["beds"].to_numpy(float) + add).ravel(),
        "capital_cost": capital.ravel(),
        "operating_cost": operating.ravel(),
    })
    out["cost"] = out["capital_cost"] + out["operating_cost"]
    return out


def _clean(a):
    a = np.asarray(a, float)
    return np.where(np.abs(a) > 1e-9, a, 0.0)


class _Layout:
    """The single-period block layout of one year's values (what :class:`planner.Result` reads)."""

    ORDER = ("add", "aff", "conv", "open", "flow_c", "flow_e", *SHORTFALL_BLOCKS)

    def __init__(self, v: dict):
        self.blocks, at = {}, 0
        for name in self.ORDER:
            n = len(v[name])
            self.blocks[name] = slice(at, at + n)
            at += n
        self.lower = np.full(at, -np.inf)  # net changes may be negative (slots given up)
        self.upper = np.full(at, np.inf)
        self.x = np.concatenate([np.asarray(v[name], float) for name in self.ORDER])
        self.shape = (0, at)


def year_data(d: PhasedData, i: int, with_area_pop: bool = False):
    """The single-period :class:`planner.formulation.ModelData` of plan year ``i`` (what the Result reads).

    ``with_area_pop`` adds year i's residents and aged 60+ per area (what the marginal costs read).
    """
    from .formulation import ModelData

    p = d.per_year[i]
    area_pop = d.area_pop[i] if with_area_pop and d.area_pop is not None else None
    return ModelData(p=p, groups=d.groups, districts=d.districts, facilities=d.facilities, area_ids=d.area_ids,
                     existing=d.existing, fixed=d.fixed, min_size=d.min_size, max_size=d.max_size, scale=d.scale,
                     cost_weight=d.cost_weight, price={k: v[i] for k, v in d.price.items()}, pop=d.pop[i],
                     elderly=d.elderly[i], children=d.children[i], area_pop=area_pop)


CHAIN_ROWS = {"slots": ("sf_slots", "slots_after"), "affordable": ("sf_aff", "affordable_slots_after"),
              "beds": ("sf_beds", "beds_after"), "care": ("sf_care", "care_beds_after"),
              "access_c": ("sf_acc_c", "slots_after"), "access_e": ("sf_acc_e", "beds_after")}


class _Carried:
    """Year i's solution with each row's dual replaced by the cost of a unit that is kept (see
    :func:`year_marginal_costs`); everything else is year i's own."""

    def __init__(self, sol, duals: dict):
        self.sol, self.duals_by_row = sol, duals
        self.duals = sol.duals

    def dual_array(self, name: str) -> np.ndarray:
        return self.duals_by_row[name] if name in self.duals_by_row else self.sol.dual_array(name)

    def array(self, name: str) -> np.ndarray:
        return self.sol.array(name)


def year_marginal_costs(model, sols: list, districts: list) -> list[dict]:
    """The ``marginal_cost_*`` columns of every plan year: yuan at present value (of the first plan year)
    for raising one district's target by one unit in that year only (docs/model.md, "Marginal costs per year").

    The formula of one period (:func:`planner.formulation.marginal_costs`) on year i's rows, with
    each row's dual y_i replaced by the cost of a unit added in year i and *kept*: capacity never
    falls, so one more unit in year i is still there in the following years, until the year the
    district's capacity of that kind rises anyway (that year builds one unit less). The duals of
    the rows of year i and of those following years s (same district, or same area group for reach
    rows) add up:

        ỹ_i = Σ_{s = i … s*−1} y_s     (s* the first year after i whose capacity is above year i's)

    when year i's row binds (y_i > 0), else ỹ_i = y_i = 0. Each year's dual alone prices the unit
    for its own year (Σ_s w_s · yuan spent / scale, the phased objective): with the years solved
    apart (:func:`run_phased`) the sum is the exact cost of raising year i's target where one facility
    serves it, and never more than that otherwise. A year with a shortfall ends the chain (the unit
    would close a shortfall there: a saving, not a cost). Yuan = ỹ_i · (∂ right-hand side/∂ target of
    year i) · scale / cost weight, in present value: yuan spent in year s count w_s = 1/(1+r)^(s − first
    year). The ``TIE_BREAK`` in the solver's weights is taken out exactly: the carried sum is priced
    over the years the unit is held with the discount alone (:func:`_untie`). Budget mode: NaN where a value is positive
    and the budget row of year i or of a later year binds.

    ``sols``: each year's :class:`_YearSolution`; ``districts``: each year's district table
    (``slots_after``, ``beds_after`` with repurposed beds, the shortfalls).
    """
    from .formulation import MARGINAL_COST_COLUMNS, SHORTFALL_PRICE, marginal_costs

    d = model.data
    n_y = d.n_years
    if not sols or sols[0].duals is None:
        return [{c: np.full(len(t), np.nan) for c in MARGINAL_COST_COLUMNS} for t in districts]
    dual = {row: np.stack([s.dual_array(row) for s in sols]) for row in CHAIN_ROWS}
    group_d = {name: year_data(d, 0).group_district(name) for name in ("c", "e")}
    rho = _operating_ratio(d)
    carried = {}
    for row, (sf, cap_col) in CHAIN_ROWS.items():
        cap = np.stack([t[cap_col].to_numpy(float) for t in districts])  # n_years × n_districts
        # the share rows' margin is met by designation or conversion, which carry no operating cost
        ratio = np.zeros_like(rho["c"]) if row in ("affordable", "care") else rho["c" if row in ("slots", "access_c") else "e"]
        if row.startswith("access_"):
            cap = cap[:, group_d[row[-1]]]  # each area group follows its district's capacity
            ratio = ratio[group_d[row[-1]]]
        y = dual[row]
        priced = y < 0.5 * SHORTFALL_PRICE * d.price[sf]  # not a shortfall's price
        out = y.copy()
        end = np.full(y.shape, n_y)  # s*: the year the carried unit stops counting (n_y: kept to the end)
        for i in range(n_y - 1):
            alive = (y[i] > 1e-12) & priced[i]
            for s in range(i + 1, n_y):
                alive &= (cap[s] <= cap[i] + 1e-6 * np.maximum(1.0, np.abs(cap[i]))) & priced[s]
                end[i] = np.where(alive | (end[i] < n_y), end[i], s)
                if not alive.any():
                    break
                out[i] += np.where(alive, y[s], 0.0)
            end[i] = np.where(y[i] > 1e-12, end[i], i + 1)
        carried[row] = np.where(priced, out * _untie(d.weights, end, ratio), out)
    binds = np.zeros(n_y, bool)
    if d.budget is not None and "budget" in model.problem.constraints:
        b = np.abs(sols[0].duals[model.problem.constraints["budget"].positions]) > 1e-9
        binds = np.cumsum(b[::-1])[::-1] > 0  # year i: a budget row of year i or later binds
    result = []
    for i, (sol, t) in enumerate(zip(sols, districts)):
        col = lambda c: t[c].to_numpy(float)  # noqa: E731
        shortfall = {k: col(c) for k, c in DISTRICT_SHORTFALL_COLUMNS.items()}
        mc = marginal_costs(year_data(d, i, with_area_pop=True), _Carried(sol, {k: v[i] for k, v in carried.items()}),
                            col("slots_after"), col("beds_after"), shortfall)
        result.append({c: np.where(binds[i] & (v > 0), np.nan, v) for c, v in mc.items()})
    return result


def _operating_ratio(d: PhasedData) -> dict:
    """Per kind ("c" childcare, "e" eldercare): ρ = operating cost ÷ yuan per added unit of each
    district's facilities of that kind that may grow (their mean where they differ)."""
    p, n_d = d.p, len(d.p.district_ids)
    out = {}
    for kind, fac in (("c", d.C), ("e", d.E)):
        grows = fac[p.cost_unit[fac] > 0]
        count = np.bincount(p.fac_d[grows], minlength=n_d)
        out[kind] = np.bincount(p.fac_d[grows], d.op_cost[grows] / p.cost_unit[grows], n_d) / np.maximum(count, 1)
    return out


def _untie(weights, end, rho) -> np.ndarray:
    """Factors (n_years × n) turning a carried dual into the same cost without the tie-break.

    A unit added in year i and held until year e (e = n_years: to the end) costs, in the objective,
    yuan · (w_i − w_e) + op · Σ_{s=i+1…e} w_s (capital telescoped, operating cost paid the year after;
    w_{n_years} = 0) with w the solver's weights (discount × tie-break). Priced with the discount δ
    alone it costs the same with δ for w: the factor is the ratio, exact where the district's facilities
    share one ρ = op / yuan (e.g. none has an operating cost)."""
    w = np.asarray(weights, float)
    n_y = len(w)
    delta = w / (1.0 - TIE_BREAK * np.arange(n_y))  # the discount-only weights
    w_ext, delta_ext = np.append(w, 0.0), np.append(delta, 0.0)
    cum_w, cum_delta = np.concatenate([[0.0], np.cumsum(w_ext)]), np.concatenate([[0.0], np.cumsum(delta_ext)])
    i = np.arange(n_y)[:, None]
    rho = np.asarray(rho, float)[None, :]
    held_w = w_ext[i] - w_ext[end] + rho * (cum_w[end + 1] - cum_w[i + 1])
    held_delta = delta_ext[i] - delta_ext[end] + rho * (cum_delta[end + 1] - cum_delta[i + 1])
    return held_delta / held_w


class _YearSolution:
    """One year of a phased solution, read like a single-period :class:`planner.lp.Solution`.

    Column values come from the year's :class:`_Layout`; row duals (``dual``,
    ``dual_array``) are the phased model's duals of that year's rows: what one
    more unit of that year's right-hand side would cost (objective units, so
    discounted to the first year).
    """

    def __init__(self, model, layout: _Layout, i: int, x, duals):
        self.model, self.layout, self.i, self.x, self.duals = model, layout, i, np.asarray(x, float), duals

    def array(self, name: str) -> np.ndarray:
        return self.x[self.layout.blocks[name]]

    def __contains__(self, name) -> bool:
        return name in self.layout.blocks

    def keys(self):
        return self.layout.blocks.keys()

    def _rows(self, name):
        con = self.model.problem.constraints[name]
        n = len(con) // self.model.data.n_years
        return con[np.arange(self.i * n, (self.i + 1) * n)]

    def dual_array(self, name: str) -> np.ndarray:
        if self.duals is None:
            raise ValueError("no duals: integer solves have none (see docs/model.md, marginal costs)")
        return self.duals[self._rows(name).positions]

    def dual(self, name: str) -> pd.Series:
        rows = self._rows(name)
        return pd.Series(self.dual_array(name), index=rows.index.droplevel("year"), name=name)

    def __getitem__(self, name: str) -> pd.Series:
        var = self.model.problem.variables[name]
        n = len(var) // self.model.data.n_years
        return pd.Series(self.array(name), index=var[np.arange(self.i * n, (self.i + 1) * n)].index.droplevel("year"),
                         name=name)


class _YearProblem:
    """What a per-year Model hands the Result: ``solution(x, duals)`` of one plan year."""

    def __init__(self, model, layout, i):
        self.model, self.layout, self.i = model, layout, i

    def solution(self, x, duals=None):
        return _YearSolution(self.model, self.layout, self.i, x, duals)


def phased_result(model, x, info):
    """The :class:`planner.Result` of a phased model: every year's tables, the last year's as the main ones."""
    from .model import Model
    from .result import Result, TOL

    d, sc = model.data, model.scenario
    pop = sc.population_by_year()
    fy = facility_years(model, x)
    spent = fy.groupby("year", sort=True)["cost"].sum()
    budget_through = None if d.budget is None else np.cumsum(d.budget)
    by_fac = fy.pivot(index="year", columns="facility_id", values="cost").cumsum()
    per_year, tables = {}, []
    n = float(d.p.new_beds_care)
    for i, (y, v) in enumerate(zip(d.years, year_values(model, x))):
        p_y = replace(d.per_year[i], budget=None if budget_through is None else float(budget_through[i]))
        layout = _Layout(v)
        m_y = Model(lp=layout, prepared=p_y, scenario=sc.for_year(y, pop), scale=d.scale,
                    cost_yuan=np.zeros(layout.shape[1]), groups=d.groups, problem=_YearProblem(model, layout, i),
                    data=year_data(d, i))
        r = Result.from_solution(m_y, layout.x, info)
        fac, dist = r.facilities, r.districts
        child = d.p.child
        rep = v["repurposed"]
        gained = rep * d.rep_gain
        fac["added_slots"] = np.where(child, v["built"], 0.0)
        fac["repurposed_slots"] = rep
        fac["beds_after"] = np.where(child, gained, fac["beds_after"])
        fac["beds_care_after"] = np.where(child, n * gained, fac["beds_care_after"])
        fac.loc[rep > TOL, "state"] = "repurposed"
        fac["cost"] = by_fac.loc[y].reindex(fac["facility_id"]).to_numpy(float)  # spent by the end of y
        gain_d = d.per_district(np.arange(len(rep)), gained)
        dist["beds_after"] = dist["beds_after"] + gain_d
        dist["care_beds_after"] = dist["care_beds_after"] + n * gain_d
        dist["beds_per_1000_elderly_after"] = T.per_1000(dist["beds_after"], dist["pop_60_plus"])
        dist["care_share_after"] = T.share(dist["care_beds_after"], dist["beds_after"])
        dist["repurposed_slots"] = d.per_district(np.arange(len(rep)), rep)
        dist["cost"] = np.bincount(d.p.fac_d, fac["cost"].to_numpy(float), len(dist))
        r.cost = float(fac["cost"].sum())
        per_year[y] = r
    results = list(per_year.values())
    for r, mc in zip(results, year_marginal_costs(model, [r.solution for r in results],
                                                  [r.districts for r in results])):
        for c, values in mc.items():
            r.districts[c] = values
    for y, r in per_year.items():
        tables.append(pd.DataFrame(r.districts.drop(columns="geometry", errors="ignore")).assign(year=y))
    by_year = pd.concat(tables, ignore_index=True)
    by_year.insert(0, "year", by_year.pop("year"))
    by_year.insert(0, "district_id", by_year.pop("district_id"))
    last = per_year[d.years[-1]]
    status = "optimal" if bool(by_year["met"].all()) else "shortfall"
    return Result(status=status, cost=float(spent.sum()), districts=last.districts, facilities=last.facilities,
                  areas=last.areas, scenario=sc, info=info, by_year=by_year, facility_years=fy,
                  cost_by_year=spent.rename("cost_yuan"), per_year=per_year,
                  solution=model.solution(np.asarray(x, float), getattr(info, "duals", None)))
