"""The storage package stays easy to hold in one's head: no import cycles, no module over ~400 lines."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

from bts.booking.settings import PROJECT_ROOT

PACKAGES = [PROJECT_ROOT / "bts" / "booking", PROJECT_ROOT / "bts" / "db"]
MODULES = [path for folder in PACKAGES for path in sorted(folder.glob("*.py"))]
MODULES.append(PROJECT_ROOT / "bts" / "retention.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_at_run_time(path: Path) -> Set[str]:
    """Modules a file imports when it runs (imports under `if TYPE_CHECKING:` excluded)."""
    found: Set[str] = set()
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bts"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("bts"))
    return found


def test_there_is_no_import_cycle() -> None:
    graph: Dict[str, Set[str]] = {module_name(p): set() for p in MODULES}
    for path in MODULES:
        graph[module_name(path)] = {m for m in imports_at_run_time(path) if m in graph} - {module_name(path)}
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
    long = {module_name(p): n for p in MODULES if (n := len(p.read_text().splitlines())) > 420}
    assert long == {}
