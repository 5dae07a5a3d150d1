"""Toy-space shapes (TeachMyAgent's challenges on the simulated student): rugged bin order, infeasible region,
forgetting, more and irrelevant dimensions; every continuous teacher stays inside the box on each of them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import teachers  # noqa: F401
from curricula import EpisodeResult, make_teacher
from envs.toy import UNLOCK_COMPETENCE, ToyEnv, ToyStudent
from teachers.gmm_teacher import GMMTeacher


def _centre(student: ToyStudent, cell: tuple[int, ...]) -> np.ndarray:
    """A point in the middle of the cell at ``cell`` (positions), irrelevant dims at 0.5."""
    relevant = (np.asarray(cell, dtype=np.float64) + 0.5) / student.n_bins
    return np.concatenate([relevant, np.full(student.extra_dims, 0.5)])


def _position(student: ToyStudent, rank: tuple[int, ...]) -> tuple[int, ...]:
    """The position of the cell with difficulty ``rank``."""
    return tuple(int(student.bin_of_rank[j, r]) for j, r in enumerate(rank))


def _play(student: ToyStudent, cell: tuple[int, ...], times: int) -> float:
    ret = 0.0
    for _ in range(times):
        ret = student.play(_centre(student, cell))
    return ret


def test_shuffled_bins_unlock_in_permuted_order() -> None:
    student = ToyStudent(n_bins=10, shuffle_seed=3)
    for dim in range(2):
        assert sorted(student.rank_of_bin[dim].tolist()) == list(range(10)), "each dimension is a permutation"
    assert not np.array_equal(student.rank_of_bin, np.tile(np.arange(10), (2, 1)))
    np.testing.assert_array_equal(student.rank_of_bin, ToyStudent(n_bins=10, shuffle_seed=3).rank_of_bin)
    assert not np.array_equal(student.rank_of_bin, ToyStudent(n_bins=10, shuffle_seed=4).rank_of_bin)

    easiest, second, diagonal, third = (_position(student, r) for r in [(0, 0), (1, 0), (1, 1), (2, 0)])
    assert easiest != (0, 0), "seed 3 moves the easiest cell away from the corner"
    assert _play(student, (0, 0), 5) == 0.0, "the corner is not the easiest cell any more"
    assert _play(student, second, 5) == 0.0, "rank (1, 0) is locked until rank (0, 0) reaches 75"
    _play(student, easiest, UNLOCK_COMPETENCE)
    assert student.play(_centre(student, second)) == pytest.approx(0.01)
    assert student.play(_centre(student, diagonal)) == pytest.approx(0.01), "the rank diagonal unlocks too"
    assert student.play(_centre(student, third)) == 0.0, "rank (2, 0) waits for rank (1, 0)"
    # the unlock chain follows ranks, not positions: the position next to the easiest cell stays locked
    beside = (easiest[0] + 1 if easiest[0] < 9 else easiest[0] - 1, easiest[1])
    if student.rank_of(beside) not in [(1, 0), (0, 1), (1, 1)]:
        assert _play(student, beside, 3) == 0.0


def test_infeasible_cells_never_unlock_and_are_not_scored() -> None:
    student = ToyStudent(n_bins=10, infeasible_fraction=0.6)
    assert int(student.feasible.sum()) == 40
    # master the chain (0, 0) -> (1, 0) -> (2, 0) -> (3, 0), the last learnable rank of dimension 0
    for i in range(4):
        _play(student, (i, 0), 76)
    assert student.score() == pytest.approx(100.0 * 4 / 40), "the score counts learnable cells only"
    assert _play(student, (4, 0), 300) == 0.0, "(4, 0) has a mastered previous neighbour and stays locked"
    assert _play(student, (9, 9), 300) == 0.0
    assert student.competence[~student.feasible].sum() == 0
    with pytest.raises(ValueError, match="infeasible_fraction"):
        ToyStudent(infeasible_fraction=1.0)
    # rounding keeps one learnable rank
    assert ToyStudent(n_bins=4, infeasible_fraction=0.95).feasible.sum() == 4


def test_forgetting_decays_unpractised_cells_only() -> None:
    student = ToyStudent(n_bins=10, forget_every=10)
    _play(student, (0, 0), 76)  # episodes 1..76: the origin is practised in every period
    assert student.competence[0, 0] == 76 and student.score() == pytest.approx(1.0)
    _play(student, (1, 0), 4)  # up to episode 80: the origin was played during 71..80, no decay yet
    assert student.competence[0, 0] == 76 and student.competence[1, 0] == 4
    _play(student, (1, 0), 10)  # episode 90: the origin was left alone for a period
    assert student.competence[0, 0] == 75 and student.competence[1, 0] == 14, "the practised cell keeps its level"
    assert student.score() == 0.0, "75 is no longer mastered"
    _play(student, (1, 1), 10)  # episode 100: both decay
    assert (student.competence[0, 0], student.competence[1, 0]) == (74, 13)
    assert _play(student, (2, 0), 1) == 0.0
    assert student.play(_centre(student, (0, 1))) == 0.0, "below 75 the origin no longer unlocks its successors"
    before = student.competence[0, 0]
    assert student.play(_centre(student, (0, 0))) == pytest.approx((before + 1) / 100), "relearning is possible"
    # without forgetting nothing decays
    steady = ToyStudent(n_bins=10)
    _play(steady, (0, 0), 76)
    _play(steady, (1, 0), 500)
    assert steady.competence[0, 0] == 76


def test_more_dimensions_and_distractors() -> None:
    student = ToyStudent(n_dims=4, n_bins=4, extra_dims=2)
    assert student.competence.shape == (4, 4, 4, 4) and student.space.ndim == 6
    _play(student, (0, 0, 0, 0), 75)
    # the 15 previous neighbours of (1, 1, 1, 1) include the origin
    assert _play(student, (1, 1, 1, 1), 1) == pytest.approx(0.01)
    assert _play(student, (2, 1, 1, 1), 1) == 0.0
    env = ToyEnv(n_dims=2, n_bins=10, shuffle_seed=1, forget_every=50)
    assert env.student.forget_every == 50 and env.student.shuffle_seed == 1


def _suite_variants() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "toy_teachers.py"
    spec = importlib.util.spec_from_file_location("toy_teachers_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return {"module": module, "variants": module.VARIANTS}


BENCH = _suite_variants()
TEACHERS = ["random", "riac", "covar_gmm", "alp_gmm_faithful", "alp_gmm"]


@pytest.mark.parametrize("variant", list(BENCH["variants"]))
def test_teachers_stay_in_bounds_on_every_variant(variant: str) -> None:
    # small fits so that every GMM teacher fits several mixtures; RIAC splits after 61 episodes
    small = {"fit_rate": 40, "potential_ks": [2, 3]}
    options = {"riac": {"max_region_size": 60}, "random": {}}
    for name in TEACHERS:
        student = BENCH["module"].make_student(BENCH["variants"][variant], seed=1)
        space = student.space
        teacher = make_teacher(name, space, seed=1, **options.get(name, small))
        for _ in range(200):
            task = teacher.sample()
            space.validate(task.params)  # raises on a value outside the box
            ret = student.play(space.to_vector(task.params))
            teacher.update(EpisodeResult(task=task, episode_return=ret, length=1, success=None))
        teacher.close()
        if isinstance(teacher, GMMTeacher):
            assert teacher.fits >= 4, name


def test_suite_report_ranks_and_margins() -> None:
    def row(**means: float) -> dict[str, dict[str, float]]:
        return {name: {"mean": mean} for name, mean in means.items()}

    names = ["covar_gmm", "alp_gmm_faithful", "alp_gmm"]
    summary = {
        "a": row(covar_gmm=50.0, alp_gmm_faithful=30.0, alp_gmm=60.0),
        "b": row(covar_gmm=50.0, alp_gmm_faithful=50.0, alp_gmm=40.0),
    }
    report = BENCH["module"].suite_report(summary, names)
    assert report["ranks"]["a"] == {"alp_gmm": 1, "covar_gmm": 2, "alp_gmm_faithful": 3}
    assert report["ranks"]["b"] == {"covar_gmm": 1, "alp_gmm_faithful": 1, "alp_gmm": 3}, "ties share a rank"
    assert report["wins"] == {"covar_gmm": 1, "alp_gmm_faithful": 1, "alp_gmm": 1}
    assert report["mean_rank"]["alp_gmm"] == 2.0
    assert report["alp_gmm"]["a"] == {"ratio_to_best_other": 1.2, "minus_faithful": 30.0}
    assert report["alp_gmm"]["b"] == {"ratio_to_best_other": 0.8, "minus_faithful": -10.0}
