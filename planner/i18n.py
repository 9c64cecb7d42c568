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
    "layer_score_childcare": ("可达性 (E2SFCA) 托位", "Accessibility (E2SFCA) childcare"),
    "layer_score_beds": ("可达性 (E2SFCA) 养老床位", "Accessibility (E2SFCA) elderly-care beds"),
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
    "legend_attainment": ("达标率 %（实际 ÷ 目标）", "Attainment, % of target"),
    "legend_access": ("可达覆盖率 %（出行时间内可满足的需求）", "Need served within reach, %"),
    "legend_states": ("机构状态（圆圈大小 = 规划后容量）", "Facility state (circle size = capacity after)"),
    "legend_score": ("可达性 E2SFCA 达标率 %（得分 ÷ 目标）", "Accessibility (E2SFCA), % of target (score ÷ target)"),
    "legend_shortfall_outline": ("红色虚线边框：规划后仍有目标未达成", "Red dashed outline: still short of a target after the plan"),
    "legend": ("图例", "Legend"),
    "map_title": ("一老一小规划地图", "care capacity plan map"),
    "map_shading": ("区县着色", "Shade districts by"),
    "map_layers": ("图层", "Layers"),
    "map_labels": ("区县名称", "District names"),
    "map_fullscreen": ("全屏", "Full screen"),
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
    # accessibility scores (two-step floating catchment): capacity per 1,000 people within reach
    "score_childcare": ("托育可达性", "Childcare accessibility"),
    "score_beds": ("养老床位可达性", "Elderly-care bed accessibility"),
    "score_e2sfca": ("E2SFCA（距离衰减）", "E2SFCA (distance decay)"),
    "score_2sfca": ("2SFCA（不衰减）", "2SFCA (no decay)"),
    "score_e2sfca_childcare": ("托育可达性 E2SFCA", "Childcare E2SFCA score"),
    "score_e2sfca_beds": ("养老可达性 E2SFCA", "Elderly-care E2SFCA score"),
    "score_note_childcare": ("出行时间内每千名常住人口可用的托位；E2SFCA 对较远的机构降低权重。",
                             "Slots within reach per 1,000 residents; E2SFCA gives farther sites less weight."),
    "score_note_beds": ("出行时间内每千名60岁及以上老人可用的养老床位；E2SFCA 对较远的机构降低权重。",
                        "Beds within reach per 1,000 people aged 60+; E2SFCA gives farther sites less weight."),
    "of_target": ("达标率", "% of target"),
    "no_reach_childcare": ("出行时间内无任何托育点的人口", "People with no childcare site in reach"),
    "no_reach_beds": ("出行时间内无任何养老点的老人", "Aged 60+ with no elderly-care site in reach"),
    "mc_title": ("边际成本（目标 +1）", "Marginal cost (target +1)"),
    "mc_childcare": ("托位/千人", "slot per 1,000"),
    "mc_beds": ("床位/千老人", "bed per 1,000 aged 60+"),
    "mc_affordable": ("普惠占比 1 点", "affordable 1 pt"),
    "mc_care": ("护理型占比 1 点", "care-oriented 1 pt"),
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
    "unit_area": ("个单元", "area"),
    "unit_areas": ("个单元", "areas"),
    "unit_score_childcare": ("托位/千人", "slots per 1,000 residents"),
    "unit_score_beds": ("床位/千名老人", "beds per 1,000 aged 60+"),
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
    "notes_mc_years": ("分年度边际成本（各年区县表）：仅将该区县当年目标提高一个单位所需的费用，按首个规划年现值计（元，贴现率 {rate}；"
                       "贴现率为 0 时即名义元），已计入这部分新增能力在之后各年的保留。",
                       "Marginal costs by year (district sheets per year): yuan for raising that district's target by one "
                       "unit in that year only, at present value of the first plan year (discount rate {rate}; at 0 plain "
                       "yuan), counting that the added capacity is kept in the following years."),
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
    "status_time_limit": ("达到求解时限：方案未证明最优", "stopped at the time limit: not proven optimal"),
    "cost_relaxation": ("线性松弛下界；整数规划给出可执行方案",
                        "LP relaxation (lower bound); integer mode: the plan to build"),
    "cost_integer": ("整数方案，已证明最优（差距 {gap}）", "integer plan, proven optimal (gap {gap})"),
    "cost_integer_time_limit": ("整数方案，达到时限未证明最优（差距 {gap}）",
                                "integer plan stopped at the time limit, not proven optimal (gap {gap})"),
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
    "expansion_limit": ("扩建能力不足：即使用尽全部可扩建、可转换床位和候选点也不够",
                        "expansion limits: even every allowed expansion, conversion and new site is not enough"),
    "no_site_in_reach": ("出行时间内没有机构或候选点", "no facility or candidate site within the travel time"),
    "budget": ("预算先用完", "the budget runs out first"),
    "time_limit": ("求解器达到时间上限", "the solver stopped at its time limit"),
}

