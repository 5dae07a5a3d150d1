"""Curricula: teacher-student curriculum reinforcement learning on Gymnasium and Stable-Baselines3."""

import importlib.util as _importlib_util
import sys as _sys
from pathlib import Path as _Path


def _check_sibling_packages() -> None:
    """Fail early when a user's folder or module named ``envs``, ``teachers`` or ``agents`` hides Curricula's.

    Those names are common in RL projects; Python imports the first one on ``sys.path`` (a script's own folder
    comes first), and Curricula would then run a stranger's code under its own package names.
    """
    home = _Path(__file__).resolve().parent.parent
    for name in ("envs", "teachers", "agents"):
        module = _sys.modules.get(name)
        if module is not None:
            origin = getattr(module, "__file__", None)
        else:
            spec = _importlib_util.find_spec(name)
            origin = spec.origin if spec is not None else None
        found = _Path(origin).resolve() if origin not in (None, "namespace") else None
        if found is not None and found.parent.parent == home:
            continue
        where = str(found.parent if found is not None and found.name == "__init__.py" else found or "nowhere")
        raise ImportError(
            f"Curricula's package {name!r} is hidden by {where}: a folder or module named {name!r} comes first on "
            f"sys.path (e.g. in your script's folder or the current directory). Rename yours (e.g. 'my_{name}') "
            f"or run from another directory; Curricula's own {name!r} is in {home / name}."
        )


_check_sibling_packages()

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
