"""Run the solver on a built model and turn its answer into a Result.

HiGHS (through highspy, from the model's arrays) is the default. PuLP is used
when the scenario has an ``extra_functionality`` hook or asks for CBC; CBC
(bundled with PuLP) is also the fallback when highspy is not importable.
Solver statuses are mapped to outcomes in one place, :func:`_check_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
import time
import warnings

import numpy as np

from ._errors import PlannerError
from .model import Model, build


@dataclass
class SolveInfo:
    """What the solver did: for the result's summary and for benchmarks."""

    solver: str
    status: str           # "optimal" | "time_limit" (a plan was found, not proven optimal)
    objective: float
    build_seconds: float
    solve_seconds: float
    n_variables: int
    n_constraints: int
    n_nonzeros: int
    mip_gap: float | None = None


def solve(scenario, *, model: Model | None = None):
    """Solve a scenario: the least-cost plan meeting its targets, or the best within budget.

    Parameters
    ----------
    scenario : planner.Scenario
    model : Model, optional
        A model already built from this scenario (skips the build).

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
    from .result import Result

    scenario.validate()
    t0 = time.perf_counter()
    model = model or build(scenario)
    build_s = time.perf_counter() - t0
    x, info = run(model)
    info.build_seconds = build_s
    return Result.from_solution(model, x, info)


def run(model: Model):
    """Solve ``model``; returns (column values, SolveInfo)."""
    sc = model.scenario
    opts = sc.options
    use_pulp = sc.extra_functionality is not None or opts.solver == "cbc"
    if not use_pulp:
        try:
            import highspy  # noqa: F401
        except ImportError:  # pragma: no cover - highspy is a dependency
            warnings.warn("highspy is not importable; falling back to CBC", RuntimeWarning, stacklevel=3)
            use_pulp = True
    t0 = time.perf_counter()
    x, status, objective, gap, solver = (_run_pulp if use_pulp else _run_highs)(model)
    lp = model.lp
    info = SolveInfo(solver=solver, status=status, objective=objective, build_seconds=0.0,
                     solve_seconds=time.perf_counter() - t0, n_variables=lp.shape[1],
                     n_constraints=lp.shape[0], n_nonzeros=lp.A.nnz, mip_gap=gap)
    return x, info


def _check_status(status: str, has_solution: bool, solver: str) -> str:
    """Map a solver's status to 'optimal' / 'time_limit', or raise PlannerError."""
    s = status.lower()
    if s in ("optimal", "1"):
        return "optimal"
    if ("time limit" in s or "not solved" in s or s == "0") and has_solution:
        return "time_limit"
    if "time limit" in s or "not solved" in s:
        raise PlannerError(f"{solver} reached the time limit before finding any plan; raise "
                           "options.time_limit_s or switch integer mode off", "options", None, "time_limit_s")
    if "infeasible" in s or "unbounded" in s:
        # Shortfalls make every scenario feasible; this means inconsistent data.
        raise PlannerError(f"{solver} reports the problem {status!r}; check for contradictory "
                           "bounds (min_size > max_size, negative capacities)", "scenario")
    raise PlannerError(f"{solver} failed with status {status!r}", "scenario")


def _run_highs(model: Model):
    import highspy

    lp, opts = model.lp, model.scenario.options
    A = lp.A.tocsc()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(opts.time_limit_s))
    h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
    m = highspy.HighsLp()
    m.num_col_, m.num_row_ = lp.shape[1], lp.shape[0]
    m.col_cost_, m.col_lower_, m.col_upper_ = lp.cost, lp.lower, lp.upper
    m.row_lower_, m.row_upper_ = lp.row_lower, lp.row_upper
    m.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    m.a_matrix_.start_ = A.indptr.astype(np.int32)
    m.a_matrix_.index_ = A.indices.astype(np.int32)
    m.a_matrix_.value_ = A.data.astype(float)
    if lp.integer.any():
        m.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                          for i in lp.integer]
    if h.passModel(m) != highspy.HighsStatus.kOk:
        raise PlannerError("HiGHS rejected the model (a bound or coefficient is not a finite number)", "scenario")
    h.run()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    status = _check_status(h.modelStatusToString(h.getModelStatus()), has_solution, "HiGHS")
    x = np.asarray(h.getSolution().col_value, float)
    gap = float(info.mip_gap) if lp.integer.any() else None
    return x, status, float(info.objective_function_value), gap, "highs"


def _cbc(pulp):
    """PuLP 3's bundled CBC, or PuLP 4's COIN_CMD (CBC from ``pulp[cbc]``)."""
    for name in ("PULP_CBC_CMD", "COIN_CMD"):
        cls = getattr(pulp, name, None)
        if cls is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                if cls(msg=False).available():
                    return lambda **kw: _quiet(cls, **kw)
    raise PlannerError("no CBC solver is available; install highspy or pulp[cbc]", "options", None, "solver")


def _quiet(cls, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return cls(**kw)


def _run_pulp(model: Model):
    import pulp

    sc, opts = model.scenario, model.scenario.options
    prob, variables = model.to_pulp()
    if sc.extra_functionality is not None:
        sc.extra_functionality(prob, variables, sc)
    if opts.solver == "highs" and pulp.HiGHS().available():
        solver, name = pulp.HiGHS(msg=False, timeLimit=opts.time_limit_s, gapRel=opts.mip_gap), "highs"
    else:
        solver, name = _cbc(pulp)(msg=False, timeLimit=opts.time_limit_s, gapRel=opts.mip_gap), "cbc"
    try:
        prob.solve(solver)
    except pulp.PulpSolverError as exc:
        raise PlannerError(f"{name} failed: {exc}", "scenario") from None
    values = [v.varValue for v in variables["_all"]]
    has_solution = all(v is not None for v in values)
    status = _check_status(pulp.LpStatus[prob.status], has_solution and prob.sol_status in (1, 2), name)
    if status == "optimal" and prob.sol_status == 2:
        status = "time_limit"  # integer-feasible but not proven optimal
    x = np.array([0.0 if v is None else v for v in values], float)
    return x, status, float(pulp.value(prob.objective) or 0.0), None, name
