"""Evaluation on fixed test sets: deterministic policy, one or more episodes per task, % mastered."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from curricula.spaces import ParameterSpace
from curricula.task import Task


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
    def from_params(cls, space: ParameterSpace, params: Sequence[Mapping[str, float]], name: str = "test") -> TestSet:
        """Tasks from explicit parameter dicts (validated against ``space``)."""
        tasks = []
        for i, p in enumerate(params):
            space.validate(p)
            tasks.append(Task(id=i, params=dict(p)))
        return cls(tuple(tasks), name)

    @classmethod
    def grid(cls, space: ParameterSpace, points_per_dim: int | Sequence[int], name: str = "grid") -> TestSet:
        """A regular grid over the space, bounds included (e.g. 10x10 for Stump Tracks)."""
        return cls.from_params(space, [space.to_params(v) for v in space.grid(points_per_dim)], name)

    @classmethod
    def uniform(cls, space: ParameterSpace, n: int, seed: int, name: str = "uniform") -> TestSet:
        """``n`` tasks drawn uniformly with a fixed seed (the same set on every machine)."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        rng = np.random.default_rng(seed)
        return cls.from_params(space, [space.to_params(v) for v in space.sample_uniform(rng, n)], name)

    @classmethod
    def from_tasks(cls, tasks: Sequence[Task], name: str = "test") -> TestSet:
        """Explicit tasks (e.g. hand-made levels); ids are renumbered 0..n-1."""
        return cls(
            tuple(Task(id=i, params=t.params, level=t.level, annotations=t.annotations) for i, t in enumerate(tasks)),
            name,
        )


@dataclass
class EvalReport:
    """Per-task results of one evaluation.

    :param returns: mean return per task
    :param successes: success rate per task (fraction of its episodes solved)
    :param mastered_percent: % of tasks whose success rate is >= ``mastery`` (1.0 = every episode solved)
    """

    returns: np.ndarray
    successes: np.ndarray
    mastered_percent: float
    test_set: str = "test"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "test_set": self.test_set,
            "mastered_percent": self.mastered_percent,
            "mean_return": float(np.mean(self.returns)),
            "returns": self.returns.tolist(),
            "successes": self.successes.tolist(),
        }


def evaluate(
    model: BaseAlgorithm,
    env: gym.Env[Any, Any],
    test_set: TestSet,
    success_threshold: float | None = None,
    deterministic: bool = True,
    episodes_per_task: int = 1,
    mastery: float = 1.0,
) -> EvalReport:
    """Play every task of ``test_set`` with the model's policy.

    :param model: the student
    :param env: a single (non-vectorized) task-aware env, optionally wrapped in a TaskEnv; it is reset with
        ``options={"task": task}``
    :param test_set: the tasks
    :param success_threshold: return at or above which an episode is solved, when the env does not report
        ``info["is_success"]`` itself
    :param deterministic: deterministic actions (the protocol of the ALP-GMM and UED papers)
    :param episodes_per_task: episodes per task
    :param mastery: a task is mastered when its success rate is at least this
    """
    if episodes_per_task < 1:
        raise ValueError(f"episodes_per_task must be >= 1, got {episodes_per_task}")
    returns = np.zeros(len(test_set))
    successes = np.zeros(len(test_set))
    for k, task in enumerate(test_set.tasks):
        for _ in range(episodes_per_task):
            obs, _ = env.reset(options={"task": task})
            total, done = 0.0, False
            info: dict[str, Any] = {}
            while not done:
                action, _ = model.predict(obs, deterministic=deterministic)
                obs, reward, terminated, truncated, info = env.step(action)
                total += float(reward)
                done = terminated or truncated
            if "is_success" in info:
                solved = bool(info["is_success"])
            elif success_threshold is not None:
                solved = total >= success_threshold
            else:
                raise ValueError("the env reports no info['is_success']: pass success_threshold")
            returns[k] += total / episodes_per_task
            successes[k] += float(solved) / episodes_per_task
    mastered = 100.0 * float(np.mean(successes >= mastery))
    return EvalReport(returns=returns, successes=successes, mastered_percent=mastered, test_set=test_set.name)


class PeriodicEvaluation(BaseCallback):
    """Evaluate on a test set every ``eval_freq`` env steps; log ``eval/<name>_mastered`` and keep a history.

    :param env_fn: builds the evaluation env (called once)
    :param test_set: the tasks
    :param eval_freq: env steps between evaluations
    :param log_path: a JSONL file the reports are appended to (optional)
    :param kwargs: passed to :func:`evaluate`
    """

    def __init__(
        self,
        env_fn: Callable[[], gym.Env[Any, Any]],
        test_set: TestSet,
        eval_freq: int,
        log_path: str | Path | None = None,
        verbose: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(verbose)
        if eval_freq < 1:
            raise ValueError(f"eval_freq must be >= 1, got {eval_freq}")
        self.env_fn = env_fn
        self.test_set = test_set
        self.eval_freq = eval_freq
        self.log_path = Path(log_path) if log_path is not None else None
        self.eval_kwargs = kwargs
        self.history: list[tuple[int, EvalReport]] = []
        self._env: gym.Env[Any, Any] | None = None
        self._next_eval = eval_freq

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next_eval:
            self._next_eval += self.eval_freq
            self.run_now()
        return True

    def run_now(self) -> EvalReport:
        """Evaluate immediately (also used at the end of training)."""
        if self._env is None:
            self._env = self.env_fn()
        report = evaluate(self.model, self._env, self.test_set, **self.eval_kwargs)
        self.history.append((self.num_timesteps, report))
        self.logger.record(f"eval/{self.test_set.name}_mastered", report.mastered_percent)
        self.logger.record(f"eval/{self.test_set.name}_mean_return", float(np.mean(report.returns)))
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a") as handle:
                handle.write(json.dumps({"timesteps": self.num_timesteps, **report.to_json()}) + "\n")
        return report
