"""The maze and obstacle-grid families stepped as one array program: an SB3 ``VecEnv`` with Curricula's task channel.

:class:`BatchedGoalGridVecEnv` keeps the state of all its sub-envs in torch tensors on one device (the student's)
and steps them together: one gather for the forward cell, one for the 7x7 egocentric view of every env, and, when
walls block the view, a row-by-row occlusion pass through a precomputed table. What each sub-env plays is what the
MiniGrid version (``envs.maze.MazeEnv``, ``envs.obstacle_grid.ObstacleGridEnv`` under ``ImgObsWrapper``) plays on
the same level: the same seven actions, the same 7x7x3 (object, colour, state) view rotated with the agent, the
same reward ``1 - 0.9 * steps / max_steps`` on reaching the goal, the same termination and truncation
(``tests/test_batched_grid.py`` checks it step by step).

The task channel is the one of a vector of :class:`~curricula.wrappers.TaskEnv`, implemented natively (no
per-env call): ``env_method("set_env_index" | "in_flight" | "push_tasks" | "push_task" | "clear_pending" |
"get_wrapper_attr")`` work as on TaskEnv, each sub-env plays its pushed tasks in push order (checked against the
task space at push time), every step's info has ``task_id`` and the last step of an episode has
``episode_result`` (raw return, length, success, env index, truncation), ``is_success``, ``terminal_observation``,
``TimeLimit.truncated`` and a Monitor-style ``episode``. So :class:`~curricula.callback.CurriculumCallback` drives
it unchanged.

Levels: a maze task carries its level, so the same task gives the same level as the MiniGrid env. An obstacle
task carries parameters; layouts are drawn here, batched, from the same distribution as ObstacleGridEnv (a uniform
set of ``min(obstacles, free // 3)`` interior cells other than start and goal, redrawn until the goal is
reachable) but from this env's own generator, so a seed does not give the MiniGrid env's layout. Any layout can be
played explicitly with :meth:`BatchedGoalGridVecEnv.reset_to_layouts` (e.g. one read from a MiniGrid env with
:func:`minigrid_layouts`).

SB3's on-policy algorithms take NumPy observations (``obs_as_tensor`` and the rollout buffer), so ``step_wait``
returns host arrays: one device-to-host copy of the observations per step. :meth:`BatchedGoalGridVecEnv.step_tensors`
returns them on the device for code that can use them there (``benchmarks/gpu.py`` measures the difference).
"""

from __future__ import annotations

import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from minigrid.core.world_object import Goal, Wall
from minigrid.minigrid_env import MiniGridEnv
from scipy import ndimage
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from curricula.spaces import TaskSpace
from curricula.task import EpisodeResult, Task, as_task
from curricula.wrappers import NO_TASK_ID
from envs.maze import MAX_SIZE as MAZE_MAX_INTERIOR
from envs.maze import MazeLevelSpace, wall_array
from envs.obstacle_grid import (
    LARGE_MAX_OBSTACLES,
    LARGE_MAX_SIZE,
    MAX_OBSTACLES,
    MAX_SIZE,
    WIDE_MAX_OBSTACLES,
    WIDE_MAX_SIZE,
    obstacle_grid_space,
)

__all__ = [
    "BATCHED_ENV_IDS",
    "BatchedGoalGridVecEnv",
    "BatchedMazeVecEnv",
    "BatchedObstacleGridVecEnv",
    "GridLayouts",
    "make_batched_env",
    "minigrid_layouts",
]

#: cell codes of the state grids
EMPTY, WALL, GOAL = 0, 1, 2
#: code of a view cell hidden by a wall (encoded as MiniGrid's all-zero "unseen")
_UNSEEN = 3
#: MiniGrid's (object, colour, state) encoding of each code
_ENCODING = np.array([(1, 0, 0), tuple(Wall().encode()), tuple(Goal().encode()), (0, 0, 0)], dtype=np.uint8)
VIEW = 7
#: the agent's own cell in the view, (x, y): bottom row, middle column
_AGENT_VIEW_CELL = (VIEW // 2, VIEW - 1)
#: border added around every grid so that any view cell of an agent inside its room is an in-bounds gather
_PAD = VIEW - 1
#: MiniGrid's actions 0 left, 1 right, 2 forward; pickup, drop, toggle and done change nothing here
_FORWARD = 2
_TURN = (3, 1, 0, 0, 0, 0, 0)
_N_ACTIONS = 7
#: (dx, dy) of directions 0 right, 1 down, 2 left, 3 up (MiniGrid's DIR_TO_VEC)
_DIR_VEC = ((1, 0), (0, 1), (-1, 0), (0, -1))
#: the 4-neighbour connectivity of a stack of 2-D grids (no connection across the stack axis)
_STACKED_4_NEIGHBOURS = np.zeros((3, 3, 3), dtype=bool)
_STACKED_4_NEIGHBOURS[1] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]


