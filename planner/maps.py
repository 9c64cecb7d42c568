"""Maps of a plan: an interactive folium map, its self-contained HTML file, a static PNG.

The interactive map (:func:`build_map`, ``Result.map()``) has

- district shapes shaded by target attainment (actual ÷ target), with a
  radio choice of measure and before/after (托位/千人, 养老床位/千名老人,
  护理型床位占比), and a legend;
- facilities as circles coloured by state (unchanged, expanded, converted,
  newly opened) and sized by capacity after the plan, one layer per service;
  candidate sites not opened in a layer of their own, off by default;
- demand areas coloured by the share of their need served within reach, one
  layer per service, off by default;
- demand areas coloured by their accessibility score (E2SFCA: capacity per
  1,000 people within reach, with distance decay) ÷ their district's
  per-1,000 target, one layer per service, off by default; they follow the
  before/after of the district shading;
- tooltips (hover) and popups (click) with before, after, target, cost,
  shortfall and why, in Chinese or English (``lang``).

Each layer is a ``folium.GeoJson`` whose features carry compact numbers
and styles computed here in Python (attainment colours, marker radii); a
small formatter script turns them into tooltip/popup text in the browser, so
the province (117 districts, 3,448 areas, 3,149 facilities) is about 2.6 MB
of HTML and ``build_map`` takes about half a second. Every string from user
data is escaped with :func:`planner._html.escape_text` (HTML, JavaScript
template and Jinja metacharacters alike). No
tile layer unless asked for: boundaries come from our own data, so the file
works offline.

:func:`write_html` writes one self-contained file (Leaflet and plugins
inlined by :mod:`planner._html`); :func:`write_png` draws the attainment map
with geopandas and matplotlib for reports.

The app's live map (``planner.widgets.LiveMap``) draws the same thing from
:func:`live_geometry` (sent once) and :func:`live_values` (per solve), with
the same colours, popup formatters (``_FORMAT_JS``), district names
(:data:`LABELS_JS`), square reach dots (:data:`SQUARE_JS`) and legend.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import os
import re
import warnings

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.colormap import StepColormap
from branca.element import Element, MacroElement
from folium.template import Template
from folium.utilities import JsCode, camelize

from . import i18n
from .access import lonlat
from .targets import attainment as attainment_ratio
from ._html import InlineData, add_attribution, escape_text, script_safe, standalone_html, write_html_atomic

__all__ = ["build_map", "map_html", "write_html", "write_png", "attainment", "attainment_colors", "attainment_index",
           "access_index", "score_attainment", "attribution_text", "MEASURES", "ATTAINMENT_BINS", "ACCESS_BINS",
           "STATE_COLORS", "SCORE_TARGETS", "live_geometry", "live_values", "live_setup", "level_geometry", "level_values", "level_names",
           "LEVEL_STYLE", "format_labels",
           "label_points", "district_style", "DEFAULT_SHADING", "LABELS_JS", "SQUARE_JS"]

# ------------------------------------------------------------------ styling

#: Attainment (actual ÷ target, %) bins and colours; "met" is ≥ 100 %.
ATTAINMENT_BINS = (0.0, 50.0, 80.0, 100.0, 150.0)
ATTAINMENT_COLORS = ("#d7191c", "#fdae61", "#fee08b", "#1a9641")
#: Need served within reach (%) bins and colours.
ACCESS_BINS = (0.0, 50.0, 80.0, 100.0)
# a blue scale, so reach dots never borrow the district shading's red–green meaning
ACCESS_COLORS = ("#f7fbff", "#9ecae1", "#4292c6", "#08306b")  # last: all need served
NO_DATA_COLOR = "#bdbdbd"
STATE_COLORS = {"unchanged": "#9e9e9e", "expanded": "#2b83ba", "converted": "#7b3294",
                "opened": "#e66101", "not_opened": "#ffffff"}
DRAWN_STATES = ("unchanged", "expanded", "converted", "opened")
KIND_STROKE = {"childcare": "#08306b", "eldercare": "#3f2a14"}

CONTROL_PX = {"zh": 60, "en": 60}  # the layer control is collapsed to its icon: keep data clear of it, px
#: The district shading a map opens on: the gap to the slots target before the plan
#: (after the plan, a district that still falls short is outlined in red in every shading).
DEFAULT_SHADING = ("slots", "before")
SHORTFALL_OUTLINE = "#b2182b"
#: District names are drawn when at most this many are in view (a prefecture, not the province).
LABEL_MAX_IN_VIEW = 40
AREA_RADIUS = 4.0         # px at zoom ≥ 11 (markers shrink when zoomed out)
COORD_DIGITS = 5          # ≈ 1 m; GeoJSON coordinates are rounded to this
SIMPLIFY_DEGREES = 0.0005  # ≈ 50 m; district outlines are simplified to this


@dataclass(frozen=True)
class Measure:
    """A district measure shaded by attainment: ``value_{when} ÷ target``."""

    key: str
    value: str     # column stem; ``_before``/``_after`` is appended
    target: str    # district target column
    share: bool    # value is a share 0–1 (formatted as %)


MEASURES = (
    Measure("slots", "slots_per_1000", "target_childcare_per_1000", False),
    Measure("beds", "beds_per_1000_elderly", "target_beds_per_1000_elderly", False),
    Measure("care", "care_share", "target_care_bed_share", True),
)
WHENS = ("before", "after")
#: Accessibility score services and the district target each is compared with.
SCORE_TARGETS = {"childcare": "target_childcare_per_1000", "beds": "target_beds_per_1000_elderly"}


def attainment(districts: pd.DataFrame, measure: str = "slots", when: str = "after") -> np.ndarray:
    """Attainment of one measure per district, in % of its target.

    Parameters
    ----------
    districts : DataFrame
        ``Result.districts``.
    measure : {"slots", "beds", "care"}
        Childcare slots per 1,000 residents, beds per 1,000 aged 60+, or the
        care-oriented share of beds.
    when : {"before", "after"}

    Returns
    -------
    ndarray of float
        ``100 × value ÷ target``, rounded to 0.1 %; a zero target counts as
        met (100 %); NaN where the value is undefined (no residents, or no
        beds for the care share).
    """
    m = _measure(measure)
    if when not in WHENS:
        raise ValueError(f"when must be 'before' or 'after', got {when!r}")
    value = districts[f"{m.value}_{when}"].to_numpy(float)
    return np.round(100 * attainment_ratio(value, districts[m.target].to_numpy(float)), 1)


def _measure(key: str) -> Measure:
    for m in MEASURES:
        if m.key == key:
            return m
    raise ValueError(f"measure must be one of {', '.join(m.key for m in MEASURES)}, got {key!r}")


def _bin_colors(values, bins, colors) -> list[str]:
    """Colour per value: bins[i] ≤ v < bins[i+1]; v ≥ the last inner edge → last colour."""
    v = np.asarray(values, float)
    idx = np.searchsorted(np.asarray(bins[1:len(colors)], float), v, side="right")
    idx = np.clip(idx, 0, len(colors) - 1)
    return [NO_DATA_COLOR if math.isnan(x) else colors[i] for x, i in zip(v, idx)]


def attainment_colors(values) -> list[str]:
    """Fill colour per attainment value (%): red < 50 ≤ orange < 80 ≤ yellow < 100 ≤ green."""
    return _bin_colors(values, ATTAINMENT_BINS, ATTAINMENT_COLORS)


def attainment_index(values) -> np.ndarray:
    """Colour index per attainment value (%) into ``ATTAINMENT_COLORS``; ``len(ATTAINMENT_COLORS)`` for NaN.

    The same bins as :func:`attainment_colors`.
    """
    v = np.asarray(values, float)
    inner = np.asarray(ATTAINMENT_BINS[1:len(ATTAINMENT_COLORS)], float)
    idx = np.clip(np.searchsorted(inner, v, side="right"), 0, len(ATTAINMENT_COLORS) - 1)
    return np.where(np.isnan(v), len(ATTAINMENT_COLORS), idx)


def score_attainment(areas: pd.DataFrame, districts: pd.DataFrame, service: str = "childcare",
                     when: str = "after") -> np.ndarray:
    """Each area's E2SFCA accessibility score in % of its district's per-1,000 target.

    Parameters
    ----------
    areas, districts : DataFrame
        ``Result.areas`` (``score_e2sfca_<service>_<when>``) and
        ``Result.districts`` (the target columns in :data:`SCORE_TARGETS`);
        an area finds its district by ``district_id``.
    service : {"childcare", "beds"}
        Slots per 1,000 residents ÷ ``target_childcare_per_1000``, or beds
        per 1,000 aged 60+ ÷ ``target_beds_per_1000_elderly``.
    when : {"before", "after"}

    Returns
    -------
    ndarray of float
        ``100 × score ÷ target``, rounded to 0.1 %; a zero target counts as
        met (100 %); NaN without a score or a district.
    """
    if service not in SCORE_TARGETS:
        raise ValueError(f"service must be one of {', '.join(SCORE_TARGETS)}, got {service!r}")
    if when not in WHENS:
        raise ValueError(f"when must be 'before' or 'after', got {when!r}")
    score = _num(areas, f"score_e2sfca_{service}_{when}")
    target_d = _num(districts, SCORE_TARGETS[service])
    pos = pd.Index(districts["district_id"].astype(str)).get_indexer(areas["district_id"].astype(str))
    target = np.where(pos >= 0, target_d[pos], np.nan)
    a = 100 * attainment_ratio(score, target)
    a = np.where(np.isnan(score) | np.isnan(target), np.nan, a)
    return np.round(a, 1)


def access_index(shares) -> np.ndarray:
    """Colour index per access share (0–1) into ``ACCESS_COLORS`` (< 50 %, < 80 %, < 100 %, all
    need served); ``len(ACCESS_COLORS)`` for NaN (no data)."""
    share = np.asarray(shares, float)
    pct = np.round(100 * share, 1)
    idx = np.clip(np.searchsorted(np.asarray(ACCESS_BINS[1:], float), pct, side="right"), 0, len(ACCESS_COLORS) - 1)
    return np.where(np.isnan(share), len(ACCESS_COLORS), idx)


# ------------------------------------------------------------------ escaping and data

def _clean(v):
    """Numbers for JSON: NaN/inf → None, floats rounded to 2 decimals."""
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return round(v, 2) if math.isfinite(v) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def _json_numbers(values: np.ndarray, decimals: int | None = 2) -> list:
    """Rows of numbers for JSON, like :func:`_clean` but whole arrays at once:
    rounded to ``decimals`` (None: as given, e.g. by :func:`display_round`), whole numbers
    as int (shorter), NaN/inf → None."""
    v = np.asarray(values, float)
    if decimals is not None:
        v = np.round(v, decimals)
    out = v.astype(object)
    finite = np.isfinite(v)
    whole = finite & (v == np.trunc(v)) & (np.abs(v) < 2**53)
    out[whole] = v[whole].astype(np.int64).tolist()
    out[~finite] = None
    return out.tolist()


def display_round(column: str, values) -> np.ndarray:
    """A district or facility column rounded to the precision the popups show (one place for it).

    yuan (``cost``, ``marginal_cost_*``): whole yuan; shares (``*share*``): 0.1 percentage point;
    rates (``*per_1000*``, scores, per assessed person): 2 decimals; counts (slots, beds,
    people): 1 decimal below 100, whole from 100 (the formatters' ``num``). Values at display
    precision show the same and change less often, so a solve sends fewer of them.
    """
    v = np.asarray(values, float)
    if column == "cost" or column.startswith("marginal_cost"):
        return np.round(v, 0)
    if "share" in column:
        return np.round(v, 3)
    if "per_1000" in column or column.startswith("score_") or "per_care_need" in column:
        return np.round(v, 2)
    return np.where(np.abs(v) >= 100, np.round(v, 0), np.round(v, 1))


def _json(obj) -> str:
    """Compact JSON, UTF-8 kept (not yet safe for a ``<script>``: :class:`InlineData` makes it so)."""
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _js_json(obj) -> str:
    """Compact JSON for a <script>: UTF-8 kept, ``<`` and line separators escaped."""
    return script_safe(_json(obj))


def _has_polygons(df) -> bool:
    if not isinstance(df, gpd.GeoDataFrame) or df.geometry.name not in df.columns:
        return False
    g = df.geometry
    return bool(len(g)) and bool(g.notna().all()) and bool(g.geom_type.isin(["Polygon", "MultiPolygon"]).all())


def _is_true(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    return str(v).strip().lower() in {"true", "t", "yes", "y", "1", "是", "1.0"}


def _synthetic_mask(df) -> np.ndarray:
    if df is None or "synthetic" not in df.columns:
        return np.zeros(0 if df is None else len(df), bool)
    return np.array([_is_true(v) for v in df["synthetic"].to_numpy(object)], bool)


def _xy(gdf) -> np.ndarray:
    """n×2 lon/lat per row: the point, or a point inside a polygon; rounded."""
    return np.round(np.column_stack(lonlat(gdf)), COORD_DIGITS)


def _points(xy: np.ndarray, props: list[dict]) -> dict:
    """A GeoJSON FeatureCollection of points (lon/lat rows of ``xy``) with ``props``."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": c}, "properties": p}
        for c, p in zip(xy.tolist(), props)]}


