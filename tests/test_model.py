"""Hand-checkable plans: the optimal cost is worked out on paper in each docstring."""

import pytest

import planner
from conftest import BASE_LON, area, childcare, eldercare, scenario

NO_BEDS = dict(beds_per_1000_elderly=0, care_bed_share=0, access_share=0)
NO_SLOTS = dict(childcare_per_1000=0, affordable_share=0, access_share=0)


def row(res, table="districts", i=0):
    return getattr(res, table).iloc[i]


def test_expansion_only():
    """10,000 people × 4.5/1000 = 45 slots; 30 exist → 15 × 2,000 yuan = 30,000."""
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000)], **NO_BEDS)
    res = planner.solve(sc)
    assert res.status == "optimal"
    assert res.cost == pytest.approx(30_000)
    d = row(res)
    assert d["slots_after"] == pytest.approx(45) and d["slots_per_1000_after"] == pytest.approx(4.5)
    assert bool(d["met"]) and d["shortfall_slots"] == 0
    assert row(res, "facilities")["added_slots"] == pytest.approx(15)
    assert row(res, "facilities")["state"] == "expanded"


def test_affordable_share_needs_more_slots_than_the_count():
    """30 slots, none affordable, share 0.5: x added (all affordable) needs x ≥ 0.5(30+x) → x = 30."""
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=0, max_add=100, cost=2000)],
                  affordable_share=0.5, **NO_BEDS)
    res = planner.solve(sc)
    assert res.cost == pytest.approx(60_000)
    d = row(res)
    assert d["slots_after"] == pytest.approx(60) and d["affordable_share_after"] == pytest.approx(0.5)


def test_conversion_versus_expansion():
    """1,000 aged 60+ × 40/1000 = 40 beds; 30 exist, 10 care-oriented.
    Add 10 care beds (50,000) → 20 of 40 care; 0.55 × 40 = 22 → convert 2 (600). Total 50,600."""
    sc = scenario([area("a1", pop=5000, pop60=1000)],
                  [eldercare("e1", beds=30, care=10, max_add=100, cost=5000, conv=300)], **NO_SLOTS)
    res = planner.solve(sc)
    assert res.cost == pytest.approx(50_600)
    f = row(res, "facilities")
    assert f["added_beds"] == pytest.approx(10) and f["converted_care_beds"] == pytest.approx(2)
    d = row(res)
    assert d["care_share_after"] == pytest.approx(0.55) and d["beds_per_1000_elderly_after"] == pytest.approx(40)


def test_conversion_only_when_beds_suffice():
    """40 beds (10 care) already meet 40/1000; 0.55 × 40 = 22 care → 12 conversions × 300 = 3,600."""
    sc = scenario([area("a1", pop=5000, pop60=1000)],
                  [eldercare("e1", beds=40, care=10, max_add=100, cost=5000, conv=300)], **NO_SLOTS)
    res = planner.solve(sc)
    assert res.cost == pytest.approx(3_600)
    assert row(res, "facilities")["state"] == "converted"


def test_opening_a_site_lp_and_milp():
    """45 slots needed. Expansion: 10 at 1,000. Site: 10,000 fixed + 500/slot, 20–100.
    LP: site per slot 500 + 10,000/100 = 600 < 1,000 → 45 × 600 = 27,000.
    MILP: open it whole: 10,000 + 45 × 500 = 32,500 (expanding 10 as well costs more)."""
    facs = [childcare("c1", slots=0, max_add=10, cost=1000),
            childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100)]
    sc = scenario([area("a1")], facs, **NO_BEDS)
    lp = planner.solve(sc)
    assert lp.cost == pytest.approx(27_000)
    sc.options.integer = True
    milp = planner.solve(sc)
    assert milp.cost == pytest.approx(32_500)
    f = milp.facilities.set_index("facility_id")
    assert bool(f.loc["n1", "opened"]) and f.loc["n1", "added_slots"] == pytest.approx(45)
    assert f.loc["n1", "state"] == "opened" and f.loc["c1", "state"] == "unchanged"


def test_min_size_in_integer_mode():
    """15 slots needed (3,333 people ≈ 15.0). A site must be ≥ 20: 10,000 + 20 × 500 = 20,000
    beats expanding 10 (10,000) and still opening the site for the other 5."""
    facs = [childcare("c1", slots=0, max_add=10, cost=1000),
            childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100)]
    sc = scenario([area("a1", pop=3334)], facs, **NO_BEDS)
    sc.options.integer = True
    res = planner.solve(sc)
    f = res.facilities.set_index("facility_id")
    assert f.loc["n1", "added_slots"] == pytest.approx(20)
    assert res.cost == pytest.approx(20_000)


