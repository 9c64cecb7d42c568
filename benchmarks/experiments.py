"""Engine speed-ups one by one, the area-merging experiment, warm starts, slider → map.

Used by ``bench_solve.py`` (one size per subprocess); every function returns
a JSON-able dict and checks the optimal cost against the plain model.

* :func:`ladder` — the same scenario solved by the engine's own HiGHS path
  (``planner.solve.run``) with its speed-ups switched on one at a time:
  plain (one block, HiGHS defaults, areas not merged) → presolve off → block
  split on one thread → block split on two threads → areas that see the same
  sites merged (the engine default), and IPM instead of simplex. The
  switches are the engine's module globals ``blocks``, ``_cores`` and
  ``LP_OPTIONS``, patched for the duration of one run, and
  ``planner.build(sc, merge_areas=False)``.
* :func:`merge_areas` — what the engine's area merging does to the LP:
  groups, columns, the grouping time inside ``planner.build``, and the solve
  of the merged and the full LP back to back (groups checked independently).
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

import planner

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


# (key, label, engine settings, merged model?): cumulative, as the issue lists them.
LADDER = (
    ("plain", "plain: one block, HiGHS defaults (presolve on, dual simplex)",
     dict(one_block=True, lp_options={}), False),
    ("presolve_off", "+ presolve off", dict(one_block=True, lp_options={"presolve": "off"}), False),
    ("split_1", "+ block split, solved on 1 thread", dict(lp_options={"presolve": "off"}, threads=1), False),
    ("split_2", "+ block split on 2 threads", dict(lp_options={"presolve": "off"}), False),
    ("merge", "+ areas that see the same sites merged (engine default)", dict(lp_options={"presolve": "off"}),
     True),
    ("ipm", "IPM instead of simplex (one block, HiGHS presolve)", dict(one_block=True, lp_options={"solver": "ipm"}),
     False),
)


def ladder(sc, repeat: int = 1, *, ipm_limit: float | None = None, log=print) -> dict:
    """Each speed-up on its own, on the same scenario; medians of ``repeat`` runs."""
    models = {False: planner.build(sc, merge_areas=False), True: planner.build(sc)}
    out = {"engine_lp_options": dict(ENGINE.LP_OPTIONS), "blocks": len(ENGINE.blocks(models[True].lp)),
           "blocks_unmerged": len(ENGINE.blocks(models[False].lp)),
           "block_nonzeros_threshold": ENGINE.BLOCK_NONZEROS, "rows": {}}
    for key, label, settings, merged in LADDER:
        runs = []
        limit = ipm_limit if key == "ipm" else None
        for _ in range(1 if (key == "ipm" and ipm_limit) else repeat):
            with engine_settings(**settings):
                runs.append(timed_run(models[merged], limit))
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

def check_groups(pairs, group, n_groups) -> bool:
    """Exact, and written apart from the engine: every member of a group sees exactly the same facilities."""
    size = np.bincount(group, minlength=n_groups)
    count = np.bincount(pairs.area, minlength=len(group))
    gp = np.unique(group[pairs.area] * (pairs.facility.max(initial=0) + 1) + pairs.facility)
    union = np.bincount(gp // (pairs.facility.max(initial=0) + 1), minlength=n_groups)
    # a member's set ⊆ its group's union; equal sizes everywhere ⇔ all sets equal the union
    return bool(np.all(count == union[group]) and np.sum(union * size) == len(pairs))


def merge_areas(sc, *, log=print) -> dict:
    """The engine's merging of areas that see the same sites: what it saves, what it costs."""
    from planner.model import AreaGroups

    full, merged = planner.build(sc, merge_areas=False), planner.build(sc)
    p, n_a = full.prepared, len(sc.areas)
    gc.collect()
    t0 = time.perf_counter()
    groups = {s: AreaGroups.from_pairs(pairs, n_a, p.area_d) for s, pairs in (("c", p.pairs_c), ("e", p.pairs_e))}
    t_group = time.perf_counter() - t0
    exact = all(check_groups(pairs, groups[s].of_area, groups[s].n) and groups[s].n == merged.groups[s].n
                for s, pairs in (("c", p.pairs_c), ("e", p.pairs_e)))
    full_run = timed_run(full)  # back to back
    solved = timed_run(merged)
    flows_before = len(p.pairs_c) + len(p.pairs_e)
    flows_after = sum(len(g.flow_pairs) for g in merged.groups.values())
    shape = lambda lp: {"rows": lp.shape[0], "variables": lp.shape[1], "nonzeros": int(lp.A.nnz)}  # noqa: E731
    out = {
        "areas": n_a, "groups_childcare": merged.groups["c"].n, "groups_eldercare": merged.groups["e"].n,
        "empty_reach_childcare": int(np.sum(np.bincount(p.pairs_c.area, minlength=n_a) == 0)),
        "empty_reach_eldercare": int(np.sum(np.bincount(p.pairs_e.area, minlength=n_a) == 0)),
        "groups_exact": exact, "flows_before": flows_before, "flows_after": flows_after,
        "lp_before": shape(full.lp), "lp_after": shape(merged.lp), "seconds_grouping": t_group,
        "seconds_solve": solved["seconds"], "cpu_solve": solved["cpu"], "objective": solved["objective"],
        "status": solved["status"], "full_seconds": full_run["seconds"], "full_cpu": full_run["cpu"],
        "full_objective": full_run["objective"],
        "speedup_vs_full": full_run["seconds"] / solved["seconds"],
        "cpu_speedup_vs_full": full_run["cpu"] / solved["cpu"] if solved["cpu"] > 0 else None,
    }
    log(f"    merge areas: childcare {n_a:,} → {out['groups_childcare']:,} groups, eldercare → "
        f"{out['groups_eldercare']:,}; flows {flows_before:,} → {flows_after:,}; grouping {t_group:.3f}s, "
        f"solve {solved['seconds']:.3f}s (full LP {full_run['seconds']:.3f}s), objective {solved['objective']}")
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
