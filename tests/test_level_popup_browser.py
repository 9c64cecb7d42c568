"""The app's live map shown by level, in the Voila dashboard (real Chromium, nothing leaves localhost).

Switch the map to the prefectures, click 太原市's name: its popup carries the
prefecture's roll-up figures (``Result.rollup("prefecture")``: population,
per-1,000 before → after, districts meeting every target, marginal costs);
move a slider: the open popup's figures follow the new plan without a click.
"""

from __future__ import annotations

import re

import pytest

import planner
from planner import i18n
from browser_util import CHROMIUM, CHROMIUM_ARGS, keep_local, require_chromium
from test_jupyterlab import _live_rev, _set_slider, _wait_idle, _wait_map, voila

PREFECTURE = "太原市"


def _taiyuan():
    """太原市's id, its counties and residents, straight from the demo tables (no solve)."""
    sc = planner.load_demo("shanxi")
    pref = sc.parents.loc[sc.parents["name"] == PREFECTURE, "district_id"].iloc[0]
    counties = sc.districts.loc[sc.districts["parent_id"] == pref, "district_id"]
    pop = sc.areas.loc[sc.areas["district_id"].isin(counties), "pop_total"].sum()
    return pref, len(counties), float(pop)


def _popup(page):
    return page.locator(".planner-live .leaflet-popup-content").first


def _mc_line(text: str) -> str:
    """The marginal-cost line of a level popup (zh or en)."""
    m = re.search(r"(边际成本（目标 \+1）|Marginal cost \(target \+1\)).*", text)
    assert m, text
    return m.group(0)


@pytest.mark.browser
@pytest.mark.slow
def test_level_popup_shows_the_prefectures_rollup_and_follows_a_slider(tmp_path):
    require_chromium()
    from playwright.sync_api import sync_playwright

    _, n_counties, pop = _taiyuan()
    with voila(tmp_path) as (url, log), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            outside, errors = keep_local(page, url), []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # console errors too, but not Voila loading JupyterLab's own extensions (a launcher it has not):
            # those are the server's, not the app's
            page.on("console", lambda msg: errors.append(msg.text)
                    if msg.type == "error" and "/labextensions/" not in msg.text else None)
            page.goto(url, wait_until="domcontentloaded")
            try:
                _wait_idle(page, 240_000)
                _wait_map(page, 60_000)
                page.locator(".cp-view-level select").select_option(label="市")
                page.wait_for_function("() => document.querySelector('.planner-live').dataset.level === 'prefecture'",
                                       timeout=60_000)
                name = page.locator(".planner-live .planner-level-name span", has_text=PREFECTURE)
                name.click()
                pop_el = _popup(page)
                pop_el.wait_for(state="visible", timeout=60_000)  # a loaded machine delays the click's round trip
                before = pop_el.inner_text()
                # the prefecture's name and its roll-up figures
                assert before.startswith(PREFECTURE), before
                assert i18n.fmt_number(pop) in before                      # its residents, summed exactly
                assert re.search(rf"下辖区县全部达标\s*\d+ / {n_counties}\b", before), before
                assert "托位/千人" in before and "→" in before
                mc = _mc_line(before)
                assert all(w in mc for w in ("托位/千人", "床位/千老人", "普惠占比 1 点", "护理型占比 1 点"))
                assert len(re.findall(r"(\d[\d,.]*\s*(元|万元|亿元)|–)", mc)) == 4, mc
                page.wait_for_timeout(400)  # the popup's fade-in
                page.screenshot(path=str(tmp_path / "level-popup-zh.png"))

                # one slider step: the plan is solved again; the open popup follows it
                cost = page.locator(".cp-headline-cost .cp-v").inner_text()
                rev = _live_rev(page)
                _set_slider(page, "childcare_per_1000", "6.5", cost)
                page.wait_for_function(f"() => +document.querySelector('.planner-live').dataset.paintedRev > {rev}",
                                       timeout=60_000)
                page.wait_for_function(
                    "(old) => { const e = document.querySelector('.planner-live .leaflet-popup-content');"
                    " return e && e.innerText !== old; }", arg=before, timeout=60_000)
                after = _popup(page).inner_text()
                assert after.startswith(PREFECTURE) and i18n.fmt_number(pop) in after   # the same prefecture
                slots = lambda text: re.search(r"托位/千人\s*([\d.]+) → ([\d.]+)", text).groups()  # noqa: E731
                assert slots(after)[0] == slots(before)[0]         # before the plan: unchanged
                assert float(slots(after)[1]) > float(slots(before)[1])   # after: more slots for 6.5 per 1,000
                assert _mc_line(after) != mc or after != before
                page.screenshot(path=str(tmp_path / "level-popup-zh-after.png"))

                # English: the popup's words follow the language
                page.locator(".cp-lang button", has_text="English").click()
                page.wait_for_function("() => { const e = document.querySelector('.planner-live .planner-level-name');"
                                       " return e !== null; }", timeout=60_000)
                page.wait_for_function(
                    "() => { const e = document.querySelector('.planner-live .leaflet-popup-content');"
                    " return e && e.innerText.includes('Marginal cost'); }", timeout=60_000)
                en = _popup(page).inner_text()
                assert en.startswith(PREFECTURE) and "Childcare slots per 1,000" in en
                assert "slot per 1,000" in _mc_line(en)
                page.wait_for_function("() => document.querySelector('.cp-headline-box').innerText.includes('Total cost')",
                                       timeout=60_000)
                page.wait_for_timeout(400)
                page.screenshot(path=str(tmp_path / "level-popup-en.png"))

                # the Districts tab at this level: a row per prefecture with its marginal costs
                for lang, tab, header in (("en", "Districts", "One more slot per 1,000 here costs"),
                                          ("zh", "区县", "此处每千人多 1 个托位需再花")):
                    if lang == "zh":
                        page.locator(".cp-lang button", has_text="中文").click()
                    page.get_by_role("tab", name=tab, exact=True).click()
                    table = page.locator(".cp-level-table").first
                    page.wait_for_function("(h) => { const e = document.querySelector('.cp-level-table');"
                                           " return e && e.innerText.includes(h); }", arg=header, timeout=60_000)
                    assert PREFECTURE in table.inner_text()
                    table.locator("th", has_text=header).scroll_into_view_if_needed()  # the last columns
                    page.screenshot(path=str(tmp_path / f"level-table-{lang}.png"))
                assert errors == [], errors
                assert outside == []
            except Exception:
                page.screenshot(path=str(tmp_path / "level-popup-failure.png"), full_page=True)
                print(f"screenshot in {tmp_path}; voila log:\n{log.read_text()[-4000:]}")
                raise
        finally:
            browser.close()
