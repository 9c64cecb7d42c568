"""Run the solver on a built model: HiGHS blocks, warm starts, statuses, duals.

HiGHS (through highspy, from the model's arrays) is the default, also with an
``extra_functionality`` hook (its rows are part of the built model). PuLP is
used when the scenario asks for CBC; CBC (bundled with PuLP) is also the
fallback when highspy is not importable.
Solver statuses are mapped to outcomes in one place, :func:`_check_status`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import contextlib
import os
import threading
import time
import warnings

import numpy as np

from ._errors import PlannerError
from .model import Model


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
    warm: bool = False    # re-solved from the previous plan's solvers
    duals: object = field(default=None, repr=False)  # row duals (LP on HiGHS), objective units per row unit
    equity: dict | None = None  # objective "equity": stage 1's worst attainment per target
    integer: bool = False  # the model had integer columns (integer mode)
    state: object = field(default=None, repr=False)  # solvers kept for the next warm start


EQUITY_FLOOR_SLACK = 1e-7  # a partial attainment held in stage 2: stage 1's value less this (round-off)


def run_equity(model: Model):
    """The equity objective in two solves (lexicographic); returns (column values, SolveInfo).

    1. Within the budget (and every other row of the model), maximise
       worst + ε · Σ attain_t: the worst district's attainment of the two
       targets together, then each target's own worst
       (:func:`planner.formulation.define_equity_floor`).
    2. Hold attain_t ≥ stage 1's values and solve the plan's own objective:
       least cost, or in budget mode the least shortfall then least cost.

    ``info.equity`` holds stage 1's attainments; the time is both solves'.
    """
    from dataclasses import replace

    from .formulation import EQUITY_EPSILON

    lp = model.lp
    att, worst = lp.blocks["attain"], lp.blocks["attain_worst"]
    first = np.zeros_like(lp.cost)
    first[worst] = -1.0
    first[att] = -EQUITY_EPSILON
    x1, info1 = run(replace(model, lp=replace(lp, cost=first)))
    # a target met in full stays met in full; a partial attainment is held less the solver's round-off
    reached = x1[att]
    floor = np.clip(np.where(reached >= 1.0 - 1e-9, 1.0, reached - EQUITY_FLOOR_SLACK), 0.0, 1.0)
    lower = lp.lower.copy()
    lower[att] = floor
    x, info = run(replace(model, lp=replace(lp, lower=lower)))
    info.solve_seconds += info1.solve_seconds
    info.equity = {"attain_childcare": float(x1[att][0]), "attain_beds": float(x1[att][1]),
                   "attain_worst": float(x1[worst][0])}
    if info1.status == "time_limit":
        info.status = "time_limit"
    return x, info


def run(model: Model, warm=None, keep=False, start=None, parts=None):
    """Solve ``model``; returns (column values, SolveInfo).

    ``start(rows, cols)``, optional, gives a starting basis for each HiGHS block:
    (column statuses, row statuses) of those rows and columns (see :func:`planner.phased.run_phased`).
    ``parts``, optional, are the HiGHS blocks (rows, columns) to solve instead of :func:`blocks`: independent
    pieces of the model; columns outside them are returned as 0 (the caller solves them otherwise).
    """
    sc = model.scenario
    opts = sc.options
    use_pulp = opts.solver == "cbc"
    if not use_pulp:
        try:
            import highspy  # noqa: F401
        except ImportError:  # pragma: no cover - highspy is a dependency
            warnings.warn("highspy is not importable; falling back to CBC", RuntimeWarning, stacklevel=3)
            use_pulp = True
    t0 = time.perf_counter()
    state = None
    duals = None
    if use_pulp:
        x, status, objective, gap, solver = _run_pulp(model)
    else:
        x, status, objective, gap, solver, state, duals = _run_highs(model, warm, start, parts)
    lp = model.lp
    info = SolveInfo(solver=solver, status=status, objective=objective, build_seconds=0.0,
                     solve_seconds=time.perf_counter() - t0, n_variables=lp.shape[1],
                     n_constraints=lp.shape[0], n_nonzeros=lp.A.nnz, mip_gap=gap,
                     warm=state is not None and state is warm, state=state if keep else None, duals=duals,
                     integer=bool(lp.integer.any()))
    return x, info


def fixed_site_duals(model: Model, x, run_lp=None) -> np.ndarray | None:
    """Row duals of the LP with the site decisions (``open``) fixed at ``x`` (docs/model.md, marginal costs).

    For integer plans (and the CBC path, which returns no duals): the other
    decisions are relaxed to continuous values, so the duals price one more
    unit of a target with the chosen sites kept. ``None`` without highspy.
    ``run_lp(model)``, optional, solves that LP instead of one HiGHS run over
    its blocks (a phased model: :func:`planner.phased.run_phased`, year by year).
    """
    try:
        import highspy  # noqa: F401
    except ImportError:  # pragma: no cover - highspy is a dependency
        return None
    from dataclasses import replace

    lp = model.lp
    lower, upper = lp.lower.copy(), lp.upper.copy()
    sites = lp.blocks["open"]
    fixed = np.clip(np.round(np.asarray(x, float)[sites]) if lp.integer[sites].any() else np.asarray(x, float)[sites],
                    lp.lower[sites], lp.upper[sites])
    lower[sites] = upper[sites] = fixed
    relaxed = replace(model, lp=replace(lp, lower=lower, upper=upper, integer=np.zeros_like(lp.integer)))
    try:
        if run_lp is not None:
            return run_lp(relaxed)[1].duals
        *_, duals = _run_highs(relaxed, None)
    except PlannerError:
        return None
    return duals


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


# Measured on the benchmark instances (benchmarks/RESULTS.md): HiGHS's presolve
# costs more than it saves on these flow-heavy LPs (province 19.6 s → 10.7 s with
# the split below); integer mode keeps it, branch-and-bound needs it.
LP_OPTIONS = {"presolve": "off"}
# The relaxation of an integer block (solved first, see _run_highs) is no flow-heavy LP: its coverage rows
# and tightened site bounds leave HiGHS's presolve much to remove (3,000 × 600 MCLP: 0.063 → 0.046 s,
# city 0.042 → 0.031 s). Below this many nonzeros presolve's fixed cost outweighs it (county: +0.3 ms).
RELAXATION_PRESOLVE_NONZEROS = 5_000
# Branch-and-bound: every plan of this model is feasible (shortfalls absorb any target), so the
# feasibility jump heuristic can only find plans of the all-shortfall kind, and the root
# reduced-cost sub-MIP duplicates the search on the maximal-coverage rows. Both off: the
# 3,000 × 600 MCLP's branch-and-bound 0.32 → 0.19 s, another seed with p = 40 7.8 → 3.6 s, the
# Shanxi integer demo unchanged within its noise; same proven optima (benchmarks/RESULTS.md).
# (An option a highspy release does not know is refused without effect.)
MIP_OPTIONS = {"mip_heuristic_run_feasibility_jump": False, "mip_heuristic_run_root_reduced_cost": False}
BLOCK_NONZEROS = 20_000  # independent pieces smaller than this are solved together
POOL_NONZEROS = 5_000    # blocks at least this big are worth a thread of their own (see _run_highs)


def blocks(lp) -> list[tuple[np.ndarray, np.ndarray]]:
    """Independent pieces of the problem: (rows, columns) per block.

    Two columns are in the same piece when a row links them (connected
    components of the row–column graph of ``A``), so pieces share no
    constraint and solving them apart gives the same optimum. Reach and
    district rows keep most of a province apart; a budget row, or a user's
    ``extra_functionality`` row, joins everything it touches. Small pieces
    are packed together so per-solve overhead stays small.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    m, n = lp.shape
    A = lp.A.tocsc()
    # The graph's edges are A's columns → their rows, read straight from the CSC arrays (no COO copy, no
    # sort): node m + j links to rows indices[indptr[j]:indptr[j + 1]]; weak components = undirected ones.
    graph = sparse.csr_matrix((np.ones(A.nnz, np.int8), A.indices,
                               np.concatenate([np.zeros(m, A.indptr.dtype), A.indptr])), shape=(m + n, m + n))
    k, label = connected_components(graph, directed=True, connection="weak")
    if k == 1:
        return [(np.arange(m), np.arange(n))]
    row_label, col_label = label[:m], label[m:]
    size = np.bincount(col_label, np.diff(A.indptr) + 1.0, minlength=k)  # nonzeros + columns per piece
    # Largest first: a big piece is a block of its own; small ones fill a block up to the threshold.
    # (A block closes once it holds BLOCK_NONZEROS: found per block on the running sum, not per piece.)
    order = np.argsort(-size, kind="stable")
    total = np.cumsum(size[order])
    block_of = np.empty(k, np.int64)
    start, n_blocks = 0, 0
    while start < k:
        before = total[start - 1] if start else 0.0
        end = min(max(int(np.searchsorted(total, before + BLOCK_NONZEROS, side="left")), start), k - 1)
        block_of[order[start:end + 1]] = n_blocks
        start, n_blocks = end + 1, n_blocks + 1
    rows_by = np.argsort(block_of[row_label], kind="stable")
    cols_by = np.argsort(block_of[col_label], kind="stable")
    row_cut = np.cumsum(np.bincount(block_of[row_label], minlength=n_blocks))[:-1]
    col_cut = np.cumsum(np.bincount(block_of[col_label], minlength=n_blocks))[:-1]
    return list(zip(np.split(rows_by, row_cut), np.split(cols_by, col_cut)))


