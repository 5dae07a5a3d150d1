"""The env-authoring API: reading a task, finding a task space, registering an env, and what importing costs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401 - registers the built-in ids
from curricula import registration
from curricula.env_api import read_task, task_space_of
from curricula.registration import register_env, registered_envs
from curricula.spaces import ParameterSpace, TaskSpaceError
from curricula.task import Task
from curricula.testing import COUNTING_SPACE, CountingEnv, TinyLevelSpace
from curricula.wrappers import TaskEnv

ROOT = Path(__file__).resolve().parents[1]
BUILT_IN_IDS = [
    "Curricula/Toy-v0",
    "Curricula/ObstacleGrid-v0",
    "Curricula/ObstacleGridWide-v0",
    "Curricula/ObstacleGridLarge-v0",
    "Curricula/Maze-v0",
    "Curricula/MazeLarge-v0",
    "Curricula/StumpTracks-v0",
    "Curricula/StumpTracksShort-v0",
]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


# -- read_task ------------------------------------------------------------------------------------------------
def test_read_task_returns_the_validated_point_of_a_task_or_its_json() -> None:
    task = Task(id=3, params={"length": 4, "payload": 0.25})
    rng = np.random.default_rng(0)
    assert read_task({"task": task}, COUNTING_SPACE, rng) == {"length": 4, "payload": 0.25}
    assert read_task({"task": task.to_json()}, COUNTING_SPACE, rng) == {"length": 4, "payload": 0.25}
    level = {"cells": [0, 1, 2, 3]}
    assert read_task({"task": Task(id=0, level=level)}, TinyLevelSpace(), rng) == level


def test_read_task_without_a_task_draws_a_uniform_point_from_the_given_rng() -> None:
    points = [read_task(options, COUNTING_SPACE, np.random.default_rng(7)) for options in (None, {}, {"task": None})]
    assert points[0] == points[1] == points[2]
    COUNTING_SPACE.validate(points[0])
    draws = [read_task(None, COUNTING_SPACE, np.random.default_rng(s))["length"] for s in range(200)]
    assert set(draws) == set(range(1, 8))  # every integer value of the dimension is drawn
    level = read_task(None, TinyLevelSpace(), np.random.default_rng(7))
    assert level == TinyLevelSpace().generate(np.random.default_rng(7))


def test_read_task_errors_name_the_field_the_value_and_the_bounds() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(TaskSpaceError, match=r"task 5: param 'payload'=2.0 is outside its bounds \[0, 1\]"):
        read_task({"task": Task(id=5, params={"length": 2, "payload": 2.0})}, COUNTING_SPACE, rng)
    with pytest.raises(TaskSpaceError, match=r"missing \['length'\].*length in \[1, 7\]"):
        read_task({"task": Task(id=5, params={"payload": 0.0})}, COUNTING_SPACE, rng)
    with pytest.raises(TaskSpaceError, match="task 5 has no level"):
        read_task({"task": Task(id=5, params={"length": 2, "payload": 0.0})}, TinyLevelSpace(), rng)
    with pytest.raises(TypeError, match="Task"):
        read_task({"task": 3}, COUNTING_SPACE, rng)


@pytest.mark.parametrize("env_id", ["Curricula/Toy-v0", "Curricula/ObstacleGrid-v0", "Curricula/StumpTracks-v0"])
def test_built_in_envs_without_a_task_play_a_uniform_one_from_their_seeded_rng(env_id: str) -> None:
    env = gym.make(env_id)
    base = env.unwrapped
    played = []
    for seed in (11, 11, 12):
        env.reset(seed=seed)
        if env_id.endswith("Toy-v0"):
            played.append(base._point.tolist())
        elif "ObstacleGrid" in env_id:
            played.append(dict(base.task_params))
        else:
            played.append([base.stump_height, base.obstacle_spacing])
    assert played[0] == played[1] != played[2]
    space = task_space_of(env)
    expected = space.sample(np.random.default_rng(11))
    assert played[0] in (expected, list(expected.values()))


# -- task_space_of --------------------------------------------------------------------------------------------
def test_task_space_of_finds_the_space_however_the_env_is_held() -> None:
    space = task_space_of("Curricula/ObstacleGrid-v0")
    assert isinstance(space, ParameterSpace) and space.names == ("size", "obstacles")
    assert task_space_of(gym.make("Curricula/Toy-v0")).names == ("x0", "x1")
    assert task_space_of(TaskEnv(CountingEnv())) is COUNTING_SPACE
    sb3_vec = DummyVecEnv([lambda: TaskEnv(CountingEnv())])
    assert task_space_of(sb3_vec) is COUNTING_SPACE
    gym_vec = gym.vector.SyncVectorEnv([lambda: TaskEnv(CountingEnv())])
    assert task_space_of(gym_vec) is COUNTING_SPACE
    with pytest.raises(TypeError, match="no task_space"):
        task_space_of("CartPole-v1")
    with pytest.raises(TypeError, match="takes an env id"):
        task_space_of(42)


# -- registration ---------------------------------------------------------------------------------------------
@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Ids registered in a test are removed from both registries afterwards."""
    monkeypatch.setattr(registration, "_TASK_ENV_IDS", dict(registration._TASK_ENV_IDS))
    added: list[str] = []
    yield added
    for env_id in added:
        gym.registry.pop(env_id, None)


