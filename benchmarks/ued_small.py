"""Held-out solve rate at equal env steps: DR, PLR⊥, ACCEL, both GROOVE modes (and PLR) on small mazes, several seeds.

Every (method, seed) run trains a PPO student on ``Curricula/Maze-v0`` (7x7 interior, 0-15 walls, 8 envs) for the
same number of env steps and plays the held-out mazes (10 stochastic episodes each, solved = return > 0); see
``examples/ued_maze.py``, which this benchmark runs once per seed, for the run itself. Also reported: the teacher's scoring cost per rollout as a fraction of
rollout wall time (target <= 2 %), all callback work as a fraction, and GROOVE's reference-agent share of env steps
(extra steps, not counted in the student's budget).

    python benchmarks/ued_small.py --quick                 # < 60 s: tiny budget, one seed (plumbing check)
    nice python benchmarks/ued_small.py --steps 200000 --seeds 0 1 2 --out runs/ued_small
    nice python benchmarks/ued_small.py --batched --n-envs 16 --methods dr plr robust_plr accel groove \
        groove_curation --steps 50000 --out runs/ued_batched   # the batched maze env (envs.make_batched_env)

``--workers N`` runs N (seed, method) runs at a time; ``--resume`` keeps the runs already recorded in ``--out`` and
runs the rest (a long batch can be continued in another session). ``--batched`` trains on the batched maze env; scoring cost is then measured against its (much cheaper) rollouts.
Besides the solve rates it writes ``curves.png``: per method, over training, the replay share of the episodes, the
buffer fill and the median (10-90 % band) of the buffer's scores, from each record's ``trace``.

The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from json_runs import run_json

from curricula.plotting import plot_solve_rates_by_task

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ued_maze.py"
METHODS = ("dr", "robust_plr", "accel", "groove", "groove_curation")
ALL_METHODS = (*METHODS, "plr")


def run_seed(
    methods: list[str],
    seed: int,
    steps: int,
    eval_episodes: int,
    overrides: dict[str, Any],
    out: Path,
    batched: bool = False,
    n_envs: int = 8,
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
        "--n-envs",
        str(n_envs),
        "--out",
        str(out / f"seed{seed}_{'_'.join(methods)}.png"),
        *(["--batched"] if batched else []),
    ]
    records: list[dict[str, Any]] = run_json(command)["records"]
    return records


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per method: mean/std over seeds of the solve rates and costs."""
    out: dict[str, Any] = {}
    for method in ALL_METHODS:
        rows = [r for r in records if r["method"] == method]
        if not rows:
            continue

        def stats(key: str, rows: list[dict[str, Any]] = rows) -> list[float] | None:
            # records written before a field existed do not count (None when none has it)
            values = np.array([r[key] for r in rows if key in r], dtype=np.float64)
            if not len(values):
                return None
            return [round(float(values.mean()), 4), round(float(values.std()), 4)]

        summary: dict[str, Any] = {
            "seeds": len(rows),
            "held_out_solve_rate": stats("held_out_solve_rate"),
            "held_out_greedy_solve_rate": stats("held_out_greedy_solve_rate"),
            "train_distribution_solve_rate": stats("train_distribution_solve_rate"),
            "scoring_fraction": stats("scoring_fraction"),
            "scoring_cpu_fraction": stats("scoring_cpu_fraction"),
            "callback_fraction": stats("callback_fraction"),
            "wall_s": stats("wall_s"),
        }
        if method in ("groove", "groove_curation"):
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


