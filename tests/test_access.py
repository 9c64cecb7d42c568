"""Reach rules, the three travel-time sources, 2SFCA scores."""

import numpy as np
import pandas as pd
import pytest

import planner
from planner.access import (ODMatrix, Pairs, PRESETS, RoadNetwork, StraightLine, area_rules, decay_weights,
                            km_between, reach_rules, straight_line_pairs, two_step_fca)
from conftest import BASE_LAT, BASE_LON, area, childcare, eldercare, scenario


def points(lons, lats):
    import geopandas as gpd

    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs=4326)


# ---------------------------------------------------------------- straight line

def test_straight_line_minutes_match_haversine():
    """0.01° of latitude ≈ 1.112 km → 1.112 × 1.3 ÷ 4.5 km/h = 19.3 minutes."""
    a = points([BASE_LON], [BASE_LAT])
    f = points([BASE_LON, BASE_LON, BASE_LON], [BASE_LAT, BASE_LAT + 0.005, BASE_LAT + 0.01])
    p = straight_line_pairs(a, f, 30)
    km = km_between(BASE_LON, BASE_LAT, BASE_LON, BASE_LAT + 0.01)
    assert km == pytest.approx(1.112, abs=0.001)
    assert p.facility.tolist() == [0, 1, 2]
    assert p.minutes[2] == pytest.approx(km * 1.3 / 4.5 * 60)
    assert straight_line_pairs(a, f, 15).facility.tolist() == [0, 1]  # 19.3 > 15
    assert straight_line_pairs(a, f, 19.3 if p.minutes[2] <= 19.3 else 19.2).facility.tolist() in ([0, 1], [0, 1, 2])


def test_straight_line_per_area_limits_and_coincident_points():
    a = points([BASE_LON, BASE_LON], [BASE_LAT, BASE_LAT])
    f = points([BASE_LON, BASE_LON], [BASE_LAT, BASE_LAT + 0.005])  # 0 and 9.6 minutes away
    p = straight_line_pairs(a, f, np.array([5.0, 15.0]))
    assert list(zip(p.area, p.facility)) == [(0, 0), (1, 0), (1, 1)]


def test_straight_line_agrees_with_brute_force():
    rng = np.random.default_rng(1)
    alon, alat = BASE_LON + rng.uniform(0, 0.05, 60), BASE_LAT + rng.uniform(0, 0.05, 60)
    flon, flat = BASE_LON + rng.uniform(0, 0.05, 25), BASE_LAT + rng.uniform(0, 0.05, 25)
    p = straight_line_pairs(points(alon, alat), points(flon, flat), 15)
    minutes = km_between(alon[:, None], alat[:, None], flon[None, :], flat[None, :]) * 1.3 / 4.5 * 60
    r, c = np.nonzero(minutes <= 15)
    assert sorted(zip(p.area, p.facility)) == sorted(zip(r, c))
    assert len(p) > 0


# ---------------------------------------------------------------- reach rules

def test_life_circle_preset_values():
    rules = reach_rules("life_circle")
    assert rules["childcare"]["urban"] == ("walk", 5.0)   # ≈ 300 m (GB 50180 5-minute circle)
    assert rules["eldercare"]["urban"] == ("walk", 15.0)  # ≈ 1 km
    assert rules["eldercare"]["rural"] == ("drive", 30.0)
    assert reach_rules(None)["childcare"]["rural"] == ("walk", None)
    assert PRESETS["life_circle"]["childcare"]["rural"][0] == "drive"


def test_area_rules_precedence():
    """District column beats the reach rule, which beats targets.access_minutes."""
    districts = [{"district_id": "D1"}, {"district_id": "D2", "access_minutes": 12}]
    areas = [area("u", "D1"), dict(area("r", "D1"), setting="农村"), area("o", "D2")]
    sc = scenario(areas, [childcare("c1", "D1", slots=10)], districts)
    sc.reach = {"childcare": {"rural": {"mode": "drive", "minutes": 25}}}
    mode, minutes = area_rules(sc, "childcare")
    assert mode.tolist() == ["walk", "drive", "walk"] and minutes.tolist() == [15.0, 25.0, 12.0]
    sc.targets.access_minutes = 10
    assert area_rules(sc, "childcare")[1].tolist() == [10.0, 25.0, 12.0]


