"""The model's level, care-need, minimum-centre and equity rows on hand-checkable cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import planner
from conftest import area, childcare, eldercare


def districts(*rows, **columns):
    """(district_id, parent_id, level) rows plus per-row target columns."""
    d = pd.DataFrame([{"district_id": i, "name": i, "parent_id": p, "level": lv} for i, p, lv in rows])
    for name, values in columns.items():
        d[name] = values
    return d


PREF = [("M1", "", "prefecture"), ("C1", "M1", "county"), ("C2", "M1", "county")]


def two_counties(d=None, budget=None, objective="least_cost", target_level="leaf"):
    """C1 adds slots at 1,000 yuan, C2 at 3,000; 10,000 residents each, 4.5 per 1,000 → 45 slots each."""
    areas = [area("a1", "C1", pop=10_000), area("a2", "C2", pop=10_000)]
    facs = [childcare("f1", "C1", max_add=100, cost=1000), childcare("f2", "C2", max_add=100, cost=3000)]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs),
                                      districts(*PREF) if d is None else d, budget=budget,
                                      target_level=target_level, objective=objective)
    sc.targets.access_share = 0
    sc.targets.beds_per_1000_elderly = 0
    return sc


def test_prefecture_average_is_cheaper_than_every_county_meeting_it():
    every = planner.solve(two_counties())
    assert every.cost == pytest.approx(45 * 1000 + 45 * 3000)      # 180,000 yuan
    whole = planner.solve(two_counties(target_level="prefecture"))
    assert whole.cost == pytest.approx(90 * 1000)                  # 90,000: all 90 slots in C1
    assert whole.status == "optimal"
    d = whole.districts.set_index("district_id")
    assert d.at["C1", "slots_after"] == pytest.approx(90) and d.at["C2", "slots_after"] == pytest.approx(0)
    m = whole.rollup("prefecture").set_index("district_id")
    assert m.at["M1", "target_childcare_per_1000"] == 4.5
    assert m.at["M1", "target_slots"] == pytest.approx(90) and m.at["M1", "shortfall_slots"] == 0
    assert m.at["M1", "slots_per_1000_after"] == pytest.approx(4.5) and bool(m.at["M1", "met"])
    agg = whole.aggregate_targets.set_index("target")
    assert agg.at["childcare_per_1000", "district_id"] == "M1"
    assert agg.at["childcare_per_1000", "required"] == pytest.approx(90)


def test_parent_row_column_constrains_the_aggregate():
    """A 6.0 column on the prefecture row asks 120 slots of C1 + C2 together, on top of 4.5 each."""
    d = districts(*PREF, childcare_per_1000=[6.0, np.nan, np.nan])
    res = planner.solve(two_counties(d))
    # 45 + 45 for the counties, the 30 more for the prefecture where cheapest (C1)
    assert res.cost == pytest.approx(75 * 1000 + 45 * 3000)
    assert res.rollup("prefecture")["target_slots"].iloc[0] == pytest.approx(120)


def test_a_leaf_floor_binds():
    """Prefecture 4.5 as a whole, but C2's own 2.0 is a floor: C2 gets its 20 slots (at 3,000)."""
    d = districts(*PREF, childcare_per_1000=[np.nan, np.nan, 2.0])
    res = planner.solve(two_counties(d, target_level="prefecture"))
    s = res.districts.set_index("district_id")["slots_after"]
    assert s["C2"] == pytest.approx(20) and s["C1"] == pytest.approx(70)
    assert res.cost == pytest.approx(70 * 1000 + 20 * 3000)  # 130,000 > 90,000 without the floor
    assert res.districts.set_index("district_id").at["C2", "target_childcare_per_1000"] == 2.0


def test_target_level_all_and_shortfall_of_an_aggregate():
    """The whole region at 4.5 but only 80 slots can be added: shortfall 10 on 'all', reported."""
    sc = two_counties(target_level="all")
    sc.facilities.loc[:, "max_add"] = 40.0
    res = planner.solve(sc)
    assert res.status == "shortfall"
    a = res.rollup("all").iloc[0]
    assert a["shortfall_slots"] == pytest.approx(10) and not a["met"]
    assert res.districts["shortfall_slots"].eq(0).all()  # no leaf carries a target
    assert res.summary()["status"] == "shortfall"


