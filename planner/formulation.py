"""The care model, one ``define_*`` per family of variables or constraints.

Each function adds labelled blocks to a :class:`planner.lp.LinearProblem`
and states its formula in the docstring (the full model, with units and the
exactness arguments, is ``docs/model.md``). :func:`planner.model.build` calls
them in the order below; the order fixes the column and row order handed to
the solver.

Notation: d district, f facility (C childcare, E eldercare, K candidate
sites), g area group (areas of one district that see the same sites, one per
area without merging), (g, f) a pair in reach. ``t_*`` are the district's
targets, ``S, SA, B, BC`` existing slots, affordable slots, beds and
care-oriented beds summed per district. All capacity is in slots or beds,
money in yuan; objective coefficients are yuan ÷ ``scale`` (see
:func:`planner.model.cost_scale`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import targets as T
from .lp import LinearProblem, _get, lazy_index

SHORTFALL_PRICE = 1000.0  # per slot/bed, in units of the dearest way to add one (share rows: ÷ (1 − share))
SHORTFALL_BLOCKS = ("sf_slots", "sf_aff", "sf_beds", "sf_care", "sf_acc_c", "sf_acc_e")


@dataclass
class ModelData:
    """What the ``define_*`` functions read: the prepared scenario, labels, groups and prices.

    Built by :func:`planner.model.build`; a multi-period or multi-level model
    extends this with its own arrays and indexes.
    """

    p: object                  # planner.model.Prepared
    groups: dict               # "c"/"e" → planner.model.AreaGroups
    districts: object          # district_id (a pandas Index, or lp.lazy_index of one)
    facilities: object         # facility_id (likewise)
    area_ids: np.ndarray
    existing: dict             # "slots", "affordable", "beds", "care" → per facility
    fixed: np.ndarray          # yuan per opened candidate
    min_size: np.ndarray
    max_size: np.ndarray
    scale: float               # yuan per objective unit
    cost_weight: float         # 1, or < 1 in budget mode (cost only breaks ties)
    price: dict                # shortfall block → price per unit (× SHORTFALL_PRICE)
    pop: np.ndarray            # residents per district
    elderly: np.ndarray        # residents aged 60+ per district
    area_pop: dict = field(default=None)  # "pop_total", "pop_60_plus" → per area (marginal costs)
    add_upper: np.ndarray = field(default=None)   # per facility; integer mode: tightened (site_bounds)
    open_upper: np.ndarray = field(default=None)  # per facility; integer mode: 0 for dominated candidates
    care_need: np.ndarray = field(default=None)  # aged 60+ assessed as needing care, per district
    children: np.ndarray = field(default=None)  # children under 3 per district (childcare_per_child)
    C: np.ndarray = field(default=None)
    E: np.ndarray = field(default=None)
    K: np.ndarray = field(default=None)
    levels: object = None      # planner.levels.LevelData: the district tree and its targets
    budget_mode: bool = False
    objective: str = "least_cost"
    _flow_pairs: dict = field(default_factory=dict, repr=False)
    _leaf_target: dict = field(default_factory=dict, repr=False)  # target name → leaf_target(name), read once
    cover: dict = field(default_factory=dict)      # "c"/"e" → per group: coverage-only (integer mode)
    useful: np.ndarray = field(default=None)       # per facility: what a site can use (integer mode)

    def __post_init__(self):
        p = self.p
        self.C, self.E, self.K = np.flatnonzero(p.child), np.flatnonzero(~p.child), np.flatnonzero(p.cand)
        if self.add_upper is None:
            self.add_upper = p.add_upper
        if self.open_upper is None:
            self.open_upper = p.open_upper

    def required_in_reach(self, name: str) -> np.ndarray:
        """R_g = Σ_{a∈g} access_share_a · need_a per area group (slots or beds)."""
        p, g = self.p, self.groups[name]
        return np.bincount(g.of_area, p.access_share_a * (p.need_c if name == "c" else p.need_e), g.n)

    def leaf_target(self, name: str) -> np.ndarray:
        """The value of target ``name`` on each district's own row (0 where the district carries none).

        With ``target_level: leaf`` this is the district's target as before;
        above the leaves only a district's own column remains, as a floor
        (:class:`planner.levels.LevelData`).
        """
        if name not in self._leaf_target:
            t = self.p.targets if self.levels is None else self.levels.leaf_targets
            self._leaf_target[name] = t[name].to_numpy(float)
        return self._leaf_target[name]

    def per_district(self, fac_set, values) -> np.ndarray:
        """Σ of a per-facility value over the facilities of ``fac_set``, per district."""
        return np.bincount(self.p.fac_d[fac_set], np.asarray(values, float)[fac_set], self.p.n_districts)

    def group_index(self, name: str):
        """Labels of area groups: the ``area_id`` of each group's first area (index ``area_group``)."""
        g, ids = self.groups[name], self.area_ids

        def make():
            first = np.full(g.n, -1)
            first[g.of_area[::-1]] = np.arange(len(g.of_area))[::-1]  # lowest area of each group
            return pd.Index(ids[first], name="area_group")
        return lazy_index(g.n, make)

    def pop_of(self, people: str) -> np.ndarray:
        """Residents (``pop_total``) or aged 60+ (``pop_60_plus``) per district."""
        return self.pop if people == "pop_total" else self.elderly

    def area_people(self, people: str) -> np.ndarray:
        return self.area_pop[people]

    def group_district(self, name: str) -> np.ndarray:
        """District position of each area group (groups never span districts)."""
        g = self.groups[name]
        out = np.zeros(g.n, np.int64)
        out[g.of_area] = self.p.area_d
        return out

    def group_pairs(self, name: str):
        """One reach pair per (area group, site): the pairs of each group's first area, once per service."""
        if name not in self._flow_pairs:
            pairs = self.p.pairs_c if name == "c" else self.p.pairs_e
            g = self.groups[name]
            self._flow_pairs[name] = pairs if len(g.flow_pairs) == len(pairs) else pairs.select(g.flow_pairs)
        return self._flow_pairs[name]

    def flow_kept(self, name: str):
        """Positions in :meth:`group_pairs` that get a flow column (all but coverage-only groups)."""
        cover = self.cover.get(name)
        if cover is None or not cover.any():
            return None
        gp = self.group_pairs(name)
        return np.flatnonzero(~cover[self.groups[name].of_area[gp.area]])

    def flow_pairs(self, name: str):
        """The group pairs that carry a flow column."""
        key = f"flow_{name}"
        if key not in self._flow_pairs:
            kept = self.flow_kept(name)
            gp = self.group_pairs(name)
            self._flow_pairs[key] = gp if kept is None else gp.select(kept)
        return self._flow_pairs[key]


