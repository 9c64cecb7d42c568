"""A phased Result read year by year: need against capacity and money (``phasing_table``), and the
missed targets per year in words (``explain_years``).

These read only a finished :class:`planner.Result` (its ``by_year`` and
``facility_years`` tables), so they sit below :mod:`planner.result` and
:mod:`planner.charts`, which call them; they import neither.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import i18n
from . import targets as T
from ._errors import PlannerError
from .phasing import budget_by_year
from .schema import SHORTFALL_COLUMNS




def _require_phased(res):
    if res.by_year is None:
        raise PlannerError("this result is a single-period plan; set the plan years (key years) for a phased plan",
                           "years", None, "years")


def phasing_table(res, district_id=None) -> pd.DataFrame:
    """Need against capacity year by year, for the whole region or one district.

    Columns: ``year``, population, ``need_slots`` (the year's target, the larger
    of per 1,000 residents and per child), ``slots_for_children`` (what the
    per-child target alone asks for), ``slots_before``/``slots_after``,
    ``need_beds``, ``beds_before``/``beds_after``, shortfalls, the ratios, and
    money: ``cost_yuan`` (spent in the year), ``spent_to_date_yuan`` and, with
    a budget, ``budget_yuan``/``budget_to_date_yuan``.
    """
    _require_phased(res)
    b = res.by_year
    fy = res.facility_years
    if district_id is not None:
        key = str(district_id)
        if key not in set(b["district_id"]):
            raise PlannerError(f"unknown district {district_id!r}", "districts", None, "district_id")
        b, fy = b[b["district_id"] == key], fy[fy["district_id"] == key]
    b = b.assign(slots_for_children=b["target_childcare_per_child"] * b["pop_0_2"])
    sums = ["pop_total", "pop_0_2", "pop_60_plus", "target_slots", "slots_for_children", "slots_before", "slots_after",
            "target_beds", "beds_before", "beds_after", "care_beds_after", "shortfall_slots", "shortfall_beds",
            "shortfall_care_beds", "shortfall_affordable"]
    out = b.groupby("year", sort=True)[sums].sum().rename(columns={"target_slots": "need_slots",
                                                                   "target_beds": "need_beds"})
    out["slots_per_1000_after"] = T.per_1000(out["slots_after"], out["pop_total"])
    out["slots_per_child_after"] = T.share(out["slots_after"], out["pop_0_2"])
    out["beds_per_1000_elderly_after"] = T.per_1000(out["beds_after"], out["pop_60_plus"])
    out["care_share_after"] = T.share(out["care_beds_after"], out["beds_after"])
    out["districts_met"] = b.groupby("year", sort=True)["met"].sum()
    out["cost_yuan"] = fy.groupby("year", sort=True)["cost"].sum().reindex(out.index, fill_value=0.0)
    out["spent_to_date_yuan"] = out["cost_yuan"].cumsum()
    budget = budget_by_year(res.scenario.budget, list(out.index))
    if budget is not None and district_id is None:
        out["budget_yuan"] = budget
        out["budget_to_date_yuan"] = np.cumsum(budget)
    return out.reset_index()


def explain_years(res, lang=None) -> list[str]:
    """One line per year and missed target: ``"2029: childcare slots short by 120 in 娄烦县 (budget)"``.

    ``lang``: ``"zh"`` or ``"en"`` (default: the planner's default language).
    """
    _require_phased(res)
    lang = i18n.check_lang(lang or i18n.DEFAULT_LANG)
    lines = []
    for year, rows in res.by_year.groupby("year", sort=True):
        n = len(lines)
        sep = "、" if lang == "zh" else ", "
        for _, r in rows.iterrows():
            reasons = {}  # target → its reasons (reach shortfalls may have several)
            for code in filter(None, str(r["shortfall_reason"]).split(";")):
                target, _, reason = code.partition(":")
                reasons.setdefault(target, []).append(i18n.reason_short(reason, lang))
            for target, why in reasons.items():
                amount = r.get(SHORTFALL_COLUMNS.get(target, ""), np.nan)
                lines.append(i18n.t("explain_line", lang).format(
                    year=year, district=r["name"], target=i18n.target_word(target, lang),
                    amount=i18n.fmt_number(amount, 0), reason=sep.join(why)))
        if len(lines) == n:
            lines.append(i18n.t("explain_none", lang).format(year=year))
    return lines
