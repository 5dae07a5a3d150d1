"""Plain data that crosses process boundaries: tasks, episode results and rollout signals."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def to_jsonable(value: Any) -> Any:
    """Round-trip ``value`` through JSON, turning numpy scalars and arrays into plain Python."""
    return json.loads(json.dumps(value, default=_json_default))


@dataclass(frozen=True)
class Task:
    """What one episode should play.

    :param id: unique id, assigned by the teacher that sampled it (monotonic per teacher)
    :param params: named parameters of a :class:`~curricula.spaces.ParameterSpace` point, or None
    :param level: an explicit level record of a :class:`~curricula.spaces.LevelSpace`, or None
    :param annotations: free-form JSON data (e.g. LLM subgoals, the teacher's reason for the choice)
    """

    id: int
    params: Mapping[str, float] | None = None
    level: Mapping[str, Any] | None = None
    annotations: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.id, bool) or not isinstance(self.id, int | np.integer) or self.id < 0:
            raise ValueError(f"Task.id must be a non-negative int, got {self.id!r}")
        if self.params is None and self.level is None:
            raise ValueError("Task needs params or level (or both)")

    def to_json(self) -> dict[str, Any]:
        return to_jsonable(
            {
                "id": int(self.id),
                "params": self.params,
                "level": self.level,
                "annotations": dict(self.annotations),
            }
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        unknown = set(data) - {"id", "params", "level", "annotations"}
        if unknown:
            raise ValueError(f"unknown Task fields {sorted(unknown)}; allowed: id, params, level, annotations")
        return cls(
            id=int(data["id"]),
            params=data.get("params"),
            level=data.get("level"),
            annotations=data.get("annotations") or {},
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


def as_task(task: Task | Mapping[str, Any]) -> Task:
    """Accept a :class:`Task` or its JSON form (:meth:`Task.to_json`).

    :raises TypeError: ``task`` is neither
    :raises ValueError: the JSON form has unknown fields or an invalid id
    """
    if isinstance(task, Task):
        return task
    if isinstance(task, Mapping):
        return Task.from_json(task)
    raise TypeError(f"expected a Task or its JSON dict, got {type(task).__name__}")


@dataclass(frozen=True)
class EpisodeResult:
    """What the teacher hears after one episode.

    :param task: the task that was played
    :param episode_return: undiscounted sum of the env's own (extrinsic) rewards
    :param length: number of steps
    :param success: whether the episode counts as solved, or None when the run defines no success (the env
        reports no ``info["is_success"]`` and no ``success_threshold`` was given)
    :param env_index: which vectorized env played it (-1 outside a VecEnv)
    :param truncated: ended by a time limit rather than termination
    :param info: small extra numbers reported by the env (JSON-able)
    """

    task: Task
    episode_return: float
    length: int
    success: bool | None
    env_index: int = -1
    truncated: bool = False
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def task_id(self) -> int:
        return int(self.task.id)

    def __post_init__(self) -> None:
        if not math.isfinite(self.episode_return):
            raise ValueError(f"EpisodeResult.episode_return must be finite, got {self.episode_return!r}")


@dataclass
class RolloutSignals:
    """Learner signals of one on-policy rollout, per env-step, for teachers with ``feedback == "rollout"``.

    All arrays have shape (n_steps, n_envs) and come from SB3's rollout buffer after
    ``compute_returns_and_advantage``; ``task_ids[t, i]`` is the task env ``i`` played at step ``t``.

    :param task_ids: the task played at each env-step
    :param advantages: GAE advantages
    :param values: value estimates that produced the advantages
    :param returns: advantages + values (bootstrapped; not raw returns)
    :param episode_starts: 1 where a new episode started at that step
    :param last_dones: the dones of the rollout's last step, shape (n_envs,)
    :param tasks: the :class:`Task` for every id in ``task_ids``
    """

    task_ids: np.ndarray
    advantages: np.ndarray
    values: np.ndarray
    returns: np.ndarray
    episode_starts: np.ndarray
    last_dones: np.ndarray
    tasks: dict[int, Task]

    def segments(self) -> list[tuple[int, int, int, int, bool]]:
        """Contiguous same-episode runs as ``(env, start, stop, task_id, finished)``, stop exclusive.

        An episode is ``finished`` when the rollout saw its last step (a following ``episode_start`` or a
        last-step done); the last segment of each env otherwise continues into the next rollout.
        """
        n_steps, n_envs = self.task_ids.shape
        out: list[tuple[int, int, int, int, bool]] = []
        later_starts = np.asarray(self.episode_starts)[1:] != 0
        for env in range(n_envs):
            starts = [0, *(np.flatnonzero(later_starts[:, env]) + 1).tolist()]
            bounds = [*starts, n_steps]
            for k in range(len(starts)):
                begin, end = bounds[k], bounds[k + 1]
                finished = end < n_steps or bool(self.last_dones[env])
                out.append((env, begin, end, int(self.task_ids[begin, env]), finished))
        return out