def test_budget_forces_a_shortfall():
    """45 slots needed, 30 exist; budget 20,000 buys 10 at 2,000 → shortfall 5, reason budget."""
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000)], **NO_BEDS)
    sc.budget = 20_000
    res = planner.solve(sc)
    assert res.status == "shortfall"
    assert res.cost == pytest.approx(20_000)
    d = row(res)
    assert d["shortfall_slots"] == pytest.approx(5)
    assert not d["met"] and d["shortfall_reason"] == "slots:budget"
    assert res.explain("D1") == ["childcare slots: the budget runs out first"]


def test_budget_large_enough_is_least_cost():
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000)], **NO_BEDS)
    sc.budget = 1_000_000
    res = planner.solve(sc)
    assert res.status == "optimal" and res.cost == pytest.approx(30_000)


def test_expansion_limit_shortfall_is_exact_and_explained():
    """45 needed, 30 + max 5 → shortfall exactly 10; everything allowed is built."""
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30, max_add=5, cost=2000)], **NO_BEDS)
    res = planner.solve(sc)
    d = row(res)
    assert res.status == "shortfall"
    assert d["shortfall_slots"] == pytest.approx(10)
    assert d["slots_after"] == pytest.approx(35) and res.cost == pytest.approx(10_000)
    assert d["shortfall_reason"] == "slots:expansion_limit"


def test_access_no_site_in_reach():
    """A village 10 km away has nothing within 15 minutes: its 80% reach need is short, reason given."""
    areas = [area("town"), area("village", lon=112.67)]  # ≈10.5 km east
    sc = scenario(areas, [childcare("c1", slots=90, affordable=90, max_add=0)],
                  beds_per_1000_elderly=0, care_bed_share=0, access_share=0.8)
    res = planner.solve(sc)
    a = res.areas.set_index("area_id")
    assert a.loc["town", "access_share_childcare"] == pytest.approx(1.0)
    assert a.loc["village", "access_share_childcare"] == 0
    assert a.loc["village", "shortfall_access_childcare"] == pytest.approx(0.8 * 45)
    d = row(res)
    assert d["shortfall_slots"] == 0 and d["shortfall_access_childcare"] == pytest.approx(36)
    assert d["shortfall_reason"] == "access_childcare:no_site_in_reach"
    assert d["areas_without_reach_childcare"] == 1


def test_access_opens_a_site_in_reach_of_the_village():
    """Same village, with a candidate beside it: it must get ≥ 36 slots in reach.
    LP: 36 × (1,000 + 10,000/100) = 39,600; the town's 45 are already there."""
    areas = [area("town"), area("village", lon=112.67)]
    facs = [childcare("c1", slots=90, affordable=90),
            childcare("n1", lon=112.67, candidate=True, fixed=10_000, cost=1000, min_size=0, max_size=100)]
    sc = scenario(areas, facs, beds_per_1000_elderly=0, care_bed_share=0, access_share=0.8)
    res = planner.solve(sc)
    assert res.status == "optimal"
    assert res.cost == pytest.approx(39_600)
    a = res.areas.set_index("area_id")
    assert a.loc["village", "access_share_childcare"] >= 0.8 - 1e-9
    # before the plan the village has nothing in reach; the town has its 45 from c1's 90
    assert a["access_share_childcare_before"].tolist() == pytest.approx([1.0, 0.0])
    d = row(res)
    assert d["access_share_childcare_before"] == pytest.approx(0.5)
    assert d["access_share_childcare"] >= 0.9 - 1e-9


def test_district_override_beats_scenario_target():
    """D2 asks 6 per 1,000 (Yuncheng new-area rule): 60 slots there, 45 in D1."""
    districts = [{"district_id": "D1", "name": "旧区"}, {"district_id": "D2", "name": "新区", "childcare_per_1000": 6}]
    areas = [area("a1", "D1"), area("a2", "D2", lon=112.7)]
    facs = [childcare("c1", "D1", max_add=100, cost=1000), childcare("c2", "D2", max_add=100, cost=1000, lon=112.7)]
    res = planner.solve(scenario(areas, facs, districts, **NO_BEDS))
    d = res.districts.set_index("district_id")
    assert d.loc["D1", "slots_after"] == pytest.approx(45) and d.loc["D2", "slots_after"] == pytest.approx(60)
    assert d.loc["D2", "name"] == "新区" and res.cost == pytest.approx(105_000)