@pytest.mark.parametrize("reach, message", [
    ("fifteen_minutes", "unknown reach preset 'fifteen_minutes'"),
    ({"schools": {}}, "reach: unknown service 'schools'"),
    ({"childcare": {"suburban": "walk"}}, "reach: unknown setting 'suburban'"),
    ({"childcare": {"rural": ["bike", 10]}}, "reach: unknown mode 'bike'"),
    ({"childcare": {"rural": {"mode": "drive", "minutes": -3}}}, "reach: minutes must be a positive number"),
])
def test_bad_reach_rules(reach, message):
    sc = scenario([area("a1")], [childcare("c1", slots=10)])
    sc.reach = reach
    with pytest.raises(planner.PlannerError, match=message):
        planner.solve(sc)


def test_bad_setting_value():
    with pytest.raises(planner.PlannerError, match="row 2, column 'setting': setting must be urban or rural"):
        scenario([dict(area("a1"), setting="suburb")], [childcare("c1", slots=10)])


def test_rural_drive_reaches_the_next_town():
    """A village 10 km away: nothing in a 15-minute walk, but 10 km × 1.4 ÷ 30 km/h = 28 min by car."""
    areas = [area("town"), dict(area("village", lon=BASE_LON + 0.114), setting="rural")]  # ≈ 10 km east
    facs = [eldercare("e1", beds=200, care=200)]
    sc = scenario(areas, facs, childcare_per_1000=0, access_share=0.8)
    sc.areas["pop_60_plus"] = 2000.0
    walk = planner.solve(sc).areas.set_index("area_id")
    assert walk.loc["village", "sites_in_reach_beds"] == 0
    sc.reach = "life_circle"
    drive = planner.solve(sc).areas.set_index("area_id")
    assert drive.loc["village", "sites_in_reach_beds"] == 1
    assert drive.loc["village", "access_share_beds"] == pytest.approx(1.0)


def test_life_circle_childcare_is_a_five_minute_walk():
    """A nursery 500 m away is inside 15 minutes but outside the 5-minute (≈ 290 m) circle."""
    areas = [area("a1")]
    facs = [childcare("c1", slots=100, affordable=100, lat=BASE_LAT + 0.0045)]  # ≈ 500 m north
    sc = scenario(areas, facs, beds_per_1000_elderly=0)
    assert planner.solve(sc).areas["sites_in_reach_childcare"].iat[0] == 1
    sc.reach = "life_circle"
    res = planner.solve(sc)
    assert res.areas["sites_in_reach_childcare"].iat[0] == 0
    assert res.districts["shortfall_reason"].iat[0] == "access_childcare:no_site_in_reach"


# ---------------------------------------------------------------- OD matrix

def od_frame(rows):
    return pd.DataFrame(rows, columns=["origin_id", "destination_id", "minutes"])


def test_od_matrix_decides_reach():
    """The matrix says c2 is 40 minutes away even though it is next door: it is out of reach."""
    areas = [area("a1")]
    facs = [childcare("c1", slots=50, affordable=50), childcare("c2", slots=50, affordable=50)]
    sc = scenario(areas, facs, beds_per_1000_elderly=0)
    sc.travel = ODMatrix.from_frame(od_frame([("a1", "c1", 4.0), ("a1", "c2", 40.0)]))
    res = planner.solve(sc)
    assert res.areas["sites_in_reach_childcare"].iat[0] == 1
    assert sc.travel.report == {"areas_not_in_matrix": [], "facilities_not_in_matrix": []}


