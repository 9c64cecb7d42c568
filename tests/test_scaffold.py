"""care-planner init / planner.init_scenario: a scenario folder to fill in, shipped in the wheel."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import openpyxl
import pytest

import planner
from planner.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_init_writes_templates_that_solve_as_written(tmp_path):
    yaml_path = planner.init_scenario(tmp_path / "my_county")
    folder = yaml_path.parent
    assert sorted(p.name for p in folder.iterdir()) == ["areas.xlsx", "districts.xlsx", "facilities.xlsx",
                                                        "scenario.yaml"]
    sc = planner.load_scenario(yaml_path)
    assert (len(sc.areas), len(sc.facilities), len(sc.districts)) == (8, 9, 3)
    res = planner.solve(sc)
    assert res.status in ("optimal", "shortfall") and res.cost > 0
    # 示例新区 keeps its own target of 6 slots per 1,000 residents
    d2 = res.districts.set_index("district_id").loc["D02"]
    assert d2["slots_per_1000_after"] >= 6 - 1e-6


def test_workbook_layout(tmp_path):
    planner.init_scenario(tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "facilities.xlsx")
    data, guide = wb.worksheets
    assert (data.title, guide.title) == ("数据", "填写说明")
    rows = list(data.iter_rows(values_only=True))
    assert rows[0][:4] == ("机构编号", "名称", "类型", "区县代码")          # Chinese header row
    assert rows[1][:4] == ("facility_id", "name", "kind", "district_id")  # the names the planner reads
    assert rows[2][:5] == ("F01", "示例托育园一", "childcare", "D01", 60)  # example rows, numbers as numbers
    names = [r[0] for r in guide.iter_rows(min_row=2, values_only=True)]
    assert names == list(rows[1])  # the guide covers every column
    required = {r[0] for r in guide.iter_rows(min_row=2, values_only=True) if r[2] == "是"}
    assert {"facility_id", "kind", "district_id", "lon", "lat"} <= required


def test_english_labels(tmp_path):
    planner.init_scenario(tmp_path, lang="en")
    ws = openpyxl.load_workbook(tmp_path / "areas.xlsx").worksheets[0]
    assert ws.cell(1, 1).value == "Area ID" and ws.cell(2, 1).value == "area_id"


def test_init_never_overwrites(tmp_path, capsys):
    (tmp_path / "scenario.yaml").write_text("mine", encoding="utf-8")
    assert main(["init", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml"]  # nothing else written
    assert (tmp_path / "scenario.yaml").read_text(encoding="utf-8") == "mine"
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert main(["init", str(tmp_path / "file")]) == 2


def test_cli_init_then_solve(tmp_path, capsys):
    assert main(["init", str(tmp_path / "county")]) == 0
    assert "care-planner solve" in capsys.readouterr().out
    assert main(["solve", str(tmp_path / "county" / "scenario.yaml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert (tmp_path / "out" / "map.html").exists()


@pytest.mark.slow
def test_wheel_ships_the_templates(tmp_path):
    # build the wheel, install it (without dependencies: they come from this venv) into a fresh venv,
    # and run init + solve from a folder far from the source tree
    dist = tmp_path / "dist"
    # --no-build-isolation: setuptools and wheel come from the test extras, nothing is downloaded
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(dist.glob("care_planner-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # this venv's packages as a fallback path entry (not a site dir: the editable planner is not picked up)
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([py, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = ("import planner, pathlib; p = planner.init_scenario('county'); "
            "print('WHERE', pathlib.Path(planner.__file__).parent); "
            "print('STATUS', planner.solve(planner.load_scenario(p)).status)")
    run = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=work,
                         env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 0, run.stderr[-3000:]
    said = dict(line.split(" ", 1) for line in run.stdout.splitlines() if line.startswith(("WHERE ", "STATUS ")))
    assert said["WHERE"].startswith(str(venv)) and said["STATUS"] in ("optimal", "shortfall")
    assert (work / "county" / "facilities.xlsx").exists()


def test_chinese_guide_explains_every_input_column():
    from planner import i18n
    from planner.schema import TABLES

    inputs = {c.name for t in ("areas", "facilities", "districts") for c in TABLES[t]} | {"lon", "lat"}
    missing = inputs - set(i18n.COLUMN_GUIDE_ZH)
    assert not missing, f"columns without a Chinese explanation in the template guide: {sorted(missing)}"


@pytest.mark.slow
def test_own_data_notebook_runs_from_another_folder(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "notebooks" / "own_data.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert not list(tmp_path.iterdir())  # it wrote nothing into the folder it ran in (temporary folders only)
