"""The Shanxi demo through the public API."""

import re

import pytest

import planner

CENSUS = {"太原市": 5_304_061, "运城市": 4_774_508, "临汾市": 3_976_481, "吕梁市": 3_398_431, "晋中市": 3_379_498,
          "长治市": 3_180_884, "大同市": 3_105_591, "忻州市": 2_689_668, "晋城市": 2_194_545, "朔州市": 1_593_444,
          "阳泉市": 1_318_505}


@pytest.fixture(scope="module")
def demo_result():
    return planner.solve(planner.load_demo("shanxi"))


def test_demo_baseline_matches_reports(demo_result):
    d = demo_result.districts
    assert len(d) == 117 and d["parent_id"].nunique() == 11
    assert d["pop_total"].sum() == 34_915_616
    assert round(1000 * d["slots_before"].sum() / d["pop_total"].sum(), 2) == 4.13
    assert round(100 * d["affordable_slots_before"].sum() / d["slots_before"].sum(), 2) == 63.43
    assert 1000 * d["beds_before"].sum() / d["pop_60_plus"].sum() < 40
    assert d["care_beds_before"].sum() / d["beds_before"].sum() < 0.55
    assert demo_result.scenario.attribution and "SYNTHETIC" in demo_result.scenario.attribution


def test_demo_meets_every_reachable_target(demo_result):
    """Targets that full expansion can reach are met; the rest are shortfalls with a reason."""
    d = demo_result.districts
    for target, col in (("slots", "shortfall_slots"), ("affordable", "shortfall_affordable"),
                        ("beds", "shortfall_beds"), ("care", "shortfall_care_beds")):
        short = d[col] > 1e-3
        assert (d.loc[short, "shortfall_reason"].str.contains(f"{target}:expansion_limit")).all()
    met = d["met_targets"]
    assert met.mean() > 0.9  # the demo is calibrated so most counties can reach the per-1,000 targets
    assert (d.loc[met, "slots_per_1000_after"] >= d.loc[met, "target_childcare_per_1000"] - 1e-6).all()
    assert (d.loc[met, "care_share_after"] >= 0.55 - 1e-6).all()
    # the reach rule fails only where a village has nothing in reach or capacity there is capped
    no_reach = ~d["met_access"]
    assert d.loc[no_reach, "shortfall_reason"].str.contains("access_").all()
    # every settlement has a site of each kind in its life circle (geodata/README.md, step 6):
    # the first screen is a plan that meets every target, reach included, in all 117 counties
    assert d["met"].all() and demo_result.status == "optimal"


def test_demo_first_screen_meets_every_target_in_all_117_counties(demo_result):
    """The app's headline on the demo's defaults (life-circle reach): 117/117 districts meet every target."""
    from planner.widgets.views import districts_meeting, headline_html

    assert demo_result.scenario.reach == "life_circle"
    d = demo_result.districts
    assert len(d) == 117 and d["met"].all() and d["met_access"].all() and d["met_targets"].all()
    assert (d["shortfall_access_childcare"] <= 1e-6).all() and (d["shortfall_access_beds"] <= 1e-6).all()
    assert districts_meeting(demo_result)["all"] == (None, 117)  # before the plan: not said (reach)
    for lang, label in (("zh", "全部达标的区县"), ("en", "Districts meeting every target")):
        text = " ".join(re.sub(r"<[^>]+>", " ", headline_html(demo_result, lang)).split())
        assert f"{label} 117 / 117" in text


def test_demo_walking_only_is_one_switch_away_and_meets_the_district_targets():
    """Everyone held to a 15-minute walk (reach off): every county still meets its per-1,000 and share
    targets; what remains short is reach alone (villages far from any site), said per district."""
    sc = planner.load_demo("shanxi")
    sc.reach = None
    res = planner.solve(sc)
    d = res.districts
    assert d["met_targets"].all()
    assert res.status == "shortfall" and not d["met_access"].all()
    reasons = d.loc[~d["met"], "shortfall_reason"].str.split(";").explode().str.split(":").str[0]
    assert set(reasons) <= {"access_childcare", "access_beds"}


@pytest.mark.parametrize("key", ["太原市", "太原", "140100"])
def test_prefecture_subset(key):
    sc = planner.load_demo("shanxi", prefecture=key)
    assert len(sc.districts) == 10 and sc.areas["pop_total"].sum() == CENSUS["太原市"]
    assert set(sc.facilities["district_id"]) <= set(sc.districts["district_id"])


def test_unknown_prefecture_lists_choices():
    with pytest.raises(planner.PlannerError, match="unknown prefecture '上海'; choose one of .*太原市 \\(140100\\)"):
        planner.load_demo("shanxi", prefecture="上海")
    with pytest.raises(planner.PlannerError, match="unknown demo 'beijing'"):
        planner.load_demo("beijing")
