"""Event captions of MiniGrid transitions, for ONI-style intrinsic rewards (``info["caption"]``).

A caption says what the last step *did* to the world, in words: "you picked up the yellow key", "you opened the red
door", "the purple door is locked", "you entered a new room", "you completed the mission". Most steps do nothing
worth saying and get ``""``. Captions are built by comparing a few cheap facts before and after ``env.step``
(what the agent carries, the cell in front of it, the room it is in), so they cost a handful of attribute reads
per step, not a render or a grid scan.

The same captioner also says whether an event is **helpful** for the level's mission (``info["caption_helpful"]``):
the ground truth a noisy-oracle annotator starts from. Helpful events are the steps of the mission's plan, read
from the level's structure at reset: picking up a key whose colour opens a locked door of the level, unlocking or
opening a door, opening a box that holds something, entering a room not visited in this episode, picking up the
mission's target, completing the mission. Dropping things, closing doors, bumping into a locked door without its
key, and picking up anything else are not.

Rooms are the connected components of the level's floor (walls and doors separate them), labelled once at reset,
so "a new room" works the same for RoomGrid families (KeyCorridor, ObstructedMaze, UnlockPickup), MultiRoom and
DoorKey.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from minigrid.core.world_object import WorldObj
from minigrid.minigrid_env import MiniGridEnv

#: MiniGrid's action numbers (``MiniGridEnv.Actions``), kept as plain ints so the hot path compares ints
ACTION_PICKUP = 3
ACTION_DROP = 4
ACTION_TOGGLE = 5

#: every caption template this module can produce (``{c}`` a colour, ``{o}`` an object type)
CAPTION_TEMPLATES: tuple[str, ...] = (
    "you picked up the {c} {o}",
    "you dropped the {c} {o}",
    "you opened the {c} door",
    "you unlocked the {c} door",
    "you closed the {c} door",
    "the {c} door is locked",
    "you opened the {c} box",
    "you opened the {c} box and found a {c} {o}",
    "you entered a new room",
    "you completed the mission",
)

NO_ROOM = -1


@dataclass(frozen=True)
class _Cell:
    """What matters about one cell for captions: its object's identity, type, colour and door state."""

    obj: WorldObj | None
    is_open: bool = False
    is_locked: bool = False


def _cell(obj: WorldObj | None) -> _Cell:
    if obj is None:
        return _Cell(None)
    return _Cell(obj, bool(getattr(obj, "is_open", False)), bool(getattr(obj, "is_locked", False)))


def label_rooms(env: MiniGridEnv) -> np.ndarray:
    """Room index of each cell (``[x, y]``), ``NO_ROOM`` on walls and doors: connected components of the rest.

    :param env: an unwrapped MiniGrid env, after reset
    """
    width, height = env.grid.width, env.grid.height
    rooms = np.full((width, height), NO_ROOM, dtype=np.int32)
    blocked = np.zeros((width, height), dtype=bool)
    for x in range(width):
        for y in range(height):
            obj = env.grid.get(x, y)
            blocked[x, y] = obj is not None and obj.type in ("wall", "door")
    room = 0
    for x0 in range(width):
        for y0 in range(height):
            if blocked[x0, y0] or rooms[x0, y0] != NO_ROOM:
                continue
            stack = [(x0, y0)]
            rooms[x0, y0] = room
            while stack:
                x, y = stack.pop()
                for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                    if 0 <= nx < width and 0 <= ny < height and not blocked[nx, ny] and rooms[nx, ny] == NO_ROOM:
                        rooms[nx, ny] = room
                        stack.append((nx, ny))
            room += 1
    return rooms


