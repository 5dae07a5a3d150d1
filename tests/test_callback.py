"""CurriculumCallback: rollout signals mapped to the tasks played, logging, bad setups."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv

from curricula import CurriculumCallback, EpisodeResult, RolloutSignals, Task
from curricula.testing import COUNTING_SPACE, make_counting_task_env
from teachers.random import RandomTeacher


class RolloutRecorder(RandomTeacher):
    feedback = "rollout"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.signals: list[RolloutSignals] = []
        self.heard: list[EpisodeResult] = []

    def _update(self, result: EpisodeResult) -> None:
        self.heard.append(result)

    def _update_rollout(self, signals: RolloutSignals) -> None:
        self.signals.append(signals)


def _venv(n: int) -> DummyVecEnv:
    return DummyVecEnv([functools.partial(make_counting_task_env, False) for _ in range(n)])


def test_rollout_signals_map_every_step_to_its_task() -> None:
    teacher = RolloutRecorder(COUNTING_SPACE, seed=0)
    model = PPO(
        "MlpPolicy", _venv(3), n_steps=40, batch_size=60, n_epochs=1, device="cpu", policy_kwargs=dict(net_arch=[8])
    )
    model.learn(40 * 3 * 4, callback=CurriculumCallback(teacher))
    assert len(teacher.signals) == 4
    finished_lengths = {r.task_id: r.length for r in teacher.heard}
    checked = 0
    for signals in teacher.signals:
        assert signals.task_ids.shape == signals.advantages.shape == (40, 3)
        assert -1 not in signals.task_ids
        for env, start, stop, task_id, finished in signals.segments():
            task: Task = signals.tasks[task_id]
            assert np.all(signals.task_ids[start:stop, env] == task_id)
            length = task.params["length"]
            if finished and start > 0:
                # a whole episode inside the rollout: exactly `length` steps of that task
                assert stop - start == length == finished_lengths[task_id]
                checked += 1
            assert stop - start <= length
    assert checked > 20
    np.testing.assert_allclose(teacher.signals[-1].returns, teacher.signals[-1].advantages + teacher.signals[-1].values)


def test_teacher_scalars_are_logged(tmp_path) -> None:
    teacher = RandomTeacher(COUNTING_SPACE, seed=0)
    model = PPO("MlpPolicy", _venv(2), n_steps=32, batch_size=64, n_epochs=1, device="cpu")
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(128, callback=CurriculumCallback(teacher))
    header = (tmp_path / "progress.csv").read_text().splitlines()[0]
    assert "teacher/tasks_sampled" in header and "teacher/episodes_seen" in header


def test_rollout_teacher_needs_an_on_policy_student() -> None:
    teacher = RolloutRecorder(COUNTING_SPACE, seed=0)
    model = DQN("MlpPolicy", _venv(1), learning_starts=10, train_freq=4, device="cpu")
    with pytest.raises(TypeError, match="on-policy"):
        model.learn(64, callback=CurriculumCallback(teacher))


def test_off_policy_students_get_episode_feedback() -> None:
    teacher = RandomTeacher(COUNTING_SPACE, seed=0)
    callback = CurriculumCallback(teacher)
    DQN("MlpPolicy", _venv(2), learning_starts=10, device="cpu").learn(200, callback=callback)
    assert teacher.episodes_seen == callback.episodes_reported > 20


def test_bad_lookahead() -> None:
    with pytest.raises(ValueError, match="lookahead"):
        CurriculumCallback(RandomTeacher(COUNTING_SPACE), lookahead=0)


def test_keep_results_records_exactly_what_the_teacher_heard() -> None:
    teacher = RolloutRecorder(COUNTING_SPACE, seed=0)
    curriculum = CurriculumCallback(teacher, keep_results=True)
    model = PPO(
        "MlpPolicy", _venv(2), n_steps=32, batch_size=64, n_epochs=1, device="cpu", policy_kwargs=dict(net_arch=[8])
    )
    model.learn(256, callback=curriculum)
    assert len(curriculum.results) == curriculum.episodes_reported > 0
    assert [r.task_id for r in curriculum.results] == [r.task_id for r in teacher.heard]
    silent = CurriculumCallback(RandomTeacher(COUNTING_SPACE, seed=0))
    PPO("MlpPolicy", _venv(2), n_steps=32, batch_size=64, n_epochs=1, device="cpu").learn(128, callback=silent)
    assert silent.episodes_reported > 0 and silent.results == []


def test_callback_times_itself_against_the_rollout() -> None:
    teacher = RandomTeacher(COUNTING_SPACE, seed=0)
    model = PPO(
        "MlpPolicy", _venv(2), n_steps=32, batch_size=64, n_epochs=1, device="cpu", policy_kwargs=dict(net_arch=[8])
    )
    curriculum = CurriculumCallback(teacher)
    model.learn(128, callback=curriculum)
    assert curriculum.rollouts == 2
    assert 0.0 < curriculum.callback_seconds < curriculum.rollout_seconds
    assert 0.0 <= curriculum.scoring_seconds <= curriculum.callback_seconds
    assert 0.0 <= curriculum.scoring_cpu_seconds <= curriculum.rollout_cpu_seconds
    assert 0.0 < curriculum.callback_share < 1.0
