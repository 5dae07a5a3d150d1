"""MiniGrid levels as text and structure, for the LLM subgoal teacher (Words as Beacons).

Everything here reads the full MiniGrid state (``env.unwrapped``: ``grid``, ``agent_pos``, ``obj``…) and returns
plain JSON data, so that a teacher in another package (``teachers/subgoals.py``, which never imports ``envs``) can
use it through the env itself (:class:`MiniGridSubgoalsMixin`, whose methods ``env.get_wrapper_attr(...)``
reaches through every wrapper):

- :func:`describe_level`: the level as data and as prompt text (mission, size, an ASCII map, each object with an
  id, type, colour, state and position, the agent's pose, the rooms and what each door connects);
- :func:`oracle_subgoals`: the ordered subgoals of a level, planned from its own structure (key → locked door →
  target for KeyCorridor / UnlockPickup / ObstructedMaze, the box that hides the key in ObstructedMaze-1Dlh, the
  blocking ball of 1Dlhb, key → door → goal for DoorKey, each door on a shortest path then the goal for
  MultiRoom);
- :func:`noisy_subgoals`: the paper's surrogate teacher, the oracle corrupted to a given accuracy (object kinds: a
  random other object; positions: a cell at a Gaussian Manhattan distance), with presets from the paper's table
  (:data:`SURROGATE_PRESETS`);
- :func:`subgoal_snapshot` / :func:`subgoals_reached`: the paper's achievement rule. A subgoal is reached when, after
  a step, the agent stands on its cell or the cell's content changed (picked up, opened, unlocked, moved, a box
  opened into its contents).

A **subgoal** is a JSON dict: ``kind`` (``position``, ``object`` or ``language``), its target cell ``x``, ``y``,
``code`` (MiniGrid's ``[OBJECT_IDX, COLOR_IDX, STATE]`` of what the cell held when the subgoal was set; ``[1, 0,
0]`` for an empty cell), ``object`` (the description's object id, ``""`` for a bare cell) and ``text`` (an
instruction, e.g. ``"pick up the yellow key"``). Every kind is detected on its cell; the kind decides what a
conditioned policy sees (relative position, object code, or an embedding of the text).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX
from minigrid.core.world_object import WorldObj

SUBGOAL_KINDS: tuple[str, ...] = ("position", "object", "language")
OBJECT_TYPES: tuple[str, ...] = ("key", "ball", "box", "door", "goal", "lava")
COLOR_NAMES: tuple[str, ...] = tuple(COLOR_TO_IDX)
DIRECTIONS: tuple[str, ...] = ("east", "south", "west", "north")  # MiniGrid's agent_dir 0..3
EMPTY_CODE: tuple[int, int, int] = (OBJECT_TO_IDX["empty"], 0, 0)

#: The authors' measured LLM accuracy (Words as Beacons code, ``rq3_config``): (env family, LLM) ->
#: object accuracy, position accuracy, mean and std of the Manhattan error of wrong positions.
SURROGATE_PRESETS: dict[tuple[str, str], dict[str, float]] = {
    ("KeyCorridorS3R3", "llama"): dict(object_accuracy=0.985, position_accuracy=0.974, error_mean=0.18, error_std=1.20),
    ("KeyCorridorS3R3", "deepseek"): dict(
        object_accuracy=0.906, position_accuracy=0.334, error_mean=2.57, error_std=2.54
    ),
    ("KeyCorridorS3R3", "qwen"): dict(object_accuracy=0.996, position_accuracy=0.981, error_mean=0.07, error_std=0.63),
    ("KeyCorridorS6R3", "llama"): dict(object_accuracy=0.932, position_accuracy=0.914, error_mean=1.47, error_std=5.02),
    ("KeyCorridorS6R3", "deepseek"): dict(
        object_accuracy=0.762, position_accuracy=0.365, error_mean=7.24, error_std=7.47
    ),
    ("KeyCorridorS6R3", "qwen"): dict(object_accuracy=0.959, position_accuracy=0.881, error_mean=1.34, error_std=4.25),
    ("ObstructedMaze-1Dlh", "llama"): dict(
        object_accuracy=0.989, position_accuracy=0.988, error_mean=0.08, error_std=0.82
    ),
    ("ObstructedMaze-1Dlh", "deepseek"): dict(
        object_accuracy=0.739, position_accuracy=0.430, error_mean=2.98, error_std=3.41
    ),
    ("ObstructedMaze-1Dlh", "qwen"): dict(
        object_accuracy=0.742, position_accuracy=0.669, error_mean=2.18, error_std=3.53
    ),
    ("ObstructedMaze-1Dlhb", "llama"): dict(
        object_accuracy=0.486, position_accuracy=0.449, error_mean=4.33, error_std=4.21
    ),
    ("ObstructedMaze-1Dlhb", "deepseek"): dict(
        object_accuracy=0.518, position_accuracy=0.229, error_mean=4.49, error_std=3.39
    ),
    ("ObstructedMaze-1Dlhb", "qwen"): dict(
        object_accuracy=0.482, position_accuracy=0.405, error_mean=3.85, error_std=3.71
    ),
    ("MultiRoom-N2-S4", "llama"): dict(object_accuracy=0.930, position_accuracy=0.921, error_mean=0.26, error_std=1.01),
    ("MultiRoom-N2-S4", "deepseek"): dict(
        object_accuracy=0.273, position_accuracy=0.352, error_mean=2.91, error_std=2.54
    ),
    ("MultiRoom-N2-S4", "qwen"): dict(object_accuracy=0.559, position_accuracy=0.714, error_mean=1.12, error_std=2.05),
    ("MultiRoom-N4-S5", "llama"): dict(object_accuracy=0.548, position_accuracy=0.540, error_mean=3.69, error_std=4.65),
    ("MultiRoom-N4-S5", "deepseek"): dict(
        object_accuracy=0.175, position_accuracy=0.129, error_mean=7.92, error_std=4.64
    ),
    ("MultiRoom-N4-S5", "qwen"): dict(object_accuracy=0.352, position_accuracy=0.360, error_mean=5.23, error_std=4.94),
}


def surrogate_preset(env_id: str, llm: str) -> dict[str, float]:
    """The paper's accuracy preset for an env id (MiniGrid or Curricula spelling) and an LLM name.

    :param env_id: e.g. ``"Curricula/KeyCorridorS3R3-v0"`` or ``"MiniGrid-MultiRoom-N2-S4-v0"``
    :param llm: ``"llama"``, ``"deepseek"`` or ``"qwen"``
    :raises ValueError: when the table has no row for them
    """
    for (family, name), preset in SURROGATE_PRESETS.items():
        if name == llm.lower() and (f"/{family}-v" in env_id or f"-{family}-v" in env_id):
            return dict(preset)
    families = sorted({family for family, _ in SURROGATE_PRESETS})
    raise ValueError(
        f"no surrogate preset for env {env_id!r} and llm {llm!r}; families {families}, llms llama/deepseek/qwen"
    )


# --------------------------------------------------------------------------------------------------------------
# Level description


def _state_name(obj: WorldObj) -> str:
    if obj.type == "door":
        return "open" if obj.is_open else ("locked" if obj.is_locked else "closed")  # type: ignore[attr-defined]
    return ""


def cell_code(obj: WorldObj | None) -> tuple[int, int, int]:
    """MiniGrid's ``(OBJECT_IDX, COLOR_IDX, STATE)`` of a cell's content (``None`` is an empty cell)."""
    if obj is None:
        return EMPTY_CODE
    encoded = obj.encode()
    return int(encoded[0]), int(encoded[1]), int(encoded[2])


def _occupied_bounds(grid: Any) -> tuple[int, int, int, int]:
    """The bounding box (x0, y0, x1, y1, inclusive) of the cells that hold anything (MultiRoom leaves most of its
    grid blank)."""
    xs, ys = [], []
    for y in range(grid.height):
        for x in range(grid.width):
            if grid.get(x, y) is not None:
                xs.append(x)
                ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else (0, 0, grid.width - 1, grid.height - 1)


def _rooms(grid: Any) -> np.ndarray:
    """Room index of every cell (-1 for walls, doors and the blank outside): connected regions of the cells an
    agent can stand on or that hold an object, doors excluded, dropping regions that touch the grid's border."""
    width, height = grid.width, grid.height
    labels = np.full((width, height), -1, dtype=np.int64)
    blocked = np.zeros((width, height), dtype=bool)
    for y in range(height):
        for x in range(width):
            obj = grid.get(x, y)
            blocked[x, y] = obj is not None and obj.type in ("wall", "door")
    next_label = 0
    for sx in range(width):
        for sy in range(height):
            if blocked[sx, sy] or labels[sx, sy] != -1:
                continue
            members = [(sx, sy)]
            labels[sx, sy] = next_label
            queue = deque(members)
            outside = False
            while queue:
                x, y = queue.popleft()
                if x in (0, width - 1) or y in (0, height - 1):
                    outside = True
                for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                    if 0 <= nx < width and 0 <= ny < height and not blocked[nx, ny] and labels[nx, ny] == -1:
                        labels[nx, ny] = next_label
                        members.append((nx, ny))
                        queue.append((nx, ny))
            if outside:
                for x, y in members:
                    labels[x, y] = -2  # provisional: the blank outside of MultiRoom
            else:
                next_label += 1
    labels[labels == -2] = -1
    return labels


