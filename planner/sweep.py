"""Many scenarios at once on Dask: target and budget grids, or one scenario per region.

``sweep`` runs on a ``distributed.LocalCluster`` by default, or on any
``distributed.Client`` (a real cluster), shows a progress bar and returns one
tidy table: a row per scenario with its settings and headline figures.
"""

from __future__ import annotations

from dataclasses import fields
import itertools

import numpy as np
import pandas as pd

from ._errors import PlannerError
from .scenario import Options, Targets

TARGET_NAMES = tuple(f.name for f in fields(Targets))
OPTION_NAMES = tuple(f.name for f in fields(Options))


def grid(**axes) -> list[dict]:
    """All combinations of the given settings, as override dicts.

    >>> grid(childcare_per_1000=[4.0, 4.5], budget=[None, 1e9])  # doctest: +NORMALIZE_WHITESPACE
    [{'childcare_per_1000': 4.0, 'budget': None}, {'childcare_per_1000': 4.0, 'budget': 1000000000.0},
     {'childcare_per_1000': 4.5, 'budget': None}, {'childcare_per_1000': 4.5, 'budget': 1000000000.0}]
    """
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(list(axes[n]) for n in names))]


def apply(scenario, overrides: dict):
    """A copy of ``scenario`` with targets, options, ``budget`` or ``prefecture`` changed."""
    sc = scenario.copy()
    for key, value in overrides.items():
        if key in TARGET_NAMES:
            setattr(sc.targets, key, value)
        elif key in OPTION_NAMES:
            setattr(sc.options, key, value)
        elif key in ("budget", "years", "base_year", "growth", "objective", "target_level"):  # phased plans; levels, equity
            setattr(sc, key, value)
        elif key == "prefecture":
            d = sc.districts
            parent = d.get("parent_name", d["parent_id"]).astype(str)
            hit = (d["parent_id"].astype(str) == str(value)) | (parent == str(value))
            if not hit.any():
                raise PlannerError(f"unknown prefecture {value!r}", "sweep", None, "prefecture")
            sc = sc.subset(d.loc[hit, "district_id"])
        elif key == "label":
            continue
        else:
            raise PlannerError(f"cannot vary {key!r}; use a target, an option, budget, years, growth, objective, "
                               "target_level or prefecture",
                               "sweep", None, key)
    return sc


def _run(scenario, overrides: dict) -> dict:
    """One task: solve and summarise (runs on a worker)."""
    from .plan import solve

    row = dict(overrides)
    try:
        s = solve(apply(scenario, overrides)).summary()
    except PlannerError as exc:
        row.update(status="error", error=str(exc))
        return row
    s.pop("targets", None)
    s.pop("explanations", None)  # a phased plan: money and districts met by year as columns of their own
    for name in ("cost_by_year_yuan", "districts_met_by_year"):
        for year, value in (s.pop(name, None) or {}).items():
            s[f"{name.removesuffix('_by_year_yuan').removesuffix('_by_year')}_{year}"] = value
    s.pop("years", None)
    for key in list(s):
        if key in row:  # the override is already the column; keep the solved value too
            s[f"{key}_solved"] = s.pop(key)
    row.update(s)
    return row


