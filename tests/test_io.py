"""Bad input: a PlannerError naming file, row (header = row 1) and column; nothing dropped."""

import pandas as pd
import geopandas as gpd
import pytest
from shapely.geometry import Point, box

import planner
from planner import load_scenario
from planner.io import validate_table
from conftest import area, childcare, eldercare, BASE_LON, BASE_LAT


def write_csv(tmp_path, name, rows):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def err(obj, table):
    with pytest.raises(planner.PlannerError) as info:
        validate_table(obj, table)
    return info.value


def areas3(change):
    rows = [area("a1"), area("a2"), area("a3")]
    for (i, col), v in change.items():
        rows[i][col] = v
    return rows


@pytest.mark.parametrize("change, column, row, message", [
    ({(1, "pop_total"): -5}, "pop_total", 3, "must be ≥ 0, got -5"),
    ({(2, "pop_total"): "many"}, "pop_total", 4, "not a number: 'many'"),
    ({(0, "pop_total"): ""}, "pop_total", 2, "value is missing"),
    ({(1, "area_id"): "a1"}, "area_id", 3, "duplicate id 'a1' (first seen in row 2)"),
    ({(1, "pop_60_plus"): 20_000}, "pop_60_plus", 3, "pop_60_plus (20000) exceeds pop_total"),
    ({(2, "lat"): 4_190_000}, "lat", 4, "4190000.0 is outside ±90: give WGS84 degrees, not projected metres"),
    ({(0, "lon"): ""}, "lon", 2, "value is missing"),
])
def test_area_errors_name_file_row_column(tmp_path, change, column, row, message):
    path = write_csv(tmp_path, "areas.csv", areas3(change))
    e = err(path, "areas")
    assert (e.file, e.row, e.column, e.message) == (str(path), row, column, message)
    assert str(e).startswith(f"file {path}, row {row}, column '{column}': ")


def test_missing_column(tmp_path):
    rows = [{k: v for k, v in area("a1").items() if k != "pop_60_plus"}]
    e = err(write_csv(tmp_path, "areas.csv", rows), "areas")
    assert (e.row, e.column) == (1, "pop_60_plus")
    assert e.message.startswith("required column is missing (columns found: area_id, name")


