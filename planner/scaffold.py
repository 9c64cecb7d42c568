"""``care-planner init FOLDER`` / :func:`init_scenario`: a scenario folder to fill in.

Writes ``areas.xlsx``, ``facilities.xlsx``, ``districts.xlsx`` and
``scenario.yaml``. Each workbook's first sheet has Chinese labels in row 1,
the column names the planner reads in row 2 (:func:`planner.io.read_file`
takes row 2 as the header) and example rows from row 3; a second sheet
(填写说明 / Column guide) lists every column with its unit, default and
meaning, straight from :mod:`planner.schema`. The example rows ship with the
package (``planner/templates/``); the scenario YAML solves as written.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
import io as _io
import math

import pandas as pd

from . import i18n
from ._errors import PlannerError
from .io import write_atomic, write_text_atomic
from .schema import TABLES

WORKBOOKS = {"areas": "areas.xlsx", "facilities": "facilities.xlsx", "districts": "districts.xlsx"}
LOCATION = ("lon", "lat")
GUIDE_SHEET = {"zh": "填写说明", "en": "Column guide"}
DATA_SHEET = {"zh": "数据", "en": "Data"}
YES = {"zh": "是", "en": "yes"}
GUIDE_HEAD = {"zh": ["列名 (第2行)", "中文名 (第1行)", "必填", "缺省值", "单位", "说明"],
              "en": ["column (row 2)", "label (row 1)", "required", "default", "unit", "meaning"]}
LOCATION_DOC = {"lon": ("degrees", "longitude, WGS84 (or the crs set in scenario.yaml: gcj02, bd09, EPSG:…)"),
                "lat": ("degrees", "latitude, WGS84 (or the crs set in scenario.yaml)")}


def template_text(name: str) -> str:
    """One shipped template file (``planner/templates/NAME``) as text."""
    return resources.files("planner").joinpath("templates", name).read_text(encoding="utf-8")


def _columns(table: str) -> list:
    cols = [c.name for c in TABLES[table]]
    return cols + list(LOCATION) if table != "districts" else cols


def init_scenario(folder, *, lang: str = "zh") -> Path:
    """Write a scenario folder to fill in; return the path of its ``scenario.yaml``.

    Parameters
    ----------
    folder : str or PathLike
        Created if missing. Files already there are never overwritten: if any
        of the four files exists, nothing is written and PlannerError says which.
    lang : {"zh", "en"}
        Language of the labels in row 1 and of the column guide.
    """
    i18n.check_lang(lang)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise PlannerError("this is a file, not a folder: choose a folder for the new scenario", folder)
    targets = [folder / f for f in (*WORKBOOKS.values(), "scenario.yaml")]
    for p in targets:
        if p.exists():
            raise PlannerError("already exists; init never overwrites: choose an empty or new folder", p)
    for table, file in WORKBOOKS.items():
        example = pd.read_csv(_io.StringIO(template_text(f"{table}.csv")), dtype=str, keep_default_na=False)
        write_atomic(folder / file, lambda tmp, t=table, e=example: _workbook(t, e, lang).save(tmp))
    return write_text_atomic(template_text("scenario.yaml"), folder / "scenario.yaml")


def _cell(value: str, dtype: str):
    """Example text → the typed cell a planner would type (numbers as numbers, 是/否 as booleans)."""
    if value == "":
        return None
    if dtype == "number":
        v = float(value)
        return int(v) if v.is_integer() else v
    if dtype == "bool":
        return value.strip().lower() in ("true", "1", "是", "yes")
    return value


def _workbook(table: str, example: pd.DataFrame, lang: str):
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    schema = {c.name: c for c in TABLES[table]}
    cols = _columns(table)
    unknown = set(example.columns) - set(cols)
    assert not unknown, f"template {table}.csv has columns the schema lacks: {unknown}"  # a packaging bug
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET[lang]
    ws.append([i18n.column_label(c, lang) for c in cols])
    ws.append(cols)
    for _, row in example.iterrows():
        ws.append([_cell(row.get(c, ""), schema[c].dtype if c in schema else "number") for c in cols])
    head, code = Font(bold=True), Font(italic=True, color="808080", size=9)
    fill = {True: PatternFill("solid", fgColor="FCE4D6"), False: PatternFill("solid", fgColor="DDEBF7")}
    for j, c in enumerate(cols, start=1):
        required = c in LOCATION or (c in schema and schema[c].required)
        ws.cell(1, j).font, ws.cell(1, j).fill = head, fill[required]
        ws.cell(1, j).alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(2, j).font = code
        ws.column_dimensions[ws.cell(1, j).column_letter].width = max(12, min(28, len(c) + 4))
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "B3"

    guide = wb.create_sheet(GUIDE_SHEET[lang])
    guide.append(GUIDE_HEAD[lang])
    for c in cols:
        if c in schema:
            col = schema[c]
            default = "" if col.required else ("" if isinstance(col.default, float) and math.isnan(col.default)
                                               else str(col.default))
            doc = i18n.COLUMN_GUIDE_ZH.get(c, col.doc) if lang == "zh" else col.doc
            guide.append([c, i18n.column_label(c, lang), YES[lang] if col.required else "", default, col.unit, doc])
        else:
            unit, doc = LOCATION_DOC[c]
            doc = i18n.COLUMN_GUIDE_ZH[c] if lang == "zh" else doc
            guide.append([c, i18n.column_label(c, lang), YES[lang], "", unit, doc])
    for j, width in enumerate((22, 26, 9, 10, 22, 80), start=1):
        guide.column_dimensions[guide.cell(1, j).column_letter].width = width
        guide.cell(1, j).font = head
    return wb
