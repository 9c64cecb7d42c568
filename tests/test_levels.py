"""Levels: districts of several levels in one table, validated as a tree; targets per level; roll-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import planner
from planner import levels

from conftest import area, childcare, eldercare


def tree_rows(*rows):
    """(district_id, parent_id, level) tuples → a districts frame."""
    return pd.DataFrame([{"district_id": i, "name": f"n{i}", "parent_id": p, "level": lv} for i, p, lv in rows])


THREE = [("P", "", "province"), ("M1", "P", "prefecture"), ("M2", "P", "prefecture"),
         ("C1", "M1", "county"), ("C2", "M1", "county"), ("C3", "M2", "county")]


def small(districts=THREE, area_district=("C1", "C2", "C3")):
    areas = [area(f"a{i}", d, pop=10_000) for i, d in enumerate(area_district)]
    facs = [childcare(f"f{i}", d, slots=10) for i, d in enumerate(area_district)]
    return planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), tree_rows(*districts))


def test_tree_splits_into_leaves_and_parents():
    sc = small()
    assert list(sc.districts["district_id"]) == ["C1", "C2", "C3"]
    assert list(sc.parents["district_id"]) == ["P", "M1", "M2"]
    t = levels.Tree.from_scenario(sc)
    assert t.levels == ["province", "prefecture", "county"]
    m = t.members.toarray()
    assert m[list(t.ids).index("M1")].tolist() == [True, True, False]
    assert m[list(t.ids).index("P")].tolist() == [True, True, True]


def test_chinese_level_words():
    rows = [("P", "", "省"), ("M1", "P", "市"), ("C1", "M1", "县"), ("T1", "C1", "乡镇")]
    sc = small(rows, ("T1",))
    assert list(sc.parents["level"]) == ["province", "prefecture", "county"]
    assert list(sc.districts["level"]) == ["township"]


@pytest.mark.parametrize("rows, row, column, words", [
    (THREE[:3] + [("C1", "M9", "county"), ("C2", "M1", "county"), ("C3", "M2", "county")], 5, "parent_id",
     "unknown parent 'M9'"),
    ([("P", "C1", "province")] + THREE[1:], 2, "parent_id", "loop"),
    (THREE[:3] + [("C1", "C1", "county"), ("C2", "M1", "county"), ("C3", "M2", "county")], 5, "parent_id",
     "names itself"),
    (THREE[:3] + [("C1", "M1", "county"), ("C2", "M1", "county"), ("C3", "M2", "canton")], 7, "level",
     "unknown level 'canton'"),
    (THREE[:3] + [("C1", "M1", "province"), ("C2", "M1", "county"), ("C3", "M2", "county")], 5, "level",
     "not below its parent"),
])
def test_tree_errors_name_file_row_column(rows, row, column, words):
    with pytest.raises(planner.PlannerError) as e:
        small(rows)
    assert (e.value.file, e.value.row, e.value.column) == ("districts", row, column)
    assert words in e.value.message


def test_loop_message_lists_the_loop():
    rows = [("A", "B", ""), ("B", "C", ""), ("C", "A", ""), ("L", "A", "")]
    with pytest.raises(planner.PlannerError, match="A → B → C → A"):
        small(rows, ("L",))


def test_area_pointing_at_a_parent_row():
    with pytest.raises(planner.PlannerError) as e:
        small(area_district=("C1", "M2", "C3"))
    assert (e.value.file, e.value.row, e.value.column) == ("areas", 3, "district_id")
    assert "lowest level" in e.value.message


def test_one_level_table_keeps_parent_id_as_a_label():
    """Today's tables: parent_id naming a prefecture that is not a row is fine."""
    rows = [("C1", "140100", ""), ("C2", "140100", ""), ("C3", "140200", "")]
    sc = small(rows)
    assert sc.parents is None and len(sc.districts) == 3


def test_twelve_digit_codes_match_county_rows_and_are_reported():
    rows = [("140100", "", "prefecture"), ("140105", "140100", "county"), ("140106", "140100", "county")]
    areas = [area("a1", "140105001001"), area("a2", "140106"), area("a3", "140106100200")]
    facs = [childcare("f1", "140105")]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), tree_rows(*rows))
    assert list(sc.areas["district_id"]) == ["140105", "140106", "140106"]
    assert list(sc.areas["division_code"]) == ["140105001001", "", "140106100200"]
    rep = sc.load_report["division_codes"]["areas"]
    assert rep["rows"] == 2 and rep["matched_to"] == "county"


