"""Phased plans over years: hand-checkable plans (costs worked out in each docstring) and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import planner
from conftest import area, childcare, eldercare, scenario

YEARS = [2026, 2027, 2028, 2029, 2030]
ONLY_BEDS = dict(childcare_per_1000=0, affordable_share=0, care_bed_share=0, access_share=0)
ONLY_SLOTS = dict(beds_per_1000_elderly=0, care_bed_share=0, affordable_share=0, access_share=0)


def phased(sc, years=YEARS, population=None, **kw):
    """Make ``sc`` a phased scenario; ``population``: {year: {column: value}} for the one area a1."""
    sc.years = list(years)
    if population is not None:
        sc.population = pd.DataFrame([{"area_id": "a1", "year": y, **cols} for y, cols in population.items()])
    for k, v in kw.items():
        setattr(sc, k, v)
    return sc


def added(res, fid, col):
    fy = res.facility_years
    return fy.loc[fy["facility_id"] == fid].set_index("year")[col]


def by_year(res, col, district="D1"):
    b = res.by_year
    return b.loc[b["district_id"] == district].set_index("year")[col]


# ------------------------------------------------------------------ hand-checkable plans

def test_without_budget_capacity_is_built_in_the_year_it_is_needed():
    """40 beds exist; 1,000 aged 60+ need 40 until 2028, 2,000 from 2029 need 80: +40 beds in 2029
    at 1,000 yuan = 40,000, nothing earlier (late, just in time), nothing after."""
    sc = scenario([area("a1", pop60=1000)], [eldercare("e1", beds=40, max_add=100, cost=1000)], **ONLY_BEDS)
    pop = {y: {"pop_total": 10_000, "pop_0_2": 200, "pop_60_plus": 1000 if y < 2029 else 2000} for y in YEARS}
    res = planner.solve(phased(sc, population=pop))
    assert res.status == "optimal"
    assert added(res, "e1", "added_beds").to_dict() == pytest.approx({2026: 0, 2027: 0, 2028: 0, 2029: 40, 2030: 0})
    assert res.cost_by_year.to_dict() == pytest.approx({2026: 0, 2027: 0, 2028: 0, 2029: 40_000, 2030: 0})
    assert res.cost == pytest.approx(40_000)
    assert by_year(res, "beds_after").to_dict() == pytest.approx({2026: 40, 2027: 40, 2028: 40, 2029: 80, 2030: 80})


def test_tight_yearly_budget_builds_as_early_as_money_allows():
    """100 beds short from 2026 (1,000 yuan each), 30,000 yuan a year, unspent money carries over:
    30 beds a year (2026–2028) and the last 10 in 2029; shortfall 70, 40, 10, 0, 0. Without the
    budget all 100 are built in 2026."""
    sc = scenario([area("a1", pop60=3500)], [eldercare("e1", beds=40, max_add=200, cost=1000)], **ONLY_BEDS)
    res = planner.solve(phased(sc, budget=30_000))
    assert added(res, "e1", "added_beds").to_dict() == pytest.approx({2026: 30, 2027: 30, 2028: 30, 2029: 10, 2030: 0})
    assert by_year(res, "shortfall_beds").to_dict() == pytest.approx({2026: 70, 2027: 40, 2028: 10, 2029: 0, 2030: 0})
    assert res.status == "shortfall"
    spent, available = res.cost_by_year.cumsum(), np.cumsum([30_000] * 5)
    assert (spent.to_numpy() <= available + 1e-6).all()
    assert list(by_year(res, "shortfall_reason").iloc[:3]) == ["beds:budget"] * 3
    free = planner.solve(phased(scenario([area("a1", pop60=3500)], [eldercare("e1", beds=40, max_add=200, cost=1000)],
                                         **ONLY_BEDS)))
    assert added(free, "e1", "added_beds").to_dict() == pytest.approx({2026: 100, 2027: 0, 2028: 0, 2029: 0, 2030: 0})


def test_budget_per_year_carries_over():
    """Budget {2026: 0, 2027: 0, 2028: 100,000}: nothing can be built before 2028, then all 100 beds."""
    sc = scenario([area("a1", pop60=3500)], [eldercare("e1", beds=40, max_add=200, cost=1000)], **ONLY_BEDS)
    res = planner.solve(phased(sc, years=[2026, 2027, 2028], budget={2026: 0, 2027: 0, 2028: 100_000}))
    assert added(res, "e1", "added_beds").to_dict() == pytest.approx({2026: 0, 2027: 0, 2028: 100})
    assert by_year(res, "met").to_dict() == {2026: False, 2027: False, 2028: True}


def test_falling_births_make_a_later_expansion_unnecessary():
    """0.3 slots per child rising to 0.35 by 2030; 200 children need 60 slots in 2026 (50 exist: +10
    at 2,000 yuan). Births steady: 200 × 0.35 = 70 in 2030, so +10 more (40,000 in all). Births
    −5 %/yr: 200 × 0.95⁴ × 0.35 = 57 < 60 in 2030: no later expansion (20,000)."""
    def solve(growth):
        sc = scenario([area("a1", pop02=200)], [childcare("c1", slots=50, affordable=50, max_add=100, cost=2000)],
                      childcare_per_child={2026: 0.3, 2030: 0.35}, **ONLY_SLOTS)
        sc.targets.childcare_per_1000 = 0
        return planner.solve(phased(sc, growth=growth))

    steady, falling = solve({"pop_0_2": 0.0}), solve({"pop_0_2": -0.05})
    assert steady.cost == pytest.approx(40_000) and falling.cost == pytest.approx(20_000)
    assert added(steady, "c1", "added_slots").to_dict() == pytest.approx({2026: 10, 2027: 2.5, 2028: 2.5, 2029: 2.5,
                                                                          2030: 2.5}, abs=1e-6)
    assert added(falling, "c1", "added_slots").to_dict() == pytest.approx({2026: 10, 2027: 0, 2028: 0, 2029: 0, 2030: 0})
    assert by_year(falling, "slots_per_child_after")[2030] == pytest.approx(60 / (200 * 0.95 ** 4))


def test_repurposing_beats_building_when_births_fall():
    """2027: children 200 → 120 (0.5 slots each: 100 → 60 slots needed), aged 60+ 1,000 → 1,500
    (40 → 60 beds). 20 more beds: build at 10,000 = 200,000, or give up 40 slots (2 slots = 1 bed)
    at 1,000 = 40,000: repurposing wins. With births steady the slots are needed: build (200,000)."""
    def solve(kids_2027):
        c1 = childcare("c1", slots=100, affordable=50, max_add=0)
        c1.update(repurpose_to_beds=0.5, cost_per_repurpose=1000)
        sc = scenario([area("a1")], [c1, eldercare("e1", beds=40, care=40, max_add=100, cost=10_000)],
                      childcare_per_1000=0, childcare_per_child=0.5, affordable_share=0, care_bed_share=0,
                      access_share=0)
        pop = {2026: {"pop_total": 10_000, "pop_0_2": 200, "pop_60_plus": 1000},
               2027: {"pop_total": 10_000, "pop_0_2": kids_2027, "pop_60_plus": 1500}}
        return planner.solve(phased(sc, years=[2026, 2027], population=pop))

    falling, steady = solve(120), solve(200)
    assert falling.cost == pytest.approx(40_000) and steady.cost == pytest.approx(200_000)
    assert added(falling, "c1", "repurposed_slots").to_dict() == pytest.approx({2026: 0, 2027: 40})
    assert added(falling, "e1", "added_beds").sum() == pytest.approx(0)
    assert added(steady, "e1", "added_beds").to_dict() == pytest.approx({2026: 0, 2027: 20})
    d = falling.districts.iloc[0]
    assert d["slots_after"] == pytest.approx(60) and d["beds_after"] == pytest.approx(60)
    assert d["repurposed_slots"] == pytest.approx(40) and bool(d["met"])
    f = falling.facilities.set_index("facility_id")
    assert f.loc["c1", "state"] == "repurposed" and f.loc["c1", "beds_after"] == pytest.approx(20)


def test_discounting_moves_spending_later():
    """+60 beds needed in 2026, +120 by 2030. Open candidate k1 in 2026 (100,000 + 1,500/bed):
    190,000 then 90,000 = 280,000; or expand e1 (2,000/bed) in 2026 and open k1 in 2030:
    120,000 then 190,000 = 310,000. Undiscounted the first is cheaper; at 15 %/yr 2030 yuan weigh
    1/1.15⁴ = 0.572: 190,000 + 0.572 · 90,000 = 241,435 > 120,000 + 0.572 · 190,000 = 228,640."""
    def solve(rate):
        sc = scenario([area("a1", pop60=2500)],
                      [eldercare("e1", beds=40, care=40, max_add=60, cost=2000),
                       eldercare("k1", candidate=True, fixed=100_000, cost=1500, max_size=200)], **ONLY_BEDS)
        sc.options.integer = True
        sc.options.discount_rate = rate
        pop = {y: {"pop_total": 10_000, "pop_0_2": 200, "pop_60_plus": 2500 if y < 2030 else 4000} for y in YEARS}
        return planner.solve(phased(sc, population=pop))

    flat, discounted = solve(0.0), solve(0.15)
    assert flat.cost == pytest.approx(280_000) and discounted.cost == pytest.approx(310_000)
    assert flat.cost_by_year[2026] == pytest.approx(190_000) and discounted.cost_by_year[2026] == pytest.approx(120_000)
    assert discounted.cost_by_year[2030] == pytest.approx(190_000)
    opened = lambda res: added(res, "k1", "opened")  # noqa: E731
    assert opened(flat).to_dict() == {2026: True, 2027: True, 2028: True, 2029: True, 2030: True}
    assert opened(discounted).to_dict() == {2026: False, 2027: False, 2028: False, 2029: False, 2030: True}


def test_operating_cost_counts_from_the_year_after():
    """20 beds built in 2026 at 1,000 yuan, running cost 100 yuan per bed-year from 2027:
    20,000 in 2026, then 2,000 a year; total 28,000."""
    e1 = eldercare("e1", beds=40, max_add=100, cost=1000)
    e1["operating_cost_per_unit_year"] = 100
    sc = scenario([area("a1", pop60=1500)], [e1], **ONLY_BEDS)
    res = planner.solve(phased(sc))
    assert res.cost_by_year.to_dict() == pytest.approx({2026: 20_000, 2027: 2000, 2028: 2000, 2029: 2000, 2030: 2000})
    assert res.cost == pytest.approx(28_000)


def test_a_target_schedule_is_linear_between_given_years_and_flat_outside():
    sc = scenario([area("a1", pop=10_000)], [childcare("c1", slots=0, max_add=500, cost=1)],
                  childcare_per_1000={2027: 4.0, 2029: 6.0}, **ONLY_SLOTS)
    res = planner.solve(phased(sc))
    assert by_year(res, "target_childcare_per_1000").to_dict() == pytest.approx(
        {2026: 4.0, 2027: 4.0, 2028: 5.0, 2029: 6.0, 2030: 6.0})
    assert by_year(res, "slots_after").to_dict() == pytest.approx({2026: 40, 2027: 40, 2028: 50, 2029: 60, 2030: 60})


def test_population_from_growth_per_district():
    areas = [area("a1", "D1", pop=1000, pop60=100), area("a2", "D2", pop=1000, pop60=100)]
    sc = scenario(areas, [eldercare("e1", "D1"), eldercare("e2", "D2")])
    sc.years, sc.base_year = [2026, 2027], 2025
    sc.growth = pd.DataFrame({"district_id": ["D1", "D2"], "pop_60_plus": [0.10, -0.10]})
    sc.validate()
    pop = sc.population_by_year().set_index(["area_id", "year"])["pop_60_plus"]
    assert pop.to_dict() == pytest.approx({("a1", 2026): 110, ("a2", 2026): 90, ("a1", 2027): 121, ("a2", 2027): 81})


def test_districts_are_the_last_year_and_tables_have_every_year():
    sc = scenario([area("a1", pop60=1000), area("a2", "D2", pop60=500)],
                  [eldercare("e1", beds=10, max_add=100, cost=10), eldercare("e2", "D2", beds=5, max_add=50, cost=10)],
                  **ONLY_BEDS)
    res = planner.solve(phased(sc, growth={"pop_60_plus": 0.035}))
    assert res.years == YEARS
    assert len(res.by_year) == 2 * 5 and len(res.facility_years) == 2 * 5
    last = res.by_year[res.by_year["year"] == 2030].set_index("district_id")
    pd.testing.assert_series_equal(res.districts.set_index("district_id")["beds_after"], last["beds_after"])
    # base_year defaults to the first plan year: 2028 is two years of growth on
    assert res.for_year(2028).districts["pop_60_plus"].sum() == pytest.approx(1500 * 1.035 ** 2)
    with pytest.raises(planner.PlannerError, match="2031"):
        res.for_year(2031)


def test_a_scenario_without_years_is_the_single_period_model():
    sc = scenario([area("a1", pop60=1000)], [eldercare("e1", beds=10, max_add=100, cost=10)], **ONLY_BEDS)
    res = planner.solve(sc)
    assert res.by_year is None and res.facility_years is None and res.years is None


# ------------------------------------------------------------------ properties

@st.composite
def small_scenarios(draw):
    n_d = draw(st.integers(1, 3))
    areas, facs = [], []
    for i in range(draw(st.integers(1, 5))):
        d = f"D{draw(st.integers(1, n_d))}"
        pop = draw(st.integers(1000, 50_000))
        areas.append(area(f"a{i}", d, pop=pop, pop60=min(pop, draw(st.integers(0, 5000))),
                          lon=112.55 + draw(st.integers(0, 20)) * 0.001, lat=37.87 + draw(st.integers(0, 20)) * 0.001,
                          pop02=draw(st.integers(0, 800))))
    districts = sorted({a["district_id"] for a in areas})
    for j in range(draw(st.integers(1, 5))):
        d = draw(st.sampled_from(districts))
        lon, lat = 112.55 + draw(st.integers(0, 20)) * 0.001, 37.87 + draw(st.integers(0, 20)) * 0.001
        if draw(st.booleans()):
            s = draw(st.integers(0, 200))
            facs.append(childcare(f"c{j}", d, slots=s, affordable=draw(st.integers(0, s)),
                                  max_add=draw(st.integers(0, 200)), cost=draw(st.integers(1, 50)) * 1000,
                                  lon=lon, lat=lat))
        else:
            b = draw(st.integers(0, 200))
            facs.append(eldercare(f"e{j}", d, beds=b, care=draw(st.integers(0, b)), max_add=draw(st.integers(0, 200)),
                                  cost=draw(st.integers(1, 50)) * 1000,
                                  conv=draw(st.sampled_from([None, 5000])), lon=lon, lat=lat))
    sc = scenario(areas, facs, access_share=draw(st.sampled_from([0.0, 0.8])))
    return sc


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_one_year_phased_equals_the_single_period_model(sc):
    single = planner.solve(sc)
    one = sc.copy()
    one.years = [2026]
    res = planner.solve(one)
    assert res.cost == pytest.approx(single.cost, rel=1e-6, abs=1e-3)
    cols = ["shortfall_slots", "shortfall_affordable", "shortfall_beds", "shortfall_care_beds",
            "shortfall_access_childcare", "shortfall_access_beds"]
    np.testing.assert_allclose(res.districts[cols].sum().to_numpy(), single.districts[cols].sum().to_numpy(),
                               atol=1e-3)
    assert list(res.districts["met"]) == list(single.districts["met"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.floats(-0.1, 0.1), st.floats(-0.05, 0.08),
       st.sampled_from([None, 20_000.0, 200_000.0]))
def test_capacity_never_falls_and_each_year_meets_what_can_be_met(sc, kids, elderly, budget):
    sc.years, sc.base_year = [2026, 2027, 2028], 2025
    sc.growth = {"pop_0_2": kids, "pop_60_plus": elderly}
    sc.targets.childcare_per_1000 = {2026: 3.0, 2028: 5.5}
    sc.targets.childcare_per_child = 0.2
    sc.budget = budget
    res = planner.solve(sc)
    fy = res.facility_years
    for col in ("added_slots", "added_beds", "converted_care_beds", "repurposed_slots"):
        assert (fy[col] >= -1e-6).all()
    b = res.by_year.sort_values(["district_id", "year"])
    for col in ("slots_after", "beds_after", "care_beds_after", "affordable_slots_after"):
        assert (b.groupby("district_id")[col].diff().fillna(0) >= -1e-6).all(), col
    assert (res.cost_by_year.cumsum().to_numpy() <= (np.inf if budget is None else budget * np.arange(1, 4)) + 1e-3).all()
    if budget is not None:
        return
    # Independent check, per year and district: everything allowed added ≥ what the year's targets ask.
    f = sc.facilities
    pop = sc.population_by_year().merge(sc.areas[["area_id", "district_id"]], on="area_id")
    tot = pop.groupby(["year", "district_id"])[["pop_total", "pop_0_2", "pop_60_plus"]].sum()
    child = f["kind"] == "childcare"
    cap_c = (f["slots"] + f["max_add"])[child].groupby(f["district_id"]).sum()
    cap_e = (f["beds"] + f["max_add"])[~child].groupby(f["district_id"]).sum()
    for (year, d), row in tot.iterrows():
        t = sc.targets.at(year)
        need_slots = max(t.childcare_per_1000 * row["pop_total"] / 1000, t.childcare_per_child * row["pop_0_2"])
        r = b[(b["year"] == year) & (b["district_id"] == d)].iloc[0]
        if cap_c.get(d, 0.0) >= need_slots + 1e-6:
            assert r["shortfall_slots"] == 0, (year, d)
        if cap_e.get(d, 0.0) >= t.beds_per_1000_elderly * row["pop_60_plus"] / 1000 + 1e-6:
            assert r["shortfall_beds"] == 0, (year, d)


# ------------------------------------------------------------------ input

def test_population_table_errors_name_file_row_and_column(tmp_path):
    sc = scenario([area("a1"), area("a2")], [eldercare("e1")])
    sc.years = [2026, 2027]
    good = [{"area_id": a, "year": y, "pop_total": 1000, "pop_60_plus": 100} for a in ("a1", "a2") for y in (2026, 2027)]
    cases = [
        (good[:-1], "no row for area 'a2' in 2027", None, "year"),
        (good + [{"area_id": "a9", "year": 2026, "pop_total": 1, "pop_60_plus": 0}], "unknown area 'a9'", 6, "area_id"),
        ([*good[:3], {**good[3], "year": 2031}], "outside the plan years", 5, "year"),
        ([{**good[0], "pop_60_plus": -5}, *good[1:]], "must be ≥ 0", 2, "pop_60_plus"),
        ([*good, good[0]], "given twice", 6, "year"),
    ]
    for rows, message, row, column in cases:
        path = tmp_path / "pop.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        sc.population, sc.sources["population"] = planner.io.read_file(path), str(path)
        with pytest.raises(planner.PlannerError, match=message) as err:
            sc.validate()
        assert (err.value.file, err.value.row, err.value.column) == (str(path), row, column)


def test_phased_settings_are_checked():
    sc = scenario([area("a1")], [eldercare("e1")])
    bad = [({"years": [2026, 2028]}, "consecutive", "years"),
           ({"years": {"from": 2030, "to": 2026}}, "before", "years"),
           ({"years": [2026], "budget": {2025: 10}}, "not a plan year", "budget"),
           ({"years": [2026], "budget": {2026: -1}}, "≥ 0", "budget"),
           ({"growth": {"pop_0_2": -0.05}}, "years is not", "growth"),
           ({"years": [2026], "growth": {"births": -0.05}}, "unknown growth key", "births"),
           ({"years": [2026], "growth": {"pop_0_2": -1.5}}, "between -1 and 1", "pop_0_2"),
           ({"years": [2026], "base_year": 2027}, "after the first plan year", "base_year")]
    for attrs, message, column in bad:
        s = sc.copy()
        for k, v in attrs.items():
            setattr(s, k, v)
        with pytest.raises(planner.PlannerError, match=message) as err:
            s.validate()
        assert err.value.column == column
    s = sc.copy()
    s.targets.childcare_per_1000 = {2025: 4.5, 2030: 5.5}
    with pytest.raises(planner.PlannerError, match="needs the plan years"):
        s.validate()
    s.years = [2026]
    s.targets.care_bed_share = {2025: 0.5, 2030: 1.3}
    with pytest.raises(planner.PlannerError, match="care_bed_share in 2030"):
        s.validate()
    s = sc.copy()
    s.options.discount_rate = 1.5
    with pytest.raises(planner.PlannerError, match="discount_rate"):
        s.validate()


def test_repurpose_columns_are_checked():
    c1 = childcare("c1", slots=10)
    c1["repurpose_to_beds"] = 0.5
    with pytest.raises(planner.PlannerError, match="cost_per_repurpose is needed") as err:
        scenario([area("a1")], [c1])
    assert (err.value.row, err.value.column) == (2, "cost_per_repurpose")
    e1 = eldercare("e1", beds=10)
    e1.update(repurpose_to_beds=0.5, cost_per_repurpose=100)
    with pytest.raises(planner.PlannerError, match="applies to childcare") as err:
        scenario([area("a1")], [e1])
    e1["repurpose_to_beds"] = 0  # 0 in a column that does not apply: does not apply
    scenario([area("a1")], [e1])


def test_the_shanxi_plan_demo_loads_with_its_assumptions_stated():
    sc = planner.load_demo("shanxi_2026_2030")
    assert sc.years == YEARS and sc.base_year == 2025
    assert sc.growth == {"pop_total": -0.003, "pop_0_2": -0.05, "pop_60_plus": 0.035}
    assert "assumed" in sc.attribution and "synthetic" in sc.attribution.lower()
    pop = sc.population_by_year().groupby("year")["pop_0_2"].sum()
    base = sc.areas["pop_0_2"].sum()
    assert pop[2030] == pytest.approx(base * 0.95 ** 5)
    assert sc.for_year(2030).targets.care_bed_share == pytest.approx(0.73)


# ------------------------------------------------------------------ outputs

@pytest.fixture(scope="module")
def two_district_plan():
    # distinct places: a map of points that all coincide has no extent to fit (a map bug of its own)
    sc = scenario([area("a1", pop60=1000, pop02=300), area("a2", "D2", pop60=500, pop02=100, lon=112.56, lat=37.88)],
                  [eldercare("e1", beds=10, max_add=100, cost=10, lat=37.875),
                   eldercare("e2", "D2", beds=5, max_add=10, cost=10, lon=112.57),
                   childcare("c1", slots=40, affordable=40, max_add=30, cost=20, lon=112.555)],
                  affordable_share=0, care_bed_share=0, access_share=0)
    sc.name = "两区 2026–2030"
    return planner.solve(phased(sc, growth={"pop_60_plus": 0.035, "pop_0_2": -0.05}, budget=600))


def test_explanations_per_year_in_both_languages(two_district_plan):
    res = two_district_plan
    en, zh = res.explain_years("en"), res.explain_years("zh")
    b = res.by_year.set_index(["year", "district_id"])
    amount = b.loc[(2030, "D2"), "shortfall_beds"]
    assert amount > 0
    assert f"2030: elderly-care beds short by {planner.i18n.fmt_number(amount, 0)} in D2 (" in "\n".join(en)
    assert any(line.startswith("2030年：D2 养老床位缺口") for line in zh)
    assert len(en) == len(zh)


def test_excel_has_the_phasing_every_year_and_facilities_by_year(two_district_plan, tmp_path):
    from openpyxl import load_workbook

    path = two_district_plan.to_excel(tmp_path / "plan.xlsx", lang="en")
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == ["Districts", "Facilities", "Areas", "Phasing", *[f"Districts {y}" for y in YEARS],
                             "Facilities by year", "Notes"]
    rows = list(wb["Districts 2028"].iter_rows(min_row=2, values_only=True))
    assert rows[0][:2] == ("year", "district_id") and rows[1][0] == 2028 and len(rows) == 3
    phasing = list(wb["Phasing"].iter_rows(min_row=2, values_only=True))
    head = phasing[0]
    spent = {r[0]: r[head.index("cost_yuan")] for r in phasing[1:]}
    assert spent == pytest.approx(two_district_plan.cost_by_year.to_dict())
    wb.close()
    tables = planner.export.read_excel(path)  # the three tables still read back
    assert set(tables) == {"districts", "facilities", "areas"}


def test_phasing_table_and_chart(two_district_plan, tmp_path):
    res = two_district_plan
    region, d2 = res.phasing(), res.phasing("D2")
    assert list(region["year"]) == YEARS
    assert region["beds_after"].to_numpy() == pytest.approx(res.by_year.groupby("year")["beds_after"].sum().to_numpy())
    assert d2["need_beds"].to_numpy() == pytest.approx(40 * 500 * 1.035 ** np.arange(5) / 1000)
    assert region["budget_to_date_yuan"].tolist() == pytest.approx([600, 1200, 1800, 2400, 3000])
    with pytest.raises(planner.PlannerError, match="unknown district"):
        res.phasing("D9")
    for lang in ("zh", "en"):
        png = res.to_phasing_png(tmp_path / f"phasing_{lang}.png", lang=lang)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    single = planner.solve(scenario([area("a1")], [childcare("c1", max_add=100, cost=1)]))
    with pytest.raises(planner.PlannerError, match="single-period"):
        single.phasing()


def test_cli_solves_and_writes_a_phased_scenario(tmp_path):
    import json
    import yaml

    from planner.cli import main

    pd.DataFrame([area("a1", pop60=1000)]).to_csv(tmp_path / "areas.csv", index=False)
    pd.DataFrame([eldercare("e1", beds=40, max_add=200, cost=1000)]).to_csv(tmp_path / "facilities.csv", index=False)
    pd.DataFrame([{"area_id": "a1", "year": y, "pop_total": 10_000, "pop_60_plus": 1000 + 500 * i}
                  for i, y in enumerate(YEARS)]).to_csv(tmp_path / "pop.csv", index=False)
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump({
        "name": "plan", "areas": "areas.csv", "facilities": "facilities.csv",
        "years": {"from": 2026, "to": 2030}, "population": "pop.csv",
        "targets": {"childcare_per_1000": 0, "affordable_share": 0, "care_bed_share": 0, "access_share": 0,
                    "beds_per_1000_elderly": {2026: 40, 2030: 50}},
        "budget": {2026: 1.0e5, 2027: "1e5"}, "options": {"discount_rate": 0.03}}), encoding="utf-8")
    assert main(["solve", str(tmp_path / "plan.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = tmp_path / "out"
    for name in ("districts.csv", "by_year.csv", "facility_years.csv", "phasing.csv", "phasing.png", "summary.json",
                 "map.html"):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["years"] == YEARS and summary["discount_rate"] == 0.03
    # 2026: 40 beds needed, 40 exist; 2030: 50/1000 × 3,000 = 150 → +110 beds, paid from 200,000 by 2027
    by_year = pd.read_csv(out / "by_year.csv")
    assert by_year.set_index("year")["target_beds"].to_dict() == pytest.approx(
        {2026: 40, 2027: 42.5 * 1.5, 2028: 45 * 2, 2029: 47.5 * 2.5, 2030: 150})
    assert sum(summary["cost_by_year_yuan"].values()) == pytest.approx(110_000)
    assert summary["status"] == "optimal"


def test_yaml_population_errors_name_the_population_file(tmp_path):
    import yaml

    pd.DataFrame([area("a1")]).to_csv(tmp_path / "areas.csv", index=False)
    pd.DataFrame([eldercare("e1")]).to_csv(tmp_path / "facilities.csv", index=False)
    pd.DataFrame([{"area_id": "a1", "year": 2026, "pop_total": 10, "pop_60_plus": 20}]).to_csv(tmp_path / "pop.csv",
                                                                                              index=False)
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump({"areas": "areas.csv", "facilities": "facilities.csv",
                                                        "years": [2026], "population": "pop.csv"}))
    with pytest.raises(planner.PlannerError) as err:
        planner.load_scenario(tmp_path / "plan.yaml")
    assert (err.value.file, err.value.row, err.value.column) == (str(tmp_path / "pop.csv"), 2, "pop_60_plus")


# ------------------------------------------------------------------ rows of the phased families

def test_phased_rows_read_as_the_docstrings_say():
    """c1: 100 slots (40 affordable), may give up slots for 0.5 beds each; e1: 30 beds, running cost 10/bed-year."""
    from test_formulation import row
    from planner.phased import build_phased

    c1 = childcare("c1", slots=100, affordable=40, max_add=20, cost=2000)
    c1.update(repurpose_to_beds=0.5, cost_per_repurpose=300)
    e1 = eldercare("e1", beds=30, care=10, max_add=100, cost=5000)
    e1["operating_cost_per_unit_year"] = 10
    sc = scenario([area("a1", pop=10_000, pop60=1000, pop02=200)], [c1, e1], childcare_per_child=0.6,
                  affordable_share=0.5, care_bed_share={2026: 0.5, 2028: 0.7})
    sc = phased(sc, years=[2026, 2027, 2028], budget={2026: 1000, 2027: 2000, 2028: 0})
    sc.validate()
    m = build_phased(sc)
    # slots 2027: add − rep + sf ≥ max(4.5 · 10,000 / 1000, 0.6 · 200) − 100 = 120 − 100
    terms, lo, up = row(m, "slots", (2027, "D1"))
    assert terms == {("add", (2027, "c1")): 1.0, ("rep", (2027, "c1")): -1.0, ("sf_slots", (2027, "D1")): 1.0}
    assert (lo, up) == (pytest.approx(20.0), np.inf)
    # affordable: aff − 0.5 add + (0.5 − 0.4) rep + sf ≥ 0.5 · 100 − 40
    terms, lo, _ = row(m, "affordable", (2026, "D1"))
    assert terms[("rep", (2026, "c1"))] == pytest.approx(0.1) and terms[("add", (2026, "c1"))] == -0.5
    assert lo == pytest.approx(10.0)
    # beds: add_e1 + 0.5 rep + sf ≥ 40 − 30; care 2027 (share 0.6): conv + 0.4 add + 0.4·0.5 rep + sf ≥ 0.6·30 − 10
    terms, lo, _ = row(m, "beds", (2028, "D1"))
    assert terms[("rep", (2028, "c1"))] == 0.5 and terms[("add", (2028, "e1"))] == 1.0 and lo == pytest.approx(10)
    terms, lo, _ = row(m, "care", (2027, "D1"))
    assert terms[("rep", (2027, "c1"))] == pytest.approx(0.2) and terms[("add", (2027, "e1"))] == pytest.approx(0.4)
    assert lo == pytest.approx(8.0)
    # stays: X[y] − X[y−1] ≥ 0
    terms, lo, _ = row(m, "stays_add", (2028, "e1"))
    assert terms == {("add", (2028, "e1")): 1.0, ("add", (2027, "e1")): -1.0} and lo == 0
    terms, _, _ = row(m, "stays_rep", (2027, "c1"))
    assert terms == {("rep", (2027, "c1")): 1.0, ("rep", (2026, "c1")): -1.0}
    # budget 2028: capital states of 2028 + running cost of what was added by 2026 and 2027 ≤ 3,000
    terms, _, up = row(m, "budget", 2028)
    s = m.data.scale
    assert terms[("add", (2028, "e1"))] * s == pytest.approx(5000) and terms[("rep", (2028, "c1"))] * s == pytest.approx(300)
    assert terms[("add", (2026, "e1"))] * s == pytest.approx(10) and terms[("add", (2027, "e1"))] * s == pytest.approx(10)
    assert ("add", (2028, "c1")) in terms and up * s == pytest.approx(3000)
    # childcare capacity of c1 in 2026: flows − add + rep ≤ 100
    terms, _, up = row(m, "capacity_c", (2026, "c1"))
    assert terms[("add", (2026, "c1"))] == -1.0 and terms[("rep", (2026, "c1"))] == 1.0 and up == 100


def test_phased_plan_on_cbc_and_with_a_user_hook_over_years():
    """The PuLP/CBC path gives the same plan; an extra_functionality row sees the (year, facility) blocks:
    capping e1 at 20 beds by 2027 leaves 2027 short of the 30 the budget would buy."""
    def make():
        sc = scenario([area("a1", pop60=3500)], [eldercare("e1", beds=40, max_add=200, cost=1000)], **ONLY_BEDS)
        return phased(sc, years=[2026, 2027, 2028], budget=30_000)

    highs = planner.solve(make())
    cbc = make()
    cbc.options.solver = "cbc"
    cbc = planner.solve(cbc)
    assert cbc.info.solver == "cbc"
    assert cbc.cost_by_year.to_dict() == pytest.approx(highs.cost_by_year.to_dict())
    hooked = make()
    hooked.extra_functionality = lambda lp, v, sc: lp.add_constraints("cap_2027", v["add"].loc[(2027, "e1")] <= 20)
    res = planner.solve(hooked)
    assert by_year(res, "beds_after").to_dict() == pytest.approx({2026: 60, 2027: 60, 2028: 130})


def test_maps_of_a_phased_plan_show_a_chosen_year(two_district_plan, tmp_path):
    res = two_district_plan
    y2027 = res.to_html(tmp_path / "map_2027.html", year=2027)
    # the title names the year (inside the map's script, "·" is written \u00b7)
    text_2027 = y2027.read_text(encoding="utf-8")
    assert "\\u00b7 2027" in text_2027 and "\\u00b7 2030" not in text_2027
    page = res.to_html(tmp_path / "map.html").read_text(encoding="utf-8")  # every year behind a selector
    assert page.count('<iframe class="planner-year-map"') == 5
    assert all(f'<button type="button" data-year="{y}"' in page for y in YEARS)
    assert res.map(year=2027) is not None
    with pytest.raises(planner.PlannerError, match="2040"):
        res.to_html(tmp_path / "x.html", year=2040)


@pytest.mark.browser
def test_the_year_selector_switches_maps_offline(two_district_plan, tmp_path):
    from browser_util import offline_page, require_chromium

    require_chromium()
    path = two_district_plan.to_html(tmp_path / "map.html", lang="en")
    with offline_page(path, settle_ms=800) as run:
        page = run.page
        shown = lambda: page.evaluate(  # noqa: E731
            "[...document.querySelectorAll('iframe.planner-year-map')].filter(f => f.style.visibility !== 'hidden')"
            ".map(f => f.dataset.year)")
        assert shown() == ["2030"]
        page.click("#planner-years button[data-year='2027']")
        assert shown() == ["2027"]
        frame = page.frame_locator("iframe[data-year='2027']")
        frame.locator(".planner-title").wait_for(timeout=30_000)
        assert "2027" in frame.locator(".planner-title").inner_text()
        assert frame.locator(".leaflet-marker-pane *, .leaflet-overlay-pane path").count() > 0
        page.screenshot(path=str(tmp_path / "years.png"))
        assert run.blocked == [] and run.errors == []


def test_app_controls_edit_start_and_end_values_and_a_budget_per_year():
    from planner.widgets.controls import Controls

    sc = scenario([area("a1", pop60=1000)], [eldercare("e1", beds=10, max_add=100, cost=10)],
                  childcare_per_1000={2025: 4.5, 2030: 5.5})
    sc = phased(sc, budget={2026: 100, 2028: 50})
    c = Controls(sc, "zh")
    assert c.phased and c.year.value == 2030 and list(c.budget_years) == YEARS
    assert c.sliders["childcare_per_1000"].value == pytest.approx(4.7)
    assert c.end_sliders["childcare_per_1000"].value == pytest.approx(5.5)
    assert {y: f.value for y, f in c.budget_years.items()} == {2026: 100, 2027: 0, 2028: 50, 2029: 0, 2030: 0}
    c.end_sliders["beds_per_1000_elderly"].value = 60
    out = c.scenario()
    assert out.targets.beds_per_1000_elderly == {2026: 40, 2030: 60}
    assert out.targets.childcare_per_1000 == {2026: 4.7, 2030: 5.5}
    assert out.budget == {2026: 100, 2027: 0, 2028: 50, 2029: 0, 2030: 0}
    kinds = []
    c.on_change(kinds.append)
    c.year.value = 2027  # the year shown: no re-solve
    assert kinds == ["year"]
    assert sc.targets.beds_per_1000_elderly == 40  # the base scenario is not changed


def test_the_solution_is_labelled_by_year_and_each_year_reads_its_own_duals():
    """Slots needed rise 45 → 65 (4.5 → 6.5 per 1,000): one more slot needed in 2030 costs the
    2,000 yuan of building it then (its dual, × scale, in 2030); 2026's row is not binding later."""
    sc = scenario([area("a1", pop=10_000)], [childcare("c1", slots=30, affordable=30, max_add=100, cost=2000)],
                  childcare_per_1000={2026: 4.5, 2030: 6.5}, **ONLY_SLOTS)
    res = planner.solve(phased(sc))
    add = res.solution["add"]
    assert add.index.names == ["year", "facility_id"] and add.loc[(2030, "c1")] == pytest.approx(35)
    scale = res.for_year(2030).solution.model.data.scale  # objective units → yuan
    dual_2030 = res.for_year(2030).solution.dual("slots").loc["D1"] * scale
    assert dual_2030 == pytest.approx(2000 * (1 - 4 * planner.phased.TIE_BREAK), rel=1e-6)
    assert res.for_year(2026).solution.dual("slots").index.tolist() == ["D1"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.floats(-0.3, 0.1), st.floats(-0.2, 0.1))