def sweep(scenario, runs=None, client=None, *, progress=True) -> pd.DataFrame:
    """Solve many scenarios on Dask and return one tidy table.

    Parameters
    ----------
    scenario : Scenario or list of Scenario
        With ``runs``: the base scenario that each run modifies (sent to the
        workers once). Without: a list of scenarios, solved as they are.
    runs : list of dict, optional
        Overrides per run, e.g. from :func:`grid`; keys are target names
        (a value may be a schedule ``{year: value}``), option names
        (``discount_rate``…), ``budget``, ``years``, ``growth``,
        ``prefecture`` or a free ``label``. A phased scenario's row gains
        ``cost_<year>`` and ``districts_met_<year>`` columns.
    client : distributed.Client, optional
        Where to run. Default: a ``LocalCluster`` with one single-threaded
        worker process per core, closed afterwards.
    progress : bool
        Show a progress bar (tqdm; in a notebook it renders as a widget).

    Returns
    -------
    DataFrame
        One row per run, in input order: the overrides, then ``status``,
        ``cost_yuan``, shortfalls, before → after figures and solver times.
        A run whose input is bad has ``status == "error"`` and the message.
    """
    from distributed import Client, LocalCluster, as_completed

    if runs is None:
        scenarios = list(scenario)
        jobs = [(sc, {"label": getattr(sc, "name", str(i))}) for i, sc in enumerate(scenarios)]
    else:
        jobs = [(scenario, dict(r)) for r in runs]
    if not jobs:
        return pd.DataFrame()
    own = client is None
    if own:
        _check_main_guard()
        try:
            cluster = LocalCluster(n_workers=_cores(), threads_per_worker=1, processes=True, dashboard_address=None)
        except Exception as exc:  # Dask says only "Nanny failed to start"
            raise PlannerError(f"could not start the Dask worker processes ({exc}). {_GUARD_HINT}",
                               "sweep") from None
        client = Client(cluster)
    try:
        if runs is not None:
            # the tables travel once, not per run; hash=False: a content-hashed key would be shared
            # with an earlier sweep of the same scenario and released when that one finished
            base = client.scatter(scenario, broadcast=True, hash=False)
            futures = [client.submit(_run, base, r, pure=False) for _, r in jobs]
        else:
            futures = [client.submit(_run, sc, r, pure=False) for sc, r in jobs]
        order = {f.key: i for i, f in enumerate(futures)}
        rows = [None] * len(futures)
        bar = _bar(len(futures)) if progress else None
        for fut in as_completed(futures):
            rows[order[fut.key]] = fut.result()
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    finally:
        if own:
            client.close()
            cluster.close()
    return pd.DataFrame(rows)


_GUARD_HINT = ("planner.sweep starts worker processes that import your script again; in a script, put the "
               "code that calls it under  if __name__ == \"__main__\":  (notebooks need nothing), "
               "or pass client=distributed.Client(processes=False) to run in threads")


def _check_main_guard() -> None:
    """Refuse, with the fix, when a plain script calls sweep at its top level without a __main__ guard.

    Dask's workers are spawned processes: each imports the script's main module
    again, which would call sweep again, and Dask reports only "Nanny failed to
    start". Notebooks and ``python -c`` have no main file and are fine.
    """
    import inspect
    import sys

    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if not main_file:
        return
    frame = inspect.currentframe()
    try:
        while frame is not None:
            code = frame.f_code
            if code.co_name == "<module>" and frame.f_globals.get("__name__") in ("__main__", "__mp_main__") \
                    and frame.f_globals.get("__file__") == main_file and not _guarded(main_file, frame.f_lineno):
                raise PlannerError(f"called at the top level of {main_file} without a __main__ guard. "
                                   + _GUARD_HINT, main_file, frame.f_lineno)
            frame = frame.f_back
    finally:
        del frame


def _guarded(path, lineno: int) -> bool:
    """Whether line ``lineno`` of a script runs inside ``if __name__ == "__main__":``."""
    import ast

    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return True  # cannot tell: let Dask try
    for stmt in tree.body:
        if stmt.lineno <= lineno <= (stmt.end_lineno or stmt.lineno):
            return isinstance(stmt, ast.If) and "__name__" in ast.unparse(stmt.test) \
                and "__main__" in ast.unparse(stmt.test)
    return True


def _cores() -> int:
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _bar(total):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="scenarios", unit="run")


