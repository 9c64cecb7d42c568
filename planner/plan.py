"""``planner.solve(scenario)``: a scenario's plan, from the model to the Result.

The top of the one-way flow (files → validated frames → Scenario → LP →
Result): build the model (:mod:`planner.model`, or :mod:`planner.phased` for
plan years), run the solver (:mod:`planner.solve`), read the answer
(:class:`planner.Result`). Nothing in ``planner`` imports this module but
the package's face and the sweeps.
"""

from __future__ import annotations

import time

from . import solve as runner
from .model import Model, build
from .phased import build_phased, phased_result, run_phased
from .result import Result


def solve(scenario, *, model: Model | None = None, warm_start=None):
    """Solve a scenario: the least-cost plan meeting its targets, or the best within budget.

    Parameters
    ----------
    scenario : planner.Scenario
    model : Model, optional
        A model already built from this scenario (skips the build).
    warm_start : Result or True, optional
        For interactive re-solves (a slider moved): a previous Result solved
        with ``warm_start`` keeps its HiGHS solvers; when only targets,
        budget or costs changed (same reach pairs, same problem shape), those
        solvers are updated in place and restart from the previous optimal
        basis. ``True`` starts fresh but keeps the solvers for next time.
        Ignored on the PuLP/CBC path. The answer is the same either way.

    Returns
    -------
    planner.Result
        Never raises for an unmet target: ``status`` is ``"shortfall"`` and the
        district table says how much and why.

    Raises
    ------
    PlannerError
        Bad settings, or the solver failed (message says what to change).
    """
    scenario.validate()
    t0 = time.perf_counter()
    if scenario.phased:  # one model over all plan years (planner.phased)
        model = model or build_phased(scenario)
    else:
        model = model or build(scenario)
    build_s = time.perf_counter() - t0
    keep = warm_start is not None and warm_start is not False
    previous = getattr(getattr(warm_start, "info", None), "state", None)
    if scenario.phased:
        x, info = run_phased(model, warm=previous, keep=keep)
        info.build_seconds = build_s
        if info.duals is None:  # integer mode or CBC: duals of the LP with the sites of every year fixed
            info.duals = runner.fixed_site_duals(model, x, run_lp=run_phased if scenario.options.solver == "highs"
                                                 else None)
        return phased_result(model, x, info)
    if getattr(scenario, "objective", "least_cost") == "equity":
        x, info = runner.run_equity(model)
    else:
        x, info = runner.run(model, warm=previous, keep=keep)
    info.build_seconds = build_s
    if info.duals is None:
        info.duals = runner.fixed_site_duals(model, x)
    return Result.from_solution(model, x, info)
