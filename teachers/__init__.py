"""Built-in teachers. Importing this package registers each one under its short name."""

from teachers.random import RandomTeacher

__all__ = ["RandomTeacher"]
