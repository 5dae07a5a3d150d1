"""Sweeps: one base config crossed with a grid of overrides (teachers x seeds x ...), run locally or on Ray.

The local backend runs experiments in spawned worker processes (one torch thread each); the Ray backend sends each
experiment to a Ray cluster as a one-CPU task (``pip install 'curricula-rl[ray]'``; connect with ``address``).
Results are the runs' ``summary.json`` dicts, grouped and aggregated by every swept key except the seed.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from curricula.experiment import ExperimentConfig, check_config, run_in_worker

BACKENDS = ("local", "ray")


def expand_grid(base: ExperimentConfig, grid: Mapping[str, Sequence[Any]]) -> list[ExperimentConfig]:
    """Every combination of the grid's values applied to ``base`` (each gets its own run name).

    :param base: the config every run starts from
    :param grid: config field -> values, e.g. ``{"teacher": ["random", "alp_gmm"], "seed": [0, 1, 2]}``
    """
    fields = base.to_dict()
    for key, values in grid.items():
        if key not in fields:
            raise ValueError(f"grid key {key!r} is not a config field; allowed: {sorted(fields)}")
        if isinstance(values, str) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}")
    keys = list(grid)
    configs = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        data = {**fields, **dict(zip(keys, combo, strict=True))}
        label = "-".join(f"{k}={v}" for k, v in zip(keys, combo, strict=True)).replace("/", "_")
        data["run_name"] = f"{base.run_name or 'sweep'}/{label}"
        configs.append(ExperimentConfig.from_dict(data))
    return configs


def run_sweep(
    configs: Sequence[ExperimentConfig], backend: str = "local", workers: int = 1, address: str | None = None
) -> list[dict[str, Any]]:
    """Run every config; returns their summaries in the configs' order.

    :param configs: from :func:`expand_grid`
    :param backend: ``local`` (spawned processes) or ``ray``
    :param workers: parallel local processes (ignored by Ray, which schedules one CPU per run)
    :param address: Ray cluster address (None starts or joins a local Ray instance)
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    for config in configs:
        check_config(config)
    payloads = [c.to_dict() for c in configs]
    if backend == "ray":
        try:
            import ray
        except ImportError as err:
            raise ImportError("the ray backend needs the 'ray' extra: pip install 'curricula-rl[ray]'") from err
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        remote = ray.remote(num_cpus=1)(run_in_worker)
        return list(ray.get([remote.remote(p) for p in payloads]))
    if workers == 1:
        return [run_in_worker(p) for p in payloads]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(run_in_worker, payloads))


def aggregate(
    summaries: Sequence[Mapping[str, Any]], keys: Sequence[str], metric: str = "test_mastered_percent"
) -> list[dict[str, Any]]:
    """Mean, std and count of ``metric`` per combination of ``keys`` (seeds pooled)."""
    groups: dict[tuple[Any, ...], list[float]] = {}
    for summary in summaries:
        group = tuple(json.dumps(summary["config"][k], sort_keys=True) if k != "teacher" else summary[k] for k in keys)
        groups.setdefault(group, []).append(float(summary[metric]))
    rows = []
    for group, values in groups.items():
        rows.append(
            {
                **dict(zip(keys, group, strict=True)),
                f"{metric}_mean": statistics.fmean(values),
                f"{metric}_std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "runs": len(values),
            }
        )
    return rows
