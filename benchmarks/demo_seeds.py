"""ALP-GMM against Random on the batched wide obstacle grids, over several seeds: is the difference real?

Each (teacher, seed) trains its own PPO student (MLP over the 7x7x3 view, ``agents.make_student`` defaults) on
``--n-envs`` batched sub-envs of ``Curricula/ObstacleGridWide-v0`` (rooms 5..21, 0..30 obstacles: most of the space
is out of a fresh student's reach within the budget), then plays every task of the quick start's 5x4 test grid
once, deterministically, in the MiniGrid env (the reference implementation). Printed: the % of test tasks solved,
mean ± std over seeds per teacher, and a bootstrap 95 % confidence interval of the difference ALP-GMM − Random.

    python benchmarks/demo_seeds.py                       # 5 seeds x 2 teachers, 2 runs at a time
    python benchmarks/demo_seeds.py --steps 400000 --seeds 10

The last line is JSON with ``diff_ci`` (percentage points) and the per-seed figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # noqa: F401 - registers the ids
import teachers  # noqa: F401 - registers the teachers
from agents import make_student
from curricula import CurriculumCallback, TaskEnv, TestSet, make_teacher
from curricula.evaluation import evaluate
from envs.batched_grid import make_batched_env


def train_and_test(job: dict[str, Any]) -> dict[str, Any]:
    """Train one student under one teacher on the batched env and test it on the MiniGrid env."""
    venv = make_batched_env(job["env_id"], job["n_envs"], seed=job["seed"])
    teacher = make_teacher(job["teacher"], venv.task_space, seed=job["seed"])
    student = make_student("ppo", venv, seed=job["seed"], policy="MlpPolicy", device="cpu")
    started = time.perf_counter()
    student.learn(job["steps"], callback=CurriculumCallback(teacher))
    wall = time.perf_counter() - started
    report = evaluate(student, TaskEnv(gym.make(job["env_id"])), TestSet.grid(venv.task_space, [5, 4]))
    return {**job, "solved_percent": float(report.mastered_percent), "train_seconds": round(wall, 1)}


def bootstrap_diff_ci(
    a: np.ndarray, b: np.ndarray, n_resamples: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of ``mean(a) - mean(b)``, seeds resampled with replacement within each group."""
    rng = np.random.default_rng(seed)
    diffs = rng.choice(a, (n_resamples, a.size)).mean(axis=1) - rng.choice(b, (n_resamples, b.size)).mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="Curricula/ObstacleGridWide-v0")
    parser.add_argument("--teachers", nargs=2, default=["alp_gmm", "random"], help="the two teachers compared")
    parser.add_argument("--steps", type=int, default=150_000, help="env steps of training per run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-envs", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="runs trained at the same time (one per core)")
    args = parser.parse_args()
    jobs = [
        {"env_id": args.env_id, "teacher": t, "seed": s, "steps": args.steps, "n_envs": args.n_envs}
        for s in range(args.seeds)
        for t in args.teachers
    ]
    started = time.perf_counter()
    if args.workers > 1:
        with mp.get_context("spawn").Pool(args.workers) as pool:
            results = pool.map(train_and_test, jobs, chunksize=1)
    else:
        results = [train_and_test(job) for job in jobs]
    solved = {t: np.array([r["solved_percent"] for r in results if r["teacher"] == t]) for t in args.teachers}
    first, second = args.teachers
    low, high = bootstrap_diff_ci(solved[first], solved[second])
    print(f"{args.env_id}, {args.steps:,} steps x {args.seeds} seeds, {args.n_envs} batched envs, PPO MLP")
    print("| teacher | test tasks solved (% of 20), mean ± std | per seed |")
    print("|---|---|---|")
    for teacher in args.teachers:
        values = solved[teacher]
        print(
            f"| {teacher} | {values.mean():.1f} ± {values.std(ddof=1):.1f} | {', '.join(f'{v:.0f}' for v in values)} |"
        )
    diff = solved[first].mean() - solved[second].mean()
    print(f"{first} - {second}: {diff:+.1f} points, bootstrap 95% CI [{low:+.1f}, {high:+.1f}]")
    print(f"wall time {time.perf_counter() - started:.0f} s")
    print(json.dumps({
        "env_id": args.env_id,
        "steps": args.steps,
        "seeds": args.seeds,
        "n_envs": args.n_envs,
        "mean": {t: round(float(v.mean()), 2) for t, v in solved.items()},
        "std": {t: round(float(v.std(ddof=1)), 2) for t, v in solved.items()},
        "per_seed": {t: v.tolist() for t, v in solved.items()},
        "diff": round(float(diff), 2),
        "diff_ci": [round(low, 2), round(high, 2)],
        "train_seconds": [r["train_seconds"] for r in results],
        "wall_seconds": round(time.perf_counter() - started, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
