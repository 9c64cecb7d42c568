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
    children: np.ndarray = field(default=None)  # children under 3 per district (childcare_per_child)
    C: np.ndarray = field(default=None)
    E: np.ndarray = field(default=None)
    K: np.ndarray = field(default=None)
    _flow_pairs: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        p = self.p
        self.C, self.E, self.K = np.flatnonzero(p.child), np.flatnonzero(~p.child), np.flatnonzero(p.cand)

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
    need = (T.required_slots(t["childcare_per_1000"].to_numpy(float), d.pop, per_child,
                             0.0 if d.children is None else d.children)
            - d.per_district(C, d.existing["slots"]))
    return lp.add_constraints("slots", v["add"][C].sum_by(p.fac_d[C], d.districts) + v["sf_slots"] >= need)


def define_affordable_share(lp: LinearProblem, v: dict, d: ModelData):
    """Per district: Σ_{f∈C(d)} (aff_f − t_aff_d · add_f) + sf_aff_d ≥ t_aff_d · S_d − SA_d   (slots).

    That is (SA + Σ aff) ≥ t_aff · (S + Σ add): the affordable share after the plan.
    """
    p, C = d.p, d.C
    t_aff = p.targets["affordable_share"].to_numpy(float)
    dC = p.fac_d[C]
    lhs = (v["aff"].sum_by(dC, d.districts) + (v["add"][C] * -t_aff[dC]).sum_by(dC, d.districts)
           + v["sf_aff"])
    rhs = T.share_floor(t_aff, d.per_district(C, d.existing["slots"])) - d.per_district(C, d.existing["affordable"])
    return lp.add_constraints("affordable", lhs >= rhs)


def define_district_beds(lp: LinearProblem, v: dict, d: ModelData):
    """Per district: Σ_{f∈E(d)} add_f + sf_beds_d ≥ t_beds_d · pop60_d / 1000 − B_d   (beds)."""
    p, E = d.p, d.E
    need = T.required(p.targets["beds_per_1000_elderly"].to_numpy(float), d.elderly) - d.per_district(E, d.existing["beds"])
    return lp.add_constraints("beds", v["add"][E].sum_by(p.fac_d[E], d.districts) + v["sf_beds"] >= need)


def define_care_share(lp: LinearProblem, v: dict, d: ModelData):
    """Per district: Σ_{f∈E(d)} (conv_f + (n − t_care_d) · add_f) + sf_care_d ≥ t_care_d · B_d − BC_d   (beds).

    n = 1 when new beds are care-oriented (option ``new_beds_care``), else 0:
    (BC + Σ conv + n Σ add) ≥ t_care · (B + Σ add).
    """
    p, E = d.p, d.E
    t_care = p.targets["care_bed_share"].to_numpy(float)
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


#: The families in build order (the order fixes columns and rows handed to the solver).
VARIABLES = (define_capacity_variables, define_flow_variables, define_shortfall_variables)
CONSTRAINTS = (define_district_slots, define_affordable_share, define_district_beds, define_care_share,
               define_affordable_link, define_site_linking, define_reach, define_budget)
