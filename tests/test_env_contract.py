"""The env contract (:mod:`curricula.contracts`) on every registered task-aware env id, one test per check.

``curricula check --import my_module`` runs the same checks on a user's envs.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401 - registers the built-in ids
from curricula import ParameterSpace, Task, TaskSpaceError, task_space_of
from curricula.contracts import env_contract_checks, uniform_task
from curricula.registration import registered_envs

CASES = [(env_id, check) for env_id in registered_envs() for check in env_contract_checks(env_id)]


@pytest.mark.parametrize(("env_id", "check"), CASES, ids=[f"{e}:{c}" for e, c in CASES])
def test_env_contract(env_id: str, check: str) -> None:
    env_contract_checks(env_id)[check]()


def test_every_built_in_family_defines_success() -> None:
    # the contract allows an env without a success rule; every built-in family has one
    for env_id in registered_envs():
        env = gym.make(env_id)
        space = task_space_of(env)
        env.reset(seed=0, options={"task": uniform_task(space, np.random.default_rng(0))})
        done, info = False, {}
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
        assert type(info.get("is_success")) is bool, env_id


def test_obstacle_grid_reads_size_from_task() -> None:
    env = gym.make("Curricula/ObstacleGrid-v0")
    space = task_space_of(env)
    assert isinstance(space, ParameterSpace)
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