def test_od_matrix_reports_missing_ids():
    areas = [area("a1"), area("a2")]
    facs = [childcare("c1", slots=50, affordable=50), childcare("c2", slots=50, affordable=50)]
    sc = scenario(areas, facs, beds_per_1000_elderly=0)
    sc.travel = ODMatrix.from_frame(od_frame([("a1", "c1", 4.0)]))
    res = planner.solve(sc)
    assert sc.travel.report == {"areas_not_in_matrix": ["a2"], "facilities_not_in_matrix": ["c2"]}
    assert res.areas.set_index("area_id").loc["a2", "sites_in_reach_childcare"] == 0


@pytest.mark.parametrize("rows, row, column, message", [
    ([("a1", "c1", -2.0)], 2, "minutes", "must be ≥ 0, got -2"),
    ([("a1", "c1", 3.0), ("a1", "c1", 5.0)], 3, "destination_id", "the pair to 'c1' is listed twice"),
    ([("a1", "c1", "soon")], 2, "minutes", "not a number: 'soon'"),
])
def test_od_matrix_validation(tmp_path, rows, row, column, message):
    path = tmp_path / "od.csv"
    od_frame(rows).to_csv(path, index=False)
    with pytest.raises(planner.PlannerError) as info:
        ODMatrix.from_file(path)
    assert (info.value.file, info.value.row, info.value.column, info.value.message) == (str(path), row, column, message)


def test_od_matrix_unknown_ids(tmp_path):
    path = tmp_path / "od.csv"
    od_frame([("a1", "c1", 3.0), ("a9", "c1", 3.0)]).to_csv(path, index=False)
    sc = scenario([area("a1")], [childcare("c1", slots=10)])
    sc.travel = ODMatrix.from_file(path)
    with pytest.raises(planner.PlannerError) as info:
        planner.solve(sc)
    assert (info.value.file, info.value.row, info.value.column) == (str(path), 3, "origin_id")
    assert info.value.message == "unknown area 'a9'"


def test_od_matrix_per_mode(tmp_path):
    rows = pd.DataFrame({"origin_id": ["a1", "a1"], "destination_id": ["c1", "c1"], "minutes": [50.0, 12.0],
                         "mode": ["walk", "drive"]})
    sc = scenario([dict(area("a1"), setting="rural")], [childcare("c1", slots=45, affordable=45)],
                  beds_per_1000_elderly=0)
    sc.travel = ODMatrix.from_frame(rows)
    assert planner.solve(sc).areas["sites_in_reach_childcare"].iat[0] == 0  # walking: 50 min
    sc.reach = "life_circle"  # rural childcare by car, 20 minutes
    assert planner.solve(sc).areas["sites_in_reach_childcare"].iat[0] == 1


# ---------------------------------------------------------------- road network

RIVER_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="care-planner tests">
{nodes}
  <way id="100" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="101" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/><tag k="bridge" v="yes"/></way>
  <way id="102" version="1"><nd ref="4"/><nd ref="5"/><nd ref="6"/><tag k="highway" v="residential"/></way>
  <way id="103" version="1"><nd ref="7"/><nd ref="1"/><tag k="highway" v="motorway"/></way>
