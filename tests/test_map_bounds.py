"""Maps of a plan whose points all stand at one place (one site, one district without outline).

Leaflet fits a box of no size at zoom Infinity and throws "Invalid LatLng
object: (NaN, NaN)"; the maps pad such a box to :data:`planner.maps.MIN_BOUNDS_DEG`
and never fit closer than :data:`planner.maps.FIT_MAX_ZOOM`. Both the shareable
HTML file and the app's live map (its real module, run in Chromium on a page
that stands in for the notebook front end) are opened with the network cut off.
"""

from __future__ import annotations

import json

import pytest

import planner
from planner import maps
from browser_util import offline_page, require_chromium
from conftest import area, childcare, eldercare, scenario


def one_place():
    """One district without an outline; its area and both facilities at the same point."""
    return scenario([area("A1", pop60=2000)],
                    [childcare("C1", slots=10, max_add=100, cost=1000),
                     eldercare("E1", beds=10, max_add=500, cost=1000)])


def test_a_box_of_no_size_is_padded_around_its_point():
    res = planner.solve(one_place())
    (south, west), (north, east) = maps._bounds(None, res.facilities, res.areas)
    lon, lat = res.areas.geometry.x.iloc[0], res.areas.geometry.y.iloc[0]
    assert north - south == pytest.approx(maps.MIN_BOUNDS_DEG) and east - west == pytest.approx(maps.MIN_BOUNDS_DEG)
    assert (south + north) / 2 == pytest.approx(lat) and (west + east) / 2 == pytest.approx(lon)
    # a box with a size keeps it
    wide = maps._bounds(None, res.facilities.assign(geometry=res.facilities.geometry.translate(0.5, 0.3)), res.areas)
    assert wide[1][0] - wide[0][0] == pytest.approx(0.3) and wide[1][1] - wide[0][1] == pytest.approx(0.5)


def _zoom_js():
    return ("() => Object.keys(window).map(k => { try { return window[k]; } catch (e) { return null; } })"
            ".filter(m => window.L && m instanceof L.Map).map(m => m.getZoom())")


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_map_of_one_place_renders_without_errors(tmp_path, lang):
    require_chromium()
    path = planner.solve(one_place()).to_html(tmp_path / "map.html", lang=lang, show_areas=True)
    with offline_page(path, width=1000, height=700) as run:
        page = run.page
        assert run.errors == [], run.errors
        zooms = page.evaluate(_zoom_js())
        assert len(zooms) == 1 and 12 <= zooms[0] <= maps.FIT_MAX_ZOOM, zooms
        assert page.locator("path.planner-facility").count() == 2
        page.screenshot(path=str(tmp_path / f"one-place-{lang}.png"))
        assert run.blocked == [] and run.dialogs == []


def live_map_page(live, path, height_px: int = 480):
    """A page running the LiveMap's own module (``_esm``, ``_css``) with a stand-in for the widget model:
    ``model.get`` reads the synced traits, ``model.send({type: 'ready'})`` is answered with the values
    message the Python side sends (as the notebook front end would relay it)."""
    live._shown = {"districts": {}, "facilities": {}, "areas": {}}
    live._rev = -1
    values = live._send_current(full=True)
    state = {"geometry": live.geometry, "setup": live.setup, "height_px": height_px,
             "level": live.level, "level_geometry": live.level_geometry}
    data = json.dumps({"state": state, "values": values}, ensure_ascii=False).replace("</", "<\\/")
    esm = json.dumps(live._esm).replace("</", "<\\/")
    path.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><style>{live._css}</style></head>
<body style="margin:0;width:960px"><div id="w"></div>
<script type="module">
const D = {data};
const handlers = {{}};
const model = {{
  get: (k) => D.state[k],
  on: (ev, cb) => {{ (handlers[ev] = handlers[ev] || []).push(cb); }},
  off: () => {{}},
  send: (msg) => {{ if (msg.type === 'ready') {{
    setTimeout(() => (handlers['msg:custom'] || []).forEach((cb) => cb(D.values)), 0); }} }},
}};
const url = URL.createObjectURL(new Blob([{esm}], {{ type: 'text/javascript' }}));
const mod = await import(url);
mod.default.render({{ model, el: document.getElementById('w') }});
window.liveReady = true;
</script></body></html>""", encoding="utf-8")
    return path


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_live_map_of_one_place_renders_without_errors(tmp_path, lang):
    require_chromium()
    from planner.widgets.livemap import LiveMap

    sc = one_place()
    live = LiveMap(sc, lang=lang)
    live.show(planner.solve(sc))
    with offline_page(live_map_page(live, tmp_path / "live.html"), width=1000, height=700) as run:
        page = run.page
        page.wait_for_function("() => { const e = document.querySelector('.planner-live');"
                               " return e && +e.dataset.paintedRev >= 0; }", timeout=20_000)
        page.wait_for_timeout(200)
        assert run.errors == [], run.errors
        zoom = page.evaluate("() => document.querySelector('.planner-live').__plannerMap.getZoom()")
        assert 12 <= zoom <= maps.FIT_MAX_ZOOM, zoom
        drawn = page.evaluate("() => { let n = 0; document.querySelector('.planner-live').__plannerMap.eachLayer("
                              "(l) => { if (l.feature && l.feature.properties.id && l.getRadius) { n++; } }); return n; }")
        assert drawn == 2  # both facilities (circle markers on a canvas)
        centre = page.evaluate("() => document.querySelector('.planner-live').__plannerMap.getCenter()")
        assert centre["lat"] == pytest.approx(sc.areas.geometry.y.iloc[0], abs=1e-3)
        page.screenshot(path=str(tmp_path / f"live-one-place-{lang}.png"))
        assert run.blocked == [] and run.dialogs == []
