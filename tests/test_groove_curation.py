"""GROOVE's own curation (``groove_curation``): pre-filled buffer, reset of the lowest-regret levels at each update,
greedy top-k and softmax replay without replacement, one baseline at ranking time, presets."""

from __future__ import annotations

import numpy as np
import pytest

import teachers  # noqa: F401
from curricula import EpisodeResult, Task, make_teacher
from curricula.testing import TinyLevelSpace
from teachers.groove_curation import GrooveCurationTeacher

SPACE = TinyLevelSpace()


def _curator(**options: object) -> GrooveCurationTeacher:
    teacher = make_teacher("groove_curation", SPACE, seed=0, **options)
    assert isinstance(teacher, GrooveCurationTeacher)
    return teacher


def _report(teacher: GrooveCurationTeacher, task: Task, ret: float) -> None:
    teacher.update(EpisodeResult(task=task, episode_return=ret, length=10, success=ret > 0))


def _slot_of(teacher: GrooveCurationTeacher, task: Task) -> int:
    """The buffer slot a sampled task plays (the tiny space can generate the same level twice, so not by key)."""
    return teacher._in_flight[task.id]


def _evaluate_all(teacher: GrooveCurationTeacher, returns: list[float]) -> dict[int, float]:
    """Play new levels once each with the given returns (replay paused meanwhile); the returns by buffer slot."""
    heard = {}
    replay_prob, teacher.replay_prob = teacher.replay_prob, 0.0
    for ret in returns:
        task = teacher.sample()
        assert task.annotations["source"] == "new"
        heard[_slot_of(teacher, task)] = ret
        _report(teacher, task, ret)
    teacher.replay_prob = replay_prob
    return heard


def test_the_buffer_starts_full_of_unevaluated_levels_and_new_levels_come_from_it() -> None:
    teacher = _curator(buffer_size=16, batch_size=4)
    assert len(teacher.levels) == 16 and not teacher.evaluated.any()
    before = list(teacher.keys)
    task = teacher.sample()
    assert task.level is not None and task.annotations["source"] == "new" and SPACE.key(task.level) in before
    assert teacher.active.sum() == 1


def test_each_update_resets_the_lowest_regret_levels_to_fresh_ones() -> None:
    """8 slots, updates every 2 episodes that keep 2 fresh idle levels: after all 8 are evaluated the update resets
    the 2 with the lowest regret (no reference: regret = -return, so the 2 highest returns) and keeps the rest."""
    teacher = _curator(buffer_size=8, batch_size=2, replay_prob=0.0)
    returns = [0.1, 0.9, 0.3, 0.8, 0.2, 0.5, 0.4, 0.6]
    heard = _evaluate_all(teacher, returns)
    assert teacher.resets == 2
    kept = [slot for slot in heard if teacher.evaluated[slot]]
    assert sorted(heard[slot] for slot in kept) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert all(teacher.student_return[slot] == heard[slot] for slot in kept)
    assert int(teacher.evaluated.sum()) == 6 and np.isnan(teacher.student_return[~teacher.evaluated]).all()


def test_greedy_top_k_replays_only_the_highest_regret_levels() -> None:
    teacher = _curator(buffer_size=8, batch_size=2, replay_prob=1.0)
    heard = _evaluate_all(teacher, [0.1, 0.9, 0.3, 0.8, 0.2, 0.5, 0.4, 0.6])
    replayed: dict[int, int] = {}
    for _ in range(60):
        task = teacher.sample()
        assert task.annotations["source"] == "replay"
        slot = _slot_of(teacher, task)
        replayed[slot] = replayed.get(slot, 0) + 1
        _report(teacher, task, heard[slot])
    assert sorted(heard[slot] for slot in replayed) == [0.1, 0.2], "the top-2 by regret, both drawn"
    assert min(replayed.values()) > 10


def test_a_level_in_play_is_neither_replayed_again_nor_reset() -> None:
    teacher = _curator(buffer_size=8, batch_size=2, replay_prob=1.0)
    heard = _evaluate_all(teacher, [0.1, 0.9, 0.3, 0.8, 0.2, 0.5, 0.4, 0.6])
    first = teacher.sample()
    second = teacher.sample()  # the first is still in play: sampling is without replacement
    assert {heard[_slot_of(teacher, first)], heard[_slot_of(teacher, second)]} == {0.1, 0.2}
    # with both top levels in play, the top-2 of the idle evaluated levels moves down the ranking
    third = teacher.sample()
    assert heard[_slot_of(teacher, third)] in (0.3, 0.4)
    slot = _slot_of(teacher, first)
    teacher._reset_lowest(8)  # asks for more fresh levels than idle evaluated ones: active ones stay
    assert first.level is not None and teacher.keys[slot] == SPACE.key(first.level) and teacher.evaluated[slot]
    assert teacher.evaluated.sum() == 3, "every idle evaluated level was reset, the 3 in play kept"


def test_softmax_replay_is_proportional_to_exp_regret_over_idle_evaluated_levels() -> None:
    teacher = _curator(buffer_size=8, batch_size=2, replay_prob=1.0, replay_order="softmax", temperature=0.5)
    _evaluate_all(teacher, [0.1, 0.9, 0.3, 0.8, 0.2, 0.5, 0.4, 0.6])
    slots = teacher.replay_set()
    assert len(slots) == 6, "every idle evaluated level can be drawn"
    regrets = -teacher.student_return[slots]
    expected = np.exp(regrets / 0.5) / np.exp(regrets / 0.5).sum()
    np.testing.assert_allclose(teacher.replay_probabilities(), expected)


def test_no_replay_until_batch_size_levels_are_evaluated_and_idle() -> None:
    teacher = _curator(buffer_size=8, batch_size=4, replay_prob=1.0)
    _evaluate_all(teacher, [0.1, 0.2, 0.3])
    assert len(teacher.replay_set()) == 0 and teacher.sample().annotations["source"] == "new"
    assert teacher.end_of_training_warnings() and "replayed no level" in teacher.end_of_training_warnings()[0]


def test_scores_use_the_current_reference_estimates() -> None:
    teacher = _curator(buffer_size=8, batch_size=2, replay_prob=0.0)
    heard = _evaluate_all(teacher, [0.1, 0.9])
    slot = next(iter(heard))
    teacher.schedule._set(teacher.keys[slot], 2.0)  # a reference lands: every other level's fallback moves with it
    scores = teacher.scores()
    for s, ret in heard.items():
        assert scores[s] == pytest.approx(2.0 - ret)


def test_presets_and_bad_options() -> None:
    paper = _curator(preset="paper")
    assert (paper.buffer_size, paper.batch_size, paper.replay_prob, paper.replay_order) == (4000, 512, 0.5, "top_k")
    cpu = _curator(preset="cpu")
    assert (cpu.buffer_size, cpu.batch_size, cpu.schedule.interval) == (256, 32, 4096)
    for bad in (dict(batch_size=0), dict(buffer_size=4, batch_size=8), dict(replay_order="rank"), dict(temperature=0)):
        with pytest.raises(ValueError):
            _curator(**bad)