def test_twelve_digit_code_without_a_county_is_still_unknown():
    rows = [("140100", "", "prefecture"), ("140105", "140100", "county")]
    areas = [area("a1", "140199001001")]
    with pytest.raises(planner.PlannerError, match="unknown district '140199001001'"):
        planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame([childcare("f1", "140105")]),
                                     tree_rows(*rows))


def test_care_need_cannot_exceed_elderly():
    a = pd.DataFrame([area("a1", "D1", pop60=100) | {"pop_care_need": 150}])
    with pytest.raises(planner.PlannerError) as e:
        planner.Scenario.from_frames(a, pd.DataFrame([childcare("f1")]))
    assert (e.value.row, e.value.column) == (2, "pop_care_need")


def test_target_level_and_objective_are_checked():
    sc = small()
    sc.target_level = "市"
    sc.validate()
    assert sc.target_level == "prefecture"
    sc.target_level = "township"
    with pytest.raises(planner.PlannerError, match="no districts at level 'township'"):
        sc.validate()
    sc.target_level = "leaf"
    sc.objective = "fairest"
    with pytest.raises(planner.PlannerError, match="objective must be one of"):
        sc.validate()


def test_which_target_applies_where():
    d = tree_rows(*THREE)
    d["childcare_per_1000"] = [np.nan, 6.0, np.nan, 3.0, np.nan, np.nan]  # prefecture M1 and county C1
    areas = [area(f"a{i}", c) for i, c in enumerate(("C1", "C2", "C3"))]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame([childcare("f1", "C1")]), d)
    sc.targets.childcare_per_1000 = 4.5
    ids = lambda g: [levels.ALL_ID if r < 0 else t.ids[r] for r in g.row]  # noqa: E731
    t = levels.Tree.from_scenario(sc)
    g = levels.target_groups(sc, "childcare_per_1000", t)   # leaf: every county + M1's own column
    assert dict(zip(ids(g), g.value)) == {"C1": 3.0, "C2": 4.5, "C3": 4.5, "M1": 6.0}
    sc.target_level = "prefecture"
    g = levels.target_groups(sc, "childcare_per_1000", t)   # prefectures; C1 keeps its floor
    assert dict(zip(ids(g), g.value)) == {"C1": 3.0, "M1": 6.0, "M2": 4.5}
    assert list(sc.district_targets()["childcare_per_1000"]) == [3.0, 6.0, 4.5]
    sc.target_level = "all"
    g = levels.target_groups(sc, "childcare_per_1000", t)
    assert dict(zip(ids(g), g.value)) == {"C1": 3.0, "M1": 6.0, "all": 4.5}
    assert g.members.toarray()[-1].all()


def test_leaf_groups_are_todays_rows():
    sc = small()
    g = levels.target_groups(sc, "beds_per_1000_elderly")
    assert g.is_leaf_identity and (g.value == 40.0).all()


def test_reach_rule_inherits_from_ancestors():
    d = tree_rows(*THREE)
    d["access_minutes"] = [np.nan, 10.0, np.nan, np.nan, 20.0, np.nan]
    areas = [area(f"a{i}", c) for i, c in enumerate(("C1", "C2", "C3"))]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame([childcare("f1", "C1")]), d)
    assert list(sc.district_targets()["access_minutes"]) == [10.0, 20.0, 15.0]


def test_subset_keeps_the_rows_above():
    sc = small().subset(["C3"])
    assert list(sc.parents["district_id"]) == ["P", "M2"]


def test_yaml_keys(tmp_path):
    pd.DataFrame([area("a1", "C1"), area("a2", "C2")]).to_csv(tmp_path / "areas.csv", index=False)
    pd.DataFrame([childcare("f1", "C1")]).to_csv(tmp_path / "facilities.csv", index=False)
    tree_rows(("M", "", "市"), ("C1", "M", "县"), ("C2", "M", "县")).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.yaml").write_text("areas: areas.csv\nfacilities: facilities.csv\ndistricts: d.csv\n"
                                     "target_level: 市\nobjective: equity\n", encoding="utf-8")
    sc = planner.load_scenario(tmp_path / "s.yaml")
    assert (sc.target_level, sc.objective) == ("prefecture", "equity")


def test_demo_has_three_levels():
    sc = planner.load_demo("shanxi")
    t = levels.Tree.from_scenario(sc)
    assert t.levels == ["province", "prefecture", "county"] and t.n_leaves == 117
    assert len(sc.parents) == 12


# ------------------------------------------------------------------ roll-ups and exports

