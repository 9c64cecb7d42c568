"""Seeded synthetic planning instances for the benchmarks (county, city, province).

Geography: demand areas (villages / residential communities) are clustered in
towns whose sizes follow Zipf's law (one county seat or provincial capital,
many small townships). Town centres are spread uniformly over a square
region of about 5.2 km² per area (Shanxi: 156,000 km² for ≈ 30,000 villages
and communities). Facilities are placed in the towns in proportion to their
areas, and each town is spread out just enough that an area in a large town
sees about ``density`` facilities (both kinds) within the default 15-minute
walk (1.125 km road ÷ 1.3 circuity ≈ 865 m straight line); small towns and
town edges see fewer, so the realised mean is lower (see ``pair_counts``). Districts are the
Voronoi cells of ``n_districts`` seed areas, so large towns are split into
several districts, as cities are.

Capacities are scaled to the population: existing childcare slots ≈ 2 per
1,000 residents (2020 base 1.8) and beds ≈ 26 per 1,000 aged 60+ (2024 actual),
below the default targets of 4.5 and 40, so that the plan has to expand,
convert and open sites, and some districts fall short.

Usage::

    from instances import make_instance, SIZES
    sc = make_instance(**SIZES["county"])       # a validated planner.Scenario
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

import planner

BASE_LON, BASE_LAT = 112.55, 37.87  # Taiyuan
KM_PER_DEG_LAT = 111.195
KM2_PER_AREA = 5.2

# Named sizes of the issue; ``density`` tuned for ≈ 3k / 50k / 1M area→facility pairs.
SIZES = {
    "county": dict(n_areas=300, n_sites=100, seed=1, density=20.0),
    "city": dict(n_areas=3_000, n_sites=1_000, seed=2, density=32.0),
    "province": dict(n_areas=30_000, n_sites=10_000, seed=3, density=62.0),
}


def _reach_km(targets: planner.Targets, options: planner.Options) -> float:
    return targets.access_minutes / 60 * options.speed_kmh / options.circuity


def make_instance(n_areas: int, n_sites: int, seed: int = 0, *, density: float | None = None,
                  n_districts: int | None = None, areas_per_town: float = 25.0,
                  time_limit_s: float = 1800.0) -> planner.Scenario:
    """A validated :class:`planner.Scenario` of synthetic towns.

    Parameters
    ----------
    n_areas, n_sites : int
        Demand areas and facilities (existing + candidate, half childcare,
        half eldercare, about 20 % candidate sites).
    seed : int
        Everything is drawn from ``numpy.random.default_rng(seed)``.
    density : float, optional
        Nominal number of facilities within the default 15-minute walk of
        an area (sets how spread out each town is, hence the pair count;
        the realised mean is about half of it). Default grows slowly with
        size: 20 at 300 areas, ≈ 62 at 30,000 (≈ 1M pairs).
    n_districts : int, optional
        Default ``n_areas / 30`` (10 for a county, 100 for a city, 1,000 for
        a province).
    areas_per_town : float
        Mean areas per town (Shanxi: ≈ 30,000 villages/communities in
        ≈ 1,200 townships).
    time_limit_s : float
        Solver time limit put in the scenario's options (large, so that the
        province LP is solved to optimality rather than cut off at 60 s).
    """
    rng = np.random.default_rng(seed)
    targets, options = planner.Targets(), planner.Options(time_limit_s=float(time_limit_s))
    if density is None:
        density = 20.0 * (n_areas / 300) ** 0.245
    if n_districts is None:
        n_districts = max(1, round(n_areas / 30))
    n_districts = min(n_districts, n_areas)
    reach_km = _reach_km(targets, options)

    # Towns: Zipf sizes, centres uniform over the region.
    n_towns = max(1, round(n_areas / areas_per_town))
    weight = 1.0 / np.arange(1, n_towns + 1)
    weight /= weight.sum()
    side_km = math.sqrt(KM2_PER_AREA * n_areas)
    centre = rng.uniform(0, side_km, (n_towns, 2))
    town_a = rng.choice(n_towns, n_areas, p=weight)
    town_f = rng.choice(n_towns, n_sites, p=weight)
    n_f_town = np.bincount(town_f, minlength=n_towns)
    # Two Gaussian clouds of spread s: an area sees n_f · π r² / (4π s²) facilities on average.
    s2 = n_f_town * math.pi * reach_km ** 2 / (4 * math.pi * density)
    spread = np.sqrt(np.maximum(s2, 0.3 ** 2))
    xy_a = centre[town_a] + rng.normal(size=(n_areas, 2)) * spread[town_a, None]
    xy_f = centre[town_f] + rng.normal(size=(n_sites, 2)) * spread[town_f, None]

    def lonlat(xy):
        lat = BASE_LAT + (xy[:, 1] - side_km / 2) / KM_PER_DEG_LAT
        lon = BASE_LON + (xy[:, 0] - side_km / 2) / (KM_PER_DEG_LAT * math.cos(math.radians(BASE_LAT)))
        return lon, lat

    # Districts: Voronoi cells of seed areas (planar km are fine at this scale).
    from scipy.spatial import cKDTree

    seeds = rng.choice(n_areas, n_districts, replace=False)
    tree = cKDTree(xy_a[seeds])
    d_ids = np.array([f"D{i:04d}" for i in range(n_districts)], dtype=object)
    area_d = tree.query(xy_a)[1]
    area_d[seeds] = np.arange(n_districts)  # every district has its seed area
    fac_d = tree.query(xy_f)[1]

    # Areas: population ≈ 1,150 per area, 19 % aged 60+, 2 % under 3.
    pop = np.maximum(50, np.round(rng.lognormal(math.log(950), 0.6, n_areas)))
    pop60 = np.round(pop * np.clip(rng.normal(0.19, 0.04, n_areas), 0.08, 0.35))
    pop02 = np.round(pop * np.clip(rng.normal(0.02, 0.005, n_areas), 0.005, 0.04))
    a_lon, a_lat = lonlat(xy_a)
    areas = pd.DataFrame({
        "area_id": [f"A{i:06d}" for i in range(n_areas)], "district_id": d_ids[area_d],
        "pop_total": pop, "pop_0_2": pop02, "pop_60_plus": pop60, "lon": a_lon, "lat": a_lat})
    areas["name"] = areas["area_id"]
    # towns of 20+ areas are urban, the rest rural (used only by reach="life_circle")
    areas["setting"] = np.where(np.bincount(town_a, minlength=n_towns)[town_a] >= 20, "urban", "rural").astype(object)

    # Facilities: half childcare, half eldercare; ~20 % candidate sites.
    child = rng.permutation(np.arange(n_sites) < n_sites // 2 + n_sites % 2)
    cand = rng.random(n_sites) < 0.2
    ex_c, ex_e = child & ~cand, ~child & ~cand
    nan = np.full(n_sites, np.nan)
    zeros = np.zeros(n_sites)

    def scaled(mask, total):
        raw = rng.lognormal(0.0, 0.5, n_sites) * mask
        return np.round(raw * total / max(raw.sum(), 1e-9))

    slots = scaled(ex_c, 2.0 / 1000 * pop.sum())
    slots_aff = np.round(slots * rng.uniform(0.3, 0.8, n_sites))
    beds = scaled(ex_e, 26.0 / 1000 * pop60.sum())
    beds_care = np.round(beds * rng.uniform(0.2, 0.6, n_sites))
    existing = slots + beds
    grows = ~cand & (rng.random(n_sites) < 0.7)
    max_add = np.where(grows, np.round(existing * rng.uniform(0.3, 1.0, n_sites)) + 10, 0.0)
    unit_c, unit_e = rng.uniform(15_000, 40_000, n_sites), rng.uniform(60_000, 150_000, n_sites)
    cost_per_unit = np.where(grows | cand, np.where(child, unit_c, unit_e), np.nan)
    cost_conv = np.where(ex_e & (rng.random(n_sites) < 0.8), rng.uniform(8_000, 30_000, n_sites), np.nan)
    max_size = np.where(cand, np.where(child, rng.integers(60, 151, n_sites), rng.integers(50, 201, n_sites)), nan)
    min_size = np.where(cand, np.round(0.3 * np.nan_to_num(max_size)), zeros)
    fixed = np.where(cand, np.where(child, rng.uniform(0.5e6, 2e6, n_sites), rng.uniform(1e6, 5e6, n_sites)), zeros)
    f_lon, f_lat = lonlat(xy_f)
    facilities = pd.DataFrame({
        "facility_id": [f"F{i:06d}" for i in range(n_sites)],
        "kind": np.where(child, "childcare", "eldercare").astype(object),
        "district_id": d_ids[fac_d], "slots": slots, "slots_affordable": slots_aff,
        "beds": beds, "beds_care": beds_care, "max_add": max_add, "cost_per_unit": cost_per_unit,
        "cost_per_conversion": cost_conv, "candidate": cand, "fixed_cost": fixed,
        "min_size": min_size, "max_size": max_size, "lon": f_lon, "lat": f_lat})
    facilities["name"] = facilities["facility_id"]
    districts = pd.DataFrame({"district_id": d_ids, "name": d_ids, "parent_id": ""})
    return planner.Scenario.from_frames(areas, facilities, districts, targets=targets, options=options,
                                        name=f"synthetic {n_areas}x{n_sites} seed {seed}")


def pair_counts(sc: planner.Scenario) -> dict:
    """Area → facility pairs in reach, per service (as the planner computes them)."""
    from planner.access import straight_line_pairs

    pairs = straight_line_pairs(sc.areas, sc.facilities, sc.targets.access_minutes,
                                speed_kmh=sc.options.speed_kmh, circuity=sc.options.circuity)
    child = (sc.facilities["kind"] == "childcare").to_numpy()[pairs.facility]
    return {"childcare": int(child.sum()), "eldercare": int((~child).sum()), "total": len(pairs)}


if __name__ == "__main__":  # pragma: no cover - quick look at the sizes
    import time

    for name, kw in SIZES.items():
        t0 = time.perf_counter()
        sc = make_instance(**kw)
        print(name, len(sc.areas), len(sc.facilities), len(sc.districts), pair_counts(sc),
              f"{time.perf_counter() - t0:.1f}s")