def _row_visibility_table() -> np.ndarray:
    """MiniGrid's ``Grid.process_vis`` on one view row, for every (visible bits, transparent bits) of that row.

    ``process_vis`` walks the rows from the agent's (the bottom one) up; within a row it sweeps left to right then
    right to left, and a visible transparent cell makes its neighbour in the row and two cells of the row above
    visible. Row ``j`` is final once its two sweeps are done, and the row above gets bits only from row ``j``, so the
    whole pass is seven lookups of this table. Entry ``visible | transparent << 7`` holds the row's final visible
    bits in bits 0-6 and the bits it makes visible in the row above in bits 7-13.
    """
    table = np.zeros(1 << (2 * VIEW), dtype=np.int64)
    for key in range(1 << (2 * VIEW)):
        mask = [bool(key >> i & 1) for i in range(VIEW)]
        transparent = [bool(key >> (VIEW + i) & 1) for i in range(VIEW)]
        above = [False] * VIEW
        for i in range(VIEW - 1):
            if mask[i] and transparent[i]:
                mask[i + 1] = above[i + 1] = above[i] = True
        for i in reversed(range(1, VIEW)):
            if mask[i] and transparent[i]:
                mask[i - 1] = above[i - 1] = above[i] = True
        table[key] = sum(1 << i for i in range(VIEW) if mask[i]) | sum(1 << (VIEW + i) for i in range(VIEW) if above[i])
    return table


_ROW_VISIBILITY = _row_visibility_table()


@dataclass
class GridLayouts:
    """Levels as arrays, one row per level: what a batched env loads into its state at the start of an episode.

    :param cells: cell codes (``EMPTY``, ``WALL``, ``GOAL``), shape (k, side_max, side_max), indexed ``[level, y, x]``
        in grid coordinates (border included); cells beyond a level's side are walls
    :param agent: (k, 2) agent ``(x, y)``, grid coordinates
    :param agent_dir: (k,) 0 right, 1 down, 2 left, 3 up
    :param sides: (k,) grid side of each level, border included (the step limit follows it)
    """

    cells: np.ndarray
    agent: np.ndarray
    agent_dir: np.ndarray
    sides: np.ndarray

    def __len__(self) -> int:
        return len(self.sides)


def room_cells(sides: np.ndarray, side_max: int) -> np.ndarray:
    """Empty walled rooms: (k, side_max, side_max) codes, walls on each room's border and beyond its side.

    :param sides: (k,) room sides, border included
    :param side_max: the array side
    """
    coords = np.arange(side_max)
    inside = (coords[None, :] >= 1) & (coords[None, :] < sides[:, None] - 1)  # (k, side_max)
    interior = inside[:, :, None] & inside[:, None, :]
    return np.where(interior, EMPTY, WALL).astype(np.int64)


