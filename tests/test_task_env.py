"""TaskEnv: where tasks come from, what it reports."""

from __future__ import annotations

import pytest

from curricula import Task, TaskEnv
from curricula.testing import COUNTING_SPACE, CountingEnv
from teachers.random import RandomTeacher


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
