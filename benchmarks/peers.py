"""PySAL spopt on the problems it can express, against the same problems built the engine's way.

spopt (``spopt.locate``) states location problems as PuLP objects over a
dense cost matrix (one variable per client × site for the p-median). The
engine has no API for these problems, so this module writes each of them as
a small sparse formulation with the engine's own machinery: arrays through
``planner.lp.LinearProblem`` (labelled blocks, one vectorised call per block
of rows, no Python loop over pairs), solved by ``planner.solve.run`` (highspy from
arrays, the engine's block split). Both sides solve to proven optimality
(relative MIP gap 0), and their objective values must agree. Imports are
outside the timing on both sides (spopt, PuLP; highspy and SciPy's graph
module, which the engine imports on first use).

Problems, on the benchmark instance's childcare side (sites = every
childcare facility, existing or candidate; demand = each area's childcare
need at the scenario's target, slots; reach = the engine's pairs within
``access_minutes``):

* **MCLP** (maximal coverage): open ``p`` = 20 % of the sites to cover as
  much need as possible within reach. spopt's cost matrix: minutes on the
  reach pairs, ``FAR`` elsewhere, ``service_radius = access_minutes``.
  Ours: binary site variables, coverage variables in [0, 1] (for binary
  sites the best coverage is 0 or 1 anyway, so the optimum is the same),
  one coverage row per demand group over its sites, ``Σ open ≤ p``, after
  exact presolve reductions (:func:`mclp_presolve`, timed as part of our
  build; spopt gets the original problem):

  1. areas with no need or no site in reach are dropped (they add 0
     whatever is opened);
  2. areas reached by exactly the same set of sites are merged into one
     demand group with their summed need (their coverage rows are the same,
     so they are covered together or not at all);
  3. a site whose set of covered groups is inside another site's (equal
     sets: the lowest index stays) is dropped, and the cardinality row
     becomes ``Σ open ≤ p``. Coverage only grows when sites are added.
     In an optimal set of ``p`` sites, replace each dropped site by a kept
     site whose set contains its own (one exists: "inside, ties by index"
     is a strict partial order and the kept sites are its maximal
     elements): coverage does not fall and at most ``p`` kept sites
     remain. Conversely any ``≤ p`` kept sites can be topped up to ``p``
     sites without losing coverage. So the optimum is the same;
  4. step 2 again on the kept sites (dropping sites makes more rows equal).

  The LP relaxation is solved first; when its site values are integral
  (within HiGHS's integrality tolerance, 1e-6), that solution is feasible
  for the MIP and attains the relaxation's bound, so it is a proven
  optimum and no branch-and-bound is run (every MIP solver does this at
  its root node; we skip the MIP machinery). Otherwise the MIP is solved.
  On the benchmark instances the county relaxation is integral; the
  city's is not (0.12 % above the optimum), and HiGHS's root (cuts and
  sub-MIP heuristics, then restarts) still takes seconds.
* **Capacitated p-median**: open ``p`` = 20 % of the sites, assign each
  area's whole need to one open site (binary assignment, spopt's
  formulation), site load ≤ capacity (existing slots + allowed expansion,
  or a candidate's maximum size), minimising need × minutes. Need that no
  open site in reach can take goes to an "unserved" site (always open,
  unlimited capacity, ``UNSERVED_MINUTES`` per slot); pairs out of reach
  cost ``FAR`` > ``UNSERVED_MINUTES`` in spopt's dense matrix, so moving
  such an assignment to "unserved" is always cheaper and frees capacity:
  no optimum uses them, and ours, which has only the reach pairs, has the
  same optimum. Ours already has the strong disaggregated linking
  ``assign ≤ open`` per pair (as spopt's has), and no presolve is applied:
  measured on the county instance, dropping unreachable areas into a
  constant, "unserved" as a slack, capacities tightened to the need in
  reach, ``Σ open ≤ p`` and per-site cardinality cuts all left the solve
  time within HiGHS's seed-to-seed spread (9–24 s). The relaxation
  already opens the optimal sites (integral site values) but fills their
  capacities with fractional assignments, so solving it first would not
  help; what takes the time is the single-sourcing packing (a generalised
  assignment problem with real-valued needs): with the optimal 10 sites
  fixed open, that packing alone takes HiGHS 9–14 s.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import time
from types import SimpleNamespace

import numpy as np
from scipy import sparse

import planner
from planner.lp import LinearProblem

ENGINE = importlib.import_module("planner.solve")
FAR = 1_000.0              # minutes on out-of-reach pairs in spopt's dense matrix
UNSERVED_MINUTES = 60.0    # p-median: cost per slot of need left unserved
P_SHARE = 0.2              # sites opened, as a share of all childcare sites
REL_TOL = 1e-6
INT_TOL = 1e-6             # HiGHS's mip_feasibility_tolerance: an integer column this close is integral


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1.0)


def instance(sc) -> dict:
    """The childcare side of a scenario as arrays: need, sites, capacities, reach pairs."""
    from planner.model import prepare

    p = prepare(sc)
    f = sc.facilities
    C = np.flatnonzero(p.child)
    local = np.full(len(f), -1)
    local[C] = np.arange(len(C))
    pairs = p.pairs_c
    cap = np.where(p.cand[C], p.add_upper[C], f["slots"].to_numpy(float)[C] + p.add_upper[C])
    return {"need": p.need_c, "n_sites": len(C), "capacity": cap, "radius": float(np.max(p.limit_c)),
            "pair_area": pairs.area, "pair_site": local[pairs.facility],
            "pair_minutes": np.minimum(pairs.minutes, p.limit_c[pairs.area]),
            "p": max(1, int(round(P_SHARE * len(C))))}


def dense_costs(inst) -> np.ndarray:
    """spopt's input: the dense area × site minutes (``FAR`` out of reach)."""
    D = np.full((len(inst["need"]), inst["n_sites"]), FAR)
    D[inst["pair_area"], inst["pair_site"]] = inst["pair_minutes"]
    return D