def township_centres(min_t1=1, min_parent=np.nan):
    """T1: an existing centre with no affordable slots, candidates k1 (51,000 yuan at 10 slots) and
    k2 (80,000 + 10 × 100); T2 already has an affordable centre. No per-1,000 target asks for slots."""
    facs = [childcare("old", "T1", slots=30, affordable=0),
            childcare("k1", "T1", candidate=True, fixed=50_000, min_size=10, max_size=50, cost=100),
            childcare("k2", "T1", candidate=True, fixed=80_000, min_size=10, max_size=50, cost=100),
            childcare("aff", "T2", slots=20, affordable=20)]
    d = districts(("Q", "", "county"), ("T1", "Q", "township"), ("T2", "Q", "township"),
                  min_affordable_centres=[min_parent, min_t1, 1])
    areas = [area("a1", "T1"), area("a2", "T2")]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), d)
    sc.targets.childcare_per_1000 = 0
    sc.targets.affordable_share = 0
    sc.targets.access_share = 0
    sc.targets.beds_per_1000_elderly = 0
    sc.options.integer = True
    return sc


def test_min_centre_rule_opens_the_cheapest_site_in_the_sub_district():
    res = planner.solve(township_centres())
    f = res.facilities.set_index("facility_id")
    assert bool(f.at["k1", "opened"]) and not bool(f.at["k2", "opened"])
    assert f.at["k1", "added_affordable"] == pytest.approx(10)
    assert res.cost == pytest.approx(50_000 + 10 * 100)
    d = res.districts.set_index("district_id")
    assert d.at["T1", "affordable_centres_before"] == 0 and d.at["T1", "affordable_centres_after"] == 1
    assert d.at["T2", "affordable_centres_after"] == 1 and d.at["T2", "cost"] == 0
    assert res.status == "optimal"


def test_min_centres_on_a_parent_row():
    """The county wants 3 affordable centres: T2 has one, so T1 opens both candidates."""
    res = planner.solve(township_centres(min_t1=np.nan, min_parent=3))
    assert res.facilities.set_index("facility_id").loc[["k1", "k2"], "opened"].all()
    assert res.cost == pytest.approx(50_000 + 80_000 + 2 * 10 * 100)
    q = res.rollup("county").iloc[0]
    assert q["target_min_affordable_centres"] == 3 and q["affordable_centres_after"] == 3


def test_min_centres_unreachable_is_a_shortfall():
    res = planner.solve(township_centres(min_t1=3))
    d = res.districts.set_index("district_id")
    assert d.at["T1", "shortfall_affordable_centres"] == pytest.approx(1)
    assert res.status == "shortfall" and "centres:expansion_limit" in d.at["T1", "shortfall_reason"]
    assert any("centres" in line for line in res.explain("T1"))


def care_need_scenario(need=100, rate=0.3, conv_max_beds=40):
    """1,000 aged 60+, 40 beds of which 22 care-oriented: 40 per 1,000 and 55 % are met already."""
    areas = [area("a1", "D1", pop=5000, pop60=1000) | {"pop_care_need": need}]
    facs = [eldercare("e1", "D1", beds=conv_max_beds, care=22, conv=500)]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs))
    sc.targets.childcare_per_1000 = 0
    sc.targets.access_share = 0
    sc.targets.care_beds_per_care_need = rate
    return sc


def test_care_need_binds_beyond_the_care_share():
    """0.3 care beds × 100 assessed = 30 > 22 (the 55 % share): convert 8 beds at 500 yuan."""
    res = planner.solve(care_need_scenario())
    d = res.districts.iloc[0]
    assert res.cost == pytest.approx(8 * 500)
    assert d["care_beds_after"] == pytest.approx(30) and d["care_need"] == 100
    assert d["care_beds_per_care_need_before"] == pytest.approx(0.22)
    assert d["care_beds_per_care_need_after"] == pytest.approx(0.30)
    assert d["care_share_after"] == pytest.approx(0.75) and d["shortfall_care_need_beds"] == 0
    sc = care_need_scenario()
    sc.targets.care_beds_per_care_need = 0
    assert planner.solve(sc).cost == 0  # without it the 55 % share is already met


def test_care_need_shortfall_says_why():
    """0.5 × 100 = 50 care beds, but only 40 beds exist and none may be added: 10 short."""
    res = planner.solve(care_need_scenario(rate=0.5))
    d = res.districts.iloc[0]
    assert d["shortfall_care_need_beds"] == pytest.approx(10)
    assert "care_need:expansion_limit" in d["shortfall_reason"] and res.status == "shortfall"


def test_care_need_on_a_prefecture_row():
    areas = [area("a1", "C1", pop=5000, pop60=1000) | {"pop_care_need": 100},
             area("a2", "C2", pop=5000, pop60=1000) | {"pop_care_need": 0}]
    facs = [eldercare("e1", "C1", beds=40, care=22, conv=500), eldercare("e2", "C2", beds=40, care=22, conv=100)]
    d = districts(*PREF, care_beds_per_care_need=[0.5, np.nan, np.nan])
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), d)
    sc.targets.childcare_per_1000 = 0
    sc.targets.access_share = 0
    res = planner.solve(sc)
    # the prefecture asks 0.5 × 100 = 50 care beds of 44: the 6 conversions go where cheapest (C2)
    assert res.cost == pytest.approx(6 * 100)
    m = res.rollup("prefecture").iloc[0]
    assert m["target_care_need_beds"] == pytest.approx(50) and m["care_beds_after"] == pytest.approx(50)


