"""Marginal costs from the duals (DESIGN.md Contract v2): hand-checked, then against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import planner
from conftest import area, childcare, eldercare, scenario
from test_properties import props, specs

NO_BEDS = dict(beds_per_1000_elderly=0, care_bed_share=0, access_share=0)
NO_SLOTS = dict(childcare_per_1000=0, affordable_share=0, access_share=0)
MC = {"childcare_per_1000": "marginal_cost_childcare_per_1000",
      "beds_per_1000_elderly": "marginal_cost_beds_per_1000_elderly",
      "affordable_share": "marginal_cost_affordable_share", "care_bed_share": "marginal_cost_care_bed_share"}


def mc(res, target, district=0):
    return res.districts[MC[target]].iloc[district]


def test_one_more_slot_per_1000_costs_ten_slots():
    """10,000 residents: +1 slot per 1,000 = 10 more slots at 2,000 yuan = 20,000 yuan."""
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000)], **NO_BEDS)
    res = planner.solve(sc)
    assert mc(res, "childcare_per_1000") == pytest.approx(20_000)
    assert mc(res, "beds_per_1000_elderly") == 0 and mc(res, "care_bed_share") == 0


def test_affordable_share_point():
    """30 slots, none affordable, share t: x = 30t/(1 − t) new affordable slots; dx/dt = 30/(1 − t)² = 120
    at t = 0.5, so +1 point = 1.2 slots × 2,000 = 2,400 yuan."""
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=0, max_add=100, cost=2000)],
                  affordable_share=0.5, **NO_BEDS)
    res = planner.solve(sc)
    assert mc(res, "affordable_share") == pytest.approx(2_400)


def test_care_share_point():
    """40 beds (10 care) meet 40 per 1,000 of 1,000 aged 60+; care 0.55 × 40 = 22 → 12 conversions.
    +1 point = 0.4 more conversions × 300 = 120 yuan."""
    sc = scenario([area("a1", pop=5000, pop60=1000)],
                  [eldercare("e1", beds=40, care=10, max_add=100, cost=5000, conv=300)], **NO_SLOTS)
    res = planner.solve(sc)
    assert mc(res, "care_bed_share") == pytest.approx(120)


def test_beds_per_1000_with_conversions():
    """30 beds (10 care) for 40 needed: 10 new care beds + 2 conversions (50,600). +1 bed per 1,000 of
    1,000 aged 60+ = 1 new care bed (5,000) that also cuts the conversions by 1 − 0.55 = 0.45
    (0.45 × 300 = 135): 4,865 yuan. +1 point of care share: 0.4 conversions = 120 yuan."""
    sc = scenario([area("a1", pop=5000, pop60=1000)],
                  [eldercare("e1", beds=30, care=10, max_add=100, cost=5000, conv=300)], **NO_SLOTS)
    res = planner.solve(sc)
    assert res.cost == pytest.approx(50_600)
    assert mc(res, "beds_per_1000_elderly") == pytest.approx(4_865)
    assert mc(res, "care_bed_share") == pytest.approx(120)


def test_not_binding_is_zero_and_out_of_reach_is_nan():
    """D1 already has 60 slots for 45 needed (not binding: 0); D2 can add only 5 of 15 (NaN)."""
    districts = [{"district_id": "D1"}, {"district_id": "D2"}]
    areas = [area("a1", "D1"), area("a2", "D2", lon=112.7)]
    facs = [childcare("c1", "D1", slots=60, affordable=60, max_add=10, cost=1000),
            childcare("c2", "D2", slots=30, affordable=30, max_add=5, cost=1000, lon=112.7)]
    res = planner.solve(scenario(areas, facs, districts, **NO_BEDS))
    d = res.districts.set_index("district_id")
    assert d.loc["D1", MC["childcare_per_1000"]] == 0
    assert math.isnan(d.loc["D2", MC["childcare_per_1000"]]) and d.loc["D2", "shortfall_slots"] > 0


def test_reach_need_counts_in_the_per_1000_cost():
    """a1 (10,000 people: 45 slots) must reach 80 % of its need (36); c1 beside it has 30 and adds at
    3,000, far c2 adds at 1,000: c1 + 6, c2 + 9 = 27,000. +1 per 1,000 = 10 more slots, 8 of them in
    reach: c1 + 8 (24,000), c2 + 2 (2,000) = 26,000 (the slots row's dual alone would say 10,000)."""
    facs = [childcare("c1", slots=30, affordable=30, max_add=100, cost=3000),
            childcare("c2", slots=0, max_add=100, cost=1000, lon=112.67)]
    sc = scenario([area("a1")], facs, affordable_share=0, beds_per_1000_elderly=0, care_bed_share=0,
                  access_share=0.8)
    res = planner.solve(sc)
    assert res.cost == pytest.approx(27_000)
    assert mc(res, "childcare_per_1000") == pytest.approx(26_000)


def test_integer_mode_prices_with_the_sites_fixed():
    """The site (10,000 fixed + 500/slot, up to 100) is opened for 45 slots; with it kept open,
    +1 per 1,000 = 10 slots × 500 = 5,000 yuan."""
    facs = [childcare("c1", slots=0, max_add=10, cost=1000),
            childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100)]
    sc = scenario([area("a1")], facs, **NO_BEDS)
    sc.options.integer = True
    res = planner.solve(sc)
    assert res.cost == pytest.approx(32_500)
    assert mc(res, "childcare_per_1000") == pytest.approx(5_000)