def test_rollup_by_hand():
    """Two counties under M1, one under M2: 4.5/1,000 each; sums and rates by hand."""
    areas = [area("a1", "C1", pop=10_000, pop60=1000), area("a2", "C2", pop=20_000, pop60=2000),
             area("a3", "C3", pop=30_000, pop60=3000)]
    facs = [childcare("f1", "C1", slots=20, max_add=100, cost=1000), childcare("f2", "C2", slots=100),
            childcare("f3", "C3", slots=0, max_add=200, cost=2000)]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), tree_rows(*THREE))
    sc.targets.beds_per_1000_elderly = 0
    sc.targets.access_share = 0
    res = planner.solve(sc)
    # C1 needs 45 (adds 25 × 1,000), C2 has 100 ≥ 90, C3 needs 135 (× 2,000)
    assert res.cost == pytest.approx(25 * 1000 + 135 * 2000)
    m = res.rollup("市").set_index("district_id")
    assert list(m.index) == ["M1", "M2"]
    assert m.at["M1", "pop_total"] == 30_000 and m.at["M1", "slots_after"] == pytest.approx(145)
    assert m.at["M1", "slots_per_1000_after"] == pytest.approx(145 / 30)
    assert m.at["M1", "cost"] == pytest.approx(25_000) and m.at["M1", "districts"] == 2
    assert m.at["M2", "slots_before"] == 0 and m.at["M2", "level"] == "prefecture"
    everything = res.rollup("all")
    assert len(everything) == 1 and everything["district_id"].iloc[0] == "all"
    assert everything["cost"].iloc[0] == pytest.approx(res.cost)
    assert everything["pop_total"].iloc[0] == 60_000
    assert res.rollup("leaf").equals(res.districts)
    with pytest.raises(planner.PlannerError, match="levels here: province, prefecture, county, leaf, all"):
        res.rollup("township")


def test_rollup_sheets_and_layers(tmp_path):
    import pyogrio
    from planner.export import read_excel

    res = planner.solve(small())
    res.to_excel(tmp_path / "plan.xlsx", lang="en")
    t = read_excel(tmp_path / "plan.xlsx")
    assert set(t) == {"districts", "facilities", "areas", "rollup_province", "rollup_prefecture"}
    assert list(t["rollup_prefecture"]["district_id"]) == ["M1", "M2"]
    assert list(t["districts"]["district_id"]) == ["C1", "C2", "C3"]
    res.to_excel(tmp_path / "plan_zh.xlsx")
    assert set(read_excel(tmp_path / "plan_zh.xlsx")) == set(t)
    # no polygons: attribute tables
    res.to_geopackage(tmp_path / "plan.gpkg")
    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "plan.gpkg")}
    assert {"rollup_province", "rollup_prefecture"} <= layers


def test_demo_rollup_shows_census_totals():
    res = planner.solve(planner.load_demo("shanxi", prefecture="阳泉"))
    m = res.rollup("prefecture")
    assert list(m["name"]) == ["阳泉市"] and m["pop_total"].iloc[0] == 1_318_505
    assert m.geometry.notna().all()


def test_care_need_columns():
    areas = [area("a1", "C1", pop=10_000, pop60=1000) | {"pop_care_need": 100}]
    facs = [eldercare("e1", "C1", beds=40, care=20)]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs))
    sc.targets.childcare_per_1000 = 0
    sc.targets.access_share = 0
    sc.targets.beds_per_1000_elderly = 0
    sc.targets.care_bed_share = 0
    d = planner.solve(sc).districts.iloc[0]
    assert d["care_need"] == 100
    assert d["care_beds_per_care_need_before"] == pytest.approx(0.2)
    assert d["shortfall_care_need_beds"] == 0


def test_gini_matches_the_pairwise_definition():
    from planner.targets import gini

    rng = np.random.default_rng(3)
    for _ in range(20):
        x, w = rng.random(9) * 6, rng.integers(1, 1000, 9).astype(float)
        mu = (w * x).sum() / w.sum()
        pairwise = (w[:, None] * w[None, :] * abs(x[:, None] - x[None, :])).sum() / (2 * w.sum() ** 2 * mu)
        assert gini(x, w) == pytest.approx(pairwise, rel=1e-12)
    assert gini([2.0, 2.0, 2.0], [1, 5, 9]) == pytest.approx(0.0, abs=1e-15)
    # all capacity in one of two equal districts: 0.5 (the two-group maximum)
    assert gini([0.0, 4.0], [100, 100]) == pytest.approx(0.5)
    assert gini([np.nan], [0]) is None


