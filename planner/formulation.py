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
    care_need: np.ndarray = field(default=None)  # aged 60+ assessed as needing care, per district
    children: np.ndarray = field(default=None)  # children under 3 per district (childcare_per_child)
    C: np.ndarray = field(default=None)
    E: np.ndarray = field(default=None)
    K: np.ndarray = field(default=None)
    levels: object = None      # planner.levels.LevelData: the district tree and its targets
    budget_mode: bool = False
    objective: str = "least_cost"
    _flow_pairs: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        p = self.p
        self.C, self.E, self.K = np.flatnonzero(p.child), np.flatnonzero(~p.child), np.flatnonzero(p.cand)

    def leaf_target(self, name: str) -> np.ndarray:
        """The value of target ``name`` on each district's own row (0 where the district carries none).

        With ``target_level: leaf`` this is the district's target as before;
        above the leaves only a district's own column remains, as a floor
        (:class:`planner.levels.LevelData`).
        """
        t = self.p.targets if self.levels is None else self.levels.leaf_targets
        return t[name].to_numpy(float)

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

    def flow_pairs(self, name: str):
        """The reach pairs that carry a flow column (each group's first area), once per service."""
        if name not in self._flow_pairs:
            pairs = self.p.pairs_c if name == "c" else self.p.pairs_e
            g = self.groups[name]
            self._flow_pairs[name] = pairs if len(g.flow_pairs) == len(pairs) else pairs.select(g.flow_pairs)
        return self._flow_pairs[name]


def _fac_index(d: ModelData, pos):
    return lazy_index(len(pos), lambda: _get(d.facilities)[pos])


# ------------------------------------------------------------------ variables

def define_capacity_variables(lp: LinearProblem, d: ModelData) -> dict:
    """Capacity decisions, per facility (slots or beds; open in 0–1).

    add_f ∈ [0, max_add_f] (candidates: [0, max_size_f]); aff_f ∈ [0, max_add_f] for f ∈ C;
    conv_f ∈ [0, B_f − BC_f] for f ∈ E with a conversion cost; open_k ∈ [0, 1] for k ∈ K.
    All integer in integer mode.
    """
    p, C, E, K = d.p, d.C, d.E, d.K
    return {
        "add": lp.add_variables("add", d.facilities, upper=p.add_upper, integer=p.integer),
        "aff": lp.add_variables("aff", _fac_index(d, C), upper=p.add_upper[C], integer=p.integer),
        "conv": lp.add_variables("conv", _fac_index(d, E), upper=p.conv_upper[E], integer=p.integer),
        "open": lp.add_variables("open", _fac_index(d, K), upper=1.0, integer=p.integer),
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
    for name, fac_set, cap_now, need in (("c", d.C, d.existing["slots"], p.need_c),
                                         ("e", d.E, d.existing["beds"], p.need_e)):
        g = d.groups[name]
        fp = d.flow_pairs(name)
        flow = v[f"flow_{name}"]
        required = np.bincount(g.of_area, p.access_share_a * need, g.n)
        out.append(lp.add_constraints(
            f"access_{name}", flow.sum_by(g.of_area[fp.area], d.group_index(name)) + v[f"sf_acc_{name}"] >= required))
        local = np.full(len(p.fac_d), -1)
        local[fac_set] = np.arange(len(fac_set))
        out.append(lp.add_constraints(
            f"capacity_{name}",
            flow.sum_by(local[fp.facility], _fac_index(d, fac_set)) - v["add"][fac_set] <= cap_now[fac_set]))
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
    share_price = (lambda t: np.ones_like(t)) if d.budget_mode else (lambda t: 1.0 / np.maximum(1.0 - t, 1e-3))
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
        price = share_price(t) if key in ("aff", "care") else np.ones(len(t))
        lp.add_objective(sf * (SHORTFALL_PRICE * price))
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

    The columns cost nothing in the plan's objective. :func:`planner.solve.solve`
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
               define_affordable_link, define_site_linking, define_reach, define_budget,
               define_care_need, define_aggregate_targets, define_affordable_centres, define_equity_floor)
