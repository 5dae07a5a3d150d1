"""Save -> stop -> resume: the teacher continues from the identical state, in-flight tasks are replayed."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv

from curricula import CurriculumCallback
from curricula.checkpoint import CheckpointCallback, latest_checkpoint, load_checkpoint, save_checkpoint
from curricula.serialization import load_state, save_state
from curricula.testing import COUNTING_SPACE, make_counting_task_env
from teachers.random import RandomTeacher


def _venv(n: int = 2) -> DummyVecEnv:
    return DummyVecEnv([functools.partial(make_counting_task_env, False) for _ in range(n)])


def _model(venv: DummyVecEnv) -> PPO:
    return PPO(
        "MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu", policy_kwargs=dict(net_arch=[8])
    )


def test_save_stop_resume_continues_the_teacher(tmp_path: Path) -> None:
    teacher = RandomTeacher(COUNTING_SPACE, seed=3)
    curriculum = CurriculumCallback(teacher)
    model = _model(_venv())
    model.learn(256, callback=CallbackList([curriculum, CheckpointCallback(tmp_path, curriculum, save_freq=128)]))
    folder = latest_checkpoint(tmp_path)
    assert folder.name == f"step_{model.num_timesteps:012d}"
    saved_state = json.dumps(teacher.state_dict(), sort_keys=True, default=str)
    in_flight = [[t["id"] for t in q] for q in curriculum.in_flight_json()]
    expected_next = [teacher.sample().id for _ in range(5)]
    expected_params = [t.params for t in (teacher.sample() for _ in range(5))]

    # "stop": a fresh process would build new objects
    fresh_teacher = RandomTeacher(COUNTING_SPACE, seed=999)
    ckpt = load_checkpoint(tmp_path, PPO, _venv(), fresh_teacher)
    assert json.dumps(fresh_teacher.state_dict(), sort_keys=True, default=str) == saved_state
    assert ckpt.num_timesteps == model.num_timesteps
    twin = RandomTeacher(COUNTING_SPACE, seed=999)
    twin.load_state_dict(fresh_teacher.state_dict())
    assert [twin.sample().id for _ in range(5)] == expected_next
    assert [t.params for t in (twin.sample() for _ in range(5))] == expected_params

    # resuming replays the in-flight tasks first, then continues sampling
    ckpt.model.learn(64, callback=ckpt.curriculum, reset_num_timesteps=False)
    played = ckpt.model.get_env().env_method("get_played_task_ids")
    for i, ids in enumerate(played):
        assert ids[1 : 1 + len(in_flight[i])] == in_flight[i][: len(ids) - 1]


def test_checkpoint_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    teacher = RandomTeacher(COUNTING_SPACE, seed=0)
    curriculum = CurriculumCallback(teacher)
    model = _model(_venv())
    model.learn(64, callback=curriculum)
    first = save_checkpoint(tmp_path, model, teacher, curriculum)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("curricula.checkpoint.save_state", crash)
    model.num_timesteps += 1
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path, model, teacher, curriculum)
    assert latest_checkpoint(tmp_path) == first
    leftovers = [p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_state_files_never_pickle(tmp_path: Path) -> None:
    import numpy as np

    save_state(tmp_path / "s.npz", {"a": np.arange(3), "nested": {"b": [1, {"c": np.ones(2)}]}, "n": 2**70})
    loaded = load_state(tmp_path / "s.npz")
    assert loaded["n"] == 2**70 and loaded["nested"]["b"][1]["c"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="pickle"):
        save_state(tmp_path / "bad.npz", {"o": np.array([object()], dtype=object)})


def test_resume_refuses_a_different_teacher(tmp_path: Path) -> None:
    teacher = RandomTeacher(COUNTING_SPACE, seed=0)
    curriculum = CurriculumCallback(teacher)
    model = _model(_venv())
    model.learn(64, callback=curriculum)
    save_checkpoint(tmp_path, model, teacher, curriculum)

    class Other(RandomTeacher):
        name = "other"

    with pytest.raises(ValueError, match="teacher"):
        load_checkpoint(tmp_path, PPO, _venv(), Other(COUNTING_SPACE))
