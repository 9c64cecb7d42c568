"""The column contract: one table of names, types, defaults and units.

``planner.io`` validates against it, ``planner.result`` documents its own
columns from it, and the README's column reference is printed from it
(``care-planner columns``).
"""

from __future__ import annotations

from dataclasses import dataclass
import math

NAN = math.nan

KINDS = ("childcare", "eldercare")


# ---------------------------------------------------------------- administrative levels

#: Canonical level names, top to bottom.
LEVELS = ("province", "prefecture", "county", "township", "village")
#: Words planners write in a ``level`` column (lower-cased English or Chinese).
LEVEL_ALIASES = {
    "province": "province", "provincial": "province", "省": "province", "省级": "province",
    "自治区": "province", "直辖市": "province",
    "prefecture": "prefecture", "city": "prefecture", "市": "prefecture", "地级": "prefecture",
    "地级市": "prefecture", "地市": "prefecture", "州": "prefecture", "盟": "prefecture",
    "county": "county", "district": "county", "县": "county", "区县": "county", "县级": "county",
    "县区": "county", "县市区": "county", "旗": "county",
    "township": "township", "town": "township", "subdistrict": "township", "street": "township",
    "乡镇": "township", "乡": "township", "镇": "township", "街道": "township", "乡级": "township",
    "乡镇街道": "township", "苏木": "township",
    "village": "village", "community": "village", "村": "village", "社区": "village", "村级": "village",
    "村居": "village",
}


def canonical_level(word) -> str | None:
    """``"县"`` → ``"county"``; ``None`` for a word that names no level."""
    w = str(word).strip()
    return LEVEL_ALIASES.get(w.lower(), LEVEL_ALIASES.get(w))


@dataclass(frozen=True)
class Column:
    """One input column.

    ``dtype`` is one of ``"id"`` (text key), ``"text"``, ``"number"`` (float),
    ``"bool"``. ``required`` columns must exist and have a value in every row;
    optional ones take ``default`` when the column is missing or a cell is
    blank. ``minimum`` is checked for numbers (``None``: no bound).
    """

    name: str
    dtype: str
    required: bool
    default: object
    unit: str
    doc: str
    minimum: float | None = 0.0


AREAS = (
    Column("area_id", "id", True, None, "", "unique id of the demand area"),
    Column("name", "text", False, "", "", "label; defaults to the id"),
    Column("district_id", "id", True, None, "", "district the area belongs to"),
    Column("pop_total", "number", True, None, "people", "residents"),
    Column("pop_0_2", "number", False, NAN, "people", "children under 3 (reported, not used in the targets)"),
    Column("pop_60_plus", "number", True, None, "people", "residents aged 60 and over"),
    Column("setting", "text", False, "urban", "", "urban or rural (城镇/农村): picks the reach rule"),
    Column("pop_care_need", "number", False, 0.0, "people",
           "aged 60+ assessed as needing long-term care (护理需求评估: 失能/半失能)"),
)