#: The list item put between the features' properties (dicts) to cut their one JSON text apart.
_CUT = "\x00planner-feature\x00"
_CUT_JSON = "," + _json(_CUT) + ","


def _points_json(xy: np.ndarray, props: list[dict]) -> str:
    """``_json(_points(xy, props))``, the same text, without a dict per feature.

    The properties are encoded in one ``json.dumps`` call and each feature's
    frame is a string (no Python containers per feature: the point layers
    made most of a map's allocations, and the collector's runs landed there).
    """
    n = len(props)
    if n and np.isfinite(xy).all():  # (json refuses NaN: the dict path raises as before)
        items = [_CUT] * (2 * n - 1)
        items[::2] = props
        parts = _json(items)[1:-1].split(_CUT_JSON)
        if len(parts) == n:  # else some property holds the cut's text as a list item: the dict path
            # floats as json writes them (float.__repr__)
            return '{"type":"FeatureCollection","features":[' + ",".join([
                f'{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{x!r},{y!r}]}},"properties":{p}}}'
                for x, y, p in zip(xy[:, 0].tolist(), xy[:, 1].tolist(), parts)]) + "]}"
    return _json(_points(xy, props))


def _round_geometry(geom: np.ndarray) -> np.ndarray:
    geom = shapely.simplify(geom, SIMPLIFY_DEGREES, preserve_topology=True)
    return shapely.transform(geom, lambda c: np.round(c, COORD_DIGITS))


def _num(df, col) -> np.ndarray:
    if col in df.columns:
        return pd.to_numeric(df[col], errors="coerce").to_numpy(float)
    return np.full(len(df), np.nan)


# ------------------------------------------------------------------ custom elements

class _Fill(MacroElement):
    """Add shared data to a GeoJson layer (then apply ``properties.style`` if asked)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.layer.get_name() }}.addData({{ this.data.get_name() }});
        {%- if this.restyle %}
        {{ this.layer.get_name() }}.setStyle(function (f) { return f.properties.style; });
        {%- endif %}
        {% endmacro %}
    """)

    def __init__(self, layer, data: InlineData, restyle: bool):
        super().__init__()
        self._name = "PlannerFill"
        self.layer, self.data, self.restyle = layer, data, restyle