def test_years_apart_first_then_linked_gives_the_linked_optimum(sc, kids, elderly):
    """run_phased (each year alone, then linked from that basis if a state would fall) == the linked LP."""
    import importlib

    from planner.phased import build_phased, run_phased

    run = importlib.import_module("planner.solve").run
    sc.years, sc.base_year = [2026, 2027, 2028], 2025
    sc.growth = {"pop_0_2": kids, "pop_60_plus": elderly, "pop_total": kids / 3}
    sc.targets.childcare_per_1000 = {2026: 5.0, 2028: 3.0}  # falling need: states would fall if years were apart
    sc.validate()
    model = build_phased(sc)
    x, info = run_phased(model)
    x_linked, linked = run(model)
    assert info.objective == pytest.approx(linked.objective, rel=1e-7, abs=1e-7)
    for name in ("add", "aff", "conv", "open"):  # affordable slots carried over (phased._keep_affordable)
        var = model.variables[name]
        states = x[var.positions].reshape(3, -1)
        assert (np.diff(states, axis=0) >= -1e-6).all()
    lp = model.lp  # x is feasible for the linked model, and its duals are optimal for it
    assert (lp.A @ x >= lp.row_lower - 1e-6).all() and (lp.A @ x <= lp.row_upper + 1e-6).all()
    y = info.duals
    rhs = np.where(y > 0, lp.row_lower, lp.row_upper)
    reduced = lp.cost - lp.A.T @ y
    on, at = y != 0, np.abs(reduced) > 1e-9
    bound = np.where(reduced > 0, lp.lower, lp.upper)
    assert float(y[on] @ rhs[on] + reduced[at] @ bound[at]) == pytest.approx(linked.objective, rel=1e-6, abs=1e-6)


