"""No import cycles between the action modules (bot/actions/*.py), counting imports inside
functions too: a cycle hidden in a function-level import is still a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ACTIONS = Path(__file__).resolve().parents[2] / "bot" / "actions"
PACKAGE = "actions"


def imported_modules(tree: ast.AST, modules: set[str]) -> set[str]:
    """The sibling modules (names in `modules`) a parsed module imports, anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE and len(parts) > 1 and parts[1] in modules:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".") if node.module else []
            if node.level == 1:  # from . import x / from .x import y
                parts = [PACKAGE, *parts]
            if not parts or parts[0] != PACKAGE:
                continue
            if len(parts) > 1:
                if parts[1] in modules:
                    found.add(parts[1])
            else:  # from actions import booking
                found.update(alias.name for alias in node.names if alias.name in modules)
    return found


def import_graph(folder: Path = ACTIONS) -> dict[str, set[str]]:
    files = {path.stem: path for path in folder.glob("*.py") if path.stem != "__init__"}
    names = set(files)
    return {
        name: imported_modules(ast.parse(path.read_text(encoding="utf-8")), names) - {name}
        for name, path in files.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search, white/grey/black)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_checker_sees_cycles_including_function_level_imports(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from actions.b import x\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("def f():\n    from actions import c\n", encoding="utf-8")
    (tmp_path / "c.py").write_text("import actions.a\n", encoding="utf-8")
    (tmp_path / "d.py").write_text("from actions.a import y\nimport os\n", encoding="utf-8")
    graph = import_graph(tmp_path)
    assert graph == {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    (tmp_path / "c.py").write_text("import os\n", encoding="utf-8")
    assert find_cycle(import_graph(tmp_path)) is None


def test_no_import_cycle_in_bot_actions() -> None:
    graph = import_graph()
    assert {"flow", "booking", "confirmation", "exams", "billing"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in bot/actions: " + " -> ".join(cycle or [])


def test_the_flow_kernel_imports_no_flow() -> None:
    """The kernel is below every flow: flows import it, never the other way round."""
    assert import_graph()["flow"].isdisjoint({"booking", "confirmation", "exams", "billing", "clinic_info"})
