"""planner.widgets without a browser: set controls, solve, and read what the app shows."""

from __future__ import annotations

import datetime
import html
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import ipywidgets as w
import numpy as np
import pandas as pd
import pytest
import shapely

import planner
from planner import i18n, maps
from planner.widgets import Controls, PlannerApp
from planner.widgets import views
from conftest import BASE_LAT as B, BASE_LON as L, area, childcare, eldercare

ROOT = Path(__file__).resolve().parents[1]
WAIT = 120  # seconds: generous, solves here take well under a second


def region_scenario(district_name="城区") -> planner.Scenario:
    """Three districts in two prefectures; every target reachable by expansion, at a price.

    D1 and D2 belong to prefecture P1 (甲市), D3 to P2 (乙市). Childcare slots
    cost 1,000 yuan each, beds 2,000, conversions 100.
    """
    areas = [area("a1", "D1", pop=10000, pop60=1000, lon=L - 0.003),
             area("a2", "D2", pop=20000, pop60=2000, lon=L + 0.003),
             area("a3", "D3", pop=10000, pop60=1500, lon=L + 0.009)]
    facs = [childcare("c1", "D1", slots=30, affordable=20, max_add=200, cost=1000, lon=L - 0.0028),
            childcare("c2", "D2", slots=50, affordable=30, max_add=300, cost=1000, lon=L + 0.0028),
            childcare("c3", "D3", candidate=True, fixed=50000, cost=1000, max_size=200, lon=L + 0.0088),
            eldercare("e1", "D1", beds=20, care=5, max_add=100, cost=2000, conv=100, lon=L - 0.0032),
            eldercare("e2", "D2", beds=40, care=10, max_add=200, cost=2000, conv=100, lon=L + 0.0032),
            eldercare("e3", "D3", beds=30, care=30, max_add=100, cost=2000, conv=100, lon=L + 0.0092)]
    districts = gpd.GeoDataFrame(
        {"district_id": ["D1", "D2", "D3"], "name": [district_name, "新区", "北县"],
         "parent_id": ["P1", "P1", "P2"], "parent_name": ["甲市", "甲市", "乙市"]},
        geometry=[shapely.box(L - 0.006, B - 0.005, L, B + 0.005), shapely.box(L, B - 0.005, L + 0.006, B + 0.005),
                  shapely.box(L + 0.006, B - 0.005, L + 0.012, B + 0.005)], crs=4326)
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), districts, name="测试市")
    sc.attribution = "Test data (synthetic)"
    return sc


@pytest.fixture
def app():
    a = PlannerApp(region_scenario())
    assert a.wait(WAIT) is not None, a.error
    yield a
    a.wait(WAIT)


def set_slider(a: PlannerApp, name: str, value: float):
    a.controls.sliders[name].value = value
    return a.wait(WAIT)


# ------------------------------------------------------------------ the controls

def test_every_target_has_a_slider_that_starts_at_the_scenario_value():
    sc = region_scenario()
    sc.targets.childcare_per_1000 = 5.5
    c = Controls(sc)
    assert set(c.sliders) == {f for f in planner.Targets.__dataclass_fields__}
    for name, s in c.sliders.items():
        assert isinstance(s, w.FloatSlider)
        assert s.continuous_update is False, f"{name} would re-solve on every pixel"
        assert s.value == pytest.approx(getattr(sc.targets, name))
    assert c.sliders["childcare_per_1000"].value == 5.5
    # labels come from i18n, in both languages
    text = " ".join(x.value for x in c._slider_labels.values())
    assert i18n.t("w_childcare_per_1000", "zh") in text
    c.relabel("en")
    text = " ".join(x.value for x in c._slider_labels.values())
    assert i18n.t("w_beds_per_1000_elderly", "en") in text
    assert c.solve_button.description == "Solve"


def test_controls_edit_a_copy_and_never_the_base_scenario():
    sc = region_scenario()
    c = Controls(sc)
    c.sliders["beds_per_1000_elderly"].value = 55
    c.budget_mode.value = "limit"
    c.budget_yuan.value = 12345.0
    c.integer.value = True
    out = c.scenario()
    assert out is not sc
    assert (out.targets.beds_per_1000_elderly, out.budget, out.options.integer) == (55, 12345.0, True)
    assert (sc.targets.beds_per_1000_elderly, sc.budget, sc.options.integer) == (40, None, False)
    c.reset()
    assert c.sliders["beds_per_1000_elderly"].value == 40 and c.budget_mode.value == "none"


def test_region_filter_uses_prefectures_and_counties():
    c = Controls(region_scenario())
    assert [v for _, v in c.level.options] == ["all", "prefecture", "county"]
    assert len(c.scenario().districts) == 3
    c.level.value = "prefecture"
    assert [label for label, _ in c.region.options] == ["甲市", "乙市"]
    c.region.value = "P2"
    sub = c.scenario()
    assert list(sub.districts["district_id"]) == ["D3"] and set(sub.areas["district_id"]) == {"D3"}
    assert "乙市" in sub.name
    c.level.value = "county"
    assert ("甲市 · 新区", "D2") in c.region.options
    c.region.value = "D2"
    assert list(c.scenario().districts["district_id"]) == ["D2"]