def test_cbc_and_pulp_path_agree_with_highs():
    facs = [childcare("c1", slots=10, affordable=2, max_add=10, cost=1000),
            childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100),
            eldercare("e1", beds=30, care=10, max_add=100, cost=5000, conv=300)]
    sc = scenario([area("a1", pop60=1000)], facs)
    ref = planner.solve(sc).cost
    sc.options.solver = "cbc"
    res = planner.solve(sc)
    assert res.info.solver == "cbc" and res.cost == pytest.approx(ref, rel=1e-6)


def test_extra_functionality_hook_adds_a_constraint():
    """A planner forbids expanding c1 beyond 5: the remaining 10 slots must come from c2 (3,000 each)."""
    facs = [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000),
            childcare("c2", slots=0, max_add=50, cost=3000)]
    sc = scenario([area("a1")], facs, **NO_BEDS)

    def cap_c1(problem, variables, scenario):
        problem += variables["add"][0] <= 5

    sc.extra_functionality = cap_c1
    res = planner.solve(sc)
    f = res.facilities.set_index("facility_id")
    assert f.loc["c1", "added_slots"] == pytest.approx(5) and f.loc["c2", "added_slots"] == pytest.approx(10)
    assert res.cost == pytest.approx(5 * 2000 + 10 * 3000)


def test_new_beds_not_care_oriented_option():
    """With new beds ordinary, 40 beds need 22 care: 10 added + 12 conversions of the 30 old (20 ordinary)."""
    sc = scenario([area("a1", pop=5000, pop60=1000)],
                  [eldercare("e1", beds=30, care=10, max_add=100, cost=5000, conv=300)], **NO_SLOTS)
    sc.options.new_beds_care = False
    res = planner.solve(sc)
    assert res.cost == pytest.approx(10 * 5000 + 12 * 300)


def test_summary_and_solver_info():
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000)], **NO_BEDS)
    s = planner.solve(sc).summary()
    assert s["status"] == "optimal" and s["cost_yuan"] == 30_000 and s["added_slots"] == pytest.approx(15)
    assert s["slots_per_1000_before"] == 3.0 and s["slots_per_1000_after"] == 4.5
    assert s["districts_met"] == 1 and s["solver"] == "highs"


def test_bad_settings_raise_planner_error():
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30)])
    sc.targets.affordable_share = 1.5
    with pytest.raises(planner.PlannerError, match="affordable_share is a share between 0 and 1"):
        planner.solve(sc)
    sc.targets.affordable_share = 0.5
    sc.budget = -1
    with pytest.raises(planner.PlannerError, match="budget must be"):
        planner.solve(sc)


def test_areas_seeing_the_same_sites_share_one_access_row():
    """Two blocks of flats beside one nursery, a third 5 km away with its own: the first two merge.

    Flats a1 and a2 (10,000 people each) need 45 slots each; c1 (60 slots, +40 at 1,000 yuan) serves
    both, so 30 slots are added (30,000 yuan) and each gets 45. a3 sees only c2, which has 45.
    """
    from planner.model import build

    areas = [area("a1"), area("a2"), area("a3", lon=BASE_LON + 0.06)]
    facs = [childcare("c1", slots=60, affordable=60, max_add=40, cost=1000),
            childcare("c2", slots=45, affordable=45, lon=BASE_LON + 0.06)]
    sc = scenario(areas, facs, access_share=1.0, **{k: v for k, v in NO_BEDS.items() if k != "access_share"})
    merged, full = build(sc), build(sc, merge_areas=False)
    assert merged.groups["c"].of_area.tolist() == [0, 0, 1]
    assert merged.lp.blocks["flow_c"].stop - merged.lp.blocks["flow_c"].start == 2
    assert full.lp.blocks["flow_c"].stop - full.lp.blocks["flow_c"].start == 3
    res, plain = planner.solve(sc, model=merged), planner.solve(sc, model=full)
    assert res.cost == pytest.approx(30_000) and plain.cost == pytest.approx(30_000)
    a = res.areas.set_index("area_id")
    assert a["served_in_reach_childcare"].tolist() == pytest.approx([45, 45, 45])
    assert a["shortfall_access_childcare"].tolist() == pytest.approx([0, 0, 0])
    # before: c1's 60 slots shared by a1 and a2 (90 needed), c2's 45 serve a3 → 105 of 135
    assert a["served_in_reach_childcare_before"].sum() == pytest.approx(105)
    assert a.loc["a3", "served_in_reach_childcare_before"] == pytest.approx(45)
    assert row(res)["access_share_childcare_before"] == pytest.approx(105 / 135)