FACILITIES = (
    Column("facility_id", "id", True, None, "", "unique id"),
    Column("name", "text", False, "", "", "label; defaults to the id"),
    Column("kind", "text", True, None, "", "childcare or eldercare"),
    Column("district_id", "id", True, None, "", "district the facility is counted in"),
    Column("slots", "number", False, 0.0, "slots", "existing childcare slots"),
    Column("slots_affordable", "number", False, 0.0, "slots", "existing affordable (普惠) slots, ≤ slots"),
    Column("beds", "number", False, 0.0, "beds", "existing elderly-care beds"),
    Column("beds_care", "number", False, 0.0, "beds", "existing care-oriented (护理型) beds, ≤ beds"),
    Column("max_add", "number", False, 0.0, "slots or beds", "how much an existing facility may expand"),
    Column("cost_per_unit", "number", False, NAN, "yuan per slot or bed",
           "cost of one added slot/bed; required where max_add > 0 or candidate"),
    Column("cost_per_conversion", "number", False, NAN, "yuan per bed",
           "cost to convert one ordinary bed to care-oriented; blank: cannot convert"),
    Column("candidate", "bool", False, False, "", "a site that could be opened (no existing capacity)"),
    Column("fixed_cost", "number", False, 0.0, "yuan", "cost of opening a candidate site"),
    Column("min_size", "number", False, 0.0, "slots or beds", "smallest size if a candidate is opened"),
    Column("max_size", "number", False, NAN, "slots or beds", "largest size of a candidate; required for candidates"),
    Column("force", "text", False, "", "",
           "a decision already taken: open (a candidate that must open; an existing facility that must stay) "
           "or closed (never opened, expanded or converted); blank: the model decides"),
    # phased plans (DESIGN.md "Phased plans over years")
    Column("repurpose_to_beds", "number", False, NAN, "beds per slot",
           "childcare: elderly-care beds gained per slot given up in place; blank: cannot repurpose"),
    Column("cost_per_repurpose", "number", False, NAN, "yuan per slot",
           "cost of giving up one slot for beds; required where repurpose_to_beds is given"),
    Column("operating_cost_per_unit_year", "number", False, 0.0, "yuan per slot or bed per year",
           "running cost of an added slot/bed, from the year after it is added (phased plans)"),
)

FORCE_VALUES = ("", "open", "closed")
FORCE_ALIASES = {"开": "open", "开设": "open", "必建": "open", "关": "closed", "关闭": "closed", "不建": "closed"}

DISTRICTS = (
    Column("district_id", "id", True, None, "", "unique id (e.g. the 6-digit adcode)"),
    Column("name", "text", False, "", "", "label; defaults to the id"),
    Column("parent_id", "id", False, "", "", "parent division, e.g. the prefecture"),
    Column("level", "text", False, "", "",
           "province / prefecture / county / township / village (省/市/县/乡镇/村)"),
    Column("min_affordable_centres", "number", False, NAN, "centres",
           "at least this many affordable (普惠) childcare centres open in the district (and below it)"),
)

# Optional per-district overrides of the scenario targets (same names as Targets).
TARGET_COLUMNS = (
    Column("childcare_per_1000", "number", False, NAN, "slots per 1,000 residents", "target"),
    Column("affordable_share", "number", False, NAN, "share 0–1", "affordable share of all slots"),
    Column("beds_per_1000_elderly", "number", False, NAN, "beds per 1,000 aged 60+", "target"),
    Column("care_bed_share", "number", False, NAN, "share 0–1", "care-oriented share of beds"),
    Column("access_minutes", "number", False, NAN, "minutes", "catchment travel time"),
    Column("access_share", "number", False, NAN, "share 0–1", "share of need served within reach"),
    Column("care_beds_per_care_need", "number", False, NAN, "care-oriented beds per assessed person",
           "care-oriented beds per person assessed as needing care"),
    Column("childcare_per_child", "number", False, NAN, "slots per child under 3",
           "slots ≥ rate × pop_0_2 as well (need that follows births); 0: off"),
)

# Phased plans: population per area and year, or yearly growth rates per district.
POPULATION = (
    Column("area_id", "id", True, None, "", "area of the areas table"),
    Column("year", "number", True, None, "year", "a plan year", minimum=None),
    Column("pop_total", "number", True, None, "people", "residents in that year"),
    Column("pop_0_2", "number", False, NAN, "people", "children under 3 in that year"),
    Column("pop_60_plus", "number", True, None, "people", "residents aged 60+ in that year"),
)
GROWTH = (
    Column("district_id", "id", True, None, "", "district whose areas grow at these rates"),
    Column("pop_total", "number", False, 0.0, "per year", "compound yearly rate, e.g. -0.003", minimum=-0.99),
    Column("pop_0_2", "number", False, 0.0, "per year", "compound yearly rate of children under 3", minimum=-0.99),
    Column("pop_60_plus", "number", False, 0.0, "per year", "compound yearly rate of the 60+", minimum=-0.99),
)

