from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

import envs  # noqa: F401
from curricula import Dimension, ParameterSpace, Task, TaskEnv
from curricula.evaluation import PeriodicEvaluation, TestSet, evaluate
from curricula.testing import COUNTING_SPACE, CountingEnv
from envs.toy import toy_space


def test_test_sets() -> None:
    space = ParameterSpace([Dimension("h", 0, 3), Dimension("s", 0, 6)])
    grid = TestSet.grid(space, 10)
    assert len(grid) == 100 and [t.id for t in grid.tasks] == list(range(100))
    a, b = TestSet.uniform(space, 50, seed=4222), TestSet.uniform(space, 50, seed=4222)
    assert [t.params for t in a.tasks] == [t.params for t in b.tasks]
    with pytest.raises(ValueError, match="n must be"):
        TestSet.uniform(space, 0, seed=0)
    with pytest.raises(ValueError):
        TestSet.from_params(space, [{"h": 9.0, "s": 0.0}])


def test_evaluate_counts_successes_per_task() -> None:
    env = CountingEnv()
    model = PPO("MlpPolicy", TaskEnv(CountingEnv()), n_steps=16, batch_size=16, device="cpu")
    tests = TestSet.from_params(COUNTING_SPACE, [{"length": k, "payload": 0.0} for k in (1, 3, 5, 7)])
    report = evaluate(model, env, tests, success_threshold=4.0)
    np.testing.assert_allclose(report.returns, [1, 3, 5, 7])
    assert report.successes.tolist() == [0, 0, 1, 1]
    assert report.mastered_percent == 50.0
    with pytest.raises(ValueError, match="success_threshold"):
        evaluate(model, env, tests)


def test_periodic_evaluation_logs_history(tmp_path) -> None:
    env = TaskEnv(gym.make("Curricula/Toy-v0"), frozen_task=Task(id=0, params={"x0": 0.0, "x1": 0.0}))
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=32, device="cpu")
    tests = TestSet.grid(toy_space(), 2)
    callback = PeriodicEvaluation(
        lambda: gym.make("Curricula/Toy-v0"), tests, eval_freq=64, log_path=tmp_path / "eval.jsonl"
    )
    model.learn(128, callback=callback)
    assert [t for t, _ in callback.history] == [64, 128]
    assert len((tmp_path / "eval.jsonl").read_text().splitlines()) == 2
