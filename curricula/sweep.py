"""Sweeps: one base config crossed with a grid of overrides (teachers x seeds x ...), run locally or on Ray.

The local backend runs experiments in spawned worker processes (one torch thread each); the Ray backend sends each
experiment to a Ray cluster as a one-CPU task (``pip install 'curricula-rl[ray]'``; connect with ``address``).
Results are the runs' ``summary.json`` dicts, grouped and aggregated by every swept key except the seed; the
command line writes :func:`write_sweep_report`'s table (CSV and Markdown: mean ± std and a bootstrap confidence
interval per group) and learning-curve plot (mean ± std band per group) into the sweep directory.
"""

from __future__ import annotations

import csv
import itertools
import json
import statistics
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from curricula.experiment import ExperimentConfig, check_config, run_in_worker
from curricula.plotting import plot_curves

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
        # a local instance needs one CPU per run at most; an existing cluster (address) schedules on its own
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
        remote = ray.remote(num_cpus=1)(run_in_worker)
        return list(ray.get([remote.remote(p) for p in payloads]))
    if workers == 1:
        return [run_in_worker(p) for p in payloads]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(run_in_worker, payloads))


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean (a single value gives a zero-width interval).

    :param values: one number per run
    :param confidence: e.g. 0.95
    :param resamples: bootstrap resamples
    :param seed: the resampling RNG's seed (the same runs always give the same interval)
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        raise ValueError("bootstrap_ci needs at least one value")
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def aggregate(
    summaries: Sequence[Mapping[str, Any]], keys: Sequence[str], metric: str = "test_mastered_percent"
) -> list[dict[str, Any]]:
    """Mean, std and count of ``metric`` per combination of ``keys`` (seeds pooled)."""
    groups: dict[tuple[Any, ...], list[float]] = {}
    for summary in summaries:
        group = tuple(_group_value(summary, k) for k in keys)
        groups.setdefault(group, []).append(float(summary[metric]))
    rows = []
    for group, values in groups.items():
        low, high = bootstrap_ci(values)
        rows.append(
            {
                **dict(zip(keys, group, strict=True)),
                f"{metric}_mean": statistics.fmean(values),
                f"{metric}_std": statistics.stdev(values) if len(values) > 1 else 0.0,
                f"{metric}_ci95": [low, high],
                "runs": len(values),
            }
        )
    return rows


def _group_value(summary: Mapping[str, Any], key: str) -> Any:
    value = summary["config"][key]
    return value if isinstance(value, str | int | float) else json.dumps(value, sort_keys=True)


def write_sweep_report(
    summaries: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    folder: str | Path,
    metric: str = "test_mastered_percent",
) -> dict[str, Path]:
    """Write ``results.csv``, ``results.md`` (one row per group) and ``learning_curves.png`` into ``folder``.

    :param summaries: the runs' summaries (each with ``run_dir``)
    :param keys: the swept keys that define a group (the seed is pooled)
    :param folder: the sweep directory
    :param metric: the summary number to tabulate
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = aggregate(summaries, keys, metric)
    header = [*keys, "runs", "mean", "std", "ci95_low", "ci95_high"]
    table = [
        [
            *(str(row[k]) for k in keys),
            str(row["runs"]),
            *(f"{v:.2f}" for v in (row[f"{metric}_mean"], row[f"{metric}_std"], *row[f"{metric}_ci95"])),
        ]
        for row in rows
    ]
    csv_path = folder / "results.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(table)
    md_path = folder / "results.md"
    lines = [
        f"{metric}: mean ± std over seeds, with a 95 % bootstrap confidence interval of the mean",
        "",
        "| " + " | ".join([*keys, "runs", "mean ± std", "95 % CI"]) + " |",
        "|" + "---|" * (len(keys) + 3),
    ]
    for cells in table:
        lines.append(
            "| "
            + " | ".join([*cells[: len(keys) + 1], f"{cells[-4]} ± {cells[-3]}", f"[{cells[-2]}, {cells[-1]}]"])
            + " |"
        )
    md_path.write_text("\n".join(lines) + "\n")
    curves: dict[str, list[tuple[list[float], list[float]]]] = {}
    for summary in summaries:
        label = ", ".join(f"{k}={_group_value(summary, k)}" for k in keys) or "all"
        evaluations = Path(summary["run_dir"]) / "eval.jsonl"
        records = [json.loads(line) for line in evaluations.read_text().splitlines() if line.strip()]
        # the final evaluation repeats the last step when it coincides with a periodic one: keep the last
        by_step = {r["timesteps"]: r["mastered_percent"] for r in records}
        curves.setdefault(label, []).append((list(by_step), list(by_step.values())))
    plot_path = plot_curves(curves, folder / "learning_curves.png", "% of test tasks mastered")
    return {"csv": csv_path, "markdown": md_path, "plot": plot_path}
