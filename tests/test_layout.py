"""The code stays easy to hold in one's head: no import cycles, short modules, no `sys.path` edits."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("actions", "bts", "components", "console", "scripts")
MAX_LINES = 420
MODULES = sorted(
    path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    if "migrations/versions" not in path.as_posix()
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_at_run_time(path: Path) -> Set[str]:
    """First-party modules a file imports when it runs (`if TYPE_CHECKING:` blocks excluded)."""
    found: Set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PACKAGES:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES)
    return found


def test_the_check_sees_the_project() -> None:
    names = {module_name(p) for p in MODULES}
    assert {"actions.booking", "bts.booking.store", "components.nlu", "console.web"} <= names


def test_there_is_no_import_cycle() -> None:
    graph: Dict[str, Set[str]] = {module_name(p): set() for p in MODULES}
    for path in MODULES:
        name = module_name(path)
        # A package's own __init__ runs before any of its modules: not an edge worth following.
        ancestors = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}
        graph[name] = {m for m in imports_at_run_time(path) if m in graph} - {name} - ancestors
    visiting: List[str] = []
    done: Set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        if module in visiting:
            raise AssertionError("import cycle: " + " -> ".join(visiting[visiting.index(module):] + [module]))
        visiting.append(module)
        for target in sorted(graph[module]):
            visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_no_module_is_over_about_400_lines() -> None:
    lengths = {module_name(p): len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES}
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


def test_no_code_edits_sys_path() -> None:
    edits = []
    for path in [*MODULES, *sorted((ROOT / "tests").rglob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        if path.name != "test_layout.py" and ("sys.path.insert" in text or "sys.path.append" in text):
            edits.append(str(path.relative_to(ROOT)))
    assert edits == []