def test_no_prefecture_level_without_parent_ids():
    sc = region_scenario()
    sc = planner.Scenario.from_frames(sc.areas.drop(columns="geometry"), sc.facilities.drop(columns="geometry"),
                                      pd.DataFrame(sc.districts[["district_id", "name"]]))
    c = Controls(sc)
    assert [v for _, v in c.level.options] == ["all", "county"]


def test_reach_toggle_offers_the_life_circle_preset():
    sc = region_scenario()
    c = Controls(sc)
    assert c.reach_rules.value is False and c.scenario().reach is None
    assert not c.sliders["access_minutes"].disabled
    c.reach_rules.value = True
    assert c.scenario().reach == "life_circle"
    # the preset sets every travel time, so the minutes slider is only a default and is off
    assert c.sliders["access_minutes"].disabled
    assert i18n.t("w_access_minutes_unused", "zh") in c._reach_note.value
    assert i18n.t("w_access_minutes_rules", "zh") in c._slider_labels["access_minutes"].value

    sc.reach = {"childcare": {"urban": "walk", "rural": ["drive", 20]}}   # rules without minutes for urban
    c = Controls(sc)
    assert c.reach_rules.value is True and c.scenario().reach == sc.reach
    assert not c.sliders["access_minutes"].disabled   # the slider still sets the urban walk


# ------------------------------------------------------------------ solving

def test_moving_a_slider_resolves_and_the_tables_and_map_follow(app):
    r1 = app.result
    app._parts.tabs.selected_index = 1
    table1, head1 = app._parts.districts.value, app._parts.headline.value
    app._parts.tabs.selected_index = 0
    live = app.live_map
    map1 = live.values()
    assert r1.scenario.targets.childcare_per_1000 == 4.5
    assert map1["districts"]["D1"]["v"]["target_childcare_per_1000"] == 4.5

    r2 = set_slider(app, "childcare_per_1000", 9.0)
    assert r2 is not r1 and app.error is None
    assert r2.scenario.targets.childcare_per_1000 == 9.0
    assert r2.cost > r1.cost
    assert r2.districts["slots_after"].sum() > r1.districts["slots_after"].sum()
    assert app.live_map is live                       # the same map, updated in place
    assert live.values()["districts"]["D1"]["v"]["target_childcare_per_1000"] == 9.0
    app._parts.tabs.selected_index = 1                # tables are drawn when their tab opens
    assert app._parts.districts.value != table1
    assert app._parts.headline.value != head1
    assert i18n.fmt_yuan(r2.cost, "zh") in app._parts.headline.value
    assert set(app.timings) == {"solve", "map", "render", "total"}
    assert not app.busy and not app.controls.solve_button.disabled


def test_a_change_during_a_solve_queues_exactly_one_more_with_the_latest_values(monkeypatch):
    real = planner.solve
    running, seen, peak = [0], [], [0]
    gate = threading.Event()
    lock = threading.Lock()

    def slow_solve(sc, **kw):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait(WAIT)
        try:
            seen.append(sc.targets.childcare_per_1000)
            return real(sc, **kw)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(planner, "solve", slow_solve)
    a = PlannerApp(region_scenario(), solve="background")
    deadline = time.monotonic() + 10
    while not running[0] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert a.busy and a.controls.solve_button.disabled          # can't be started twice
    assert a._parts.progress.bar_style == "info"
    for v in (5.0, 6.0, 7.0):                                   # a planner drags the slider around
        a.controls.sliders["childcare_per_1000"].value = v
    a.solve()                                                   # and clicks Solve as well
    assert i18n.t("w_status_queued", "zh") in a._parts.status.value
    gate.set()
    res = a.wait(WAIT)
    assert peak[0] == 1
    assert seen == [4.5, 7.0]                                   # one more solve, with the latest value
    assert res.scenario.targets.childcare_per_1000 == 7.0
    assert not a.controls.solve_button.disabled


def test_the_app_opens_solved_unless_asked_to_solve_in_the_background():
    a = PlannerApp(region_scenario())
    assert a.result is not None and not a.busy            # solved before it is shown
    assert i18n.fmt_yuan(a.result.cost, "zh") in a._parts.headline.value
    b = PlannerApp(region_scenario(), solve="background")
    assert b.wait(WAIT) is not None


def test_solve_wait_returns_the_result_and_times_out_while_busy(monkeypatch):
    a = PlannerApp(region_scenario(), solve=False)
    assert a.result is None and i18n.t("w_no_result", "zh") in a._parts.headline.value
    res = a.solve(wait=True, timeout=WAIT)
    assert isinstance(res, planner.Result) and res is a.result

    gate = threading.Event()
    real = planner.solve
    monkeypatch.setattr(planner, "solve", lambda sc, **kw: (gate.wait(WAIT), real(sc, **kw))[1])
    a.solve()
    with pytest.raises(TimeoutError):
        a.wait(0.2)
    gate.set()
    assert a.wait(WAIT) is not None


