"""docs/teachers.md lists every option of every registered teacher, its presets and its bootstrap."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import teachers  # noqa: F401 - registers the built-in teachers
from curricula import Teacher, registered_teachers

DOC = Path(__file__).resolve().parents[1] / "docs" / "teachers.md"
COMMON = ("space", "seed", "preset")


def constructor_options(cls: type[Teacher]) -> list[str]:
    """Every keyword a teacher's constructor accepts: its own ``__init__`` and, through ``**kwargs``, its parents'."""
    options: list[str] = []
    for klass in cls.__mro__:
        if klass is Teacher or not issubclass(klass, Teacher):
            break
        if "__init__" not in vars(klass):
            continue
        parameters = list(inspect.signature(klass.__init__).parameters.values())[1:]
        options += [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return list(dict.fromkeys(options))


def sections() -> dict[str, str]:
    """Each ``## `` heading of the page -> its text up to the next one."""
    parts = re.split(r"^## ", DOC.read_text(), flags=re.MULTILINE)[1:]
    return {part.splitlines()[0]: part for part in parts}


def section_of(name: str) -> str:
    matches = [text for heading, text in sections().items() if f"`{name}`" in heading]
    assert len(matches) == 1, f"docs/teachers.md needs one '## ' heading naming `{name}`, found {len(matches)}"
    return matches[0]


def documented_options(section: str) -> set[str]:
    """The option names of a section's tables (first column, in backticks)."""
    return set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))


def test_the_option_scan_follows_kwargs_to_the_parents() -> None:
    options = constructor_options(registered_teachers()["alp_gmm"])
    assert {"alp_scale", "alp_memory", "fit_rate", "fit_backend", "space", "seed"} <= set(options)
    assert "kwargs" not in options


def test_the_common_options_are_documented() -> None:
    common = next(text for heading, text in sections().items() if heading.startswith("Common"))
    assert set(COMMON) <= documented_options(common)
    assert "close()" in common and "end_of_training_warnings()" in common


BUILT_IN = sorted(name for name, cls in registered_teachers().items() if cls.__module__.startswith("teachers."))


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_option_preset_and_bootstrap_is_documented(name: str) -> None:
    cls = registered_teachers()[name]
    section = section_of(name)
    missing = set(constructor_options(cls)) - set(COMMON) - documented_options(section)
    assert not missing, f"docs/teachers.md, section of `{name}`: options {sorted(missing)} are not listed"
    for preset in cls.presets:
        assert f"`{preset}`" in section, f"docs/teachers.md, section of `{name}`: preset {preset!r} is not listed"
    assert "**Bootstrap:**" in section, f"docs/teachers.md, section of `{name}`: no bootstrap length"


@pytest.mark.parametrize("page_name", ["teachers.md", "teachers_continuous.md", "ued.md"])
def test_teacher_docs_link_nothing_outside_the_repository(page_name: str) -> None:
    root = DOC.parents[1]
    for page in [root / "docs" / page_name]:
        text = page.read_text()
        assert "../shared" not in text and "shared/references" not in text, f"{page.name} links outside the repo"
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(root), f"{page.name} links {target}, outside the repository"
            assert resolved.exists(), f"{page.name} links {target}, which does not exist"
