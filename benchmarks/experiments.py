"""Engine speed-ups one by one, the area-merging experiment, warm starts, slider → map.

Used by ``bench_solve.py`` (one size per subprocess); every function returns
a JSON-able dict and checks the optimal cost against the plain model.

* :func:`ladder` — the same built LP solved by the engine's own HiGHS path
  (``planner.solve.run``) with its speed-ups switched on one at a time:
  plain (one block, HiGHS defaults) → presolve off → block split on one
  thread → block split on two threads (the engine default), and IPM instead
  of simplex. The switches are the engine's module globals ``blocks``,
  ``_cores`` and ``LP_OPTIONS``, patched for the duration of one run.
* :func:`merge_areas` — areas that see the same set of sites merged into one
  (an experiment for the engine: the reduced LP is built from the engine's
  LP here, then solved with the engine's default path).
* :func:`warm_starts` — slider moves: cold ``planner.solve`` vs
  ``planner.solve(sc, warm_start=prev)``.
* :func:`slider_to_map` — what a widget runs after a slider move: warm
  re-solve, then ``planner.maps.map_html`` (with a breakdown and a cProfile
  of the map step).
"""

from __future__ import annotations

import contextlib
import cProfile
from dataclasses import replace
import gc
import importlib
import io
import os
import pstats
import statistics
import time
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

import planner
from planner.model import LinearProgram

ENGINE = importlib.import_module("planner.solve")  # the module (``planner.solve`` is the function)
REL_TOL = 1e-6


def rel_diff(a: float, b: float) -> float:
    """|a − b| relative to the larger magnitude (floor 1 objective unit)."""
    return abs(a - b) / max(abs(a), abs(b), 1.0)


def _one_block(lp):
    return [(np.arange(lp.shape[0]), np.arange(lp.shape[1]))]


@contextlib.contextmanager
def engine_settings(*, one_block: bool = False, lp_options: dict | None = None, threads: int | None = None):
    """Switch the engine's speed-ups for the duration of a ``with`` block (restored after)."""
    saved = ENGINE.blocks, ENGINE._cores, ENGINE.LP_OPTIONS
    try:
        if one_block:
            ENGINE.blocks = _one_block
        if threads is not None:
            ENGINE._cores = lambda: threads
        if lp_options is not None:
            ENGINE.LP_OPTIONS = dict(lp_options)
        yield
    finally:
        ENGINE.blocks, ENGINE._cores, ENGINE.LP_OPTIONS = saved


def _with_limit(model, seconds: float | None):
    """The model as ``planner.solve.run`` sees it, with another time limit."""
    if seconds is None:
        return model
    sc = model.scenario
    options = replace(sc.options, time_limit_s=float(seconds))
    return SimpleNamespace(lp=model.lp, scenario=SimpleNamespace(options=options,
                                                                 extra_functionality=sc.extra_functionality))


def timed_run(model, time_limit: float | None = None) -> dict:
    """``planner.solve.run`` once: wall and CPU seconds, objective, status."""
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    try:
        _, info = ENGINE.run(_with_limit(model, time_limit))
    except planner.PlannerError as exc:  # e.g. IPM stopped by the time limit with no plan yet
        return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "objective": None,
                "status": "time_limit" if "time limit" in str(exc) else "error", "error": str(exc)}
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
            "objective": info.objective, "status": info.status}


# (key, label, engine settings): cumulative, as the issue lists them.
LADDER = (
    ("plain", "plain: one block, HiGHS defaults (presolve on, dual simplex)",
     dict(one_block=True, lp_options={})),
    ("presolve_off", "+ presolve off", dict(one_block=True, lp_options={"presolve": "off"})),
    ("split_1", "+ block split, solved on 1 thread", dict(lp_options={"presolve": "off"}, threads=1)),
    ("split_2", "+ block split on 2 threads (engine default)", dict(lp_options={"presolve": "off"})),
    ("ipm", "IPM instead of simplex (one block, HiGHS presolve)", dict(one_block=True, lp_options={"solver": "ipm"})),
)


