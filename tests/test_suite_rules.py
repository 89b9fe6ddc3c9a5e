"""Rules of the test suite itself (issue 14): helpers and fixtures shared by several test
modules live in tests/support.py, tests/support_browser.py and tests/conftest.py, so that no
test module imports another one."""

from __future__ import annotations

import ast

from tests.support import REPO


def _imported_modules(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_test_module_imports_another_test_module() -> None:
    offenders = {}
    for path in sorted((REPO / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        imported = {
            name
            for name in _imported_modules(tree)
            if name.startswith("tests.test_") or name.startswith("test_")
        }
        if imported:
            offenders[path.name] = sorted(imported)
    assert offenders == {}
