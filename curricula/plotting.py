"""Plots of what a teacher does on a 2-D parameter space, saved as PNGs into a run directory.

* :func:`plot_sampling_density` — where the tasks went, one 2-D histogram per period of training;
* :func:`plot_gmm` — the fitted mixture's task marginals as 2-sigma ellipses coloured by each component's
  learning progress, over the most recent tasks;
* :func:`save_teacher_plots` — both, named by episode count;
* :func:`plot_curves` — learning curves, mean ± std band per group of runs (a run dir, or a sweep);
* :func:`plot_solve_rates_by_task` — grouped bars of per-task solve rates for several methods over seeds;
* :class:`CurriculumPlotCallback` — an SB3 callback that calls :func:`save_teacher_plots` every N env steps and at
  the end of training.

Teachers are read through :class:`GMMView` (``task_history`` and ``gmm_in_task_units``, as ALP-GMM and
Covar-GMM provide), so the core does not import any teacher. Numbers for TensorBoard come from
``Teacher.scalars()``, which the curriculum callback logs at every rollout end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import matplotlib

matplotlib.use("Agg")  # files only: never open a window (headless machines, worker processes)

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Ellipse
from stable_baselines3.common.callbacks import BaseCallback

from curricula.spaces import ParameterSpace

if TYPE_CHECKING:
    from curricula.callback import CurriculumCallback


class TaskHistory(Protocol):
    """A teacher that can list the tasks it heard back, in raw units, shape (n, d)."""

    def task_history(self) -> np.ndarray: ...


class GMMView(TaskHistory, Protocol):
    """A teacher with a Gaussian mixture over tasks (means (k, d), covariances (k, d, d), LP (k,)) or None."""

    def gmm_in_task_units(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None: ...


def save_figure(fig: plt.Figure, path: str | Path, dpi: int = 90) -> Path:
    """Lay out ``fig``, write it to ``path`` (creating folders) and close it; returns the path."""
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def _check_2d(space: ParameterSpace) -> None:
    if space.ndim != 2:
        raise ValueError(f"these plots are for 2-D spaces; {space} has {space.ndim} dimensions")


def _frame(ax: plt.Axes, space: ParameterSpace) -> None:
    ax.set_xlim(space.low[0], space.high[0])
    ax.set_ylim(space.low[1], space.high[1])
    ax.set_xlabel(space.names[0])
    ax.set_ylabel(space.names[1])


def plot_sampling_density(
    tasks: np.ndarray, space: ParameterSpace, path: str | Path, periods: int = 4, bins: int = 20
) -> Path:
    """Histogram the tasks of each of ``periods`` consecutive slices of training into one PNG.

    :param tasks: tasks in raw units, oldest first, shape (n, 2)
    :param space: the 2-D space
    :param path: output PNG
    :param periods: number of panels (consecutive, equal-size slices of the history)
    :param bins: histogram bins per dimension
    """
    _check_2d(space)
    tasks = np.asarray(tasks, dtype=np.float64).reshape(-1, 2)
    periods = max(1, min(periods, len(tasks))) if len(tasks) else 1
    fig, axes = plt.subplots(1, periods, figsize=(3.2 * periods, 3.0), squeeze=False)
    edges = [np.linspace(space.low[i], space.high[i], bins + 1) for i in range(2)]
    for ax, chunk, index in zip(axes[0], np.array_split(tasks, periods), range(periods), strict=True):
        hist = np.histogram2d(chunk[:, 0], chunk[:, 1], bins=edges)[0]
        ax.imshow(
            hist.T,
            origin="lower",
            aspect="auto",
            extent=(space.low[0], space.high[0], space.low[1], space.high[1]),
            cmap="magma",
        )
        start = index * len(tasks) // periods
        ax.set_title(f"episodes {start}–{start + len(chunk)}", fontsize=9)
        _frame(ax, space)
    return save_figure(fig, path)


def plot_gmm(teacher: GMMView, space: ParameterSpace, path: str | Path, recent: int = 500) -> Path:
    """The current mixture as 2-sigma ellipses coloured by learning progress, over the last ``recent`` tasks.

    :param teacher: a teacher exposing :class:`GMMView`
    :param space: the 2-D space
    :param path: output PNG
    :param recent: how many of the latest tasks to scatter
    """
    _check_2d(space)
    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    history = teacher.task_history()
    if len(history):
        tail = history[-recent:]
        ax.scatter(tail[:, 0], tail[:, 1], s=3, c="0.6", alpha=0.6, linewidths=0)
    gmm = teacher.gmm_in_task_units()
    if gmm is not None:
        means, covs, lp = gmm
        top = float(lp.max()) if lp.size and lp.max() > 0 else 1.0
        cmap = plt.get_cmap("viridis")
        for mean, cov, value in zip(means, covs, lp, strict=True):
            vals, vecs = np.linalg.eigh(cov[:2, :2])
            vals = np.clip(vals, 0.0, None)
            angle = float(np.degrees(np.arctan2(vecs[1, -1], vecs[0, -1])))
            width, height = 2 * 2.0 * np.sqrt(vals[-1]), 2 * 2.0 * np.sqrt(vals[0])
            ax.add_patch(
                Ellipse(
                    (float(mean[0]), float(mean[1])),
                    width,
                    height,
                    angle=angle,
                    facecolor=cmap(float(value) / top),
                    alpha=0.45,
                    edgecolor="k",
                    linewidth=0.6,
                )
            )
        mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0.0, top))
        fig.colorbar(mappable, ax=ax, label="learning progress")
    ax.set_title(f"{type(teacher).__name__}: {0 if gmm is None else len(gmm[2])} components", fontsize=9)
    _frame(ax, space)
    return save_figure(fig, path)


def save_teacher_plots(
    teacher: object, space: ParameterSpace, run_dir: str | Path, episode: int, tasks: np.ndarray | None = None
) -> list[Path]:
    """Write ``density_<episode>.png`` (and ``gmm_<episode>.png`` for mixture teachers) under ``run_dir/plots``.

    :param teacher: the teacher; mixture teachers also get their ellipses drawn
    :param space: the 2-D space
    :param run_dir: the run directory
    :param episode: episode count used in the file names
    :param tasks: the tasks played, raw units, oldest first, shape (n, 2); default: the teacher's
        ``task_history()`` (teachers without one need it passed, e.g. from ``CurriculumCallback.results``)
    """
    if tasks is None:
        if not hasattr(teacher, "task_history"):
            raise ValueError(
                f"{type(teacher).__name__} keeps no task history: pass tasks= (e.g. from "
                "CurriculumCallback(keep_results=True).results)"
            )
        tasks = teacher.task_history()
    folder = Path(run_dir) / "plots"
    paths = [plot_sampling_density(tasks, space, folder / f"density_{episode:08d}.png")]
    if hasattr(teacher, "gmm_in_task_units"):
        paths.append(plot_gmm(teacher, space, folder / f"gmm_{episode:08d}.png"))  # type: ignore[arg-type]
    return paths


def plot_curves(
    groups: Mapping[str, Sequence[tuple[Sequence[float], Sequence[float]]]],
    path: str | Path,
    ylabel: str,
    xlabel: str = "env steps",
    points: int = 100,
) -> Path:
    """One line per group: the mean over its runs' curves, with a ± std band where it has several runs.

    Curves are interpolated onto a common x grid over the range all of a group's runs cover.

    :param groups: label -> curves, each ``(x, y)`` with x increasing
    :param path: output PNG
    :param ylabel: what y is
    :param xlabel: what x is
    :param points: grid points per group
    """
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    for label, curves in groups.items():
        arrays = [(np.asarray(x, dtype=float), np.asarray(y, dtype=float)) for x, y in curves if len(x)]
        if not arrays:
            continue
        low, high = max(x[0] for x, _ in arrays), min(x[-1] for x, _ in arrays)
        grid = np.linspace(low, high, points) if high > low else np.array([low])
        values = np.stack([np.interp(grid, x, y) for x, y in arrays])
        mean = values.mean(axis=0)
        (line,) = ax.plot(grid, mean, label=f"{label} (n={len(arrays)})", marker="o" if len(grid) == 1 else None)
        if len(arrays) > 1:
            std = values.std(axis=0)
            ax.fill_between(grid, mean - std, mean + std, alpha=0.2, color=line.get_color())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_solve_rates_by_task(
    records: list[dict[str, Any]], path: str | Path, title: str = "", group_key: str = "method"
) -> Path:
    """Grouped bars: solve rate per test task and per group (mean over the group's records, whiskers = min/max).

    :param records: one dict per run, each with ``group_key`` (e.g. the method), ``per_task`` (task name ->
        solve rate, the same names in every record) and ``solve_rate`` (the mean over tasks)
    :param path: output PNG
    :param title: figure title
    :param group_key: the record key that names a bar group
    """
    if not records:
        raise ValueError("plot_solve_rates_by_task needs at least one record")
    groups = list(dict.fromkeys(r[group_key] for r in records))
    tasks = [*records[0]["per_task"], "mean"]
    fig, ax = plt.subplots(figsize=(min(12.0, 2.0 + 1.2 * len(tasks)), 4.0))
    width = 0.8 / len(groups)
    for k, group in enumerate(groups):
        rows = [r for r in records if r[group_key] == group]
        values = np.array([[*r["per_task"].values(), r["solve_rate"]] for r in rows])
        mean = values.mean(axis=0)
        err = np.stack([mean - values.min(axis=0), values.max(axis=0) - mean])
        x = np.arange(len(tasks)) + (k - (len(groups) - 1) / 2) * width
        ax.bar(x, mean, width, yerr=err, capsize=2, label=f"{group} (n={len(rows)})")
    ax.set_xticks(np.arange(len(tasks)), tasks, rotation=30, ha="right")
    ax.set_ylabel("solve rate")
    ax.set_ylim(0, 1.05)
    ax.set_title(title or "solve rate per test task")
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=120)


class CurriculumPlotCallback(BaseCallback):
    """Write the curriculum plots of :func:`save_teacher_plots` every ``every`` env steps and at training end.

    The tasks drawn are the teacher's own ``task_history()`` where it keeps one (ALP-GMM, Covar-GMM), else the
    results the curriculum callback kept (create it with ``keep_results=True``).

    :param curriculum: the run's curriculum callback (its teacher is plotted)
    :param space: the 2-D parameter space of the run
    :param run_dir: plots go to ``run_dir/plots``
    :param every: env steps between plots (0: only at the end of training)
    """

    def __init__(self, curriculum: CurriculumCallback, space: ParameterSpace, run_dir: str | Path, every: int = 0):
        super().__init__()
        _check_2d(space)
        if every < 0:
            raise ValueError(f"every must be >= 0 env steps (0: only at the end), got {every}")
        teacher = curriculum.teacher
        if not hasattr(teacher, "task_history") and not curriculum.keep_results and curriculum.results_log is None:
            raise ValueError(
                f"{type(teacher).__name__} keeps no task history: create the CurriculumCallback with keep_results=True "
                "or a results_log"
            )
        self.curriculum = curriculum
        self.space = space
        self.run_dir = Path(run_dir)
        self.every = every
        self._next_plot = every
        #: every file written, oldest first
        self.paths: list[Path] = []

    def _tasks(self) -> np.ndarray | None:
        if hasattr(self.curriculum.teacher, "task_history"):
            return None  # save_teacher_plots reads the teacher's own history
        if self.curriculum.keep_results:
            params = [r.task.params for r in self.curriculum.results if r.task.params is not None]
        else:
            assert self.curriculum.results_log is not None
            lines = self.curriculum.results_log.read_text().splitlines() if self.curriculum.results_log.exists() else []
            params = [json.loads(line)["task"]["params"] for line in lines if line.strip()]
        return np.array([self.space.to_vector(p) for p in params]).reshape(-1, self.space.ndim)

    def plot_now(self) -> list[Path]:
        """Write the plots for the current episode count."""
        if self.curriculum._results_file is not None:
            self.curriculum._results_file.flush()
        paths = save_teacher_plots(
            self.curriculum.teacher, self.space, self.run_dir, self.curriculum.episodes_reported, tasks=self._tasks()
        )
        self.paths.extend(paths)
        if self.model is not None:
            # the same pictures in TensorBoard, next to the scalars of this step
            from stable_baselines3.common.logger import Image

            for path in paths:
                picture = plt.imread(path)[..., :3]
                self.logger.record(
                    f"curriculum/{path.stem.split('_')[0]}",
                    Image(picture, "HWC"),
                    exclude=("stdout", "log", "json", "csv"),
                )
            self.logger.dump(self.num_timesteps)
        return paths

    def _on_step(self) -> bool:
        if self.every > 0 and self.num_timesteps >= self._next_plot:
            self._next_plot += self.every
            self.plot_now()
        return True

    def _on_training_end(self) -> None:
        self.plot_now()
