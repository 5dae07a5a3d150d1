"""The direction of imports (docs/architecture.md): read from the source, so a wrong arrow fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COMPONENT_PACKAGES = {"envs", "teachers", "agents"}
#: the one core module allowed to import components (it looks them up by registered name)
COMPOSITION_ROOT = "curricula/experiment.py"


def imported_top_level_packages(path: Path) -> set[str]:
    """Top-level package names a module imports anywhere (module level or inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules_of("curricula"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_component_except_the_composition_root(path: Path) -> None:
    if path.relative_to(ROOT).as_posix() == COMPOSITION_ROOT:
        return
    wrong = imported_top_level_packages(path) & COMPONENT_PACKAGES
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}; only {COMPOSITION_ROOT} may"


def test_the_composition_root_does_import_the_components() -> None:
    # the rule above would pass vacuously if the root stopped being the root
    assert imported_top_level_packages(ROOT / COMPOSITION_ROOT) >= COMPONENT_PACKAGES


@pytest.mark.parametrize("path", modules_of("envs"), ids=lambda p: str(p.relative_to(ROOT)))
def test_envs_import_no_teacher_or_agent(path: Path) -> None:
    wrong = imported_top_level_packages(path) & {"teachers", "agents"}
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from teachers.plr import x\n    import agents.device\n")
    assert imported_top_level_packages(module) == {"teachers", "agents"}
