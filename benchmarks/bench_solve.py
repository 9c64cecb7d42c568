"""The benchmarks of issue #7, in one command: ``python benchmarks/bench_solve.py`` (``make bench``).

Run::

    python benchmarks/bench_solve.py [--sizes county,city,province]
        [--sections raw,ladder,merge,warm,map,spopt,sweep] [--repeat N]

Each size runs in a fresh subprocess (so its peak RSS is its own), then the
Dask fan-out in one more; ``benchmarks/results.json`` and
``benchmarks/RESULTS.md`` are written at the end with the machine, the load
average and every ratio against a baseline measured in the same run.
``--render-only`` rewrites RESULTS.md from results.json.

Sections (``--sections``):

raw
    ``planner`` (build + solve, engine defaults) against the same LP handed
    straight to highspy as one block with HiGHS defaults (:func:`raw_build`,
    :func:`raw_solve`); objectives must agree to 1e-6. Plus the PuLP path
    and the DESIGN.md-strict variants at county and city.
ladder, merge
    The engine's speed-ups one by one on the same built LP, and the
    "merge areas that see the same sites" experiment
    (``experiments.py``).
warm, map
    Slider moves: cold vs warm re-solves (city, province); slider → map HTML
    document (the app's old per-step folium path, now the shareable map file)
    with a breakdown and a profile of the map step (city). The app's live map
    is timed in a browser by ``bench_browser.py``.
spopt
    PySAL spopt's MCLP and capacitated p-median against the same problems
    built the engine's way (``peers.py``). Not in a default run: superseded
    by the product-path comparison (``bench_mclp.py``, ``planner.solve``).
sweep
    ``planner.sweep`` on a 2-worker LocalCluster vs a serial loop (``fanout.py``).

The raw baseline (`raw_build`) is written independently of
``planner.model``, from DESIGN.md's "The model" plus the objective
conventions documented in ``planner/model.py`` (costs in units of the dearest
way to add one slot/bed; shortfall priced at 1,000 such units, share rows
× 1/(1 − share)). Only the reach pairs come from the engine
(``planner.access.straight_line_pairs``), since reach is input; they are
timed separately.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import datetime as _dt
import gc
import json
import os
from pathlib import Path
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from instances import SIZES, make_instance, pair_counts  # noqa: E402
from results_md import replace_section  # noqa: E402

import planner  # noqa: E402
from planner.access import straight_line_pairs  # noqa: E402

DEFAULT_REPEAT = {"county": 3, "city": 3, "province": 1}
# spopt is compared with the product path only (planner.solve, benchmarks/bench_mclp.py); the "spopt"
# section (peers.py: formulations written for the benchmark) is no longer part of a default run.
SECTIONS = ("raw", "ladder", "merge", "warm", "map", "spopt", "sweep")
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s != "spopt")
PULP_SIZES = ("county", "city")     # the PuLP path (one Python object per variable) only where it is quick
STRICT_SIZES = ("county", "city")   # DESIGN.md-strict variants (two more raw solves)
WARM_SIZES = ("city", "province")
MAP_SIZES = ("city",)
SPOPT_SIZES = {"county": ("mclp", "pmedian"), "city": ("mclp",)}  # where spopt's dense model is run
MEMORY_LIMIT_MB = 4096.0            # the issue: province within 4 GB
PROFILE_BUILD_SIZES = ("city",)     # where planner.build's overhead over the raw build is profiled
SHORTFALL_PRICE = 1000.0  # objective units (dearest way to add one unit) per slot/bed short
REL_TOL = 1e-6


# ---------------------------------------------------------------- memory

def _status_kb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float:
    kb = _status_kb("VmRSS")
    if kb is None:
        import psutil
        return psutil.Process().memory_info().rss / 2**20
    return kb / 1024


def reset_peak() -> bool:
    """Reset this process's peak RSS (Linux ``clear_refs``); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """Peak RSS since the last :func:`reset_peak` (else since the process started)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        import resource
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024


# ---------------------------------------------------------------- raw baseline

@dataclass
class RawLP:
    """min c·x  s.t.  row_lower ≤ A x ≤ row_upper,  lower ≤ x ≤ upper  (A column-wise)."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    A: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    n_flows: int


def raw_reach(sc):
    """(childcare pairs, eldercare pairs), each as (area index, facility index) arrays.

    Straight-line walk within each area's ``access_minutes`` (the default reach
    rule); other reach rules and travel sources are not covered by the baseline.
    """
    if getattr(sc, "reach", None) is not None or getattr(sc, "travel", None) is not None:
        raise NotImplementedError("the baseline covers the default reach (straight-line walk)")
    limit = _district_value(sc, "access_minutes")[_area_district(sc)]
    pairs = straight_line_pairs(sc.areas, sc.facilities, limit,
                                speed_kmh=sc.options.speed_kmh, circuity=sc.options.circuity)
    child = (sc.facilities["kind"] == "childcare").to_numpy()[pairs.facility]
    return (pairs.area[child], pairs.facility[child]), (pairs.area[~child], pairs.facility[~child])


def _area_district(sc):
    return pd.Index(sc.districts["district_id"]).get_indexer(sc.areas["district_id"])


def _district_value(sc, name):
    """Per-district target: the district's override where given, else the scenario's."""
    default = float(getattr(sc.targets, name))
    if name in sc.districts.columns:
        return sc.districts[name].astype(float).fillna(default).to_numpy()
    return np.full(len(sc.districts), default)


def raw_build(sc, reach, *, share_price=True, cap_at_need=False) -> RawLP:
    """The LP of DESIGN.md "The model", from the scenario's tables as numpy arrays.

    Columns: added slots (childcare), added affordable slots, added beds
    (eldercare), conversions, open per candidate, flows (childcare, eldercare),
    shortfalls (4 per district, 2 per area).

    ``share_price`` is what the engine adds to DESIGN.md's text: shortfalls
    of the affordable and care-oriented share rows priced × 1/(1 − share)
    (one added unit closes only 1 − share of them); with it False every
    shortfall has the same price, DESIGN.md word for word. ``cap_at_need``
    adds the upper bound ``flows + access shortfall ≤ need`` on each area's
    reach row, which an earlier engine had and the current one dropped
    (planner/model.py: flows are free, so it cannot move the optimum, and it
    made dual simplex slower); the check variant keeps it to show that.
    """
    if sc.budget is not None:
        raise NotImplementedError("the baseline covers least-cost mode (budget = None)")
    a, f = sc.areas, sc.facilities
    n_d, n_a = len(sc.districts), len(a)
    ad = _area_district(sc)
    fd = pd.Index(sc.districts["district_id"]).get_indexer(f["district_id"])
    child = (f["kind"] == "childcare").to_numpy()
    cand = f["candidate"].to_numpy(bool)
    C, E, K = np.flatnonzero(child), np.flatnonzero(~child), np.flatnonzero(cand)
    nC, nE, nK = len(C), len(E), len(K)
    col = lambda name: f[name].to_numpy(float)  # noqa: E731
    slots, slots_aff, beds, beds_care = col("slots"), col("slots_affordable"), col("beds"), col("beds_care")
    unit, conv_cost = col("cost_per_unit"), col("cost_per_conversion")
    fixed, min_size, max_size, max_add = col("fixed_cost"), col("min_size"), col("max_size"), col("max_add")
    grow_upper = np.where(cand, np.nan_to_num(max_size), max_add)           # added ≤ max_add / max_size
    unit0 = np.where(np.isnan(unit), 0.0, unit)
    can_convert = ~child & ~np.isnan(conv_cost)
    conv_upper = np.where(can_convert, beds - beds_care, 0.0)
    conv0 = np.where(can_convert, conv_cost, 0.0)

    # Objective unit: yuan of the dearest way to add one slot/bed.
    g = grow_upper > 0
    dearest = (unit0[g].max(initial=0.0) + conv0[conv_upper > 0].max(initial=0.0)
               + (fixed + min_size * unit0)[cand & g].max(initial=0.0))
    scale = dearest if dearest > 0 else 1.0

    (pc_a, pc_f), (pe_a, pe_f) = reach
    nPc, nPe = len(pc_a), len(pe_a)
    # column offsets
    o_xc = 0
    o_y = o_xc + nC
    o_xe = o_y + nC
    o_z = o_xe + nE
    o_o = o_z + nE
    o_fc = o_o + nK
    o_fe = o_fc + nPc
    o_sf = o_fe + nPe            # sf_slots, sf_aff, sf_beds, sf_care (n_d each), then sf_acc_c, sf_acc_e (n_a each)
    n_col = o_sf + 4 * n_d + 2 * n_a
    cost = np.zeros(n_col)
    lower = np.zeros(n_col)
    upper = np.full(n_col, np.inf)
    cost[o_xc:o_y] = unit0[C] / scale
    upper[o_xc:o_y] = grow_upper[C]
    upper[o_y:o_xe] = grow_upper[C]
    cost[o_xe:o_z] = unit0[E] / scale
    upper[o_xe:o_z] = grow_upper[E]
    cost[o_z:o_o] = conv0[E] / scale
    upper[o_z:o_o] = conv_upper[E]
    cost[o_o:o_fc] = fixed[K] / scale
    upper[o_o:o_fc] = 1.0
    cost[o_sf:] = SHORTFALL_PRICE  # flows cost nothing

    # position of each facility within its kind / candidates
    pos = np.empty(len(f), np.int64)
    pos[C], pos[E] = np.arange(nC), np.arange(nE)
    kpos = np.full(len(f), -1)
    kpos[K] = np.arange(nK)
    xcol = np.where(child, o_xc + pos, o_xe + pos)  # the "added" column of every facility

    pop = a["pop_total"].to_numpy(float)
    eld = a["pop_60_plus"].to_numpy(float)
    pop_d, eld_d = np.bincount(ad, pop, n_d), np.bincount(ad, eld, n_d)
    S_d, SA_d = np.bincount(fd, slots, n_d), np.bincount(fd, slots_aff, n_d)
    B_d, BC_d = np.bincount(fd, beds, n_d), np.bincount(fd, beds_care, n_d)
    t_slots, t_aff = _district_value(sc, "childcare_per_1000"), _district_value(sc, "affordable_share")
    t_beds, t_care = _district_value(sc, "beds_per_1000_elderly"), _district_value(sc, "care_bed_share")
    share = _district_value(sc, "access_share")[ad]
    need_c, need_e = pop * t_slots[ad] / 1000, eld * t_beds[ad] / 1000
    new_care = 1.0 if sc.options.new_beds_care else 0.0
    if share_price:
        cost[o_sf + n_d:o_sf + 2 * n_d] = SHORTFALL_PRICE / np.maximum(1 - t_aff, 1e-3)
        cost[o_sf + 3 * n_d:o_sf + 4 * n_d] = SHORTFALL_PRICE / np.maximum(1 - t_care, 1e-3)

    # rows, in blocks; each block adds (row, col, value) triplets
    R, Cc, V, lo, up = [], [], [], [], []
    n_row = 0

    def block(lower_b, upper_b):
        nonlocal n_row
        start = n_row
        lo.append(np.asarray(lower_b, float))
        up.append(np.broadcast_to(np.asarray(upper_b, float), lo[-1].shape))
        n_row += len(lo[-1])
        return start

    def put(rows, cols, vals):
        R.append(np.asarray(rows, np.int64))
        Cc.append(np.asarray(cols, np.int64))
        V.append(np.broadcast_to(np.asarray(vals, float), R[-1].shape))

    dd = np.arange(n_d)
    # slots after ≥ target × pop / 1000  (existing slots moved to the right-hand side)
    r = block(t_slots * pop_d / 1000 - S_d, np.inf)
    put(r + fd[C], o_xc + np.arange(nC), 1.0)
    put(r + dd, o_sf + dd, 1.0)
    # affordable after ≥ share × slots after
    r = block(t_aff * S_d - SA_d, np.inf)
    put(r + fd[C], o_y + np.arange(nC), 1.0)
    put(r + fd[C], o_xc + np.arange(nC), -t_aff[fd[C]])
    put(r + dd, o_sf + n_d + dd, 1.0)
    # beds after ≥ target × aged 60+ / 1000
    r = block(t_beds * eld_d / 1000 - B_d, np.inf)
    put(r + fd[E], o_xe + np.arange(nE), 1.0)
    put(r + dd, o_sf + 2 * n_d + dd, 1.0)
    # care-oriented after ≥ share × beds after (new beds care-oriented when new_beds_care)
    r = block(t_care * B_d - BC_d, np.inf)
    put(r + fd[E], o_z + np.arange(nE), 1.0)
    put(r + fd[E], o_xe + np.arange(nE), new_care - t_care[fd[E]])
    put(r + dd, o_sf + 3 * n_d + dd, 1.0)
    # added affordable ≤ added slots
    r = block(np.full(nC, -np.inf), 0.0)
    put(r + np.arange(nC), o_y + np.arange(nC), 1.0)
    put(r + np.arange(nC), o_xc + np.arange(nC), -1.0)
    # candidates: min_size · open ≤ added ≤ max_size · open
    kk = np.arange(nK)
    r = block(np.full(nK, -np.inf), 0.0)
    put(r + kk, xcol[K], 1.0)
    put(r + kk, o_o + kk, -max_size[K])
    r = block(np.zeros(nK), np.inf)
    put(r + kk, xcol[K], 1.0)
    put(r + kk, o_o + kk, -min_size[K])
    # reach (per area), then capacity (per facility), per service
    for p_a, p_f, o_flow, o_acc, need, fac, existing in (
            (pc_a, pc_f, o_fc, o_sf + 4 * n_d, need_c, C, slots),
            (pe_a, pe_f, o_fe, o_sf + 4 * n_d + n_a, need_e, E, beds)):
        n_p = len(p_a)
        r = block(share * need, need if cap_at_need else np.inf)
        put(r + p_a, o_flow + np.arange(n_p), 1.0)
        put(r + np.arange(n_a), o_acc + np.arange(n_a), 1.0)
        r = block(np.full(len(fac), -np.inf), existing[fac])
        put(r + pos[p_f], o_flow + np.arange(n_p), 1.0)
        put(r + np.arange(len(fac)), xcol[fac], -1.0)

    A = sp.csc_matrix((np.concatenate(V), (np.concatenate(R), np.concatenate(Cc))), shape=(n_row, n_col))
    return RawLP(cost, lower, upper, A, np.concatenate(lo), np.concatenate(up), nPc + nPe)


def raw_solve(lp: RawLP, options, solver: str | None = None):
    """Hand the arrays to highspy (passModel) and run; returns (objective, status, x, seconds of run())."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(options.time_limit_s))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if solver:
        h.setOptionValue("solver", solver)
    m = highspy.HighsLp()
    m.num_col_, m.num_row_ = lp.A.shape[1], lp.A.shape[0]
    m.col_cost_, m.col_lower_, m.col_upper_ = lp.cost, lp.lower, lp.upper
    m.row_lower_, m.row_upper_ = lp.row_lower, lp.row_upper
    m.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    m.a_matrix_.start_ = lp.A.indptr.astype(np.int32)
    m.a_matrix_.index_ = lp.A.indices.astype(np.int32)
    m.a_matrix_.value_ = lp.A.data
    if h.passModel(m) != highspy.HighsStatus.kOk:
        raise RuntimeError("HiGHS rejected the raw model")
    t0 = time.perf_counter()
    h.run()
    run_s = time.perf_counter() - t0
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value, float)
    return float(h.getInfo().objective_function_value), status, x, run_s


