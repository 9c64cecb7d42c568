"""Marginal costs of targets above the districts (prefecture, province, the whole region) in ``res.rollup``.

Same meaning and units as the districts' ``marginal_cost_*`` columns (DESIGN.md
Contract v2): yuan for raising that row's target by one unit (+1 per 1,000, +1
percentage point) at the optimal plan; checked by hand and against finite
differences of the plan's cost.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

import planner
from conftest import BASE_LAT, BASE_LON, area, childcare, eldercare
from test_levels_model import PREF, districts
from test_marginal_costs import MC, PER_UNIT, STEP



def two_counties(access_share=0.0, prefecture_rate=None, target_level="prefecture"):
    """Counties C1, C2 of prefecture M1, 10,000 residents each, 50 km apart; C1 adds slots at 1,000 yuan,
    C2 at 2,000. The prefecture as a whole must reach 4.5 per 1,000: 90 slots."""
    far = BASE_LON + 0.5
    areas = [area("a1", "C1", pop=10_000), area("a2", "C2", pop=10_000, lon=far)]
    facs = [childcare("f1", "C1", max_add=200, cost=1000), childcare("f2", "C2", max_add=200, cost=2000, lon=far)]
    d = districts(*PREF) if prefecture_rate is None else districts(
        *PREF, childcare_per_1000=[prefecture_rate, np.nan, np.nan])
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), d, target_level=target_level)
    sc.targets.access_share = access_share
    sc.targets.beds_per_1000_elderly = 0
    return sc


def test_one_more_slot_per_1000_in_the_prefecture_costs_twenty_slots_in_the_cheaper_county():
    res = planner.solve(two_counties())
    assert res.cost == pytest.approx(90 * 1000)            # all 90 slots in C1
    m = res.rollup("prefecture").set_index("district_id")
    # +1 per 1,000 over 20,000 residents = 20 more slots, at C1's 1,000 yuan
    assert m.at["M1", "marginal_cost_childcare_per_1000"] == pytest.approx(20_000)
    assert m.at["M1", "marginal_cost_affordable_share"] == 0   # an added slot may be affordable at no extra cost
    agg = res.aggregate_targets.set_index("target")
    assert agg.at["childcare_per_1000", "marginal_cost"] == pytest.approx(20_000)
    # the leaves carry no target of their own: nothing there
    assert res.districts["marginal_cost_childcare_per_1000"].eq(0).all()
    # the region: no target of its own, so its prefecture's
    assert res.rollup("all")["marginal_cost_childcare_per_1000"].iloc[0] == pytest.approx(20_000)


def test_the_prefecture_rate_also_raises_its_areas_need_in_reach():
    """80 % of each area's need within reach: C2 must build 36 of the 90 itself (at 2,000). One more per
    1,000: 20 more slots, 8 of them in C2 (0.8 × 10) → 12 × 1,000 + 8 × 2,000 = 28,000 yuan."""
    res = planner.solve(two_counties(access_share=0.8))
    assert res.cost == pytest.approx(54 * 1000 + 36 * 2000)
    m = res.rollup("prefecture").set_index("district_id")
    assert m.at["M1", "marginal_cost_childcare_per_1000"] == pytest.approx(28_000)
    step = planner.solve(two_counties(access_share=0.8, prefecture_rate=5.5))
    assert step.cost - res.cost == pytest.approx(28_000)
    # the counties' rate is the prefecture's: their own (blank) targets cost nothing, and C2's reach
    # need is not counted twice (once for M1, once for C2)
    assert res.districts["marginal_cost_childcare_per_1000"].eq(0).all()
    assert res.rollup("all")["marginal_cost_childcare_per_1000"].iloc[0] == pytest.approx(28_000)


def test_a_prefecture_target_out_of_reach_has_no_marginal_cost():
    sc = two_counties()
    sc.facilities.loc[:, "max_add"] = 40.0                  # 80 slots at most, 90 asked
    res = planner.solve(sc)
    m = res.rollup("prefecture").set_index("district_id")
    assert m.at["M1", "shortfall_slots"] == pytest.approx(10)
    assert math.isnan(m.at["M1", "marginal_cost_childcare_per_1000"])


def test_rollup_of_leaf_targets_adds_the_leaves_marginal_costs():
    """Targets on the counties (target_level leaf): the prefecture's figure is every county +1 per 1,000."""
    res = planner.solve(two_counties(target_level="leaf"))
    leaf = res.districts.set_index("district_id")["marginal_cost_childcare_per_1000"]
    assert leaf["C1"] == pytest.approx(10_000) and leaf["C2"] == pytest.approx(20_000)
    m = res.rollup("prefecture").set_index("district_id")
    assert m.at["M1", "marginal_cost_childcare_per_1000"] == pytest.approx(30_000)


