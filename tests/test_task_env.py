"""TaskEnv: where tasks come from, what it reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import pytest

from curricula import Task, TaskEnv, TaskSpaceError
from curricula.testing import COUNTING_SPACE, CountingEnv
from teachers.random import RandomTeacher

#: length is bounded to [1, 7]
OUT_OF_BOUNDS = Task(id=50, params={"length": 100, "payload": 0.5})
MISSING_PARAM = Task(id=51, params={"length": 3})


def _task(i: int, length: int = 2) -> Task:
    return Task(id=i, params={"length": length, "payload": 0.5})


def _play(env: TaskEnv) -> dict:
    done = False
    info: dict = {}
    while not done:
        _, _, term, trunc, info = env.step(0)
        done = term or trunc
    return info


def test_options_task_wins_over_pending() -> None:
    env = TaskEnv(CountingEnv())
    env.push_task(_task(0, 5))
    _, info = env.reset(options={"task": _task(7, 2)})
    assert info["task_id"] == 7
    end = _play(env)
    assert end["episode_result"].task.id == 7 and end["episode_result"].length == 2
    env.reset()
    assert env.current_task is not None and env.current_task.id == 0


def test_fifo_order_and_json_tasks() -> None:
    env = TaskEnv(CountingEnv())
    env.push_task(_task(1))
    env.push_task(_task(2).to_json())
    ids = []
    for _ in range(2):
        env.reset()
        ids.append(_play(env)["episode_result"].task_id)
    assert ids == [1, 2]


def test_infos_and_success_threshold() -> None:
    env = TaskEnv(CountingEnv(), success_threshold=3.0)
    env.reset(options={"task": _task(0, 3)})
    _, _, _, _, info = env.step(0)
    assert info["task_id"] == 0 and "episode_result" not in info
    end = _play(env)
    assert end["is_success"] is True
    result = end["episode_result"]
    assert result.episode_return == 3.0 and result.length == 3 and not result.truncated
    env.reset(options={"task": _task(1, 2)})
    assert _play(env)["is_success"] is False


def test_without_env_flag_or_threshold_success_is_undefined_and_not_written() -> None:
    env = TaskEnv(CountingEnv())
    env.reset(options={"task": _task(0, 7)})
    end = _play(env)
    assert "is_success" not in end  # so SB3 logs no success rate rather than a made-up 0 %
    assert end["episode_result"].success is None


class _FlagsSuccess(gym.Wrapper):
    """Reports its own verdict at episode end, to check that it wins over TaskEnv's threshold."""

    def __init__(self, env: gym.Env, verdict: bool) -> None:
        super().__init__(env)
        self.verdict = verdict

    def step(self, action: Any):
        obs, reward, term, trunc, info = self.env.step(action)
        if term or trunc:
            info["is_success"] = self.verdict
        return obs, reward, term, trunc, info


@pytest.mark.parametrize("verdict", [True, False])
def test_the_envs_own_success_flag_wins_over_the_threshold(verdict: bool) -> None:
    env = TaskEnv(_FlagsSuccess(CountingEnv(), verdict), success_threshold=4.0)
    env.reset(options={"task": _task(0, 7 if not verdict else 1)})  # the threshold would say the opposite
    end = _play(env)
    assert end["is_success"] is verdict and end["episode_result"].success is verdict


def test_frozen_task_and_unassigned_episode_warns() -> None:
    frozen = TaskEnv(CountingEnv(), frozen_task=_task(4, 1))
    frozen.reset()
    assert _play(frozen)["episode_result"].task_id == 4
    bare = TaskEnv(CountingEnv())
    _, info = bare.reset()
    assert info["task_id"] == -1
    with pytest.warns(UserWarning, match="no task"):
        end = _play(bare)
    assert "episode_result" not in end and end["task_id"] == -1


def test_reset_mid_episode_replays_the_cut_task() -> None:
    env = TaskEnv(CountingEnv())
    env.push_task(_task(0, 5))
    env.push_task(_task(1, 2))
    env.reset()
    env.step(0)
    env.reset()  # cut short: task 0 must be played again, from the start
    assert env.current_task is not None and env.current_task.id == 0
    assert _play(env)["episode_result"].length == 5


def test_in_process_teacher_pull_and_report() -> None:
    teacher = RandomTeacher(COUNTING_SPACE, seed=0)
    env = TaskEnv(CountingEnv())
    env.attach_teacher(teacher)
    for _ in range(5):
        env.reset()
        _play(env)
    assert teacher.tasks_sampled == 5 and teacher.episodes_seen == 5


def test_bad_inputs() -> None:
    env = TaskEnv(CountingEnv(), max_pending=1)
    env.push_task(_task(0))
    with pytest.raises(RuntimeError, match="pending"):
        env.push_task(_task(1))
    with pytest.raises(TypeError, match="Task"):
        env.push_task(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_pending"):
        TaskEnv(CountingEnv(), max_pending=0)
    with pytest.raises(ValueError, match="unknown Task fields"):
        env.reset(options={"task": {"id": 1, "params": {}, "colour": "red"}})


def _entry_points() -> dict[str, Callable[[TaskEnv, Task], Any]]:
    return {
        "options": lambda env, task: env.reset(options={"task": task}),
        "options_json": lambda env, task: env.reset(options={"task": task.to_json()}),
        "push_task": lambda env, task: env.push_task(task),
        "push_tasks": lambda env, task: env.push_tasks({-1: [task]}),
        "incoming_task": lambda env, task: setattr(env, "incoming_task", task),
        "frozen_task": lambda env, task: TaskEnv(CountingEnv(), frozen_task=task),
    }


@pytest.mark.parametrize("entry", sorted(_entry_points()))
def test_every_entry_point_validates_against_the_task_space(entry: str) -> None:
    enter = _entry_points()[entry]
    with pytest.raises(TaskSpaceError, match=r"'length'=100 is outside its bounds \[1, 7\]"):
        enter(TaskEnv(CountingEnv()), OUT_OF_BOUNDS)
    with pytest.raises(TaskSpaceError, match=r"missing \['payload'\].*payload in \[0, 1\]"):
        enter(TaskEnv(CountingEnv()), MISSING_PARAM)
    env = TaskEnv(CountingEnv())
    with pytest.raises(TaskSpaceError, match="has no params"):
        enter(env, Task(id=52, level={"cells": [0, 0, 0, 0]}))
    assert env.in_flight() == (None, [])  # nothing invalid was queued


def test_tasks_from_an_attached_teacher_are_validated_too() -> None:
    class OffSpaceTeacher(RandomTeacher):
        def _sample(self) -> Task:
            return Task(id=self.tasks_sampled, params={"length": 100, "payload": 0.5})

    env = TaskEnv(CountingEnv())
    env.attach_teacher(OffSpaceTeacher(COUNTING_SPACE, seed=0))
    with pytest.raises(TaskSpaceError, match="'length'=100"):
        env.reset()


def test_an_env_without_a_task_space_is_refused() -> None:
    with pytest.raises(TypeError, match="task_space"):
        TaskEnv(gym.make("CartPole-v1"))
