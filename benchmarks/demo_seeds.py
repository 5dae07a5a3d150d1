"""The quick start over several seeds: is ALP-GMM's advantage over Random real at the demo's budget?

Runs ``examples/quickstart.py`` (``make demo``'s experiment: PPO with an MLP on the batched
``Curricula/ObstacleGridLarge-v0``, rooms 5..27 x 0..50 obstacles, tested on the MiniGrid env's 5x4 grid of test
tasks) once per seed, each in its own interpreter, ``--workers`` at a time, with the quick start's defaults unless
options are given. Printed: the % of test tasks solved, mean ± std over seeds per teacher, and bootstrap 95 %
confidence intervals of the difference ALP-GMM − Random: seeds resampled within each teacher (``diff_ci``), and
seeds resampled as pairs (``paired_diff_ci``: both teachers' students of one seed start from the same network and
env seeds).

    python benchmarks/demo_seeds.py                       # 5 seeds of the demo, 2 at a time
    python benchmarks/demo_seeds.py --seeds 10 --steps 1000000

The last line is JSON with ``diff_ci`` (percentage points) and the per-seed figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from json_runs import run_json

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def run_quickstart(seed: int, options: list[str], run_root: str) -> dict[str, Any]:
    """One quick start (every teacher, one seed) in a fresh interpreter; its JSON summary."""
    # one process per quick start (its teachers one after the other): --workers quick starts share the cores
    command = [
        sys.executable, str(QUICKSTART), "--seed", str(seed), "--run-root", run_root, "--no-progress", "--workers", "1",
        *options,
    ]  # fmt: skip
    return run_json(command)


def bootstrap_diff_ci(
    a: np.ndarray, b: np.ndarray, n_resamples: int = 10_000, level: float = 0.95, seed: int = 0, paired: bool = False
) -> tuple[float, float]:
    """Percentile bootstrap CI of ``mean(a) - mean(b)``: seeds resampled with replacement within each group, or, with
    ``paired``, seeds resampled together (``a[i]`` and ``b[i]`` share seed ``i``: the same initial student and env
    seeds), which removes the between-seed variance both teachers share."""
    rng = np.random.default_rng(seed)
    if paired:
        rows = rng.integers(0, a.size, (n_resamples, a.size))
        diffs = (a[rows] - b[rows]).mean(axis=1)
    else:
        diffs = rng.choice(a, (n_resamples, a.size)).mean(axis=1) - rng.choice(b, (n_resamples, b.size)).mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(low), float(high)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs=2, default=["alp_gmm", "random"], help="the two teachers compared")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help="env steps per teacher (default: the quick start's)")
    parser.add_argument("--n-envs", type=int, default=None, help="training envs (default: the quick start's)")
    parser.add_argument("--env-id", default=None, help="default: the quick start's")
    parser.add_argument("--workers", type=int, default=2, help="quick starts run at the same time (one per core)")
    parser.add_argument("--teacher-options", default=None, help="JSON options per teacher, passed to the quick start")
    args = parser.parse_args()
    options = ["--teachers", *args.teachers]
    for flag, value in (
        ("--steps", args.steps),
        ("--n-envs", args.n_envs),
        ("--env-id", args.env_id),
        ("--teacher-options", args.teacher_options),
    ):
        if value is not None:
            options += [flag, str(value)]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_root, ThreadPoolExecutor(args.workers) as pool:
        summaries = list(pool.map(lambda seed: run_quickstart(seed, options, run_root), range(args.seeds)))
    runs = [run for summary in summaries for run in summary["runs"]]
    solved = {t: np.array([r["test_mastered_percent"] for r in runs if r["teacher"] == t]) for t in args.teachers}
    first, second = args.teachers
    low, high = bootstrap_diff_ci(solved[first], solved[second])
    paired_low, paired_high = bootstrap_diff_ci(solved[first], solved[second], paired=True)
    wins = int(np.sum(solved[first] > solved[second]))
    ties = int(np.sum(solved[first] == solved[second]))
    steps, env_id = runs[0]["env_steps"], summaries[0]["env_id"]
    print(f"{env_id}, {steps:,} steps per teacher x {args.seeds} seeds (examples/quickstart.py {' '.join(options)})")
    print("| teacher | test tasks solved (% of 20), mean ± std | per seed |")
    print("|---|---|---|")
    for teacher in args.teachers:
        values = solved[teacher]
        print(
            f"| {teacher} | {values.mean():.1f} ± {values.std(ddof=1):.1f} | {', '.join(f'{v:.0f}' for v in values)} |"
        )
    diff = solved[first].mean() - solved[second].mean()
    print(f"{first} - {second}: {diff:+.1f} points, bootstrap 95% CI [{low:+.1f}, {high:+.1f}] (seeds unpaired), "
          f"[{paired_low:+.1f}, {paired_high:+.1f}] (paired by seed); {first} ahead on {wins} of {args.seeds} seeds, "
          f"tied on {ties}")  # fmt: skip
    print(f"wall time {time.perf_counter() - started:.0f} s")
    print(json.dumps({
        "env_id": env_id,
        "steps": steps,
        "seeds": args.seeds,
        "options": options,
        "mean": {t: round(float(v.mean()), 2) for t, v in solved.items()},
        "std": {t: round(float(v.std(ddof=1)), 2) for t, v in solved.items()},
        "per_seed": {t: v.tolist() for t, v in solved.items()},
        "diff": round(float(diff), 2),
        "diff_ci": [round(low, 2), round(high, 2)],
        "paired_diff_ci": [round(paired_low, 2), round(paired_high, 2)],
        "wins": wins,
        "ties": ties,
        "train_seconds": {t: [r["wall_time_s"] for r in runs if r["teacher"] == t] for t in args.teachers},
        "wall_seconds": round(time.perf_counter() - started, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