def test_built_in_ids_are_registered_in_order() -> None:
    assert registered_envs()[: len(BUILT_IN_IDS)] == BUILT_IN_IDS
    assert all(env_id in gym.registry for env_id in BUILT_IN_IDS)


def test_a_users_env_is_registered_with_gymnasium_and_listed(clean_registry: list[str]) -> None:
    env_id = "CurriculaTest/Counting-v0"
    clean_registry.append(env_id)
    register_env(env_id, "curricula.testing:CountingEnv", max_episode_steps=5)
    assert registered_envs()[-1] == env_id
    env = gym.make(env_id)
    assert env.spec is not None and env.spec.max_episode_steps == 5
    assert task_space_of(env_id) is COUNTING_SPACE
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # registering the same spec again is silent (modules imported twice)
        register_env(env_id, "curricula.testing:CountingEnv", max_episode_steps=5)
    assert registered_envs().count(env_id) == 1
    with pytest.raises(ValueError, match="env_id"):
        register_env("", CountingEnv)


def test_a_users_env_made_by_id_validates_tasks_under_task_env(clean_registry: list[str]) -> None:
    env_id = "CurriculaTest/Counting-v1"
    clean_registry.append(env_id)
    register_env(env_id, CountingEnv)
    env = TaskEnv(gym.make(env_id))
    with pytest.raises(TaskSpaceError, match=r"'length'=9 is outside its bounds \[1, 7\]"):
        env.push_task(Task(id=0, params={"length": 9, "payload": 0.0}))


# -- import costs -----------------------------------------------------------------------------------------------
def test_envs_test_sets_and_the_env_side_core_import_without_stable_baselines3() -> None:
    result = _python(
        """
        import sys
        import envs
        from curricula.test_set import TestSet
        from curricula.env_api import read_task, task_space_of
        from curricula.registration import register_env, registered_envs
        from curricula.wrappers import TaskEnv
        from envs.maze import held_out_test_set
        assert isinstance(held_out_test_set(), TestSet)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "stable_baselines3")
        print(loaded[:5])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"stable_baselines3 was imported: {result.stdout}"


def test_import_envs_works_without_box2d_and_making_stump_tracks_names_the_extra() -> None:
    result = _python(
        """
        import sys
        sys.modules["Box2D"] = None  # as if the box2d extra were not installed: importing it raises ImportError
        import gymnasium as gym
        import envs
        from curricula.registration import registered_envs
        assert "Curricula/StumpTracks-v0" in registered_envs()
        gym.make("Curricula/Maze-v0").reset(seed=0)
        try:
            gym.make("Curricula/StumpTracksShort-v0")
        except gym.error.DependencyNotInstalled as err:
            print(err)
        else:
            raise SystemExit("making Stump Tracks without Box2D did not fail")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'curricula-rl[box2d]'" in result.stdout and "box2d" in result.stdout