# Tooltips and popups are formatted in the browser from compact numbers, so
# the province map carries numbers, not thousands of HTML strings. User text
# arrives pre-escaped (_esc) and labels come from planner.i18n (escaped).
# Keep this free of "{{", "{%" and "{#": folium re-parses it as a template.
_FORMAT_JS = r"""
(function (T, DN, PAL, X) {
  function nan(x) { return x === null || x === undefined || (typeof x === 'number' && isNaN(x)); }
  function fixed(x, d) { return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }); }
  function num(x) {
    if (nan(x)) return '–';
    var r = Math.round(x);
    return Math.abs(x - r) < 0.05 || Math.abs(x) >= 100 ? fixed(r, 0) : fixed(x, 1);
  }
  function rate(x) { return nan(x) ? '–' : x.toFixed(2); }
  function pct(x) { return nan(x) ? '–' : (100 * x).toFixed(1) + '%'; }
  function yuan(x) {
    if (nan(x)) return '–';
    if (T.lang === 'zh') {
      return Math.abs(x) >= 1e8 ? fixed(x / 1e8, 2) + ' ' + T.unit_yi_yuan : fixed(x / 1e4, 1) + ' ' + T.unit_wan_yuan;
    }
    return Math.abs(x) >= 1e6 ? fixed(x / 1e6, 1) + ' ' + T.unit_million_yuan : fixed(x, 0) + ' ' + T.unit_yuan;
  }
  function share(served, need) { return need > 0 ? served / need : 1; }
  function nobody(people, areas) {
    if (nan(people)) return '–';
    var where = areas > 0 ? ' ' + note('(' + num(areas) + ' ' + (areas === 1 ? T.unit_area : T.unit_areas) + ')') : '';
    return num(people) + ' ' + T.unit_people + where;
  }
  function note(s) { return '<span class="planner-note">' + s + '</span>'; }
  function synth(p) { return p.syn ? '<div class="planner-note">' + T.synthetic_row + '</div>' : ''; }
  // a cell {span: html} spans the remaining columns: one-figure rows do not widen the "after" column
  function table(rows) {
    return '<table class="planner-table">' + rows.map(function (r) {
      return '<tr><th>' + r[0] + '</th>' + r.slice(1).map(function (c) {
        return c !== null && typeof c === 'object' ? '<td class="planner-span" colspan="4">' + c.span + '</td>'
                                                   : '<td>' + c + '</td>';
      }).join('') + '</tr>';
    }).join('') + '</table>';
  }
  // a popup never taller than its map (it scrolls instead): maps differ in height (app, page, fullscreen)
  function fitHeight(e) {
    var m = e.popup._map;
    if (!m) return;
    var h = Math.max(80, m.getSize().y - 60);
    if (e.popup.options.maxHeight !== h) { e.popup.options.maxHeight = h; e.popup.update(); }
  }
  function bind(l, tip, pop) {
    l.bindTooltip(tip, { sticky: true, className: 'planner-tip' });
    // keep popups clear of the (expanded) layer control on the right
    if (pop) { l.bindPopup(pop, { maxWidth: 440, minWidth: 200, autoPanPaddingTopRight: [60, 10] }); l.on('popupopen', fitHeight); }
  }
  var MEASURES = [['measure_slots', 'slots_per_1000', 'target_childcare_per_1000', rate],
                  ['measure_beds', 'beds_per_1000_elderly', 'target_beds_per_1000_elderly', rate],
                  ['measure_care', 'care_share', 'target_care_bed_share', pct]];
  function district(f, l) {
    var p = f.properties, v = p.v;
    bind(l, function () {
      return '<b>' + p.n + '</b><br>' + MEASURES.map(function (m) {
        return T[m[0]] + ': ' + m[3](v[m[1] + '_before']) + ' → ' + m[3](v[m[1] + '_after']) +
          ' (' + T.target + ' ' + m[3](v[m[2]]) + ')';
      }).join('<br>') + '<br>' + (p.met ? T.met : '<span class="planner-miss">' + T.not_met + '</span>');
    }, function () {
      var rows = [
        ['', note(T.before), note(T.after), note(T.target), note(T.shortfall)],
        [T.measure_slots, rate(v.slots_per_1000_before), rate(v.slots_per_1000_after), rate(v.target_childcare_per_1000), ''],
        [T.slots, num(v.slots_before), num(v.slots_after), num(v.target_slots), num(v.shortfall_slots)],
        [T.affordable_share, pct(v.affordable_share_before), pct(v.affordable_share_after),
         pct(v.target_affordable_share), num(v.shortfall_affordable)],
        [T.measure_beds, rate(v.beds_per_1000_elderly_before), rate(v.beds_per_1000_elderly_after),
         rate(v.target_beds_per_1000_elderly), ''],
        [T.beds, num(v.beds_before), num(v.beds_after), num(v.target_beds), num(v.shortfall_beds)],
        [T.measure_care, pct(v.care_share_before), pct(v.care_share_after), pct(v.target_care_bed_share),
         num(v.shortfall_care_beds)],
        [T.access_share_childcare, pct(v.access_share_childcare_before), pct(v.access_share_childcare),
         pct(v.target_access_share), num(v.shortfall_access_childcare)],
        [T.access_share_beds, pct(v.access_share_beds_before), pct(v.access_share_beds), pct(v.target_access_share),
         num(v.shortfall_access_beds)],
        [T.score_e2sfca_childcare + ' ' + note(T.unit_score_childcare), rate(v.score_e2sfca_childcare_before),
         rate(v.score_e2sfca_childcare_after), rate(v.target_childcare_per_1000), ''],
        [T.score_e2sfca_beds + ' ' + note(T.unit_score_beds), rate(v.score_e2sfca_beds_before),
         rate(v.score_e2sfca_beds_after), rate(v.target_beds_per_1000_elderly), ''],
        [T.no_reach_childcare, { span: nobody(v.people_without_reach_childcare, v.areas_without_reach_childcare) }],
        [T.no_reach_beds, { span: nobody(v.people_without_reach_beds, v.areas_without_reach_beds) }],
        [T.population, { span: num(v.pop_total) }],
        [T.pop_60_plus, { span: num(v.pop_60_plus) }]].concat(v.care_need > 0 ? [
        [T.care_need_people, { span: num(v.care_need) }],
        [T.care_need_per_person, rate(v.care_beds_per_care_need_before), rate(v.care_beds_per_care_need_after),
         v.target_care_beds_per_care_need > 0 ? rate(v.target_care_beds_per_care_need) : '–',
         num(v.shortfall_care_need_beds)]] : []).concat([
        [T.cost, { span: yuan(v.cost) }]]);
      // marginal costs (from the LP duals, computed in Python): one compact line under the table
      var mc = '<div class="planner-note planner-wrap">' + T.mc_title + ': ' + [
        [T.mc_childcare, v.marginal_cost_childcare_per_1000], [T.mc_beds, v.marginal_cost_beds_per_1000_elderly],
        [T.mc_affordable, v.marginal_cost_affordable_share], [T.mc_care, v.marginal_cost_care_bed_share]
      ].map(function (m) { return m[0] + ' ' + yuan(m[1]); }).join(' · ') + '</div>';
      var why = p.why.length
        ? '<b>' + T.reasons + '</b><ul class="planner-reasons">' +
          p.why.map(function (w) { return '<li>' + w + '</li>'; }).join('') + '</ul>'
        : '<div>' + T.met + '</div>';
      return '<div class="planner-pop"><b>' + p.n + '</b> ' + note(p.id) + table(rows) + mc + why + synth(p) + '</div>';
    });
  }
  function facility(kind, state) {
    return function (f, l) {
      var p = f.properties, v = p.v, what = T['kind_' + kind] + ' · ' + T['state_' + state];
      bind(l, function () { return '<b>' + p.n + '</b><br>' + what; }, function () {
        var rows;
        if (state === 'not_opened') {
          rows = [[T.size_range, num(v[0]) + '–' + num(v[1])], [T.cost, yuan(v[2])]];
        } else if (kind === 'childcare') {
          rows = [[T.slots, num(v[0]) + ' → ' + num(v[1]) + (v[2] > 0 ? ' (+' + num(v[2]) + ')' : '')]];
          if (v[3] > 0) { rows.push([T.added_affordable, num(v[3])]); }
          rows.push([T.cost, yuan(v[4])]);
        } else {
          rows = [[T.beds, num(v[0]) + ' → ' + num(v[1]) + (v[2] > 0 ? ' (+' + num(v[2]) + ')' : '')],
                  [T.care_beds, num(v[3]) + ' → ' + num(v[4])]];
          if (v[5] > 0) { rows.push([T.converted, num(v[5])]); }
          rows.push([T.cost, yuan(v[6])]);
        }
        rows.push([T.district, DN[p.d]]);
        return '<div class="planner-pop"><b>' + p.n + '</b> ' + note(p.id) + '<br>' + what + table(rows) + synth(p) + '</div>';
      });
    };
  }
  function area(service, k) {
    return function (f, l) {
      var p = f.properties, v = p.v.slice(4 * k, 4 * k + 4);
      var unit = service === 'childcare' ? T.unit_slots : T.unit_beds;
      l.setStyle({ fillColor: PAL[p.c[k]] });
      bind(l, function () {
        var s = '<b>' + p.n + '</b> ' + note(DN[p.d]) + '<br>' + T['access_share_' + service] + ': <b>' +
          pct(share(v[1], v[0])) + '</b><br>' + T.need + ' ' + num(v[0]) + ' ' + unit + ' · ' + T.served + ' ' +
          num(v[1]) + ' ' + unit;
        if (v[3] > 0) { s += '<br>' + T.shortfall + ' ' + num(v[3]) + ' ' + unit; }
        return s + '<br>' + T.sites_in_reach + ': ' + num(v[2]) + synth(p);
      }, null);
    };
  }
  // accessibility scores: p.v[8 + 4k ..] = 2SFCA before, after, E2SFCA before, after;
  // p.c[2 + 2k + W] = colour of E2SFCA ÷ target, W = 0 before, 1 after (follows the district radio)
  var W = X.when, SCORED = [];
  function scoreStyle(p, k) { return { fillColor: X.attain[p.c[2 + 2 * k + W]] }; }
  function score(service, k) {
    return function (f, l) {
      var p = f.properties, s = p.v.slice(8 + 4 * k, 12 + 4 * k), unit = T['unit_score_' + service];
      var tgt = p.d >= 0 ? X.targets[p.d][k] : null, dn = p.d >= 0 ? DN[p.d] : '';
      // % of target, computed in Python (planner.targets.attainment): p.v[16 + 2k + when]
      function of(i) { var x = p.v[16 + 2 * k + i]; return nan(x) || nan(tgt) || !(tgt > 0) ? '–' : x.toFixed(1) + '%'; }
      function ba(i) { return rate(s[i]) + ' → ' + rate(s[i + 1]); }
      SCORED.push([l, p, k]);
      l.setStyle(scoreStyle(p, k));
      bind(l, function () {
        return '<b>' + p.n + '</b> ' + note(dn) + '<br>' + T['score_' + service] + '<br>' + T.score_e2sfca + ': <b>' +
          ba(2) + '</b> ' + unit + '<br>' + T.score_2sfca + ': ' + ba(0) + ' ' + unit + '<br>' + T.target + ' ' +
          rate(tgt) + ' · ' + T.of_target + ' ' + of(0) + ' → ' + of(1) + synth(p);
      }, function () {
        var rows = [['', note(T.before), note(T.after), note(T.target)],
                    [T.score_e2sfca, rate(s[2]), rate(s[3]), rate(tgt)],
                    [T.score_2sfca, rate(s[0]), rate(s[1]), ''],
                    [T.of_target + ' (E2SFCA)', of(0), of(1), ''],
                    [T.sites_in_reach, '', num(p.v[4 * k + 2]), '']];
        return '<div class="planner-pop"><b>' + p.n + '</b> ' + note(dn) + '<br>' + T['score_' + service] + ' ' +
          note('(' + unit + ')') + table(rows) + '<div class="planner-note planner-wrap">' + T['score_note_' + service] +
          '</div>' + synth(p) + '</div>';
      });
    };
  }
  function setWhen(w) {
    W = w;
    SCORED.forEach(function (e) { e[0].setStyle(scoreStyle(e[1], e[2])); });
    document.querySelectorAll('.planner-score-when').forEach(function (el) { el.innerHTML = w ? T.after : T.before; });
  }
  return { district: district, facility: facility, area: area, score: score, when: setWhen };
})
"""


def _map_label(key: str) -> bool:
    """Whether the map's formatters may need ``i18n.LABELS[key]`` (not the app's, Excel's or the PNG's)."""
    return key not in getattr(i18n, "WIDGET_LABELS", ()) and not key.startswith(("w_", "notes_", "sheet_", "png_"))


def format_labels(lang: str) -> dict:
    """The words the popup/tooltip formatters use (escaped), for the file and the live map alike."""
    labels = {k: escape_text(i18n.t(k, lang)) for k in i18n.LABELS if _map_label(k)}
    labels.update({f"kind_{k}": escape_text(i18n.kind_label(k, lang)) for k in i18n.KIND_LABELS})
    labels.update({f"state_{k}": escape_text(i18n.state_label(k, lang)) for k in i18n.STATES})
    labels["lang"] = lang
    return labels


#: District names on the map, shown only while at most LABEL_MAX_IN_VIEW label points are in
#: view (a prefecture, not the whole province). Shared by the HTML file and the live map.
#: items: [[lat, lon, escaped name, shown?], ...]. Free of "{{", "{%" and "{#" (folium template).
LABELS_JS = r"""
(function (L, map, items, most) {
  var layer = L.layerGroup().addTo(map);
  var tips = items.map(function (it) {
    return L.tooltip({ permanent: true, direction: 'center', className: 'planner-label', interactive: false })
      .setLatLng([it[0], it[1]]).setContent(it[2]);
  });
  function update() {
    var b = map.getBounds(), inView = [];
    tips.forEach(function (t, i) { if (items[i][3] !== 0 && b.contains(t.getLatLng())) { inView.push(t); } });
    layer.clearLayers();
    if (inView.length <= most) { inView.forEach(function (t) { layer.addLayer(t); }); }
  }
  map.on('moveend', update);
  map.whenReady(update);
  return { update: update, show: function (i, on) { items[i][3] = on ? 1 : 0; }, layer: layer };
})
"""


#: Reach dots (demand areas: need served within reach, E2SFCA) are drawn as small squares, so they
#: never read as facilities (circles). A circle marker whose className names planner-area or
#: planner-score (or with option plannerSquare) is drawn as a square by both Leaflet renderers
#: (SVG and canvas); hit-testing stays Leaflet's. Shared by the HTML file and the live map.
SQUARE_JS = r"""
(function (L) {
  var proto = L.CircleMarker.prototype;
  if (proto._plannerSquare) { return; }
  var circle = proto._updatePath;
  proto._plannerSquare = true;
  proto._updatePath = function () {
    var c = this.options.className || '', r = this._renderer;
    if (!this.options.plannerSquare && c.indexOf('planner-area') < 0 && c.indexOf('planner-score') < 0) {
      return circle.call(this);
    }
    var p = this._point, s = Math.max(Math.round(this._radius * 0.9), 1);
    if (r._ctx) {
      if (!r._drawing || this._empty()) { return; }
      r._ctx.beginPath();
      r._ctx.rect(p.x - s, p.y - s, 2 * s, 2 * s);
      r._fillStroke(r._ctx, this);
    } else if (r._setPath) {
      r._setPath(this, this._empty() ? 'M0 0' :
        'M' + (p.x - s) + ',' + (p.y - s) + 'h' + 2 * s + 'v' + 2 * s + 'h' + (-2 * s) + 'z');
    } else {
      circle.call(this);
    }
  };
})
"""


