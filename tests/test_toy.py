"""Toy simulated-student semantics against hand-worked examples (teachDRL's toy_env.py)."""

from __future__ import annotations

import numpy as np
import pytest

from envs.toy import ToyStudent


def _play(student: ToyStudent, point: list[float], times: int) -> float:
    ret = 0.0
    for _ in range(times):
        ret = student.play(np.array(point))
    return ret


def test_origin_cell_is_always_open() -> None:
    student = ToyStudent()
    assert student.play(np.array([0.05, 0.05])) == pytest.approx(0.01)
    assert _play(student, [0.0, 0.0], 200) == pytest.approx(1.0), "competence is capped at 100"


def test_locked_cell_does_not_move() -> None:
    student = ToyStudent()
    assert _play(student, [0.15, 0.05], 10) == 0.0
    assert student.competence[1, 0] == 0


def test_unlock_at_75_including_diagonal() -> None:
    student = ToyStudent()
    _play(student, [0.05, 0.05], 74)
    assert student.play(np.array([0.15, 0.15])) == 0.0, "74 is not enough"
    _play(student, [0.05, 0.05], 1)
    assert student.play(np.array([0.15, 0.15])) == pytest.approx(0.01), "the diagonal neighbour at 75 unlocks"
    # a "next" neighbour does not unlock: cell (0, 0) is not unlocked by (1, 1); cell (2, 2) needs (1, 1) etc.
    assert student.play(np.array([0.25, 0.25])) == 0.0


def test_mastery_is_strictly_above_75() -> None:
    student = ToyStudent()
    _play(student, [0.0, 0.0], 75)
    assert student.score() == 0.0
    _play(student, [0.0, 0.0], 1)
    assert student.score() == pytest.approx(1.0), "1 of 100 cells"


def test_value_one_falls_in_last_cell() -> None:
    student = ToyStudent()
    assert student.cell_of(np.array([1.0, 1.0])) == (9, 9)
    assert student.cell_of(np.array([0.1, 0.0])) == (1, 0), "bin edges belong to the upper bin"


def test_extra_dims_are_ignored_but_checked() -> None:
    student = ToyStudent(extra_dims=2)
    assert student.cell_of(np.array([0.0, 0.0, 0.9, 0.3])) == (0, 0)
    assert student.play(np.array([0.0, 0.0, 0.9, 0.3])) == pytest.approx(0.01)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        student.play(np.array([0.0, 0.0, 1.5, 0.0]))
    with pytest.raises(ValueError, match="4 values"):
        student.play(np.array([0.0, 0.0]))


def test_privileged_oracle_masters_the_toy_space_near_the_lower_bound() -> None:
    import teachers  # noqa: F401
    from curricula import EpisodeResult, make_teacher

    student = ToyStudent(n_bins=5)
    oracle = make_teacher("oracle", student.space, seed=0, student=student)
    # 25 cells x 76 visits = 1900 episodes at best; the frontier oracle wastes nothing
    for _ in range(1900):
        task = oracle.sample()
        ret = student.play(student.space.to_vector(task.params))
        oracle.update(EpisodeResult(task=task, episode_return=ret, length=1, success=False))
    assert student.score() == 100.0


def test_sliding_window_oracle_moves_only_on_high_returns() -> None:
    import teachers  # noqa: F401
    from curricula import EpisodeResult, make_teacher
    from envs.stump_tracks import STUMP_TRACKS_SPACE
    from teachers.oracle import STUMP_TRACKS_ORACLE

    oracle = make_teacher("oracle", STUMP_TRACKS_SPACE, seed=0, **STUMP_TRACKS_ORACLE)
    first = [oracle.sample() for _ in range(50)]
    assert all(t.params["stump_height"] <= 0.5 and t.params["obstacle_spacing"] >= 5.0 for t in first)
    for task in first:
        oracle.update(EpisodeResult(task=task, episode_return=100.0, length=1, success=False))
    assert oracle.moves == 0
    batch = [oracle.sample() for _ in range(50)]
    for task in batch:
        oracle.update(EpisodeResult(task=task, episode_return=300.0, length=1, success=True))
    assert oracle.moves == 1
    np.testing.assert_allclose(oracle.window_low, [0.1 / 3.0, 1.0 - 1.0 / 6.0 - 0.2 / 6.0])
