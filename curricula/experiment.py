"""The composition root: one experiment = a teacher + an env id + a student + a budget.

This is the only module of :mod:`curricula` that imports :mod:`envs`, :mod:`teachers` and :mod:`agents` (and a
user's own modules, named in ``imports``); the command line (:mod:`curricula.cli`) and sweeps
(:mod:`curricula.sweep`) reach every component through it. Components are looked up by their registered names, so
a config file or the command line can name them, built-in or not.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pydantic
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from curricula.callback import CurriculumCallback
from curricula.checkpoint import CheckpointCallback, latest_checkpoint, load_checkpoint, make_run_dir
from curricula.env_api import task_space_of
from curricula.evaluation import EvalReport, PeriodicEvaluation, TestSet, evaluate
from curricula.options import (
    INJECTED,
    DeclaredOption,
    OptionsError,
    constructor_error,
    declared_options,
    validate_options,
)
from curricula.plotting import CurriculumPlotCallback, plot_curves, save_teacher_plots
from curricula.registration import registered_envs
from curricula.reward_teacher import (
    EnvWrapper,
    RewardTeacher,
    make_reward_teacher,
    registered_reward_teachers,
    wrap_vec_env,
)
from curricula.serialization import load_state
from curricula.spaces import LevelSpace, ParameterSpace, TaskSpace
from curricula.task import Task
from curricula.teacher import Teacher, make_teacher, registered_teachers
from curricula.wrappers import TaskEnv

VEC_ENVS: dict[str, type[VecEnv]] = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}
#: ``vec_env`` values: the two SB3 VecEnvs over ``TaskEnv``s, or ``batched`` (``envs.make_batched_env``: the env
#: family stepped as one array program, for the ids in ``envs.BATCHED_ENV_IDS``)
VEC_ENV_KINDS = (*VEC_ENVS, "batched")


@dataclass
class ExperimentConfig:
    """Everything that defines a run. Load from JSON with :meth:`from_dict` (unknown keys are errors).

    :param env_id: a registered task-aware env id (``curricula envs`` lists them), or Gymnasium's
        ``module:EnvId`` form (the module is imported first, so its registrations exist)
    :param teacher: a registered teacher name
    :param teacher_kwargs: teacher options
    :param algo: ``ppo``, ``a2c``, ``dqn`` or ``sac``
    :param student_kwargs: passed to :func:`agents.make_student` (e.g. ``policy``, ``n_steps``)
    :param total_timesteps: env steps of training
    :param n_envs: parallel envs
    :param vec_env: ``dummy`` (fastest on few cores for cheap envs), ``subproc``, or ``batched`` (the batched
        version of a grid family, ``envs.BATCHED_ENV_IDS``: many times cheaper steps; evaluation still plays the
        MiniGrid env; no ``env_kwargs`` or reward teachers)
    :param seed: seeds the student, the teacher and the test set
    :param test_set: ``grid:N`` (N points per dimension, or ``grid:N,M,...``) or ``uniform:N``
    :param success_threshold: return at which an episode counts as solved, for envs without ``is_success``
    :param eval_freq: env steps between evaluations (0: only at the end)
    :param checkpoint_freq: env steps between checkpoints (0: only at the end)
    :param run_root: where run directories are created
    :param run_name: run directory name (default: teacher-env-seed-timestamp)
    :param progress_bar: show a progress bar
    :param env_kwargs: keyword arguments of the env's entry point (``gym.make(env_id, **env_kwargs)``)
    :param reward_teachers: reward teachers composed with the task teacher, each ``{"name": ..., "kwargs": {...}}``
        (see :mod:`curricula.reward_teacher`)
    :param imports: a user's modules to import before anything is looked up (they register their own envs and
        teachers, as rl-baselines3-zoo's ``--gym-packages``); modules in the current directory are found too
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
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    reward_teachers: list[dict[str, Any]] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.vec_env not in VEC_ENV_KINDS:
            raise OptionsError(f"vec_env must be one of {sorted(VEC_ENV_KINDS)}, got {self.vec_env!r}")
        for name in ("total_timesteps", "n_envs"):
            if getattr(self, name) < 1:
                raise OptionsError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("eval_freq", "checkpoint_freq", "seed"):
            if getattr(self, name) < 0:
                raise OptionsError(f"{name} must be >= 0, got {getattr(self, name)}")
        if isinstance(self.imports, str) or not all(isinstance(m, str) and m for m in self.imports):
            raise OptionsError(f"imports must be a list of module names, got {self.imports!r}")
        for k, spec in enumerate(self.reward_teachers):
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or set(spec) - {"name", "kwargs"}:
                raise OptionsError(
                    f"reward_teachers[{k}] must be {{'name': str, 'kwargs': {{...}}}} (kwargs optional), got {spec!r}"
                )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentConfig:
        """Validate ``data`` (types, unknown keys, bounds) and build the config; errors name the field."""
        if not isinstance(data, Mapping):
            raise OptionsError(f"a config must be a mapping of fields, got {type(data).__name__}")
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise OptionsError(f"unknown config keys {unknown}; allowed: {sorted(allowed)}")
        try:
            return _CONFIG_ADAPTER.validate_python(dict(data), strict=False)
        except pydantic.ValidationError as err:
            first = err.errors()[0]
            if not first["loc"]:  # a check of __post_init__, whose message names the field itself
                raise OptionsError(str(first["msg"]).removeprefix("Value error, ")) from None
            field = ".".join(str(part) for part in first["loc"])
            given = data.get(str(first["loc"][0]), "nothing")
            raise OptionsError(f"{field}: {first['msg'].lower()} (given {given!r})") from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_CONFIG_ADAPTER = pydantic.TypeAdapter(ExperimentConfig)