def rel_diff(a: float, b: float) -> float:
    """|a − b| relative to the larger magnitude (floor 1 objective unit)."""
    return abs(a - b) / max(abs(a), abs(b), 1.0)


# ---------------------------------------------------------------- section "raw": planner vs the same LP in highspy

def _timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def bench_size(sc, name: str, repeat: int = 1, *, pulp_path: bool = False, strict_check: bool = True,
               log=print) -> dict:
    """Time planner (engine defaults) and the raw highspy baseline (one block, HiGHS defaults)."""
    runs = {k: [] for k in ("planner_build", "planner_build_same", "planner_solve", "planner_result", "planner_total",
                            "raw_reach", "raw_build", "raw_solve", "raw_run", "raw_total",
                            "pulp_to_pulp", "pulp_solve", "pulp_total", "planner_cpu", "raw_cpu")}
    peaks = {"planner": 0.0, "raw": 0.0, "pulp": 0.0}
    rss0 = rss_mb()
    out = {"size": name}
    for i in range(repeat):
        # planner: build (incl. reach), then planner.solve on the built model
        reset_peak()
        c0 = time.process_time()
        model, t_build = _timed(lambda: planner.build(sc))
        res, t_solve_all = _timed(lambda: planner.solve(sc, model=model))
        peaks["planner"] = max(peaks["planner"], peak_mb())
        runs["planner_build"].append(t_build)
        runs["planner_solve"].append(res.info.solve_seconds)            # block split + HiGHS + solution
        runs["planner_result"].append(t_solve_all - res.info.solve_seconds)  # Result tables
        runs["planner_total"].append(t_build + t_solve_all)
        runs["planner_cpu"].append(time.process_time() - c0)  # CPU s of build + solve (all threads)
        p_obj = res.info.objective
        merged_shape, merged_nnz = model.lp.shape, model.lp.A.nnz
        p_info = res.info
        del res
        log(f"  [{name} #{i + 1}] planner build {t_build:.3f}s solve {p_info.solve_seconds:.3f}s "
            f"result {t_solve_all - p_info.solve_seconds:.3f}s objective {p_obj:.10g}")

        # the raw baseline's LP exactly: the engine's build with area merging off, timed in the same
        # conditions as the raw build just after it
        gc.collect()
        same, t_same = _timed(lambda: planner.build(sc, merge_areas=False))
        runs["planner_build_same"].append(t_same)
        lp_shape, lp_nnz = same.lp.shape, same.lp.A.nnz
        del same

        # raw: reach, arrays, passModel + run
        reset_peak()
        gc.collect()
        c0 = time.process_time()
        t0 = time.perf_counter()
        reach = raw_reach(sc)
        t1 = time.perf_counter()
        lp = raw_build(sc, reach)
        t2 = time.perf_counter()
        r_obj, r_status, x, run_s = raw_solve(lp, sc.options)
        t3 = time.perf_counter()
        runs["raw_cpu"].append(time.process_time() - c0)
        peaks["raw"] = max(peaks["raw"], peak_mb())
        runs["raw_reach"].append(t1 - t0)
        runs["raw_build"].append(t2 - t0)
        runs["raw_solve"].append(t3 - t2)
        runs["raw_run"].append(run_s)
        runs["raw_total"].append(t3 - t0)
        log(f"  [{name} #{i + 1}] raw     build {t2 - t0:.3f}s (reach {t1 - t0:.3f}s) solve {t3 - t2:.3f}s "
            f"objective {r_obj:.10g} ({r_status})")
        raw_shape, raw_nnz = lp.A.shape, lp.A.nnz
        del lp, x

        if pulp_path:
            import pulp

            reset_peak()
            o = sc.options
            (prob, _vars), t_to = _timed(lambda: model.to_pulp())
            solver = pulp.HiGHS(msg=False, timeLimit=o.time_limit_s, gapRel=o.mip_gap)
            _, t_ps = _timed(lambda: prob.solve(solver))
            peaks["pulp"] = max(peaks["pulp"], peak_mb())
            pulp_obj = float(pulp.value(prob.objective))
            runs["pulp_to_pulp"].append(t_to)
            runs["pulp_solve"].append(t_ps)
            runs["pulp_total"].append(t_build + t_to + t_ps)
            out["pulp_objective"] = pulp_obj
            out["pulp_status"] = pulp.LpStatus[prob.status]
            log(f"  [{name} #{i + 1}] pulp    to_pulp {t_to:.3f}s solve {t_ps:.3f}s objective {pulp_obj:.10g}")
            del prob, _vars
        model = None  # let the next repeat start from a clean heap

    med = {k: statistics.median(v) for k, v in runs.items() if v}
    # planner's build minus the reach search (the same function the raw baseline times on its own)
    med["planner_build_arrays"] = max(med["planner_build_same"] - med["raw_reach"], 0.0)
    med["raw_arrays"] = med["raw_build"] - med["raw_reach"]
    out.update({
        "n_areas": len(sc.areas), "n_sites": len(sc.facilities), "n_districts": len(sc.districts),
        "repeat": repeat, "variables": int(lp_shape[1]), "rows": int(lp_shape[0]), "nonzeros": int(lp_nnz),
        "raw_variables": int(raw_shape[1]), "raw_rows": int(raw_shape[0]), "raw_nonzeros": int(raw_nnz),
        "merged_variables": int(merged_shape[1]), "merged_rows": int(merged_shape[0]),
        "merged_nonzeros": int(merged_nnz),
        "solver": p_info.solver, "solver_status": p_info.status, "raw_status": r_status,
        "planner_objective": p_obj, "raw_objective": r_obj, "objective_rel_diff": rel_diff(p_obj, r_obj),
        "objective_agrees": rel_diff(p_obj, r_obj) <= REL_TOL,
        "seconds": med, "runs": runs,
        "ratio": {
            "build": med["planner_build_same"] / med["raw_build"],
            "build_default": med["planner_build"] / med["raw_build"],
            "solve": med["planner_solve"] / med["raw_solve"],
            "total": med["planner_total"] / med["raw_total"],
            "build_excl_reach": med["planner_build_arrays"] / med["raw_arrays"],
            "cpu_total": med["planner_cpu"] / med["raw_cpu"],
        },
        "rss_mb": {"after_instance": rss0, "planner_peak": peaks["planner"], "raw_peak": peaks["raw"],
                   **({"pulp_peak": peaks["pulp"]} if pulp_path else {})},
    })
    out.update(pairs=dict(zip(("childcare", "eldercare"), (len(reach[0][0]), len(reach[1][0])))))
    out["pairs"]["total"] = out["pairs"]["childcare"] + out["pairs"]["eldercare"]
    if pulp_path:
        out["ratio"]["pulp_total"] = med["pulp_total"] / med["raw_total"]
        out["ratio"]["pulp_vs_planner"] = med["pulp_total"] / med["planner_total"]
        out["pulp_objective_rel_diff"] = rel_diff(out["pulp_objective"], r_obj)
    if strict_check:
        # The engine's convention beyond DESIGN.md (share-row pricing) changes the optimum; the
        # "≤ need" bound an earlier engine had must not (flows cost nothing). HiGHS run s, solved once.
        variants = {"engine": {"run_seconds": med["raw_run"], "objective": r_obj}}
        for label, kw in (("with_cap", dict(cap_at_need=True)), ("design_strict", dict(share_price=False))):
            v_obj, v_status, _, v_s = raw_solve(raw_build(sc, reach, **kw), sc.options)
            variants[label] = {"run_seconds": v_s, "objective": v_obj, "status": v_status}
            log(f"  [{name}] variant {label}: run {v_s:.3f}s objective {v_obj:.10g} ({v_status})")
        out["formulation_variants"] = variants
        strict = variants["design_strict"]["objective"]
        out["design_strict"] = {
            "objective": strict, "rel_diff_to_engine": rel_diff(strict, p_obj),
            "cap_neutral_rel_diff": rel_diff(variants["with_cap"]["objective"], r_obj),
        }
        out["ratio"]["engine_vs_strict_run"] = med["raw_run"] / variants["design_strict"]["run_seconds"]
    return out


