"""Fuzz: valid CSVs perturbed (cells, headers, encodings, separators, trailing commas, blank lines).

Whatever a planner's file looks like, loading it gives either a table with
every row, or a PlannerError naming the file and the column — never another
exception, never a silently dropped row.
"""

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import planner
from planner.io import validate_table
from conftest import area

COLUMNS = ["area_id", "name", "district_id", "pop_total", "pop_0_2", "pop_60_plus", "setting", "lon", "lat"]
BASE = [[str(area(f"a{i}", f"D{i % 2}", pop=1000 + i, pop60=100 + i, pop02=30,
                  lon=112.5 + i / 100, lat=37.8)[c] if c in area("x") else {"setting": "urban", "name": f"小区{i}"}[c])
         for c in COLUMNS] for i in range(5)]

# no NUL: the csv module refuses it before any column exists to name
cell_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=12)
cells = st.one_of(cell_text, st.sampled_from(["", " ", "-1", "1e400", "nan", "1,000", "０", "是", "TRUE", "12.5万",
                                              "\"", "'", ";", "\t", "\n", "北京", "NULL", "#N/A"]),
                  st.integers(-10**6, 10**9).map(str), st.floats(allow_nan=True).map(str))
headers = st.one_of(st.sampled_from(COLUMNS), cell_text, st.sampled_from(["", " pop_total ", "POP_TOTAL", "人口"]))


@st.composite
def perturbed(draw):
    header = list(COLUMNS)
    rows = [list(r) for r in BASE]
    for _ in range(draw(st.integers(0, 4))):
        rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(0, len(COLUMNS) - 1))] = draw(cells)
    for _ in range(draw(st.integers(0, 2))):
        header[draw(st.integers(0, len(COLUMNS) - 1))] = draw(headers)
    if draw(st.booleans()):
        rows.insert(draw(st.integers(0, len(rows))), [""] * len(COLUMNS))  # a blank line
    return (header, rows, draw(st.sampled_from([",", ";", "\t", "|"])),
            draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"])), draw(st.booleans()))


def csv_bytes(header, rows, sep, encoding, trailing_comma):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    for r in [header] + rows:
        w.writerow(r + ([""] if trailing_comma else []))
    return buf.getvalue().encode(encoding)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=perturbed())
def test_every_row_or_a_named_error(tmp_path, case):
    header, rows, sep, encoding, trailing = case
    path = tmp_path / "areas.csv"
    path.write_bytes(csv_bytes(header, rows, sep, encoding, trailing))
    try:
        df = validate_table(path, "areas")
    except planner.PlannerError as e:
        assert e.file == str(path), str(e)
        assert e.column, f"no column named: {e}"
        return
    records = [r for r in rows if any(c.strip() for c in r)]
    assert len(df) == len(records)  # every row that is not blank, none dropped
    assert list(df["area_id"]) == [r[header.index("area_id")].strip() for r in records]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_unperturbed_reads_whole(tmp_path, sep, encoding):
    path = tmp_path / "areas.csv"
    path.write_bytes(csv_bytes(COLUMNS, BASE, sep, encoding, sep == ","))
    assert validate_table(path, "areas")["area_id"].tolist() == [f"a{i}" for i in range(5)]
