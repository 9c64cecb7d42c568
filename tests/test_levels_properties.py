"""Properties of levels and fairness on small random district trees (hypothesis).

A drawn scenario is a province with 1–3 prefectures of 1–3 counties each;
every county has one area and one childcare and one eldercare facility that
may expand at a drawn cost, some with a budget. Checks use arithmetic on the
drawn rows, not ``planner.result``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import planner
from conftest import area, childcare, eldercare

SUMMED = ("pop_total", "pop_60_plus", "care_need", "slots_before", "slots_after", "beds_before", "beds_after",
          "care_beds_before", "care_beds_after", "affordable_slots_after", "cost", "shortfall_slots",
          "shortfall_beds", "target_slots", "target_beds")


def props(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def trees(draw):
    prefs = draw(st.integers(1, 3))
    districts = [{"district_id": "P", "name": "P", "parent_id": "", "level": "province"}]
    areas, facs = [], []
    for m in range(prefs):
        districts.append({"district_id": f"M{m}", "name": f"M{m}", "parent_id": "P", "level": "prefecture"})
        for c in range(draw(st.integers(1, 3))):
            cid = f"C{m}{c}"
            districts.append({"district_id": cid, "name": cid, "parent_id": f"M{m}", "level": "county"})
            pop = draw(st.integers(1, 20)) * 1000
            pop60 = draw(st.integers(0, pop // 1000)) * 200
            need = draw(st.integers(0, pop60 // 10)) if pop60 else 0
            areas.append(area(f"a{cid}", cid, pop=pop, pop60=pop60) | {"pop_care_need": need})
            facs.append(childcare(f"c{cid}", cid, slots=draw(st.integers(0, 60)), max_add=draw(st.integers(0, 80)),
                                  cost=draw(st.integers(1, 50)) * 100))
            beds = draw(st.integers(0, 300))
            facs.append(eldercare(f"e{cid}", cid, beds=beds, care=beds // 2, max_add=draw(st.integers(0, 200)),
                                  cost=draw(st.integers(1, 50)) * 100))
    budget = draw(st.one_of(st.none(), st.integers(0, 200).map(lambda k: k * 1000.0)))
    return pd.DataFrame(districts), pd.DataFrame(areas), pd.DataFrame(facs), budget


def _solve(tree, **settings_):
    d, a, f, budget = tree
    sc = planner.Scenario.from_frames(a, f, d, budget=budget)
    sc.targets.access_share = 0.0
    for k, v in settings_.items():
        setattr(sc, k, v)
    return planner.solve(sc)


@props(25)
@given(trees())
def test_rollups_sum_exactly_to_their_leaves(tree):
    res = _solve(tree)
    d = tree[0]
    leaves = res.districts.set_index("district_id")
    county_parent = d.set_index("district_id")["parent_id"]
    for level, parent_of in (("prefecture", lambda i: county_parent[i]), ("province", lambda i: "P"),
                             ("all", lambda i: "all")):
        r = res.rollup(level).set_index("district_id")
        groups = {}
        for i in leaves.index:
            groups.setdefault(parent_of(i), []).append(i)
        assert sorted(r.index) == sorted(groups)
        for g, members in groups.items():
            for col in SUMMED:
                assert r.at[g, col] == sum(leaves.loc[m, col] for m in members) or \
                    np.isclose(r.at[g, col], sum(leaves.loc[m, col] for m in members), rtol=1e-12, atol=1e-9), \
                    (level, g, col)
            assert r.at[g, "districts"] == len(members)


@props(25)
@given(trees())
def test_target_level_leaf_equals_todays_model(tree):
    """A tree with target_level leaf plans exactly as the same counties in a flat table."""
    d, a, f, budget = tree
    with_tree = _solve(tree)
    flat = d[d["level"] == "county"].drop(columns=["level"]).assign(parent_id="")
    plain = _solve((flat, a, f, budget))
    assert np.isclose(with_tree.cost, plain.cost, rtol=1e-9, atol=1e-6)
    assert with_tree.status == plain.status
    cols = ["slots_after", "beds_after", "shortfall_slots", "shortfall_beds", "cost"]
    np.testing.assert_allclose(with_tree.districts[cols].to_numpy(float), plain.districts[cols].to_numpy(float),
                               rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(with_tree.info.objective, plain.info.objective, rtol=1e-9, atol=1e-9)


def _worst(res) -> float:
    """The worst attainment over districts and both targets, capped at 1 (a met target is enough)."""
    a = res.districts[["attainment_childcare", "attainment_beds"]].to_numpy(float)
    return float(np.nanmin(np.minimum(a, 1.0)))


@props(15)
@given(trees())
def test_equity_worst_attainment_is_at_least_least_costs(tree):
    lc = _solve(tree)
    eq = _solve(tree, objective="equity")
    assert _worst(eq) >= _worst(lc) - 1e-6
    if tree[3] is not None:
        assert eq.cost <= tree[3] + 1e-6


@props(10)
@given(trees())
def test_a_prefecture_target_never_costs_more_than_every_county_meeting_it(tree):
    """Aggregate rows relax the per-county rows: where every county can meet its targets, the plan
    that meets them meets the prefecture's too, so the prefecture plan is never dearer. (Where a
    county cannot, the prefecture plan may spend elsewhere to close the aggregate's gap.)"""
    d, a, f, _ = tree
    leaf = _solve((d, a, f, None))
    assume(leaf.status == "optimal")
    pref = _solve((d, a, f, None), target_level="prefecture")
    assert pref.status == "optimal"
    assert pref.cost <= leaf.cost * (1 + 1e-9) + 1e-6
