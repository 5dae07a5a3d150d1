"""RIAC: window ALP on hand examples, splits (with the reference bugs fixed), discard, presets, bounds."""

from __future__ import annotations

import numpy as np
import pytest

import teachers  # noqa: F401
from curricula import Dimension, EpisodeResult, ParameterSpace, Task
from teachers.riac import RIACTeacher, window_alp

SPACE = ParameterSpace([Dimension("x", 0.0, 1.0), Dimension("y", 0.0, 2.0)])


def _feed(teacher: RIACTeacher, point: tuple[float, float], ret: float) -> None:
    issued = teacher.sample()
    teacher.update(
        EpisodeResult(
            task=Task(id=issued.id, params={"x": point[0], "y": point[1]}), episode_return=ret, length=1, success=False
        )
    )


def test_window_alp_hand_examples() -> None:
    assert window_alp([], 10) == 0.0
    assert window_alp([0.0, 1.0], 10) == 0.0, "two points or fewer: 0"
    assert window_alp([0.0, 0.0, 1.0, 1.0], 10) == pytest.approx(1.0)
    # odd count: the older half takes the extra point, [0, 0, 0] vs [1, 1]
    assert window_alp([0.0, 0.0, 0.0, 1.0, 1.0], 10) == pytest.approx(1.0)
    # only the last `window` returns count: [5, 1, 1, 3] -> |3 - 2|
    assert window_alp([9.0, 9.0, 5.0, 1.0, 1.0, 3.0], 4) == pytest.approx(1.0)


def test_overflowing_leaf_splits_where_progress_differs() -> None:
    teacher = RIACTeacher(SPACE, seed=0, max_region_size=40, min_dims_range_ratio=0.1)
    rng = np.random.default_rng(0)
    # left half (x < 0.5) improves over time, right half stays flat
    for t in range(41):
        x = float(rng.uniform(0.0, 0.5)) if t % 2 == 0 else float(rng.uniform(0.5, 1.0))
        _feed(teacher, (x, float(rng.uniform(0.0, 2.0))), t / 40.0 if x < 0.5 else 0.2)
    assert len(teacher.regions) == 3 and teacher.splits == 1
    root, low, high = teacher.regions
    assert root.children == [1, 2]
    for child in (low, high):
        # fixed reference bug: children keep the ALPs of the winning split, recomputable from their data
        assert child.alp == pytest.approx(window_alp(child.returns, teacher.alp_window))
        assert len(child.returns) >= 2
    assert len(low.returns) + len(high.returns) == 41
    assert max(low.alp, high.alp) > 0.3 > min(low.alp, high.alp)


def test_no_valid_split_drops_the_oldest_quarter() -> None:
    # identical tasks: every split leaves one child empty (below the minimal population), so none is valid
    teacher = RIACTeacher(SPACE, seed=0, max_region_size=40, nb_split_attempts=5)
    for t in range(41):
        _feed(teacher, (0.3, 0.7), float(t))
    assert len(teacher.regions) == 1
    assert len(teacher.regions[0].returns) == 41 - 10
    assert teacher.regions[0].returns[0] == 10.0


def test_every_region_on_the_path_stores_the_task() -> None:
    teacher = RIACTeacher(SPACE, seed=1, max_region_size=20)
    rng = np.random.default_rng(1)
    for t in range(200):
        _feed(teacher, (float(rng.random()), float(2 * rng.random())), float(t % 7))
    assert len(teacher.regions) > 3
    assert all(len(r.returns) <= 21 for r in teacher.regions)
    assert len(teacher.regions[0].returns) == 21, "the root keeps its capped memory too"


def test_presets_and_bad_options() -> None:
    paper = RIACTeacher(SPACE)
    assert (paper.max_region_size, paper.nb_split_attempts, paper.min_dims_range_ratio) == (200, 50, 1 / 15)
    assert paper.min_region_size == 10 and paper.alp_window == 200
    tma = RIACTeacher(SPACE, preset="teachmyagent")
    assert (tma.max_region_size, tma.nb_split_attempts, tma.min_dims_range_ratio) == (150, 75, 0.1)
    assert tma.min_region_size == 7.5 and tma.alp_window == 150, "derived defaults follow the preset"
    explicit = RIACTeacher(SPACE, preset="teachmyagent", max_region_size=100)
    assert (explicit.max_region_size, explicit.nb_split_attempts) == (100, 75), "explicit options override"
    with pytest.raises(ValueError, match=r"'nope'.*allowed: 'paper', 'teachmyagent'"):
        RIACTeacher(SPACE, preset="nope")
    with pytest.raises(ValueError, match="nb_split_attempts"):
        RIACTeacher(SPACE, nb_split_attempts=0)
    with pytest.raises(ValueError, match="max_region_size"):
        RIACTeacher(SPACE, max_region_size=2)


def test_samples_stay_in_bounds_including_mutations() -> None:
    teacher = RIACTeacher(SPACE, seed=2, max_region_size=30)
    for _ in range(600):
        task = teacher.sample()
        SPACE.validate(task.params)
        ret = float(task.params["x"] > 0.9) + 0.01 * teacher.episodes_seen * float(task.params["y"] < 0.2)
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=1, success=False))
    assert len(teacher.regions) > 1