_MAP_CHARS = {"wall": "#", "door": "D", "key": "K", "ball": "A", "box": "B", "goal": "G", "lava": "L"}


def describe_level(env: Any) -> dict[str, Any]:
    """The current level as JSON data and prompt text.

    :param env: a MiniGrid env (its ``unwrapped`` is read)
    :return: ``mission``, ``width``, ``height``, ``max_steps``, ``agent`` (``x``, ``y``, ``dir``, ``carrying``),
        ``map`` (rows of one character per cell: ``#`` wall, ``.`` floor, ``D`` door, ``K`` key, ``A`` ball,
        ``B`` box, ``G`` goal, ``L`` lava, ``^`` agent; ``" "`` blank outside), ``objects`` (``id``, ``type``,
        ``color``, ``state``, ``x``, ``y``, ``room``, ``code``; doors also ``connects``), ``rooms`` (``id``, cell
        bounds) and ``text``
    """
    base = env.unwrapped
    grid = base.grid
    rooms = _rooms(grid)
    counters: dict[str, int] = {}
    objects: list[dict[str, Any]] = []
    rows: list[str] = []
    x0, y0, x1, y1 = _occupied_bounds(grid)
    agent_x, agent_y = (int(v) for v in base.agent_pos)
    for y in range(grid.height):
        row = []
        for x in range(grid.width):
            obj = grid.get(x, y)
            if (x, y) == (agent_x, agent_y):
                row.append("^")
            elif obj is None:
                row.append("." if rooms[x, y] >= 0 else " ")
            else:
                row.append(_MAP_CHARS.get(obj.type, "?"))
            if obj is None or obj.type in ("wall", "floor", "agent"):
                continue
            n = counters.get(obj.type, 0)
            counters[obj.type] = n + 1
            record: dict[str, Any] = {
                "id": f"{obj.type}{n}",
                "type": obj.type,
                "color": obj.color,
                "state": _state_name(obj),
                "x": x,
                "y": y,
                "room": int(rooms[x, y]),
                "code": list(cell_code(obj)),
            }
            if obj.type == "door":
                sides = {int(rooms[a, b]) for a, b in ((x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1))}
                record["connects"] = sorted(r for r in sides if r >= 0)
            objects.append(record)
        rows.append("".join(row))
    room_records = []
    for room in range(int(rooms.max()) + 1 if rooms.size else 0):
        xs, ys = np.nonzero(rooms == room)
        room_records.append(
            {"id": room, "x0": int(xs.min()), "y0": int(ys.min()), "x1": int(xs.max()), "y1": int(ys.max())}
        )
    carrying = base.carrying
    description: dict[str, Any] = {
        "mission": str(base.mission),
        "width": int(grid.width),
        "height": int(grid.height),
        "max_steps": int(base.max_steps),
        "agent": {
            "x": agent_x,
            "y": agent_y,
            "dir": DIRECTIONS[int(base.agent_dir)],
            "carrying": f"{carrying.color} {carrying.type}" if carrying is not None else "",
            "room": int(rooms[agent_x, agent_y]),
        },
        "map": [r[x0 : x1 + 1] for r in rows[y0 : y1 + 1]],
        "map_origin": [x0, y0],
        "objects": objects,
        "rooms": room_records,
    }
    description["text"] = level_text(description)
    return description


