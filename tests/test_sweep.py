"""planner.sweep on a real Dask LocalCluster with 2 worker processes."""

import pandas as pd
import pytest

import planner
from planner.sweep import apply, cost_curve, grid, sweep
from conftest import area, childcare, eldercare, scenario


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def county():
    facs = [childcare("c1", slots=30, affordable=30, max_add=100, cost=2000),
            eldercare("e1", beds=30, care=10, max_add=100, cost=5000, conv=300)]
    return scenario([area("a1", pop60=1000)], facs, access_share=0)


def test_grid_is_every_combination():
    g = grid(childcare_per_1000=[4.0, 4.5], budget=[None, 1e6])
    assert g == [{"childcare_per_1000": 4.0, "budget": None}, {"childcare_per_1000": 4.0, "budget": 1e6},
                 {"childcare_per_1000": 4.5, "budget": None}, {"childcare_per_1000": 4.5, "budget": 1e6}]


def test_sweep_matches_serial_solves(client):
    """45 + 5 slots per extra 0.5 per 1,000 at 2,000 yuan: 30,000 / 40,000 / 50,000 plus 50,600 for beds."""
    base = county()
    runs = grid(childcare_per_1000=[4.5, 5.0, 5.5], budget=[None, 40_000])
    table = sweep(base, runs, client=client, progress=False)
    assert list(table.columns[:2]) == ["childcare_per_1000", "budget"] and len(table) == 6
    for row, run in zip(table.itertuples(), runs):
        assert row.cost_yuan == pytest.approx(planner.solve(apply(base, run)).cost, abs=0.01)
    free = table[table["budget"].isna()]
    assert free["cost_yuan"].tolist() == pytest.approx([80_600, 90_600, 100_600])
    assert (free["status"] == "optimal").all()
    capped = table[table["budget"] == 40_000]
    assert (capped["cost_yuan"] <= 40_000 + 1e-6).all() and (capped["status"] == "shortfall").all()
    assert base.targets.childcare_per_1000 == 4.5 and base.budget is None  # the base is not modified


def test_sweep_list_of_scenarios_and_errors(client):
    good, bad = county(), county()
    good.name, bad.name = "甲县", "乙县"
    bad.targets.affordable_share = 1.5
    table = sweep([good, bad], client=client, progress=False)
    assert table["label"].tolist() == ["甲县", "乙县"]
    assert table["status"].tolist() == ["optimal", "error"]
    assert "affordable_share is a share between 0 and 1" in table.loc[1, "error"]


def test_unknown_override_is_reported():
    with pytest.raises(planner.PlannerError, match="cannot vary 'colour'"):
        apply(county(), {"colour": "red"})


def test_cost_curve_draws_each_budget():
    import matplotlib

    matplotlib.use("Agg")
    table = pd.DataFrame({"childcare_per_1000": [4.0, 4.5, 4.0, 4.5], "budget": [None, None, 1e8, 1e8],
                          "cost_yuan": [1e8, 1.3e8, 1e8, 1e8], "status": ["optimal"] * 4})
    ax = cost_curve(table)
    assert len(ax.lines) == 2
    # +0.5 per 1,000 costs 30 million → 6 million yuan per +0.1
    bars = [p.get_height() for p in ax.figure.axes[1].patches]
    assert bars[0] == pytest.approx(6.0)


def test_the_same_scenario_swept_twice_on_one_client(client):
    """A second sweep of the same base on the same cluster must not lose its scattered data."""
    base, runs = county(), grid(childcare_per_1000=[4.5, 5.0])
    first = sweep(base, runs, client=client, progress=False)
    second = sweep(base, runs, client=client, progress=False)
    assert second["cost_yuan"].tolist() == first["cost_yuan"].tolist() == pytest.approx([80_600, 90_600])


