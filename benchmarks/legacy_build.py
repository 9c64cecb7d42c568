"""The engine's model builder as it was before the labelled layer (issue 15), frozen.

Kept only as the yardstick for ``benchmarks/bench_build.py`` (build time of the
labelled layer against this one, same run) and for the property test that the
labelled build hands the solver exactly these arrays. Not used by the product.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from planner.lp import LinearProgram
from planner.model import INF, SHORTFALL_BLOCKS, SHORTFALL_PRICE, AreaGroups, cost_scale, prepare


class _Builder:
    def __init__(self):
        self.n_col = 0
        self.n_row = 0
        self.cols = {}
        self.lower, self.upper, self.cost, self.integer = [], [], [], []
        self.rows = {}
        self.r_lower, self.r_upper = [], []
        self.ri, self.ci, self.vals = [], [], []

    def var(self, name, n, *, lower=0.0, upper=INF, cost=0.0, integer=False) -> np.ndarray:
        idx = np.arange(self.n_col, self.n_col + n)
        self.cols[name] = slice(self.n_col, self.n_col + n)
        self.n_col += n
        for store, v in ((self.lower, lower), (self.upper, upper), (self.cost, cost)):
            store.append(np.broadcast_to(np.asarray(v, float), (n,)))
        self.integer.append(np.full(n, bool(integer)))
        return idx

    def rows_block(self, name, lower, upper) -> int:
        lower = np.asarray(lower, float)
        n = lower.shape[0]
        start = self.n_row
        self.rows[name] = slice(start, start + n)
        self.r_lower.append(lower)
        self.r_upper.append(np.broadcast_to(np.asarray(upper, float), (n,)))
        self.n_row += n
        return start

    def coef(self, rows, cols, vals) -> None:
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        self.ri.append(rows)
        self.ci.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, float), rows.shape))

    def build(self) -> LinearProgram:
        cat = lambda xs, dt=float: np.concatenate(xs).astype(dt, copy=False) if xs else np.zeros(0, dt)  # noqa: E731
        # column-wise, as HiGHS takes it: most columns are flows with two entries, so the
        # per-column index sort is cheap (per row it is not: a site's capacity row is long)
        A = sp.csc_matrix((cat(self.vals), (cat(self.ri, np.int64), cat(self.ci, np.int64))),
                          shape=(self.n_row, self.n_col))
        return LinearProgram(cat(self.cost), cat(self.lower), cat(self.upper), cat(self.integer, bool), A,
                             cat(self.r_lower), cat(self.r_upper), self.cols, self.rows)



def legacy_build(scenario, *, merge_areas: bool = True):
    """Assemble the LP (or MILP with ``options.integer``) for ``scenario``.

    ``merge_areas`` (default: unless the scenario has ``extra_functionality``)
    gives areas that see the same sites one access row (see the module notes).
    """
    p = prepare(scenario)
    n_a = len(p.area_d)
    if merge_areas:
        groups = {s: AreaGroups.from_pairs(pairs, n_a, p.area_d) for s, pairs in (("c", p.pairs_c), ("e", p.pairs_e))}
    else:
        groups = {s: AreaGroups.identity(pairs, n_a) for s, pairs in (("c", p.pairs_c), ("e", p.pairs_e))}
    f = scenario.facilities
    fixed = f["fixed_cost"].to_numpy(float)
    min_size = f["min_size"].to_numpy(float)
    max_size = f["max_size"].to_numpy(float)
    S = f["slots"].to_numpy(float)
    SA = f["slots_affordable"].to_numpy(float)
    B = f["beds"].to_numpy(float)
    BC = f["beds_care"].to_numpy(float)
    n_d, n_a, n_f = p.n_districts, len(p.area_d), len(p.fac_d)
    child, cand = p.child, p.cand
    C, E, K = np.flatnonzero(child), np.flatnonzero(~child), np.flatnonzero(cand)

    scale = cost_scale(p, fixed, min_size)
    budget_mode = p.budget is not None
    # In budget mode shortfall comes first; cost only breaks ties (whole budget < one unit).
    cost_weight = 1.0 if not budget_mode else min(1.0, 1.0 / max(p.budget / scale, 1e-12))
    t = p.targets
    t_aff, t_care = t["affordable_share"].to_numpy(float), t["care_bed_share"].to_numpy(float)
    # One added unit closes only (1 − share) of a share shortfall, so least-cost
    # mode prices those rows up accordingly; in budget mode every unit counts alike.
    share_price = (lambda share: np.ones_like(share)) if budget_mode else (
        lambda share: 1.0 / np.maximum(1.0 - share, 1e-3))
    price = {"sf_slots": np.ones(n_d), "sf_aff": share_price(t_aff), "sf_beds": np.ones(n_d),
             # equal prices per area: what makes merging areas exact
             "sf_care": share_price(t_care), "sf_acc_c": np.ones(groups["c"].n), "sf_acc_e": np.ones(groups["e"].n)}

    b = _Builder()
    add = b.var("add", n_f, upper=p.add_upper, cost=cost_weight * p.cost_unit / scale, integer=p.integer)
    aff = b.var("aff", len(C), upper=p.add_upper[C], integer=p.integer)
    conv = b.var("conv", len(E), upper=p.conv_upper[E], cost=cost_weight * p.cost_conv[E] / scale,
                 integer=p.integer)
    opn = b.var("open", len(K), upper=1.0, cost=cost_weight * fixed[K] / scale, integer=p.integer)
    fc = b.var("flow_c", len(groups["c"].flow_pairs))
    fe = b.var("flow_e", len(groups["e"].flow_pairs))
    sf = {name: b.var(name, len(price[name]), cost=SHORTFALL_PRICE * price[name]) for name in SHORTFALL_BLOCKS}

    dC, dE = p.fac_d[C], p.fac_d[E]
    pop_d = np.bincount(p.area_d, scenario.areas["pop_total"].to_numpy(float), n_d)
    eld_d = np.bincount(p.area_d, scenario.areas["pop_60_plus"].to_numpy(float), n_d)
    S_d, SA_d = np.bincount(dC, S[C], n_d), np.bincount(dC, SA[C], n_d)
    B_d, BC_d = np.bincount(dE, B[E], n_d), np.bincount(dE, BC[E], n_d)
    dist = np.arange(n_d)

    # District targets: capacity, affordable share, beds, care-oriented share.
    r = b.rows_block("slots", t["childcare_per_1000"].to_numpy(float) * pop_d / 1000 - S_d, INF)
    b.coef(r + dC, add[C], 1.0)
    b.coef(r + dist, sf["sf_slots"], 1.0)
    r = b.rows_block("affordable", t_aff * S_d - SA_d, INF)
    b.coef(r + dC, aff, 1.0)
    b.coef(r + dC, add[C], -t_aff[dC])
    b.coef(r + dist, sf["sf_aff"], 1.0)
    r = b.rows_block("beds", t["beds_per_1000_elderly"].to_numpy(float) * eld_d / 1000 - B_d, INF)
    b.coef(r + dE, add[E], 1.0)
    b.coef(r + dist, sf["sf_beds"], 1.0)
    r = b.rows_block("care", t_care * B_d - BC_d, INF)
    b.coef(r + dE, conv, 1.0)
    b.coef(r + dE, add[E], float(p.new_beds_care) - t_care[dE])
    b.coef(r + dist, sf["sf_care"], 1.0)

    # Added affordable slots are among the added slots.
    r = b.rows_block("aff_link", np.full(len(C), -INF), 0.0)
    b.coef(r + np.arange(len(C)), aff, 1.0)
    b.coef(r + np.arange(len(C)), add[C], -1.0)

    # Candidate sites: min_size·open ≤ add ≤ max_size·open.
    k = np.arange(len(K))
    r = b.rows_block("site_max", np.full(len(K), -INF), 0.0)
    b.coef(r + k, add[K], 1.0)
    b.coef(r + k, opn, -max_size[K])
    r = b.rows_block("site_min", np.zeros(len(K)), INF)
    b.coef(r + k, add[K], 1.0)
    b.coef(r + k, opn, -min_size[K])

    # Reach: flows in reach + access shortfall ≥ share·need; flows ≤ capacity after.
    # (No "≤ need" bound: flows are free, and it made dual simplex 3–5× slower.)
    for pairs, flow, need, sf_acc, fac_set, cap_now, name in (
            (p.pairs_c, fc, p.need_c, sf["sf_acc_c"], C, S, "c"),
            (p.pairs_e, fe, p.need_e, sf["sf_acc_e"], E, B, "e")):
        g = groups[name]
        flow_pairs = pairs if len(g.flow_pairs) == len(pairs) else pairs.select(g.flow_pairs)
        r = b.rows_block(f"access_{name}", np.bincount(g.of_area, p.access_share_a * need, g.n), INF)
        b.coef(r + g.of_area[flow_pairs.area], flow, 1.0)
        b.coef(r + np.arange(g.n), sf_acc, 1.0)
        local = np.full(n_f, -1)
        local[fac_set] = np.arange(len(fac_set))
        r = b.rows_block(f"capacity_{name}", -INF * np.ones(len(fac_set)), cap_now[fac_set])
        b.coef(r + local[flow_pairs.facility], flow, 1.0)
        b.coef(r + np.arange(len(fac_set)), add[fac_set], -1.0)

    cost_yuan = np.zeros(b.n_col)
    cost_yuan[add] = p.cost_unit
    cost_yuan[conv] = p.cost_conv[E]
    cost_yuan[opn] = fixed[K]
    if budget_mode:
        nz = np.flatnonzero(cost_yuan)
        r = b.rows_block("budget", np.array([-INF]), p.budget / scale)
        b.coef(np.full(len(nz), r), nz, cost_yuan[nz] / scale)
    return b.build(), cost_yuan, groups
