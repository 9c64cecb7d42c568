"""Property tests of the engine on small random scenarios (hypothesis).

Every scenario has 1–3 districts, 1–4 areas per district, 0–3 existing
facilities and 0–2 candidate sites of each kind per district, whole numbers
and costs of 100–10,000 yuan. Each test checks the solved plan against
arithmetic written here from the input rows (never from ``planner.result``),
so an error in the model, the solver call or the result tables shows up.

Facilities sit beside the areas, out of every area's reach ("far") or both
are spread over a few kilometres (reach tests). Runs are derandomised and use
no example database, so CI is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

import planner
from conftest import BASE_LAT, BASE_LON, area, childcare, eldercare, scenario

REPORT_TOL = 1e-3  # planner.result reports a shortfall at or below this as 0 (solver round-off)
EXACT = 1e-9  # below this a hand-computed deficit is zero (float noise in our own sums)
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius, as in the catchment definition
SPEED_KMH, CIRCUITY = 4.5, 1.3  # Options defaults: walking, road ÷ straight line

CHILD_TARGETS = (0.0, 1.5, 3.0, 4.5, 6.0)
BED_TARGETS = (0.0, 20.0, 35.0, 40.0, 60.0)
# Shares between 0.95 and 1 are covered by test_share_near_one_is_met_when_reachable.
SHARES = (0.0, 0.1, 0.25, 0.3, 0.4, 0.5, 0.55, 0.6, 0.75, 0.8, 0.9, 0.95, 1.0)
MINUTES = (10.0, 15.0, 20.0, 30.0)  # 0.6–1.7 km of straight line at the defaults
SHORTFALL_COLUMNS = {"slots": "shortfall_slots", "affordable": "shortfall_affordable",
                     "beds": "shortfall_beds", "care": "shortfall_care_beds"}
KINDS = {"childcare": ("need_childcare", "served_in_reach_childcare", "shortfall_access_childcare",
                       "sites_in_reach_childcare", "childcare_per_1000", "pop_total", "slots_after"),
         "eldercare": ("need_beds", "served_in_reach_beds", "shortfall_access_beds",
                       "sites_in_reach_beds", "beds_per_1000_elderly", "pop_60_plus", "beds_after")}


def props(max_examples):
    """Hypothesis settings shared by every test: reproducible, no deadline."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# ------------------------------------------------------------------ scenarios

@dataclass
class Spec:
    """A drawn scenario as plain rows, so tests can do their own arithmetic.

    Attributes
    ----------
    areas, facilities, districts : list of dict
        Rows as built by the conftest helpers (districts may override targets).
    targets : dict
        Scenario-level targets (``planner.Targets`` field → value).
    placement : str
        ``"colocated"``, ``"far"`` (facilities out of every area's reach) or ``"spread"``.
    """

    areas: list
    facilities: list
    districts: list
    targets: dict
    placement: str
    _validated: planner.Scenario | None = field(default=None, repr=False)

    def scenario(self, budget=None, **options) -> planner.Scenario:
        """A validated ``planner.Scenario``: a fresh copy (own budget, options set by keyword)."""
        if self._validated is None:  # validate the tables once per example; copies share them
            self._validated = scenario(self.areas, self.facilities, self.districts, **self.targets)
        sc = self._validated.copy()
        sc.budget = budget
        for k, v in options.items():
            setattr(sc.options, k, v)
        return sc

    def target(self, district_id, name) -> float:
        """The district's override of a target, else the scenario's."""
        row = next(d for d in self.districts if d["district_id"] == district_id)
        v = row.get(name)
        return float(self.targets[name] if v is None else v)


