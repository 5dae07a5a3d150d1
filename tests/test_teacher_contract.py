"""The teacher contract (:mod:`curricula.contracts`) on every registered teacher, one test per check.

New teachers are covered by registering them; ``curricula check --import my_module`` runs the same checks on a
user's teachers.
"""

from __future__ import annotations

import pytest

import teachers  # noqa: F401 - registers the built-in teachers
from curricula import make_teacher, registered_teachers
from curricula.contracts import CONTRACT_PARAMETER_SPACE, teacher_contract_checks

CASES = [(name, check) for name in sorted(registered_teachers()) for check in teacher_contract_checks(name)]


@pytest.mark.parametrize(("name", "check"), CASES, ids=[f"{n}:{c}" for n, c in CASES])
def test_teacher_contract(name: str, check: str) -> None:
    teacher_contract_checks(name)[check]()


def test_unknown_teacher_name_lists_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="random"):
        make_teacher("no_such_teacher", CONTRACT_PARAMETER_SPACE)
