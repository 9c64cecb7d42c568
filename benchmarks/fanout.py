"""``planner.sweep`` on a 2-worker Dask LocalCluster against a serial loop of the same runs.

The same scenario is swept several times on one client (first sweep, warm
sweep, one engine thread per worker), as an analyst re-running a sweep would.
"""

from __future__ import annotations

import gc
import time

import numpy as np

import planner
from planner.sweep import _run, grid

REL_TOL = 1e-6


def taiyuan():
    """The Taiyuan prefecture of the Shanxi demo (what the notebook's sweep runs on)."""
    return planner.load_demo("shanxi", prefecture="太原市")


def default_runs(n: int = 8) -> list[dict]:
    return grid(childcare_per_1000=[round(float(v), 2) for v in np.linspace(3.5, 7.0, n)])


def _sweep(sc, runs, client):
    t0 = time.perf_counter()
    table = planner.sweep(sc, runs, client=client, progress=False)
    return table, time.perf_counter() - t0


def _engine_threads(n: int):
    """A task for ``client.run``: the engine on each worker solves its blocks on ``n`` threads.

    Nested, so cloudpickle sends it by value (the workers need not import this module).
    """
    def set_threads():
        import importlib

        importlib.import_module("planner.solve")._cores = lambda: n
        return n
    return set_threads


def bench_sweep(scenarios: dict, runs=None, *, workers: int = 2, log=print) -> dict:
    """Per scenario: a serial loop, then ``planner.sweep`` on one shared LocalCluster.

    The serial loop calls the sweep's own task function (``apply`` + ``solve``
    + ``summary``) in this process. On the cluster the first sweep pays for
    the workers importing planner and receiving the scenario; a second sweep
    of the same runs shows the warm cluster. "Including start-up" = cluster
    start-up (LocalCluster + Client, once) + the first sweep; "excluding" =
    the second sweep. Costs must equal the serial ones.

    A last sweep runs with the engine on one thread per worker (it uses as
    many threads as cores in every process, so 2 workers × 2 threads share
    2 cores): a diagnostic for oversubscription.
    """
    from distributed import Client, LocalCluster

    runs = runs if runs is not None else default_runs()
    out = {"runs": len(runs), "grid": runs, "workers": workers, "threads_per_worker": 1, "scenarios": {}}
    serial = {}
    for name, sc in scenarios.items():
        gc.collect()
        t0 = time.perf_counter()
        serial[name] = [_run(sc, dict(r)) for r in runs]
        out["scenarios"][name] = {"label": getattr(sc, "name", name), "areas": len(sc.areas),
                                  "facilities": len(sc.facilities), "districts": len(sc.districts),
                                  "serial": time.perf_counter() - t0}
        log(f"    sweep [{name}] serial {len(runs)} runs {out['scenarios'][name]['serial']:.2f}s")
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    out["startup"] = time.perf_counter() - t0
    tables = {name: [] for name in scenarios}
    try:
        for name, sc in scenarios.items():
            r = out["scenarios"][name]
            for key in ("first_sweep", "second_sweep"):
                table, r[key] = _sweep(sc, runs, client)
                tables[name].append(table)
        client.run(_engine_threads(1))
        for name, sc in scenarios.items():
            table, out["scenarios"][name]["one_thread_sweep"] = _sweep(sc, runs, client)
            tables[name].append(table)
        for name in scenarios:
            r = out["scenarios"][name]
            cost = np.array([x.get("cost_yuan", np.nan) for x in serial[name]], float)
            r["cost_rel_diff"] = max(float(np.max(np.abs(t["cost_yuan"].to_numpy(float) - cost)
                                                  / np.maximum(np.abs(cost), 1.0))) for t in tables[name])
            r["costs_equal"] = r["cost_rel_diff"] <= REL_TOL
            r["statuses"] = sorted(set(map(str, tables[name][0]["status"])))
            r["speedup_incl_startup"] = r["serial"] / (out["startup"] + r["first_sweep"])
            r["speedup_first_sweep"] = r["serial"] / r["first_sweep"]
            r["speedup_excl_startup"] = r["serial"] / r["second_sweep"]
            r["speedup_one_thread"] = r["serial"] / r["one_thread_sweep"]
            # build + HiGHS seconds summed over the runs, as each run measured them (where the time goes)
            r["in_task_serial"] = float(sum(x.get("build_seconds", 0) + x.get("solve_seconds", 0)
                                            for x in serial[name]))
            r["in_task_dask"] = [float((t["build_seconds"] + t["solve_seconds"]).sum()) for t in tables[name]]
            log(f"    sweep [{name}] dask first {r['first_sweep']:.2f}s, second {r['second_sweep']:.2f}s, "
                f"engine on 1 thread per worker {r['one_thread_sweep']:.2f}s; speed-up incl. start-up "
                f"({out['startup']:.2f}s) {r['speedup_incl_startup']:.2f}×, excl. {r['speedup_excl_startup']:.2f}×, "
                f"1 thread/worker {r['speedup_one_thread']:.2f}×; costs equal {r['costs_equal']}")
    finally:
        t0 = time.perf_counter()
        client.close()
        cluster.close()
        out["shutdown"] = time.perf_counter() - t0
    return out
