"""Levels, care need and equity on the product path: ``planner.solve`` on the Shanxi demo.

Baseline (same run): the demo as it ships (117 counties, targets per county,
least cost). Each variant is timed against it, build + solve as a user calls
it, median of ``--repeat`` runs after one warm-up:

* ``flat``: the same counties without the province/prefecture rows (what the
  tree costs when every target sits on the leaves: should be ≈ 1);
* ``prefecture`` / ``province``: ``target_level`` above the counties;
* ``care_need``: ``care_beds_per_care_need`` = 8 (binds in 80 of 117 counties: the demo's
  assessed people are few, 2.3万, so only a high rate binds);
* ``equity`` / ``equity_budget``: the two-solve equity objective, without and
  with a budget (3e9 yuan, where least cost and equity differ).

Also reported: cost, worst attainment and Gini after, so the table doubles as
the demo's cost-vs-fairness figures.

Usage: ``python benchmarks/bench_levels.py [--repeat 5]``; writes
``benchmarks/results_levels.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import statistics
import time

import planner

HERE = Path(__file__).resolve().parent


def variants(base):
    def with_(**kw):
        sc = base.copy()
        for k, v in kw.items():
            if k in ("care_beds_per_care_need",):
                setattr(sc.targets, k, v)
            else:
                setattr(sc, k, v)
        return sc

    flat = base.copy()
    flat.parents = None
    return {
        "baseline": base,
        "flat": flat,
        "prefecture": with_(target_level="prefecture"),
        "province": with_(target_level="province"),
        "care_need": with_(care_beds_per_care_need=8.0),
        "equity": with_(objective="equity"),
        "least_cost_budget": with_(budget=3e9),
        "equity_budget": with_(objective="equity", budget=3e9),
    }


def timed(scenarios: dict, repeat: int) -> dict:
    """name → (median seconds, last Result); the variants run in turn, ``repeat`` rounds after a warm-up,
    so load from other processes on a shared machine falls on all of them alike."""
    times = {name: [] for name in scenarios}
    last = {name: planner.solve(sc) for name, sc in scenarios.items()}  # warm-up
    for _ in range(repeat):
        for name, sc in scenarios.items():
            t0 = time.perf_counter()
            last[name] = planner.solve(sc)
            times[name].append(time.perf_counter() - t0)
    return {name: (statistics.median(times[name]), last[name]) for name in scenarios}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    base = planner.load_demo("shanxi")
    out = {}
    for name, (seconds, res) in timed(variants(base), args.repeat).items():
        s = res.summary()
        out[name] = {"seconds": round(seconds, 3), "status": res.status, "cost_yuan": round(res.cost),
                     "min_attainment_childcare": s["min_attainment_childcare"],
                     "min_attainment_beds": s["min_attainment_beds"],
                     "gini_slots_per_1000_after": s["gini_slots_per_1000_after"],
                     "gini_beds_per_1000_elderly_after": s["gini_beds_per_1000_elderly_after"]}
    for row in out.values():
        row["ratio"] = round(row["seconds"] / out["baseline"]["seconds"], 2)
    (HERE / "results_levels.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    w = max(map(len, out))
    for name, row in out.items():
        print(f"{name:<{w}}  {row['seconds']:7.3f} s  ×{row['ratio']:<5}  {row['cost_yuan'] / 1e8:8.2f} 亿  "
              f"worst {row['min_attainment_childcare']}/{row['min_attainment_beds']}  "
              f"gini {row['gini_slots_per_1000_after']}/{row['gini_beds_per_1000_elderly_after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
