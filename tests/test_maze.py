"""Maze levels: JSON round trip into identical grids, env checkers, generator, mutations, held-out mazes."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401
from curricula import Task, TaskEnv, TaskSpaceError
from envs.maze import (
    HELD_OUT_MAZES,
    MazeLevelSpace,
    held_out_test_set,
    maze_from_ascii,
    maze_to_ascii,
    shortest_path,
    validate_maze,
    wall_array,
)


def _built(level: dict) -> tuple[np.ndarray, tuple[int, int], int, int]:
    env = gym.make("Curricula/Maze-v0")
    env.reset(seed=0, options={"task": Task(id=0, level=level)})
    base = env.unwrapped
    return base.grid.encode(), tuple(int(v) for v in base.agent_pos), int(base.agent_dir), int(base.max_steps)


@pytest.mark.parametrize("seed", range(5))
def test_level_record_json_round_trip_builds_identical_grids(seed: int) -> None:
    space = MazeLevelSpace()
    level = space.generate(np.random.default_rng(seed))
    copy = json.loads(json.dumps(level))
    assert copy == level and space.key(copy) == space.key(level)
    grid, agent, direction, max_steps = _built(level)
    grid2, agent2, direction2, max_steps2 = _built(copy)
    np.testing.assert_array_equal(grid, grid2)
    assert (agent, direction, max_steps) == (agent2, direction2, max_steps2)
    # the grid is the record: border walls, interior walls where '#', the goal, the agent pose
    walls = wall_array(level)
    assert grid.shape[:2] == (level["size"] + 2, level["size"] + 2)
    wall_idx = grid[0, 0, 0]
    assert np.array_equal(grid[1:-1, 1:-1, 0] == wall_idx, walls.T)
    assert agent == (level["agent"][0] + 1, level["agent"][1] + 1) and direction == level["agent_dir"]
    assert max_steps == 2 * (level["size"] + 2) ** 2


def test_the_same_record_always_builds_the_same_grid_whatever_the_seed() -> None:
    level = HELD_OUT_MAZES["Labyrinth"]
    env = gym.make("Curricula/Maze-v0")
    grids = []
    for seed in (0, 1, None):
        env.reset(seed=seed, options={"task": Task(id=0, level=level)})
        grids.append(env.unwrapped.grid.encode())
    np.testing.assert_array_equal(grids[0], grids[1])
    np.testing.assert_array_equal(grids[0], grids[2])


@pytest.mark.parametrize("env_id", ["Curricula/Maze-v0", "Curricula/MazeLarge-v0"])
def test_gymnasium_and_sb3_check_env(env_id: str) -> None:
    task = Task(id=0, level=HELD_OUT_MAZES["FourRooms"])
    gym_check_env(TaskEnv(gym.make(env_id), frozen_task=task), skip_render_check=True)
    sb3_check_env(TaskEnv(gym.make(env_id), frozen_task=task), warn=False)
    assert gym.make(env_id).observation_space.shape == (7, 7, 3)


def test_reaching_the_goal_pays_and_counts_as_solved() -> None:
    level = maze_from_ascii(["AG.", "###", "..."])
    env = gym.make("Curricula/Maze-v0")
    env.reset(options={"task": Task(id=0, level=level)})
    _, reward, terminated, _, info = env.step(env.unwrapped.actions.forward)
    assert terminated and reward == pytest.approx(1 - 0.9 * 1 / (2 * 25)) and info["is_success"]


def test_generator_is_deterministic_and_within_bounds() -> None:
    space = MazeLevelSpace(size=7, min_walls=3, max_walls=15)
    a = [space.generate(np.random.default_rng(4)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    for _ in range(200):
        level = space.generate(rng)
        space.validate(level)
        assert 3 <= wall_array(level).sum() <= 15
    large = MazeLevelSpace(13, 0, 60)
    assert large.generate(rng)["size"] == 13


def test_mutations_are_valid_small_edits() -> None:
    space = MazeLevelSpace(mutation_edits=1)
    rng = np.random.default_rng(1)
    level = space.generate(rng)
    kinds = set()
    for _ in range(100):
        child = space.mutate(level, rng)
        space.validate(child)
        wall_diff = int((wall_array(child) != wall_array(level)).sum())
        goal_moved = child["goal"] != level["goal"]
        assert wall_diff + int(goal_moved) <= 1
        assert child["agent"] == level["agent"] and child["agent_dir"] == level["agent_dir"]
        kinds.add("wall" if wall_diff else "goal" if goal_moved else "noop")
        level = child
    assert {"wall", "goal"} <= kinds
    assert space.mutate(level, np.random.default_rng(9)) == space.mutate(level, np.random.default_rng(9))


def test_validation_names_the_field() -> None:
    good = HELD_OUT_MAZES["FourRooms"]
    validate_maze(good)
    for field, value in (("size", 99), ("walls", ["..."]), ("agent", [0, 99]), ("agent_dir", 4), ("goal", "x")):
        with pytest.raises(TaskSpaceError, match=field):
            validate_maze({**good, field: value})
    with pytest.raises(TaskSpaceError, match="wall"):
        validate_maze({**good, "goal": [3, 0]})  # FourRooms has a wall at (3, 0)
    with pytest.raises(TaskSpaceError, match="fields"):
        validate_maze({**good, "extra": 1})
    # a space accepts mazes of any size (the env plays them all), but mutates only its own size
    MazeLevelSpace(size=9).validate(good)
    with pytest.raises(TaskSpaceError, match="size"):
        MazeLevelSpace(size=9).mutate(good, np.random.default_rng(0))


def test_held_out_mazes_of_other_sizes_play_under_a_task_env() -> None:
    env = TaskEnv(gym.make("Curricula/Maze-v0"))
    for task in held_out_test_set().tasks:
        _, info = env.reset(options={"task": task})
        assert info["task_id"] == task.id and env.unwrapped.width == task.level["size"] + 2


def test_an_episode_without_a_task_plays_a_generated_level_from_the_seeded_rng() -> None:
    env = gym.make("Curricula/Maze-v0")
    space = env.get_wrapper_attr("task_space")
    levels = []
    for seed in (5, 5, 6):
        env.reset(seed=seed)
        levels.append(dict(env.unwrapped.level))
    assert levels[0] == levels[1] != levels[2]
    assert levels[0] == space.generate(np.random.default_rng(5))


def test_held_out_mazes_are_valid_solvable_and_named() -> None:
    assert len(HELD_OUT_MAZES) >= 6
    for name, level in HELD_OUT_MAZES.items():
        validate_maze(level)
        assert shortest_path(level) is not None, name
        assert maze_from_ascii(maze_to_ascii(level), level["agent_dir"]) == level
    test_set = held_out_test_set(["Labyrinth", "FourRooms"])
    assert [t.annotations["name"] for t in test_set.tasks] == ["Labyrinth", "FourRooms"]
    with pytest.raises(KeyError, match="unknown"):
        held_out_test_set(["NoSuchMaze"])
