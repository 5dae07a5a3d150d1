"""Held-out solve rate at equal env steps: DR, PLR⊥, ACCEL and GROOVE-AR on small mazes, several seeds.

Every (method, seed) run trains a PPO student on ``Curricula/Maze-v0`` (7x7 interior, 0-15 walls, 8 envs) for the
same number of env steps and plays the held-out mazes (10 stochastic episodes each, solved = return > 0); see
``examples/ued_maze.py``, which this benchmark runs once per seed, for the run itself. Also reported: the teacher's scoring cost per rollout as a fraction of
rollout wall time (target <= 2 %), all callback work as a fraction, and GROOVE's reference-agent share of env steps
(extra steps, not counted in the student's budget).

    python benchmarks/ued_small.py --quick                 # < 60 s: tiny budget, one seed (plumbing check)
    nice python benchmarks/ued_small.py --steps 200000 --seeds 0 1 2 --out runs/ued_small

The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from curricula.plotting import plot_solve_rates_by_task

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ued_maze.py"
METHODS = ("dr", "robust_plr", "accel", "groove")
ALL_METHODS = (*METHODS, "plr")


def run_seed(
    methods: list[str], seed: int, steps: int, eval_episodes: int, overrides: dict[str, Any], out: Path
) -> list[dict[str, Any]]:
    """Run the example once for one seed (every method) in a fresh interpreter; its records, one per method."""
    command = [
        sys.executable,
        str(EXAMPLE),
        "--methods",
        *methods,
        "--seed",
        str(seed),
        "--steps",
        str(steps),
        "--eval-episodes",
        str(eval_episodes),
        "--teacher-kwargs",
        json.dumps(overrides),
        "--out",
        str(out / f"seed{seed}.png"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    records: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])["records"]
    return records


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method: mean/std over seeds of the solve rates and costs."""
    out: dict[str, Any] = {}
    for method in ALL_METHODS:
        rows = [r for r in records if r["method"] == method]
        if not rows:
            continue

        def stats(key: str, rows: list[dict[str, Any]] = rows) -> list[float]:
            values = np.array([r[key] for r in rows], dtype=np.float64)
            return [round(float(values.mean()), 3), round(float(values.std()), 3)]

        summary: dict[str, Any] = {
            "seeds": len(rows),
            "held_out_solve_rate": stats("held_out_solve_rate"),
            "held_out_greedy_solve_rate": stats("held_out_greedy_solve_rate"),
            "train_distribution_solve_rate": stats("train_distribution_solve_rate"),
            "scoring_fraction": stats("scoring_fraction"),
            "callback_fraction": stats("callback_fraction"),
            "wall_s": stats("wall_s"),
        }
        if method == "groove":
            fractions = [r["teacher"]["reference_step_fraction"] for r in rows]
            summary["reference_step_fraction"] = round(float(np.mean(fractions)), 3)
            summary["reference_stall_s"] = round(
                float(np.mean([r["teacher"]["reference_stall_seconds"] for r in rows])), 1
            )
        if "robust" in rows[0]:
            trained = [r["robust"]["steps_trained"] / max(1, r["env_steps"]) for r in rows]
            summary["trained_step_fraction"] = round(float(np.mean(trained)), 3)
        out[method] = summary
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny budget, one seed, < 60 s")
    parser.add_argument("--steps", type=int, default=200_000, help="student env steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=ALL_METHODS)
    parser.add_argument("--out", default="runs/ued_small", help="folder for records.jsonl and solve_rates.png")
    parser.add_argument(
        "--teacher-kwargs", default="{}", help="JSON teacher options over the preset, e.g. '{\"replay_prob\": 0.9}'"
    )
    args = parser.parse_args()
    steps, seeds, eval_episodes = (4096, [0], 2) if args.quick else (args.steps, args.seeds, 10)
    # --quick shrinks the buffer and GROOVE's reference so that replay, mutation and AR all happen in 4k steps
    overrides = {"buffer_size": 16, "reference_budget": 256, "reference_interval": 1024} if args.quick else {}
    overrides.update(json.loads(args.teacher_kwargs))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    records = []
    with open(out / "records.jsonl", "w") as log:
        for seed in seeds:
            for record in run_seed(args.methods, seed, steps, eval_episodes, overrides, out):
                records.append(record)
                method = record["method"]
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(
                    f"{method:>11} seed {seed}: held-out {record['held_out_solve_rate']:.2f}, "
                    f"train-dist {record['train_distribution_solve_rate']:.2f}, "
                    f"scoring {100 * record['scoring_fraction']:.2f} % of rollout time, {record['wall_s']} s",
                    flush=True,
                )
    rows = [{"method": r["method"], "per_task": r["per_maze"], "solve_rate": r["held_out_solve_rate"]} for r in records]
    plot = plot_solve_rates_by_task(rows, out / "solve_rates.png", f"held-out mazes, {steps} steps, seeds {seeds}")
    result = {
        "benchmark": "ued_small",
        "env": "Curricula/Maze-v0 (7x7 interior, 0-15 walls)",
        "student": "PPO MlpPolicy, 8 envs, n_steps 128",
        "steps_per_run": steps,
        "seeds": seeds,
        "teacher_overrides": overrides,
        "eval": f"{eval_episodes} stochastic episodes per held-out maze, solved = return > 0",
        "summary": summarize(records),
        "plot": str(plot),
        "total_s": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
