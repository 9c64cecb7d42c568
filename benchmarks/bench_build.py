"""Build time of the labelled LP layer against the frozen pre-label builder, same run.

``planner.build(sc)`` (labelled blocks in :mod:`planner.formulation`, flattened
by :meth:`planner.lp.LinearProblem.to_arrays`) against
:func:`legacy_build.legacy_build` (the engine's ``_Builder`` as it was, frozen),
on the county, city and province instances of :mod:`instances`. Both produce
the same arrays (checked here and by ``tests/test_formulation.py``). The two
are timed alternately, ``--repeat`` times each, after one warm-up build, and
the medians compared. The reach search (in both) is timed apart so the ratio
of the model assembly alone is reported too.

Usage: ``python benchmarks/bench_build.py [--sizes county city province] [--repeat 7]``;
writes ``benchmarks/results_build.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path
import statistics
import sys
import time

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import planner  # noqa: E402
from planner.model import prepare  # noqa: E402
from instances import SIZES, make_instance  # noqa: E402
from legacy_build import legacy_build  # noqa: E402


def _timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def same_arrays(a, b) -> bool:
    keys = ("cost", "lower", "upper", "integer", "row_lower", "row_upper")
    return (all(np.array_equal(getattr(a, k), getattr(b, k)) for k in keys) and a.blocks == b.blocks
            and a.row_blocks == b.row_blocks and a.A.nnz == b.A.nnz and abs(a.A - b.A).max() == 0)


def bench(size: str, repeat: int) -> dict:
    sc = make_instance(**SIZES[size])
    new, old = planner.build(sc), legacy_build(sc)[0]  # warm-up (imports, caches)
    ok = same_arrays(new.lp, old)
    t_new, t_old, t_prep = [], [], []
    for _ in range(repeat):
        t_new.append(_timed(lambda: planner.build(sc))[1])
        t_old.append(_timed(lambda: legacy_build(sc))[1])
        t_prep.append(_timed(lambda: prepare(sc))[1])
    med = {k: statistics.median(v) for k, v in (("labelled", t_new), ("legacy", t_old), ("prepare", t_prep))}
    return {"size": size, "shape": list(new.lp.shape), "nonzeros": int(new.lp.A.nnz), "same_arrays": bool(ok),
            "seconds": med, "runs": {"labelled": t_new, "legacy": t_old, "prepare": t_prep},
            "ratio": med["labelled"] / med["legacy"],
            "ratio_excl_prepare": (med["labelled"] - med["prepare"]) / max(med["legacy"] - med["prepare"], 1e-9)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", default=str(HERE / "results_build.json"))
    args = ap.parse_args(argv)
    out = []
    for size in args.sizes:
        r = bench(size, args.repeat)
        s = r["seconds"]
        print(f"{size}: {r['shape']} nnz {r['nonzeros']} same={r['same_arrays']} labelled {s['labelled']:.4f}s "
              f"legacy {s['legacy']:.4f}s (prepare {s['prepare']:.4f}s) ratio {r['ratio']:.3f} "
              f"excl. prepare {r['ratio_excl_prepare']:.3f}", flush=True)
        out.append(r)
    Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
