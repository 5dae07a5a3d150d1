"""Procedural, task-aware environments. Importing this package registers them as Gymnasium ids.

Every registered env follows :mod:`curricula.env_api`: it accepts ``reset(options={"task": Task})``, has a
``task_space`` on the unwrapped env (reach it with :func:`curricula.env_api.task_space_of` or
``env.get_wrapper_attr("task_space")``) and is registered with :func:`curricula.registration.register_env`, so
:func:`curricula.registration.registered_envs` lists it.

Stump Tracks needs Box2D, which comes with the optional ``box2d`` extra; its ids are registered without it, and
only making one without Box2D fails, with an error that names the extra.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from curricula.registration import register_env
from envs.maze import HELD_OUT_MAZES, MazeEnv, MazeLevelSpace, held_out_test_set, make_maze
from envs.minigrid_seeded import SEEDED_MINIGRID_IDS, SeededMiniGridEnv, make_seeded_minigrid
from envs.obstacle_grid import (
    LARGE_MAX_OBSTACLES,
    LARGE_MAX_SIZE,
    OBSTACLE_GRID_SPACE,
    WIDE_MAX_OBSTACLES,
    WIDE_MAX_SIZE,
    ObstacleGridEnv,
    make_obstacle_grid,
    obstacle_grid_space,
)
from envs.toy import ToyEnv, ToyStudent, toy_space

BOX2D_INSTALL = "pip install 'curricula-rl[box2d]'"


def make_stump_tracks(**kwargs: Any) -> gym.Env[Any, Any]:
    """Entry point of the Stump Tracks ids: imports :mod:`envs.stump_tracks` (and so Box2D) only when an env
    is made, so that ``import envs`` works without the ``box2d`` extra.

    :param kwargs: :func:`envs.stump_tracks.make_stump_tracks` options
    :raises gymnasium.error.DependencyNotInstalled: Box2D is not installed
    """
    try:
        from envs import stump_tracks
    except (ImportError, gym.error.DependencyNotInstalled) as err:
        raise gym.error.DependencyNotInstalled(
            f"Stump Tracks needs Box2D, which the optional 'box2d' extra of curricula-rl installs: {BOX2D_INSTALL} "
            f"(the import failed with: {err})"
        ) from err
    return stump_tracks.make_stump_tracks(**kwargs)


register_env("Curricula/Toy-v0", ToyEnv)
register_env("Curricula/ObstacleGrid-v0", make_obstacle_grid)
register_env(
    "Curricula/ObstacleGridWide-v0",
    make_obstacle_grid,
    kwargs={"max_size": WIDE_MAX_SIZE, "max_obstacles": WIDE_MAX_OBSTACLES},
)
register_env(
    "Curricula/ObstacleGridLarge-v0",
    make_obstacle_grid,
    kwargs={"max_size": LARGE_MAX_SIZE, "max_obstacles": LARGE_MAX_OBSTACLES},
)
register_env("Curricula/Maze-v0", make_maze)
register_env(
    "Curricula/MazeLarge-v0",
    make_maze,
    kwargs={"size": 13, "min_walls": 0, "max_walls": 60, "env_id": "Curricula/MazeLarge-v0"},
)
register_env("Curricula/StumpTracks-v0", make_stump_tracks)
register_env("Curricula/StumpTracksShort-v0", make_stump_tracks, kwargs={"walker": "short"})
# MiniGrid's own families, level = seed (KeyCorridor, ObstructedMaze, MultiRoom, DoorKey, UnlockPickup)
for _curricula_id, _minigrid_id in SEEDED_MINIGRID_IDS.items():
    register_env(_curricula_id, make_seeded_minigrid, kwargs={"minigrid_id": _minigrid_id})

__all__ = [
    "BOX2D_INSTALL",
    "HELD_OUT_MAZES",
    "OBSTACLE_GRID_SPACE",
    "SEEDED_MINIGRID_IDS",
    "MazeEnv",
    "MazeLevelSpace",
    "ObstacleGridEnv",
    "SeededMiniGridEnv",
    "ToyEnv",
    "ToyStudent",
    "held_out_test_set",
    "make_maze",
    "make_obstacle_grid",
    "make_seeded_minigrid",
    "make_stump_tracks",
    "obstacle_grid_space",
    "toy_space",
]

#: the ids above that have a batched version (an SB3 VecEnv stepping all sub-envs as one torch program)
BATCHED_ENV_IDS = (
    "Curricula/Maze-v0",
    "Curricula/MazeLarge-v0",
    "Curricula/ObstacleGrid-v0",
    "Curricula/ObstacleGridWide-v0",
    "Curricula/ObstacleGridLarge-v0",
)


def make_batched_env(env_id: str, n_envs: int = 64, **kwargs: Any) -> Any:
    """The batched version of a grid family (:func:`envs.batched_grid.make_batched_env`), imported on use so that
    ``import envs`` stays free of Stable-Baselines3.

    :param env_id: one of :data:`BATCHED_ENV_IDS`
    :param n_envs: number of sub-envs
    :param kwargs: ``device``, ``seed``, ``see_through_walls``, ``max_steps_per_cell``, ``max_pending``
    """
    from envs import batched_grid

    return batched_grid.make_batched_env(env_id, n_envs, **kwargs)


__all__ += ["BATCHED_ENV_IDS", "make_batched_env"]
