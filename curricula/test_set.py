"""Fixed test sets: the tasks an evaluation plays, independent of any teacher.

This module imports neither Stable-Baselines3 nor any environment, so environment modules can offer their own
test sets (e.g. :func:`envs.maze.held_out_test_set`) without pulling in the learner side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from curricula.spaces import ParameterSpace, TaskSpace
from curricula.task import Task


def _parameter_space(space: TaskSpace, method: str) -> ParameterSpace:
    # accepts any TaskSpace (what task_space_of returns) so that callers need no cast; levels have no grid
    if not isinstance(space, ParameterSpace):
        raise TypeError(
            f"TestSet.{method} needs a ParameterSpace, got {space!r}; build level test sets with TestSet.from_tasks"
        )
    return space


@dataclass(frozen=True)
class TestSet:
    """A fixed list of tasks to evaluate on (ids 0..n-1, independent of any teacher's ids).

    :param tasks: the tasks
    :param name: a label for logs and plots
    """

    __test__ = False  # not a pytest test class

    tasks: tuple[Task, ...]
    name: str = "test"

    def __post_init__(self) -> None:
        if len(self.tasks) == 0:
            raise ValueError("TestSet needs at least one task")

    def __len__(self) -> int:
        return len(self.tasks)

    @classmethod
    def from_params(cls, space: TaskSpace, params: Sequence[Mapping[str, float]], name: str = "test") -> TestSet:
        """Tasks from explicit parameter dicts (validated against ``space``).

        :param space: the parameter space the parameters must belong to
        :param params: one parameter dict per task
        :param name: the label of the set
        """
        checked = _parameter_space(space, "from_params")
        tasks = []
        for i, p in enumerate(params):
            checked.validate(p)
            tasks.append(Task(id=i, params=dict(p)))
        return cls(tuple(tasks), name)

    @classmethod
    def grid(cls, space: TaskSpace, points_per_dim: int | Sequence[int], name: str = "grid") -> TestSet:
        """A regular grid over the space, bounds included (e.g. 10x10 for Stump Tracks).

        :param space: the parameter space to cover
        :param points_per_dim: points per dimension, one count for all or one per dimension
        :param name: the label of the set
        """
        box = _parameter_space(space, "grid")
        return cls.from_params(box, [box.to_params(v) for v in box.grid(points_per_dim)], name)

    @classmethod
    def uniform(cls, space: TaskSpace, n: int, seed: int, name: str = "uniform") -> TestSet:
        """``n`` tasks drawn uniformly with a fixed seed (the same set on every machine).

        :param space: the parameter space to draw from
        :param n: how many tasks
        :param seed: seeds the draw
        :param name: the label of the set
        """
        box = _parameter_space(space, "uniform")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng(seed)
        return cls.from_params(box, [box.to_params(v) for v in box.sample_uniform(rng, n)], name)

    @classmethod
    def from_tasks(cls, tasks: Sequence[Task], name: str = "test") -> TestSet:
        """Explicit tasks (e.g. hand-made levels); ids are renumbered 0..n-1.

        :param tasks: the tasks, in order
        :param name: the label of the set
        """
        return cls(
            tuple(Task(id=i, params=t.params, level=t.level, annotations=t.annotations) for i, t in enumerate(tasks)),
            name,
        )