@dataclass
class _HighsState:
    """HiGHS solvers of a solved model, one per block, for warm starts."""

    A: object          # the model's matrix (CSC)
    integer: np.ndarray
    parts: list
    solvers: list


def _run_highs(model: Model, warm: _HighsState | None = None, start=None, parts=None):
    """Solve each independent block with HiGHS, on as many threads as cores.

    With ``warm`` from a model of the same shape, each block's solver gets
    the new costs, bounds and coefficients and restarts from its last basis.
    """
    from concurrent.futures import ThreadPoolExecutor

    lp, opts = model.lp, model.scenario.options
    A = lp.A.tocsc()
    reuse = warm is not None and _same_shape(warm, A, lp.integer)
    parts = warm.parts if reuse else (blocks(lp) if parts is None else parts)
    deadline = time.perf_counter() + float(opts.time_limit_s)
    changed = _changed_coefficients(warm.A, A, parts) if reuse else None

    def solve_block(k):
        rows, cols = parts[k]
        if reuse:
            h = warm.solvers[k]
            _update(h, lp, rows, cols, changed.get(k, ()))
        else:
            sub = _block_matrix(A, rows, cols) if len(parts) > 1 or len(cols) < A.shape[1] else A
            integer = lp.integer[cols]
            if integer.any():  # the relaxation first: when it is integral it is a proven optimum
                h = _new_highs(sub, lp.cost[cols], lp.lower[cols], lp.upper[cols], lp.row_lower[rows],
                               lp.row_upper[rows], np.zeros_like(integer), opts)
                if sub.nnz >= RELAXATION_PRESOLVE_NONZEROS:
                    h.setOptionValue("presolve", "on")
                h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 1e-3))
                h.run()
                answer = _integral_relaxation(h, integer)
                if answer is not None:
                    return h, answer[:4], answer[4]
            h = _new_highs(sub, lp.cost[cols], lp.lower[cols], lp.upper[cols], lp.row_lower[rows],
                           lp.row_upper[rows], integer, opts)
            if start is not None:
                _set_basis(h, *start(rows, cols))
        h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 1e-3))
        h.run()
        integer = lp.integer[cols].any()
        return h, _read(h, integer), (None if integer else np.asarray(h.getSolution().row_dual, float))

    # Blocks go to a thread pool only when at least two of them are big: running a small block beside
    # a big one gains nothing and costs (HiGHS instances running at once contend: the 3,000 × 600
    # MCLP's fixed-site LP, one block of 24,000 nonzeros and one of 400, 16 ms alone vs 41 ms pooled).
    size = np.diff(A.indptr)
    big = sum(int(size[cols].sum()) >= POOL_NONZEROS for _, cols in parts)
    workers = min(big, _cores())
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:  # highspy releases the GIL while it solves
            answers = list(pool.map(solve_block, range(len(parts))))
    else:
        answers = [solve_block(k) for k in range(len(parts))]
    x = np.zeros(lp.shape[1])
    # Row duals of every block: LP blocks, and integer blocks whose relaxation was integral (those are
    # duals of the LP with the sites fixed as well: fixing columns at an optimal point keeps it optimal).
    # None as soon as one block went through branch-and-bound (then solve.fixed_site_duals).
    duals = np.zeros(lp.shape[0]) if all(y is not None for *_, y in answers) else None
    for (rows, cols), (h, (x_part, *_), y) in zip(parts, answers):
        x[cols] = x_part
        if duals is not None:
            duals[rows] = y
    results = [r for _, r, _ in answers]
    status = "time_limit" if any(r[1] == "time_limit" for r in results) else "optimal"
    gaps = [r[3] for r in results if r[3] is not None]
    objective = float(sum(r[2] for r in results))
    state = warm if reuse else _HighsState(A, lp.integer.copy(), parts, [h for h, *_ in answers])
    if reuse:
        state.A = A
    return x, status, objective, (max(gaps) if gaps else None), "highs", state, duals


