"""Exact task accounting between the teacher, the callback and the env workers, under SB3's auto-reset."""

from __future__ import annotations

import functools
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

from curricula import CurriculumCallback, EpisodeResult, Task
from curricula.testing import COUNTING_SPACE, make_counting_task_env
from teachers.random import RandomTeacher


class RecordingTeacher(RandomTeacher):
    """A random teacher that remembers what it sampled and heard (not registered)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sampled: list[Task] = []
        self.heard: list[EpisodeResult] = []

    def _sample(self) -> Task:
        task = super()._sample()
        self.sampled.append(task)
        return task

    def _update(self, result: EpisodeResult) -> None:
        # feedback of a finished episode must arrive before any later task of the same env is sampled
        self.heard.append(result)


class RecordingCallback(CurriculumCallback):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pushed: dict[int, list[int]] = {}

    def _push(self, assignments: dict[int, list[Task]]) -> None:
        for env_index, tasks in assignments.items():
            self.pushed.setdefault(env_index, []).extend(t.id for t in tasks)
        super()._push(assignments)


def _run(vec_cls, n_envs: int, wrapped: bool, steps: int, lookahead: int = 1, seed: int = 0):
    env_fns = [functools.partial(make_counting_task_env, wrapped) for _ in range(n_envs)]
    venv = vec_cls(env_fns) if vec_cls is DummyVecEnv else vec_cls(env_fns, start_method="fork")
    teacher = RecordingTeacher(COUNTING_SPACE, seed=seed)
    callback = RecordingCallback(teacher, lookahead=lookahead)
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=64,
        batch_size=64 * n_envs,
        n_epochs=1,
        seed=seed,
        device="cpu",
        policy_kwargs=dict(net_arch=[8]),
    )
    model.learn(steps, callback=callback)
    played = venv.env_method("get_played_task_ids")
    pending = venv.env_method("in_flight")
    venv.close()
    return teacher, callback, played, pending


def _check(teacher: RecordingTeacher, callback: RecordingCallback, played: list[list[int]], pending) -> int:
    by_id = {t.id: t for t in teacher.sampled}
    # every sampled task was pushed to exactly one env
    pushed_all = [tid for ids in callback.pushed.values() for tid in ids]
    assert sorted(pushed_all) == sorted(by_id), "a sampled task was never pushed, or pushed twice"
    for i, ids in enumerate(played):
        # only SB3's initial reset (before any callback runs) may play the env's default episode
        assert ids[0] == -1 and -1 not in ids[1:], f"env {i} played a default task after an auto-reset: {ids}"
        ids = ids[1:]
        # played in exactly the order pushed; what is left is in flight (current + pending)
        assert ids == callback.pushed[i][: len(ids)], f"env {i} played tasks out of push order"
        current, queue = pending[i]
        assert [current.id] + [t.id for t in queue] == callback.pushed[i][len(ids) - 1 :]
    # every result reaches the teacher exactly once, with the right task (return == length proves it)
    heard_ids = [r.task_id for r in teacher.heard]
    assert len(heard_ids) == len(set(heard_ids)), "a result was reported twice"
    finished = Counter(tid for ids in played for tid in ids[1:-1])
    assert Counter(heard_ids) == finished
    for result in teacher.heard:
        assert result.task == by_id[result.task_id]
        assert result.episode_return == pytest.approx(result.task.params["length"])
        assert result.length == result.task.params["length"]
        assert result.env_index in callback.pushed and result.task_id in callback.pushed[result.env_index]
    assert callback.episodes_reported == len(teacher.heard)
    return len(teacher.heard)


# 12 configurations x ~1000 episodes (mean episode length 4 steps): over 10k episodes checked
@pytest.mark.parametrize("vec_cls", [DummyVecEnv, SubprocVecEnv], ids=["dummy", "subproc"])
@pytest.mark.parametrize("n_envs", [1, 4, 8])
@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "timelimit+stats"])
def test_exact_accounting(vec_cls, n_envs: int, wrapped: bool) -> None:
    teacher, callback, played, pending = _run(vec_cls, n_envs, wrapped, steps=4096)
    episodes = _check(teacher, callback, played, pending)
    assert episodes >= 850  # 12 configurations: more than 10k episodes checked in all


def test_lookahead_three_and_second_learn_call() -> None:
    env_fns = [functools.partial(make_counting_task_env, False) for _ in range(3)]
    venv = DummyVecEnv(env_fns)
    teacher = RecordingTeacher(COUNTING_SPACE, seed=3)
    callback = RecordingCallback(teacher, lookahead=3)
    model = PPO(
        "MlpPolicy", venv, n_steps=32, batch_size=96, n_epochs=1, device="cpu", policy_kwargs=dict(net_arch=[8])
    )
    model.learn(500, callback=callback)
    # a second learn() with reset_num_timesteps=True resets mid-episode: the cut episodes are replayed in full
    model.learn(500, callback=callback, reset_num_timesteps=True)
    played = [ids for ids in venv.env_method("get_played_task_ids")]
    pending = venv.env_method("in_flight")
    heard = [r.task_id for r in teacher.heard]
    assert len(heard) == len(set(heard))
    for i, ids in enumerate(played):
        replayed = [tid for tid, n in Counter(ids[1:]).items() if n > 1]
        assert len(replayed) <= 1, "only the episode cut by the explicit reset may be replayed"
        _current, queue = pending[i]
        assert len(queue) == 3
    for r in teacher.heard:
        assert r.episode_return == pytest.approx(r.task.params["length"])


def test_gymnasium_sync_vector_env_with_incoming_task() -> None:
    """Gymnasium vector envs auto-reset without options too; set_attr pushes one task per sub-env."""
    n = 3
    vec = gym.vector.SyncVectorEnv([functools.partial(make_counting_task_env, True) for _ in range(n)])
    teacher = RecordingTeacher(COUNTING_SPACE, seed=1)
    queues: list[list[int]] = [[] for _ in range(n)]

    def push_one_each() -> None:
        tasks = [teacher.sample() for _ in range(n)]
        for i, t in enumerate(tasks):
            queues[i].append(t.id)
        vec.set_attr("incoming_task", tasks)

    push_one_each()
    push_one_each()
    vec.reset(seed=0)
    heard: list[EpisodeResult] = []
    for _ in range(300):
        _, _, term, trunc, infos = vec.step(np.zeros(n, dtype=np.int64))
        done = np.logical_or(term, trunc)
        if done.any():
            results = infos["episode_result"][infos["_episode_result"]]
            heard.extend(results)
            tasks = []
            for i in range(n):
                tasks.append(teacher.sample() if done[i] else None)
            for i, t in enumerate(tasks):
                if t is not None:
                    vec.envs[i].push_task(t)
                    queues[i].append(t.id)
    played = vec.call("get_played_task_ids")
    vec.close()
    for i in range(n):
        assert -1 not in played[i]
        assert list(played[i]) == queues[i][: len(played[i])]
    for r in heard:
        assert r.episode_return == pytest.approx(r.task.params["length"])
    assert len(heard) > 50
