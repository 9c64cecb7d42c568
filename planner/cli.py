"""care-planner: solve a scenario from the command line and write the tables.

Exit codes: 0 solved (a shortfall is still a solved plan, unless --strict);
2 bad input or usage (the message names file, row and column);
3 solved but some targets cannot be met and --strict was given.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
import json
from pathlib import Path
import sys

from ._errors import PlannerError
from .demo import DEMOS

EXIT_OK, EXIT_INPUT, EXIT_SHORTFALL = 0, 2, 3


def _parser() -> argparse.ArgumentParser:
    from .scenario import Targets

    p = argparse.ArgumentParser(
        prog="care-planner",
        description="Plan childcare slots and elderly-care beds (一老一小) so every district meets its "
                    "per-1,000 targets at least cost.",
        epilog="Example: care-planner init my_county/   |   care-planner solve my_county.yaml --out results/   |   "
               "care-planner solve --demo shanxi --prefecture 太原市 --out taiyuan/")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a scenario and write districts.csv, facilities.csv, areas.csv, "
                                     "summary.json", description="Solve a scenario YAML (or the demo) and write "
                       "the result tables to --out.")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("scenario", nargs="?", help="scenario YAML naming the areas, facilities and districts files")
    src.add_argument("--demo", choices=sorted(DEMOS), help="use a bundled demo instead of a YAML "
                     "(shanxi_2026_2030: the five-year plan)")
    s.add_argument("--prefecture", help="with --demo: one prefecture by name or adcode, e.g. 太原市 or 140100")
    s.add_argument("--out", required=True, help="folder for the output files (created if missing)")
    names = [f.name for f in fields(Targets)]
    s.add_argument("--set", action="append", default=[], metavar="TARGET=VALUE",
                   help=f"override a target, e.g. --set childcare_per_1000=5; targets: {', '.join(names)}")
    s.add_argument("--budget", type=float, help="yuan; spend at most this and minimise the shortfall")
    s.add_argument("--integer", action="store_true", help="exact whole-site decisions (slower MILP)")
    s.add_argument("--solver", choices=["highs", "cbc"], help="solver (default: the scenario's, else highs)")
    s.add_argument("--time-limit", type=float, help="solver time limit, seconds")
    s.add_argument("--objective", choices=["least_cost", "equity"],
                   help="equity: lift the worst district first, then least cost (default: the scenario's)")
    s.add_argument("--target-level", help="where the targets apply: leaf, a level (prefecture, 市 …) or all")
    s.add_argument("--strict", action="store_true", help="exit with code 3 if any target cannot be met")
    s.add_argument("--quiet", action="store_true", help="print nothing on success")
    c = sub.add_parser("check", help="validate a scenario's files without solving")
    c.add_argument("scenario")
    sub.add_parser("columns", help="print the input column reference")
    n = sub.add_parser("init", help="write a scenario folder to fill in: Excel templates and scenario.yaml",
                       description="Write areas.xlsx, facilities.xlsx, districts.xlsx (row 1 Chinese labels, row 2 "
                                   "the column names, example rows, a column guide sheet) and a scenario.yaml that "
                                   "solves as written. Existing files are never overwritten.")
    n.add_argument("folder", help="folder to create (or an empty one)")
    n.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of row 1 and the guide (default zh)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except PlannerError as exc:
        print(f"care-planner: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:  # a disk full or a folder without write permission: say so, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"care-planner: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_INPUT


def _solve(args) -> int:
    import planner

    if args.demo:
        sc = planner.load_demo(args.demo, prefecture=args.prefecture)
    else:
        if args.prefecture:
            raise PlannerError("--prefecture works with --demo; for your own data, list only the "
                               "districts you want in the files", "command line", None, "--prefecture")
        sc = planner.load_scenario(args.scenario)
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not hasattr(sc.targets, key.strip()):
            raise PlannerError(f"--set expects TARGET=VALUE with a target name, got {item!r}", "command line",
                               None, "--set")
        try:
            setattr(sc.targets, key.strip(), float(value))
        except ValueError:
            raise PlannerError(f"not a number: {value!r}", "command line", None, "--set") from None
    from .io import check_outputs
    from .result import CSV_OUTPUTS

    # every output checked before solving, so a clash never leaves a partial set
    check_outputs([Path(args.out) / n for n in CSV_OUTPUTS + ("map.html",)], sc.sources.values())
    if args.budget is not None:
        sc.budget = args.budget
    if args.integer:
        sc.options.integer = True
    if args.solver:
        sc.options.solver = args.solver
    if args.time_limit:
        sc.options.time_limit_s = args.time_limit
    if args.objective:
        sc.objective = args.objective
    if args.target_level:
        sc.target_level = args.target_level
    res = planner.solve(sc)
    written = res.to_csv(args.out)
    if hasattr(res, "to_html"):
        written["map"] = res.to_html(f"{args.out}/map.html")
    if not args.quiet:
        s = res.summary()
        print(f"{s['scenario']}: {s['status']} — cost {s['cost_yuan']:,.0f} yuan; "
              f"{s['districts_met']}/{s['districts']} districts meet every target")
        print(s["cost_note"])
        print(f"slots per 1,000: {s['slots_per_1000_before']} → {s['slots_per_1000_after']}; "
              f"beds per 1,000 aged 60+: {s['beds_per_1000_elderly_before']} → {s['beds_per_1000_elderly_after']}")
        for note in _load_notes(sc):
            print(note)
        if "years" in s:  # a phased plan: money and districts met, year by year
            for year, spent in s["cost_by_year_yuan"].items():
                print(f"  {year}: spent {spent:,.0f} yuan; {s['districts_met_by_year'][year]}/{s['districts']} "
                      "districts meet every target")
        for p in written.values():
            print(f"wrote {p}")
    return EXIT_SHORTFALL if args.strict and res.status != "optimal" else EXIT_OK


def _check(args) -> int:
    import planner

    sc = planner.load_scenario(args.scenario)
    out = {"scenario": sc.name, "areas": len(sc.areas), "facilities": len(sc.facilities),
           "districts": len(sc.districts), "ok": True}
    if sc.parents is not None and len(sc.parents):
        out["districts_above"] = len(sc.parents)  # prefectures, the province …
    if sc.load_report:
        out["load_report"] = sc.load_report
    print(json.dumps(out, ensure_ascii=False))
    return EXIT_OK


def _load_notes(sc) -> list[str]:
    """The load report in words (e.g. areas matched by 12-digit division codes)."""
    codes = (getattr(sc, "load_report", {}) or {}).get("division_codes", {})
    return [f"note: {item['message']}" for item in codes.values()]


def _columns(args) -> int:
    from .schema import markdown_reference

    print(markdown_reference())
    return EXIT_OK


def _init(args) -> int:
    from .scaffold import init_scenario

    path = init_scenario(args.folder, lang=args.lang)
    print(f"wrote {path.parent}: areas.xlsx, facilities.xlsx, districts.xlsx, scenario.yaml")
    print(f"fill in the example rows, then: care-planner solve {path} --out {path.parent / 'results'}")
    return EXIT_OK


_COMMANDS = {"solve": _solve, "check": _check, "columns": _columns, "init": _init}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