def _run(lp, time_limit: float):
    options = planner.Options(mip_gap=0.0, time_limit_s=float(time_limit))
    model = SimpleNamespace(lp=lp, scenario=SimpleNamespace(options=options, extra_functionality=None))
    return ENGINE.run(model)


def _solve(lp, time_limit: float, relaxation_first: bool = False):
    """Solve ``lp`` to proven optimality: (column values, SolveInfo, relaxation was integral).

    With ``relaxation_first`` the LP relaxation is solved first; if its
    integer columns are integral (within ``INT_TOL``) it is returned as it
    is: feasible for the MIP and at the relaxation's bound, so optimal.
    """
    if relaxation_first:
        x, info = _run(dataclasses.replace(lp, integer=np.zeros_like(lp.integer)), time_limit)
        xi = x[lp.integer]
        if info.status == "optimal" and np.all(np.abs(xi - np.round(xi)) <= INT_TOL):
            return x, info, True
    x, info = _run(lp, time_limit)
    return x, info, False


def _distinct_rows(M) -> tuple[np.ndarray, np.ndarray]:
    """Groups of equal rows of a 0/1 CSR matrix: (group of each row, first row of each group)."""
    M.sort_indices()
    deg = np.diff(M.indptr)
    row = np.repeat(np.arange(M.shape[0]), deg)
    padded = np.full((M.shape[0], max(int(deg.max(initial=0)), 1)), -1, np.int64)  # a row's columns, then −1s
    padded[row, np.arange(M.nnz) - M.indptr[row]] = M.indices
    _, first, group = np.unique(padded, axis=0, return_index=True, return_inverse=True)
    return group.ravel(), first


def _dominated_sites(M) -> np.ndarray:
    """Columns of a 0/1 matrix whose row set is inside another column's (equal sets: the lowest index stays).

    This is a strict partial order, so every dominated column lies under an
    undominated (kept) one.
    """
    deg = np.bincount(M.indices, minlength=M.shape[1])
    overlap = (M.T @ M).tocoo()                                     # rows two columns share
    j, k = overlap.row, overlap.col
    inside = (j != k) & (overlap.data == deg[j]) & ((deg[k] > deg[j]) | ((deg[k] == deg[j]) & (k < j)))
    out = deg == 0                                                  # covers no need at all
    out[j[inside]] = True
    return out


def mclp_presolve(inst) -> dict:
    """The MCLP after exact reductions (module docstring): cover matrix demand groups × kept sites.

    Returns
    -------
    dict
        ``cover`` (COO, groups × kept sites), ``demand`` per group,
        ``sites`` (kept sites' indices in ``inst``), and the sizes before
        and after.
    """
    need, n_s = inst["need"], inst["n_sites"]
    M = sparse.csr_matrix((np.ones(len(inst["pair_area"]), np.int32), (inst["pair_area"], inst["pair_site"])),
                          shape=(len(need), n_s))
    M.data[:] = 1                                                   # a repeated pair is still one site
    live = np.flatnonzero((need > 0) & (np.diff(M.indptr) > 0))
    group, first = _distinct_rows(M[live])
    demand = np.bincount(group, need[live])
    M = M[live[first]]
    sites = np.flatnonzero(~_dominated_sites(M))
    M = M[:, sites].tocsr()
    group, first = _distinct_rows(M)                                # dropping sites made more rows equal
    demand = np.bincount(group, demand)
    return {"cover": M[first].tocoo(), "demand": demand, "sites": sites,
            "areas_before": len(need), "areas_live": len(live), "groups": len(demand),
            "sites_before": n_s, "sites_kept": len(sites)}


