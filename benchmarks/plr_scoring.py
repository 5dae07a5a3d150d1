"""PLR's rollout scoring on a full 4,000-level buffer: incremental ranks vs a fresh argsort per decision.

A full buffer decides, for every new level a rollout scored, which slot it would evict: the slot with the lowest
replay weight, whose score part needs the ranks of all 4,000 scores. The buffer keeps those ranks up to date
as single scores change (``teachers.plr.RankIndex``); before, each decision argsorted every score. This script
times ``update_rollout`` both ways on the same rollouts, side by side in one process, with the rollout shape of
``benchmarks/ued_small.py --batched`` (16 envs x 128 steps of the 7x7 maze, episodes of 22 steps on average as
PLR's in its 1M-step runs, half of the levels replayed), and sets both against the CPU time of collecting such a rollout (policy and batched env,
no teacher) for scale.

    python benchmarks/plr_scoring.py            # ~1 min
    python benchmarks/plr_scoring.py --teacher accel --mean-episode 49    # ACCEL: scoring and mutation
    python benchmarks/plr_scoring.py --quick    # buffer 500, a few rollouts, < 30 s

The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

import numpy as np

import envs
import teachers  # noqa: F401
from curricula import RolloutSignals, Task, make_teacher, task_space_of
from curricula.spaces import LevelSpace
from teachers.plr import LevelBuffer, LevelReplayTeacher, score_ranks

ENV_ID = "Curricula/Maze-v0"


def synthetic_rollouts(
    teacher: Any, rollouts: int, n_envs: int, n_steps: int, mean_episode: int, seed: int
) -> list[RolloutSignals]:
    """Rollouts of the teacher's own tasks (new and replayed as it samples them), episode lengths uniform around
    ``mean_episode`` (a quarter of it to 1.75 times it)."""
    rng = np.random.default_rng(seed)
    shortest = max(1, mean_episode // 4)
    out = []
    for _ in range(rollouts):
        task_ids = np.empty((n_steps, n_envs), dtype=np.int64)
        starts = np.zeros((n_steps, n_envs))
        tasks: dict[int, Task] = {}
        for env in range(n_envs):
            step = 0
            while step < n_steps:
                task = teacher.sample()
                tasks[task.id] = task
                length = int(rng.integers(shortest, 2 * mean_episode - shortest + 1))
                task_ids[step : step + length, env] = task.id
                starts[step, env] = 1.0
                step += length
        advantages = rng.normal(0.0, 0.1, (n_steps, n_envs))
        values = rng.random((n_steps, n_envs))
        out.append(
            RolloutSignals(
                task_ids=task_ids,
                advantages=advantages,
                values=values,
                returns=advantages + values,
                episode_starts=starts,
                last_dones=np.zeros(n_envs, dtype=bool),
                tasks=tasks,
            )
        )
    return out


def filled_teacher(buffer_size: int, seed: int, name: str = "robust_plr") -> LevelReplayTeacher:
    """A level-replay teacher (paper settings) whose buffer is full of generated levels with random scores."""
    teacher = make_teacher(name, task_space_of(ENV_ID), seed=seed, buffer_size=buffer_size)
    assert isinstance(teacher, LevelReplayTeacher) and isinstance(teacher.space, LevelSpace)
    rng = np.random.default_rng(seed)
    while len(teacher.buffer) < buffer_size:
        teacher._offer(teacher.space.generate(rng), float(rng.random()), 0.0)
    return teacher


def time_scoring(
    name: str, buffer_size: int, rollouts: int, mean_episode: int, fresh_argsort: bool, seed: int, mutate: bool = True
) -> tuple[float, list[float]]:
    """CPU seconds of ``update_rollout`` per rollout, averaged over ``rollouts``, and the buffer's scores after
    (``mutate=False``: ACCEL scores but makes no children, to split its time)."""
    teacher = filled_teacher(buffer_size, seed, name)
    if not mutate:
        teacher.can_mutate = False  # type: ignore[attr-defined]
    signals = synthetic_rollouts(teacher, rollouts, 16, 128, mean_episode, seed)
    incremental = LevelBuffer.ordinal_ranks
    if fresh_argsort:  # the previous behaviour: every decision ranks every score again
        LevelBuffer.ordinal_ranks = lambda self: score_ranks(self.scores)  # type: ignore[method-assign]
    try:
        start = time.process_time()
        for rollout in signals:
            teacher.update_rollout(rollout)
        return (time.process_time() - start) / rollouts, teacher.buffer.scores.tolist()
    finally:
        LevelBuffer.ordinal_ranks = incremental  # type: ignore[method-assign]


def rollout_seconds(rollouts: int) -> float:
    """CPU seconds per 16 x 128-step rollout on the batched maze env: PPO's MLP policy picks, the env steps."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    venv = envs.make_batched_env(ENV_ID, n_envs=16)
    policy = PPO("MlpPolicy", venv, device="cpu", seed=0).policy
    obs = venv.reset()
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no teacher pushes tasks here: the env warns that it picks its own
        for _ in range(rollouts * 128):
            actions, _ = policy.predict(obs)
            obs, _, _, _ = venv.step(actions)
    return (time.process_time() - start) / rollouts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--buffer-size", type=int, default=4000)
    parser.add_argument("--rollouts", type=int, default=30)
    parser.add_argument("--teacher", default="robust_plr", choices=["robust_plr", "plr", "accel"])
    parser.add_argument(
        "--mean-episode",
        type=int,
        default=22,
        help="mean episode length in steps (22: PLR's average over its 1M-step batched runs; PLR⊥ ~40)",
    )
    args = parser.parse_args()
    buffer_size, rollouts = (500, 5) if args.quick else (args.buffer_size, args.rollouts)
    new, scores_new = time_scoring(args.teacher, buffer_size, rollouts, args.mean_episode, fresh_argsort=False, seed=0)
    old, scores_old = time_scoring(args.teacher, buffer_size, rollouts, args.mean_episode, fresh_argsort=True, seed=0)
    collection = rollout_seconds(2 if args.quick else 10)
    summary = {
        "benchmark": "plr_scoring",
        "teacher": args.teacher,
        "buffer_size": buffer_size,
        "rollouts": rollouts,
        "mean_episode": args.mean_episode,
        "scoring_ms_per_rollout": {"incremental_ranks": round(1e3 * new, 2), "fresh_argsort": round(1e3 * old, 2)},
        "speedup": round(old / new, 2),
        "scoring_ms_per_rollout_without_mutation": round(
            1e3 * time_scoring(args.teacher, buffer_size, rollouts, args.mean_episode, False, 0, mutate=False)[0], 2
        )
        if args.teacher == "accel"
        else None,
        "same_buffer_scores": scores_new == scores_old,
        "rollout_ms": round(1e3 * collection, 1),
        "scoring_share_of_rollout": {
            "incremental_ranks": round(new / collection, 4),
            "fresh_argsort": round(old / collection, 4),
        },
        "quick": args.quick,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