def test_merged_groups_stay_within_a_district():
    """Three blocks of flats at one spot, two in D1 and one in D2: only the D1 pair shares a row,
    so a group's access shortfall (spread over its areas) never moves between districts."""
    from planner.model import build

    districts = [{"district_id": "D1"}, {"district_id": "D2"}]
    areas = [area("a1", "D1"), area("a2", "D1"), area("a3", "D2")]
    sc = scenario(areas, [childcare("c1", "D1", slots=5, affordable=5)], districts, access_share=1.0,
                  **{k: v for k, v in NO_BEDS.items() if k != "access_share"})
    g = build(sc).groups["c"]
    assert g.of_area.tolist() == [0, 0, 1]
    res = planner.solve(sc)
    short = res.areas.set_index("area_id")["shortfall_access_childcare"]
    assert short["a1"] == pytest.approx(short["a2"])  # one row: split by need
    assert short.sum() == pytest.approx(3 * 45 - 5)   # 135 slots needed in reach, 5 exist


def test_reach_before_and_after_agree_when_the_plan_builds_nothing():
    """One 30-slot nursery in reach of two districts' flats (22.5 slots of need each), nothing to build.

    Before and after are the same capacity, so every area and district shows the same share before
    and after (two free max-flows could split the 30 slots differently and show a fall), totalling 30.
    """
    districts = [{"district_id": "D1", "name": "A"}, {"district_id": "D2", "name": "B"}]
    areas = [area("a1", "D1"), area("a2", "D2", lon=BASE_LON + 0.005)]
    sc = scenario(areas, [childcare("c1", "D1", slots=30, affordable=30)], districts, childcare_per_1000=2.25,
                  affordable_share=0, beds_per_1000_elderly=0, care_bed_share=0, access_share=0.5)
    res = planner.solve(sc)
    assert res.cost == 0
    a, d = res.areas, res.districts
    assert a["served_in_reach_childcare_before"].sum() == pytest.approx(30)
    assert a["served_in_reach_childcare_before"].tolist() == pytest.approx(a["served_in_reach_childcare"].tolist())
    assert d["access_share_childcare_before"].tolist() == pytest.approx(d["access_share_childcare"].tolist())


# ------------------------------------------------------------------ force (Contract v2)

def test_force_open_and_closed():
    """45 slots needed. n1 (500/slot + 10,000) would be cheapest but is closed; n3 (20 slots, 600/slot +
    12,000) is forced open: 24,000. The other 25: n2 alone 10,000 + 25 × 800 = 30,000 beats c1's 10 at
    1,000 plus n2 for 15 (32,000). Integer plan: 54,000."""
    facs = [childcare("c1", slots=0, max_add=10, cost=1000),
            {**childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=0, max_size=100), "force": "closed"},
            childcare("n2", candidate=True, fixed=10_000, cost=800, min_size=0, max_size=100),
            {**childcare("n3", candidate=True, fixed=12_000, cost=600, min_size=20, max_size=20), "force": "open"}]
    sc = scenario([area("a1")], facs, **NO_BEDS)
    sc.options.integer = True
    res = planner.solve(sc)
    f = res.facilities.set_index("facility_id")
    assert not f.loc["n1", "opened"] and f.loc["n1", "added_slots"] == 0
    assert f.loc["n3", "opened"] and f.loc["n3", "added_slots"] == pytest.approx(20)
    assert f.loc["n2", "opened"] and f.loc["n2", "added_slots"] == pytest.approx(25)
    assert res.cost == pytest.approx(54_000)


def test_force_closed_existing_facility_is_not_expanded_or_converted():
    """e1 (closed) could convert at 300; e2 must convert and expand instead: 10 beds × 5,000 + 2 × 400."""
    facs = [{**eldercare("e1", beds=20, care=5, max_add=50, cost=1000, conv=300), "force": "closed"},
            eldercare("e2", beds=10, care=5, max_add=100, cost=5000, conv=400)]
    sc = scenario([area("a1", pop=5000, pop60=1000)], facs, **NO_SLOTS)
    res = planner.solve(sc)
    f = res.facilities.set_index("facility_id")
    assert f.loc["e1", "added_beds"] == 0 and f.loc["e1", "converted_care_beds"] == 0
    assert res.cost == pytest.approx(10 * 5000 + 2 * 400)


def test_force_bad_value_and_zero_that_does_not_apply():
    """A childcare row with cost_per_conversion 0 is fine (does not apply); 'maybe' is not a force value."""
    ok = scenario([area("a1")], [{**childcare("c1", slots=30, affordable=30), "cost_per_conversion": 0}], **NO_BEDS)
    assert ok.facilities["cost_per_conversion"].isna().all()
    with pytest.raises(planner.PlannerError, match="conversion applies to eldercare"):
        scenario([area("a1")], [{**childcare("c1", slots=30, affordable=30), "cost_per_conversion": 5}])
    with pytest.raises(planner.PlannerError, match="force must be open, closed or blank") as e:
        scenario([area("a1")], [{**childcare("c1"), "force": "maybe"}])
    assert e.value.column == "force" and e.value.row == 2