def ours_mclp(inst, time_limit: float = 600.0) -> dict:
    """MCLP: exact presolve, sparse arrays (engine builder), relaxation first, then the engine's HiGHS path."""
    t0 = time.perf_counter()
    pre = mclp_presolve(inst)
    cover, demand = pre["cover"], pre["demand"]
    n_g, n_k = cover.shape
    b = LinearProblem()
    y = b.add_variables("open", n_k, upper=1.0, integer=True)
    x = b.add_variables("covered", n_g, upper=1.0)
    b.add_objective(x * -demand)                                     # maximise covered need
    # Σ_{its sites} open − covered ≥ 0
    b.add_constraints("cover", y[cover.col].sum_by(cover.row, n_g) - x >= 0.0)
    b.add_constraints("p", y.sum() <= float(inst["p"]))              # ≤ p: exact after dropping sites
    lp = b.to_arrays()
    y = y.positions
    t1 = time.perf_counter()
    if n_g:
        sol, info, integral = _solve(lp, time_limit, relaxation_first=True)
        status, objective = info.status, -info.objective
    else:                                                           # no need in reach of any site
        sol, integral, status, objective = np.zeros(lp.shape[1]), True, "optimal", 0.0
    t2 = time.perf_counter()
    presolve = {k: v for k, v in pre.items() if k not in ("cover", "demand", "sites")}
    return {"build": t1 - t0, "solve": t2 - t1, "total": t2 - t0, "objective": objective,
            "status": status, "variables": lp.shape[1], "rows": lp.shape[0], "nonzeros": int(lp.A.nnz),
            "opened": int(np.round(sol[y]).sum()), "presolve": presolve, "relaxation_integral": integral}


def ours_pmedian(inst, time_limit: float = 600.0) -> dict:
    """Capacitated p-median (single assignment) on the reach pairs + an always-open 'unserved' site."""
    t0 = time.perf_counter()
    n_a, n_s, need = len(inst["need"]), inst["n_sites"], inst["need"]
    lower = np.zeros(n_s + 1)
    lower[-1] = 1.0                                                  # "unserved" is always open
    pa = np.concatenate([inst["pair_area"], np.arange(n_a)])
    ps = np.concatenate([inst["pair_site"], np.full(n_a, n_s)])
    minutes = np.concatenate([inst["pair_minutes"], np.full(n_a, UNSERVED_MINUTES)])
    cap = np.append(inst["capacity"], need.sum())
    b = LinearProblem()
    y = b.add_variables("open", n_s + 1, lower=lower, upper=1.0, integer=True)
    z = b.add_variables("assign", len(pa), upper=1.0, integer=True)
    b.add_objective(z * (need[pa] * minutes))
    b.add_constraints("assign", z.sum_by(pa, n_a) == 1.0)            # each area to exactly one site
    b.add_constraints("open", z - y[ps] <= 0.0)                      # assign ≤ open
    # Σ need·assign ≤ capacity·open
    b.add_constraints("capacity", (z * need[pa]).sum_by(ps, n_s + 1) - y * cap <= 0.0)
    b.add_constraints("p", y.sum() == inst["p"] + 1.0)
    lp = b.to_arrays()
    y = y.positions
    t1 = time.perf_counter()
    sol, info, _ = _solve(lp, time_limit)
    t2 = time.perf_counter()
    return {"build": t1 - t0, "solve": t2 - t1, "total": t2 - t0, "objective": info.objective,
            "status": info.status, "variables": lp.shape[1], "rows": lp.shape[0], "nonzeros": int(lp.A.nnz),
            "opened": int(np.round(sol[y[:-1]]).sum()), "relaxation_integral": False}


