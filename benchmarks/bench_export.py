"""Export on the Shanxi demo: Excel (``Result.to_excel``), and the app's Export (map, Excel, GeoPackage).

The baseline, timed in the same run: the same three tables written by pandas with openpyxl
(``DataFrame.to_excel(engine="openpyxl")``, no formats at all), i.e. what openpyxl costs per cell.
Medians of 3; wall and CPU seconds. Writes ``benchmarks/export_results.json``; ``bench_browser.py``
puts it into RESULTS.md.

Usage: ``.venv/bin/python benchmarks/bench_export.py``
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

import planner
from planner import export

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, repeat=3):
    wall, cpu = [], []
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return round(statistics.median(wall), 2), round(statistics.median(cpu), 2)


def main() -> dict:
    from planner.widgets import PlannerApp

    res = planner.solve(planner.load_demo("shanxi"))
    frames = {name: export._sheet_frame(res, name, "zh") for name in export.TABLES}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def baseline():
            with pd.ExcelWriter(tmp / "base.xlsx", engine="openpyxl") as xw:
                for name, df in frames.items():
                    df.to_excel(xw, sheet_name=name, index=False)

        out = {"excel": _timed(lambda: res.to_excel(tmp / "plan.xlsx")),
               "openpyxl_baseline": _timed(baseline),
               "cells": int(sum(df.size for df in frames.values()))}
        app = PlannerApp(res.scenario, solve=False)
        app.result = res
        out["app_export"] = _timed(lambda: app.export(tmp / "export"), repeat=1)
    out["load_1min"] = round(os.getloadavg()[0], 1)
    (ROOT / "benchmarks" / "export_results.json").write_text(json.dumps(out, indent=1))
    print(out)
    return out


if __name__ == "__main__":
    main()
