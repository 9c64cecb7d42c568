"""Maximal coverage (MCLP) on the product path: ``planner.solve`` in budget mode, integer on, against spopt.

The planner states "open the 30 candidate sites that bring the most need within reach" as a
scenario a user can write (no benchmark-only formulation): every candidate childcare site costs
``fixed_cost`` = 1 yuan to open and nothing per slot, may hold all the need there is
(``max_size``), the budget is ``p`` yuan, the reach rule asks for all need within
``access_minutes`` (``access_share`` = 1) and the other targets are off. So that the district's
per-1,000 slot count does not compete with reach, each district has one existing nursery that
already holds its slot count but is out of everyone's reach (synthetic, 5° east): the count rows
are met and only reach is scarce. ``planner.solve`` then minimises the need left outside reach,
i.e. maximises covered need, with cost only breaking ties: MCLP. We compare the covered need
(total need − Σ access shortfall) with spopt's ``MCLP`` objective on the same areas, sites and
reach pairs (spopt gets the dense minutes matrix, ``FAR`` out of reach, built outside its timing).
Both sides solve to a proven optimum (relative gap 0; planner ``options.mip_gap = 0``).

Timed: ``planner.solve(sc)`` as a user calls it (build incl. reach search, HiGHS, Result tables)
against spopt's ``MCLP.from_cost_matrix`` + ``solve`` with ``pulp.HiGHS`` and with CBC (spopt's
documented default). Ratio = spopt ÷ planner (> 1: planner faster).

Each side runs ``--repeat`` times (default 3) in turn and reports its median (the machine is shared);
the planner's first call in the process is reported too (``first``: one-off warm-up of pandas/HiGHS paths).

Usage: ``python benchmarks/bench_mclp.py [--sizes county city city600] [--repeat 3] [--limit 900]``.
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path
import sys
import time

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import planner  # noqa: E402
from instances import make_instance  # noqa: E402
from peers import FAR, rel_diff, spopt_solver  # noqa: E402

# (n_areas, n_sites of the synthetic instance: half are childcare → candidate sites, p)
SIZES = {"county": (300, 100, 1, 10), "city": (3_000, 1_000, 2, 30), "city600": (3_000, 1_200, 4, 30)}


def mclp_scenario(n_areas: int, n_sites: int, seed: int, p: int) -> planner.Scenario:
    """The MCLP of ``p`` sites as a planner scenario (see the module notes)."""
    base = make_instance(n_areas, n_sites, seed=seed)
    a = pd.DataFrame(base.areas.drop(columns="geometry"))
    a["lon"], a["lat"] = base.areas.geometry.x.to_numpy(), base.areas.geometry.y.to_numpy()
    f = base.facilities
    sites = f[f["kind"] == "childcare"]
    cand = pd.DataFrame({
        "facility_id": "s" + sites["facility_id"].astype(str), "name": "site", "kind": "childcare",
        "district_id": sites["district_id"].to_numpy(), "candidate": True, "fixed_cost": 1.0,
        "cost_per_unit": 0.0, "min_size": 0.0, "lon": sites.geometry.x.to_numpy(), "lat": sites.geometry.y.to_numpy()})
    need_d = a.groupby("district_id")["pop_total"].sum() * 4.5 / 1000
    cand["max_size"] = float(np.ceil(need_d.sum()))
    far = pd.DataFrame({"facility_id": "count_" + need_d.index.astype(str), "name": "existing (out of reach)",
                        "kind": "childcare", "district_id": need_d.index, "slots": np.ceil(need_d.to_numpy()),
                        "slots_affordable": 0.0, "lon": a["lon"].max() + 5.0, "lat": a["lat"].mean()})
    facs = pd.concat([cand, far], ignore_index=True)
    targets = planner.Targets(childcare_per_1000=4.5, affordable_share=0.0, beds_per_1000_elderly=0.0,
                              care_bed_share=0.0, access_minutes=15.0, access_share=1.0)
    options = planner.Options(integer=True, mip_gap=0.0, time_limit_s=1800.0)
    return planner.Scenario.from_frames(a, facs, base.districts, targets=targets, budget=float(p), options=options,
                                        name=f"MCLP {n_areas}×{len(cand)} p={p}")


def spopt_instance(sc) -> dict:
    """The same areas, sites and reach pairs for spopt (dense minutes; FAR out of reach)."""
    from planner.model import prepare

    pr = prepare(sc)
    K = np.flatnonzero(pr.cand)
    local = np.full(len(pr.cand), -1)
    local[K] = np.arange(len(K))
    pairs = pr.pairs_c
    keep = local[pairs.facility] >= 0
    D = np.full((len(pr.need_c), len(K)), FAR)
    D[pairs.area[keep], local[pairs.facility[keep]]] = np.minimum(pairs.minutes[keep], pr.limit_c[pairs.area[keep]])
    return {"need": pr.need_c, "D": D, "radius": float(pr.limit_c.max()), "p": int(sc.budget),
            "pairs": int(keep.sum())}


def run_planner(sc) -> dict:
    gc.collect()
    t0 = time.perf_counter()
    res = planner.solve(sc)
    total = time.perf_counter() - t0
    a = res.areas
    covered = float(a["need_childcare"].sum() - a["shortfall_access_childcare"].sum())
    return {"total": total, "build": res.info.build_seconds, "solve": res.info.solve_seconds,
            "status": res.info.status, "mip_gap": res.info.mip_gap, "covered": covered,
            "opened": int(res.facilities["opened"].sum()), "variables": res.info.n_variables,
            "rows": res.info.n_constraints,
            "sites_shut_as_dominated": int((res.info.n_variables > 0) and 0)}


def run_spopt(inst, solver: str, limit: float) -> dict:
    import pulp
    from spopt.locate import MCLP

    gc.collect()
    t0 = time.perf_counter()
    m = MCLP.from_cost_matrix(inst["D"], inst["need"], service_radius=inst["radius"], p_facilities=inst["p"])
    t1 = time.perf_counter()
    status = "optimal"
    try:
        m.solve(spopt_solver(solver, limit), results=False)
    except Exception as exc:  # spopt raises on a non-optimal status
        status = f"stopped: {type(exc).__name__}"
    t2 = time.perf_counter()
    if getattr(m.problem, "sol_status", 1) == 2 or t2 - t1 >= 0.98 * limit:
        status = "time limit"
    value = pulp.value(m.problem.objective)
    return {"build": t1 - t0, "solve": t2 - t1, "total": t2 - t0, "status": status,
            "covered": None if value is None else float(value), "time_limit": limit}


def _median_run(runs: list[dict]) -> dict:
    """The run with the median total time, with every run's total alongside."""
    order = sorted(runs, key=lambda r: r["total"])
    out = dict(order[(len(order) - 1) // 2])
    out["totals"] = [r["total"] for r in runs]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES))
    ap.add_argument("--solvers", nargs="+", default=["highs", "cbc"])
    ap.add_argument("--limit", type=float, default=900.0, help="spopt time limit per solve, seconds")
    ap.add_argument("--repeat", type=int, default=3, help="runs per side; the median is reported")
    ap.add_argument("--out", default=str(HERE / "results_mclp.json"))
    args = ap.parse_args(argv)
    import highspy  # noqa: F401 - imports outside the timings on both sides
    import scipy.sparse.csgraph  # noqa: F401
    import spopt.locate  # noqa: F401
    out = []
    for size in args.sizes:
        n_a, n_s, seed, p = SIZES[size]
        sc = mclp_scenario(n_a, n_s, seed, p)
        inst = spopt_instance(sc)
        runs = [run_planner(sc) for _ in range(max(args.repeat, 1))]
        ours = _median_run(runs)
        ours["first"] = runs[0]["total"]
        row = {"size": size, "areas": len(sc.areas), "sites": int(sc.facilities["candidate"].sum()), "p": p,
               "pairs": inst["pairs"], "planner": ours, "spopt": {}}
        print(f"{size}: planner.solve {ours['total']:.3f}s (build {ours['build']:.3f} solve {ours['solve']:.3f}) "
              f"covered {ours['covered']:.6f} {ours['status']} gap {ours['mip_gap']}", flush=True)
        for solver in args.solvers:
            s = _median_run([run_spopt(inst, solver, args.limit) for _ in range(max(args.repeat, 1))])
            s["ratio_total"] = s["total"] / ours["total"]
            s["same_optimum"] = s["covered"] is not None and rel_diff(s["covered"], ours["covered"]) <= 1e-6
            row["spopt"][solver] = s
            print(f"  spopt[{solver}] {s['total']:.3f}s covered {s['covered']} {s['status']} "
                  f"ratio {s['ratio_total']:.2f} same={s['same_optimum']}", flush=True)
        out.append(row)
        Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
