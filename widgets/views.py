"""What the app shows of a Result: headline figures, tables, errors (the map is :mod:`.livemap`).

Each function turns a :class:`planner.Result` (or an exception) into an HTML
fragment for an ``ipywidgets.HTML``; every string that comes from the data
(names, ids, messages) is escaped here. Labels come from :mod:`planner.i18n`.
"""

from __future__ import annotations

import html
import traceback

import numpy as np
import pandas as pd

import planner
from planner import i18n
from planner import targets as plan_targets
from planner.result import TOL

__all__ = ["districts_meeting", "headline_html", "summary_html", "districts_html", "facilities_html",
           "error_html", "sort_districts", "DISTRICT_SORTS", "DISTRICT_COLUMNS", "SHORTFALL_COLUMNS",
           "BUILD_STATES", "level_html", "LEVEL_COLUMNS", "rows_meeting", "phasing_html"]

#: Shortfall columns of Result.districts, shown first in the district table.
SHORTFALL_COLUMNS = ("shortfall_slots", "shortfall_affordable", "shortfall_beds", "shortfall_care_beds",
                     "shortfall_access_childcare", "shortfall_access_beds")
#: Marginal-cost columns of Result.districts (yuan per +1 unit of the target; 0 not binding; NaN out of reach).
MARGINAL_COST_COLUMNS = ("marginal_cost_childcare_per_1000", "marginal_cost_beds_per_1000_elderly",
                         "marginal_cost_affordable_share", "marginal_cost_care_bed_share")
#: Sort keys of the district table (column, largest first by default).
DISTRICT_SORTS = ("shortfall_total",) + SHORTFALL_COLUMNS + (
    "cost",) + MARGINAL_COST_COLUMNS + ("slots_per_1000_after", "beds_per_1000_elderly_after", "care_share_after",
    "access_share_childcare", "access_share_beds", "name")
#: Facility states that are part of the plan.
BUILD_STATES = ("expanded", "converted", "opened")

_RATE = {"slots_per_1000_before", "slots_per_1000_after", "beds_per_1000_elderly_before",
         "beds_per_1000_elderly_after"}
_SHARE = {"affordable_share_before", "affordable_share_after", "care_share_before", "care_share_after",
          "access_share_childcare", "access_share_beds", "open_fraction", "attainment_childcare", "attainment_beds"}
_RATE |= {"target_childcare_per_1000", "target_beds_per_1000_elderly", "care_beds_per_care_need_after"}

_CSS = """<style>
.cp-table {border-collapse:collapse;font-size:12.5px;width:100%}
.cp-table th {position:sticky;top:0;background:#f3f5f7;border-bottom:2px solid #ccd;padding:4px 6px;
  text-align:right;font-weight:600;vertical-align:bottom;min-width:5.5em;max-width:9em;white-space:normal}
.cp-table th.cp-text, .cp-table td.cp-text {text-align:left}
.cp-table td {border-bottom:1px solid #eee;padding:3px 6px;text-align:right;white-space:nowrap}
.cp-table td.cp-wrap {white-space:normal;min-width:220px;max-width:360px;text-align:left;font-size:11.5px;line-height:1.35}
.cp-table tr:hover td {background:#fafbe6}
.cp-short {color:#b2182b;font-weight:600}
.cp-zero {color:#aaa}
.cp-scroll {max-height:640px;overflow:auto;border:1px solid #e3e3e3}
.cp-cards {display:flex;flex-wrap:wrap;gap:8px;margin:2px 0 6px 0}
.cp-card {border:1px solid #dde;border-radius:6px;padding:6px 10px;background:#fbfcfe;min-width:120px}
.cp-card .cp-k {font-size:11.5px;color:#555}
.cp-card .cp-v {font-size:18px;font-weight:600;color:#123}
.cp-chips {display:flex;flex-wrap:wrap;gap:6px;font-size:12.5px;align-items:center}
.cp-chip {border-radius:10px;padding:1px 8px;background:#eef3f8}
.cp-ok {color:#1a7f37} .cp-bad {color:#b2182b}
.cp-note {font-size:12px;color:#555;margin:4px 0}
</style>"""