def ladder(model, repeat: int = 1, *, ipm_limit: float | None = None, log=print) -> dict:
    """Each speed-up on its own, on the same built model; medians of ``repeat`` runs."""
    out = {"engine_lp_options": dict(ENGINE.LP_OPTIONS), "blocks": len(ENGINE.blocks(model.lp)),
           "block_nonzeros_threshold": ENGINE.BLOCK_NONZEROS, "rows": {}}
    for key, label, settings in LADDER:
        runs = []
        limit = ipm_limit if key == "ipm" else None
        for _ in range(1 if (key == "ipm" and ipm_limit) else repeat):
            with engine_settings(**settings):
                runs.append(timed_run(model, limit))
        r = {"label": label, "seconds": statistics.median(x["seconds"] for x in runs),
             "cpu": statistics.median(x["cpu"] for x in runs), "objective": runs[-1]["objective"],
             "status": runs[-1]["status"], "runs": [x["seconds"] for x in runs], "time_limit": limit}
        out["rows"][key] = r
        log(f"    ladder {key:13s} {r['seconds']:8.3f}s  cpu {r['cpu']:7.3f}s  objective {r['objective']}"
            f" ({r['status']})")
    plain = out["rows"]["plain"]
    for r in out["rows"].values():
        r["speedup_vs_plain"] = plain["seconds"] / r["seconds"] if r["seconds"] > 0 else None
        r["rel_diff_vs_plain"] = None if r["objective"] is None else rel_diff(r["objective"], plain["objective"])
        r["objective_equal"] = r["rel_diff_vs_plain"] is not None and r["rel_diff_vs_plain"] <= REL_TOL
    return out


# ---------------------------------------------------------------- merging areas

def reach_keys(pairs, n_areas: int, n_facilities: int, seed: int = 0):
    """Per area, a key of its reach set: two 64-bit sums of random facility weights, and the set size.

    Vectorised (no Python loop over pairs). Equal sets give equal keys; unequal
    sets collide with probability ~2⁻¹²⁸, and :func:`merge_groups` checks
    every group exactly anyway.
    """
    rng = np.random.default_rng(seed)
    w1, w2 = (rng.integers(1, 2**63 - 1, n_facilities, dtype=np.int64).astype(np.uint64) for _ in range(2))
    h1, h2 = np.zeros(n_areas, np.uint64), np.zeros(n_areas, np.uint64)
    with np.errstate(over="ignore"):  # wrap-around sums are the point
        np.add.at(h1, pairs.area, w1[pairs.facility])
        np.add.at(h2, pairs.area, w2[pairs.facility])
    return [h1, h2, np.bincount(pairs.area, minlength=n_areas).astype(np.uint64)]


def merge_groups(keys) -> tuple[np.ndarray, int]:
    """Group index of each area (areas with equal keys share one), number of groups."""
    table = np.column_stack([np.asarray(k).astype(np.uint64) for k in keys])
    _, group = np.unique(table, axis=0, return_inverse=True)
    group = np.asarray(group).ravel()
    return group, int(group.max()) + 1 if len(group) else 0


