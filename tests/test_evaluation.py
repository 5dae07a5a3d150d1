"""Test sets, evaluation and where success comes from (the env, a TaskEnv threshold, or evaluate's)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from stable_baselines3 import PPO

import envs  # noqa: F401
from curricula import Dimension, ParameterSpace, Task, TaskEnv, TaskSpaceError
from curricula.env_api import read_task, task_space_of
from curricula.evaluation import PeriodicEvaluation, TestSet, evaluate
from curricula.testing import COUNTING_SPACE, CountingEnv, TinyLevelSpace
from envs.toy import toy_space

MAX_STEPS = 100


class GravityCartPole(CartPoleEnv):
    """CartPole whose gravity is the task: a user's env with no success rule of its own (no ``is_success``)."""

    task_space = ParameterSpace([Dimension("gravity", 2.0, 20.0)])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        gym.Env.reset(self, seed=seed)
        self.gravity = float(read_task(options, self.task_space, self.np_random)["gravity"])
        return super().reset(seed=None)


def _cartpole() -> gym.Env:
    return gym.wrappers.TimeLimit(GravityCartPole(), max_episode_steps=MAX_STEPS)


class Balancer:
    """Pushes the cart under the falling pole: keeps it up for the whole episode, at any gravity in the space."""

    def predict(self, observation: np.ndarray, deterministic: bool = True) -> tuple[int, None]:
        _, _, angle, angular_velocity = observation
        return int(angle + 0.5 * angular_velocity > 0), None


class AlwaysLeft:
    def predict(self, observation: np.ndarray, deterministic: bool = True) -> tuple[int, None]:
        return 0, None


GRAVITIES = TestSet.from_params(GravityCartPole.task_space, [{"gravity": g} for g in (2.0, 9.8, 20.0)])


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


@pytest.mark.parametrize("under_task_env", [False, True], ids=["bare", "task_env"])
def test_max_return_policy_is_scored_with_the_threshold_given_to_evaluate(under_task_env: bool) -> None:
    env = TaskEnv(_cartpole()) if under_task_env else _cartpole()
    report = evaluate(Balancer(), env, GRAVITIES, success_threshold=MAX_STEPS)
    assert report.returns.tolist() == [MAX_STEPS] * 3
    assert report.successes.tolist() == [1.0, 1.0, 1.0] and report.mastered_percent == 100.0
    failing = evaluate(AlwaysLeft(), env, GRAVITIES, success_threshold=MAX_STEPS)
    assert failing.returns.max() < MAX_STEPS and failing.mastered_percent == 0.0


def test_a_task_env_threshold_defines_success_for_evaluate() -> None:
    report = evaluate(Balancer(), TaskEnv(_cartpole(), success_threshold=MAX_STEPS), GRAVITIES)
    assert report.mastered_percent == 100.0


@pytest.mark.parametrize("under_task_env", [False, True], ids=["bare", "task_env"])
def test_evaluate_refuses_without_a_success_signal(under_task_env: bool) -> None:
    env = TaskEnv(_cartpole()) if under_task_env else _cartpole()
    with pytest.raises(ValueError, match=r"info\['is_success'\].*TaskEnv\(env, success_threshold=.*evaluate\(.*"):
        evaluate(Balancer(), env, GRAVITIES)


def test_the_envs_own_success_flag_wins_over_evaluates_threshold() -> None:
    # the toy env marks a one-step episode solved only when its cell is mastered: never, for a fresh student
    env = gym.make("Curricula/Toy-v0")
    report = evaluate(AlwaysLeft(), env, TestSet.grid(toy_space(), 2), success_threshold=-1.0)
    assert report.mastered_percent == 0.0


def test_an_out_of_space_task_is_refused_by_the_env_and_by_task_env() -> None:
    task = Task(id=0, params={"gravity": 100.0})
    for env in (_cartpole(), TaskEnv(_cartpole())):
        with pytest.raises(TaskSpaceError, match=r"'gravity'=100.0 is outside its bounds \[2, 20\]"):
            env.reset(options={"task": task})


def test_parameter_test_sets_refuse_a_level_space() -> None:
    with pytest.raises(TypeError, match=r"TestSet\.grid needs a ParameterSpace"):
        TestSet.grid(TinyLevelSpace(), 3)


class Forward:
    """Walks forward: its episodes depend on the levels it is dealt, nothing else."""

    def predict(self, observation: Any, deterministic: bool = True) -> tuple[int, None]:
        return 2, None


def _levels_dealt(seed: int | None, warm_up_resets: int = 0) -> list[bytes]:
    """The whole grid of every evaluation episode of a fresh (or used) MiniGrid env, with level seeds ``seed``."""
    env = TaskEnv(gym.make("Curricula/ObstacleGridLarge-v0"))
    for _ in range(warm_up_resets):  # a used env: its own random stream has moved on
        env.reset()
    levels: list[bytes] = []
    reset = env.reset

    def recording_reset(**kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = reset(**kwargs)
        levels.append(env.unwrapped.grid.encode().tobytes())
        return obs, info

    env.reset = recording_reset  # type: ignore[method-assign]
    space = task_space_of(env)
    assert isinstance(space, ParameterSpace)
    evaluate(Forward(), env, TestSet.grid(space, 2), episodes_per_task=2, seed=seed)
    env.close()
    return levels


def test_evaluation_levels_are_seeded_so_every_student_meets_the_same_levels() -> None:
    seeded = _levels_dealt(seed=0)
    assert len(seeded) == 8 and len(set(seeded)) > 4  # the empty smallest room has one layout
    # a fresh env and a used one are dealt the same levels: the report depends on the student alone
    assert _levels_dealt(seed=0, warm_up_resets=3) == seeded
    assert _levels_dealt(seed=1) != seeded
    # without level seeds an env never seeded draws its levels from OS entropy
    assert _levels_dealt(seed=None) != _levels_dealt(seed=None)