def test_marginal_costs_in_the_level_sheet_and_the_level_popup(tmp_path):
    import openpyxl

    res = planner.solve(two_counties())
    wb = openpyxl.load_workbook(res.to_excel(tmp_path / "plan.xlsx", lang="en"))
    level_sheet = next(wb[n] for n in wb.sheetnames if "refecture" in n)
    names = [c.value for c in level_sheet[2]]
    col = names.index("marginal_cost_childcare_per_1000")
    assert level_sheet[1][col].value == "Marginal cost: +1 slot per 1,000 (yuan)"
    assert level_sheet[3][col].value == pytest.approx(20_000)
    from planner import maps

    res = planner.solve(region(0, level="prefecture"))          # prefectures with outlines
    tip, pop, name = maps.level_values(res, "prefecture", "en")["P1"]
    row = res.rollup("prefecture").set_index("district_id").loc["P1"]
    assert "Marginal cost (target +1)" in pop
    from planner import i18n
    assert i18n.fmt_yuan_per_unit(row["marginal_cost_childcare_per_1000"], "en") in pop
    _, pop_zh, _ = maps.level_values(res, "prefecture", "zh")["P1"]
    assert "边际成本（目标 +1）" in pop_zh


def test_marginal_costs_in_the_apps_level_table():
    from planner.widgets import views

    res = planner.solve(two_counties())
    for lang, header in (("en", "One more slot per 1,000 here costs"), ("zh", "此处每千人多 1 个托位需再花")):
        html = views.level_html(res, "prefecture", lang)
        assert header in html and "cp-mc-note" in html
        cells = re.findall(r"<tr>(.*?)</tr>", html)
        assert any(re.search(r"<td>(20,000 yuan|2\.0 万元)</td>", c) for c in cells), cells


# ------------------------------------------------------------------ finite differences on random regions

def _square(lon, lat, r):
    from shapely.geometry import box
    return box(lon - r, lat - r, lon + r, lat + r)


def region(seed: int, level: str = "prefecture", own: dict | None = None):
    """Two prefectures of two or three counties each (seeded): areas, childcare and eldercare sites with
    random sizes and costs, 80 % of need within reach or none. ``own``: {(district_id, target): value}."""
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    rows, areas, facs = [], [], []
    for pi, pref in enumerate(("P1", "P2")):
        rows.append({"district_id": pref, "name": f"{pref}市", "parent_id": "", "level": "prefecture",
                     "geometry": _square(BASE_LON + pi * 1.0 + 0.3, BASE_LAT, 0.5)})
        for ci in range(int(rng.integers(2, 4))):
            cid = f"{pref}C{ci}"
            lon, lat = BASE_LON + pi * 1.0 + ci * 0.3, BASE_LAT
            rows.append({"district_id": cid, "name": cid, "parent_id": pref, "level": "county",
                         "geometry": _square(lon, lat, 0.14)})
            for ai in range(int(rng.integers(1, 3))):
                areas.append(area(f"{cid}a{ai}", cid, pop=int(rng.integers(5_000, 30_000)),
                                  pop60=int(rng.integers(1_000, 6_000)), lon=lon + 0.002 * ai, lat=lat))
            slots = float(rng.integers(0, 60))
            facs.append(childcare(f"{cid}c", cid, slots=slots, affordable=float(rng.integers(0, slots + 1)),
                                  max_add=float(rng.integers(150, 500)), cost=float(rng.integers(5, 50)) * 100,
                                  lon=lon, lat=lat))
            beds = float(rng.integers(0, 200))
            facs.append(eldercare(f"{cid}e", cid, beds=beds, care=float(rng.integers(0, beds + 1)),
                                  max_add=float(rng.integers(100, 600)), cost=float(rng.integers(10, 80)) * 100,
                                  conv=float(rng.integers(2, 20)) * 100, lon=lon + 0.005, lat=lat))
    d = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    for (did, name), value in (own or {}).items():
        if name not in d.columns:
            d[name] = np.nan
        d.loc[d["district_id"] == did, name] = value
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), d, target_level=level)
    sc.targets.access_share = 0.8 if seed % 2 else 0.0
    return sc


