"""Teachers depend on the core only, and never on each other's private names (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEACHER_MODULES = sorted((ROOT / "teachers").rglob("*.py"))


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _registers_a_teacher(tree: ast.Module) -> bool:
    """Whether a module registers a teacher: a class decorated with ``@register_teacher(...)`` (task teachers) or
    ``@register_reward_teacher(...)`` (reward teachers)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = ast.unparse(call).rsplit(".", 1)[-1]
                if name in ("register_teacher", "register_reward_teacher"):
                    return True
    return False


TREES = {_module_name(p): ast.parse(p.read_text(), filename=str(p)) for p in TEACHER_MODULES}
TEACHER_DEFINING = {name for name, tree in TREES.items() if _registers_a_teacher(tree)}


def private_imports_from_teacher_modules(module: str, tree: ast.Module, teacher_modules: set[str]) -> list[str]:
    """``module.name`` for every private name that ``module`` takes from another teacher-registering module,
    by ``from x import _name`` or by ``x._name`` on a module imported as a whole."""
    found: list[str] = []
    module_aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in teacher_modules - {module}:
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "teachers":
            for alias in node.names:
                if f"teachers.{alias.name}" in teacher_modules - {module}:
                    module_aliases[alias.asname or alias.name] = f"teachers.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in teacher_modules - {module}:
                    module_aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = ast.unparse(node.value)
            if owner in module_aliases:
                found.append(f"{module_aliases[owner]}.{node.attr}")
    return found


def imported_top_level_packages(tree: ast.Module) -> set[str]:
    """Every top-level package a module imports, at module level, inside functions or under TYPE_CHECKING."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_checks_see_the_teacher_modules() -> None:
    # the rules below would pass vacuously if the scan found nothing
    assert {"teachers.alp_gmm", "teachers.covar_gmm", "teachers.riac", "teachers.plr", "teachers.groove"} <= (
        TEACHER_DEFINING
    )
    assert "teachers.gmm" not in TEACHER_DEFINING and "teachers.numerics" not in TEACHER_DEFINING


@pytest.mark.parametrize("module", sorted(TREES))
def test_no_teacher_module_imports_another_teachers_private_names(module: str) -> None:
    wrong = private_imports_from_teacher_modules(module, TREES[module], TEACHER_DEFINING)
    assert not wrong, f"{module} uses private names of other teacher modules: {wrong}"


@pytest.mark.parametrize("module", sorted(TREES))
def test_teachers_import_neither_envs_nor_agents(module: str) -> None:
    wrong = imported_top_level_packages(TREES[module]) & {"envs", "agents"}
    assert not wrong, f"{module} imports {sorted(wrong)}: teachers may depend on curricula only"


def test_the_checker_catches_each_form(tmp_path: Path) -> None:
    source = (
        "from teachers.alp_gmm import _ALPGMMBase, ALPGMMTeacher\n"
        "import teachers.riac as r\n"
        "from teachers import plr\n"
        "def f():\n"
        "    from agents.reference import ReferencePool\n"
        "    return r._DRAWS_PER_ATTEMPT, plr._RolloutScoredTeacher\n"
    )
    tree = ast.parse(source)
    wrong = private_imports_from_teacher_modules("teachers.mine", tree, TEACHER_DEFINING)
    assert sorted(wrong) == [
        "teachers.alp_gmm._ALPGMMBase",
        "teachers.plr._RolloutScoredTeacher",
        "teachers.riac._DRAWS_PER_ATTEMPT",
    ]
    assert imported_top_level_packages(tree) == {"teachers", "agents"}
    assert _registers_a_teacher(ast.parse("@register_reward_teacher('x')\nclass X: ...\n")), "reward teachers count"
    assert not _registers_a_teacher(ast.parse("class GMMTeacher(Teacher): ...\n")), "an unregistered base does not"