def test_map_has_one_layer_per_level_and_escapes_names():
    import geopandas as gpd
    import shapely

    box = lambda x: shapely.box(x, 0, x + 1, 1)  # noqa: E731
    d = gpd.GeoDataFrame(tree_rows(*THREE).assign(name=["省", "<b>M1</b>", "M2", "C1", "C2", "C3"]),
                         geometry=[box(0).union(box(1)).union(box(2)), box(0).union(box(1)), box(2), box(0),
                                   box(1), box(2)], crs=4326)
    areas = [area(f"a{i}", c, lon=i + 0.5, lat=0.5) for i, c in enumerate(("C1", "C2", "C3"))]
    facs = [childcare(f"f{i}", c, slots=10, lon=i + 0.5, lat=0.5) for i, c in enumerate(("C1", "C2", "C3"))]
    res = planner.solve(planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs), d))
    m = res.map(level="prefecture")
    assert {"level_province", "level_prefecture"} <= set(m.planner_layers)
    assert m.planner_layers["level_prefecture"].show and not m.planner_layers["level_province"].show
    html = m.get_root().render()
    import re
    found = re.findall(r'"tip": "([^"]*M1[^"]*)"', html)
    assert found, "the prefecture's tooltip"
    text = found[0].encode().decode("unicode_escape")  # the JSON string as the browser reads it
    assert "&lt;b&gt;M1&lt;/b&gt;" in text and "<b>M1</b>" not in text


def test_cli_objective_target_level_and_load_report(tmp_path, capsys):
    from planner.cli import main

    pd.DataFrame([area("a1", "140105001001"), area("a2", "140106")]).to_csv(tmp_path / "areas.csv", index=False)
    pd.DataFrame([childcare("f1", "140105", max_add=100, cost=1000),
                  childcare("f2", "140106", max_add=100, cost=3000)]).to_csv(tmp_path / "facilities.csv", index=False)
    tree_rows(("140100", "", "市"), ("140105", "140100", "县"), ("140106", "140100", "县")).to_csv(
        tmp_path / "d.csv", index=False)
    (tmp_path / "s.yaml").write_text("areas: areas.csv\nfacilities: facilities.csv\ndistricts: d.csv\n"
                                     "targets: {access_share: 0, beds_per_1000_elderly: 0}\n", encoding="utf-8")
    assert main(["solve", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"),
                 "--target-level", "市"]) == 0
    out = capsys.readouterr().out
    assert "1 areas rows carry a 12-digit statistical division code" in out
    import json
    s = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert s["target_level"] == "prefecture" and s["cost_yuan"] == 90_000
    assert s["load_report"]["division_codes"]["areas"]["rows"] == 1
    assert main(["solve", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "eq"), "--target-level", "市",
                 "--objective", "equity", "--quiet"]) == 0
    s = json.loads((tmp_path / "eq" / "summary.json").read_text(encoding="utf-8"))
    assert s["objective"] == "equity" and s["cost_yuan"] == 180_000


def test_level_features_are_refused_in_a_phased_plan_not_ignored():
    sc = planner.load_demo("shanxi_2026_2030", prefecture="阳泉")
    sc.objective = "equity"
    with pytest.raises(planner.PlannerError, match="objective is not yet available in a phased plan"):
        sc.validate()
    sc.objective = "least_cost"
    sc.target_level = "prefecture"
    with pytest.raises(planner.PlannerError, match="target_level is not yet available"):
        sc.validate()
    one = planner.load_demo("shanxi_2026_2030", prefecture="阳泉").for_year(2027)
    one.target_level = "prefecture"
    assert planner.solve(one).rollup("prefecture")["name"].tolist() == ["阳泉市"]


def test_reach_search_uses_the_inherited_minutes():
    """A prefecture's access_minutes reach its counties' areas in the reach search itself, not only in the
    targets table; a county's own value wins, and a county with none in its chain keeps the default."""
    from planner.access import area_rules

    d = tree_rows(*THREE)
    d["access_minutes"] = [np.nan, 10.0, np.nan, np.nan, 20.0, np.nan]
    areas = [area(f"a{i}", c) for i, c in enumerate(("C1", "C2", "C3", "C1"))]
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame([childcare("f1", "C1")]), d)
    for service in ("childcare", "eldercare"):
        _, minutes = area_rules(sc, service)
        assert list(minutes) == [10.0, 20.0, sc.targets.access_minutes, 10.0]
