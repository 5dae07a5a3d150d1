"""Built-in teachers. Importing this package registers each one under its short name."""

from teachers.groove import GrooveTeacher  # noqa: F401
from teachers.plr import ACCELTeacher, PLRTeacher, RobustPLRTeacher  # noqa: F401
from teachers.random import RandomTeacher

__all__ = ["RandomTeacher"]