def _esc(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _t(key: str, lang: str) -> str:
    return i18n.t(key, lang)


# ------------------------------------------------------------------ headline

def districts_meeting(result) -> dict[str, tuple[int | None, int]]:
    """How many districts meet each target, before and after the plan.

    Returns
    -------
    dict
        ``{"slots" | "affordable" | "beds" | "care" | "targets" | "reach" | "all": (before, after)}``;
        ``before`` is ``None`` where the result does not say (reach before the plan).
        "Before" applies the model's own rows to the existing capacity: slots ≥
        target × residents / 1000, affordable ≥ share × slots, beds ≥ target ×
        aged 60+ / 1000, care-oriented ≥ share × beds.
    """
    d = result.districts
    col = lambda c: d[c].to_numpy(float)  # noqa: E731
    before = _met_before(d)
    after = {
        "slots": col("shortfall_slots") <= TOL,
        "affordable": col("shortfall_affordable") <= TOL,
        "beds": col("shortfall_beds") <= TOL,
        "care": col("shortfall_care_beds") <= TOL,
    }
    out = {k: (int(before[k].sum()), int(after[k].sum())) for k in before}
    out["targets"] = (int(np.logical_and.reduce(list(before.values())).sum()), int(d["met_targets"].sum()))
    out["reach"] = (None, int(d["met_access"].sum()))
    out["all"] = (None, int(d["met"].sum()))
    return out


def _met_before(frame) -> dict:
    """The model's rows applied to the capacity before the plan (``planner.targets.met``), per table row."""
    col = lambda c: frame[c].to_numpy(float) if c in frame else np.full(len(frame), np.nan)  # noqa: E731
    return plan_targets.met(col("slots_before"), col("affordable_slots_before"), col("beds_before"),
                            col("care_beds_before"), target_slots=col("target_slots"),
                            affordable_share=col("target_affordable_share"), target_beds=col("target_beds"),
                            care_bed_share=col("target_care_bed_share"), tol=TOL)


def rows_meeting(result, level: str) -> dict[str, tuple[int | None, int]]:
    """:func:`districts_meeting` for the rows of a level above the districts (``Result.rollup``).

    A row that carries its own target meets it when its aggregate does; a row
    that carries none meets it when every district below it does. Reach:
    every area below it.
    """
    from planner.levels import Tree, resolve_level

    r = result.rollup(level)
    tree = Tree.from_scenario(result.scenario)
    lv = resolve_level(tree, level)
    below = (np.ones((1, tree.n_leaves)) if lv == "all" else tree.members[tree.rows_at(lv)].toarray()).astype(float)
    leaf_before = _met_before(result.districts)
    col = lambda c: r[c].to_numpy(float) if c in r else np.full(len(r), np.nan)  # noqa: E731
    own_before = _met_before(r.fillna({"target_affordable_share": 0.0, "target_care_bed_share": 0.0}))
    carried = {"slots": "target_childcare_per_1000", "affordable": "target_affordable_share",
               "beds": "target_beds_per_1000_elderly", "care": "target_care_bed_share"}
    before = {k: np.where(~np.isnan(col(c)), own_before[k], below @ (~leaf_before[k]).astype(float) == 0)
              for k, c in carried.items()}
    after = {k: col(c) <= TOL for k, c in (("slots", "shortfall_slots"), ("affordable", "shortfall_affordable"),
                                            ("beds", "shortfall_beds"), ("care", "shortfall_care_beds"))}
    out = {k: (int(before[k].sum()), int(after[k].sum())) for k in before}
    reach = (col("shortfall_access_childcare") <= TOL) & (col("shortfall_access_beds") <= TOL)
    out["targets"] = (int(np.logical_and.reduce(list(before.values())).sum()),
                      int(np.logical_and.reduce(list(after.values())).sum()))
    out["reach"] = (None, int(reach.sum()))
    out["all"] = (None, int(r["met"].sum()))
    return out


_MEETING_ROWS = (("slots", "slots"), ("affordable", "affordable"), ("beds", "beds"), ("care", "care"))


def _totals(result) -> dict:
    d = result.districts
    s = lambda c: float(d[c].sum())  # noqa: E731
    per, frac = plan_targets.per_1000, plan_targets.share
    a = result.areas
    return {
        "slots_per_1000": (per(s("slots_before"), s("pop_total")), per(s("slots_after"), s("pop_total"))),
        "affordable_share": (frac(s("affordable_slots_before"), s("slots_before")),
                             frac(s("affordable_slots_after"), s("slots_after"))),
        "beds_per_1000_elderly": (per(s("beds_before"), s("pop_60_plus")), per(s("beds_after"), s("pop_60_plus"))),
        "care_bed_share": (frac(s("care_beds_before"), s("beds_before")), frac(s("care_beds_after"), s("beds_after"))),
        **{f"access_share_{kind}": tuple(frac(float(a[f"served_in_reach_{kind}{when}"].sum()),
                                              float(a[f"need_{kind}"].sum())) for when in ("_before", ""))
           for kind in ("childcare", "beds")},
        "slots": (s("slots_before"), s("slots_after")),
        "beds": (s("beds_before"), s("beds_after")),
    }


def _arrow(before, after, fmt) -> str:
    b = "–" if before is None or (isinstance(before, float) and np.isnan(before)) else fmt(before)
    return f"{_esc(b)} → <b>{_esc(fmt(after))}</b>"


def headline_html(result, lang: str = "zh", level: str | None = None) -> str:
    """The headline strip: cost, status, attainment before → after, what the plan adds.

    ``level`` (``"prefecture"`` …): the districts-met card counts the rows of
    that level (``Result.rollup``) instead of the districts.
    """
    if result is None:
        return f"<div class='cp-note'>{_esc(_t('w_no_result', lang))}</div>"
    f = result.facilities
    n = len(result.districts)
    # with targets set above the districts, count the rows that carry them (the districts only carry floors)
    sc_level = getattr(result.scenario, "target_level", "leaf")
    chip_level = level if level not in (None, "leaf") else (None if sc_level == "leaf" else sc_level)
    meet_districts = districts_meeting(result)
    meet = meet_districts if chip_level is None else rows_meeting(result, chip_level)
    # the equity objective's yardstick on the headline (always in the before → after tab)
    fair = []
    if getattr(result.scenario, "objective", "least_cost") == "equity":
        f_ = fairness(result)
        fair = [("cp-headline-fair", _t("w_fairness", lang), _esc(f_["worst"][1]))]
    level_card = []
    if level not in (None, "leaf"):
        r = result.rollup(level)
        level_card = [("cp-headline-level", _t("w_level_rows_met", lang).format(level=i18n.level_label(level, lang)),
                       f"{int(r['met'].sum())} / {len(r)}")]
    tot = _totals(result)
    status_ok = result.status == "optimal"
    status = _t(f"status_{result.status}", lang)
    cost_note = result.cost_note(lang) if hasattr(result, "cost_note") else ""
    cards = [
        ("cp-headline-cost", _t("total_cost", lang), _esc(i18n.fmt_yuan(result.cost, lang))
         + f"<div class='cp-cost-note' title='{_esc(cost_note)}' style='font-size:10px;line-height:12px;"
         f"font-weight:normal;max-width:190px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis'>"
         f"{_esc(cost_note)}</div>"),
        ("cp-headline-status", _t("notes_status", lang),
         f"<span class='{'cp-ok' if status_ok else 'cp-bad'}' style='font-size:15px'>{_esc(status)}</span>"),
        *level_card,
        ("cp-headline-met", _t("districts_met", lang), f"{meet_districts['all'][1]} / {n}"),
        *fair,
        ("cp-headline-slots", _t("measure_slots", lang), _arrow(*tot["slots_per_1000"], i18n.fmt_rate)),
        ("cp-headline-beds", _t("measure_beds", lang), _arrow(*tot["beds_per_1000_elderly"], i18n.fmt_rate)),
        ("cp-headline-care", _t("measure_care", lang), _arrow(*tot["care_bed_share"], i18n.fmt_share)),
        ("cp-headline-reach", _t("w_reach_served", lang),
         f"{_arrow(*tot['access_share_childcare'], i18n.fmt_share)} / {_arrow(*tot['access_share_beds'], i18n.fmt_share)}"),
        ("cp-headline-added", f"{_t('w_added_slots', lang)} / {_t('w_added_beds', lang)}",
         f"{_esc(i18n.fmt_number(f['added_slots'].sum()))} / {_esc(i18n.fmt_number(f['added_beds'].sum()))}"),
        ("cp-headline-converted", f"{_t('w_converted', lang)} / {_t('w_opened', lang)}",
         f"{_esc(i18n.fmt_number(f['converted_care_beds'].sum()))} / {_esc(i18n.fmt_number(int(f['opened'].sum())))}"),
    ]
    html_cards = "".join(f"<div class='cp-card {cls}'><div class='cp-k'>{_esc(k)}</div>"
                         f"<div class='cp-v'>{v}</div></div>" for cls, k, v in cards)
    chips = []
    n_rows = n if chip_level is None else len(result.rollup(chip_level))
    for key, word in _MEETING_ROWS + (("reach", None), ("all", None)):
        label = (i18n._pick(i18n.TARGET_WORDS[word], lang) if word else
                 _t("w_target_reach" if key == "reach" else "w_all_targets", lang))
        b, a = meet[key]
        cls = "cp-ok" if a == n_rows else "cp-bad"
        chips.append(f"<span class='cp-chip cp-meet-{key}'>{_esc(label)} "
                     f"{'–' if b is None else b} → <b class='{cls}'>{a}</b></span>")
    return (f"{_CSS}<div class='cp-headline'><div class='cp-cards'>{html_cards}</div>"
            f"<div class='cp-chips'><span class='cp-k'>"
            f"{_esc(_t('w_districts_meeting', lang).format(n=n) if chip_level is None else _t('w_level_meeting', lang).format(n=n_rows, level=i18n.level_label(chip_level, lang)))}</span>"
            f"{''.join(chips)}</div></div>")


def fairness(result) -> dict:
    """Worst district's attainment (slots / beds) and the Gini of the per-1,000 rates, before and after, as text."""
    s = result.summary()
    pct = lambda x: "–" if x is None else i18n.fmt_share(x)  # noqa: E731
    gini = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
    d = result.districts
    worst_before = [plan_targets.worst(plan_targets.attainment(d[c], d[t]))
                    for c, t in (("slots_before", "target_slots"), ("beds_before", "target_beds"))]
    return {
        "worst": (" / ".join(pct(x) for x in worst_before),
                  f"{pct(s['min_attainment_childcare'])} / {pct(s['min_attainment_beds'])}"),
        "gini": (f"{gini(s['gini_slots_per_1000_before'])} / {gini(s['gini_beds_per_1000_elderly_before'])}",
                 f"{gini(s['gini_slots_per_1000_after'])} / {gini(s['gini_beds_per_1000_elderly_after'])}"),
    }


def summary_html(result, lang: str = "zh", timings: dict | None = None) -> str:
    """Before → after for the whole region, with the targets; then solver facts."""
    if result is None:
        return f"<div class='cp-note'>{_esc(_t('w_no_result', lang))}</div>"
    tg = result.scenario.targets
    tot = _totals(result)
    rows = [
        ("measure_slots", "slots_per_1000", i18n.fmt_rate, tg.childcare_per_1000),
        ("affordable_share", "affordable_share", i18n.fmt_share, tg.affordable_share),
        ("measure_beds", "beds_per_1000_elderly", i18n.fmt_rate, tg.beds_per_1000_elderly),
        ("measure_care", "care_bed_share", i18n.fmt_share, tg.care_bed_share),
        ("access_share_childcare", "access_share_childcare", i18n.fmt_share, tg.access_share),
        ("access_share_beds", "access_share_beds", i18n.fmt_share, tg.access_share),
        ("slots", "slots", i18n.fmt_number, None),
        ("beds", "beds", i18n.fmt_number, None),
    ]
    body = []
    for label, key, fmt, target in rows:
        b, a = tot[key]
        body.append(f"<tr><td class='cp-text'>{_esc(_t(label, lang))}</td>"
                    f"<td>{_esc(fmt(b) if not (isinstance(b, float) and np.isnan(b)) else '–')}</td>"
                    f"<td><b>{_esc(fmt(a))}</b></td><td>{_esc('' if target is None else fmt(target))}</td></tr>")
    for key, (b, a) in fairness(result).items():
        body.append(f"<tr class='cp-fair-{key}'><td class='cp-text'>{_esc(_t('w_fairness' if key == 'worst' else 'w_gini_ba', lang))}</td>"
                    f"<td>{_esc(b)}</td><td><b>{_esc(a)}</b></td><td></td></tr>")
    meet = districts_meeting(result)
    n = len(result.districts)
    met_rows = []
    for key, word in _MEETING_ROWS + (("targets", None), ("reach", None), ("all", None)):
        label = (i18n._pick(i18n.TARGET_WORDS[word], lang) if word else
                 i18n.column_label("met_targets", lang) if key == "targets" else
                 _t("w_target_reach" if key == "reach" else "w_all_targets", lang))
        b, a = meet[key]
        met_rows.append(f"<tr><td class='cp-text'>{_esc(label)}</td><td>{'–' if b is None else b}</td>"
                        f"<td><b>{a}</b></td><td>{n}</td></tr>")
    info = result.info
    facts = [
        (_t("total_cost", lang), i18n.fmt_yuan(result.cost, lang)),
        (_t("w_budget", lang), "–" if result.scenario.budget is None else i18n.fmt_yuan(result.scenario.budget, lang)),
        (_t("notes_status", lang), _t(f"status_{result.status}", lang)),
        (_t("w_solver", lang), f"{info.solver} ({info.status}), {info.n_variables:,} × {info.n_constraints:,}"),
    ]
    if timings:
        sep = "，" if lang == "zh" else ", "
        facts.append((_t("w_timings", lang), sep.join(f"{_t('w_t_' + k, lang)} {v:.2f} {_t('w_seconds', lang)}"
                                                      for k, v in timings.items())))
    head = (f"<tr><th class='cp-text'>{_esc(_t('w_measure', lang))}</th><th>{_esc(_t('w_value_before', lang))}</th>"
            f"<th>{_esc(_t('w_value_after', lang))}</th><th>{_esc(_t('w_value_target', lang))}</th></tr>")
    fact_rows = "".join(f"<tr><td class='cp-text'>{_esc(k)}</td><td class='cp-text'>{_esc(v)}</td></tr>"
                        for k, v in facts)
    met_head = (f"<tr><th class='cp-text' style='max-width:none'>{_esc(_t('w_meeting_target', lang))}</th>"
                f"<th>{_esc(_t('w_value_before', lang))}</th><th>{_esc(_t('w_value_after', lang))}</th>"
                f"<th>{_esc(_t('w_total_districts', lang))}</th></tr>")
    return (f"{_CSS}<div class='cp-summary'><div class='cp-note'><b>{_esc(result.scenario.name)}</b></div>"
            f"<div style='display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start'>"
            f"<table class='cp-table' style='width:auto'>{head}{''.join(body)}</table>"
            f"<table class='cp-table' style='width:auto'>{met_head}{''.join(met_rows)}</table></div><br>"
            f"<table class='cp-table' style='width:auto'>{fact_rows}</table></div>")


# ------------------------------------------------------------------ tables

def _cell(column: str, value, lang: str) -> str:
    if column in SHORTFALL_COLUMNS:
        v = float(value)
        cls = "cp-short" if v > TOL else "cp-zero"
        return f"<td class='{cls}'>{_esc(i18n.fmt_number(v if v > TOL else 0.0))}</td>"
    if column == "cost":
        return f"<td>{_esc(i18n.fmt_yuan(value, lang))}</td>"
    if column in MARGINAL_COST_COLUMNS:
        if value is None or np.isnan(float(value)):
            return f"<td class='cp-zero' title='{_esc(_t('w_mc_out_of_reach', lang))}'>–</td>"
        zero = abs(float(value)) < TOL
        return f"<td{' class=cp-zero' if zero else ''}>{_esc(i18n.fmt_yuan_per_unit(0.0 if zero else value, lang))}</td>"
    if column in _RATE:
        return f"<td>{_esc(i18n.fmt_rate(value))}</td>"
    if column in _SHARE:
        return f"<td>{_esc(i18n.fmt_share(value))}</td>"
    if isinstance(value, (bool, np.bool_)):
        return f"<td class='{'cp-ok' if value else 'cp-bad'}'>{'✓' if value else '✗'}</td>"
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        zero = abs(float(value)) < TOL
        return f"<td{' class=cp-zero' if zero else ''}>{_esc(i18n.fmt_number(0.0 if zero else value))}</td>"
    return f"<td class='cp-text'>{_esc(value)}</td>"


def _table(frame: pd.DataFrame, columns, lang: str, wrap=(), labels=None) -> str:
    labels = labels or {}
    head = "".join(f"<th class='{'cp-text' if c in wrap or frame[c].dtype == object else ''}'>"
                   f"{_esc(labels.get(c) or i18n.column_label(c, lang))}</th>" for c in columns)
    rows = []
    for rec in frame[list(columns)].itertuples(index=False, name=None):
        cells = []
        for c, v in zip(columns, rec):
            cells.append(f"<td class='cp-wrap'>{_esc(v)}</td>" if c in wrap else _cell(c, v, lang))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table class='cp-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _district_frame(result, lang: str) -> pd.DataFrame:
    d = pd.DataFrame(result.districts).copy()
    d["shortfall_total"] = d[list(SHORTFALL_COLUMNS)].sum(axis=1)
    d["shortfall_reason_text"] = [reason_text(c, lang) for c in d["shortfall_reason"]]
    return d


def reason_text(codes: str, lang: str = "zh") -> str:
    """Shortfall reason codes as one short text, each reason said once with the targets it stops.

    ``'access_childcare:no_site_in_reach;access_beds:no_site_in_reach'`` →
    ``'出行时间内没有机构或候选点：托育服务可达、养老服务可达'``.
    """
    groups: dict[str, list[str]] = {}
    for code in filter(None, str(codes or "").split(";")):
        target, _, reason = code.partition(":")
        groups.setdefault(reason, []).append(target)
    sep, joiner, between = ("：", "、", "；") if lang == "zh" else (": ", ", ", "; ")
    parts = []
    for reason, targets in groups.items():
        if reason not in i18n.REASONS or not all(t in i18n.TARGET_WORDS for t in targets):
            parts.extend(f"{t}:{reason}" for t in targets)  # unknown codes are shown as given, never dropped
            continue
        words = joiner.join(i18n._pick(i18n.TARGET_WORDS[t], lang) for t in targets)
        parts.append(f"{i18n._pick(i18n.REASONS[reason], lang)}{sep}{words}")
    return between.join(parts)


def sort_districts(result, by: str = "shortfall_total", descending: bool = True,
                   only_missed: bool = False, lang: str = "zh") -> pd.DataFrame:
    """Result.districts in table order (plus ``shortfall_total`` and reason text)."""
    if by not in DISTRICT_SORTS:
        raise ValueError(f"sort key must be one of {', '.join(DISTRICT_SORTS)}, got {by!r}")
    d = _district_frame(result, lang)
    if only_missed:
        d = d[~d["met"]]
    return d.sort_values(by, ascending=not descending, kind="stable", na_position="last")


DISTRICT_COLUMNS = ("name", "met", "shortfall_reason_text") + SHORTFALL_COLUMNS + (
    "slots_per_1000_before", "slots_per_1000_after", "affordable_share_after",
    "beds_per_1000_elderly_before", "beds_per_1000_elderly_after", "care_share_after",
    "access_share_childcare", "access_share_beds", "attainment_childcare", "attainment_beds",
    "care_need", "care_beds_per_care_need_after", "shortfall_care_need_beds", "cost") + MARGINAL_COST_COLUMNS + (
    "district_id",)


def districts_html(result, lang: str = "zh", by: str = "shortfall_total", descending: bool = True,
                   only_missed: bool = False) -> str:
    """The district table, shortfall columns first, sorted by ``by``."""
    if result is None:
        return f"<div class='cp-note'>{_esc(_t('w_no_result', lang))}</div>"
    d = sort_districts(result, by, descending, only_missed, lang)
    columns = [c for c in DISTRICT_COLUMNS if c in d.columns]  # phased year views may lack marginal costs
    labels = {c: _t("w_mc_" + c.removeprefix("marginal_cost_"), lang) for c in MARGINAL_COST_COLUMNS}
    table = _table(d, columns, lang, wrap=("shortfall_reason_text",), labels=labels)
    note = (f"<div class='cp-note cp-mc-note'>{_esc(_t('w_mc_note', lang))}</div>"
            if any(c in d.columns for c in MARGINAL_COST_COLUMNS) else "")
    return f"{_CSS}<div class='cp-scroll cp-districts'>{table}</div>{note}"


#: Columns of the table at a level above the districts (``Result.rollup``).
LEVEL_COLUMNS = ("name", "met", "districts_met", "districts", "pop_total", "slots_per_1000_before",
                 "slots_per_1000_after", "target_childcare_per_1000", "shortfall_slots", "affordable_share_after",
                 "beds_per_1000_elderly_before", "beds_per_1000_elderly_after", "target_beds_per_1000_elderly",
                 "shortfall_beds", "care_share_after", "care_need", "care_beds_per_care_need_after",
                 "attainment_childcare", "attainment_beds", "cost") + MARGINAL_COST_COLUMNS + ("district_id",)


def level_html(result, level: str, lang: str = "zh") -> str:
    """The plan at one administrative level: a row per prefecture (province …), figures summed over its districts."""
    if result is None:
        return f"<div class='cp-note'>{_esc(_t('w_no_result', lang))}</div>"
    r = pd.DataFrame(result.rollup(level).drop(columns="geometry", errors="ignore"))
    for c in LEVEL_COLUMNS:
        if c not in r:
            r[c] = np.nan
    labels = {c: _t("w_mc_" + c.removeprefix("marginal_cost_"), lang) for c in MARGINAL_COST_COLUMNS}
    table = _table(r, LEVEL_COLUMNS, lang, labels=labels)
    return (f"{_CSS}<div class='cp-scroll cp-districts cp-level-table'>{table}</div>"
            f"<div class='cp-note cp-mc-note'>{_esc(_t('w_mc_note', lang))}</div>")


def facilities_html(result, lang: str = "zh", state: str | None = None, limit: int = 300) -> str:
    """What to build: facilities expanded, converted or opened, costliest first (at most ``limit`` rows)."""
    if result is None:
        return f"<div class='cp-note'>{_esc(_t('w_no_result', lang))}</div>"
    f = result.facilities
    states = BUILD_STATES if not state else (state,)
    plan = pd.DataFrame(f.loc[f["state"].isin(states)].drop(columns=f.geometry.name, errors="ignore"))
    if plan.empty:
        return f"{_CSS}<div class='cp-note cp-facilities'>{_esc(_t('w_nothing_to_build', lang))}</div>"
    names = dict(zip(result.districts["district_id"], result.districts["name"]))
    plan["district"] = plan["district_id"].map(names).fillna(plan["district_id"])
    plan["kind_text"] = [i18n.kind_label(k, lang) for k in plan["kind"]]
    plan["state_text"] = [i18n.state_label(s, lang) for s in plan["state"]]
    plan = plan.sort_values("cost", ascending=False, kind="stable")
    total = len(plan)
    plan = plan.head(limit)
    cols = ["name", "kind_text", "district", "state_text", "added_slots", "added_affordable", "added_beds",
            "converted_care_beds"]
    frac = plan["open_fraction"].to_numpy(float)
    if ((frac > 1e-6) & (frac < 1 - 1e-6)).any():
        cols.append("open_fraction")
    cols += ["cost", "facility_id"]
    table = _table(plan, cols, lang, labels={"district": _t("w_district_of", lang),
                                             "kind_text": i18n.column_label("kind", lang)})
    note = ""
    if total > len(plan):
        note = f"<div class='cp-note'>{_esc(_t('w_rows_shown', lang).format(shown=len(plan), total=total))}</div>"
    return f"{_CSS}{note}<div class='cp-scroll cp-facilities'>{table}</div>"


# ------------------------------------------------------------------ errors

def error_html(exc: BaseException, lang: str = "zh") -> str:
    """A readable message: a PlannerError's file/row/column, or an unexpected error with its traceback."""
    if isinstance(exc, planner.PlannerError):
        where = []
        if exc.file is not None:
            where.append(f"{_t('w_error_file', lang)} <code>{_esc(exc.file)}</code>")
        if exc.row is not None:
            where.append(_esc(_t("w_error_row", lang).format(row=exc.row)))
        if exc.column is not None:
            where.append(f"{_t('w_error_column', lang)} <code>{_esc(exc.column)}</code>")
        sep = "，" if lang == "zh" else ", "
        loc = f"<div>{sep.join(where)}</div>" if where else ""
        return (f"<div class='cp-error' style='border:2px solid #b2182b;background:#fff3f3;padding:6px 10px;"
                f"border-radius:4px'><b>⚠ {_esc(_t('w_error_input', lang))}</b>{loc}"
                f"<div style='margin-top:2px'>{_esc(exc.message)}</div></div>")
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return (f"<div class='cp-error' style='border:2px solid #b2182b;background:#fff3f3;padding:6px 10px;"
            f"border-radius:4px'><b>⚠ {_esc(_t('w_error_unexpected', lang))}</b>"
            f"<div style='margin-top:2px'>{_esc(type(exc).__name__)}: {_esc(exc)}</div>"
            f"<details><summary>{_esc(_t('w_details', lang))}</summary><pre style='font-size:11px'>{_esc(tb)}"
            f"</pre></details></div>")


# ------------------------------------------------------------------ phased plans

#: Columns of the phasing table shown in the app (need against capacity, money), in order.
PHASING_COLUMNS = ("year", "need_slots", "slots_after", "shortfall_slots", "slots_per_child_after", "need_beds",
                   "beds_after", "shortfall_beds", "care_share_after", "cost_yuan", "spent_to_date_yuan",
                   "budget_to_date_yuan")


def phasing_html(result, lang: str = "zh") -> str:
    """A phased plan's phasing: the chart (need against capacity by year, money), the table by
    year and one line per year and missed target. Empty for a single-period plan."""
    import base64
    import io

    if result is None:
        return ""
    if getattr(result, "by_year", None) is None:
        return f"<div class='cp-note' style='color:#555'>{_esc(i18n.t('w_phasing_none', lang))}</div>"
    fig = result.phasing_figure(lang=lang)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    table = result.phasing()
    cols = [c for c in PHASING_COLUMNS if c in table.columns]
    rows = "".join("<tr>" + "".join(f"<td style='text-align:right;padding:1px 6px'>{_esc(_phasing_cell(c, r[c], lang))}"
                                    "</td>" for c in cols) + "</tr>" for _, r in table.iterrows())
    head = "".join(f"<th style='padding:1px 6px'>{_esc(i18n.column_label(c, lang))}</th>" for c in cols)
    lines = "".join(f"<li>{_esc(line)}</li>" for line in result.explain_years(lang))
    return (f"<div class='cp-phasing'><img alt='phasing' style='max-width:100%' src='data:image/png;base64,{png}'>"
            f"<table class='cp-phasing-table' style='border-collapse:collapse;font-size:12px'><tr>{head}</tr>{rows}"
            f"</table><ul class='cp-phasing-reasons' style='font-size:12px'>{lines}</ul></div>")


def _phasing_cell(column: str, value, lang: str) -> str:
    if column == "year":
        return str(int(value))
    if column.endswith("_yuan"):
        return i18n.fmt_yuan(value, lang)
    if column in ("care_share_after",):
        return "–" if pd.isna(value) else f"{100 * float(value):.1f}%"
    if column == "slots_per_child_after":
        return "–" if pd.isna(value) else f"{float(value):.2f}"
    return i18n.fmt_number(value, 0)
