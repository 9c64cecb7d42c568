"""The build's shortcuts give what the plain computation gives.

* :func:`planner._labels.positions` is ``pd.Index.get_indexer``;
* :func:`planner.levels.level_data`, :func:`~planner.levels.leaf_rates` and
  :class:`~planner.levels.Tree` (which skip the per-target groups when no row
  above the leaves sets a target) equal the code they replaced, frozen below
  (``_ref_*``), on random one-level and three-level tables with targets on
  random rows, and follow changes to the districts and the targets;
* the map's point layers are the same bytes as the per-feature dicts gave.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings, strategies as st

import planner
from planner import levels
from planner._labels import positions

from conftest import area, childcare, eldercare

settings_ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- positions

@pytest.mark.parametrize("labels, keys", [
    (["D1", "D2", "D3"], ["D3", "D1", "D9", "D2", "D3"]),
    (np.array(["140105", "140106"], object), pd.Series(["140106", "x", "140105"])),
    (pd.Index(["a"]), []),
    ([], ["a", "b"]),
    (["1", "2"], [1, "1"]),                       # text ids never match numbers
])
def test_positions_is_get_indexer(labels, keys):
    got = positions(labels, keys)
    want = pd.Index(labels, dtype=object).get_indexer(pd.Index(keys, dtype=object))
    assert got.dtype == want.dtype and got.tolist() == want.tolist()


def test_positions_refuses_repeated_labels_like_pandas():
    with pytest.raises(pd.errors.InvalidIndexError):
        positions(["a", "b", "a"], ["a"])


# ---------------------------------------------------------------- level data: the code replaced, frozen

def _ref_tree(scenario):
    leaves, parents = scenario.districts, scenario.parents
    frames = [leaves] if parents is None or len(parents) == 0 else [leaves, parents]
    ids = np.concatenate([f["district_id"].astype(str).to_numpy(object) for f in frames])
    names = np.concatenate([f["name"].astype(str).to_numpy(object) for f in frames])
    parent = np.concatenate([f["parent_id"].astype(str).to_numpy(object) if "parent_id" in f else
                             np.full(len(f), "", object) for f in frames])
    level = np.concatenate([f["level"].astype(str).to_numpy(object) if "level" in f else
                            np.full(len(f), "", object) for f in frames])
    n, n_leaves = len(ids), len(leaves)
    pos = pd.Index(ids).get_indexer(parent)
    rows, cols = [np.arange(n_leaves)], [np.arange(n_leaves)]
    up, leaf = pos[:n_leaves].copy(), np.arange(n_leaves)
    for _ in range(n):
        live = up >= 0
        if not live.any():
            break
        rows.append(up[live])
        cols.append(leaf[live])
        up[live] = pos[up[live]]
    r, c = np.concatenate(rows), np.concatenate(cols)
    members = sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(n, n_leaves))
    return levels.Tree(ids, names, parent, level, n_leaves, members)


def _ref_groups(scenario, name, tree):
    level = levels.check_target_level(scenario.target_level)
    default = float(getattr(scenario.targets, name))
    own = levels.own_values(scenario, tree, name)
    n = len(tree.ids)
    carries, value, at_level = ~np.isnan(own), own.copy(), np.zeros(n, bool)
    if level == levels.LEAF:
        at_level[:tree.n_leaves] = True
    elif level != levels.ALL:
        at_level[tree.rows_at(level)] = True
    value[at_level & ~carries] = default
    rows = np.flatnonzero(at_level | carries)
    groups_rows, values, blocks = list(rows), list(value[rows]), [tree.members[rows]]
    if level == levels.ALL:
        groups_rows.append(-1)
        values.append(default)
        blocks.append(sp.csr_matrix(np.ones((1, tree.n_leaves), bool)))
    return levels.TargetGroups(name, np.asarray(groups_rows, np.int64), np.asarray(values, float),
                               sp.vstack(blocks, format="csr"))


def _ref_rate_group(scenario, tree, groups):
    level = levels.check_target_level(scenario.target_level)
    out = np.full(tree.n_leaves, -1, np.int64)
    if level == levels.LEAF:
        return out
    if level == levels.ALL:
        follows = groups.row < 0
    else:
        at = np.zeros(len(tree.ids), bool)
        at[tree.rows_at(level)] = True
        follows = (groups.row >= 0) & at[np.maximum(groups.row, 0)]
    m = groups.members.tocoo()
    keep = follows[m.row]
    out[m.col[keep]] = m.row[keep]
    out[~np.isnan(levels.own_values(scenario, tree, groups.name)[:tree.n_leaves])] = -1
    return out


def _ref_level_data(scenario):
    tree = _ref_tree(scenario)
    nl = tree.n_leaves
    leaf = scenario.district_targets().copy()
    aggregates, rate_group = {}, {}
    for name in levels.AGGREGATE_TARGETS:
        g = _ref_groups(scenario, name, tree)
        at_leaf = (g.row >= 0) & (g.row < nl)
        values = np.zeros(nl)
        values[g.row[at_leaf]] = g.value[at_leaf]
        if not g.is_leaf_identity:
            leaf[name] = values
        above = ~at_leaf
        if above.any():
            aggregates[name] = levels.TargetGroups(name, g.row[above], g.value[above],
                                                   g.members[np.flatnonzero(above)])
            rate_group[name] = _ref_rate_group(scenario, tree, aggregates[name])
    own = levels.own_values(scenario, tree, "min_affordable_centres")
    rows = np.flatnonzero(~np.isnan(own))
    centres = (levels.TargetGroups("min_affordable_centres", rows, own[rows], tree.members[rows])
               if len(rows) else None)
    return levels.LevelData(tree, leaf, aggregates, centres, rate_group)


def _ref_leaf_rates(scenario):
    tree = _ref_tree(scenario)
    targets, level, nl = scenario.targets, levels.check_target_level(scenario.target_level), tree.n_leaves
    out = {}
    extra = [c for c in levels._target_names() if c not in (*levels.AGGREGATE_TARGETS, *levels.AREA_RULES)]
    for name in (*levels.AGGREGATE_TARGETS, *levels.AREA_RULES, *extra):
        default = float(getattr(targets, name))
        own = levels.own_values(scenario, tree, name)
        v = own[:nl].copy()
        if name in levels.AREA_RULES:
            pos = pd.Index(tree.ids).get_indexer(tree.parent)
            chain, up = np.full(nl, np.nan), pos[:nl].copy()
            for _ in range(len(tree.ids)):
                live = (up >= 0) & np.isnan(chain)
                if not live.any():
                    break
                chain[live] = own[up[live]]
                up[live] = pos[up[live]]
        elif level in (levels.LEAF, levels.ALL) or name in extra:
            chain = np.full(nl, np.nan)
        else:
            at = tree.rows_at(level)
            chain = np.full(nl, np.nan)
            m = tree.members[at].tocoo()
            chain[m.col] = np.where(np.isnan(own[at][m.row]), default, own[at][m.row])
        v = np.where(np.isnan(v), chain, v)
        out[name] = np.where(np.isnan(v), default, v)
    return pd.DataFrame(out, index=scenario.districts.index)


def _same_groups(a, b):
    assert a.name == b.name
    assert a.row.tolist() == b.row.tolist()
    np.testing.assert_array_equal(a.value, b.value)
    assert a.members.shape == b.members.shape and (a.members != b.members).nnz == 0


def _same_level_data(got, want):
    for f in ("ids", "names", "parent", "level"):
        assert getattr(got.tree, f).tolist() == getattr(want.tree, f).tolist(), f
    assert got.tree.n_leaves == want.tree.n_leaves
    assert (got.tree.members != want.tree.members).nnz == 0
    pd.testing.assert_frame_equal(got.leaf_targets, want.leaf_targets)
    assert list(got.aggregates) == list(want.aggregates)
    for name in want.aggregates:
        _same_groups(got.aggregates[name], want.aggregates[name])
    assert (got.centres is None) == (want.centres is None)
    if want.centres is not None:
        _same_groups(got.centres, want.centres)
    assert list(got.rate_group) == list(want.rate_group)
    for name in want.rate_group:
        assert got.rate_group[name].tolist() == want.rate_group[name].tolist()


#: Columns a districts row may set (two values each, blank elsewhere).
OWN = {"childcare_per_1000": (3.0, 6.0), "affordable_share": (0.3, 0.6), "beds_per_1000_elderly": (30.0, 45.0),
       "care_bed_share": (0.5, 0.7), "care_beds_per_care_need": (0.0, 0.8), "access_minutes": (10.0, 20.0),
       "access_share": (0.5, 0.9), "min_affordable_centres": (1.0, 2.0)}


@st.composite
def tables(draw):
    """A one-level table (parent_id absent, blank or a free label) or province → prefectures → counties,
    with own target columns on random rows, and a target_level the table has."""
    if draw(st.booleans()):
        n = draw(st.integers(1, 5))
        rows = [{"district_id": f"C{i}", "name": f"县{i}", "level": "county"} for i in range(n)]
        parent = draw(st.sampled_from(["absent", "", "140100"]))
        if parent != "absent":
            for r in rows:
                r["parent_id"] = parent
        leaves, choices = [r["district_id"] for r in rows], ["leaf", "all", "county"]
    else:
        rows = [{"district_id": "P", "name": "省", "parent_id": "", "level": "province"}]
        leaves = []
        for m in range(draw(st.integers(1, 3))):
            rows.append({"district_id": f"M{m}", "name": f"市{m}", "parent_id": "P", "level": "prefecture"})
            for c in range(draw(st.integers(1, 3))):
                rows.append({"district_id": f"C{m}{c}", "name": f"县{m}{c}", "parent_id": f"M{m}",
                             "level": "county"})
                leaves.append(f"C{m}{c}")
        choices = ["leaf", "all", "prefecture", "county"]
    for col in draw(st.lists(st.sampled_from(sorted(OWN)), unique=True, max_size=4)):
        picks = draw(st.lists(st.sampled_from([np.nan, *OWN[col]]), min_size=len(rows), max_size=len(rows)))
        for r, v in zip(rows, picks):
            r[col] = v
    areas = pd.DataFrame([area(f"a{d}", d, pop=5_000, pop60=1_000) | {"pop_care_need": 100} for d in leaves])
    facs = pd.DataFrame([childcare(f"c{d}", d, slots=5) for d in leaves] + [eldercare(f"e{d}", d) for d in leaves])
    sc = planner.Scenario.from_frames(areas, facs, pd.DataFrame(rows))
    sc.target_level = draw(st.sampled_from(choices))
    sc.targets.childcare_per_1000 = draw(st.sampled_from([4.5, 5.0]))
    sc.validate()
    return sc


@settings_
@given(tables())
def test_level_data_equals_the_code_it_replaced(sc):
    _same_level_data(levels.level_data(sc), _ref_level_data(sc))
    pd.testing.assert_frame_equal(levels.leaf_rates(sc), _ref_leaf_rates(sc))
    t, r = levels.Tree.from_scenario(sc), _ref_tree(sc)
    assert t.parent_pos.tolist() == pd.Index(r.ids).get_indexer(r.parent).tolist()


def test_level_data_follows_the_districts_and_the_targets():
    """Nothing is kept between builds: a new target value, a parent's own column or a new table shows at once."""
    rows = [("P", "", "province"), ("M1", "P", "prefecture"), ("C1", "M1", "county"), ("C2", "M1", "county")]
    d = pd.DataFrame([{"district_id": i, "name": i, "parent_id": p, "level": lv} for i, p, lv in rows])
    areas = pd.DataFrame([area("a1", "C1"), area("a2", "C2")])
    facs = pd.DataFrame([childcare("f1", "C1"), childcare("f2", "C2")])
    sc = planner.Scenario.from_frames(areas, facs, d)
    before = levels.level_data(sc)
    assert before.aggregates == {} and before.leaf_targets["childcare_per_1000"].tolist() == [4.5, 4.5]

    step = sc.copy()  # what a slider does: same frames, new targets
    step.targets.childcare_per_1000 = 6.0
    assert levels.level_data(step).leaf_targets["childcare_per_1000"].tolist() == [6.0, 6.0]
    slots_rhs = lambda s: (lambda lp: lp.row_lower[lp.row_blocks["slots"]].tolist())(planner.build(s).lp)  # noqa: E731
    assert slots_rhs(sc) == [45.0, 45.0] and slots_rhs(step) == [60.0, 60.0]  # 10,000 residents each

    sc.parents.loc[sc.parents["district_id"] == "M1", "childcare_per_1000"] = 8.0  # a parent sets its own target
    after = levels.level_data(sc)
    g = after.aggregates["childcare_per_1000"]
    assert after.tree.ids[g.row].tolist() == ["M1"] and g.value.tolist() == [8.0]
    assert "agg_slots" in planner.build(sc).lp.row_blocks

    flat = planner.Scenario.from_frames(areas, facs, pd.DataFrame(
        [{"district_id": "C1", "name": "C1", "childcare_per_1000": 2.0}, {"district_id": "C2", "name": "C2"}]))
    got = levels.level_data(flat)
    assert got.tree.ids.tolist() == ["C1", "C2"] and got.leaf_targets["childcare_per_1000"].tolist() == [2.0, 4.5]