INT_TOL = 1e-6  # HiGHS's mip_feasibility_tolerance: an integer column this close is integral


def _integral_relaxation(h, integer):
    """(x, "optimal", objective, gap 0, row duals) if the solved relaxation in ``h`` is integral, else None.

    An integral optimum of the relaxation is feasible for the MIP and meets the
    relaxation's bound, so it is proven optimal without branch-and-bound. Its
    row duals stay optimal for the LP with the integer columns fixed at that
    optimum (``fixed_site_duals``: fixing columns at an optimal point only drops
    their reduced-cost conditions), so they are kept. The solver is then marked
    integer, so a warm re-solve runs the MIP.
    """
    import highspy

    try:
        x, status, objective, _ = _read(h, False)
    except PlannerError:
        return None
    if status != "optimal" or np.abs(x[integer] - np.round(x[integer])).max(initial=0.0) > INT_TOL:
        return None
    x = np.where(integer, np.round(x), x)
    duals = np.asarray(h.getSolution().row_dual, float)  # read before the integrality change resets them
    idx = np.flatnonzero(integer).astype(np.int32)
    h.changeColsIntegrality(len(idx), idx, np.full(len(idx), highspy.HighsVarType.kInteger))
    h.setOptionValue("presolve", "choose")  # a warm re-solve is branch-and-bound: the MIP's options
    for key, value in MIP_OPTIONS.items():
        h.setOptionValue(key, value)
    return x, "optimal", objective, 0.0, duals


