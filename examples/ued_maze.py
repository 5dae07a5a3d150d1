"""Regret-based environment design on small MiniGrid mazes: DR vs PLR⊥ vs ACCEL vs GROOVE-AR.

Each method trains a PPO student (MLP over the 7x7x3 view, 8 envs) on ``Curricula/Maze-v0`` levels (7x7 interior,
0-15 walls) for the same number of env steps, then plays the named held-out mazes of :mod:`envs.maze`
(stochastic policy, ``--eval-episodes`` each; solved = return > 0). A bar plot of the solve rates is written to
``--out``.

* ``dr``: uniform random levels (domain randomization), plain PPO;
* ``robust_plr``: PLR⊥ with :class:`agents.robust_ppo.RobustPPO` (no gradient on new levels);
* ``accel``: ACCEL (PLR⊥ + mutations of replayed levels), RobustPPO;
* ``groove``: level replay scored by algorithmic regret against a cached A2C reference, plain PPO;
* ``plr`` (not in the default set): PLR with gradients on every level, plain PPO.

    python examples/ued_maze.py                       # 100k steps per method, one seed: a few minutes on 2 cores
    python examples/ued_maze.py --steps 300000 --methods dr accel --out runs/ued.png

The CPU preset (``preset="cpu"``, see docs/teachers.md) replaces the papers' 4000-level buffer, which would not
even fill at this budget; ``--preset paper`` restores it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401 - registers the Curricula/* env ids
import teachers  # noqa: F401 - registers the built-in teachers
from agents import make_student
from agents.robust_ppo import make_robust_student
from curricula import CurriculumCallback, Task, TaskEnv, Teacher, make_teacher
from curricula.evaluation import TestSet, evaluate
from curricula.plotting import save_figure
from envs.maze import MazeLevelSpace, held_out_test_set, shortest_path
from teachers.plr import LevelReplayTeacher, PLRTeacher

ENV_ID = "Curricula/Maze-v0"
METHODS = ("dr", "robust_plr", "accel", "groove")
#: also runnable: ``plr`` (PLR with gradients on every level), to separate prioritization from PLR⊥'s masking
ALL_METHODS = (*METHODS, "plr")


class TimedCurriculumCallback(CurriculumCallback):
    """The curriculum callback, timing the teacher's work against the rollout's wall time.

    ``scoring_seconds``: rollout-end work (PLR scores from the buffer); ``callback_seconds``: all callback work
    (results, sampling, pushing tasks, scoring); ``rollout_seconds``: wall time of rollout collection.
    """

    def __init__(self, teacher: Teacher, **kwargs: Any) -> None:
        super().__init__(teacher, **kwargs)
        self.scoring_seconds = 0.0
        self.callback_seconds = 0.0
        self.rollout_seconds = 0.0
        self.rollouts = 0
        self._rollout_start = 0.0

    def _on_rollout_start(self) -> None:
        self._rollout_start = time.perf_counter()
        super()._on_rollout_start()

    def _on_step(self) -> bool:
        start = time.perf_counter()
        keep_going = super()._on_step()
        self.callback_seconds += time.perf_counter() - start
        return keep_going

    def _on_rollout_end(self) -> None:
        start = time.perf_counter()
        super()._on_rollout_end()
        end = time.perf_counter()
        self.scoring_seconds += end - start
        self.callback_seconds += end - start
        self.rollout_seconds += end - self._rollout_start
        self.rollouts += 1


def build(
    method: str,
    venv: DummyVecEnv,
    space: MazeLevelSpace,
    seed: int,
    preset: str,
    overrides: dict[str, Any] | None = None,
) -> tuple[Teacher, BaseAlgorithm]:
    """The teacher and student of one method (robust teachers get a RobustPPO student).

    :param overrides: teacher options applied over the preset (not to DR); GROOVE's ``reference_*`` options are
        dropped for the other teachers
    """
    if method not in ALL_METHODS:
        raise ValueError(f"method must be one of {ALL_METHODS}, got {method!r}")
    student_kwargs: dict[str, Any] = dict(seed=seed, policy="MlpPolicy", device="cpu")
    if method == "dr":
        teacher = make_teacher("random", space, seed=seed)
        return teacher, make_student("ppo", venv, **student_kwargs)
    # each teacher's preset carries its own values (ACCEL's replay_prob, GROOVE's reference cadence)
    options: dict[str, Any] = dict(overrides or {})
    if method != "groove":
        options = {k: v for k, v in options.items() if not k.startswith("reference_")}
    teacher = make_teacher(method, space, seed=seed, preset=preset, **options)
    assert isinstance(teacher, LevelReplayTeacher)
    if teacher.robust:
        return teacher, make_robust_student(venv, teacher.train_mask, **student_kwargs)
    return teacher, make_student("ppo", venv, **student_kwargs)


def in_distribution_test_set(space: MazeLevelSpace, n: int = 50, seed: int = 12345) -> TestSet:
    """``n`` solvable levels from the training generator with a fixed seed (the same set for every method)."""
    rng = np.random.default_rng(seed)
    levels: list[dict[str, Any]] = []
    while len(levels) < n:
        level = space.generate(rng)
        if shortest_path(level) is not None:
            levels.append(level)
    return TestSet.from_tasks([Task(id=i, level=lv) for i, lv in enumerate(levels)], name="train_distribution")


def run(
    method: str,
    seed: int,
    steps: int,
    n_envs: int = 8,
    preset: str = "cpu",
    eval_episodes: int = 10,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one method for ``steps`` env steps and evaluate it; returns a JSON-able record.

    :param overrides: teacher options over the preset (see :func:`build`)
    """
    venv = DummyVecEnv([lambda: TaskEnv(gym.make(ENV_ID)) for _ in range(n_envs)])
    space: MazeLevelSpace = venv.env_method("get_wrapper_attr", "task_space", indices=[0])[0]
    teacher, student = build(method, venv, space, seed, preset, overrides)
    callback = TimedCurriculumCallback(teacher)
    start = time.perf_counter()
    student.learn(steps, callback=callback)
    wall = time.perf_counter() - start
    close = getattr(teacher, "close", None)
    if close is not None:
        close()
    eval_env = TaskEnv(gym.make(ENV_ID))
    held_out = held_out_test_set()
    stochastic = evaluate(student, eval_env, held_out, deterministic=False, episodes_per_task=eval_episodes)
    greedy = evaluate(student, eval_env, held_out, deterministic=True)
    in_dist = evaluate(student, eval_env, in_distribution_test_set(space), deterministic=False)
    names = [str(t.annotations["name"]) for t in held_out.tasks]
    record: dict[str, Any] = {
        "method": method,
        "seed": seed,
        "env_steps": int(student.num_timesteps),
        "wall_s": round(wall, 1),
        "held_out_solve_rate": float(np.mean(stochastic.successes)),
        "held_out_greedy_solve_rate": float(np.mean(greedy.successes)),
        "per_maze": {n: float(s) for n, s in zip(names, stochastic.successes, strict=True)},
        "train_distribution_solve_rate": float(np.mean(in_dist.successes)),
        "scoring_fraction": callback.scoring_seconds / max(callback.rollout_seconds, 1e-9),
        "callback_fraction": callback.callback_seconds / max(callback.rollout_seconds, 1e-9),
        "teacher": {k: float(v) for k, v in teacher.scalars().items()},
    }
    for attr in ("updates_skipped", "updates_done", "steps_trained", "steps_masked"):
        if hasattr(student, attr):
            record.setdefault("robust", {})[attr] = int(getattr(student, attr))
    venv.close()
    return record