def _fac_index(d: ModelData, pos):
    return lazy_index(len(pos), lambda: _get(d.facilities)[pos])


# ------------------------------------------------------------------ variables

def define_capacity_variables(lp: LinearProblem, d: ModelData) -> dict:
    """Capacity decisions, per facility (slots or beds; open in 0–1).

    add_f ∈ [0, max_add_f] (candidates: [0, max_size_f]); aff_f ∈ [0, max_add_f] for f ∈ C;
    conv_f ∈ [0, B_f − BC_f] for f ∈ E with a conversion cost; open_k ∈ [0, 1] for k ∈ K.
    All integer in integer mode. ``force``: open → open_k = 1; closed → add_f = conv_f = 0 (open_k = 0).
    """
    p, C, E, K = d.p, d.C, d.E, d.K
    return {
        "add": lp.add_variables("add", d.facilities, upper=d.add_upper, integer=p.integer),
        "aff": lp.add_variables("aff", _fac_index(d, C), upper=d.add_upper[C], integer=p.integer),
        "conv": lp.add_variables("conv", _fac_index(d, E), upper=p.conv_upper[E], integer=p.integer),
        "open": lp.add_variables("open", _fac_index(d, K), lower=p.open_lower[K], upper=d.open_upper[K],
                                 integer=p.integer),
    }


def define_flow_variables(lp: LinearProblem, d: ModelData) -> dict:
    """Need of area group g served by facility f in reach: flow_c[g, f], flow_e[g, f] ≥ 0 (slots, beds).

    Index (area_group, facility_id): one column per pair of a group's first area.
    """
    out = {}
    for name in ("c", "e"):
        fp = d.flow_pairs(name)
        gi = d.group_index(name)
        g = d.groups[name]

        def make(gi=gi, g=g, fp=fp):
            return pd.MultiIndex(levels=[gi.get(), _get(d.facilities)], codes=[g.of_area[fp.area], fp.facility],
                                 names=["area_group", "facility_id"], verify_integrity=False)
        out[f"flow_{name}"] = lp.add_variables(f"flow_{name}", lazy_index(len(fp), make))
    return out


def define_shortfall_variables(lp: LinearProblem, d: ModelData) -> dict:
    """Non-negative shortfalls: per district (sf_slots, sf_aff, sf_beds, sf_care) and per area
    group (sf_acc_c, sf_acc_e: need not served in reach), slots or beds."""
    out = {}
    for name in SHORTFALL_BLOCKS:
        index = d.districts if name in ("sf_slots", "sf_aff", "sf_beds", "sf_care") else \
            d.group_index(name[-1])
        out[name] = lp.add_variables(name, index)
    return out


# ------------------------------------------------------------------ district targets

def define_district_slots(lp: LinearProblem, v: dict, d: ModelData):
    """Per district: Σ_{f∈C(d)} add_f + sf_slots_d ≥ max(t_slots_d · pop_d / 1000, t_child_d · pop02_d) − S_d   (slots).

    ``t_child`` is the optional ``childcare_per_child`` target (0: off), so the row is the per-1,000 row
    unless a per-child target asks for more.
    """
    p, C = d.p, d.C
    t = p.targets
    per_child = t["childcare_per_child"].to_numpy(float) if "childcare_per_child" in t else 0.0
    need = (T.required_slots(d.leaf_target("childcare_per_1000"), d.pop, per_child,
                             0.0 if d.children is None else d.children)
            - d.per_district(C, d.existing["slots"]))
    return lp.add_constraints("slots", v["add"][C].sum_by(p.fac_d[C], d.districts) + v["sf_slots"] >= need)


def define_affordable_share(lp: LinearProblem, v: dict, d: ModelData):
    """Per district: Σ_{f∈C(d)} (aff_f − t_aff_d · add_f) + sf_aff_d ≥ t_aff_d · S_d − SA_d   (slots).

    That is (SA + Σ aff) ≥ t_aff · (S + Σ add): the affordable share after the plan.
    """
    p, C = d.p, d.C
    t_aff = d.leaf_target("affordable_share")
    dC = p.fac_d[C]
    lhs = (v["aff"].sum_by(dC, d.districts) + (v["add"][C] * -t_aff[dC]).sum_by(dC, d.districts)
           + v["sf_aff"])
    rhs = T.share_floor(t_aff, d.per_district(C, d.existing["slots"])) - d.per_district(C, d.existing["affordable"])
    return lp.add_constraints("affordable", lhs >= rhs)


def define_district_beds(lp: LinearProblem, v: dict, d: ModelData):
    """Per district: Σ_{f∈E(d)} add_f + sf_beds_d ≥ t_beds_d · pop60_d / 1000 − B_d   (beds)."""
    p, E = d.p, d.E
    need = T.required(d.leaf_target("beds_per_1000_elderly"), d.elderly) - d.per_district(E, d.existing["beds"])
    return lp.add_constraints("beds", v["add"][E].sum_by(p.fac_d[E], d.districts) + v["sf_beds"] >= need)