</osm>
"""


def river_network(tmp_path, pbf=False):
    """Two streets on either bank of a north–south river, joined by one bridge 2.2 km north.

    West bank: nodes 1 (south end) → 2 → 3 (bridge). East bank: 4 (bridge) → 5 → 6 (south end).
    Node 7 hangs off a motorway that walkers may not use.
    """
    west, east = BASE_LON - 0.002, BASE_LON + 0.002
    coords = {1: (west, BASE_LAT), 2: (west, BASE_LAT + 0.01), 3: (west, BASE_LAT + 0.02),
              4: (east, BASE_LAT + 0.02), 5: (east, BASE_LAT + 0.01), 6: (east, BASE_LAT), 7: (west - 0.01, BASE_LAT)}
    nodes = "\n".join(f'  <node id="{i}" version="1" lat="{lat}" lon="{lon}"/>' for i, (lon, lat) in coords.items())
    path = tmp_path / "river.osm"
    path.write_text(RIVER_OSM.format(nodes=nodes), encoding="utf-8")
    if not pbf:
        return path
    import osmium

    out = tmp_path / "river.osm.pbf"
    writer = osmium.SimpleWriter(str(out))

    class Copy(osmium.SimpleHandler):
        def node(self, n):
            writer.add_node(n)

        def way(self, w):
            writer.add_way(w)

    Copy().apply_file(str(path))
    writer.close()
    return out


@pytest.mark.parametrize("pbf", [False, True])
def test_river_with_one_bridge(tmp_path, pbf):
    """Across the river is 350 m in a straight line (6 minutes) but 4.8 km by the bridge (63 minutes)."""
    west, east = BASE_LON - 0.002, BASE_LON + 0.002
    areas = [area("west_bank", lon=west)]
    facs = [childcare("across", slots=0, max_add=100, cost=1000, lon=east),
            childcare("far_same_bank", slots=0, max_add=100, cost=3000, lon=west, lat=BASE_LAT + 0.01)]
    sc = scenario(areas, facs, beds_per_1000_elderly=0, care_bed_share=0, access_share=1.0)
    sc.targets.access_minutes = 20
    straight = planner.solve(sc)
    # straight lines: the cheap site across the river serves everything
    assert straight.facilities.set_index("facility_id").loc["across", "added_slots"] == pytest.approx(45)
    sc.travel = RoadNetwork(river_network(tmp_path, pbf))
    road = planner.solve(sc)
    f = road.facilities.set_index("facility_id")
    # by road only the same-bank site (1.1 km ≈ 15 min) is in reach, so it must be built instead
    assert f.loc["across", "added_slots"] == pytest.approx(0)
    assert f.loc["far_same_bank", "added_slots"] == pytest.approx(45)
    assert road.cost == pytest.approx(45 * 3000)
    assert road.areas["sites_in_reach_childcare"].iat[0] == 1


def test_network_minutes_follow_the_road(tmp_path):
    west, east = BASE_LON - 0.002, BASE_LON + 0.002
    net = RoadNetwork(river_network(tmp_path))
    from planner.access import modes

    p = net.pairs(points([west], [BASE_LAT]), points([east], [BASE_LAT]), np.array([120.0]), np.array(["walk"]),
                  modes(planner.Options()))
    road_km = 2 * km_between(west, BASE_LAT, west, BASE_LAT + 0.02) + km_between(west, BASE_LAT + 0.02, east,
                                                                                 BASE_LAT + 0.02)
    assert p.minutes[0] == pytest.approx(road_km / 4.5 * 60, rel=1e-6)


@pytest.mark.parametrize("text, message", [
    ('<osm version="0.6"><node id="1" version="1" lat="37.8" lon="112.5"/></osm>', "the OSM file has no roads"),
    ("not xml at all", "cannot read the OSM file"),
])
def test_network_file_errors(tmp_path, text, message):
    bad = tmp_path / "bad.osm"
    bad.write_text(text)
    sc = scenario([area("a1")], [childcare("c1", slots=10)])
    sc.travel = RoadNetwork(bad)
    with pytest.raises(planner.PlannerError) as info:
        planner.solve(sc)
    assert info.value.file == str(bad) and info.value.message.startswith(message)


def test_scenario_yaml_travel_keys(tmp_path):
    pd.DataFrame([area("a1")]).to_csv(tmp_path / "areas.csv", index=False)
    pd.DataFrame([childcare("c1", slots=45, affordable=45)]).to_csv(tmp_path / "facilities.csv", index=False)
    od_frame([("a1", "c1", 3.0)]).to_csv(tmp_path / "od.csv", index=False)
    river_network(tmp_path)
    base = "areas: areas.csv\nfacilities: facilities.csv\n"
    (tmp_path / "od.yaml").write_text(base + "reach: life_circle\ntravel: {od_matrix: od.csv}\n")
    sc = planner.load_scenario(tmp_path / "od.yaml")
    assert isinstance(sc.travel, ODMatrix) and sc.reach == "life_circle"
    (tmp_path / "net.yaml").write_text(base + "travel: {network: river.osm}\n")
    assert isinstance(planner.load_scenario(tmp_path / "net.yaml").travel, RoadNetwork)
    (tmp_path / "bad.yaml").write_text(base + "travel: {ferry: x}\n")
    with pytest.raises(planner.PlannerError, match="travel must be straight_line"):
        planner.load_scenario(tmp_path / "bad.yaml")
    assert isinstance(StraightLine(), StraightLine)


# ---------------------------------------------------------------- 2SFCA

def test_two_step_fca_by_hand():
    """Two areas (1,000 and 3,000 people) share one 40-slot site; the first also has a 10-slot site.
    Site A: 40 / 4,000; site B: 10 / 1,000 → area 1: 10 + 10 = 20 per 1,000; area 2: 10 per 1,000."""
    pairs = Pairs(np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([1.0, 1.0, 1.0]))
    s = two_step_fca(pairs, [1000, 3000], [40, 10], 15)
    assert s.tolist() == pytest.approx([20.0, 10.0])


def test_decay_weights():
    w = decay_weights([0, 4, 6, 12, 15, 16], 15, "step")
    assert w.tolist() == [1.0, 1.0, 0.68, 0.22, 0.22, 0.0]
    assert decay_weights([7.5], 15, "gaussian")[0] == pytest.approx(np.exp(-0.5))


@pytest.mark.parametrize("decay", ["none", "step", "gaussian"])
def test_scores_agree_with_pysal_access(decay):
    """Same inputs through PySAL's access.two_stage_fca and ours: same numbers."""
    from access import Access, weights

    rng = np.random.default_rng(7)
    n_a, n_f, limit = 40, 12, 15.0
    alon, alat = BASE_LON + rng.uniform(0, 0.03, n_a), BASE_LAT + rng.uniform(0, 0.03, n_a)
    flon, flat = BASE_LON + rng.uniform(0, 0.03, n_f), BASE_LAT + rng.uniform(0, 0.03, n_f)
    demand, supply = rng.integers(100, 5000, n_a).astype(float), rng.integers(10, 200, n_f).astype(float)
    pairs = straight_line_pairs(points(alon, alat), points(flon, flat), limit)
    ours = two_step_fca(pairs, demand, supply, limit, decay, per=1.0)

    fn = {"none": None, "step": weights.step_fn({limit / 3: 1, 2 * limit / 3: 0.68, limit: 0.22}),
          "gaussian": weights.gaussian(limit / 2)}[decay]
    demand_df = pd.DataFrame({"geoid": np.arange(n_a), "pop": demand})
    supply_df = pd.DataFrame({"geoid": np.arange(n_f), "slots": supply})
    cost_df = pd.DataFrame({"origin": pairs.area, "dest": pairs.facility, "minutes": pairs.minutes})
    acc = Access(demand_df=demand_df, demand_index="geoid", demand_value="pop", supply_df=supply_df,
                 supply_index="geoid", supply_value="slots", cost_df=cost_df, cost_origin="origin",
                 cost_dest="dest", cost_name="minutes")
    theirs = acc.two_stage_fca(name="s", max_cost=limit, weight_fn=fn).iloc[:, 0]
    theirs = theirs.reindex(np.arange(n_a)).fillna(0).to_numpy()
    assert (ours > 0).sum() > n_a / 2  # the instance is not trivially empty
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_result_scores_before_and_after():
    """One area of 10,000 with a 30-slot site that grows to 45: 3 → 4.5 slots per 1,000 in reach."""
    sc = scenario([area("a1", pop60=1000)],
                  [childcare("c1", slots=30, affordable=30, max_add=50, cost=2000),
                   eldercare("e1", beds=20, care=20, max_add=50, cost=5000)])
    res = planner.solve(sc)
    a = res.areas.iloc[0]
    assert a["score_2sfca_childcare_before"] == pytest.approx(3.0)
    assert a["score_2sfca_childcare_after"] == pytest.approx(4.5)
    assert a["score_e2sfca_beds_before"] == pytest.approx(20.0) and a["score_e2sfca_beds_after"] == pytest.approx(40.0)
    d = res.districts.iloc[0]
    assert d["score_e2sfca_childcare_after"] == pytest.approx(4.5)
    assert d["people_without_reach_childcare"] == 0


