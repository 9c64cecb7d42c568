"""Chinese map coordinates (GCJ-02, BD-09) and EPSG codes → WGS84, against published reference points."""

import numpy as np
import pandas as pd
import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

import planner
from planner import crs
from planner.io import validate_table
from conftest import area, childcare

# Amap's coordinate-convert API documentation example (WGS84 → GCJ-02, 6 decimals) and the
# same point in BD-09; Beijing railway station in the three systems (geoChina R package docs,
# 5 decimals); coord-convert's README example (full precision).
AMAP = {"wgs84": (116.481499, 39.990475), "gcj02": (116.487586, 39.991754), "bd09": (116.49412, 39.997716)}
BEIJING_STATION = {"wgs84": (116.42079, 39.90105), "gcj02": (116.42703, 39.90245), "bd09": (116.43351, 39.90851)}


@pytest.mark.parametrize("ref, tol", [(AMAP, 2e-6), (BEIJING_STATION, 1.5e-5)])
def test_published_reference_points(ref, tol):
    assert np.allclose(crs.wgs84_to_gcj02(*ref["wgs84"]), ref["gcj02"], atol=tol, rtol=0)
    assert np.allclose(crs.gcj02_to_bd09(*ref["gcj02"]), ref["bd09"], atol=tol, rtol=0)
    assert np.allclose(crs.to_wgs84_lonlat(*ref["gcj02"], "gcj02"), ref["wgs84"], atol=tol, rtol=0)
    assert np.allclose(crs.to_wgs84_lonlat(*ref["bd09"], "bd09"), ref["wgs84"], atol=tol, rtol=0)


def test_full_precision_example_and_roundtrip():
    assert crs.wgs84_to_gcj02(120, 40) == pytest.approx((120.00567568355486, 40.0013047896019), abs=1e-12)
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(74, 134, 1000), rng.uniform(18, 53, 1000)
    back = crs.to_wgs84_lonlat(*crs.wgs84_to_gcj02(lon, lat), "gcj02")
    assert np.abs(np.subtract(back, (lon, lat))).max() < 1e-8  # < 1 mm
    back = crs.to_wgs84_lonlat(*crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(lon, lat)), "bd09")
    assert np.abs(np.subtract(back, (lon, lat))).max() < 1e-5  # Baidu's own inverse: < 1 m
    # the offset is the size of a 5-minute childcare circle (hundreds of metres), not noise
    assert np.abs(np.subtract(crs.wgs84_to_gcj02(112.55, 37.87), (112.55, 37.87))).max() > 1e-3


def test_parse_names_and_epsg():
    assert crs.parse(None) == crs.parse("WGS84") == crs.parse(4326) == "wgs84"
    assert crs.parse("GCJ-02") == crs.parse("高德") == "gcj02" and crs.parse("Baidu") == "bd09"
    assert crs.parse("EPSG:4547").to_epsg() == 4547 and crs.parse(4547).to_epsg() == 4547
    with pytest.raises(ValueError, match="gcj02"):
        crs.parse("mars")
    # CGCS2000 3-degree Gauss-Kruger, CM 114E: the false easting lies on the central meridian
    lon, lat = crs.to_wgs84_lonlat(500000, 4000000, "EPSG:4547")
    assert lon == pytest.approx(114.0) and 36.0 < lat < 36.3


def shift(rows, to):
    """Rows whose lon/lat are moved from WGS84 into a Chinese map system."""
    out = []
    for r in rows:
        lon, lat = crs.wgs84_to_gcj02(r["lon"], r["lat"])
        if to == "bd09":
            lon, lat = crs.gcj02_to_bd09(lon, lat)
        out.append({**r, "lon": float(lon), "lat": float(lat)})
    return out


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_table_in_chinese_coordinates_is_converted_on_load(system):
    rows = [childcare("f1", slots=10, lon=112.55, lat=37.87), childcare("f2", slots=10, lon=112.6, lat=37.9)]
    df = validate_table(pd.DataFrame(shift(rows, system)), "facilities", crs=system)
    got = np.column_stack([df.geometry.x, df.geometry.y])
    assert np.abs(got - [[112.55, 37.87], [112.6, 37.9]]).max() < 1e-5


def test_yaml_table_with_crs(tmp_path):
    pd.DataFrame([area("a1", lon=112.55, lat=37.87)]).to_csv(tmp_path / "areas.csv", index=False)
    pd.DataFrame(shift([childcare("f1", slots=100, lon=112.551, lat=37.871)], "gcj02")).to_csv(
        tmp_path / "pois.csv", index=False)
    (tmp_path / "s.yaml").write_text("areas: areas.csv\nfacilities: {path: pois.csv, crs: gcj02}\n", encoding="utf-8")
    sc = planner.load_scenario(tmp_path / "s.yaml")
    p = sc.facilities.geometry.iloc[0]
    assert abs(p.x - 112.551) < 1e-6 and abs(p.y - 37.871) < 1e-6
    (tmp_path / "s.yaml").write_text("areas: areas.csv\nfacilities: {path: pois.csv, crs: mars}\n", encoding="utf-8")
    with pytest.raises(planner.PlannerError) as info:
        planner.load_scenario(tmp_path / "s.yaml")
    assert (info.value.file, info.value.column) == (str(tmp_path / "s.yaml"), "facilities.crs")


def test_from_frames_crs_argument_per_table():
    areas = pd.DataFrame([area("a1", lon=112.55, lat=37.87)])
    fac = pd.DataFrame(shift([childcare("f1", slots=100, lon=112.55, lat=37.87)], "bd09"))
    sc = planner.Scenario.from_frames(areas, fac, crs={"facilities": "bd09"})
    assert sc.facilities.geometry.iloc[0].distance(sc.areas.geometry.iloc[0]) < 1e-5
    assert sc.areas.geometry.iloc[0].x == 112.55  # areas were WGS84 and stay as given


def test_projected_epsg_table_and_bad_cells(tmp_path):
    x, y = 500000.0, 4000000.0
    rows = [{**area("a1"), "lon": x, "lat": y}, {**area("a2"), "lon": "east", "lat": y}]
    with pytest.raises(planner.PlannerError) as info:
        validate_table(pd.DataFrame(rows), "areas", crs="EPSG:4547")
    assert (info.value.row, info.value.column) == (3, "lon") and "not a number" in info.value.message
    df = validate_table(pd.DataFrame(rows[:1]), "areas", crs=4547)
    assert df.geometry.iloc[0].x == pytest.approx(114.0)


def test_geojson_in_gcj02(tmp_path):
    wgs = [(112.0, 37.0), (112.1, 37.0), (112.1, 37.1), (112.0, 37.0)]
    gcj = [tuple(map(float, crs.wgs84_to_gcj02(*p))) for p in wgs]
    path = tmp_path / "districts.geojson"
    gpd.GeoDataFrame({"district_id": ["D1"]}, geometry=[Polygon(gcj)], crs=4326).to_file(path)
    df = validate_table(path, "districts", crs="gcj02")
    assert np.abs(np.array(df.geometry.iloc[0].exterior.coords) - np.array(wgs)).max() < 1e-8