TARGET_WORDS: dict[str, tuple[str, str]] = {
    "care_need": ("按护理需求评估的护理型床位", "care-oriented beds for assessed care need"),
    "centres": ("普惠托育机构数", "affordable childcare centres"),
    "slots": ("托位", "childcare slots"),
    "affordable": ("普惠托位占比", "affordable share"),
    "beds": ("养老床位", "elderly-care beds"),
    "care": ("护理型床位占比", "care-oriented share"),
    "access_childcare": ("托育服务可达", "childcare within reach"),
    "access_beds": ("养老服务可达", "elderly care within reach"),
}


def scenario_lang(scenario) -> str:
    """The language a scenario's planner reads: its ``lang`` if set, else ``"zh"`` when its
    name or district names hold Chinese characters, else ``"en"``."""
    lang = getattr(scenario, "lang", None)
    if lang:
        return check_lang(lang)
    names = [str(getattr(scenario, "name", ""))]
    districts = getattr(scenario, "districts", None)
    if districts is not None and "name" in districts:
        names += [str(n) for n in districts["name"].head(50)]
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for n in names for ch in n) else "en"


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
    "access_share_childcare_before": ("托育可达覆盖率 (规划前)", "Childcare served within reach (before)"),
    "access_share_beds_before": ("养老可达覆盖率 (规划前)", "Elderly care served within reach (before)"),
    "areas_without_reach_childcare": ("无可达托育机构的单元数", "Areas with no childcare in reach"),
    "areas_without_reach_beds": ("无可达养老机构的单元数", "Areas with no elderly care in reach"),
    "met_targets": ("千人指标与占比达标", "Per-1,000 and share targets met"),
    "met_access": ("可达要求达标", "Reach rule met"),
    "met": ("全部达标", "All targets met"),
    "shortfall_reason": ("未达标原因代码", "Shortfall reason codes"),
    "shortfall_reason_text": ("未达标原因", "Why targets are missed"),
    "cost": ("费用 (元)", "Cost (yuan)"),
    "marginal_cost_childcare_per_1000": ("边际成本：每千人托位 +1 (元)", "Marginal cost: +1 slot per 1,000 (yuan)"),
    "marginal_cost_beds_per_1000_elderly": ("边际成本：每千老人床位 +1 (元)",
                                            "Marginal cost: +1 bed per 1,000 aged 60+ (yuan)"),
    "marginal_cost_affordable_share": ("边际成本：普惠占比 +1 个百分点 (元)",
                                       "Marginal cost: affordable share +1 point (yuan)"),
    "marginal_cost_care_bed_share": ("边际成本：护理型占比 +1 个百分点 (元)",
                                     "Marginal cost: care-oriented share +1 point (yuan)"),
    "force": ("既定决策 (open/closed)", "Decided (open/closed)"),
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
    "served_in_reach_childcare_before": ("可达范围内满足的托位 规划前 (个)", "Slots served within reach (before)"),
    "served_in_reach_beds_before": ("可达范围内满足的床位 规划前 (张)", "Beds served within reach (before)"),
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


