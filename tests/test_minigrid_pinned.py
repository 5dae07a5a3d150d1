"""Maze and ObstacleGrid play exactly what they played before they shared their MiniGrid plumbing.

The digests below were recorded from the code as it was before ``envs/minigrid_base.py`` existed: for the same
task and seed, the sequence of observations, rewards, terminations and success flags under a fixed action
sequence must not change.
"""

from __future__ import annotations

import hashlib

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401 - registers the ids
from curricula import Task
from envs.maze import HELD_OUT_MAZES, MazeLevelSpace, maze_from_ascii

STEPS_PER_TASK = 120


def _digest(env_id: str, tasks: list[Task], seeds: list[int]) -> tuple[str, int]:
    """sha256 over everything the env returns for each (task, seed) under a fixed random action sequence, and
    the number of episodes that reached the goal (so that the digest covers the reward too)."""
    env = gym.make(env_id)
    actions = np.random.default_rng(12345)
    digest = hashlib.sha256()
    solved = 0
    for task, seed in zip(tasks, seeds, strict=True):
        obs, _ = env.reset(seed=seed, options={"task": task})
        digest.update(np.ascontiguousarray(obs).tobytes())
        base = env.unwrapped
        digest.update(f"{base.width},{base.height},{base.max_steps}".encode())
        for _ in range(STEPS_PER_TASK):
            # forward half the time, so that episodes do reach the goal
            action = int(actions.choice([0, 1, 2], p=[0.25, 0.25, 0.5]))
            obs, reward, terminated, truncated, info = env.step(action)
            digest.update(np.ascontiguousarray(obs).tobytes())
            digest.update(f"{reward:.12f},{terminated},{truncated},{info.get('is_success')}".encode())
            if terminated or truncated:
                solved += int(reward > 0)
                break
    env.close()
    return digest.hexdigest(), solved


def _maze_tasks() -> list[Task]:
    space = MazeLevelSpace()
    rng = np.random.default_rng(0)
    levels = [space.generate(rng) for _ in range(6)]
    levels += [HELD_OUT_MAZES["FourRooms"], HELD_OUT_MAZES["Labyrinth"], maze_from_ascii(["A.G", "...", "..."])]
    return [Task(id=i, level=level) for i, level in enumerate(levels)]


def _obstacle_tasks(max_size: int, max_obstacles: int) -> list[Task]:
    sizes = [5, 7, 9, max_size, max_size, 6]
    obstacles = [0, 2, 7, max_obstacles, 3, 15]
    return [
        Task(id=i, params={"size": s, "obstacles": o}) for i, (s, o) in enumerate(zip(sizes, obstacles, strict=True))
    ]


# recorded at commit 9676cc0 (before envs/minigrid_base.py); Maze and MazeLarge play the same explicit levels
PINNED = {
    "Curricula/Maze-v0": "c6a3bce5107faf9296dc7de86ecdbd9bec5df5ead503fe9e47adc067922f9fdf",
    "Curricula/MazeLarge-v0": "c6a3bce5107faf9296dc7de86ecdbd9bec5df5ead503fe9e47adc067922f9fdf",
    "Curricula/ObstacleGrid-v0": "d2475ff42793f30d51045dfff1596b0a43a0f78bbab0aa8f6ed93b5733aa0341",
    "Curricula/ObstacleGridWide-v0": "9d119c3ff858c484015fafe93c7372b5660a24ea5e5024ebdf9e07eea94989c2",
}


@pytest.mark.parametrize("env_id", sorted(PINNED))
def test_same_task_and_seed_play_the_same_episode_as_before(env_id: str) -> None:
    if "Maze" in env_id:
        tasks = _maze_tasks()
    elif "Wide" in env_id:
        tasks = _obstacle_tasks(21, 30)
    else:
        tasks = _obstacle_tasks(11, 15)
    seeds = [3 * k + 1 for k in range(len(tasks))]
    digest, solved = _digest(env_id, tasks, seeds)
    assert solved >= 1
    assert digest == PINNED[env_id]
