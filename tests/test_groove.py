"""GROOVE: algorithmic regret from cached reference returns, the fallback, deterministic collection, state,
the reference-agent registry and close()."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import envs  # noqa: F401
import teachers  # noqa: F401
from agents.reference import ReferenceConfig, ReferencePool, train_reference
from curricula import EpisodeResult, Task, Teacher, make_teacher
from curricula.reference import (
    ReferenceRunner,
    ReferenceSpec,
    make_reference_runner,
    register_reference_agent,
    registered_reference_agents,
)
from curricula.serialization import load_state, save_state
from curricula.testing import TinyLevelSpace
from envs.maze import MazeLevelSpace
from teachers.groove import GrooveTeacher

TINY_REFERENCE = dict(reference_budget=64, reference_eval_episodes=1, reference_mode="inline")


def _play(teacher: Teacher, episodes: int, length: int = 10) -> list[str]:
    """Sample and report ``episodes`` episodes; the 'student' returns 1 on levels whose first cell is 0."""
    out = []
    for _ in range(episodes):
        task = teacher.sample()
        level = task.level
        ret = float(level["cells"][0] == 0) if "cells" in level else float(level["agent"][0] % 2)
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=length, success=ret > 0))
        out.append(task.dumps())
    return out


def test_fallback_without_reference_is_minus_the_student_return_ewa() -> None:
    teacher = make_teacher("groove", TinyLevelSpace(), seed=0, buffer_size=8, return_smoothing=0.5)
    assert isinstance(teacher, GrooveTeacher) and teacher.reference_spec is None
    task = teacher.sample()
    key = teacher.space.key(task.level)
    for ret, expected in ((1.0, 1.0), (0.0, 0.5), (0.0, 0.25)):
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=5, success=False))
        assert teacher.regret(key) == pytest.approx(-expected)
        assert teacher.buffer.scores[teacher.buffer.slot(key)] == pytest.approx(-expected)
    assert teacher.scalars()["reference_step_fraction"] == 0.0


def test_reference_jobs_run_at_the_stated_rate_and_land_at_a_fixed_lag() -> None:
    space = MazeLevelSpace(size=3, max_walls=2)
    teacher = make_teacher(
        "groove", space, seed=1, buffer_size=8, reference_interval=50, reference_lag=30, **TINY_REFERENCE
    )
    assert isinstance(teacher, GrooveTeacher) and teacher.env_id == "Curricula/Maze-v0"
    _play(teacher, 4)  # 40 student steps: no job yet
    assert teacher.scalars()["reference_pending"] == 0
    _play(teacher, 1)  # 50 steps: one job submitted, due at step 80
    assert teacher.scalars()["reference_pending"] == 1 and teacher.scalars()["reference_levels"] == 0
    _play(teacher, 2)  # 70 steps: still pending
    assert teacher.scalars()["reference_levels"] == 0
    _play(teacher, 1)  # 80 steps: collected
    scalars = teacher.scalars()
    assert scalars["reference_levels"] == 1 and scalars["reference_pending"] == 0
    assert scalars["reference_env_steps"] >= 64
    (key, ref), *_ = teacher.schedule.returns.items()
    slot = teacher.buffer.slot(key)
    assert slot is not None
    assert teacher.buffer.scores[slot] == pytest.approx(ref - teacher._student_return[key])
    # the fallback of the other levels is now the mean known reference return
    other = next(k for k in teacher._student_return if k != key)
    assert teacher.reference_estimate(other) == pytest.approx(ref)


def test_same_seed_same_feedback_same_samples_with_references() -> None:
    space = MazeLevelSpace(size=3, max_walls=2)
    kwargs = dict(buffer_size=6, min_fill=0.5, reference_interval=40, **TINY_REFERENCE)
    a = make_teacher("groove", space, seed=3, **kwargs)
    b = make_teacher("groove", space, seed=3, **kwargs)
    assert _play(a, 40) == _play(b, 40)
    assert a.schedule.returns == b.schedule.returns and len(a.schedule.returns) > 0


def test_state_round_trip_with_a_pending_job(tmp_path: Path) -> None:
    space = MazeLevelSpace(size=3, max_walls=2)
    kwargs = dict(buffer_size=6, min_fill=0.5, reference_interval=40, reference_lag=35, **TINY_REFERENCE)
    original = make_teacher("groove", space, seed=4, **kwargs)
    _play(original, 9)  # job submitted at step 40, due at 75: pending now
    assert original.scalars()["reference_pending"] == 1
    save_state(tmp_path / "groove.npz", original.state_dict())
    restored = make_teacher("groove", space, seed=0, **kwargs)
    restored.load_state_dict(load_state(tmp_path / "groove.npz"))
    assert _play(restored, 30) == _play(original, 30)
    assert restored.schedule.returns == original.schedule.returns


def test_worker_process_gives_the_inline_value() -> None:
    config = ReferenceConfig("Curricula/Maze-v0", budget=32, eval_episodes=1)
    space = MazeLevelSpace(size=3, max_walls=2)
    level = space.generate(np.random.default_rng(0))
    key = space.key(level)
    pool = ReferencePool(config, mode="process")
    try:
        remote = pool.submit(level, key).result(timeout=120)
    finally:
        pool.close()
    local = train_reference(config, level, key)
    assert remote["return"] == local["return"] and remote["env_steps"] == local["env_steps"]


def test_groove_bad_options_raise() -> None:
    with pytest.raises(ValueError, match="reference_interval"):
        make_teacher("groove", TinyLevelSpace(), reference_interval=0)
    with pytest.raises(ValueError, match="return_smoothing"):
        make_teacher("groove", TinyLevelSpace(), return_smoothing=0.0)
    with pytest.raises(ValueError, match="mode"):
        ReferencePool(ReferenceConfig("Curricula/Maze-v0"), mode="cluster")
    with pytest.raises(ValueError, match="budget"):
        ReferenceConfig("Curricula/Maze-v0", budget=0)


class CountingRunner:
    """A reference learner without SB3: the return is a function of the level key; closes are counted."""

    def __init__(self, spec: ReferenceSpec) -> None:
        self.spec = spec
        self.closes = 0
        self.jobs = 0

    def submit(self, level: Mapping[str, Any], level_key: str) -> cf.Future[dict[str, float]]:
        self.jobs += 1
        future: cf.Future[dict[str, float]] = cf.Future()
        value = (sum(map(ord, level_key)) % 17) / 17.0
        future.set_result({"return": value, "env_steps": float(self.spec.budget), "seconds": 0.0})
        return future

    def close(self) -> None:
        self.closes += 1


RUNNERS: list[CountingRunner] = []


def _counting_factory(spec: ReferenceSpec) -> ReferenceRunner:
    RUNNERS.append(CountingRunner(spec))
    return RUNNERS[-1]


def test_agents_registers_its_learners_and_a_user_runner_can_be_registered() -> None:
    assert {"a2c", "ppo"} <= set(registered_reference_agents())
    register_reference_agent("counting", _counting_factory)
    spec = ReferenceSpec("Curricula/Maze-v0", algo="counting", budget=10, eval_episodes=1)
    runner = make_reference_runner(spec)
    assert isinstance(runner, CountingRunner) and isinstance(runner, ReferenceRunner)
    space = MazeLevelSpace(size=3, max_walls=2)
    teacher = make_teacher("groove", space, seed=2, buffer_size=6, reference_interval=40, reference_algo="counting")
    _play(teacher, 20)
    assert teacher.scalars()["reference_levels"] > 0 and RUNNERS[-1].spec.algo == "counting"


def test_an_unregistered_reference_agent_fails_at_the_first_job_with_what_to_do() -> None:
    space = MazeLevelSpace(size=3, max_walls=2)
    teacher = make_teacher("groove", space, seed=0, buffer_size=6, reference_interval=40, reference_algo="nope")
    _play(teacher, 3)  # building and playing before the first job needs no reference agent
    with pytest.raises(ValueError, match=r"reference agent 'nope' is not registered.*import agents"):
        _play(teacher, 2)


def test_close_is_idempotent_and_a_closed_teacher_restarts_its_runner() -> None:
    register_reference_agent("counting", _counting_factory)
    space = MazeLevelSpace(size=3, max_walls=2)
    kwargs = dict(buffer_size=6, min_fill=0.5, reference_interval=40, reference_lag=35, reference_algo="counting")
    closed = make_teacher("groove", space, seed=4, **kwargs)
    untouched = make_teacher("groove", space, seed=4, **kwargs)
    assert _play(closed, 9) == _play(untouched, 9)
    assert closed.scalars()["reference_pending"] == 1
    first = closed.schedule._runner
    assert isinstance(first, CountingRunner)
    closed.close()
    closed.close()
    assert first.closes == 1, "the second close has nothing left to stop"
    # the pending job is recomputed by a new runner: same values, same samples as without the close
    assert _play(closed, 30) == _play(untouched, 30)
    assert closed.schedule.returns == untouched.schedule.returns
    assert closed.schedule._runner is not None and closed.schedule._runner is not first


def test_groove_cpu_preset_sets_the_reference_cadence() -> None:
    teacher = make_teacher("groove", TinyLevelSpace(), preset="cpu")
    assert isinstance(teacher, GrooveTeacher)
    assert (teacher.buffer.capacity, teacher.reference_interval) == (256, 4096)
    assert make_teacher("groove", TinyLevelSpace(), preset="cpu", reference_interval=100).reference_interval == 100


# -- the three fixes of the second pass ------------------------------------------------------------------------
class FixedRunner:
    """A reference learner without SB3: every level's reference return is ``spec.budget / 100``."""

    def __init__(self, spec: ReferenceSpec) -> None:
        self.spec = spec
        self.levels: list[str] = []

    def submit(self, level: Mapping[str, Any], level_key: str) -> cf.Future[dict[str, float]]:
        self.levels.append(level_key)
        future: cf.Future[dict[str, float]] = cf.Future()
        future.set_result({"return": self.spec.budget / 100, "env_steps": 0.0, "seconds": 0.0})
        return future

    def close(self) -> None:
        pass


