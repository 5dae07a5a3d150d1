"""A MiniGrid family whose room size and obstacle count are task parameters (the quick-start environment).

The agent starts in the top-left corner facing right, the goal is in the bottom-right corner, and
``obstacles`` wall blocks are scattered over the free cells, re-drawn until the goal is reachable. Bigger rooms
and more obstacles make the sparse reward harder to find, so a teacher has a real difficulty axis to exploit.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from minigrid.core.world_object import Wall
from minigrid.wrappers import ImgObsWrapper

from curricula.spaces import Dimension, ParameterSpace
from envs.minigrid_base import GoalGridEnv, blocked_cells, shortest_path_length

MIN_SIZE, MAX_SIZE = 5, 11
MAX_OBSTACLES = 15
#: the wide family of the README demo: big rooms are out of a fresh student's reach, so uniform sampling wastes
#: most of its episodes there while a learning-progress teacher can find the rooms it is ready for
WIDE_MAX_SIZE, WIDE_MAX_OBSTACLES = 21, 30
#: the large family of the quick start: most of it (rooms of side 17 and up hold 2 x side² steps of sparse
#: reward) is far too hard for a fresh student, the shape where a teacher matters most (TeachMyAgent)
LARGE_MAX_SIZE, LARGE_MAX_OBSTACLES = 27, 50


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


class ObstacleGridEnv(GoalGridEnv):
    """MiniGrid room of side ``size`` (walls included) with ``obstacles`` wall blocks.

    Obstacles are capped at a third of the free interior cells (small rooms cannot hold 15 blocks); the layout
    is drawn from the env's RNG, so ``reset(seed=s)`` with the same task gives the same layout. Without a task
    the episode plays a uniform one from that RNG. ``info["is_success"]`` is set on the last step: True when the
    goal was reached.

    :param max_steps_per_cell: the episode limit is this times the room's cell count
    :param max_size: the largest room side of the task space (see :func:`obstacle_grid_space`)
    :param max_obstacles: the largest obstacle count of the task space
    :param kwargs: passed to ``MiniGridEnv`` (``render_mode``, ...)
    """

    def __init__(
        self, max_steps_per_cell: int = 2, max_size: int = MAX_SIZE, max_obstacles: int = MAX_OBSTACLES, **kwargs: Any
    ) -> None:
        #: the task of the current episode
        self.task_params: dict[str, Any] = {"size": 7, "obstacles": 2}
        super().__init__(obstacle_grid_space(max_size, max_obstacles), max_size, max_steps_per_cell, **kwargs)

    def _apply_task(self, point: dict[str, Any]) -> int:
        self.task_params = point
        return int(point["size"])

    def _gen_grid(self, width: int, height: int) -> None:
        start, goal = (1, 1), (width - 2, height - 2)
        free_cells = (width - 2) * (height - 2) - 2
        n_obstacles = min(int(self.task_params["obstacles"]), free_cells // 3)
        for _ in range(_PLACEMENT_ATTEMPTS):
            self._build_room(width, height, goal)
            for _ in range(n_obstacles):
                self.place_obj(Wall(), reject_fn=lambda _env, pos: pos in (start, goal), max_tries=1000)
            if shortest_path_length(blocked_cells(self.grid), start, goal) is not None:
                break
        else:  # pragma: no cover - a third of the cells can always be placed reachably within 50 draws
            raise RuntimeError(f"no reachable layout for {self.task_params}")
        self._place_agent(start, 0)


def make_obstacle_grid(**kwargs: Any) -> gym.Env[Any, Any]:
    """The registered form: :class:`ObstacleGridEnv` with the 7x7x3 symbolic image as observation.

    :param kwargs: passed to :class:`ObstacleGridEnv`
    """
    return ImgObsWrapper(ObstacleGridEnv(**kwargs))