def test_only_pieces_whose_states_fall_are_linked_and_the_optimum_is_the_linked_one(monkeypatch):
    """Two regions a degree of longitude apart (out of each other's reach): in D1 the need for slots falls
    (its states would fall with the years apart), in D2 it rises. run_phased re-solves only D1's piece;
    its optimum, its states and its duals are those of the linked LP."""
    far = 112.55 + 1.0
    areas = [area("a1", "D1", pop=20_000, pop60=3000), area("a2", "D1", pop=8000, pop60=900, lat=37.88),
             area("b1", "D2", pop=15_000, pop60=2000, lon=far), area("b2", "D2", pop=9000, pop60=1000, lon=far)]
    facs = [childcare("c1", "D1", slots=20, max_add=300, cost=3000), childcare("c2", "D1", max_add=300, cost=2000,
                                                                            lat=37.88),
            eldercare("e1", "D1", beds=50, care=10, max_add=300, cost=5000, conv=1000),
            childcare("c3", "D2", slots=10, max_add=300, cost=2500, lon=far),
            eldercare("e2", "D2", beds=20, max_add=300, cost=4000, conv=800, lon=far)]
    sc = scenario(areas, facs, access_share=0.8)
    sc.years, sc.base_year = [2026, 2027, 2028], 2025
    sc.growth = pd.DataFrame({"district_id": ["D1", "D2"], "pop_total": [-0.25, 0.1], "pop_60_plus": [-0.2, 0.1]})
    sc.validate()
    import importlib

    from planner.phased import build_phased, run_phased

    solve = importlib.import_module("planner.solve")
    monkeypatch.setattr(solve, "BLOCK_NONZEROS", 0)  # each independent piece a block of its own
    model = build_phased(sc)
    pieces = [(r, c) for r, c in solve.blocks(model.lp) if len(c)]
    assert len(pieces) >= 2
    linked_parts, original = [], solve.run
    monkeypatch.setattr(solve, "run", lambda *a, **kw: (linked_parts.append(kw.get("parts")), original(*a, **kw))[1])
    x, info = run_phased(model)
    monkeypatch.undo()
    assert len(linked_parts) == 4  # three years, then the linked pieces
    relinked = np.concatenate([c for _, c in linked_parts[-1]])
    assert 0 < len(linked_parts[-1]) < len(pieces)  # D2 (rising need) is not re-solved
    d2 = model.problem.variables["add"].index.get_level_values("facility_id").isin(["c3", "e2"])
    assert not np.isin(model.variables["add"].positions[d2], relinked).any()
    _, linked = solve.run(model)
    assert info.objective == pytest.approx(linked.objective, rel=1e-7, abs=1e-7)
    assert float(model.lp.cost @ x) == pytest.approx(linked.objective, rel=1e-7, abs=1e-7)
    for name in ("add", "aff", "conv", "open"):
        var = model.variables[name]
        states = x[var.positions].reshape(3, -1)
        assert (np.diff(states, axis=0) >= -1e-6).all()
    # the duals are optimal duals of the linked LP: the dual objective equals the optimum
    lp, y = model.lp, info.duals
    rhs = np.where(y > 0, lp.row_lower, lp.row_upper)
    reduced = lp.cost - lp.A.T @ y
    bound = np.where(reduced > 0, lp.lower, lp.upper)
    on, at = y != 0, reduced != 0  # active rows, columns at a bound
    dual_objective = float(y[on] @ rhs[on] + reduced[at] @ bound[at])
    assert dual_objective == pytest.approx(linked.objective, rel=1e-6, abs=1e-6)