def plot_solve_rates(records: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Grouped bars: held-out solve rate per maze and method (mean over seeds, whiskers = min/max)."""
    import matplotlib.pyplot as plt  # curricula.plotting has selected the file-only Agg backend

    methods = [m for m in ALL_METHODS if any(r["method"] == m for r in records)]
    mazes = [*records[0]["per_maze"], "mean"]
    fig, ax = plt.subplots(figsize=(min(12.0, 2.0 + 1.2 * len(mazes)), 4.0))
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        rows = [r for r in records if r["method"] == method]
        values = np.array([[*r["per_maze"].values(), r["held_out_solve_rate"]] for r in rows])
        mean = values.mean(axis=0)
        err = np.stack([mean - values.min(axis=0), values.max(axis=0) - mean])
        x = np.arange(len(mazes)) + (k - (len(methods) - 1) / 2) * width
        ax.bar(x, mean, width, yerr=err, capsize=2, label=f"{method} (n={len(rows)})")
    ax.set_xticks(np.arange(len(mazes)), mazes, rotation=30, ha="right")
    ax.set_ylabel("solve rate (return > 0)")
    ax.set_ylim(0, 1.05)
    ax.set_title(title or "held-out mazes")
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=ALL_METHODS)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps of training per method")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--preset", default="cpu", choices=sorted(PLRTeacher.presets))
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--out", default="runs/ued_maze.png")
    args = parser.parse_args()
    records = []
    for method in args.methods:
        record = run(method, args.seed, args.steps, args.n_envs, args.preset, args.eval_episodes)
        records.append(record)
        print(f"{method:>11}: held-out solve rate {record['held_out_solve_rate']:.2f} ({record['wall_s']} s)")
    plot = plot_solve_rates(records, args.out, f"held-out mazes after {args.steps} steps (seed {args.seed})")
    print(f"plot: {plot}")
    print(json.dumps({"steps": args.steps, "seed": args.seed, "records": records}))


if __name__ == "__main__":
    main()
