"""Charts for reports (matplotlib, no display needed): the phasing chart of a phased plan."""

from __future__ import annotations

import warnings


from . import i18n


def phasing_figure(result, district_id=None, lang: str = "zh", width_in: float = 9.0, dpi: int = 150):
    """Need against capacity by year (slots, beds) and money by year, as a matplotlib Figure.

    Parameters
    ----------
    result : planner.Result
        A phased plan (``result.by_year`` set).
    district_id : str, optional
        One district; default the whole region.
    lang : {"zh", "en"}
        Labels; without an installed CJK font the labels fall back to English
        with a warning.

    Three panels: childcare slots (need by the targets, what the per-child
    target alone asks for, capacity before and after the plan), elderly-care
    beds (need, before, after) and money (spent per year, budget to date).
    """
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .maps import font_for
    from .phased_tables import phasing_table

    i18n.check_lang(lang)
    font, lang = font_for(lang)
    t = lambda k: i18n.t(k, lang)  # noqa: E731
    table = phasing_table(result, district_id)
    years = table["year"].to_numpy()
    if district_id is None:
        where = t("phasing_region")
    else:
        d = result.districts
        where = str(d.loc[d["district_id"] == str(district_id), "name"].iloc[0])
    rc = {"font.family": ([font] if font else []) + ["DejaVu Sans"], "axes.unicode_minus": False}
    with rc_context(rc):
        fig = Figure(figsize=(width_in, width_in * 0.42), dpi=dpi)
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, 3)
        for ax, unit, need, extra in ((axes[0], "slots", "need_slots", "slots_for_children"),
                                      (axes[1], "beds", "need_beds", None)):
            ax.plot(years, table[need], color="#c0392b", marker="o", label=t("phasing_need"))
            if extra is not None and table[extra].gt(0).any():
                ax.plot(years, table[extra], color="#c0392b", linestyle=":", label=t("phasing_need_children"))
            ax.plot(years, table[f"{unit}_before"], color="#7f8c8d", linestyle="--", label=t("phasing_before"))
            ax.plot(years, table[f"{unit}_after"], color="#2471a3", marker="s", label=t("phasing_capacity"))
            ax.fill_between(years, table[f"{unit}_after"], table[need], where=table[f"{unit}_after"] < table[need] - 1e-6,
                            color="#c0392b", alpha=0.15, interpolate=True)
            ax.set_title(t(f"phasing_{unit}"), fontsize=10)
            ax.legend(fontsize=7, loc="best")
        money = axes[2]
        scale, unit = _money_unit(table["cost_yuan"].max(), lang)
        money.bar(years, table["cost_yuan"] / scale, color="#5d6d7e", label=t("phasing_spent"))
        if "budget_to_date_yuan" in table:
            money.step(years, table["budget_to_date_yuan"] / scale, where="mid", color="#d68910",
                       label=t("phasing_budget"))
        money.set_title(t("phasing_money").format(unit=unit), fontsize=10)
        money.legend(fontsize=7, loc="best")
        for ax in axes:
            ax.set_xticks(years)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        fig.suptitle(t("phasing_title").format(where=where, first=years[0], last=years[-1]), fontsize=12)
        fig.tight_layout(rect=(0, 0.04, 1, 0.95))
        attribution = getattr(result.scenario, "attribution", "") or ""
        import textwrap

        fig.text(0.01, 0.005, "\n".join(textwrap.wrap(attribution, 200)), fontsize=5, color="#555555",
                 ha="left", va="bottom")
    fig._planner_font_missing = font is None
    return fig


def _money_unit(largest: float, lang: str):
    if largest >= 1e8:
        return 1e8, i18n.t("unit_yi_yuan", lang)
    if largest >= 1e4:
        return 1e4, i18n.t("unit_wan_yuan", lang)
    return 1.0, i18n.t("unit_yuan", lang)


def write_phasing_png(result, path, district_id=None, lang: str = "zh", dpi: int = 150):
    """Write :func:`phasing_figure` as a PNG, atomically; returns the Path."""
    from pathlib import Path

    from .io import write_atomic

    fig = phasing_figure(result, district_id, lang, dpi=dpi)

    def save(tmp):
        with warnings.catch_warnings():
            if fig._planner_font_missing:
                warnings.filterwarnings("ignore", message="Glyph .* missing", category=UserWarning)
            fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")

    return write_atomic(Path(path), save, list(result.scenario.sources.values()))


__all__ = ["phasing_figure", "write_phasing_png"]
