"""MiniGrid mazes as explicit, serializable level records (the level space of PLR, ACCEL and GROOVE).

A level is a JSON dict, built into a grid deterministically by :class:`MazeEnv`::

    {"size": 5,                                  # interior side; the grid adds a wall border (7x7 here)
     "walls": ["..#..", "..#..", ".....", "##...", "....."],  # interior rows, y from top, '#' = wall
     "agent": [0, 0], "agent_dir": 0,            # interior coordinates (x, y); 0 = right, 1 = down, 2 = left, 3 = up
     "goal": [4, 4]}

Reaching the goal pays MiniGrid's ``1 - 0.9 * steps / max_steps`` and ends the episode; ``max_steps`` is
``max_steps_per_cell`` times the grid's cell count (2 by default, the evaluation budget of the UED papers'
held-out mazes). A maze is *solved* when its return is > 0 (``info["is_success"]``, set on the last step).
An episode without a task plays a level drawn from the env's task space with the env's seeded RNG.

:class:`MazeLevelSpace` generates random mazes (walls drawn without replacement, agent and goal on distinct free
cells, random direction, as minimax's AMaze) and mutates them for ACCEL. :data:`HELD_OUT_MAZES` holds named,
hand-made mazes for evaluation (:func:`held_out_test_set`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from minigrid.wrappers import ImgObsWrapper

from curricula.spaces import LevelSpace, TaskSpaceError
from curricula.task import Task
from curricula.test_set import TestSet
from envs.minigrid_base import GoalGridEnv, shortest_path_length

#: interior sides a level may have (the 7x7 egocentric view keeps the observation space fixed for all)
MIN_SIZE, MAX_SIZE = 3, 23
_LEVEL_FIELDS = {"size", "walls", "agent", "agent_dir", "goal"}
_EDITS = ("add_wall", "remove_wall", "move_goal")


def _check_cell(level: Mapping[str, Any], field: str, size: int) -> tuple[int, int]:
    cell = level[field]
    if (
        not isinstance(cell, list | tuple)
        or len(cell) != 2
        or not all(isinstance(c, int | np.integer) and not isinstance(c, bool) for c in cell)
    ):
        raise TaskSpaceError(f"maze field {field!r} must be [x, y] ints, got {cell!r}")
    x, y = int(cell[0]), int(cell[1])
    if not (0 <= x < size and 0 <= y < size):
        raise TaskSpaceError(f"maze field {field!r}={[x, y]} is outside the {size}x{size} interior")
    return x, y


def validate_maze(level: Mapping[str, Any]) -> None:
    """Raise :class:`~curricula.spaces.TaskSpaceError` naming the field if ``level`` is not a well-formed maze
    of any size (solvability is not required: unsolvable mazes are valid levels with zero return)."""
    if not isinstance(level, Mapping) or set(level) != _LEVEL_FIELDS:
        got = sorted(level) if isinstance(level, Mapping) else type(level).__name__
        raise TaskSpaceError(f"a maze level has exactly the fields {sorted(_LEVEL_FIELDS)}, got {got}")
    size = level["size"]
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not MIN_SIZE <= size <= MAX_SIZE:
        raise TaskSpaceError(f"maze field 'size' must be an int in [{MIN_SIZE}, {MAX_SIZE}], got {size!r}")
    size = int(size)
    walls = level["walls"]
    if not isinstance(walls, list | tuple) or len(walls) != size:
        raise TaskSpaceError(f"maze field 'walls' must be {size} row strings, got {walls!r}")
    for y, row in enumerate(walls):
        if not isinstance(row, str) or len(row) != size or set(row) - {".", "#"}:
            raise TaskSpaceError(f"maze field 'walls' row {y} must be {size} chars of '.'/'#', got {row!r}")
    agent = _check_cell(level, "agent", size)
    goal = _check_cell(level, "goal", size)
    if agent == goal:
        raise TaskSpaceError(f"maze fields 'agent' and 'goal' must differ, both are {list(agent)}")
    for field, (x, y) in (("agent", agent), ("goal", goal)):
        if walls[y][x] == "#":
            raise TaskSpaceError(f"maze field {field!r}={[x, y]} is on a wall")
    direction = level["agent_dir"]
    if isinstance(direction, bool) or not isinstance(direction, int | np.integer) or not 0 <= direction <= 3:
        raise TaskSpaceError(f"maze field 'agent_dir' must be an int in 0..3, got {direction!r}")


def wall_array(level: Mapping[str, Any]) -> np.ndarray:
    """The interior walls as a bool array indexed ``[y, x]``."""
    return np.array([[c == "#" for c in row] for row in level["walls"]], dtype=bool)


def _rows(walls: np.ndarray) -> list[str]:
    return ["".join("#" if w else "." for w in row) for row in walls]


def shortest_path(level: Mapping[str, Any]) -> int | None:
    """Moves on the 4-neighbour grid from agent to goal, or None if the goal is unreachable."""
    agent, goal = level["agent"], level["goal"]
    return shortest_path_length(wall_array(level), (int(agent[0]), int(agent[1])), (int(goal[0]), int(goal[1])))


def maze_from_ascii(rows: Sequence[str], agent_dir: int = 0) -> dict[str, Any]:
    """A level from an ASCII interior: ``#`` wall, ``.`` floor, ``A`` agent, ``G`` goal (one each)."""
    agent = goal = None
    walls = []
    for y, row in enumerate(rows):
        for x, char in enumerate(row):
            if char == "A":
                agent = [x, y]
            elif char == "G":
                goal = [x, y]
            elif char not in ".#":
                raise TaskSpaceError(f"unknown maze character {char!r} at ({x}, {y})")
        walls.append(row.replace("A", ".").replace("G", "."))
    if agent is None or goal is None:
        raise TaskSpaceError("an ASCII maze needs one 'A' and one 'G'")
    level = {"size": len(rows), "walls": walls, "agent": agent, "agent_dir": agent_dir, "goal": goal}
    validate_maze(level)
    return level


