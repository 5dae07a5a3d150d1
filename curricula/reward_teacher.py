"""Reward teachers, and how they compose with the one task teacher of a run.

A run has exactly one **task teacher** (:class:`~curricula.teacher.Teacher`: which level or parameters the student
plays) and any number of **reward teachers** (LLM subgoals, ONI intrinsic rewards): they annotate the task the task
teacher chose, or add reward to the student's experience. The two kinds never call each other. They meet through
one mechanism, and every reward teacher uses the same three hooks of it:

1. **Task annotations** (learner process). :class:`~curricula.callback.CurriculumCallback` passes every task the
   task teacher samples through :meth:`RewardTeacher.annotate` of each reward teacher, in order, before the task is
   pushed to an env. A reward teacher may add keys to ``task.annotations`` (e.g. ``"subgoals"``) and nothing
   else: the id, parameters and level stay the task teacher's.
2. **Env-worker wrappers** (one per env, in the env worker). :meth:`RewardTeacher.env_wrapper` returns a picklable
   callable ``env -> env`` that is applied *above* the :class:`~curricula.wrappers.TaskEnv` (see
   :func:`wrap_task_env`): rewards that depend on env internals (reaching a subgoal) are added there, after the
   ``TaskEnv`` has recorded the env's own return. So ``EpisodeResult.episode_return`` stays the env's return:
   task teachers judge progress on the task, never on shaping.
3. **Vector-env wrappers** (learner process, batched over all envs). :meth:`RewardTeacher.wrap_vec_env` wraps the
   training ``VecEnv``: rewards that need a model over every env's experience (ONI's reward model) are computed
   there, in one batch per step (see :func:`wrap_vec_env`).

The callback also gives every reward teacher each :class:`~curricula.task.EpisodeResult` (after the task teacher
heard it), logs its :meth:`RewardTeacher.scalars` as ``reward/<name>/<key>``, issues its end-of-training warnings
and closes it at training end; checkpoints save and restore its :meth:`RewardTeacher.state_dict`.

A reward teacher owns a seeded RNG (``self.rng``) and keeps its state as JSON values and NumPy arrays, extended
through ``super()`` in :meth:`RewardTeacher._state` / :meth:`RewardTeacher._load_state`, as task teachers do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np

from curricula.registry import Registry
from curricula.task import EpisodeResult, Task

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

#: ``env -> env``; must be picklable (a module-level class or ``functools.partial``) for subprocess workers
EnvWrapper = Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]]


class RewardTeacher:
    """Base class of the teachers that annotate tasks or add reward (the composition hooks are no-ops here).

    Subclasses override the hooks they need (:meth:`annotate`, :meth:`env_wrapper`, :meth:`wrap_vec_env`,
    :meth:`update`) and extend :meth:`_state` / :meth:`_load_state` through ``super()``.

    :param seed: seed of the teacher's RNG
    """

    #: short name in the registry (set by :func:`register_reward_teacher`)
    name: ClassVar[str] = ""

    def __init__(self, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"{type(self).__name__}: seed must be a non-negative int, got {seed!r}")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.tasks_annotated = 0
        self.episodes_seen = 0

    # -- the three composition hooks ----------------------------------------------------------------------------
    def annotate(self, task: Task) -> Task:
        """The task with this teacher's annotations added (called in the learner, before the task is pushed)."""
        self.tasks_annotated += 1
        extra = self._annotations(task)
        if not extra:
            return task
        clash = sorted(set(extra) & set(task.annotations))
        if clash:
            raise ValueError(f"{type(self).__name__} would overwrite the task's annotations {clash}")
        return Task(id=task.id, params=task.params, level=task.level, annotations={**task.annotations, **extra})

    def env_wrapper(self) -> EnvWrapper | None:
        """A picklable ``env -> env`` applied above each env's ``TaskEnv`` in its worker (None: no env-side part)."""
        return None

    def wrap_vec_env(self, venv: VecEnv) -> VecEnv:
        """The training ``VecEnv``, wrapped with this teacher's learner-side, batched part (default: unchanged)."""
        return venv

    def update(self, result: EpisodeResult) -> None:
        """Hear one finished episode (after the task teacher heard it)."""
        self.episodes_seen += 1
        self._update(result)

    # -- reporting and lifetime ---------------------------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        """Numbers worth logging (TensorBoard ``reward/<name>/<key>``)."""
        return {"tasks_annotated": float(self.tasks_annotated), "episodes_seen": float(self.episodes_seen)}

    def end_of_training_warnings(self) -> list[str]:
        """Messages issued once at the end of training (e.g. an LLM that never answered)."""
        return []

    def close(self) -> None:
        """Release workers, threads or servers (idempotent; called at training end)."""
        return

    # -- state --------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything that determines this teacher's future behaviour: JSON values and NumPy arrays only."""
        return {"reward_teacher": self.name, **self._state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        if state.get("reward_teacher") != self.name:
            raise ValueError(f"state is for reward teacher {state.get('reward_teacher')!r}, this is {self.name!r}")
        self._load_state(dict(state))

    # -- to extend ----------------------------------------------------------------------------------------------
    def _annotations(self, task: Task) -> dict[str, Any]:
        """The annotations to add to ``task`` (JSON values); none by default."""
        return {}

    def _update(self, result: EpisodeResult) -> None:
        """Learn from one episode result; nothing by default."""
        return

    def _state(self) -> dict[str, Any]:
        """This teacher's state. Extend it: ``return {**super()._state(), "my_key": ...}``."""
        return {
            "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "tasks_annotated": self.tasks_annotated,
            "episodes_seen": self.episodes_seen,
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`_state`. Extend it: ``super()._load_state(state)``, then read the keys you added."""
        self.seed = int(state["seed"])
        self.rng.bit_generator.state = dict(state["rng"])
        self.tasks_annotated = int(state["tasks_annotated"])
        self.episodes_seen = int(state["episodes_seen"])


def wrap_task_env(env: gym.Env[Any, Any], reward_teachers: Sequence[RewardTeacher]) -> gym.Env[Any, Any]:
    """Apply each reward teacher's env-worker wrapper above a ``TaskEnv``, in order (hook 2)."""
    for teacher in reward_teachers:
        wrapper = teacher.env_wrapper()
        if wrapper is not None:
            env = wrapper(env)
    return env


def wrap_vec_env(venv: VecEnv, reward_teachers: Sequence[RewardTeacher]) -> VecEnv:
    """Apply each reward teacher's learner-side ``VecEnv`` wrapper, in order (hook 3)."""
    for teacher in reward_teachers:
        venv = teacher.wrap_vec_env(venv)
    return venv


RewardTeacherT = TypeVar("RewardTeacherT", bound=type[RewardTeacher])
_REGISTRY: Registry[type[RewardTeacher]] = Registry("reward teacher")


def register_reward_teacher(name: str) -> Callable[[RewardTeacherT], RewardTeacherT]:
    """Class decorator: register a reward teacher under a short name (``make_reward_teacher(name, ...)``)."""
    return _REGISTRY.decorator(name)  # type: ignore[return-value]


def registered_reward_teachers() -> dict[str, type[RewardTeacher]]:
    """Name -> class of every registered reward teacher."""
    return _REGISTRY.classes()


def make_reward_teacher(name: str, seed: int = 0, **kwargs: Any) -> RewardTeacher:
    """Build a registered reward teacher by name.

    :param name: registered short name, e.g. ``"subgoals"`` or ``"oni"``
    :param seed: the teacher's RNG seed
    :param kwargs: teacher-specific options
    """
    return _REGISTRY.get(name)(seed=seed, **kwargs)
