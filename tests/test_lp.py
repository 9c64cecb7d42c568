"""The labelled LP layer (planner.lp): blocks, selections, regrouping, flattening, labelled answers."""

import numpy as np
import pandas as pd
import pytest

from planner.lp import LinearProblem, lazy_index


def small():
    lp = LinearProblem()
    sites = pd.Index(["s1", "s2", "s3"], name="site")
    x = lp.add_variables("x", sites, upper=[5, 6, 7])
    y = lp.add_variables("y", pd.Index(["north", "south"], name="zone"), integer=True)
    return lp, x, y


def test_blocks_flatten_to_bounds_costs_and_rows():
    lp, x, y = small()
    lp.add_objective(x * [1.0, 2.0, 3.0])
    lp.add_objective(y * 10)
    zone = np.array([0, 0, 1])  # s1, s2 in the north, s3 in the south
    con = lp.add_constraints("cover", x.sum_by(zone, y.index) + y * 2 >= pd.Series({"south": 4.0, "north": 3.0}))
    a = lp.to_arrays()
    assert a.blocks == {"x": slice(0, 3), "y": slice(3, 5)} and a.row_blocks == {"cover": slice(0, 2)}
    assert a.upper.tolist() == [5, 6, 7, np.inf, np.inf] and a.integer.tolist() == [False] * 3 + [True] * 2
    assert a.cost.tolist() == [1, 2, 3, 10, 10]
    assert a.A.toarray().tolist() == [[1, 1, 0, 2, 0], [0, 0, 1, 0, 2]]
    assert a.row_lower.tolist() == [3, 4] and a.row_upper.tolist() == [np.inf, np.inf]  # aligned by label
    assert con.index.tolist() == ["north", "south"]


def test_selection_by_label_position_and_mask():
    lp, x, _ = small()
    assert x.loc["s2"].positions.tolist() == [1]
    assert x.loc[["s3", "s1"]].positions.tolist() == [2, 0]
    assert x[np.array([True, False, True])].index.tolist() == ["s1", "s3"]
    assert x.where(pd.Series({"s1": False, "s2": True, "s3": True})).index.tolist() == ["s2", "s3"]
    with pytest.raises(KeyError, match="s9"):
        x.loc["s9"]


def test_map_rows_copies_to_many_rows_and_sums_duplicates():
    """Years: capacity added in year s counts in every year y ≥ s (a lower-triangular map)."""
    lp = LinearProblem()
    years = pd.Index([2026, 2027, 2028], name="year")
    add = lp.add_variables("add", years)
    src, dst = np.tril_indices(3)[1], np.tril_indices(3)[0]  # (s, y) with s ≤ y
    lp.add_constraints("stock", add.map_rows(src, dst, years) >= [1, 2, 3])
    A = lp.to_arrays().A.toarray()
    assert A.tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]


def test_lazy_index_is_built_only_when_read():
    calls = []

    def make():
        calls.append(1)
        return pd.Index(["a", "b"], name="k")
    lp = LinearProblem()
    v = lp.add_variables("v", lazy_index(2, make))
    lp.add_constraints("c", v.sum() <= 1)
    lp.to_arrays()
    assert calls == []
    sol = lp.solution(np.array([0.25, 0.75]), duals=np.array([-2.0]))
    assert sol["v"].loc["b"] == 0.75 and calls == [1]
    assert sol.dual("c").loc["total"] == -2.0


def test_user_rows_with_plus_equals_and_bad_sizes():
    lp, x, y = small()
    lp += x[0] <= 5
    lp += x.loc["s2"] + x.loc["s3"] == 4
    a = lp.to_arrays()
    assert list(a.row_blocks) == ["extra_0", "extra_1"]
    assert a.row_upper.tolist() == [5, 4] and a.row_lower.tolist() == [-np.inf, 4]
    with pytest.raises(ValueError, match="3 and 2 rows"):
        x + y
    with pytest.raises(ValueError, match="expected 3 values"):
        lp.add_constraints("bad", x >= [1, 2])
    with pytest.raises(TypeError, match="right-hand side"):
        x + 1
