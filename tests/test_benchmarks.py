"""Smoke test of the benchmark machinery on a tiny instance (no timing assertions)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
import sys

import pytest

import planner

pytest.importorskip("highspy")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bench():
    return _load("bench_solve")


@pytest.fixture(scope="module")
def tiny(bench):
    sc = _load("instances").make_instance(40, 15, seed=7, density=6)
    return sc, bench.bench_size(sc, "tiny", 1, pulp_path=True, ipm=True, log=lambda s: None)


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
    assert r["raw_ipm_objective"] == pytest.approx(r["planner_objective"], rel=1e-6)
    # same LP: same shape; the engine's additions to DESIGN.md behave as documented
    assert (r["raw_variables"], r["raw_rows"]) == (r["variables"], r["rows"])
    strict = r["design_strict"]
    assert strict["cap_neutral_rel_diff"] <= 1e-6          # "≤ need" does not move the optimum
    assert strict["uniform_price_vs_strict_rel_diff"] <= 1e-6
    assert strict["objective"] <= r["planner_objective"] * (1 + 1e-9)  # dearer share shortfalls cost more
    # and the planner's own solution, independently: planner.solve agrees with the baseline
    assert planner.solve(sc).info.objective == pytest.approx(r["raw_objective"], rel=1e-6)


def test_writers_produce_expected_keys_and_columns(tiny, bench, tmp_path):
    _, r = tiny
    machine = bench.machine_info()
    for key in ("cpu", "cores", "ram_gb", "python", "highspy", "pulp", "date"):
        assert key in machine
    js = bench.write_json([r], machine, tmp_path / "results.json")
    data = json.loads(js.read_text(encoding="utf-8"))
    assert set(data) == {"machine", "sizes"}
    size = data["sizes"][0]
    for key in ("n_areas", "n_sites", "pairs", "variables", "rows", "nonzeros", "seconds", "ratio",
                "rss_mb", "planner_objective", "raw_objective", "objective_rel_diff"):
        assert key in size
    for key in ("planner_build", "planner_solve", "planner_total", "raw_reach", "raw_build", "raw_solve",
                "raw_total", "pulp_to_pulp", "pulp_solve"):
        assert key in size["seconds"]
    assert {"build", "solve", "total", "pulp_total"} <= set(size["ratio"])
    assert {"planner_peak", "raw_peak"} <= set(size["rss_mb"])

    md = bench.write_markdown([r], machine, tmp_path / "RESULTS.md").read_text(encoding="utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| |"))
    assert "tiny" in header
    for label in ("areas × sites", "pairs in reach", "variables / rows / nonzeros", "build s", "solve s",
                  "total s", "ratio build", "ratio solve", "ratio total", "PuLP path", "peak RSS MB",
                  "objective rel. diff"):
        assert label in md, label
