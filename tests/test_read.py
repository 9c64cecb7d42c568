"""Planners' files as they come: old Excel, .ods, Parquet, two-row Chinese headers, awkward CSVs, bad GeoJSON."""

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

import planner
from planner.io import read_file, validate_table
from conftest import area, BASE_LON, BASE_LAT

DATA = Path(__file__).resolve().parent / "data"
HEADER = "area_id,name,district_id,pop_total,pop_0_2,pop_60_plus,lon,lat"


def err(obj, table="areas"):
    with pytest.raises(planner.PlannerError) as info:
        validate_table(obj, table)
    return info.value


def test_duplicate_column_is_named_not_renamed(tmp_path):
    # pandas would call the second one 'pop_total.1' and solve with the first
    path = tmp_path / "areas.csv"
    path.write_text("area_id,district_id,pop_total,pop_60_plus,pop_total,lon,lat\n"
                    f"a1,D1,1000,100,2000,{BASE_LON},{BASE_LAT}\n", encoding="utf-8")
    e = err(path)
    assert (e.file, e.row, e.column) == (str(path), 1, "pop_total")
    assert e.message.startswith("column appears twice (columns C and E)")


def test_duplicate_column_in_excel(tmp_path):
    path = tmp_path / "areas.xlsx"
    pd.DataFrame([["a1", "D1", 1000, 100, 2000, BASE_LON, BASE_LAT]]).to_excel(path, index=False, header=[
        "area_id", "district_id", "pop_total", "pop_60_plus", "pop_total", "lon", "lat"])
    e = err(path)
    assert (e.row, e.column) == (1, "pop_total") and "twice" in e.message


