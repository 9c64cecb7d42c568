"""The Shanxi demo in integer mode beside its LP relaxation, on the product path (``planner.solve``).

Times ``planner.solve`` (build, HiGHS, Result tables) with ``options.integer`` off (the LP
relaxation the app shows by default) and on (the plan to build: whole sites, whole slots and
beds), and reports the proven relative MIP gap (target ≤ 1e-4, ``options.mip_gap``), the status
and both costs. Median of ``--repeat`` runs each, alternating.

Usage: ``python benchmarks/bench_shanxi_integer.py [--repeat 3]``; writes ``results_shanxi_integer.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path
import statistics
import time

import planner

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results_shanxi_integer.json"))
    args = ap.parse_args(argv)
    import highspy  # noqa: F401 - imports outside the timings
    import scipy.sparse.csgraph  # noqa: F401
    sc = planner.load_demo("shanxi")
    runs = {False: [], True: []}
    last = {}
    for _ in range(args.repeat):
        for integer in (False, True):
            s = sc.copy()
            s.options.integer = integer
            gc.collect()
            t0 = time.perf_counter()
            res = planner.solve(s)
            runs[integer].append(time.perf_counter() - t0)
            last[integer] = res
    out = {}
    for integer, name in ((False, "lp"), (True, "integer")):
        res = last[integer]
        out[name] = {"seconds": statistics.median(runs[integer]), "runs": runs[integer], "cost_yuan": res.cost,
                     "status": res.status, "solver_status": res.info.status, "mip_gap": res.info.mip_gap,
                     "solve_seconds": res.info.solve_seconds, "build_seconds": res.info.build_seconds,
                     "sites_opened": int(res.facilities["opened"].sum()),
                     "variables": res.info.n_variables, "constraints": res.info.n_constraints}
    out["integer_over_lp_cost"] = out["integer"]["cost_yuan"] / out["lp"]["cost_yuan"]
    out["integer_over_lp_time"] = out["integer"]["seconds"] / out["lp"]["seconds"]
    print(json.dumps(out, indent=1))
    Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
