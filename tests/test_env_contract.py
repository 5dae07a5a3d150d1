"""Contract tests run on every registered task-aware env id (``curricula.registration.registered_envs()``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401 - registers the built-in ids
import teachers  # noqa: F401
from curricula import ParameterSpace, Task, TaskEnv, TaskSpace, TaskSpaceError, make_teacher
from curricula.env_api import task_space_of
from curricula.registration import registered_envs

ENV_IDS = registered_envs()


def _frozen(env_id: str) -> TaskEnv:
    env = gym.make(env_id)
    task = make_teacher("random", task_space_of(env), seed=0).sample()
    return TaskEnv(env, frozen_task=task)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id: str) -> None:
    gym_check_env(_frozen(env_id), skip_render_check=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id: str) -> None:
    sb3_check_env(_frozen(env_id), warn=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_task_space_and_task_is_honoured(env_id: str) -> None:
    env = gym.make(env_id)
    space = env.get_wrapper_attr("task_space")
    assert isinstance(space, TaskSpace)
    wrapped = TaskEnv(env)
    teacher = make_teacher("random", space, seed=1)
    for _ in range(3):
        task = teacher.sample()
        _, info = wrapped.reset(seed=0, options={"task": task})
        assert info["task_id"] == task.id
        done, steps = False, 0
        while not done:
            _, _, term, trunc, info = wrapped.step(wrapped.action_space.sample())
            done, steps = term or trunc, steps + 1
            assert steps < 100_000
        assert info["episode_result"].task == task


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_task_same_first_observation(env_id: str) -> None:
    space = gym.make(env_id).get_wrapper_attr("task_space")
    task = make_teacher("random", space, seed=2).sample()
    first = [gym.make(env_id).reset(seed=7, options={"task": task})[0] for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])


def test_obstacle_grid_reads_size_from_task() -> None:
    env = gym.make("Curricula/ObstacleGrid-v0")
    space: ParameterSpace = env.get_wrapper_attr("task_space")
    env.reset(options={"task": make_teacher("random", space).sample()})
    env.reset(options={"task": Task(id=0, params={"size": 9, "obstacles": 4})})
    base = env.unwrapped
    assert base.width == 9 and base.max_steps == 2 * 81
    walls = sum(
        1
        for x in range(1, 8)
        for y in range(1, 8)
        if base.grid.get(x, y) is not None and base.grid.get(x, y).type == "wall"
    )
    assert walls == 4
    with pytest.raises(TaskSpaceError, match="size"):
        env.reset(options={"task": Task(id=1, params={"size": 30, "obstacles": 0})})


def _layers(env: gym.Env) -> list[gym.Env]:
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_task_space_lives_in_one_place_of_the_wrapper_stack(env_id: str) -> None:
    env = TaskEnv(gym.make(env_id))
    owners = [layer for layer in _layers(env) if hasattr(type(layer), "task_space") or "task_space" in vars(layer)]
    assert len(owners) == 1, f"task_space is defined on {owners}: a value set on one would not reach the other"
    assert task_space_of(env) is owners[0].task_space is env.get_wrapper_attr("task_space")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_task_outside_the_space_raises_task_space_error(env_id: str) -> None:
    env = gym.make(env_id)
    space = task_space_of(env)
    task = make_teacher("random", space, seed=3).sample()
    if isinstance(space, ParameterSpace):
        name = space.names[0]
        bad = Task(id=9, params={**task.params, name: space.dims[0].high + 100})
    else:
        bad = Task(id=9, level={"not": "a level"})
    with pytest.raises(TaskSpaceError, match="task 9"):
        env.reset(options={"task": bad})


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_success_is_set_on_the_last_step_only(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=0, options={"task": make_teacher("random", task_space_of(env), seed=4).sample()})
    done, steps = False, 0
    while not done:
        _, _, term, trunc, info = env.step(env.action_space.sample())
        done, steps = term or trunc, steps + 1
        if not done:
            assert "is_success" not in info, f"is_success set before the last step ({steps})"
    # every built-in family defines success; a user's env may not, and then sets nothing
    assert type(info["is_success"]) is bool