def _with_target(sc, district_id, name, value):
    out = sc.copy()
    d = out.districts.copy()
    if name not in d.columns:
        d[name] = np.nan
    d.loc[d["district_id"] == district_id, name] = value
    out.districts = d
    return out


CHECKED = []  # marginal costs compared per example (the last test asserts some were)
STEP = {"childcare_per_1000": 0.05, "beds_per_1000_elderly": 0.05, "affordable_share": 0.0005,
        "care_bed_share": 0.0005}
PER_UNIT = {"childcare_per_1000": 1.0, "beds_per_1000_elderly": 1.0, "affordable_share": 0.01,
            "care_bed_share": 0.01}


@props(25)
@given(spec=specs(roomy=True, access=True))
def test_marginal_costs_match_finite_differences(spec):
    """Every finite marginal cost lies between the backward and forward difference quotients of the
    plan's cost (the optimal cost is convex in a target, the dual a subgradient), where the district's
    targets are met on both sides."""
    sc = spec.scenario()
    res = planner.solve(sc)
    t = sc.district_targets()
    checked = 0
    for i, did in enumerate(res.districts["district_id"]):
        row = res.districts.iloc[i]
        if not row["met"]:
            continue
        for name, col in MC.items():
            value = row[col]
            if math.isnan(value):
                continue
            base = float(t[name].iloc[i])
            h = STEP[name]
            lo_t, hi_t = base - h, base + h
            if lo_t < 0 or (name.endswith("share") and hi_t > 1):
                continue
            sides = []
            for v in (lo_t, hi_t):
                r = planner.solve(_with_target(sc, did, name, v))
                sides.append(r)
            if not all(bool(r.districts.iloc[i]["met"]) for r in sides):
                continue
            back = (res.cost - sides[0].cost) / h * PER_UNIT[name]
            fwd = (sides[1].cost - res.cost) / h * PER_UNIT[name]
            tol = 1e-4 * max(abs(back), abs(fwd), 1.0) + 1e-3
            assert back - tol <= value <= fwd + tol, (did, name, back, value, fwd)
            checked += 1
    CHECKED.append(checked)


def test_finite_differences_compared_many_marginal_costs():
    """The property above must have compared real numbers, not skipped every district."""
    if not CHECKED:
        test_marginal_costs_match_finite_differences()
    assert sum(CHECKED) >= 10, CHECKED


