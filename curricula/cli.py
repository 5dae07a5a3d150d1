"""``curricula`` command line: train from flags or a JSON config, list components, serve the embedded LLM."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curricula.experiment import ExperimentConfig, check_config, load_components, run_experiment


def _train_parser(subparsers: Any) -> None:
    train = subparsers.add_parser("train", help="train a student with a teacher on a task-aware env")
    train.add_argument("--config", type=Path, help="a JSON ExperimentConfig; flags given explicitly override it")
    defaults = ExperimentConfig()
    train.add_argument("--env-id", default=None, help=f"task-aware env id (default {defaults.env_id})")
    train.add_argument("--teacher", default=None, help=f"registered teacher (default {defaults.teacher})")
    train.add_argument("--teacher-kwargs", type=json.loads, default=None, help="JSON dict of teacher options")
    train.add_argument("--algo", default=None, help=f"ppo, a2c, dqn or sac (default {defaults.algo})")
    train.add_argument("--student-kwargs", type=json.loads, default=None, help="JSON dict for agents.make_student")
    train.add_argument("--total-timesteps", type=int, default=None)
    train.add_argument("--n-envs", type=int, default=None)
    train.add_argument("--vec-env", default=None, choices=["dummy", "subproc"])
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--test-set", default=None, help="grid:N, grid:N,M or uniform:N")
    train.add_argument("--success-threshold", type=float, default=None)
    train.add_argument("--eval-freq", type=int, default=None)
    train.add_argument("--checkpoint-freq", type=int, default=None)
    train.add_argument("--run-root", default=None)
    train.add_argument("--run-name", default=None)
    train.add_argument("--progress-bar", action="store_true", default=None)


def _config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    data: dict[str, Any] = {}
    if args.config is not None:
        loaded = json.loads(args.config.read_text())
        if not isinstance(loaded, dict):
            raise ValueError(f"{args.config} must hold a JSON object")
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
    return ExperimentConfig.from_dict(data)


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
    sweep.add_argument("--ray-address", default=None)
    subparsers.add_parser("teachers", help="list registered teachers")
    subparsers.add_parser("envs", help="list registered task-aware env ids")
    llm_handler = None
    try:
        from curricula.llm.cli import add_llm_parser

        llm_handler = add_llm_parser(subparsers)
    except ImportError:  # the LLM extra is optional
        llm_handler = None
    args = parser.parse_args(argv)
    load_components()
    if args.command == "teachers":
        from curricula.teacher import registered_teachers

        for name, cls in sorted(registered_teachers().items()):
            print(f"{name:20s} {cls.__name__}  (feedback: {cls.feedback})")
        return 0
    if args.command == "envs":
        import envs

        print("\n".join(envs.TASK_ENV_IDS))
        return 0
    if args.command == "train":
        try:
            config = _config_from_args(args)
            check_config(config)
        except (ValueError, TypeError) as err:
            parser.error(str(err))
        result = run_experiment(config)
        print(json.dumps(json.loads((result.run_dir / "summary.json").read_text())))
        return 0
    if args.command == "sweep":
        from curricula.sweep import aggregate, expand_grid, run_sweep

        try:
            base = ExperimentConfig.from_dict(json.loads(args.config.read_text()) if args.config else {})
            configs = expand_grid(base, args.grid)
            for config in configs:
                check_config(config)
        except (ValueError, TypeError) as err:
            parser.error(str(err))
        summaries = run_sweep(configs, backend=args.backend, workers=args.workers, address=args.ray_address)
        swept = [k for k in args.grid if k != "seed"]
        for row in aggregate(summaries, swept):
            print(json.dumps(row))
        print(json.dumps({"runs": len(summaries), "groups": aggregate(summaries, swept)}))
        return 0
    if llm_handler is not None and args.command == "llm":
        return int(llm_handler(args))
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
