"""The house a newcomer walks: imports run one way, tasks/ is grouped by stage, no module too long to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # reads the source tree only: runs once

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "tasks", "flows", "portal", "deployments", "reportcycle")

# What each layer may not import: models <- tasks <- flows <- deployments / CLI / portal.
FORBIDDEN = {
    "models": ("tasks", "flows", "portal", "deployments", "reportcycle.cli", "prefect"),
    "tasks": ("flows", "portal", "deployments", "reportcycle.cli", "reportcycle.serve", "reportcycle.demo"),
    "flows": ("portal", "deployments", "reportcycle.cli", "reportcycle.serve"),
}


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def breaks(layer: str, names: set[str]) -> list[str]:
    return sorted(n for n in names for bad in FORBIDDEN[layer] if n == bad or n.startswith(bad + "."))


def test_the_checker_sees_a_wrong_way_import(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def f():\n    from flows.chase import chase_flow\n    import portal.web\n")
    assert breaks("tasks", imported(wrong)) == ["flows.chase", "flows.chase.chase_flow", "portal.web"]
    assert breaks("flows", imported(wrong)) == ["portal.web"]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_run_one_way(layer: str) -> None:
    found = {
        str(path.relative_to(ROOT)): breaks(layer, imported(path))
        for path in sorted((ROOT / layer).rglob("*.py"))
        if breaks(layer, imported(path))
    }
    assert found == {}


def test_tasks_are_grouped_by_stage_each_folder_saying_what_lives_there() -> None:
    assert sorted(p.name for p in (ROOT / "tasks").glob("*.py")) == ["__init__.py"]
    folders = sorted(p.name for p in (ROOT / "tasks").iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == [
        "asking",
        "contributions",
        "desk",
        "inbound",
        "links",
        "mail",
        "ops",
        "report",
        "review",
        "years",
    ]
    for folder in folders:
        doc = ast.get_docstring(ast.parse((ROOT / "tasks" / folder / "__init__.py").read_text()))
        assert doc and "\n" not in doc.strip(), folder


def test_no_module_is_too_long_to_read_in_one_sitting() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert long == {}
