"""Reusable fake environments for wrapper and plumbing tests (as Gymnasium's test suite has one).

:class:`CountingEnv` is deterministic and cheap: the task says how long the episode lasts, every step pays
1.0, and the env records which task ids it played, so tests can check exact task accounting end to end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from curricula.spaces import Dimension, LevelSpace, ParameterSpace, TaskSpaceError
from curricula.task import Task
from curricula.wrappers import TaskEnv

COUNTING_SPACE = ParameterSpace([Dimension("length", 1, 7, integer=True), Dimension("payload", 0.0, 1.0)])
DEFAULT_LENGTH = 3


class CountingEnv(gym.Env[np.ndarray, np.int64]):
    """Episode of ``task.params["length"]`` steps, reward 1.0 per step (so return == length).

    Without a task it plays a default episode of 3 steps paying -1.0 each, which no teacher can mistake for
    one of its tasks. The observation is ``[payload, steps_left]``.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012
    task_space = COUNTING_SPACE

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(low=0.0, high=10.0, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.played_task_ids: list[int] = []
        self._steps_left = 0
        self._payload = 0.0
        self._reward = 1.0

    def _obs(self) -> np.ndarray:
        return np.array([self._payload, self._steps_left], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        task = (options or {}).get("task")
        if isinstance(task, Task) and task.params is not None:
            self._steps_left = int(task.params["length"])
            self._payload = float(task.params["payload"])
            self._reward = 1.0
            self.played_task_ids.append(task.id)
        else:
            self._steps_left, self._payload, self._reward = DEFAULT_LENGTH, 0.0, -1.0
            self.played_task_ids.append(-1)
        return self._obs(), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._steps_left -= 1
        return self._obs(), self._reward, self._steps_left <= 0, False, {}

    def get_played_task_ids(self) -> list[int]:
        return list(self.played_task_ids)


def make_counting_task_env(standard_wrappers: bool = False) -> TaskEnv:
    """A :class:`CountingEnv` under a :class:`TaskEnv`, optionally with Gymnasium's ``TimeLimit`` and
    ``RecordEpisodeStatistics`` in between (importable, so SubprocVecEnv workers can build it)."""
    env: gym.Env[Any, Any] = CountingEnv()
    if standard_wrappers:
        env = gym.wrappers.TimeLimit(gym.wrappers.RecordEpisodeStatistics(env), max_episode_steps=50)
    return TaskEnv(env)


class TinyLevelSpace(LevelSpace):
    """A small level space with mutation, for teacher contract tests: a level is four cells, each 0..3."""

    name = "tiny"

    def generate(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"cells": [int(c) for c in rng.integers(0, 4, size=4)]}

    def validate(self, level: Mapping[str, Any]) -> None:
        cells = level.get("cells") if isinstance(level, Mapping) else None
        if set(level) != {"cells"} or not isinstance(cells, list) or len(cells) != 4:
            raise TaskSpaceError(f"a tiny level is {{'cells': [4 ints]}}, got {level!r}")
        if not all(isinstance(c, int) and 0 <= c <= 3 for c in cells):
            raise TaskSpaceError(f"level field 'cells' must hold ints in 0..3, got {cells!r}")

    def mutate(self, level: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        cells = list(level["cells"])
        cells[int(rng.integers(0, 4))] = int(rng.integers(0, 4))
        return {"cells": cells}