def minigrid_layouts(envs: Sequence[gym.Env[Any, Any]], side_max: int) -> GridLayouts:
    """The current levels of reset MiniGrid goal-grid envs (wrapped or not), as :class:`GridLayouts`.

    :param envs: MiniGrid envs whose grids hold only walls and goals
    :param side_max: the array side (at least the largest grid side)
    :raises ValueError: a grid holds another kind of object, or is larger than ``side_max``
    """
    cells = np.full((len(envs), side_max, side_max), WALL, dtype=np.int64)
    agent = np.zeros((len(envs), 2), dtype=np.int64)
    agent_dir = np.zeros(len(envs), dtype=np.int64)
    sides = np.zeros(len(envs), dtype=np.int64)
    codes = {"wall": WALL, "goal": GOAL}
    for k, env in enumerate(envs):
        base: Any = env.unwrapped
        if not isinstance(base, MiniGridEnv):
            raise ValueError(f"{env} is not a MiniGrid env")
        grid = base.grid
        if grid.width != grid.height or grid.width > side_max:
            raise ValueError(f"grid of {grid.width}x{grid.height} does not fit a square of side {side_max}")
        for index, obj in enumerate(grid.grid):
            if obj is not None and obj.type not in codes:
                raise ValueError(f"batched grids hold walls and goals only, found a {obj.type}")
            cells[k, index // grid.width, index % grid.width] = EMPTY if obj is None else codes[obj.type]
        agent[k] = base.agent_pos
        agent_dir[k] = base.agent_dir
        sides[k] = grid.width
    return GridLayouts(cells, agent, agent_dir, sides)


def _view_offsets(padded_side: int) -> torch.Tensor:
    """(4, 7, 7) flat offsets, per direction, from the agent's cell to each view cell ``[x, y]`` of its view.

    The agent sits at view cell (3, 6) looking towards y = 0: view cell (x, y) is ``6 - y`` cells ahead and
    ``x - 3`` cells to the right, the right of direction (dx, dy) being (-dy, dx) (MiniGrid's ``get_view_coords``).
    """
    offsets = np.zeros((4, VIEW, VIEW), dtype=np.int64)
    for direction, (dx, dy) in enumerate(_DIR_VEC):
        rx, ry = -dy, dx
        for vx in range(VIEW):
            for vy in range(VIEW):
                ahead, right = VIEW - 1 - vy, vx - VIEW // 2
                offsets[direction, vx, vy] = (dy * ahead + ry * right) * padded_side + dx * ahead + rx * right
    return torch.as_tensor(offsets)


class BatchedGoalGridVecEnv(VecEnv):
    """``n_envs`` square goal rooms stepped together on one torch device, with the task channel of TaskEnv.

    A family implements :meth:`_layouts` (the levels of a batch of task points). See the module docstring for
    what is identical to the MiniGrid envs and what the channel does.

    :param n_envs: number of sub-envs
    :param task_space: the space tasks are checked against (and unassigned episodes draw from)
    :param side_max: the largest grid side (border included) any level of this env may have
    :param max_steps_per_cell: the episode limit is this times the grid's cell count (as ``GoalGridEnv``)
    :param device: torch device of the state (the student's device)
    :param seed: seed of the generator that draws unassigned tasks and obstacle layouts (also set by ``seed()``)
    :param see_through_walls: False to hide what walls occlude, as MiniGrid's ``see_through_walls=False``; the
        registered MiniGrid families are built with True (every view cell visible), hence the default
    :param max_pending: capacity of each sub-env's FIFO (a bug guard, as TaskEnv's)
    """

    render_mode: str | None = None

    def __init__(
        self,
        n_envs: int,
        task_space: TaskSpace,
        side_max: int,
        max_steps_per_cell: int = 2,
        device: str | torch.device = "cpu",
        seed: int | None = None,
        see_through_walls: bool = True,
        max_pending: int = 1024,
    ) -> None:
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        observation_space = gym.spaces.Box(0, 255, (VIEW, VIEW, 3), dtype=np.uint8)
        super().__init__(n_envs, observation_space, gym.spaces.Discrete(_N_ACTIONS))
        self.task_space = task_space
        self.side_max = int(side_max)
        self.max_steps_per_cell = int(max_steps_per_cell)
        self.device = torch.device(device)
        self.see_through_walls = see_through_walls
        self.max_pending = max_pending
        self._rng = np.random.default_rng(seed)
        padded = self.side_max + 2 * _PAD
        self._padded_side = padded
        # -- device state: the padded grids, flattened (each agent's position is a flat index into them) --
        dev = self.device
        self._grid = torch.full((n_envs * padded * padded,), WALL, dtype=torch.int64, device=dev)
        self._env_base = torch.arange(n_envs, device=dev) * padded * padded
        self._cell = self._env_base + _PAD * padded + _PAD
        self._dir = torch.zeros(n_envs, dtype=torch.int64, device=dev)
        self._steps = torch.zeros(n_envs, dtype=torch.int64, device=dev)
        self._max_steps = torch.ones(n_envs, dtype=torch.int64, device=dev)
        self._view_offsets = _view_offsets(padded).view(4, VIEW * VIEW).to(dev)
        self._dir_step = torch.tensor([dx + dy * padded for dx, dy in _DIR_VEC], device=dev)
        self._turn = torch.tensor(_TURN, device=dev)
        self._encoding = torch.as_tensor(_ENCODING, device=dev)
        self._row_visibility = torch.as_tensor(_ROW_VISIBILITY, device=dev)
        self._bit = 1 << torch.arange(VIEW, device=dev)
        # -- host state: the task channel and per-episode accounting --
        self._pending: list[deque[tuple[Task, dict[str, Any]]]] = [deque() for _ in range(n_envs)]
        self._current: list[Task | None] = [None] * n_envs
        self._task_ids = np.full(n_envs, NO_TASK_ID, dtype=np.int64)
        self._env_index = list(range(n_envs))
        self._returns = np.zeros(n_envs, dtype=np.float64)
        self._lengths = np.zeros(n_envs, dtype=np.int64)
        self._episode_over = np.ones(n_envs, dtype=bool)
        self._started_at = time.time()
        self._actions: np.ndarray | None = None
        self._warned_unassigned = False
        self._channel: dict[str, Callable[..., Any]] = {
            "set_env_index": self._set_env_index,
            "in_flight": self._in_flight,
            "push_task": self._push_task,
            "clear_pending": self._clear_pending,
            "get_wrapper_attr": lambda _i, name: getattr(self, name),
        }

    # -- family hook ------------------------------------------------------------------------------------------
    def _layouts(self, points: list[dict[str, Any]]) -> GridLayouts:
        """The levels of these task points (validated points of ``task_space``), drawing from ``self._rng`` where a
        point leaves something random. Every family implements it."""
        raise NotImplementedError(f"{type(self).__name__} must implement _layouts")

    # -- the task channel (env_method names, per sub-env) -----------------------------------------------------
    def _set_env_index(self, i: int, index: int) -> None:
        self._env_index[i] = int(index)

    def _in_flight(self, i: int) -> tuple[Task | None, list[Task]]:
        return self._current[i], [task for task, _ in self._pending[i]]

    def _checked(self, task: Task | Mapping[str, Any]) -> tuple[Task, dict[str, Any]]:
        # point_of validates: one check per task, at push time, and the point is kept for the episode start
        checked = as_task(task)
        return checked, dict(self.task_space.point_of(checked))

    def _queue(self, i: int, entries: list[tuple[Task, dict[str, Any]]]) -> None:
        if len(self._pending[i]) + len(entries) > self.max_pending:
            raise RuntimeError(f"env {i}: {self.max_pending} tasks already pending; is the feedback loop broken?")
        self._pending[i].extend(entries)

    def _push_task(self, i: int, task: Task | Mapping[str, Any]) -> None:
        self._queue(i, [self._checked(task)])

    def _push_tasks(self, indices: list[int], assignments: Mapping[int, list[Task]]) -> list[None]:
        """Every sub-env's tasks are checked before any is queued: a bad task leaves all queues as they were."""
        checked = {}
        for i in indices:
            index = self._env_index[i]
            if index not in assignments:
                raise KeyError(f"no tasks for env index {index} in a push to {sorted(assignments)}")
            checked[i] = [self._checked(task) for task in assignments[index]]
        for i, entries in checked.items():
            self._queue(i, entries)
        return [None] * len(indices)

    def _clear_pending(self, i: int) -> list[Task]:
        dropped = [task for task, _ in self._pending[i]]
        self._pending[i].clear()
        return dropped

    def push_task(self, env_index: int, task: Task | Mapping[str, Any]) -> None:
        """Queue ``task`` for a later episode of sub-env ``env_index`` (checked against the task space here)."""
        self._push_task(env_index, task)

    # -- state loading ----------------------------------------------------------------------------------------
    def _start_episodes(self, env_ids: np.ndarray, explicit: Mapping[int, Task | Mapping[str, Any]]) -> None:
        """Start the next episode of each env in ``env_ids``: its explicit task, else its FIFO head, else an
        unassigned episode on a task drawn from this env's generator."""
        points = []
        for i in env_ids.tolist():
            if i in explicit:
                task, point = self._checked(explicit[i])
            elif self._pending[i]:
                task, point = self._pending[i].popleft()
            else:
                task, point = None, self.task_space.sample(self._rng)
            self._current[i] = task
            self._task_ids[i] = NO_TASK_ID if task is None else task.id
            points.append(point)
        self._load(env_ids, self._layouts(points))

    def _load(self, env_ids: np.ndarray, layouts: GridLayouts) -> None:
        if len(layouts) != len(env_ids):
            raise ValueError(f"{len(layouts)} layouts for {len(env_ids)} envs")
        side_max, padded = self.side_max, self._padded_side
        if layouts.cells.shape[1:] != (side_max, side_max):
            raise ValueError(f"layouts of side {layouts.cells.shape[1:]}, this env holds {side_max}")
        if np.any(layouts.sides > side_max) or np.any(layouts.sides < 3):
            raise ValueError(f"grid sides must lie in [3, {side_max}], got {layouts.sides.tolist()}")
        ids = torch.as_tensor(env_ids, dtype=torch.int64, device=self.device)
        grids = self._grid.view(self.num_envs, padded, padded)
        grids[ids, _PAD : _PAD + side_max, _PAD : _PAD + side_max] = torch.as_tensor(layouts.cells, device=self.device)
        agent_cells = (layouts.agent[:, 1] + _PAD) * padded + layouts.agent[:, 0] + _PAD
        self._cell[ids] = self._env_base[ids] + torch.as_tensor(agent_cells, device=self.device)
        self._dir[ids] = torch.as_tensor(layouts.agent_dir, dtype=torch.int64, device=self.device)
        self._steps[ids] = 0
        sides = layouts.sides.astype(np.int64)
        self._max_steps[ids] = torch.as_tensor(self.max_steps_per_cell * sides * sides, device=self.device)
        self._returns[env_ids] = 0.0
        self._lengths[env_ids] = 0
        self._episode_over[env_ids] = False

    # -- observation ------------------------------------------------------------------------------------------
    def _observe(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        """The (n, 7, 7, 3) uint8 views of the envs ``ids`` (all when None), indexed ``[env, x, y, channel]``."""
        cell, direction = (self._cell, self._dir) if ids is None else (self._cell[ids], self._dir[ids])
        n = cell.shape[0]
        # index_select on flat indices: about twice as fast on CPU as advanced indexing of the same gather
        codes = self._grid.index_select(0, (cell[:, None] + self._view_offsets[direction]).view(-1)).view(
            n, VIEW * VIEW
        )
        # MiniGrid draws the agent's own cell as empty (it is the agent, or a goal it is standing on)
        codes[:, _AGENT_VIEW_CELL[0] * VIEW + _AGENT_VIEW_CELL[1]] = EMPTY
        if not self.see_through_walls:
            visible = self._visible((codes != WALL).view(n, VIEW, VIEW)).view(n, VIEW * VIEW)
            codes = torch.where(visible, codes, _UNSEEN)
        return self._encoding.index_select(0, codes.view(-1)).view(n, VIEW, VIEW, 3)

    def _visible(self, transparent: torch.Tensor) -> torch.Tensor:
        """MiniGrid's ``process_vis`` for a batch of views: (n, 7, 7) bool ``[env, x, y]`` in, visibility out."""
        transparent_rows = (transparent.long() * self._bit[None, :, None]).sum(dim=1)  # (n, y): bit x set
        visible_rows = torch.zeros_like(transparent_rows)
        visible_rows[:, VIEW - 1] = 1 << _AGENT_VIEW_CELL[0]
        for y in reversed(range(VIEW)):
            entry = self._row_visibility[visible_rows[:, y] | (transparent_rows[:, y] << VIEW)]
            visible_rows[:, y] = entry & ((1 << VIEW) - 1)
            if y > 0:
                visible_rows[:, y - 1] |= entry >> VIEW
        return (visible_rows[:, None, :] & self._bit[None, :, None]) != 0

    # -- VecEnv API -------------------------------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        """Start a new episode in every sub-env: ``set_options({"task": ...})`` tasks first, else each FIFO's head.

        An episode cut short by this reset is played again from its start (its task goes back to the FIFO head),
        as TaskEnv does, so every pushed task is played to its end and reported once. A seed given with
        ``seed()`` reseeds the generator of unassigned tasks and obstacle layouts.
        """
        seed = next((s for s in self._seeds if s is not None), None)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        for i in range(self.num_envs):
            current = self._current[i]
            if current is not None and not self._episode_over[i]:
                self._pending[i].appendleft((current, dict(self.task_space.point_of(current))))
        explicit = {i: options["task"] for i, options in enumerate(self._options) if options and "task" in options}
        self._start_episodes(np.arange(self.num_envs), explicit)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{"task_id": int(t)} for t in self._task_ids]
        return self._observe().cpu().numpy()

    def reset_to_layouts(self, layouts: GridLayouts, tasks: Sequence[Task | None] | None = None) -> np.ndarray:
        """Start an episode on each of these explicit levels (sub-env ``i`` plays ``layouts[i]``).

        :param layouts: one level per sub-env
        :param tasks: the task each episode is reported under (None: unassigned, no result); not checked against
            the layout
        :return: the first observations
        """
        if len(layouts) != self.num_envs:
            raise ValueError(f"{len(layouts)} layouts for {self.num_envs} envs")
        chosen = list(tasks) if tasks is not None else [None] * self.num_envs
        for i, task in enumerate(chosen):
            self._current[i] = None if task is None else as_task(task)
            self._task_ids[i] = NO_TASK_ID if task is None else as_task(task).id
        self._load(np.arange(self.num_envs), layouts)
        return self._observe().cpu().numpy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_tensors(self, actions: torch.Tensor | np.ndarray) -> tuple[torch.Tensor, ...]:
        """Move every agent, on the device, without starting new episodes.

        :param actions: (n_envs,) action indices
        :return: observations (n_envs, 7, 7, 3) uint8, rewards float64, terminated, truncated (all on the device)
        """
        action = torch.as_tensor(actions, device=self.device).long().reshape(-1)
        self._steps += 1
        ahead = self._cell + self._dir_step[self._dir]
        ahead_code = self._grid[ahead]
        forward = action == _FORWARD
        self._cell = torch.where(forward & (ahead_code != WALL), ahead, self._cell)
        self._dir = (self._dir + self._turn[action]) % 4
        terminated = forward & (ahead_code == GOAL)
        # the same float64 operations, in the same order, as MiniGridEnv._reward
        reward = torch.where(terminated, 1 - 0.9 * (self._steps.double() / self._max_steps.double()), 0.0)
        truncated = self._steps >= self._max_steps
        return self._observe(), reward, terminated, truncated

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() without step_async()")
        obs_t, reward_t, terminated_t, truncated_t = self.step_tensors(self._actions)
        self._actions = None
        # one host copy of the observations and one of the per-env scalars (SB3 takes NumPy arrays)
        obs = obs_t.cpu().numpy()
        scalars = torch.stack([reward_t, terminated_t.double(), truncated_t.double()]).cpu().numpy()
        rewards, terminated, truncated = scalars[0], scalars[1] > 0, scalars[2] > 0
        if not self._warned_unassigned and (self._task_ids == NO_TASK_ID).any():
            self._warned_unassigned = True
            warnings.warn(
                "a batched grid env is stepping episodes with no task: they play a task of the env's choosing and "
                "are not reported. Push tasks (CurriculumCallback does) or pass set_options({'task': ...}).",
                stacklevel=2,
            )
        self._returns += rewards
        self._lengths += 1
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{"task_id": task_id} for task_id in self._task_ids.tolist()]
        finished = np.flatnonzero(dones)
        if finished.size:
            self._finish(finished, obs, rewards, terminated, truncated, infos)
        return obs, rewards.astype(np.float32), dones, infos

    def _finish(
        self,
        finished: np.ndarray,
        obs: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Report the episodes that ended (TaskEnv's info keys, DummyVecEnv's and Monitor's), then start the next."""
        elapsed = round(time.time() - self._started_at, 6)
        for i in finished.tolist():
            info = infos[i]
            success = bool(rewards[i] > 0.0)
            cut = bool(truncated[i]) and not bool(terminated[i])
            info["is_success"] = success
            info["terminal_observation"] = obs[i].copy()
            info["TimeLimit.truncated"] = cut
            info["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i]), "t": elapsed}
            task = self._current[i]
            if task is not None:
                info["episode_result"] = EpisodeResult(
                    task=task,
                    episode_return=float(self._returns[i]),
                    length=int(self._lengths[i]),
                    success=success,
                    env_index=self._env_index[i],
                    truncated=cut,
                )
        self._episode_over[finished] = True
        self._start_episodes(finished, {})
        ids = torch.as_tensor(finished, device=self.device)
        obs[finished] = self._observe(ids).cpu().numpy()
        for i in finished.tolist():
            self.reset_infos[i] = {"task_id": int(self._task_ids[i])}

    def close(self) -> None:
        """Nothing to release (no worker processes)."""

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The batched env's attribute, once per selected sub-env (the sub-envs share their attributes)."""
        return [getattr(self, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an existing attribute of the batched env (shared by all sub-envs, so ``indices`` must be all)."""
        if len(self._get_indices(indices)) != self.num_envs:
            raise ValueError("the sub-envs of a batched env share their attributes: set_attr applies to all of them")
        if not hasattr(self, attr_name):
            raise AttributeError(f"{type(self).__name__} has no attribute {attr_name!r}")
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        """The task channel's TaskEnv methods, applied natively to the selected sub-envs (one result each).

        Supported: ``set_env_index(index)``, ``in_flight()``, ``push_tasks(assignments)``, ``push_task(task)``,
        ``clear_pending()``, ``get_wrapper_attr(name)``.
        """
        chosen = list(self._get_indices(indices))
        if method_name == "push_tasks":
            return self._push_tasks(chosen, *method_args, **method_kwargs)
        if method_name not in self._channel:
            raise AttributeError(
                f"{type(self).__name__} sub-envs have no method {method_name!r}; "
                f"supported: {sorted([*self._channel, 'push_tasks'])}"
            )
        method = self._channel[method_name]
        return [method(i, *method_args, **method_kwargs) for i in chosen]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._get_indices(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        """No rendering: play a level in the MiniGrid env to look at it."""
        return [None] * self.num_envs

    def _get_indices(self, indices: VecEnvIndices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int | np.integer):
            return [int(indices)]
        return list(indices)


class BatchedMazeVecEnv(BatchedGoalGridVecEnv):
    """The batched ``Curricula/Maze-v0`` family: plays maze records (``envs.maze``) of any size in [3, 23].

    :param n_envs: number of sub-envs
    :param task_space: the maze level space (default ``MazeLevelSpace()``, 7x7 interiors, 0-15 walls)
    :param kwargs: :class:`BatchedGoalGridVecEnv` options (``device``, ``seed``, ``max_steps_per_cell``, ...)
    """

    def __init__(self, n_envs: int, task_space: MazeLevelSpace | None = None, **kwargs: Any) -> None:
        space = task_space if task_space is not None else MazeLevelSpace()
        super().__init__(n_envs, space, MAZE_MAX_INTERIOR + 2, **kwargs)

    def _layouts(self, points: list[dict[str, Any]]) -> GridLayouts:
        sides = np.array([int(level["size"]) + 2 for level in points], dtype=np.int64)
        cells = room_cells(sides, self.side_max)
        for k, level in enumerate(points):
            size = int(level["size"])
            cells[k, 1 : size + 1, 1 : size + 1][wall_array(level)] = WALL
            cells[k, int(level["goal"][1]) + 1, int(level["goal"][0]) + 1] = GOAL
        agent = np.array([[int(level["agent"][0]) + 1, int(level["agent"][1]) + 1] for level in points], dtype=np.int64)
        agent_dir = np.array([int(level["agent_dir"]) for level in points], dtype=np.int64)
        return GridLayouts(cells, agent.reshape(-1, 2), agent_dir, sides)


class BatchedObstacleGridVecEnv(BatchedGoalGridVecEnv):
    """The batched ``Curricula/ObstacleGrid-v0`` family: room side ``size`` and ``obstacles`` wall blocks.

    Start (1, 1) facing right, goal in the opposite corner, ``min(obstacles, free // 3)`` blocks on a uniform set
    of the other interior cells, redrawn (for the levels that need it only) until the goal is reachable: the
    distribution of ``ObstacleGridEnv``'s layouts, drawn in one batch per step from this env's generator.

    :param n_envs: number of sub-envs
    :param max_size: the largest room side of the task space
    :param max_obstacles: the largest obstacle count of the task space
    :param kwargs: :class:`BatchedGoalGridVecEnv` options (``device``, ``seed``, ``max_steps_per_cell``, ...)
    """

    def __init__(
        self, n_envs: int, max_size: int = MAX_SIZE, max_obstacles: int = MAX_OBSTACLES, **kwargs: Any
    ) -> None:
        super().__init__(n_envs, obstacle_grid_space(max_size, max_obstacles), max_size, **kwargs)

    def _layouts(self, points: list[dict[str, Any]]) -> GridLayouts:
        sides = np.array([int(p["size"]) for p in points], dtype=np.int64)
        requested = np.array([int(p["obstacles"]) for p in points], dtype=np.int64)
        n_obstacles = np.minimum(requested, ((sides - 2) ** 2 - 2) // 3)
        side_max = self.side_max
        room = room_cells(sides, side_max)
        k = len(points)
        rows = np.arange(k)
        goal_xy = sides - 2
        candidates = room == EMPTY
        candidates[:, 1, 1] = False
        candidates[rows, goal_xy, goal_xy] = False
        cells = room.copy()
        todo = rows
        while todo.size:
            # a uniform n-subset of each level's candidate cells: the n smallest of i.i.d. uniform keys
            keys = self._rng.random((todo.size, side_max * side_max))
            keys[~candidates[todo].reshape(todo.size, -1)] = 2.0
            ranks = np.argsort(np.argsort(keys, axis=1), axis=1).reshape(todo.size, side_max, side_max)
            drawn = np.where(ranks < n_obstacles[todo, None, None], WALL, room[todo])
            labels, _ = ndimage.label(drawn != WALL, structure=_STACKED_4_NEIGHBOURS)
            reachable = labels[np.arange(todo.size), 1, 1] == labels[np.arange(todo.size), goal_xy[todo], goal_xy[todo]]
            cells[todo[reachable]] = drawn[reachable]
            todo = todo[~reachable]
        cells[rows, goal_xy, goal_xy] = GOAL
        agent = np.ones((k, 2), dtype=np.int64)
        return GridLayouts(cells, agent, np.zeros(k, dtype=np.int64), sides)


#: the MiniGrid ids that have a batched version, and how to build it
_FACTORIES: dict[str, Callable[..., BatchedGoalGridVecEnv]] = {
    "Curricula/Maze-v0": lambda n, **kw: BatchedMazeVecEnv(n, MazeLevelSpace(env_id="Curricula/Maze-v0"), **kw),
    "Curricula/MazeLarge-v0": lambda n, **kw: BatchedMazeVecEnv(
        n, MazeLevelSpace(13, 0, 60, env_id="Curricula/MazeLarge-v0"), **kw
    ),
    "Curricula/ObstacleGrid-v0": lambda n, **kw: BatchedObstacleGridVecEnv(n, **kw),
    "Curricula/ObstacleGridWide-v0": lambda n, **kw: BatchedObstacleGridVecEnv(
        n, WIDE_MAX_SIZE, WIDE_MAX_OBSTACLES, **kw
    ),
    "Curricula/ObstacleGridLarge-v0": lambda n, **kw: BatchedObstacleGridVecEnv(
        n, LARGE_MAX_SIZE, LARGE_MAX_OBSTACLES, **kw
    ),
}
BATCHED_ENV_IDS: tuple[str, ...] = tuple(_FACTORIES)  # the same ids as envs.BATCHED_ENV_IDS (checked by the tests)


def make_batched_env(env_id: str, n_envs: int = 64, **kwargs: Any) -> BatchedGoalGridVecEnv:
    """The batched version of a registered grid family: a VecEnv of ``n_envs`` sub-envs with the task channel.

    :param env_id: one of :data:`BATCHED_ENV_IDS` (the MiniGrid id it mirrors)
    :param n_envs: number of sub-envs
    :param kwargs: :class:`BatchedGoalGridVecEnv` options: ``device`` (the student's), ``seed``,
        ``see_through_walls``, ``max_steps_per_cell``, ``max_pending``
    """
    if env_id not in _FACTORIES:
        raise KeyError(f"no batched version of {env_id!r}; batched ids: {list(BATCHED_ENV_IDS)}")
    return _FACTORIES[env_id](n_envs, **kwargs)