def level_text(description: Mapping[str, Any]) -> str:
    """The prompt text of a :func:`describe_level` record."""
    agent = description["agent"]
    x0, y0 = description["map_origin"]
    lines = [
        f"Mission: {description['mission']}.",
        f"Grid: {description['width']} x {description['height']} cells; x grows east, y grows south; (0, 0) is the "
        "north-west corner. The agent moves forward, turns left or right, picks up, drops and toggles (opens doors "
        "and boxes; a locked door opens with the key of its colour, carried). It carries one object at a time.",
        f"Map (rows y={y0}.., columns x={x0}..; # wall, . floor, D door, K key, A ball, B box, G goal, ^ agent):",
        *description["map"],
        f"Agent: at ({agent['x']}, {agent['y']}) in room {agent['room']}, facing {agent['dir']}, carrying "
        f"{agent['carrying'] or 'nothing'}.",
        "Rooms: "
        + "; ".join(f"room {r['id']} spans x {r['x0']}-{r['x1']}, y {r['y0']}-{r['y1']}" for r in description["rooms"])
        + ".",
        "Objects:",
    ]
    for obj in description["objects"]:
        state = f" {obj['state']}" if obj["state"] else ""
        where = f"at ({obj['x']}, {obj['y']})"
        if obj["type"] == "door":
            joined = " and ".join(f"room {r}" for r in obj["connects"]) or "nothing"
            lines.append(f"- {obj['id']}: {obj['color']}{state} door {where}, connects {joined}")
        else:
            lines.append(f"- {obj['id']}: {obj['color']} {obj['type']} {where} in room {obj['room']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# Subgoals


def instruction(obj_type: str, color: str, state: str = "") -> str:
    """The language instruction that completes an object subgoal, e.g. ``"open the yellow door"``."""
    if obj_type in ("key", "ball"):
        return f"pick up the {color} {obj_type}"
    if obj_type in ("door", "box"):
        return f"open the {color} {obj_type}"
    return f"go to the {color} {obj_type}"


def make_subgoal(kind: str, x: int, y: int, obj: Mapping[str, Any] | None) -> dict[str, Any]:
    """A subgoal record (see the module docstring) on cell ``(x, y)``.

    :param kind: one of :data:`SUBGOAL_KINDS`
    :param x: target column
    :param y: target row
    :param obj: the description's object record on that cell, or ``None`` for a bare cell
    """
    if kind not in SUBGOAL_KINDS:
        raise ValueError(f"subgoal kind must be one of {SUBGOAL_KINDS}, got {kind!r}")
    if obj is None:
        return {
            "kind": kind,
            "x": int(x),
            "y": int(y),
            "code": list(EMPTY_CODE),
            "object": "",
            "text": f"go to ({x}, {y})",
        }
    return {
        "kind": kind,
        "x": int(x),
        "y": int(y),
        "code": [int(c) for c in obj["code"]],
        "object": str(obj["id"]),
        "text": instruction(str(obj["type"]), str(obj["color"]), str(obj["state"])),
    }


def _object_at(description: Mapping[str, Any], x: int, y: int) -> dict[str, Any] | None:
    for obj in description["objects"]:
        if obj["x"] == x and obj["y"] == y:
            return dict(obj)
    return None


def _shortest_path(base: Any, start: tuple[int, int], goal: tuple[int, int]) -> list[tuple[int, int]]:
    """BFS over cells without walls (doors of any state count as passable); [] if unreachable."""
    grid = base.grid
    previous: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            path = []
            step: tuple[int, int] | None = cell
            while step is not None:
                path.append(step)
                step = previous[step]
            return path[::-1]
        x, y = cell
        for nxt in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if nxt in previous or not (0 <= nxt[0] < grid.width and 0 <= nxt[1] < grid.height):
                continue
            obj = grid.get(*nxt)
            if obj is not None and obj.type == "wall":
                continue
            previous[nxt] = cell
            queue.append(nxt)
    return []


def _find(description: Mapping[str, Any], obj_type: str, color: str | None = None) -> list[dict[str, Any]]:
    return [dict(o) for o in description["objects"] if o["type"] == obj_type and (color is None or o["color"] == color)]


def oracle_cells(env: Any) -> list[tuple[int, int]]:
    """The cells of a level's oracle subgoals, in order, planned from the level's structure.

    - a locked door (KeyCorridor, UnlockPickup, ObstructedMaze, DoorKey): its key (or the box hiding it), the ball
      blocking the door (ObstructedMaze-1Dlhb), the door; then the mission's target (``env.obj``) or the goal;
    - otherwise (MultiRoom): every closed door on a shortest path from the agent to the goal, then the goal.

    :param env: a MiniGrid env (its ``unwrapped`` is read)
    :raises ValueError: for a level with none of these structures
    """
    base = env.unwrapped
    grid = base.grid
    description = describe_level(env)
    cells: list[tuple[int, int]] = []
    target = getattr(base, "obj", None)
    goals = _find(description, "goal")
    for door in _find(description, "door"):
        if door["state"] != "locked":
            continue
        keys = _find(description, "key", door["color"])
        if keys:
            cells.append((keys[0]["x"], keys[0]["y"]))
        else:  # hidden in a box (ObstructedMaze-1Dlh): the box whose content is that key
            for box in _find(description, "box"):
                inside = grid.get(box["x"], box["y"]).contains
                if inside is not None and inside.type == "key" and inside.color == door["color"]:
                    cells.append((box["x"], box["y"]))
                    break
        # a ball parked in front of the door (ObstructedMaze-1Dlhb) must be moved first
        for bx, by in (
            (door["x"] - 1, door["y"]),
            (door["x"] + 1, door["y"]),
            (door["x"], door["y"] - 1),
            (door["x"], door["y"] + 1),
        ):
            blocker = grid.get(bx, by)
            if blocker is not None and blocker.type == "ball" and blocker is not target:
                cells.append((bx, by))
        cells.append((door["x"], door["y"]))
    if target is not None and getattr(target, "cur_pos", None) is not None:
        cells.append((int(target.cur_pos[0]), int(target.cur_pos[1])))
    elif goals:
        goal = (goals[0]["x"], goals[0]["y"])
        if not cells:  # MultiRoom: the doors on the way, in order
            path = _shortest_path(base, (int(base.agent_pos[0]), int(base.agent_pos[1])), goal)
            for x, y in path:
                obj = grid.get(x, y)
                if obj is not None and obj.type == "door" and not obj.is_open:
                    cells.append((x, y))
        cells.append(goal)
    if not cells:
        raise ValueError(f"no oracle subgoals for {type(base).__name__}: no locked door, target object or goal")
    return cells


def oracle_subgoals(env: Any, kind: str = "object") -> list[dict[str, Any]]:
    """The level's oracle subgoals as subgoal records of one kind (see :func:`oracle_cells`).

    :param env: a MiniGrid env, reset on the level
    :param kind: one of :data:`SUBGOAL_KINDS`
    """
    description = describe_level(env)
    return [make_subgoal(kind, x, y, _object_at(description, x, y)) for x, y in oracle_cells(env)]


def _distractors(env: Any, description: Mapping[str, Any], true_cell: tuple[int, int]) -> list[dict[str, Any]]:
    """Objects a wrong object subgoal may name (the paper's rules): non-wall objects other than the true one;
    only doors in KeyCorridor and MultiRoom; nothing in the target's room in KeyCorridor and ObstructedMaze."""
    base = env.unwrapped
    name = type(base).__name__
    candidates = [o for o in description["objects"] if (o["x"], o["y"]) != true_cell]
    if name in ("KeyCorridorEnv", "MultiRoomEnv"):
        candidates = [o for o in candidates if o["type"] == "door"]
    target = getattr(base, "obj", None)
    if (
        target is not None
        and getattr(target, "cur_pos", None) is not None
        and (name == "KeyCorridorEnv" or name.startswith("ObstructedMaze"))
    ):
        target_room = _object_at(description, int(target.cur_pos[0]), int(target.cur_pos[1]))
        if target_room is not None:
            candidates = [o for o in candidates if o["room"] != target_room["room"] or o["type"] == "door"]
    return candidates


def noisy_subgoals(
    env: Any,
    kind: str = "object",
    *,
    object_accuracy: float = 1.0,
    position_accuracy: float = 1.0,
    error_mean: float = 0.0,
    error_std: float = 1.0,
    rng: np.random.Generator | None = None,
) -> list[dict[str, Any]]:
    """The paper's surrogate LLM: the oracle subgoals, each replaced with probability ``1 - accuracy``.

    Object and language kinds use ``object_accuracy`` and name a random distractor object instead; the position
    kind uses ``position_accuracy`` and moves the cell to a random free cell at Manhattan distance
    ``max(1, round(|N(error_mean, error_std)|))`` (the released code only shifted along +x; any direction is used
    here), or to a random free cell when no cell is at that distance.

    :param env: a MiniGrid env, reset on the level
    :param kind: one of :data:`SUBGOAL_KINDS`
    :param object_accuracy: probability that an object / language subgoal is right
    :param position_accuracy: probability that a position subgoal is right
    :param error_mean: mean Manhattan error of a wrong position
    :param error_std: its standard deviation
    :param rng: the randomness (a level-seeded generator makes the surrogate a fixed function of the level)
    """
    for name, value in (("object_accuracy", object_accuracy), ("position_accuracy", position_accuracy)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value}")
    rng = rng if rng is not None else np.random.default_rng()
    description = describe_level(env)
    base = env.unwrapped
    free = [
        (x, y)
        for y in range(base.grid.height)
        for x in range(base.grid.width)
        if (base.grid.get(x, y) is None or base.grid.get(x, y).type != "wall") and _rooms_or_door(description, x, y)
    ]
    out = []
    for x, y in oracle_cells(env):
        if kind == "position":
            if rng.random() >= position_accuracy:
                distance = max(1, round(abs(float(rng.normal(error_mean, error_std)))))
                ring = [c for c in free if abs(c[0] - x) + abs(c[1] - y) == distance]
                pool = ring or [c for c in free if c != (x, y)]
                x, y = pool[int(rng.integers(len(pool)))]
        elif rng.random() >= object_accuracy:
            pool_objects = _distractors(env, description, (x, y))
            if pool_objects:
                wrong = pool_objects[int(rng.integers(len(pool_objects)))]
                x, y = int(wrong["x"]), int(wrong["y"])
        out.append(make_subgoal(kind, x, y, _object_at(description, x, y)))
    return out


def _rooms_or_door(description: Mapping[str, Any], x: int, y: int) -> bool:
    """Whether a cell is inside the level (in a room, or a door), from the description's map."""
    x0, y0 = description["map_origin"]
    rows = description["map"]
    if not (0 <= y - y0 < len(rows) and 0 <= x - x0 < len(rows[y - y0])):
        return False
    return rows[y - y0][x - x0] not in ("#", " ")


# --------------------------------------------------------------------------------------------------------------
# Achievement detection


def subgoal_snapshot(env: Any, subgoals: Sequence[Mapping[str, Any]]) -> list[tuple[int, int, int]]:
    """The content code of each subgoal's cell now (take it before a step, compare after it).

    :param env: a MiniGrid env
    :param subgoals: subgoal records
    """
    grid = env.unwrapped.grid
    return [cell_code(grid.get(int(s["x"]), int(s["y"]))) for s in subgoals]


def subgoals_reached(
    env: Any, subgoals: Sequence[Mapping[str, Any]], snapshot: Sequence[tuple[int, int, int]]
) -> list[bool]:
    """Which subgoals the last step reached: the agent stands on the cell, or the cell's content changed since
    ``snapshot`` (type, colour or door state: picked up, opened, unlocked, moved, a box opened into its contents).

    :param env: a MiniGrid env, just stepped
    :param subgoals: subgoal records
    :param snapshot: :func:`subgoal_snapshot` of the same subgoals before the step
    """
    base = env.unwrapped
    agent = (int(base.agent_pos[0]), int(base.agent_pos[1]))
    now = subgoal_snapshot(env, subgoals)
    return [(int(s["x"]), int(s["y"])) == agent or now[i] != tuple(snapshot[i]) for i, s in enumerate(subgoals)]


# --------------------------------------------------------------------------------------------------------------
# The env-side API of the subgoal teacher


class MiniGridSubgoalsMixin:
    """Text views and subgoals of the current level, as methods of a MiniGrid env wrapper (reach them through any
    wrapper with ``env.get_wrapper_attr("describe_level")()`` etc.). Needs ``self.unwrapped`` to be a MiniGrid env.
    """

    unwrapped: Any

    def describe_level(self) -> dict[str, Any]:
        """See :func:`describe_level`."""
        return describe_level(self)

    def oracle_subgoals(self, kind: str = "object") -> list[dict[str, Any]]:
        """See :func:`oracle_subgoals`."""
        return oracle_subgoals(self, kind)

    def noisy_subgoals(
        self,
        kind: str = "object",
        object_accuracy: float = 1.0,
        position_accuracy: float = 1.0,
        error_mean: float = 0.0,
        error_std: float = 1.0,
        seed: int = 0,
    ) -> list[dict[str, Any]]:
        """See :func:`noisy_subgoals`; ``seed`` seeds its randomness."""
        return noisy_subgoals(
            self,
            kind,
            object_accuracy=object_accuracy,
            position_accuracy=position_accuracy,
            error_mean=error_mean,
            error_std=error_std,
            rng=np.random.default_rng(seed),
        )

    def surrogate_preset(self, llm: str) -> dict[str, float]:
        """The paper's accuracy preset of this env family for an LLM name (see :func:`surrogate_preset`)."""
        spec = self.unwrapped.spec
        return surrogate_preset(spec.id if spec is not None else type(self.unwrapped).__name__, llm)

    def subgoal_snapshot(self, subgoals: Sequence[Mapping[str, Any]]) -> list[tuple[int, int, int]]:
        """See :func:`subgoal_snapshot`."""
        return subgoal_snapshot(self, subgoals)

    def subgoals_reached(
        self, subgoals: Sequence[Mapping[str, Any]], snapshot: Sequence[tuple[int, int, int]]
    ) -> list[bool]:
        """See :func:`subgoals_reached`."""
        return subgoals_reached(self, subgoals, snapshot)

    def agent_position(self) -> tuple[int, int]:
        """The agent's cell ``(x, y)``."""
        pos = self.unwrapped.agent_pos
        return int(pos[0]), int(pos[1])
