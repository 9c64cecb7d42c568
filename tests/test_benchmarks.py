"""Smoke tests of the benchmark machinery on tiny instances (equal objectives; no timing assertions)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import sys

import numpy as np
import pytest

import planner

pytest.importorskip("highspy")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name):
    if str(BENCH) not in sys.path:  # the benchmark modules import each other by name
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return _load("bench_solve")


@pytest.fixture(scope="module")
def experiments():
    return _load("experiments")


@pytest.fixture(scope="module")
def tiny_sc():
    return _load("instances").make_instance(40, 15, seed=7, density=6)


@pytest.fixture(scope="module")
def small_sc():
    # big enough for several areas to share a reach set, small enough to solve in well under a second
    return _load("instances").make_instance(120, 40, seed=3, density=8)


@pytest.fixture(scope="module")
def tiny(bench, tiny_sc):
    return tiny_sc, bench.bench_size(tiny_sc, "tiny", 1, pulp_path=True, log=lambda s: None)


def test_instance_is_a_seeded_valid_scenario():
    inst = _load("instances")
    a, b = inst.make_instance(40, 15, seed=7), inst.make_instance(40, 15, seed=7)
    assert isinstance(a, planner.Scenario)
    assert a.areas.drop(columns="geometry").equals(b.areas.drop(columns="geometry"))
    f = a.facilities
    assert len(a.areas) == 40 and len(f) == 15
    assert set(f["kind"]) == {"childcare", "eldercare"} and f["candidate"].any()
    counts = inst.pair_counts(a)
    assert counts["total"] == counts["childcare"] + counts["eldercare"] > 0


def test_raw_highspy_objective_equals_planner(tiny, bench):
    sc, r = tiny
    assert r["raw_status"] == "Optimal" and r["solver_status"] == "optimal"
    assert r["objective_agrees"]
    assert r["raw_objective"] == pytest.approx(r["planner_objective"], rel=1e-6)
    assert r["pulp_objective"] == pytest.approx(r["planner_objective"], rel=1e-6)
    # same LP (merging off): same shape; merged areas make it smaller; the engine's convention
    # beyond DESIGN.md behaves as documented
    assert (r["raw_variables"], r["raw_rows"], r["raw_nonzeros"]) == (r["variables"], r["rows"], r["nonzeros"])
    assert r["merged_variables"] < r["variables"] and r["merged_rows"] < r["rows"]
    strict = r["design_strict"]
    assert strict["cap_neutral_rel_diff"] <= 1e-6          # a "≤ need" bound does not move the optimum
    assert strict["objective"] <= r["planner_objective"] * (1 + 1e-9)  # dearer share shortfalls cost more
    # and the planner's own solution, independently: planner.solve agrees with the baseline
    assert planner.solve(sc).info.objective == pytest.approx(r["raw_objective"], rel=1e-6)


def test_ladder_every_step_keeps_the_optimal_cost(experiments, small_sc):
    lad = experiments.ladder(small_sc, 1, log=lambda s: None)
    assert [k for k, *_ in experiments.LADDER] == list(lad["rows"])
    plain = lad["rows"]["plain"]["objective"]
    for key, row in lad["rows"].items():
        assert row["status"] == "optimal", key
        assert row["objective"] == pytest.approx(plain, rel=1e-6), key
        assert row["objective_equal"]
    # the engine's switches are restored afterwards
    engine = experiments.ENGINE
    assert engine.LP_OPTIONS == lad["engine_lp_options"] and engine.blocks is not experiments._one_block


def test_merging_areas_is_exact(experiments, small_sc):
    plain = planner.solve(small_sc, model=planner.build(small_sc, merge_areas=False)).info.objective
    m = experiments.merge_areas(small_sc, log=lambda s: None)
    assert m["groups_exact"] and m["status"] == "optimal"
    assert m["groups_childcare"] < m["areas"] and m["groups_eldercare"] < m["areas"]  # something merged
    assert m["flows_after"] < m["flows_before"] and m["lp_after"]["rows"] < m["lp_before"]["rows"]
    assert m["objective"] == pytest.approx(plain, rel=1e-6) == m["full_objective"]


def test_engine_groups_equal_sets_only(experiments):
    from planner.access import Pairs
    from planner.model import AreaGroups

    # areas 0 and 2 see {0, 1}; area 1 sees {1}; areas 3 and 5 see nothing; area 4 sees {0, 1, 2}
    area = np.array([0, 0, 1, 2, 2, 4, 4, 4])
    fac = np.array([0, 1, 1, 0, 1, 0, 1, 2])
    pairs = Pairs(area, fac, np.zeros(len(area)))
    g = AreaGroups.from_pairs(pairs, 6)
    group, n = g.of_area, g.n
    assert n == 4 and group[0] == group[2] and group[3] == group[5]
    assert len({group[0], group[1], group[3], group[4]}) == 4
    assert g.flow_pairs.tolist() == [0, 1, 2, 5, 6, 7]        # the pairs of areas 0, 1 and 4
    assert g.column.tolist() == [0, 1, 2, 0, 1, 3, 4, 5]      # area 2's pairs use area 0's columns
    assert experiments.check_groups(pairs, group, n)
    wrong = group.copy()
    wrong[1] = wrong[0]  # {1} is not {0, 1}
    assert not experiments.check_groups(pairs, wrong, n)


def test_warm_start_path_equals_cold(experiments, small_sc):
    moves = experiments.MOVES[:2]
    w = experiments.warm_starts(small_sc, moves, log=lambda s: None)
    assert len(w["moves"]) == 2 and w["all_reused"]
    assert w["objectives_equal"] and w["max_rel_diff"] <= 1e-6
    for m in w["moves"]:
        assert m["cold"]["objective"] == pytest.approx(m["warm"]["objective"], rel=1e-6)
        assert not m["cold"]["warm"] and m["warm"]["warm"]
    assert small_sc.targets.childcare_per_1000 == planner.Targets().childcare_per_1000  # the input is untouched


def test_slider_to_map_breakdown(bench, experiments, tiny_sc):
    s = experiments.slider_to_map(tiny_sc, experiments.MOVES[:1], profile_top=5, log=lambda s: None)
    row = s["moves"][0]
    assert row["warm"] and row["html_mb"] > 0
    for key in ("path", "total", "build", "solve", "result", "map_html", "map_build", "render", "inline"):
        assert key in s["median"]
    prof = s["profile"]
    assert prof["top_own"] and any(e["where"].startswith("planner/maps.py") for e in prof["top_planner_cumulative"])
    # the app shows a live map now: the section must say so and send the reader to the browser benchmark
    text = "\n".join(bench.section_map([{"size": "tiny", "map": s, "instance": {"n_areas": 40, "n_sites": 15}}]))
    assert "the app's old map path" in text and "widgets/livemap.py" in text and "bench_browser.py" in text


def test_spopt_comparison_equal_objectives(tiny_sc):
    pytest.importorskip("spopt")
    peers = _load("peers")
    c = peers.compare(tiny_sc, ("mclp", "pmedian"), solvers=("highs", "cbc"), log=lambda s: None)
    assert set(c["problems"]) == {"mclp", "pmedian"}
    for name, pr in c["problems"].items():
        ours = pr["ours"]
        assert ours["status"] == "optimal", name
        for solver, r in pr["spopt"]["solvers"].items():
            assert r["status"] == "optimal", (name, solver)
            assert r["objective"] == pytest.approx(ours["objective"], rel=1e-6), (name, solver)
            assert r["objective_equal"]
        # ours holds only the reach pairs; spopt's p-median is dense
        if name == "pmedian":
            assert ours["variables"] < pr["spopt"]["variables"]
    est = peers.spopt_size(3000, 500, "pmedian")
    assert est["variables"] == 3000 * 501 + 501


def test_mclp_presolve_keeps_the_optimum(bench, tiny_sc):
    """Ours (merged areas, dominated sites dropped, Σ open ≤ p, relaxation first) = brute force over p-subsets."""
    from itertools import combinations

    peers = _load("peers")
    rng = np.random.default_rng(1)
    for _ in range(40):
        n_a, n_s = int(rng.integers(1, 25)), int(rng.integers(1, 8))
        key = np.unique(rng.integers(0, n_a * n_s, int(rng.integers(0, n_a * n_s // 2 + 2))))
        need = np.round(rng.exponential(5, n_a), 1) * (rng.random(n_a) > 0.2)  # zeros and ties
        inst = {"need": need, "n_sites": n_s, "pair_area": key // n_s, "pair_site": key % n_s,
                "pair_minutes": np.ones(len(key)), "p": int(rng.integers(1, n_s + 1))}
        cover = np.zeros((n_a, n_s), bool)
        cover[inst["pair_area"], inst["pair_site"]] = True
        best = max(need[cover[:, list(c)].any(axis=1)].sum() for c in combinations(range(n_s), inst["p"]))
        r = peers.ours_mclp(inst)
        assert r["status"] == "optimal" and r["opened"] <= inst["p"]
        assert r["objective"] == pytest.approx(best, rel=1e-9, abs=1e-9)
        assert r["presolve"]["groups"] <= n_a and r["presolve"]["sites_kept"] <= n_s
    pytest.importorskip("spopt")
    c = peers.compare(tiny_sc, ("mclp",), solvers=("highs",), log=lambda s: None)
    text = "\n".join(bench.section_spopt([{"size": "tiny", "spopt": c}]))
    assert "MCLP presolve (ours): tiny 40 areas →" in text and "spopt gets the original problem" in text


def test_writers_produce_expected_sections(tiny, bench, experiments, tiny_sc, tmp_path):
    _, r = tiny
    size = {"size": "tiny", "instance": {"n_areas": 40, "n_sites": 15, "n_districts": 1, "pairs": {}},
            "raw": r, "ladder": experiments.ladder(tiny_sc, 1, log=lambda s: None),
            "merge": experiments.merge_areas(tiny_sc, log=lambda s: None),
            "warm": experiments.warm_starts(tiny_sc, experiments.MOVES[:1], log=lambda s: None),
            "phases": {"raw": {"seconds": 1.0, "peak_rss_mb": 100.0, "load_before": 1.0, "load_after": 1.0}},
            "rss_after_instance_mb": 90.0, "peak_rss_mb": 100.0}
    sweep = {"runs": 2, "grid": [{"childcare_per_1000": 4.0}, {"childcare_per_1000": 5.0}], "workers": 2,
             "startup": 1.0, "shutdown": 0.1, "load_before": 1.0, "load_after": 1.0,
             "scenarios": {"tiny": {"label": "tiny", "areas": 40, "facilities": 15, "serial": 1.0,
                                    "first_sweep": 1.0, "second_sweep": 0.8, "speedup_incl_startup": 0.5,
                                    "speedup_first_sweep": 1.0, "speedup_excl_startup": 1.25,
                                    "cost_rel_diff": 0.0, "costs_equal": True}}}
    data = {"machine": bench.machine_info(), "sizes": [size], "sweep": sweep,
            "run": {"seconds": 60.0, "command": "python benchmarks/bench_solve.py", "load_before": 1.0,
                    "load_after": 1.0}}
    for key in ("cpu", "cores", "ram_gb", "python", "highspy", "pulp", "spopt", "date"):
        assert key in data["machine"]
    loaded = json.loads(bench.write_json(data, tmp_path / "results.json").read_text(encoding="utf-8"))
    assert set(loaded) == {"machine", "sizes", "sweep", "run"}
    for key in ("n_areas", "pairs", "variables", "seconds", "ratio", "rss_mb", "planner_objective",
                "raw_objective", "objective_rel_diff"):
        assert key in loaded["sizes"][0]["raw"]
    assert bench.objective_checks(loaded) and bench._all_ok(loaded)

    md = bench.write_markdown(loaded, tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    for heading in ("## 1. planner vs the same LP straight to highspy", "## 2. Speed-ups one by one",
                    "Merging areas", "## 3. Warm starts", "## 6. Dask fan-out", "## 7. Memory",
                    "## 8. What the numbers mean"):
        assert heading in md, heading
    # a second thread that lost time is blamed on contention only where the ladder ran on a loaded machine
    slower = {"size": "x", "ladder": {"rows": {"split_1": {"seconds": 1.0}, "split_2": {"seconds": 2.0}}}}
    assert bench._second_thread_note([slower]) == ""
    loaded_phase = {"ladder": {"load_before": 4.0, "load_after": 3.0}}
    assert "x (1-min load 4.0)" in bench._second_thread_note([{**slower, "phases": loaded_phase}])
    # spopt is not in a default run: section 5 says it is superseded and where the comparison lives
    assert "## 5. PySAL spopt (superseded, not run)" in md and "bench_mclp.py" in md
    for label in ("areas × sites", "ratio build", "ratio solve", "objective rel. diff", "+ presolve off",
                  "engine default", "IPM instead of simplex", "areas that see the same sites merged", "speed-up",
                  "build overhead"):
        assert label in md, label
    # --render-only rewrites RESULTS.md from results.json
    (tmp_path / "RESULTS.md").unlink()
    assert bench.main(["--render-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "RESULTS.md").read_text(encoding="utf-8") == md


def test_each_script_rewrites_only_its_own_results_section(tmp_path):
    """RESULTS.md holds every script's section: one script's run replaces its own and keeps the others;
    a start marker without its end is refused instead of cutting what follows."""
    replace_section = _load("results_md").replace_section
    path = tmp_path / "RESULTS.md"
    a, b = ("<!-- a -->", "<!-- /a -->"), ("<!-- b -->", "<!-- /b -->")
    replace_section(path, "<!-- a -->\nfirst\n<!-- /a -->\n", *a)
    replace_section(path, "<!-- b -->\nother\n<!-- /b -->\n", *b)
    replace_section(path, "<!-- a -->\nsecond\n<!-- /a -->\n", *a)
    assert path.read_text(encoding="utf-8") == ("# Benchmarks\n\n<!-- a -->\nsecond\n<!-- /a -->\n\n"
                                                 "<!-- b -->\nother\n<!-- /b -->\n")
    path.write_text("<!-- a -->\nfirst\n\nlater section\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="without"):
        replace_section(path, "<!-- a -->\nx\n<!-- /a -->\n", *a)
    assert "later section" in path.read_text(encoding="utf-8")
