"""Stump Tracks: the parameterized Box2D BipedalWalker of the ALP-GMM paper (Portelas et al., CoRL 2019).

A task sets the mean stump height μ_h ∈ [0, 3] and the spacing Δs ∈ [0, 6] between stumps (as in
``flowersteam/teachDeepRL:teachDRL/gym_flowers/envs/bipedal_walker_continuous.py``): after a flat 20-step start
pad, the track alternates one stump (one terrain step wide, height ~ N(μ_h, 0.1) floored at 0.05, in terrain
steps) and a flat stretch of length max(Δs, 0.01). Everything else — walker, reward, observations, lidars — is
gymnasium's ``BipedalWalker``, which this env subclasses, overriding only the terrain generator (and the leg
length, for the short walker). Episodes last at most 2000 steps; an episode is a success when its return
exceeds 230 (``info["is_success"]`` on the last step). Without a task the episode plays a uniform one drawn from
the env's seeded RNG.

Test sets: :func:`grid_test_set` (TeachMyAgent's 10x10 grid) and :func:`uniform_test_set` (50 seeded tasks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gymnasium as gym
import gymnasium.envs.box2d.bipedal_walker as bw
import numpy as np
from Box2D.b2 import fixtureDef, polygonShape
from gymnasium.envs.box2d.bipedal_walker import BipedalWalker

from curricula.env_api import read_task
from curricula.spaces import Dimension, ParameterSpace
from curricula.test_set import TestSet

STUMP_TRACKS_SPACE = ParameterSpace([Dimension("stump_height", 0.0, 3.0), Dimension("obstacle_spacing", 0.0, 6.0)])
#: an episode is solved when its return exceeds this
SUCCESS_RETURN = 230.0
#: the paper's episode length
MAX_EPISODE_STEPS = 2000
#: the teachDRL teachers' return bounds for rescaling to [0, 1]
RETURN_BOUNDS = (-150.0, 350.0)
STUMP_HEIGHT_STD = 0.1
LEG_LENGTHS = {"default": 34 / bw.SCALE, "short": 17 / bw.SCALE}


def grid_test_set() -> TestSet:
    """TeachMyAgent's Stump Tracks test set: heights {0, 1/3, ..., 3} x spacings {0, 2/3, ..., 6} (100 tasks)."""
    return TestSet.grid(STUMP_TRACKS_SPACE, 10, name="stump_grid10")


def uniform_test_set(n: int = 50, seed: int = 4222) -> TestSet:
    """``n`` uniform tasks with a fixed seed (teachDRL used 50 tasks, seed 4222, with its own generator)."""
    return TestSet.uniform(STUMP_TRACKS_SPACE, n, seed, name=f"stump_uniform{n}")


def _leg_fixtures(leg_h: float) -> tuple[Any, Any]:
    leg = fixtureDef(
        shape=polygonShape(box=(bw.LEG_W / 2, leg_h / 2)), density=1.0, restitution=0.0, categoryBits=0x20, maskBits=1
    )
    lower = fixtureDef(
        shape=polygonShape(box=(0.8 * bw.LEG_W / 2, leg_h / 2)),
        density=1.0,
        restitution=0.0,
        categoryBits=0x20,
        maskBits=1,
    )
    return leg, lower


@contextmanager
def _legs_of_length(leg_h: float) -> Iterator[None]:
    """Gymnasium's walker reads its leg size from module constants, and only while building the walker in
    ``reset``; swapping them for the duration of our reset builds a short walker without copying that code.
    Resets run one at a time in a process (vector envs step their copies sequentially), so the swap is safe."""
    saved = (bw.LEG_H, bw.LEG_FD, bw.LOWER_FD)
    bw.LEG_H = leg_h
    bw.LEG_FD, bw.LOWER_FD = _leg_fixtures(leg_h)
    try:
        yield
    finally:
        bw.LEG_H, bw.LEG_FD, bw.LOWER_FD = saved


