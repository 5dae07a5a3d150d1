"""Built-in teachers. Importing this package registers each one under its short name."""

from teachers.alp_gmm import ALPGMMFaithfulTeacher, ALPGMMTeacher  # noqa: F401
from teachers.covar_gmm import CovarGMMTeacher  # noqa: F401
from teachers.groove import GrooveTeacher  # noqa: F401
from teachers.groove_curation import GrooveCurationTeacher  # noqa: F401
from teachers.oni import ONITeacher  # noqa: F401
from teachers.oracle import OracleTeacher  # noqa: F401
from teachers.plr import ACCELTeacher, PLRTeacher, RobustPLRTeacher  # noqa: F401
from teachers.random import RandomTeacher
from teachers.riac import RIACTeacher  # noqa: F401
from teachers.subgoals import SubgoalTeacher  # noqa: F401

__all__ = ["RandomTeacher"]