class MiniGridCaptioner:
    """Captions the transitions of one MiniGrid env: call :meth:`reset` after ``env.reset``, :meth:`before_step`
    before each ``env.step`` and :meth:`after_step` after it.

    :param env: the unwrapped MiniGrid env (``env.unwrapped``)
    """

    def __init__(self, env: MiniGridEnv) -> None:
        self.env = env
        self.rooms = np.zeros((0, 0), dtype=np.int32)
        self.visited: set[int] = set()
        self.locked_door_colors: frozenset[str] = frozenset()
        self.target: WorldObj | None = None
        self._carrying: WorldObj | None = None
        self._front_pos: tuple[int, int] = (0, 0)
        self._front: _Cell = _Cell(None)
        self._room = NO_ROOM

    def reset(self) -> None:
        """Read the new level's structure: rooms, locked doors, the mission's target object."""
        env = self.env
        self.rooms = label_rooms(env)
        self.locked_door_colors = frozenset(
            obj.color
            for obj in env.grid.grid
            if obj is not None and obj.type == "door" and getattr(obj, "is_locked", False)
        )
        # KeyCorridor, ObstructedMaze and UnlockPickup keep the object to pick up in ``obj``; DoorKey and
        # MultiRoom have a goal square instead (success is then "you completed the mission").
        target = getattr(env, "obj", None)
        self.target = target if isinstance(target, WorldObj) else None
        self._room = self._room_of(env.agent_pos)
        self.visited = {self._room} if self._room != NO_ROOM else set()

    def _room_of(self, pos: Any) -> int:
        return int(self.rooms[int(pos[0]), int(pos[1])])

    def before_step(self) -> None:
        """Remember what the step may change: what is carried and the cell in front of the agent."""
        env = self.env
        self._carrying = env.carrying
        fx, fy = env.front_pos
        self._front_pos = (int(fx), int(fy))
        self._front = _cell(env.grid.get(fx, fy))

    def after_step(self, action: int, reward: float, terminated: bool) -> tuple[str, bool]:
        """The caption of the step just taken and whether it is helpful for the mission (``("", False)``: nothing
        happened worth saying).

        :param action: the action the step took
        :param reward: the env's reward of the step
        :param terminated: whether the step ended the episode by reaching a terminal state
        """
        env = self.env
        events: list[tuple[str, bool]] = []
        carrying = env.carrying
        if carrying is not self._carrying:
            if carrying is not None:
                helpful = carrying is self.target or (
                    carrying.type == "key" and carrying.color in self.locked_door_colors
                )
                events.append((f"you picked up the {carrying.color} {carrying.type}", helpful))
            elif self._carrying is not None and action == ACTION_DROP:
                events.append((f"you dropped the {self._carrying.color} {self._carrying.type}", False))
        if action == ACTION_TOGGLE and self._front.obj is not None:
            events.extend(self._toggle_events())
        room = self._room_of(env.agent_pos)
        if room != self._room:
            self._room = room
            if room != NO_ROOM and room not in self.visited:
                self.visited.add(room)
                events.append(("you entered a new room", True))
        if terminated and reward > 0:
            events.append(("you completed the mission", True))
        if not events:
            return "", False
        if len(events) == 1:
            return events[0]
        return "; ".join(text for text, _ in events), any(helpful for _, helpful in events)

    def _toggle_events(self) -> list[tuple[str, bool]]:
        before = self._front
        assert before.obj is not None
        now = self.env.grid.get(*self._front_pos)
        color = before.obj.color
        if before.obj.type == "door" and now is before.obj:
            if before.is_locked and not now.is_locked:  # type: ignore[attr-defined]
                return [(f"you unlocked the {color} door", True)]
            if before.is_locked:
                return [(f"the {color} door is locked", False)]
            if not before.is_open and now.is_open:  # type: ignore[attr-defined]
                return [(f"you opened the {color} door", True)]
            if before.is_open and not now.is_open:  # type: ignore[attr-defined]
                return [(f"you closed the {color} door", False)]
        elif before.obj.type == "box" and now is not before.obj:
            # MiniGrid's Box.toggle replaces the box by its contents (or by nothing)
            if now is None:
                return [(f"you opened the {color} box", False)]
            return [(f"you opened the {color} box and found a {now.color} {now.type}", True)]
        return []