class StumpTracksEnv(BipedalWalker):
    """BipedalWalker on a Stump Tracks terrain chosen by the task at each reset.

    :param walker: ``"default"`` (legs 34) or ``"short"`` (legs 17, 50 % shorter)
    :param max_episode_steps: steps before truncation (the paper: 2000)
    :param render_mode: gymnasium render mode
    """

    task_space = STUMP_TRACKS_SPACE

    def __init__(
        self, walker: str = "default", max_episode_steps: int = MAX_EPISODE_STEPS, render_mode: str | None = None
    ) -> None:
        if walker not in LEG_LENGTHS:
            raise ValueError(f"walker must be one of {sorted(LEG_LENGTHS)}, got {walker!r}")
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        super().__init__(render_mode=render_mode, hardcore=False)
        self.walker = walker
        self.max_episode_steps = int(max_episode_steps)
        self.stump_height = 0.0
        self.obstacle_spacing = 6.0
        self._steps = 0
        self._return = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        # seed first, so that an episode without a task draws it from the seeded generator
        if seed is not None:
            gym.Env.reset(self, seed=seed)
        params = read_task(options, self.task_space, self.np_random)
        self.stump_height, self.obstacle_spacing = float(params["stump_height"]), float(params["obstacle_spacing"])
        with _legs_of_length(LEG_LENGTHS[self.walker]):
            # seed=None here: the generator was seeded above and must not be reseeded
            obs, info = super().reset(seed=None, options=options)
        # the parent's reset takes one zero-action step to build the first observation: it does not count
        self._steps, self._return = 0, 0.0
        info["stump_height"], info["obstacle_spacing"] = self.stump_height, self.obstacle_spacing
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        self._steps += 1
        self._return += float(reward)
        truncated = truncated or (self._steps >= self.max_episode_steps and not terminated)
        if terminated or truncated:
            info["is_success"] = self._return > SUCCESS_RETURN
        return obs, float(reward), terminated, truncated, info

    def _generate_terrain(self, hardcore: bool) -> None:
        step = bw.TERRAIN_STEP
        y = bw.TERRAIN_HEIGHT
        max_x = bw.TERRAIN_LENGTH * step
        startpad = bw.TERRAIN_STARTPAD * step
        spacing = max(0.01, self.obstacle_spacing)
        self.terrain = []
        self.terrain_x = [0.0, startpad]
        self.terrain_y = [y, y]
        x = startpad
        # after the start pad: a stump, a flat stretch of `spacing`, a stump, ... (flat ground: roughness 0)
        while x < max_x:
            height = max(0.05, float(self.np_random.normal(self.stump_height, STUMP_HEIGHT_STD))) * step
            self.fd_polygon.shape.vertices = [(x, y), (x + step, y), (x + step, y + height), (x, y + height)]
            stump = self.world.CreateStaticBody(fixtures=self.fd_polygon)
            stump.color1, stump.color2 = (255, 255, 255), (153, 153, 153)
            self.terrain.append(stump)
            x += step
            self.terrain_x.append(x)
            self.terrain_y.append(y)
            x += spacing
            self.terrain_x.append(x)
            self.terrain_y.append(y)
        self.terrain_poly = []
        for i in range(len(self.terrain_x) - 1):
            edge = [(self.terrain_x[i], self.terrain_y[i]), (self.terrain_x[i + 1], self.terrain_y[i + 1])]
            self.fd_edge.shape.vertices = edge
            ground = self.world.CreateStaticBody(fixtures=self.fd_edge)
            color = (76, 255 if i % 2 == 0 else 204, 76)
            ground.color1, ground.color2 = color, color
            self.terrain.append(ground)
            self.terrain_poly.append(([*edge, (edge[1][0], 0), (edge[0][0], 0)], (102, 153, 76)))
        self.terrain.reverse()


def make_stump_tracks(walker: str = "default", **kwargs: Any) -> StumpTracksEnv:
    """Entry point for the registered ids.

    :param walker: ``"default"`` or ``"short"``
    :param kwargs: :class:`StumpTracksEnv` options
    """
    return StumpTracksEnv(walker=walker, **kwargs)