class _Squares(MacroElement):
    """Reach dots as squares (see :data:`SQUARE_JS`); added before any layer is drawn."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.js }}(L);
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "PlannerSquares"
        self.js = SQUARE_JS.strip()


class _Labels(MacroElement):
    """District names on the map (see :data:`LABELS_JS`)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.js }}(L, {{ this._parent.get_name() }}, {{ this.items }}, {{ this.most }});
        {% endmacro %}
    """)

    def __init__(self, items):
        super().__init__()
        self._name = "PlannerLabels"
        self.js = LABELS_JS.strip()
        self.items = _js_json(items)
        self.most = LABEL_MAX_IN_VIEW


def label_points(d: gpd.GeoDataFrame) -> list:
    """[[lat, lon, escaped name, 1], ...]: a point inside each district for its name."""
    pts = d.geometry.representative_point()
    return [[round(float(y), COORD_DIGITS), round(float(x), COORD_DIGITS), escape_text(n), 1]
            for x, y, n in zip(pts.x, pts.y, d["name"].astype(str))]


class _Formatters(MacroElement):
    """Defines the tooltip/popup formatters used by every layer's onEachFeature."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.js }}({{ this.labels }}, {{ this.names }}, {{ this.palette }},
            {{ this.extra }});
        {% endmacro %}
    """)

    def __init__(self, lang: str, district_names: list[str], targets=None, when: str = "after"):
        super().__init__()
        self._name = "PlannerFormat"
        self.js = _FORMAT_JS.strip()
        self.labels = _js_json(format_labels(lang))
        self.names = _js_json([escape_text(n) for n in district_names])
        self.palette = _js_json(list(ACCESS_COLORS) + [NO_DATA_COLOR])
        self.extra = _js_json({"attain": list(ATTAINMENT_COLORS) + [NO_DATA_COLOR], "when": WHENS.index(when),
                               "targets": [] if targets is None else _clean(np.asarray(targets, float).tolist())})

    def on_each(self, call: str) -> JsCode:
        """onEachFeature calling one of the formatters, e.g. ``facility('childcare', 'opened')``."""
        return JsCode(f"function (f, l) {{ {self.get_name()}.{call}(f, l); }}")


class _FitWhenShown(MacroElement):
    """Fit the map to the data, now if its frame has a size, else once it gets one.

    A background tab, Voila (which lays outputs out before revealing the page)
    or an intranet page that shows the file in a hidden iframe gives the map a
    frame with no size. Leaflet's ``fitBounds`` there leaves the zoom at
    Infinity and throws, which would stop folium's map script and leave the
    map blank for good. So the fit waits for a size, and the check lives in a
    ``<script>`` of its own that listens for resizes.
    """

    _template = Template("""
        {% macro html(this, kwargs) %}
        <script>/* planner: fit the map to its data once its frame has a size */
        (function (name, box, right) {
            var fitted = false, hidden = false;
            window[name + "_fit"] = function () {
                // Before the map script runs, window[name] is the map's <div> (named by its id)
                var m = window[name];
                if (!(window.L && m instanceof L.Map)) { return; }
                var el = m.getContainer(), w = el.clientWidth, h = el.clientHeight;
                if (!(w > 0 && h > 0)) { hidden = true; return; }
                if (fitted && !hidden && isFinite(m.getZoom())) { return; }
                fitted = true; hidden = false;
                var b = L.latLngBounds(box);
                if (!isFinite(m.getZoom())) { m.setView(b.getCenter(), 0, {reset: true, animate: false}); }
                m.invalidateSize(false);
                // keep the data above the legend and title boxes in the bottom-left corner
                var bl = el.querySelector('.leaflet-bottom.leaflet-left'), below = bl ? bl.offsetHeight : 0;
                m.fitBounds(b, {paddingTopLeft: [Math.min(50, w / 10), Math.min(60, h / 10)],
                                paddingBottomRight: [Math.min(right, w / 3), Math.min(Math.max(20, below), h / 3)],
                                maxZoom: {{ this.max_zoom }}, animate: false});
            };
            // full screen on or off: fit the data to the new frame
            window[name + "_refit"] = function () { fitted = false; window[name + "_fit"](); };
            window.addEventListener("resize", window[name + "_fit"]);
            if (window.ResizeObserver) { new ResizeObserver(window[name + "_fit"]).observe(document.documentElement); }
            window.addEventListener("load", window[name + "_fit"]);
        })("{{ this._parent.get_name() }}", {{ this.bounds }}, {{ this.right_px }});
        </script>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        window["{{ this._parent.get_name() }}_fit"]();
        {{ this._parent.get_name() }}.on("enterFullscreen exitFullscreen", function () {
            setTimeout(window["{{ this._parent.get_name() }}_refit"], 50);
        });
        {% endmacro %}
    """)

    def __init__(self, bounds, right_px: int):
        super().__init__()
        self._name = "FitWhenShown"
        self.bounds = _js_json(bounds)
        self.right_px = int(right_px)
        self.max_zoom = FIT_MAX_ZOOM


class _ZoomScale(MacroElement):
    """Scale circle markers with the zoom level, so a province view is not a carpet of circles.

    A marker's radius is ``base × k`` with ``k = 2^((zoom − 11) / 2)`` kept in
    [``lo``, ``hi``]; ``base`` is ``properties.style.radius`` or ``radius``.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, layers) {
            function scale() {
                var k = Math.min({{ this.hi }}, Math.max({{ this.lo }}, Math.pow(2, (map.getZoom() - 11) / 2)));
                layers.forEach(function (g) {
                    g.eachLayer(function (l) {
                        if (l.setRadius && l.feature) {
                            var s = l.feature.properties.style;
                            l.setRadius((s && s.radius ? s.radius : {{ this.radius }}) * k);
                        }
                    });
                });
            }
            map.on('zoomend', scale);
            map.whenReady(scale);
        })({{ this._parent.get_name() }}, [{% for l in this.layers %}{{ l.get_name() }}{{ "," if not loop.last }}{% endfor %}]);
        {% endmacro %}
    """)

    def __init__(self, layers, radius: float, lo: float, hi: float):
        super().__init__()
        self._name = "ZoomScale"
        self.layers, self.radius, self.lo, self.hi = list(layers), radius, lo, hi


class _HtmlControl(MacroElement):
    """A fixed Leaflet control showing HTML built (and escaped) in Python.

    ``toggles``: (css selector inside the control, [layers]) — the element is
    shown only while one of the layers is on the map.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create('div', {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {%- for selector, layers in this.toggles %}
        (function (map, control) {
            var layers = [{% for l in layers %}{{ l.get_name() }}{{ "," if not loop.last }}{% endfor %}];
            function update() {
                var on = layers.some(function (l) { return map.hasLayer(l); });
                var el = control.getContainer().querySelector({{ selector|tojson }});
                if (el) { el.style.display = on ? '' : 'none'; }
            }
            map.on('overlayadd overlayremove', update);
            update();
        })({{ this._parent.get_name() }}, {{ this.get_name() }});
        {%- endfor %}
        {% endmacro %}
    """)

    def __init__(self, html: str, position: str = "bottomleft", css_class: str = "planner-box", toggles=()):
        super().__init__()
        self._name = "PlannerControl"
        self.html, self.position, self.css_class = html, position, css_class
        self.toggles = list(toggles)


class _MeasureSwitch(MacroElement):
    """Radio base layers that re-shade one district layer (one copy of the shapes).

    Choosing base layer *i* sets every district's fill to
    ``feature.properties.fills[i]`` and tells the formatters ``fmt`` its
    before/after (``whens[i]``: 0 or 1), which re-shades the score layers.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (target, whens) {
            var choices = [{% for g in this.groups %}{{ g.get_name() }}{{ "," if not loop.last }}{% endfor %}];
            choices.forEach(function (g, i) {
                g.on('add', function () {
                    target.setStyle(function (f) { return {fillColor: f.properties.fills[i]}; });
                    {{ this.fmt.get_name() }}.when(whens[i]);
                });
            });
        })({{ this.target.get_name() }}, {{ this.whens }});
        {% endmacro %}
    """)

    def __init__(self, target, groups, fmt, whens):
        super().__init__()
        self._name = "MeasureSwitch"
        self.target, self.groups, self.fmt = target, list(groups), fmt
        self.whens = _js_json([WHENS.index(w) for w in whens])


_CSS = """
<style>
.leaflet-container { background: #f4f3ef; font: 12px/1.4 "Helvetica Neue", Arial, "PingFang SC",
  "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
.planner-box, .planner-legend { background: rgba(255,255,255,0.92); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 320px; }
.planner-legend .sw { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
  vertical-align: -2px; border: 1px solid #555; }
.planner-legend .dot { border-radius: 50%; }
.planner-legend div.sec { margin-top: 2px; }
.planner-legend .item { display: inline-block; margin-right: 8px; white-space: nowrap; }
.planner-table { border-collapse: collapse; margin-top: 2px; }
.planner-table { font-size: 11.5px; }
.planner-table th { text-align: left; font-weight: normal; color: #444; padding: 1px 4px 1px 0; white-space: normal;
  min-width: 8.5em; max-width: 150px; line-height: 1.25; }
.planner-table td { text-align: right; padding: 1px 0 1px 6px; white-space: nowrap; }
.planner-table td.planner-span { text-align: left; white-space: normal; }
.planner-pop { max-width: 400px; }
.leaflet-popup-content { overflow-x: auto; }
.planner-label { background: rgba(255,255,255,0.75); border: none; box-shadow: none; padding: 0 3px;
  font-size: 11px; color: #222; }
.planner-label::before { display: none; }
details.planner-fold > summary { cursor: pointer; font-weight: 600; }
.planner-reasons { margin: 4px 0 0 0; padding-left: 16px; max-width: 320px; white-space: normal; font-size: 12px; }
.planner-note { color: #777; font-size: 11px; }
.planner-wrap { max-width: 300px; white-space: normal; margin-top: 3px; }
.planner-miss { color: #b2182b; }
.legend { background: rgba(255,255,255,0.92); border-radius: 4px; }
</style>
"""


# ------------------------------------------------------------------ the map

def build_map(result, lang: str = "zh", tiles: str | None = None, *, level: str | None = None,
              measure: str = DEFAULT_SHADING[0], when: str = DEFAULT_SHADING[1],
              show_areas: bool = False) -> folium.Map:
    """The interactive map of a plan.

    Parameters
    ----------
    result : planner.Result
    lang : {"zh", "en"}
        Language of every label, tooltip and popup.
    tiles : str, optional
        A folium tile name or URL template for a background map. Default
        ``None``: no tile server; boundaries are drawn from the data.
        Tiles need the internet when the map is opened.
    level : str, optional
        With a districts table of several levels: the level whose outlines
        and figures (``Result.rollup``) start shown (``"prefecture"`` …);
        every level above the districts is in the layer list.
    measure : {"slots", "beds", "care"}
        The district shading shown first (default: slots per 1,000).
    when : {"before", "after"}
        Before or after the plan, shown first (default: before, i.e. the gap
        the plan closes; districts still short after the plan are outlined
        in red in every shading).
    show_areas : bool
        Show the need-served-within-reach area layers on opening (they are
        in the layer control either way; the accessibility score layers
        always start hidden).

    Returns
    -------
    folium.Map
        Also carries ``planner_layers`` (key → folium layer: ``districts``,
        ``shade_<measure>_<when>``, ``access_childcare``, ``access_beds``,
        ``score_childcare``, ``score_beds``, ``childcare``, ``eldercare``,
        ``not_opened``; absent when empty) and ``planner_control`` (the
        LayerControl). The score layers (E2SFCA ÷ district target) start
        with ``when`` and then follow the before/after of the district
        shading chosen.
    """
    i18n.check_lang(lang)
    _measure(measure)
    if when not in WHENS:
        raise ValueError(f"when must be 'before' or 'after', got {when!r}")
    d, f, a = result.districts, result.facilities, result.areas
    has_shapes = _has_polygons(d)

    fmap = folium.Map(tiles=None, control_scale=True, zoom_snap=0.25)
    fmap.get_root().title = escape_text(f"{getattr(result.scenario, 'name', '') or ''} · {i18n.t('map_title', lang)}")
    _Squares().add_to(fmap)
    fmap.planner_markers = []
    fmap.get_root().header.add_child(Element(_CSS), name="planner_css")
    layers: dict[str, object] = {}
    if tiles is not None:
        tl = folium.TileLayer(tiles, name=i18n.t("layer_tiles", lang), overlay=True, control=True, show=True)
        tl.add_to(fmap)
        layers["tiles"] = tl

    ids = d["district_id"].astype(str).tolist()
    index = {k: i for i, k in enumerate(ids)}
    targets = np.column_stack([_num(d, c) for c in SCORE_TARGETS.values()])
    fmt = _Formatters(lang, d["name"].astype(str).tolist(), targets, when)
    fmt.add_to(fmap)

    if has_shapes:
        choices = [(m, w) for m in MEASURES for w in WHENS]
        start = choices.index((_measure(measure), when))
        groups = []
        for i, (m, w) in enumerate(choices):
            g = folium.FeatureGroup(name=i18n.measure_label(m.key, w, lang), overlay=False, show=(i == start))
            g.add_to(fmap)
            groups.append(g)
            layers[f"shade_{m.key}_{w}"] = g
        layer = folium.GeoJson(_district_data(d, choices, start, lang), name=i18n.t("layer_districts", lang),
                               overlay=True, control=True, show=True, color="#4d4d4d", weight=1, fillOpacity=0.7,
                               className="planner-district", on_each_feature=fmt.on_each("district"),
                               style_function=lambda feat: feat["properties"]["style"])
        layer.add_to(fmap)
        _MeasureSwitch(layer, groups, fmt, [w for _, w in choices]).add_to(fmap)
        layers["districts"] = layer

    area_layers, score_layers = [], []
    if a is not None and len(a):
        scored = _has_scores(a)
        data = InlineData(_area_data(a, index, d if scored else None))
        data.add_to(fmap)
        def point_layer(kind, service, k, show, ring, opacity, formatter):
            """One switchable view of the shared area points (no second copy of the data)."""
            lyr = folium.GeoJson(_EMPTY, name=i18n.t(f"layer_{kind}_{service}", lang), overlay=True, control=True,
                                 show=show,
                                 marker=folium.CircleMarker(radius=AREA_RADIUS, color=ring, fill=True,
                                                            fill_opacity=opacity, **ring_style[kind],
                                                            class_name=f"{css[kind]} {css[kind]}-{service}"),
                                 on_each_feature=fmt.on_each(f"{formatter}('{service}', {k})"))
            lyr.add_to(fmap)
            _Fill(lyr, data, restyle=False).add_to(fmap)
            layers[f"{kind}_{service}"] = lyr
            return lyr

        css = {"access": "planner-area", "score": "planner-score"}
        ring_style = {"access": {"weight": 0.5}, "score": {"weight": 1}}
        for k, service in enumerate(("childcare", "beds")):
            area_layers.append(point_layer("access", service, k, show_areas, "#555555", 0.85, "area"))
        # the same points coloured by E2SFCA ÷ target (before/after follows the district radio);
        # a dark ring, because the fills share the district shading's colours
        for k, service in enumerate(SCORE_TARGETS if scored else ()):
            score_layers.append(point_layer("score", service, k, False, "#1a1a1a", 1, "score"))

    for kind in ("childcare", "eldercare"):
        grp = _facility_group(fmap, fmt, f, kind, DRAWN_STATES, index, i18n.t(f"layer_{kind}", lang), True)
        if grp is not None:
            layers[kind] = grp
    grp = _facility_group(fmap, fmt, f, None, ("not_opened",), index, i18n.t("layer_not_opened", lang), False)
    if grp is not None:
        layers["not_opened"] = grp

    if fmap.planner_markers:
        _ZoomScale(fmap.planner_markers, radius=5, lo=0.3, hi=1.2).add_to(fmap)
    if area_layers:
        _ZoomScale(area_layers + score_layers, radius=AREA_RADIUS, lo=0.5, hi=1.2).add_to(fmap)
    if has_shapes:
        cm = StepColormap(list(ATTAINMENT_COLORS), index=list(ATTAINMENT_BINS), vmin=ATTAINMENT_BINS[0],
                          vmax=ATTAINMENT_BINS[-1], caption=i18n.t("legend_attainment", lang))
        cm.width = 240
        cm.tick_labels = list(ATTAINMENT_BINS)
        cm.add_to(fmap)
    _HtmlControl(_title_html(result, lang), position="bottomleft").add_to(fmap)
    legend = _legend_html(f, bool(area_layers), lang, bool(score_layers), when, has_shapes)
    if legend:  # bottom left, above the title box; folds away (<details>) so it never has to cover the map
        legend = (f'<details class="planner-fold" open><summary>{escape_text(i18n.t("legend", lang))}</summary>'
                  f'{legend}</details>')
        toggles = [(sel, lyrs) for sel, lyrs in ((".planner-legend-access", area_layers),
                                                 (".planner-legend-score", score_layers)) if lyrs]
        _HtmlControl(legend, position="bottomleft", css_class="planner-legend", toggles=toggles).add_to(fmap)
    if has_shapes:
        _Labels(label_points(d)).add_to(fmap)
    add_attribution(fmap, attribution_text(result, lang))
    layers.update(_level_layers(fmap, result, lang, level))
    folium.plugins.Fullscreen(position="topleft").add_to(fmap)
    # collapsed to its icon: an expanded list of 14 layers covered a third of a 660 px map
    control = folium.LayerControl(collapsed=True, position="topright")
    control.add_to(fmap)

    bounds = _bounds(d if has_shapes else None, f, a)
    if bounds is not None:  # keep the data clear of the expanded layer control on the right
        _FitWhenShown(bounds, CONTROL_PX[lang]).add_to(fmap)
    fmap.planner_layers = layers
    fmap.planner_control = control
    return fmap


_EMPTY = {"type": "FeatureCollection", "features": []}


#: Smallest box the maps fit to, in degrees (≈ 2.2 km north–south): all points at one place (one site, one
#: district's centre) would be a box of no size, which Leaflet fits at zoom Infinity ("Invalid LatLng (NaN, NaN)").
MIN_BOUNDS_DEG = 0.02
#: The closest zoom a fit may choose (a street block), in case a box of no size reaches Leaflet all the same.
FIT_MAX_ZOOM = 16


def _bounds(d, f, a):
    """[[south, west], [north, east]] around districts, facilities and areas, at least
    :data:`MIN_BOUNDS_DEG` on each side (None when nothing has a location)."""
    boxes = [d.total_bounds] if d is not None else []
    for t in (f, a):
        if isinstance(t, gpd.GeoDataFrame) and len(t):
            boxes.append(t.total_bounds)
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if not boxes:
        return None
    b = np.array(boxes)
    west, south, east, north = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    pad_x, pad_y = max(0.0, MIN_BOUNDS_DEG - (east - west)) / 2, max(0.0, MIN_BOUNDS_DEG - (north - south)) / 2
    return [[float(south - pad_y), float(west - pad_x)], [float(north + pad_y), float(east + pad_x)]]


NUMERIC_DISTRICT_COLUMNS = (
    "pop_total", "pop_60_plus", "cost", "target_slots", "target_beds", "target_childcare_per_1000",
    "target_affordable_share", "target_beds_per_1000_elderly", "target_care_bed_share", "target_access_share",
    "slots_before", "slots_after", "slots_per_1000_before", "slots_per_1000_after",
    "affordable_share_before", "affordable_share_after", "beds_before", "beds_after",
    "beds_per_1000_elderly_before", "beds_per_1000_elderly_after", "care_share_before", "care_share_after",
    "shortfall_slots", "shortfall_affordable", "shortfall_beds", "shortfall_care_beds",
    "shortfall_access_childcare", "shortfall_access_beds", "access_share_childcare", "access_share_beds",
    "access_share_childcare_before", "access_share_beds_before", "score_e2sfca_childcare_before",
    "score_e2sfca_childcare_after", "score_e2sfca_beds_before",
    "score_e2sfca_beds_after", "people_without_reach_childcare", "people_without_reach_beds",
    "areas_without_reach_childcare", "areas_without_reach_beds",
    "care_need", "care_beds_per_care_need_before", "care_beds_per_care_need_after", "target_care_beds_per_care_need",
    "shortfall_care_need_beds", "marginal_cost_childcare_per_1000",
    "marginal_cost_beds_per_1000_elderly", "marginal_cost_affordable_share", "marginal_cost_care_bed_share")


def district_style(fill: str, met: bool) -> dict:
    """Leaflet path style of one district: its shading, and a red outline while it misses a target."""
    if met:
        return {"fillColor": fill, "color": "#4d4d4d", "weight": 1, "dashArray": None}
    return {"fillColor": fill, "color": SHORTFALL_OUTLINE, "weight": 2.5, "dashArray": "5 3"}


def _district_data(d: gpd.GeoDataFrame, choices, start: int, lang: str) -> dict:
    fills = [attainment_colors(attainment(d, m.key, w)) for m, w in choices]
    cols = {c: _json_numbers(display_round(c, _num(d, c)), None) for c in NUMERIC_DISTRICT_COLUMNS}
    reasons = d["shortfall_reason"].to_numpy(object) if "shortfall_reason" in d.columns else [""] * len(d)
    met = d["met"].to_numpy(bool) if "met" in d.columns else np.zeros(len(d), bool)
    synth = _synthetic_mask(d)
    names, dids = d["name"].to_numpy(object), d["district_id"].to_numpy(object)
    geoms = _round_geometry(d.geometry.to_numpy())
    features = []
    for i, g in enumerate(geoms):
        f_i = [fill[i] for fill in fills]
        props = {"style": district_style(f_i[start], bool(met[i])), "fills": f_i, "n": escape_text(names[i]), "id": escape_text(dids[i]),
                 "met": int(met[i]), "why": [escape_text(w) for w in i18n.reason_lines(reasons[i], lang)],
                 "v": {c: cols[c][i] for c in NUMERIC_DISTRICT_COLUMNS}}
        if synth[i]:
            props["syn"] = 1
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": props})
    return {"type": "FeatureCollection", "features": features}


def _has_scores(a) -> bool:
    return a is not None and all(f"score_{m}_{s}_{w}" in a.columns
                                 for m in ("2sfca", "e2sfca") for s in SCORE_TARGETS for w in WHENS)


def _area_data(a: gpd.GeoDataFrame, index: dict, d: pd.DataFrame | None = None) -> str:
    """Area points shared by the access and score layers (GeoJSON text).

    ``properties.v``: need, served in reach, sites in reach, shortfall for
    childcare then beds; with ``d`` (districts) and score columns, then the
    2SFCA before, after and E2SFCA before, after for childcare then beds,
    then E2SFCA in % of target before, after for childcare then beds.
    ``properties.c``: access colour index per service; then score
    attainment colour index childcare before, after, beds before, after.
    """
    cols = []
    colors = []
    for service in ("childcare", "beds"):
        colors.append(access_index(_num(a, f"access_share_{service}")))
        cols += [_num(a, f"need_{service}"), _num(a, f"served_in_reach_{service}"),
                 _num(a, f"sites_in_reach_{service}"), _num(a, f"shortfall_access_{service}")]
    if d is not None and _has_scores(a):
        attained = []
        for service in SCORE_TARGETS:
            cols += [_num(a, f"score_{m}_{service}_{w}") for m in ("2sfca", "e2sfca") for w in WHENS]
            attained += [score_attainment(a, d, service, w) for w in WHENS]
            colors += [attainment_index(x) for x in attained[-2:]]
        cols += attained  # v[16 + 2k + when]: E2SFCA in % of target (the popups show it)
    v = _json_numbers(np.column_stack(cols))
    c = np.column_stack(colors).astype(int).tolist()
    synth = _synthetic_mask(a)
    names = [escape_text(x) for x in a["name"].to_numpy(object)]
    dix = [index.get(str(x), -1) for x in a["district_id"].to_numpy(object)]
    props = []
    for i in range(len(a)):
        p = {"n": names[i], "d": dix[i], "c": c[i], "v": v[i]}
        if synth[i]:
            p["syn"] = 1
        props.append(p)
    return _points_json(_xy(a), props)


def _facility_group(fmap, fmt, f, kind, states, index: dict, label: str, show: bool):
    """A FeatureGroup with one GeoJson per (kind, state); None if nothing to draw."""
    if f is None or not len(f):
        return None
    sel = f["state"].isin(states).to_numpy().copy()
    if kind is not None:
        sel &= (f["kind"] == kind).to_numpy()
    if not sel.any():
        return None
    sub = f.loc[sel]
    group = folium.FeatureGroup(name=label, overlay=True, show=show)
    group.add_to(fmap)
    xy = _xy(sub)
    values, radius = _facility_values(sub)
    names = [escape_text(x) for x in sub["name"].to_numpy(object)]
    fids = [escape_text(x) for x in sub["facility_id"].to_numpy(object)]
    dix = [index.get(str(x), -1) for x in sub["district_id"].to_numpy(object)]
    synth = _synthetic_mask(sub)
    kinds, st = sub["kind"].to_numpy(object), sub["state"].to_numpy(object)
    for k in ("childcare", "eldercare"):
        for s in states:
            idx = np.flatnonzero((kinds == k) & (st == s))
            if not len(idx):
                continue
            props = []
            for j in idx:
                p = {"style": {"radius": radius[j]}, "n": names[j], "id": fids[j], "d": dix[j], "v": values[j]}
                if synth[j]:
                    p["syn"] = 1
                props.append(p)
            dashed = s == "not_opened"
            lyr = folium.GeoJson(
                _EMPTY, control=False,
                marker=folium.CircleMarker(radius=5, weight=1.5 if dashed else 1, color=KIND_STROKE[k], fill=True,
                                           fill_color=STATE_COLORS[s], fill_opacity=0.5 if dashed else 0.85,
                                           dash_array="3 2" if dashed else None,
                                           class_name=f"planner-facility planner-{k} planner-state-{s}"),
                on_each_feature=fmt.on_each(f"facility('{k}', '{s}')"))
            lyr.add_to(group)
            fmap.planner_markers.append(lyr)
            data = InlineData(_points_json(xy[idx], props))
            data.add_to(fmap)
            _Fill(lyr, data, restyle=True).add_to(fmap)
    return group


def _facility_values(f: pd.DataFrame):
    """Per facility: the numbers its popup shows, and the circle radius (px)."""
    num = lambda c: np.nan_to_num(_num(f, c))  # noqa: E731
    kind, state = f["kind"].to_numpy(object), f["state"].to_numpy(object)
    child = kind == "childcare"
    cap = np.where(child, num("slots_after"), num("beds_after"))
    cap = np.where(state == "not_opened", num("max_size"), cap)
    radius = np.round(np.clip(2.5 + np.sqrt(np.maximum(cap, 0)) / 2.2, 3.0, 14.0), 1).tolist()
    c = {k: display_round(k, num(k)) for k in ("slots", "slots_after", "added_slots", "added_affordable", "beds",
                                               "beds_after", "added_beds", "beds_care", "beds_care_after",
                                               "converted_care_beds", "min_size", "max_size")}
    cost = display_round("cost", num("cost"))
    out = []
    for i in range(len(f)):
        if state[i] == "not_opened":
            v = [c["min_size"][i], c["max_size"][i], cost[i]]
        elif child[i]:
            v = [c["slots"][i], c["slots_after"][i], c["added_slots"][i], c["added_affordable"][i], cost[i]]
        else:
            v = [c["beds"][i], c["beds_after"][i], c["added_beds"][i], c["beds_care"][i], c["beds_care_after"][i],
                 c["converted_care_beds"][i], cost[i]]
        out.append([float(x) for x in v])
    return out, radius


def _legend_html(f, has_areas: bool, lang: str, has_scores: bool = False, when: str = "after",
                 has_shapes: bool = False) -> str:
    """The legend's sections (escaped HTML), shared by the HTML file and the live map."""
    t = lambda k: escape_text(i18n.t(k, lang))  # noqa: E731
    parts = []
    if has_shapes:
        parts.append(f'<div class="sec planner-legend-outline"><span class="sw" style="border:2px dashed '
                     f'{SHORTFALL_OUTLINE};background:transparent"></span>{t("legend_shortfall_outline")}</div>')
    if f is not None and len(f):
        present = set(f["state"].astype(str))
        items = []
        for s in DRAWN_STATES + ("not_opened",):
            if s in present:
                style = f"background:{STATE_COLORS[s]}" + (";border-style:dashed" if s == "not_opened" else "")
                items.append(f'<span class="item"><span class="sw dot" style="{style}"></span>'
                             f"{escape_text(i18n.state_label(s, lang))}</span>")
        parts.append(f'<div class="sec planner-legend-states"><b>{t("legend_states")}</b><br>{"".join(items)}</div>')
    if has_areas:
        labels = ["&lt; 50%", "50–80%", "80–100%", "100%"]
        items = "".join(f'<span class="item"><span class="sw" style="background:{c}"></span>{lab}</span>'
                        for c, lab in zip(ACCESS_COLORS, labels))
        parts.append(f'<div class="sec planner-legend-access"><b>{t("legend_access")}</b><br>{items}</div>')
    if has_scores:
        labels = ["&lt; 50%", "50–80%", "80–100%", "≥ 100%"]
        items = "".join(f'<span class="item"><span class="sw" style="background:{c}"></span>{lab}</span>'
                        for c, lab in zip(ATTAINMENT_COLORS, labels))
        parts.append(f'<div class="sec planner-legend-score"><b>{t("legend_score")}</b> '
                     f'(<span class="planner-score-when">{t(when)}</span>)<br>{items}</div>')
    return "".join(parts)


def _title_html(result, lang: str) -> str:
    t = lambda k: escape_text(i18n.t(k, lang))  # noqa: E731
    d = result.districts
    status = t(f"status_{result.status}")
    met = int(d["met"].sum()) if "met" in d.columns else 0
    name = getattr(result.scenario, "name", "") or ""
    return (f'<div class="planner-title"><b>{escape_text(name)}</b><br>{status} · {t("total_cost")} '
            f'{escape_text(i18n.fmt_yuan(result.cost, lang))}<br>{t("districts_met")}: {met}/{len(d)}</div>')


def attribution_text(result, lang: str = "zh") -> str:
    """Plain-text source note: the scenario's data sources and which tables are synthetic."""
    t = lambda k: i18n.t(k, lang)  # noqa: E731
    sc = result.scenario
    sources = (getattr(sc, "attribution", "") or "").strip() or t("attr_user_data")
    synthetic = [i18n.table_label(name, lang) for name in ("districts", "facilities", "areas")
                 if _synthetic_mask(getattr(result, name)).any()]
    sep = "：" if lang == "zh" else ": "
    text = f"{t('attr_data')}{sep}{sources}"
    if synthetic:
        joiner = "、" if lang == "zh" else ", "
        text += f" · {t('attr_synthetic')}{sep}{joiner.join(synthetic)}"
    return f"{text} · {t('attr_plan')}"


# ------------------------------------------------------------------ HTML file

LEVEL_STYLE = {"color": "#222222", "weight": 2.5, "fillOpacity": 0.0, "dashArray": None}


def level_names(result) -> list[str]:
    """The levels above the districts that have outlines to draw, top first."""
    from .levels import Tree

    parents = getattr(result.scenario, "parents", None)
    if parents is None or not len(parents) or not hasattr(result, "rollup"):
        return []
    tree = Tree.from_scenario(result.scenario)
    return [x for x in tree.levels if x in set(tree.level[tree.n_leaves:])]


def _level_rows(result, level: str):
    """``Result.rollup(level)`` rows that have a shape (None when none has)."""
    r = result.rollup(level)
    if not isinstance(r, gpd.GeoDataFrame) or r.geometry.isna().all():
        return None
    return r[r.geometry.notna()]


def level_geometry(result, level: str) -> dict | None:
    """A level's outlines as GeoJSON, each feature's ``id`` its ``district_id`` (None: no shapes)."""
    r = _level_rows(result, level)
    if r is None:
        return None
    pts = r.geometry.representative_point()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(g),
         "properties": {"id": escape_text(str(k)), "at": [round(p.y, 5), round(p.x, 5)]}}  # where the name goes
        for k, g, p in zip(r["district_id"], _round_geometry(r.geometry.to_numpy()), pts)]}


def level_values(result, level: str, lang: str) -> dict:
    """A level's roll-up figures per outline: ``{district_id: [tooltip html, popup html, name]}``."""
    r = _level_rows(result, level)
    if r is None:
        return {}
    return {escape_text(str(row.district_id)): [*_level_text(row._asdict(), lang), escape_text(str(row.name))]
            for row in r.itertuples(index=False)}


def _level_layers(fmap, result, lang: str, level=None) -> dict:
    """One overlay per administrative level above the districts (``Result.rollup``).

    Outlines of each prefecture / province …, with a tooltip and popup of the
    level's figures (per-1,000 before → after and target, shortfall, care need,
    cost). Only ``level`` starts shown; the layer list switches between them.
    Returns ``{"level_<name>": layer}``. The app's live map draws the same
    outlines and texts (:func:`level_geometry`, :func:`level_values`).
    """
    out = {}
    for lv in level_names(result):
        geo = level_geometry(result, lv)
        if geo is None:
            continue
        texts = level_values(result, lv, lang)
        for feat in geo["features"]:
            tip, pop, _ = texts[feat["properties"]["id"]]
            feat["properties"] = {"tip": tip, "pop": pop}
        name = f"{i18n.level_label(lv, lang)} · {i18n.t('layer_level', lang)}"
        layer = folium.GeoJson(geo, name=name, overlay=True,
                               control=True, show=(lv == level), style_function=lambda _: dict(LEVEL_STYLE),
                               tooltip=folium.GeoJsonTooltip(["tip"], labels=False),
                               # as wide as the live map's level popup: narrower, its labels wrapped a character a line
                               popup=folium.GeoJsonPopup(["pop"], labels=False, max_width=360, min_width=280))
        layer.add_to(fmap)
        out[f"level_{lv}"] = layer
    return out


def _level_text(v: dict, lang: str) -> tuple[str, str]:
    """Tooltip and popup HTML of one roll-up row (every user string escaped)."""
    t = lambda k: escape_text(i18n.t(k, lang))  # noqa: E731
    num, rate, share = i18n.fmt_number, i18n.fmt_rate, i18n.fmt_share

    def arrow(key, fmt, target):
        b, a, tg = v.get(f"{key}_before"), v.get(f"{key}_after"), v.get(target)
        tg_txt = "" if tg is None or (isinstance(tg, float) and np.isnan(tg)) else f" ({t('target')} {fmt(tg)})"
        return f"{escape_text(fmt(b))} → <b>{escape_text(fmt(a))}</b>{escape_text(tg_txt)}"

    name = escape_text(str(v.get("name", "")))
    met = int(v.get("districts_met", 0)), int(v.get("districts", 0))
    tip = (f"<b>{name}</b><br>{t('measure_slots')}: {arrow('slots_per_1000', rate, 'target_childcare_per_1000')}"
           f"<br>{t('measure_beds')}: {arrow('beds_per_1000_elderly', rate, 'target_beds_per_1000_elderly')}")
    rows = [(t("measure_slots"), arrow("slots_per_1000", rate, "target_childcare_per_1000")),
            (escape_text(i18n.column_label("shortfall_slots", lang)), escape_text(num(v.get("shortfall_slots", 0)))),
            (t("measure_beds"), arrow("beds_per_1000_elderly", rate, "target_beds_per_1000_elderly")),
            (escape_text(i18n.column_label("shortfall_beds", lang)), escape_text(num(v.get("shortfall_beds", 0)))),
            (t("measure_care"), arrow("care_share", share, "target_care_bed_share"))]
    if (v.get("care_need") or 0) > 0:
        rows.append((t("care_need_per_person"),
                     arrow("care_beds_per_care_need", rate, "target_care_beds_per_care_need")))
    rows += [(t("population"), escape_text(num(v.get("pop_total", 0)))),
             (t("cost"), escape_text(i18n.fmt_yuan(v.get("cost", 0.0), lang))),
             (t("level_districts_met"), f"{met[0]} / {met[1]}")]
    pop = (f"<b>{name}</b><table class='planner-table'>"
           + "".join(f"<tr><th>{k}</th><td>{x}</td></tr>" for k, x in rows) + "</table>")
    # marginal costs of the level's targets (Result.rollup), one line under the table as in the district popup
    mc = [(t(word), v[col]) for word, col in LEVEL_MARGINAL_COSTS if col in v]
    if mc:
        pop += (f"<div class='planner-note planner-wrap'>{t('mc_title')}: "
                + " · ".join(f"{w} {escape_text(i18n.fmt_yuan_per_unit(x, lang))}" for w, x in mc) + "</div>")
    return tip, pop


#: Words and roll-up columns of the marginal-cost line in a level's popup.
LEVEL_MARGINAL_COSTS = (("mc_childcare", "marginal_cost_childcare_per_1000"),
                        ("mc_beds", "marginal_cost_beds_per_1000_elderly"),
                        ("mc_affordable", "marginal_cost_affordable_share"),
                        ("mc_care", "marginal_cost_care_bed_share"))


def map_html(result, lang: str = "zh", tiles: str | None = None, **kwargs) -> str:
    """The map as one self-contained HTML document (see :func:`build_map`).

    With ``tiles`` the tile layer is added after the offline check: the file
    then fetches tiles when opened online and still works, without them,
    offline. Everything else is inlined either way.
    """
    fmap = build_map(result, lang=lang, tiles=None, **kwargs)
    document = standalone_html(fmap)
    if tiles is not None:
        document = _with_tiles(document, fmap, tiles, lang)
    return document


def _with_tiles(document: str, fmap, tiles: str, lang: str) -> str:
    import json

    layer = folium.TileLayer(tiles)
    options = {camelize(k): v for k, v in layer.options.items()}
    js = lambda v: json.dumps(v).replace("</", "<\\/")  # noqa: E731
    script = (
        "<script>/* planner: tile layer requested by the user (needs internet) */\n(function () {\n"
        f"  var t = L.tileLayer({js(layer.tiles)}, {js(options)});\n"
        f"  t.addTo({fmap.get_name()}); t.bringToBack();\n"
        f"  {fmap.planner_control.get_name()}.addOverlay(t, {js(i18n.t('layer_tiles', lang))});\n"
        "})();\n</script>\n")
    cut = document.rfind("</html>")
    return document[:cut] + script + document[cut:]


def write_html(result, path, lang: str = "zh", tiles: str | None = None, **kwargs):
    """Write the map as one self-contained HTML file, atomically.

    Refuses to overwrite the scenario's input files. Returns the Path.
    """
    from pathlib import Path

    path = Path(path)
    document = map_html(result, lang=lang, tiles=tiles, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_html_atomic(document, path, protect=_protect(result))


def _protect(result) -> list:
    sources = getattr(result.scenario, "sources", {}) or {}
    return [p for p in sources.values() if p and os.path.exists(str(p))]


# ------------------------------------------------------------------ static PNG

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Noto Sans CJK JP")


def cjk_font() -> str | None:
    """The first installed font family that renders Chinese, or None.

    Looks in matplotlib's font list, then registers CJK font files it may
    have skipped (matplotlib's cache leaves out ``.ttc`` collections such as
    Debian's ``fonts-wqy-microhei`` and ``fonts-noto-cjk``).
    """
    from matplotlib import font_manager

    def first():
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in installed), None)

    found = first()
    if found is None:
        for file in font_manager.findSystemFonts():
            if _CJK_FILE.search(os.path.basename(file)):
                try:
                    font_manager.fontManager.addfont(file)
                except Exception:  # an unreadable font file: try the next one
                    continue
        found = first()
    return found


_CJK_FILE = re.compile(r"wqy|noto.*cjk|sourcehan|droidsansfallback|simhei|msyh|pingfang", re.I)


def font_for(lang: str) -> tuple[str | None, str]:
    """(CJK font family or None, language to draw in): without a Chinese font, English labels and a warning."""
    font = cjk_font()
    if font is None and lang == "zh":
        warnings.warn("no Chinese font found (install fonts-noto-cjk or fonts-wqy-microhei); "
                      "the figure uses English labels", RuntimeWarning, stacklevel=3)
        lang = "en"
    return font, lang


def write_png(result, path, lang: str = "zh", measure: str = "slots", when: str = "after",
              dpi: int = 150, width_in: float = 8.0):
    """Draw the attainment map as a PNG for reports, atomically.

    Districts shaded by ``measure`` ÷ target (default: slots per 1,000 after
    the plan), with legend, title and attribution. Without district
    polygons, the demand areas are drawn as points in their district's
    colour. If no CJK font is installed, labels fall back to English with a
    warning (install Debian ``fonts-noto-cjk`` or ``fonts-wqy-microhei``).

    Returns the Path written.
    """
    from pathlib import Path

    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from .io import write_atomic

    i18n.check_lang(lang)
    m = _measure(measure)
    font, lang = font_for(lang)
    t = lambda k: i18n.t(k, lang)  # noqa: E731
    d = result.districts
    att = attainment(d, m.key, when)
    colors = attainment_colors(att)
    has_shapes = _has_polygons(d)

    if has_shapes:
        minx, miny, maxx, maxy = d.total_bounds
    else:
        xy = _xy(result.areas)
        (minx, miny), (maxx, maxy) = xy.min(axis=0), xy.max(axis=0)
    stretch = 1 / math.cos(math.radians((miny + maxy) / 2))  # lon/lat → roughly equal-area look
    ratio = (maxy - miny) * stretch / max(maxx - minx, 1e-9)
    map_h = float(np.clip(width_in * 0.9 * ratio, width_in * 0.45, width_in * 1.35))
    top, bottom = 0.9, 0.55  # inches for the titles and the attribution
    fig_h = map_h + top + bottom

    rc = {"font.family": ([font] if font else []) + ["DejaVu Sans"], "axes.unicode_minus": False}
    with rc_context(rc):
        fig = Figure(figsize=(width_in, fig_h), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_axes([0.03, bottom / fig_h, 0.94, map_h / fig_h])
        if has_shapes:
            gd = gpd.GeoDataFrame({"c": colors}, geometry=d.geometry.to_numpy(), crs=d.crs)
            gd.plot(ax=ax, color=gd["c"], edgecolor="#4d4d4d", linewidth=0.4)
            if len(d) <= 40:
                pts = d.geometry.representative_point()
                show_names = font is not None or all(str(x).isascii() for x in d["name"])
                for x, y, label in zip(pts.x, pts.y, d["name" if show_names else "district_id"].astype(str)):
                    ax.annotate(label, (x, y), ha="center", va="center", fontsize=7, color="#222222")
        else:
            ids = dict(zip(d["district_id"].astype(str), colors))
            ax.scatter(xy[:, 0], xy[:, 1], s=6, c=[ids.get(str(x), NO_DATA_COLOR) for x in result.areas["district_id"]],
                       linewidths=0)
        ax.set_aspect(stretch)
        ax.set_axis_off()
        labels = ["< 50%", "50–80%", "80–100%", "≥ 100%"]
        handles = [Patch(facecolor=c, edgecolor="#4d4d4d", label=lab) for c, lab in zip(ATTAINMENT_COLORS, labels)]
        if np.isnan(att).any():
            handles.append(Patch(facecolor=NO_DATA_COLOR, edgecolor="#4d4d4d", label=t("no_data")))
        ax.legend(handles=handles, title=t("legend_attainment"), loc="lower right", fontsize=8, title_fontsize=8,
                  frameon=True, framealpha=0.9)
        title = t("png_title").format(measure=t("measure_" + m.key), when=t(when))
        name = getattr(result.scenario, "name", "") or ""
        fig.text(0.5, 1 - 0.2 / fig_h, title, ha="center", va="top", fontsize=14)
        fig.text(0.5, 1 - 0.55 / fig_h, name, ha="center", va="top", fontsize=9, color="#444444")
        fig.text(0.03, 0.08 / fig_h, _wrap(attribution_text(result, lang), 140 if lang == "en" else 110),
                 ha="left", va="bottom", fontsize=6, color="#555555")

        def save(tmp):
            with warnings.catch_warnings():
                if font is None:  # already warned once; names in CJK show as boxes
                    warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
                fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")

        return write_atomic(Path(path), save, _protect(result))


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


# ------------------------------------------------------------------ live map data (planner.widgets.LiveMap)
#
# The app's live map gets the geometry once (live_geometry) and, after each
# solve, only the values (live_values): colours, popup numbers, states. The
# colours, radii, popup formatters (_FORMAT_JS), district labels (LABELS_JS)
# and legend (_legend_html) are the ones the HTML file uses.

#: Facility states as the live map codes them (index into this tuple).
LIVE_STATES = DRAWN_STATES + ("not_opened",)


def live_geometry(districts, facilities, areas) -> dict:
    """What the live map draws once: district shapes, label points, facility and area points.

    Features are keyed by id; ``d`` is a district's index in ``names`` (the
    formatters' district list). Names are escaped here.
    """
    d = districts
    ids = d["district_id"].astype(str).tolist()
    index = {k: i for i, k in enumerate(ids)}
    out = {"ids": ids, "names": [escape_text(n) for n in d["name"].astype(str)], "districts": None, "labels": []}
    if _has_polygons(d):
        geoms = _round_geometry(d.geometry.to_numpy())
        out["districts"] = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {"i": i, "id": escape_text(k)}}
            for i, (g, k) in enumerate(zip(geoms, ids))]}
        out["labels"] = label_points(d)
        out["bounds"] = _bounds(d, None, None)
    for key, frame, id_col in (("facilities", facilities, "facility_id"), ("areas", areas, "area_id")):
        if frame is None or not len(frame):
            out[key] = {"ids": [], "xy": [], "n": [], "d": [], "syn": []}
            continue
        xy = _xy(frame)
        out[key] = {"ids": frame[id_col].astype(str).tolist(), "xy": xy[:, ::-1].tolist(),  # lat, lon
                    "n": [escape_text(x) for x in frame["name"].to_numpy(object)],
                    "d": [index.get(str(x), -1) for x in frame["district_id"].to_numpy(object)],
                    "syn": _synthetic_mask(frame).astype(int).tolist()}
        if key == "facilities":
            out[key]["kind"] = frame["kind"].astype(str).tolist()
    if "bounds" not in out:
        out["bounds"] = _bounds(None, facilities, areas)
    return out


