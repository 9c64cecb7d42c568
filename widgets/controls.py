"""The app's controls: target sliders, budget, region, options, language.

Labels come from :mod:`planner.i18n`, starting values from the scenario's
:class:`planner.Targets`. The controls hold no planning logic: :meth:`Controls.scenario`
turns their values into a copy of the base scenario (region subset, targets,
budget, options, reach rules), which the app hands to :func:`planner.solve`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
import html
import math

import ipywidgets as w
import pandas as pd

import planner
from planner import i18n
from planner.access import reach_rules
from planner.phasing import at_year, budget_by_year

__all__ = ["Controls", "SliderSpec", "SLIDERS", "LEVELS"]


@dataclass(frozen=True)
class SliderSpec:
    """One target slider: the ``Targets`` field it edits and its range."""

    name: str
    min: float
    max: float
    step: float
    readout: str   # d3-format of the readout
    share: bool = False


#: One slider per field of :class:`planner.Targets`, in reading order.
SLIDERS = (
    SliderSpec("childcare_per_1000", 0.0, 10.0, 0.1, ".1f"),
    SliderSpec("affordable_share", 0.0, 1.0, 0.01, ".0%", share=True),
    SliderSpec("beds_per_1000_elderly", 0.0, 80.0, 1.0, ".0f"),
    SliderSpec("care_bed_share", 0.0, 1.0, 0.01, ".0%", share=True),
    SliderSpec("access_minutes", 1.0, 60.0, 1.0, ".0f"),
    SliderSpec("access_share", 0.0, 1.0, 0.05, ".0%", share=True),
    SliderSpec("childcare_per_child", 0.0, 1.0, 0.05, ".2f"),
)
assert {s.name for s in SLIDERS} == {f.name for f in fields(planner.Targets)}

#: Region levels: the whole scenario, one prefecture (districts' parent_id), one county (district).
LEVELS = ("all", "prefecture", "county")
LANG_OPTIONS = (("中文", "zh"), ("English", "en"))


def _decimals(step: float) -> int:
    return max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0


class Controls:
    """Every control of the app, built for one base scenario.

    Parameters
    ----------
    scenario : planner.Scenario
        The base scenario (all districts). It is never modified.
    lang : {"zh", "en"}

    Attributes
    ----------
    sliders : dict of str → ipywidgets.FloatSlider
        One per target (``Targets`` field name → slider), ``continuous_update=False``.
    budget_mode : ipywidgets.ToggleButtons
        ``"none"`` or ``"limit"``.
    budget_yuan : ipywidgets.BoundedFloatText
        The budget in yuan (used when ``budget_mode`` is ``"limit"``).
    level, region : ipywidgets.Dropdown
        Region level (``"all"``, ``"prefecture"``, ``"county"``) and the region.
    integer, reach_rules, auto : ipywidgets.Checkbox
        Integer (MILP) mode; use reach rules (life circles); solve after each change.
    lang : ipywidgets.ToggleButtons
        ``"zh"`` or ``"en"``.
    solve_button, reset_button : ipywidgets.Button
    """

    def __init__(self, scenario, lang: str = "zh"):
        self._muted = 0
        self._listeners = []
        self._lang = i18n.check_lang(lang)
        self.sliders: dict[str, w.FloatSlider] = {}
        self._slider_labels: dict[str, w.HTML] = {}
        # phased plans: each target's value in the last plan year, the budget of each year, the year shown
        self.end_sliders: dict[str, w.FloatSlider] = {}
        self._end_labels: dict[str, w.HTML] = {}
        for spec in SLIDERS:
            for sliders, labels, css in ((self.sliders, self._slider_labels, "cp-slider"),
                                         (self.end_sliders, self._end_labels, "cp-end-slider")):
                s = w.FloatSlider(min=spec.min, max=spec.max, step=spec.step, readout_format=spec.readout,
                                  continuous_update=False, layout=w.Layout(width="98%"))
                s.add_class(f"{css}-{spec.name}")
                s.observe(self._changed("plan"), "value")
                sliders[spec.name] = s
                labels[spec.name] = w.HTML()
        self.reach_rules = w.Checkbox(indent=False, layout=w.Layout(width="auto"))
        self.reach_rules.observe(self._on_reach_toggle, "value")
        self._reach_note = w.HTML()
        self._overrides_note = w.HTML()

        self._budget_label = w.HTML()
        # distinct placeholder labels (relabel sets the words): two equal labels would make "limit" unsettable
        self.budget_mode = w.ToggleButtons(options=[("none", "none"), ("limit", "limit")], value="none",
                                           style={"button_width": "auto"})
        self.budget_mode.observe(self._on_budget_mode, "value")
        self.budget_yuan = w.BoundedFloatText(value=0.0, min=0.0, max=1e14, step=1e6,
                                              layout=w.Layout(width="170px"))
        self.budget_yuan.observe(self._on_budget_value, "value")
        self._budget_readout = w.HTML()

        self._region_label = w.HTML()
        self.level = w.Dropdown(layout=w.Layout(width="98%"))
        self.region = w.Dropdown(layout=w.Layout(width="98%"))
        self.level.add_class("cp-level")
        self.region.add_class("cp-region")
        self.level.observe(self._on_level, "value")
        self.region.observe(self._changed("plan"), "value")

        self._options_label = w.HTML()
        self.integer = w.Checkbox(indent=False, layout=w.Layout(width="auto"))
        self.integer.observe(self._changed("plan"), "value")
        self.auto = w.Checkbox(value=True, indent=False, layout=w.Layout(width="auto"))
        self.solve_button = w.Button(button_style="primary", icon="play", layout=w.Layout(width="120px"))
        self.solve_button.add_class("cp-solve")
        self.reset_button = w.Button(icon="undo", layout=w.Layout(width="auto"))
        self.reset_button.on_click(lambda _: self.reset())

        self.lang = w.ToggleButtons(options=LANG_OPTIONS, value=self._lang, style={"button_width": "auto"})
        self.lang.add_class("cp-lang")
        self.lang.observe(self._on_lang, "value")

        self._targets_label = w.HTML()
        self._suggested = (None, None)  # (region, yuan) of the last budget suggestion
        self.budget_years: dict[int, w.BoundedFloatText] = {}
        self._budget_years_box = w.VBox()
        self._year_label = w.HTML()
        self.year = w.Dropdown(layout=w.Layout(width="98%"))
        self.year.add_class("cp-year")
        self.year.observe(self._on_year, "value")
        self.set_scenario(scenario)

    # ------------------------------------------------------------ layout

    @property
    def box(self) -> w.VBox:
        """All controls stacked, for the app's left sidebar."""
        # the phased rows are always there, hidden for a single-period scenario (set_scenario may switch)
        rows = [self._year_label, self.year, self._targets_label]
        for spec in SLIDERS:
            rows += [self._slider_labels[spec.name], self.sliders[spec.name],
                     self._end_labels[spec.name], self.end_sliders[spec.name]]
            if spec.name == "access_minutes":
                rows += [self.reach_rules, self._reach_note]
        rows += [self._overrides_note,
                 self._budget_label, self.budget_mode, w.HBox([self.budget_yuan, self._budget_readout]),
                 self._budget_years_box,
                 self._region_label, self.level, self.region,
                 self._options_label, self.integer, self.auto,
                 w.HBox([self.solve_button, self.reset_button])]
        return w.VBox(rows, layout=w.Layout(width="100%"))

    # ------------------------------------------------------------ scenario in, scenario out

    @property
    def phased(self) -> bool:
        """True when the base scenario plans over years (start and end sliders, a budget per year)."""
        return bool(getattr(self.base, "years", None))

    def set_scenario(self, scenario) -> None:
        """Take a new base scenario: values from its targets, regions from its districts."""
        self.base = scenario
        years = list(getattr(scenario, "years", None) or [])
        with self.muted():
            self.budget_years = {y: w.BoundedFloatText(value=0.0, min=0.0, max=1e14, step=1e6,
                                                       layout=w.Layout(width="170px")) for y in years}
            for field in self.budget_years.values():
                field.observe(self._on_budget_value, "value")
            self._budget_year_labels = {y: w.HTML() for y in years}
            self._budget_years_box.children = [w.HBox([self._budget_year_labels[y], self.budget_years[y]])
                                               for y in years]
            self.year.options = [(str(y), y) for y in years]
            if years:
                self.year.value = years[-1]
            shown = None if years else "none"
            for wid in (self._year_label, self.year, *self.end_sliders.values(), *self._end_labels.values()):
                wid.layout.display = shown
        d = scenario.districts
        has_parent = "parent_id" in d.columns and (d["parent_id"].astype(str).str.strip() != "").any()
        self._prefectures = _prefectures(d) if has_parent else []
        self._counties = _counties(d, self._prefectures)
        with self.muted():
            self.reset(notify=False)
            self._set_level_options()
            self.level.value = "all"
            self._set_region_options()
        self.relabel(self._lang)

    def reset(self, notify: bool = True) -> None:
        """Put the sliders, budget, options and reach rules back to the base scenario's."""
        sc = self.base
        with self.muted():
            years = list(getattr(sc, "years", None) or [])
            for spec in SLIDERS:
                value = getattr(sc.targets, spec.name)
                # a schedule shows its value in the first plan year (start) and the last (end)
                start, end = ((at_year(value, years[0]), at_year(value, years[-1])) if years
                              else (float(value), float(value)))
                for s, v in ((self.sliders[spec.name], start), (self.end_sliders[spec.name], end)):
                    s.max = max(spec.max, v)
                    s.value = v
            self.budget_mode.value = "none" if sc.budget is None else "limit"
            per_year = budget_by_year(sc.budget, years) if years else None
            self.budget_yuan.value = (0.0 if sc.budget is None else float(per_year[0]) if years
                                      else float(sc.budget))
            for y, field in self.budget_years.items():
                field.value = 0.0 if per_year is None else float(per_year[years.index(y)])
            self.integer.value = bool(sc.options.integer)
            self.reach_rules.value = sc.reach is not None
            self._update_reach()
            self._update_budget()
        if notify:
            self._notify("plan")

    def scenario(self):
        """The scenario to solve: the chosen region of the base, with the controls' values.

        Returns a new :class:`planner.Scenario`; the base is not modified.
        """
        sc = self.base
        level, region = self.level.value, self.region.value
        if level == "prefecture" and region:
            ids = sc.districts.loc[sc.districts["parent_id"].astype(str) == region, "district_id"]
            sub = sc.subset(ids)
            sub.name = f"{sc.name} · {dict((v, k) for k, v in self._prefectures).get(region, region)}"
            sc = sub
        elif level == "county" and region:
            sub = sc.subset([region])
            sub.name = f"{sc.name} · {self._county_name(region)}"
            sc = sub
        else:
            sc = sc.copy()
        years = list(getattr(sc, "years", None) or [])
        for spec in SLIDERS:
            v = round(float(self.sliders[spec.name].value), _decimals(spec.step) + 2)
            end = round(float(self.end_sliders[spec.name].value), _decimals(spec.step) + 2)
            # phased: start and end values, linear in between (one number when they agree)
            setattr(sc.targets, spec.name, {years[0]: v, years[-1]: end} if years and end != v else v)
        limit = self.budget_mode.value == "limit"
        if years:
            sc.budget = {y: float(self.budget_years[y].value) for y in years} if limit else None
        else:
            sc.budget = float(self.budget_yuan.value) if limit else None
        sc.options.integer = bool(self.integer.value)
        sc.reach = self._reach_setting()
        return sc

    def _reach_setting(self):
        if not self.reach_rules.value:
            return None
        return self.base.reach if self.base.reach is not None else "life_circle"

    def region_key(self) -> tuple[str, str]:
        """The region chosen: (level, region id)."""
        return (self.level.value, self.region.value or "")

    def suggest_budget(self, cost_yuan: float, region=None) -> None:
        """Pre-fill the budget field with a round figure near ``cost_yuan`` (the plan's cost without a limit;
        phased plans: each year's field, while all are 0, with an equal share).

        Filled while the field is 0, and refilled when the plan is for another
        ``region`` than the last suggestion, unless the planner typed a figure
        of their own since.
        """
        if not (cost_yuan and cost_yuan > 0):
            return
        if self.phased:  # every year's field still 0: an equal share of the plan's cost
            if all(f.value == 0 for f in self.budget_years.values()):
                share = cost_yuan / len(self.budget_years)
                digits = int(math.floor(math.log10(share))) - 1
                with self.muted():
                    for field in self.budget_years.values():
                        field.value = float(round(share, -digits))
                    self._update_budget()
            return
        untouched = self.budget_yuan.value == 0 or self.budget_yuan.value == self._suggested[1]
        if self.budget_yuan.value != 0 and not (untouched and region != self._suggested[0]):
            return
        digits = int(math.floor(math.log10(cost_yuan))) - 1
        value = float(round(cost_yuan, -digits))
        with self.muted():
            self.budget_yuan.value = value
            self._update_budget()
        self._suggested = (region, value)

    # ------------------------------------------------------------ labels

    def relabel(self, lang: str) -> None:
        """Show every label in ``lang`` (values are kept)."""
        self._lang = lang = i18n.check_lang(lang)
        t = lambda k: i18n.t(k, lang)  # noqa: E731
        rules = self.reach_rules.value
        with self.muted():
            self._targets_label.value = _heading(t("w_targets"))
            years = list(getattr(self.base, "years", None) or [])
            if years:
                self._year_label.value = _heading(t("w_year_shown"))
                for spec in SLIDERS:
                    self._end_labels[spec.name].value = (
                        f"<div class='cp-label' style='color:#555'>→ {html.escape(t('w_target_in').format(year=years[-1]))}"
                        f"</div>")
                for y, label in self._budget_year_labels.items():
                    label.value = f"<span style='line-height:28px;width:60px;display:inline-block'>{y}</span>"
            for spec in SLIDERS:
                key = f"w_{spec.name}"
                if spec.name == "access_minutes" and rules:
                    key = "w_access_minutes_rules"
                self._slider_labels[spec.name].value = (
                    f"<div class='cp-label'><b>{html.escape(t(key))}</b>"
                    f"<br><span style='color:#666;font-size:90%'>{html.escape(t(key + '_hint'))}</span></div>")
            self.reach_rules.description = t("w_reach_custom" if self.base.reach not in (None, "life_circle")
                                             else "w_reach_rules")
            self._budget_label.value = _heading(t("w_budget"))
            keep = self.budget_mode.value  # new options would reset the choice to the first
            self.budget_mode.options = [(t("w_budget_none"), "none"), (t("w_budget_limit"), "limit")]
            self.budget_mode.value = keep
            self.budget_yuan.description = ""
            self._region_label.value = _heading(t("w_region"))
            self._set_level_options()
            self._set_region_options()
            self._options_label.value = _heading(t("w_options"))
            self.integer.description = t("w_integer")
            self.auto.description = t("w_auto")
            self.solve_button.description = t("w_solve")
            self.reset_button.description = t("w_reset")
            self._update_reach()
            self._update_budget()
            self._update_overrides()

    def _set_level_options(self) -> None:
        t = lambda k: i18n.t(k, self._lang)  # noqa: E731
        levels = [(t("w_level_all"), "all")]
        if self._prefectures:
            levels.append((t("w_level_prefecture"), "prefecture"))
        levels.append((t("w_level_county"), "county"))
        keep = self.level.value
        self.level.options = levels
        self.level.value = keep if keep in dict(levels).values() else "all"

    def _set_region_options(self) -> None:
        level = self.level.value
        keep = self.region.value
        if level == "prefecture":
            options = self._prefectures
        elif level == "county":
            options = self._counties
        else:
            options = [(i18n.t("w_level_all", self._lang), "")]
        self.region.options = options
        values = [v for _, v in options]
        self.region.value = keep if keep in values else values[0]
        self.region.disabled = level == "all"
        self.region.layout.display = "none" if level == "all" else None

    def _county_name(self, district_id) -> str:
        return next((label for label, v in self._counties if v == district_id), str(district_id))

    def _update_reach(self) -> None:
        lang = self._lang
        s = self.sliders["access_minutes"]
        if not self.reach_rules.value:
            self._reach_note.value = ""
            s.disabled = False
            return
        rules = reach_rules(self._reach_setting())
        lines, all_set = [], True
        for service, word in (("childcare", "w_childcare"), ("eldercare", "w_eldercare")):
            parts = []
            for setting in ("urban", "rural"):
                mode, minutes = rules[service][setting]
                all_set &= minutes is not None
                time = (f"{minutes:g} {i18n.t('w_minutes', lang)}" if minutes is not None
                        else i18n.t("w_default_minutes", lang))
                parts.append(f"{i18n.t('w_' + setting, lang)} {i18n.t('w_' + mode, lang)} {time}")
            sep = "：" if lang == "zh" else ": "
            lines.append(f"{i18n.t(word, lang)}{sep}{'，'.join(parts) if lang == 'zh' else ', '.join(parts)}")
        note = "<br>".join(html.escape(x) for x in lines)
        if all_set:
            note += f"<br><i>{html.escape(i18n.t('w_access_minutes_unused', lang))}</i>"
        self._reach_note.value = f"<div style='font-size:90%;color:#444;margin-left:4px'>{note}</div>"
        s.disabled = all_set

    def _update_budget(self) -> None:
        on = self.budget_mode.value == "limit"
        if self.phased:  # a budget per year instead of one figure
            self._budget_years_box.layout.display = None if on else "none"
            self.budget_yuan.disabled = True
            self.budget_yuan.layout.display = "none"
            self._budget_readout.value = (
                f"<span style='line-height:28px'>{html.escape(i18n.t('w_budget_per_year', self._lang))}: "
                f"{html.escape(i18n.fmt_yuan(sum(f.value for f in self.budget_years.values()), self._lang))}</span>"
                if on else "")
            return
        self._budget_years_box.layout.display = "none"
        self.budget_yuan.disabled = not on
        self.budget_yuan.layout.display = None if on else "none"
        self._budget_readout.value = (f"<span style='line-height:28px;margin-left:6px'>= "
                                      f"{html.escape(i18n.fmt_yuan(self.budget_yuan.value, self._lang))}</span>"
                                      if on else "")

    def _update_overrides(self) -> None:
        d = self.base.districts
        cols = [s.name for s in SLIDERS if s.name in d.columns]
        n = int(d[cols].notna().any(axis=1).sum()) if cols else 0
        self._overrides_note.value = (
            f"<div style='font-size:90%;color:#8a5a00'>{html.escape(i18n.t('w_overrides', self._lang).format(n=n))}</div>"
            if n else "")

    # ------------------------------------------------------------ events

    def on_change(self, callback) -> None:
        """Call ``callback(kind)`` after a user change: ``"plan"`` (re-solve), ``"lang"`` or ``"year"``
        (a phased plan's year to show: no re-solve)."""
        self._listeners.append(callback)

    class _Mute:
        def __init__(self, owner):
            self.owner = owner

        def __enter__(self):
            self.owner._muted += 1

        def __exit__(self, *exc):
            self.owner._muted -= 1

    def muted(self):
        """Context manager: programmatic changes inside do not notify listeners."""
        return Controls._Mute(self)

    def _notify(self, kind: str) -> None:
        if self._muted:
            return
        for cb in list(self._listeners):
            cb(kind)

    def _changed(self, kind):
        return lambda change: self._notify(kind)

    def _on_reach_toggle(self, change) -> None:
        if self._muted:
            return
        self.relabel(self._lang)
        self._notify("plan")

    def _on_budget_mode(self, change) -> None:
        self._update_budget()
        self._notify("plan")

    def _on_budget_value(self, change) -> None:
        self._update_budget()
        if self.budget_mode.value == "limit":
            self._notify("plan")

    def _on_level(self, change) -> None:
        if self._muted:
            return
        with self.muted():
            self._set_region_options()
        self._notify("plan")

    def _on_year(self, change) -> None:
        self._notify("year")

    def _on_lang(self, change) -> None:
        self.relabel(change["new"])
        self._notify("lang")

    @property
    def language(self) -> str:
        return self._lang


def _heading(text: str) -> str:
    return (f"<div style='margin-top:8px;border-bottom:1px solid #ddd;font-weight:600'>"
            f"{html.escape(text)}</div>")


def _prefectures(d: pd.DataFrame) -> list[tuple[str, str]]:
    """(label, parent_id) of each prefecture, in order of first appearance."""
    ids = d["parent_id"].astype(str)
    names = d["parent_name"].astype(str) if "parent_name" in d.columns else ids
    seen = {}
    for i, n in zip(ids, names):
        if i.strip() and i not in seen:
            seen[i] = n if n.strip() and n != "nan" else i
    return [(name, i) for i, name in seen.items()]


def _counties(d: pd.DataFrame, prefectures) -> list[tuple[str, str]]:
    """(label, district_id) of each district: 'prefecture · name' when prefectures are known."""
    pref = dict((i, n) for n, i in prefectures)
    out = []
    for _, row in d.iterrows():
        name = str(row.get("name") or row["district_id"])
        parent = pref.get(str(row.get("parent_id", "")))
        out.append((f"{parent} · {name}" if parent else name, str(row["district_id"])))
    return out