@pytest.mark.parametrize("seed,level", [(s, "prefecture") for s in range(4)] + [(s, "all") for s in (4, 5)])
def test_aggregate_marginal_costs_match_finite_differences(seed, level):
    """Every finite marginal cost of a row carrying its own target lies between the backward and forward
    difference quotients of the plan's cost when that row's target moves (the optimal cost is convex in
    a target, the dual a subgradient), where the row's targets are met on both sides."""
    base_sc = region(seed, level)
    res = planner.solve(base_sc)
    table = res.rollup(level).set_index("district_id")
    checked = 0
    for did in table.index:
        if not table.at[did, "met"]:
            continue
        for name, col in MC.items():
            value = table.at[did, col]
            if math.isnan(value):
                continue
            base, h = float(getattr(base_sc.targets, name)), STEP[name]  # the level's rows: the scenario's
            if base - h < 0 or (name.endswith("share") and base + h > 1):
                continue
            sides = []
            for t in (base - h, base + h):
                if did == "all":
                    sc = region(seed, level)
                    setattr(sc.targets, name, t)
                else:
                    sc = region(seed, level, own={(did, name): t})
                sides.append(planner.solve(sc))
            if not all(bool(r.rollup(level).set_index("district_id").at[did, "met"]) for r in sides):
                continue
            quotients = [(res.cost - sides[0].cost) / h * PER_UNIT[name], (sides[1].cost - res.cost) / h * PER_UNIT[name]]
            slack = 1e-4 * max(1.0, *map(abs, quotients)) + 1e-3
            assert quotients[0] - slack <= value <= quotients[1] + slack, (did, name, quotients, value)
            checked += 1
    assert checked >= 4, checked  # compared real numbers, not skipped every row


@pytest.mark.browser
@pytest.mark.parametrize("lang,words", [("zh", "边际成本（目标 +1）"), ("en", "Marginal cost (target +1)")])
def test_level_popup_of_the_html_map_shows_the_marginal_costs_readably(tmp_path, lang, words):
    """Click a prefecture's outline in the shareable map: its popup has the marginal-cost line, and is wide
    enough that its row labels are not wrapped a character a line."""
    from browser_util import offline_page, require_chromium

    require_chromium()
    res = planner.solve(region(1))
    path = res.to_html(tmp_path / "map.html", lang=lang, level="prefecture")
    with offline_page(path, width=1100, height=800) as run:
        page = run.page
        at = page.evaluate("""() => {
          const m = Object.values(window).filter(m => window.L && m instanceof L.Map)[0];
          let out = null;
          m.eachLayer(l => { if (l.feature && l.feature.properties.pop && l.feature.properties.pop.includes('P1市')) {
            const q = m.latLngToContainerPoint(l.getBounds().getCenter()); out = [q.x, q.y]; } });
          return out; }""")
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + at[0], box["y"] + at[1])
        pop = page.locator(".leaflet-popup-content").last
        pop.wait_for(state="visible", timeout=30_000)
        text = pop.inner_text()
        assert text.startswith("P1市") and words in text, text
        label = pop.locator("th").first
        assert label.evaluate("e => e.getBoundingClientRect().width") >= 60, label.inner_text()
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / f"level-popup-{lang}.png"))
        assert run.errors == [] and run.blocked == []


