"""The map file must work as one self-contained HTML file with the network off."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import branca.colormap
import folium
import folium.plugins
import pytest
from browser_util import offline_page, require_chromium
from folium.elements import JSCSSMixin

from planner._errors import PlannerError
from planner._html import (
    InlineData,
    OfflineHTMLError,
    add_attribution,
    escape_text,
    standalone_html,
    write_html_atomic,
)

STATIC = Path(__file__).resolve().parents[1] / "planner" / "static"

XSS_NAME = "<img src=x onerror=alert(1)>"
# Would break out of folium's JS template literal if only html.escape'd.
TEMPLATE_BREAKOUT = "`${alert(2)}` \\u"
XSS_FILL = "#123456"  # picks the XSS polygon's <path> out of the SVG


def _square(lon: float, lat: float, size: float = 0.2) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def build_map() -> folium.Map:
    """Three district polygons, five facilities in two layers, a legend."""
    fmap = folium.Map(location=[37.85, 112.55], zoom_start=9, tiles=None)
    colormap = branca.colormap.LinearColormap(
        ["#d7191c", "#ffffbf", "#1a9641"], vmin=0, vmax=6, caption="托位/千人"
    )
    districts = [
        ("小店区", 112.2, 37.7, 3.1, None),
        ("迎泽区", 112.5, 37.7, 4.6, None),
        (XSS_NAME, 112.8, 37.7, 5.2, XSS_FILL),
    ]
    features = [
        {
            "type": "Feature",
            "geometry": _square(lon, lat),
            "properties": {
                # Escaped by whoever builds the tooltip, as maps.py must do.
                "name": escape_text(name),
                "slots_per_1000": rate,
                "fill": fill or colormap(rate),
            },
        }
        for name, lon, lat, rate, fill in districts
    ]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name="区县",
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"], "color": "#333333",
            "weight": 1, "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(["name", "slots_per_1000"], aliases=["区县", "托位/千人"]),
    ).add_to(fmap)

    childcare = folium.FeatureGroup(name="托育机构").add_to(fmap)
    eldercare = folium.FeatureGroup(name="养老机构").add_to(fmap)
    sites = [
        (childcare, 37.95, 112.30, "托育中心 A"),
        (childcare, 37.95, 112.60, "托育中心 B"),
        (childcare, 37.95, 112.90, TEMPLATE_BREAKOUT),
        (eldercare, 37.62, 112.40, "养老院 C"),
        (eldercare, 37.62, 112.70, "养老院 D"),
    ]
    for group, lat, lon, name in sites:
        kind = "childcare" if group is childcare else "eldercare"
        folium.CircleMarker(
            [lat, lon], radius=7, color="#2b6cb0", fill=True, fill_opacity=0.9,
            class_name=f"site-{kind}",
            tooltip=escape_text(name), popup=folium.Popup(escape_text(name)),
        ).add_to(group)

    colormap.add_to(fmap)
    folium.plugins.Fullscreen().add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    add_attribution(fmap, "边界与人口: 演示数据 (https://example.org)")
    return fmap


@pytest.fixture(scope="module")
def map_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("map") / "map.html"
    write_html_atomic(standalone_html(build_map()), path)
    return path


# --- plain text: no browser needed -----------------------------------------

def _tags_outside_scripts(text: str) -> list[str]:
    # Inlined libraries contain strings like '<a href="https://leafletjs.com">';
    # those are JS, not tags of this document, so blank script/style bodies.
    text = re.sub(r"(<script\b[^>]*>).*?(</script\s*>)", r"\1\2", text, flags=re.S | re.I)
    text = re.sub(r"(<style\b[^>]*>).*?(</style\s*>)", r"\1\2", text, flags=re.S | re.I)
    return re.findall(r"<[a-zA-Z][^>]*>", text)


def test_no_external_src_or_href(map_file):
    text = map_file.read_text(encoding="utf-8")
    tags = _tags_outside_scripts(text)
    assert len(tags) > 10  # the regex really saw the document
    external = [t for t in tags
                if re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", t, re.I)]
    assert external == []
    assert not [t for t in tags if re.match(r"<(?:script|link)\b[^>]*\b(?:src|href)=", t, re.I)]
    # CSS images were inlined, so no url() reaches out either
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", text, re.I)


def test_vendored_libraries_are_inlined_and_unused_ones_dropped(map_file):
    text = map_file.read_text(encoding="utf-8")
    for needed in ("leaflet/leaflet.js", "leaflet/leaflet.css", "jquery/jquery.min.js",
                   "d3/d3.min.js", "leaflet.fullscreen/Control.FullScreen.js"):
        assert f"planner/static/{needed}" in text
    for dropped in ("bootstrap", "fontawesome", "awesome-markers"):
        assert dropped not in text.lower()


def test_unknown_external_script_fails_loudly():
    class Plugin(JSCSSMixin, folium.MacroElement):
        default_js = [("future_lib", "https://cdn.example.org/future-lib@9.js")]

    fmap = folium.Map(tiles=None)
    Plugin().add_to(fmap)
    with pytest.raises(OfflineHTMLError, match=re.escape("https://cdn.example.org/future-lib@9.js")):
        standalone_html(fmap)


def test_tile_layer_fails_loudly():
    fmap = folium.Map(tiles="OpenStreetMap")
    with pytest.raises(OfflineHTMLError, match="tiles=None"):
        standalone_html(fmap)


def test_awesome_marker_icon_fails_loudly():
    # folium.Icon needs the awesome-markers library we deliberately dropped
    fmap = folium.Map(tiles=None)
    folium.Marker([37.8, 112.5], icon=folium.Icon(color="red")).add_to(fmap)
    with pytest.raises(OfflineHTMLError, match="awesome-markers"):
        standalone_html(fmap)


def test_inline_data_is_pasted_after_the_check():
    # Names like these are data: they must not make the check refuse the map,
    # while the same text as code in the map's own scripts still fails.
    words = "fetch(x) src=//cdn.example.org import(y) L.tileLayer"
    fmap = folium.Map(tiles=None)
    data = InlineData('{"n":["%s"]}' % words)
    data.add_to(fmap)
    document = standalone_html(fmap)
    assert f'var {data.get_name()} = {{"n":["{words}"]}};' in document
    assert "planner-data" not in document
    # and data cannot close its <script>: "<" becomes \u003c, the same character to JSON
    closing = InlineData('{"n":["</script><script>alert(1)</script>"]}')
    assert closing.json == '{"n":["\\u003c/script>\\u003cscript>alert(1)\\u003c/script>"]}'

    folium.Element(f"<script>var u = {words!r};</script>").add_to(fmap.get_root().html)
    with pytest.raises(OfflineHTMLError, match="fetch/XHR"):
        standalone_html(fmap)


def test_offline_error_is_a_planner_error():
    assert issubclass(OfflineHTMLError, PlannerError)


def test_escape_text_neutralises_html_and_template_literals():
    escaped = escape_text(TEMPLATE_BREAKOUT + XSS_NAME)
    assert not set("<>`$\\\"'") & set(escaped)
    assert html.unescape(escaped) == TEMPLATE_BREAKOUT + XSS_NAME


def test_static_is_small_and_documented():
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1.5e6
    readme = (STATIC / "README.md").read_text(encoding="utf-8")
    for p in files:
        if p.name != "README.md":
            assert p.relative_to(STATIC).as_posix() in readme, p


# --- write_html_atomic ------------------------------------------------------

def test_write_html_atomic_writes_and_replaces(tmp_path):
    out = tmp_path / "map.html"
    out.write_text("old", encoding="utf-8")
    assert write_html_atomic("新地图", out, protect=[tmp_path / "areas.csv"]) == out
    assert out.read_text(encoding="utf-8") == "新地图"
    assert os.listdir(tmp_path) == ["map.html"]
    assert out.stat().st_mode & 0o644 == 0o644


@pytest.mark.parametrize("spelling", ["same", "relative", "symlink"])
def test_write_html_atomic_refuses_protected_input(tmp_path, monkeypatch, spelling):
    data = tmp_path / "areas.csv"
    data.write_text("area_id\n1\n", encoding="utf-8")
    target = {"same": data, "relative": Path("sub/../areas.csv"),
              "symlink": tmp_path / "link.csv"}[spelling]
    (tmp_path / "sub").mkdir()
    if spelling == "symlink":
        target.symlink_to(data)
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))

    with pytest.raises(PlannerError, match="refusing to overwrite") as info:
        write_html_atomic("<html></html>", target, protect=[str(data)])

    assert info.value.file is not None
    assert data.read_text(encoding="utf-8") == "area_id\n1\n"
    assert sorted(os.listdir(tmp_path)) == before  # no temp file left


def test_write_html_atomic_leaves_nothing_when_write_fails(tmp_path):
    out = tmp_path / "map.html"
    out.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_html_atomic("lone surrogate \ud800", out)
    assert out.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["map.html"]


# --- in Chromium, network blocked -------------------------------------------

@pytest.mark.browser
def test_map_renders_offline(map_file, tmp_path):
    require_chromium()
    with offline_page(map_file) as run:
        page = run.page
        paths = page.locator(".leaflet-overlay-pane path")
        assert paths.count() == 3 + 5
        assert page.locator(".leaflet-overlay-pane path.site-childcare").count() == 3
        assert page.locator(".leaflet-overlay-pane path.site-eldercare").count() == 2
        # branca legend (d3) and layer control drawn; layer icon is a data: URI
        assert page.locator(".legend svg rect").count() > 10
        assert "托位/千人" in page.locator(".legend").inner_text()
        toggle_bg = page.evaluate(
            "getComputedStyle(document.querySelector('.leaflet-control-layers-toggle'))"
            ".backgroundImage")
        assert toggle_bg.startswith('url("data:image/png')
        fullscreen_bg = page.evaluate(
            "getComputedStyle(document.querySelector('.leaflet-control-zoom-fullscreen'))"
            ".backgroundImage")
        assert fullscreen_bg.startswith('url("data:image/svg+xml')
        assert "演示数据" in page.locator(".leaflet-control-attribution").inner_text()

        # a popup goes through folium's $(`...`) and so needs the inlined jQuery
        page.locator("path.site-eldercare").first.click()
        assert page.locator(".leaflet-popup-content").inner_text().strip() == "养老院 C"

        # turning a layer off removes its markers from the DOM
        page.locator(".leaflet-control-layers-overlays label", has_text="托育机构") \
            .locator("input").uncheck()
        assert page.locator("path.site-childcare").count() == 0
        assert page.locator("path.site-eldercare").count() == 2
        assert paths.count() == 3 + 2

        page.screenshot(path=str(tmp_path / "map.png"))
        assert run.blocked == []
        assert run.errors == []


@pytest.mark.browser
def test_tooltip_text_is_shown_not_executed(map_file):
    require_chromium()
    with offline_page(map_file) as run:
        page = run.page
        # Tooltips are built on hover, so hover to make the payload render.
        page.locator(f'path[fill="{XSS_FILL}"]').hover()
        tooltip = page.locator(".leaflet-tooltip")
        tooltip.wait_for()
        assert XSS_NAME in tooltip.inner_text()
        assert page.locator('img[src="x"]').count() == 0

        page.mouse.move(0, 0)
        page.locator("path.site-childcare").nth(2).hover()
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.leaflet-tooltip'))"
            ".some(t => t.textContent.includes('${alert(2)}'))")
        page.wait_for_timeout(200)  # give a stray onerror/alert time to fire
        assert run.dialogs == []
        assert run.blocked == []
        assert run.errors == []


@pytest.mark.browser
def test_default_marker_icon_is_inlined(tmp_path):
    require_chromium()
    fmap = folium.Map(location=[37.8, 112.5], zoom_start=9, tiles=None)
    folium.Marker([37.8, 112.5], tooltip="默认图标").add_to(fmap)
    path = write_html_atomic(standalone_html(fmap), tmp_path / "marker.html")
    with offline_page(path) as run:
        srcs = run.page.eval_on_selector_all(
            ".leaflet-marker-pane img, .leaflet-shadow-pane img", "els => els.map(e => e.src)")
        assert len(srcs) == 2
        assert all(s.startswith("data:image/png;base64,") for s in srcs)
        assert run.blocked == [] and run.errors == []


def test_escape_text_defuses_jinja_and_js_templates():
    """folium re-renders scripts as Jinja: a name like {{ 7*7 }} must stay text, never become 49."""
    import folium
    from planner._html import add_attribution, escape_text

    text = escape_text("{{ 7*7 }} {% if 1 %}x{% endif %} ${alert(1)} `x` \\")
    assert "{" not in text and "}" not in text and "$" not in text and "`" not in text and "\\" not in text
    m = folium.Map(tiles=None, location=[37.8, 112.5], zoom_start=8)
    add_attribution(m, "来源 {{ 7*7 }}")
    folium.CircleMarker([37.8, 112.5], tooltip=escape_text("站点 {{ 6*7 }}")).add_to(m)
    out = m.get_root().render()
    # evaluated, the names would read "来源 49" / "站点 42" (folium's random ids may contain "49" anywhere)
    assert "来源 49" not in out and "\u6765\u6e90 49" not in out and "站点 42" not in out
    # tojson writes "&" as \u0026; the browser turns the entities back into braces, as text
    assert r"\u0026#123;\u0026#123; 7*7 \u0026#125;\u0026#125;" in out
    assert "&#123;&#123; 6*7 &#125;&#125;" in out