@dataclass
class ExperimentResult:
    """What a run produced."""

    run_dir: Path
    model: BaseAlgorithm
    teacher: Teacher
    report: EvalReport
    wall_time_s: float
    env_steps: int


def load_components(imports: Iterable[str] = ()) -> None:
    """Import the built-in envs, teachers and agents, then the user's ``imports``, so their registrations exist.

    The current directory is searched last (after the installed packages), so a user's ``my_env.py`` is found
    from the command line as from ``python -c``, without letting a local folder shadow Curricula's own packages.

    :param imports: module names, e.g. ``["my_envs", "lab.teachers"]``
    """
    import agents  # noqa: F401 - registers the GROOVE reference agents
    import envs  # noqa: F401 - registers the Curricula/* env ids
    import teachers  # noqa: F401 - registers the built-in teachers

    for module in imports:
        import_user_module(module)


def import_user_module(module: str) -> None:
    """Import a user's module by name; a missing one is a ``ValueError`` naming it (not a traceback)."""
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ValueError(
            f"imports: cannot import module {module!r} ({err}); give a module name importable from the current "
            "directory or the environment (a file my_env.py is 'my_env')"
        ) from err


def resolve_env_id(env_id: str) -> str:
    """The registered id of ``env_id``, importing the module of Gymnasium's ``module:EnvId`` form first."""
    module, sep, bare_id = env_id.partition(":")
    if not sep:
        return env_id
    import_user_module(module)
    return bare_id


def task_env_ids() -> list[str]:
    """Every registered task-aware env id, built-in and user-registered (after :func:`load_components`)."""
    return registered_envs()


def limit_worker_threads() -> None:
    """One torch/BLAS thread per worker process (sweeps run one experiment per process)."""
    from agents import limit_threads

    limit_threads(1)


def make_test_set(spec: str, space: TaskSpace, seed: int) -> TestSet:
    """Parse ``grid:N``, ``grid:N,M`` or ``uniform:N`` (a level space: ``uniform:N`` levels of its generator)."""
    kind, _, arg = spec.partition(":")
    if isinstance(space, LevelSpace):
        if kind != "uniform" or not arg.isdigit() or int(arg) < 1:
            raise ValueError(f"test_set: a level space ({type(space).__name__}) takes 'uniform:N', got {spec!r}")
        rng = np.random.default_rng(seed)
        levels = [Task(id=i, level=space.generate(rng)) for i in range(int(arg))]
        return TestSet.from_tasks(levels, name="uniform")
    if not isinstance(space, ParameterSpace):
        raise ValueError(f"test_set {spec!r} needs a parameter or level space; this env's is {type(space).__name__}")
    try:
        if kind == "grid":
            counts = [int(x) for x in arg.split(",")]
            return TestSet.grid(space, counts[0] if len(counts) == 1 else counts)
        if kind == "uniform":
            return TestSet.uniform(space, int(arg), seed=seed)
    except ValueError as err:
        raise ValueError(f"test_set {spec!r}: {err}") from err
    raise ValueError(f"test_set must be 'grid:N', 'grid:N,M,...' or 'uniform:N', got {spec!r}")


