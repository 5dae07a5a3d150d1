"""Stump Tracks: the task shapes the terrain, walkers, success flag, test sets, checkers with a frozen task."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs  # noqa: F401 - registers the ids
from curricula import Task, TaskEnv
from envs.stump_tracks import (
    LEG_LENGTHS,
    STUMP_TRACKS_SPACE,
    StumpTracksEnv,
    grid_test_set,
    uniform_test_set,
)


def _stumps(env: StumpTracksEnv) -> list[tuple[float, float]]:
    """(left x, height in terrain steps) of every stump body."""
    out = []
    for body in env.terrain:
        vertices = body.fixtures[0].shape.vertices
        if len(vertices) == 4:
            xs, ys = [v[0] for v in vertices], [v[1] for v in vertices]
            out.append((min(xs), (max(ys) - min(ys)) / gym.envs.box2d.bipedal_walker.TERRAIN_STEP))
    return sorted(out)


def test_task_sets_stump_heights_and_spacing() -> None:
    env = StumpTracksEnv()
    env.reset(seed=0, options={"task": Task(id=0, params={"stump_height": 2.0, "obstacle_spacing": 3.0})})
    stumps = _stumps(env)
    heights = np.array([h for _, h in stumps])
    assert len(stumps) > 10
    assert abs(heights.mean() - 2.0) < 0.1 and 0.03 < heights.std() < 0.2
    gaps = np.diff([x for x, _ in stumps])
    np.testing.assert_allclose(gaps, 3.0 + gym.envs.box2d.bipedal_walker.TERRAIN_STEP, atol=1e-4)
    env.reset(seed=0, options={"task": Task(id=1, params={"stump_height": 0.0, "obstacle_spacing": 0.0})})
    low = _stumps(env)
    assert all(h >= 0.05 - 1e-6 for _, h in low), "heights are floored at 0.05"
    assert len(low) > 3 * len(stumps), "spacing 0 packs stumps (floored at 0.01)"


def test_short_walker_has_half_legs_and_does_not_leak() -> None:
    short = StumpTracksEnv(walker="short")
    short.reset(seed=1, options={"task": Task(id=0, params={"stump_height": 0.0, "obstacle_spacing": 6.0})})
    leg_box = short.legs[0].fixtures[0].shape.vertices
    assert max(v[1] for v in leg_box) * 2 == pytest.approx(LEG_LENGTHS["short"])
    default = StumpTracksEnv()
    default.reset(seed=1)
    assert max(v[1] for v in default.legs[0].fixtures[0].shape.vertices) * 2 == pytest.approx(LEG_LENGTHS["default"])
    with pytest.raises(ValueError, match="walker"):
        StumpTracksEnv(walker="quadru")


def test_success_flag_and_time_limit() -> None:
    env = StumpTracksEnv(max_episode_steps=30)
    env.reset(seed=0, options={"task": Task(id=0, params={"stump_height": 1.0, "obstacle_spacing": 2.0})})
    done, steps, info, total = False, 0, {}, 0.0
    while not done:
        _, reward, terminated, truncated, info = env.step(np.zeros(4, dtype=np.float32))
        total += reward
        done, steps = terminated or truncated, steps + 1
    assert steps <= 30
    assert info["is_success"] is (total > 230.0)


def test_out_of_space_task_raises() -> None:
    env = StumpTracksEnv()
    with pytest.raises(ValueError, match="stump_height"):
        env.reset(options={"task": Task(id=0, params={"stump_height": 4.0, "obstacle_spacing": 1.0})})


def test_test_sets() -> None:
    grid = grid_test_set()
    assert len(grid) == 100
    heights = sorted({t.params["stump_height"] for t in grid.tasks})
    np.testing.assert_allclose(heights, np.linspace(0, 3, 10))
    uniform = uniform_test_set()
    assert len(uniform) == 50
    assert [t.params for t in uniform.tasks] == [t.params for t in uniform_test_set().tasks]
    for t in uniform.tasks:
        STUMP_TRACKS_SPACE.validate(t.params)


@pytest.mark.parametrize("env_id", ["Curricula/StumpTracks-v0", "Curricula/StumpTracksShort-v0"])
def test_checkers_with_frozen_task(env_id: str) -> None:
    task = Task(id=0, params={"stump_height": 1.5, "obstacle_spacing": 2.5})
    gym_check_env(TaskEnv(gym.make(env_id).unwrapped, frozen_task=task), skip_render_check=True)
    sb3_check_env(TaskEnv(gym.make(env_id), frozen_task=task), warn=False)


def test_same_seed_same_terrain() -> None:
    task = Task(id=0, params={"stump_height": 1.0, "obstacle_spacing": 1.0})
    a, b = StumpTracksEnv(), StumpTracksEnv()
    a.reset(seed=3, options={"task": task})
    b.reset(seed=3, options={"task": task})
    assert _stumps(a) == _stumps(b)
    b.reset(seed=4, options={"task": task})
    assert _stumps(a) != _stumps(b)