FIXED_RUNNERS: list[FixedRunner] = []


def _fixed_factory(spec: ReferenceSpec) -> ReferenceRunner:
    FIXED_RUNNERS.append(FixedRunner(spec))
    return FIXED_RUNNERS[-1]


def _hear(teacher: Teacher, level: dict[str, Any], ret: float, length: int = 10) -> None:
    """Report one episode of ``level`` (the teacher issues the id; the level is the test's choice)."""
    task_id = teacher.sample().id
    task = Task(id=task_id, level=level, annotations={"source": "new"})
    teacher.update(EpisodeResult(task=task, episode_return=ret, length=length, success=ret > 0))


MAZES = MazeLevelSpace(size=3, max_walls=2)


def _mazes(n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(11)
    levels: dict[str, dict[str, Any]] = {}
    while len(levels) < n:
        level = MAZES.generate(rng)
        levels[MAZES.key(level)] = level
    return list(levels.values())


def test_a_landing_reference_rescores_every_level_on_the_new_baseline() -> None:
    """Old code rescored only the level whose reference landed; the others kept the fallback of their scoring time."""
    register_reference_agent("fixed", _fixed_factory)
    teacher = make_teacher(
        "groove",
        MAZES,
        seed=0,
        buffer_size=8,
        replay_prob=0.0,
        reference_algo="fixed",
        reference_budget=100,
        reference_interval=30,
        reference_lag=0,
    )
    assert isinstance(teacher, GrooveTeacher)
    a, b, c = _mazes(3)
    _hear(teacher, a, 0.2)
    _hear(teacher, b, 0.6)  # fallback 0 so far: scores -0.2, -0.6
    _hear(teacher, c, 0.4)  # step 30: a reference (1.0) lands for the oldest level, a
    assert teacher.schedule.returns == {MAZES.key(a): 1.0}
    for level, ret in ((a, 0.2), (b, 0.6), (c, 0.4)):
        slot = teacher.buffer.slot(MAZES.key(level))
        assert slot is not None
        assert teacher.buffer.scores[slot] == pytest.approx(1.0 - ret), "every level on the same baseline (1.0)"


def test_references_go_to_the_oldest_level_not_the_highest_scoring() -> None:
    register_reference_agent("fixed", _fixed_factory)
    teacher = make_teacher(
        "groove",
        MAZES,
        seed=0,
        buffer_size=8,
        replay_prob=0.0,
        reference_algo="fixed",
        reference_interval=30,
        reference_lag=100,
    )
    a, b, c = _mazes(3)
    _hear(teacher, a, 1.0)  # oldest, lowest regret
    _hear(teacher, b, 0.0)  # highest regret: the old rule chose this one
    _hear(teacher, c, 0.5)
    assert FIXED_RUNNERS[-1].levels == [MAZES.key(a)]
    _hear(teacher, _mazes(4)[3], 0.0, length=30)  # the next job: the oldest level without one
    assert FIXED_RUNNERS[-1].levels == [MAZES.key(a), MAZES.key(b)]


def test_an_evicted_level_that_comes_back_starts_a_fresh_memory() -> None:
    teacher = make_teacher("groove", TinyLevelSpace(), seed=0, buffer_size=1, return_smoothing=0.5, replay_prob=0.0)
    assert isinstance(teacher, GrooveTeacher)
    a, b = {"cells": [1, 0, 0, 0]}, {"cells": [2, 0, 0, 0]}
    _hear(teacher, a, 1.0)  # score -1
    _hear(teacher, b, 0.0)  # score 0 > -1: a is evicted
    assert teacher.buffer.last_evicted == teacher.space.key(a)
    assert teacher.space.key(a) not in teacher._student_return
    _hear(teacher, a, -1.0)  # a comes back: its return is this episode's, not an average with the stale 1.0
    assert teacher.buffer.slot(teacher.space.key(a)) is not None
    assert teacher.regret(teacher.space.key(a)) == pytest.approx(1.0)
