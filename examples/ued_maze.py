"""Regret-based environment design on small MiniGrid mazes: DR vs PLR⊥ vs ACCEL vs GROOVE (both curation modes).

Each method trains a PPO student (MLP over the 7x7x3 view, 8 envs) on ``Curricula/Maze-v0`` levels (7x7 interior,
0-15 walls) for the same number of env steps, then plays the named held-out mazes of :mod:`envs.maze`
(stochastic policy, ``--eval-episodes`` each; solved = return > 0). A bar plot of the solve rates is written to
``--out``.

* ``dr``: uniform random levels (domain randomization), plain PPO;
* ``robust_plr``: PLR⊥ with :class:`agents.robust_ppo.RobustPPO` (no gradient on new levels);
* ``accel``: ACCEL (PLR⊥ + mutations of replayed levels), RobustPPO;
* ``groove``: PLR-style level replay scored by algorithmic regret against a cached A2C reference, plain PPO;
* ``groove_curation``: GROOVE's own curation (pre-filled buffer, lowest-regret levels reset, top-k replay), same
  algorithmic regret, plain PPO;
* ``plr`` (not in the default set): PLR with gradients on every level, plain PPO.

``--batched`` trains on the batched maze env (``envs.make_batched_env``: all mazes stepped as torch arrays, one
SB3 VecEnv) instead of MiniGrid envs under a DummyVecEnv; evaluation always uses the MiniGrid env.

    python examples/ued_maze.py                       # 100k steps per method, one seed: a few minutes on 2 cores
    python examples/ued_maze.py --steps 300000 --methods dr accel --out runs/ued.png
    python examples/ued_maze.py --batched --n-envs 32 --methods groove_curation

The CPU preset (``preset="cpu"``, see docs/teachers.md) replaces the papers' 4000-level buffer, which would not
even fill at this budget; ``--preset paper`` restores it. ``benchmarks/ued_small.py`` runs this script over several
seeds and tabulates the records it prints.

The walk-through, per method: 1. the maze envs and their level space; 2. the teacher and student of the method
(:func:`build`); 3. train, with the curriculum callback timing its own work; 4. evaluate on the held-out mazes and
on the training distribution; 5. the record. Then one bar plot of every method's held-out solve rates.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

import envs  # registers the Curricula/* env ids; make_batched_env
import teachers  # noqa: F401 - registers the built-in teachers
from agents import make_student
from agents.robust_ppo import make_robust_student
from curricula import (
    CurriculumCallback,
    Task,
    TaskEnv,
    Teacher,
    TestSet,
    make_teacher,
    registered_teachers,
    task_space_of,
)
from curricula.evaluation import evaluate
from curricula.plotting import plot_solve_rates_by_task
from envs.maze import MazeLevelSpace, held_out_test_set, shortest_path
from teachers.groove_curation import GrooveCurationTeacher
from teachers.plr import LevelReplayTeacher, PLRTeacher

ENV_ID = "Curricula/Maze-v0"
METHODS = ("dr", "robust_plr", "accel", "groove", "groove_curation")
#: also runnable: ``plr`` (PLR with gradients on every level), to separate prioritization from PLR⊥'s masking
ALL_METHODS = (*METHODS, "plr")


def accepted_options(cls: type[Teacher]) -> set[str]:
    """The keyword options a teacher's constructor takes, following ``**kwargs`` to its parents."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Teacher or not issubclass(klass, Teacher) or "__init__" not in vars(klass):
            continue
        parameters = list(inspect.signature(klass.__init__).parameters.values())[1:]
        names |= {p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return names


def build(
    method: str,
    venv: VecEnv,
    space: MazeLevelSpace,
    seed: int,
    preset: str,
    overrides: dict[str, Any] | None = None,
) -> tuple[Teacher, BaseAlgorithm]:
    """The teacher and student of one method (robust teachers get a RobustPPO student).

    :param overrides: teacher options applied over the preset (not to DR); options a teacher does not take (e.g.
        GROOVE's ``reference_*`` for PLR, ``min_fill`` for GROOVE's curation) are dropped for it
    """
    if method not in ALL_METHODS:
        raise ValueError(f"method must be one of {ALL_METHODS}, got {method!r}")
    student_kwargs: dict[str, Any] = dict(seed=seed, policy="MlpPolicy", device="cpu")
    if method == "dr":
        teacher = make_teacher("random", space, seed=seed)
        return teacher, make_student("ppo", venv, **student_kwargs)
    # each teacher's preset carries its own values (ACCEL's replay_prob, GROOVE's reference cadence)
    teacher_class = registered_teachers()[method]
    options = {k: v for k, v in (overrides or {}).items() if k in accepted_options(teacher_class)}
    teacher = make_teacher(method, space, seed=seed, preset=preset, **options)
    assert isinstance(teacher, LevelReplayTeacher | GrooveCurationTeacher)
    if isinstance(teacher, LevelReplayTeacher) and teacher.robust:
        return teacher, make_robust_student(venv, teacher.train_mask, **student_kwargs)
    return teacher, make_student("ppo", venv, **student_kwargs)


def buffer_scores(teacher: Teacher) -> np.ndarray:
    """The scores of the levels a curating teacher holds now (empty for DR)."""
    if isinstance(teacher, LevelReplayTeacher):
        return np.asarray(teacher.buffer.scores, dtype=np.float64)
    if isinstance(teacher, GrooveCurationTeacher):
        return teacher.scores()[teacher.evaluated]
    return np.zeros(0)


class TeacherTrace(BaseCallback):
    """Records, about ``points`` times per run, what the curriculum looks like: replay share of the episodes sampled
    since the last point, buffer fill, score quantiles, the student's trained-step share (PLR⊥)."""

    def __init__(self, teacher: Teacher, total_steps: int, points: int = 20) -> None:
        super().__init__()
        self.teacher = teacher
        self.every = max(1, total_steps // points)
        self.next_at = self.every
        self.rows: list[dict[str, float]] = []
        self._last: tuple[float, float] = (0.0, 0.0)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.num_timesteps < self.next_at:
            return
        self.next_at += self.every
        scalars = self.teacher.scalars()
        sampled = scalars.get("tasks_sampled", 0.0)
        replays = scalars.get("replay_fraction", 0.0) * sampled
        window = max(1.0, sampled - self._last[0])
        scores = buffer_scores(self.teacher)
        row = {
            "step": float(self.num_timesteps),
            "replay_share": (replays - self._last[1]) / window,
            "buffer_levels": float(len(scores)),
        }
        self._last = (sampled, replays)
        if len(scores):
            for q in (10, 50, 90):
                row[f"score_p{q}"] = float(np.percentile(scores, q))
        if hasattr(self.model, "steps_trained"):
            row["steps_trained"] = float(self.model.steps_trained)
        self.rows.append(row)


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
    batched: bool = False,
) -> dict[str, Any]:
    """Train one method for ``steps`` env steps and evaluate it; returns a JSON-able record.

    :param overrides: teacher options over the preset (see :func:`build`)
    :param batched: train on the batched maze env (torch arrays, one VecEnv) instead of MiniGrid envs
    """
    # 1. The maze envs (each under a TaskEnv, which plays the teacher's levels, or the batched env, which has the
    #    same task channel built in) and their level space.
    venv: VecEnv
    if batched:
        venv = envs.make_batched_env(ENV_ID, n_envs=n_envs, seed=seed)
    else:
        venv = DummyVecEnv([lambda: TaskEnv(gym.make(ENV_ID)) for _ in range(n_envs)])
    space = task_space_of(venv)
    assert isinstance(space, MazeLevelSpace)

    # 2. The method's teacher and student.
    teacher, student = build(method, venv, space, seed, preset, overrides)

    # 3. Train. The callback carries levels to the envs and results (and rollout signals) back, and times itself.
    curriculum = CurriculumCallback(teacher)
    trace = TeacherTrace(teacher, steps)
    start = time.perf_counter()
    student.learn(steps, callback=CallbackList([curriculum, trace]))  # the curriculum callback closes the teacher
    wall = time.perf_counter() - start

    # 4. Evaluate: the named held-out mazes (stochastic and greedy policy) and levels of the training distribution.
    eval_env = TaskEnv(gym.make(ENV_ID))
    held_out = held_out_test_set()
    stochastic = evaluate(student, eval_env, held_out, deterministic=False, episodes_per_task=eval_episodes)
    greedy = evaluate(student, eval_env, held_out, deterministic=True)
    in_dist = evaluate(student, eval_env, in_distribution_test_set(space), deterministic=False)
    venv.close()

    # 5. The record: solve rates, the teacher's cost on the rollout's critical path, its counters.
    names = [str(t.annotations["name"]) for t in held_out.tasks]
    record: dict[str, Any] = {
        "method": method,
        "seed": seed,
        "env": "batched" if batched else "minigrid",
        "n_envs": n_envs,
        "env_steps": int(student.num_timesteps),
        "wall_s": round(wall, 1),
        "held_out_solve_rate": float(np.mean(stochastic.successes)),
        "held_out_greedy_solve_rate": float(np.mean(greedy.successes)),
        "per_maze": {n: float(s) for n, s in zip(names, stochastic.successes, strict=True)},
        "train_distribution_solve_rate": float(np.mean(in_dist.successes)),
        "scoring_fraction": curriculum.scoring_seconds / max(curriculum.rollout_seconds, 1e-9),
        "scoring_cpu_fraction": curriculum.scoring_cpu_seconds / max(curriculum.rollout_cpu_seconds, 1e-9),
        "callback_fraction": curriculum.callback_share,
        "teacher": {k: float(v) for k, v in teacher.scalars().items()},
        "trace": trace.rows,
    }
    for attr in ("updates_skipped", "updates_done", "steps_trained", "steps_masked"):
        if hasattr(student, attr):
            record.setdefault("robust", {})[attr] = int(getattr(student, attr))
    return record


def plot_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as rows of :func:`curricula.plotting.plot_solve_rates_by_task` (held-out mazes)."""
    return [{"method": r["method"], "per_task": r["per_maze"], "solve_rate": r["held_out_solve_rate"]} for r in records]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=ALL_METHODS)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps of training per method")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--preset", default="cpu", choices=sorted(PLRTeacher.presets))
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument(
        "--teacher-kwargs", default="{}", help="JSON teacher options over the preset, e.g. '{\"replay_prob\": 0.9}'"
    )
    parser.add_argument("--batched", action="store_true", help="train on the batched maze env (envs.make_batched_env)")
    parser.add_argument("--out", default="runs/ued_maze.png")
    args = parser.parse_args()
    records = []
    for method in args.methods:
        record = run(
            method,
            args.seed,
            args.steps,
            args.n_envs,
            args.preset,
            args.eval_episodes,
            overrides=json.loads(args.teacher_kwargs),
            batched=args.batched,
        )
        records.append(record)
        print(
            f"{method:>11}: held-out solve rate {record['held_out_solve_rate']:.2f}, "
            f"scoring {100 * record['scoring_fraction']:.2f} % of rollout time ({record['wall_s']} s)",
            flush=True,
        )
    title = f"held-out mazes after {args.steps} steps (seed {args.seed})"
    plot = plot_solve_rates_by_task(plot_rows(records), args.out, title)
    print(f"plot: {plot}")
    print(json.dumps({"steps": args.steps, "seed": args.seed, "plot": str(plot), "records": records}))


if __name__ == "__main__":
    main()
