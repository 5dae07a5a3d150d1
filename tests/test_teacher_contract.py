"""Contract tests run on every registered teacher (new teachers are covered by registering them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import teachers  # noqa: F401 - registers the built-in teachers
from curricula import (
    Dimension,
    EpisodeResult,
    LevelSpace,
    ParameterSpace,
    RolloutSignals,
    Task,
    Teacher,
    make_teacher,
    registered_teachers,
)
from curricula.serialization import load_state, save_state
from curricula.testing import TinyLevelSpace

PARAM_SPACE = ParameterSpace(
    [Dimension("height", 0.0, 3.0), Dimension("spacing", 0.0, 6.0), Dimension("rooms", 1, 4, integer=True)]
)
NAMES = sorted(registered_teachers())
ROUND = 4  # tasks per feedback round: 2 envs x 2 episodes
N_STEPS = 8  # env-steps per episode in the synthetic rollouts


def _space_for(name: str):
    cls = registered_teachers()[name]
    if any(issubclass(ParameterSpace, s) for s in cls.supported_spaces):
        return PARAM_SPACE
    assert any(issubclass(TinyLevelSpace, s) for s in cls.supported_spaces)
    return TinyLevelSpace()


def _episode_return(task: Task) -> float:
    """A deterministic 'student' whose return depends on the task only."""
    if task.params is not None:
        p = task.params
        return float(np.clip(1.0 - p["height"] / 3.0 + 0.1 * p["rooms"] - 0.05 * p["spacing"], 0.0, 1.0))
    return float(sum(task.level["cells"])) / 12.0


def _feedback_round(teacher: Teacher, round_index: int, success_known: bool = True) -> list[Task]:
    tasks = [teacher.sample() for _ in range(ROUND)]
    for k, task in enumerate(tasks):
        ret = _episode_return(task)
        success = ret > 0.5 if success_known else None
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=N_STEPS, success=success, env_index=k // 2))
    if teacher.feedback == "rollout":
        rng = np.random.default_rng(round_index)  # the learner's numbers, independent of the teacher
        ids = np.array([[tasks[0].id, tasks[2].id]] * N_STEPS + [[tasks[1].id, tasks[3].id]] * N_STEPS)
        starts = np.zeros((2 * N_STEPS, 2))
        starts[0] = starts[N_STEPS] = 1
        values = rng.random((2 * N_STEPS, 2))
        advantages = rng.normal(size=(2 * N_STEPS, 2))
        teacher.update_rollout(
            RolloutSignals(
                task_ids=ids,
                advantages=advantages,
                values=values,
                returns=advantages + values,
                episode_starts=starts,
                last_dones=np.ones(2, dtype=bool),
                tasks={t.id: t for t in tasks},
            )
        )
    return tasks


def _run(teacher: Teacher, rounds: int, start: int = 0, success_known: bool = True) -> list[str]:
    return [t.dumps() for r in range(start, start + rounds) for t in _feedback_round(teacher, r, success_known)]


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_feedback_same_samples(name: str) -> None:
    space = _space_for(name)
    first = _run(make_teacher(name, space, seed=5), rounds=80)
    second = _run(make_teacher(name, space, seed=5), rounds=80)
    assert first == second
    other = _run(make_teacher(name, space, seed=6), rounds=80)
    assert other != first, "the seed must matter"


@pytest.mark.parametrize("name", NAMES)
def test_samples_belong_to_the_space(name: str) -> None:
    space = _space_for(name)
    teacher = make_teacher(name, space, seed=0)
    for r in range(80):
        for task in _feedback_round(teacher, r):
            if isinstance(space, ParameterSpace):
                space.validate(task.params)
            else:
                assert isinstance(space, LevelSpace)
                space.validate(task.level)
    assert teacher.tasks_sampled == 80 * ROUND
    assert all(np.isfinite(v) for v in teacher.scalars().values())


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_gives_identical_next_samples(name: str, tmp_path: Path) -> None:
    space = _space_for(name)
    original = make_teacher(name, space, seed=11)
    _run(original, rounds=70)
    save_state(tmp_path / "teacher.npz", original.state_dict())
    restored = make_teacher(name, space, seed=99)
    restored.load_state_dict(load_state(tmp_path / "teacher.npz"))
    assert _run(restored, rounds=40, start=70) == _run(original, rounds=40, start=70)


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_raise(name: str) -> None:
    space = _space_for(name)
    teacher = make_teacher(name, space, seed=0)
    with pytest.raises(ValueError, match="seed"):
        make_teacher(name, space, seed=-1)
    with pytest.raises(TypeError):
        teacher.update("not a result")  # type: ignore[arg-type]
    unissued = Task(id=10_000, params=None, level={"cells": [0, 0, 0, 0]})
    with pytest.raises(ValueError, match="issued"):
        teacher.update(EpisodeResult(task=unissued, episode_return=0.0, length=1, success=False))
    wrong_kind = TinyLevelSpace() if isinstance(space, ParameterSpace) else PARAM_SPACE
    cls = registered_teachers()[name]
    if not isinstance(wrong_kind, cls.supported_spaces):
        with pytest.raises(TypeError, match="space"):
            make_teacher(name, wrong_kind, seed=0)
    state = teacher.state_dict()
    state["teacher"] = "someone_else"
    with pytest.raises(ValueError, match="teacher"):
        teacher.load_state_dict(state)


def test_unknown_teacher_name_lists_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="random"):
        make_teacher("no_such_teacher", PARAM_SPACE)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_success_is_tolerated_and_changes_nothing(name: str) -> None:
    # envs without a success rule report success=None; no teacher may need it (returns drive every teacher here)
    space = _space_for(name)
    known = _run(make_teacher(name, space, seed=2), rounds=60)
    unknown = _run(make_teacher(name, space, seed=2), rounds=60, success_known=False)
    assert unknown == known


@pytest.mark.parametrize("name", NAMES)
def test_close_is_idempotent_and_a_closed_teacher_keeps_working(name: str) -> None:
    space = _space_for(name)
    closed, untouched = make_teacher(name, space, seed=8), make_teacher(name, space, seed=8)
    assert _run(closed, rounds=30) == _run(untouched, rounds=30)
    closed.close()
    closed.close()
    assert _run(closed, rounds=30, start=30) == _run(untouched, rounds=30, start=30)
    closed.close()


@pytest.mark.parametrize("name", NAMES)
def test_presets_apply_and_unknown_names_list_the_allowed_ones(name: str) -> None:
    space = _space_for(name)
    cls = registered_teachers()[name]
    assert make_teacher(name, space).preset is None
    for preset in cls.presets:
        teacher = make_teacher(name, space, seed=0, preset=preset)
        assert teacher.preset == preset
        _run(teacher, rounds=2)
    with pytest.raises(ValueError, match="unknown preset 'no_such_preset'") as error:
        make_teacher(name, space, preset="no_such_preset")
    for preset in cls.presets:
        assert repr(preset) in str(error.value)


@pytest.mark.parametrize("name", NAMES)
def test_end_of_training_warnings_are_a_list_of_messages(name: str) -> None:
    teacher = make_teacher(name, _space_for(name), seed=0)
    _run(teacher, rounds=10)
    warnings = teacher.end_of_training_warnings()
    assert isinstance(warnings, list) and all(isinstance(w, str) and name in w for w in warnings)