def test_fairness_curve(client):
    """Two counties (1,000 and 3,000 yuan per slot, 45 slots each): at 90,000 yuan least cost leaves
    C2 at 1/3 of its target, equity lifts both to 1/2; with no budget both meet every target."""
    import matplotlib

    matplotlib.use("Agg")
    from planner.sweep import fairness_curve, fairness_plot

    areas = [area("a1", "C1"), area("a2", "C2")]
    facs = [childcare("f1", "C1", max_add=100, cost=1000), childcare("f2", "C2", max_add=100, cost=3000)]
    base = scenario(areas, facs, access_share=0, beds_per_1000_elderly=0)
    table = fairness_curve(base, [None, 90_000], client=client, progress=False)
    assert list(table.columns[:4]) == ["budget", "objective", "status", "cost_yuan"]
    t = table.set_index(["objective", table["budget"].fillna(-1)])
    assert t.loc[("least_cost", 90_000), "min_attainment_childcare"] == pytest.approx(1 / 3, abs=1e-6)
    assert t.loc[("equity", 90_000), "min_attainment_childcare"] == pytest.approx(0.5, abs=1e-6)
    assert t.loc[("equity", -1), "cost_yuan"] == pytest.approx(180_000)
    assert (t["gini_slots_per_1000_after"].notna()).all()
    ax = fairness_plot(table)
    assert len(ax.get_lines()) == 2


SCRIPT = """
import pandas as pd
import planner
areas = pd.DataFrame([{"area_id": "a1", "district_id": "D1", "pop_total": 1000, "pop_60_plus": 100,
                       "lon": 112.55, "lat": 37.87}])
facs = pd.DataFrame([{"facility_id": "f1", "kind": "childcare", "district_id": "D1", "slots": 10, "max_add": 50,
                      "cost_per_unit": 1000, "lon": 112.55, "lat": 37.87}])
sc = planner.Scenario.from_frames(areas, facs)
sc.targets.access_share = 0
"""


def run_script(tmp_path, body):
    import subprocess
    import sys

    path = tmp_path / "plan.py"
    path.write_text(SCRIPT + body, encoding="utf-8")
    return path, subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300,
                                cwd=tmp_path)


@pytest.mark.slow
def test_script_without_main_guard_gets_the_fix_not_a_nanny_error(tmp_path):
    path, run = run_script(tmp_path, "print(planner.sweep(sc, [{'childcare_per_1000': 4.5}], progress=False))\n")
    assert run.returncode != 0
    assert "Nanny failed to start" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith(f"planner._errors.PlannerError: file {path}, row 10: called at the top level")
    assert 'if __name__ == "__main__":' in last


@pytest.mark.slow
def test_script_with_main_guard_sweeps(tmp_path):
    _, run = run_script(tmp_path, "if __name__ == '__main__':\n"
                                  "    t = planner.sweep(sc, [{'childcare_per_1000': 4.5}], progress=False)\n"
                                  "    print('STATUS', t['status'].tolist())\n")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "STATUS ['shortfall']" in run.stdout  # no beds anywhere: solved, with its shortfall

def test_sweep_accepts_phased_scenarios(client):
    """Births falling faster need fewer slots by 2030; each row has the money of every year."""
    sc = planner.load_demo("shanxi_2026_2030", prefecture="阳泉")
    runs = grid(growth=[{"pop_0_2": 0.0, "pop_60_plus": 0.035}, {"pop_0_2": -0.10, "pop_60_plus": 0.035}],
                              discount_rate=[0.0])
    table = sweep(sc, runs, client=client, progress=False)
    assert list(table["status"].isin(["optimal", "shortfall"])) == [True, True]
    for year in range(2026, 2031):
        assert f"cost_{year}" in table and f"districts_met_{year}" in table
    serial = planner.solve(apply(sc, runs[1]))
    assert table["cost_yuan"].iloc[1] == pytest.approx(serial.cost, rel=1e-6)
    assert table["cost_yuan"].iloc[1] <= table["cost_yuan"].iloc[0] + 1e-6
