"""Teachers on Stump Tracks: test-set mastery and mean test return after a fixed budget, over seeds.

Each (teacher, seed) run is one ``examples/alp_gmm_stump_tracks.py`` process (single-threaded); ``--workers`` of
them run side by side. Every run evaluates its deterministic policy on the same test set at the end; a task is
mastered when its return exceeds 230. The table gives mean ± std over seeds per teacher, and the JSON line the
per-run figures and run directories (each holds the curriculum plots under ``plots/``).

    nice python benchmarks/stump_teachers.py                    # ALP-GMM vs Random, 3 seeds, PPO, 1M steps: ~1 h
    python benchmarks/stump_teachers.py --quick                 # < 60 s smoke run
    python benchmarks/stump_teachers.py --algo sac --steps 500000 --seeds 0 1 2 3   # the paper's student (~57 steps/s)

The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "alp_gmm_stump_tracks.py"


def run_one(teacher: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One training run in its own single-threaded process; returns the example's JSON summary."""
    command = [
        sys.executable,
        str(EXAMPLE),
        "--teacher",
        teacher,
        "--seed",
        str(seed),
        "--algo",
        args.algo,
        "--walker",
        args.walker,
        "--steps",
        str(args.steps),
        "--test-set",
        args.test_set,
        "--test-tasks",
        str(args.test_tasks),
        "--plot-every",
        str(max(args.steps // 4, 1)),
        "--run-root",
        args.run_root,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{teacher} seed {seed} failed:\n{done.stderr[-3000:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    summary["seed"] = seed
    print(
        f"{teacher:>16} seed {seed}: mastered {summary['test_mastered_percent']:5.1f}%  "
        f"mean test return {summary['test_mean_return']:7.1f}  ({summary['wall_time_s']:.0f} s)",
        flush=True,
    )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="+", default=["alp_gmm", "random"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--algo", default="ppo", choices=["sac", "ppo"])
    parser.add_argument("--walker", default="default", choices=["default", "short"])
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps per run")
    parser.add_argument("--test-set", default="grid", choices=["grid", "uniform"])
    parser.add_argument("--test-tasks", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--run-root", default="runs/stump_teachers")
    parser.add_argument("--quick", action="store_true", help="1 seed, 600 steps, 2 test tasks")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.test_tasks = [0], 600, 2

    start = time.perf_counter()
    jobs = [(teacher, seed) for seed in args.seeds for teacher in args.teachers]
    with ThreadPoolExecutor(args.workers) as pool:  # threads only wait on the worker processes
        runs = list(pool.map(lambda job: run_one(job[0], job[1], args), jobs))

    table: dict[str, dict[str, float]] = {}
    for teacher in args.teachers:
        mine = [run for run in runs if run["teacher"] == teacher]
        mastered = np.array([run["test_mastered_percent"] for run in mine])
        returns = np.array([run["test_mean_return"] for run in mine])
        table[teacher] = {
            "mastered_mean": round(float(mastered.mean()), 2),
            "mastered_std": round(float(mastered.std()), 2),
            "return_mean": round(float(returns.mean()), 1),
            "return_std": round(float(returns.std()), 1),
        }
        print(
            f"{teacher:>16}: mastered {mastered.mean():5.1f} ± {mastered.std():4.1f} %   "
            f"mean test return {returns.mean():7.1f} ± {returns.std():5.1f}   ({len(mine)} seeds)"
        )
    report = {
        "algo": args.algo,
        "walker": args.walker,
        "steps_per_run": args.steps,
        "seeds": args.seeds,
        "test_set": args.test_set,
        "test_tasks": args.test_tasks,
        "wall_time_s": round(time.perf_counter() - start, 1),
        "teachers": table,
        "runs": [
            {key: run[key] for key in ("teacher", "seed", "test_mastered_percent", "test_mean_return", "run_dir")}
            for run in runs
        ],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
