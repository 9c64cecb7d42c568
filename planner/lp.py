"""Labelled linear programs: named blocks of variables and constraints over pandas indexes.

A :class:`LinearProblem` holds *variable blocks* (:class:`Variable`, one column
per label of a ``pandas.Index``) and *constraint blocks* (:class:`Constraint`,
one row per label). Rows are written as :class:`Expr` objects, built from
blocks with arithmetic, masks and :meth:`Expr.sum_by` / :meth:`Expr.map_rows`
instead of column and row offsets. The solution and the row duals come back
labelled (:class:`Solution`: ``sol["add"].loc["f12"]``).

Flattening (:meth:`LinearProblem.to_arrays`) is separate: it turns the blocks
into the arrays a solver takes (:class:`LinearProgram`, a CSC matrix), with one
concatenation per array and no Python loop over terms, so labels cost nothing
on the solver path. Indexes may be given lazily (a callable returning the
index) so that large blocks (a million flow columns) build their labels only
when a user reads them.

This module knows nothing of slots, beds or districts: see
:mod:`planner.formulation` for the care model and ``docs/model.md`` for the
formulation. The style follows linopy (``add_variables``/``add_constraints``,
labelled blocks) with PyPSA's split of variables, constraints and solving.

Index conventions used by the planner's blocks (``docs/model.md``):
``facility_id``, ``district_id``, ``area_group`` (flows: a two-level index
``area_group``, ``facility_id``), single rows ``scope``. A multi-period or
multi-level model puts ``year`` (or ``level``) as the *first* level of a
block's index; nothing here depends on the number of levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

INF = np.inf

__all__ = ["LinearProblem", "LinearProgram", "Variable", "Constraint", "Expr", "Solution", "lazy_index", "INF"]


@dataclass
class LinearProgram:
    """The flat arrays: min cost·x  s.t.  row_lower ≤ A x ≤ row_upper,  lower ≤ x ≤ upper.

    ``blocks`` / ``row_blocks`` map block names to slices of columns / rows,
    in the order the blocks were added.
    """

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    A: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    blocks: dict
    row_blocks: dict

    @property
    def shape(self):
        return self.A.shape


class _Lazy:
    """An index built on first use (``n`` labels)."""

    __slots__ = ("n", "factory", "value")

    def __init__(self, n: int, factory: Callable[[], pd.Index]):
        self.n, self.factory, self.value = int(n), factory, None

    def get(self) -> pd.Index:
        if self.value is None:
            idx = self.factory()
            if len(idx) != self.n:
                raise ValueError(f"lazy index built {len(idx)} labels, expected {self.n}")
            self.value = idx
        return self.value


def lazy_index(n: int, factory: Callable[[], pd.Index]) -> _Lazy:
    """An index of ``n`` labels that ``factory()`` builds when first read."""
    return _Lazy(n, factory)


def _const(value, n: int) -> np.ndarray:
    """``n`` copies of a scalar: a read-only view when long (concatenation copies it anyway)."""
    return np.broadcast_to(float(value), (n,)) if n > 512 else np.full(n, float(value))


def _as_index(index):
    """(length, pd.Index or _Lazy) from an Index, a _Lazy, an int or a sequence of labels."""
    if isinstance(index, _Lazy):
        return index.n, index
    if isinstance(index, (int, np.integer)):
        return int(index), pd.RangeIndex(int(index))
    if not isinstance(index, pd.Index):
        index = pd.Index(index)
    return len(index), index


def _get(index) -> pd.Index:
    return index.get() if isinstance(index, _Lazy) else index


def _aligned(value, n: int, index, what: str) -> np.ndarray:
    """A scalar or per-label value as a float array of length ``n`` (a Series is aligned by label)."""
    if isinstance(value, pd.Series):
        value = value.reindex(_get(index))
        if value.isna().any():
            raise KeyError(f"{what}: no value for label(s) {list(value.index[value.isna()][:5])}")
        value = value.to_numpy(float)
    arr = np.asarray(value, float)
    if arr.ndim == 0:
        return _const(arr, n)
    if arr.shape != (n,):
        raise ValueError(f"{what}: expected {n} values, got shape {arr.shape}")
    return arr


class Expr:
    """Linear expressions, one per row label: Σ coefficient × column.

    Stored as chunks of (row position, column, coefficient) arrays that are
    only concatenated when the problem is flattened. Combine with ``+``,
    ``-``, ``*`` (a scalar, or one factor per row), :meth:`sum_by`,
    :meth:`map_rows`; compare with ``<=``, ``>=``, ``==`` to get a row block
    for :meth:`LinearProblem.add_constraints`.
    """

    __slots__ = ("n", "_index", "chunks")

    def __init__(self, n: int, index, chunks: list):
        self.n, self._index, self.chunks = n, index, chunks

    @property
    def index(self) -> pd.Index:
        return _get(self._index)

    def __len__(self) -> int:
        return self.n

    # -- arithmetic
    def __mul__(self, factor) -> "Expr":
        if np.ndim(factor) == 0 and not isinstance(factor, pd.Series):
            f = float(factor)
            return Expr(self.n, self._index, [(r, c, v * f) for r, c, v in self.chunks])
        f = _aligned(factor, self.n, self._index, "factor")
        return Expr(self.n, self._index, [(r, c, v * f[r]) for r, c, v in self.chunks])

    __rmul__ = __mul__

    def __neg__(self) -> "Expr":
        return self * -1.0

    def __add__(self, other) -> "Expr":
        other = _expr(other)
        if other.n != self.n:
            raise ValueError(f"cannot add expressions over {self.n} and {other.n} rows")
        return Expr(self.n, self._index, self.chunks + other.chunks)

    def __radd__(self, other):
        if isinstance(other, (int, float)) and other == 0:  # sum([...]) starts from 0
            return self
        return _expr(other) + self

    def __sub__(self, other) -> "Expr":
        return self + (-_expr(other))

    # -- regrouping rows
    def sum_by(self, by, index) -> "Expr":
        """Σ of the rows that share a key: one row per label of ``index``.

        ``by`` gives, per row of this expression, its row in ``index``: integer
        positions (fast), or labels / a Series of labels (looked up). Rows
        with position −1 are dropped.
        """
        n, idx = _as_index(index)
        pos = _positions(by, self.n, idx)
        keep = pos >= 0
        chunks = []
        for r, c, v in self.chunks:
            p = pos[r]
            if not keep.all():
                k = keep[r]
                p, c, v = p[k], c[k], np.broadcast_to(v, r.shape)[k]
            chunks.append((p, c, v))
        return Expr(n, idx, chunks)

    def map_rows(self, source, target, index, weight=None) -> "Expr":
        """Copy rows to (possibly many) rows of ``index``: row ``target[k]`` gets row ``source[k]``.

        The one-to-many regrouping: all leaves of a parent district (a leaf
        maps to itself and every ancestor), or all years up to a year
        (capacity added in year s counts in every year y ≥ s). ``weight[k]``
        scales each copy (default 1). Duplicate terms are summed.
        """
        n, idx = _as_index(index)
        source, target = np.asarray(source, np.int64), np.asarray(target, np.int64)
        w = np.ones(len(source)) if weight is None else np.asarray(weight, float)
        M = sp.csr_matrix((w, (target, source)), shape=(n, self.n))
        r, c, v = self._concat()
        n_col = int(c.max(initial=-1)) + 1
        E = sp.csr_matrix((v, (r, c)), shape=(self.n, n_col))
        P = (M @ E).tocoo()
        return Expr(n, idx, [(P.row.astype(np.int64), P.col.astype(np.int64), P.data)])

    def sum(self, label="total") -> "Expr":
        """All rows summed into one row labelled ``label``."""
        return self.sum_by(np.zeros(self.n, np.int64), pd.Index([label]))

    def _concat(self):
        if not self.chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        r = np.concatenate([np.asarray(r, np.int64) for r, _, _ in self.chunks])
        c = np.concatenate([np.asarray(c, np.int64) for _, c, _ in self.chunks])
        v = np.concatenate([np.broadcast_to(np.asarray(v, float), np.shape(r)) for r, _, v in self.chunks])
        return r, c, v

    # -- comparisons: row blocks
    def __le__(self, rhs):
        return _Rows(self, None, rhs)

    def __ge__(self, rhs):
        return _Rows(self, rhs, None)

    def __eq__(self, rhs):  # noqa: D105 - a row block, as in linopy
        return _Rows(self, rhs, rhs)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"Expr({self.n} rows, {sum(np.size(r) for r, _, _ in self.chunks)} terms)"


def _positions(by, n: int, index) -> np.ndarray:
    if isinstance(by, pd.Series):
        by = by.to_numpy()
    arr = np.asarray(by)
    if arr.shape != (n,):
        raise ValueError(f"sum_by: expected one key per row ({n}), got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    return _get(index).get_indexer(arr)


def _expr(x) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, Variable):
        return x.to_expr()
    raise TypeError(f"expected a Variable or an Expr, got {type(x).__name__} "
                    "(constants belong on the right-hand side of a comparison)")


class _Rows:
    """``lower ≤ expr ≤ upper``, not yet added to a problem."""

    __slots__ = ("expr", "lower", "upper")

    def __init__(self, expr, lower, upper):
        self.expr, self.lower, self.upper = expr, lower, upper


class _Loc:
    __slots__ = ("owner",)

    def __init__(self, owner):
        self.owner = owner

    def __getitem__(self, labels):
        o = self.owner
        scalar = np.ndim(labels) == 0 and not isinstance(labels, tuple)
        idx = o.index
        keys = [labels] if scalar else labels
        if isinstance(keys, tuple) and isinstance(idx, pd.MultiIndex):
            keys = [keys]
        pos = idx.get_indexer(keys)
        if (pos < 0).any():
            missing = [k for k, p in zip(keys, pos) if p < 0]
            raise KeyError(f"{o.name}: no label(s) {missing[:5]}")
        return o._take(pos)


class _Block:
    """What variable and constraint blocks share: a name, positions and an index."""

    __slots__ = ("name", "_index", "positions")

    @property
    def index(self) -> pd.Index:
        return _get(self._index)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def loc(self) -> _Loc:
        """Select by label: ``block.loc["f12"]`` or ``block.loc[["f1", "f2"]]``."""
        return _Loc(self)

    def __getitem__(self, key):
        """Select by position: an int, a slice, an integer array or a boolean mask."""
        if isinstance(key, (int, np.integer)):
            key = [int(key)]
        key = np.asarray(key) if isinstance(key, list) else key
        if isinstance(key, np.ndarray) and key.dtype.kind in "iu":
            return self._take(key)
        pos = np.arange(len(self))[key]
        return self._take(np.atleast_1d(pos))

    def where(self, mask) -> "_Block":
        """The labels where ``mask`` holds (a boolean array, or a Series aligned by label)."""
        m = np.asarray(_aligned(mask, len(self), self._index, "mask"), bool) if isinstance(mask, pd.Series) \
            else np.asarray(mask, bool)
        return self._take(np.flatnonzero(m))

    def _sub_index(self, pos):
        parent = self._index  # built when read: selections are cheap on the build path
        return lazy_index(len(pos), lambda: _get(parent)[pos])


class Variable(_Block):
    """A block of columns, one per label of ``index``.

    Attributes
    ----------
    name : str
    positions : ndarray of int
        The columns of the whole problem this block (or selection) holds.
    index : pandas.Index
    """

    __slots__ = ()

    def __init__(self, name, positions, index):
        self.name, self.positions, self._index = name, positions, index

    @property
    def columns(self) -> np.ndarray:
        return self.positions

    def _take(self, pos) -> "Variable":
        return Variable(self.name, self.positions[pos], self._sub_index(pos))

    def to_expr(self) -> Expr:
        n = len(self.positions)
        return Expr(n, self._index, [(np.arange(n), self.positions, np.ones(1)[0])])

    def sum(self, label="total") -> Expr:
        return self.to_expr().sum(label)

    def sum_by(self, by, index) -> Expr:
        """Σ of the columns that share a key (see :meth:`Expr.sum_by`)."""
        n, idx = _as_index(index)
        pos = _positions(by, len(self.positions), idx)
        keep = pos >= 0
        if keep.all():
            return Expr(n, idx, [(pos, self.positions, 1.0)])
        return Expr(n, idx, [(pos[keep], self.positions[keep], 1.0)])

    def map_rows(self, source, target, index, weight=None) -> Expr:
        return self.to_expr().map_rows(source, target, index, weight)

    def __mul__(self, factor) -> Expr:
        n = len(self.positions)
        if np.ndim(factor) == 0 and not isinstance(factor, pd.Series):
            return Expr(n, self._index, [(np.arange(n), self.positions, float(factor))])
        return Expr(n, self._index, [(np.arange(n), self.positions, _aligned(factor, n, self._index, "factor"))])

    __rmul__ = __mul__

    def __neg__(self):
        return self * -1.0

    def __add__(self, other):
        return self.to_expr() + other

    def __radd__(self, other):
        return self.to_expr().__radd__(other)

    def __sub__(self, other):
        return self.to_expr() - other

    def __le__(self, rhs):
        return self.to_expr() <= rhs

    def __ge__(self, rhs):
        return self.to_expr() >= rhs

    def __eq__(self, rhs):
        return self.to_expr() == rhs

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"Variable({self.name!r}, {len(self)} columns)"


class Constraint(_Block):
    """A block of rows, one per label of ``index`` (``positions``: rows of the whole problem)."""

    __slots__ = ()

    def __init__(self, name, positions, index):
        self.name, self.positions, self._index = name, positions, index

    def _take(self, pos) -> "Constraint":
        return Constraint(self.name, self.positions[pos], self._sub_index(pos))

    def __repr__(self) -> str:
        return f"Constraint({self.name!r}, {len(self)} rows)"


class LinearProblem:
    """A linear (or mixed-integer) program of labelled blocks; minimises.

    Examples
    --------
    >>> lp = LinearProblem()
    >>> x = lp.add_variables("x", pd.Index(["a", "b"], name="site"), upper=10)
    >>> lp.add_objective(x * [2.0, 3.0])
    >>> lp.add_constraints("total", x.sum() >= 4)  # doctest: +ELLIPSIS
    Constraint('total', 1 rows)
    >>> lp.to_arrays().shape
    (1, 2)
    """

    def __init__(self):
        self.variables: dict[str, Variable] = {}
        self.constraints: dict[str, Constraint] = {}
        self.n_col = 0
        self.n_row = 0
        self._lower, self._upper, self._integer = [], [], []
        self._cost = []                      # chunks of (columns, coefficients)
        self._terms = []                     # chunks of (rows, columns, coefficients), global positions
        self._r_lower, self._r_upper = [], []
        self._n_extra = 0
        self._arrays = None

    def add_variables(self, name: str, index, *, lower=0.0, upper=INF, integer=False) -> Variable:
        """A block of columns, one per label; bounds are scalars or one value per label."""
        if name in self.variables:
            raise ValueError(f"variable block {name!r} exists")
        n, idx = _as_index(index)
        pos = np.arange(self.n_col, self.n_col + n)
        self.n_col += n
        self._lower.append(_aligned(lower, n, idx, f"{name}.lower"))
        self._upper.append(_aligned(upper, n, idx, f"{name}.upper"))
        self._integer.append(np.full(n, bool(integer)) if np.ndim(integer) == 0 else np.asarray(integer, bool))
        var = Variable(name, pos, idx)
        self.variables[name] = var
        self._arrays = None
        return var

    def add_constraints(self, name: str | None, rows: _Rows | Expr, *, lower=None, upper=None) -> Constraint:
        """Add ``lower ≤ expr ≤ upper`` as a block named ``name`` (``rows``: ``expr >= rhs`` etc.).

        A right-hand side is a scalar, one value per row, or a Series aligned
        to the expression's index. ``name=None`` picks ``extra_<k>``.
        """
        if isinstance(rows, _Rows):
            expr, lower, upper = rows.expr, rows.lower, rows.upper
        else:
            expr = _expr(rows)
        if name is None:
            name = f"extra_{self._n_extra}"
            self._n_extra += 1
        if name in self.constraints:
            raise ValueError(f"constraint block {name!r} exists")
        n = expr.n
        lo = _const(-INF, n) if lower is None else _aligned(lower, n, expr._index, f"{name}.lower")
        up = _const(INF, n) if upper is None else _aligned(upper, n, expr._index, f"{name}.upper")
        start = self.n_row
        self.n_row += n
        self._r_lower.append(lo)
        self._r_upper.append(up)
        for r, c, v in expr.chunks:
            self._terms.append((r + start if start else r, c, v))
        con = Constraint(name, np.arange(start, start + n), expr._index)
        self.constraints[name] = con
        self._arrays = None
        return con

    def __iadd__(self, rows):
        """``lp += expr <= rhs`` adds an ``extra_<k>`` block (PuLP-style, for user hooks)."""
        self.add_constraints(None, rows)
        return self

    def add_objective(self, expr) -> None:
        """Add Σ over rows of ``expr`` to the objective (cost per column)."""
        for _, c, v in _expr(expr).chunks:
            self._cost.append((c, v))
        self._arrays = None

    # -- flattening
    def to_arrays(self) -> LinearProgram:
        """The flat arrays (cached until a block is added)."""
        if self._arrays is not None:
            return self._arrays
        cat = lambda xs, dt=float: np.concatenate(xs).astype(dt, copy=False) if xs else np.zeros(0, dt)  # noqa: E731
        ri = cat([r for r, _, _ in self._terms], np.int64)
        ci = cat([c for _, c, _ in self._terms], np.int64)
        vals = cat([_full(v, len(r)) for r, _, v in self._terms])
        # column-wise, as HiGHS takes it: most columns are flows with two entries, so the
        # per-column index sort is cheap (per row it is not: a site's capacity row is long)
        A = sp.csc_matrix((vals, (ri, ci)), shape=(self.n_row, self.n_col))
        cost = np.zeros(self.n_col)
        if self._cost:  # one pass; repeated columns add up
            cc = np.concatenate([np.asarray(c, np.int64) for c, _ in self._cost])
            cv = np.concatenate([_full(v, len(c)) for c, v in self._cost])
            cost = np.bincount(cc, cv, self.n_col)
        self._arrays = LinearProgram(cost, cat(self._lower), cat(self._upper), cat(self._integer, bool), A,
                                     cat(self._r_lower), cat(self._r_upper),
                                     _slices(self.variables), _slices(self.constraints))
        return self._arrays

    def solution(self, x, duals=None) -> "Solution":
        """Column values (and row duals) as a labelled :class:`Solution`."""
        return Solution(self, np.asarray(x, float), None if duals is None else np.asarray(duals, float))


def _full(v, n: int) -> np.ndarray:
    return _const(v, n) if np.ndim(v) == 0 else np.asarray(v, float)


def _slices(blocks: dict) -> dict:
    """Block name → slice; blocks are contiguous in the order they were added."""
    out, at = {}, 0
    for name, b in blocks.items():
        n = len(b.positions)
        start = int(b.positions[0]) if n else at
        out[name] = slice(start, start + n)
        at = start + n
    return out


class Solution:
    """Column values and row duals of a solved :class:`LinearProblem`, by block and label.

    ``sol["add"]`` is a Series indexed like the ``add`` block;
    ``sol.dual("slots")`` a Series indexed like the ``slots`` rows (yuan per
    unit of the row's right-hand side when the objective is in yuan; see
    ``docs/model.md`` for the planner's scaling). ``sol.array(name)`` /
    ``sol.dual_array(name)`` give the plain arrays without building labels.
    """

    def __init__(self, problem: LinearProblem, x: np.ndarray, duals: np.ndarray | None):
        self.problem, self.x, self.duals = problem, x, duals

    def array(self, name: str) -> np.ndarray:
        return self.x[self.problem.variables[name].positions]

    def __getitem__(self, name: str) -> pd.Series:
        v = self.problem.variables[name]
        return pd.Series(self.x[v.positions], index=v.index, name=name)

    def __contains__(self, name) -> bool:
        return name in self.problem.variables

    def keys(self):
        return self.problem.variables.keys()

    def dual_array(self, name: str) -> np.ndarray:
        if self.duals is None:
            raise ValueError("no duals: integer solves have none (see docs/model.md, marginal costs)")
        return self.duals[self.problem.constraints[name].positions]

    def dual(self, name: str) -> pd.Series:
        c = self.problem.constraints[name]
        return pd.Series(self.dual_array(name), index=c.index, name=name)
