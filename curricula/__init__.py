"""Curricula: teacher-student curriculum reinforcement learning on Gymnasium and Stable-Baselines3."""

from curricula.callback import CurriculumCallback, CurriculumSyncError, CurriculumWarning
from curricula.env_api import check_task, read_task, task_space_of
from curricula.registration import register_env, registered_envs
from curricula.shadowing import check_sibling_packages
from curricula.spaces import Dimension, LevelSpace, ParameterSpace, SeedSpace, TaskSpace, TaskSpaceError
from curricula.task import EpisodeResult, RolloutSignals, Task
from curricula.teacher import Teacher, make_teacher, register_teacher, registered_teachers
from curricula.test_set import TestSet
from curricula.wrappers import TaskEnv

__version__ = "0.1.0"

# Fail at import time, before a stranger's envs/teachers/agents runs under Curricula's names.
check_sibling_packages()

__all__ = [
    "CurriculumCallback",
    "CurriculumSyncError",
    "CurriculumWarning",
    "Dimension",
    "EpisodeResult",
    "LevelSpace",
    "ParameterSpace",
    "RolloutSignals",
    "SeedSpace",
    "Task",
    "TaskEnv",
    "TaskSpace",
    "TaskSpaceError",
    "Teacher",
    "TestSet",
    "check_task",
    "make_teacher",
    "read_task",
    "register_env",
    "register_teacher",
    "registered_envs",
    "registered_teachers",
    "task_space_of",
]