def plot_curves(records: list[dict[str, Any]], path: Path) -> Path:
    """Replay share, buffer fill and score quantiles over training, per method (mean over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for index, method in enumerate(ALL_METHODS):
        color = f"C{index}"  # one colour per method in every panel (the legend is drawn once)
        traces = [r["trace"] for r in records if r["method"] == method and r.get("trace")]
        if not traces:
            continue
        length = min(len(t) for t in traces)
        steps = [traces[0][i]["step"] for i in range(length)]

        def mean(key: str, traces: list[list[dict[str, float]]] = traces, length: int = length) -> np.ndarray:
            return np.array([np.mean([t[i].get(key, np.nan) for t in traces]) for i in range(length)])

        axes[0].plot(steps, mean("replay_share"), label=method, color=color)
        axes[1].plot(steps, mean("buffer_levels"), label=method, color=color)
        if "score_p50" in traces[0][-1]:
            axes[2].plot(steps, mean("score_p50"), label=method, color=color)
            axes[2].fill_between(steps, mean("score_p10"), mean("score_p90"), color=color, alpha=0.15)
    for ax, title in zip(
        axes, ("replay share of episodes", "scored levels in buffer", "buffer score p10/p50/p90"), strict=True
    ):
        ax.set_title(title)
        ax.set_xlabel("student env steps")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


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
    parser.add_argument("--batched", action="store_true", help="train on the batched maze env")
    parser.add_argument("--n-envs", type=int, default=8, help="training envs per run")
    parser.add_argument("--workers", type=int, default=1, help="runs at the same time (one per core)")
    parser.add_argument(
        "--resume", action="store_true", help="keep the runs already in --out's records.jsonl and run only the rest"
    )
    args = parser.parse_args()
    steps, seeds, eval_episodes = (4096, [0], 2) if args.quick else (args.steps, args.seeds, 10)
    # --quick shrinks the buffer and GROOVE's reference so that replay, mutation and AR all happen in 4k steps
    overrides = (
        {"buffer_size": 16, "batch_size": 4, "reference_budget": 256, "reference_interval": 1024} if args.quick else {}
    )
    overrides.update(json.loads(args.teacher_kwargs))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    records: list[dict[str, Any]] = []
    log_path = out / "records.jsonl"
    if args.resume and log_path.is_file():  # the runs already recorded there count; the rest are run
        records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
        records = [r for r in records if r["seed"] in seeds and r["method"] in args.methods and r["env_steps"] >= steps]
    done_jobs = {(r["seed"], r["method"]) for r in records}
    # one interpreter per (seed, method), --workers at a time, so that every finished run is written at once
    jobs = [(seed, method) for seed in seeds for method in args.methods if (seed, method) not in done_jobs]

    def run_job(job: tuple[int, str]) -> list[dict[str, Any]]:
        seed, method = job
        return run_seed([method], seed, steps, eval_episodes, overrides, out, args.batched, args.n_envs)

    with open(log_path, "a" if args.resume else "w") as log, ThreadPoolExecutor(args.workers) as pool:
        for done in pool.map(run_job, jobs):  # threads only wait on the worker processes
            for record in done:
                records.append(record)
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(
                    f"{record['method']:>15} seed {record['seed']}: held-out {record['held_out_solve_rate']:.2f}, "
                    f"train-dist {record['train_distribution_solve_rate']:.2f}, "
                    f"scoring {100 * record['scoring_fraction']:.2f} % of rollout time "
                    f"({100 * record['scoring_cpu_fraction']:.2f} % of its CPU time), {record['wall_s']} s",
                    flush=True,
                )
    rows = [{"method": r["method"], "per_task": r["per_maze"], "solve_rate": r["held_out_solve_rate"]} for r in records]
    plot = plot_solve_rates_by_task(rows, out / "solve_rates.png", f"held-out mazes, {steps} steps, seeds {seeds}")
    curves = plot_curves(records, out / "curves.png")
    result = {
        "benchmark": "ued_small",
        "env": "Curricula/Maze-v0 (7x7 interior, 0-15 walls)",
        "train_env": "batched (envs.make_batched_env)" if args.batched else "MiniGrid TaskEnvs under DummyVecEnv",
        "student": f"PPO MlpPolicy, {args.n_envs} envs, make_student defaults",
        "steps_per_run": steps,
        "seeds": seeds,
        "teacher_overrides": overrides,
        "eval": f"{eval_episodes} stochastic episodes per held-out maze, solved = return > 0",
        "summary": summarize(records),
        "plot": str(plot),
        "curves": str(curves),
        "total_s": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