# ---------------------------------------------------------------- map point layers

from planner import maps  # noqa: E402

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=8) | st.sampled_from(
    [maps._CUT, '"', "\\", "</script>", ",", '","', "\u2028", "区县"])
number = st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False, width=64) | st.none()
prop = st.fixed_dictionaries({"n": text, "d": st.integers(-1, 50), "c": st.lists(st.integers(0, 4), max_size=4),
                              "v": st.lists(number, max_size=5)},
                             optional={"syn": st.just(1), "style": st.fixed_dictionaries({"radius": number}),
                                       "why": st.lists(text, max_size=3)})


@settings_
@given(st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), max_size=12).flatmap(
    lambda xy: st.tuples(st.just(xy), st.lists(prop, min_size=len(xy), max_size=len(xy)))))
def test_point_layer_text_is_what_the_feature_dicts_give(case):
    xy, props = case
    xy = np.round(np.array(xy, float).reshape(-1, 2), 6)
    assert maps._points_json(xy, props) == maps._json(maps._points(xy, props))


def test_point_layer_keeps_the_cut_text_and_refuses_nan_like_json():
    xy = np.array([[112.5, 37.8], [112.6, -0.0]])
    props = [{"n": "a", "why": ["x", maps._CUT, "y"]}, {"n": maps._CUT}]  # the cut's text inside a property
    assert maps._points_json(xy, props) == maps._json(maps._points(xy, props))
    assert '"why":["x","\\u0000planner-feature\\u0000","y"]' in maps._points_json(xy, props)
    with pytest.raises(ValueError):
        maps._points_json(np.array([[np.nan, 37.8]]), [{"n": "a"}])


