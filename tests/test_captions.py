"""Event captions of the seeded MiniGrid families, on scripted trajectories (envs/captions.py)."""

from __future__ import annotations

import itertools
import time
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401 - registers the Curricula/* ids
from envs import SEEDED_MINIGRID_IDS
from envs.captions import NO_ROOM, MiniGridCaptioner, label_rooms

LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE = 0, 1, 2, 3, 4, 5
DIRECTIONS = [(1, 0), (0, 1), (-1, 0), (0, -1)]  # MiniGrid's agent_dir 0..3


def _passable(env: Any, x: int, y: int) -> bool:
    obj = env.grid.get(x, y)
    return obj is None or obj.type == "goal" or (obj.type == "door" and obj.is_open)


def _path_actions(env: Any, goal: tuple[int, int], stand_on: bool) -> list[int]:
    """Turn/forward actions that bring the agent onto ``goal`` (or next to it, facing it): BFS on the grid."""
    start = (int(env.agent_pos[0]), int(env.agent_pos[1]))
    parents: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue = deque([start])
    end = None
    while queue:
        cell = queue.popleft()
        if (stand_on and cell == goal) or (not stand_on and abs(cell[0] - goal[0]) + abs(cell[1] - goal[1]) == 1):
            end = cell
            break
        for dx, dy in DIRECTIONS:
            nxt = (cell[0] + dx, cell[1] + dy)
            if nxt not in parents and ((nxt == goal and stand_on) or _passable(env, *nxt)):
                parents[nxt] = cell
                queue.append(nxt)
    assert end is not None, f"no path to {goal}"
    cells = [end]
    while parents[cells[-1]] is not None:
        cells.append(parents[cells[-1]])  # type: ignore[arg-type]
    cells.reverse()
    if not stand_on:
        cells.append(goal)  # the last move is only a turn to face it
    actions, direction = [], int(env.agent_dir)
    for here, there in itertools.pairwise(cells):
        want = DIRECTIONS.index((there[0] - here[0], there[1] - here[1]))
        turns = (want - direction) % 4
        actions += [RIGHT] * turns if turns <= 2 else [LEFT]
        direction = want
        if there != goal or stand_on:
            actions.append(FORWARD)
    return actions


def _find(env: Any, kind: str) -> tuple[int, int]:
    for x in range(env.grid.width):
        for y in range(env.grid.height):
            obj = env.grid.get(x, y)
            if obj is not None and obj.type == kind:
                return x, y
    raise AssertionError(f"no {kind} in the level")


def _run(env: gym.Env[Any, Any], actions: list[int]) -> list[tuple[str, bool]]:
    """The (caption, helpful) of each step; the nothing-happened steps are kept as ("", False)."""
    out = []
    for action in actions:
        _, _, terminated, truncated, info = env.step(action)
        out.append((info["caption"], info["caption_helpful"]))
        if terminated or truncated:
            break
    return out


def _said(steps: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    return [s for s in steps if s[0]]


def test_doorkey_scripted_trajectory() -> None:
    env = gym.make("Curricula/DoorKey-5x5-v0")
    env.reset(seed=3)
    mg: Any = env.unwrapped
    door, key, goal = _find(mg, "door"), _find(mg, "key"), _find(mg, "goal")
    captions: list[tuple[str, bool]] = []
    captions += _said(_run(env, [*_path_actions(mg, door, stand_on=False), TOGGLE]))  # no key yet
    captions += _said(_run(env, [*_path_actions(mg, key, stand_on=False), PICKUP, DROP, PICKUP]))
    captions += _said(_run(env, [*_path_actions(mg, door, stand_on=False), TOGGLE, TOGGLE, TOGGLE]))
    captions += _said(_run(env, [FORWARD]))  # onto the door cell: between rooms
    assert label_rooms(mg)[door] == NO_ROOM
    captions += _said(_run(env, [FORWARD, LEFT, LEFT, FORWARD, FORWARD, LEFT, LEFT]))  # in, back out, in again
    captions += _said(_run(env, _path_actions(mg, goal, stand_on=True)))
    assert captions == [
        ("the yellow door is locked", False),
        ("you picked up the yellow key", True),
        ("you dropped the yellow key", False),
        ("you picked up the yellow key", True),
        ("you unlocked the yellow door", True),
        ("you closed the yellow door", False),
        ("you opened the yellow door", True),
        ("you entered a new room", True),
        ("you completed the mission", True),
    ]


def test_obstructed_maze_box_holding_the_key() -> None:
    env = gym.make("Curricula/ObstructedMaze-1Dlh-v0")
    env.reset(seed=0)
    mg: Any = env.unwrapped
    box = _find(mg, "box")
    hidden = mg.grid.get(*box).contains
    assert hidden is not None and hidden.type == "key"
    box_color = mg.grid.get(*box).color
    steps = _said(_run(env, [*_path_actions(mg, box, stand_on=False), TOGGLE, PICKUP]))
    assert steps == [
        (f"you opened the {box_color} box and found a {hidden.color} key", True),
        (f"you picked up the {hidden.color} key", True),  # it opens the level's locked door
    ]


def test_keycorridor_target_and_wrong_pickups() -> None:
    env = gym.make("Curricula/KeyCorridorS3R3-v0")
    env.reset(seed=1)
    mg: Any = env.unwrapped
    captioner: MiniGridCaptioner = env.get_wrapper_attr("captioner")
    target: Any = mg.obj
    assert captioner.target is mg.obj and captioner.locked_door_colors
    key = next(o for o in mg.grid.grid if o is not None and o.type == "key")
    assert key.color in captioner.locked_door_colors
    # Carrying is all that a pick-up caption reads: hand the agent the target, then another ball.
    captioner.before_step()
    mg.carrying = target
    assert captioner.after_step(PICKUP, 0.0, False) == (f"you picked up the {target.color} {target.type}", True)
    captioner.before_step()
    mg.carrying = None
    assert captioner.after_step(DROP, 0.0, False) == (f"you dropped the {target.color} {target.type}", False)
    other = type(target)("grey" if target.color != "grey" else "red")
    captioner.before_step()
    mg.carrying = other
    assert captioner.after_step(PICKUP, 0.0, False) == (f"you picked up the {other.color} {other.type}", False)


@pytest.mark.parametrize("env_id", sorted(SEEDED_MINIGRID_IDS))
def test_every_step_has_a_caption_and_few_are_distinct(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    distinct: dict[str, bool] = {}
    for _ in range(800):
        _, _, terminated, truncated, info = env.step(int(rng.integers(6)))
        assert isinstance(info["caption"], str) and isinstance(info["caption_helpful"], bool)
        if info["caption"]:
            # one caption, one helpfulness per level structure: the same words never flip within a family
            assert distinct.setdefault(info["caption"], info["caption_helpful"]) == info["caption_helpful"]
        else:
            assert info["caption_helpful"] is False
        if terminated or truncated:
            env.reset()
    assert 0 < len(distinct) < 60  # MiniGrid's event vocabulary is small (reference: 6-25 per family)


def test_captioning_is_cheap() -> None:
    env = gym.make("Curricula/KeyCorridorS3R3-v0")
    env.reset(seed=0)
    captioner: MiniGridCaptioner = env.get_wrapper_attr("captioner")
    rng = np.random.default_rng(0)
    spent, steps = 0.0, 2000
    for _ in range(steps):
        env.step(int(rng.integers(6)))
        started = time.perf_counter()
        captioner.before_step()  # the captioner's own work, measured apart from the env step
        captioner.after_step(0, 0.0, False)
        spent += time.perf_counter() - started
    # 38 us measured under load average 11 (the env step: 657 us); the bound catches a render or a grid scan
    assert spent / steps < 200e-6
