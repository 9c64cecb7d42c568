"""Travel times and reach sets: which facilities an area can use.

Straight line × circuity ÷ speed, found with a KD-tree on 3-D unit-sphere
coordinates: the chord length maps exactly to the great-circle distance, so
no projection is needed and only pairs inside the catchment are ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ._labels import positions

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Pairs:
    """Area → facility pairs within reach, sorted by area then facility.

    Attributes
    ----------
    area, facility : ndarray of int
        Row positions in the areas and facilities tables.
    minutes : ndarray of float
        Travel time of each pair.
    """

    area: np.ndarray
    facility: np.ndarray
    minutes: np.ndarray

    def __len__(self) -> int:
        return len(self.area)

    def select(self, mask) -> "Pairs":
        return Pairs(self.area[mask], self.facility[mask], self.minutes[mask])


def lonlat(gdf) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of each row's point (a point inside polygons)."""
    import shapely

    pts = np.array(gdf.geometry.array, dtype=object)
    other = shapely.get_type_id(pts) != 0
    if other.any():
        pts[other] = shapely.point_on_surface(pts[other])
    xy = shapely.get_coordinates(pts)
    return xy[:, 0], xy[:, 1]


def within(minutes, limit):
    """The reach test every travel source uses (a hair of slack for rounding)."""
    return minutes <= limit + 1e-9