@dataclass(frozen=True)
class TaskEnvFactory:
    """Builds ``TaskEnv(gym.make(env_id))``; picklable, so subprocess workers can build it too.

    A worker process imports the user's ``imports`` before making the env: a user's env id is registered there
    as well as here (with ``vec_env="subproc"`` a user's script needs the usual ``if __name__ == "__main__":``).

    :param env_id: a registered id or ``module:EnvId``
    :param success_threshold: see :class:`~curricula.wrappers.TaskEnv`
    :param imports: the user's modules that register the env
    :param wrappers: the reward teachers' env-worker wrappers, applied above the ``TaskEnv`` in order
    :param env_kwargs: keyword arguments of the env's entry point
    """

    env_id: str
    success_threshold: float | None = None
    imports: tuple[str, ...] = ()
    wrappers: tuple[EnvWrapper, ...] = ()
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self) -> gym.Env[Any, Any]:
        for module in self.imports:
            import_user_module(module)
        # SB3's Monitor right above the env records the env's own returns (SB3's rollout/ep_rew_mean)
        base = Monitor(gym.make(resolve_env_id(self.env_id), **self.env_kwargs))
        env: gym.Env[Any, Any] = TaskEnv(base, success_threshold=self.success_threshold)
        for wrapper in self.wrappers:
            env = wrapper(env)
        return env


def check_config(config: ExperimentConfig) -> None:
    """Fail fast, naming the field, before anything is built: registered names, and every component's options
    against what it declares (:mod:`curricula.options`): unknown names, wrong types, unknown presets."""
    load_components(config.imports)
    from agents import ALGORITHMS

    env_id = resolve_env_id(config.env_id)
    if env_id not in gym.registry:
        raise OptionsError(f"env_id: unknown env {config.env_id!r}; task-aware ids: {sorted(task_env_ids())}")
    if config.teacher not in registered_teachers():
        raise OptionsError(f"teacher: unknown teacher {config.teacher!r}; registered: {sorted(registered_teachers())}")
    if config.algo not in ALGORITHMS:
        raise OptionsError(f"algo: unknown algo {config.algo!r}; allowed: {sorted(ALGORITHMS)}")
    for k, spec in enumerate(config.reward_teachers):
        if spec["name"] not in registered_reward_teachers():
            raise OptionsError(
                f"reward_teachers[{k}]: unknown reward teacher {spec['name']!r}; "
                f"registered: {sorted(registered_reward_teachers())}"
            )
    teacher_cls = registered_teachers()[config.teacher]
    teacher_values = dict(config.teacher_kwargs)
    preset = teacher_values.pop("preset", None)
    if preset is not None and preset not in teacher_cls.presets:
        allowed = ", ".join(repr(p) for p in sorted(teacher_cls.presets)) or "none (this teacher has no presets)"
        raise OptionsError(f"teacher_kwargs.preset: unknown preset {preset!r} for {config.teacher}; allowed: {allowed}")
    validate_options(teacher_values, declared_options(teacher_cls), "teacher_kwargs")
    validate_options(config.student_kwargs, student_options(config.algo), "student_kwargs")
    validate_options(config.env_kwargs, env_options(env_id), "env_kwargs", open_ended=env_accepts_more(env_id))
    for k, spec in enumerate(config.reward_teachers):
        reward_cls = registered_reward_teachers()[spec["name"]]
        validate_options(spec.get("kwargs", {}), declared_options(reward_cls), f"reward_teachers[{k}].kwargs")
    if config.vec_env == "batched":
        check_batched(config)
    space = _constructed("env_kwargs", env_options(env_id), config.env_kwargs, lambda: _task_space(config))
    try:
        make_test_set(config.test_set, space, config.seed)
    except ValueError as err:
        raise OptionsError(str(err)) from None


def check_batched(config: ExperimentConfig) -> None:
    """``vec_env="batched"`` needs an env with a batched version, and nothing that wraps single envs."""
    import envs

    if config.env_id not in envs.BATCHED_ENV_IDS:
        raise OptionsError(
            f"env_id: {config.env_id!r} has no batched version (vec_env='batched'); batched ids: "
            f"{list(envs.BATCHED_ENV_IDS)}; or use vec_env='dummy'"
        )
    for name in ("env_kwargs", "reward_teachers"):
        if getattr(config, name):
            raise OptionsError(f"{name}: not supported with vec_env='batched' (it wraps single envs); use 'dummy'")


