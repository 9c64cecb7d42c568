"""load_demo(): the bundled Shanxi data set (geodata/, installed as planner.geodata)."""

from __future__ import annotations

from importlib import resources
import json

from ._errors import PlannerError

DEMOS = {"shanxi": "shanxi.yaml",
         # the five-year plan: births −5 %/yr, 60+ +3.5 %/yr (assumed, synthetic), rising targets
         "shanxi_2026_2030": "shanxi_2026_2030.yaml"}


def demo_path(name: str = "shanxi"):
    """Path of a demo's scenario YAML."""
    if name not in DEMOS:
        raise PlannerError(f"unknown demo {name!r}; available: {', '.join(DEMOS)}", "demo")
    return resources.files("planner.geodata") / DEMOS[name]


def load_demo(name: str = "shanxi", prefecture: str | None = None):
    """The demo scenario: Shanxi's 117 counties, or one prefecture of them.

    Parameters
    ----------
    name : str
        ``"shanxi"`` (one period), or ``"shanxi_2026_2030"``: the same data
        as a five-year plan with assumed population change (births −5 % a
        year, 60+ +3.5 % a year) and rising targets.
    prefecture : str, optional
        A prefecture name (``"太原市"`` or ``"太原"``) or adcode (``"140100"``)
        for a city-sized subset.

    Notes
    -----
    Boundaries and census totals are real; county and settlement splits,
    facilities and costs are synthetic (see geodata/README.md).
    """
    from .scenario import load_scenario

    sc = load_scenario(demo_path(name))
    if not sc.attribution:
        prov = demo_path(name).parent / "shanxi" / "PROVENANCE.json"
        sc.attribution = json.loads(prov.read_text(encoding="utf-8"))["attribution"]
        if sc.phased and isinstance(sc.growth, dict):  # the assumed population change, stated on every map
            rates = ", ".join(f"{k} {v:+.1%}/yr" for k, v in sc.growth.items())
            sc.attribution += f" · population {sc.years[0]}–{sc.years[-1]}: assumed rates (synthetic) {rates}"
    if prefecture is None:
        return sc
    d = sc.districts
    key = str(prefecture).strip()
    names = d.get("parent_name", d["parent_id"]).astype(str)
    hit = (d["parent_id"].astype(str) == key) | (names == key) | (names.str.rstrip("市") == key.rstrip("市"))
    if not hit.any():
        options = sorted(set(zip(d["parent_id"], names)))
        raise PlannerError(f"unknown prefecture {prefecture!r}; choose one of "
                           + ", ".join(f"{n} ({i})" for i, n in options), "demo", None, "prefecture")
    sub = sc.subset(d.loc[hit, "district_id"])
    sub.name = f"{sc.name} · {names[hit].iloc[0]}"
    return sub
