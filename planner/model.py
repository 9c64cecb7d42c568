"""Build the planning LP/MILP from a Scenario, vectorised and sparse.

The problem is written as labelled blocks (:mod:`planner.lp`) and flattened
once to arrays (costs, bounds, a sparse constraint matrix).
:meth:`Model.to_pulp` turns the same arrays into a PuLP problem, one
``LpAffineExpression`` per row, for CBC and for LP/MPS export; the default
HiGHS path passes the arrays to highspy directly, so no per-variable Python
objects are made.

Variables (blocks)
------------------
add        slots or beds added per facility (≤ max_add, or ≤ max_size for candidates)
aff        affordable slots among the added ones, per childcare facility
conv       ordinary → care-oriented conversions, per eldercare facility
open       candidate site opened (0–1; binary in integer mode)
flow_c/_e  need served by a facility in reach (childcare / eldercare), per
           group of areas that see exactly the same sites (see below)
sf_*       non-negative shortfalls: per district (slots, affordable, beds, care)
           and per area group (access to childcare / eldercare), priced far above cost

Units: slots, beds, yuan. Objective coefficients are yuan ÷ ``cost_scale``
so that one unit of any shortfall outweighs the dearest way to close it.
Flows cost nothing: the model decides capacity; how much need that capacity
can serve in reach is worked out afterwards (:func:`planner.access.max_served`).

Areas of one district that see exactly the same set of sites for a service
share one access row and one set of flow columns (:class:`AreaGroups`). That
is exact: flows are free and unbounded, every access shortfall has the same
price, and district rows hold population totals as constants, so any group
solution splits back into per-area flows and shortfalls of the same cost
(:meth:`Model.per_area`). The district is part of the key only so that a
group's shortfall, spread over its areas, never moves between districts.
In towns many neighbouring areas share their reach set (all areas with
nothing in reach share the empty one): about a quarter to a half fewer flow
columns on the benchmark instances. An ``extra_functionality`` hook sees the
flows per area group (index ``area_group``, ``facility_id``).

The families of rows live in :mod:`planner.formulation` (one ``define_*``
each), written with the labelled blocks of :mod:`planner.lp`; the whole
formulation with units and exactness arguments is ``docs/model.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._labels import positions
from .access import Pairs, reach_pairs
from .targets import required

from .formulation import SHORTFALL_BLOCKS, SHORTFALL_PRICE  # noqa: F401 - re-exported
from .lp import INF, LinearProblem, LinearProgram, lazy_index  # noqa: F401 - LinearProgram re-exported


@dataclass
class AreaGroups:
    """Areas merged for one service because they see exactly the same sites.

    Attributes
    ----------
    of_area : ndarray of int
        Group of each area.
    flow_pairs : ndarray of int
        Positions in the service's :class:`Pairs` that get a flow column: the
        pairs of each group's first area.
    column : ndarray of int
        For every pair, its group's flow column for the same site.
    """

    of_area: np.ndarray
    flow_pairs: np.ndarray
    column: np.ndarray

    @property
    def n(self) -> int:
        return int(self.of_area.max(initial=-1)) + 1

    @classmethod
    def identity(cls, pairs: Pairs, n_areas: int) -> "AreaGroups":
        every = np.arange(len(pairs))
        return cls(np.arange(n_areas), every, every)

    @classmethod
    def from_pairs(cls, pairs: Pairs, n_areas: int, district: np.ndarray | None = None) -> "AreaGroups":
        """Group areas by their set of sites (and ``district``): a 128-bit set hash, then checked exactly.

        With ``district``, groups never span districts, so each district's access
        shortfall is as free to fall where the solver puts it as without merging
        (a group's shortfall is spread over its areas).
        """
        n_fac = int(pairs.facility.max(initial=-1)) + 1
        if n_areas == 0 or np.any(np.diff(pairs.area * n_fac + pairs.facility) <= 0):  # relies on the Pairs order
            return cls.identity(pairs, n_areas)
        counts = np.bincount(pairs.area, minlength=n_areas)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rng = np.random.default_rng(20250101)  # fixed: groups (and column order) are reproducible
        keys = [counts.astype(np.uint64)]  # all uint64: a mixed stack would become float64
        if district is not None:
            keys.append(np.asarray(district).astype(np.uint64))
        for _ in range(2):
            # a sum of random 64-bit words per site is a hash of the (sorted, distinct) set
            word = rng.integers(0, 2**63, n_fac, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
            total = np.concatenate([np.zeros(1, np.uint64), np.cumsum(word[pairs.facility], dtype=np.uint64)])
            keys.append(total[starts + counts] - total[starts])
        order = np.lexsort(keys[::-1])  # stable: each group's first area is its lowest index
        k = np.column_stack(keys)[order]
        new_group = np.concatenate([[True], (k[1:] != k[:-1]).any(axis=1)])
        of_area = np.empty(n_areas, np.int64)
        of_area[order] = np.cumsum(new_group) - 1
        first = order[new_group]  # lowest-index area of each group, in group order
        # exact check: each pair must match the same-position pair of its group's first area
        pos_in_area = np.arange(len(pairs)) - starts[pairs.area]
        twin = starts[first[of_area[pairs.area]]] + pos_in_area
        if not np.array_equal(pairs.facility, pairs.facility[twin]):  # a hash collision: do not merge
            return cls.identity(pairs, n_areas)
        is_first = np.zeros(n_areas, bool)
        is_first[first] = True
        flow_pairs = np.flatnonzero(is_first[pairs.area])
        column = np.full(len(pairs), -1)
        column[flow_pairs] = np.arange(len(flow_pairs))
        return cls(of_area, flow_pairs, column[twin])

    def split(self, weight: np.ndarray) -> np.ndarray:
        """Each area's share of its group (weights ≥ 0 summing to 1 per group, or 0 if all are 0)."""
        total = np.bincount(self.of_area, weight, self.n)[self.of_area]
        return np.divide(weight, total, out=np.zeros(len(weight)), where=total > 0)


@dataclass
class Prepared:
    """The scenario as arrays: what the model and the result both read."""

    district_ids: np.ndarray
    area_d: np.ndarray
    fac_d: np.ndarray
    targets: pd.DataFrame          # per district
    need_c: np.ndarray             # slots needed per area
    need_e: np.ndarray             # beds needed per area
    child: np.ndarray              # facility is childcare
    cand: np.ndarray               # facility is a candidate site
    add_upper: np.ndarray          # slots/beds a facility may add (0 where force = closed)
    open_lower: np.ndarray         # 1 for candidates with force = open, else 0
    open_upper: np.ndarray         # 0 for force = closed, else 1
    cost_unit: np.ndarray          # yuan per added slot/bed (0 where it cannot grow)
    conv_upper: np.ndarray         # convertible ordinary beds
    cost_conv: np.ndarray          # yuan per conversion
    pairs_c: Pairs                 # childcare pairs in reach
    pairs_e: Pairs                 # eldercare pairs in reach
    limit_c: np.ndarray            # catchment minutes per area, childcare
    limit_e: np.ndarray            # catchment minutes per area, eldercare
    new_beds_care: bool
    budget: float | None
    integer: bool
    access_share_a: np.ndarray     # per area
    extra: dict = field(default_factory=dict)

    @property
    def n_districts(self):
        return len(self.district_ids)


def prepare(scenario) -> Prepared:
    """Arrays from a validated scenario (no model yet)."""
    a, f, d = scenario.areas, scenario.facilities, scenario.districts
    ids = d["district_id"].to_numpy(object)
    area_d = positions(ids, a["district_id"])
    fac_d = positions(ids, f["district_id"])
    t = scenario.district_targets()
    child = f["kind"].to_numpy(object) == "childcare"
    cand = f["candidate"].to_numpy(bool)
    force = f["force"].to_numpy(object) if "force" in f.columns else np.full(len(f), "", object)
    closed = force == "closed"  # never opened, expanded or converted (DESIGN.md Contract v2)
    add_upper = np.where(closed, 0.0, np.where(cand, f["max_size"].to_numpy(float), f["max_add"].to_numpy(float)))
    cost_unit = np.nan_to_num(f["cost_per_unit"].to_numpy(float))
    conv_cost = f["cost_per_conversion"].to_numpy(float)
    conv_upper = np.where(~child & ~np.isnan(conv_cost) & ~closed,
                          f["beds"].to_numpy(float) - f["beds_care"].to_numpy(float), 0.0)
    o = scenario.options
    pairs_c, pairs_e, limit_c, limit_e = reach_pairs(scenario, child)
    return Prepared(
        district_ids=ids, area_d=area_d, fac_d=fac_d, targets=t,
        need_c=required(t["childcare_per_1000"].to_numpy(float)[area_d], a["pop_total"].to_numpy(float)),
        need_e=required(t["beds_per_1000_elderly"].to_numpy(float)[area_d], a["pop_60_plus"].to_numpy(float)),
        child=child, cand=cand, add_upper=add_upper, cost_unit=cost_unit,
        open_lower=(cand & (force == "open")).astype(float), open_upper=np.where(closed, 0.0, 1.0),
        conv_upper=conv_upper, cost_conv=np.nan_to_num(conv_cost),
        pairs_c=pairs_c, pairs_e=pairs_e, limit_c=limit_c, limit_e=limit_e,
        new_beds_care=bool(o.new_beds_care), budget=None if scenario.budget is None else float(scenario.budget),
        integer=bool(o.integer), access_share_a=t["access_share"].to_numpy(float)[area_d],
    )


def cost_scale(p: Prepared, fixed_cost: np.ndarray, min_size: np.ndarray) -> float:
    """Yuan of the dearest way to add one unit (a whole minimum-size site at worst)."""
    grows = p.add_upper > 0
    worst = (p.cost_unit[grows].max(initial=0.0) + p.cost_conv[p.conv_upper > 0].max(initial=0.0)
             + (fixed_cost + min_size * p.cost_unit)[p.cand & grows].max(initial=0.0))
    return float(worst) if worst > 0 else 1.0


@dataclass
class Model:
    """The built problem plus what is needed to read its solution."""

    lp: LinearProgram
    prepared: Prepared
    scenario: object
    scale: float            # yuan per objective unit
    cost_yuan: np.ndarray   # yuan per unit of each column (for the plan's cost)
    groups: dict = field(default_factory=dict)  # "c"/"e" → AreaGroups
    problem: LinearProblem | None = field(default=None, repr=False)  # the labelled blocks
    variables: dict = field(default_factory=dict, repr=False)         # block name → lp.Variable
    data: object = field(default=None, repr=False)                    # formulation.ModelData

    def solution(self, x, duals=None):
        """Column values (and row duals) by block and label: ``sol["add"].loc["f12"]``."""
        return self.problem.solution(x, duals)

    @classmethod
    def from_scenario(cls, scenario) -> "Model":
        """Build the model of DESIGN.md for a validated scenario."""
        return build(scenario)

    def per_area(self, v: dict) -> dict:
        """Column values by block, with flows per pair and access shortfalls per area.

        A group's flows and shortfall are split among its areas in proportion
        to what each must reach (``access_share × need``; by need where that
        is 0). Every area row then holds, because the group's row holds, and
        capacities and costs are unchanged.
        """
        p = self.prepared
        v = self._cover_flows(v)
        out = dict(v)
        for name, pairs, need in (("c", p.pairs_c, p.need_c), ("e", p.pairs_e, p.need_e)):
            g = self.groups[name]
            required = p.access_share_a * need
            # by need in groups where nothing is required
            share = g.split(np.where(np.bincount(g.of_area, required, g.n)[g.of_area] > 0, required, need))
            out[f"flow_{name}"] = v[f"flow_{name}"][g.column] * share[pairs.area]
            out[f"sf_acc_{name}"] = v[f"sf_acc_{name}"][g.of_area] * share
        return out

    def _cover_flows(self, v: dict) -> dict:
        """Flows of every group pair, with coverage-only groups' flows put back (integer mode).

        Each covered coverage-only group sends R_g to one open site in its reach;
        that free site's added capacity (and affordable slots) grows to what it
        serves, at no cost (docs/model.md, "Exact integer sites").
        """
        d = self.data
        if d is None or not d.cover:
            return v
        v = dict(v)
        add, aff = v["add"].copy(), v["aff"].copy()
        for name in ("c", "e"):
            kept = d.flow_kept(name)
            if kept is None:
                continue
            gp, g = d.group_pairs(name), self.groups[name]
            full = np.zeros(len(gp))
            full[kept] = v[f"flow_{name}"]
            grp = g.of_area[gp.area]
            R = d.required_in_reach(name)
            # flows are free, so the solver may send a group more than R_g; cut them back to R_g
            # (every row still holds) so that a free site's inflow stays within its bound
            sent = np.bincount(grp, full, g.n)
            full *= np.divide(R, sent, out=np.ones(g.n), where=sent > R)[grp]
            open_k = np.zeros(len(add))
            open_k[d.K] = v["open"]
            at = np.flatnonzero(d.cover[name][grp] & (open_k[gp.facility] > 0.5))
            first = at[np.unique(grp[at], return_index=True)[1]]  # one open site per covered group
            served = np.maximum(R[grp[first]] - v[f"sf_acc_{name}"][grp[first]], 0.0)
            full[first] = served
            inflow = np.bincount(gp.facility, full, len(add))
            existing = d.existing["slots" if name == "c" else "beds"]
            # only the free sites of covered groups grow (others already hold their flows)
            served_by = np.zeros(len(add), bool)
            served_by[gp.facility[first]] = True
            grow = np.where(served_by, np.maximum(inflow - existing - add, 0.0), 0.0)
            add += grow
            if name == "c":
                aff += grow[d.C]
            v[f"flow_{name}"] = full
        v["add"], v["aff"] = add, aff
        return v

    def to_pulp(self, name="care_plan"):
        """The same problem as a ``pulp.LpProblem``.

        Returns
        -------
        problem : pulp.LpProblem
        variables : dict
            Block name → list of ``pulp.LpVariable`` in column order; the flat
            list of all columns is under ``"_all"``.
        """
        import pulp

        lp = self.lp
        cols = []
        variables = {}
        prob = pulp.LpProblem(name, pulp.LpMinimize)
        # PuLP ≥ 3.3 attaches variables to the problem; PuLP 4 removes the bare constructor.
        new_var = prob.add_variable if hasattr(prob, "add_variable") else pulp.LpVariable
        for block, sl in lp.blocks.items():
            vs = [new_var(f"{block}_{i}", lp.lower[j], None if np.isinf(lp.upper[j]) else lp.upper[j],
                          cat=pulp.LpInteger if lp.integer[j] else pulp.LpContinuous)
                  for i, j in enumerate(range(sl.start, sl.stop))]
            variables[block] = vs
            cols.extend(vs)
        variables["_all"] = cols
        nz = np.flatnonzero(lp.cost)
        prob.setObjective(pulp.LpAffineExpression(zip([cols[j] for j in nz], lp.cost[nz].tolist())))
        A = lp.A.tocsr()
        row_name = np.empty(lp.shape[0], object)
        for block, sl in lp.row_blocks.items():
            row_name[sl] = [f"{block}_{i}" for i in range(sl.stop - sl.start)]
        for i in range(lp.shape[0]):
            s, e = A.indptr[i], A.indptr[i + 1]
            expr = pulp.LpAffineExpression(zip([cols[j] for j in A.indices[s:e]], A.data[s:e].tolist()))
            lo, up = lp.row_lower[i], lp.row_upper[i]
            if lo == up:
                prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintEQ, rhs=lo), row_name[i])
                continue
            if np.isfinite(lo):
                prob.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=lo), row_name[i])
            if np.isfinite(up):
                prob.addConstraint(pulp.LpConstraint(expr.copy(), pulp.LpConstraintLE, rhs=up),
                                   row_name[i] + ("_up" if np.isfinite(lo) else ""))
        return prob, variables