def maze_to_ascii(level: Mapping[str, Any]) -> list[str]:
    """Inverse of :func:`maze_from_ascii` (the direction is not drawn)."""
    rows = [list(row) for row in level["walls"]]
    rows[level["agent"][1]][level["agent"][0]] = "A"
    rows[level["goal"][1]][level["goal"][0]] = "G"
    return ["".join(r) for r in rows]


class MazeLevelSpace(LevelSpace):
    """Random ``size`` x ``size`` mazes with ``min_walls..max_walls`` walls, and ACCEL's edit operators.

    The UED papers train on a 13x13 interior with 0-60 walls (``MazeLevelSpace(13, 0, 60)``); the default here is
    the CPU-sized 7x7 interior with 0-15 walls.

    :param size: interior side of generated (and accepted) levels
    :param min_walls: fewest walls of a generated level
    :param max_walls: most walls of a generated level (at most the interior minus agent and goal cells)
    :param mutation_edits: edits per :meth:`mutate`, each uniform over {add a wall, remove a wall, move the goal}
    :param env_id: the registered env that plays these levels (GROOVE trains its reference agents there)
    """

    name = "maze"

    def __init__(
        self,
        size: int = 7,
        min_walls: int = 0,
        max_walls: int = 15,
        mutation_edits: int = 3,
        env_id: str = "Curricula/Maze-v0",
    ) -> None:
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise TaskSpaceError(f"size must be in [{MIN_SIZE}, {MAX_SIZE}], got {size}")
        if not 0 <= min_walls <= max_walls <= size * size - 2:
            raise TaskSpaceError(f"need 0 <= min_walls <= max_walls <= {size * size - 2}, got {min_walls}, {max_walls}")
        if mutation_edits < 1:
            raise TaskSpaceError(f"mutation_edits must be >= 1, got {mutation_edits}")
        self.size = int(size)
        self.min_walls = int(min_walls)
        self.max_walls = int(max_walls)
        self.mutation_edits = int(mutation_edits)
        self.env_id = env_id

    def generate(self, rng: np.random.Generator) -> dict[str, Any]:
        n_cells = self.size * self.size
        n_walls = int(rng.integers(self.min_walls, self.max_walls + 1))
        # One permutation places walls, then agent, then goal: distinct cells, all from the teacher's RNG.
        order = rng.permutation(n_cells)
        walls = np.zeros(n_cells, dtype=bool)
        walls[order[:n_walls]] = True
        agent, goal = int(order[n_walls]), int(order[n_walls + 1])
        return {
            "size": self.size,
            "walls": _rows(walls.reshape(self.size, self.size)),
            "agent": [agent % self.size, agent // self.size],
            "agent_dir": int(rng.integers(0, 4)),
            "goal": [goal % self.size, goal // self.size],
        }

    def validate(self, level: Mapping[str, Any]) -> None:
        """Any well-formed maze of a size in [3, 23] belongs to the space (the env plays them all, and held-out
        mazes are bigger than generated ones); ``size`` only governs :meth:`generate` and :meth:`mutate`."""
        validate_maze(level)

    def mutate(self, level: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """``mutation_edits`` random edits; an edit with nothing to act on (no wall to remove) is a no-op.

        :raises TaskSpaceError: ``level`` is malformed or not of this space's ``size``
        """
        self.validate(level)
        if level["size"] != self.size:
            raise TaskSpaceError(f"maze field 'size'={level['size']} must be {self.size} to mutate in this space")
        walls = wall_array(level)
        agent = (int(level["agent"][0]), int(level["agent"][1]))
        goal = (int(level["goal"][0]), int(level["goal"][1]))
        for _ in range(self.mutation_edits):
            edit = _EDITS[int(rng.integers(0, len(_EDITS)))]
            # floor cells other than the agent's and the goal's, in row-major order
            open_cells = ~walls
            open_cells[agent[1], agent[0]] = open_cells[goal[1], goal[0]] = False
            free_ys, free_xs = np.nonzero(open_cells)
            if edit == "add_wall" and len(free_xs):
                k = int(rng.integers(0, len(free_xs)))
                walls[free_ys[k], free_xs[k]] = True
            elif edit == "remove_wall" and walls.any():
                ys, xs = np.nonzero(walls)
                k = int(rng.integers(0, len(xs)))
                walls[ys[k], xs[k]] = False
            elif edit == "move_goal" and len(free_xs):
                k = int(rng.integers(0, len(free_xs)))
                goal = (int(free_xs[k]), int(free_ys[k]))
        return {
            "size": self.size,
            "walls": _rows(walls),
            "agent": list(agent),
            "agent_dir": int(level["agent_dir"]),
            "goal": list(goal),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "levels",
            "name": self.name,
            "size": self.size,
            "min_walls": self.min_walls,
            "max_walls": self.max_walls,
            "mutation_edits": self.mutation_edits,
            "env_id": self.env_id,
        }


class MazeEnv(GoalGridEnv):
    """Plays the maze record of ``options["task"].level``; the grid is rebuilt from the record at every reset.

    Any well-formed maze is played, whatever its size (held-out mazes are bigger than the training ones).
    Without a task the episode plays a level drawn from ``task_space``'s generator with the env's seeded RNG.

    :param task_space: the space whose levels this env's teachers choose
    :param max_steps_per_cell: the episode limit is this times the grid's cell count (border included)
    :param kwargs: passed to ``MiniGridEnv`` (``render_mode``, ...)
    """

    def __init__(self, task_space: MazeLevelSpace | None = None, max_steps_per_cell: int = 2, **kwargs: Any) -> None:
        #: the level of the current episode
        self.level: dict[str, Any] = maze_from_ascii(["A......", *["......."] * 5, "......G"])
        space = task_space if task_space is not None else MazeLevelSpace()
        super().__init__(space, MAX_SIZE + 2, max_steps_per_cell, **kwargs)

    def _apply_task(self, point: dict[str, Any]) -> int:
        self.level = point
        return int(point["size"]) + 2

    def _gen_grid(self, width: int, height: int) -> None:
        gx, gy = self.level["goal"]
        self._build_room(width, height, (int(gx) + 1, int(gy) + 1), interior_walls=wall_array(self.level))
        ax, ay = self.level["agent"]
        self._place_agent((int(ax) + 1, int(ay) + 1), int(self.level["agent_dir"]))


def make_maze(
    size: int = 7, min_walls: int = 0, max_walls: int = 15, env_id: str = "Curricula/Maze-v0", **kwargs: Any
) -> gym.Env[Any, Any]:
    """The registered form: :class:`MazeEnv` with the 7x7x3 symbolic image as observation.

    :param size: interior side of the task space's generated levels
    :param min_walls: fewest walls of generated levels
    :param max_walls: most walls of generated levels
    :param env_id: the id this env is registered under (recorded in the task space)
    :param kwargs: passed to :class:`MazeEnv`
    """
    space = MazeLevelSpace(size, min_walls, max_walls, env_id=env_id)
    return ImgObsWrapper(MazeEnv(task_space=space, **kwargs))


# -- held-out mazes ------------------------------------------------------------------------------------------
# Hand-made, smaller cousins of the UED papers' evaluation mazes (SixteenRooms, Labyrinth, Maze, PerfectMaze,
# SmallCorridor, SimpleCrossing, FourRooms), sized for CPU budgets. All are solvable (tests check it).
HELD_OUT_MAZES: dict[str, dict[str, Any]] = {
    "FourRooms": maze_from_ascii(
        [
            "A..#...",
            "...#...",
            ".......",
            "##.####",
            "...#...",
            "......G",
            "...#...",
        ]
    ),
    "NineRooms": maze_from_ascii(
        [
            "A..#...#...",
            "...#.......",
            "...#...#...",
            "#.######.##",
            "...#...#...",
            ".......#...",
            "...#...#...",
            "##.###.##.#",
            "...#...#...",
            "...#......G",
            "...#...#...",
        ]
    ),
    "Labyrinth": maze_from_ascii(
        [
            "A........",
            "#######.#",
            ".........",
            ".#####.#.",
            ".#G..#.#.",
            ".###.#.#.",
            ".....#...",
            "######.#.",
            ".........",
        ],
        agent_dir=0,
    ),
    "SmallCorridor": maze_from_ascii(
        [
            "#########",
            "#########",
            "#.#.#.#.#",
            "A........",
            "#.#.#.#G#",
            "#########",
            "#########",
            "#########",
            "#########",
        ]
    ),
    "Crossing": maze_from_ascii(
        [
            "A.#...#",
            "..#...#",
            "......#",
            "..#....",
            "####.##",
            "..#...#",
            "..#..G#",
        ]
    ),
    "Maze": maze_from_ascii(
        [
            "A.#.....#",
            "#.#.###.#",
            "..#.#...#",
            ".##.#.###",
            "....#...#",
            "###.###.#",
            "#...#...#",
            "#.###.#.#",
            "#.....#.G",
        ]
    ),
    "PerfectMaze": maze_from_ascii(
        [
            "A....#...",
            "####.#.#.",
            ".......#.",
            ".#.#####.",
            ".#.....#.",
            ".#####.#.",
            ".#...#.#.",
            ".#.#.#.##",
            "...#....G",
        ]
    ),
    "SnakeCorridor": maze_from_ascii(
        [
            "A......",
            "######.",
            ".......",
            ".######",
            ".......",
            "######.",
            "G......",
        ],
        agent_dir=0,
    ),
}


def held_out_test_set(names: Sequence[str] | None = None) -> TestSet:
    """The held-out mazes as a :class:`~curricula.test_set.TestSet` (in ``names`` order, default all)."""
    chosen = list(HELD_OUT_MAZES) if names is None else list(names)
    unknown = [n for n in chosen if n not in HELD_OUT_MAZES]
    if unknown:
        raise KeyError(f"unknown held-out mazes {unknown}; known: {sorted(HELD_OUT_MAZES)}")
    tasks = [Task(id=i, level=HELD_OUT_MAZES[n], annotations={"name": n}) for i, n in enumerate(chosen)]
    return TestSet.from_tasks(tasks, name="held_out_mazes")
