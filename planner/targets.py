"""The planning arithmetic, in one place: required capacity, share rows, attainment.

Every module that turns a target into a number calls these: the model's
district and reach rows (:mod:`planner.formulation`), the Result's tables,
the maps (the JavaScript only shows values computed here) and the app's
headline. The formulas are those of ``docs/model.md``.

All functions take numbers or numpy arrays (element-wise) and return floats
or float arrays.
"""

from __future__ import annotations

import numpy as np

TOL = 1e-3  # slots/beds: differences below this are solver round-off


def required(rate_per_1000, people):
    """Capacity a per-1,000 target asks for: ``rate × people / 1000`` (slots or beds)."""
    return np.asarray(rate_per_1000, float) * np.asarray(people, float) / 1000


def required_slots(rate_per_1000, people, per_child=0.0, children=0.0):
    """Slots a district needs: the per-1,000 target and, as well, ``per_child × children under 3``
    (the optional ``childcare_per_child`` target: need that follows births). The larger of the two."""
    return np.maximum(required(rate_per_1000, people),
                      np.asarray(per_child, float) * np.nan_to_num(np.asarray(children, float)))


def share_floor(share, total):
    """The part a share target asks for: ``share × total`` (e.g. affordable slots ≥ share × slots)."""
    return np.asarray(share, float) * np.asarray(total, float)


def per_1000(count, people):
    """``1000 × count ÷ people``; NaN where there are no people."""
    count, people = np.asarray(count, float), np.asarray(people, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(people > 0, 1000 * count / np.where(people > 0, people, 1), np.nan)
    return out if out.ndim else float(out)


def share(part, whole):
    """``part ÷ whole``; NaN where the whole is 0."""
    part, whole = np.asarray(part, float), np.asarray(whole, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(whole > 0, part / np.where(whole > 0, whole, 1), np.nan)
    return out if out.ndim else float(out)


def attainment(value, target):
    """``value ÷ target`` (1 = target met exactly); a zero target counts as met (1); NaN where
    the value is undefined (NaN) and the target is not zero."""
    value, target = np.asarray(value, float), np.asarray(target, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(target > 0, value / np.where(target > 0, target, 1), 1.0)
    a = np.where(np.isnan(value) & (target > 0), np.nan, a)
    return a if a.ndim else float(a)


def met(slots, affordable, beds, care, *, target_slots, affordable_share, target_beds, care_bed_share,
        tol=TOL) -> dict:
    """Which district rows of the model hold for given capacity (e.g. before the plan).

    slots ≥ target slots; affordable ≥ share × slots; beds ≥ target beds;
    care-oriented beds ≥ share × beds. Returns ``{"slots", "affordable", "beds", "care"}`` →
    bool arrays.
    """
    slots, beds = np.asarray(slots, float), np.asarray(beds, float)
    return {
        "slots": slots >= np.asarray(target_slots, float) - tol,
        "affordable": np.asarray(affordable, float) >= share_floor(affordable_share, slots) - tol,
        "beds": beds >= np.asarray(target_beds, float) - tol,
        "care": np.asarray(care, float) >= share_floor(care_bed_share, beds) - tol,
    }


def reachable(*, slots, affordable, beds, care, add_slots, add_beds, convertible, target_slots,
              affordable_share, target_beds, care_bed_share, new_beds_care=True, tol=TOL) -> dict:
    """Which district targets everything allowed could meet (budget aside).

    ``add_slots`` / ``add_beds``: the most that may be added (expansions and
    candidate sites at maximum size); ``convertible``: ordinary beds that may
    become care-oriented. Added slots may all be affordable; with
    ``new_beds_care`` added beds are care-oriented, so the care share is
    reachable when care + convertible + (1 − share) × add_beds ≥ share × beds
    (and the same holds for the affordable share). Returns ``{"slots",
    "affordable", "beds", "care"}`` → bool arrays.
    """
    S, SA, B, BC = (np.asarray(x, float) for x in (slots, affordable, beds, care))
    up_c, up_e, conv = (np.asarray(x, float) for x in (add_slots, add_beds, convertible))
    t_aff, t_care = np.asarray(affordable_share, float), np.asarray(care_bed_share, float)
    if new_beds_care:
        care_ok = BC + conv + (1 - t_care) * up_e >= share_floor(t_care, B) - tol
    else:
        beds_needed = np.maximum(np.asarray(target_beds, float) - B, 0)
        care_ok = BC + conv >= share_floor(t_care, B + np.minimum(beds_needed, up_e)) - tol
    return {
        "slots": S + up_c >= np.asarray(target_slots, float) - tol,
        "affordable": SA + (1 - t_aff) * up_c >= share_floor(t_aff, S) - tol,
        "beds": B + up_e >= np.asarray(target_beds, float) - tol,
        "care": care_ok,
    }


# ------------------------------------------------------------------ over the years (phased plans)

def scheduled(year, given_years, given_values):
    """A target schedule's value in ``year``: linear between the given years, flat outside them."""
    return np.interp(year, np.asarray(given_years, float), np.asarray(given_values, float))


def grown(rate, years_since):
    """Compound growth factor ``(1 + rate) ** years_since`` (rate −0.05: 5 % fewer a year)."""
    return (1.0 + np.asarray(rate, float)) ** np.asarray(years_since, float)


def discounted(rate, years_since):
    """Present-value weight of a yuan spent ``years_since`` years after the first: ``1 / (1 + rate) ** years_since``."""
    return 1.0 / (1.0 + float(rate)) ** np.asarray(years_since, float)
