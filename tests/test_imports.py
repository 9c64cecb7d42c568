"""The module graph: validation is a leaf; reading, validating and building a Scenario form no circle."""

import ast
from pathlib import Path

PLANNER = Path(__file__).resolve().parents[1] / "planner"


def import_graph() -> dict:
    """planner module → the planner modules it imports (at top level or inside functions)."""
    mods = {p.stem for p in PLANNER.glob("*.py")}
    graph = {}
    for m in mods:
        deps = set()
        for node in ast.walk(ast.parse((PLANNER / f"{m}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    deps.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
                elif node.module and node.module.startswith("planner."):
                    deps.add(node.module.split(".")[1])
                elif node.module == "planner":
                    deps.update(a.name for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name.split(".")[1] for a in node.names if a.name.startswith("planner."))
        graph[m] = (deps & mods) - {m}
    return graph


def reaches(graph, start) -> set:
    seen, todo = set(), [start]
    while todo:
        for d in graph[todo.pop()]:
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def test_validate_is_a_leaf():
    assert import_graph()["_validate"] <= {"_errors", "schema"}


def test_reading_validating_and_scenarios_form_no_circle():
    g = import_graph()
    for m in ("io", "_validate", "scenario", "access", "crs"):
        if m in g:
            assert m not in reaches(g, m), f"planner.{m} imports itself through {sorted(reaches(g, m))}"


def test_io_does_not_know_about_scenarios():
    g = import_graph()
    assert "scenario" not in reaches(g, "io") and "access" not in reaches(g, "io")


def test_validation_knows_the_same_population_columns_as_phasing():
    # _validate cannot import phasing (it is a leaf): it derives the list from the schema instead
    from planner._validate import POP_COLUMNS
    from planner.phasing import POP_COLUMNS as PHASING

    assert tuple(POP_COLUMNS) == tuple(PHASING)


def circles(graph) -> list:
    """The import circles (strongly connected components of more than one module), Tarjan's algorithm."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_circles_finds_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_among_planner_modules():
    """Data flows one way (files → frames → Scenario → LP → Result → tables, maps, exports): no planner
    module imports, even lazily inside a function, a module that imports it back. No import is excluded."""
    assert circles(import_graph()) == []


def test_one_way_from_the_solve_call_down_to_the_charts():
    """plan (planner.solve: build, run, read) → phased (the years' model and its Result) → solve (the
    solver runs) and result → charts / maps / exports → phased_tables."""
    g = import_graph()
    assert not {"plan", "phased", "result"} & reaches(g, "solve")
    assert "plan" not in reaches(g, "phased")
    assert not {"plan", "phased", "solve"} & reaches(g, "result")
    assert not {"plan", "phased", "solve", "result"} & (reaches(g, "charts") | reaches(g, "phased_tables"))


def test_the_shortfall_column_names_are_written_once():
    """The map from a target to its shortfall column lives in planner.schema; the Result, the phased
    marginal costs and the phased tables read it there."""
    from planner import phased_tables, schema

    text = {p.name: p.read_text(encoding="utf-8") for p in PLANNER.glob("*.py")}
    assert [name for name, t in text.items() if '"slots": "shortfall_slots"' in t] == ["schema.py"]
    assert phased_tables.SHORTFALL_COLUMNS is schema.SHORTFALL_COLUMNS
    assert not any(m in reaches(import_graph(), m) for m in ("schema", "targets", "result", "phased"))