def test_people_without_reach_per_district():
    areas = [area("town"), area("village", pop=2000, lon=BASE_LON + 0.12)]
    res = planner.solve(scenario(areas, [childcare("c1", slots=60, affordable=60)], beds_per_1000_elderly=0))
    d = res.districts.iloc[0]
    assert d["people_without_reach_childcare"] == 2000 and d["areas_without_reach_childcare"] == 1
    assert res.areas.set_index("area_id").loc["village", "score_2sfca_childcare_before"] == 0


def _mixed_town(seed=0):
    rng = np.random.default_rng(seed)
    lon = lambda: float(BASE_LON + rng.uniform(0, 0.25))  # noqa: E731  (≈ 22 km: walk and drive both matter)
    lat = lambda: float(BASE_LAT + rng.uniform(0, 0.25))  # noqa: E731
    districts = [{"district_id": "D1"}, {"district_id": "D2", "access_minutes": 12}]
    areas = [dict(area(f"a{i}", f"D{1 + i % 2}", lon=lon(), lat=lat()), setting=("urban", "rural")[i % 3 == 0])
             for i in range(60)]
    facs = [(childcare if i % 2 else eldercare)(f"f{i}", f"D{1 + i % 2}", lon=lon(), lat=lat()) for i in range(40)]
    return scenario(areas, facs, districts)


