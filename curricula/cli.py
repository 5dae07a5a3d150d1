"""``curricula`` command line: train from flags or a JSON config, list and check components, serve the LLM.

Every command that looks components up takes ``--import MODULE`` (repeatable): a user's module that registers
its own envs (:func:`curricula.register_env`) and teachers (:func:`curricula.register_teacher`). Components are
reached through the composition root, :mod:`curricula.experiment`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curricula.experiment import (
    VEC_ENV_KINDS,
    ExperimentConfig,
    check_config,
    evaluate_run,
    load_components,
    plot_run,
    registered_reward_teachers,
    registered_teachers,
    resume_experiment,
    run_experiment,
    task_env_ids,
)
from curricula.options import OptionsError, describe


def _add_imports(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=None,
        metavar="MODULE",
        help="a module that registers your own envs/teachers (repeatable; found in the current directory too)",
    )


def _train_parser(subparsers: Any) -> None:
    train = subparsers.add_parser("train", help="train a student with a teacher on a task-aware env")
    train.add_argument(
        "--config", type=Path, help="a JSON or YAML ExperimentConfig; flags and overrides given explicitly override it"
    )
    train.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. seed=3 teacher_kwargs.fit_rate=100 (values are read as JSON, else as text)",
    )
    defaults = ExperimentConfig()
    train.add_argument("--env-id", default=None, help=f"task-aware env id (default {defaults.env_id})")
    train.add_argument("--teacher", default=None, help=f"registered teacher (default {defaults.teacher})")
    train.add_argument("--teacher-kwargs", type=json.loads, default=None, help="JSON dict of teacher options")
    train.add_argument("--algo", default=None, help=f"ppo, a2c, dqn or sac (default {defaults.algo})")
    train.add_argument("--student-kwargs", type=json.loads, default=None, help="JSON dict for agents.make_student")
    train.add_argument("--total-timesteps", type=int, default=None)
    train.add_argument("--n-envs", type=int, default=None)
    train.add_argument("--vec-env", default=None, choices=list(VEC_ENV_KINDS))
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--test-set", default=None, help="grid:N, grid:N,M or uniform:N")
    train.add_argument("--success-threshold", type=float, default=None)
    train.add_argument("--eval-freq", type=int, default=None)
    train.add_argument("--checkpoint-freq", type=int, default=None)
    train.add_argument("--run-root", default=None)
    train.add_argument("--run-name", default=None)
    train.add_argument("--progress-bar", action="store_true", default=None)
    train.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="RUN_DIR",
        help="continue RUN_DIR from its latest checkpoint (with its config; --total-timesteps may raise the budget)",
    )
    _add_imports(train)


def _config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    data: dict[str, Any] = {}
    if args.config is not None:
        loaded = _read_json(args.config)
        if not isinstance(loaded, dict):
            raise ValueError(f"config file {args.config} must hold a JSON or YAML object (a mapping of fields)")
        data.update(loaded)
    for key in [
        "env_id",
        "teacher",
        "teacher_kwargs",
        "algo",
        "student_kwargs",
        "total_timesteps",
        "n_envs",
        "vec_env",
        "seed",
        "test_set",
        "success_threshold",
        "eval_freq",
        "checkpoint_freq",
        "run_root",
        "run_name",
        "progress_bar",
    ]:
        value = getattr(args, key)
        if value is not None:
            data[key] = value
    if args.imports:
        data["imports"] = [*data.get("imports", []), *args.imports]
    for override in args.overrides:
        apply_override(data, override)
    return ExperimentConfig.from_dict(data)


def apply_override(data: dict[str, Any], override: str) -> None:
    """Apply ``key=value`` (``key`` may be dotted into a mapping: ``teacher_kwargs.fit_rate=100``) to ``data``."""
    key, sep, text = override.partition("=")
    if not sep or not key:
        raise ValueError(f"override {override!r}: expected KEY=VALUE, e.g. seed=3 or teacher_kwargs.fit_rate=100")
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError:
        value = text
    *parents, leaf = key.split(".")
    target = data
    for k, part in enumerate(parents):
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"override {override!r}: {'.'.join(parents[: k + 1])} is not a mapping")
        target = child
    target[leaf] = value


def describe_teacher(name: str) -> str:
    """``curricula teachers --describe NAME``: what the teacher is, its options and its presets."""
    if name in registered_reward_teachers():
        reward_cls = registered_reward_teachers()[name]
        return describe(reward_cls, f"{name}  ({reward_cls.__module__}.{reward_cls.__name__}, reward teacher)")
    cls = registered_teachers()[name]
    lines = [describe(cls, f"{name}  ({cls.__module__}.{cls.__name__}, feedback: {cls.feedback})")]
    if cls.presets:
        lines.append("\npresets (preset=NAME; explicit options override them):")
        for preset, values in cls.presets.items():
            lines.append(f"  {preset}: " + ", ".join(f"{k}={v!r}" for k, v in values.items()))
    return "\n".join(lines)


def _read_json(path: Path) -> Any:
    """A JSON or (by suffix) YAML config file; a missing file or a syntax error is a one-line ValueError."""
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise ValueError(f"config file {path} does not exist") from err
    except IsADirectoryError as err:
        raise ValueError(f"config file {path} is a directory") from err
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            raise ValueError(f"config file {path}: invalid YAML{where}: {getattr(err, 'problem', err)}") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            f"config file {path}: invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        ) from err


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="curricula", description="Teacher-student curriculum RL")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _train_parser(subparsers)
    sweep = subparsers.add_parser("sweep", help="run a base config crossed with a grid (teachers x seeds x ...)")
    sweep.add_argument("--config", type=Path, help="base JSON ExperimentConfig")
    sweep.add_argument(
        "--grid", type=json.loads, required=True, help='e.g. \'{"teacher": ["random"], "seed": [0, 1]}\''
    )
    sweep.add_argument("--backend", default="local", choices=["local", "ray"])
    sweep.add_argument("--workers", type=int, default=1, help="parallel local processes")
    sweep.add_argument(
        "--address",
        "--ray-address",
        dest="address",
        default=None,
        help="an existing Ray cluster (e.g. ray://host:10001 or auto); default: a local Ray instance",
    )
    _add_imports(sweep)
    evaluation = subparsers.add_parser("eval", help="evaluate a run's latest saved student on a test set")
    evaluation.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    evaluation.add_argument("--test-set", default=None, help="grid:N, grid:N,M or uniform:N (default: the run's)")
    evaluation.add_argument("--episodes-per-task", type=int, default=1)
    plot = subparsers.add_parser("plot", help="draw a run's curriculum plots and learning curves into RUN_DIR/plots")
    plot.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    teachers_parser = subparsers.add_parser("teachers", help="list registered teachers (built-in and imported)")
    teachers_parser.add_argument(
        "--describe", metavar="NAME", default=None, help="print a teacher's options, defaults, presets and paper"
    )
    _add_imports(teachers_parser)
    _add_imports(subparsers.add_parser("envs", help="list registered task-aware env ids (built-in and imported)"))
    check = subparsers.add_parser(
        "check",
        help="run the env and teacher contract checks on the components your modules register",
        description="Without --env/--teacher: every env and teacher registered by the --import modules "
        "(with no --import: every registered one).",
    )
    _add_imports(check)
    check.add_argument("--env", action="append", default=[], metavar="ENV_ID", help="check this env id (repeatable)")
    check.add_argument("--teacher", action="append", default=[], metavar="NAME", help="check this teacher")
    llm_handler = None
    try:
        from curricula.llm.cli import add_llm_parser

        llm_handler = add_llm_parser(subparsers)
    except ImportError:  # the LLM extra is optional
        llm_handler = None
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(parser, args)
    try:
        load_components(getattr(args, "imports", None) or ())
    except ValueError as err:
        parser.error(str(err))
    if args.command == "teachers" and args.describe is not None:
        known = sorted([*registered_teachers(), *registered_reward_teachers()])
        if args.describe not in known:
            parser.error(f"--describe: unknown teacher {args.describe!r}; registered: {known}")
        print(describe_teacher(args.describe))
        return 0
    if args.command == "teachers":
        for name, cls in sorted(registered_teachers().items()):
            print(f"{name:20s} {cls.__module__}.{cls.__name__}  (feedback: {cls.feedback})")
        for name, reward_cls in sorted(registered_reward_teachers().items()):
            print(f"{name:20s} {reward_cls.__module__}.{reward_cls.__name__}  (reward teacher)")
        return 0
    if args.command == "envs":
        print("\n".join(task_env_ids()))
        return 0
    if args.command == "train":
        if args.resume is not None:
            try:
                result = resume_experiment(args.resume, total_timesteps=args.total_timesteps)
            except (ValueError, TypeError, FileNotFoundError) as err:
                parser.error(f"--resume {args.resume}: {err}")
        else:
            try:
                config = _config_from_args(args)
                check_config(config)
                result = run_experiment(config)
            except OptionsError as err:  # a component's own check of an option, at construction
                parser.error(str(err))
            except (ValueError, TypeError) as err:
                if "config" in locals():
                    raise  # the config was valid: this is not a config mistake, so show where it happened
                parser.error(str(err))
        print(json.dumps(json.loads((result.run_dir / "summary.json").read_text())))
        return 0
    if args.command == "eval":
        try:
            report = evaluate_run(
                args.run_dir, args.test_set, episodes_per_task=args.episodes_per_task, progress_bar=True
            )
        except (ValueError, TypeError, FileNotFoundError) as err:
            parser.error(f"eval {args.run_dir}: {err}")
        print(json.dumps({"run_dir": str(args.run_dir), **report.to_json()}))
        return 0
    if args.command == "plot":
        try:
            paths = plot_run(args.run_dir)
        except (ValueError, TypeError, FileNotFoundError) as err:
            parser.error(f"plot {args.run_dir}: {err}")
        print(json.dumps({"run_dir": str(args.run_dir), "plots": [str(p) for p in paths]}))
        return 0
    if args.command == "sweep":
        from curricula.sweep import aggregate, expand_grid, run_sweep, write_sweep_report

        try:
            base_data = _read_json(args.config) if args.config else {}
            if args.imports:
                base_data["imports"] = [*base_data.get("imports", []), *args.imports]
            base = ExperimentConfig.from_dict(base_data)
            configs = expand_grid(base, args.grid)
            for config in configs:
                check_config(config)
        except (ValueError, TypeError) as err:
            parser.error(str(err))
        summaries = run_sweep(configs, backend=args.backend, workers=args.workers, address=args.address)
        swept = [k for k in args.grid if k != "seed"]
        groups = aggregate(summaries, swept)
        files = write_sweep_report(summaries, swept, Path(base.run_root) / (base.run_name or "sweep"))
        print(files["markdown"].read_text())
        print(json.dumps({"runs": len(summaries), "groups": groups, **{k: str(v) for k, v in files.items()}}))
        return 0
    if llm_handler is not None and args.command == "llm":
        return int(llm_handler(args))
    parser.error(f"unknown command {args.command!r}")
    return 2


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``curricula check``: contract checks on chosen or newly imported components; exit 1 if any fails."""
    from curricula.contracts import check_env_contract, check_teacher_contract

    before_envs, before_teachers = set(), set()
    try:
        if args.imports:
            load_components()
            before_envs, before_teachers = set(task_env_ids()), set(registered_teachers())
        load_components(args.imports or ())
    except ValueError as err:
        parser.error(str(err))
    if args.env or args.teacher:  # named components only
        env_ids, teacher_names = list(args.env), list(args.teacher)
    else:  # those the --import modules registered (with no --import: every registered one)
        env_ids = [e for e in task_env_ids() if e not in before_envs]
        teacher_names = [t for t in registered_teachers() if t not in before_teachers]
    for env_id in env_ids:
        if env_id not in task_env_ids():
            parser.error(f"--env {env_id!r} is not a registered task-aware env; registered: {sorted(task_env_ids())}")
    for name in teacher_names:
        if name not in registered_teachers():
            parser.error(f"--teacher {name!r} is not registered; registered: {sorted(registered_teachers())}")
    if not env_ids and not teacher_names:
        parser.error("nothing to check: the --import modules registered no env and no teacher")
    outcomes = [
        *(o for e in env_ids for o in check_env_contract(e)),
        *(o for t in teacher_names for o in check_teacher_contract(t)),
    ]
    for outcome in outcomes:
        print(outcome.line())
    failed = sum(not o.passed for o in outcomes)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
