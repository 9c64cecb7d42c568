"""Phased plans: marginal costs per district and year, and repurposed beds in the reach rows.

Marginal costs of a phased plan are present-value yuan (of the first plan year): the duals of the
phased objective, Σ_y w_y · yuan spent in year y (docs/model.md, "Marginal costs per year").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, strategies as st

import planner
from planner.phased import TIE_BREAK
from conftest import BASE_LON, area, childcare, eldercare, scenario
from test_properties import props

YEARS = [2026, 2027, 2028, 2029, 2030]
ONLY_SLOTS = dict(beds_per_1000_elderly=0, care_bed_share=0, affordable_share=0, access_share=0)
ONLY_BEDS = dict(childcare_per_1000=0, affordable_share=0, care_bed_share=0, access_share=0)
MC = {"childcare_per_1000": "marginal_cost_childcare_per_1000",
      "beds_per_1000_elderly": "marginal_cost_beds_per_1000_elderly",
      "affordable_share": "marginal_cost_affordable_share", "care_bed_share": "marginal_cost_care_bed_share"}
STEP = {"childcare_per_1000": 0.05, "beds_per_1000_elderly": 0.05, "affordable_share": 0.0005,
        "care_bed_share": 0.0005}
PER_UNIT = {"childcare_per_1000": 1.0, "beds_per_1000_elderly": 1.0, "affordable_share": 0.01,
            "care_bed_share": 0.01}


def mc(res, col, year, district="D1"):
    b = res.by_year
    return float(b.loc[(b["district_id"] == district) & (b["year"] == year), col].iloc[0])


def rising_slots(rate=0.0, integer=False):
    """10,000 residents, 4.5 → 6.5 slots per 1,000 over 2026–2030 (45, 50, …, 65 slots); c1 has 30 and
    adds at 2,000 yuan a slot."""
    sc = scenario([area("a1", pop=10_000)], [childcare("c1", slots=30, affordable=30, max_add=100, cost=2000)],
                  childcare_per_1000={2026: 4.5, 2030: 6.5}, **ONLY_SLOTS)
    sc.years = YEARS
    sc.options.discount_rate = rate
    sc.options.integer = integer
    return sc


@pytest.mark.parametrize("integer", [False, True])
def test_marginal_cost_per_year_is_the_cost_of_building_it_that_year(integer):
    """2030: +1 slot per 1,000 = 10 more slots built in 2030 at 2,000 yuan = 20,000 yuan. Earlier
    years: the next year needs 5 more slots anyway, so more in year y only builds 10 of them a
    year earlier: 0 yuan undiscounted (the solver's tie-break, which prefers building late, is not
    a cost: it once showed as 20.0, 20.02, 20.04, 20.06 yuan)."""
    res = planner.solve(rising_slots(integer=integer))
    col = "marginal_cost_childcare_per_1000"
    assert mc(res, col, 2030) == pytest.approx(20_000, rel=1e-9)
    for y in YEARS[:-1]:
        assert mc(res, col, y) == pytest.approx(0.0, abs=1e-6)
    assert res.districts[col].iloc[0] == pytest.approx(20_000)  # the last year's table
    assert (res.by_year["marginal_cost_affordable_share"] == 0).all()  # no affordable target


@pytest.mark.parametrize("rate", [0.05, 0.1])
def test_discounting_gives_present_value_yuan(rate):
    """At 10 %/yr a yuan spent in 2030 is worth 1/1.1⁴ today: 2030's +1 per 1,000 costs
    20,000/1.1⁴ = 13,660.27. Earlier years: 10 slots built in year y instead of y + 1:
    20,000 · (1/1.1^k − 1/1.1^(k+1)), e.g. 2029: 1,366.03; at 5 %/yr 2026: 20,000 · (1 − 1/1.05) =
    952.38 (exactly: the tie-break once added 2 %, 971.43)."""
    res = planner.solve(rising_slots(rate=rate))
    col = "marginal_cost_childcare_per_1000"
    assert mc(res, col, 2030) == pytest.approx(20_000 / (1 + rate) ** 4, rel=1e-9)
    for k, y in enumerate(YEARS[:-1]):
        assert mc(res, col, y) == pytest.approx(20_000 * (1 / (1 + rate) ** k - 1 / (1 + rate) ** (k + 1)), rel=1e-6)
    if rate == 0.05:
        assert mc(res, col, 2026) == pytest.approx(952.380952, rel=1e-6)


@pytest.mark.parametrize("rate", [0.0, 0.05])
def test_operating_cost_of_a_unit_built_a_year_early(rate):
    """rising_slots with 300 yuan per slot-year of operating cost (paid from the year after the slot is
    added). +1 per 1,000 in 2026: 10 slots built in 2026 instead of 2027: the capital moves a year
    (20,000 · (1 − 1/(1+r))) and those slots run one more year (2027: 10 · 300 yuan, worth 1/(1+r)).
    2030: 10 slots at 2,000 yuan, paid in 2030 (worth 1/(1+r)⁴), never run within the plan."""
    sc = rising_slots(rate=rate)
    sc.facilities = sc.facilities.assign(operating_cost_per_unit_year=300.0)
    res = planner.solve(sc)
    col = "marginal_cost_childcare_per_1000"
    assert mc(res, col, 2026) == pytest.approx(20_000 * (1 - 1 / (1 + rate)) + 3000 / (1 + rate), rel=1e-6)
    assert mc(res, col, 2030) == pytest.approx(20_000 / (1 + rate) ** 4, rel=1e-9)



@pytest.mark.parametrize("op", [0.0, 5000.0])
def test_a_care_share_met_by_conversion_costs_nothing_early_whatever_the_operating_cost(op):
    """100 beds, 30 care-oriented, conversion at 5,000 yuan; care share 30 % → 50 % over 2026–2030
    (5 more care beds a year). +1 point in year y < 2030 only converts one bed a year early: 0 yuan
    undiscounted. An operating cost on added beds must not change that (no bed is added): it once
    showed 4.955 … 4.970 yuan. 2030: one point = 1 bed converted = 5,000 yuan."""
    sc = scenario([area("a1", pop=10_000, pop60=1000)],
                  [eldercare("e1", beds=100, care=30, max_add=100, cost=20_000, conv=5000)],
                  care_bed_share={2026: 0.3, 2030: 0.5}, beds_per_1000_elderly=0, childcare_per_1000=0,
                  affordable_share=0, access_share=0)
    sc.facilities = sc.facilities.assign(operating_cost_per_unit_year=op)
    sc.years = YEARS
    res = planner.solve(sc)
    col = "marginal_cost_care_bed_share"
    assert mc(res, col, 2030) == pytest.approx(5000, rel=1e-9)
    for y in YEARS[:-1]:
        assert mc(res, col, y) == pytest.approx(0.0, abs=1e-6)

def test_marginal_costs_per_district_and_year_match_the_cost_of_raising_that_target():
    """Two districts, 2026–2028, 40 beds per 1,000 aged 60+. D1: 1,000 aged 60+ in 2026, 1,250 from 2027
    (e1 adds at 1,000 yuan); D2: 2,000 then 2,500 (e2 adds at 3,000 yuan). Raising a district's 2027
    target by h builds h · pop60/1000 more beds in 2027, kept in 2028 where they are not needed:
    D1 1.25 × 1,000 = 1,250 yuan, D2 2.5 × 3,000 = 7,500 yuan per +1 per 1,000 (lowering it would
    save almost nothing, as 2028 needs those beds: the dual of 2027's row alone is that, so the
    marginal cost adds 2028's). 2028: the same beds built in 2028. 2026's extra beds would be
    needed in 2027 anyway: 0 (the tie-break aside). Checked against re-solving with the one target
    raised in 2027 only: plain yuan, and present value at 8 %/yr (2027 yuan weigh 1/1.08)."""
    districts = [{"district_id": "D1"}, {"district_id": "D2"}]
    areas = [area("a1", "D1"), area("a2", "D2", lon=112.7)]
    facs = [eldercare("e1", "D1", beds=30, care=30, max_add=200, cost=1000),
            eldercare("e2", "D2", beds=60, care=60, max_add=200, cost=3000, lon=112.7)]
    years = [2026, 2027, 2028]
    pop60 = {("a1", 2026): 1000, ("a2", 2026): 2000}
    population = pd.DataFrame([{"area_id": a, "year": y, "pop_total": 10_000, "pop_0_2": 200,
                                "pop_60_plus": pop60.get((a, y), 1250 if a == "a1" else 2500)}
                               for a in ("a1", "a2") for y in years])
    col = "marginal_cost_beds_per_1000_elderly"

    def present_value(res, rate):
        return sum(v / (1 + rate) ** (y - 2026) for y, v in res.cost_by_year.items())

    for rate in (0.0, 0.08):
        sc = scenario(areas, facs, districts, **ONLY_BEDS)
        sc.years, sc.population = years, population
        sc.options.discount_rate = rate
        base = planner.solve(sc)
        assert base.status == "optimal"
        expect = {"D1": 1250 / (1 + rate), "D2": 7500 / (1 + rate)}  # 2027 yuan at present value
        for did, value in expect.items():
            assert mc(base, col, 2027, did) == pytest.approx(value, rel=1e-9), (rate, did)
            # 2026: one bed per +1 per 1,000 built a year early (the 2027 build is one less): at 8 %/yr
            # that costs 1 − 1/1.08 of its price, undiscounted nothing (the tie-break is no cost)
            early = {"D1": 1000 * 1.0, "D2": 3000 * 2.0}[did]
            assert mc(base, col, 2026, did) == pytest.approx(early * (1 - 1 / (1 + rate)), rel=1e-6, abs=1e-6)
            assert mc(base, col, 2028, did) == pytest.approx(value / (1 + rate), rel=1e-9)
            h = 0.05  # finite differences through the product path
            raised = planner.solve(_one_year_raised(sc, did, "beds_per_1000_elderly", years, 2027, 40 + h))
            assert raised.by_year.set_index(["district_id", "year"]).loc[(did, 2027), "target_beds_per_1000_elderly"] \
                == pytest.approx(40 + h)
            fd = (present_value(raised, rate) - present_value(base, rate)) / h
            assert fd == pytest.approx(value, rel=1e-6), (rate, did)


def test_integer_mode_prices_each_year_with_the_sites_fixed():
    """Site n1 (10,000 fixed + 500/slot, 20–100 slots) opens in 2026 for 45 slots; 2027 needs 45 too.
    With it kept open, +1 per 1,000 in either year = 10 more slots at 500 = 5,000 yuan (2026's
    extra slots are not needed in 2027, so that is their price too)."""
    facs = [childcare("c1", slots=0, max_add=10, cost=1000),
            childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100)]
    sc = scenario([area("a1")], facs, **{**ONLY_SLOTS, "childcare_per_1000": 4.5})
    sc.years = [2026, 2027]
    sc.options.integer = True
    res = planner.solve(sc)
    assert res.cost == pytest.approx(32_500)
    for y in (2026, 2027):
        assert mc(res, "marginal_cost_childcare_per_1000", y) == pytest.approx(5_000, rel=1e-9)


def test_per_child_need_above_the_per_1000_need_gives_no_per_1000_cost():
    """200 children at 0.35 slots each need 70 slots, more than 4.5 per 1,000 of 10,000 (45): raising the
    per-1,000 target a little changes nothing (0 yuan); raising it to 7.5 would."""
    sc = scenario([area("a1", pop=10_000, pop02=200)], [childcare("c1", slots=30, affordable=30, max_add=100,
                                                                 cost=2000)],
                  childcare_per_child=0.35, **{**ONLY_SLOTS, "childcare_per_1000": 4.5})
    sc.years = [2026, 2027]
    res = planner.solve(sc)
    assert mc(res, "marginal_cost_childcare_per_1000", 2026) == 0.0
    single = sc.copy()
    single.years = single.base_year = None
    assert planner.solve(single).districts["marginal_cost_childcare_per_1000"].iloc[0] == 0.0


def test_out_of_reach_is_nan_and_a_binding_budget_is_nan_where_positive():
    """e1 can add 10 beds; 2027 needs 80 (40 exist): short in 2027, NaN; 2026 needs the 40 it has: one
    more bed in 2026 is one of 2027's ten built a year early (0 yuan).
    A budget of 5,000 yuan a year that binds in 2026 (60 beds needed, 1,000 yuan each): NaN."""
    sc = scenario([area("a1", pop60=1000)], [eldercare("e1", beds=40, care=40, max_add=10, cost=1000)], **ONLY_BEDS)
    sc.years = [2026, 2027]
    sc.targets.beds_per_1000_elderly = {2026: 40, 2027: 80}
    res = planner.solve(sc)
    col = "marginal_cost_beds_per_1000_elderly"
    assert mc(res, col, 2026) == pytest.approx(0.0, abs=1e-6) and math.isnan(mc(res, col, 2027))
    tight = scenario([area("a1", pop60=1000)], [eldercare("e1", beds=40, care=40, max_add=100, cost=1000)],
                     **ONLY_BEDS)
    tight.years, tight.budget = [2026, 2027], 5000
    tight.targets.beds_per_1000_elderly = 60
    res = planner.solve(tight)
    assert res.status == "shortfall" and math.isnan(mc(res, col, 2026))


def test_year_sheets_map_and_app_show_the_marginal_costs_of_that_year(tmp_path):
    from openpyxl import load_workbook

    from planner.widgets.views import districts_html

    res = planner.solve(rising_slots())
    wb = load_workbook(res.to_excel(tmp_path / "plan.xlsx", lang="en"), read_only=True)
    rows = list(wb["Districts 2030"].iter_rows(values_only=True))
    col = rows[1].index("marginal_cost_childcare_per_1000")
    assert rows[0][col] == "Marginal cost: +1 slot per 1,000 (yuan)" and rows[2][col] == pytest.approx(20_000)
    notes = [str(r[0]) for r in wb["Notes"].iter_rows(values_only=True)]
    assert any(n.startswith("Marginal costs by year") and "present value" in n and "0%" in n for n in notes)
    wb.close()
    html = districts_html(res.for_year(2030), "en")  # the app's district table of the year shown
    assert "One more slot per 1,000 here costs" in html and "20,000 yuan" in html
    from test_maps import tiny_scenario

    sc = tiny_scenario()  # district polygons: the map's district layer and its popup
    sc.years = [2026, 2027]
    res = planner.solve(sc)
    # D1: 20,000 residents, c1 adds at 1,000 yuan: +1 per 1,000 = 20 slots (kept from 2026 into 2027)
    assert mc(res, "marginal_cost_childcare_per_1000", 2026) == pytest.approx(20_000, rel=1e-6)
    text = res.to_html(tmp_path / "map_2027.html", year=2027, lang="en").read_text(encoding="utf-8")
    assert '"marginal_cost_childcare_per_1000":20000' in text.replace(" ", "").replace(".0,", ",")
    assert "Marginal cost (target +1)" in text


# ------------------------------------------------------------------ against finite differences

CHECKED = []  # per example: (target name, year index) of each finite positive marginal cost checked
FD_YEARS = [2026, 2027, 2028]
GROWTH = st.sampled_from([-0.04, 0.0, 0.03, 0.1])  # need falling, flat or rising: units kept or brought forward


def _one_year_raised(sc, did, name, years, year, value):
    """``sc`` with district ``did``'s target ``name`` set to ``value`` in ``year`` only: the others are held
    by their own columns (constant over the years), ``did`` follows a per-year scenario schedule."""
    out = sc.copy()
    t = sc.district_targets()
    d = out.districts.copy()
    d[name] = np.where(d["district_id"] == did, np.nan, t[name].to_numpy(float))
    out.districts = d
    base = float(t.loc[sc.districts["district_id"] == did, name].iloc[0])
    setattr(out.targets, name, {y: (value if y == year else base) for y in years})
    return out


@st.composite
def binding(draw):
    """1–3 districts whose targets bind and can be met: each has an area of 5,000–30,000 residents
    (10–30 % aged 60+) and, nearby (0–1.1 km), one or two nurseries and homes with little existing
    care-oriented or affordable capacity, beds below every drawn target, room to add 300 and an
    ordinary-bed conversion cost; access
    shares up to 0.8. Some districts override some targets."""
    choice = {"childcare_per_1000": (3.0, 4.5, 6.0), "beds_per_1000_elderly": (20.0, 35.0, 40.0),
              "affordable_share": (0.3, 0.55, 0.8), "care_bed_share": (0.3, 0.55, 0.8)}
    costs = st.integers(100, 10_000)
    areas, facs, districts = [], [], []
    for k in range(draw(st.integers(1, 3))):
        did = f"D{k + 1}"
        lon = BASE_LON + 0.05 * k  # districts ≈ 4 km apart: each area reaches only its own district
        districts.append({"district_id": did, **{n: (draw(st.sampled_from(v)) if draw(st.booleans()) else None)
                                                 for n, v in choice.items()}})
        pop = draw(st.integers(5, 30)) * 1000
        areas.append(area(f"{did}a", did, pop=pop, pop60=pop * draw(st.integers(10, 30)) // 100, lon=lon))
        for i in range(draw(st.integers(1, 2))):
            at = lon + 0.001 * draw(st.integers(0, 10))
            slots = draw(st.integers(0, pop * 6 // 1000))  # maybe above need, but few of them affordable
            facs.append(childcare(f"{did}c{i}", did, slots=slots, affordable=draw(st.integers(0, slots // 3)),
                                  max_add=300, cost=draw(costs), lon=at))
            beds = draw(st.integers(0, pop // 1000 * 3))
            facs.append(eldercare(f"{did}e{i}", did, beds=beds, care=draw(st.integers(0, beds // 4)), max_add=300,
                                  cost=draw(costs), conv=draw(costs), lon=at))
    targets = {n: draw(st.sampled_from(v)) for n, v in choice.items()}
    targets["access_share"] = draw(st.sampled_from((0.0, 0.5, 0.8)))
    return scenario(areas, facs, districts, **targets)


@pytest.mark.slow
@props(60)
@given(sc=binding(), total=GROWTH, elderly=GROWTH, pick=st.integers(0, 2),
       year=st.sampled_from(FD_YEARS), rate=st.sampled_from([0.0, 0.05]))
def test_marginal_costs_per_year_match_finite_differences(sc, total, elderly, pick, year, rate):
    """Each finite marginal cost of one (district, year) lies between the backward and forward
    difference quotients of the plan's present-value cost (Σ_y yuan spent in y / (1 + r)^(y − 2026))
    when that district's target is moved in that year only, where that district meets its targets in
    every year on both sides. Population grows, stays or falls per year (targets bind; a unit added
    in an early year is kept or brings a later build forward: the carried sum over later years)."""
    years = FD_YEARS
    sc.years, sc.base_year = years, 2025
    sc.growth = {"pop_total": total, "pop_60_plus": elderly}
    sc.options.discount_rate = rate
    res = planner.solve(sc)
    present = 1.0 / (1.0 + rate) ** np.arange(len(years))

    def cost(r):  # present value of the plan's yuan (the discount alone: no tie-break)
        return float(np.dot(present, r.cost_by_year.to_numpy(float)))

    def met(r, did):
        return bool(r.by_year.loc[r.by_year["district_id"] == did, "met"].all())

    districts = [did for did in res.districts["district_id"] if met(res, did)]
    checked = []
    if districts:
        did = districts[pick % len(districts)]
        t = sc.district_targets()
        for name, col in MC.items():
            value = mc(res, col, year, did)
            if math.isnan(value):
                continue
            base = float(t.loc[sc.districts["district_id"] == did, name].iloc[0])
            h = STEP[name]
            if base - h < 0 or (name.endswith("share") and base + h > 1):
                continue
            sides = [planner.solve(_one_year_raised(sc, did, name, years, year, v)) for v in (base - h, base + h)]
            if not all(met(r, did) for r in sides):
                continue
            back = (cost(res) - cost(sides[0])) / h * PER_UNIT[name]
            fwd = (cost(sides[1]) - cost(res)) / h * PER_UNIT[name]
            # the plans are the solver's (its tie-break moves builds by < TIE_BREAK a year of what they cost)
            tol = 2 * TIE_BREAK * len(years) * max(abs(back), abs(fwd), abs(value)) + 1e-3
            assert back - tol <= value <= fwd + tol, (did, year, name, back, value, fwd)
            if value > 1e-6:
                checked.append((name, years.index(year)))
    CHECKED.append(checked)


@pytest.mark.slow
def test_finite_differences_compared_many_marginal_costs_per_year():
    """The property above compared enough positive marginal costs of every target, and of the years before
    the last (where the value is the sum over later years' duals)."""
    if not CHECKED:
        test_marginal_costs_per_year_match_finite_differences()
    checks = [c for example in CHECKED for c in example]
    per_target = {name: sum(n == name for n, _ in checks) for name in MC}
    early = sum(i < len(FD_YEARS) - 1 for _, i in checks)
    assert min(per_target.values()) >= 10 and early >= len(checks) // 4, (per_target, early, len(CHECKED))


# ------------------------------------------------------------------ repurposed beds in reach

def test_beds_of_a_repurposed_nursery_count_in_reach_from_that_year_on():
    """a1 (1,000 aged 60+: 40 beds, 80 % = 32 within reach) has no eldercare home in reach (e1, which
    meets the district's 40 beds, is a degree of longitude away), only nursery c1 (100 slots; 2 slots
    give 1 bed, 1,000 yuan a slot). Children 300 → 100 at 0.3 slots each: c1 must keep 90 slots in
    2026 (gives up 10: 5 beds, 27 short in reach) and 30 in 2027, when giving up 54 more makes
    0.5 · 64 = 32 beds in reach: a1 meets its access target. Cost 64,000 yuan."""
    c1 = childcare("c1", slots=100, affordable=100, max_add=0)
    c1.update(repurpose_to_beds=0.5, cost_per_repurpose=1000)
    sc = scenario([area("a1", pop60=1000)], [c1, eldercare("e1", beds=40, care=40, max_add=100, cost=10_000,
                                                            lon=113.55)],
                  childcare_per_1000=0, childcare_per_child=0.3, affordable_share=0, care_bed_share=0,
                  access_share=0.8)
    sc.years = [2026, 2027]
    sc.population = pd.DataFrame([{"area_id": "a1", "year": y, "pop_total": 10_000, "pop_0_2": kids,
                                   "pop_60_plus": 1000} for y, kids in ((2026, 300), (2027, 100))])
    res = planner.solve(sc)
    fy = res.facility_years.set_index(["facility_id", "year"])
    assert fy.loc["c1", "repurposed_slots"].to_dict() == pytest.approx({2026: 10, 2027: 54})
    assert fy.loc["e1", "added_beds"].sum() == 0 and res.cost == pytest.approx(64_000)
    b = res.by_year.set_index("year")
    assert b["shortfall_access_beds"].to_dict() == pytest.approx({2026: 27, 2027: 0})
    assert b["met"].to_dict() == {2026: False, 2027: True}
    a = res.for_year(2027).areas.iloc[0]
    assert a["served_in_reach_beds"] == pytest.approx(32) and a["sites_in_reach_beds"] == 1
    assert res.for_year(2026).areas.iloc[0]["served_in_reach_beds"] == pytest.approx(5)
    # the childcare side still holds: c1 keeps what the children need
    assert b["slots_after"].to_dict() == pytest.approx({2026: 90, 2027: 36})


def test_operating_cost_is_priced_for_the_years_it_is_paid():
    """10 beds needed 2026–2030. A adds at 1,000 yuan a bed and 100 yuan a bed-year from 2027 (4 years:
    1,400 a bed); B adds at 1,500 and costs nothing to run: A is cheaper (14,000 against 15,000).
    (The objective once weighted a state's running cost by every later year, 10 years for 4, and
    chose B.)"""
    a = eldercare("A", beds=30, care=30, max_add=100, cost=1000)
    a["operating_cost_per_unit_year"] = 100
    sc = scenario([area("a1", pop60=1000)], [a, eldercare("B", max_add=100, cost=1500)], **ONLY_BEDS)
    sc.years = YEARS
    res = planner.solve(sc)
    assert res.cost == pytest.approx(14_000)
    assert res.facility_years.groupby("facility_id")["added_beds"].sum().to_dict() == pytest.approx({"A": 10, "B": 0})
    assert res.cost_by_year.to_dict() == pytest.approx({2026: 10_000, 2027: 1000, 2028: 1000, 2029: 1000, 2030: 1000})