def student_options(algo: str) -> dict[str, DeclaredOption]:
    """What ``student_kwargs`` may hold for ``algo``: :func:`agents.make_student`'s options and the SB3
    algorithm's constructor options that ``make_student`` does not set itself."""
    from agents import ALGORITHMS, make_student

    set_by_factory = frozenset({"policy", "env", "seed", "device", "policy_kwargs", "verbose", "_init_setup_model"})
    return {
        **declared_options(ALGORITHMS[algo], skip=INJECTED | set_by_factory),
        **declared_options(make_student),
    }


def _env_entry_point(env_id: str) -> Any:
    entry = gym.spec(env_id).entry_point
    return gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry


def env_options(env_id: str) -> dict[str, DeclaredOption]:
    """What ``env_kwargs`` may hold: the keyword options of the env id's entry point (those its registration
    sets count as given: their registered values are the defaults)."""
    options = declared_options(_env_entry_point(env_id), skip=INJECTED | {"render_mode"})
    registered = gym.spec(env_id).kwargs
    return {
        name: dataclasses.replace(option, default=registered[name]) if name in registered else option
        for name, option in options.items()
    }


def env_accepts_more(env_id: str) -> bool:
    """Whether the env's entry point passes ``**kwargs`` on to something that cannot be inspected (a function
    with ``**kwargs``), so that names it does not declare may still be valid."""
    entry = _env_entry_point(env_id)
    if isinstance(entry, type):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(entry).parameters.values())


def _task_space(config: ExperimentConfig) -> TaskSpace:
    env = gym.make(resolve_env_id(config.env_id), **config.env_kwargs)
    try:
        return task_space_of(env)
    finally:
        env.close()


def _constructed(path: str, options: Mapping[str, DeclaredOption], values: Mapping[str, Any], build: Any) -> Any:
    """``build()``, with a component's own complaint about its options reported under ``path``."""
    try:
        return build()
    except (ValueError, TypeError, AssertionError) as err:
        if isinstance(err, OptionsError):
            raise
        raise constructor_error(err, options, values, path) from err


def env_factory(config: ExperimentConfig, reward_teachers: Sequence[RewardTeacher] = ()) -> TaskEnvFactory:
    """The factory of the config's envs: training envs get the reward teachers' env wrappers, evaluation envs none."""
    wrappers = tuple(w for w in (t.env_wrapper() for t in reward_teachers) if w is not None)
    return TaskEnvFactory(config.env_id, config.success_threshold, tuple(config.imports), wrappers, config.env_kwargs)


def build(
    config: ExperimentConfig,
) -> tuple[VecEnv, BaseAlgorithm, Teacher, CurriculumCallback]:
    """The env, student, teacher and curriculum callback of a config (nothing trained yet).

    Reward teachers are built from ``config.reward_teachers`` (seeded from ``config.seed``), their env wrappers go
    into every training env, their VecEnv wrappers around the training VecEnv, and the callback carries them.
    """
    check_config(config)
    from agents import make_student

    # Each component is built under its config path: a constructor's complaint about an option names that path.
    space = _task_space(config)
    teacher_cls = registered_teachers()[config.teacher]
    teacher = _constructed(
        "teacher_kwargs",
        declared_options(teacher_cls),
        config.teacher_kwargs,
        lambda: make_teacher(config.teacher, space, seed=config.seed, **config.teacher_kwargs),
    )
    reward_teachers = [
        _constructed(
            f"reward_teachers[{k}].kwargs",
            declared_options(registered_reward_teachers()[spec["name"]]),
            spec.get("kwargs", {}),
            lambda spec=spec: make_reward_teacher(spec["name"], seed=config.seed, **spec.get("kwargs", {})),
        )
        for k, spec in enumerate(config.reward_teachers)
    ]
    vec_env: VecEnv
    if config.vec_env == "batched":
        import envs

        vec_env = envs.make_batched_env(config.env_id, config.n_envs, seed=config.seed)
    else:
        vec_cls: Any = VEC_ENVS[config.vec_env]
        vec_env = wrap_vec_env(vec_cls([env_factory(config, reward_teachers)] * config.n_envs), reward_teachers)
    model = _constructed(
        "student_kwargs",
        student_options(config.algo),
        config.student_kwargs,
        lambda: make_student(config.algo, vec_env, seed=config.seed, **config.student_kwargs),
    )
    return vec_env, model, teacher, CurriculumCallback(teacher, reward_teachers=reward_teachers)


