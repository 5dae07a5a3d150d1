"""A MiniGrid family whose room size and obstacle count are task parameters (the quick-start environment).

The agent starts in the top-left corner facing right, the goal is in the bottom-right corner, and
``obstacles`` wall blocks are scattered over the free cells, re-drawn until the goal is reachable. Bigger rooms
and more obstacles make the sparse reward harder to find, so a teacher has a real difficulty axis to exploit.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from minigrid.core.grid import Grid
from minigrid.core.mission import MissionSpace
from minigrid.core.world_object import Goal, Wall
from minigrid.minigrid_env import MiniGridEnv
from minigrid.wrappers import ImgObsWrapper

from curricula.spaces import Dimension, ParameterSpace
from curricula.task import Task

MIN_SIZE, MAX_SIZE = 5, 11
MAX_OBSTACLES = 15
#: the wide family of the README demo: big rooms are out of a fresh student's reach, so uniform sampling wastes
#: most of its episodes there while a learning-progress teacher can find the rooms it is ready for
WIDE_MAX_SIZE, WIDE_MAX_OBSTACLES = 21, 30


def obstacle_grid_space(max_size: int = MAX_SIZE, max_obstacles: int = MAX_OBSTACLES) -> ParameterSpace:
    """The task space: room side ``size`` in [5, max_size] (walls included) and ``obstacles`` in [0, max_obstacles].

    :param max_size: the largest room side, at least 5
    :param max_obstacles: the most wall blocks a task may ask for, at least 0
    """
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < MIN_SIZE:
        raise ValueError(f"max_size must be an int >= {MIN_SIZE}, got {max_size!r}")
    if isinstance(max_obstacles, bool) or not isinstance(max_obstacles, int) or max_obstacles < 0:
        raise ValueError(f"max_obstacles must be an int >= 0, got {max_obstacles!r}")
    return ParameterSpace(
        [
            Dimension("size", MIN_SIZE, max_size, integer=True),
            Dimension("obstacles", 0, max_obstacles, integer=True),
        ]
    )


OBSTACLE_GRID_SPACE = obstacle_grid_space()
_PLACEMENT_ATTEMPTS = 50


def _reachable(grid: Grid, start: tuple[int, int], goal: tuple[int, int]) -> bool:
    seen = {start}
    frontier = deque([start])
    while frontier:
        x, y = frontier.popleft()
        if (x, y) == goal:
            return True
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if (nx, ny) in seen or not (0 <= nx < grid.width and 0 <= ny < grid.height):
                continue
            cell = grid.get(nx, ny)
            if cell is None or cell.can_overlap():
                seen.add((nx, ny))
                frontier.append((nx, ny))
    return False


class ObstacleGridEnv(MiniGridEnv):
    """MiniGrid room of side ``size`` (walls included) with ``obstacles`` wall blocks.

    Obstacles are capped at a third of the free interior cells (small rooms cannot hold 15 blocks); the layout
    is drawn from the env's RNG, so ``reset(seed=s)`` with the same task gives the same layout.
    ``info["is_success"]`` is set when the goal is reached.

    :param max_steps_per_cell: the episode limit is this times the room's cell count
    :param max_size: the largest room side of the task space (see :func:`obstacle_grid_space`)
    :param max_obstacles: the largest obstacle count of the task space
    """

    def __init__(
        self, max_steps_per_cell: int = 2, max_size: int = MAX_SIZE, max_obstacles: int = MAX_OBSTACLES, **kwargs: Any
    ) -> None:
        self.task_space = obstacle_grid_space(max_size, max_obstacles)
        self.max_steps_per_cell = max_steps_per_cell
        self.task_params: dict[str, Any] = {"size": 7, "obstacles": 2}
        super().__init__(
            mission_space=MissionSpace(mission_func=lambda: "get to the green goal square"),
            width=max_size,
            height=max_size,
            max_steps=max_steps_per_cell * max_size * max_size,
            see_through_walls=True,
            **kwargs,
        )

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        task = (options or {}).get("task")
        if isinstance(task, Task):
            if task.params is None:
                raise ValueError("ObstacleGridEnv needs a task with params {'size', 'obstacles'}")
            self.task_space.validate(task.params)
            self.task_params = dict(task.params)
        size = int(self.task_params["size"])
        # The grid (and so the step limit) follows the task; the 7x7 egocentric view keeps the obs space fixed.
        self.width = self.height = size
        self.max_steps = self.max_steps_per_cell * size * size
        return super().reset(seed=seed)

    def _gen_grid(self, width: int, height: int) -> None:
        start, goal = (1, 1), (width - 2, height - 2)
        free_cells = (width - 2) * (height - 2) - 2
        n_obstacles = min(int(self.task_params["obstacles"]), free_cells // 3)
        for _ in range(_PLACEMENT_ATTEMPTS):
            self.grid = Grid(width, height)
            self.grid.wall_rect(0, 0, width, height)
            self.put_obj(Goal(), *goal)
            for _ in range(n_obstacles):
                self.place_obj(Wall(), reject_fn=lambda _env, pos: pos in (start, goal), max_tries=1000)
            if _reachable(self.grid, start, goal):
                break
        else:  # pragma: no cover - a third of the cells can always be placed reachably within 50 draws
            raise RuntimeError(f"no reachable layout for {self.task_params}")
        self.agent_pos = np.array(start)
        self.agent_dir = 0
        self.mission = "get to the green goal square"

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        if terminated or truncated:
            info["is_success"] = float(reward) > 0.0
        return obs, float(reward), terminated, truncated, info


def make_obstacle_grid(**kwargs: Any) -> gym.Env[Any, Any]:
    """The registered form: :class:`ObstacleGridEnv` with the 7x7x3 symbolic image as observation."""
    return ImgObsWrapper(ObstacleGridEnv(**kwargs))