@st.composite
def specs(draw, *, placement=None, access=False, coarse=False, roomy=False,
          max_districts=3, max_areas=4, max_existing=3, max_candidates=2):
    """Small random scenarios.

    Parameters
    ----------
    placement : str, optional
        Fixed placement; drawn from all three when omitted.
    access : bool
        Draw an access share in [0, 1] (else 0: reach switched off) and
        per-district access overrides.
    coarse : bool
        Populations in thousands (aged 60+ in hundreds): every need is a
        multiple of 0.5, often not whole, and every deficit a multiple of
        0.025, never so small that a plan may leave it as round-off.
    roomy : bool
        Only the lower half of the per-1000 targets, and most facilities may
        grow or convert, so that most districts can meet every target (for
        comparing the costs of complete plans); homes are at most half
        care-oriented, so conversions compete with new beds.
    """
    placement = placement or draw(st.sampled_from(("colocated", "far", "spread")))
    costs = st.integers(100, 10_000)
    choices = {"childcare_per_1000": CHILD_TARGETS,
               "affordable_share": SHARES, "beds_per_1000_elderly": BED_TARGETS, "care_bed_share": SHARES}
    likely = st.integers(0, 3).map(bool) if roomy else st.booleans()  # 3 in 4, or even odds
    if roomy:
        for name in ("childcare_per_1000", "beds_per_1000_elderly"):
            choices[name] = choices[name][:len(choices[name]) // 2 + 1]
    if access:
        choices |= {"access_share": tuple(k / 20 for k in range(21)), "access_minutes": MINUTES}
    targets = {name: draw(st.sampled_from(values)) for name, values in choices.items()}
    if not access:
        targets["access_share"] = 0.0

    def where(facility):
        if placement == "spread":  # a 30 × 20 grid of 0.001° ≈ 2.6 km × 2.2 km
            return BASE_LON + 0.001 * draw(st.integers(0, 30)), BASE_LAT + 0.001 * draw(st.integers(0, 20))
        if placement == "far" and facility:
            return BASE_LON + 1.0, BASE_LAT  # ≈ 88 km: nothing in reach, no flows
        return BASE_LON, BASE_LAT

    areas, facilities, districts = [], [], []
    for d in range(draw(st.integers(1, max_districts))):
        did = f"D{d + 1}"
        row = {"district_id": did, "name": did}
        for name, values in choices.items():  # some districts override some targets
            row[name] = draw(st.sampled_from(values)) if draw(st.booleans()) else None
        districts.append(row)
        for i in range(draw(st.integers(1, max_areas))):
            if coarse:
                pop = 1000 * draw(st.integers(0, 20))
                pop60 = 100 * draw(st.integers(0, pop // 300))
            else:
                pop = draw(st.integers(0, 30_000))
                pop60 = pop * draw(st.integers(0, 35)) // 100
            lon, lat = where(False)
            areas.append(area(f"{did}a{i}", did, pop=pop, pop60=pop60, lon=lon, lat=lat))
        for kind, make in (("c", childcare), ("e", eldercare)):
            for i in range(draw(st.integers(0, max_existing))):
                max_add = draw(st.integers(1, 60)) if draw(likely) else 0
                cost = draw(costs) if max_add or draw(st.booleans()) else None  # cost is optional when fixed
                lon, lat = where(True)
                if kind == "c":
                    slots = draw(st.integers(0, 100))
                    extra = dict(slots=slots, affordable=draw(st.integers(0, slots)))
                else:
                    beds = draw(st.integers(0, 150))
                    care = draw(st.integers(0, beds // 2 if roomy else beds))
                    extra = dict(beds=beds, care=care, conv=draw(costs) if draw(likely) else None)
                facilities.append(make(f"{did}{kind}{i}", did, max_add=max_add, cost=cost, lon=lon, lat=lat, **extra))
            for i in range(draw(st.integers(0, max_candidates))):
                min_size = draw(st.integers(0, 20))
                lon, lat = where(True)
                extra = {} if kind == "c" else dict(conv=draw(st.none() | costs))  # no beds: nothing to convert
                facilities.append(make(f"{did}{kind}n{i}", did, candidate=True, cost=draw(costs),
                                       fixed=draw(st.just(0) | costs), min_size=min_size,
                                       max_size=draw(st.integers(max(min_size, 1), 80)), lon=lon, lat=lat, **extra))
    if not facilities:  # the facilities table may not be empty; an idle home changes nothing
        lon, lat = where(True)
        facilities.append(eldercare("idle", "D1", lon=lon, lat=lat))
    return Spec(areas, facilities, districts, targets, placement)


# ------------------------------------------------------------------ plans and independent checks

def growth(f) -> float:
    """Most a facility may add: ``max_size`` for a candidate, ``max_add`` otherwise."""
    return float(f["max_size"] if f["candidate"] else f["max_add"])


def convertible(f) -> float:
    """Ordinary beds that may be converted (only where a conversion cost is given)."""
    if f["kind"] != "eldercare" or f["cost_per_conversion"] is None:
        return 0.0
    return float(f["beds"] - f["beds_care"])


def full_plan(spec) -> dict:
    """Every allowed expansion, all of it affordable, every conversion, every candidate open at max size.

    Returns
    -------
    dict
        facility_id → {"add", "aff", "conv", "open"} (the plan format used here).
    """
    return {f["facility_id"]: {"add": growth(f), "aff": growth(f) if f["kind"] == "childcare" else 0.0,
                               "conv": convertible(f), "open": 1.0 if f["candidate"] else 0.0}
            for f in spec.facilities}


def plan_cost(spec, plan, district=None) -> float:
    """Yuan of a plan, or of one district's part of it.

    Each facility costs cost_per_unit·add + cost_per_conversion·conv + fixed_cost·open.
    """
    total = 0.0
    for f in spec.facilities:
        if district is not None and f["district_id"] != district:
            continue
        p = plan.get(f["facility_id"], {})
        total += ((f["cost_per_unit"] or 0) * p.get("add", 0) + (f["cost_per_conversion"] or 0) * p.get("conv", 0)
                  + f["fixed_cost"] * p.get("open", 0))
    return total


def district_state(spec, plan) -> dict:
    """Targets and capacity after ``plan`` per district, from the input rows.

    New beds count as care-oriented (``Options.new_beds_care``, the default).

    Returns
    -------
    dict
        district_id → dict with T (slots needed), slots, aff, t (affordable
        share), Tb (beds needed), beds, care, tc (care share).
    """
    out = {}
    for d in spec.districts:
        did = d["district_id"]
        pop = sum(a["pop_total"] for a in spec.areas if a["district_id"] == did)
        eld = sum(a["pop_60_plus"] for a in spec.areas if a["district_id"] == did)
        s = dict(T=spec.target(did, "childcare_per_1000") * pop / 1000, t=spec.target(did, "affordable_share"),
                 Tb=spec.target(did, "beds_per_1000_elderly") * eld / 1000, tc=spec.target(did, "care_bed_share"),
                 slots=0.0, aff=0.0, beds=0.0, care=0.0)
        for f in spec.facilities:
            if f["district_id"] != did:
                continue
            p = plan.get(f["facility_id"], {})
            add, aff, conv = p.get("add", 0.0), p.get("aff", 0.0), p.get("conv", 0.0)
            if f["kind"] == "childcare":
                s["slots"] += f["slots"] + add
                s["aff"] += f["slots_affordable"] + aff
            else:
                s["beds"] += f["beds"] + add
                s["care"] += f["beds_care"] + conv + add
        out[did] = s
    return out


def deficits(s) -> dict:
    """How far a district state is from each target (0 when met).

    For the full plan (S, SA, B, BC existing; U, Ue all allowed additions;
    Conv all allowed conversions) these are the least possible shortfalls:
    slots T − S − U; affordable t(S + U) − (SA + U) = tS − SA − (1−t)U;
    beds Tb − B − Ue; care tc(B + Ue) − (BC + Conv + Ue) = tc·B − BC − Conv − (1−tc)Ue.
    Each is smallest at the full plan because every term added with a
    coefficient of 1, 1−t or 1−tc only lowers it (shares ≤ 1).
    """
    return {"slots": max(0.0, s["T"] - s["slots"]), "affordable": max(0.0, s["t"] * s["slots"] - s["aff"]),
            "beds": max(0.0, s["Tb"] - s["beds"]), "care": max(0.0, s["tc"] * s["beds"] - s["care"])}


def districts_met(spec, plan) -> set:
    """Districts where ``plan`` meets every target (reach aside)."""
    return {did for did, s in district_state(spec, plan).items() if all(v <= EXACT for v in deficits(s).values())}


def meets_all(spec, plan) -> bool:
    """Whether ``plan`` meets every district target (reach aside)."""
    return len(districts_met(spec, plan)) == len(spec.districts)


def unit_cost(f) -> float:
    """Yuan per added slot/bed; a candidate adds its fixed cost per unit of max_size (LP relaxation)."""
    return (f["cost_per_unit"] or 0) + (f["fixed_cost"] / f["max_size"] if f["candidate"] else 0)


def new_slots_needed(s) -> float:
    """Affordable slots a district must add: x = max(T − S, (tS − SA)/(1 − t)), inf if none can do."""
    gap_aff = s["t"] * s["slots"] - s["aff"]
    if s["t"] < 1:
        return max(0.0, s["T"] - s["slots"], gap_aff / (1 - s["t"]))
    return max(0.0, s["T"] - s["slots"]) if gap_aff <= EXACT else np.inf  # share 1: new slots never help


def cheapest_single_plan(spec):
    """Per district and kind, the exact deficit added at the one facility that is cheapest for it.

    Childcare needs x = max(T − S, (tS − SA)/(1 − t)) new slots, all
    affordable. Eldercare needs y = Tb − B beds; a remaining care gap is
    closed by conversions at one home, or by more new beds at one facility,
    whichever is cheaper. A candidate is opened by the fraction x/max_size
    (the LP relaxation). A district no single facility can serve is left
    as it is (and so not met by this plan).
    """
    plan = {}

    def cheapest_add(did, kind, x):
        fits = [f for f in spec.facilities if f["district_id"] == did and f["kind"] == kind and growth(f) >= x]
        return min(fits, key=unit_cost, default=None)

    def put(f, **values):  # one facility may both grow and convert
        p = plan.setdefault(f["facility_id"], {"add": 0.0, "aff": 0.0, "conv": 0.0, "open": 0.0})
        p.update(values)

    def add(f, x, aff):
        put(f, add=x, aff=x if aff else 0.0, open=x / f["max_size"] if f["candidate"] else 0.0)

    for did, s in district_state(spec, {}).items():
        x = new_slots_needed(s)
        if x > 0:
            f = cheapest_add(did, "childcare", x)
            if f is not None:
                add(f, x, True)
        # Eldercare options as (beds added: (facility, y) or None, conversions: (home, n) or None).
        options = []
        y = max(0.0, s["Tb"] - s["beds"])
        f = cheapest_add(did, "eldercare", y) if y > 0 else None
        if y == 0 or f is not None:
            beds = (f, y) if y > 0 else None
            care_gap = s["tc"] * (s["beds"] + y) - s["care"] - y
            if care_gap <= 0:
                options.append((beds, None))
            else:
                homes = [g for g in spec.facilities if g["district_id"] == did and convertible(g) >= care_gap]
                g = min(homes, key=lambda g: g["cost_per_conversion"], default=None)
                if g is not None:
                    options.append((beds, (g, care_gap)))
        if s["tc"] < 1:  # or more new (care-oriented) beds instead of conversions
            y2 = max(y, (s["tc"] * s["beds"] - s["care"]) / (1 - s["tc"]))
            f2 = cheapest_add(did, "eldercare", y2) if y2 > 0 else None
            if f2 is not None:
                options.append(((f2, y2), None))
        if not options:
            continue

        def price(option):
            beds, conv = option
            return ((unit_cost(beds[0]) * beds[1] if beds else 0.0)
                    + (conv[0]["cost_per_conversion"] * conv[1] if conv else 0.0))

        beds, conv = min(options, key=price)
        if beds:
            add(*beds, False)
        if conv:
            put(conv[0], conv=conv[1])
    return plan


def greedy_plan(spec):
    """The least-cost LP plan of every district that can meet its targets, filled cheapest unit first.

    Childcare: x = max(T − S, (tS − SA)/(1 − t)) new slots, all affordable,
    from the cheapest slots up (one covering constraint: greedy is optimal).
    Eldercare: the y = Tb − B cheapest beds (any optimum uses them: swapping
    in a cheaper bed keeps both constraints), then the care gap left,
    G = tc·B − BC − (1 − tc)·y, from the cheapest of further beds (unit
    cost ÷ (1 − tc) per care bed) and conversions: a fractional knapsack,
    so greedy by price is optimal. Districts that cannot be met are left
    unplanned.
    """
    plan = {}

    def take(f, **amounts):
        p = plan.setdefault(f["facility_id"], {"add": 0.0, "aff": 0.0, "conv": 0.0, "open": 0.0})
        for k, v in amounts.items():
            p[k] += v
        if f["candidate"]:
            p["open"] = p["add"] / f["max_size"]

    def fill(offers, amount):  # offers: (price, room, action); take the cheapest until amount is met
        for _price, room, act in sorted(offers, key=lambda o: o[0]):
            if amount <= EXACT:
                break
            used = min(room, amount)
            act(used)
            amount -= used
        return amount <= EXACT

    for did, s in district_state(spec, {}).items():
        mine = [f for f in spec.facilities if f["district_id"] == did]
        x = new_slots_needed(s)
        fill([(unit_cost(f), growth(f), lambda v, f=f: take(f, add=v, aff=v))
              for f in mine if f["kind"] == "childcare" and growth(f) > 0], x)
        homes = [f for f in mine if f["kind"] == "eldercare"]
        room = {f["facility_id"]: growth(f) for f in homes}

        def beds(v, f, room=room):
            room[f["facility_id"]] -= v
            take(f, add=v)

        y = max(0.0, s["Tb"] - s["beds"])
        if not fill([(unit_cost(f), growth(f), lambda v, f=f: beds(v, f)) for f in homes if growth(f) > 0], y):
            continue
        offers = [(f["cost_per_conversion"], convertible(f), lambda v, f=f: take(f, conv=v))
                  for f in homes if convertible(f) > 0]
        if s["tc"] < 1:
            k = 1 - s["tc"]  # one new bed closes 1 − tc of the care gap
            offers += [(unit_cost(f) / k, room[f["facility_id"]] * k, lambda v, f=f, k=k: beds(v / k, f))
                       for f in homes if room[f["facility_id"]] > 0]
        fill(offers, s["tc"] * s["beds"] - s["care"] - (1 - s["tc"]) * y)
    return plan


def rounded_up(spec, plan) -> dict:
    """A whole-number version of ``plan``: amounts rounded up, every site used opened, at least min_size.

    Still within every bound (limits are whole) and still meeting whatever
    ``plan`` met, since more capacity, all affordable, only helps.
    """
    out = {}
    for f in spec.facilities:
        p = plan.get(f["facility_id"])
        if p is None:
            continue
        add, conv = np.ceil(p["add"] - EXACT), np.ceil(p["conv"] - EXACT)
        opened = f["candidate"] and add > 0
        if opened:
            add = max(add, f["min_size"])
        out[f["facility_id"]] = {"add": add, "aff": add if f["kind"] == "childcare" else 0.0, "conv": conv,
                                 "open": 1.0 if opened else 0.0}
    return out


def plan_of(res) -> dict:
    """The solved plan in the plan format used here (read from ``res.facilities``)."""
    return {r.facility_id: {"add": r.added_slots + r.added_beds, "aff": r.added_affordable,
                            "conv": r.converted_care_beds, "open": r.open_fraction}
            for r in res.facilities.itertuples()}


def total_shortfall(res) -> float:
    """Every shortfall of every district, slots and beds alike, summed."""
    cols = list(SHORTFALL_COLUMNS.values()) + ["shortfall_access_childcare", "shortfall_access_beds"]
    return float(res.districts[cols].to_numpy().sum())


def report_slack(spec) -> float:
    """Most a total of reported shortfalls can differ from the raw ones (each may be zeroed ≤ REPORT_TOL)."""
    return REPORT_TOL * (4 * len(spec.districts) + 2 * len(spec.areas)) + 1e-6


def travel_minutes(a, f) -> float:
    """Great-circle km × circuity ÷ speed, in minutes (haversine, written out here)."""
    lo1, la1, lo2, la2 = map(np.radians, (a["lon"], a["lat"], f["lon"], f["lat"]))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return float(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h)) * CIRCUITY / SPEED_KMH * 60)


def reach(spec, kind):
    """Which facilities of ``kind`` each area reaches, with its district's access_minutes.

    Returns
    -------
    facilities : list of dict
    matrix : ndarray of bool, areas × facilities
    on_edge : bool
        A pair lies within 1e-6 relative of its limit (where rounding decides).
    """
    facs = [f for f in spec.facilities if f["kind"] == kind]
    m = np.zeros((len(spec.areas), len(facs)), bool)
    on_edge = False
    for i, a in enumerate(spec.areas):
        limit = spec.target(a["district_id"], "access_minutes") if "access_minutes" in spec.targets else 15.0
        for j, f in enumerate(facs):
            t = travel_minutes(a, f)
            m[i, j] = t <= limit
            on_edge |= abs(t - limit) <= 1e-6 * limit
    return facs, m, on_edge


def least_unmet(demand, capacity, matrix) -> float:
    """Least total demand left unserved when areas draw only on facilities in reach.

    By max-flow/min-cut (Hall's theorem with deficiency) this is
    max over area sets A of demand(A) − capacity(facilities reached from A), or 0.
    Enumerates all 2^n sets: fine for the ≤ 12 areas drawn here.
    """
    n = len(demand)
    sets = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)
    reached = (sets @ matrix.astype(float)) > 0
    return max(0.0, float((sets @ np.asarray(demand, float) - reached @ np.asarray(capacity, float)).max()))


def approx_le(a, b, rel=1e-6):
    """a ≤ b up to a relative 1e-6 (yuan amounts from a floating-point solver)."""
    return a <= b + rel * max(1.0, abs(b))


# ------------------------------------------------------------------ properties

@props(60)
@given(spec=specs())
def test_district_shortfall_is_the_exact_deficit_of_full_expansion(spec):
    """Reach off: met where full expansion suffices, otherwise short by exactly the remaining gap."""
    res = planner.solve(spec.scenario())
    table = res.districts.set_index("district_id")
    for did, s in district_state(spec, full_plan(spec)).items():
        row, gap = table.loc[did], deficits(s)
        for target, col in SHORTFALL_COLUMNS.items():
            if gap[target] <= EXACT:
                assert row[col] == 0, (did, target)
            else:  # the report zeroes gaps ≤ REPORT_TOL, so that is the slack
                assert row[col] == pytest.approx(gap[target], abs=REPORT_TOL), (did, target)
            if gap[target] > 2 * REPORT_TOL:
                assert f"{target}:expansion_limit" in row["shortfall_reason"], (did, target)
        assert row["shortfall_access_childcare"] == 0 and row["shortfall_access_beds"] == 0
        assert bool(row["met"]) == all(v <= REPORT_TOL for v in row[list(SHORTFALL_COLUMNS.values())])
        if all(v <= EXACT for v in gap.values()):
            assert bool(row["met"]) and row["shortfall_reason"] == "", did
    assert (res.status == "optimal") == bool(table["met"].all())


@props(50)
@given(spec=specs(roomy=True), data=st.data())
def test_cost_never_exceeds_a_hand_built_plan(spec, data):
    """Least cost: no plan built by hand that meets a district's targets costs less there,
    and the greedy least-cost plan costs exactly the same.

    With reach off, districts share nothing (flows cost nothing and need
    not be served), so the least cost splits by district and each district
    is compared on its own.
    """
    res = planner.solve(spec.scenario())
    cost = res.districts.set_index("district_id")["cost"]
    # A random partial plan: each facility at 0, half or all of what it may do.
    share = {f["facility_id"]: data.draw(st.sampled_from((0.0, 0.5, 1.0))) for f in spec.facilities}
    partial = {fid: {k: v * share[fid] for k, v in p.items()} for fid, p in full_plan(spec).items()}
    # The greedy plan is the least cost itself (see greedy_plan): equal, not just no cheaper.
    greedy = greedy_plan(spec)
    for did in districts_met(spec, greedy):
        assert cost[did] == pytest.approx(plan_cost(spec, greedy, did), rel=1e-6, abs=1e-6), did
    for name, plan in (("everything", full_plan(spec)), ("cheapest single", cheapest_single_plan(spec)),
                       ("partial", partial), ("greedy", greedy)):
        met = districts_met(spec, plan)
        for did in met:
            assert approx_le(cost[did], plan_cost(spec, plan, did)), (name, did, cost[did], plan_cost(spec, plan, did))
        if len(met) == len(spec.districts):
            assert res.status == "optimal", name
            assert approx_le(res.cost, plan_cost(spec, plan)), (name, res.cost, plan_cost(spec, plan))


@props(40)
@given(spec=specs(placement="spread", access=True),
       budget=st.none() | st.sampled_from((0, 5_000, 50_000, 200_000, 1_000_000)))
def test_plan_satisfies_the_contract(spec, budget):
    """Bounds, costs and targets hold for the plan the tables report (reach on, budget or not)."""
    res = planner.solve(spec.scenario(budget=budget))
    fac = res.facilities.set_index("facility_id")
    for f in spec.facilities:
        r, child = fac.loc[f["facility_id"]], f["kind"] == "childcare"
        added = r["added_slots"] if child else r["added_beds"]
        assert (r["added_beds"] if child else r["added_slots"]) == 0
        assert -1e-9 <= added <= growth(f) + 1e-6
        assert -1e-9 <= r["added_affordable"] <= r["added_slots"] + 1e-6
        assert -1e-9 <= r["converted_care_beds"] <= convertible(f) + 1e-6
        if f["candidate"]:
            o = r["open_fraction"]
            assert -1e-9 <= o <= 1 + 1e-9
            assert f["min_size"] * o - 1e-6 <= added <= f["max_size"] * o + 1e-6
            assert bool(r["opened"]) == (o > 1e-6)
        else:
            assert r["open_fraction"] == 0 and not r["opened"]
        expected = ((f["cost_per_unit"] or 0) * added + (f["cost_per_conversion"] or 0) * r["converted_care_beds"]
                    + f["fixed_cost"] * r["open_fraction"])
        assert r["cost"] == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert r["slots_after"] == pytest.approx(f["slots"] + r["added_slots"])
        assert r["beds_after"] == pytest.approx(f["beds"] + r["added_beds"])
    assert res.cost == pytest.approx(float(fac["cost"].sum()), rel=1e-9, abs=1e-9)
    if budget is not None:
        assert res.cost <= budget + 1e-6

    table = res.districts.set_index("district_id")
    for did, s in district_state(spec, plan_of(res)).items():
        row = table.loc[did]
        # the district table agrees with a recount of the facility rows …
        for col, key in (("slots_after", "slots"), ("affordable_slots_after", "aff"),
                         ("beds_after", "beds"), ("care_beds_after", "care")):
            assert row[col] == pytest.approx(s[key], abs=1e-6), (did, col)
        assert row["cost"] == pytest.approx(sum(fac.loc[f["facility_id"], "cost"] for f in spec.facilities
                                                if f["district_id"] == did), rel=1e-9, abs=1e-9)
        # … and every gap left is covered by a reported shortfall.
        for target, gap in deficits(s).items():
            assert gap <= row[SHORTFALL_COLUMNS[target]] + REPORT_TOL + 1e-6, (did, target)
    assert (res.status == "optimal") == bool(table["met"].all())


@props(20)
@given(spec=specs(placement="spread", access=True),
       fractions=st.lists(st.sampled_from((0.0, 0.25, 0.5, 0.9, 1.0, 1.5)), min_size=2, max_size=2))
def test_budget_is_kept_and_more_budget_never_adds_shortfall(spec, fractions):
    """Budgets as fractions of the unlimited plan's cost: kept, monotone, and ≥ 1 changes nothing."""
    free = planner.solve(spec.scenario())
    least = total_shortfall(free)  # no budget: the least shortfall there is
    slack = report_slack(spec)
    last = np.inf
    for frac in sorted(fractions):
        budget = frac * free.cost
        res = planner.solve(spec.scenario(budget=budget))
        assert res.cost <= budget + 1e-6
        short = total_shortfall(res)
        assert short <= last + slack, (frac, short, last)
        assert short >= least - slack
        if frac >= 1:  # the unlimited plan is affordable
            assert short == pytest.approx(least, abs=slack)
        last = short


# 45 new slots right beside the town, beside an unrelated 100-yuan conversion and a
# distant 1,000,000-yuan site. Regression: when the model rewarded flows by 1e-3 of the
# cheapest unit cost, that reward (≈ 8e-8 here) fell below HiGHS's dual tolerance and
# the town was reported served 0 of 45.
WIDE_COST_RANGE = Spec(
    areas=[area("a1", "D1", pop=10_000, pop60=2000)],
    facilities=[childcare("c1", "D1", max_add=100, cost=2000), eldercare("e1", "D1", beds=100, care=60, conv=100),
                eldercare("n1", "D1", candidate=True, fixed=1_000_000, cost=10_000, min_size=20, max_size=100,
                          lon=112.7)],
    districts=[{"district_id": "D1", "name": "D1"}],
    targets=dict(childcare_per_1000=4.5, affordable_share=0.0, beds_per_1000_elderly=40.0, care_bed_share=0.55,
                 access_share=0.0, access_minutes=15.0),
    placement="spread")


@props(50)
@given(spec=specs(placement="spread", access=True))
@example(spec=WIDE_COST_RANGE)
def test_reach_is_served_within_capacity(spec):
    """Reach on: served need, access shortfalls and capacity agree with a max-flow count written here."""
    res = planner.solve(spec.scenario())
    areas = res.areas.set_index("area_id")
    fac = res.facilities.set_index("facility_id")
    for kind, (need_col, served_col, short_col, sites_col, per_1000, pop_col, cap_col) in KINDS.items():
        facs, matrix, on_edge = reach(spec, kind)
        assume(not on_edge)  # rounding would decide such a pair; nothing to learn there
        ids = [a["area_id"] for a in spec.areas]
        need = np.array([spec.target(a["district_id"], per_1000) * a[pop_col] / 1000 for a in spec.areas])
        share = np.array([spec.target(a["district_id"], "access_share") for a in spec.areas])
        served = areas.loc[ids, served_col].to_numpy(float)
        short = areas.loc[ids, short_col].to_numpy(float)
        assert areas.loc[ids, need_col].to_numpy(float) == pytest.approx(need)
        assert (areas.loc[ids, sites_col].to_numpy() == matrix.sum(axis=1)).all()
        assert (served >= -1e-9).all() and (served <= need + 1e-9).all()
        assert (served + short >= share * need - REPORT_TOL - 1e-6).all()
        alone = matrix.sum(axis=1) == 0
        assert (served[alone] == 0).all()
        lone_gap = share[alone] * need[alone]
        assert short[alone] == pytest.approx(np.where(lone_gap > REPORT_TOL, lone_gap, 0.0), abs=1e-6)
        # Served amounts fit the capacity after the plan (they can be routed) …
        cap_after = np.array([fac.loc[f["facility_id"], cap_col] for f in facs], float)
        assert least_unmet(served, cap_after, matrix) <= 1e-6 * max(1.0, need.sum())
        # … and are all it can serve in reach (a max flow, not just the required share).
        assert served.sum() == pytest.approx(need.sum() - least_unmet(need, cap_after, matrix), rel=1e-6, abs=1e-6)
        # Before the plan: all the existing capacity alone can serve in reach.
        cap_now = np.array([f["slots" if kind == "childcare" else "beds"] for f in facs], float)
        before = areas.loc[ids, f"{served_col}_before"].to_numpy(float)
        assert (before >= -1e-9).all() and (before <= served + 1e-9).all()  # no area loses reach to the plan
        assert least_unmet(before, cap_now, matrix) <= 1e-6 * max(1.0, need.sum())
        assert before.sum() == pytest.approx(need.sum() - least_unmet(need, cap_now, matrix), rel=1e-6, abs=1e-6)
        # Access shortfall is the least possible with every facility at its largest.
        cap_max = np.array([f["slots" if kind == "childcare" else "beds"] + growth(f) for f in facs], float)
        assert short.sum() == pytest.approx(least_unmet(share * need, cap_max, matrix),
                                            abs=REPORT_TOL * len(ids) + 1e-6)


@props(25)
@given(spec=specs(coarse=True, max_districts=1, max_areas=2, max_existing=2, max_candidates=1))
def test_integer_mode_gives_whole_units_and_costs_no_less_than_lp(spec):
    """Integer mode: whole slots/beds/conversions, sites open or shut; the LP is a lower bound."""
    milp = planner.solve(spec.scenario(integer=True, mip_gap=0.0))
    f = milp.facilities
    for col in ("added_slots", "added_affordable", "added_beds", "converted_care_beds"):
        v = f[col].to_numpy(float)
        assert np.abs(v - np.round(v)).max() <= 1e-6, col
    assert set(np.round(f.loc[f["candidate"], "open_fraction"], 9)) <= {0.0, 1.0}
    for c in spec.facilities:  # an open site within its sizes, a shut one empty
        if c["candidate"]:
            r = f.set_index("facility_id").loc[c["facility_id"]]
            added, is_open = r["added_slots"] + r["added_beds"], r["open_fraction"] > 0.5
            assert (c["min_size"] - 1e-6 <= added <= c["max_size"] + 1e-6) if is_open else added <= 1e-6
    lp = planner.solve(spec.scenario())
    # With coarse data both reach the least shortfall (any gap is ≥ 0.025, worth closing) …
    assert total_shortfall(milp) == pytest.approx(total_shortfall(lp), abs=report_slack(spec))
    # … so the relaxation costs no more, and whole plans that meet the targets no less.
    assert approx_le(lp.cost, milp.cost)
    for name, plan in (("everything", full_plan(spec)), ("greedy rounded up", rounded_up(spec, greedy_plan(spec)))):
        if meets_all(spec, plan):
            assert approx_le(milp.cost, plan_cost(spec, plan)), name


@props(8)
@given(spec=specs(max_districts=2))
def test_cbc_agrees_with_highs(spec):
    """Same least cost from CBC (through PuLP) as from HiGHS when every target is met."""
    highs = planner.solve(spec.scenario())
    cbc = planner.solve(spec.scenario(solver="cbc"))
    assert cbc.info.solver == "cbc" and highs.info.solver == "highs"
    if highs.status == "optimal":
        assert cbc.status == "optimal"
        assert cbc.cost == pytest.approx(highs.cost, rel=1e-6, abs=1e-6)


# ------------------------------------------------------------------ regressions (engine bugs these properties found)

NO_BEDS = dict(beds_per_1000_elderly=0, care_bed_share=0, access_share=0)


def test_least_cost_when_reach_is_not_required():
    """45 slots; same district: 'near' (in reach, 10,005/slot) or 'far' (10 km off, 10,000/slot).
    Reach is not required (access_share=0), so least cost is 45 × 10,000 = 450,000.
    Regression: a reward on flows in reach bought 'near' for 450,225."""
    facs = [childcare("near", max_add=100, cost=10_005), childcare("far", max_add=100, cost=10_000, lon=112.67)]
    res = planner.solve(scenario([area("a1")], facs, affordable_share=0, **NO_BEDS))
    assert res.cost == pytest.approx(450_000)


def test_served_in_reach_with_a_wide_cost_range():
    """All 45 new slots serve the town within reach (see WIDE_COST_RANGE)."""
    a = planner.solve(WIDE_COST_RANGE.scenario()).areas.iloc[0]
    assert a["served_in_reach_childcare"] == pytest.approx(45)
    assert a["access_share_childcare"] == pytest.approx(1.0)


def test_share_near_one_is_met_when_reachable():
    """100 slots, none affordable, share 0.9995: x new affordable slots meet it when
    0.0005·x ≥ 0.9995·100 → x = 199,900 ≤ max_add, at 1,000 each.
    Regression: shortfalls were priced as if one added unit closed one unit of a share
    gap (it closes 1 − share), so 99.95 was left short, labelled 'expansion_limit'."""
    sc = scenario([area("a1", pop=1000)], [childcare("c1", slots=100, affordable=0, max_add=10**6, cost=1000)],
                  affordable_share=0.9995, **NO_BEDS)
    res = planner.solve(sc)
    assert res.districts["shortfall_affordable"].iloc[0] == 0
    assert res.cost == pytest.approx(199_900 * 1000, rel=1e-6)


@props(40)
@given(spec=specs(placement="spread", access=True), budget=st.none() | st.integers(0, 200_000))
def test_merged_areas_solve_the_full_model(spec, budget):
    """Areas that see the same sites share one access row: same optimum, and the split-back plan
    is a feasible solution of the unmerged model at that optimum."""
    from planner.model import build
    from planner.solve import run

    sc = spec.scenario(budget=budget)
    full, merged = build(sc, merge_areas=False), build(sc)
    objective_full = run(full)[1].objective
    x_m, info = run(merged)
    assert info.objective == pytest.approx(objective_full, rel=1e-6, abs=1e-6)
    v = merged.per_area({name: x_m[sl] for name, sl in merged.lp.blocks.items()})
    lp = full.lp
    x = np.concatenate([v[name] for name in lp.blocks])  # blocks are in column order
    ax = lp.A @ x
    slack = 1e-6 * (1 + np.abs(lp.A).max(axis=1).toarray().ravel() * np.abs(x).max(initial=0))
    assert (ax >= lp.row_lower - slack).all() and (ax <= lp.row_upper + slack).all()
    assert (x >= lp.lower - 1e-6).all() and (x <= lp.upper * (1 + 1e-9) + 1e-6).all()
    assert lp.cost @ x == pytest.approx(objective_full, rel=1e-6, abs=1e-6)
