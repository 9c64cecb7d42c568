"""The speed-ups keep the plain model's optimum: independent blocks, presolve, warm starts."""

import sys

import numpy as np
import pytest

import planner
from conftest import area, childcare, eldercare, scenario

solve_module = sys.modules["planner.solve"]


def two_towns(**targets):
    """Two districts 20 km apart: nothing links them but a budget."""
    areas = [area("a1", "D1", pop60=1000), area("a2", "D2", pop60=800, lon=112.78)]
    facs = [childcare("c1", "D1", slots=20, affordable=5, max_add=60, cost=2000),
            childcare("n1", "D1", candidate=True, fixed=20_000, cost=900, min_size=10, max_size=80),
            eldercare("e1", "D1", beds=20, care=5, max_add=60, cost=5000, conv=400),
            childcare("c2", "D2", slots=10, affordable=10, max_add=50, cost=2500, lon=112.78),
            eldercare("e2", "D2", beds=10, care=2, max_add=40, cost=6000, conv=500, lon=112.78)]
    return scenario(areas, facs, **targets)


def plain(sc, monkeypatch):
    """The same scenario solved as one block with HiGHS's default presolve."""
    with monkeypatch.context() as m:
        m.setattr(solve_module, "blocks", lambda lp: [(np.arange(lp.shape[0]), np.arange(lp.shape[1]))])
        m.setattr(solve_module, "LP_OPTIONS", {})
        return planner.solve(sc)


def test_independent_districts_are_separate_blocks():
    model = planner.build(two_towns())
    with pytest.MonkeyPatch.context() as m:
        m.setattr(solve_module, "BLOCK_NONZEROS", 1)  # no packing: one block per piece
        parts = solve_module.blocks(model.lp)
    assert len(parts) == 4  # two districts × (childcare, elderly care): no row links them
    cols = np.sort(np.concatenate([c for _, c in parts]))
    assert np.array_equal(cols, np.arange(model.lp.shape[1]))  # every column in exactly one block


@pytest.mark.parametrize("threshold", [0, 1, 7, 40, 10**9])
def test_blocks_pack_pieces_largest_first_until_a_block_is_full(threshold):
    """The pieces of a block-diagonal matrix (random sizes) are packed like the greedy rule says: largest
    first, a block closed once it holds ``BLOCK_NONZEROS`` (nonzeros + columns) or more."""
    import scipy.sparse as sparse
    from types import SimpleNamespace

    rng = np.random.default_rng(threshold)
    shapes = [(int(rng.integers(1, 4)), int(rng.integers(1, 6))) for _ in range(40)]
    A = sparse.block_diag([sparse.csc_matrix(np.ones(s)) for s in shapes], format="csc")
    with pytest.MonkeyPatch.context() as m:
        m.setattr(solve_module, "BLOCK_NONZEROS", threshold)
        parts = solve_module.blocks(SimpleNamespace(shape=A.shape, A=A))
    size = np.array([r * c + c for r, c in shapes], float)  # nonzeros + columns of each piece
    expect, filled = [[]], 0.0
    for k in np.argsort(-size, kind="stable"):
        if filled >= threshold and expect[-1]:
            expect.append([])
            filled = 0.0
        expect[-1].append(k)
        filled += size[k]
    col_start = np.concatenate([[0], np.cumsum([c for _, c in shapes])])
    got = [sorted(set(np.searchsorted(col_start, cols, side="right") - 1)) for _, cols in parts]
    assert got == [sorted(b) for b in expect]
    assert sorted(np.concatenate([c for _, c in parts])) == list(range(A.shape[1]))


def test_a_budget_joins_everything():
    sc = two_towns()
    sc.budget = 100_000
    with pytest.MonkeyPatch.context() as m:
        m.setattr(solve_module, "BLOCK_NONZEROS", 1)
        assert len(solve_module.blocks(planner.build(sc).lp)) == 1


@pytest.mark.parametrize("integer", [False, True])
@pytest.mark.parametrize("budget", [None, 60_000])
def test_blocks_and_options_keep_the_optimum(monkeypatch, integer, budget):
    sc = two_towns()
    sc.options.integer, sc.budget = integer, budget
    monkeypatch.setattr(solve_module, "BLOCK_NONZEROS", 1)
    fast, slow = planner.solve(sc), plain(sc, monkeypatch)
    assert fast.cost == pytest.approx(slow.cost, rel=1e-9, abs=1e-6)
    for col in ("shortfall_slots", "shortfall_beds", "shortfall_affordable", "shortfall_care_beds"):
        assert fast.districts[col].sum() == pytest.approx(slow.districts[col].sum(), abs=1e-6)


@pytest.mark.parametrize("prefecture", ["阳泉市", "晋城市"])
def test_demo_prefectures_keep_the_optimum(monkeypatch, prefecture):
    sc = planner.load_demo("shanxi", prefecture=prefecture)
    fast, slow = planner.solve(sc), plain(sc, monkeypatch)
    assert fast.cost == pytest.approx(slow.cost, rel=1e-9)
    assert fast.summary()["shortfall_access_childcare"] == pytest.approx(
        slow.summary()["shortfall_access_childcare"], abs=1e-6)


# (setting, value, warm?): a budget switched on or off adds or drops a row, so that solve is cold.
MOVES = [("childcare_per_1000", 5.5, True), ("affordable_share", 0.7, True), ("care_bed_share", 0.8, True),
         ("beds_per_1000_elderly", 55, True), ("access_share", 0.95, True), ("budget", 150_000, False),
         ("budget", 200_000, True), ("childcare_per_1000", 4.0, True), ("budget", None, False)]


def test_warm_starts_follow_slider_moves():
    """Each move re-solved from the previous solvers gives the cold answer, warm where the shape allows."""
    sc = planner.load_demo("shanxi", prefecture="阳泉市")
    prev = planner.solve(sc, warm_start=True)
    assert prev.info.state is not None and not prev.info.warm
    for name, value, expect_warm in MOVES:
        if name == "budget":
            sc.budget = value
        else:
            setattr(sc.targets, name, value)
        warm, cold = planner.solve(sc, warm_start=prev), planner.solve(sc)
        assert warm.info.warm is expect_warm, (name, value)
        assert warm.cost == pytest.approx(cold.cost, rel=1e-9), name
        assert warm.status == cold.status
        prev = warm
    assert cold.info.state is None  # without warm_start nothing is kept


def test_warm_start_rebuilds_when_reach_changes():
    sc = two_towns()
    prev = planner.solve(sc, warm_start=True)
    sc.targets.access_minutes = 400  # 20 km now in reach: new pairs, a different problem shape
    res = planner.solve(sc, warm_start=prev)
    assert not res.info.warm and res.cost == pytest.approx(planner.solve(sc).cost, rel=1e-9)
    sc.options.integer = True  # integrality changed: not reusable either
    res2 = planner.solve(sc, warm_start=res)
    assert not res2.info.warm and res2.cost == pytest.approx(planner.solve(sc).cost, rel=1e-9)


def test_no_highs_licence_banner_in_the_output():
    """HiGHS prints its banner from C++ when the first instance is made; the notebook, CLI and Voila
    must not show it."""
    import subprocess
    import sys

    code = "import planner; planner.solve(planner.load_demo('shanxi', prefecture='太原市')); print('solved')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "solved" and "HiGHS" not in out.stderr and "Copyright" not in out.stdout