def test_empty_table(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text("area_id,district_id,pop_total,pop_60_plus,lon,lat\n")
    e = err(path, "areas")
    assert (e.file, e.message) == (str(path), "the table is empty (no data rows)")


def test_blank_lines_are_not_rows_but_are_counted(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text("area_id,district_id,pop_total,pop_60_plus,lon,lat\n"
                    f"a1,D1,100,10,{BASE_LON},{BASE_LAT}\n,,,,,\n\na2,D1,-1,0,{BASE_LON},{BASE_LAT}\n")
    e = err(path, "areas")
    assert (e.row, e.column) == (5, "pop_total")


def test_every_row_kept_and_typed(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text("area_id,district_id,pop_total,pop_60_plus,lon,lat,note\n"
                    f"140105001,140105,\"12,000\",2000,{BASE_LON},{BASE_LAT},keep me\n"
                    f"a2,140105,0,0,{BASE_LON},{BASE_LAT},\n")
    df = validate_table(path, "areas")
    assert len(df) == 2 and df.crs.to_epsg() == 4326
    assert df["pop_total"].tolist() == [12_000, 0] and df["area_id"].tolist() == ["140105001", "a2"]
    assert df["name"].tolist() == ["140105001", "a2"] and df["note"].iloc[0] == "keep me"


def facilities_rows():
    return [childcare("c1", slots=50, affordable=20, max_add=10, cost=1000),
            eldercare("e1", beds=100, care=40, max_add=10, cost=5000, conv=300),
            childcare("n1", candidate=True, fixed=10_000, cost=500, min_size=20, max_size=100)]


@pytest.mark.parametrize("i, col, value, row, message", [
    (0, "slots_affordable", 60, 2, "affordable slots (60) exceed slots"),
    (1, "beds_care", 101, 3, "care-oriented beds (101) exceed beds"),
    (1, "kind", "hospital", 3, "unknown kind 'hospital'; use 'childcare' or 'eldercare'"),
    (2, "facility_id", "e1", 4, "duplicate id 'e1' (first seen in row 3)"),
    (0, "cost_per_unit", None, 2, "cost_per_unit is needed where the facility can grow (max_add > 0 or candidate)"),
    (2, "max_size", None, 4, "max_size is needed for a candidate site"),
    (2, "min_size", 200, 4, "min_size (200) exceeds max_size"),
    (2, "slots", 30, 4, "a candidate site has no existing capacity; put it in a row of its own"),
    (0, "beds", 5, 2, "a childcare facility cannot have beds"),
    (0, "fixed_cost", 5, 2, "fixed_cost applies to candidate sites only (candidate = true)"),
    (1, "candidate", "maybe", 3, "expected true/false (or 是/否), got 'maybe'"),
])
def test_facility_errors(tmp_path, i, col, value, row, message):
    rows = facilities_rows()
    rows[i][col] = value
    path = write_csv(tmp_path, "facilities.csv", rows)
    e = err(path, "facilities")
    assert (e.file, e.row, e.column, e.message) == (str(path), row, col, message)


def test_chinese_kind_and_yes_no_words(tmp_path):
    rows = facilities_rows()
    rows[0]["kind"], rows[2]["candidate"] = "托育", "是"
    df = validate_table(write_csv(tmp_path, "facilities.csv", rows), "facilities")
    assert df["kind"].tolist() == ["childcare", "eldercare", "childcare"]
    assert df["candidate"].tolist() == [False, False, True]


def test_facility_in_unknown_district(tmp_path):
    areas = write_csv(tmp_path, "areas.csv", [area("a1", "D1")])
    rows = facilities_rows()
    rows[1]["district_id"] = "D9"
    facs = write_csv(tmp_path, "facilities.csv", rows)
    with pytest.raises(planner.PlannerError) as info:
        planner.Scenario.from_frames(pd.read_csv(areas), pd.read_csv(facs), sources={"facilities": str(facs)})
    e = info.value
    assert (e.file, e.row, e.column) == (str(facs), 3, "district_id")
    assert e.message == "unknown district 'D9' (not in the areas table)"


def test_area_in_district_missing_from_districts_table(tmp_path):
    districts = pd.DataFrame({"district_id": ["D1"], "name": ["一区"]})
    with pytest.raises(planner.PlannerError, match=r"row 3, column 'district_id': unknown district 'D2' "
                                                   r"\(not in the districts table\)"):
        planner.Scenario.from_frames(pd.DataFrame([area("a1"), area("a2", "D2")]),
                                     pd.DataFrame(facilities_rows()), districts)


def test_geometry_without_crs(tmp_path):
    gdf = gpd.GeoDataFrame(pd.DataFrame([area("a1")]).drop(columns=["lon", "lat"]),
                           geometry=[Point(BASE_LON, BASE_LAT)], crs=None)
    path = tmp_path / "areas.gpkg"
    gdf.to_file(path)
    e = err(path, "areas")
    assert (e.file, e.column) == (str(path), "geometry")
    assert "no coordinate reference system" in e.message


def test_projected_geometry_is_converted(tmp_path):
    gdf = gpd.GeoDataFrame(pd.DataFrame([area("a1")]).drop(columns=["lon", "lat"]),
                           geometry=[Point(BASE_LON, BASE_LAT)], crs=4326).to_crs(32649)
    path = tmp_path / "areas.gpkg"
    gdf.to_file(path)
    df = validate_table(path, "areas")
    assert df.crs.to_epsg() == 4326
    assert df.geometry.x.iloc[0] == pytest.approx(BASE_LON) and df.geometry.y.iloc[0] == pytest.approx(BASE_LAT)


def test_lonlat_disagreeing_with_geometry_is_a_crs_mismatch():
    rows = pd.DataFrame([area("a1"), area("a2")])
    gdf = gpd.GeoDataFrame(rows, geometry=[Point(BASE_LON, BASE_LAT), Point(BASE_LON + 0.5, BASE_LAT)], crs=4326)
    e = err(gdf, "areas")
    assert (e.row, e.column) == (3, "lon") and "disagree with the geometry" in e.message


def test_missing_geometry_row(tmp_path):
    gdf = gpd.GeoDataFrame(pd.DataFrame([area("a1"), area("a2")]).drop(columns=["lon", "lat"]),
                           geometry=[Point(BASE_LON, BASE_LAT), None], crs=4326)
    path = tmp_path / "areas.geojson"
    gdf.to_file(path, driver="GeoJSON")
    e = err(path, "areas")
    assert (e.file, e.row, e.column, e.message) == (str(path), 3, "geometry", "geometry is missing or empty")


def test_no_locations_at_all():
    rows = pd.DataFrame([area("a1")]).drop(columns=["lon", "lat"])
    e = err(rows, "areas")
    assert (e.file, e.column) == ("areas", "lon") and e.message.startswith("no locations")


def test_unreadable_file(tmp_path):
    path = tmp_path / "areas.gpkg"
    path.write_bytes(b"not a geopackage")
    e = err(path, "areas")
    assert e.file == str(path) and e.message.startswith("cannot read the file")
    e = err(tmp_path / "nope.csv", "areas")
    assert e.message == "file not found"
    (tmp_path / "old.xls").write_bytes(b"")
    assert err(tmp_path / "old.xls", "areas").message.startswith("cannot read the file")
    (tmp_path / "areas.docx").write_bytes(b"")
    assert "unsupported file type '.docx'" in err(tmp_path / "areas.docx", "areas").message


def test_excel_and_gbk_csv_read(tmp_path):
    rows = pd.DataFrame([area("小店-1"), area("小店-2")])
    rows.to_excel(tmp_path / "areas.xlsx", index=False)
    assert validate_table(tmp_path / "areas.xlsx", "areas")["area_id"].tolist() == ["小店-1", "小店-2"]
    rows.to_csv(tmp_path / "gbk.csv", index=False, encoding="gb18030")
    assert validate_table(tmp_path / "gbk.csv", "areas")["area_id"].tolist() == ["小店-1", "小店-2"]
    bad = rows.copy()
    bad.loc[1, "pop_total"] = -3
    bad.to_excel(tmp_path / "bad.xlsx", index=False)
    e = err(tmp_path / "bad.xlsx", "areas")
    assert (e.row, e.column) == (3, "pop_total")


def test_district_polygons_and_target_overrides(tmp_path):
    d = gpd.GeoDataFrame({"district_id": [140105, 140106], "name": ["小店区", "迎泽区"],
                          "childcare_per_1000": [6.0, None], "care_bed_share": [None, 1.2]},
                         geometry=[box(112.5, 37.8, 112.6, 37.9), box(112.6, 37.8, 112.7, 37.9)], crs=4326)
    path = tmp_path / "districts.gpkg"
    d.to_file(path)
    e = err(path, "districts")
    assert (e.row, e.column) == (3, "care_bed_share") and "share between 0 and 1" in e.message
    d.loc[1, "care_bed_share"] = 0.7
    d.to_file(path)
    out = validate_table(path, "districts")
    assert out["district_id"].tolist() == ["140105", "140106"]


def scenario_files(tmp_path, extra=""):
    write_csv(tmp_path, "areas.csv", [area("a1"), area("a2", pop60=2000)])
    write_csv(tmp_path, "facilities.csv", facilities_rows())
    (tmp_path / "s.yaml").write_text(
        "name: 测试县\nareas: areas.csv\nfacilities: facilities.csv\n"
        "targets: {childcare_per_1000: 5, access_share: 0}\nbudget: null\n" + extra, encoding="utf-8")
    return tmp_path / "s.yaml"


def test_load_scenario_relative_paths(tmp_path):
    sc = load_scenario(scenario_files(tmp_path))
    assert sc.name == "测试县" and sc.targets.childcare_per_1000 == 5 and sc.targets.affordable_share == 0.5
    assert len(sc.areas) == 2 and sc.sources["areas"] == str(tmp_path / "areas.csv")
    assert planner.solve(sc).status in ("optimal", "shortfall")


@pytest.mark.parametrize("extra, column, message", [
    ("colour: red\n", "colour", "unknown key"),
    ("options: {solver: gurobi}\n", "options.solver", "solver must be 'highs' or 'cbc'"),
    ("options: {speed: 5}\n", "options.speed", "unknown options key"),
])
def test_scenario_yaml_errors(tmp_path, extra, column, message):
    path = scenario_files(tmp_path, extra)
    with pytest.raises(planner.PlannerError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.column == column and info.value.message.startswith(message)


def test_yaml_is_safe_loaded(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("areas: !!python/object/apply:os.system ['echo pwned']\nfacilities: f.csv\n")
    with pytest.raises(planner.PlannerError, match="not valid YAML"):
        load_scenario(path)


def test_input_frames_are_not_modified():
    rows = pd.DataFrame([area("a1")])
    before = rows.copy()
    validate_table(rows, "areas")
    pd.testing.assert_frame_equal(rows, before)
