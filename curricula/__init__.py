"""Curricula: teacher-student curriculum reinforcement learning on Gymnasium and Stable-Baselines3.

The SB3 side (:mod:`curricula.callback`) is imported on first use, so that env workers and env modules, which need
only the task channel, never import Stable-Baselines3.
"""

from typing import TYPE_CHECKING, Any

from curricula.env_api import check_task, read_task, task_space_of
from curricula.registration import register_env, registered_envs
from curricula.shadowing import check_sibling_packages
from curricula.spaces import Dimension, LevelSpace, ParameterSpace, SeedSpace, TaskSpace, TaskSpaceError
from curricula.task import EpisodeResult, RolloutSignals, Task
from curricula.teacher import Teacher, make_teacher, register_teacher, registered_teachers
from curricula.test_set import TestSet
from curricula.wrappers import TaskEnv

if TYPE_CHECKING:
    from curricula.callback import CurriculumCallback, CurriculumSyncError, CurriculumWarning

__version__ = "0.1.0"
_LAZY_FROM_CALLBACK = ("CurriculumCallback", "CurriculumSyncError", "CurriculumWarning")


def __getattr__(name: str) -> Any:
    if name in _LAZY_FROM_CALLBACK:
        from curricula import callback

        return getattr(callback, name)
    raise AttributeError(f"module 'curricula' has no attribute {name!r}")


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