def test_budget_integer_and_region_reach_the_solver(app):
    full_cost = app.result.cost
    assert app.controls.budget_yuan.value > 0                       # suggested from the last plan
    app.controls.budget_yuan.value = round(full_cost / 4)
    app.controls.budget_mode.value = "limit"
    res = app.wait(WAIT)
    assert res.scenario.budget == round(full_cost / 4)
    assert res.cost <= full_cost / 4 + 1 and res.status == "shortfall"
    assert res.districts["shortfall_reason"].str.contains("budget").any()
    app.controls.budget_mode.value = "none"
    app.controls.integer.value = True
    res = app.wait(WAIT)
    assert res.scenario.options.integer and res.scenario.budget is None
    app.controls.level.value = "prefecture"
    app.controls.region.value = "P2"
    res = app.wait(WAIT)
    assert list(res.districts["district_id"]) == ["D3"]
    app._parts.tabs.selected_index = 1
    assert "北县" in app._parts.districts.value and "新区" not in app._parts.districts.value


def test_auto_off_waits_for_the_solve_button(app):
    r1 = app.result
    app.controls.auto.value = False
    app.controls.sliders["beds_per_1000_elderly"].value = 60
    assert app.wait(WAIT) is r1
    app.controls.solve_button.click()
    assert app.wait(WAIT).scenario.targets.beds_per_1000_elderly == 60


def test_language_switch_relabels_and_redraws_without_solving(app, monkeypatch):
    calls = []
    real = planner.solve
    monkeypatch.setattr(planner, "solve", lambda sc, **kw: calls.append(sc) or real(sc, **kw))
    assert app.live_map.setup["layers"]["districts"] == i18n.t("layer_districts", "zh")
    app.controls.lang.value = "en"
    app.wait(WAIT)
    assert calls == []
    assert "Total cost" in app._parts.headline.value
    assert app.live_map.lang == "en" and app.live_map.setup["layers"]["districts"] == "Districts"
    assert app.live_map.setup["labels"]["shortfall"] == "shortfall"   # popups follow
    assert app._parts.tabs.get_title(0) == "Map"
    assert app.controls.solve_button.description == "Solve"
    app._parts.tabs.selected_index = 1
    assert "Slot shortfall" in app._parts.districts.value


def test_a_solve_sends_the_map_only_what_changed_and_hidden_tables_wait(app):
    live = app.live_map
    full = live._send_current(full=True)              # what a freshly opened page gets
    assert set(full["districts"]) == {"D1", "D2", "D3"} and full["fit"]
    app._parts.tabs.selected_index = 2
    facilities_before = app._parts.facilities.value
    app._parts.tabs.selected_index = 0
    set_slider(app, "beds_per_1000_elderly", 70)
    diff = live._send_current()                       # nothing new since: an empty diff
    assert diff["districts"] == {} and diff["facilities"] == {} and not diff["fit"]
    assert live.sent_bytes[-2] < live.sent_bytes[-3]  # the solve's diff is smaller than a full message
    assert app._parts.facilities.value == facilities_before    # a hidden tab is not redrawn ...
    app._parts.tabs.selected_index = 2
    assert app._parts.facilities.value != facilities_before    # ... until it is opened


def test_region_switch_fits_the_map_and_refills_the_suggested_budget(app):
    c = app.controls
    whole = c.budget_yuan.value
    assert whole > 0                                  # pre-filled with the whole region's cost
    c.level.value = "county"
    c.region.value = "D3"
    res = app.wait(WAIT)
    assert list(res.districts["district_id"]) == ["D3"]
    msg = app.live_map._send_current()
    assert set(app.live_map.values()["districts"]) == {"D3"}
    assert 0 < c.budget_yuan.value < whole            # refilled for the county
    assert "北县" in app._parts.title.value and f"{i18n.table_label('districts', 'zh')} 1 ·" in app._parts.title.value
    c.budget_yuan.value = 123456.0                    # a figure the planner typed is kept
    c.region.value = "D1"
    app.wait(WAIT)
    assert c.budget_yuan.value == 123456.0
    assert msg is not None


# ------------------------------------------------------------------ what the app shows

def test_headline_counts_districts_meeting_each_target_before_and_after(app):
    meet = views.districts_meeting(app.result)
    d = app.result.districts
    assert meet["slots"][1] == int((d["shortfall_slots"] <= 1e-3).sum())
    assert meet["slots"][0] == int((d["slots_per_1000_before"] >= d["target_childcare_per_1000"] - 1e-9).sum())
    assert meet["reach"][0] is None and meet["all"][1] == int(d["met"].sum())
    head = app._parts.headline.value
    for key in ("slots", "affordable", "beds", "care", "reach", "all"):
        assert f"cp-meet-{key}" in head
    assert "万元" in head or "亿元" in head


def test_district_table_sorts_by_shortfall_and_escapes_names(monkeypatch):
    sc = region_scenario(district_name="<b>城区</b>&")
    sc.facilities.loc[sc.facilities["facility_id"] == "c1", "max_add"] = 0   # D1 cannot reach 4.5 slots/1,000
    a = PlannerApp(sc)
    res = a.wait(WAIT)
    assert res.districts.set_index("district_id").loc["D1", "shortfall_slots"] > 0
    p = a._parts
    p.sort_by.value = "shortfall_slots"
    rows = re.findall(r"<tr>(.*?)</tr>", p.districts.value.split("<tbody>")[1])
    assert "&lt;b&gt;城区&lt;/b&gt;&amp;" in rows[0]            # the worst district first, escaped
    assert "<b>城区</b>" not in p.districts.value
    p.descending.value = False
    rows = re.findall(r"<tr>(.*?)</tr>", p.districts.value.split("<tbody>")[1])
    assert "城区" not in rows[0]
    p.only_missed.value = True
    assert p.districts.value.count("<tr>") == 1 + int((~res.districts["met"]).sum())
    # name, met flag, why (each reason said once), then the shortfall columns
    heads = re.findall(r"<th[^>]*>(.*?)</th>", p.districts.value)
    assert heads[2] == html.escape(i18n.column_label("shortfall_reason_text", "zh"))
    assert heads[3] == html.escape(i18n.column_label("shortfall_slots", "zh"))
    assert i18n.REASONS["expansion_limit"][0] in p.districts.value