def basis_codes(statuses) -> np.ndarray:
    """HiGHS basis statuses (``highspy.HighsBasisStatus`` per column or row) as small integers.

    highspy hands out a new Python object per status: a province's columns over five years held
    that way were more than a gigabyte; one byte each is what a basis needs.
    """
    return np.fromiter((s.value for s in statuses), np.int8, count=len(statuses))


def basis_statuses(codes) -> np.ndarray:
    """The ``highspy.HighsBasisStatus`` of each code of :func:`basis_codes` (the enum's five values, shared)."""
    import highspy

    table = np.array([highspy.HighsBasisStatus(k) for k in range(5)], object)
    return table[np.asarray(codes, np.int64)]


def _set_basis(h, col_status, row_status) -> None:
    """Start a block's simplex from the given basis statuses (``highspy.HighsBasisStatus`` per column and row)."""
    import highspy

    basis = highspy.HighsBasis()
    basis.col_status = list(col_status)
    basis.row_status = list(row_status)
    basis.valid = True
    h.setBasis(basis)


def _block_matrix(A, rows, cols):
    """Columns ``cols`` of the CSC matrix ``A``, rows renumbered: they touch only ``rows`` (sorted)."""
    from scipy import sparse

    sub = A[:, cols]
    local = np.empty(A.shape[0], np.int64)
    local[rows] = np.arange(len(rows))
    return sparse.csc_matrix((sub.data, local[sub.indices], sub.indptr), shape=(len(rows), len(cols)))


def _same_shape(warm: _HighsState, A, integer) -> bool:
    """Same sparsity pattern and integrality: only values, bounds and costs may differ."""
    old = warm.A
    return (old.shape == A.shape and old.nnz == A.nnz and np.array_equal(old.indptr, A.indptr)
            and np.array_equal(old.indices, A.indices) and np.array_equal(warm.integer, integer))


