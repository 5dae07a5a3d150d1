"""ALP-GMM teaches a SAC (or PPO) walker on Stump Tracks, the parameterized BipedalWalker of the ALP-GMM paper.

Each episode the teacher picks a mean stump height in [0, 3] and a stump spacing in [0, 6]; the student only sees
its lidars and joints. Returns are rescaled to [0, 1] from (-150, 350) for the teacher, as in the paper. At the end
(and every ``--eval-every`` steps) the deterministic policy plays a fixed test set; a task is mastered when its
return exceeds 230.

    python examples/alp_gmm_stump_tracks.py                                   # 20k steps smoke run (minutes)
    python examples/alp_gmm_stump_tracks.py --teacher random --walker short
    # paper scale (days on CPU): 20M steps, SAC, evaluated every 500k steps on the 100-task grid
    python examples/alp_gmm_stump_tracks.py --steps 20000000 --eval-every 500000 --test-set grid --test-tasks 100
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401 - registers the Curricula/* env ids
import teachers  # noqa: F401 - registers the built-in teachers
from agents import make_student
from curricula import CurriculumCallback, TaskEnv, TestSet, make_teacher
from curricula.checkpoint import make_run_dir
from curricula.evaluation import PeriodicEvaluation
from curricula.plotting import CurriculumPlotCallback
from envs.stump_tracks import RETURN_BOUNDS, STUMP_TRACKS_SPACE, grid_test_set, uniform_test_set
from teachers.oracle import STUMP_TRACKS_ORACLE

ENV_IDS = {"default": "Curricula/StumpTracks-v0", "short": "Curricula/StumpTracksShort-v0"}
TEACHERS = ["alp_gmm", "alp_gmm_faithful", "covar_gmm", "riac", "oracle", "random"]


def teacher_options(name: str) -> dict[str, Any]:
    """The paper's settings for each teacher on Stump Tracks."""
    if name in ("alp_gmm", "alp_gmm_faithful", "covar_gmm"):
        return {"return_bounds": RETURN_BOUNDS}
    if name == "oracle":
        return dict(STUMP_TRACKS_ORACLE)
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="alp_gmm", choices=TEACHERS)
    parser.add_argument("--algo", default="sac", choices=["sac", "ppo"])
    parser.add_argument("--walker", default="default", choices=sorted(ENV_IDS))
    parser.add_argument("--steps", type=int, default=20_000, help="env steps of training (paper: 20M)")
    parser.add_argument(
        "--learning-starts", type=int, default=None, help="SAC random steps (default: min(10k, steps/2))"
    )
    parser.add_argument("--eval-every", type=int, default=0, help="env steps between evaluations (0: at the end only)")
    parser.add_argument("--test-set", default="uniform", choices=["uniform", "grid"])
    parser.add_argument("--test-tasks", type=int, default=10, help="first N tasks of the test set (paper: 50 / 100)")
    parser.add_argument("--plot-every", type=int, default=10_000)
    parser.add_argument("--teacher-kwargs", default="{}", help="JSON teacher options, e.g. '{\"fit_rate\": 50}'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-root", default="runs")
    args = parser.parse_args()

    # 1. Environment: one Stump Tracks walker, wrapped so that each episode plays the teacher's task.
    env_id = ENV_IDS[args.walker]

    def make_env() -> TaskEnv:
        return TaskEnv(gym.make(env_id))

    train_env = DummyVecEnv([make_env])

    # 2. Teacher (lives in this process) and the callback that carries tasks and results.
    teacher = make_teacher(
        args.teacher,
        STUMP_TRACKS_SPACE,
        seed=args.seed,
        **{**teacher_options(args.teacher), **json.loads(args.teacher_kwargs)},
    )
    curriculum = CurriculumCallback(teacher, keep_results=True)  # the plots draw the tasks played

    # 3. Student: SAC as in the paper (or PPO).
    overrides: dict[str, Any] = {}
    if args.algo == "sac":
        overrides["learning_starts"] = (
            args.learning_starts if args.learning_starts is not None else min(10_000, args.steps // 2)
        )
    student = make_student(args.algo, train_env, seed=args.seed, **overrides)

    # 4. Test set and evaluation, logging and plots into a run directory.
    full = grid_test_set() if args.test_set == "grid" else uniform_test_set()
    test_set = TestSet.from_tasks(full.tasks[: args.test_tasks], name=full.name)
    run_dir = make_run_dir(
        args.run_root, f"stump-{args.walker}-{args.teacher}-{args.algo}-s{args.seed}-{time.strftime('%H%M%S')}"
    )
    student.set_logger(configure(str(run_dir / "logs"), ["csv", "tensorboard"]))
    evaluation = PeriodicEvaluation(make_env, test_set, eval_freq=args.eval_every, log_path=run_dir / "eval.jsonl")
    plots = CurriculumPlotCallback(curriculum, STUMP_TRACKS_SPACE, run_dir, every=args.plot_every)
    callbacks = [curriculum, evaluation, plots]

    # 5. Train, then evaluate once more at the end.
    start = time.perf_counter()
    student.learn(args.steps, callback=CallbackList(callbacks))
    report = evaluation.run_now()
    summary = {
        "teacher": args.teacher,
        "algo": args.algo,
        "walker": args.walker,
        "env_steps": student.num_timesteps,
        "episodes": curriculum.episodes_reported,
        "wall_time_s": round(time.perf_counter() - start, 1),
        "test_set": test_set.name,
        "test_tasks": len(test_set),
        "test_mastered_percent": round(report.mastered_percent, 1),
        "test_mean_return": round(float(report.returns.mean()), 1),
        "run_dir": str(run_dir),
        "plots": [str(path) for path in plots.paths],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