def define_care_share(lp: LinearProblem, v: dict, d: ModelData):
    """Per district: Σ_{f∈E(d)} (conv_f + (n − t_care_d) · add_f) + sf_care_d ≥ t_care_d · B_d − BC_d   (beds).

    n = 1 when new beds are care-oriented (option ``new_beds_care``), else 0:
    (BC + Σ conv + n Σ add) ≥ t_care · (B + Σ add).
    """
    p, E = d.p, d.E
    t_care = d.leaf_target("care_bed_share")
    dE = p.fac_d[E]
    lhs = (v["conv"].sum_by(dE, d.districts) + (v["add"][E] * (float(p.new_beds_care) - t_care[dE])).sum_by(dE, d.districts)
           + v["sf_care"])
    rhs = T.share_floor(t_care, d.per_district(E, d.existing["beds"])) - d.per_district(E, d.existing["care"])
    return lp.add_constraints("care", lhs >= rhs)


def define_affordable_link(lp: LinearProblem, v: dict, d: ModelData):
    """Per childcare facility: aff_f − add_f ≤ 0 (added affordable slots are among the added slots)."""
    return lp.add_constraints("aff_link", v["aff"] - v["add"][d.C] <= 0.0)


def define_site_linking(lp: LinearProblem, v: dict, d: ModelData) -> list:
    """Per candidate site k: add_k − max_size_k · open_k ≤ 0 and add_k − min_size_k · open_k ≥ 0."""
    K = d.K
    add = v["add"][K]
    return [lp.add_constraints("site_max", add - v["open"] * d.max_size[K] <= 0.0),
            lp.add_constraints("site_min", add - v["open"] * d.min_size[K] >= 0.0)]


def define_reach(lp: LinearProblem, v: dict, d: ModelData) -> list:
    """Per service (c: childcare, e: eldercare), per area group g and facility f of the service:

    access:   Σ_{f in reach of g} flow[g, f] + sf_acc_g ≥ Σ_{a∈g} access_share_a · need_a
    capacity: Σ_{g in reach of f} flow[g, f] − add_f ≤ existing_f

    (No ``flow ≤ need`` bound: flows are free, and it made dual simplex 3–5× slower.)
    """
    p = d.p
    out = []
    for name, fac_set, cap_now in (("c", d.C, d.existing["slots"]), ("e", d.E, d.existing["beds"])):
        g = d.groups[name]
        fp = d.flow_pairs(name)
        flow = v[f"flow_{name}"]
        required = d.required_in_reach(name)
        lhs = flow.sum_by(g.of_area[fp.area], d.group_index(name)) + v[f"sf_acc_{name}"]
        cover = d.cover.get(name)
        if cover is not None and cover.any():  # coverage-only groups: R_g · Σ open_k (docs/model.md)
            gp = d.group_pairs(name)
            grp = g.of_area[gp.area]
            at = np.flatnonzero(cover[grp] & (d.open_upper[gp.facility] > 0))
            site = np.full(len(p.fac_d), -1)
            site[d.K] = np.arange(len(d.K))
            lhs = lhs + (v["open"][site[gp.facility[at]]] * required[grp[at]]).sum_by(grp[at], d.group_index(name))
        out.append(lp.add_constraints(f"access_{name}", lhs >= required))
        local = np.full(len(p.fac_d), -1)
        local[fac_set] = np.arange(len(fac_set))
        out.append(lp.add_constraints(
            f"capacity_{name}",
            flow.sum_by(local[fp.facility], _fac_index(d, fac_set)) - v["add"][fac_set] <= cap_now[fac_set]))
    return out


def define_site_reach_linking(lp: LinearProblem, v: dict, d: ModelData) -> list:
    """Integer mode only, per pair (g, k) in reach of a candidate site k (disaggregated linking):

    flow[g, k] − R_g · open_k ≤ 0,   R_g = Σ_{a∈g} access_share_a · need_a

    Valid: some optimal plan sends each group at most R_g in total (flows are
    free; cutting them back keeps every row), and a closed site has no
    capacity. It cuts fractional openings the aggregated ``site_max`` row
    allows (the LP relaxation then opens each site at least as far as the
    largest single group it serves needs), which is what makes
    branch-and-bound prove optimality fast (``docs/model.md``).
    """
    p = d.p
    if not p.integer:
        return []
    out = []
    is_cand = np.full(len(p.fac_d), -1)
    is_cand[d.K] = np.arange(len(d.K))
    for name in ("c", "e"):
        fp = d.flow_pairs(name)
        g = d.groups[name]
        at = np.flatnonzero(is_cand[fp.facility] >= 0)
        if not len(at):
            continue
        flow = v[f"flow_{name}"][at]
        site = v["open"][is_cand[fp.facility[at]]]
        R = d.required_in_reach(name)[g.of_area[fp.area[at]]]
        out.append(lp.add_constraints(f"site_reach_{name}", flow - site * R <= 0.0))
    return out