def run_experiment(config: ExperimentConfig, extra_callbacks: list[BaseCallback] | None = None) -> ExperimentResult:
    """Train, checkpoint, evaluate on the test set; everything lands in a run directory.

    The run directory holds ``config.json``, ``episodes.jsonl`` (every episode result, as the teacher heard it),
    ``eval.jsonl``, ``checkpoints/``, ``logs/`` (CSV and TensorBoard, with the curriculum plots as images at each
    evaluation for 2-D parameter spaces), ``plots/`` and ``summary.json``.
    """
    vec_env, model, _, curriculum = build(config)
    name = (
        config.run_name or f"{config.teacher}-{config.env_id.split('/')[-1]}-s{config.seed}-{time.strftime('%H%M%S')}"
    )
    run_dir = make_run_dir(config.run_root, name)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    return _train(config, run_dir, vec_env, model, curriculum, "logs", extra_callbacks, reset_num_timesteps=True)


def load_run_config(run_dir: str | Path) -> ExperimentConfig:
    """The config a run directory was trained with (its ``config.json``)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ValueError(f"{run_dir} is not a run directory: it has no config.json")
    return ExperimentConfig.from_dict(json.loads(path.read_text()))


def resume_experiment(
    run_dir: str | Path, total_timesteps: int | None = None, extra_callbacks: list[BaseCallback] | None = None
) -> ExperimentResult:
    """Continue a run from its latest checkpoint, exactly as :func:`~curricula.checkpoint.load_checkpoint` does.

    The teacher (and every reward teacher) resumes from its saved state, the envs first replay the tasks that were
    in flight, and the step count continues; training stops at the config's ``total_timesteps`` (or the one given).

    :param run_dir: a run directory written by :func:`run_experiment`
    :param total_timesteps: the new total budget, in env steps (default: the config's)
    """
    from agents import ALGORITHMS

    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    if total_timesteps is not None:
        config = dataclasses.replace(config, total_timesteps=total_timesteps)
    vec_env, _, teacher, fresh = build(config)
    checkpoint = load_checkpoint(
        run_dir, ALGORITHMS[config.algo], vec_env, teacher, reward_teachers=fresh.reward_teachers
    )
    remaining = config.total_timesteps - checkpoint.num_timesteps
    if remaining <= 0:
        vec_env.close()
        raise ValueError(
            f"total_timesteps: the run has {checkpoint.num_timesteps} steps already; give a larger total to resume"
        )
    return _train(
        config,
        run_dir,
        vec_env,
        checkpoint.model,
        checkpoint.curriculum,
        f"logs/resumed_{checkpoint.num_timesteps}",
        extra_callbacks,
        reset_num_timesteps=False,
        steps=remaining,
    )


def _train(
    config: ExperimentConfig,
    run_dir: Path,
    vec_env: VecEnv,
    model: BaseAlgorithm,
    curriculum: CurriculumCallback,
    log_folder: str,
    extra_callbacks: list[BaseCallback] | None,
    reset_num_timesteps: bool,
    steps: int | None = None,
) -> ExperimentResult:
    """Train with evaluation, checkpoints, the episode log and the curriculum plots; write ``summary.json``."""
    teacher = curriculum.teacher
    curriculum.results_log = run_dir / "episodes.jsonl"
    test_set = make_test_set(config.test_set, teacher.space, config.seed)
    # eval_freq / checkpoint_freq 0 mean "only at the end": the periodic trigger is off, and the checkpoint
    # callback's end-of-training save and the final evaluation below are the only ones.
    evaluation = PeriodicEvaluation(
        env_factory(config),
        test_set,
        eval_freq=config.eval_freq,
        log_path=run_dir / "eval.jsonl",
        success_threshold=config.success_threshold,
    )
    callbacks: list[BaseCallback] = [
        curriculum,
        evaluation,
        CheckpointCallback(run_dir, curriculum, save_freq=config.checkpoint_freq),
    ]
    if isinstance(teacher.space, ParameterSpace) and teacher.space.ndim == 2:
        callbacks.append(CurriculumPlotCallback(curriculum, teacher.space, run_dir, every=config.eval_freq))
    model.set_logger(_logger(run_dir / log_folder))
    start = time.perf_counter()
    try:
        model.learn(
            steps if steps is not None else config.total_timesteps,
            callback=CallbackList([*callbacks, *(extra_callbacks or [])]),
            progress_bar=config.progress_bar,
            reset_num_timesteps=reset_num_timesteps,
        )
    finally:
        teacher.close()
        for reward_teacher in curriculum.reward_teachers:
            reward_teacher.close()
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


def evaluate_run(
    run_dir: str | Path, test_set: str | None = None, episodes_per_task: int = 1, progress_bar: bool = False
) -> EvalReport:
    """Evaluate the latest saved student of a run on a test set (default: the run's own).

    :param run_dir: a run directory
    :param test_set: ``grid:N``, ``grid:N,M`` or ``uniform:N`` (default: the config's)
    :param episodes_per_task: episodes per test task
    :param progress_bar: show a progress bar over the test tasks
    """
    from agents import ALGORITHMS

    config = load_run_config(run_dir)
    load_components(config.imports)
    model = ALGORITHMS[config.algo].load(latest_checkpoint(run_dir) / "model.zip", device="cpu")
    env = env_factory(config)()
    tasks = make_test_set(test_set or config.test_set, task_space_of(env), config.seed)
    report = evaluate(
        model,
        env,
        tasks,
        success_threshold=config.success_threshold,
        episodes_per_task=episodes_per_task,
        progress_bar=progress_bar,
    )
    env.close()
    return report


def plot_run(run_dir: str | Path) -> list[Path]:
    """Draw a run's plots into ``run_dir/plots``: the curriculum (2-D parameter spaces: where the teacher sampled
    over time, and a mixture teacher's last mixture) and the learning curves (test mastery over training, training
    return). Returns the files written."""
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    load_components(config.imports)
    space = task_space_of(resolve_env_id(config.env_id))
    paths = []
    episodes = _read_jsonl(run_dir / "episodes.jsonl")
    if isinstance(space, ParameterSpace) and space.ndim == 2 and episodes:
        teacher = make_teacher(config.teacher, space, seed=config.seed, **config.teacher_kwargs)
        teacher.load_state_dict(load_state(latest_checkpoint(run_dir) / "teacher.npz"))
        tasks = np.array([space.to_vector(e["task"]["params"]) for e in episodes])
        paths += save_teacher_plots(teacher, space, run_dir, len(episodes), tasks=tasks)
        teacher.close()
    evaluations = _read_jsonl(run_dir / "eval.jsonl")
    if evaluations:
        curve = ([e["timesteps"] for e in evaluations], [e["mastered_percent"] for e in evaluations])
        paths.append(plot_curves({config.teacher: [curve]}, run_dir / "plots" / "test_mastery.png", "% mastered"))
    training = _training_return_curves(run_dir)
    if training:
        paths.append(
            plot_curves({config.teacher: training}, run_dir / "plots" / "train_return.png", "mean episode return")
        )
    return paths


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _training_return_curves(run_dir: Path) -> list[tuple[list[float], list[float]]]:
    """``(timesteps, rollout/ep_rew_mean)`` from every ``progress.csv`` of a run (the first run and resumes)."""
    import csv

    steps: list[float] = []
    returns: list[float] = []
    for path in sorted((run_dir / "logs").rglob("progress.csv")):
        with open(path) as handle:
            for row in csv.DictReader(handle):
                if row.get("rollout/ep_rew_mean") and row.get("time/total_timesteps"):
                    steps.append(float(row["time/total_timesteps"]))
                    returns.append(float(row["rollout/ep_rew_mean"]))
    order = np.argsort(steps, kind="stable")
    return [([steps[i] for i in order], [returns[i] for i in order])] if steps else []


def run_in_worker(config_dict: dict[str, Any]) -> dict[str, Any]:
    """Run one experiment in a worker process (one torch thread) and return its summary with ``run_dir``.

    Sweeps send this function and a JSON dict to their workers, so only plain data crosses the process boundary.
    """
    limit_worker_threads()
    result = run_experiment(ExperimentConfig.from_dict(config_dict))
    summary: dict[str, Any] = json.loads((result.run_dir / "summary.json").read_text())
    summary["run_dir"] = str(result.run_dir)
    return summary


def _logger(folder: Path) -> Any:
    from stable_baselines3.common.logger import configure

    return configure(str(folder), ["csv", "tensorboard"])
