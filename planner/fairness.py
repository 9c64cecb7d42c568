"""Fairness figures: attainment per district and the Gini of per-1,000 rates.

(Planning arithmetic: moves to planner.targets with the model foundation.)
"""

from __future__ import annotations

import numpy as np


def attainment(after, required) -> np.ndarray:
    """Capacity after the plan ÷ the capacity the target asks for (NaN where it asks for none).

    Not capped: 1.2 means 20 % above target. The equity objective caps it at 1.
    """
    after, required = np.asarray(after, float), np.asarray(required, float)
    return np.where(required > 0, after / np.where(required > 0, required, 1.0), np.nan)


def worst(values) -> float | None:
    """The smallest finite value (``None`` if there is none)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    return float(v.min()) if len(v) else None


def gini(rate, weight) -> float | None:
    """Population-weighted Gini coefficient of a per-1,000 rate across districts.

    G = Σ_i Σ_j w_i w_j |x_i − x_j| / (2 W² μ), with W = Σ w and
    μ = Σ w x / W: the Gini over residents when each resident gets their
    district's rate. 0 = every district alike; → 1 = all capacity in one
    district. Computed from the Lorenz curve of the sorted rates (exact, n log n):
    G = 1 − Σ_i w_i (S_{i−1} + S_i) / (W · S_n), S_i = Σ_{k ≤ i} w_k x_k.
    Districts with no people (or no rate) are left out; ``None`` when
    nobody remains or the mean is 0.
    """
    x, w = np.asarray(rate, float), np.asarray(weight, float)
    keep = np.isfinite(x) & np.isfinite(w) & (w > 0)
    x, w = x[keep], w[keep]
    if not len(x):
        return None
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    s = np.cumsum(w * x)
    total, people = s[-1], w.sum()
    if total <= 0:
        return None
    prev = np.concatenate([[0.0], s[:-1]])
    return float(1.0 - np.sum(w * (prev + s)) / (people * total))