def test_district_table_shows_the_marginal_costs_of_the_result(app):
    """Each district row shows the Result's marginal costs (yuan per +1 unit), labelled as such, zh and en.

    D1 (10,000 residents) is short of slots that cost 1,000 yuan each: one more slot per 1,000
    there is 10 more slots, 10,000 yuan (the district's own row says so).
    """
    res = app.result
    d = res.districts.set_index("district_id")
    mc = views.MARGINAL_COST_COLUMNS
    assert d.loc["D1", "shortfall_slots"] == 0 and d.loc["D1", "marginal_cost_childcare_per_1000"] > 0
    for lang in ("zh", "en"):
        page = views.districts_html(res, lang)
        heads = [html.unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", page)]
        body = page.split("<tbody>")[1]
        rows = re.findall(r"<tr>(.*?)</tr>", body)
        for c in mc:
            assert i18n.t("w_mc_" + c.removeprefix("marginal_cost_"), lang) in heads
        assert heads[-1] == i18n.column_label("district_id", lang)
        for row in rows:
            cells = [html.unescape(re.sub(r"<[^>]+>", "", x)) for x in re.findall(r"<td[^>]*>.*?</td>", row)]
            did = cells[-1]
            shown = cells[-1 - len(mc):-1]
            want = [i18n.fmt_yuan_per_unit(0.0 if abs(v) < 1e-6 else v, lang) for v in d.loc[did, list(mc)]]
            assert shown == want, (did, shown, want)
        assert i18n.t("w_mc_note", lang) in html.unescape(page)
    # the hand-checkable value: 10 slots at 1,000 yuan
    assert d.loc["D1", "marginal_cost_childcare_per_1000"] == pytest.approx(10_000, rel=1e-6)
    en, zh = views.districts_html(res, "en"), views.districts_html(res, "zh")
    assert "10,000 yuan" in en and "1.0 万元" in zh
    # sortable by marginal cost, out-of-reach (NaN) last
    order = views.sort_districts(res, "marginal_cost_childcare_per_1000")["district_id"].tolist()
    vals = d.loc[order, "marginal_cost_childcare_per_1000"].to_numpy()
    finite = vals[~pd.isna(vals)]
    assert list(finite) == sorted(finite, reverse=True) and not pd.isna(vals[:len(finite)]).any()


def test_reason_text_says_each_reason_once():
    text = views.reason_text("access_childcare:no_site_in_reach;access_beds:no_site_in_reach;beds:expansion_limit",
                             "en")
    assert text.count(i18n.REASONS["no_site_in_reach"][1]) == 1
    assert text.startswith(i18n.REASONS["no_site_in_reach"][1] + ": childcare within reach, elderly care within reach")
    assert views.reason_text("odd:thing", "zh") == "odd:thing"   # unknown codes are kept


def test_facility_table_lists_what_to_build_convert_or_open(app):
    res = set_slider(app, "childcare_per_1000", 9.0)
    f = res.facilities
    built = f[f["state"].isin(["expanded", "converted", "opened"])]
    app._parts.tabs.selected_index = 2
    table = app._parts.facilities.value
    assert len(built) and table.count("<tr>") == 1 + len(built)
    for fid in built["facility_id"]:
        assert f">{fid}<" in table
    for fid in f.loc[~f["state"].isin(["expanded", "converted", "opened"]), "facility_id"]:
        assert f">{fid}<" not in table
    app._parts.state.value = "opened"
    assert app._parts.facilities.value.count("<tr>") == 1 + int((f["state"] == "opened").sum())


def test_summary_tab_shows_before_after_and_targets(app):
    app._parts.tabs.selected_index = 3
    s = app._parts.summary.value
    assert "测试市" in s and i18n.t("w_value_before", "zh") in s and i18n.t("w_value_target", "zh") in s
    assert i18n.fmt_rate(app.result.scenario.targets.childcare_per_1000) in s
    # reach served within the travel time, before → after, over the whole region
    a = app.result.areas
    row = re.search(rf"{re.escape(i18n.column_label('access_share_childcare', 'zh'))}</td>(.*?)</tr>", s).group(1)
    shares = [i18n.fmt_share(a[f"served_in_reach_childcare{w}"].sum() / a["need_childcare"].sum()) for w in ("_before", "")]
    assert re.findall(r"<td>(?:<b>)?([^<]*)", row)[:2] == shares


def test_an_unexpected_failure_shows_in_the_app():
    def broken(problem, variables, scenario):
        raise RuntimeError("my constraint is wrong")

    sc = region_scenario()
    sc.extra_functionality = broken
    a = PlannerApp(sc)
    assert a.wait(WAIT) is None
    assert isinstance(a.error, RuntimeError)
    box = a._parts.error
    assert box.layout.display != "none"
    assert "RuntimeError" in box.value and "my constraint is wrong" in box.value
    assert i18n.t("w_error_unexpected", "zh") in box.value
    assert i18n.t("w_status_failed", "zh") in a._parts.status.value
    assert a._parts.progress.bar_style == "danger" and not a.controls.solve_button.disabled


def test_a_planner_error_names_file_row_and_column_and_clears_after_a_good_solve(app, tmp_path, monkeypatch):
    def fail(sc, **kw):
        raise planner.PlannerError("the solver gave up", "areas.csv", 7, "pop_total")

    monkeypatch.setattr(planner, "solve", fail)
    app.solve(wait=True, timeout=WAIT)
    box = app._parts.error.value
    assert "the solver gave up" in box and "areas.csv" in box and "第 7 行" in box and "pop_total" in box
    monkeypatch.undo()
    app.solve(wait=True, timeout=WAIT)
    assert app.error is None and app._parts.error.layout.display == "none"


# ------------------------------------------------------------------ export and load

def test_export_writes_map_excel_and_geopackage(app, tmp_path):
    out = app.export(tmp_path / "导出")
    assert set(out) == {"map", "excel", "geopackage"}
    for path in out.values():
        assert path.exists() and path.stat().st_size > 0 and path.parent == (tmp_path / "导出").resolve()
    shown = app._parts.export_out.value
    for path in out.values():
        assert html.escape(str(path)) in shown
    assert "<iframe" not in out["map"].read_text(encoding="utf-8")[:200]


def test_export_before_any_solve_says_so(tmp_path):
    a = PlannerApp(region_scenario(), solve=False)
    assert a.export(tmp_path) is None
    assert i18n.t("w_export_first", "zh") in a._parts.export_out.value
    assert list(tmp_path.iterdir()) == []


def write_scenario_files(folder: Path, bad_pop: bool = False) -> Path:
    sc = region_scenario()
    areas = pd.DataFrame(sc.areas.drop(columns="geometry"))
    if bad_pop:
        areas.loc[1, "pop_total"] = -5
    areas.to_csv(folder / "areas.csv", index=False)
    pd.DataFrame(sc.facilities.drop(columns="geometry")).to_csv(folder / "facilities.csv", index=False)
    (folder / "scenario.yaml").write_text(
        "name: 上传的县\nareas: data/areas.csv\nfacilities: data/facilities.csv\n"
        "targets: {childcare_per_1000: 5.0}\n", encoding="utf-8")
    return folder / "scenario.yaml"


def test_load_a_scenario_yaml_from_a_path(app, tmp_path):
    (tmp_path / "data").mkdir()
    write_scenario_files(tmp_path / "data")
    (tmp_path / "data" / "scenario.yaml").rename(tmp_path / "scenario.yaml")
    sc = app.load(tmp_path / "scenario.yaml")
    assert sc is not None and sc.name == "上传的县"
    res = app.wait(WAIT)
    assert res.scenario.targets.childcare_per_1000 == 5.0
    assert app.controls.sliders["childcare_per_1000"].value == 5.0
    assert "上传的县" in app._parts.title.value
    # the map now draws the new scenario (its own geometry) and shows its plan
    assert app.live_map.geometry["ids"] == list(sc.districts["district_id"].astype(str))
    assert app._parts.tabs.children[0] is app.live_map
    assert set(app.live_map.values()["districts"]) == set(res.districts["district_id"].astype(str))


def test_loading_a_bad_file_shows_where_the_problem_is(app, tmp_path):
    (tmp_path / "data").mkdir()
    write_scenario_files(tmp_path / "data", bad_pop=True)
    (tmp_path / "data" / "scenario.yaml").rename(tmp_path / "scenario.yaml")
    before = app.controls.base
    assert app.load(tmp_path / "scenario.yaml") is None
    box = app._parts.error.value
    assert "areas.csv" in box and "第 3 行" in box and "pop_total" in box
    assert app.controls.base is before                       # the old scenario stays
    assert app.load(tmp_path / "missing.yaml") is None
    assert "missing.yaml" in app._parts.error.value


def _uploads(folder: Path, names) -> tuple:
    now = datetime.datetime.now(datetime.timezone.utc)
    return tuple({"name": n, "type": "", "size": (folder / n).stat().st_size, "last_modified": now,
                  "content": memoryview((folder / n).read_bytes())} for n in names)


def test_upload_a_yaml_with_the_tables_it_names(app, tmp_path):
    write_scenario_files(tmp_path)
    app._parts.upload.value = _uploads(tmp_path, ["scenario.yaml", "areas.csv", "facilities.csv"])
    app._parts.upload_button.click()      # the YAML names data/areas.csv: placed there
    res = app.wait(WAIT)
    assert app.error is None, app._parts.error.value
    assert res.scenario.name == "上传的县" and len(res.districts) == 3
    assert app._parts.upload.value == ()


def test_upload_tables_without_a_yaml(app, tmp_path):
    write_scenario_files(tmp_path)
    sc = app.load_files({"areas.csv": (tmp_path / "areas.csv").read_bytes(),
                         "facilities.csv": (tmp_path / "facilities.csv").read_bytes()})
    assert sc is not None and app.wait(WAIT) is not None and app.error is None
    assert app.load_files({"a.csv": b"x", "b.csv": b"y"}) is None
    assert i18n.t("w_upload_which", "zh")[:10] in app._parts.error.value
    assert app.load_files(()) is None and i18n.t("w_upload_none", "zh") in app._parts.error.value


def test_upload_errors_name_the_users_file_not_a_temp_path(app, tmp_path):
    write_scenario_files(tmp_path, bad_pop=True)
    app.load_files({"areas.csv": (tmp_path / "areas.csv").read_bytes(),
                    "facilities.csv": (tmp_path / "facilities.csv").read_bytes()})
    box = app._parts.error.value
    assert "areas.csv" in box and "第 3 行" in box and "care_planner_upload" not in box


# ------------------------------------------------------------------ boundaries

def test_the_engine_never_imports_ipywidgets_and_the_widgets_never_touch_pulp():
    code = ("import sys, planner; planner.solve(planner.load_demo('shanxi', prefecture='阳泉市')); "
            "assert 'ipywidgets' not in sys.modules and 'IPython' not in sys.modules, 'engine imported widgets'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    for py in (ROOT / "widgets").glob("*.py"):
        assert "pulp" not in py.read_text(encoding="utf-8").lower(), py


def test_app_is_an_applayout_with_the_results_in_tabs(app):
    assert isinstance(app, w.AppLayout)
    titles = [app._parts.tabs.get_title(i) for i in range(4)]
    assert titles == [i18n.t(k, "zh") for k in ("w_tab_map", "w_tab_districts", "w_tab_facilities", "w_tab_summary")]


@pytest.mark.slow
def test_demo_prefecture_timings():
    """Slider → new map on a real prefecture (太原市); the timings are printed for the record."""
    a = PlannerApp(planner.load_demo("shanxi", prefecture="太原市"))
    a.wait(WAIT)
    t0 = time.perf_counter()
    set_slider(a, "childcare_per_1000", 6.0)
    elapsed = time.perf_counter() - t0
    assert a.error is None and a.result.scenario.targets.childcare_per_1000 == 6.0
    print({k: round(v, 2) for k, v in a.timings.items()}, round(elapsed, 2))
    assert elapsed < 60


def test_slider_moves_resolve_warm_with_the_cold_answer():
    """After a slider move the app re-solves from its last plan's solvers; the plan is the cold one."""
    app = PlannerApp(region_scenario())
    first = app.wait(60)
    assert first.info.state is not None  # solvers kept for the next move
    app.controls.sliders["childcare_per_1000"].value = 6.0
    moved = app.wait(60)
    assert moved is not first and moved.info.warm
    cold = planner.solve(app.controls.scenario())
    assert moved.cost == pytest.approx(cold.cost, rel=1e-9)


# ------------------------------------------------------------------ the dashboard's sandbox

def test_sandbox_refuses_outside_paths_without_reading_them(tmp_path, monkeypatch):
    box = tmp_path / "box"
    app = PlannerApp(region_scenario(), sandbox=box)
    assert app.wait(WAIT) is not None
    opened = []
    real = planner.load_scenario
    monkeypatch.setattr(planner, "load_scenario", lambda p, *a, **k: opened.append(str(p)) or real(p, *a, **k))
    assert app.load("/etc/passwd") is None
    assert opened == []                                            # never handed to a reader
    assert "/etc/passwd" in app.error.message and str(box) in app.error.message
    assert app.load("../../etc/passwd") is None and opened == []   # nor by climbing out
    # a scenario inside the box that names a file outside it is refused before anything is read
    (tmp_path / "secret.csv").write_text("area_id\n1\n")
    (box / "s.yaml").write_text("areas: ../secret.csv\nfacilities: f.csv\n")
    assert app.load("s.yaml") is None and opened == []
    assert "../secret.csv" in app.error.message


def test_sandbox_exports_only_inside_and_offers_downloads(tmp_path):
    box = tmp_path / "box"
    app = PlannerApp(region_scenario(), sandbox=box)
    assert app.wait(WAIT) is not None
    assert app.export(tmp_path / "elsewhere") is None
    assert not (tmp_path / "elsewhere").exists() and "elsewhere" in app.error.message
    paths = app.export("out")
    assert paths and all(box / "out" in p.parents for p in paths.values())
    shown = app._parts.export_out.value
    assert shown.count("class='cp-download'") == 3 and "download='plan.xlsx'" in shown
    assert "href='data:" in shown and str(box) not in shown       # the viewer gets files, not server paths


def test_voila_kernel_gets_a_sandbox_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CARE_PLANNER_SANDBOX", raising=False)
    monkeypatch.setenv("SERVER_SOFTWARE", "voila/0.5.13")
    app = PlannerApp(region_scenario(), solve=False)
    assert app.sandbox == tmp_path / "planner_files"
    monkeypatch.setenv("CARE_PLANNER_SANDBOX", str(tmp_path / "shared"))
    assert PlannerApp(region_scenario(), solve=False).sandbox == tmp_path / "shared"


def test_headline_shows_need_served_within_reach_before_and_after(app):
    a = app.result.areas
    head = app._parts.headline.value
    card = re.search(r"cp-headline-reach.*?cp-v'>(.*?)</div>", head).group(1)
    for kind in ("childcare", "beds"):
        before, after = (i18n.fmt_share(a[f"served_in_reach_{kind}{w}"].sum() / a[f"need_{kind}"].sum())
                         for w in ("_before", ""))
        assert f"{before} → <b>{after}</b>" in card


def test_live_map_keeps_values_per_view_and_sends_differences():
    """A level or year selector adds views: values per view, the browser gets the difference on a switch."""
    from planner.widgets.livemap import LiveMap

    sc = region_scenario()
    r1 = planner.solve(sc)
    sc2 = sc.copy()
    sc2.targets.childcare_per_1000 = 9.0
    r2 = planner.solve(sc2)
    live = LiveMap(sc)
    assert live.geometry["ids"] == ["D1", "D2", "D3"] and live.geometry["districts"] is not None
    first = live.show(r1)
    assert set(first["districts"]) == {"D1", "D2", "D3"} and first["fit"]
    assert live.show(r2, view="2030") is None                  # kept, not shown
    switched = live.select_view("2030")
    # popup numbers travel as columns in geometry order, only the columns that changed
    cols = switched["district_v"]
    assert cols["target_childcare_per_1000"] == [9.0, 9.0, 9.0] and "pop_total" not in cols
    assert not switched["fit"] and switched["rev"] == first["rev"] + 1
    assert live.select_view("plan")["district_v"]["target_childcare_per_1000"] == [4.5, 4.5, 4.5]
    with pytest.raises(KeyError):
        live.select_view("2040")
    assert live.values("2030")["districts"]["D1"]["v"]["target_childcare_per_1000"] == 9.0


def test_demo_opens_on_life_circle_reach_and_walking_is_one_switch_away():
    sc = planner.load_demo("shanxi", prefecture="太原市")
    assert sc.reach == "life_circle"                  # villages by car, towns on foot (GB 50180)
    c = Controls(sc)
    assert c.reach_rules.value and c.scenario().reach == "life_circle"
    c.reach_rules.value = False                       # the one switch: everyone walks access_minutes
    assert c.scenario().reach is None


def test_reach_layer_values_are_sent_only_while_shown_and_only_changed_columns(app):
    live = app.live_map
    assert live._shown["areas"] == {}                  # hidden: no area values travel
    first = live.want_areas(True)                      # the browser turned a reach layer on
    assert set(first["areas"]) == set(range(11)) and first["areas"][0] == [1, 1, 1]
    need = app.result.areas.set_index("area_id")["need_childcare"]
    assert first["areas"][3] == [round(need[k], 1) for k in live.geometry["areas"]["ids"]]
    messages = []
    real_send = live.send
    # the values travel as one compact JSON buffer beside a {"type": "values"} message
    live.send = lambda msg, buffers=None: messages.append(json.loads(buffers[0])) or real_send(msg, buffers)
    set_slider(app, "beds_per_1000_elderly", 55)
    # only the elderly-care columns moved with the beds target (need, served, shortfall…), never the ids
    assert messages and "3" not in messages[-1]["areas"] and "7" in messages[-1]["areas"]
    assert live._send_current()["areas"] == {}         # after the solve: nothing left to send
    cols = live._area_columns(live.values()["areas"])
    assert cols[7] == [round(x, 1) for x in app.result.areas.set_index("area_id").loc[
        live.geometry["areas"]["ids"], "need_beds"]]

def test_a_solve_sends_one_compact_buffer_with_numbers_at_display_precision(app):
    """Facilities by geometry index, district numbers as changed columns, at the popups' precision."""
    live = app.live_map
    sent = []
    real_send = live.send
    live.send = lambda msg, buffers=None: sent.append((msg, buffers)) or real_send(msg, buffers)
    r = set_slider(app, "childcare_per_1000", 6.0)
    msg, buffers = sent[-1]
    assert msg == {"type": "values"} and len(buffers) == 1 and len(buffers[0]) == live.sent_bytes[-1]
    body = json.loads(buffers[0])
    assert b", " not in buffers[0] and b'": ' not in buffers[0]        # compact
    ids = live.geometry["facilities"]["ids"]
    assert body["facilities"]                                           # some facility changed
    for i, v in body["facilities"].items():                             # index → the same values as by id
        assert v == live.values()["facilities"][ids[int(i)]]
    f = r.facilities.set_index("facility_id")
    for i, v in body["facilities"].items():
        row = f.loc[ids[int(i)]]
        if row["kind"] == "childcare" and row["state"] != "not_opened":
            added = row["added_slots"]                                  # popup precision: 0.1 below 100
            assert v[4] == (round(added) if abs(added) >= 100 else round(added, 1))
    cols = body["district_v"]
    assert cols["target_childcare_per_1000"] == [6.0] * len(live.geometry["ids"])
    assert "pop_total" not in cols                                      # unchanged columns stay home
    d = r.districts.set_index("district_id")
    for k, v in live.values()["districts"].items():                    # shares to 0.1 percentage point
        assert v["v"]["affordable_share_after"] == np.round(d.loc[k, "affordable_share_after"], 3)
        assert v["v"]["slots_per_1000_after"] == np.round(d.loc[k, "slots_per_1000_after"], 2)


# ------------------------------------------------------------------ levels and equity in the app

def _two_counties_app(**kw):
    """M1 over C1 (slots at 1,000 yuan) and C2 (3,000 yuan); 45 slots needed in each."""
    d = pd.DataFrame([{"district_id": "M1", "name": "一市", "parent_id": "", "level": "市"},
                      {"district_id": "C1", "name": "甲县", "parent_id": "M1", "level": "县"},
                      {"district_id": "C2", "name": "乙县", "parent_id": "M1", "level": "县"}])
    areas = [area("a1", "C1"), area("a2", "C2", lon=L + 0.05)]
    facs = [childcare("f1", "C1", max_add=100, cost=1000), childcare("f2", "C2", max_add=100, cost=3000, lon=L + 0.05)]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), d)
    sc.targets.access_share = 0
    sc.targets.beds_per_1000_elderly = 0
    return PlannerApp(sc, **kw)


