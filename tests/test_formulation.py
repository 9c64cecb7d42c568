"""One test per constraint family (planner.formulation), read through the labelled blocks, and
the property that the labelled build hands the solver exactly the arrays of the pre-label builder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import planner
from conftest import BASE_LON, area, childcare, eldercare, scenario
from test_benchmarks import _load
from test_properties import props, specs


def row(model, block, label):
    """The row ``label`` of constraint block ``block``: ({(variable block, label): coefficient}, lower, upper)."""
    con = model.problem.constraints[block]
    i = int(con.loc[label].positions[0])
    lp = model.lp
    A = lp.A.tocsr()
    terms = {}
    for j, a in zip(A.indices[A.indptr[i]:A.indptr[i + 1]], A.data[A.indptr[i]:A.indptr[i + 1]]):
        for name, var in model.variables.items():
            hit = np.flatnonzero(var.positions == j)
            if len(hit):
                terms[(name, var.index[hit[0]])] = a
    return terms, lp.row_lower[i], lp.row_upper[i]


@pytest.fixture(scope="module")
def model():
    """D1: 10,000 people (45 slots at 4.5), 1,000 aged 60+ (40 beds at 40); c1 30 slots (12 affordable),
    candidate n1 (20–100 slots, 10,000 yuan fixed); e1 30 beds (10 care, conversion 300 yuan)."""
    facs = [childcare("c1", slots=30, affordable=12, max_add=50, cost=2000),
            childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100),
            eldercare("e1", beds=30, care=10, max_add=100, cost=5000, conv=300)]
    sc = scenario([area("a1", pop60=1000), area("a2", pop=0, lon=BASE_LON + 0.5)], facs,
                  affordable_share=0.5, care_bed_share=0.55, access_share=0.8)
    sc.budget = 1e6
    return planner.build(sc)


def test_district_slots(model):
    """Σ add over childcare + sf_slots ≥ 4.5 × 10,000 / 1000 − 30 = 15."""
    terms, lo, up = row(model, "slots", "D1")
    assert terms == {("add", "c1"): 1, ("add", "n1"): 1, ("sf_slots", "D1"): 1} and lo == 15 and up == np.inf


def test_affordable_share(model):
    """Σ aff − 0.5 Σ add + sf ≥ 0.5 × 30 − 12 = 3."""
    terms, lo, _ = row(model, "affordable", "D1")
    assert terms == {("aff", "c1"): 1, ("aff", "n1"): 1, ("add", "c1"): -0.5, ("add", "n1"): -0.5,
                     ("sf_aff", "D1"): 1} and lo == 3


def test_district_beds_and_care_share(model):
    """beds: add_e1 + sf ≥ 40 − 30; care: conv + (1 − 0.55) add + sf ≥ 0.55 × 30 − 10 = 6.5."""
    terms, lo, _ = row(model, "beds", "D1")
    assert terms == {("add", "e1"): 1, ("sf_beds", "D1"): 1} and lo == 10
    terms, lo, _ = row(model, "care", "D1")
    assert terms == {("conv", "e1"): 1, ("add", "e1"): pytest.approx(0.45), ("sf_care", "D1"): 1}
    assert lo == pytest.approx(6.5)


def test_affordable_link_and_site_linking(model):
    terms, lo, up = row(model, "aff_link", "n1")
    assert terms == {("aff", "n1"): 1, ("add", "n1"): -1} and up == 0 and lo == -np.inf
    terms, _, up = row(model, "site_max", "n1")
    assert terms == {("add", "n1"): 1, ("open", "n1"): -100} and up == 0
    terms, lo, _ = row(model, "site_min", "n1")
    assert terms == {("add", "n1"): 1, ("open", "n1"): -20} and lo == 0


def test_reach_rows(model):
    """a1 sees c1 and n1 (a2, 40 km east, sees nothing): flows + sf ≥ 0.8 × 45; c1: flows − add ≤ 30."""
    terms, lo, _ = row(model, "access_c", "a1")
    assert terms == {("flow_c", ("a1", "c1")): 1, ("flow_c", ("a1", "n1")): 1, ("sf_acc_c", "a1"): 1}
    assert lo == pytest.approx(36)
    terms, lo, _ = row(model, "access_c", "a2")
    assert terms == {("sf_acc_c", "a2"): 1} and lo == 0
    terms, _, up = row(model, "capacity_c", "c1")
    assert terms == {("flow_c", ("a1", "c1")): 1, ("add", "c1"): -1} and up == 30


def test_budget_and_objective(model):
    """Budget: yuan ÷ scale on every priced column ≤ budget ÷ scale; objective: cost weighted below shortfall."""
    terms, _, up = row(model, "budget", "budget")
    s = model.scale
    assert terms == {("add", "c1"): pytest.approx(2000 / s), ("add", "n1"): pytest.approx(500 / s),
                     ("add", "e1"): pytest.approx(5000 / s), ("conv", "e1"): pytest.approx(300 / s),
                     ("open", "n1"): pytest.approx(10_000 / s)}
    assert up == pytest.approx(1e6 / s)
    sf = model.variables["sf_slots"].positions[0]
    assert model.lp.cost[sf] == planner.model.SHORTFALL_PRICE


def test_solution_comes_back_labelled():
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000),
                                 childcare("c2", slots=0, max_add=50, cost=3000)],
                  beds_per_1000_elderly=0, care_bed_share=0, access_share=0)
    res = planner.solve(sc)
    assert res.solution["add"].loc["c1"] == pytest.approx(15) and res.solution["add"].loc["c2"] == 0
    # one more slot needed in D1 costs 2,000 yuan (objective is yuan ÷ scale)
    assert res.solution.dual("slots").loc["D1"] == pytest.approx(2000 / planner.build(sc).scale)


def test_extra_functionality_runs_on_highs_with_labels_and_merged_areas():
    """The hook gets the labelled blocks; the HiGHS path solves it; areas stay merged.
    20,000 people need 90 slots, 30 exist: c1 may add only 5, so c2 adds 55."""
    facs = [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000),
            childcare("c2", slots=0, max_add=100, cost=3000)]
    sc = scenario([area("a1"), area("a2")], facs, beds_per_1000_elderly=0, care_bed_share=0, access_share=0.5)

    def cap_c1(lp, variables, scenario):
        lp.add_constraints("cap_c1", variables["add"].loc["c1"] <= 5)

    sc.extra_functionality = cap_c1
    model = planner.build(sc)
    assert model.groups["c"].n == 1  # a1 and a2 see the same sites: still one group
    res = planner.solve(sc, model=model)
    assert res.info.solver == "highs"
    f = res.facilities.set_index("facility_id")
    assert f.loc["c1", "added_slots"] == pytest.approx(5) and f.loc["c2", "added_slots"] == pytest.approx(55)


LEGACY = None


def legacy():
    global LEGACY
    if LEGACY is None:
        LEGACY = _load("legacy_build")
    return LEGACY


@props(60)
@given(spec=specs(access=True), budget=st.none() | st.integers(0, 200_000), merge=st.booleans(),
       new_beds_care=st.booleans())
def test_labelled_build_equals_the_legacy_arrays(spec, budget, merge, new_beds_care):
    """LP mode: column and row order, bounds, costs, right-hand sides and every coefficient as the
    pre-label builder made them (integer mode is stronger on purpose: see the next test)."""
    sc = spec.scenario(budget=budget, new_beds_care=new_beds_care)
    new = planner.build(sc, merge_areas=merge).lp
    old = legacy().legacy_build(sc, merge_areas=merge)[0]
    for key in ("cost", "lower", "upper", "integer", "row_lower", "row_upper"):
        np.testing.assert_array_equal(getattr(new, key), getattr(old, key), err_msg=key)
    assert new.blocks == old.blocks and new.row_blocks == old.row_blocks
    assert new.A.shape == old.A.shape and new.A.nnz == old.A.nnz
    assert (new.A != old.A).nnz == 0


@props(40)
@given(spec=specs(access=True), budget=st.none() | st.integers(0, 100_000))
def test_strong_integer_formulation_has_the_same_optimum(spec, budget):
    """Integer mode: disaggregated linking, tightened site bounds and dominated candidates shut leave
    the proven optimum of the plain MILP (the pre-label builder's) unchanged, and never cut it off."""
    from types import SimpleNamespace
    from planner.solve import run

    sc = spec.scenario(budget=budget, integer=True, mip_gap=0.0)
    strong = planner.build(sc)
    plain = legacy().legacy_build(sc)[0]
    _, info_s = run(strong)
    _, info_p = run(SimpleNamespace(lp=plain, scenario=sc))
    assert info_s.status == info_p.status == "optimal"
    assert info_s.objective == pytest.approx(info_p.objective, rel=1e-6, abs=1e-7)


def with_free_candidates(spec, free):
    """``spec`` with the candidates flagged in ``free`` made free: no cost per unit, room for everything."""
    rows = [dict(f) for f in spec.facilities]
    flags = iter(free)
    for f in rows:
        if f["candidate"] and next(flags, False):
            f["cost_per_unit"], f["max_size"] = 0, 10_000
    return type(spec)(spec.areas, rows, spec.districts, spec.targets, spec.placement)


@props(40)
@given(spec=specs(access=True, placement="spread"), budget=st.none() | st.integers(0, 100_000),
       free=st.lists(st.booleans(), min_size=12, max_size=12))
def test_coverage_only_groups_keep_the_optimum_and_the_tables(spec, budget, free):
    """Candidates made free (no cost per unit, room for everything): the coverage rows that replace
    their groups' flows leave the plain MILP's optimum, and the Result's plan meets every row it
    reports as met (capacity holds what is served in reach)."""
    from types import SimpleNamespace
    from planner.solve import run

    spec = with_free_candidates(spec, free)
    sc = spec.scenario(budget=budget, integer=True, mip_gap=0.0)
    model = planner.build(sc)
    _, info_s = run(model)
    _, info_p = run(SimpleNamespace(lp=legacy().legacy_build(sc)[0], scenario=sc))
    assert info_s.objective == pytest.approx(info_p.objective, rel=1e-6, abs=1e-7)
    res = planner.solve(sc, model=model)
    a = res.areas
    need_in_reach = sc.district_targets()["access_share"].to_numpy()[model.prepared.area_d] * a["need_childcare"]
    served = a["served_in_reach_childcare"].to_numpy()
    # served in reach is a max-flow in integers of about 1/1,000 slot (planner.access.max_served)
    assert (served + a["shortfall_access_childcare"].to_numpy() >= need_in_reach - 2e-3).all()
    f = res.facilities
    assert (f["added_slots"] <= np.where(f["candidate"], f["max_size"], f["max_add"]) + 1e-6).all()
    assert (f["added_affordable"] <= f["added_slots"] + 1e-6).all()


@props(15)
@given(spec=specs(access=True, placement="spread", max_candidates=3), budget=st.integers(0, 60_000),
       free=st.lists(st.booleans(), min_size=12, max_size=12))
def test_integer_plan_of_highs_matches_cbc_on_coverage_questions(spec, budget, free):
    """A maximal-coverage-like question (free candidates, a budget, integer mode): the HiGHS path
    (relaxation first, duals kept when it is integral, branch-and-bound without the feasibility-jump
    and root reduced-cost heuristics) proves the optimum CBC proves on the same scenario."""
    spec = with_free_candidates(spec, free)
    highs = planner.solve(spec.scenario(budget=budget, integer=True, mip_gap=0.0))
    cbc = planner.solve(spec.scenario(budget=budget, integer=True, mip_gap=0.0, solver="cbc"))
    assert highs.info.solver == "highs" and cbc.info.solver == "cbc"
    assert highs.info.status == cbc.info.status == "optimal"
    assert highs.info.objective == pytest.approx(cbc.info.objective, rel=1e-6, abs=1e-6)
    covered = lambda r: float(r.areas["need_childcare"].sum() - r.areas["shortfall_access_childcare"].sum())  # noqa: E731
    assert covered(highs) == pytest.approx(covered(cbc), rel=1e-6, abs=2e-3)