def _od_for(sc):
    from planner.access import lonlat

    alon, alat = lonlat(sc.areas)
    flon, flat = lonlat(sc.facilities)
    km = km_between(alon[:, None], alat[:, None], flon[None, :], flat[None, :])
    rows = [(sc.areas["area_id"][i], sc.facilities["facility_id"][j], mode, float(km[i, j] * factor))
            for i in range(len(alon)) for j in range(len(flon)) for mode, factor in (("walk", 15.0), ("drive", 2.5))]
    return ODMatrix.from_frame(pd.DataFrame(rows, columns=["origin_id", "destination_id", "mode", "minutes"]))


@pytest.mark.parametrize("reach", [None, "life_circle", {"childcare": {"urban": ["drive", 8]}},
                                   {"eldercare": {"rural": ["walk", 40]}}])
@pytest.mark.parametrize("travel", ["straight", "od"])
def test_one_search_for_both_services_equals_one_per_service(reach, travel):
    """planner.build searches reach once for both services when it can; same pairs either way."""
    from planner.access import reach_pairs, service_pairs

    sc = _mixed_town()
    sc.reach = reach
    if travel == "od":
        sc.travel = _od_for(sc)
    child = (sc.facilities["kind"] == "childcare").to_numpy()
    pairs_c, pairs_e, limit_c, limit_e = reach_pairs(sc, child)
    for pairs, service, mask, limit in ((pairs_c, "childcare", child, limit_c), (pairs_e, "eldercare", ~child, limit_e)):
        one = service_pairs(sc, service, np.flatnonzero(mask))
        assert len(one) > 0 and len(one) < len(sc.areas) * mask.sum()  # the catchment bites
        np.testing.assert_array_equal(pairs.area, one.area)
        np.testing.assert_array_equal(pairs.facility, one.facility)
        np.testing.assert_array_equal(pairs.minutes, one.minutes)
        np.testing.assert_array_equal(limit, area_rules(sc, service)[1])