def test_show_by_level_and_the_equity_switch():
    a = _two_counties_app(lang="en")
    c = a.controls
    assert [v for _, v in c.view_level.options] == ["leaf", "prefecture"]
    assert c.view_level.layout.display is None
    solves = a.result
    c.view_level.value = "prefecture"            # a view change: same plan, new tables
    a.wait(60)
    assert a.result is solves
    a._parts.tabs.selected_index = 1             # the district tab is drawn when opened
    assert "cp-level-table" in a._parts.districts.value and "一市" in a._parts.districts.value
    assert "Prefecture meeting every target" in a._parts.headline.value
    assert "cp-headline-fair" not in a._parts.headline.value   # least cost: in the before → after tab
    a._parts.tabs.selected_index = 3
    assert "cp-fair-gini" in a._parts.summary.value and "cp-fair-worst" in a._parts.summary.value
    c.budget_mode.value = "limit"
    c.budget_yuan.value = 90_000
    a.wait(60)
    assert a.result.summary()["min_attainment_childcare"] == pytest.approx(1 / 3, abs=1e-6)
    c.objective.value = "equity"
    a.wait(60)
    assert a.result.scenario.objective == "equity"
    assert a.result.summary()["min_attainment_childcare"] == pytest.approx(0.5, abs=1e-6)
    assert "50.0%" in a._parts.headline.value     # worst district's attainment, shown
    c.lang.value = "zh"
    a.wait(60)
    assert [label for label, _ in c.objective.options] == ["最低成本", "公平优先"]
    assert [label for label, _ in c.view_level.options] == ["县区", "市"]