def check_groups(pairs, group, n_groups) -> bool:
    """Exact: every member of a group sees exactly the same facilities."""
    size = np.bincount(group, minlength=n_groups)
    count = np.bincount(pairs.area, minlength=len(group))
    gp = np.unique(group[pairs.area] * (pairs.facility.max(initial=0) + 1) + pairs.facility)
    union = np.bincount(gp // (pairs.facility.max(initial=0) + 1), minlength=n_groups)
    # a member's set ⊆ its group's union; equal sizes everywhere ⇔ all sets equal the union
    return bool(np.all(count == union[group]) and np.sum(union * size) == len(pairs))


def aggregate_lp(model, service_groups: dict) -> tuple[LinearProgram, dict]:
    """The engine's LP with the access rows of merged areas summed and their identical columns merged.

    ``service_groups``: ``{"c": (group, n_groups), "e": (group, n_groups)}``,
    area → group for childcare and eldercare. Exact when the members of a group
    see the same facilities: after summing their access rows, the flow columns
    (area, facility) of the members are the same column (+1 in the group's
    access row, +1 in the facility's capacity row, cost 0, bounds [0, ∞)),
    and so are their access-shortfall columns (checked below: same cost and
    bounds). District rows hold population totals as constants, so districts
    and access shares need not be part of the key: the merged row's
    right-hand side is the sum of share × need.
    """
    lp, p = model.lp, model.prepared
    m, n = lp.shape
    row_new = np.arange(m)            # old row → new row (before compaction)
    keep_row = np.ones(m, bool)
    col_rep = np.arange(n)            # old column → representative column
    for s, pairs in (("c", p.pairs_c), ("e", p.pairs_e)):
        group, n_g = service_groups[s]
        rows = np.arange(m)[lp.row_blocks[f"access_{s}"]]         # one per area, in area order
        _, first = np.unique(group, return_index=True)            # first member of each group
        row_new[rows] = rows[first[group]]
        keep_row[rows] = False
        keep_row[rows[first]] = True
        sf = np.arange(n)[lp.blocks[f"sf_acc_{s}"]]
        col_rep[sf] = sf[first[group]]
        flow = np.arange(n)[lp.blocks[f"flow_{s}"]]               # one per pair
        key = group[pairs.area] * (pairs.facility.max(initial=0) + 1) + pairs.facility
        _, first_pair, inverse = np.unique(key, return_index=True, return_inverse=True)
        col_rep[flow] = flow[first_pair[np.asarray(inverse).ravel()]]
    for name in ("cost", "lower", "upper", "integer"):
        v = getattr(lp, name)
        if not np.array_equal(v, v[col_rep]):
            raise AssertionError(f"merged columns differ in {name}: the merge would not be exact")
    new_index = np.cumsum(keep_row) - 1
    R = sp.csr_matrix((np.ones(m), (new_index[row_new], np.arange(m))), shape=(int(keep_row.sum()), m))
    keep_col = np.flatnonzero(col_rep == np.arange(n))
    A = (R @ lp.A.tocsc()[:, keep_col]).tocsr()
    A.sum_duplicates()
    row_lower, row_upper = R @ lp.row_lower, R @ lp.row_upper  # sums of share × need; ±∞ stay ±∞
    agg = LinearProgram(lp.cost[keep_col], lp.lower[keep_col], lp.upper[keep_col], lp.integer[keep_col], A,
                        row_lower, row_upper, {}, {})
    return agg, {"rows": agg.shape[0], "variables": agg.shape[1], "nonzeros": int(A.nnz)}


def merge_areas(model, *, log=print) -> dict:
    """Merge areas that see the same sites (per service), solve the reduced LP with the engine's default path."""
    sc, p, lp = model.scenario, model.prepared, model.lp
    n_a, n_f = len(sc.areas), len(sc.facilities)
    gc.collect()
    t0 = time.perf_counter()
    keys = {s: reach_keys(pairs, n_a, n_f, seed=k) for k, (s, pairs) in enumerate((("c", p.pairs_c),
                                                                                    ("e", p.pairs_e)))}
    groups = {s: merge_groups(keys[s]) for s in ("c", "e")}
    exact = all(check_groups(pairs, *groups[s]) for s, pairs in (("c", p.pairs_c), ("e", p.pairs_e)))
    t_keys = time.perf_counter() - t0
    agg, shape = aggregate_lp(model, groups)
    t_agg = time.perf_counter() - t0
    full = timed_run(model)  # the full LP with the engine default, back to back with the merged one
    solved = timed_run(SimpleNamespace(lp=agg, scenario=sc))
    # how many areas other key choices would merge (counted only)
    share = np.round(p.access_share_a, 12).view(np.uint64)
    both = merge_groups(keys["c"] + keys["e"])[1]
    conservative = merge_groups(keys["c"] + keys["e"] + [p.area_d.astype(np.uint64), share])[1]
    flows_before = len(p.pairs_c) + len(p.pairs_e)
    flows_after = int(sum(np.unique(groups[s][0][pr.area] * (n_f + 1) + pr.facility).size
                          for s, pr in (("c", p.pairs_c), ("e", p.pairs_e))))
    out = {
        "areas": n_a, "groups_childcare": groups["c"][1], "groups_eldercare": groups["e"][1],
        "groups_both_services": both, "groups_district_share_both": conservative,
        "empty_reach_childcare": int(np.sum(np.bincount(p.pairs_c.area, minlength=n_a) == 0)),
        "empty_reach_eldercare": int(np.sum(np.bincount(p.pairs_e.area, minlength=n_a) == 0)),
        "groups_exact": exact, "flows_before": flows_before, "flows_after": flows_after,
        "lp_before": {"rows": lp.shape[0], "variables": lp.shape[1], "nonzeros": int(lp.A.nnz)},
        "lp_after": shape, "seconds_keys": t_keys, "seconds_aggregate": t_agg,
        "seconds_solve": solved["seconds"], "seconds_total": t_agg + solved["seconds"],
        "cpu_solve": solved["cpu"], "objective": solved["objective"], "status": solved["status"],
        "full_seconds": full["seconds"], "full_cpu": full["cpu"], "full_objective": full["objective"],
        "speedup_vs_full": full["seconds"] / (t_agg + solved["seconds"]),
        "cpu_speedup_vs_full": full["cpu"] / solved["cpu"] if solved["cpu"] > 0 else None,
    }
    log(f"    merge areas: childcare {n_a:,} → {out['groups_childcare']:,} groups, eldercare → "
        f"{out['groups_eldercare']:,}; flows {flows_before:,} → {flows_after:,}; aggregate {t_agg:.3f}s, "
        f"solve {solved['seconds']:.3f}s (full LP {full['seconds']:.3f}s), objective {solved['objective']}")
    return out


# ---------------------------------------------------------------- slider moves

MOVES = (("childcare_per_1000", 5.0), ("affordable_share", 0.6),
         ("beds_per_1000_elderly", 45.0), ("care_bed_share", 0.7))


def _parts(res, total):
    i = res.info
    return {"total": total, "build": i.build_seconds, "solve": i.solve_seconds,
            "result": total - i.build_seconds - i.solve_seconds, "objective": i.objective, "warm": bool(i.warm)}


def warm_starts(sc, moves=MOVES, *, log=print) -> dict:
    """Each slider move solved cold (``planner.solve(sc)``) and warm (``warm_start=prev``)."""
    sc = sc.copy()
    prev = planner.solve(sc, warm_start=True)  # the plan on screen before the first move
    rows = []
    for name, value in moves:
        before = getattr(sc.targets, name)
        setattr(sc.targets, name, value)
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        cold = planner.solve(sc)
        t_cold, cpu_cold = time.perf_counter() - t0, time.process_time() - c0
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        warm = planner.solve(sc, warm_start=prev)
        t_warm, cpu_warm = time.perf_counter() - t0, time.process_time() - c0
        row = {"move": f"{name} {before:g} → {value:g}", "cold": _parts(cold, t_cold), "warm": _parts(warm, t_warm)}
        row["cold"]["cpu"], row["warm"]["cpu"] = cpu_cold, cpu_warm
        row["rel_diff"] = rel_diff(row["cold"]["objective"], row["warm"]["objective"])
        rows.append(row)
        log(f"    warm {row['move']}: cold {t_cold:.3f}s (HiGHS {cold.info.solve_seconds:.3f}s) "
            f"warm {t_warm:.3f}s (HiGHS {warm.info.solve_seconds:.3f}s, reused={warm.info.warm}) "
            f"rel diff {row['rel_diff']:.1e}")
        prev, cold = warm, None
    med = lambda side, part: statistics.median(r[side][part] for r in rows)  # noqa: E731
    out = {"moves": rows,
           "median": {side: {part: med(side, part) for part in ("total", "build", "solve", "result", "cpu")}
                      for side in ("cold", "warm")},
           "max_rel_diff": max(r["rel_diff"] for r in rows),
           "all_reused": all(r["warm"]["warm"] for r in rows)}
    out["objectives_equal"] = out["max_rel_diff"] <= REL_TOL
    out["speedup_total"] = out["median"]["cold"]["total"] / out["median"]["warm"]["total"]
    out["speedup_solve"] = out["median"]["cold"]["solve"] / out["median"]["warm"]["solve"]
    out["speedup_cpu"] = out["median"]["cold"]["cpu"] / out["median"]["warm"]["cpu"]
    return out


def _render_parts(res, lang):
    """build_map, render (folium → HTML) and offline inlining of one map, timed apart."""
    from planner._html import standalone_html
    from planner.maps import build_map

    t0 = time.perf_counter()
    fmap = build_map(res, lang=lang)
    t1 = time.perf_counter()
    fmap.get_root().render()
    t2 = time.perf_counter()
    fmap = build_map(res, lang=lang)  # a fresh map: standalone_html renders it again, then inlines
    t3 = time.perf_counter()
    standalone_html(fmap)
    t4 = time.perf_counter()
    return {"map_build": t1 - t0, "render": t2 - t1, "standalone": t4 - t3, "inline": max(t4 - t3 - (t2 - t1), 0.0)}


def slider_to_map(sc, moves=MOVES, *, lang: str = "zh", profile_top: int = 15, log=print) -> dict:
    """What a widget runs after a slider move: warm re-solve, then the self-contained map HTML."""
    from planner.maps import map_html

    sc = sc.copy()
    prev = planner.solve(sc, warm_start=True)
    map_html(prev, lang=lang)  # imports and template caches warm, as in a running widget
    rows = []
    for name, value in moves:
        setattr(sc.targets, name, value)
        gc.collect()
        t0 = time.perf_counter()
        res = planner.solve(sc, warm_start=prev)
        t1 = time.perf_counter()
        document = map_html(res, lang=lang)
        t2 = time.perf_counter()
        row = _parts(res, t1 - t0)
        row.update(map_html=t2 - t1, path=t2 - t0, html_mb=len(document.encode("utf-8")) / 1e6)
        row.update(_render_parts(res, lang))
        rows.append(row)
        log(f"    slider→map {name}→{value:g}: solve path {t1 - t0:.3f}s (build {row['build']:.3f}, HiGHS "
            f"{row['solve']:.3f}, tables {row['result']:.3f}), map_html {t2 - t1:.3f}s "
            f"({row['html_mb']:.2f} MB): total {t2 - t0:.3f}s")
        prev = res
    keys = ("path", "total", "build", "solve", "result", "map_html", "map_build", "render", "inline", "html_mb")
    out = {"moves": rows, "median": {k: statistics.median(r[k] for r in rows) for k in keys},
           "target_seconds": 0.5, "lang": lang}
    out["meets_target"] = out["median"]["path"] <= 0.5
    out["profile"] = profile_map_html(prev, lang=lang, top=profile_top)
    return out


def profile_map_html(res, *, lang: str = "zh", top: int = 15) -> dict:
    """cProfile of one ``map_html`` call: the top functions by own time and by cumulative time."""
    from planner.maps import map_html

    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    map_html(res, lang=lang)
    prof.disable()
    total = time.perf_counter() - t0
    stats = pstats.Stats(prof, stream=io.StringIO())
    bases = ((os.path.dirname(os.path.dirname(planner.__file__)), ""),   # the repository: planner/...
             (os.path.dirname(os.path.dirname(np.__file__)), ""),        # site-packages: folium/..., branca/...
             (os.path.dirname(os.__file__), "stdlib/"))

    def where(func):
        file, line, name = func
        if file == "~":  # a builtin: no file of its own
            return name
        for base, tag in bases:
            if file.startswith(base + os.sep):
                return f"{tag}{os.path.relpath(file, base)}:{line}({name})"
        return f"{file}:{line}({name})"

    def via(func):
        """The caller that spent most time in a builtin (where a regex search is called from)."""
        callers = stats.stats[func][4]
        if func[0] != "~" or not callers:
            return None
        top = max(callers.items(), key=lambda kv: kv[1][3])
        return f"{where(top[0])} ({top[1][3]:.3f} s of it)"

    entries = [{"where": where(f), "calls": int(v[1]), "own": float(v[2]), "cumulative": float(v[3]),
                "called_from": via(f)} for f, v in stats.stats.items()]
    own = sorted(entries, key=lambda e: -e["own"])[:top]
    planner_cum = sorted((e for e in entries if e["where"].startswith("planner/")),
                         key=lambda e: -e["cumulative"])[:top]
    return {"seconds_profiled": total, "top_own": own, "top_planner_cumulative": planner_cum}


def _profile_entries(prof, top: int, calls_per: int = 1):
    """Planner functions by cumulative time (per call of the profiled statement), with file:line."""
    stats = pstats.Stats(prof, stream=io.StringIO())
    root = os.path.dirname(os.path.dirname(planner.__file__))
    out = []
    for (file, line, name), v in stats.stats.items():
        if file.startswith(root + os.sep + "planner" + os.sep):
            out.append({"where": f"{os.path.relpath(file, root)}:{line}({name})", "calls": int(v[1]) / calls_per,
                        "own": float(v[2]) / calls_per, "cumulative": float(v[3]) / calls_per})
    return sorted(out, key=lambda e: -e["cumulative"])[:top]


def profile_build(sc, repeat: int = 5, top: int = 10) -> dict:
    """Where ``planner.build`` spends its time (cProfile over ``repeat`` builds; figures per build)."""
    planner.build(sc)  # warm
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(repeat):
        planner.build(sc)
    prof.disable()
    return {"seconds_per_build_profiled": (time.perf_counter() - t0) / repeat, "repeat": repeat,
            "top_planner_cumulative": _profile_entries(prof, top, repeat)}