# ---------------------------------------------------------------- one size, one subprocess

def run_worker(size: str, sections, repeat: int, out: str, *, ipm_limit: float, cbc_limit: float,
               log=None) -> dict:
    """Every requested section at one size; writes (and returns) a JSON-able dict."""
    import experiments
    import peers

    log = log or (lambda s: print(s, flush=True))
    t_start = time.perf_counter()
    res = {"size": size, "sections": [s for s in sections if s != "sweep"], "phases": {}}
    sc = make_instance(**SIZES[size])
    res["instance_seconds"] = time.perf_counter() - t_start
    res["instance"] = {"n_areas": len(sc.areas), "n_sites": len(sc.facilities), "n_districts": len(sc.districts),
                       "pairs": pair_counts(sc)}
    res["rss_after_instance_mb"] = rss_mb()
    log(f"{size}: instance {res['instance_seconds']:.1f}s, pairs {res['instance']['pairs']}")

    def phase(name, fn):
        log(f"  {size}: {name}")
        reset_peak()
        load, t0 = os.getloadavg()[0], time.perf_counter()
        value = fn()
        res["phases"][name] = {"seconds": time.perf_counter() - t0, "peak_rss_mb": peak_mb(),
                               "load_before": load, "load_after": os.getloadavg()[0]}
        res[name] = value
        gc.collect()

    if "raw" in sections:
        phase("raw", lambda: bench_size(sc, size, repeat, pulp_path=size in PULP_SIZES,
                                        strict_check=size in STRICT_SIZES, log=log))
        if size in PROFILE_BUILD_SIZES:
            res["build_profile"] = experiments.profile_build(sc)
    if "ladder" in sections:
        phase("ladder", lambda: experiments.ladder(sc, repeat, ipm_limit=ipm_limit, log=log))
    if "merge" in sections:
        phase("merge", lambda: experiments.merge_areas(sc, log=log))
    if "warm" in sections and size in WARM_SIZES:
        phase("warm", lambda: experiments.warm_starts(sc, log=log))
    if "map" in sections and size in MAP_SIZES:
        phase("map", lambda: experiments.slider_to_map(sc, log=log))
    if "spopt" in sections and size in SPOPT_SIZES:
        phase("spopt", lambda: peers.compare(sc, SPOPT_SIZES[size], limits={"cbc": cbc_limit, "highs": 900.0},
                                             log=log))
    res["peak_rss_mb"] = max([p["peak_rss_mb"] for p in res["phases"].values()]
                             + [v for v in res.get("raw", {}).get("rss_mb", {}).values()] + [rss_mb()])
    res["wall_seconds_in_worker"] = time.perf_counter() - t_start
    Path(out).write_text(json.dumps(res), encoding="utf-8")
    return res


def run_sweep_worker(out: str, log=None) -> dict:
    import fanout

    log = log or (lambda s: print(s, flush=True))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    reset_peak()
    scenarios = {"taiyuan": fanout.taiyuan(), "city": make_instance(**SIZES["city"])}
    res = fanout.bench_sweep(scenarios, log=log)
    res.update(seconds=time.perf_counter() - t0, load_before=load, load_after=os.getloadavg()[0],
               peak_rss_mb_client=peak_mb())
    Path(out).write_text(json.dumps(res), encoding="utf-8")
    return res


# ---------------------------------------------------------------- machine, JSON

def machine_info() -> dict:
    from importlib.metadata import version

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil
        ram = psutil.virtual_memory().total / 2**30
    except ImportError:  # pragma: no cover
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    def ver(dist):
        try:
            return version(dist)
        except Exception:  # pragma: no cover
            return None

    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(ram, 1), "python": platform.python_version(),
            "platform": platform.platform(), "highspy": ver("highspy"), "pulp": ver("pulp"),
            "spopt": ver("spopt"), "distributed": ver("distributed"), "folium": ver("folium"),
            "numpy": ver("numpy"), "scipy": ver("scipy"), "pandas": ver("pandas"),
            "planner": ver("care-planner"),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}