def test_no_level_switch_for_a_one_level_table(app):
    assert app.controls.view_level.layout.display == "none"


def test_headline_counts_the_rows_that_carry_the_targets():
    """target_level prefecture: the chips count prefectures (the counties only carry floors)."""
    a = _two_counties_app(lang="en", solve=False)
    sc = a.controls.scenario()
    sc.target_level = "prefecture"
    res = planner.solve(sc)
    head = views.headline_html(res, "en")
    assert "Prefecture rows meeting each target (before → after, of 1)" in head
    assert "childcare slots 0 → <b class='cp-ok'>1</b>" in head
    assert "Districts meeting every target" in head and "2 / 2" in head
    assert views.rows_meeting(res, "prefecture")["slots"] == (0, 1)


def test_sandbox_refuses_outside_paths_in_the_table_with_crs_form(tmp_path, monkeypatch):
    box = tmp_path / "box"
    app = PlannerApp(region_scenario(), sandbox=box, solve=False)
    opened = []
    real = planner.load_scenario
    monkeypatch.setattr(planner, "load_scenario", lambda p, *a, **k: opened.append(str(p)) or real(p, *a, **k))
    (tmp_path / "secret.csv").write_text("area_id\n1\n")
    (box / "s.yaml").write_text("areas: {path: ../secret.csv, crs: gcj02}\nfacilities: f.csv\n")
    assert app.load("s.yaml") is None and opened == []
    assert "../secret.csv" in app.error.message