def spopt_solver(name: str, time_limit: float):
    """``pulp.HiGHS`` or CBC (PuLP 3's bundled ``PULP_CBC_CMD``, else PuLP 4's ``COIN_CMD``), gap 0."""
    import warnings

    import pulp

    if name == "highs":
        return pulp.HiGHS(msg=False, gapRel=0.0, timeLimit=time_limit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cls = getattr(pulp, "PULP_CBC_CMD", None) or pulp.COIN_CMD
        return cls(msg=False, gapRel=0.0, timeLimit=time_limit)


def spopt_run(problem: str, inst, D, solvers=("highs", "cbc"), limits=None, log=print) -> dict:
    """spopt's ``from_cost_matrix`` + ``solve`` (``results=False``: no post-processing timed)."""
    import pulp
    from spopt.locate import MCLP, PMedian

    limits = limits or {}
    gc.collect()
    t0 = time.perf_counter()
    if problem == "mclp":
        model = MCLP.from_cost_matrix(D, inst["need"], service_radius=inst["radius"], p_facilities=inst["p"])
    else:
        n_a = len(inst["need"])
        Dp = np.column_stack([D, np.full(n_a, UNSERVED_MINUTES)])
        cap = np.append(inst["capacity"], inst["need"].sum())
        fixed = np.zeros(inst["n_sites"] + 1, int)
        fixed[-1] = 1
        model = PMedian.from_cost_matrix(Dp, inst["need"], p_facilities=inst["p"] + 1,
                                         predefined_facilities_arr=fixed, facility_capacities=cap)
    build = time.perf_counter() - t0
    out = {"build": build, "variables": model.problem.numVariables(),
           "rows": model.problem.numConstraints(), "solvers": {}}
    for name in solvers:
        limit = float(limits.get(name, 600.0))
        gc.collect()
        t1 = time.perf_counter()
        status = "optimal"
        try:
            model.solve(spopt_solver(name, limit), results=False)
        except Exception as exc:  # spopt raises on a non-optimal status (e.g. the time limit)
            status = f"stopped: {type(exc).__name__}: {str(exc)[:80]}"
        solve = time.perf_counter() - t1
        if getattr(model.problem, "sol_status", 1) == 2 or (status == "optimal" and solve >= limit * 0.98):
            status = "time limit (a plan, not proven optimal)"
        value = pulp.value(model.problem.objective)
        out["solvers"][name] = {"solve": solve, "total": build + solve, "objective": None if value is None else
                                float(value), "status": status, "time_limit": limit,
                                "pulp_status": pulp.LpStatus[model.problem.status]}
        log(f"    spopt {problem} [{name}] build {build:.3f}s solve {solve:.3f}s objective {value} ({status})")
    return out


def compare(sc, problems=("mclp", "pmedian"), *, solvers=("highs", "cbc"), limits=None,
            ours_limit: float = 600.0, log=print) -> dict:
    """Both sides on one scenario; ratios spopt ÷ ours (> 1: ours faster)."""
    inst = instance(sc)
    for name in ("highspy", "scipy.sparse.csgraph"):  # the engine imports these lazily; spopt's imports are
        importlib.import_module(name)                 # outside its timing too
    t0 = time.perf_counter()
    D = dense_costs(inst)
    dense_s = time.perf_counter() - t0
    out = {"areas": len(inst["need"]), "sites": inst["n_sites"], "pairs": len(inst["pair_area"]), "p": inst["p"],
           "dense_matrix_seconds": dense_s, "dense_cells": int(D.size), "problems": {}}
    for problem in problems:
        gc.collect()
        ours = (ours_mclp if problem == "mclp" else ours_pmedian)(inst, ours_limit)
        log(f"    ours  {problem} build {ours['build']:.4f}s solve {ours['solve']:.3f}s objective "
            f"{ours['objective']:.10g} ({ours['status']})")
        theirs = spopt_run(problem, inst, D, solvers, limits, log)
        for s in theirs["solvers"].values():
            s["ratio_total"] = s["total"] / ours["total"]
            s["ratio_solve"] = s["solve"] / ours["solve"]
            s["rel_diff"] = None if s["objective"] is None else rel_diff(s["objective"], ours["objective"])
            s["objective_equal"] = s["rel_diff"] is not None and s["rel_diff"] <= REL_TOL
        theirs["ratio_build"] = theirs["build"] / max(ours["build"], 1e-9)
        out["problems"][problem] = {"ours": ours, "spopt": theirs}
    return out


def spopt_size(n_areas: int, n_sites: int, problem: str) -> dict:
    """Variables and rows spopt would create (dense), for the sizes it is not run at."""
    if problem == "mclp":
        return {"variables": n_areas + n_sites, "rows": n_areas + 1, "terms": n_areas * n_sites}
    n_s = n_sites + 1
    return {"variables": n_areas * n_s + n_s, "rows": n_areas * n_s + n_areas + n_s + 1,
            "terms": 3 * n_areas * n_s}
