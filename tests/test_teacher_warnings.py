"""A teacher whose model never became ready by the end of training says so (issue 10: silent Random)."""

from __future__ import annotations

import numpy as np
import pytest

import teachers  # noqa: F401 - registers the built-in teachers
from curricula import Dimension, EpisodeResult, ParameterSpace, Teacher, make_teacher
from curricula.testing import TinyLevelSpace

SPACE = ParameterSpace([Dimension("height", 0.0, 3.0), Dimension("spacing", 0.0, 6.0)])


def _play(teacher: Teacher, episodes: int) -> None:
    for _ in range(episodes):
        task = teacher.sample()
        assert task.params is not None
        ret = float(task.params["height"] / 3.0 + 0.01 * teacher.episodes_seen * (task.params["spacing"] < 2.0))
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=1, success=None))


@pytest.mark.parametrize("name", ["alp_gmm", "alp_gmm_faithful", "covar_gmm"])
def test_gmm_teachers_warn_until_their_first_fit(name: str) -> None:
    teacher = make_teacher(name, SPACE, seed=0, potential_ks=[2, 3])
    _play(teacher, 180)
    (message,) = teacher.end_of_training_warnings()
    assert message.startswith(f"{name} fitted no mixture in 180 episodes (its bootstrap is 250 episodes")
    assert "like Random" in message and "train longer" in message
    _play(teacher, 70)
    assert teacher.gmm is not None and teacher.end_of_training_warnings() == []


def test_gmm_warning_names_the_bootstrap_that_was_set() -> None:
    teacher = make_teacher("alp_gmm", SPACE, seed=0, fit_rate=50, bootstrap=120, potential_ks=[2])
    _play(teacher, 100)
    (message,) = teacher.end_of_training_warnings()
    assert "in 100 episodes (its bootstrap is 120 episodes, then one fit every 50)" in message


def test_riac_warns_until_its_first_split() -> None:
    teacher = make_teacher("riac", SPACE, seed=0, max_region_size=40)
    _play(teacher, 30)
    (message,) = teacher.end_of_training_warnings()
    assert message.startswith("riac split no region in 30 episodes") and "max_region_size = 40" in message
    _play(teacher, 200)
    assert teacher.splits > 0 and teacher.end_of_training_warnings() == []


def test_level_replay_warns_when_it_never_replayed() -> None:
    space = TinyLevelSpace()
    teacher = make_teacher("groove", space, seed=0, buffer_size=64, min_fill=0.5)
    for _ in range(5):
        task = teacher.sample()
        teacher.update(EpisodeResult(task=task, episode_return=0.0, length=3, success=None))
    (message,) = teacher.end_of_training_warnings()
    assert message.startswith("groove replayed no level in 5 episodes (replay starts once 32 levels are scored")
    rng = np.random.default_rng(0)
    for _ in range(300):
        task = teacher.sample()
        teacher.update(EpisodeResult(task=task, episode_return=float(rng.random()), length=3, success=None))
    assert teacher.counts["replay"] > 0 and teacher.end_of_training_warnings() == []


def test_teachers_without_a_model_have_nothing_to_say() -> None:
    teacher = make_teacher("random", SPACE, seed=0)
    _play(teacher, 10)
    assert teacher.end_of_training_warnings() == []