def _province(rates, acc=0.0):
    """Province P1 over prefectures M1 (county C1: f1 adds slots at 1,000 yuan) and M2 (county C2: f2 at
    2,000), 10,000 residents each, 50 km apart; ``rates``: childcare_per_1000 of P1, M1, M2 (NaN: none)."""
    far = BASE_LON + 0.5
    areas = [area("a1", "C1", pop=10_000), area("a2", "C2", pop=10_000, lon=far)]
    facs = [childcare("f1", "C1", max_add=200, cost=1000), childcare("f2", "C2", max_add=200, cost=2000, lon=far)]
    d = districts(("P1", "", "province"), ("M1", "P1", "prefecture"), ("M2", "P1", "prefecture"),
                  ("C1", "M1", "county"), ("C2", "M2", "county"),
                  childcare_per_1000=[*rates, np.nan, np.nan])
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), d)
    sc.targets.childcare_per_1000 = 0
    sc.targets.access_share = acc
    sc.targets.beds_per_1000_elderly = 0
    return sc


def test_a_nested_binding_target_counts_in_the_region_figure():
    """P1 asks 2.5 per 1,000 (50 slots), M1 6.0 (60 slots in C1): M1 binds, P1 does not. The region has no
    target of its own: raising every target in it by one (P1 3.5 = 70, M1 7.0 = 70 in C1) costs 10 slots
    at 1,000 yuan = 10,000 (the largest aggregate alone, P1, once showed 0)."""
    col = "marginal_cost_childcare_per_1000"
    res = planner.solve(_province([2.5, 6.0, np.nan]))
    assert res.cost == pytest.approx(60_000)
    agg = res.aggregate_targets.set_index("district_id")["marginal_cost"]
    assert agg["P1"] == 0 and agg["M1"] == pytest.approx(10_000)
    assert res.rollup("all")[col].iloc[0] == pytest.approx(10_000)
    assert planner.solve(_province([3.5, 7.0, np.nan])).cost - res.cost == pytest.approx(10_000)
    assert res.rollup("province").set_index("district_id").at["P1", col] == 0  # its own target: slack


def test_a_province_of_one_prefecture_with_the_same_target_is_not_counted_twice():
    """P1 over the single prefecture M1 (C1, C2), both asking 4.5 per 1,000: two identical rows of the model.
    Raising both by one costs 20 slots in C1 = 20,000 yuan, and so does the region's figure (their duals
    split that cost between the two rows; summed, it is counted once)."""
    far = BASE_LON + 0.5
    areas = [area("a1", "C1", pop=10_000), area("a2", "C2", pop=10_000, lon=far)]
    facs = [childcare("f1", "C1", max_add=200, cost=1000), childcare("f2", "C2", max_add=200, cost=2000, lon=far)]

    def solve(rate):
        d = districts(("P1", "", "province"), ("M1", "P1", "prefecture"), ("C1", "M1", "county"),
                      ("C2", "M1", "county"), childcare_per_1000=[rate, rate, np.nan, np.nan])
        sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), d)
        sc.targets.childcare_per_1000 = sc.targets.access_share = sc.targets.beds_per_1000_elderly = 0
        return planner.solve(sc)

    res = solve(4.5)
    assert res.cost == pytest.approx(90_000)
    agg = res.aggregate_targets.set_index("district_id")["marginal_cost"]
    assert agg["P1"] + agg["M1"] == pytest.approx(20_000)
    assert res.rollup("all")["marginal_cost_childcare_per_1000"].iloc[0] == pytest.approx(20_000)
    assert solve(5.5).cost - res.cost == pytest.approx(20_000)
