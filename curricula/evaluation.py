"""Evaluation on fixed test sets: deterministic policy, one or more episodes per task, % mastered.

**Success** is never assumed. An episode is solved when the env says so (``info["is_success"]`` on its last
step, set by the env itself or by a :class:`~curricula.wrappers.TaskEnv` given a ``success_threshold``), else
when its return reaches the ``success_threshold`` given to :func:`evaluate`. With neither, :func:`evaluate`
raises a ``ValueError`` that says how to define success. :class:`~curricula.test_set.TestSet` lives in
:mod:`curricula.test_set` (no SB3 import) and is re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from curricula.test_set import TestSet

__all__ = ["EvalReport", "PeriodicEvaluation", "Policy", "TestSet", "evaluate"]

NO_SUCCESS_SIGNAL = (
    "cannot tell which evaluation episodes succeeded: the env reports no info['is_success'] and no success "
    "threshold was given. Define success in one of three ways: set info['is_success'] on the env's last step "
    "of an episode, wrap the env as TaskEnv(env, success_threshold=...), or call "
    "evaluate(..., success_threshold=...)"
)


class Policy(Protocol):
    """What :func:`evaluate` needs from a student: SB3's ``predict`` (every ``BaseAlgorithm`` has it)."""

    def predict(self, observation: Any, *, deterministic: bool = ...) -> tuple[Any, Any]: ...


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

    def to_json(self) -> dict[str, Any]:
        return {
            "test_set": self.test_set,
            "mastered_percent": self.mastered_percent,
            "mean_return": float(np.mean(self.returns)),
            "returns": self.returns.tolist(),
            "successes": self.successes.tolist(),
        }


def evaluate(
    model: Policy,
    env: gym.Env[Any, Any],
    test_set: TestSet,
    success_threshold: float | None = None,
    deterministic: bool = True,
    episodes_per_task: int = 1,
    mastery: float = 1.0,
    progress_bar: bool = False,
    seed: int | None = 0,
) -> EvalReport:
    """Play every task of ``test_set`` with the model's policy.

    An episode is solved when its last step's info says ``is_success`` (the env's own rule, or that of a
    ``TaskEnv`` given a ``success_threshold``), else when its return is at least ``success_threshold``.

    :param model: the student (anything with SB3's ``predict``)
    :param env: a single (non-vectorized) task-aware env, optionally wrapped in a TaskEnv; it is reset with
        ``options={"task": task}``
    :param test_set: the tasks
    :param success_threshold: return at or above which an episode is solved, for episodes whose env reports
        no ``info["is_success"]``
    :raises ValueError: an episode ends with no ``is_success`` and no ``success_threshold`` is given
    :param deterministic: deterministic actions (the protocol of the ALP-GMM and UED papers)
    :param episodes_per_task: episodes per task
    :param mastery: a task is mastered when its success rate is at least this
    :param progress_bar: show a progress bar over the tasks (tqdm)
    :param seed: the level seeds: the ``j``-th episode of the evaluation (tasks in order, each task's episodes
        together) is reset with ``seed + j``, so every student is tested on the same levels and a rerun gives the
        same report. ``None`` leaves the env's own random stream alone (an env never seeded draws from OS entropy,
        so procedural levels then differ from run to run).
    """
    if episodes_per_task < 1:
        raise ValueError(f"episodes_per_task must be >= 1, got {episodes_per_task}")
    returns = np.zeros(len(test_set))
    successes = np.zeros(len(test_set))
    tasks: Any = test_set.tasks
    if progress_bar:
        from tqdm import tqdm

        tasks = tqdm(tasks, desc=f"evaluating on {test_set.name}", unit="task")
    for k, task in enumerate(tasks):
        for repeat in range(episodes_per_task):
            level_seed = None if seed is None else seed + k * episodes_per_task + repeat
            obs, _ = env.reset(seed=level_seed, options={"task": task})
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
                raise ValueError(NO_SUCCESS_SIGNAL)
            returns[k] += total / episodes_per_task
            successes[k] += float(solved) / episodes_per_task
    mastered = 100.0 * float(np.mean(successes >= mastery))
    return EvalReport(returns=returns, successes=successes, mastered_percent=mastered, test_set=test_set.name)


class PeriodicEvaluation(BaseCallback):
    """Evaluate on a test set every ``eval_freq`` env steps; log ``eval/<name>_mastered`` and keep a history.

    :param env_fn: builds the evaluation env (called once)
    :param test_set: the tasks
    :param eval_freq: env steps between evaluations (0: none during training; call :meth:`run_now` at the end)
    :param log_path: a JSONL file the reports are appended to (optional)
    :param kwargs: passed to :func:`evaluate` (e.g. ``success_threshold``)
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
        if eval_freq < 0:
            raise ValueError(f"eval_freq must be >= 0 env steps (0: only when run_now is called), got {eval_freq}")
        self.env_fn = env_fn
        self.test_set = test_set
        self.eval_freq = eval_freq
        self.log_path = Path(log_path) if log_path is not None else None
        self.eval_kwargs = kwargs
        self.history: list[tuple[int, EvalReport]] = []
        self._env: gym.Env[Any, Any] | None = None
        self._next_eval = eval_freq

    def _on_step(self) -> bool:
        if self.eval_freq > 0 and self.num_timesteps >= self._next_eval:
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
