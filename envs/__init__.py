"""Procedural, task-aware environments. Importing this package registers them as Gymnasium ids.

Every registered env accepts ``reset(options={"task": Task})`` and exposes ``task_space`` (reach it with
``env.get_wrapper_attr("task_space")``); :data:`TASK_ENV_IDS` lists them for the env contract tests.
"""

from __future__ import annotations

import gymnasium as gym

from envs.maze import HELD_OUT_MAZES, MazeEnv, MazeLevelSpace, held_out_test_set, make_maze
from envs.obstacle_grid import (
    OBSTACLE_GRID_SPACE,
    WIDE_MAX_OBSTACLES,
    WIDE_MAX_SIZE,
    ObstacleGridEnv,
    make_obstacle_grid,
    obstacle_grid_space,
)
from envs.stump_tracks import StumpTracksEnv, make_stump_tracks
from envs.toy import ToyEnv, ToyStudent, toy_space

#: every task-aware env id this package registers (the env contract tests run on each)
TASK_ENV_IDS: list[str] = []


def _register(env_id: str, entry_point: object, **kwargs: object) -> None:
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=entry_point, **kwargs)  # type: ignore[arg-type]
    if env_id not in TASK_ENV_IDS:
        TASK_ENV_IDS.append(env_id)


_register("Curricula/Toy-v0", ToyEnv)
_register("Curricula/ObstacleGrid-v0", make_obstacle_grid)
_register(
    "Curricula/ObstacleGridWide-v0",
    make_obstacle_grid,
    kwargs={"max_size": WIDE_MAX_SIZE, "max_obstacles": WIDE_MAX_OBSTACLES},
)
_register("Curricula/Maze-v0", make_maze)
_register(
    "Curricula/MazeLarge-v0",
    make_maze,
    kwargs={"size": 13, "min_walls": 0, "max_walls": 60, "env_id": "Curricula/MazeLarge-v0"},
)
_register("Curricula/StumpTracks-v0", make_stump_tracks)
_register("Curricula/StumpTracksShort-v0", make_stump_tracks, kwargs={"walker": "short"})

__all__ = [
    "HELD_OUT_MAZES",
    "OBSTACLE_GRID_SPACE",
    "TASK_ENV_IDS",
    "MazeEnv",
    "MazeLevelSpace",
    "ObstacleGridEnv",
    "StumpTracksEnv",
    "ToyEnv",
    "ToyStudent",
    "held_out_test_set",
    "make_maze",
    "make_obstacle_grid",
    "obstacle_grid_space",
    "toy_space",
]