def site_bounds(d: ModelData):
    """Integer mode: (add_upper, open_upper) with candidate bounds tightened and dominated candidates shut.

    What a candidate k can usefully add (``docs/model.md``, "Exact integer sites"):
    useful_k = max(reach_k, count_k) with reach_k = Σ_{g in reach of k} R_g and
    count_k the district's deficit on the rows the site's capacity enters
    (childcare: slots deficit and affordable deficit ÷ (1 − t_aff); eldercare:
    beds deficit and, with new beds care-oriented, care deficit ÷ (1 − t_care)).
    Bound: max(min_size, min(max_size, ⌈useful⌉)) (whole units). Exact because
    capacity beyond that is in no binding row and costs ≥ 0 (added slots may
    all be affordable at no cost, so every site's term in the share rows is ≥ 0).

    Candidate k is dominated by candidate j (then shut: open = add = 0) when they
    are of the same kind and district (or k's district needs none of k's
    capacity beyond reach, count_k = 0, and extra capacity cannot hurt j's
    district: childcare, or beds built care-oriented), j reaches every group k reaches,
    fixed_cost, cost_per_unit and min_size of j are ≤ those of k, j can hold
    everything it could use (max_size_j ≥ useful_j), k is not forced open and j
    not forced closed: any plan using k moves k's capacity to j at no more cost.
    Dominators are checked first (largest reach first), so shutting every
    dominated site at once is exact (the relation is transitive).
    """
    p, K = d.p, d.K
    add_upper, open_upper = d.add_upper.astype(float).copy(), d.open_upper.astype(float).copy()
    if not len(K):
        return add_upper, open_upper
    n_f, n_d = len(p.fac_d), p.n_districts
    t = p.targets
    reach = np.zeros(n_f)
    members = {}
    for name in ("c", "e"):
        g = d.groups[name]
        R = d.required_in_reach(name)
        # each (group, site) once: pairs of the group's first area
        fp = d.group_pairs(name)
        reach += np.bincount(fp.facility, R[g.of_area[fp.area]], n_f)
        members[name] = (fp.facility, g.of_area[fp.area], g.n)
    slots_def = np.maximum(T.required(t["childcare_per_1000"].to_numpy(float), d.pop)
                           - d.per_district(d.C, d.existing["slots"]), 0)
    t_aff = t["affordable_share"].to_numpy(float)
    aff_def = np.maximum(T.share_floor(t_aff, d.per_district(d.C, d.existing["slots"]))
                         - d.per_district(d.C, d.existing["affordable"]), 0)
    beds_def = np.maximum(T.required(t["beds_per_1000_elderly"].to_numpy(float), d.elderly)
                          - d.per_district(d.E, d.existing["beds"]), 0)
    t_care = t["care_bed_share"].to_numpy(float)
    care_def = np.maximum(T.share_floor(t_care, d.per_district(d.E, d.existing["beds"]))
                          - d.per_district(d.E, d.existing["care"]), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        aff_need = np.where(t_aff < 1, aff_def / (1 - t_aff), 0.0)
        care_need = np.where((t_care < 1) & p.new_beds_care, care_def / (1 - t_care), 0.0)
    count_child = np.maximum(slots_def, aff_need)
    count_elder = np.maximum(beds_def, care_need)
    count = np.where(p.child, count_child[p.fac_d], count_elder[p.fac_d])
    useful = np.ceil(np.maximum(reach, count) - 1e-9)  # whole slots/beds in integer mode
    d.useful = useful
    min_size, max_size = d.min_size, d.max_size
    tight = np.maximum(min_size, np.minimum(add_upper, useful))
    add_upper[K] = np.where(open_upper[K] > 0, tight[K], 0.0)

    # dominance among candidates of one kind and district
    force_open = p.open_lower > 0
    cost_unit, fixed = p.cost_unit, d.fixed
    can_dominate = (max_size >= useful - 1e-9) & (open_upper > 0)
    for name, kind in (("c", p.child), ("e", ~p.child)):
        fac, grp, n_g = members[name]
        ks = np.flatnonzero(p.cand & kind & (open_upper > 0))
        if len(ks) < 2:
            continue
        local = np.full(n_f, -1)
        local[ks] = np.arange(len(ks))
        sel = local[fac] >= 0
        M = sp.csr_matrix((np.ones(int(sel.sum())), (local[fac[sel]], grp[sel])), shape=(len(ks), n_g))
        size = np.asarray(M.sum(axis=1)).ravel()
        overlap = (M @ M.T).tocoo()  # overlap[k, j] = |reach(k) ∩ reach(j)|
        k_, j_ = overlap.row, overlap.col
        empty = np.flatnonzero(size == 0)  # reaches no group: ⊆ every site's reach
        if len(empty):
            k_ = np.concatenate([k_, np.repeat(empty, len(ks))])
            j_ = np.concatenate([j_, np.tile(np.arange(len(ks)), len(empty))])
            overlap = sp.coo_matrix((np.concatenate([overlap.data, np.zeros(len(empty) * len(ks))]), (k_, j_)),
                                    shape=overlap.shape)
        fk, fj = ks[k_], ks[j_]
        # across districts only when k's district needs nothing of k's capacity beyond reach (count_k = 0)
        # and added capacity cannot hurt j's district (childcare: added slots may all be affordable;
        # beds: only when new beds are care-oriented)
        cross = (count[fk] <= 0) & (p.child[fk] | p.new_beds_care)
        dom = ((k_ != j_) & (overlap.data >= size[k_]) & ((p.fac_d[fk] == p.fac_d[fj]) | cross)
               & (fixed[fj] <= fixed[fk]) & (cost_unit[fj] <= cost_unit[fk]) & (min_size[fj] <= min_size[fk])
               & can_dominate[fj] & ~force_open[fk])
        if dom.any():
            order = np.lexsort((ks, min_size[ks], cost_unit[ks], fixed[ks], -size))  # dominators first
            dominators = {}
            for a, b in zip(k_[dom], j_[dom]):
                dominators.setdefault(int(a), []).append(int(b))
            kept = np.zeros(len(ks), bool)
            for i in order:
                if any(kept[j] for j in dominators.get(int(i), ())):
                    open_upper[ks[i]] = 0.0
                    add_upper[ks[i]] = 0.0
                else:
                    kept[i] = True
    return add_upper, open_upper


def coverage_groups(d: ModelData) -> dict:
    """Integer mode: per service, the area groups every site of whose reach is a *free* candidate.

    A candidate k is free when it costs nothing per unit, can hold all it could
    use (max_size ≥ useful_k, so its bound is ≥ reach_k) and extra capacity
    cannot hurt its district (childcare, or beds built care-oriented); shut
    candidates (open ≤ 0) count as free (they serve nobody). For such a group
    the flows and their linking rows are equivalent to one row
    R_g · Σ_{k in reach} open_k + sf_g ≥ R_g (Fourier–Motzkin on
    flow_{g,k} ≤ R_g open_k; the free sites' capacity rows are implied, as
    their size can grow at no cost): no flow columns. :meth:`planner.model.Model.per_area`
    puts the flows back (each covered group to one open site in reach) and
    grows those sites' added (affordable) capacity to what they serve, which
    keeps every row and the cost.
    """
    p = d.p
    if not p.integer or d.useful is None:
        return {}
    free = p.cand & (p.cost_unit == 0) & (d.max_size >= d.useful - 1e-9) & (p.child | p.new_beds_care)
    free |= p.cand & (d.open_upper <= 0)
    out = {}
    for name in ("c", "e"):
        g = d.groups[name]
        gp = d.group_pairs(name)
        grp = g.of_area[gp.area]
        n_pairs = np.bincount(grp, minlength=g.n)
        n_other = np.bincount(grp[~free[gp.facility]], minlength=g.n)
        out[name] = (n_pairs > 0) & (n_other == 0)
    return out


def cost_terms(v: dict, d: ModelData) -> list:
    """(block, yuan per unit) of every priced decision: add (cost_per_unit), conv, open (fixed_cost)."""
    p = d.p
    return [(v["add"], p.cost_unit), (v["conv"], p.cost_conv[d.E]), (v["open"], d.fixed[d.K])]


def define_budget(lp: LinearProblem, v: dict, d: ModelData):
    """Budget mode only: Σ cost_per_unit·add + Σ cost_per_conversion·conv + Σ fixed_cost·open ≤ budget
    (both sides ÷ scale)."""
    p = d.p
    if p.budget is None:
        return None
    expr = sum(((var.where(yuan != 0) * (yuan[yuan != 0] / d.scale)).sum("budget") for var, yuan in cost_terms(v, d)))
    return lp.add_constraints("budget", expr <= p.budget / d.scale)


def define_objective(lp: LinearProblem, v: dict, d: ModelData) -> None:
    """min  w · (Σ yuan · decisions) / scale  +  SHORTFALL_PRICE · Σ price · shortfall.

    w = 1 in least-cost mode; with a budget, w = min(1, scale / budget), so the
    whole budget weighs less than one unit of shortfall (cost only breaks
    ties). Share rows are priced 1 / (1 − share) in least-cost mode, since one
    added unit closes only (1 − share) of a share shortfall.
    """
    for var, yuan in cost_terms(v, d):
        lp.add_objective(var * (d.cost_weight * yuan / d.scale))
    for name in SHORTFALL_BLOCKS:
        lp.add_objective(v[name] * (SHORTFALL_PRICE * d.price[name]))


# ------------------------------------------------------------------ levels, care need, fairness
# (planner.levels decides which target applies to which aggregate; docs/model.md "Levels")

AGGREGATE_KEYS = {"childcare_per_1000": "slots", "affordable_share": "aff", "beds_per_1000_elderly": "beds",
                  "care_bed_share": "care", "care_beds_per_care_need": "careneed"}
EQUITY_EPSILON = 1e-3  # stage 1: the common worst attainment first, each target's own worst second


def _over_groups(var, leaf_of, groups, index, weight=None):
    """Σ of ``var``'s columns over the leaves of each group: one row per group (``index``).

    ``leaf_of[k]``: the leaf (district position) of column k; ``weight``:
    ``weight(group_of_pair, column_of_pair)`` → coefficient per (group, column).
    """
    import scipy.sparse as sp

    n = len(leaf_of)
    pick = sp.csr_matrix((np.ones(n), (leaf_of, np.arange(n))), shape=(groups.members.shape[1], n))
    pairs = (groups.members.astype(float) @ pick).tocoo()
    w = None if weight is None else weight(pairs.row, pairs.col)
    return var.map_rows(pairs.col, pairs.row, index, w)


def _leaf_sums(groups, per_leaf) -> np.ndarray:
    return groups.members.astype(float) @ np.asarray(per_leaf, float)


def define_care_need(lp: LinearProblem, v: dict, d: ModelData):
    """Per district (only when some row sets ``care_beds_per_care_need``):

    Σ_{f∈E(d)} (conv_f + n · add_f) + sf_careneed_d ≥ t_need_d · N_d − BC_d   (beds)

    N_d: people aged 60+ assessed as needing long-term care (Σ ``pop_care_need``);
    n = 1 when new beds are care-oriented. Care-oriented beds after the plan
    ≥ care beds per assessed person × assessed people. The shortfall is priced
    like a bed shortfall.
    """
    if d.levels is None or not d.levels.care_need:
        return None
    p, E = d.p, d.E
    dE = p.fac_d[E]
    t_need = d.leaf_target("care_beds_per_care_need")
    sf = lp.add_variables("sf_careneed", d.districts)
    lp.add_objective(sf * SHORTFALL_PRICE)
    lhs = (v["conv"].sum_by(dE, d.districts) + (v["add"][E] * float(p.new_beds_care)).sum_by(dE, d.districts) + sf)
    rhs = T.care_beds_required(t_need, d.care_need) - d.per_district(E, d.existing["care"])
    v["sf_careneed"] = sf
    return lp.add_constraints("care_need", lhs >= rhs)


def define_aggregate_targets(lp: LinearProblem, v: dict, d: ModelData) -> list:
    """Targets on aggregates of districts: a parent row's own column, each row at
    ``target_level``, or the whole region (``planner.levels``). For aggregate g over
    its leaf districts L(g), with t_g its target and the sums over L(g):

    slots:     Σ_{f∈C(L(g))} add_f + sf_agg_slots_g ≥ t_g · pop_g / 1000 − S_g
    affordable: Σ_{f∈C(L(g))} (aff_f − t_g · add_f) + sf_agg_aff_g ≥ t_g · S_g − SA_g
    beds:      Σ_{f∈E(L(g))} add_f + sf_agg_beds_g ≥ t_g · pop60_g / 1000 − B_g
    care:      Σ_{f∈E(L(g))} (conv_f + (n − t_g) · add_f) + sf_agg_care_g ≥ t_g · B_g − BC_g
    careneed:  Σ_{f∈E(L(g))} (conv_f + n · add_f) + sf_agg_careneed_g ≥ t_g · N_g − BC_g

    The same rows as the district families, summed over the leaves; their
    shortfalls are priced alike. Nothing is added when every target sits on
    the leaves (``target_level: leaf`` and no parent columns): today's model.
    """
    lv = d.levels
    if lv is None or not lv.aggregates:
        return []
    p, C, E = d.p, d.C, d.E
    n = float(p.new_beds_care)
    dC, dE = p.fac_d[C], p.fac_d[E]
    out = []
    for name, g in lv.aggregates.items():
        keep = g.value > 0 if name == "care_beds_per_care_need" else np.ones(len(g.value), bool)
        if not keep.any():
            continue
        if not keep.all():
            g = type(g)(g.name, g.row[keep], g.value[keep], g.members[np.flatnonzero(keep)])
        key = AGGREGATE_KEYS[name]
        index = pd.Index(lv.group_ids(g), name="district_id")
        t = g.value
        sf = lp.add_variables(f"sf_agg_{key}", index)
        lp.add_objective(sf * (SHORTFALL_PRICE * _aggregate_price(d, key, t)))
        v[f"sf_agg_{key}"] = sf
        if key == "slots":
            lhs = _over_groups(v["add"][C], dC, g, index)
            rhs = T.required(t, _leaf_sums(g, d.pop)) - _leaf_sums(g, d.per_district(C, d.existing["slots"]))
        elif key == "aff":
            lhs = _over_groups(v["aff"], dC, g, index) + _over_groups(v["add"][C], dC, g, index,
                                                                      lambda r, c: -t[r])
            rhs = (T.share_floor(t, _leaf_sums(g, d.per_district(C, d.existing["slots"])))
                   - _leaf_sums(g, d.per_district(C, d.existing["affordable"])))
        elif key == "beds":
            lhs = _over_groups(v["add"][E], dE, g, index)
            rhs = T.required(t, _leaf_sums(g, d.elderly)) - _leaf_sums(g, d.per_district(E, d.existing["beds"]))
        elif key == "care":
            lhs = _over_groups(v["conv"], dE, g, index) + _over_groups(v["add"][E], dE, g, index,
                                                                       lambda r, c: n - t[r])
            rhs = (T.share_floor(t, _leaf_sums(g, d.per_district(E, d.existing["beds"])))
                   - _leaf_sums(g, d.per_district(E, d.existing["care"])))
        else:  # care need
            lhs = _over_groups(v["conv"], dE, g, index)
            if n:
                lhs = lhs + _over_groups(v["add"][E], dE, g, index)
            rhs = T.care_beds_required(t, _leaf_sums(g, d.care_need)) - _leaf_sums(g, d.per_district(E, d.existing["care"]))
        out.append(lp.add_constraints(f"agg_{key}", lhs + sf >= rhs))
    return out


def _aggregate_price(d: ModelData, key: str, t) -> np.ndarray:
    """Price of an aggregate row's shortfall per unit (× SHORTFALL_PRICE): share rows ÷ (1 − share), as the
    district rows (none in budget mode, where shortfalls are weighed as they are)."""
    t = np.asarray(t, float)
    if key in ("aff", "care") and not d.budget_mode:
        return 1.0 / np.maximum(1.0 - t, 1e-3)
    return np.ones_like(t)


def define_affordable_centres(lp: LinearProblem, v: dict, d: ModelData) -> list:
    """At least N affordable (普惠) childcare centres in a district (``min_affordable_centres``).

    An affordable centre is an existing childcare facility with affordable
    slots, or a candidate childcare site k opened with at least
    m_k = max(min_size_k, 1) affordable slots (``open_aff_k``, binary in
    integer mode):

    open_aff_k − open_k ≤ 0;   aff_k − m_k · open_aff_k ≥ 0
    per district row g setting N_g (a parent row: over all its leaves):
    Σ_{k∈K∩C(L(g))} open_aff_k + sf_centres_g ≥ N_g − A_g   (centres; A_g existing ones)

    In LP mode open_aff is relaxed like ``open`` (a fraction of a centre).
    """
    lv = d.levels
    if lv is None or lv.centres is None:
        return []
    p, C, K = d.p, d.C, d.K
    kc = np.flatnonzero(p.child[K])            # candidates that are childcare
    sites = K[kc]
    in_c = pd.Index(C).get_indexer(sites)      # their position among childcare facilities
    idx = lazy_index(len(sites), lambda: _get(d.facilities)[sites])
    open_aff = lp.add_variables("open_aff", idx, upper=1.0, integer=p.integer)
    v["open_aff"] = open_aff
    m = np.maximum(d.min_size[sites], 1.0)
    out = [lp.add_constraints("centre_open", open_aff - v["open"][kc] <= 0.0),
           lp.add_constraints("centre_size", v["aff"][in_c] - open_aff * m >= 0.0)]
    g = lv.centres
    index = pd.Index(lv.group_ids(g), name="district_id")
    existing = d.per_district(C, (d.existing["affordable"] > 0).astype(float))
    sf = lp.add_variables("sf_centres", index)
    lp.add_objective(sf * SHORTFALL_PRICE)
    v["sf_centres"] = sf
    lhs = _over_groups(open_aff, p.fac_d[sites], g, index) + sf
    out.append(lp.add_constraints("centres", lhs >= g.value - _leaf_sums(g, existing)))
    return out


def define_equity_floor(lp: LinearProblem, v: dict, d: ModelData) -> list:
    """Objective ``equity`` only: the worst district's attainment per target.

    attain_t ∈ [0, 1] (capped: meeting a target is enough), worst ≤ attain_t, and
    per district with a requirement R_t,d > 0 (capacity the target asks for at
    the rate the district is held to):

    Σ_{f∈C(d)} add_f − R_c,d · attain_childcare ≥ −S_d;   Σ_{f∈E(d)} add_f − R_b,d · attain_beds ≥ −B_d

    The columns cost nothing in the plan's objective. :func:`planner.plan.solve`
    first maximises worst + ε Σ attain_t (within the budget), then solves the
    plan's own objective with attain_t held at those values.
    """
    if d.objective != "equity":
        return []
    p, C, E = d.p, d.C, d.E
    t = p.targets
    req = {"childcare": T.required(t["childcare_per_1000"].to_numpy(float), d.pop),
           "beds": T.required(t["beds_per_1000_elderly"].to_numpy(float), d.elderly)}
    attain = lp.add_variables("attain", pd.Index(["childcare", "beds"], name="target"), upper=1.0)
    worst = lp.add_variables("attain_worst", pd.Index(["worst"], name="target"), upper=1.0)
    v["attain"], v["attain_worst"] = attain, worst
    out = [lp.add_constraints("attain_worst", worst[[0, 0]] - attain <= 0.0)]
    for k, (name, fac_set, existing) in enumerate((("childcare", C, d.existing["slots"]),
                                                   ("beds", E, d.existing["beds"]))):
        r = req[name]
        keep = r > 0
        if not keep.any():
            continue
        row = np.full(len(r), -1)
        row[keep] = np.arange(int(keep.sum()))
        ids = np.flatnonzero(keep)
        index = lazy_index(len(ids), lambda ids=ids: _get(d.districts)[ids])
        lhs = v["add"][fac_set].sum_by(row[p.fac_d[fac_set]], index) + attain[np.full(len(ids), k)] * -r[keep]
        out.append(lp.add_constraints(f"attain_{name}", lhs >= -d.per_district(fac_set, existing)[keep]))
    return out


#: The families in build order (the order fixes columns and rows handed to the solver).
VARIABLES = (define_capacity_variables, define_flow_variables, define_shortfall_variables)
CONSTRAINTS = (define_district_slots, define_affordable_share, define_district_beds, define_care_share,
               define_affordable_link, define_site_linking, define_reach, define_budget, define_site_reach_linking,
               define_care_need, define_aggregate_targets, define_affordable_centres, define_equity_floor)


# ------------------------------------------------------------------ marginal costs (from the duals)

MARGINAL_COST_COLUMNS = ("marginal_cost_childcare_per_1000", "marginal_cost_beds_per_1000_elderly",
                         "marginal_cost_affordable_share", "marginal_cost_care_bed_share")


def _reach_terms(d: ModelData, sol, service: str, people: str, g=None) -> np.ndarray:
    """Per area group of ``service`` ("c"/"e"): objective units for +1 in the target rate of its areas,
    Σ_{a∈g} y_access,g · s_a · people_a / 1000 (the rate raises every area's need in reach).

    Groups already short of reach add to their own shortfall, not to cost: 0 there (and where the dual is a
    shortfall price); so do coverage-only groups that are covered (free sites).
    """
    p, g = d.p, d.groups[service] if g is None else g  # g: the area groups of ``service``
    y_acc = np.maximum(sol.dual_array(f"access_{service}"), 0.0)
    per_unit = np.bincount(g.of_area, p.access_share_a * d.area_people(people) / 1000, g.n)
    short = sol.array(f"sf_acc_{service}") > T.TOL
    cover = d.cover.get(service)
    if cover is not None:
        short = short | cover
    return np.where(short | (y_acc >= 0.5 * SHORTFALL_PRICE), 0.0, y_acc) * per_unit


#: Aggregate targets with a marginal cost: the reach service and people of a rate, or the district-table
#: column whose sum the share applies to.
AGGREGATE_MARGINAL = {"childcare_per_1000": ("c", "pop_total"), "beds_per_1000_elderly": ("e", "pop_60_plus"),
                      "affordable_share": (None, "slots_after"), "care_bed_share": (None, "beds_after")}


def aggregate_marginal_costs(d: ModelData, sol, after: dict) -> dict:
    """Yuan for raising an aggregate's own target by one unit (+1 per 1,000, or +1 point of a share):
    target name → one value per group of ``d.levels.aggregates[name]``.

    The derivative of :func:`marginal_costs`, on the rows of :func:`define_aggregate_targets`
    (y_g their duals; sums over the leaves L(g) of aggregate g):

    - childcare_per_1000: y_agg_slots,g · pop_g / 1000 + Σ_{groups h of areas whose rate follows g}
      y_access_c,h · Σ_{a∈h} s_a · pop_a / 1000 (``LevelData.rate_group``: with ``target_level`` above
      the leaves, the aggregate's rate is also its areas' rate in the reach rows);
    - beds_per_1000_elderly: the same with beds, aged 60+ and access_e;
    - affordable_share: y_agg_aff,g · Σ_{L(g)} slots_after / 100; care_bed_share: y_agg_care,g · Σ beds_after / 100.

    ``after``: ``{"slots_after": per leaf, "beds_after": per leaf}``. Yuan = · scale / w; NaN where the
    aggregate is short (or its dual is a shortfall price) and, in budget mode, where the budget binds.
    """
    lv = d.levels
    if lv is None or not lv.aggregates:
        return {}
    to_yuan = d.scale / d.cost_weight
    budget_binds = d.p.budget is not None and abs(sol.dual_array("budget")).max(initial=0.0) > 1e-9
    out = {}
    for name, g in lv.aggregates.items():
        if name not in AGGREGATE_MARGINAL:
            continue
        key = AGGREGATE_KEYS[name]
        t = g.value
        y = np.maximum(sol.dual_array(f"agg_{key}"), 0.0)
        out_of_reach = (sol.array(f"sf_agg_{key}") > T.TOL) | (y >= 0.5 * SHORTFALL_PRICE * _aggregate_price(d, key, t))
        service, people = AGGREGATE_MARGINAL[name]
        if service is None:
            value = y * _leaf_sums(g, after[people]) / 100
        else:
            value = y * _leaf_sums(g, d.pop_of(people)) / 1000
            follows = lv.rate_group.get(name)
            if follows is not None:
                h = follows[d.group_district(service)]  # the aggregate each reach group's rate follows
                keep = h >= 0
                value = value + np.bincount(h[keep], _reach_terms(d, sol, service, people)[keep], len(t))
        value = value * to_yuan
        value = np.where(out_of_reach | budget_binds & (value > 0), np.nan, value)
        out[name] = np.where(np.abs(value) < 1e-9 * max(d.scale, 1.0), 0.0, value)
    return out



def marginal_costs(d: ModelData, sol, slots_after, beds_after, shortfall: dict) -> dict:
    """Yuan for raising one district's target by one unit at the optimal plan, from the row duals.

    With y the dual of a row (objective units per unit of its right-hand side,
    ≥ 0 on a binding ≥ row) and the objective in yuan × w / scale
    (:func:`define_objective`), dV/dt for each target t of district d is
    (``docs/model.md``, "Marginal costs"):

    - childcare_per_1000 (+1 slot per 1,000): y_slots · pop / 1000 · [t · pop / 1000 ≥ t_child · pop_0_2]
      + Σ_{g⊂d} y_access_c,g · Σ_{a∈g} s_a · pop_a / 1000 (the target also raises every area's need in
      reach; the slots row asks the larger of the per-1,000 and the per-child need);
    - beds_per_1000_elderly: the same with beds, aged 60+ and access_e;
    - affordable_share (+1 point = +0.01): y_affordable · slots_after / 100 (the share is on both
      sides of the row: ∂row/∂t = −(S + Σ add));
    - care_bed_share: y_care · beds_after / 100.

    Yuan = dV/dt · scale / w. 0 where the row is not binding; NaN where the target
    is already out of reach (its shortfall > 0, or the row's dual is a shortfall
    price: one more unit could only be a shortfall), and in budget mode when the
    budget binds (more cannot be bought). Access groups already short of reach
    add to their own shortfall, not to cost, so they are left out of the sum;
    so are areas whose rate follows an aggregate's target (``target_level``
    above the districts, ``LevelData.rate_group``): the district's own target
    does not set their need, and that cost is the aggregate's
    (:func:`aggregate_marginal_costs`).
    """
    p = d.p
    n_d = p.n_districts
    to_yuan = d.scale / d.cost_weight
    dual = {name: sol.dual_array(name) for name in ("slots", "affordable", "beds", "care")}
    budget_binds = p.budget is not None and abs(sol.dual_array("budget")).max(initial=0.0) > 1e-9
    out = {}
    specs = (("marginal_cost_childcare_per_1000", "slots", "sf_slots", "c", "pop_total", None),
             ("marginal_cost_beds_per_1000_elderly", "beds", "sf_beds", "e", "pop_60_plus", None),
             ("marginal_cost_affordable_share", "affordable", "sf_aff", None, None, slots_after),
             ("marginal_cost_care_bed_share", "care", "sf_care", None, None, beds_after))
    for column, row, sf, service, people, after in specs:
        y = np.maximum(dual[row], 0.0)
        price = SHORTFALL_PRICE * d.price[sf]
        out_of_reach = (shortfall[row] > T.TOL) | (y >= 0.5 * price)
        if service is None:
            value = y * np.asarray(after, float) / 100
        else:
            value = y * d.pop_of(people) / 1000
            if service == "c":  # the slots row asks max(per 1,000, per child): no per-1,000 part where per child is more
                value = value * _per_1000_binds(d)
            g = d.groups[service]
            reach = _reach_terms(d, sol, service, people, g)
            follows = None if d.levels is None else d.levels.rate_group.get(column.removeprefix("marginal_cost_"))
            if follows is not None:  # the rate of those areas is an aggregate's: its cost is counted there
                reach = np.where(follows[d.group_district(service)] >= 0, 0.0, reach)
            value = value + np.bincount(d.group_district(service), reach, n_d)
        value = value * to_yuan
        value = np.where(out_of_reach | budget_binds & (value > 0), np.nan, value)
        out[column] = np.where(np.abs(value) < 1e-9 * max(d.scale, 1.0), 0.0, value)
    return out


def _per_1000_binds(d: ModelData) -> np.ndarray:
    """1 per district where the slots row's right-hand side is the per-1,000 part (raising that target
    raises the row), 0 where the per-child target asks for more (``childcare_per_child``)."""
    t = d.p.targets
    if d.children is None or "childcare_per_child" not in t:
        return np.ones(d.p.n_districts)
    per_1000 = T.required(d.leaf_target("childcare_per_1000"), d.pop)
    need = T.required_slots(d.leaf_target("childcare_per_1000"), d.pop, t["childcare_per_child"].to_numpy(float),
                            d.children)
    return (per_1000 >= need).astype(float)
