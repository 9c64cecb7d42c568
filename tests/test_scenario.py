"""Scenario settings: errors in targets, budget and options name the YAML file and the key."""

import numpy as np
import pandas as pd
import pytest

import planner
from conftest import area, childcare


@pytest.fixture
def folder(tmp_path):
    pd.DataFrame([area("a1")]).to_csv(tmp_path / "areas.csv", index=False)
    pd.DataFrame([childcare("c1", slots=30, max_add=100, cost=2000)]).to_csv(tmp_path / "facilities.csv", index=False)
    return tmp_path


def load(folder, extra):
    path = folder / "s.yaml"
    path.write_text("areas: areas.csv\nfacilities: facilities.csv\n" + extra, encoding="utf-8")
    return path, planner.load_scenario(path)


@pytest.mark.parametrize("extra, key, message", [
    ("targets: {care_bed_share: 1.5}\n", "targets.care_bed_share", "care_bed_share is a share between 0 and 1, got 1.5"),
    ("targets: {childcare_per_1000: many}\n", "targets.childcare_per_1000", "childcare_per_1000 must be a number, got 'many'"),
    ("targets: {access_minutes: 0}\n", "targets.access_minutes", "access_minutes must be > 0"),
    ("targets: {per_1000: 4}\n", "targets.per_1000", "unknown targets key"),
    ("budget: -5\n", "budget", "budget must be a number of yuan ≥ 0 or null, got -5"),
    ("budget: lots\n", "budget", "budget must be a number of yuan ≥ 0 or null, got 'lots'"),
    ("options: {time_limit_s: -1}\n", "options.time_limit_s", "time_limit_s must be a positive number, got -1"),
    ("options: {integer: maybe}\n", "options.integer", "integer must be true or false, got 'maybe'"),
    ("options: {circuity: 0.5}\n", "options.circuity", "circuity is road ÷ straight-line distance, ≥ 1; got 0.5"),
])
def test_setting_errors_name_file_and_key(folder, extra, key, message):
    with pytest.raises(planner.PlannerError) as info:
        load(folder, extra)
    e = info.value
    assert (e.file, e.row, e.column) == (str(folder / "s.yaml"), None, key)
    assert e.message.startswith(message)


def test_budget_written_like_3e9_is_a_number(folder):
    # YAML 1.1 reads 3e9 (no dot) as the string '3e9'
    _, sc = load(folder, "budget: 3e9\ntargets: {childcare_per_1000: 1e1}\noptions: {time_limit_s: 6e1}\n")
    assert sc.budget == 3e9 and isinstance(sc.budget, float)
    assert sc.targets.childcare_per_1000 == 10.0 and sc.options.time_limit_s == 60.0
    assert planner.solve(sc).status == "optimal"
    _, sc = load(folder, "budget: '3,000,000'\n")
    assert sc.budget == 3e6


def test_numpy_values_are_shown_as_numbers(folder):
    _, sc = load(folder, "")
    sc.targets.care_bed_share = np.float64(1.5)
    with pytest.raises(planner.PlannerError) as info:
        planner.solve(sc)
    assert "np.float64" not in str(info.value) and info.value.message.endswith("got 1.5")
    assert (info.value.file, info.value.column) == (str(folder / "s.yaml"), "targets.care_bed_share")
    sc.targets.care_bed_share = 0.5
    sc.budget = np.float64(-2.0)
    with pytest.raises(planner.PlannerError, match=r"got -2$"):
        planner.solve(sc)


def test_frames_without_yaml_keep_plain_names():
    sc = planner.Scenario.from_frames(pd.DataFrame([area("a1")]), pd.DataFrame([childcare("c1", slots=30)]))
    sc.options.solver = "gurobi"
    with pytest.raises(planner.PlannerError) as info:
        planner.solve(sc)
    assert (info.value.file, info.value.column) == ("options", "solver")


def short_of_slots(folder, name, district_name, lang_line=""):
    pd.DataFrame({"district_id": ["D1"], "name": [district_name]}).to_csv(folder / "districts.csv", index=False)
    pd.DataFrame([childcare("c1", slots=1)]).to_csv(folder / "facilities.csv", index=False)  # cannot grow
    _, sc = load(folder, f"name: {name}\ndistricts: districts.csv\ntargets: {{access_share: 0}}\n{lang_line}")
    return planner.solve(sc)


def test_explain_answers_in_the_scenario_language(folder):
    res = short_of_slots(folder, "闻喜县 2025", "东城街道")
    assert res.explain("D1")[0] == "托位：扩建能力不足：即使用尽全部可扩建、可转换床位和候选点也不够"
    assert res.explain("D1", lang="en")[0].startswith("childcare slots: expansion limits")
    res = short_of_slots(folder, "Test county", "East")
    assert res.explain("D1")[0].startswith("childcare slots: expansion limits")
    res = short_of_slots(folder, "Test county", "East", "lang: zh\n")
    assert res.explain("D1")[0].startswith("托位：")


def test_bad_lang(folder):
    with pytest.raises(planner.PlannerError) as info:
        load(folder, "lang: fr\n")
    assert (info.value.file, info.value.column) == (str(folder / "s.yaml"), "lang")


def test_mip_gap_zero_is_allowed_negative_is_not(folder):
    _, sc = load(folder, "options: {mip_gap: 0, integer: true}\n")
    assert sc.options.mip_gap == 0
    with pytest.raises(planner.PlannerError) as info:
        load(folder, "options: {mip_gap: -0.1}\n")
    assert info.value.column == "options.mip_gap" and info.value.message == "mip_gap must be a number ≥ 0, got -0.1"
