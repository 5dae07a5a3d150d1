"""Reference agents for GROOVE's algorithmic regret: a fresh learner trained on one level for a fixed budget.

``AR(level) = V(reference trained from scratch on the level) − V(student)``. The reference term does not depend on
the student, so :class:`ReferencePool` computes it once per level, off the learner's critical path (a spawned
worker process by default), and the teacher caches it. Everything is seeded from the level and the reference
seed, with one torch thread, so the same level always gets the same reference return: a teacher restored from a
checkpoint that recomputes a pending job gets the value the original would have got.

Importing this module (``import agents`` does) registers one reference agent per :data:`agents.factory.ALGORITHMS`
name in :mod:`curricula.reference`, where teachers look them up by name without importing ``agents``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.factory import ALGORITHMS
from curricula.reference import ReferenceSpec, register_reference_agent


@dataclass(frozen=True)
class ReferenceConfig:
    """How a reference agent is trained and evaluated.

    :param env_id: the registered task-aware env that plays the levels
    :param algo: an :func:`agents.make_student` algorithm (GROOVE uses A2C)
    :param budget: env steps of training per level
    :param n_envs: parallel envs of the reference learner
    :param eval_episodes: stochastic-policy episodes whose mean return is the reference return (the student's
        return comes from its own stochastic training episodes, so both sides are measured the same way)
    :param policy: student policy name for :func:`agents.make_student` (``"MlpPolicy"`` is fastest on CPU)
    :param seed: base seed, combined with a hash of the level
    """

    env_id: str
    algo: str = "a2c"
    budget: int = 2048
    n_envs: int = 4
    eval_episodes: int = 8
    policy: str = "MlpPolicy"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.budget < 1 or self.n_envs < 1 or self.eval_episodes < 1:
            raise ValueError(f"budget, n_envs and eval_episodes must be >= 1, got {self}")

    def level_seed(self, level_key: str) -> int:
        return (self.seed * 1_000_003 + zlib.crc32(level_key.encode())) % (2**31 - 1)


def train_reference(config: ReferenceConfig, level: Mapping[str, Any], level_key: str) -> dict[str, float]:
    """Train a fresh reference agent on ``level`` and return ``{"return", "env_steps", "seconds"}``.

    Runs in a worker process (or inline); it limits torch to one thread so it takes one core and is deterministic.
    """
    start = time.perf_counter()
    import gymnasium as gym
    import torch
    from stable_baselines3.common.vec_env import DummyVecEnv

    import envs  # noqa: F401 - registers the env ids in a spawned worker
    from agents.factory import make_student
    from curricula.task import Task
    from curricula.wrappers import TaskEnv

    torch.set_num_threads(1)
    task = Task(id=0, level=dict(level))
    seed = config.level_seed(level_key)

    def make_env() -> TaskEnv:
        return TaskEnv(gym.make(config.env_id), frozen_task=task)

    venv = DummyVecEnv([make_env] * config.n_envs)
    model = make_student(config.algo, venv, seed=seed, device="cpu", policy=config.policy)
    model.learn(config.budget)
    env = make_env()
    rng = np.random.default_rng(seed)
    total, eval_steps = 0.0, 0
    for _ in range(config.eval_episodes):
        obs, _ = env.reset(seed=int(rng.integers(2**31 - 1)))
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=False)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            eval_steps += 1
            done = terminated or truncated
    venv.close()
    return {
        "return": total / config.eval_episodes,
        "env_steps": float(model.num_timesteps + eval_steps),
        "seconds": time.perf_counter() - start,
    }


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"


class ReferencePool:
    """Runs :func:`train_reference` jobs: ``"process"`` (spawned workers, off the learner's core), ``"thread"``,
    or ``"inline"`` (synchronous; tests and debugging).

    The executor starts lazily at the first job, so building a teacher costs nothing.

    :param config: the reference agent
    :param mode: ``"process"``, ``"thread"`` or ``"inline"``
    :param workers: worker count (one is right on 2 cores: the learner keeps the other)
    """

    def __init__(self, config: ReferenceConfig, mode: str = "process", workers: int = 1) -> None:
        if mode not in ("process", "thread", "inline"):
            raise ValueError(f"mode must be 'process', 'thread' or 'inline', got {mode!r}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.config = config
        self.mode = mode
        self.workers = workers
        self._executor: cf.Executor | None = None

    def submit(self, level: Mapping[str, Any], level_key: str) -> cf.Future[dict[str, float]]:
        if self.mode == "inline":
            future: cf.Future[dict[str, float]] = cf.Future()
            future.set_result(train_reference(self.config, level, level_key))
            return future
        if self._executor is None:
            if self.mode == "process":
                self._executor = cf.ProcessPoolExecutor(
                    self.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker
                )
            else:
                self._executor = cf.ThreadPoolExecutor(self.workers)
        return self._executor.submit(train_reference, self.config, dict(level), level_key)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def reference_pool(spec: ReferenceSpec) -> ReferencePool:
    """The :class:`ReferencePool` a teacher's :class:`~curricula.reference.ReferenceSpec` asks for.

    :param spec: env, algorithm, budget, evaluation episodes, seed and mode of the reference learner
    """
    config = ReferenceConfig(
        env_id=spec.env_id, algo=spec.algo, budget=spec.budget, eval_episodes=spec.eval_episodes, seed=spec.seed
    )
    return ReferencePool(config, mode=spec.mode)


for _algo in ALGORITHMS:
    register_reference_agent(_algo, reference_pool)