def labels_and_sites(scenario, p: Prepared) -> dict:
    """What every model reads the same way: labels (districts, facilities, areas), existing
    capacity and the candidate-site columns (fields of ``ModelData`` and of the phased model's data)."""
    f, a = scenario.facilities, scenario.areas
    return dict(
        districts=lazy_index(p.n_districts, lambda: pd.Index(p.district_ids, name="district_id")),
        facilities=lazy_index(len(f), lambda: pd.Index(f["facility_id"].to_numpy(object), name="facility_id")),
        area_ids=a["area_id"].to_numpy(object),
        existing={"slots": f["slots"].to_numpy(float), "affordable": f["slots_affordable"].to_numpy(float),
                  "beds": f["beds"].to_numpy(float), "care": f["beds_care"].to_numpy(float)},
        fixed=f["fixed_cost"].to_numpy(float), min_size=f["min_size"].to_numpy(float),
        max_size=f["max_size"].to_numpy(float))


def build(scenario, *, merge_areas: bool = True) -> Model:
    """Assemble the LP (or MILP with ``options.integer``) for ``scenario``.

    Calls the families of :mod:`planner.formulation` in order, then the
    scenario's ``extra_functionality(lp, variables, scenario)`` hook, then
    flattens the labelled problem to arrays. ``merge_areas`` gives areas that
    see the same sites one access row (see the module notes; the hook sees
    flows per area group).
    """
    from . import formulation as F

    p = prepare(scenario)
    n_a = len(p.area_d)
    make = AreaGroups.from_pairs if merge_areas else (lambda pairs, n, _d: AreaGroups.identity(pairs, n))
    groups = {s: make(pairs, n_a, p.area_d) for s, pairs in (("c", p.pairs_c), ("e", p.pairs_e))}
    a = scenario.areas
    sites = labels_and_sites(scenario, p)
    scale = cost_scale(p, sites["fixed"], sites["min_size"])
    budget_mode = p.budget is not None
    # In budget mode shortfall comes first; cost only breaks ties (whole budget < one unit).
    cost_weight = 1.0 if not budget_mode else min(1.0, 1.0 / max(p.budget / scale, 1e-12))
    from .levels import level_data

    levels = level_data(scenario, p.targets)
    t = levels.leaf_targets
    # One added unit closes only (1 − share) of a share shortfall, so least-cost
    # mode prices those rows up accordingly; in budget mode every unit counts alike.
    share_price = (lambda share: np.ones_like(share)) if budget_mode else (
        lambda share: 1.0 / np.maximum(1.0 - share, 1e-3))
    n_d = p.n_districts
    price = {"sf_slots": np.ones(n_d), "sf_aff": share_price(t["affordable_share"].to_numpy(float)),
             "sf_beds": np.ones(n_d), "sf_care": share_price(t["care_bed_share"].to_numpy(float)),
             # equal prices per area: what makes merging areas exact
             "sf_acc_c": np.ones(groups["c"].n), "sf_acc_e": np.ones(groups["e"].n)}
    area_pop = {c: a[c].to_numpy(float) for c in ("pop_total", "pop_60_plus")}  # each column read once
    data = F.ModelData(
        p=p, groups=groups, **sites,
        scale=scale, cost_weight=cost_weight, price=price,
        pop=np.bincount(p.area_d, area_pop["pop_total"], n_d),
        elderly=np.bincount(p.area_d, area_pop["pop_60_plus"], n_d),
        care_need=np.bincount(p.area_d, a["pop_care_need"].to_numpy(float), n_d) if "pop_care_need" in a
        else np.zeros(n_d),
        levels=levels, budget_mode=budget_mode, objective=getattr(scenario, "objective", "least_cost"),
        area_pop=area_pop,
        children=np.bincount(p.area_d, np.nan_to_num(a["pop_0_2"].to_numpy(float)), n_d))

    # exact tightening for branch-and-bound (docs/model.md, "Exact integer sites"). Its bounds, dominance
    # and coverage groups reason from each district's own rows, so not where aggregates, centre counts
    # or care-need rows (planner.levels) also ask for sites: those keep the plain bounds.
    if p.integer and not levels.aggregates and levels.centres is None and not levels.care_need:
        data.add_upper, data.open_upper = F.site_bounds(data)
        data.cover = F.coverage_groups(data)

    lp = LinearProblem()
    variables = {}
    for define in F.VARIABLES:
        variables.update(define(lp, data))
    for define in F.CONSTRAINTS:
        define(lp, variables, data)
    F.define_objective(lp, variables, data)
    if scenario.extra_functionality is not None:
        scenario.extra_functionality(lp, variables, scenario)
    arrays = lp.to_arrays()
    cost_yuan = np.zeros(arrays.shape[1])
    for var, yuan in F.cost_terms(variables, data):
        cost_yuan[var.positions] = yuan
    return Model(lp=arrays, prepared=p, scenario=scenario, scale=scale, cost_yuan=cost_yuan, groups=groups,
                 problem=lp, variables=variables, data=data)