def _changed_coefficients(old, new, parts) -> dict:
    """Block → list of (local row, local column, value) for coefficients that changed."""
    diff = np.flatnonzero(old.data != new.data)
    if not len(diff):
        return {}
    col = np.repeat(np.arange(new.shape[1]), np.diff(new.indptr))[diff]  # CSC
    row = new.indices[diff]
    where_row = np.empty(new.shape[0], np.int64)
    local_row = np.empty(new.shape[0], np.int64)
    local_col = np.empty(new.shape[1], np.int64)
    for k, (rows, cols) in enumerate(parts):
        where_row[rows], local_row[rows], local_col[cols] = k, np.arange(len(rows)), np.arange(len(cols))
    out = {}
    for r, c, v in zip(row, col, new.data[diff]):
        out.setdefault(int(where_row[r]), []).append((int(local_row[r]), int(local_col[c]), float(v)))
    return out


def _update(h, lp, rows, cols, coefficients) -> None:
    """Give a block's solver the new costs, bounds, row bounds and coefficients."""
    n, m = len(cols), len(rows)
    ci, ri = np.arange(n, dtype=np.int32), np.arange(m, dtype=np.int32)
    h.changeColsCost(n, ci, lp.cost[cols])
    h.changeColsBounds(n, ci, lp.lower[cols], lp.upper[cols])
    h.changeRowsBounds(m, ri, lp.row_lower[rows], lp.row_upper[rows])
    for r, c, v in coefficients:
        h.changeCoeff(r, c, v)


_BANNER_LOCK = threading.Lock()
_banner_shown = False


def quiet_highs():
    """``highspy.Highs()`` without its licence banner in the notebook, the CLI or Voila.

    HiGHS prints the banner from C++ once per process, when the first instance
    is made, before any option can turn output off; so the first instance is
    made with the process's standard output pointed at /dev/null.
    """
    global _banner_shown
    import highspy

    if _banner_shown:
        return highspy.Highs()
    with _BANNER_LOCK:
        if _banner_shown:
            return highspy.Highs()
        with _stdout_to_devnull():
            h = highspy.Highs()
        _banner_shown = True
        return h


@contextlib.contextmanager
def _stdout_to_devnull():
    import ctypes
    import sys

    for stream in (sys.stdout, sys.__stdout__):
        with contextlib.suppress(Exception):
            stream.flush()
    libc = ctypes.CDLL(None)
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
    except (AttributeError, OSError, ValueError):
        fd = 1
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        libc.fflush(None)  # what C++ buffered goes to /dev/null, not to the next cell
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _new_highs(A, cost, lower, upper, row_lower, row_upper, integer, opts):
    """A HiGHS instance holding one block, ready to run."""
    import highspy

    h = quiet_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
    for key, value in (MIP_OPTIONS if integer.any() else LP_OPTIONS).items():
        h.setOptionValue(key, value)
    m = highspy.HighsLp()
    m.num_col_, m.num_row_ = A.shape[1], A.shape[0]
    m.col_cost_, m.col_lower_, m.col_upper_ = cost, lower, upper
    m.row_lower_, m.row_upper_ = row_lower, row_upper
    m.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    m.a_matrix_.start_ = A.indptr.astype(np.int32)
    m.a_matrix_.index_ = A.indices.astype(np.int32)
    m.a_matrix_.value_ = A.data.astype(float)
    if integer.any():
        m.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                          for i in integer]
    if h.passModel(m) != highspy.HighsStatus.kOk:
        raise PlannerError("HiGHS rejected the model (a bound or coefficient is not a finite number)", "scenario")
    return h


def _read(h, integer: bool):
    """(x, status, objective, mip gap) of a HiGHS run; raises PlannerError on failure."""
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    status = _check_status(h.modelStatusToString(h.getModelStatus()), has_solution, "HiGHS")
    gap = float(info.mip_gap) if integer else None
    return np.asarray(h.getSolution().col_value, float), status, float(info.objective_function_value), gap


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


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

    opts = model.scenario.options
    prob, variables = model.to_pulp()  # the extra_functionality rows are in the model already
    if opts.solver == "highs":
        with contextlib.suppress(ImportError):
            quiet_highs()  # PuLP's HiGHS makes its own instances: the banner is spent here first
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
