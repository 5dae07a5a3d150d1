"""The composition root: one experiment = a teacher + an env id + a student + a budget.

This is the only module of :mod:`curricula` that imports :mod:`envs`, :mod:`teachers` and :mod:`agents`; it
looks components up by their registered names, so a config file or the command line can name them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from curricula.callback import CurriculumCallback
from curricula.checkpoint import CheckpointCallback, make_run_dir
from curricula.evaluation import EvalReport, PeriodicEvaluation, TestSet
from curricula.spaces import ParameterSpace, TaskSpace
from curricula.teacher import Teacher, make_teacher
from curricula.wrappers import TaskEnv

VEC_ENVS: dict[str, type[VecEnv]] = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}


@dataclass
class ExperimentConfig:
    """Everything that defines a run. Load from JSON with :meth:`from_dict` (unknown keys are errors).

    :param env_id: a registered task-aware env id (``envs.TASK_ENV_IDS``)
    :param teacher: a registered teacher name
    :param teacher_kwargs: teacher options
    :param algo: ``ppo``, ``a2c``, ``dqn`` or ``sac``
    :param student_kwargs: passed to :func:`agents.make_student` (e.g. ``policy``, ``n_steps``)
    :param total_timesteps: env steps of training
    :param n_envs: parallel envs
    :param vec_env: ``dummy`` (fastest on few cores for cheap envs) or ``subproc``
    :param seed: seeds the student, the teacher and the test set
    :param test_set: ``grid:N`` (N points per dimension, or ``grid:N,M,...``) or ``uniform:N``
    :param success_threshold: return at which an episode counts as solved, for envs without ``is_success``
    :param eval_freq: env steps between evaluations (0: only at the end)
    :param checkpoint_freq: env steps between checkpoints (0: only at the end)
    :param run_root: where run directories are created
    :param run_name: run directory name (default: teacher-env-seed-timestamp)
    :param progress_bar: show a progress bar
    """

    env_id: str = "Curricula/ObstacleGrid-v0"
    teacher: str = "random"
    teacher_kwargs: dict[str, Any] = field(default_factory=dict)
    algo: str = "ppo"
    student_kwargs: dict[str, Any] = field(default_factory=dict)
    total_timesteps: int = 100_000
    n_envs: int = 8
    vec_env: str = "dummy"
    seed: int = 0
    test_set: str = "grid:4"
    success_threshold: float | None = None
    eval_freq: int = 0
    checkpoint_freq: int = 0
    run_root: str = "runs"
    run_name: str | None = None
    progress_bar: bool = False

    def __post_init__(self) -> None:
        if self.vec_env not in VEC_ENVS:
            raise ValueError(f"vec_env must be one of {sorted(VEC_ENVS)}, got {self.vec_env!r}")
        for name in ("total_timesteps", "n_envs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("eval_freq", "checkpoint_freq", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentConfig:
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; allowed: {sorted(allowed)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ExperimentResult:
    """What a run produced."""

    run_dir: Path
    model: BaseAlgorithm
    teacher: Teacher
    report: EvalReport
    wall_time_s: float
    env_steps: int


def load_components() -> None:
    """Import the built-in envs and teachers so their registrations exist."""
    import envs  # noqa: F401
    import teachers  # noqa: F401


def make_test_set(spec: str, space: TaskSpace, seed: int) -> TestSet:
    """Parse ``grid:N``, ``grid:N,M`` or ``uniform:N``."""
    kind, _, arg = spec.partition(":")
    if not isinstance(space, ParameterSpace):
        raise ValueError(f"test_set {spec!r} needs a parameter space; this env's space is {type(space).__name__}")
    try:
        if kind == "grid":
            counts = [int(x) for x in arg.split(",")]
            return TestSet.grid(space, counts[0] if len(counts) == 1 else counts)
        if kind == "uniform":
            return TestSet.uniform(space, int(arg), seed=seed)
    except ValueError as err:
        raise ValueError(f"test_set {spec!r}: {err}") from err
    raise ValueError(f"test_set must be 'grid:N', 'grid:N,M,...' or 'uniform:N', got {spec!r}")


def make_task_env(env_id: str, success_threshold: float | None = None) -> TaskEnv:
    """``gym.make(env_id)`` under a :class:`TaskEnv`."""
    return TaskEnv(gym.make(env_id), success_threshold=success_threshold)


def task_space_of(env_id: str) -> TaskSpace:
    env = gym.make(env_id)
    space = env.get_wrapper_attr("task_space")
    env.close()
    if not isinstance(space, TaskSpace):
        raise TypeError(f"{env_id} has no task_space attribute; is it a task-aware env?")
    return space


def check_config(config: ExperimentConfig) -> None:
    """Fail fast, naming the field, on names that are not registered."""
    load_components()
    from agents import ALGORITHMS
    from curricula.teacher import registered_teachers

    if config.env_id not in gym.registry:
        raise ValueError(f"unknown env_id {config.env_id!r}; task-aware ids: {sorted(_task_env_ids())}")
    if config.teacher not in registered_teachers():
        raise ValueError(f"unknown teacher {config.teacher!r}; registered: {sorted(registered_teachers())}")
    if config.algo not in ALGORITHMS:
        raise ValueError(f"unknown algo {config.algo!r}; allowed: {sorted(ALGORITHMS)}")
    make_test_set(config.test_set, task_space_of(config.env_id), config.seed)


def build(
    config: ExperimentConfig,
) -> tuple[VecEnv, BaseAlgorithm, Teacher, CurriculumCallback]:
    """The env, student, teacher and curriculum callback of a config (nothing trained yet)."""
    check_config(config)
    from agents import make_student

    space = task_space_of(config.env_id)
    teacher = make_teacher(config.teacher, space, seed=config.seed, **config.teacher_kwargs)
    env_fns = [lambda: make_task_env(config.env_id, config.success_threshold) for _ in range(config.n_envs)]
    vec_cls: Any = VEC_ENVS[config.vec_env]
    vec_env: VecEnv = vec_cls(env_fns)
    model = make_student(config.algo, vec_env, seed=config.seed, **config.student_kwargs)
    return vec_env, model, teacher, CurriculumCallback(teacher)


def _task_env_ids() -> list[str]:
    import envs

    return list(envs.TASK_ENV_IDS)


def run_experiment(config: ExperimentConfig, extra_callbacks: list[BaseCallback] | None = None) -> ExperimentResult:
    """Train, checkpoint, evaluate on the test set; everything lands in a run directory."""
    vec_env, model, teacher, curriculum = build(config)
    name = (
        config.run_name or f"{config.teacher}-{config.env_id.split('/')[-1]}-s{config.seed}-{time.strftime('%H%M%S')}"
    )
    run_dir = make_run_dir(config.run_root, name)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    test_set = make_test_set(config.test_set, teacher.space, config.seed)
    evaluation = PeriodicEvaluation(
        lambda: make_task_env(config.env_id, config.success_threshold),
        test_set,
        eval_freq=config.eval_freq or config.total_timesteps + 1,
        log_path=run_dir / "eval.jsonl",
        success_threshold=config.success_threshold,
    )
    checkpoints = CheckpointCallback(
        run_dir, curriculum, save_freq=config.checkpoint_freq or config.total_timesteps + 1
    )
    model.set_logger(_logger(run_dir))
    start = time.perf_counter()
    model.learn(
        config.total_timesteps,
        callback=CallbackList([curriculum, evaluation, checkpoints, *(extra_callbacks or [])]),
        progress_bar=config.progress_bar,
    )
    wall = time.perf_counter() - start
    report = evaluation.run_now()  # the final evaluation also lands in eval.jsonl
    summary = {
        "teacher": config.teacher,
        "env_id": config.env_id,
        "seed": config.seed,
        "env_steps": int(model.num_timesteps),
        "wall_time_s": wall,
        "episodes": curriculum.episodes_reported,
        "test_mastered_percent": report.mastered_percent,
        "test_mean_return": float(np.mean(report.returns)),
        "config": config.to_dict(),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    vec_env.close()
    return ExperimentResult(run_dir, model, teacher, report, wall, int(model.num_timesteps))


def _logger(run_dir: Path) -> Any:
    from stable_baselines3.common.logger import configure

    return configure(str(run_dir / "logs"), ["csv", "tensorboard"])