def live_setup(lang: str, has_facilities: bool = True, has_areas: bool = True, has_shapes: bool = True) -> dict:
    """The live map's words and palettes in one language (sent again only when the language changes)."""
    i18n.check_lang(lang)
    choices = [(m, w) for m in MEASURES for w in WHENS]
    t = lambda k: escape_text(i18n.t(k, lang))  # noqa: E731
    attain_labels = ["&lt; 50%", "50–80%", "80–100%", "≥ 100%"]
    attain = "".join(f'<span class="item"><span class="sw" style="background:{c}"></span>{lab}</span>'
                     for c, lab in zip(ATTAINMENT_COLORS, attain_labels))
    legend = (f'<div class="sec planner-legend-attainment"><b>{t("legend_attainment")}</b><br>{attain}</div>'
              if has_shapes else "")
    states = pd.DataFrame({"state": list(LIVE_STATES)}) if has_facilities else None
    legend += _legend_html(states, has_areas, lang, False, "after", has_shapes)
    layers = {"districts": t("layer_districts"), "labels": t("map_labels"), "childcare": t("layer_childcare"),
              "eldercare": t("layer_eldercare"), "not_opened": t("layer_not_opened"),
              "access_childcare": t("layer_access_childcare"), "access_beds": t("layer_access_beds")}
    return {"lang": lang, "labels": format_labels(lang), "legend": legend, "layers": layers,
            "choices": [escape_text(i18n.measure_label(m.key, w, lang)) for m, w in choices],
            "start": choices.index((_measure(DEFAULT_SHADING[0]), DEFAULT_SHADING[1])),
            "shading": t("map_shading"), "legend_title": t("legend"), "fullscreen": t("map_fullscreen"),
            "palette": list(ACCESS_COLORS) + [NO_DATA_COLOR], "attain": list(ATTAINMENT_COLORS) + [NO_DATA_COLOR],
            "states": list(LIVE_STATES), "state_colors": [STATE_COLORS[s] for s in LIVE_STATES],
            "kind_stroke": KIND_STROKE, "outline": SHORTFALL_OUTLINE, "most": LABEL_MAX_IN_VIEW,
            "max_zoom": FIT_MAX_ZOOM}


