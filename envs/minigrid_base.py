"""The MiniGrid plumbing that the task-aware grid families (Maze, ObstacleGrid) share.

:class:`GoalGridEnv` is a square MiniGrid room whose side follows the task: reach the green goal. It reads the
task with :func:`curricula.env_api.read_task` (an episode without a task plays a uniform one drawn from the
env's seeded RNG), resizes the grid and the step limit to the task, and sets ``info["is_success"]`` (return > 0)
on the last step of each episode. A family implements :meth:`GoalGridEnv._apply_task` (store the task, return
the grid side) and MiniGrid's ``_gen_grid`` with the helpers :meth:`GoalGridEnv._build_room` and
:meth:`GoalGridEnv._place_agent`. :func:`shortest_path_length` is the one BFS of the grid families.
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

from curricula.env_api import read_task
from curricula.spaces import TaskSpace

MISSION = "get to the green goal square"


def _mission() -> str:
    return MISSION


def shortest_path_length(walls: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> int | None:
    """Moves on the 4-neighbour grid from ``start`` to ``goal``, or None if the goal is unreachable.

    :param walls: blocked cells, a bool array indexed ``[y, x]``
    :param start: ``(x, y)`` of the start cell
    :param goal: ``(x, y)`` of the goal cell
    """
    height, width = walls.shape
    dist = {start: 0}
    frontier = deque([start])
    while frontier:
        x, y = frontier.popleft()
        if (x, y) == goal:
            return dist[(x, y)]
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if 0 <= nx < width and 0 <= ny < height and not walls[ny, nx] and (nx, ny) not in dist:
                dist[(nx, ny)] = dist[(x, y)] + 1
                frontier.append((nx, ny))
    return None


def blocked_cells(grid: Grid) -> np.ndarray:
    """The cells of a MiniGrid grid that the agent cannot enter, as a bool array indexed ``[y, x]``."""
    blocked = [cell is not None and not cell.can_overlap() for cell in grid.grid]
    return np.array(blocked, dtype=bool).reshape(grid.height, grid.width)


class GoalGridEnv(MiniGridEnv):
    """A square MiniGrid room, sized by the task, with a green goal to reach.

    Reaching the goal pays MiniGrid's ``1 - 0.9 * steps / max_steps`` and ends the episode; ``max_steps`` is
    ``max_steps_per_cell`` times the grid's cell count. An episode is solved when its return is > 0.

    :param task_space: the space of the family's tasks (stored as ``task_space``)
    :param max_side: the largest grid side (border included) any task asks for
    :param max_steps_per_cell: the episode limit is this times the grid's cell count
    :param kwargs: passed to ``MiniGridEnv`` (``render_mode``, ``agent_view_size``, ...)
    """

    def __init__(self, task_space: TaskSpace, max_side: int, max_steps_per_cell: int = 2, **kwargs: Any) -> None:
        self.task_space = task_space
        self.max_steps_per_cell = max_steps_per_cell
        super().__init__(
            mission_space=MissionSpace(mission_func=_mission),
            width=max_side,
            height=max_side,
            max_steps=max_steps_per_cell * max_side * max_side,
            see_through_walls=True,
            **kwargs,
        )

    def _apply_task(self, point: dict[str, Any]) -> int:
        """Store the episode's task (a validated point of ``task_space``) for ``_gen_grid``; return the side of
        the grid it needs, border included. Every family implements it."""
        raise NotImplementedError(f"{type(self).__name__} must implement _apply_task")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        # Seed first: an episode without a task draws it from the generator this seed fixes.
        gym.Env.reset(self, seed=seed)
        side = self._apply_task(read_task(options, self.task_space, self.np_random))
        # The grid and the step limit follow the task; the 7x7 egocentric view keeps the obs space fixed.
        self.width = self.height = side
        self.max_steps = self.max_steps_per_cell * side * side
        # seed=None: the generator was seeded above and must not be reseeded
        return super().reset(seed=None)

    def _build_room(self, width: int, height: int, goal: tuple[int, int], interior_walls: Any = None) -> None:
        """A walled ``width`` x ``height`` grid with the goal at ``goal`` (grid coordinates).

        :param interior_walls: optional bool array indexed ``[y, x]`` over the interior (the border excluded):
            walls to add
        """
        self.grid = Grid(width, height)
        self.grid.wall_rect(0, 0, width, height)
        if interior_walls is not None:
            for y, x in zip(*np.nonzero(interior_walls), strict=True):
                self.grid.set(int(x) + 1, int(y) + 1, Wall())
        self.put_obj(Goal(), *goal)

    def _place_agent(self, position: tuple[int, int], direction: int) -> None:
        """Put the agent at ``position`` (grid coordinates) facing ``direction`` (0 right, 1 down, 2 left, 3 up)."""
        self.agent_pos = np.array(position)
        self.agent_dir = int(direction)
        self.mission = MISSION

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        if terminated or truncated:
            info["is_success"] = float(reward) > 0.0
        return obs, float(reward), terminated, truncated, info