def fmt_yuan_per_unit(x, lang: str = DEFAULT_LANG) -> str:
    """A marginal cost (yuan per +1 unit): like :func:`fmt_yuan`, but below 10,000 yuan in whole yuan.

    Marginal costs are often a few hundred yuan (a conversion), which 万元 with one decimal would show as 0.0.
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(round(float(x))) < 1e4:
        return f"{float(x):,.0f} {t('unit_yuan', lang)}"
    return fmt_yuan(x, lang)


# ------------------------------------------------------------------ the app (planner.widgets)

#: Labels of the JupyterLab app (planner.widgets); merged into LABELS so ``t()`` finds them.
WIDGET_LABELS: dict[str, tuple[str, str]] = {
    "w_title": ("一老一小规划：托位与养老床位", "Care capacity planner: childcare slots and elderly-care beds"),
    "w_intro": ("移动滑块设定目标，规划会自动重新求解；结果在右侧各页。",
                "Move a slider to set a target and the plan is solved again; results are in the tabs."),
    "w_language": ("语言", "Language"),
    # targets
    "w_targets": ("目标", "Targets"),
    "w_childcare_per_1000": ("每千人托位数", "Childcare slots per 1,000 residents"),
    "w_childcare_per_1000_hint": ("国家目标：2025 年 4.5", "National target: 4.5 by 2025"),
    "w_affordable_share": ("普惠托位占比（不低于）", "Affordable (普惠) share of slots, at least"),
    "w_affordable_share_hint": ("目前约 50–64%", "About 50–64% today"),
    "w_beds_per_1000_elderly": ("每千名60岁及以上老人养老床位", "Elderly-care beds per 1,000 aged 60+"),
    "w_beds_per_1000_elderly_hint": ("规划标准不少于 40 张 (GB 50437)", "Planning norm: at least 40 (GB 50437)"),
    "w_care_bed_share": ("护理型床位占比（不低于）", "Care-oriented (护理型) share of beds, at least"),
    "w_care_bed_share_hint": ("2025 年 55%，2030 年 73%", "55% by 2025, 73% by 2030"),
    "w_access_minutes": ("出行时间（分钟）", "Travel time (minutes)"),
    "w_access_minutes_hint": ("5/10/15 分钟生活圈；默认按步行计", "5/10/15-minute life circles; walking by default"),
    "w_access_minutes_rules": ("默认出行时间（分钟）", "Default travel time (minutes)"),
    "w_access_minutes_rules_hint": ("仅用于可达规则未规定时间之处", "used only where the reach rules set no time"),
    "w_access_minutes_unused": ("可达规则已规定全部出行时间，此滑块目前不起作用",
                                "the reach rules set every travel time: this slider has no effect now"),
    "w_access_share": ("出行时间内满足的需求占比", "Share of need served within the travel time"),
    "w_access_share_hint": ("每个需求单元至少这么多需求在可达范围内", "at least this much of each area's need within reach"),
    "w_reach_rules": ("按生活圈规则 (GB 50180)", "Life-circle reach rules (GB 50180)"),
    "w_reach_custom": ("按方案文件中的可达规则", "Reach rules of the scenario file"),
    "w_walk": ("步行", "walk"),
    "w_drive": ("驾车", "drive"),
    "w_urban": ("城镇", "urban"),
    "w_rural": ("农村", "rural"),
    "w_childcare": ("托育", "childcare"),
    "w_eldercare": ("养老", "elderly care"),
    "w_minutes": ("分钟", "min"),
    "w_default_minutes": ("默认时间", "default time"),
    "w_overrides": ("{n} 个区县在数据中设定了自己的目标，滑块不改变这些区县的相应目标。",
                    "{n} districts set their own targets in the data; the sliders do not change those."),
    # budget
    "w_budget": ("预算", "Budget"),
    "w_budget_none": ("不限：达标的最低费用", "None: least cost to meet every target"),
    "w_budget_limit": ("限定：预算内尽量达标", "Limit: best attainment within it"),
    "w_budget_yuan": ("预算（元）", "Budget (yuan)"),
    # region and options
    "w_region": ("范围", "Region"),
    "w_level_all": ("全省（全部区县）", "Province (all districts)"),
    "w_level_prefecture": ("地市", "Prefecture"),
    "w_level_county": ("区县", "County"),
    "w_options": ("求解", "Solving"),
    "w_integer": ("整数规划：精确选址（较慢）", "Integer mode: exact site decisions (slower)"),
    "w_auto": ("改动后自动求解", "Solve again after each change"),
    "w_solve": ("求解", "Solve"),
    "w_reset": ("恢复方案原目标", "Reset to the scenario's targets"),
    # progress
    "w_status_ready": ("就绪", "Ready"),
    "w_status_solving": ("求解中…", "Solving…"),
    "w_status_map": ("绘制地图…", "Drawing the map…"),
    "w_status_queued": ("设置已改动：本次求解完成后按最新设置再求解一次",
                        "Settings changed: will solve once more with the latest values"),
    "w_status_done": ("完成：求解 {solve} 秒，地图 {map} 秒", "Done: solve {solve} s, map {map} s"),
    "w_status_failed": ("未能完成，见红框中的说明", "Not finished: see the message in the red box"),
    "w_status_exporting": ("导出中…", "Exporting…"),
    "w_status_loading": ("读取数据…", "Reading the data…"),
    "w_busy": ("正在求解，请稍候", "A solve is running; please wait"),
    # results
    "w_tab_map": ("地图", "Map"),
    "w_tab_districts": ("区县", "Districts"),
    "w_tab_facilities": ("建设清单", "What to build"),
    "w_tab_summary": ("规划前后对比", "Before → after"),
    "w_no_result": ("尚无结果：请点击“求解”。", "No result yet: click Solve."),
    "w_districts_meeting": ("达标区县数（规划前 → 规划后，共 {n} 个）",
                            "Districts meeting each target (before → after, of {n})"),
    "w_target_reach": ("生活圈可达", "Reach rule"),
    "w_all_targets": ("全部目标", "All targets"),
    "w_not_known": ("未计算", "not computed"),
    "w_added_slots": ("新增托位", "Slots added"),
    "w_added_beds": ("新增床位", "Beds added"),
    "w_converted": ("转为护理型", "Beds converted"),
    "w_opened": ("新建机构", "Sites opened"),
    "w_measure": ("指标", "Measure"),
    "w_value_before": ("规划前", "Before"),
    "w_value_after": ("规划后", "After"),
    "w_value_target": ("目标", "Target"),
    "w_total_districts": ("区县总数", "Districts in all"),
    "w_meeting_target": ("达标区县数", "Districts meeting the target"),
    "w_solver": ("求解器", "Solver"),
    "w_seconds": ("秒", "s"),
    "w_timings": ("用时", "Time taken"),
    "w_t_solve": ("求解", "solve"),
    "w_t_map": ("地图", "map"),
    "w_t_render": ("表格", "tables"),
    "w_t_total": ("合计（从改动到新地图）", "total (change → new map)"),
    "w_sort_by": ("排序", "Sort by"),
    "w_sort_shortfall_total": ("缺口合计（托位 + 床位）", "Total shortfall (slots + beds)"),
    "w_descending": ("从大到小", "Largest first"),
    "w_only_missed": ("只看未达标区县", "Only districts missing a target"),
    "w_show": ("显示", "Show"),
    "w_all_states": ("全部（扩建、转换、新建）", "All (expanded, converted, opened)"),
    "w_rows_shown": ("按费用从高到低显示前 {shown} 条，共 {total} 条；完整清单见 Excel 导出。",
                     "Showing the {shown} costliest of {total}; the Excel export lists them all."),
    "w_nothing_to_build": ("无需扩建、转换或新建。", "Nothing to expand, convert or open."),
    "w_district_of": ("所在区县", "District"),
    # district table: marginal costs (yuan per +1 unit of the district's target, from the LP duals)
    "w_mc_childcare_per_1000": ("此处每千人多 1 个托位需再花", "One more slot per 1,000 here costs"),
    "w_mc_beds_per_1000_elderly": ("此处每千老人多 1 张床位需再花", "One more bed per 1,000 aged 60+ here costs"),
    "w_mc_affordable_share": ("普惠占比再高 1 个百分点需再花", "One more point of affordable share costs"),
    "w_mc_care_bed_share": ("护理型占比再高 1 个百分点需再花", "One more point of care-oriented share costs"),
    "w_mc_note": ("边际成本来自线性规划对偶值：0 表示该目标不构成约束（已超额或无需新增费用），"
                  "“–”表示在允许的扩建范围内无法再提高。",
                  "Marginal costs come from the LP duals: 0 means the target does not bind here, "
                  "'–' means it cannot be raised further with the expansions allowed."),
    "w_mc_out_of_reach": ("允许的扩建范围内无法再提高", "Cannot be raised further with the expansions allowed"),
    # export and load
    "w_export": ("导出结果", "Export"),
    "w_export_folder": ("文件夹", "Folder"),
    "w_sandbox_refused": ("此看板只读取文件夹 {folder} 中的文件和上传的文件；{path} 不在其中，未读取。",
                          "This dashboard reads only uploads and files inside {folder}; {path} is outside it and "
                          "was not read."),
    "w_sandbox_export_refused": ("此看板只写入文件夹 {folder}；{path} 不在其中，未写入。",
                                 "This dashboard writes only inside {folder}; {path} is outside it and nothing was "
                                 "written."),
    "w_download": ("下载", "Download"),
    "w_reach_served": ("出行时间内满足的需求 托育 / 养老", "Need served within reach: childcare / elderly care"),
    "w_export_button": ("导出地图、Excel、GeoPackage", "Export map, Excel, GeoPackage"),
    "w_export_done": ("已写入：", "Written:"),
    "w_export_first": ("请先求解，再导出。", "Solve first, then export."),
    "w_load": ("载入我的数据", "Load my data"),
    "w_load_path": ("方案文件 (YAML)", "Scenario file (YAML)"),
    "w_load_button": ("载入", "Load"),
    "w_upload": ("或上传：方案 YAML 及其引用的表格；或 areas、facilities（及 districts）表格",
                 "Or upload: a scenario YAML with the tables it names, or areas, facilities (and districts) tables"),
    "w_upload_choose": ("选择文件", "Choose files"),
    "w_upload_button": ("载入上传的文件", "Load uploaded files"),
    "w_upload_none": ("请先选择文件。", "Choose files first."),
    "w_upload_which": ("无法识别上传的表格：文件名需包含 areas 和 facilities（可选 districts），或同时上传方案 YAML。",
                       "Cannot tell the uploaded tables apart: name them areas… and facilities… (and optionally "
                       "districts…), or upload a scenario YAML with them."),
    "w_loaded": ("已载入：{name}（{n} 个区县）", "Loaded: {name} ({n} districts)"),
    # errors
    "w_error_input": ("数据或设置有误", "Problem in the data or settings"),
    "w_error_unexpected": ("意外错误（请把下面的信息发给技术支持）", "Unexpected error (please send the details below to support)"),
    "w_error_file": ("文件", "file"),
    "w_error_row": ("第 {row} 行", "row {row}"),
    "w_error_column": ("列", "column"),
    "w_details": ("详细信息", "Details"),
}
LABELS.update(WIDGET_LABELS)

# ------------------------------------------------------------------ levels, care need, equity

#: Administrative levels (planner.levels.LEVELS) and the two pseudo-levels.
LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "province": ("省", "Province"), "prefecture": ("市", "Prefecture"), "county": ("县区", "County"),
    "township": ("乡镇街道", "Township"), "village": ("村社区", "Village"),
    "leaf": ("最低一级", "Lowest level"), "all": ("全域", "Whole region"),
}
COLUMNS.update({
    "level": ("行政级别", "Level"),
    "division_code": ("统计用区划代码", "Statistical division code"),
    "pop_care_need": ("护理需求评估人数 (人)", "Assessed as needing care"),
    "care_need": ("护理需求评估人数 (人)", "Assessed as needing care"),
    "care_beds_per_care_need": ("护理型床位/评估失能人数", "Care beds per assessed person"),
    "target_care_beds_per_care_need": ("目标 护理型床位/评估人数", "Target care beds per assessed person"),
    "target_care_need_beds": ("按评估需求的护理型床位 (张)", "Care beds for assessed need"),
    "care_beds_per_care_need_before": ("护理型床位/评估人数 (规划前)", "Care beds per assessed person (before)"),
    "care_beds_per_care_need_after": ("护理型床位/评估人数 (规划后)", "Care beds per assessed person (after)"),
    "shortfall_care_need_beds": ("评估需求护理型床位缺口 (张)", "Care-bed shortfall vs assessed need"),
    "min_affordable_centres": ("普惠托育机构 至少 (个)", "Affordable centres, at least"),
    "target_min_affordable_centres": ("目标 普惠托育机构 至少 (个)", "Target affordable centres, at least"),
    "affordable_centre": ("普惠托育机构", "Affordable centre"),
    "target_affordable_centres": ("目标 普惠托育机构 (个)", "Target affordable centres"),
    "affordable_centres_before": ("普惠托育机构 规划前 (个)", "Affordable centres before"),
    "affordable_centres_after": ("普惠托育机构 规划后 (个)", "Affordable centres after"),
    "shortfall_affordable_centres": ("普惠托育机构缺口 (个)", "Affordable centre shortfall"),
    "attainment_childcare": ("托位达标率", "Childcare attainment"),
    "attainment_beds": ("床位达标率", "Bed attainment"),
    "districts": ("下辖区县数", "Districts below"),
    "districts_met": ("其中全部达标", "Of which meet every target"),
})
TABLE_LABELS.update({f"rollup_{k}": (f"汇总-{v[0]}", f"By {v[1].lower()}") for k, v in LEVEL_LABELS.items()})
LABELS.update({
    "w_care_beds_per_care_need": ("护理型床位/评估失能人数", "Care beds per person assessed as needing care"),
    "w_care_beds_per_care_need_hint": ("按护理需求评估：每名评估需护理的老人配置的护理型床位；0 = 不设此目标",
                                       "Care-oriented beds per person aged 60+ assessed as needing long-term care; "
                                       "0 = no such target"),
    "w_objective": ("规划目标", "Objective"),
    "w_objective_least_cost_hint": ("在预算内以最低成本达标", "Meet the targets at least cost within the budget"),
    "w_objective_equity_hint": ("先提升最差区县的达标率，再求最低成本",
                                "Lift the worst-off district first, then least cost"),
    "w_view_level": ("按级别查看", "Show by level"),
    "w_fairness": ("最差区县达标率 托位 / 床位", "Worst district: slots / beds attained"),
    "w_gini_ba": ("基尼系数 托位/千人 / 床位/千名老人", "Gini of slots / beds per 1,000"),
    "w_level_rows_met": ("{level}全部达标", "{level} meeting every target"),
    "w_level_meeting": ("达标{level}数（规划前 → 规划后，共 {n} 个）",
                        "{level} rows meeting each target (before → after, of {n})"),
    "layer_level": ("汇总边界与指标", "outlines and figures"),
    "level_districts_met": ("下辖区县全部达标", "Districts meeting every target"),
    "care_need_per_person": ("护理床位/评估人数", "Care beds per assessed"),
    "care_need_people": ("评估需护理老人", "Assessed needing care"),
    "objective_least_cost": ("最低成本", "Least cost"),
    "objective_equity": ("公平优先", "Equity first"),
    "min_attainment_childcare": ("最差区县托位达标率", "Worst district's childcare attainment"),
    "min_attainment_beds": ("最差区县床位达标率", "Worst district's bed attainment"),
    "gini_slots_per_1000": ("托位/千人 基尼系数", "Gini of slots per 1,000"),
    "gini_beds_per_1000_elderly": ("床位/千名老人 基尼系数", "Gini of beds per 1,000 aged 60+"),
})


def level_label(level: str, lang: str = DEFAULT_LANG) -> str:
    """``"prefecture"`` → ``'市'`` / ``'Prefecture'``; unknown levels as given."""
    pair = LEVEL_LABELS.get(level)
    return _pick(pair, lang) if pair else str(level)


# ------------------------------------------------------------------ input column guide (care-planner init)

#: What to type in each input column, for the templates' column guide (填写说明). English falls back
#: to the schema's own words (planner.schema.Column.doc).
COLUMN_GUIDE_ZH: dict[str, str] = {
    "area_id": "需求单元编号，不可重复（如社区、村的统计用区划代码）",
    "name": "名称；空白时用编号",
    "district_id": "所属区县/乡镇的代码，须在区县表中",
    "pop_total": "常住人口（人）",
    "pop_0_2": "0–2岁（3岁以下）儿童数（人）；仅用于报告",
    "pop_60_plus": "60岁及以上老年人口（人）",
    "setting": "城镇或农村（urban/rural，城镇/农村）：决定可达规则（农村按车行时间）",
    "lon": "经度（WGS84 度；高德/腾讯坐标请在 scenario.yaml 写 crs: gcj02，百度坐标写 crs: bd09）",
    "lat": "纬度（同上）",
    "facility_id": "机构编号，不可重复",
    "kind": "类型：childcare（托育）或 eldercare（养老）",
    "slots": "现有托位数（托育机构）",
    "slots_affordable": "其中普惠托位数，不超过现有托位",
    "beds": "现有养老床位数（养老机构）",
    "beds_care": "其中护理型床位数，不超过现有床位",
    "max_add": "现有机构最多可扩建的托位/床位数；0 表示不能扩建",
    "cost_per_unit": "每新增一个托位或一张床位的费用（元）；可扩建或候选点必填",
    "cost_per_conversion": "每张普通床位改为护理型床位的费用（元）；空白表示不能改造",
    "candidate": "是否候选新建点（是/否）；候选点没有现有托位或床位",
    "fixed_cost": "候选点新建的固定费用（元）",
    "min_size": "候选点若新建，最小规模（托位或床位）",
    "max_size": "候选点最大规模（托位或床位）；候选点必填",
    "parent_id": "上级行政区代码（如地市）",
    "childcare_per_1000": "本区县的目标：每千人托位数；空白用情景目标",
    "affordable_share": "本区县的目标：普惠托位占比（0–1）",
    "beds_per_1000_elderly": "本区县的目标：每千名60岁以上老人床位数",
    "care_bed_share": "本区县的目标：护理型床位占比（0–1）",
    "access_minutes": "本区县的可达时间（分钟）",
    "access_share": "本区县需求在可达时间内满足的比例（0–1）",
    "childcare_per_child": "本区县的目标：每名3岁以下儿童的托位数（随出生人数变化）；0 表示不用",
    "repurpose_to_beds": "托育机构每让出一个托位可改建的养老床位数；空白表示不能改建（分期规划）",
    "cost_per_repurpose": "每让出一个托位改建为床位的费用（元）；填了可改床位数时必填",
    "operating_cost_per_unit_year": "每个新增托位或床位每年的运营费（元），从建成后的下一年计（分期规划）",
    "force": "已定的决定：open（必须新建/保留且不缩减）、closed（不建、不扩）；空白由模型决定",
    "pop_care_need": "经护理需求评估为失能/半失能、需长期照护的60岁及以上老人数（人），不超过60岁及以上人口；空白为0",
    "level": "行政级别：省、市、县、乡镇、村（或 province/prefecture/county/township/village）；"
             "多级区县表中下级行的 parent_id 写上级的 district_id",
    "min_affordable_centres": "本区县（含下辖）至少开办的普惠托育机构数（个，整数）；空白表示不设",
    "care_beds_per_care_need": "本区县的目标：每名经评估需护理的老人配置的护理型床位数；空白用情景目标，0 表示不用",
    "division_code": "12位统计用区划代码（如村、社区）；自动对应到区县表中前9位或前6位代码的区县（读入时生成）",
}


# ------------------------------------------------------------------ phased plans (规划期)

PHASED_LABELS: dict[str, tuple[str, str]] = {
    "w_year_shown": ("显示年份", "Year shown"),
    "w_target_in": ("{year} 年", "in {year}"),
    "w_budget_per_year": ("分年预算合计", "Budget per year, in all"),
    "w_tab_phasing": ("分年规划", "Phasing"),
    "w_phasing_none": ("单期方案。在方案文件中设置规划年份 (years) 即可分年规划，例如 planner.load_demo(\"shanxi_2026_2030\")。",
                       "A single-period plan. Set the plan years (years) in the scenario for a phased plan, "
                       "e.g. planner.load_demo(\"shanxi_2026_2030\")."),
    "w_childcare_per_child": ("每名婴幼儿托位数（按出生人口）", "Slots per child under 3 (follows births)"),
    "w_childcare_per_child_hint": ("0 = 不按婴幼儿数；否则托位数还须 ≥ 该值 × 3 岁以下人口",
                                   "0 = off; otherwise slots ≥ this × children under 3 as well"),
    "year": ("年份", "Year"),
    "sheet_phasing": ("分年规划", "Phasing"),
    "sheet_year": ("区县 {year}", "Districts {year}"),
    "sheet_facility_years": ("机构分年", "Facilities by year"),
    "phasing_title": ("{where}：需求与能力（{first}–{last}）", "{where}: need and capacity ({first}–{last})"),
    "phasing_region": ("全域", "Whole region"),
    "phasing_slots": ("托位", "Childcare slots"),
    "phasing_beds": ("养老床位", "Elderly-care beds"),
    "phasing_need": ("需求（目标）", "need (target)"),
    "phasing_need_children": ("按婴幼儿数", "by children under 3"),
    "phasing_capacity": ("规划后能力", "capacity after the plan"),
    "phasing_before": ("现有能力", "capacity before the plan"),
    "phasing_spent": ("当年支出", "spent in the year"),
    "phasing_budget": ("累计预算", "budget to date"),
    "phasing_money": ("资金（{unit}）", "Money ({unit})"),
    "explain_line": ("{year}年：{district} {target}缺口 {amount}（{reason}）",
                     "{year}: {target} short by {amount} in {district} ({reason})"),
    "explain_none": ("{year}年：全部目标达成", "{year}: every target met"),
}
LABELS.update(PHASED_LABELS)

#: Short reasons for one line per year and district ("2029: 托位 short by 120 in 娄烦县, budget").
REASONS_SHORT: dict[str, tuple[str, str]] = {
    "budget": ("预算不足", "budget"),
    "expansion_limit": ("扩建上限", "expansion limits"),
    "no_site_in_reach": ("出行时间内无机构", "no site in reach"),
    "time_limit": ("求解时间上限", "time limit"),
}

COLUMNS.update({
    "year": ("年份", "Year"),
    "childcare_per_child": ("托位/婴幼儿 目标", "Slots per child under 3 (target)"),
    "target_childcare_per_child": ("目标 托位/婴幼儿", "Target slots per child under 3"),
    "slots_per_child_before": ("托位/婴幼儿 (规划前)", "Slots per child under 3 (before)"),
    "slots_per_child_after": ("托位/婴幼儿 (规划后)", "Slots per child under 3 (after)"),
    "repurposed_slots": ("托位改养老床位", "Slots repurposed to beds"),
    "beds_from_repurposing": ("改建所得床位", "Beds from repurposed slots"),
    "repurpose_to_beds": ("每个托位可改床位数", "Beds per slot repurposed"),
    "cost_per_repurpose": ("改建单价 (元/托位)", "Repurposing cost (yuan per slot)"),
    "operating_cost_per_unit_year": ("运营费 (元/个·年)", "Operating cost (yuan per unit-year)"),
    "capital_cost": ("建设费用 (元)", "Capital cost (yuan)"),
    "operating_cost": ("运营费用 (元)", "Operating cost (yuan)"),
    "need_slots": ("托位需求", "Slots needed"),
    "need_beds": ("床位需求", "Beds needed"),
    "slots_for_children": ("按婴幼儿数的托位需求", "Slots needed by children under 3"),
    "cost_yuan": ("当年支出 (元)", "Spent in the year (yuan)"),
    "budget_yuan": ("当年预算 (元)", "Budget of the year (yuan)"),
    "budget_to_date_yuan": ("累计预算 (元)", "Budget to date (yuan)"),
    "spent_to_date_yuan": ("累计支出 (元)", "Spent to date (yuan)"),
})
STATES["repurposed"] = ("托位改养老床位", "slots repurposed to beds")


def reason_short(code: str, lang: str = DEFAULT_LANG) -> str:
    """A reason code (``budget`` …) in a word or two; unknown codes as given."""
    return _pick(REASONS_SHORT[code], lang) if code in REASONS_SHORT else str(code)


def target_word(target: str, lang: str = DEFAULT_LANG) -> str:
    """A target code of ``shortfall_reason`` (``slots``, ``beds`` …) in words."""
    return _pick(TARGET_WORDS[target], lang) if target in TARGET_WORDS else str(target)