def test_trailing_comma_on_every_row(tmp_path):
    # pandas takes the first column as the index and then blames the wrong column
    path = tmp_path / "areas.csv"
    lines = [HEADER] + [f"a{i},小区{i},D1,1000,30,-5,{BASE_LON},{BASE_LAT}," for i in range(3)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    e = err(path)
    assert (e.row, e.column) == (2, "pop_60_plus") and "≥ 0" in e.message
    path.write_text("\n".join(line.replace(",-5,", ",50,") for line in lines) + "\n", encoding="utf-8")
    df = validate_table(path, "areas")
    assert df["area_id"].tolist() == ["a0", "a1", "a2"] and df["pop_60_plus"].tolist() == [50, 50, 50]


def test_trailing_comma_in_header_too(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text(HEADER + ",\n" + f"a1,x,D1,1000,30,50,{BASE_LON},{BASE_LAT},\n", encoding="utf-8")
    assert validate_table(path, "areas")["pop_60_plus"].tolist() == [50]


def test_value_beyond_the_header_is_an_error(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text(HEADER + "\n" + f"a1,x,D1,1000,30,50,{BASE_LON},{BASE_LAT}\n"
                    f"a2,x,D1,1000,30,50,{BASE_LON},{BASE_LAT},oops\n", encoding="utf-8")
    e = err(path)
    assert e.row == 3 and "'oops'" in e.message and "more values than the header" in e.message


def test_nameless_column_with_values(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text("area_id,,district_id,pop_total,pop_60_plus,lon,lat\n"
                    f"a1,note,D1,1000,50,{BASE_LON},{BASE_LAT}\n", encoding="utf-8")
    e = err(path)
    assert (e.row, e.column) == (1, "B") and "no name" in e.message


@pytest.mark.parametrize("sep, encoding", [(";", "utf-8"), ("\t", "utf-16"), ("|", "gb18030"), (",", "utf-8-sig")])
def test_separators_and_encodings(tmp_path, sep, encoding):
    path = tmp_path / "areas.csv"
    pd.DataFrame([area("小店-1"), area("小店-2")]).to_csv(path, index=False, sep=sep, encoding=encoding)
    assert validate_table(path, "areas")["area_id"].tolist() == ["小店-1", "小店-2"]


def test_old_excel_with_merged_two_row_chinese_header():
    # row 1: merged Chinese labels (需求单元 / 人口（人） / 位置); row 2: the column names; data from row 3
    df = validate_table(DATA / "areas_two_row_header.xls", "areas")
    assert df["area_id"].tolist() == ["A01", "A02", "A03"]
    assert df["pop_total"].tolist() == [18500, 22300, 2400]
    assert list(df.attrs["rows"]) == [3, 4, 5]


def test_two_row_header_errors_count_rows_as_the_spreadsheet(tmp_path):
    path = tmp_path / "areas.xlsx"
    rows = pd.DataFrame([area("a1"), area("a2", pop=-1)])
    labels = pd.DataFrame([["编号", "名称", "区县", "常住人口", "60岁以上", "0-2岁", "经度", "纬度"][:len(rows.columns)]],
                          columns=rows.columns)
    pd.concat([labels, pd.DataFrame([rows.columns], columns=rows.columns), rows]).to_excel(path, index=False,
                                                                                           header=False)
    e = err(path)
    assert (e.row, e.column) == (4, "pop_total")


def test_ods():
    df = validate_table(DATA / "areas.ods", "areas")
    assert df["area_id"].tolist() == ["A01", "A02", "A03"] and list(df.attrs["rows"]) == [2, 3, 4]


def test_parquet_and_geoparquet(tmp_path):
    rows = pd.DataFrame([area("a1"), area("a2")])
    rows.to_parquet(tmp_path / "areas.parquet")
    assert validate_table(tmp_path / "areas.parquet", "areas")["area_id"].tolist() == ["a1", "a2"]
    g = gpd.GeoDataFrame(rows.drop(columns=["lon", "lat"]), geometry=[Point(BASE_LON, BASE_LAT)] * 2, crs=4326)
    g.to_parquet(tmp_path / "areas_geo.parquet")
    assert len(validate_table(tmp_path / "areas_geo.parquet", "areas")) == 2


def test_parquet_bad_value_names_row(tmp_path):
    rows = pd.DataFrame([area("a1"), area("a2")])
    rows["pop_total"] = rows["pop_total"].astype(float)
    rows.loc[1, "pop_total"] = -4.0
    rows.to_parquet(tmp_path / "areas.parquet")
    e = err(tmp_path / "areas.parquet")
    assert (e.row, e.column) == (3, "pop_total")


def test_geojson_with_one_unclosed_ring_names_the_feature(tmp_path):
    ring = [[112.0, 37.0], [112.1, 37.0], [112.1, 37.1], [112.0, 37.1], [112.0, 37.0]]
    feats = [{"type": "Feature", "properties": {"district_id": f"D{i}"},
              "geometry": {"type": "Polygon", "coordinates": [ring if i != 2 else ring[:-1]]}} for i in range(4)]
    path = tmp_path / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    e = err(path, "districts")
    assert (e.file, e.row, e.column) == (str(path), 4, "geometry") and "not closed" in e.message


def test_leading_blank_lines_count_as_rows(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text("\n" + HEADER + "\n" + f"a1,x,D1,-1,30,50,{BASE_LON},{BASE_LAT}\n", encoding="utf-8")
    assert err(path).row == 3


def test_empty_and_folder(tmp_path):
    (tmp_path / "areas.csv").write_text("", encoding="utf-8")
    assert "empty" in err(tmp_path / "areas.csv").message
    assert "folder" in err(tmp_path).message


def test_planner_excel_export_reads_back(tmp_path):
    # the planner's own workbooks: Chinese labels in row 1, column names in row 2
    sc = planner.Scenario.from_frames(pd.DataFrame([area("a1")]), pd.DataFrame(
        [{"facility_id": "f1", "kind": "childcare", "district_id": "D1", "slots": 100, "lon": BASE_LON,
          "lat": BASE_LAT}]))
    res = planner.solve(sc)
    res.to_excel(tmp_path / "plan.xlsx")
    back = read_file(tmp_path / "plan.xlsx")
    assert "district_id" in back.columns and list(back.attrs["rows"])[0] == 3


def test_readers_are_declared_dependencies():
    # a wheel install must read Parquet, .xls and .ods: their engines are dependencies, not extras
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in pyproject["project"]["dependencies"]}
    assert {"pyarrow", "python-calamine", "openpyxl"} <= names


def test_missing_column_under_a_label_row_names_row_2(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_text("编号,区县,人口,经度,纬度\narea_id,district_id,pop_total,lon,lat\n"
                    f"a1,D1,100,{BASE_LON},{BASE_LAT}\n", encoding="utf-8")
    e = err(path)
    assert (e.row, e.column) == (2, "pop_60_plus") and e.message.startswith("required column is missing")


def test_codes_stay_text_and_scientific_codes_are_refused(tmp_path):
    # 12-digit statistical codes: exact from Excel numbers and from CSV text
    path = tmp_path / "areas.xlsx"
    rows = pd.DataFrame([area("a1", "140105001000"), area("a2", "140105002000")])
    rows["district_id"] = rows["district_id"].astype("int64")
    rows.to_excel(path, index=False)
    assert validate_table(path, "areas")["district_id"].tolist() == ["140105001000", "140105002000"]
    # the same column saved to CSV by Excel with its scientific display: the digits are gone
    csv_path = tmp_path / "areas.csv"
    csv_path.write_text(HEADER + "\n" + f"a1,x,1.40105E+11,1000,30,50,{BASE_LON},{BASE_LAT}\n", encoding="utf-8")
    e = err(csv_path)
    assert (e.row, e.column) == (2, "district_id") and "scientific format" in e.message
