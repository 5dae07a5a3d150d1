"""Quick start: does a curriculum teacher help? ALP-GMM against Random, same PPO student, same budget.

The task space is the room size (5..27) and the number of wall obstacles (0..50) of
``Curricula/ObstacleGridLarge-v0``. Big rooms are out of reach for a fresh student (the reward is sparse, and an
episode there lasts up to 2 x side² steps), so a teacher that samples uniformly spends most of its steps where
nothing is learned, while ALP-GMM (Portelas et al., 2019)
finds the rooms where the student's return is changing and samples there. Each teacher trains its own student
from the same seed on the batched version of the env (all 16 sub-envs stepped as one array program); then each
student plays every task of a fixed 5x4 grid test set in the MiniGrid env (deterministic policy) and we print the
percentage it solves. The run directory gets TensorBoard logs, a checkpoint per teacher and the
curriculum plots (``plots/density_*.png``: where each teacher sampled over time; ``plots/gmm_*.png``: ALP-GMM's
mixture coloured by learning progress).

    python examples/quickstart.py                                   # both teachers side by side, 600k steps each: ~4 min on 2 cores
    python examples/quickstart.py --teachers random covar_gmm riac  # any registered teachers
    python examples/quickstart.py --env-id Curricula/ObstacleGridWide-v0  # a smaller family (5..21, 0..30)
    python examples/quickstart.py --minigrid --n-envs 8              # train on MiniGrid envs (DummyVecEnv), slower
    python examples/quickstart.py --teacher-options '{"alp_gmm": {"fit_columns": "alp", "component_lp": "window"}}'  # options
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

import envs  # noqa: F401 - registers the Curricula/* env ids
import teachers  # noqa: F401 - registers the built-in teachers
from agents import make_student
from curricula import (
    CurriculumCallback,
    ParameterSpace,
    TaskEnv,
    TestSet,
    make_teacher,
    registered_teachers,
    task_space_of,
)
from curricula.checkpoint import CheckpointCallback, make_run_dir
from curricula.evaluation import evaluate
from curricula.plotting import CurriculumPlotCallback
from envs.batched_grid import make_batched_env


def train_and_test(teacher_name: str, args: argparse.Namespace, run_dir: Path) -> dict[str, Any]:
    """Train one PPO student under ``teacher_name`` and test it; returns the summary of that run."""

    # 1. The environment family and its task space (room size x obstacle count). Training runs on the batched
    #    version (every sub-env stepped as one array program: the same levels, observations and rewards as the
    #    MiniGrid env, many times cheaper); --minigrid trains on MiniGrid envs under DummyVecEnv instead.
    def make_env() -> TaskEnv:
        return TaskEnv(gym.make(args.env_id))

    train_env: VecEnv
    if args.minigrid:
        train_env = DummyVecEnv([make_env for _ in range(args.n_envs)])
    else:
        train_env = make_batched_env(args.env_id, args.n_envs, seed=args.seed)
    task_space = task_space_of(train_env)
    assert isinstance(task_space, ParameterSpace)  # size x obstacles

    # 2. The teacher lives here, in the learner process; the callback carries its tasks to the envs.
    teacher = make_teacher(teacher_name, task_space, seed=args.seed, **args.teacher_options.get(teacher_name, {}))
    curriculum = CurriculumCallback(teacher, keep_results=True)  # keeps the played tasks for the plots

    # 3. The student: PPO with an MLP over the 7x7x3 symbolic view (the fastest student on 2 CPU cores).
    #    Short rollouts (n_steps x envs = 1,024 samples per update) give many updates within the budget.
    student = make_student("ppo", train_env, seed=args.seed, policy="MlpPolicy", n_steps=args.n_steps)

    # 4. Train. TensorBoard logs, a checkpoint (model + teacher state) and the curriculum plots (where the teacher
    #    sampled over time and, for ALP-GMM, its mixture) are written under run_dir/<teacher> at the end.
    teacher_dir = run_dir / teacher_name
    student.set_logger(configure(str(teacher_dir / "logs"), ["csv", "tensorboard"]))
    checkpoint = CheckpointCallback(teacher_dir, curriculum, save_freq=0)
    plots = CurriculumPlotCallback(curriculum, task_space, teacher_dir)
    start = time.perf_counter()
    student.learn(args.steps, callback=CallbackList([curriculum, checkpoint, plots]), progress_bar=not args.no_progress)
    wall = time.perf_counter() - start

    # 5. Test on the MiniGrid env (the reference implementation): a 5x4 grid over the whole space, one
    #    deterministic episode per task.
    test_set = TestSet.grid(task_space, [5, 4])
    report = evaluate(student, make_env(), test_set)
    return {
        "teacher": teacher_name,
        "teacher_options": args.teacher_options.get(teacher_name, {}),
        "env_steps": student.num_timesteps,
        "episodes": curriculum.episodes_reported,
        "wall_time_s": round(wall, 1),
        "test_tasks": len(test_set),
        "test_mastered_percent": round(report.mastered_percent, 1),
        "test_mean_return": round(float(report.returns.mean()), 3),
        "plots": [str(path) for path in plots.paths],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="+", default=["alp_gmm", "random"], choices=sorted(registered_teachers()))
    parser.add_argument("--env-id", default="Curricula/ObstacleGridLarge-v0")
    parser.add_argument("--steps", type=int, default=600_000, help="env steps of training, per teacher")
    parser.add_argument("--n-envs", type=int, default=16)
    parser.add_argument("--n-steps", type=int, default=64, help="PPO rollout length per env")
    parser.add_argument("--minigrid", action="store_true", help="train on MiniGrid envs instead of the batched env")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-root", default="runs")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--workers", type=int, default=0, help="teachers trained at once (default: one per core)")
    parser.add_argument(
        "--teacher-options",
        type=json.loads,
        default={},
        help='JSON options per teacher, e.g. \'{"alp_gmm": {"fit_columns": "alp"}}\'',
    )
    args = parser.parse_args()
    options = args.teacher_options
    valid = isinstance(options, dict) and all(isinstance(value, dict) for value in options.values())
    if not valid or not set(options) <= set(args.teachers):
        parser.error(f"--teacher-options must map teachers of --teachers {args.teachers} to options, got {options!r}")

    run_dir = make_run_dir(args.run_root, f"quickstart-s{args.seed}-{time.strftime('%Y%m%d-%H%M%S')}")
    # Each teacher's run is single-threaded and independent, so they train side by side, one process per core.
    workers = args.workers or min(len(args.teachers), os.cpu_count() or 1)
    if workers > 1:
        args.no_progress = True  # progress bars of several processes would overwrite each other
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(train_and_test, args.teachers, repeat(args), repeat(run_dir)))
    else:
        results = [train_and_test(name, args, run_dir) for name in args.teachers]
    summary = {
        "env_id": args.env_id,
        "train_env": "minigrid" if args.minigrid else "batched",
        "seed": args.seed,
        "run_dir": str(run_dir),
        "runs": results,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))

    print()
    for result in results:
        print(
            f"{result['teacher']:>10} teacher: solved {result['test_mastered_percent']:5.1f}% of "
            f"{result['test_tasks']} test tasks (mean test return {result['test_mean_return']:.3f})"
        )
    print(f"curriculum plots: {run_dir}/<teacher>/plots/")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