def live_values(result, lang: str = "zh", areas: bool = True) -> dict:
    """A plan's values for the live map, keyed by feature id.

    Returns ``{"districts": {id: {"fills", "met", "why", "v"}}, "facilities":
    {id: [state index, radius px, popup numbers...]}, "areas": {id: [colour
    index childcare, beds, need, served, sites, shortfall (childcare then
    beds)]}, "bounds": [[south, west], [north, east]]}``. The live map diffs
    these per id, so a solve sends only what changed. ``areas=False`` leaves
    the areas out (empty), for a map whose reach layers are hidden.
    """
    d, f, a = result.districts, result.facilities, result.areas
    out = {"districts": {}, "facilities": {}, "areas": {}, "bounds": None}
    choices = [(m, w) for m in MEASURES for w in WHENS]
    if len(d):
        fills = [attainment_colors(attainment(d, m.key, w)) for m, w in choices]
        cols = {c: _json_numbers(display_round(c, _num(d, c)), None) for c in NUMERIC_DISTRICT_COLUMNS}
        reasons = d["shortfall_reason"].to_numpy(object) if "shortfall_reason" in d.columns else [""] * len(d)
        met = d["met"].to_numpy(bool) if "met" in d.columns else np.zeros(len(d), bool)
        for i, k in enumerate(d["district_id"].astype(str)):
            out["districts"][k] = {"fills": [fl[i] for fl in fills], "met": int(met[i]),
                                   "why": [escape_text(w) for w in i18n.reason_lines(reasons[i], lang)],
                                   "v": {c: cols[c][i] for c in NUMERIC_DISTRICT_COLUMNS}}
    if f is not None and len(f):
        values, radius = _facility_values(f)
        code = {s: i for i, s in enumerate(LIVE_STATES)}
        short = lambda x: int(x) if x == int(x) else round(x, 2)  # noqa: E731 - finite: _facility_values
        for k, s, r, v in zip(f["facility_id"].astype(str).to_numpy(object), f["state"].astype(str).to_numpy(object),
                              radius, values):
            out["facilities"][k] = [code.get(s, 0), r] + [short(x) for x in v]
    if areas and a is not None and len(a):
        cols, colors = [], []
        for service in ("childcare", "beds"):
            colors.append(access_index(_num(a, f"access_share_{service}")))
            cols += [_num(a, f"need_{service}"), _num(a, f"served_in_reach_{service}"),
                     _num(a, f"sites_in_reach_{service}"), _num(a, f"shortfall_access_{service}")]
        v = _json_numbers(np.column_stack(cols))
        c = np.column_stack(colors).astype(int).tolist()
        out["areas"] = {k: ci + vi for k, ci, vi in zip(a["area_id"].astype(str), c, v)}
    has_shapes = _has_polygons(d)
    out["bounds"] = _bounds(d if has_shapes else None, f, a)
    out["attribution"] = escape_text(attribution_text(result, lang))
    return out


# ------------------------------------------------------------------ phased plans: a map per year

def years_html(result, lang: str = "zh", tiles: str | None = None, **kwargs) -> str:
    """A phased plan's maps, one per plan year, behind a year selector: one self-contained page.

    Each year's map is the single-year map of :func:`map_html` (the year's
    tables), held in an ``<iframe srcdoc>`` so the maps stay independent;
    all are laid out full size (so each map fits to its data) and only the
    chosen one is visible. The page is about one map's size times the number
    of years.
    """
    import html as _html

    i18n.check_lang(lang)
    years = result.years
    frames, buttons = [], []
    for k, y in enumerate(years):
        doc = map_html(result.for_year(y), lang=lang, tiles=tiles, **kwargs)
        last = k == len(years) - 1
        frames.append(f'<iframe class="planner-year-map" data-year="{y}" title="{y}" '
                      f'style="visibility:{"visible" if last else "hidden"}" srcdoc="{_html.escape(doc, quote=True)}"></iframe>')
        buttons.append(f'<button type="button" data-year="{y}"{" class=on" if last else ""}>{y}</button>')
    title = _html.escape(f"{result.scenario.name} · {i18n.t('year', lang)}")
    return f"""<!DOCTYPE html>
<html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>
html, body {{ margin: 0; height: 100%; font: 13px "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei",
  "Noto Sans CJK SC", sans-serif; }}
#planner-years {{ position: absolute; top: 0; left: 0; right: 0; height: 34px; padding: 4px 8px;
  box-sizing: border-box; background: #f4f3ef; border-bottom: 1px solid #ccc; }}
#planner-years button {{ margin-right: 4px; padding: 3px 10px; border: 1px solid #888; background: #fff;
  border-radius: 3px; cursor: pointer; }}
#planner-years button.on {{ background: #2471a3; color: #fff; border-color: #2471a3; }}
iframe.planner-year-map {{ position: absolute; top: 34px; left: 0; width: 100%; height: calc(100% - 34px);
  border: 0; }}
</style></head><body>
<div id="planner-years"><b>{_html.escape(i18n.t("w_year_shown", lang))}:</b> {"".join(buttons)}</div>
{"".join(frames)}
<script>
(function () {{
  var buttons = document.querySelectorAll('#planner-years button');
  var maps = document.querySelectorAll('iframe.planner-year-map');
  buttons.forEach(function (b) {{
    b.addEventListener('click', function () {{
      buttons.forEach(function (o) {{ o.classList.toggle('on', o === b); }});
      maps.forEach(function (m) {{ m.style.visibility = m.dataset.year === b.dataset.year ? 'visible' : 'hidden'; }});
    }});
  }});
}})();
</script></body></html>
"""


def write_years_html(result, path, lang: str = "zh", tiles: str | None = None, **kwargs):
    """Write :func:`years_html` atomically (never over the scenario's inputs); returns the Path."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_html_atomic(years_html(result, lang=lang, tiles=tiles, **kwargs), path,
                             protect=_protect(result))