def test_app_shows_a_phased_plan_year_by_year():
    from planner.widgets import PlannerApp

    sc = scenario([area("a1", pop60=1000), area("a2", "D2", pop60=2000, lon=112.56, lat=37.88)],
                  [eldercare("e1", beds=10, max_add=100, cost=10, lat=37.875),
                   eldercare("e2", "D2", beds=5, max_add=100, cost=10, lon=112.57)],
                  **ONLY_BEDS)
    sc = phased(sc, growth={"pop_60_plus": 0.10})
    app = PlannerApp(sc, lang="en")
    res = app.wait(120)
    assert app.error is None and res.years == YEARS
    assert app.shown.scenario.name.endswith("2030")
    beds = lambda: app.shown.districts["beds_after"].sum()  # noqa: E731
    last = beds()
    app.controls.year.value = 2027   # no new solve: the same plan, that year's tables and map
    app.wait(60)
    assert app.result is res and app.shown.scenario.name.endswith("2027")
    assert beds() == pytest.approx(res.by_year.query("year == 2027")["beds_after"].sum()) and beds() < last
    app._parts.tabs.selected_index = 4
    assert "data:image/png;base64," in app._parts.phasing.value and "2027" in app._parts.phasing.value
    app.controls.end_sliders["beds_per_1000_elderly"].value = 50   # a schedule 40 → 50: solves again
    assert app.wait(120).scenario.targets.beds_per_1000_elderly == {2026: 40.0, 2030: 50.0}
