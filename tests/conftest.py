"""Small scenario builders shared by the tests."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

import planner

BASE_LON, BASE_LAT = 112.55, 37.87  # Taiyuan; 0.001° ≈ 88 m east-west here


def area(area_id, district="D1", pop=10_000, pop60=0, lon=BASE_LON, lat=BASE_LAT, pop02=None):
    return {"area_id": area_id, "name": area_id, "district_id": district, "pop_total": pop,
            "pop_0_2": pop * 0.02 if pop02 is None else pop02, "pop_60_plus": pop60, "lon": lon, "lat": lat}


def childcare(fid, district="D1", slots=0, affordable=0, max_add=0, cost=None, lon=BASE_LON, lat=BASE_LAT,
              candidate=False, fixed=0, min_size=0, max_size=None):
    return {"facility_id": fid, "name": fid, "kind": "childcare", "district_id": district, "slots": slots,
            "slots_affordable": affordable, "beds": 0, "beds_care": 0, "max_add": max_add,
            "cost_per_unit": cost, "cost_per_conversion": None, "candidate": candidate,
            "fixed_cost": fixed, "min_size": min_size, "max_size": max_size, "lon": lon, "lat": lat}


def eldercare(fid, district="D1", beds=0, care=0, max_add=0, cost=None, conv=None, lon=BASE_LON, lat=BASE_LAT,
              candidate=False, fixed=0, min_size=0, max_size=None):
    return {"facility_id": fid, "name": fid, "kind": "eldercare", "district_id": district, "slots": 0,
            "slots_affordable": 0, "beds": beds, "beds_care": care, "max_add": max_add,
            "cost_per_unit": cost, "cost_per_conversion": conv, "candidate": candidate,
            "fixed_cost": fixed, "min_size": min_size, "max_size": max_size, "lon": lon, "lat": lat}


def scenario(areas, facilities, districts=None, **targets) -> planner.Scenario:
    """A validated scenario from row dicts; keyword arguments set targets."""
    sc = planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facilities),
                                      None if districts is None else pd.DataFrame(districts))
    for k, v in targets.items():
        setattr(sc.targets, k, v)
    return sc


def chromium_or_skip():
    """Path of Debian's Chromium; in CI its absence is a failure, not a skip."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian chromium (see .ci/run)")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    return path