# ------------------------------------------------------------------ integer mode: strong sites, status, cost basis

def test_dominated_candidate_is_shut_and_bounds_tightened():
    """n1 and n2 stand side by side; n2 costs more in every respect, so integer mode shuts it before
    solving. n1's bound shrinks from 1,000 to the 45 slots the district can use."""
    facs = [childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=0, max_size=1000),
            childcare("n2", candidate=True, fixed=12_000, cost=600, min_size=5, max_size=1000)]
    sc = scenario([area("a1")], facs, **NO_BEDS)
    sc.options.integer = True
    m = planner.build(sc)
    assert m.data.open_upper.tolist() == [1.0, 0.0]
    assert m.data.add_upper.tolist() == [45.0, 0.0]
    res = planner.solve(sc, model=m)
    assert res.cost == pytest.approx(10_000 + 45 * 500) and res.info.mip_gap == 0


def test_integer_summary_says_which_cost_it_is():
    facs = [childcare("c1", slots=0, max_add=10, cost=1000),
            childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100)]
    sc = scenario([area("a1")], facs, **NO_BEDS)
    lp = planner.solve(sc)
    s = lp.summary()
    assert s["cost_basis"] == "lp_relaxation" and "LP relaxation" in s["cost_note"] and s["mip_gap"] is None
    sc.options.integer = True
    assert lp.cost_basis() == "lp_relaxation"  # what was solved, not the scenario's new setting
    s = planner.solve(sc).summary()
    assert s["cost_basis"] == "integer" and s["mip_gap"] <= 1e-4 and "proven optimal" in s["cost_note"]


def test_a_plan_stopped_by_the_time_limit_says_so(monkeypatch):
    """HiGHS stops with a plan and a 5 % gap: status, summary and the app's headline say so."""
    import importlib
    solve_module = importlib.import_module("planner.solve")
    from planner.widgets import views

    real_read = solve_module._read

    def stopped(h, integer):
        x, _, objective, _ = real_read(h, integer)
        return x, "time_limit", objective, 0.05

    monkeypatch.setattr(solve_module, "_integral_relaxation", lambda h, integer: None)
    monkeypatch.setattr(solve_module, "_read", stopped)
    facs = [childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100)]
    sc = scenario([area("a1")], facs, **NO_BEDS)
    sc.options.integer = True
    res = planner.solve(sc)
    assert res.status == "time_limit"
    s = res.summary()
    assert s["solver_status"] == "time_limit" and s["cost_basis"] == "integer_time_limit" and s["mip_gap"] == 0.05
    assert "not proven optimal (gap 5%)" in s["cost_note"]
    assert "达到时限未证明最优" in views.headline_html(res, "zh")


def test_coverage_groups_pick_the_site_that_covers_most_need():
    """MCLP in budget mode: two villages 10 km apart (45 and 90 slots of need at 4.5 per 1,000), a free
    candidate beside each (1 yuan to open, nothing per slot), budget 1 yuan: open the one beside the
    bigger village. Its 90 slots are built (at no cost) and serve that village in full; counts are met
    by an existing nursery out of everyone's reach."""
    areas = [area("small"), area("big", pop=20_000, lon=112.67)]
    facs = [childcare("n_small", candidate=True, fixed=1, cost=0, max_size=1000),
            childcare("n_big", candidate=True, fixed=1, cost=0, max_size=1000, lon=112.67),
            childcare("count", slots=135, affordable=135, lon=114.0)]
    sc = scenario(areas, facs, affordable_share=0, beds_per_1000_elderly=0, care_bed_share=0, access_share=1.0)
    sc.budget, sc.options.integer = 1, True
    model = planner.build(sc)
    assert model.data.cover["c"].all() and model.lp.blocks["flow_c"].stop == model.lp.blocks["flow_c"].start
    res = planner.solve(sc, model=model)
    f = res.facilities.set_index("facility_id")
    assert f.loc["n_big", "opened"] and not f.loc["n_small", "opened"] and res.cost == 1
    assert f.loc["n_big", "added_slots"] == pytest.approx(90)
    a = res.areas.set_index("area_id")
    assert a.loc["big", "served_in_reach_childcare"] == pytest.approx(90)
    assert a.loc["small", "shortfall_access_childcare"] == pytest.approx(45)