OD = (
    Column("origin_id", "id", True, None, "", "area_id of the origin"),
    Column("destination_id", "id", True, None, "", "facility_id of the destination"),
    Column("minutes", "number", True, None, "minutes", "travel time"),
    Column("mode", "text", False, "", "", "walk or drive; blank: every mode"),
)

SHARE_COLUMNS = ("affordable_share", "care_bed_share", "access_share")

TABLES = {
    "areas": AREAS,
    "facilities": FACILITIES,
    "districts": DISTRICTS + TARGET_COLUMNS,
    "od_matrix": OD,
    "population": POPULATION,
    "growth": GROWTH,
}

ID_COLUMN = {"areas": "area_id", "facilities": "facility_id", "districts": "district_id"}
SETTING_ALIASES = {"城镇": "urban", "城市": "urban", "城区": "urban", "农村": "rural", "乡村": "rural"}

# Tables whose rows must have a location; districts may be plain CSV.
GEOMETRY_REQUIRED = {"areas": True, "facilities": True, "districts": False, "od_matrix": False,
                     "population": False, "growth": False}

# Output columns added by planner.result, documented here so there is one list.
RESULT_DISTRICT_COLUMNS = {
    "slots_before": "slots", "slots_after": "slots",
    "slots_per_1000_before": "slots per 1,000 residents", "slots_per_1000_after": "slots per 1,000 residents",
    "affordable_share_after": "share", "beds_before": "beds", "beds_after": "beds",
    "beds_per_1000_elderly_before": "beds per 1,000 aged 60+",
    "beds_per_1000_elderly_after": "beds per 1,000 aged 60+",
    "care_share_before": "share", "care_share_after": "share",
    "met": "all targets met", "met_targets": "per-1,000 and share targets met",
    "met_access": "reach rule met in every area", "shortfall_slots": "slots", "shortfall_affordable": "slots",
    "shortfall_beds": "beds", "shortfall_care_beds": "beds",
    "shortfall_access_childcare": "slots", "shortfall_access_beds": "beds",
    "shortfall_reason": "codes, ';'-separated", "cost": "yuan",
    # from the LP duals (docs/model.md, "Marginal costs"): 0 not binding, NaN out of reach
    "marginal_cost_childcare_per_1000": "yuan per +1 slot per 1,000 residents",
    "marginal_cost_beds_per_1000_elderly": "yuan per +1 bed per 1,000 aged 60+",
    "marginal_cost_affordable_share": "yuan per +1 percentage point", "marginal_cost_care_bed_share": "yuan per +1 percentage point",
    "slots_per_child_before": "slots per child under 3", "slots_per_child_after": "slots per child under 3",
}

# The district table's shortfall column of each district row (``district``: what the marginal costs
# and the shortfall reasons read) and of each reach kind.
DISTRICT_SHORTFALL_COLUMNS = {"slots": "shortfall_slots", "affordable": "shortfall_affordable",
                              "beds": "shortfall_beds", "care": "shortfall_care_beds"}
SHORTFALL_COLUMNS = {**DISTRICT_SHORTFALL_COLUMNS, "access_childcare": "shortfall_access_childcare",
                     "access_beds": "shortfall_access_beds"}

# Phased plans: res.facility_years and res.by_year (with "year") add these.
RESULT_FACILITY_YEAR_COLUMNS = {
    "added_slots": "slots added in that year", "added_beds": "beds added in that year",
    "converted_care_beds": "beds converted in that year", "repurposed_slots": "slots given up for beds in that year",
    "opened": "open in that year (a candidate opened stays open)", "cost": "yuan spent in that year",
    "operating_cost": "yuan of running added capacity in that year",
}


def markdown_reference() -> str:
    """The input column reference as a Markdown table (for the README)."""
    lines = []
    for table, cols in TABLES.items():
        lines += [f"**{table}**", "", "| column | required | default | unit | meaning |", "|---|---|---|---|---|"]
        for c in cols:
            default = "" if c.required else ("blank" if isinstance(c.default, float) and math.isnan(c.default) else repr(c.default))
            lines.append(f"| `{c.name}` | {'yes' if c.required else 'no'} | {default} | {c.unit} | {c.doc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_reference())