def _unit_xyz(lon, lat) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def km_between(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in km (haversine), element-wise."""
    lo1, la1, lo2, la2 = map(np.radians, (lon1, lat1, lon2, lat2))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def straight_line_pairs(areas, facilities, limit_minutes, *, speed_kmh=4.5, circuity=1.3) -> Pairs:
    """Pairs whose straight-line travel time is within each area's limit.

    Parameters
    ----------
    areas, facilities : GeoDataFrame
        EPSG:4326.
    limit_minutes : float or array of float (one per area)
        Catchment of each area, minutes.
    speed_kmh, circuity : float
        Travel time = great-circle km × circuity ÷ speed_kmh × 60.
    """
    a_lon, a_lat = lonlat(areas)
    f_lon, f_lat = lonlat(facilities)
    limit = np.broadcast_to(np.asarray(limit_minutes, float), a_lon.shape)
    if len(a_lon) == 0 or len(f_lon) == 0:
        empty = np.zeros(0, int)
        return Pairs(empty, empty, np.zeros(0))
    max_km = limit.max() * speed_kmh / 60 / circuity
    # chord on the unit sphere for an arc of max_km (+ a hair for rounding)
    chord = 2 * np.sin(min(max_km / EARTH_RADIUS_KM, np.pi) / 2) * (1 + 1e-9) + 1e-12
    ta, tf = cKDTree(_unit_xyz(a_lon, a_lat)), cKDTree(_unit_xyz(f_lon, f_lat))
    # ndarray output keeps pairs at distance 0 (a coo matrix would drop them)
    m = ta.sparse_distance_matrix(tf, chord, output_type="ndarray")
    a, f = m["i"].astype(np.int64), m["j"].astype(np.int64)
    # the tree already measured the chord: arc = 2·asin(chord / 2), no haversine needed
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(m["v"] / 2, 0, 1))
    minutes = km * circuity / speed_kmh * 60
    keep = within(minutes, limit[a])
    return _sorted(a[keep], f[keep], minutes[keep])


# ---------------------------------------------------------------- reach rules

SERVICES = ("childcare", "eldercare")
SETTINGS = ("urban", "rural")


@dataclass(frozen=True)
class Mode:
    """How people travel: speed, and road ÷ straight-line distance."""

    speed_kmh: float
    circuity: float


# GB 50180-2018 life circles: 5-minute walk ≈ 300 m for nurseries, 15-minute
# walk ≈ 1 km for elderly care; rural areas plan by drive time.
PRESETS = {
    "life_circle": {
        "childcare": {"urban": ("walk", 5.0), "rural": ("drive", 20.0)},
        "eldercare": {"urban": ("walk", 15.0), "rural": ("drive", 30.0)},
    },
}


def reach_rules(reach) -> dict:
    """Normalise a reach setting to {service: {setting: (mode, minutes or None)}}.

    ``None`` means one rule for everything: walking, ``targets.access_minutes``.
    A preset name (``"life_circle"``) or a mapping in the same shape as
    :data:`PRESETS` (a rule may be ``{"mode": "drive", "minutes": 30}``,
    ``["drive", 30]`` or just a mode name, which keeps ``access_minutes``).
    """
    from ._errors import PlannerError

    rules = {s: {k: ("walk", None) for k in SETTINGS} for s in SERVICES}
    if reach is None:
        return rules
    if isinstance(reach, str):
        if reach not in PRESETS:
            raise PlannerError(f"unknown reach preset {reach!r}; choose {', '.join(PRESETS)}", "scenario", None, "reach")
        reach = PRESETS[reach]
    if not isinstance(reach, dict):
        raise PlannerError("reach must be a preset name or a mapping service → setting → rule", "scenario", None, "reach")
    for service, by_setting in reach.items():
        if service not in SERVICES or not isinstance(by_setting, dict):
            raise PlannerError(f"reach: unknown service {service!r}; use {', '.join(SERVICES)}", "scenario", None, "reach")
        for setting, rule in by_setting.items():
            if setting not in SETTINGS:
                raise PlannerError(f"reach: unknown setting {setting!r}; use urban or rural", "scenario", None, "reach")
            if isinstance(rule, dict):
                mode, minutes = rule.get("mode", "walk"), rule.get("minutes")
            elif isinstance(rule, (list, tuple)) and len(rule) == 2:
                mode, minutes = rule
            else:
                mode, minutes = rule, None
            if mode not in ("walk", "drive"):
                raise PlannerError(f"reach: unknown mode {mode!r}; use walk or drive", "scenario", None, "reach")
            if minutes is not None and (not isinstance(minutes, (int, float)) or minutes <= 0):
                raise PlannerError(f"reach: minutes must be a positive number, got {minutes!r}", "scenario", None, "reach")
            rules[service][setting] = (mode, None if minutes is None else float(minutes))
    return rules


def area_rules(scenario, service: str):
    """Mode and catchment minutes of every area for one service.

    Precedence: the district's ``access_minutes`` column (its own, else its
    nearest ancestor row's), then the reach rule's minutes, then
    ``targets.access_minutes``.

    Returns
    -------
    mode : ndarray of str (``"walk"``/``"drive"``), minutes : ndarray of float
    """
    rules = reach_rules(scenario.reach)[service]
    urban = scenario.areas["setting"].to_numpy(object) == "urban"  # validated: urban or rural
    default = float(scenario.targets.access_minutes)
    (mode_u, min_u), (mode_r, min_r) = rules["urban"], rules["rural"]
    mode = np.where(urban, mode_u, mode_r).astype(object)
    minutes = np.where(urban, default if min_u is None else min_u, default if min_r is None else min_r)
    d, parents = scenario.districts, getattr(scenario, "parents", None)
    above = parents is not None and len(parents) and "access_minutes" in parents.columns
    if "access_minutes" in d.columns or above:
        if above:  # a county without its own value takes its prefecture's (README "Targets per level")
            from .levels import leaf_own_or_ancestor

            per_district = leaf_own_or_ancestor(scenario, "access_minutes")
        else:
            per_district = d["access_minutes"].to_numpy(float)
        override = per_district[positions(d["district_id"], scenario.areas["district_id"])]
        minutes = np.where(np.isnan(override), minutes, override)
    return mode, minutes


def _by_mode(mode: np.ndarray):
    """(mode name, positions of the areas travelling that way), for the modes in use."""
    for name in ("walk", "drive"):  # validated by reach_rules
        sel = np.flatnonzero(mode == name)
        if len(sel):
            yield name, sel


def modes(options) -> dict:
    """The travel modes with the scenario's speeds and circuities."""
    return {"walk": Mode(options.speed_kmh, options.circuity),
            "drive": Mode(options.drive_speed_kmh, options.drive_circuity)}


# ---------------------------------------------------------------- travel-time sources

class StraightLine:
    """Great-circle distance × circuity ÷ speed (the default)."""

    label = "straight line"

    def pairs(self, areas, facilities, minutes, mode, modes_) -> Pairs:
        parts = []
        for name, sel in _by_mode(mode):
            m = modes_[name]
            if len(sel) == len(mode):  # one mode for everyone: no subset to copy
                parts.append(straight_line_pairs(areas, facilities, minutes, speed_kmh=m.speed_kmh,
                                                 circuity=m.circuity))
                continue
            p = straight_line_pairs(areas.iloc[sel], facilities, minutes[sel],
                                    speed_kmh=m.speed_kmh, circuity=m.circuity)
            parts.append(Pairs(sel[p.area], p.facility, p.minutes))
        return _merge(parts)


class ODMatrix:
    """Travel times a user supplies: long format ``origin_id, destination_id, minutes``.

    Origins are area ids, destinations facility ids. An optional ``mode``
    column (walk/drive) gives separate times per mode; without it the times
    hold for every mode. Pairs not listed are out of reach; areas and
    facilities that appear nowhere in the matrix are listed in ``report``.

    Use :meth:`from_file` (CSV, Excel or Parquet) or :meth:`from_frame`.
    """

    label = "OD matrix"

    def __init__(self, table, source="od_matrix"):
        self.table, self.source = table, source
        self.report = {}

    @classmethod
    def from_file(cls, path):
        from .io import read_file

        return cls.from_frame(read_file(path), str(path))

    @classmethod
    def from_frame(cls, df, source="od_matrix"):
        from .io import validate_od

        return cls(validate_od(df, source), source)

    def check(self, areas, facilities) -> None:
        """Every id must be a known area/facility (PlannerError with the row otherwise).

        Also fills ``report``: areas and facilities that appear nowhere in the
        matrix, which are then out of everyone's reach.
        """
        from ._validate import fail_at

        t = self.table
        for col, known, what in (("origin_id", areas["area_id"], "area"),
                                 ("destination_id", facilities["facility_id"], "facility")):
            fail_at(t, self.source, ~t[col].isin(known).to_numpy(), col, lambda v, w=what: f"unknown {w} {v!r}")
        self.report = {"areas_not_in_matrix": areas["area_id"][~areas["area_id"].isin(t["origin_id"])].tolist(),
                       "facilities_not_in_matrix": facilities["facility_id"][
                           ~facilities["facility_id"].isin(t["destination_id"])].tolist()}

    def pairs(self, areas, facilities, minutes, mode, modes_) -> Pairs:
        t = self.table
        a = pd.Index(areas["area_id"]).get_indexer(t["origin_id"])
        f = pd.Index(facilities["facility_id"]).get_indexer(t["destination_id"])
        keep = (a >= 0) & (f >= 0)  # a subset of the scenario sees only its own ids
        if "mode" in t.columns:
            keep &= t["mode"].to_numpy(object) == mode[np.maximum(a, 0)]
        a, f, m = a[keep], f[keep], t["minutes"].to_numpy(float)[keep]
        ok = within(m, minutes[a])
        return _sorted(a[ok], f[ok], m[ok])


WALK_EXCLUDED = {"motorway", "motorway_link", "trunk", "trunk_link", "construction", "proposed", "raceway", "bus_guideway"}
DRIVE_KMH = {"motorway": 90, "trunk": 70, "primary": 60, "secondary": 50, "tertiary": 40, "unclassified": 30,
             "residential": 25, "living_street": 10, "service": 15, "road": 25, "track": 15}


class RoadNetwork:
    """Shortest travel times over a road network read from a local OSM extract.

    Parameters
    ----------
    path : str or Path
        ``.osm`` (XML) or ``.osm.pbf`` file on disk (e.g. cut from a
        Geofabrik extract with osmium-tool); nothing is downloaded.

    Notes
    -----
    Read with pyosmium. Walking uses every way with a ``highway`` tag except
    motorways, trunk roads and ``foot=no``, both directions, at the walking
    speed. Driving uses the road classes in :data:`DRIVE_KMH` at their speeds
    (``maxspeed`` when tagged), one-way streets one way. Areas and facilities
    join the network at their nearest node, walking the straight line.
    Shortest times come from scipy's Dijkstra, many sources at a time, cut
    off at the largest catchment.
    """

    label = "road network"

    def __init__(self, path):
        self.path = str(path)
        self._graphs = None

    def _load(self):
        if self._graphs is None:
            self._graphs = _read_osm(self.path)
        return self._graphs

    def pairs(self, areas, facilities, minutes, mode, modes_) -> Pairs:
        from scipy.sparse.csgraph import dijkstra

        node_lon, node_lat, graphs = self._load()
        xyz = _unit_xyz(node_lon, node_lat)
        tree = cKDTree(xyz)
        a_lon, a_lat = lonlat(areas)
        f_lon, f_lat = lonlat(facilities)
        walk = modes_["walk"]

        def snap(lon, lat):
            _, node = tree.query(_unit_xyz(lon, lat))
            km = km_between(lon, lat, node_lon[node], node_lat[node])
            return node, km / walk.speed_kmh * 60

        a_node, a_snap = snap(a_lon, a_lat)
        f_node, f_snap = snap(f_lon, f_lat)
        parts = []
        for name, sel in _by_mode(mode):
            g = graphs[name](modes_[name])
            src, inv = np.unique(a_node[sel], return_inverse=True)
            limit = float(minutes[sel].max())
            chunk = max(1, int(2e7 // max(g.shape[0], 1)))
            for s in range(0, len(src), chunk):
                block = dijkstra(g, directed=True, indices=src[s:s + chunk], limit=limit)[:, f_node]
                rows = np.flatnonzero((inv >= s) & (inv < s + chunk))
                t = block[inv[rows] - s] + a_snap[sel[rows], None] + f_snap[None, :]
                r, c = np.nonzero(within(t, minutes[sel[rows], None]))
                parts.append(Pairs(sel[rows[r]], c, t[r, c]))
        return _merge(parts)


def _read_osm(path):
    """Nodes and per-mode graph builders from an OSM file (pyosmium)."""
    import osmium
    from ._errors import PlannerError

    refs, tags = [], []

    class Ways(osmium.SimpleHandler):
        def way(self, w):
            hw = w.tags.get("highway")
            if hw is None:
                return
            try:
                nodes = [(n.ref, n.lon, n.lat) for n in w.nodes]
            except osmium.InvalidLocationError:
                nodes = [(n.ref, n.lon, n.lat) for n in w.nodes if n.location.valid()]
            if len(nodes) >= 2:
                refs.append(np.array(nodes, float))
                tags.append((hw, w.tags.get("foot"), w.tags.get("oneway"), w.tags.get("maxspeed"),
                             w.tags.get("junction")))

    try:
        Ways().apply_file(str(path), locations=True)
    except Exception as exc:
        raise PlannerError(f"cannot read the OSM file: {exc}", path) from None
    if not refs:
        raise PlannerError("the OSM file has no roads (ways with a highway tag)", path)
    all_nodes = np.concatenate(refs)
    ids, first = np.unique(all_nodes[:, 0], return_index=True)
    lon, lat = all_nodes[first, 1], all_nodes[first, 2]
    seg_u, seg_v, seg_way = [], [], []
    for k, w in enumerate(refs):
        idx = np.searchsorted(ids, w[:, 0])
        seg_u.append(idx[:-1])
        seg_v.append(idx[1:])
        seg_way.append(np.full(len(idx) - 1, k))
    u, v, way = np.concatenate(seg_u), np.concatenate(seg_v), np.concatenate(seg_way)
    km = km_between(lon[u], lat[u], lon[v], lat[v])
    hw = np.array([t[0] for t in tags], object)
    foot_no = np.array([t[1] == "no" for t in tags])
    oneway = np.array([t[2] in ("yes", "1", "true") or t[4] == "roundabout" for t in tags])
    reverse = np.array([t[2] == "-1" for t in tags])
    maxspeed = np.array([_kmh(t[3]) for t in tags], float)
    n = len(ids)

    def graph(ok, minutes, both, rev):
        """Directed graph of usable segments; two-way ways get both directions."""
        m = ok[way]
        a, b = np.where(rev[way], v, u)[m], np.where(rev[way], u, v)[m]
        two = both[way][m]
        rows, cols = np.concatenate([a, b[two]]), np.concatenate([b, a[two]])
        # zero weights would vanish from the sparse graph
        w = np.maximum(np.concatenate([minutes[m], minutes[m][two]]), 1e-9)
        return _min_duplicates(rows, cols, w, n)

    everywhere = np.ones(len(tags), bool)

    def walk(mode):
        ok = ~np.isin(hw, list(WALK_EXCLUDED)) & ~foot_no
        return graph(ok, km / mode.speed_kmh * 60, everywhere, ~everywhere)

    def drive(mode):
        speed = np.array([DRIVE_KMH.get(h.removesuffix("_link"), np.nan) for h in hw], float)
        speed = np.where(np.isnan(maxspeed), speed, maxspeed)
        ok = ~np.isnan(speed)
        return graph(ok, km / np.where(ok, speed, 1.0)[way] * 60, ~oneway & ~reverse, reverse)

    return lon, lat, {"walk": walk, "drive": drive}


def _min_duplicates(rows, cols, w, n):
    from scipy import sparse

    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return sparse.csr_matrix((w[first], (rows[first], cols[first])), shape=(n, n))


def _kmh(tag):
    if not tag:
        return np.nan
    try:
        v = float(str(tag).split()[0])
    except ValueError:
        return np.nan
    return v * 1.609 if "mph" in str(tag) else v


def merge_pairs(*parts: Pairs) -> Pairs:
    """Pairs of several searches as one set, sorted by area then facility (no pair in two parts)."""
    return _merge([p for p in parts if len(p)] or list(parts[:1]))


def _merge(parts) -> Pairs:
    if not parts:
        empty = np.zeros(0, np.int64)
        return Pairs(empty, empty, np.zeros(0))
    if len(parts) == 1:  # already sorted
        return parts[0]
    return _sorted(np.concatenate([p.area for p in parts]), np.concatenate([p.facility for p in parts]),
                   np.concatenate([p.minutes for p in parts]))


def _sorted(a, f, m) -> Pairs:
    a, f = np.asarray(a, np.int64), np.asarray(f, np.int64)
    order = np.argsort(a * (f.max(initial=0) + 1) + f, kind="stable")  # one key sorts faster than lexsort
    return Pairs(a[order], f[order], np.asarray(m, float)[order])


def travel_source(scenario):
    """The scenario's travel-time source (straight line unless it names another)."""
    return scenario.travel if scenario.travel is not None else StraightLine()


def service_pairs(scenario, service: str, facility_index: np.ndarray, rules=None) -> Pairs:
    """Pairs in reach for one service; facility positions are in the full table.

    ``rules`` is ``area_rules(scenario, service)`` if already at hand.
    """
    mode, minutes = area_rules(scenario, service) if rules is None else rules
    fac = scenario.facilities.iloc[facility_index]
    src = travel_source(scenario)
    p = src.pairs(scenario.areas, fac, minutes, mode, modes(scenario.options))
    return Pairs(p.area, np.asarray(facility_index, np.int64)[p.facility], p.minutes)


def reach_pairs(scenario, child: np.ndarray):
    """Pairs in reach for both services, and each service's catchment minutes per area.

    When every area travels the same way to both services (the default and the
    presets), one search with the longer of the two catchments serves both:
    each pair is then kept if it is within its own service's catchment, which
    is exactly the per-service search (every source measures a pair the same
    way whatever the catchment) at half the cost.

    Returns
    -------
    pairs_c, pairs_e : Pairs
        Childcare and eldercare pairs (facility positions in the full table).
    limit_c, limit_e : ndarray
        Catchment minutes per area.
    """
    mode_c, limit_c = area_rules(scenario, "childcare")
    mode_e, limit_e = area_rules(scenario, "eldercare")
    if not np.array_equal(mode_c, mode_e):
        return (service_pairs(scenario, "childcare", np.flatnonzero(child), (mode_c, limit_c)),
                service_pairs(scenario, "eldercare", np.flatnonzero(~child), (mode_e, limit_e)),
                limit_c, limit_e)
    p = travel_source(scenario).pairs(scenario.areas, scenario.facilities, np.maximum(limit_c, limit_e),
                                      mode_c, modes(scenario.options))
    is_c = child[p.facility]
    if np.array_equal(limit_c, limit_e):  # the search used each service's own catchment
        return p.select(is_c), p.select(~is_c), limit_c, limit_e
    keep = within(p.minutes, np.where(is_c, limit_c[p.area], limit_e[p.area]))
    return p.select(keep & is_c), p.select(keep & ~is_c), limit_c, limit_e


# ---------------------------------------------------------------- accessibility scores

def decay_weights(minutes, limit, decay="none") -> np.ndarray:
    """Distance-decay weight of each pair inside its catchment ``limit`` (minutes).

    ``"none"``: 1 (classic 2SFCA). ``"step"``: E2SFCA zones, 1 / 0.68 / 0.22
    for the nearest, middle and farthest third of the catchment (Luo & Qi
    2009). ``"gaussian"``: exp(−t² / 2σ²) with σ = limit / 2, as PySAL
    ``access.weights.gaussian``.
    """
    minutes, limit = np.asarray(minutes, float), np.asarray(limit, float)
    if decay == "none":
        return np.ones_like(minutes)
    if decay == "step":
        x = minutes / limit
        return np.select([x <= 1 / 3, x <= 2 / 3, x <= 1 + 1e-12], [1.0, 0.68, 0.22], 0.0)
    if decay == "gaussian":
        sigma = limit / 2
        return np.exp(-minutes * minutes / (2 * sigma * sigma))
    from ._errors import PlannerError

    raise PlannerError(f"unknown decay {decay!r}; use none, step or gaussian", "options", None, "score_decay")


def two_step_fca(pairs: Pairs, demand, supply, limit, decay="none", per=1000.0) -> np.ndarray:
    """(Enhanced) two-step floating catchment scores per area.

    Step 1: each facility's supply ÷ the decay-weighted demand in its reach.
    Step 2: each area sums the ratios of the facilities in its reach, weighted
    the same way (Luo & Wang 2003; Luo & Qi 2009 with ``decay="step"``).

    Parameters
    ----------
    pairs : Pairs
        Area → facility pairs in reach (facility positions index ``supply``).
    demand : array, one per area
        People (residents for childcare, people aged 60+ for elderly care).
    supply : array, one per facility
        Slots or beds.
    limit : float or array, one per area
        Catchment minutes (for the decay).
    per : float
        Scale of the score: 1000 gives capacity per 1,000 people.

    Returns
    -------
    ndarray
        Score per area; 0 with nothing in reach.
    """
    demand, supply = np.asarray(demand, float), np.asarray(supply, float)
    limit = np.broadcast_to(np.asarray(limit, float), demand.shape)
    w = decay_weights(pairs.minutes, limit[pairs.area], decay)
    weighted = np.bincount(pairs.facility, demand[pairs.area] * w, len(supply))
    ratio = np.divide(supply, weighted, out=np.zeros_like(supply), where=weighted > 0)
    return per * np.bincount(pairs.area, ratio[pairs.facility] * w, len(demand))


# ---------------------------------------------------------------- need served in reach

def max_served(pairs: Pairs, need, capacity, flow) -> np.ndarray:
    """The most need each area can have served within reach, given capacities.

    Starts from ``flow`` (the plan's assignment, which already respects needs
    and capacities) and augments it along residual paths with scipy's
    maximum-flow (Dinic), so no area is served less than the plan guarantees.
    Amounts are integers scaled to 2^29 ÷ total need (scipy counts in int32):
    finer than 1/1,000 slot up to half a million slots of need.

    Parameters
    ----------
    pairs : Pairs
        Area → facility pairs in reach (facility positions index ``capacity``).
    need : array, one per area
    capacity : array, one per facility (after the plan)
    flow : array, one per pair

    Returns
    -------
    ndarray
        Need served within reach per area.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import maximum_flow

    need, capacity = np.asarray(need, float), np.asarray(capacity, float)
    n_a, n_f = len(need), len(capacity)
    flow = np.clip(np.asarray(flow, float), 0, None)
    served = np.bincount(pairs.area, flow, n_a)
    # Flows are free in the LP, so an area may hold more than its need: trim it
    # first, or that capacity would be stuck where it serves nobody.
    over = np.divide(need, served, out=np.ones(n_a), where=served > need)
    flow = flow * over[pairs.area]
    served = np.bincount(pairs.area, flow, n_a)
    if len(pairs) == 0:
        return served
    load = np.bincount(pairs.facility, flow, n_f)
    scale = 2**29 / max(need.sum(), 1.0)
    to_int = lambda x: np.floor(np.clip(x * scale, 0, 2**30)).astype(np.int64)  # noqa: E731  (int32-safe)
    src, sink = 0, n_a + n_f + 1
    a_node, f_node = 1 + pairs.area, 1 + n_a + pairs.facility
    areas, facs = np.arange(n_a), np.arange(n_f)
    rows = np.concatenate([np.zeros(n_a, np.int64), a_node, f_node, 1 + n_a + facs])
    cols = np.concatenate([1 + areas, f_node, a_node, np.full(n_f, sink)])
    caps = np.concatenate([to_int(need - served), np.full(len(pairs), 2**30), to_int(flow), to_int(capacity - load)])
    keep = caps > 0
    g = sparse.csr_matrix((caps[keep].astype(np.int32), (rows[keep], cols[keep])), shape=(sink + 1, sink + 1))
    extra = maximum_flow(g, src, sink, method="dinic").flow
    return served + np.asarray(extra[0, 1:n_a + 1].todense()).ravel() / scale
