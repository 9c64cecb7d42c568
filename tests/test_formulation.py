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
       integer=st.booleans(), new_beds_care=st.booleans())
def test_labelled_build_equals_the_legacy_arrays(spec, budget, merge, integer, new_beds_care):
    """Column and row order, bounds, costs, integrality, right-hand sides and every coefficient."""
    sc = spec.scenario(budget=budget, integer=integer, new_beds_care=new_beds_care)
    new = planner.build(sc, merge_areas=merge).lp
    old = legacy().legacy_build(sc, merge_areas=merge)[0]
    for key in ("cost", "lower", "upper", "integer", "row_lower", "row_upper"):
        np.testing.assert_array_equal(getattr(new, key), getattr(old, key), err_msg=key)
    assert new.blocks == old.blocks and new.row_blocks == old.row_blocks
    assert new.A.shape == old.A.shape and new.A.nnz == old.A.nnz
    assert (new.A != old.A).nnz == 0