def test_equity_lifts_the_worst_district_first_within_the_budget():
    """Budget 90,000 yuan. Least cost (least shortfall): C1's 45 slots (45,000) then 15 in C2:
    worst attainment 1/3. Equity: the same share a in both, 180,000 a ≤ 90,000 → a = 0.5."""
    lc = planner.solve(two_counties(budget=90_000))
    eq = planner.solve(two_counties(budget=90_000, objective="equity"))
    s_lc = lc.districts.set_index("district_id")["slots_after"]
    s_eq = eq.districts.set_index("district_id")["slots_after"]
    assert (s_lc["C1"], s_lc["C2"]) == (pytest.approx(45), pytest.approx(15))
    assert (s_eq["C1"], s_eq["C2"]) == (pytest.approx(22.5), pytest.approx(22.5))
    assert lc.summary()["min_attainment_childcare"] == pytest.approx(1 / 3, abs=1e-6)
    assert eq.summary()["min_attainment_childcare"] == pytest.approx(0.5, abs=1e-6)
    assert eq.cost == pytest.approx(90_000) and lc.cost == pytest.approx(90_000)
    # the price of fairness: 15 more slots left unbuilt for the same money
    assert eq.districts["shortfall_slots"].sum() - lc.districts["shortfall_slots"].sum() == pytest.approx(15)
    assert eq.summary()["gini_slots_per_1000_after"] < lc.summary()["gini_slots_per_1000_after"]
    assert eq.info.equity["attain_childcare"] == pytest.approx(0.5, abs=1e-6)


def test_equity_at_a_stated_extra_cost():
    """Prefecture 4.5 as a whole: least cost puts all 90 slots in C1 (90,000 yuan), C2 gets none.
    Equity lifts C2 to its full 45 first: 45 × 1,000 + 45 × 3,000 = 180,000, i.e. 90,000 yuan more."""
    lc = planner.solve(two_counties(target_level="prefecture"))
    eq = planner.solve(two_counties(target_level="prefecture", objective="equity"))
    assert eq.cost - lc.cost == pytest.approx(90_000)
    a_lc = lc.districts.set_index("district_id")["attainment_childcare"]
    a_eq = eq.districts.set_index("district_id")["attainment_childcare"]
    assert a_lc["C2"] == pytest.approx(0) and a_lc["C1"] == pytest.approx(2)
    assert a_eq["C2"] == pytest.approx(1) and a_eq["C1"] == pytest.approx(1)
    assert eq.summary()["objective"] == "equity"
    assert eq.summary()["gini_slots_per_1000_after"] == pytest.approx(0, abs=1e-9)
    assert lc.summary()["gini_slots_per_1000_after"] == pytest.approx(0.5)


def test_equity_in_integer_mode():
    sc = two_counties(budget=90_000, objective="equity")
    sc.options.integer = True
    res = planner.solve(sc)
    s = res.districts.set_index("district_id")["slots_after"]
    # whole slots: 22 in each (88,000 yuan; 23 each would cost 92,000), the 2,000 left buy 2 more in C1
    assert (s["C1"], s["C2"]) == (24, 22)
    assert res.cost == pytest.approx(90_000)


def test_prefecture_average_in_integer_mode_with_candidate_sites():
    """Integer mode, two candidate sites: the prefecture's 90 slots fit in C1's site alone
    (20,000 + 90 × 1,000), not C2's dearer one; every county meeting 4.5 would open both."""
    areas = [area("a1", "C1", pop=10_000), area("a2", "C2", pop=10_000)]
    facs = [childcare("k1", "C1", candidate=True, fixed=20_000, cost=1000, min_size=10, max_size=100),
            childcare("k2", "C2", candidate=True, fixed=20_000, cost=3000, min_size=10, max_size=100)]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), districts(*PREF),
                                      target_level="prefecture")
    sc.targets.access_share = 0
    sc.targets.beds_per_1000_elderly = 0
    sc.options.integer = True
    res = planner.solve(sc)
    f = res.facilities.set_index("facility_id")
    assert bool(f.at["k1", "opened"]) and not bool(f.at["k2", "opened"])
    assert f.at["k1", "added_slots"] == 90 and res.cost == pytest.approx(20_000 + 90 * 1000)
    assert res.status == "optimal"
