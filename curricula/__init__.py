"""Curricula: teacher-student curriculum reinforcement learning on Gymnasium and Stable-Baselines3."""

from curricula.callback import CurriculumCallback, CurriculumSyncError
from curricula.spaces import Dimension, LevelSpace, ParameterSpace, SeedSpace, TaskSpace, TaskSpaceError
from curricula.task import EpisodeResult, RolloutSignals, Task
from curricula.teacher import Teacher, make_teacher, register_teacher, registered_teachers
from curricula.wrappers import TaskEnv

__version__ = "0.1.0"

__all__ = [
    "CurriculumCallback",
    "CurriculumSyncError",
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
    "make_teacher",
    "register_teacher",
    "registered_teachers",
]
