"""planner.maps and planner.i18n: the interactive map, its offline HTML file, the PNG.

Browser tests (marked ``browser``) open the written file in Debian Chromium
with every network request blocked and recorded (tests/browser_util.py).
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from browser_util import offline_page, require_chromium

import planner
from planner import i18n, maps
from planner._errors import PlannerError
from conftest import BASE_LAT as B, BASE_LON as L, area, childcare, eldercare

XSS = "<img src=x onerror=alert(1)>"
BREAKOUT = "`${alert(2)}` \\u"
JINJA = "{{ 7*7 }}{% if 1 %}x{% endif %}{# c #}"


# ------------------------------------------------------------------ tiny scenario

def tiny_scenario(district_names=("城区", "新区"), facility_name=None, area_name=None, polygons=True,
                  name="测试县") -> planner.Scenario:
    """Two districts (squares), five facilities, four areas.

    After solving: c1 expanded, c2 opened, c3 not opened (candidate), e1
    converted, e2 unchanged; D2 misses its bed target (expansion limit).
    """
    areas = [area("a1", "D1", pop=10000, pop60=0, lon=L - 0.003),
             area("a2", "D1", pop=10000, pop60=0, lon=L - 0.002, lat=B + 0.002),
             area("a3", "D2", pop=10000, pop60=1100, lon=L + 0.002),
             area("a4", "D2", pop=10000, pop60=1100, lon=L + 0.003, lat=B + 0.002)]
    facs = [childcare("c1", "D1", slots=50, affordable=50, max_add=100, cost=1000, lon=L - 0.0025),
            childcare("c2", "D2", candidate=True, fixed=10000, cost=1000, max_size=200, lon=L + 0.0025),
            childcare("c3", "D2", candidate=True, fixed=900000, cost=5000, max_size=200, lon=L + 0.004),
            eldercare("e1", "D2", beds=80, care=20, conv=100, lon=L + 0.0022, lat=B + 0.001),
            eldercare("e2", "D1", beds=10, care=10, lon=L - 0.0022, lat=B + 0.001)]
    if facility_name is not None:
        facs[0]["name"] = facility_name
    if area_name is not None:
        areas[0]["name"] = area_name
    table = {"district_id": ["D1", "D2"], "name": list(district_names)}
    if polygons:
        districts = gpd.GeoDataFrame(table, geometry=[shapely.box(L - 0.01, B - 0.005, L, B + 0.005),
                                                      shapely.box(L, B - 0.005, L + 0.01, B + 0.005)], crs=4326)
    else:
        districts = pd.DataFrame(table)
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), districts, name=name)
    sc.attribution = "Test data (synthetic)"
    return sc


def score_scenario(area_name="a1", name="可达性") -> planner.Scenario:
    """Scores you can work out by hand (every site within reach of a1, none of a2).

    D1: area a1 (10,000 residents, 1,000 aged 60+) next to a 30-slot site that
    expands to 45 (target 4.5 per 1,000) and a 20-bed home that expands to 40
    (target 40 per 1,000 aged 60+): E2SFCA = 2SFCA = 3.00 → 4.50 slots per
    1,000 residents and 20.00 → 40.00 beds per 1,000 aged 60+.
    D2: area a2 (5,000 residents) about 44 km away with nothing in reach.
    """
    areas = [area("a1", "D1", pop=10000, pop60=1000), area("a2", "D2", pop=5000, pop60=0, lon=L + 0.5)]
    areas[0]["name"] = area_name
    facs = [childcare("c1", "D1", slots=30, affordable=30, max_add=100, cost=1000),
            eldercare("e1", "D1", beds=20, care=20, max_add=100, cost=1000, conv=0)]
    districts = gpd.GeoDataFrame({"district_id": ["D1", "D2"], "name": ["近区", "远区"]},
                                 geometry=[shapely.box(L - 0.01, B - 0.01, L + 0.01, B + 0.01),
                                           shapely.box(L + 0.49, B - 0.01, L + 0.51, B + 0.01)], crs=4326)
    return planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), districts, name=name)


@pytest.fixture(scope="module")
def tiny():
    return planner.solve(tiny_scenario())


@pytest.fixture(scope="module")
def scored():
    return planner.solve(score_scenario())


@pytest.fixture(scope="module")
def taiyuan():
    return planner.solve(planner.load_demo("shanxi", prefecture="太原市"))


def test_tiny_scenario_has_every_state(tiny):
    states = dict(zip(tiny.facilities["facility_id"], tiny.facilities["state"]))
    assert states == {"c1": "expanded", "c2": "opened", "c3": "not_opened", "e1": "converted", "e2": "unchanged"}
    assert tiny.districts.set_index("district_id").loc["D2", "shortfall_reason"] == "beds:expansion_limit"


# ------------------------------------------------------------------ i18n

def test_every_reason_and_target_code_is_translated():
    from planner.result import REASONS, TARGET_WORDS

    assert set(i18n.REASONS) == set(REASONS) and set(i18n.TARGET_WORDS) == set(TARGET_WORDS)
    for target in TARGET_WORDS:
        for reason in REASONS:
            zh, = i18n.reason_lines(f"{target}:{reason}", "zh")
            en, = i18n.reason_lines(f"{target}:{reason}", "en")
            assert re.search(r"[\u4e00-\u9fff]", zh) and en == f"{TARGET_WORDS[target]}: {REASONS[reason]}"
    assert i18n.reason_lines("", "zh") == []
    assert i18n.reason_lines("beds:budget;odd", "zh") == ["养老床位：预算先用完", "odd"]


def test_labels_exist_in_both_languages_and_lang_is_checked():
    for table in (i18n.LABELS, i18n.STATES, i18n.KIND_LABELS, i18n.COLUMNS, i18n.TABLE_LABELS):
        for key, pair in table.items():
            assert len(pair) == 2, key
    assert i18n.measure_label("slots", "after") == "托位/千人 (规划后)"
    assert i18n.measure_label("beds", "before", "en") == "Elderly-care beds per 1,000 aged 60+ (before)"
    assert i18n.column_label("unknown_col", "zh") == "unknown_col"
    with pytest.raises(PlannerError, match="lang"):
        i18n.t("before", "fr")


def test_every_result_column_has_a_header(tiny):
    for name in ("districts", "facilities", "areas"):
        missing = [c for c in getattr(tiny, name).columns if c != "geometry" and c not in i18n.COLUMNS]
        assert missing == [], name


def test_number_formats():
    assert i18n.fmt_number(1234.0) == "1,234" and i18n.fmt_number(12.34) == "12.3"
    assert i18n.fmt_number(float("nan")) == "–" and i18n.fmt_share(0.555) == "55.5%"
    assert i18n.fmt_yuan(123_456_789, "zh") == "1.23 亿元" and i18n.fmt_yuan(960_000, "zh") == "96.0 万元"
    assert i18n.fmt_yuan(960_000, "en") == "960,000 yuan" and i18n.fmt_yuan(2.5e6, "en") == "2.5 million yuan"


# ------------------------------------------------------------------ attainment and the folium map

def test_attainment_ratio_zero_target_and_missing_value():
    d = pd.DataFrame({"slots_per_1000_after": [2.25, 4.5, 9.0, np.nan, 1.0],
                      "target_childcare_per_1000": [4.5, 4.5, 4.5, 4.5, 0.0]})
    np.testing.assert_array_equal(maps.attainment(d, "slots", "after"), [50.0, 100.0, 200.0, np.nan, 100.0])
    colors = maps.attainment_colors([10, 49.9, 50, 80, 99.9, 100, 250, np.nan])
    assert colors == [maps.ATTAINMENT_COLORS[0]] * 2 + [maps.ATTAINMENT_COLORS[1], maps.ATTAINMENT_COLORS[2],
                                                         maps.ATTAINMENT_COLORS[2]] + [maps.ATTAINMENT_COLORS[3]] * 2 \
        + [maps.NO_DATA_COLOR]
    assert maps.access_index([0.2, 0.5, 0.8, 0.999, 1.0, np.nan]).tolist() == [0, 1, 2, 2, 3, 4]
    with pytest.raises(ValueError, match="measure"):
        maps.attainment(d, "cars")


def test_map_layers_and_no_tiles(tiny):
    fmap = tiny.map()
    assert isinstance(fmap, folium.Map)
    assert not any(isinstance(c, folium.TileLayer) for c in fmap._children.values())
    keys = set(fmap.planner_layers)
    assert {"districts", "childcare", "eldercare", "not_opened", "access_childcare", "access_beds",
            "score_childcare", "score_beds"} <= keys
    assert {f"shade_{m}_{w}" for m in ("slots", "beds", "care") for w in ("before", "after")} <= keys
    # one base layer shown at first (the gap to the slots target before the plan), the others wait in the radio list
    shown = [k for k in keys if k.startswith("shade_") and fmap.planner_layers[k].show]
    assert shown == ["shade_slots_before"]
    assert not fmap.planner_layers["access_childcare"].show and not fmap.planner_layers["not_opened"].show
    assert not fmap.planner_layers["score_childcare"].show and not fmap.planner_layers["score_beds"].show
    assert not tiny.map(show_areas=True).planner_layers["score_beds"].show  # score layers always start hidden


def test_score_scenario_by_hand(scored):
    a = scored.areas.set_index("area_id")
    for method in ("2sfca", "e2sfca"):
        assert a.loc["a1", [f"score_{method}_childcare_before", f"score_{method}_childcare_after"]].tolist() == \
            pytest.approx([3.0, 4.5])
        assert a.loc["a1", [f"score_{method}_beds_before", f"score_{method}_beds_after"]].tolist() == \
            pytest.approx([20.0, 40.0])
        assert a.loc["a2", f"score_{method}_childcare_after"] == 0
    d = scored.districts.set_index("district_id")
    assert d.loc["D2", "people_without_reach_childcare"] == 5000 and d.loc["D2", "areas_without_reach_childcare"] == 1


def test_score_attainment_against_district_targets(scored):
    a, d = scored.areas, scored.districts
    np.testing.assert_array_equal(maps.score_attainment(a, d, "childcare", "before"), [66.7, 0.0])
    np.testing.assert_array_equal(maps.score_attainment(a, d, "childcare", "after"), [100.0, 0.0])
    np.testing.assert_array_equal(maps.score_attainment(a, d, "beds", "before"), [50.0, 0.0])
    # a zero target counts as met; an area without a district (or score) has no data
    d0 = d.assign(target_childcare_per_1000=[0.0, 4.5])
    a0 = a.assign(district_id=["D1", "D9"])
    np.testing.assert_array_equal(maps.score_attainment(a0, d0, "childcare", "after"), [100.0, np.nan])
    with pytest.raises(ValueError, match="service"):
        maps.score_attainment(a, d, "cars")
    with pytest.raises(ValueError, match="when"):
        maps.score_attainment(a, d, "beds", "later")
    values = [10, 49.9, 50, 80, 99.9, 100, 250, np.nan]
    idx = maps.attainment_index(values)
    assert [(maps.ATTAINMENT_COLORS + (maps.NO_DATA_COLOR,))[i] for i in idx] == maps.attainment_colors(values)


def test_score_values_ride_on_the_area_points(scored, tmp_path):
    text = scored.to_html(tmp_path / "map.html").read_text(encoding="utf-8")
    # a1: access numbers, then 2SFCA/E2SFCA before, after for childcare, then beds, then E2SFCA in %
    # of target (computed in Python, the popup only formats it); colour indices
    assert '"v":[45,45,1,0,40,40,1,0,3,4.5,3,4.5,20,40,20,40,66.7,100,50,100]' in text
    assert '"c":[3,3,1,3,1,3]' in text  # childcare 66.7 % → 100 %, beds 50 % → 100 %
    assert text.count('"v":[45,45,1,0') == 1  # one point set shared by the access and score layers
    assert re.search(r"\"people_without_reach_childcare\": 5000[,}]", text)  # district data (whole: an int)


def test_map_with_tiles_only_when_asked(tiny, tmp_path):
    fmap = tiny.map(tiles="OpenStreetMap")
    assert any(isinstance(c, folium.TileLayer) for c in fmap._children.values())
    text = tiny.to_html(tmp_path / "tiles.html", tiles="OpenStreetMap").read_text(encoding="utf-8")
    assert text.count("L.tileLayer(") == 1 and "tile.openstreetmap.org" in text
    assert "planner/static/leaflet/leaflet.js" in text  # the rest is still inlined


def test_map_without_district_polygons(tmp_path):
    res = planner.solve(tiny_scenario(polygons=False))
    assert not isinstance(res.districts, gpd.GeoDataFrame)
    fmap = res.map()
    assert "districts" not in fmap.planner_layers and "childcare" in fmap.planner_layers
    text = res.to_html(tmp_path / "map.html").read_text(encoding="utf-8")
    assert '"planner-district"' not in text
    assert "d3/d3.min.js" not in text  # no attainment legend without shapes


def test_map_with_no_facilities_to_draw(tiny, tmp_path):
    empty = dataclasses.replace(tiny, facilities=tiny.facilities.iloc[:0])
    fmap = empty.map()
    assert not {"childcare", "eldercare", "not_opened"} & set(fmap.planner_layers)
    assert empty.to_html(tmp_path / "map.html").exists()
    only_candidates = dataclasses.replace(tiny, facilities=tiny.facilities[tiny.facilities["state"] == "not_opened"])
    assert set(only_candidates.map().planner_layers) & {"childcare", "eldercare", "not_opened"} == {"not_opened"}


def test_html_is_self_contained_and_escaped(tmp_path):
    sc = tiny_scenario(district_names=(XSS, JINJA), facility_name=XSS + BREAKOUT, area_name=JINJA, name=XSS)
    sc.attribution = f"源 {JINJA} {XSS}"
    res = planner.solve(sc)
    path = res.to_html(tmp_path / "map.html")
    assert path == tmp_path / "map.html"
    text = path.read_text(encoding="utf-8")
    body = re.sub(r"<script>/\* planner/static/.*?</script>", "", text, flags=re.S)  # drop vendored libraries
    assert "<img" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "${alert(2)}" not in body and "&#96;&#36;&#123;alert(2)&#125;&#96;" in body
    assert "{{ 7*7 }}" not in body and "{%" not in body  # never evaluated, never left raw
    assert not re.search(r"""<(?:script|link)\b[^>]*\b(?:src|href)=""", body)
    assert os.listdir(tmp_path) == ["map.html"]


def test_template_injection_is_not_evaluated(tmp_path):
    res = planner.solve(tiny_scenario(facility_name="{{ 6*7 }}", district_names=("{{ 6*8 }}", "新区")))
    res.scenario.attribution = "{{ 6*9 }}"
    text = res.to_html(tmp_path / "map.html").read_text(encoding="utf-8")
    for product in ("42", "48", "54"):
        assert f'"{product}"' not in text and f" {product} " not in text
    assert "&#123;&#123; 6*7 &#125;&#125;" in text and "&#123;&#123; 6*8 &#125;&#125;" in text
    assert r"\u0026#123;\u0026#123; 6*9 \u0026#125;\u0026#125;" in text  # attribution, via tojson


def test_html_size_stays_small(taiyuan, tmp_path):
    path = taiyuan.to_html(tmp_path / "map.html")
    size = path.stat().st_size
    assert size < 1.2e6, size  # ≈ 0.45 MB of vendored libraries + the Taiyuan data


@pytest.mark.slow
def test_province_html_size():
    res = planner.solve(planner.load_demo("shanxi"))
    text = maps.map_html(res)
    assert len(text.encode("utf-8")) < 4e6


def test_outputs_never_overwrite_inputs(tmp_path):
    sc = tiny_scenario()
    res = planner.solve(sc)
    src = tmp_path / "areas.csv"
    src.write_text("area_id\n1\n", encoding="utf-8")
    res.scenario.sources = {"areas": str(src)}
    with pytest.raises(PlannerError, match="refusing to overwrite"):
        res.to_html(src)
    with pytest.raises(PlannerError, match="refusing to overwrite"):
        res.to_png(src)
    assert src.read_text(encoding="utf-8") == "area_id\n1\n"
    assert os.listdir(tmp_path) == ["areas.csv"]


# ------------------------------------------------------------------ PNG

def test_png_attainment_map(tiny, tmp_path):
    path = tiny.to_png(tmp_path / "attainment.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(path) as img:
        w, h = img.size
        assert w == 1200 and 600 < h < 2400
        colors = {c for _, c in img.convert("RGB").getcolors(maxcolors=1 << 20)}
    green = tuple(int(maps.ATTAINMENT_COLORS[3][i:i + 2], 16) for i in (1, 3, 5))
    assert green in colors  # both districts meet the slot target after the plan
    assert os.listdir(tmp_path) == ["attainment.png"]


def test_png_without_cjk_font_warns_and_falls_back(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(maps, "cjk_font", lambda: None)
    with pytest.warns(RuntimeWarning, match="no Chinese font"):
        path = tiny.to_png(tmp_path / "a.png", measure="beds", when="before")
    assert path.stat().st_size > 10_000


def test_png_without_polygons_draws_areas(tmp_path):
    res = planner.solve(tiny_scenario(polygons=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing CJK font is not this test's business
        assert res.to_png(tmp_path / "a.png", lang="en").stat().st_size > 10_000


# ------------------------------------------------------------------ in Chromium, network blocked

def _close_popups(page):
    # a JS click: the close button may sit under the layer control
    page.evaluate("document.querySelectorAll('.leaflet-popup-close-button').forEach(b => b.click())")
    page.wait_for_function("!document.querySelector('.leaflet-popup')")


def _overlay(page, label):
    _expand(page)
    return page.locator(".leaflet-control-layers-overlays label", has_text=label).locator("input")


def _expand(page):
    """Open the layer list (collapsed to its icon so it does not cover the map), as hovering it does."""
    control = page.locator(".leaflet-control-layers").first
    if "leaflet-control-layers-expanded" not in (control.get_attribute("class") or ""):
        control.hover()
        page.wait_for_timeout(60)  # Leaflet ignores a click in the same tick as the hover that opened it


@pytest.mark.browser
def test_tiny_map_offline_counts_toggle_and_popups(tiny, tmp_path):
    require_chromium()
    path = tiny.to_html(tmp_path / "map.html")
    with offline_page(path, width=1280, height=860) as run:
        page = run.page
        assert page.locator("path.planner-district").count() == 2
        assert page.locator("path.planner-facility").count() == 4  # the unopened candidate is hidden
        for state in ("unchanged", "expanded", "converted", "opened"):
            assert page.locator(f"path.planner-state-{state}").count() == 1
        assert page.locator("path.planner-area").count() == 0
        assert page.locator(".legend svg rect").count() > 3  # attainment legend (branca + vendored d3)
        assert "达标率" in page.locator(".legend").inner_text()
        legend = page.locator(".planner-legend")
        assert "扩建" in legend.inner_text() and not legend.locator(".planner-legend-access").is_visible()
        assert "Test data (synthetic)" in page.locator(".leaflet-control-attribution").inner_text()
        assert "合成数据" not in page.locator(".leaflet-control-attribution").inner_text()

        # overlays toggle
        _overlay(page, "托育可达覆盖率").check()
        assert page.locator("path.planner-area-childcare").count() == 4
        assert legend.locator(".planner-legend-access").is_visible()
        _overlay(page, "托育机构").uncheck()
        assert page.locator("path.planner-childcare").count() == 0
        assert page.locator("path.planner-eldercare").count() == 2
        _overlay(page, "未选用的候选点").check()
        assert page.locator("path.planner-state-not_opened").count() == 1

        # before/after radio re-shades the same two shapes (the map opens on "before": the gap to target)
        d2 = page.locator("path.planner-district").nth(1)
        before = d2.get_attribute("fill")
        _expand(page)
        page.locator(".leaflet-control-layers-base label", has_text="托位/千人 (规划后)").locator("input").check()
        assert page.locator("path.planner-district").count() == 2
        assert d2.get_attribute("fill") != before
        page.mouse.move(0, 0)  # the layer list folds back to its icon

        # district popup: before, after, target, shortfall and why (translated)
        box = d2.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        text = popup.inner_text()
        assert "新区" in text and "规划前" in text and "目标" in text and "缺口" in text
        assert "养老床位：扩建能力不足" in text
        d2_row = tiny.districts.set_index("district_id").loc["D2"]
        before, after = (f"{100 * d2_row[c]:.1f}%" for c in ("access_share_childcare_before", "access_share_childcare"))
        assert re.search(rf"托育可达覆盖率\s+{re.escape(before)}\s+{re.escape(after)}\s", text), text

        # facility popup with numbers
        _close_popups(page)
        page.locator("path.planner-state-converted").click(force=True)
        text = page.locator(".leaflet-popup-content").inner_text()
        assert "e1" in text and "转换为护理型" in text and "80 → 80" in text and "20 → 44" in text
        assert run.blocked == [] and run.errors == [] and run.dialogs == []


@pytest.mark.browser
def test_hostile_names_show_as_text_and_run_nothing(tmp_path):
    require_chromium()
    sc = tiny_scenario(district_names=(XSS, "新区"), facility_name=XSS + BREAKOUT, area_name=XSS + JINJA, name=XSS)
    sc.attribution = XSS
    path = planner.solve(sc).to_html(tmp_path / "map.html")
    with offline_page(path, width=1280, height=860) as run:
        page = run.page
        assert XSS in page.locator(".planner-box").inner_text()          # scenario name in the title box
        assert XSS in page.locator(".leaflet-control-attribution").inner_text()
        page.locator("path.planner-district").first.hover(force=True)
        page.wait_for_function("Array.from(document.querySelectorAll('.leaflet-tooltip'))"
                               f".some(t => t.textContent.includes({XSS!r}))")
        page.mouse.move(0, 0)
        page.locator("path.planner-state-expanded").click(force=True)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert XSS + BREAKOUT in popup.inner_text()
        _close_popups(page)
        _overlay(page, "托育可达覆盖率").check()
        page.locator("path.planner-area-childcare").first.hover(force=True)
        page.wait_for_function("Array.from(document.querySelectorAll('.leaflet-tooltip'))"
                               ".some(t => t.textContent.includes('{{ 7*7 }}'))")
        assert XSS + JINJA in page.locator(".leaflet-tooltip", has_text="7*7").inner_text()
        page.mouse.move(0, 0)
        _overlay(page, "托育可达覆盖率").uncheck()
        _overlay(page, "可达性 (E2SFCA) 托位").check()
        page.locator("path.planner-score-childcare").first.click(force=True)
        popup.wait_for()
        assert XSS + JINJA in popup.inner_text() and "托位/千人" in popup.inner_text()
        _close_popups(page)
        _overlay(page, "区县边界").uncheck()  # the district shape under the marker has a tooltip of its own
        page.locator("path.planner-score-childcare").first.hover(force=True)
        page.wait_for_function("Array.from(document.querySelectorAll('.leaflet-tooltip'))"
                               ".some(t => t.textContent.includes('E2SFCA') && t.textContent.includes('{{ 7*7 }}'))")
        page.wait_for_timeout(200)  # time for a stray onerror to fire
        assert page.locator('img[src="x"]').count() == 0
        assert run.dialogs == [] and run.blocked == [] and run.errors == []


@pytest.mark.browser
def test_english_labels(tiny, tmp_path):
    require_chromium()
    path = tiny.to_html(tmp_path / "map.html", lang="en", measure="beds", when="before")
    with offline_page(path, width=1280, height=860) as run:
        page = run.page
        _expand(page)
        control = page.locator(".leaflet-control-layers").inner_text()
        for label in ("Childcare slots per 1,000 (after)", "Elderly-care beds per 1,000 aged 60+ (before)",
                      "Care-oriented bed share (after)", "Childcare facilities", "Elderly-care facilities",
                      "Childcare need served within reach (areas)", "Districts"):
            assert label in control
        _expand(page)
        assert page.locator(".leaflet-control-layers-base input:checked + span").inner_text().strip() == \
            "Elderly-care beds per 1,000 aged 60+ (before)"
        assert "Attainment, % of target" in page.locator(".legend").inner_text()
        assert "newly opened" in page.locator(".planner-legend").inner_text()
        assert "some targets cannot be met" in page.locator(".planner-box").inner_text()
        page.locator("path.planner-state-opened").click(force=True)
        text = page.locator(".leaflet-popup-content").inner_text()
        assert "childcare · newly opened" in text and "Childcare slots" in text and "Cost" in text
        assert not re.search(r"[\u4e00-\u9fff]", text.replace("新区", ""))
        assert run.blocked == [] and run.errors == []


def _fill(locator):
    return locator.get_attribute("fill").lower()


@pytest.mark.browser
def test_score_layers_offline(scored, tmp_path):
    require_chromium()
    green, orange, red = maps.ATTAINMENT_COLORS[3], maps.ATTAINMENT_COLORS[1], maps.ATTAINMENT_COLORS[0]
    path = scored.to_html(tmp_path / "map.html", when="after")
    with offline_page(path, width=1280, height=860) as run:
        page = run.page
        for label in ("可达性 (E2SFCA) 托位", "可达性 (E2SFCA) 养老床位"):  # in the control, off
            assert _overlay(page, label).count() == 1 and not _overlay(page, label).is_checked()
        assert page.locator("path.planner-score").count() == 0
        legend = page.locator(".planner-legend-score")
        assert legend.count() == 1 and not legend.is_visible()

        _overlay(page, "可达性 (E2SFCA) 托位").check()
        markers = page.locator("path.planner-score-childcare")
        assert markers.count() == 2 and page.locator("path.planner-score-beds").count() == 0
        assert page.locator("path.planner-area").count() == 0  # the need-served layers stay off
        assert legend.is_visible() and "可达性 E2SFCA" in legend.inner_text() and "规划后" in legend.inner_text()
        a1, a2 = markers.nth(0), markers.nth(1)
        assert _fill(a1) == green and _fill(a2) == red  # 4.5 of 4.5 → 100 %; nothing in reach → 0

        # a1: 30 slots for 10,000 residents → 45 slots: 3.00 → 4.50 per 1,000 (target 4.50)
        page.mouse.move(0, 0)  # fold the layer list away from the points
        a1.hover(force=True)
        tip = page.locator(".leaflet-tooltip", has_text="E2SFCA")
        tip.wait_for()
        text = tip.inner_text()
        assert "E2SFCA（距离衰减）: 3.00 → 4.50 托位/千人" in text
        assert "2SFCA（不衰减）: 3.00 → 4.50 托位/千人" in text and "66.7% → 100.0%" in text
        page.mouse.move(0, 0)
        a1.click(force=True)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        text = popup.inner_text()
        assert "托育可达性" in text and "(托位/千人)" in text and "近区" in text
        assert re.search(r"E2SFCA（距离衰减）\s+3\.00\s+4\.50\s+4\.50", text)
        assert re.search(r"2SFCA（不衰减）\s+3\.00\s+4\.50", text)
        assert re.search(r"达标率 \(E2SFCA\)\s+66\.7%\s+100\.0%", text)
        _close_popups(page)

        # the district radio's before/after re-colours the score layers and the legend
        _expand(page)
        page.locator(".leaflet-control-layers-base label", has_text="托位/千人 (规划前)").locator("input").check()
        assert _fill(a1) == orange and "规划前" in legend.inner_text()  # 66.7 % of target
        _expand(page)
        page.locator(".leaflet-control-layers-base label", has_text="养老床位/千名老人 (规划后)").locator("input").check()
        assert _fill(a1) == green and "规划后" in legend.inner_text()

        # elderly beds: 20 beds for 1,000 aged 60+ → 40: 20.00 → 40.00 per 1,000 aged 60+
        _overlay(page, "可达性 (E2SFCA) 托位").uncheck()
        _overlay(page, "可达性 (E2SFCA) 养老床位").check()
        assert page.locator("path.planner-score-beds").count() == 2 and markers.count() == 0
        page.locator("path.planner-score-beds").first.click(force=True)
        popup.wait_for()
        text = popup.inner_text()
        assert "养老床位可达性" in text and "(床位/千名老人)" in text
        assert re.search(r"E2SFCA（距离衰减）\s+20\.00\s+40\.00\s+40\.00", text)
        assert re.search(r"达标率 \(E2SFCA\)\s+50\.0%\s+100\.0%", text)
        _close_popups(page)
        _overlay(page, "可达性 (E2SFCA) 养老床位").uncheck()
        assert not legend.is_visible()

        # district popups: mean E2SFCA before → after and the people with nothing in reach
        districts = page.locator("path.planner-district")
        box = districts.nth(0).bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9)
        popup.wait_for()
        text = popup.inner_text()
        assert re.search(r"托育可达性 E2SFCA 托位/千人\s+3\.00\s+4\.50\s+4\.50", text)
        assert re.search(r"养老可达性 E2SFCA 床位/千名老人\s+20\.00\s+40\.00\s+40\.00", text)
        assert re.search(r"出行时间内无任何托育点的人口\s+0 人", text)
        _close_popups(page)
        box = districts.nth(1).bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9)
        popup.wait_for()
        text = popup.inner_text()
        assert "远区" in text and re.search(r"托育可达性 E2SFCA 托位/千人\s+0\.00\s+0\.00", text)
        assert re.search(r"出行时间内无任何托育点的人口\s+5,000 人 \(1 个单元\)", text)
        assert run.blocked == [] and run.errors == [] and run.dialogs == []


@pytest.mark.browser
def test_score_layers_in_english(scored, tmp_path):
    require_chromium()
    path = scored.to_html(tmp_path / "map.html", lang="en", when="before")
    with offline_page(path, width=1280, height=860) as run:
        page = run.page
        _expand(page)
        control = page.locator(".leaflet-control-layers").inner_text()
        assert "Accessibility (E2SFCA) childcare" in control and "Accessibility (E2SFCA) elderly-care beds" in control
        _overlay(page, "Accessibility (E2SFCA) elderly-care beds").check()
        legend = page.locator(".planner-legend-score").inner_text()
        assert "Accessibility (E2SFCA), % of target" in legend and "(before)" in legend
        a1 = page.locator("path.planner-score-beds").first
        assert _fill(a1) == maps.ATTAINMENT_COLORS[1]  # before: 20 of 40 → 50 %
        page.mouse.move(0, 0)  # fold the layer list away from the points
        a1.hover(force=True)
        tip = page.locator(".leaflet-tooltip", has_text="E2SFCA")
        tip.wait_for()
        assert "E2SFCA (distance decay): 20.00 → 40.00 beds per 1,000 aged 60+" in tip.inner_text()
        page.mouse.move(0, 0)
        a1.click(force=True)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        text = popup.inner_text()
        assert "Elderly-care bed accessibility" in text and "% of target (E2SFCA)" in text
        assert "Beds within reach per 1,000 people aged 60+" in text and "Sites within reach" in text
        assert not re.search(r"[\u4e00-\u9fff]", text.replace("近区", ""))
        _close_popups(page)
        _overlay(page, "Accessibility (E2SFCA) elderly-care beds").uncheck()
        page.mouse.move(0, 0)  # fold the layer list away
        box = page.locator("path.planner-district").nth(1).bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9)
        popup.wait_for()
        text = popup.inner_text()
        assert "Childcare E2SFCA score" in text and "Elderly-care E2SFCA score" in text
        assert re.search(r"People with no childcare site in reach\s+5,000 people \(1 area\)", text)
        assert not re.search(r"[\u4e00-\u9fff]", text.replace("远区", ""))
        assert run.blocked == [] and run.errors == []


@pytest.mark.browser
def test_map_without_polygons_still_draws_facilities_and_areas(tmp_path):
    require_chromium()
    path = planner.solve(tiny_scenario(polygons=False)).to_html(tmp_path / "map.html", show_areas=True)
    with offline_page(path, width=1280, height=860) as run:
        page = run.page
        assert page.locator("path.planner-district").count() == 0
        assert page.locator("path.planner-facility").count() == 4
        assert page.locator("path.planner-area").count() == 8  # 4 areas × 2 services
        _expand(page)
        assert page.locator(".leaflet-control-layers-base label").count() == 0
        assert page.locator(".legend svg").count() == 0
        assert run.blocked == [] and run.errors == []


@pytest.mark.browser
def test_taiyuan_demo_offline(taiyuan, tmp_path):
    require_chromium()
    path = taiyuan.to_html(tmp_path / "map.html")
    drawn = taiyuan.facilities["state"].ne("not_opened")
    with offline_page(path, width=1200, height=900) as run:
        page = run.page
        assert page.title().startswith("山西省") and "一老一小规划地图" in page.title()
        assert page.locator("path.planner-district").count() == len(taiyuan.districts) == 10
        assert page.locator("path.planner-facility").count() == int(drawn.sum())
        # a readable map: the layer list folded to its icon, district names shown at a city's zoom
        assert not page.locator(".leaflet-control-layers-list").is_visible()
        labels = page.locator(".planner-label").all_inner_texts()
        assert len(labels) == 10 and set(labels) == set(taiyuan.districts["name"])
        # districts still short after the plan are outlined in red
        missed = int((~taiyuan.districts["met"]).sum())
        assert page.locator(f"path.planner-district[stroke='{maps.SHORTFALL_OUTLINE}']").count() == missed
        # the district popup fits its card (no sideways scrolling)
        page.locator("path.planner-district").nth(2).click(force=True)
        pop = page.locator(".leaflet-popup-content")
        pop.wait_for()
        assert pop.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), pop.evaluate("e => [e.scrollWidth, e.clientWidth]")
        _close_popups(page)
        for kind in ("childcare", "eldercare"):
            assert page.locator(f"path.planner-{kind}").count() == int((drawn & taiyuan.facilities["kind"].eq(kind)).sum())
        _overlay(page, "养老可达覆盖率").check()
        assert page.locator("path.planner-area-beds").count() == len(taiyuan.areas)
        # reach dots are squares, facilities circles (a different symbol, not just a different colour)
        assert re.fullmatch(r"M[-\d.]+,[-\d.]+h\d+v\d+h-\d+z",
                            page.locator("path.planner-area-beds").first.get_attribute("d"))
        assert " 0 1,0 " in page.locator("path.planner-facility").first.get_attribute("d")   # an arc
        _overlay(page, "可达性 (E2SFCA) 托位").check()
        assert page.locator("path.planner-score-childcare").count() == len(taiyuan.areas)
        assert page.locator("path.planner-score-beds").count() == 0
        _overlay(page, "区县边界").uncheck()
        assert page.locator("path.planner-district").count() == 0
        assert "SYNTHETIC" in page.locator(".leaflet-control-attribution").inner_text()
        page.screenshot(path=str(tmp_path / "taiyuan.png"))
        assert run.blocked == [] and run.errors == [] and run.dialogs == []


def test_formatter_script_has_no_template_openers():
    # folium re-parses rendered scripts as Jinja templates
    assert not re.search(r"\{[{%#]", maps._FORMAT_JS)


@pytest.mark.browser
def test_map_fit_called_before_the_map_script_runs(tiny, tmp_path):
    """A resize can reach the fit script while the (large) map script is still loading."""
    require_chromium()
    html = tiny.to_html(tmp_path / "map.html").read_text(encoding="utf-8")
    name = re.search(r'<div class="folium-map" id="(map_\w+)"', html).group(1)
    fit_end = html.index("</script>", html.index("planner: fit the map")) + len("</script>")
    early = f'<script>window["{name}_fit"](); window.earlyCallDone = true;</script>'
    (tmp_path / "early.html").write_text(html[:fit_end] + early + html[fit_end:], encoding="utf-8")
    with offline_page(tmp_path / "early.html", width=1000, height=700) as run:
        page = run.page
        assert page.evaluate("window.earlyCallDone") is True
        assert 8 <= page.evaluate(f"{name}.getZoom()") <= 18  # fitted once the map exists
        assert run.blocked == [] and run.errors == []


@pytest.mark.browser
def test_map_first_loaded_in_a_hidden_frame_fits_when_shown(tiny, tmp_path):
    """An intranet page (or a background tab) loads the map in a hidden iframe, then shows it."""
    require_chromium()
    tiny.to_html(tmp_path / "map.html")
    page_path = tmp_path / "page.html"
    page_path.write_text('<html><body><iframe id="f" src="map.html" style="display:none;width:900px;'
                         'height:600px;border:0"></iframe></body></html>', encoding="utf-8")
    zoom_js = ("() => Object.keys(window).map(k => { try { return window[k]; } catch (e) { return null; } })"
               ".filter(m => window.L && m instanceof L.Map).map(m => m.getZoom())")
    with offline_page(page_path, width=1000, height=700) as run:
        page = run.page
        frame = page.frame_locator("#f")
        frame.locator(".leaflet-overlay-pane path").first.wait_for(state="attached")
        assert page.frames[-1].evaluate(zoom_js) == [1]  # not fitted into a frame with no size …
        page.evaluate("document.getElementById('f').style.display = 'block'")
        page.frames[-1].wait_for_function(f"() => ({zoom_js})().every(z => z > 1)")
        shown = page.frames[-1].evaluate(zoom_js)  # … but once shown
        assert shown and all(8 <= z <= 18 for z in shown), shown
        assert run.blocked == [] and run.errors == []


def test_popup_numbers_go_at_the_precision_the_popups_show():
    """Shares to 0.1 percentage point (63.43 % shows 63.4 %, not 63.0 %), rates to 2 decimals, counts
    to 0.1 below 100 and whole from 100, yuan whole: one rule for the HTML file and the live map."""
    from planner.maps import display_round

    assert display_round("affordable_share_after", [0.6343, 0.55])[0] == 0.634
    assert display_round("access_share_childcare", [0.83349]).tolist() == [0.833]
    assert display_round("slots_per_1000_after", [4.12867]).tolist() == [4.13]
    assert display_round("score_e2sfca_beds_after", [40.456]).tolist() == [40.46]
    assert display_round("added_slots", [34.11, 164.11, -250.6, 0.04]).tolist() == [34.1, 164.0, -251.0, 0.0]
    assert display_round("cost", [818653.4]).tolist() == [818653.0]
    assert display_round("marginal_cost_affordable_share", [12.5]).tolist() == [12.0]  # half to even
    assert np.isnan(display_round("shortfall_slots", [np.nan])[0])


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_district_popup_fits_a_short_map_and_scrolls(tiny, tmp_path, lang):
    """A popup is never taller than its map (it scrolls), labels keep a readable width, and one-figure
    rows (residents, cost) span the table instead of widening the "after" column."""
    require_chromium()
    path = tiny.to_html(tmp_path / "map.html", lang=lang)
    with offline_page(path, width=1280, height=420) as run:
        page = run.page
        d2 = page.locator("path.planner-district").nth(1)
        box = d2.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9)
        content = page.locator(".leaflet-popup-content")
        content.wait_for()
        page.wait_for_timeout(300)
        map_h = page.locator(".leaflet-container").bounding_box()["height"]
        pop_h = page.locator(".leaflet-popup").bounding_box()["height"]
        assert pop_h <= map_h, (pop_h, map_h)
        assert content.evaluate("e => e.scrollHeight > e.clientHeight")       # the rest is a scroll away
        font = content.locator(".planner-table").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        widths = content.locator(".planner-table th").evaluate_all("ths => ths.map(t => t.getBoundingClientRect().width)")
        assert min(w for w in widths if w > 0) >= 8 * font, widths
        spans = content.locator("td.planner-span")
        assert spans.count() >= 3                                               # residents, aged 60+, cost
        assert run.blocked == [] and run.errors == [] and run.dialogs == []
