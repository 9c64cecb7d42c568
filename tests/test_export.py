"""planner.export: GeoPackage and Excel round trips with equal values."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook

import planner
from planner import export
from planner._errors import PlannerError
from test_maps import XSS, tiny_scenario

TABLES = ("districts", "facilities", "areas")


@pytest.fixture(scope="module")
def tiny():
    return planner.solve(tiny_scenario(facility_name=XSS, district_names=("城区", "新区 {{x}}")))


@pytest.fixture(scope="module")
def plain():
    """Districts without polygons (a user CSV)."""
    return planner.solve(tiny_scenario(polygons=False))


def _assert_same(orig: pd.Series, back: pd.Series, where: str) -> None:
    """Equal values: numbers to float precision, booleans as booleans, text as text."""
    if pd.api.types.is_bool_dtype(orig.dtype):
        assert back.dtype == bool, where
        np.testing.assert_array_equal(back.to_numpy(), orig.to_numpy(), err_msg=where)
    elif pd.api.types.is_numeric_dtype(orig.dtype):
        assert pd.api.types.is_numeric_dtype(back.dtype) and not pd.api.types.is_bool_dtype(back.dtype), where
        np.testing.assert_allclose(back.to_numpy(float), orig.to_numpy(float), rtol=1e-13, atol=0, err_msg=where)
    else:
        expected = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in orig]
        assert ["" if v is None else str(v) for v in back.to_numpy(object)] == expected, where


# ------------------------------------------------------------------ GeoPackage

def test_geopackage_round_trip(tiny, tmp_path):
    path = tiny.to_geopackage(tmp_path / "plan.gpkg")
    assert path == tmp_path / "plan.gpkg"
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"districts": "Polygon", "facilities": "Point", "areas": "Point"}
    for name in TABLES:
        orig = export._tidy(getattr(tiny, name))
        back = gpd.read_file(path, layer=name)
        assert back.crs.to_epsg() == 4326
        assert [c for c in back.columns if c != "geometry"] == [c for c in orig.columns if c != "geometry"], name
        for c in orig.columns:
            if c == "geometry":
                assert back.geometry.geom_equals_exact(orig.geometry.reset_index(drop=True), 1e-12).all()
            else:
                _assert_same(orig[c], back[c], f"{name}.{c}")
    f = gpd.read_file(path, layer="facilities")
    assert f["candidate"].dtype == bool and f["opened"].tolist() == tiny.facilities["opened"].tolist()
    assert f.loc[0, "name"] == XSS and f["state"].tolist() == tiny.facilities["state"].tolist()
    assert os.listdir(tmp_path) == ["plan.gpkg"]


def test_geopackage_without_polygons_keeps_districts_as_a_table(plain, tmp_path):
    path = plain.to_geopackage(tmp_path / "plan.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers["facilities"] == "Point" and layers["districts"] is None
    back = pyogrio.read_dataframe(path, layer="districts")
    _assert_same(plain.districts["slots_after"], back["slots_after"], "slots_after")
    _assert_same(plain.districts["met"], back["met"], "met")


def test_geopackage_replaces_atomically(tiny, tmp_path):
    out = tmp_path / "plan.gpkg"
    out.write_bytes(b"old")
    tiny.to_geopackage(out)
    assert len(pyogrio.list_layers(out)) == 3
    assert os.listdir(tmp_path) == ["plan.gpkg"]


# ------------------------------------------------------------------ Excel

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_excel_round_trip(tiny, tmp_path, lang):
    path = tiny.to_excel(tmp_path / "plan.xlsx", lang=lang)
    back = export.read_excel(path)
    assert set(back) == set(TABLES)
    for name in TABLES:
        df = getattr(tiny, name)
        orig = export._tidy(pd.DataFrame(df.drop(columns="geometry", errors="ignore")))
        for c in orig.columns:
            _assert_same(orig[c], back[name][c], f"{name}.{c}")
    assert back["facilities"].loc[0, "name"] == XSS
    assert back["districts"]["name"].tolist() == ["城区", "新区 {{x}}"]
    assert os.listdir(tmp_path) == ["plan.xlsx"]


def test_excel_layout_headers_numbers_and_notes(tiny, tmp_path):
    path = tiny.to_excel(tmp_path / "plan.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["区县", "机构", "需求单元", "说明"]
    ws = wb["区县"]
    header = [c.value for c in ws[1]]
    codes = [c.value for c in ws[2]]
    assert codes[0] == "district_id" and header[0] == "区县代码"
    col = {c: i + 1 for i, c in enumerate(codes)}
    assert header[col["slots_per_1000_after"] - 1] == "托位/千人 (规划后)"
    assert header[col["beds_per_1000_elderly_after"] - 1] == "养老床位/千名老人 (规划后)"
    assert ws.freeze_panes == "B3"
    assert ws.column_dimensions["A"].width >= 9
    # numbers are numbers, shares formatted as percentages, booleans as booleans
    cell = ws.cell(3, col["slots_after"])
    assert cell.data_type == "n" and cell.value == pytest.approx(tiny.districts["slots_after"].iloc[0])
    assert ws.cell(3, col["care_share_after"]).number_format == "0.0%"
    assert ws.cell(3, col["met"]).data_type == "b"
    assert ws.cell(4, col["shortfall_reason_text"]).value == "养老床位：扩建能力不足：即使用尽全部可扩建、可转换床位和候选点也不够"
    fac = wb["机构"]
    fcodes = [c.value for c in fac[2]]
    assert "lon" in fcodes and "geometry" not in fcodes and "geometry_wkt" not in fcodes
    assert [fac.cell(r, fcodes.index("state_text") + 1).value for r in range(3, 8)] == \
        ["扩建", "新建", "候选点（未选用）", "转换为护理型", "维持现状"]
    notes = [r for r in wb["说明"].iter_rows(values_only=True)]
    assert notes[0][:2] == ("方案", "测试县")
    assert any(r[0] == "数据来源" and r[1] == "Test data (synthetic)" for r in notes)
    assert ("区县", "slots_after", "托位 规划后 (个)", "number") in [tuple(r[:4]) for r in notes]


def test_excel_english_headers(tiny, tmp_path):
    wb = load_workbook(tiny.to_excel(tmp_path / "plan.xlsx", lang="en"), read_only=True)
    assert wb.sheetnames == ["Districts", "Facilities", "Areas", "Notes"]
    header = next(wb["Districts"].iter_rows(max_row=1, values_only=True))
    assert "Slots per 1,000 (after)" in header and "Why targets are missed" in header


def test_excel_reads_back_with_pandas_too(tiny, tmp_path):
    path = tiny.to_excel(tmp_path / "plan.xlsx")
    df = pd.read_excel(path, sheet_name="区县", header=1, dtype={"district_id": str})
    np.testing.assert_allclose(df["slots_after"], tiny.districts["slots_after"], rtol=1e-13)
    assert df["district_id"].tolist() == ["D1", "D2"]


def test_excel_without_polygons(plain, tmp_path):
    back = export.read_excel(plain.to_excel(tmp_path / "plan.xlsx"))
    _assert_same(plain.districts["cost"], back["districts"]["cost"], "cost")


def test_excel_round_trip_taiyuan(tmp_path):
    res = planner.solve(planner.load_demo("shanxi", prefecture="太原市"))
    back = export.read_excel(res.to_excel(tmp_path / "taiyuan.xlsx"))
    for name in TABLES:
        orig = export._tidy(pd.DataFrame(getattr(res, name).drop(columns="geometry")))
        assert len(back[name]) == len(orig)
        for c in orig.columns:
            _assert_same(orig[c], back[name][c], f"{name}.{c}")


# ------------------------------------------------------------------ inputs are never overwritten

@pytest.mark.parametrize("method", ["to_excel", "to_geopackage"])
def test_exports_refuse_to_overwrite_inputs(tmp_path, method):
    res = planner.solve(tiny_scenario())
    src = tmp_path / "facilities.xlsx"
    src.write_bytes(b"input data")
    res.scenario.sources = {"facilities": str(src)}
    with pytest.raises(PlannerError, match="refusing to overwrite"):
        getattr(res, method)(src)
    assert src.read_bytes() == b"input data"
    assert os.listdir(tmp_path) == ["facilities.xlsx"]


def test_failed_write_leaves_no_temp_file(tiny, tmp_path, monkeypatch):
    out = tmp_path / "plan.xlsx"
    out.write_bytes(b"old")

    def boom(self):
        raise OSError("disk full")

    monkeypatch.setattr("xlsxwriter.workbook.Workbook.close", boom)
    with pytest.raises(OSError, match="disk full"):
        tiny.to_excel(out)
    assert out.read_bytes() == b"old" and os.listdir(tmp_path) == ["plan.xlsx"]


def test_excel_prints_landscape_one_page_wide_with_headers_repeated(tiny, tmp_path):
    wb = load_workbook(tiny.to_excel(tmp_path / "plan.xlsx"))
    for name in ("区县", "机构", "需求单元"):
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9   # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        # one page wide (OOXML omits the default 1), as many pages tall as needed (0)
        assert ws.page_setup.fitToWidth in (None, 1, "1") and int(ws.page_setup.fitToHeight) == 0
        assert ws.print_title_rows.replace("$", "") == "1:2"