def test_level_switch_outlines_the_level_on_the_live_map():
    """Show by level = prefecture: the live map gets the prefecture's outline (once) and its roll-up
    figures; back at the counties they are gone (the outline stays in the browser for next time)."""
    sc = planner.load_demo("shanxi", prefecture="太原市")
    a = PlannerApp(sc, lang="zh")
    live, c = a.live_map, a.controls
    assert live.level == {} and live.level_geometry == {}
    assert "prefecture" in [v for _, v in c.view_level.options]
    c.view_level.value = "prefecture"
    a.wait(60)
    assert live.level["level"] == "prefecture"
    assert [f["properties"]["id"] for f in live.level_geometry["prefecture"]["features"]] == ["140100"]
    roll = a.result.rollup("prefecture").set_index("district_id").loc["140100"]
    tip, pop, name = live.level["values"]["140100"]
    assert name == "太原市"
    assert live.level_geometry["prefecture"]["features"][0]["properties"]["at"]  # where the name is drawn
    assert "太原市" in tip and f"{roll['slots_per_1000_after']:.2f}" in tip
    assert i18n.fmt_yuan(roll["cost"], "zh") in pop
    assert live.level["style"] == maps.LEVEL_STYLE
    geometry = live.level_geometry
    c.view_level.value = "leaf"
    a.wait(60)
    assert live.level == {}
    c.view_level.value = "prefecture"          # shown again: the outline is not sent again
    a.wait(60)
    assert live.level_geometry is geometry and live.level["level"] == "prefecture"
    c.lang.value = "en"                         # figures relabelled with the language
    a.wait(60)
    assert i18n.t("measure_slots", "en") in live.level["values"]["140100"][0]
    assert i18n.t("measure_slots", "zh") not in live.level["values"]["140100"][0]
