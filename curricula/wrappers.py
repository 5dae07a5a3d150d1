"""The Gymnasium wrapper that carries tasks into an environment and results out of it (no SB3 import)."""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, SupportsFloat

import gymnasium as gym

from curricula.env_api import check_task
from curricula.spaces import TaskSpace
from curricula.task import EpisodeResult, Task, as_task

if TYPE_CHECKING:
    from curricula.teacher import Teacher

__all__ = ["NO_TASK_ID", "TaskEnv", "as_task"]

NO_TASK_ID = -1


class TaskEnv(gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Feeds tasks to a task-aware env and reports each finished episode.

    The inner env must be task-aware (see :mod:`curricula.env_api`): it has a ``task_space`` and accepts
    ``reset(options={"task": task})``. Where the next task comes from, in order:

    1. ``options["task"]`` passed to :meth:`reset` (explicit resets: evaluation, tests);
    2. the FIFO of pending tasks filled by :meth:`push_task` (the learner-side
       :class:`~curricula.callback.CurriculumCallback` keeps it non-empty, so SB3's and Gymnasium's
       auto-resets, which pass no options, still play the teacher's task);
    3. an in-process teacher attached with :meth:`attach_teacher` (single-process loops);
    4. ``frozen_task`` (env checkers, fixed-task training).

    With none of these the episode is *unassigned*: the inner env plays a task of its own choosing (the library's
    envs draw a uniform one from their seeded RNG), ``info["task_id"]`` is -1, and no result is reported. SB3's
    first reset inside ``learn()`` happens before any callback runs; the curriculum callback resets such envs
    again once their tasks are pushed.

    Every task, whichever entry point it came through (``options``, :meth:`push_task`, the teacher,
    ``frozen_task``), is checked against the inner env's ``task_space`` before it is queued or played: a task
    outside the space or missing a parameter raises :class:`~curricula.spaces.TaskSpaceError` naming the field,
    the value and the bounds.

    Every step's info gets ``task_id``; the last step of an episode also gets ``episode_result``
    (:class:`~curricula.task.EpisodeResult`). **Success** is never invented: it is the inner env's own
    ``info["is_success"]`` when the env sets one, else ``return >= success_threshold`` when a threshold is
    given (then written to ``info["is_success"]``, which SB3 logs as ``rollout/success_rate``), else undefined:
    ``EpisodeResult.success`` is None and no ``is_success`` is written, so SB3 logs no success rate.
    Place this wrapper directly above the reward-defining env (below any reward shaping) so the reported return
    is the env's own.

    :param env: a task-aware env
    :param success_threshold: episodes whose return is >= this count as successes, unless the inner env
        reports ``info["is_success"]`` itself
    :param frozen_task: a task to play whenever nothing else is pending (checked against the task space here)
    :param max_pending: capacity of the FIFO (a bug guard: the callback keeps only a few tasks ahead)
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        success_threshold: float | None = None,
        frozen_task: Task | Mapping[str, Any] | None = None,
        max_pending: int = 1024,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, success_threshold=success_threshold, frozen_task=frozen_task, max_pending=max_pending
        )
        gym.Wrapper.__init__(self, env)
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        try:
            space = env.get_wrapper_attr("task_space")
        except AttributeError:
            raise TypeError(
                f"TaskEnv needs a task-aware env with a task_space attribute; {env} has none (see curricula.env_api)"
            ) from None
        if not isinstance(space, TaskSpace):
            raise TypeError(f"{env}'s task_space is a {type(space).__name__}, not a curricula TaskSpace")
        # looked up once (not per task): a wrapper stack does not change under a live env
        self._task_space: TaskSpace = space
        self.success_threshold = success_threshold
        self.frozen_task = check_task(frozen_task, space) if frozen_task is not None else None
        self.max_pending = max_pending
        self._pending: deque[Task] = deque()
        self._teacher: Teacher | None = None
        self.current_task: Task | None = None
        self._episode_return = 0.0
        self._episode_length = 0
        self._episode_over = True
        self._warned_unassigned = False
        #: set by the VecEnv owner so results name the env that played them
        self.env_index = -1

    # -- task channel -----------------------------------------------------------------------------------------
    def push_task(self, task: Task | Mapping[str, Any]) -> None:
        """Queue a task for a later episode (FIFO), after checking it against the task space."""
        checked = check_task(task, self._task_space)
        if len(self._pending) >= self.max_pending:
            raise RuntimeError(f"TaskEnv: {self.max_pending} tasks already pending; is the feedback loop broken?")
        self._pending.append(checked)

    def push_tasks(self, assignments: Mapping[int, list[Task]]) -> None:
        """Queue this env's tasks from a mapping ``env_index -> tasks`` broadcast to several envs at once.

        All of them are checked before any is queued, so a bad task leaves the queue as it was.
        """
        if self.env_index not in assignments:
            raise KeyError(f"no tasks for env index {self.env_index} in a push to {sorted(assignments)}")
        checked = [check_task(task, self._task_space) for task in assignments[self.env_index]]
        if len(self._pending) + len(checked) > self.max_pending:
            raise RuntimeError(f"TaskEnv: {self.max_pending} tasks already pending; is the feedback loop broken?")
        self._pending.extend(checked)

    @property
    def incoming_task(self) -> Task | None:
        """Write-only channel for Gymnasium vector envs: ``vec.set_attr("incoming_task", [t0, t1, ...])``."""
        return self._pending[-1] if self._pending else None

    @incoming_task.setter
    def incoming_task(self, task: Task | Mapping[str, Any]) -> None:
        self.push_task(task)

    def set_env_index(self, index: int) -> None:
        self.env_index = int(index)

    def in_flight(self) -> tuple[Task | None, list[Task]]:
        """The task being played (None if unassigned) and the pending ones, in order."""
        return self.current_task, list(self._pending)

    def clear_pending(self) -> list[Task]:
        """Drop and return the pending tasks."""
        dropped = list(self._pending)
        self._pending.clear()
        return dropped

    def attach_teacher(self, teacher: Teacher | None) -> None:
        """Pull tasks from, and report results to, an in-process teacher (single-process use only)."""
        self._teacher = teacher

    # -- gymnasium API ----------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        inner_options = dict(options or {})
        if self.current_task is not None and not self._episode_over:
            # An episode cut short by an outside reset (e.g. a second ``learn()``) is played again from the start,
            # so that every task the teacher sent is played to its end and reported exactly once.
            self._pending.appendleft(self.current_task)
        if "task" in inner_options:
            task: Task | None = check_task(inner_options["task"], self._task_space)
        elif self._pending:
            task = self._pending.popleft()
        elif self._teacher is not None:
            task = check_task(self._teacher.sample(), self._task_space)
        else:
            task = self.frozen_task
        self.current_task = task
        if task is not None:
            inner_options["task"] = task
        self._episode_return = 0.0
        self._episode_length = 0
        self._episode_over = False
        obs, info = self.env.reset(seed=seed, options=inner_options or None)
        info["task_id"] = NO_TASK_ID if task is None else task.id
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        task = self.current_task
        if task is None and not self._warned_unassigned:
            # Warned at the first step, not at reset: SB3's first reset in learn() is unassigned by design and the
            # curriculum callback resets again before any step.
            self._warned_unassigned = True
            warnings.warn(
                "TaskEnv is stepping an episode with no task: it plays the env's default and is not reported. "
                "Push tasks (CurriculumCallback does), pass options={'task': ...}, or give frozen_task.",
                stacklevel=2,
            )
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._episode_return += float(reward)
        self._episode_length += 1
        info["task_id"] = NO_TASK_ID if task is None else task.id
        if terminated or truncated:
            self._episode_over = True
        if (terminated or truncated) and task is not None:
            success: bool | None = None
            if "is_success" in info:
                success = bool(info["is_success"])
            elif self.success_threshold is not None:
                success = self._episode_return >= self.success_threshold
                info["is_success"] = success
            result = EpisodeResult(
                task=task,
                episode_return=self._episode_return,
                length=self._episode_length,
                success=success,
                env_index=self.env_index,
                truncated=bool(truncated) and not bool(terminated),
            )
            info["episode_result"] = result
            if self._teacher is not None:
                self._teacher.update(result)
        return obs, reward, terminated, truncated, info
