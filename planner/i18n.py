"""User-facing labels in Chinese and English: one source of truth.

Maps, exports and (later) the widgets take every label from here, so a term
such as 托位/千人 is spelt the same everywhere. Code, column names and
reason codes stay in English; only what a planner reads is translated.

Usage::

    from planner import i18n
    i18n.t("layer_districts", "en")            # 'Districts'
    i18n.column_label("slots_per_1000_after")   # '托位/千人 (规划后)'
    i18n.reason_lines("beds:budget;access_childcare:no_site_in_reach", "zh")
"""

from __future__ import annotations

import math

from .result import REASONS as _REASONS_EN, TARGET_WORDS as _TARGETS_EN

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise PlannerError naming the choices."""
    if lang not in LANGS:
        from ._errors import PlannerError

        raise PlannerError(f"lang must be one of {', '.join(map(repr, LANGS))}, got {lang!r}", "lang")
    return lang


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[LANGS.index(check_lang(lang))]


# ------------------------------------------------------------------ general labels

LABELS: dict[str, tuple[str, str]] = {
    # layers
    "layer_districts": ("区县边界", "Districts"),
    "layer_childcare": ("托育机构", "Childcare facilities"),
    "layer_eldercare": ("养老机构", "Elderly-care facilities"),
    "layer_not_opened": ("未选用的候选点", "Candidate sites not opened"),
    "layer_access_childcare": ("托育可达覆盖率 (需求单元)", "Childcare need served within reach (areas)"),
    "layer_access_beds": ("养老可达覆盖率 (需求单元)", "Elderly-care need served within reach (areas)"),
    "layer_tiles": ("底图 (需联网)", "Base map (needs internet)"),
    # district shading: measure × when
    "measure_slots": ("托位/千人", "Childcare slots per 1,000"),
    "measure_beds": ("养老床位/千名老人", "Elderly-care beds per 1,000 aged 60+"),
    "measure_care": ("护理型床位占比", "Care-oriented bed share"),
    "measure_access": ("可达覆盖率", "Need served within reach"),
    "before": ("规划前", "before"),
    "after": ("规划后", "after"),
    "target": ("目标", "target"),
    "shortfall": ("缺口", "shortfall"),
    "cost": ("费用", "Cost"),
    "reasons": ("未达标原因", "Why targets are missed"),
    "met": ("全部达标", "all targets met"),
    "not_met": ("未全部达标", "some targets missed"),
    "no_data": ("无数据", "no data"),
    # legends
    "legend_attainment": ("达标率 %（实际 ÷ 目标）", "Target attainment, % (actual ÷ target)"),
    "legend_access": ("可达覆盖率 %（出行时间内可满足的需求）", "Need served within reach, %"),
    "legend_states": ("机构状态（圆圈大小 = 规划后容量）", "Facility state (circle size = capacity after)"),
    # popup rows
    "facility_id": ("编号", "ID"),
    "district": ("区县", "District"),
    "population": ("常住人口", "Residents"),
    "pop_60_plus": ("60岁及以上人口", "Aged 60+"),
    "slots": ("托位", "Childcare slots"),
    "affordable_share": ("普惠托位占比", "Affordable share"),
    "beds": ("养老床位", "Elderly-care beds"),
    "care_beds": ("护理型床位", "Care-oriented beds"),
    "converted": ("转为护理型", "Converted to care beds"),
    "added_affordable": ("新增普惠托位", "Added affordable slots"),
    "capacity": ("容量", "Capacity"),
    "added": ("新增", "added"),
    "size_range": ("规模范围", "Size range"),
    "need": ("需求", "Need"),
    "served": ("出行时间内满足", "Served within reach"),
    "access_share_childcare": ("托育可达覆盖率", "Childcare served within reach"),
    "access_share_beds": ("养老可达覆盖率", "Elderly care served within reach"),
    "sites_in_reach": ("可达机构数", "Sites within reach"),
    "synthetic_row": ("演示用合成数据", "synthetic demo data"),
    # attribution
    "attr_data": ("数据", "Data"),
    "attr_plan": ("规划结果: care-planner 线性规划", "Plan: care-planner linear program"),
    "attr_synthetic": ("合成数据", "Synthetic"),
    "attr_user_data": ("用户提供的数据", "data supplied by the user"),
    # units
    "unit_slots": ("个", "slots"),
    "unit_beds": ("张", "beds"),
    "unit_people": ("人", "people"),
    "unit_wan_yuan": ("万元", "10k yuan"),
    "unit_yi_yuan": ("亿元", "100M yuan"),
    "unit_yuan": ("元", "yuan"),
    "unit_million_yuan": ("百万元", "million yuan"),
    # static PNG
    "png_title": ("{measure} 达标情况（{when}）", "{measure}: target attainment ({when})"),
    "png_font_missing": ("", "no CJK font found; the PNG uses English labels"),
    # Excel
    "sheet_notes": ("说明", "Notes"),
    "notes_machine_row": ("第 2 行为机器可读的列名（用于程序读取）；数值均为数字格式。",
                          "Row 2 holds machine column names (for reading back); numbers are stored as numbers."),
    "notes_geometry": ("区县边界见 GeoPackage 导出；点位以经纬度 (WGS84) 给出。",
                       "District boundaries are in the GeoPackage export; points are given as lon/lat (WGS84)."),
    "notes_scenario": ("方案", "Scenario"),
    "notes_status": ("求解状态", "Status"),
    "notes_cost": ("总费用 (元)", "Total cost (yuan)"),
    "notes_attribution": ("数据来源", "Data sources"),
    "notes_targets": ("目标", "Targets"),
    "notes_sheet": ("工作表", "Sheet"),
    "notes_column": ("列名 (第 2 行)", "Column name (row 2)"),
    "notes_label": ("表头 (第 1 行)", "Header (row 1)"),
    "notes_type": ("类型", "Type"),
    "status_optimal": ("全部目标可达成", "every target met"),
    "status_shortfall": ("部分目标无法达成", "some targets cannot be met"),
    "total_cost": ("总费用", "Total cost"),
    "districts_met": ("全部达标的区县", "Districts meeting every target"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}


def t(key: str, lang: str = DEFAULT_LANG) -> str:
    """The label ``key`` in ``lang`` (``"zh"`` or ``"en"``)."""
    return _pick(LABELS[key], lang)


# ------------------------------------------------------------------ codes

STATES: dict[str, tuple[str, str]] = {
    "unchanged": ("维持现状", "unchanged"),
    "expanded": ("扩建", "expanded"),
    "converted": ("转换为护理型", "converted to care beds"),
    "opened": ("新建", "newly opened"),
    "not_opened": ("候选点（未选用）", "candidate, not opened"),
}

KIND_LABELS: dict[str, tuple[str, str]] = {
    "childcare": ("托育机构", "childcare"),
    "eldercare": ("养老机构", "elderly care"),
}

REASONS: dict[str, tuple[str, str]] = {
    "expansion_limit": ("扩建能力不足：即使用尽全部可扩建、可转换床位和候选点也不够", _REASONS_EN["expansion_limit"]),
    "no_site_in_reach": ("出行时间内没有机构或候选点", _REASONS_EN["no_site_in_reach"]),
    "budget": ("预算先用完", _REASONS_EN["budget"]),
    "time_limit": ("求解器达到时间上限", _REASONS_EN["time_limit"]),
}

TARGET_WORDS: dict[str, tuple[str, str]] = {
    "slots": ("托位", _TARGETS_EN["slots"]),
    "affordable": ("普惠托位占比", _TARGETS_EN["affordable"]),
    "beds": ("养老床位", _TARGETS_EN["beds"]),
    "care": ("护理型床位占比", _TARGETS_EN["care"]),
    "access_childcare": ("托育服务可达", _TARGETS_EN["access_childcare"]),
    "access_beds": ("养老服务可达", _TARGETS_EN["access_beds"]),
}


def state_label(state: str, lang: str = DEFAULT_LANG) -> str:
    """A facility state (``expanded`` …) in words; unknown codes as given."""
    return _pick(STATES[state], lang) if state in STATES else str(state)


def kind_label(kind: str, lang: str = DEFAULT_LANG) -> str:
    """A facility kind (``childcare``/``eldercare``) in words."""
    return _pick(KIND_LABELS[kind], lang) if kind in KIND_LABELS else str(kind)


def reason_lines(codes: str, lang: str = DEFAULT_LANG) -> list[str]:
    """``'target:reason;…'`` codes (districts["shortfall_reason"]) as sentences.

    Unknown codes are returned as given rather than dropped.
    """
    out = []
    for code in filter(None, str(codes or "").split(";")):
        target, _, reason = code.partition(":")
        if target in TARGET_WORDS and reason in REASONS:
            sep = "：" if lang == "zh" else ": "
            out.append(f"{_pick(TARGET_WORDS[target], lang)}{sep}{_pick(REASONS[reason], lang)}")
        else:
            out.append(code)
    return out


def measure_label(measure: str, when: str, lang: str = DEFAULT_LANG) -> str:
    """E.g. ``measure_label("slots", "after")`` → ``'托位/千人 (规划后)'``."""
    return f"{t('measure_' + measure, lang)} ({t(when, lang)})"


# ------------------------------------------------------------------ column headers

#: Result and input columns as a planner reads them, with units.
COLUMNS: dict[str, tuple[str, str]] = {
    # ids and inputs
    "district_id": ("区县代码", "District ID"),
    "name": ("名称", "Name"),
    "parent_id": ("上级代码", "Parent ID"),
    "parent_name": ("上级名称", "Parent name"),
    "area_id": ("需求单元编号", "Area ID"),
    "facility_id": ("机构编号", "Facility ID"),
    "kind": ("类型", "Kind"),
    "kind_text": ("类型（文字）", "Kind (text)"),
    "settlement": ("聚落类型", "Settlement type"),
    "synthetic": ("合成数据", "Synthetic"),
    "lon": ("经度", "Longitude"),
    "lat": ("纬度", "Latitude"),
    "pop_total": ("常住人口 (人)", "Residents"),
    "pop_0_2": ("0–2岁人口 (人)", "Aged 0–2"),
    "pop_60_plus": ("60岁及以上人口 (人)", "Aged 60+"),
    "pop_65_plus": ("65岁及以上人口 (人)", "Aged 65+"),
    "slots": ("现有托位 (个)", "Existing slots"),
    "slots_affordable": ("现有普惠托位 (个)", "Existing affordable slots"),
    "beds": ("现有养老床位 (张)", "Existing beds"),
    "beds_care": ("现有护理型床位 (张)", "Existing care-oriented beds"),
    "max_add": ("可扩建上限 (托位/床位)", "Max expansion (slots/beds)"),
    "cost_per_unit": ("每托位/床位建设费用 (元)", "Cost per slot/bed (yuan)"),
    "cost_per_conversion": ("每床位转换费用 (元)", "Cost per conversion (yuan)"),
    "candidate": ("候选点", "Candidate site"),
    "fixed_cost": ("新建固定费用 (元)", "Opening cost (yuan)"),
    "min_size": ("最小规模", "Min size"),
    "max_size": ("最大规模", "Max size"),
    # targets
    "childcare_per_1000": ("目标 托位/千人", "Target slots per 1,000"),
    "affordable_share": ("目标 普惠占比", "Target affordable share"),
    "beds_per_1000_elderly": ("目标 床位/千名老人", "Target beds per 1,000 aged 60+"),
    "care_bed_share": ("目标 护理型占比", "Target care-oriented share"),
    "access_minutes": ("可达时间 (分钟)", "Access time (minutes)"),
    "access_share": ("目标 可达覆盖率", "Target share within reach"),
    "target_childcare_per_1000": ("目标 托位/千人", "Target slots per 1,000"),
    "target_affordable_share": ("目标 普惠占比", "Target affordable share"),
    "target_beds_per_1000_elderly": ("目标 床位/千名老人", "Target beds per 1,000 aged 60+"),
    "target_care_bed_share": ("目标 护理型占比", "Target care-oriented share"),
    "target_access_minutes": ("可达时间 (分钟)", "Access time (minutes)"),
    "target_access_share": ("目标 可达覆盖率", "Target share within reach"),
    "target_slots": ("目标托位数 (个)", "Target slots"),
    "target_beds": ("目标床位数 (张)", "Target beds"),
    # district results
    "slots_before": ("托位 规划前 (个)", "Slots before"),
    "slots_after": ("托位 规划后 (个)", "Slots after"),
    "slots_per_1000_before": ("托位/千人 (规划前)", "Slots per 1,000 (before)"),
    "slots_per_1000_after": ("托位/千人 (规划后)", "Slots per 1,000 (after)"),
    "affordable_slots_before": ("普惠托位 规划前 (个)", "Affordable slots before"),
    "affordable_slots_after": ("普惠托位 规划后 (个)", "Affordable slots after"),
    "affordable_share_before": ("普惠托位占比 (规划前)", "Affordable share (before)"),
    "affordable_share_after": ("普惠托位占比 (规划后)", "Affordable share (after)"),
    "beds_before": ("养老床位 规划前 (张)", "Beds before"),
    "beds_after": ("养老床位 规划后 (张)", "Beds after"),
    "beds_per_1000_elderly_before": ("养老床位/千名老人 (规划前)", "Beds per 1,000 aged 60+ (before)"),
    "beds_per_1000_elderly_after": ("养老床位/千名老人 (规划后)", "Beds per 1,000 aged 60+ (after)"),
    "care_beds_before": ("护理型床位 规划前 (张)", "Care-oriented beds before"),
    "care_beds_after": ("护理型床位 规划后 (张)", "Care-oriented beds after"),
    "care_share_before": ("护理型床位占比 (规划前)", "Care-oriented share (before)"),
    "care_share_after": ("护理型床位占比 (规划后)", "Care-oriented share (after)"),
    "shortfall_slots": ("托位缺口 (个)", "Slot shortfall"),
    "shortfall_affordable": ("普惠托位缺口 (个)", "Affordable slot shortfall"),
    "shortfall_beds": ("床位缺口 (张)", "Bed shortfall"),
    "shortfall_care_beds": ("护理型床位缺口 (张)", "Care-oriented bed shortfall"),
    "shortfall_access_childcare": ("托育可达缺口 (托位)", "Childcare reach shortfall (slots)"),
    "shortfall_access_beds": ("养老可达缺口 (床位)", "Elderly-care reach shortfall (beds)"),
    "access_share_childcare": ("托育可达覆盖率", "Childcare served within reach"),
    "access_share_beds": ("养老可达覆盖率", "Elderly care served within reach"),
    "areas_without_reach_childcare": ("无可达托育机构的单元数", "Areas with no childcare in reach"),
    "areas_without_reach_beds": ("无可达养老机构的单元数", "Areas with no elderly care in reach"),
    "met_targets": ("千人指标与占比达标", "Per-1,000 and share targets met"),
    "met_access": ("可达要求达标", "Reach rule met"),
    "met": ("全部达标", "All targets met"),
    "shortfall_reason": ("未达标原因代码", "Shortfall reason codes"),
    "shortfall_reason_text": ("未达标原因", "Why targets are missed"),
    "cost": ("费用 (元)", "Cost (yuan)"),
    # facility results
    "added_slots": ("新增托位 (个)", "Added slots"),
    "added_affordable": ("新增普惠托位 (个)", "Added affordable slots"),
    "added_beds": ("新增床位 (张)", "Added beds"),
    "converted_care_beds": ("转为护理型床位 (张)", "Beds converted to care-oriented"),
    "opened": ("新建", "Opened"),
    "open_fraction": ("开设比例 (线性松弛)", "Open fraction (LP relaxation)"),
    "beds_care_after": ("规划后护理型床位 (张)", "Care-oriented beds after"),
    "state": ("状态代码", "State code"),
    "state_text": ("状态", "State"),
    # area results
    "need_childcare": ("托位需求 (个)", "Childcare need (slots)"),
    "need_beds": ("床位需求 (张)", "Bed need (beds)"),
    "served_in_reach_childcare": ("可达范围内满足的托位 (个)", "Slots served within reach"),
    "served_in_reach_beds": ("可达范围内满足的床位 (张)", "Beds served within reach"),
    "sites_in_reach_childcare": ("可达托育机构数", "Childcare sites in reach"),
    "sites_in_reach_beds": ("可达养老机构数", "Elderly-care sites in reach"),
    "setting": ("城乡类型", "Setting (urban/rural)"),
    "people_without_reach_childcare": ("无可达托育机构的人口 (人)", "People with no childcare in reach"),
    "people_without_reach_beds": ("无可达养老机构的60岁及以上人口 (人)", "People aged 60+ with no elderly care in reach"),
    # accessibility scores: capacity per 1,000 people within reach (two-step floating catchment)
    "score_2sfca_childcare_before": ("托育可达性指数 2SFCA (规划前)", "Childcare 2SFCA score (before)"),
    "score_2sfca_childcare_after": ("托育可达性指数 2SFCA (规划后)", "Childcare 2SFCA score (after)"),
    "score_2sfca_beds_before": ("养老可达性指数 2SFCA (规划前)", "Elderly-care 2SFCA score (before)"),
    "score_2sfca_beds_after": ("养老可达性指数 2SFCA (规划后)", "Elderly-care 2SFCA score (after)"),
    "score_e2sfca_childcare_before": ("托育可达性指数 E2SFCA (规划前)", "Childcare E2SFCA score (before)"),
    "score_e2sfca_childcare_after": ("托育可达性指数 E2SFCA (规划后)", "Childcare E2SFCA score (after)"),
    "score_e2sfca_beds_before": ("养老可达性指数 E2SFCA (规划前)", "Elderly-care E2SFCA score (before)"),
    "score_e2sfca_beds_after": ("养老可达性指数 E2SFCA (规划后)", "Elderly-care E2SFCA score (after)"),
}

#: Sheet / layer names.
TABLE_LABELS: dict[str, tuple[str, str]] = {
    "districts": ("区县", "Districts"),
    "facilities": ("机构", "Facilities"),
    "areas": ("需求单元", "Areas"),
}


def column_label(column: str, lang: str = DEFAULT_LANG) -> str:
    """A result/input column as a planner reads it; unknown columns as given."""
    pair = COLUMNS.get(column)
    return _pick(pair, lang) if pair else str(column)


def table_label(table: str, lang: str = DEFAULT_LANG) -> str:
    """``"districts"`` → ``'区县'`` / ``'Districts'``."""
    return _pick(TABLE_LABELS[table], lang)


# ------------------------------------------------------------------ numbers

def fmt_number(x, digits: int = 1) -> str:
    """Slots/beds/people: thousands separators; whole numbers (and ≥ 100) without decimals.

    The map's JavaScript formats numbers the same way.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    x = float(x)
    if abs(x - round(x)) < 0.05 or abs(x) >= 100:
        return f"{round(x):,.0f}"
    return f"{x:,.{digits}f}"


def fmt_rate(x) -> str:
    """A per-1,000 rate, two decimals."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{float(x):.2f}"


def fmt_share(x) -> str:
    """A share 0–1 as a percentage."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * float(x):.1f}%"


def fmt_yuan(x, lang: str = DEFAULT_LANG) -> str:
    """Money: 万元/亿元 in Chinese; yuan or million yuan in English."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    x = float(x)
    if lang == "zh":
        if abs(x) >= 1e8:
            return f"{x / 1e8:,.2f} {t('unit_yi_yuan', lang)}"
        return f"{x / 1e4:,.1f} {t('unit_wan_yuan', lang)}"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.1f} {t('unit_million_yuan', lang)}"
    return f"{x:,.0f} {t('unit_yuan', lang)}"