def test_marginal_costs_in_the_excel_export_and_the_map_popup(tmp_path):
    sc = scenario([area("a1")], [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000)], **NO_BEDS)
    res = planner.solve(sc)
    import openpyxl
    wb = openpyxl.load_workbook(res.to_excel(tmp_path / "plan.xlsx", lang="en"))
    ws = next(wb[n] for n in wb.sheetnames if "istrict" in n)
    names = [c.value for c in ws[2]]
    col = names.index("marginal_cost_childcare_per_1000")
    assert ws[1][col].value == "Marginal cost: +1 slot per 1,000 (yuan)" and ws[3][col].value == pytest.approx(20_000)
    from test_maps import tiny_scenario

    res = planner.solve(tiny_scenario())  # district polygons: the district layer and its popup
    mc_d1 = res.districts.set_index("district_id").loc["D1", "marginal_cost_childcare_per_1000"]
    assert mc_d1 == pytest.approx(20 * 1000)  # 20,000 residents × 1/1000 more slots at c1's 1,000 yuan
    text = res.to_html(tmp_path / "map.html", lang="en").read_text(encoding="utf-8")
    assert '"marginal_cost_childcare_per_1000":20000' in text.replace(" ", "").replace(".0,", ",")
    assert "Marginal cost (target +1)" in text and "v.marginal_cost_care_bed_share" in text


def _dual_objective(lp, lower, upper, y):
    """Objective of the LP dual at row duals ``y`` (HiGHS signs), or None if ``y`` is not dual feasible."""
    d = lp.cost - lp.A.T @ y
    tol = 1e-7 * max(1.0, float(np.abs(lp.cost).max(initial=0.0)))
    row = np.where(y > 0, lp.row_lower, lp.row_upper)
    col = np.where(d > 0, lower, upper)
    if not (np.isfinite(row[np.abs(y) > tol]).all() and np.isfinite(col[np.abs(d) > tol]).all()):
        return None
    on_row, on_col = np.abs(y) > tol, np.abs(d) > tol
    return float(y[on_row] @ row[on_row] + d[on_col] @ col[on_col])


@props(30)
@given(spec=specs(roomy=True, access=True), budget=st.none() | st.integers(0, 100_000), presolve=st.booleans())
def test_integer_duals_are_optimal_duals_of_the_fixed_site_lp(spec, budget, presolve):
    """Integer mode: whichever way the row duals come (kept from an integral relaxation, presolved
    or not, or from ``fixed_site_duals`` after branch-and-bound), they are optimal duals of the LP
    with the chosen sites fixed: dual feasible, and the dual objective equals that LP's optimum."""
    import importlib
    from planner.solve import fixed_site_duals, run

    S = importlib.import_module("planner.solve")  # the module (planner.solve is also the function)
    sc = spec.scenario(budget=budget, integer=True, mip_gap=0.0)
    model = planner.build(sc)
    saved = S.RELAXATION_PRESOLVE_NONZEROS
    S.RELAXATION_PRESOLVE_NONZEROS = 0 if presolve else saved  # small blocks: presolve only when drawn
    try:
        x, info = run(model)
    finally:
        S.RELAXATION_PRESOLVE_NONZEROS = saved
    y = info.duals if info.duals is not None else fixed_site_duals(model, x)
    lp = model.lp
    lower, upper = lp.lower.copy(), lp.upper.copy()
    sites = lp.blocks["open"]
    lower[sites] = upper[sites] = np.round(x[sites])
    value = _dual_objective(lp, lower, upper, y)
    assert value is not None
    # the fixed-site LP's optimum: the plan's other columns relaxed, solved from scratch
    ref = fixed_site_duals(model, x)
    ref_value = _dual_objective(lp, lower, upper, ref)
    assert value == pytest.approx(ref_value, rel=1e-6, abs=1e-6)
    RELAXED_DUALS.append(info.duals is not None)


RELAXED_DUALS = []


def test_duals_kept_from_integral_relaxations_were_checked():
    """The property above saw integer plans whose duals came from the integral relaxation itself."""
    if not RELAXED_DUALS:
        test_integer_duals_are_optimal_duals_of_the_fixed_site_lp()
    assert sum(RELAXED_DUALS) >= 5, RELAXED_DUALS