def test_map_file_is_byte_identical_to_the_feature_dict_path(monkeypatch):
    import re

    rng = np.random.default_rng(5)
    areas = [area(f"a{i}", f"D{i % 3}", pop=4_000, pop60=900, lon=112.5 + rng.uniform(0, .05),
                  lat=37.8 + rng.uniform(0, .05)) | {"name": f'小区 "{i}" <b>'} for i in range(30)]
    facs = ([childcare(f"c{i}", f"D{i % 3}", slots=20, max_add=60, cost=9_000, lon=112.5 + .01 * i, lat=37.81)
             for i in range(6)]
            + [eldercare(f"e{i}", f"D{i % 3}", beds=50, care=20, max_add=100, cost=50_000, lon=112.52, lat=37.8 + .01 * i)
               for i in range(6)]
            + [childcare("k1", "D1", candidate=True, cost=9_000, fixed=1e5, max_size=80, lon=112.53, lat=37.83)])
    res = planner.solve(planner.Scenario.from_frames(pd.DataFrame(areas), pd.DataFrame(facs)))
    ids = lambda doc: re.sub(r"_[0-9a-f]{32}", "_ID", doc)  # noqa: E731  (folium's random element names)
    for lang in ("zh", "en"):
        new = maps.map_html(res, lang=lang)
        assert "小区 &quot;3&quot; &lt;b&gt;" in new  # user text escaped
        with monkeypatch.context() as m:
            m.setattr(maps, "_points_json", lambda xy, props: maps._json(maps._points(xy, props)))
            old = maps.map_html(res, lang=lang)
        assert ids(new) == ids(old)