def write_json(data: dict, path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- markdown

def _fmt(v):
    if v is None:
        return "–"
    return f"{v:.3f}" if v < 10 else f"{v:.1f}"


def _x(v):
    return "–" if v is None else (f"{v:.2f}×" if v < 10 else f"{v:.0f}×" if v >= 100 else f"{v:.1f}×")


def _s(r, key):
    return _fmt(r["seconds"].get(key))


def _yes(ok):
    return "yes" if ok else "**NO**"


RAW_ROWS = (  # (label, function of one size's "raw" result → text)
    ("areas × sites", lambda r: f"{r['n_areas']:,} × {r['n_sites']:,}"),
    ("districts", lambda r: f"{r['n_districts']:,}"),
    ("pairs in reach (childcare + eldercare)",
     lambda r: f"{r['pairs']['total']:,} ({r['pairs']['childcare']:,} + {r['pairs']['eldercare']:,})"),
    ("variables / rows / nonzeros",
     lambda r: f"{r['variables']:,} / {r['rows']:,} / {r['nonzeros']:,}"
               + ("" if (r['variables'], r['rows']) == (r['raw_variables'], r['raw_rows']) else
                  f" (raw {r['raw_variables']:,} / {r['raw_rows']:,} / {r['raw_nonzeros']:,})")),
    ("… with areas that see the same sites merged (engine default)",
     lambda r: f"{r['merged_variables']:,} / {r['merged_rows']:,} / {r['merged_nonzeros']:,}"),
    ("build s, same LP: planner (`merge_areas=False`) / raw (raw reach)",
     lambda r: f"{_s(r, 'planner_build_same')} / {_s(r, 'raw_build')} ({_s(r, 'raw_reach')})"),
    ("build s, engine default (areas merged) (ratio to raw)",
     lambda r: f"{_s(r, 'planner_build')} ({r['ratio']['build_default']:.2f})"),
    ("build s excl. reach: planner − reach / raw arrays (ratio)",
     lambda r: f"{_s(r, 'planner_build_arrays')} / {_s(r, 'raw_arrays')} ({r['ratio']['build_excl_reach']:.2f})"),
    ("solve s: planner (engine defaults) / raw (one block, HiGHS defaults)",
     lambda r: f"{_s(r, 'planner_solve')} / {_s(r, 'raw_solve')}"),
    ("raw HiGHS `run()` s", lambda r: _s(r, "raw_run")),
    ("planner Result tables s", lambda r: _s(r, "planner_result")),
    ("total s: planner / raw", lambda r: f"{_s(r, 'planner_total')} / {_s(r, 'raw_total')}"),
    ("**ratio build** (planner/raw, same LP)", lambda r: f"**{r['ratio']['build']:.2f}**"),
    ("**ratio solve**", lambda r: f"**{r['ratio']['solve']:.2f}**"),
    ("**ratio total**", lambda r: f"**{r['ratio']['total']:.2f}**"),
    ("CPU s total: planner / raw (ratio)",
     lambda r: f"{_s(r, 'planner_cpu')} / {_s(r, 'raw_cpu')} ({r['ratio']['cpu_total']:.2f})"),
    ("PuLP path s: to_pulp + solve (ratio total/raw)",
     lambda r: (f"{_s(r, 'pulp_to_pulp')} + {_s(r, 'pulp_solve')} ({r['ratio']['pulp_total']:.2f})"
                if "pulp_total" in r["ratio"] else "not run")),
    ("peak RSS MB: planner / raw (after instance)",
     lambda r: f"{r['rss_mb']['planner_peak']:,.0f} / {r['rss_mb']['raw_peak']:,.0f} "
               f"({r['rss_mb']['after_instance']:,.0f})"),
    ("objective: planner / raw", lambda r: f"{r['planner_objective']:.10g} / {r['raw_objective']:.10g}"),
    ("objective rel. diff (≤ 1e-6?)",
     lambda r: f"{r['objective_rel_diff']:.1e} ({'yes' if r['objective_agrees'] else '**NO**'})"),
    ("DESIGN.md-strict optimum (rel. diff to engine)",
     lambda r: (f"{r['design_strict']['objective']:.10g} ({r['design_strict']['rel_diff_to_engine']:.1e})"
                if "design_strict" in r else "not run")),
    ("check: adding `≤ need` changes the objective by",
     lambda r: (f"{r['design_strict']['cap_neutral_rel_diff']:.1e}" if "design_strict" in r else "not run")),
    ("raw HiGHS run s: engine LP / with `≤ need` / DESIGN.md-strict",
     lambda r: (" / ".join(_fmt(r["formulation_variants"][k]["run_seconds"])
                           for k in ("engine", "with_cap", "design_strict"))
                if "formulation_variants" in r else "not run")),
    ("repeats (median)", lambda r: str(r["repeat"])),
)


def _table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _load(size, phase):
    p = size.get("phases", {}).get(phase)
    return "–" if p is None else f"{p['load_before']:.1f} / {p['load_after']:.1f}"


def section_raw(sizes):
    have = [s for s in sizes if "raw" in s]
    if not have:
        return []
    rows = [[label] + [fn(s["raw"]) for s in have] for label, fn in RAW_ROWS]
    rows.append(["1-min load average before / after (this benchmark ≈ 1)"] + [_load(s, "raw") for s in have])
    return (["## 1. planner vs the same LP straight to highspy", ""]
            + _table([""] + [s["size"] for s in have], rows)
            + ["", "*planner* = `planner.build(sc)` then `planner.solve(sc, model=model)` with the engine's "
               "defaults (areas that see the same sites merged, independent blocks solved on a 2-thread pool when "
               "two or more of them are big, presolve off). The build ratio compares the same LP: `planner.build(sc, merge_areas=False)` "
               "builds exactly the raw baseline's LP (the merged LP's grouping time is in the engine-default "
               "build line). *raw* = the reach search, the "
               "LP as numpy arrays written independently from DESIGN.md (`raw_build`), `passModel` of the "
               "whole LP as one block and `run()` with HiGHS defaults (presolve on, dual simplex). *build excl. "
               "reach* subtracts the raw reach time (the same function) from both. *solve* = `SolveInfo."
               "solve_seconds` (block split, array hand-off, HiGHS, reading the solution) vs raw `passModel` + "
               "`run()` + solution. *total* adds planner's Result tables, which the raw side does not build. "
               "The PuLP path is planner build + `Model.to_pulp()` + `pulp.HiGHS`, as a ratio to the raw total. "
               "*DESIGN.md-strict* prices every shortfall alike; *with `≤ need`* adds the bound an earlier "
               "engine had (both solved once, raw). Medians of the repeats; ratios between medians of the "
               "same run."] + _excl_reach_caveat(have) + [""] + _build_profile(have))


def _excl_reach_caveat(have) -> list[str]:
    """Where *build excl. reach* is a difference of single timings, or of nearly equal ones: say it is noise."""
    weak = [s["size"] for s in have
            if s["raw"]["repeat"] == 1 or s["raw"]["seconds"]["planner_build_arrays"]
            < 0.25 * s["raw"]["seconds"]["raw_reach"]]
    if not weak:
        return []
    return ["", "At " + ", ".join(weak) + " *build excl. reach* is the difference of two nearly equal or "
            "single timings (planner's whole build and the raw reach search, each timed once per repeat "
            "under the machine's load); its ratio there is noise, not a measurement of planner's array "
            "work (with one repeat every figure of that column is a single timing)."]


def _build_profile(have):
    out = []
    for s in have:
        bp = s.get("build_profile")
        if not bp:
            continue
        out += [f"Where `planner.build` spends its time at {s['size']} scale (cProfile over {bp['repeat']} builds, "
                f"seconds per build; {_fmt(bp['seconds_per_build_profiled'])} s per build under the profiler), "
                "planner functions by cumulative time:", ""]
        out += _table(["function (file:line)", "calls per build", "own s", "cumulative s"],
                      [[f"`{e['where']}`", f"{e['calls']:g}", f"{e['own']:.4f}", f"{e['cumulative']:.4f}"]
                       for e in bp["top_planner_cumulative"]])
        out += [""]
    return out


def _ladder_cell(row):
    if row["objective"] is None or row["status"] != "optimal":
        return f"> {_fmt(row['seconds'])} s (stopped at its time limit, not solved)"
    mark = "✓" if row["objective_equal"] else "**≠**"
    limited = " (time limit)" if row["status"] != "optimal" else ""
    return f"{_fmt(row['seconds'])} s ({_x(row['speedup_vs_plain'])}) {mark}{limited}"


def section_ladder(sizes):
    have = [s for s in sizes if "ladder" in s]
    if not have:
        return []
    import experiments

    out = ["## 2. Speed-ups one by one", "",
           "The same scenario, solved by the engine's own HiGHS path (`run` in `planner/solve.py`) with one "
           "speed-up switched on at a time (module globals `blocks`, `_cores`, `LP_OPTIONS` patched for the "
           "run; `planner.build(sc, merge_areas=False)` for the steps before merging). Cell: solve seconds "
           "(speed-up vs the plain model) and ✓ when the optimal cost equals the plain model's to ≤ 1e-6.", ""]
    rows = [[label] + [_ladder_cell(s["ladder"]["rows"][key]) for s in have]
            for key, label, *_ in experiments.LADDER]
    rows.append(["CPU s: plain / engine default (2 threads, areas merged)"] + [
        f"{_fmt(s['ladder']['rows']['plain']['cpu'])} / {_fmt(s['ladder']['rows']['merge']['cpu'])}" for s in have])
    rows.append(["independent blocks after packing (≥ "
                 f"{have[0]['ladder']['block_nonzeros_threshold']:,} nonzeros each): merged (not merged)"]
                + [f"{s['ladder']['blocks']:,} ({s['ladder']['blocks_unmerged']:,})" for s in have])
    rows.append(["repeats (median; IPM once under a time limit)"] + [
        str(len(s["ladder"]["rows"]["plain"]["runs"])) for s in have])
    rows.append(["1-min load average before / after"] + [_load(s, "ladder") for s in have])
    out += _table([""] + [s["size"] for s in have], rows)
    out += ["", "Steps 1–5 are cumulative; IPM replaces simplex on the one-block model (HiGHS presolve on, "
            "crossover on, as HiGHS defaults). The engine default is step 5 (`LP_OPTIONS = "
            f"{have[0]['ladder']['engine_lp_options']}`, areas merged in `planner.build`).", ""]
    mh = [s for s in have if "merge" in s]
    if mh:
        out += ["### Merging areas that see the same sites (`planner.model.AreaGroups`, in `planner.build`)", "",
                "`planner.build` groups the areas of a district per service when they see exactly the same "
                "set of sites (a 128-bit hash of the set, then every pair checked exactly against its "
                "group's first area). "
                "Each group gets one access row (right-hand side Σ share × need) and one set of flow and "
                "access-shortfall columns. That is exact because flows cost nothing and have no upper "
                "bound, every area's access shortfall has the same price, and district rows hold "
                "population totals as constants, so neither the district nor the access share has to be "
                "part of the key for the optimum; the district is in it so that a group's shortfall, spread "
                "over its areas, never moves between districts. `Model.per_area` splits a group's flows and shortfall back among its areas in "
                "proportion to share × need, which satisfies every area's own row (a property test checks "
                "the split-back plan against the unmerged LP). Below, the groups are checked again by "
                "code written apart from the engine.", ""]
        rows = [
            ["areas", *[f"{s['merge']['areas']:,}" for s in mh]],
            ["groups: childcare set / eldercare set (the key used)",
             *[f"{s['merge']['groups_childcare']:,} / {s['merge']['groups_eldercare']:,}" for s in mh]],
            ["areas with no site in reach: childcare / eldercare",
             *[f"{s['merge']['empty_reach_childcare']:,} / {s['merge']['empty_reach_eldercare']:,}" for s in mh]],
            ["flow columns before → after",
             *[f"{s['merge']['flows_before']:,} → {s['merge']['flows_after']:,} "
               f"({1 - s['merge']['flows_after'] / max(s['merge']['flows_before'], 1):.0%} fewer)" for s in mh]],
            ["LP rows / variables / nonzeros after",
             *[f"{s['merge']['lp_after']['rows']:,} / {s['merge']['lp_after']['variables']:,} / "
               f"{s['merge']['lp_after']['nonzeros']:,}" for s in mh]],
            ["grouping s inside `planner.build` (hash + exact check, both services)",
             *[_fmt(s['merge']['seconds_grouping']) for s in mh]],
            ["solve s, engine default: merged LP vs full LP, back to back (speed-up)",
             *[f"{_fmt(s['merge']['seconds_solve'])} vs {_fmt(s['merge']['full_seconds'])} "
               f"(**{_x(s['merge']['speedup_vs_full'])}**)" for s in mh]],
            ["CPU s of those two solves (ratio; steadier under other load)",
             *[f"{_fmt(s['merge']['cpu_solve'])} vs {_fmt(s['merge']['full_cpu'])} "
               f"({_x(s['merge']['cpu_speedup_vs_full'])})" for s in mh]],
            ["1-min load average before / after", *[_load(s, "merge") for s in mh]],
            ["objective rel. diff to the plain model",
             *[f"{rel_diff(s['merge']['objective'], s['ladder']['rows']['plain']['objective']):.1e}" for s in mh]],
            ["groups exact", *[_yes(s['merge']['groups_exact']) for s in mh]],
        ]
        out += _table([""] + [s["size"] for s in mh], rows) + [""]
    return out


def section_warm(sizes):
    have = [s for s in sizes if "warm" in s]
    if not have:
        return []
    out = ["## 3. Warm starts: slider moves", "",
           "Moves in sequence (each from the previous): " + ", ".join(m["move"] for m in have[0]["warm"]["moves"])
           + ". *cold* = `planner.solve(sc)`; *warm* = `planner.solve(sc, warm_start=prev)` (kept HiGHS "
           "solvers, new costs/bounds/coefficients, restart from the last basis). Both include the build "
           "and the Result tables; HiGHS = `SolveInfo.solve_seconds`.", ""]
    med = lambda s, side: s["warm"]["median"][side]  # noqa: E731
    rows = [
        ["median cold s: total (build / HiGHS / tables)",
         *[f"{_fmt(med(s, 'cold')['total'])} ({_fmt(med(s, 'cold')['build'])} / {_fmt(med(s, 'cold')['solve'])} / "
           f"{_fmt(med(s, 'cold')['result'])})" for s in have]],
        ["median warm s: total (build / HiGHS / tables)",
         *[f"{_fmt(med(s, 'warm')['total'])} ({_fmt(med(s, 'warm')['build'])} / {_fmt(med(s, 'warm')['solve'])} / "
           f"{_fmt(med(s, 'warm')['result'])})" for s in have]],
        ["**speed-up** total / HiGHS only / CPU of the whole call",
         *[f"**{_x(s['warm']['speedup_total'])}** / {_x(s['warm']['speedup_solve'])} / "
           f"{_x(s['warm'].get('speedup_cpu'))}" for s in have]],
        ["solvers reused on every move", *[_yes(s["warm"]["all_reused"]) for s in have]],
        ["max objective rel. diff warm vs cold (≤ 1e-6?)",
         *[f"{s['warm']['max_rel_diff']:.1e} ({_yes(s['warm']['objectives_equal'])})" for s in have]],
        ["1-min load average before / after", *[_load(s, "warm") for s in have]],
    ]
    out += _table([""] + [s["size"] for s in have], rows)
    out += ["", "Per move (seconds, total with HiGHS in brackets):", ""]
    rows = []
    for s in have:
        for m in s["warm"]["moves"]:
            rows.append([s["size"], m["move"], f"{_fmt(m['cold']['total'])} ({_fmt(m['cold']['solve'])})",
                         f"{_fmt(m['warm']['total'])} ({_fmt(m['warm']['solve'])})",
                         _x(m["cold"]["total"] / m["warm"]["total"]), f"{m['rel_diff']:.1e}"])
    out += _table(["size", "move", "cold", "warm", "speed-up", "rel. diff"], rows) + [""]
    return out


def section_map(sizes):
    have = [s for s in sizes if "map" in s]
    if not have:
        return []
    out = ["## 4. Slider → map HTML document (the app's old map path)", "",
           "**Not what a user of the app waits for any more.** Until issue 13 the app rebuilt this folium "
           "document after every slider step and showed it in a fresh iframe; it now keeps one live map on the "
           "page (`widgets/livemap.py`) and sends only the values that changed. What a user feels from a "
           "slider step to the repainted map is measured in a real browser in the section *Browser: slider "
           "step → headline and → repainted map* below (`benchmarks/bench_browser.py`). `map_html` remains "
           "the shareable map file (Export's map.html, `Result.to_html`), so its time is still reported here.",
           ""]
    for s in have:
        m = s["map"]
        md = m["median"]
        out += [f"{s['size'].capitalize()} scale ({s['instance']['n_areas']:,} areas × "
                f"{s['instance']['n_sites']:,} sites): change a target, "
                "`planner.solve(sc, warm_start=prev)`, then `planner.maps.map_html(res)` (the self-contained "
                f"HTML, lang={m['lang']!r}). Medians over the {len(m['moves'])} moves of section 3.", ""]
        rows = [
            ["`planner.solve(sc, warm_start=prev)`", _fmt(md["total"])],
            ["  build (reach + arrays)", _fmt(md["build"])],
            ["  HiGHS (warm)", _fmt(md["solve"])],
            ["  Result tables", _fmt(md["result"])],
            ["`map_html(res)`", _fmt(md["map_html"])],
            ["  map build (`build_map`, folium objects)", _fmt(md["map_build"])],
            ["  render (folium/Jinja → HTML)", _fmt(md["render"])],
            ["  offline inlining + network check (`standalone_html` − render)", _fmt(md["inline"])],
            ["**slider → map HTML document**", f"**{_fmt(md['path'])}**"],
            ["issue #7 target (for the old app path)",
             f"≤ {m['target_seconds']} s: {'met' if m['meets_target'] else '**not met**'}"],
            ["HTML size MB", f"{md['html_mb']:.2f}"],
        ]
        out += _table(["step", "seconds"], rows)
        out += ["", "The map parts were timed again apart (build, render, standalone), so they need not add up "
                "to the `map_html` line exactly.", ""]
        prof = m.get("profile")
        if prof:
            out += [f"cProfile of one `map_html` ({_fmt(prof['seconds_profiled'])} s under the profiler), top "
                    "functions by own time:", ""]
            out += _table(["function (file:line)", "calls", "own s", "cumulative s", "mostly called from"],
                          [[f"`{e['where']}`", f"{e['calls']:,}", f"{e['own']:.3f}", f"{e['cumulative']:.3f}",
                            f"`{e['called_from']}`" if e.get("called_from") else ""]
                           for e in prof["top_own"][:10]])
            out += ["", "planner functions by cumulative time:", ""]
            out += _table(["function (file:line)", "calls", "own s", "cumulative s"],
                          [[f"`{e['where']}`", f"{e['calls']:,}", f"{e['own']:.3f}", f"{e['cumulative']:.3f}"]
                           for e in prof["top_planner_cumulative"][:10]])
            out += [""]
    return out


SPOPT_SUPERSEDED = (
    "The comparison with spopt that counts is the product-path table at the top of this file (*Issue 15 … "
    "Maximal coverage: spopt against `planner.solve`*, `benchmarks/bench_mclp.py`): there the planner side is "
    "`planner.solve` as a user calls it, not a formulation written for the benchmark.")


def section_spopt(sizes):
    have = [s for s in sizes if "spopt" in s]
    if not have:
        return ["## 5. PySAL spopt (superseded, not run)", "",
                SPOPT_SUPERSEDED + " This section's old comparison (`benchmarks/peers.py`: MCLP and capacitated "
                "p-median written for the benchmark with the engine's LP builder) is no longer part of a default "
                "run; `--sections ...,spopt` still runs it.", ""]
    import peers

    out = ["## 5. PySAL spopt on the problems it can express (superseded)", "",
           SPOPT_SUPERSEDED + " This section is kept as a diagnostic of formulations written for the "
           "benchmark.", "",
           "Childcare side of each instance: sites = all childcare facilities, demand = each area's "
           f"childcare need, reach = the engine's pairs; p = {peers.P_SHARE:.0%} of the sites. **MCLP**: open p "
           "sites to cover the most need within reach. **Capacitated p-median**: open p sites, assign each "
           "area's whole need to one open site in reach (binary, spopt's formulation), load ≤ capacity "
           "(existing slots + allowed expansion, or a candidate's maximum size), minimise need × minutes; need "
           f"no open site can take goes to an always-open 'unserved' site at {peers.UNSERVED_MINUTES:g} min "
           f"(spopt's dense matrix has {peers.FAR:g} min out of reach, so no optimum uses those pairs). "
           "*spopt* = `MCLP`/`PMedian.from_cost_matrix` + `.solve(solver, results=False)` with "
           "`pulp.HiGHS` (the same solver as ours, so the ratio isolates the modelling) and "
           "`pulp.PULP_CBC_CMD` (spopt's documented default), relative gap 0; the dense cost matrix is "
           "built outside the timing. *ours*: the engine has no API for these problems, so "
           "`benchmarks/peers.py` writes each as a sparse formulation with the engine's builder "
           "(`planner.lp.LinearProblem`, one vectorised call per row block, only the reach pairs) solved by "
           "`planner.solve.run` (highspy from arrays), gap 0. **Ours applies exact presolve reductions to the "
           "MCLP; spopt gets the original problem**: areas with no need or no site in reach are dropped; areas "
           "reached by the same set of sites are merged (need summed); a site whose covered set is inside "
           "another site's is dropped and the cardinality row becomes Σ open ≤ p (coverage only grows with "
           "more sites, so the optimum is unchanged; the argument is in the module docstring); equal rows are "
           "merged again. Ours then solves the LP relaxation first: when its site values are integral it is a "
           "proven optimum and no branch-and-bound runs, otherwise the MIP is solved. The p-median gets neither "
           "(no exact reduction tried moved its solve time beyond HiGHS's seed-to-seed spread; its relaxation "
           "already opens the optimal sites, and the time goes into the single-sourcing packing). Presolve "
           "and the relaxation are inside our timings; imports are outside them on both sides. "
           "Ratio = spopt total ÷ ours total.", ""]
    rows = []
    for s in have:
        c = s["spopt"]
        for name, pr in c["problems"].items():
            o, t = pr["ours"], pr["spopt"]
            cells = []
            for solver in ("highs", "cbc"):
                r = t["solvers"].get(solver)
                if r is None:
                    cells.append("not run")
                    continue
                stopped = r["status"] != "optimal"
                obj = "–" if r["objective"] is None else f"{r['objective']:.10g}"
                same = "✓" if r["objective_equal"] else "**≠**"
                cells.append(f"{_fmt(t['build'])} + {_fmt(r['solve'])} s{' (stopped at limit)' if stopped else ''}"
                             f" → **{'≥ ' if stopped else ''}{_x(r['ratio_total'])}**"
                             + ("" if stopped else f", obj {obj} {same}"))
            rows.append([s["size"], {"mclp": "MCLP", "pmedian": "capacitated p-median"}[name],
                         f"{c['areas']:,} × {c['sites']:,} ({c['pairs']:,} pairs), p = {c['p']}",
                         f"{o['variables']:,} / {t['variables']:,}",
                         f"{o['build']:.4f} + {_fmt(o['solve'])} s, obj {o['objective']:.10g}", *cells])
        if "pmedian" not in c["problems"]:
            n_a, n_s = c["areas"], c["sites"]
            est = peers.spopt_size(n_a, n_s, "pmedian")
            rows.append([s["size"], "capacitated p-median", f"{n_a:,} × {n_s:,}",
                         f"– / {est['variables']:,}", "not run",
                         f"not run: spopt's dense model would hold {est['variables']:,} binary variables and "
                         f"{est['rows']:,} rows as PuLP objects", "not run"])
    out += _table(["size", "problem", "areas × sites", "variables: ours / spopt",
                   "ours: build + solve", "spopt + pulp.HiGHS: build + solve → ratio",
                   "spopt + CBC: build + solve → ratio"], rows)
    pre = [(s["size"], s["spopt"]["problems"]["mclp"]["ours"]) for s in have
           if "presolve" in s["spopt"]["problems"].get("mclp", {}).get("ours", {})]
    if pre:
        out += ["", "MCLP presolve (ours): " + "; ".join(
            f"{size} {o['presolve']['areas_before']:,} areas → {o['presolve']['groups']:,} demand groups, "
            f"{o['presolve']['sites_before']:,} → {o['presolve']['sites_kept']:,} sites, relaxation "
            + ("integral (no branch-and-bound)" if o["relaxation_integral"] else "fractional (MIP solved)")
            for size, o in pre) + "."]
    out += ["", "Province scale is not run for spopt: its cost matrix alone would be 30,000 × 5,000 dense "
            "(and the p-median 150M binary assignments).", ""]
    return out


def section_sweep(sweep):
    if not sweep:
        return []
    out = ["## 6. Dask fan-out: `planner.sweep` on a 2-worker LocalCluster", "",
           f"{sweep['runs']} runs (childcare_per_1000 = "
           + ", ".join(f"{g['childcare_per_1000']:g}" for g in sweep["grid"])
           + f") per scenario. *serial* = the sweep's own task function (`apply` + `solve` + `summary`) in a "
           f"loop in one process (the engine still solves big blocks on 2 threads); *Dask* = `planner.sweep(sc, "
           f"runs, client=client)` on `LocalCluster(n_workers={sweep['workers']}, threads_per_worker=1)`. "
           f"Cluster start-up (LocalCluster + Client): {_fmt(sweep['startup'])} s, once; shutdown "
           f"{_fmt(sweep['shutdown'])} s. *first sweep*: workers import planner and receive the scenario; "
           "*second sweep*: the same runs on the warm cluster; *1 thread/worker*: a third sweep after "
           "`client.run` set the engine's thread count to 1 in each worker (a diagnostic: the engine "
           "otherwise solves big blocks on up to as many threads as cores in every worker process).", ""]
    rows = []
    for name, r in sweep["scenarios"].items():
        one = r.get("one_thread_sweep")
        rows.append([f"{r['label']} ({r['areas']:,} areas × {r['facilities']:,} sites)", _fmt(r["serial"]),
                     _fmt(r["first_sweep"]), _fmt(r["second_sweep"]), _fmt(one),
                     f"**{_x(r['speedup_incl_startup'])}**", f"**{_x(r['speedup_excl_startup'])}**",
                     _x(r.get("speedup_one_thread")), f"{r['cost_rel_diff']:.1e} ({_yes(r['costs_equal'])})"])
    out += _table(["scenario", "serial s", "Dask first sweep s", "second sweep s", "1 thread/worker s",
                   "speed-up incl. start-up", "excl. start-up (warm)", "warm, 1 thread/worker",
                   "cost rel. diff"], rows)
    inside = [(r["label"].split("·")[-1].strip(), r["in_task_serial"], r["in_task_dask"])
              for r in sweep["scenarios"].values() if "in_task_dask" in r]
    if inside:
        out += ["", "Build + HiGHS seconds summed over the runs as each run timed itself (serial / first, "
                "second, 1-thread sweep): " + "; ".join(
                    f"{lab} {_fmt(a)} / " + ", ".join(_fmt(v) for v in b) for lab, a, b in inside)
                + ". Where these grow on Dask, two worker processes are competing for the two cores "
                "(with each other and with other load); the rest of a sweep's time is Dask's own "
                "(scatter, scheduling, results)."]
    out += ["", f"1-min load average before / after: {sweep['load_before']:.1f} / {sweep['load_after']:.1f}. "
            "All three sweeps of a scenario run the very same scenario object on the same client.", ""]
    return out


def section_memory(sizes):
    if not sizes:
        return []
    phases = ("raw", "ladder", "merge", "warm", "map") + (("spopt",) if any("spopt" in s for s in sizes) else ())
    rows = []
    for s in sizes:
        raw = s.get("raw", {}).get("rss_mb", {})
        cells = [s["size"], f"{s.get('rss_after_instance_mb', 0):,.0f}",
                 (f"{raw['planner_peak']:,.0f} / {raw['raw_peak']:,.0f}" if raw else "–")]
        cells += [f"{s['phases'][p]['peak_rss_mb']:,.0f}" if p in s.get("phases", {}) else "–" for p in phases[1:]]
        peak = s.get("peak_rss_mb", 0.0)
        cells += [f"**{peak:,.0f}**", _yes(peak <= MEMORY_LIMIT_MB)]
        rows.append(cells)
    return (["## 7. Memory: peak RSS per scale (MB)", "",
             "Each size in its own process; the high-water mark is reset (`/proc/self/clear_refs`) before each "
             "phase, so every figure includes the instance held in memory (second column).", ""]
            + _table(["size", "after instance", "planner path / raw path", *phases[1:], "peak", "≤ 4 GB?"], rows)
            + [""])


def objective_checks(data) -> list[bool]:
    """Every "same optimal cost" comparison of the run (speed-ups, merging, warm starts, raw, spopt, sweep)."""
    checks = []
    for s in data["sizes"]:
        for r in s.get("ladder", {}).get("rows", {}).values():
            if r["objective"] is not None and r["status"] == "optimal":
                checks.append(r["objective_equal"])
        if "merge" in s and "ladder" in s:
            checks.append(s["merge"]["objective"] is not None and
                          rel_diff(s["merge"]["objective"], s["ladder"]["rows"]["plain"]["objective"]) <= REL_TOL)
        if "warm" in s:
            checks.append(s["warm"]["objectives_equal"])
        if "raw" in s:
            checks.append(s["raw"]["objective_agrees"])
        for pr in s.get("spopt", {}).get("problems", {}).values():
            checks += [r["objective_equal"] for r in pr["spopt"]["solvers"].values() if r["status"] == "optimal"]
    for r in (data.get("sweep") or {}).get("scenarios", {}).values():
        checks.append(r["costs_equal"])
    return checks


def targets(data) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for the issue's targets, from the numbers."""
    by = {s["size"]: s for s in data["sizes"]}
    out = []
    city = by.get("city", {})
    if "map" in city:
        md = city["map"]["median"]
        out.append(("slider → re-solved result and redrawn map ≤ 0.5 s (city)",
                    f"old path (section 4): {_fmt(md['path'])} s = warm `planner.solve` {_fmt(md['total'])} s + "
                    f"`map_html` {_fmt(md['map_html'])} s",
                    ("met on the old path" if city["map"]["meets_target"] else
                     "**not met** on the old path (the re-solve alone is "
                     + ("within" if md["total"] <= 0.5 else "over") + " 0.5 s)")
                    + "; the app no longer takes it: its live map is timed in Chromium in the browser section "
                    "(`bench_browser.py`)"))
    prov = by.get("province", {})
    meas = _province_solves(prov)
    if meas:
        n_ok = sum(sec <= 10 for _, sec, _ in meas)
        text = "; ".join(f"{label} {_fmt(sec)} s (load {load:.1f})" for label, sec, load in meas)
        if "ladder" in prov:
            lr = prov["ladder"]["rows"]["merge"]
            text += (f"; the engine default's HiGHS needs {_fmt(lr['cpu'])} CPU-s on its 2 threads "
                     f"(≈ {_fmt(lr['cpu'] / 2)} s with both cores free)")
        if "raw" in prov:
            text += f"; `planner.solve` with build and tables {_fmt(prov['raw']['seconds']['planner_total'])} s"
        slow_load = min((load for _, sec, load in meas if sec > 10), default=0.0)
        verdict = ("met" if n_ok == len(meas) else "**not met**" if n_ok == 0 else
                   f"met in {n_ok} of {len(meas)} measurements; the slower ones ran at a 1-min load of "
                   f"{slow_load:.1f} or more on 2 cores")
        out.append(("province (≈30,000 × 10,000, ≈1M pairs) solved to optimality ≤ 10 s", text, verdict))
    have = [s for s in data["sizes"] if "raw" in s]
    if have:
        rb = ", ".join(f"{s['size']} {s['raw']['ratio']['build']:.2f}×" for s in have)
        ok = all(s["raw"]["ratio"]["build"] <= 1.5 for s in have)
        out.append(("build overhead ≤ 1.5× the raw highspy build of the same LP", rb,
                    "met" if ok else "**not met** at " + ", ".join(s["size"] for s in have
                                                                   if s["raw"]["ratio"]["build"] > 1.5)))
    sp_rows = []
    for s in data["sizes"]:
        for name, pr in s.get("spopt", {}).get("problems", {}).items():
            for solver, r in pr["spopt"]["solvers"].items():
                sp_rows.append((s["size"], name, solver, r["ratio_total"], r["status"] == "optimal"))
    if not sp_rows:
        out.append(("≥ 20× faster than spopt", "not measured here (section 5)",
                    "see the product-path MCLP table at the top (`bench_mclp.py`)"))
    else:
        text = "; ".join(f"{sz} {nm} ({sv}) {'≥ ' if not done else ''}{_x(v)}" for sz, nm, sv, v, done in sp_rows)
        ok = all(v >= 20 for *_, v, _ in sp_rows)
        out.append(("≥ 20× faster than spopt", text, "met" if ok else "**not met** where the MIP solve dominates"
                    if any(v >= 20 for *_, v, _ in sp_rows) else "**not met**"))
    checks = objective_checks(data)
    if checks:
        out.append(("every speed-up keeps the plain model's optimal cost (≤ 1e-6)",
                    f"{sum(checks)} of {len(checks)} checks equal", "met" if all(checks) else "**not met**"))
    if prov:
        out.append(("peak RSS reported at each scale; province within 4 GB",
                    ", ".join(f"{s['size']} {s.get('peak_rss_mb', 0):,.0f} MB" for s in data["sizes"]),
                    "met" if prov.get("peak_rss_mb", 1e9) <= MEMORY_LIMIT_MB else "**not met**"))
    sw = data.get("sweep")
    if sw:
        text = "; ".join(f"{r['label'].split('·')[-1].strip()}: {_x(r['speedup_incl_startup'])} incl. start-up, "
                         f"{_x(r['speedup_excl_startup'])} excl." for r in sw["scenarios"].values())
        out.append(("`planner.sweep` on a 2-worker LocalCluster: report the speed-up", text, "reported (no target)"))
    return out


def _share_of(prof, part: str, whole: str) -> str:
    entries = prof.get("top_planner_cumulative", [])
    get = lambda name: next((e["cumulative"] for e in entries if f"({name})" in e["where"]), None)  # noqa: E731
    a, b = get(part), get(whole)
    return "–" if not a or not b else f"{a / b:.0%}"


def _province_solves(prov) -> list[tuple[str, float, float]]:
    """(where, HiGHS seconds with the engine defaults, 1-min load) of every province solve in the run."""
    out = []
    ph = prov.get("phases", {})
    if "ladder" in prov:
        out.append(("HiGHS, engine default (section 2)", prov["ladder"]["rows"]["merge"]["seconds"],
                    max(ph["ladder"]["load_before"], ph["ladder"]["load_after"])))
    if "raw" in prov:
        out.append(("`planner.solve` HiGHS part (section 1)", prov["raw"]["seconds"]["planner_solve"],
                    max(ph["raw"]["load_before"], ph["raw"]["load_after"])))
    if "warm" in prov:
        out.append(("cold re-solves, median (section 3)", prov["warm"]["median"]["cold"]["solve"],
                    max(ph["warm"]["load_before"], ph["warm"]["load_after"])))
    return out


def _cbc_faster(sp) -> bool:
    """spopt + CBC solved some problem to optimality faster than our HiGHS did."""
    return any(pr["spopt"]["solvers"].get("cbc", {}).get("status") == "optimal"
               and pr["spopt"]["solvers"]["cbc"]["solve"] < pr["ours"]["solve"]
               for s in sp for pr in s["spopt"]["problems"].values())


def _cbc_stopped(sp) -> bool:
    return any(r["status"] != "optimal" for s in sp for pr in s["spopt"]["problems"].values()
               for r in pr["spopt"]["solvers"].values())


def _step(size, prev, key):
    rows = size["ladder"]["rows"]
    return rows[prev]["seconds"] / rows[key]["seconds"] if rows[key]["seconds"] > 0 else None


def _second_thread_note(lad) -> str:
    """Where the second thread lost time, and the machine was loaded: say why."""
    def load(s):  # the ladder phase's higher 1-min load average (0 where the phase was not recorded)
        p = s.get("phases", {}).get("ladder")
        return max(p["load_before"], p["load_after"]) if p else 0.0

    lost = [s for s in lad if (_step(s, "split_1", "split_2") or 1.0) < 1.0 and load(s) > 1.8]
    if not lost:
        return ""
    return ("The second thread lost time at " + ", ".join(f"{s['size']} (1-min load {load(s):.1f})" for s in lost)
            + ": with other jobs on both cores there was no free core for it, so this step measures contention, "
            "not what two free cores give. ")


def interpretation(data) -> list[str]:
    by = {s["size"]: s for s in data["sizes"]}
    out = ["## 8. What the numbers mean", ""]
    out += _table(["target (issue #7)", "measured in this run", "verdict"], targets(data)) + [""]
    notes = []
    lad = [s for s in data["sizes"] if "ladder" in s]
    if lad:
        notes.append(
            "**Speed-ups.** Against the plain model (one block, HiGHS defaults) the engine default solves "
            + ", ".join(f"{s['size']} {_x(s['ladder']['rows']['merge']['speedup_vs_plain'])}" for s in lad)
            + " faster. Each step against the one before it: "
            + "; ".join(f"{label} " + ", ".join(f"{s['size']} {_x(_step(s, prev, key))}" for s in lad)
                        for prev, key, label in (("plain", "presolve_off", "presolve off"),
                                                 ("presolve_off", "split_1", "block split"),
                                                 ("split_1", "split_2", "second thread"),
                                                 ("split_2", "merge", "merging areas")))
            + ". "
            + _second_thread_note(lad)
            + "IPM against the plain model: "
            + ", ".join(f"{s['size']} {_ladder_cell(s['ladder']['rows']['ipm'])}" for s in lad)
            + (", so 'choose simplex or IPM by size' comes out as: dual simplex at every size here."
               if all(s["ladder"]["rows"]["ipm"]["seconds"] >= s["ladder"]["rows"]["plain"]["seconds"] for s in lad)
               else "."))
    raw = [s for s in data["sizes"] if "raw" in s]
    if raw:
        text = ("**Build overhead.** `planner.build` of the same LP vs the raw arrays (both including the reach "
                "search): "
                + ", ".join(f"{s['size']} {_fmt(s['raw']['seconds']['planner_build_same'])} vs "
                            f"{_fmt(s['raw']['seconds']['raw_build'])} s ({s['raw']['ratio']['build']:.2f}×)"
                            for s in raw)
                + "; the engine default, which also groups areas, "
                + ", ".join(f"{s['size']} {s['raw']['ratio']['build_default']:.2f}×" for s in raw)
                + ". What planner adds to the raw build: the reach rules per area and service, the "
                "validated tables read into arrays, the targets per district and level (`planner.levels`), "
                "the labelled variable and constraint families (`planner/formulation.py`) flattened by "
                "`LinearProblem.to_arrays`, and the per-area catchments the Result tables need.")
        bp = next((s.get("build_profile") for s in raw if s.get("build_profile")), None)
        if bp:
            names = ("(prepare)", "(reach_pairs)", "(from_pairs)", "(area_rules)", "(lonlat)", "(district_targets)",
                     "(level_data)", "(to_arrays)")
            top = [e for e in bp["top_planner_cumulative"] if e["where"].endswith(names)]
            text += (" Profiled at city scale, per build (times inflated by the profiler): " + "; ".join(
                f"`{e['where']}` {e['cumulative'] * 1000:.1f} ms ({e['calls']:g} calls)" for e in top)
                + ". The engine searches reach once for both services when every area travels the same way "
                "to both (as the raw baseline does).")
        notes.append(text)
    mh = [s for s in lad if "merge" in s]
    if mh:
        notes.append(
            "**Merging areas** that see the same sites (the engine default) is exact (objective equal) and "
            "merges more than one might expect on these instances: childcare groups "
            + ", ".join(f"{s['size']} {s['merge']['groups_childcare']:,}/{s['merge']['areas']:,}" for s in mh)
            + "; flow columns "
            + ", ".join(f"{s['size']} −{1 - s['merge']['flows_after'] / max(s['merge']['flows_before'], 1):.0%}"
                        for s in mh)
            + ". Solving the merged LP vs the full LP with the same engine settings, back to back: "
            + ", ".join(f"{s['size']} {_x(s['merge']['speedup_vs_full'])} wall, "
                        f"{_x(s['merge']['cpu_speedup_vs_full'])} CPU of the solve" for s in mh)
            + ". Towns are Gaussian clouds of areas and sites, so neighbouring areas often share their whole "
            "reach set (and areas with no site in reach all merge into one). The grouping costs "
            + ", ".join(f"{s['size']} {_fmt(s['merge']['seconds_grouping'])} s" for s in mh)
            + " inside `planner.build`.")
    wm = [s for s in data["sizes"] if "warm" in s]
    if wm:
        notes.append(
            "**Warm starts** re-solve a slider move "
            + ", ".join(f"{s['size']} {_x(s['warm']['speedup_total'])} faster end to end "
                        f"({_x(s['warm']['speedup_solve'])} in HiGHS)" for s in wm)
            + " with the same optimal cost; what is left is the build and the Result tables, which a warm "
            "start does not touch.")
    city = by.get("city", {})
    if "map" in city:
        md = city["map"]["median"]
        prof = city["map"].get("profile", {})
        top = prof.get("top_planner_cumulative", [])
        notes.append(
            f"**Slider → map HTML document** (the app's old path; now the shareable map file) takes "
            f"{_fmt(md['path'])} s at city scale: the re-solve {_fmt(md['total'])} s, "
            f"`map_html` {_fmt(md['map_html'])} s ({md['map_html'] / md['path']:.0%}). The profile's top planner "
            "entries: " + "; ".join(f"`{e['where']}` {e['cumulative']:.2f} s" for e in top[1:5])
            + f". The offline check (`_network_problems`) is {_share_of(prof, '_network_problems', 'map_html')} "
            "of the profiled `map_html`: it reads the map's own scripts with the area and facility data "
            "(`planner._html.InlineData`, JSON written by `json.dumps`) held out as placeholders and pasted "
            f"in after the check (the whole HTML is {md['html_mb']:.2f} MB).")
    sp = [s for s in data["sizes"] if "spopt" in s]
    ratios = [r["ratio_total"] for s in sp for pr in s["spopt"]["problems"].values()
              for r in pr["spopt"]["solvers"].values()]
    n20, n_all = sum(v >= 20 for v in ratios), len(ratios)
    if sp:
        text = ("**spopt.** Building the model is where spopt loses most (PuLP objects over a dense matrix: "
                + ", ".join(f"{s['size']} {n} {_x(pr['spopt']['ratio_build'])} our build time"
                            for s in sp for n, pr in s["spopt"]["problems"].items())
                + "). Both problems are MIPs: once branch-and-bound dominates, both sides wait for a solver and "
                "the total ratio falls towards the solve-time ratio (spopt + pulp.HiGHS solve ÷ ours: "
                + ", ".join(f"{s['size']} {n} {_x(pr['spopt']['solvers']['highs']['ratio_solve'])}"
                            for s in sp for n, pr in s["spopt"]["problems"].items()
                            if "highs" in pr["spopt"]["solvers"])
                + f"). The ≥ 20× target is reached in {n20} of {n_all} comparisons.")
        lp_ok = [f"{s['size']} {n}" for s in sp for n, pr in s["spopt"]["problems"].items()
                 if pr["ours"].get("relaxation_integral")]
        mip = [f"{s['size']} {n}" for s in sp for n, pr in s["spopt"]["problems"].items()
               if not pr["ours"].get("relaxation_integral", True)]
        if lp_ok:
            text += (" After our exact MCLP presolve the LP relaxation was integral for " + ", ".join(lp_ok)
                     + ": a proven optimum without branch-and-bound, so build time decides there.")
        if mip:
            text += (" Branch-and-bound still dominates " + ", ".join(mip) + " (the presolve shrinks the MCLP, "
                     "but HiGHS's root cuts and heuristics take seconds; the p-median's time is the "
                     "single-sourcing packing of the sites its relaxation already picks).")
        if _cbc_faster(sp):
            faster = [f"{s['size']} {n}" for s in sp for n, pr in s["spopt"]["problems"].items()
                      if _cbc_faster([{"spopt": {"problems": {n: pr}}}])]
            text += (" CBC solved " + ", ".join(faster)
                     + " faster than our HiGHS MIP: for these MIPs the solver, not the modelling, decides.")
        if _cbc_stopped(sp):
            text += " spopt with CBC was stopped at its time limit where marked (its ratio is then a lower bound)."
        notes.append(text)
    sw = data.get("sweep")
    if sw:
        scen = list(sw["scenarios"].values())
        per_run = ", ".join(f"{r['label'].split('·')[-1].strip()} {_fmt(r['serial'] / sw['runs'])} s"
                            for r in scen)
        lose = all(r["speedup_incl_startup"] < 1 for r in scen)
        notes.append(
            "**Fan-out.** On 2 cores, 2 Dask workers give at most 2×, and the serial loop already solves big "
            f"blocks on 2 threads; a run takes {per_run} serially, and cluster start-up ("
            f"{_fmt(sw['startup'])} s) " + ("outweighs" if lose else "does not everywhere outweigh")
            + f" the gain for {sw['runs']} runs: "
            + "; ".join(f"{r['label'].split('·')[-1].strip()} {_x(r['speedup_incl_startup'])} incl. start-up, "
                        f"{_x(r['speedup_excl_startup'])} on a warm cluster" for r in sw["scenarios"].values())
            + "; with the engine on one thread per worker: "
            + "; ".join(f"{r['label'].split('·')[-1].strip()} {_x(r.get('speedup_one_thread'))}"
                        for r in sw["scenarios"].values())
            + (". Fan-out pays off for many or large runs on a real cluster, not on this 2-core machine."
               if all(r["speedup_excl_startup"] < 1.5 for r in scen) else "."))
    busy = [s["size"] for s in data["sizes"]
            if any(max(p["load_before"], p["load_after"]) > 1.8 for p in s.get("phases", {}).values())]
    if busy:
        notes.append("**Noise.** Other processes shared this 2-core machine during " + ", ".join(busy)
                     + " (1-min load average above 1.8 in some phase, with this benchmark counting ≈ 1–2): "
                     "wall-clock figures carry that noise, single-repeat province figures most.")
    for n in notes:
        out += [n, ""]
    return out


def markdown(data: dict) -> str:
    m = data["machine"]
    run = data.get("run", {})
    lines = [SOLVE_START, "## Solve, warm starts, map HTML, sweeps, memory (issue #7)", "",
             "Generated by `python benchmarks/bench_solve.py` (`make bench`) — do not edit by hand.", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; Python {m['python']}, highspy "
             f"{m['highspy']}, PuLP {m['pulp']}, spopt {m.get('spopt')}, distributed {m.get('distributed')}, "
             f"folium {m.get('folium')}; {m['date']}."]
    if run:
        lines[-1] += (f" Whole run: {run['seconds'] / 60:.1f} min (`{run['command']}`); 1-min load average "
                      f"{run['load_before']:.1f} at the start, {run['load_after']:.1f} at the end.")
    lines += ["", "Ratios are between figures measured in this same run. The verdicts on the issue's targets "
              "are in section 8.", ""]
    sizes = data["sizes"]
    for part in (section_raw(sizes), section_ladder(sizes), section_warm(sizes), section_map(sizes),
                 section_spopt(sizes), section_sweep(data.get("sweep")), section_memory(sizes),
                 interpretation(data)):
        lines += part
    return "\n".join(lines).rstrip() + "\n" + SOLVE_END + "\n"


#: RESULTS.md holds other scripts' sections too: this one replaces only what lies between its markers.
SOLVE_START, SOLVE_END = "<!-- bench_solve:start -->", "<!-- bench_solve:end -->"


def write_markdown(data: dict, path) -> Path:
    return replace_section(path, markdown(data), SOLVE_START, SOLVE_END)


# ---------------------------------------------------------------- driver

def _list(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def _all_ok(data) -> bool:
    """Every objective check of the run passed (the exit status)."""
    return all(objective_checks(data))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="county,city,province")
    ap.add_argument("--sections", default=",".join(DEFAULT_SECTIONS), help="any of " + ", ".join(SECTIONS))
    ap.add_argument("--repeat", type=int, default=None, help="runs per size (default 3, province 1)")
    ap.add_argument("--ipm-limit", type=float, default=90.0,
                    help="seconds allowed to the IPM step of the ladder (province IPM takes minutes)")
    ap.add_argument("--cbc-limit", type=float, default=60.0, help="seconds allowed to spopt + CBC per problem")
    ap.add_argument("--out", default=str(HERE), help="folder for results.json and RESULTS.md")
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite RESULTS.md from the results.json in --out (no timing)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sections = _list(args.sections)
    if args.worker == "sweep":
        run_sweep_worker(args.worker_out)
        return 0
    if args.worker:
        run_worker(args.worker, sections, args.repeat or DEFAULT_REPEAT.get(args.worker, 3), args.worker_out,
                   ipm_limit=args.ipm_limit, cbc_limit=args.cbc_limit)
        return 0
    folder = Path(args.out)
    if args.render_only:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
        print(write_markdown(data, folder / "RESULTS.md").read_text(encoding="utf-8"))
        return 0
    sizes = _list(args.sizes)
    unknown = set(sizes) - set(SIZES)
    if unknown:
        ap.error(f"unknown size(s) {sorted(unknown)}; choose from {', '.join(SIZES)}")
    bad = set(sections) - set(SECTIONS)
    if bad:
        ap.error(f"unknown section(s) {sorted(bad)}; choose from {', '.join(SECTIONS)}")
    t_run, load0 = time.perf_counter(), os.getloadavg()[0]
    results, sweep = [], None

    def child(worker, extra=()):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "result.json")
            t0 = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--worker", worker, "--worker-out", out, *extra], check=True)
            res = json.loads(Path(out).read_text(encoding="utf-8"))
        res["wall_seconds"] = time.perf_counter() - t0
        print(f"{worker}: done in {res['wall_seconds']:.0f}s", flush=True)
        return res

    for size in sizes:
        if not set(sections) - {"sweep"}:
            break
        extra = ["--sections", ",".join(sections), "--ipm-limit", str(args.ipm_limit),
                 "--cbc-limit", str(args.cbc_limit)]
        if args.repeat:
            extra += ["--repeat", str(args.repeat)]
        results.append(child(size, extra))
    if "sweep" in sections:
        sweep = child("sweep")
    data = {"machine": machine_info(), "sizes": results, "sweep": sweep,
            "run": {"seconds": time.perf_counter() - t_run, "load_before": load0, "load_after": os.getloadavg()[0],
                    "command": " ".join(["python benchmarks/bench_solve.py", *(argv if argv is not None
                                                                               else sys.argv[1:])]).strip(),
                    "sizes": sizes, "sections": sections}}
    folder.mkdir(parents=True, exist_ok=True)
    write_json(data, folder / "results.json")
    write_markdown(data, folder / "RESULTS.md")
    print(markdown(data))
    return 0 if _all_ok(data) else 1


if __name__ == "__main__":
    sys.exit(main())
