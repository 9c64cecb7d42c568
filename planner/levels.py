"""Administrative levels: the district tree, which target applies to which aggregate, roll-ups.

A districts table may hold rows of several levels linked by ``parent_id``
(province → prefecture → county → township → village). Areas and facilities
point to *leaves* (rows without children); every other row stands for the
aggregate of the leaves below it. This module is the one place that knows
the tree:

* :func:`canonical_level` — level words (``county``, 县, 区县, …) → the five
  canonical names of :data:`LEVELS`;
* :class:`Tree` — leaves, ancestors and the leaf membership of every row,
  built from frames that :mod:`planner.io` has already validated;
* :func:`target_groups` — for each target, the aggregates it constrains and
  the value it asks for (``Scenario.target_level``, parent-row columns, leaf
  floors), ready for the model;
* :func:`rollup` — a leaf table aggregated to a level.

Which target applies where
--------------------------
For each per-1,000 / share / care-need target ``n``:

* ``target_level = "leaf"`` (default): every leaf carries ``n`` (its own
  column where given, else the scenario's value) — today's model exactly;
* ``target_level = L`` (a level name): every row of level ``L`` carries ``n``
  for the aggregate of its leaves (its own column where given, else the
  scenario's value); leaves keep only their own columns, as floors;
* ``target_level = "all"``: one aggregate, the whole region, carries the
  scenario's value; leaves keep their own columns as floors.

In every case a non-leaf row's own column constrains its aggregate as well.
The reach rule (``access_minutes``, ``access_share``) is per area, not per
aggregate: a leaf uses its own column, else its nearest ancestor's, else
the scenario's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._errors import PlannerError
from ._labels import positions
from .schema import LEVEL_ALIASES, LEVELS, canonical_level  # noqa: F401 (level words: one place, the schema)

#: ``target_level`` values besides a level name.
LEAF, ALL = "leaf", "all"
#: The roll-up row for ``"all"``.
ALL_ID = "all"

#: Targets set per aggregate (district rows); the reach rule is per area.
AGGREGATE_TARGETS = ("childcare_per_1000", "affordable_share", "beds_per_1000_elderly", "care_bed_share",
                     "care_beds_per_care_need")
AREA_RULES = ("access_minutes", "access_share")


def check_target_level(value, where="scenario") -> str:
    """A ``target_level`` setting in canonical form (``leaf``, ``all`` or a level name)."""
    if value is None:
        return LEAF
    w = str(value).strip()
    if w.lower() in (LEAF, ALL, "全部", "全域"):
        return ALL if w.lower() in (ALL, "全部", "全域") else LEAF
    level = canonical_level(w)
    if level is None:
        raise PlannerError(f"target_level must be 'leaf', 'all' or a level ({', '.join(LEVELS)}; "
                           f"省/市/县/乡镇), got {value!r}", where, None, "target_level")
    return level


def _text(frame, name) -> np.ndarray:
    """Column ``name`` as ``astype(str)`` gives it (object array; "" where the frame has no such column)."""
    if name not in frame.columns:
        return np.full(len(frame), "", object)
    col = frame[name]
    values = col.to_numpy(object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # already text (validated ids): no conversion
        return values.copy()
    return col.astype(str).to_numpy(object)


@dataclass
class Tree:
    """The district tree of a scenario.

    Attributes
    ----------
    ids : ndarray of str
        Every district row: the leaves (``Scenario.districts``, in order) first,
        then the rows above them (``Scenario.parents``, in order).
    n_leaves : int
    level : ndarray of str
        Canonical level per row ("" where the table names none).
    members : scipy.sparse.csr_matrix, bool, (rows × leaves)
        ``members[r, j]``: leaf ``j`` lies under (or is) row ``r``.
    parent_pos : ndarray of int
        Position of each row's parent (−1 for a root or a parent label outside the table).
    """

    ids: np.ndarray
    names: np.ndarray
    parent: np.ndarray
    level: np.ndarray
    n_leaves: int
    members: sp.csr_matrix
    #: Position of each row's parent in :attr:`ids` (−1 for a root); computed when not given.
    parent_pos: np.ndarray | None = None

    def __post_init__(self):
        if self.parent_pos is None:
            self.parent_pos = positions(self.ids, self.parent)

    @classmethod
    def from_scenario(cls, scenario) -> "Tree":
        leaves = scenario.districts
        parents = getattr(scenario, "parents", None)
        frames = [leaves] if parents is None or len(parents) == 0 else [leaves, parents]
        ids = np.concatenate([_text(f, "district_id") for f in frames])
        names = np.concatenate([_text(f, "name") for f in frames])
        parent = np.concatenate([_text(f, "parent_id") for f in frames])
        level = np.concatenate([_text(f, "level") for f in frames])
        n, n_leaves = len(ids), len(leaves)
        # -1: a root (or a free parent label); a table without parent_id has only roots
        pos = positions(ids, parent) if (parent != "").any() else np.full(n, -1, np.intp)
        if n == n_leaves and (pos < 0).all():  # one level: each leaf is its own and only aggregate
            every = np.arange(n + 1)
            members = sp.csr_matrix((np.ones(n, bool), every[:n], every), shape=(n, n))
            return cls(ids, names, parent, level, n_leaves, members, pos)
        # walk each leaf up the (validated, acyclic) tree
        rows, cols = [np.arange(n_leaves)], [np.arange(n_leaves)]
        up = pos[:n_leaves].copy()
        leaf = np.arange(n_leaves)
        for _ in range(n):
            live = up >= 0
            if not live.any():
                break
            rows.append(up[live])
            cols.append(leaf[live])
            up[live] = pos[up[live]]
        r, c = np.concatenate(rows), np.concatenate(cols)
        members = sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(n, n_leaves))
        return cls(ids, names, parent, level, n_leaves, members, pos)

    @property
    def levels(self) -> list[str]:
        """Levels present, top to bottom."""
        present = set(self.level)
        return [lv for lv in LEVELS if lv in present]

    def rows_at(self, level: str) -> np.ndarray:
        """Positions of the rows of ``level`` (canonical, ``"leaf"`` or ``"all"``)."""
        if level == LEAF:
            return np.arange(self.n_leaves)
        return np.flatnonzero(self.level == level)


def resolve_level(tree: Tree, level) -> str:
    """A roll-up level argument in canonical form; PlannerError listing the levels present."""
    w = str(level).strip()
    if w.lower() in (LEAF, ALL):
        return w.lower()
    lv = canonical_level(w)
    if lv is None or lv not in tree.levels:
        have = ", ".join([*tree.levels, LEAF, ALL])
        raise PlannerError(f"no districts at level {level!r}; levels here: {have}", "districts", None, "level")
    return lv


@dataclass
class TargetGroups:
    """Where one target applies: one row per constrained aggregate.

    Attributes
    ----------
    name : str
        The target (``childcare_per_1000`` …).
    row : ndarray of int
        The district row (position in :attr:`Tree.ids`) that carries it;
        ``-1`` for the whole region (``target_level: all``).
    value : ndarray of float
    members : csr_matrix (groups × leaves)
        The leaves each aggregate sums over (one leaf for a leaf row).
    """

    name: str
    row: np.ndarray
    value: np.ndarray
    members: sp.csr_matrix

    @property
    def is_leaf_identity(self) -> bool:
        """Exactly one group per leaf, in leaf order (today's per-district rows)."""
        m = self.members
        return (m.shape[0] == m.shape[1] and m.nnz == m.shape[0]
                and np.array_equal(self.row, np.arange(m.shape[0])))


def _column(frame, name, n) -> np.ndarray:
    if frame is None or len(frame) == 0:
        return np.full(n, np.nan)
    if name in frame.columns:
        return frame[name].to_numpy(float)
    return np.full(len(frame), np.nan)


def own_values(scenario, tree: Tree, name: str) -> np.ndarray:
    """Each district row's own column value for target ``name`` (NaN where blank)."""
    parents = getattr(scenario, "parents", None)
    leaf = _column(scenario.districts, name, tree.n_leaves)
    up = _column(parents, name, len(tree.ids) - tree.n_leaves)
    return np.concatenate([leaf, up])


def _own_table(scenario, tree: Tree) -> dict:
    """``own_values`` per target name, read once (name → array); a missing column reads as NaN."""
    memo = {}

    def own(name):
        if name not in memo:
            memo[name] = own_values(scenario, tree, name)
        return memo[name]
    return own


def target_groups(scenario, name: str, tree: Tree | None = None, own: np.ndarray | None = None) -> TargetGroups:
    """The aggregates target ``name`` constrains (see the module notes).

    ``own``: :func:`own_values` of ``name`` when already read.
    """
    tree = tree or Tree.from_scenario(scenario)
    level = check_target_level(getattr(scenario, "target_level", LEAF))
    default = float(getattr(scenario.targets, name))
    own = own_values(scenario, tree, name) if own is None else own
    n = len(tree.ids)
    carries = ~np.isnan(own)            # rows with their own column
    value = own.copy()
    at_level = np.zeros(n, bool)
    if level == LEAF:
        at_level[:tree.n_leaves] = True
    elif level != ALL:
        at_level[tree.rows_at(level)] = True
    value[at_level & ~carries] = default
    rows = np.flatnonzero(at_level | carries)
    members = tree.members[rows]
    groups_rows, values = rows.astype(np.int64), value[rows]
    if level == ALL:
        groups_rows = np.append(groups_rows, -1)
        values = np.append(values, default)
        members = sp.vstack([members, sp.csr_matrix(np.ones((1, tree.n_leaves), bool))], format="csr")
    return TargetGroups(name, groups_rows, np.asarray(values, float), members)


def leaf_rates(scenario, tree: Tree | None = None, targets=None) -> pd.DataFrame:
    """The target rate each leaf is held to or counted against, per target name.

    Aggregate targets: the leaf's own column, else the value of the row at
    ``target_level`` above it (``all``: the scenario's), else the scenario's.
    Reach rules: own column, else nearest ancestor's, else the scenario's.
    Used for each area's need (reach rows) and as the leaf's reference target.
    ``targets``: the scenario-wide values to use (default ``scenario.targets``;
    a phased plan passes one year's).
    """
    tree = tree or Tree.from_scenario(scenario)
    targets = scenario.targets if targets is None else targets
    level = check_target_level(getattr(scenario, "target_level", LEAF))
    nl = tree.n_leaves
    out = {}
    extra = [c for c in _target_names() if c not in (*AGGREGATE_TARGETS, *AREA_RULES)]
    if level not in (LEAF, ALL):  # each leaf's row at target_level (−1: none above it)
        at = tree.rows_at(level)
        m = tree.members[at].tocoo()
        above = np.full(nl, -1)
        above[m.col] = at[m.row]
    for name in (*AGGREGATE_TARGETS, *AREA_RULES, *extra):
        if not hasattr(targets, name):
            continue
        default = float(getattr(targets, name))
        own = own_values(scenario, tree, name)
        v = _own_or_ancestor(tree, own) if name in AREA_RULES else own[:nl]
        # a blank leaf under an aggregated target follows its row at target_level; targets this module
        # does not aggregate stay per leaf; what is still blank takes the scenario's value
        if level not in (LEAF, ALL) and name not in (*AREA_RULES, *extra) and np.isnan(v).any():
            chain = np.full(nl, np.nan)
            has = above >= 0
            chain[has] = np.where(np.isnan(own[above[has]]), default, own[above[has]])
            v = np.where(np.isnan(v), chain, v)
        out[name] = np.where(np.isnan(v), default, v)
    return pd.DataFrame(out, index=scenario.districts.index)


def _target_names() -> list:
    from .schema import TARGET_COLUMNS

    return [c.name for c in TARGET_COLUMNS]


def leaf_own_or_ancestor(scenario, name: str) -> np.ndarray:
    """Each leaf's own ``name`` column, else its nearest ancestor's; NaN where no row in the chain sets it.

    The reach rules' inheritance (``access_minutes``, ``access_share``) before the scenario-wide
    default is applied, so callers can put their own precedence in between (the reach rule's minutes).
    """
    tree = Tree.from_scenario(scenario)
    return _own_or_ancestor(tree, own_values(scenario, tree, name))


def _own_or_ancestor(tree: Tree, own: np.ndarray) -> np.ndarray:
    """Leaf values of ``own`` (one per tree row), blanks filled from the nearest ancestor that has one."""
    v = own[:tree.n_leaves]
    return np.where(np.isnan(v), _nearest_ancestor_value(tree, own), v) if np.isnan(v).any() else v


def _nearest_ancestor_value(tree: Tree, own: np.ndarray) -> np.ndarray:
    pos = tree.parent_pos
    nl = tree.n_leaves
    out = np.full(nl, np.nan)
    up = pos[:nl].copy()
    for _ in range(len(tree.ids)):
        live = (up >= 0) & np.isnan(out)
        if not live.any():
            break
        out[live] = own[up[live]]
        up[live] = pos[up[live]]
    return out


# ---------------------------------------------------------------- roll-ups

#: Leaf-table columns that add up over leaves (people, capacity, yuan, shortfalls).
SUM_COLUMNS = (
    "pop_total", "pop_0_2", "pop_60_plus", "care_need",
    "slots_before", "slots_after", "affordable_slots_before", "affordable_slots_after",
    "beds_before", "beds_after", "care_beds_before", "care_beds_after",
    "target_slots", "target_beds", "target_care_need_beds",
    "shortfall_slots", "shortfall_affordable", "shortfall_beds", "shortfall_care_beds",
    "shortfall_care_need_beds", "shortfall_access_childcare", "shortfall_access_beds",
    "affordable_centres_before", "affordable_centres_after", "shortfall_affordable_centres",
    "need_childcare", "need_beds", "served_in_reach_childcare", "served_in_reach_beds",
    "served_in_reach_childcare_before", "served_in_reach_beds_before",
    "areas_without_reach_childcare", "areas_without_reach_beds",
    "people_without_reach_childcare", "people_without_reach_beds", "cost",
)
#: Shortfall column of each aggregate target (what a group's shortfall is reported as).
SHORTFALL_OF = {"childcare_per_1000": "shortfall_slots", "affordable_share": "shortfall_affordable",
                "beds_per_1000_elderly": "shortfall_beds", "care_bed_share": "shortfall_care_beds",
                "care_beds_per_care_need": "shortfall_care_need_beds",
                "min_affordable_centres": "shortfall_affordable_centres"}
#: Requirement column of the targets whose requirement is a count.
REQUIRED_OF = {"childcare_per_1000": "target_slots", "beds_per_1000_elderly": "target_beds",
               "care_beds_per_care_need": "target_care_need_beds",
               "min_affordable_centres": "target_affordable_centres"}


def rollup(leaf_table: pd.DataFrame, tree: Tree, level: str, aggregates: pd.DataFrame | None = None,
           ratios=None) -> pd.DataFrame:
    """The leaf table aggregated to ``level``: one row per district of that level.

    Parameters
    ----------
    leaf_table : DataFrame
        ``Result.districts`` (one row per leaf, in tree leaf order).
    tree : Tree
    level : str
        Canonical level, ``"leaf"`` or ``"all"`` (one row, ``district_id`` "all").
    aggregates : DataFrame, optional
        Aggregate targets and their outcome (``Result.aggregate_targets``):
        a row that carries a target shows that target, its requirement and
        its shortfall; a row that carries none shows the sums of its leaves.
    ratios : callable, optional
        ``ratios(frame)`` adds the per-1,000 and share columns from the sums
        (:func:`planner.targets`-style arithmetic, shared with the leaf table).

    Columns in :data:`SUM_COLUMNS` are exact sums over the leaves; ``met``
    holds when the row's own targets and every leaf below it are met;
    ``districts`` / ``districts_met`` count those leaves.
    """
    if level == LEAF:
        return leaf_table.copy()
    if level == ALL:
        rows = np.array([-1])
        members = sp.csr_matrix(np.ones((1, tree.n_leaves), bool))
        ids, names, parent, lv = [ALL_ID], ["all"], [""], [ALL]
    else:
        rows = tree.rows_at(level)
        members = tree.members[rows]
        ids, names, parent, lv = tree.ids[rows], tree.names[rows], tree.parent[rows], tree.level[rows]
    M = members.astype(float)
    out = pd.DataFrame({"district_id": list(ids), "name": list(names), "parent_id": list(parent),
                        "level": list(lv)})
    for c in SUM_COLUMNS:
        if c in leaf_table.columns:
            out[c] = M @ leaf_table[c].fillna(0).to_numpy(float)
    out["districts"] = M @ np.ones(tree.n_leaves)
    met_leaf = leaf_table["met"].to_numpy(bool) if "met" in leaf_table else np.ones(tree.n_leaves, bool)
    out["districts_met"] = M @ met_leaf.astype(float)
    own_met = np.ones(len(out), bool)
    if aggregates is not None and len(aggregates):
        key = pd.Index(out["district_id"].astype(str))
        for r in aggregates.itertuples(index=False):
            i = key.get_indexer([str(r.district_id)])[0]
            if i < 0:
                continue
            out.loc[i, f"target_{r.target}"] = r.value
            if r.target in REQUIRED_OF:
                out.loc[i, REQUIRED_OF[r.target]] = r.required
            if r.target in SHORTFALL_OF:
                out.loc[i, SHORTFALL_OF[r.target]] = r.shortfall
            own_met[i] &= bool(r.shortfall <= 1e-3)
    out["met"] = own_met & (out["districts_met"].to_numpy() == out["districts"].to_numpy())
    _rollup_marginal_costs(out, leaf_table, tree, members, aggregates)
    if ratios is not None:
        ratios(out)
    return out


def _rollup_marginal_costs(out, leaf_table, tree: Tree, members, aggregates) -> None:
    """``marginal_cost_*`` of each roll-up row (in place, beside ``cost``): yuan for raising the row's
    target by one unit at the optimal plan.

    A row with its own aggregate target: that target's marginal cost
    (``aggregates["marginal_cost"]``). A row without: every target inside it
    raised by one unit, i.e. the sum of the marginal costs of all aggregates
    whose leaves all lie inside it (nested ones too) and of all its leaves (a
    derivative adds up over the targets raised; each area group's reach term
    is in one of them only). Aggregates with the same leaves (a province with
    one prefecture) are different rows of the model: their duals may split the
    cost between them in any proportion, and only their sum is the cost of
    raising both. NaN when any of them is NaN (out of reach).
    """
    # the district table's columns (planner.formulation.MARGINAL_COST_COLUMNS): marginal_cost_<target>
    cols = [(c.removeprefix("marginal_cost_"), c) for c in leaf_table.columns if c.startswith("marginal_cost_")]
    if not cols:
        return
    R = sp.csr_matrix(members, dtype=float)
    ids = pd.Index(out["district_id"].astype(str))
    tree_pos = pd.Index(pd.Series(tree.ids).astype(str))
    at = out.columns.get_loc("cost") + 1 if "cost" in out.columns else len(out.columns)

    def add_up(M, values):  # Σ over the columns M marks, NaN if any marked value is NaN
        bad = np.isnan(values)
        total = M @ np.where(bad, 0.0, values)
        return np.where(M @ bad.astype(float) > 0, np.nan, total)

    for k, (name, col) in enumerate(cols):
        value = add_up(R, leaf_table[col].to_numpy(float))
        rows = (aggregates[aggregates["target"] == name]
                if aggregates is not None and len(aggregates) and "marginal_cost" in aggregates else None)
        if rows is not None and len(rows):
            gid = rows["district_id"].astype(str).tolist()
            gmc = rows["marginal_cost"].to_numpy(float)
            pos = tree_pos.get_indexer(gid)
            G = sp.vstack([sp.csr_matrix(np.ones((1, tree.n_leaves))) if i < 0 else tree.members[i].astype(float)
                           for i in pos], format="csr")
            size = np.asarray(G.sum(axis=1)).ravel()
            shared = (R @ G.T).tocoo()  # leaves each row shares with each aggregate
            whole = (shared.data >= size[shared.col] - 0.5) & (size[shared.col] > 0)
            inside = sp.csr_matrix((np.ones(whole.sum()), (shared.row[whole], shared.col[whole])), shape=shared.shape)
            value = np.where(np.isnan(value), np.nan, value + add_up(inside, gmc))
            own = ids.get_indexer(gid)  # a row with its own target: that target's marginal cost
            value[own[own >= 0]] = gmc[own >= 0]
        out.insert(min(at + k, len(out.columns)), col, value)


def ratio_columns(out: pd.DataFrame) -> pd.DataFrame:
    """Per-1,000, share and attainment columns of a roll-up, from its summed counts (in place)."""
    from . import targets

    pairs = [("slots_per_1000_{w}", "slots_{w}", "pop_total", targets.per_1000),
             ("affordable_share_{w}", "affordable_slots_{w}", "slots_{w}", targets.share),
             ("beds_per_1000_elderly_{w}", "beds_{w}", "pop_60_plus", targets.per_1000),
             ("care_share_{w}", "care_beds_{w}", "beds_{w}", targets.share),
             ("care_beds_per_care_need_{w}", "care_beds_{w}", "care_need", targets.share)]
    for when in ("before", "after"):
        for col, num, den, f in pairs:
            num, den = num.format(w=when), den.format(w=when)
            if num in out and den in out:
                out[col.format(w=when)] = f(out[num].to_numpy(float), out[den].to_numpy(float))
    for kind in ("childcare", "beds"):
        for suffix in ("_before", ""):
            served = f"served_in_reach_{kind}{suffix}"
            if served in out and f"need_{kind}" in out:
                out[f"access_share_{kind}{suffix}"] = np.nan_to_num(
                    targets.share(out[served].to_numpy(float), out[f"need_{kind}"].to_numpy(float)), nan=1.0)
    for kind, cap, need in (("childcare", "slots_after", "target_slots"), ("beds", "beds_after", "target_beds")):
        if cap in out and need in out:
            out[f"attainment_{kind}"] = targets.attainment(out[cap].to_numpy(float), out[need].to_numpy(float))
    return out


# ---------------------------------------------------------------- what the model reads

@dataclass
class LevelData:
    """The tree and its targets as the model's ``define_*`` families read them.

    Attributes
    ----------
    tree : Tree
    leaf_targets : DataFrame
        Per leaf (``Scenario.districts`` order), the value of each aggregate
        target on the leaf's own row: with ``target_level: leaf`` exactly
        :meth:`Scenario.district_targets`; above the leaves, the leaf's own
        column (a floor) or 0 where it has none (0 asks for nothing).
    aggregates : dict
        Target name → :class:`TargetGroups` of the aggregates above the leaves
        (parent rows with their own column, rows at ``target_level``, the
        whole region); names with no such aggregate are left out.
    centres : TargetGroups or None
        ``min_affordable_centres`` of every row that sets it (leaves and parents).
    """

    tree: Tree
    leaf_targets: pd.DataFrame
    aggregates: dict
    centres: TargetGroups | None
    #: target name → per leaf, the position in ``aggregates[name]`` of the aggregate whose value the leaf's
    #: rate follows (its areas' need in reach; :func:`leaf_rates`), −1 where the leaf's own column or the
    #: scenario's value sets it. Raising that aggregate's target raises those areas' need too.
    rate_group: dict = field(default_factory=dict)

    @property
    def care_need(self) -> bool:
        """Whether any row asks for care-oriented beds per assessed person."""
        return bool((self.leaf_targets["care_beds_per_care_need"].to_numpy(float) > 0).any()) or any(
            (g.value > 0).any() for n, g in self.aggregates.items() if n == "care_beds_per_care_need")

    def group_ids(self, groups: TargetGroups) -> np.ndarray:
        """District id of each group (``"all"`` for the whole region)."""
        return np.array([ALL_ID if r < 0 else self.tree.ids[r] for r in groups.row], dtype=object)

    def group_levels(self, groups: TargetGroups) -> np.ndarray:
        return np.array([ALL if r < 0 else self.tree.level[r] for r in groups.row], dtype=object)


def level_data(scenario, plain_targets: pd.DataFrame | None = None) -> LevelData:
    """:class:`LevelData` of a validated scenario.

    ``plain_targets``: the scenario's :meth:`~Scenario.district_targets`
    (passed when already computed).
    """
    tree = Tree.from_scenario(scenario)
    nl = tree.n_leaves
    base = scenario.district_targets() if plain_targets is None else plain_targets
    leaf = base.copy()
    level = check_target_level(getattr(scenario, "target_level", LEAF))
    own = _own_table(scenario, tree)
    aggregates, rate_group = {}, {}
    for name in AGGREGATE_TARGETS:
        if not hasattr(scenario.targets, name):
            continue
        if level == LEAF and not _set_above(scenario, name):
            continue  # one group per leaf, nothing above: district_targets() as it is
        g = target_groups(scenario, name, tree, own(name))
        at_leaf = (g.row >= 0) & (g.row < nl)
        values = np.zeros(nl)
        values[g.row[at_leaf]] = g.value[at_leaf]
        if not g.is_leaf_identity:  # today's case keeps the exact values of district_targets()
            leaf[name] = values
        above = ~at_leaf
        if above.any():
            aggregates[name] = TargetGroups(name, g.row[above], g.value[above], g.members[np.flatnonzero(above)])
            rate_group[name] = _rate_group(scenario, tree, aggregates[name], own(name), level)
    centres_own = own("min_affordable_centres")
    rows = np.flatnonzero(~np.isnan(centres_own))
    centres = (TargetGroups("min_affordable_centres", rows, centres_own[rows], tree.members[rows])
               if len(rows) else None)
    return LevelData(tree, leaf, aggregates, centres, rate_group)


def _set_above(scenario, name: str) -> bool:
    """Whether some row above the leaves sets target ``name`` in its own column."""
    parents = getattr(scenario, "parents", None)
    return parents is not None and len(parents) > 0 and name in parents.columns and bool(
        (~np.isnan(parents[name].to_numpy(float))).any())


def _rate_group(scenario, tree: Tree, groups: TargetGroups, own: np.ndarray | None = None,
                level: str | None = None) -> np.ndarray:
    """Per leaf, the group of ``groups`` whose value :func:`leaf_rates` gives the leaf (−1: none).

    ``own``, ``level``: the target's :func:`own_values` and the scenario's ``target_level`` when already read.
    """
    level = check_target_level(getattr(scenario, "target_level", LEAF)) if level is None else level
    out = np.full(tree.n_leaves, -1, np.int64)
    if level == LEAF:
        return out
    if level == ALL:
        follows = groups.row < 0
    else:
        at = np.zeros(len(tree.ids), bool)
        at[tree.rows_at(level)] = True
        follows = (groups.row >= 0) & at[np.maximum(groups.row, 0)]
    m = groups.members.tocoo()
    keep = follows[m.row]
    out[m.col[keep]] = m.row[keep]
    own = own_values(scenario, tree, groups.name) if own is None else own
    out[~np.isnan(own[:tree.n_leaves])] = -1  # a leaf's own column comes first
    return out