def cost_curve(table: pd.DataFrame, x: str = "childcare_per_1000", y: str = "cost_yuan", *, step: float = 0.1,
               ax=None, lang: str = "en"):
    """Plot cost against a target and annotate the cost of each extra ``step``.

    Answers "what does each extra 0.1 slot per 1,000 cost?": the marginal
    cost between neighbouring grid points, scaled to ``step``, is drawn as
    bars on a second axis. Rows of other settings (e.g. several budgets)
    are drawn as separate lines when ``table`` has a ``budget`` column.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if x not in table.columns or y not in table.columns:
        raise PlannerError(f"the sweep table needs columns {x!r} and {y!r}", "sweep", None, x if x not in table else y)
    ok = table[table.get("status", "optimal") != "error"]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    several = "budget" in ok.columns and ok["budget"].nunique(dropna=False) > 1
    if several:  # one line per budget; "no budget" is NaN, which groupby would drop
        label = ok["budget"].map(lambda b: ("no budget" if lang == "en" else "不限预算") if pd.isna(b)
                                 else (f"budget {b / 1e8:g} (100M yuan)" if lang == "en" else f"预算 {b / 1e8:g} 亿元"))
        groups = list(ok.groupby(label.astype(object), sort=False))
    else:
        groups = [("", ok)]
    marg_ax = ax.twinx()
    for name, g in groups:
        g = g.sort_values(x)
        xs, ys = g[x].to_numpy(float), g[y].to_numpy(float) / 1e8
        ax.plot(xs, ys, marker="o", label=name or None)
        if len(xs) > 1:
            per_step = np.diff(ys) / np.diff(xs) * step * 100  # 亿 → 百万 yuan per step
            marg_ax.bar((xs[1:] + xs[:-1]) / 2, per_step, width=np.diff(xs) * 0.4, alpha=0.25)
    ax.set_xlabel(x)
    ax.set_ylabel("cost (100 million yuan)" if lang == "en" else "费用（亿元）")
    marg_ax.set_ylabel(f"cost of +{step:g} (million yuan)" if lang == "en" else f"每增加 {step:g} 的费用（百万元）")
    if several:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


FAIRNESS_COLUMNS = ("min_attainment_childcare", "min_attainment_beds", "gini_slots_per_1000_after",
                    "gini_beds_per_1000_elderly_after")


def fairness_curve(scenario, budgets, client=None, *, progress=True) -> pd.DataFrame:
    """Cost against fairness: each budget solved least-cost and equity-first, on Dask.

    Answers "what does lifting the worst-off district cost?": for every
    budget (yuan; ``None`` = meet every target at least cost) the table has
    one row per objective with the plan's cost, the worst district's
    attainment of each target and the Gini of the per-1,000 rates after.

    Returns
    -------
    DataFrame
        Columns ``budget``, ``objective``, ``status``, ``cost_yuan``, then
        :data:`FAIRNESS_COLUMNS` (and the rest of :func:`sweep`'s columns);
        draw it with :func:`fairness_plot`.
    """
    runs = grid(budget=list(budgets), objective=["least_cost", "equity"])
    table = sweep(scenario, runs, client, progress=progress)
    lead = ["budget", "objective", "status", "cost_yuan", *FAIRNESS_COLUMNS]
    return table[[c for c in lead if c in table] + [c for c in table if c not in lead]]


def fairness_plot(table: pd.DataFrame, measure: str = "min_attainment_childcare", *, ax=None, lang: str = "en"):
    """Draw a :func:`fairness_curve` table: ``measure`` against cost, one line per objective.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    from . import i18n

    for col in ("objective", "cost_yuan", measure):
        if col not in table.columns:
            raise PlannerError(f"the table needs a column {col!r} (from fairness_curve)", "sweep", None, col)
    ok = table[table.get("status", "optimal") != "error"]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for objective, g in ok.groupby("objective", sort=False):
        g = g.sort_values("cost_yuan")
        ax.plot(g["cost_yuan"].to_numpy(float) / 1e8, g[measure].to_numpy(float), marker="o",
                label=i18n.t(f"objective_{objective}", lang))
    ax.set_xlabel("cost (100 million yuan)" if lang == "en" else "费用（亿元）")
    key = measure.rsplit("_after", 1)[0]
    ax.set_ylabel(i18n.t(key, lang) if key in i18n.LABELS else measure)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax
