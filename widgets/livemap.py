"""LiveMap: the app's map as one Leaflet map that stays on the page across solves.

The folium document the app used to show was rebuilt (2.5 MB) and parsed again
in a fresh iframe after every slider step. Here the geometry goes to the
browser once (:func:`planner.maps.live_geometry`); after a solve the widget
sends only the values that changed (:func:`planner.maps.live_values`): fill
colours, popup numbers (at the precision the popups show, district numbers as
one list per changed column), facility states (keyed by their index in the
geometry), as one compact JSON buffer. Zoom and pan survive a solve; a new region (a different set of
districts) is fitted once.

Why anywidget and not ipyleaflet: ipyleaflet's ``GeoJSON`` layer restyles by
sending its whole ``data`` again (the province's districts alone are about
0.9 MB with geometry), and ipyleaflet loads its own Leaflet build; anywidget
runs our vendored Leaflet (``planner/static/leaflet``, inlined into the
module, so nothing is fetched) and lets a solve send a diff.

Views: values are kept per *view* key (``"plan"`` by default). A level or year
selector adds views with :meth:`LiveMap.show` (``view=...``) and switches with
:meth:`LiveMap.select_view`; the browser always gets the selected view's
values, diffed against what it already has.

Colours, popups, district labels and the legend come from :mod:`planner.maps`,
the same code as the shareable HTML file.
"""

from __future__ import annotations

import functools
import json
import re

import anywidget
import traitlets

from planner import maps
from planner._html import _css_with_data_uris, _static_root

__all__ = ["LiveMap"]


_APP_JS = r"""
const FMT_FACTORY = __FORMAT_JS__;
const LABELS_FACTORY = __LABELS_JS__;
(__SQUARE_JS__)(L);

function mk(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) { e.className = cls; }
  if (parent) { parent.appendChild(e); }
  return e;
}

function render({ model, el }) {
  const G = model.get('geometry');
  let S = model.get('setup');
  el.classList.add('planner-live');
  const bar = mk('div', 'planner-live-bar', el);
  const box = mk('div', 'planner-live-map', el);
  box.style.height = model.get('height_px') + 'px';
  const legend = mk('details', 'planner-live-legend planner-legend planner-fold', el);
  legend.open = true;

  const map = L.map(box, { zoomSnap: 0.25, zoomControl: true, attributionControl: true });
  L.control.scale({ imperial: false }).addTo(map);
  map.setView([0, 0], 2);
  const reg = (globalThis.__plannerLiveMaps = globalThis.__plannerLiveMaps || []);
  reg.push(map);
  el.__plannerMap = map;
  el.dataset.mapIndex = String(reg.length - 1);
  el.dataset.rev = '-1';

  // points above the district shapes (the shapes' fill must not tint them)
  map.createPane('plannerPoints').style.zIndex = 450;
  const svg = L.svg({ padding: 0.3 }), canvas = L.canvas({ padding: 0.3, pane: 'plannerPoints' });
  let FMT = null;
  const fmt = () => FMT;
  function newFormatters() {
    FMT = FMT_FACTORY(S.labels, G.names, S.palette, { attain: S.attain, when: 1, targets: [] });
  }
  newFormatters();
  let choice = S.start;

  // ---- districts: one path per district, kept; values change its style and popup numbers
  const dist = {};
  const districtLayer = L.geoJSON(G.districts || { type: 'FeatureCollection', features: [] }, {
    renderer: svg,
    style: () => ({ color: '#4d4d4d', weight: 1, fillOpacity: 0.7, fillColor: S.attain[S.attain.length - 1],
                    className: 'planner-district' }),
    onEachFeature: (f, l) => {
      const p = f.properties;
      p.n = G.names[p.i]; p.v = {}; p.why = []; p.met = 1; p.fills = [];
      dist[G.ids[p.i]] = { l: l, f: f, on: false };
    },
  });
  districtLayer.clearLayers();
  districtLayer.addTo(map);
  function districtStyle(p) {
    const fill = p.fills[choice] || S.attain[S.attain.length - 1];
    return p.met ? { fillColor: fill, color: '#4d4d4d', weight: 1, dashArray: null }
                 : { fillColor: fill, color: S.outline, weight: 2.5, dashArray: '5 3' };
  }
  const labels = LABELS_FACTORY(L, map, G.labels.map((x) => x.slice()), S.most);

  // ---- facilities: one circle each, in the group of its kind (or 'not opened')
  const groups = { childcare: L.layerGroup().addTo(map), eldercare: L.layerGroup().addTo(map),
                   not_opened: L.layerGroup() };
  const fac = {};
  G.facilities.ids.forEach((id, i) => {
    const kind = G.facilities.kind[i];
    const m = L.circleMarker(G.facilities.xy[i], { renderer: canvas, radius: 4, weight: 1,
                                                     color: S.kind_stroke[kind] || '#333', fillOpacity: 0.85 });
    const f = { properties: { n: G.facilities.n[i], id: id, d: G.facilities.d[i], syn: G.facilities.syn[i], v: [] } };
    m.feature = f;
    fac[id] = { m: m, f: f, kind: kind, state: -1, r: 4, group: null };
  });
  function zoomK(lo, hi) { return Math.min(hi, Math.max(lo, Math.pow(2, (map.getZoom() - 11) / 2))); }
  function restyleFacility(e) {
    const s = S.states[e.state], dashed = s === 'not_opened';
    e.m.setStyle({ fillColor: S.state_colors[e.state], dashArray: dashed ? '3 2' : null,
                   fillOpacity: dashed ? 0.5 : 0.85, weight: dashed ? 1.5 : 1 });
    e.m.setRadius(e.r * zoomK(0.3, 1.2));
  }

  // ---- demand areas: need served within reach, one layer per service (made when first shown)
  const areaFeat = {};
  G.areas.ids.forEach((id, i) => {
    areaFeat[id] = { properties: { n: G.areas.n[i], d: G.areas.d[i], syn: G.areas.syn[i], c: [4, 4], v: [] },
                     on: false, i: i };
  });
  const areaLayers = {};
  function areaLayer(k) {
    if (areaLayers[k]) { return areaLayers[k]; }
    const g = L.layerGroup(), markers = {};
    G.areas.ids.forEach((id, i) => {
      markers[id] = L.circleMarker(G.areas.xy[i], { renderer: canvas, radius: 3, weight: 0.8, color: '#333',
                                                      fillOpacity: 0.9, className: 'planner-area' });  // a square
    });
    areaLayers[k] = { g: g, markers: markers };
    refreshAreas(k, Object.keys(areaFeat));
    return areaLayers[k];
  }
  const services = ['childcare', 'beds'];
  function refreshAreas(k, ids) {
    const A = areaLayers[k];
    if (!A) { return; }
    const r = 3 * zoomK(0.6, 1.3);
    ids.forEach((id) => {
      const f = areaFeat[id], m = A.markers[id];
      if (!f || !m) { return; }
      if (f.on) {
        FMT.area(services[k], k)(f, m);
        m.setRadius(r);
        if (!A.g.hasLayer(m)) { A.g.addLayer(m); }
      } else if (A.g.hasLayer(m)) { A.g.removeLayer(m); }
    });
  }

  // ---- applying values (full or diff), then telling the page what revision is painted
  let rev = -1, pendingFit = null;
  function fit(b) {
    const size = map.getSize();
    if (!(size.x > 0 && size.y > 0)) { pendingFit = b; return; }
    pendingFit = null;
    map.invalidateSize(false);
    map.fitBounds(L.latLngBounds(b), { padding: [12, 12], maxZoom: S.max_zoom, animate: false });
  }
  let regionBounds = null, attribution = null;
  function apply(msg) {
    if (!msg.full && msg.rev !== rev + 1) { model.send({ type: 'ready' }); return; }
    const t0 = performance.now();
    if (msg.full) {
      Object.values(dist).forEach((e) => { e.on = false; });
      Object.values(fac).forEach((e) => { e.on = false; });
      Object.values(areaFeat).forEach((e) => { e.on = false; });
    }
    const D = msg.districts || {};
    for (const id in D) {
      const e = dist[id];
      if (!e) { continue; }
      const val = D[id];
      if (val === null) { e.on = false; e.seen = false; continue; }
      const p = e.f.properties;
      e.on = true;
      if (msg.full || !e.seen) { for (const k in p.v) { delete p.v[k]; } }
      if (val.v) { Object.assign(p.v, val.v); }
      if (val.fills) { p.fills = val.fills; }
      if (val.met !== undefined) { p.met = val.met; }
      if (val.why) { p.why = val.why; }
      e.seen = true;
      e.dirty = true;
    }
    // popup numbers that changed, a column each (ids are not repeated): a list in geometry order,
    // or {index: value} when few districts changed; only shown districts take them
    const DV = msg.district_v || {};
    for (const c in DV) {
      const col = DV[c];
      const put = (i, x) => { const e = dist[G.ids[i]]; if (e && e.on) { e.f.properties.v[c] = x; } };
      if (Array.isArray(col)) { col.forEach((x, i) => put(i, x)); } else { for (const i in col) { put(+i, col[i]); } }
    }
    Object.values(dist).forEach((e, i) => {
      const l = e.l, p = e.f.properties;
      labels.show(p.i, e.on);
      if (!e.on) { if (districtLayer.hasLayer(l)) { districtLayer.removeLayer(l); } return; }
      if (!districtLayer.hasLayer(l)) { districtLayer.addLayer(l); e.dirty = true; e.bound = false; }
      if (e.dirty) { l.setStyle(districtStyle(p)); e.dirty = false; }
      if (!e.bound) { FMT.district(e.f, l); e.bound = true; }
    });
    const F = msg.facilities || {};  // keyed by index in geometry order
    for (const i in F) {
      const e = fac[G.facilities.ids[+i]];
      if (!e) { continue; }
      const val = F[i];
      if (val === null) { e.on = false; continue; }
      e.on = true;
      const v = e.f.properties.v;
      v.length = 0;
      for (let j = 2; j < val.length; j++) { v.push(val[j]); }
      e.r = val[1];
      if (val[0] !== e.state) { e.state = val[0]; e.bound = false; }
      restyleFacility(e);
    }
    Object.values(fac).forEach((e) => {
      const want = e.on ? (S.states[e.state] === 'not_opened' ? groups.not_opened : groups[e.kind]) : null;
      if (e.group !== want) {
        if (e.group) { e.group.removeLayer(e.m); }
        if (want) { want.addLayer(e.m); }
        e.group = want;
      }
      if (e.on && !e.bound) { FMT.facility(e.kind, S.states[e.state])(e.f, e.m); e.bound = true; }
    });
    // areas come as columns in geometry order (only the columns that changed): column 0 says
    // whether the area is in the plan, 1–2 the colour per service, 3.. the tooltip numbers
    const A = msg.areas || {};
    if (Object.keys(A).length) {
      G.areas.ids.forEach((id, i) => {
        const p = areaFeat[id].properties;
        if (A[0]) { areaFeat[id].on = A[0][i] === 1; }
        if (A[1]) { p.c[0] = A[1][i]; }
        if (A[2]) { p.c[1] = A[2][i]; }
        for (const j in A) { if (j >= 3) { p.v[j - 3] = A[j][i]; } }
      });
      [0, 1].forEach((k) => refreshAreas(k, Object.keys(areaFeat)));
    }
    rev = msg.rev;
    el.dataset.rev = String(rev);
    if (msg.bounds) { regionBounds = msg.bounds; }
    if (msg.attribution && msg.attribution !== attribution) {  // data sources, what is synthetic
      if (attribution) { map.attributionControl.removeAttribution(attribution); }
      attribution = msg.attribution;
      map.attributionControl.addAttribution(attribution);
    }
    if (msg.fit && regionBounds) { fit(regionBounds); }
    labels.update();
    el.dataset.applyMs = (performance.now() - t0).toFixed(1);  // for the browser benchmark
    requestAnimationFrame(() => { el.dataset.paintedRev = String(rev); });
  }

  // ---- controls outside the map: shading, layers, fullscreen; legend below
  function drawBar() {
    bar.innerHTML = '';
    const lab = mk('label', 'planner-live-shading', bar);
    lab.appendChild(document.createTextNode(S.shading + ' '));
    const sel = mk('select', 'planner-live-choice', lab);
    S.choices.forEach((c, i) => { const o = mk('option', '', sel); o.value = String(i); o.innerHTML = c; });
    sel.value = String(choice);
    sel.onchange = () => {
      choice = +sel.value;
      Object.values(dist).forEach((e) => { if (e.on) { e.l.setStyle(districtStyle(e.f.properties)); } });
    };
    const toggles = [['districts', districtLayer], ['labels', labels.layer], ['childcare', groups.childcare],
                     ['eldercare', groups.eldercare], ['not_opened', groups.not_opened],
                     ['access_childcare', null], ['access_beds', null]];
    toggles.forEach(([key, layer]) => {
      const k = key === 'access_childcare' ? 0 : key === 'access_beds' ? 1 : -1;
      if (k >= 0 && !G.areas.ids.length) { return; }
      if ((key === 'districts' || key === 'labels') && !G.districts) { return; }
      const lb = mk('label', 'planner-live-toggle planner-live-' + key, bar);
      const cb = mk('input', '', lb);
      cb.type = 'checkbox';
      const lyr = () => (k >= 0 ? areaLayer(k).g : layer);
      cb.checked = k >= 0 ? !!(areaLayers[k] && map.hasLayer(areaLayers[k].g)) : map.hasLayer(layer);
      cb.onchange = () => {
        if (cb.checked) { lyr().addTo(map); } else { map.removeLayer(lyr()); }
        if (k >= 0) {
          model.send({ type: 'areas', on: [0, 1].some((j) => areaLayers[j] && map.hasLayer(areaLayers[j].g)) });
        }
        legend.querySelectorAll('.planner-legend-access').forEach((x) => {
          x.style.display = [0, 1].some((j) => areaLayers[j] && map.hasLayer(areaLayers[j].g)) ? '' : 'none';
        });
        if (key === 'labels' && cb.checked) { labels.update(); }
      };
      lb.appendChild(document.createTextNode(' ' + S.layers[key]));
    });
    const full = mk('button', 'planner-live-fullscreen', bar);
    full.type = 'button';
    full.textContent = S.fullscreen;
    full.onclick = () => {
      if (document.fullscreenElement) { document.exitFullscreen(); } else if (el.requestFullscreen) { el.requestFullscreen(); }
    };
    legend.innerHTML = '<summary>' + S.legend_title + '</summary>' + S.legend;
    legend.querySelectorAll('.planner-legend-access').forEach((x) => {
      x.style.display = [0, 1].some((j) => areaLayers[j] && map.hasLayer(areaLayers[j].g)) ? '' : 'none';
    });
  }
  drawBar();

  document.addEventListener('fullscreenchange', () => {
    box.style.height = document.fullscreenElement === el ? 'calc(100vh - 90px)' : model.get('height_px') + 'px';
    map.invalidateSize(false);
    if (regionBounds) { fit(regionBounds); }
  });
  const ro = new ResizeObserver(() => {
    const s = map.getSize(), w = box.clientWidth, h = box.clientHeight;
    if (w > 0 && h > 0 && (s.x !== w || s.y !== h)) { map.invalidateSize(false); }
    if (pendingFit && w > 0 && h > 0) { fit(pendingFit); }
  });
  ro.observe(box);
  map.on('zoomend', () => {
    Object.values(fac).forEach((e) => { if (e.on) { e.m.setRadius(e.r * zoomK(0.3, 1.2)); } });
    [0, 1].forEach((k) => refreshAreas(k, Object.keys(areaFeat)));
  });

  // ---- a level above the districts (prefectures, the province): outlines, and each level district's
  // name as a marker carrying its roll-up figures (tooltip, popup on click); the outlines take no clicks,
  // so the districts and facilities underneath keep theirs
  map.createPane('plannerLevel').style.zIndex = 420;
  map.createPane('plannerLevelNames').style.zIndex = 680;  // above the district names, below popups
  let levelLayer = null, levelNames = null, levelShown = '', levelMarks = {};
  function drawLevel() {
    const V = model.get('level') || {}, LG = model.get('level_geometry') || {};
    const vals = V.values || {};
    const key = V.level && LG[V.level] ? V.level : '';
    if (key && key === levelShown) {  // the same level after a solve: new figures, an open popup stays open
      Object.keys(levelMarks).forEach((id) => {
        const t = vals[id];
        if (t) { levelMarks[id].setTooltipContent(t[0]).setPopupContent(t[1]); }
      });
      return;
    }
    if (levelLayer) { map.removeLayer(levelLayer); levelLayer = null; }
    if (levelNames) { map.removeLayer(levelNames); levelNames = null; }
    levelMarks = {};
    levelShown = key;
    el.dataset.level = key;
    if (!key) { return; }
    levelLayer = L.geoJSON(LG[key], {
      pane: 'plannerLevel', renderer: L.svg({ padding: 0.3, pane: 'plannerLevel' }), interactive: false,
      style: () => Object.assign({ className: 'planner-level', interactive: false }, V.style),
    }).addTo(map);
    levelNames = L.layerGroup((LG[key].features || []).filter((f) => vals[f.properties.id]).map((f) => {
      const t = vals[f.properties.id];
      const icon = L.divIcon({ className: 'planner-level-name', html: '<span>' + t[2] + '</span>', iconSize: null });
      const m = L.marker(f.properties.at, { icon: icon, pane: 'plannerLevelNames', keyboard: false })
        .bindTooltip(t[0], { direction: 'top', offset: [0, -10] })
        .bindPopup(t[1], { maxWidth: 420, minWidth: 280, autoPanPaddingTopRight: [60, 10] });
      levelMarks[f.properties.id] = m;
      return m;
    })).addTo(map);
  }
  drawLevel();
  model.on('change:level', drawLevel);
  model.on('change:level_geometry', drawLevel);

  // values come as one compact UTF-8 JSON buffer (binary frame: no escaping, no padding)
  const decoder = new TextDecoder();
  const onMsg = (msg, buffers) => {
    if (!msg || msg.type !== 'values') { return; }
    apply(buffers && buffers.length ? JSON.parse(decoder.decode(buffers[0])) : msg);
  };
  model.on('msg:custom', onMsg);
  const onSetup = () => {
    S = model.get('setup');
    newFormatters();
    Object.values(dist).forEach((e) => { e.bound = false; });
    Object.values(fac).forEach((e) => { e.bound = false; });
    drawBar();
    [0, 1].forEach((k) => refreshAreas(k, Object.keys(areaFeat)));  // area tooltips in the new language
  };
  model.on('change:setup', onSetup);
  model.on('change:height_px', () => { box.style.height = model.get('height_px') + 'px'; map.invalidateSize(false); });
  model.send({ type: 'ready' });
  return () => {
    ro.disconnect();
    model.off('msg:custom', onMsg);
    model.off('change:setup', onSetup);
    model.off('change:level', drawLevel);
    model.off('change:level_geometry', drawLevel);
    map.remove();
  };
}

export default { render };
"""

_CSS = """
.planner-live { font: 12.5px/1.4 "Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC",
  "WenQuanYi Micro Hei", sans-serif; }
.planner-live-bar { display: flex; flex-wrap: wrap; gap: 4px 12px; align-items: center; padding: 2px 0 4px 0; }
.planner-live-bar label { white-space: nowrap; cursor: pointer; }
.planner-live-bar select { font-size: 12.5px; }
.planner-live-fullscreen { margin-left: auto; cursor: pointer; }
.planner-live-map { width: 100%; border: 1px solid #ccc; background: #f4f3ef; }
.planner-live-legend { padding: 4px 2px; }
.planner-level-name span { display: inline-block; transform: translate(-50%, -50%); white-space: nowrap; cursor: pointer;
  background: rgba(255,255,255,0.88); border: 1px solid #222; border-radius: 3px; font-weight: bold; font-size: 13px;
  padding: 1px 5px; }
.planner-live:fullscreen { background: white; padding: 8px; }
"""


@functools.lru_cache(maxsize=None)
def _esm() -> str:
    """The widget's module: vendored Leaflet (as a module-local ``L``) and the map code."""
    leaflet = (_static_root() / "leaflet" / "leaflet.js").read_text(encoding="utf-8")
    leaflet = re.sub(r"//# sourceMappingURL=\S+", "", leaflet)
    wrapped = ("const L = (function () {\n  var module = { exports: {} }, exports = module.exports, define;\n"
               f"{leaflet}\n  return module.exports;\n}}).call(globalThis);\n")
    fmt = maps._FORMAT_JS.strip()
    labels = maps.LABELS_JS.strip()
    return ("/* Leaflet 1.9 vendored from planner/static/leaflet (BSD-2-Clause, see LICENSE there) */\n" + wrapped
            + _APP_JS.replace("__FORMAT_JS__", fmt).replace("__LABELS_JS__", labels)
            .replace("__SQUARE_JS__", maps.SQUARE_JS.strip()))


@functools.lru_cache(maxsize=None)
def _css() -> str:
    base = _static_root() / "leaflet"
    leaflet = _css_with_data_uris((base / "leaflet.css").read_text(encoding="utf-8"), base)
    planner_css = re.sub(r"</?style>", "", maps._CSS)
    return leaflet + planner_css + _CSS


def _diff(old: dict, new: dict) -> dict:
    """Entries of ``new`` that differ from ``old``; ids gone from ``new`` map to None."""
    out = {k: v for k, v in new.items() if old.get(k) != v}
    out.update({k: None for k in old if k not in new})
    return out


def _diff_districts(old: dict, new: dict, ids: list) -> tuple[dict, dict]:
    """Like :func:`_diff`, but down to single fields: ``(per_district, columns)``.

    A district newly shown gets its whole entry, one gone maps to None, one that was
    shown gets only its changed ``fills`` / ``met`` / ``why``. Its popup numbers (``v``)
    travel as *columns*: for each column that changed anywhere, its values in geometry
    order (``ids``; None for districts not shown), or ``{index: value}`` for the changed
    districts alone when that is shorter (fewer than a quarter changed). A target moves
    the same few columns in every district, so naming each column once per message,
    not once per district, halves what a slider step sends.
    """
    out, changed = {}, {}
    for k, n in new.items():
        o = old.get(k)
        if o is None:
            out[k] = n
        elif o != n:
            part = {f: n[f] for f in ("fills", "met", "why") if o.get(f) != n[f]}
            ov = o["v"]
            for c, x in n["v"].items():
                if ov.get(c) != x:
                    changed.setdefault(c, []).append(k)
            if part:
                out[k] = part
    out.update({k: None for k in old if k not in new})
    columns = {}
    if changed:
        at = {k: i for i, k in enumerate(ids)}
        for c, where in changed.items():
            if 4 * len(where) < len(new):
                columns[c] = {at[k]: new[k]["v"][c] for k in where}
            else:
                columns[c] = [new[k]["v"][c] if k in new else None for k in ids]
    return out, columns


class LiveMap(anywidget.AnyWidget):
    """A Leaflet map of the plan that updates in place.

    Parameters
    ----------
    scenario : planner.Scenario
        Its districts, facilities and areas give the geometry (sent once).
    lang : {"zh", "en"}
    height_px : int

    Attributes
    ----------
    view : str
        The view shown (values are kept per view; see the module docstring).
    sent_bytes : list of int
        Size (JSON, UTF-8) of each values message sent to the browser.
    """

    _esm = _esm()
    _css = _css()
    geometry = traitlets.Dict().tag(sync=True)
    setup = traitlets.Dict().tag(sync=True)
    height_px = traitlets.Int(620).tag(sync=True)
    #: outlines of the levels above the districts, ``{level: GeoJSON}``, each added once when first shown
    level_geometry = traitlets.Dict().tag(sync=True)
    #: the level shown: ``{"level", "style", "values": {id: [tooltip, popup]}}``; ``{}`` at the districts' level
    level = traitlets.Dict().tag(sync=True)

    def __init__(self, scenario, lang: str = "zh", height_px: int = 620, **kwargs):
        geometry = maps.live_geometry(scenario.districts, scenario.facilities, scenario.areas)
        super().__init__(geometry=geometry, height_px=int(height_px), **kwargs)
        self._flags = {"has_facilities": bool(geometry["facilities"]["ids"]),
                       "has_areas": bool(geometry["areas"]["ids"]), "has_shapes": geometry["districts"] is not None}
        self.setup = maps.live_setup(lang, **self._flags)
        self.view = "plan"
        self._views: dict[str, dict] = {}
        self._results: dict = {}
        self._shown: dict = {"districts": {}, "facilities": {}, "areas": {}}  # what the browser has
        self._rev = -1
        self._want_areas = False
        self.sent_bytes: list[int] = []
        self._facility_index = {k: i for i, k in enumerate(geometry["facilities"]["ids"])}
        self.on_msg(self._on_msg)

    @property
    def lang(self) -> str:
        return self.setup.get("lang", "zh")

    def set_lang(self, lang: str) -> None:
        """Relabel the controls, legend and popups."""
        if lang != self.lang:
            self.setup = maps.live_setup(lang, **self._flags)

    def show(self, result, lang: str | None = None, view: str = "plan") -> dict | None:
        """Show a plan's values (only the changes reach the browser). Returns the message sent, or None."""
        if lang is not None:
            self.set_lang(lang)
        self._results[view] = result
        self._views[view] = maps.live_values(result, self.lang, areas=self._want_areas)
        if view != self.view:
            return None
        return self._send_current()

    def select_view(self, view: str) -> dict | None:
        """Switch to another view given to :meth:`show` (e.g. a year); sends the difference."""
        if view not in self._views:
            raise KeyError(f"no values for view {view!r}; call show(result, view={view!r}) first")
        self.view = view
        return self._send_current()

    def show_level(self, result, level: str | None) -> None:
        """Outline ``level``'s districts with their roll-up figures (``None``: the districts alone).

        A level's outlines are sent the first time it is shown; after that only its figures."""
        if level is None or result is None:
            self.level = {}
            return
        if level not in self.level_geometry:
            geo = maps.level_geometry(result, level)
            if geo is None:  # no shapes for that level: nothing to outline
                self.level = {}
                return
            self.level_geometry = {**self.level_geometry, level: geo}
        self.level = {"level": level, "style": dict(maps.LEVEL_STYLE),
                      "values": maps.level_values(result, level, self.lang)}

    def values(self, view: str | None = None) -> dict | None:
        """The values of a view as last given (``live_values`` form)."""
        return self._views.get(view or self.view)

    def _send_current(self, full: bool = False) -> dict | None:
        new = self._views.get(self.view)
        if new is None:
            return None
        old = self._shown
        old_ids = set(old["districts"])
        msg = {"type": "values", "full": full, "bounds": new["bounds"], "attribution": new["attribution"],
               "fit": full or set(new["districts"]) != old_ids}
        if full:
            msg["districts"], msg["district_v"] = dict(new["districts"]), {}
        else:
            msg["districts"], msg["district_v"] = _diff_districts(old["districts"], new["districts"],
                                                                  self.geometry["ids"])
        # facilities by their index in the geometry (the browser has the ids): shorter than ids
        fac = dict(new["facilities"]) if full else _diff(old["facilities"], new["facilities"])
        msg["facilities"] = {self._facility_index[k]: v for k, v in fac.items() if k in self._facility_index}
        # area values (every area's need moves with a target) only while a reach layer is shown
        areas = self._area_columns(new["areas"]) if self._want_areas else old["areas"]
        msg["areas"] = {j: col for j, col in areas.items() if full or old["areas"].get(j) != col}
        self._rev += 1
        msg["rev"] = self._rev
        self._shown = {"districts": new["districts"], "facilities": new["facilities"], "areas": areas}
        # one compact JSON buffer (a binary frame, sent as it is): as a comm message's content it
        # would be serialised again with ", " and ": " separators, about a fifth more on the demo
        data = json.dumps(msg, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        self.sent_bytes.append(len(data))
        self.send({"type": "values"}, buffers=[data])
        return msg

    def _area_columns(self, values: dict) -> dict:
        """Area values as columns in geometry order (index → list): 0 in the plan (1/0), 1–2 colour
        index per service, then the numbers; a whole column is sent when any of it changed (ids are
        not repeated, and a target moves only a few columns)."""
        if not values:
            return {}
        width = len(next(iter(values.values())))
        ids = self.geometry["areas"]["ids"]
        rows = [values.get(k) for k in ids]
        cols = {0: [0 if r is None else 1 for r in rows]}
        for j in range(width):
            cols[j + 1] = [None if r is None else (round(r[j], 1) if isinstance(r[j], float) else r[j])
                           for r in rows]
        return cols

    def want_areas(self, on: bool = True) -> dict | None:
        """Send area values with every solve (a reach layer is shown) or not (the default)."""
        self._want_areas = bool(on)
        if not on:
            return None
        if self._results.get(self.view) is not None and not self._views[self.view]["areas"]:
            self._views[self.view] = maps.live_values(self._results[self.view], self.lang, areas=True)
        return self._send_current()

    def _on_msg(self, widget, content, buffers) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "ready":
            self._send_current(full=True)  # a new view (or one that missed a message) gets everything
        elif content.get("type") == "areas":
            self.want_areas(bool(content.get("on")))
