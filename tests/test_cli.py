"""care-planner end to end on a scenario written by the test."""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from planner.cli import main
from conftest import area, childcare, eldercare


@pytest.fixture
def county(tmp_path):
    pd.DataFrame([area("a1", pop60=1000), area("a2", "D2", lon=112.56, pop60=500)]).to_csv(tmp_path / "areas.csv", index=False)
    pd.DataFrame([childcare("c1", slots=30, affordable=30, max_add=50, cost=2000),
                  childcare("c2", "D2", slots=0, max_add=100, cost=3000, lon=112.56),
                  eldercare("e1", beds=30, care=10, max_add=100, cost=5000, conv=300),
                  eldercare("e2", "D2", beds=15, care=9, max_add=0, lon=112.56)]).to_csv(tmp_path / "facilities.csv", index=False)
    pd.DataFrame({"district_id": ["D1", "D2"], "name": ["城区", "新区"]}).to_csv(tmp_path / "districts.csv", index=False)
    (tmp_path / "county.yaml").write_text(
        "name: 测试县\nareas: areas.csv\nfacilities: facilities.csv\ndistricts: districts.csv\n"
        "targets: {access_share: 0}\n", encoding="utf-8")
    return tmp_path


def test_solve_writes_tables_and_summary(county, capsys):
    out = county / "out"
    assert main(["solve", str(county / "county.yaml"), "--out", str(out)]) == 0
    for name in ("districts.csv", "facilities.csv", "areas.csv", "summary.json"):
        assert (out / name).exists()
    d = pd.read_csv(out / "districts.csv", dtype={"district_id": str})
    assert d["district_id"].tolist() == ["D1", "D2"] and d["name"].tolist() == ["城区", "新区"]
    # D1: 45 slots (15 × 2,000), 40 beds (10 × 5,000 + 2 conversions × 300);
    # D2: 45 slots × 3,000; 20 beds needed but 15 exist and cannot grow → shortfall 5.
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["status"] == "shortfall" and s["cost_yuan"] == pytest.approx(30_000 + 50_600 + 135_000)
    assert bool(d.set_index("district_id").loc["D2", "met"]) is False
    assert d.set_index("district_id").loc["D2", "shortfall_reason"] == "beds:expansion_limit"
    assert "测试县: shortfall" in capsys.readouterr().out
    # inputs untouched, no temp files left behind
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


def test_strict_exit_code_and_set(county):
    out = county / "out"
    assert main(["solve", str(county / "county.yaml"), "--out", str(out), "--strict", "--quiet"]) == 3
    args = ["solve", str(county / "county.yaml"), "--out", str(out), "--set", "beds_per_1000_elderly=10",
            "--strict", "--quiet"]
    assert main(args) == 0
    assert json.loads((out / "summary.json").read_text())["targets"]["beds_per_1000_elderly"] == 10


def test_budget_and_integer_flags(county):
    out = county / "out"
    assert main(["solve", str(county / "county.yaml"), "--out", str(out), "--budget", "20000",
                 "--integer", "--quiet"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["budget_yuan"] == 20000 and s["cost_yuan"] <= 20000 and s["integer"] is True


def test_bad_input_exit_2_with_location(county, capsys):
    facs = pd.read_csv(county / "facilities.csv")
    facs.loc[2, "beds_care"] = 99
    facs.to_csv(county / "facilities.csv", index=False)
    assert main(["solve", str(county / "county.yaml"), "--out", str(county / "out")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"care-planner: error: file {county / 'facilities.csv'}, row 4, column 'beds_care': "
                           "care-oriented beds (99) exceed beds")
    assert not (county / "out").exists()


def test_bad_set_and_check(county, capsys):
    assert main(["solve", str(county / "county.yaml"), "--out", str(county / "o"), "--set", "speed=3"]) == 2
    assert "--set expects TARGET=VALUE" in capsys.readouterr().err
    assert main(["check", str(county / "county.yaml")]) == 0
    assert json.loads(capsys.readouterr().out) == {"scenario": "测试县", "areas": 2, "facilities": 4,
                                                   "districts": 2, "ok": True}


def test_console_script_help_and_demo(tmp_path):
    exe = shutil.which("care-planner", path=os.path.dirname(sys.executable)) or shutil.which("care-planner")
    assert exe, "the care-planner console script is installed with the package"
    help_text = subprocess.run([exe, "solve", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--out" in help_text and "--demo" in help_text and "childcare_per_1000" in help_text
    run = subprocess.run([exe, "solve", "--demo", "shanxi", "--prefecture", "阳泉市", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    d = pd.read_csv(tmp_path / "districts.csv", dtype={"district_id": str})
    assert len(d) == 5 and set(d["parent_id"].astype(str)) == {"140300"}


def test_solve_writes_offline_map_beside_the_tables(county):
    out = county / "out"
    assert main(["solve", str(county / "county.yaml"), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["areas.csv", "districts.csv", "facilities.csv", "map.html",
                                                     "summary.json"]
    text = (out / "map.html").read_text(encoding="utf-8")
    # districts.csv has no polygons: no shapes, but facilities are drawn, libraries inlined
    assert "planner/static/leaflet/leaflet.js" in text and '"城区"' in text and "planner-facility" in text
    assert '"planner-district"' not in text
    assert "<script src=" not in text and "<link href=" not in text and "L.tileLayer" not in text


def test_out_is_an_existing_file(county, capsys):
    (county / "results").write_text("not a folder", encoding="utf-8")
    assert main(["solve", str(county / "county.yaml"), "--out", str(county / "results")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"care-planner: error: file {county / 'results'}: this is a file, not a folder: "
                           "choose a folder for the outputs")
    assert "Traceback" not in err and (county / "results").read_text(encoding="utf-8") == "not a folder"


def test_output_clash_with_an_input_writes_nothing(county, capsys):
    # the areas input lives in the output folder under an output's name: refused before anything is written
    out = county / "out"
    out.mkdir()
    shutil.move(county / "areas.csv", out / "areas.csv")
    text = (county / "county.yaml").read_text(encoding="utf-8").replace("areas: areas.csv", "areas: out/areas.csv")
    (county / "county.yaml").write_text(text, encoding="utf-8")
    before = (out / "areas.csv").read_bytes()
    assert main(["solve", str(county / "county.yaml"), "--out", str(out)]) == 2
    assert "refusing to overwrite an input file" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["areas.csv"] and (out / "areas.csv").read_bytes() == before


def test_result_to_csv_refuses_the_whole_set_first(county):
    import planner

    (county / "districts.csv").unlink()
    text = (county / "county.yaml").read_text(encoding="utf-8").replace("districts: districts.csv\n", "")
    (county / "county.yaml").write_text(text, encoding="utf-8")
    res = planner.solve(planner.load_scenario(county / "county.yaml"))
    with pytest.raises(planner.PlannerError, match="refusing to overwrite an input file"):
        res.to_csv(county)  # districts.csv would be written first, then facilities.csv is an input
    assert sorted(p.name for p in county.iterdir()) == ["areas.csv", "county.yaml", "facilities.csv"]
