"""Teachers on the toy simulated-student space: % of cells mastered after N episodes, mean ± std over seeds.

The protocol of the ALP-GMM paper's toy experiment (2-D, 10 bins, 20k episodes), with the direct API:
``teacher.sample() -> student.play -> teacher.update(EpisodeResult)``. Seeds run in parallel worker processes
(``--workers``), each single-threaded.

``--suite`` runs every continuous teacher on every task-space shape of :data:`VARIANTS` (TeachMyAgent's
challenges on the toy student: rugged difficulty, irrelevant dimensions, more dimensions, a large infeasible
region, a forgetting student), prints one table (variant x teacher) and a rank summary across variants. The
privileged oracle is shown as the ceiling of each variant and is not ranked.

    OMP_NUM_THREADS=1 nice python benchmarks/toy_teachers.py                # 10 seeds x 5 teachers x 20k, standard
    OMP_NUM_THREADS=1 python benchmarks/toy_teachers.py --quick             # < 60 s smoke run
    OMP_NUM_THREADS=1 nice python benchmarks/toy_teachers.py --suite        # 10 seeds, every variant (hours on 2 cores)
    OMP_NUM_THREADS=1 python benchmarks/toy_teachers.py --suite --quick     # < 60 s smoke run of the suite

The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

import teachers  # noqa: F401 - registers the teachers
from curricula import EpisodeResult, make_teacher
from envs.toy import ToyStudent

#: name shown -> (registered teacher, kwargs)
TEACHERS: dict[str, tuple[str, dict[str, Any]]] = {
    "random": ("random", {}),
    "riac": ("riac", {}),
    "covar_gmm": ("covar_gmm", {}),
    "alp_gmm_faithful": ("alp_gmm_faithful", {}),
    "alp_gmm": ("alp_gmm", {}),
}
#: the privileged frontier oracle (reads the competence grid): the ceiling of a variant, never ranked
ORACLE = "oracle"
#: the authors' code on this protocol (10 seeds), for the report
REFERENCE = {
    "random": (5.1, 1.5),
    "alp_gmm_faithful": (34.8, 3.0),
    "riac": (46.6, 2.3),
    "covar_gmm": (66.5, 4.4),
}


@dataclass(frozen=True)
class Variant:
    """One task-space shape of the suite.

    :param student: :class:`~envs.toy.ToyStudent` options
    :param episodes: the full-suite budget (harder shapes get more)
    :param shuffled: draw the bin permutation from the run's seed (each seed sees a different rugged space)
    :param about: one line for the table
    """

    student: dict[str, Any] = field(default_factory=dict)
    episodes: int = 20_000
    shuffled: bool = False
    about: str = ""


VARIANTS: dict[str, Variant] = {
    "standard": Variant({"n_dims": 2, "n_bins": 10}, 20_000, about="the paper's 2-D, 10x10 cells"),
    "rugged": Variant({"n_dims": 2, "n_bins": 10}, 20_000, shuffled=True, about="bins shuffled per dimension"),
    "distractors": Variant({"n_dims": 2, "n_bins": 10, "extra_dims": 4}, 20_000, about="+4 irrelevant dims"),
    "4d": Variant({"n_dims": 4, "n_bins": 4}, 40_000, about="4 relevant dims, 4 bins (256 cells)"),
    "infeasible": Variant(
        {"n_dims": 2, "n_bins": 10, "infeasible_fraction": 0.6}, 20_000, about="60 % of the space never learnable"
    ),
    "forgetting": Variant(
        {"n_dims": 2, "n_bins": 10, "forget_every": 200}, 20_000, about="unpractised cells lose 1 point / 200 ep."
    ),
}


def make_student(variant: Variant, seed: int) -> ToyStudent:
    """The variant's student for one run (the rugged permutation depends on the run's seed)."""
    options = dict(variant.student)
    if variant.shuffled:
        options["shuffle_seed"] = 10_000 + seed
    return ToyStudent(**options)


def run_one(
    teacher_name: str,
    kwargs: dict[str, Any],
    seed: int,
    episodes: int,
    variant: Variant,
    log_every: int,
) -> dict[str, Any]:
    """One teacher on one fresh student; returns the score curve and the teacher's wall time.

    :param teacher_name: registered name
    :param kwargs: teacher options
    :param seed: the teacher's seed (and the rugged permutation's)
    :param episodes: episodes to play
    :param variant: the task-space shape
    :param log_every: episodes between score records
    """
    student = make_student(variant, seed)
    if teacher_name == ORACLE:
        kwargs = {**kwargs, "student": student}
    teacher = make_teacher(teacher_name, student.space, seed=seed, **kwargs)
    curve: list[float] = []
    start = time.perf_counter()
    for episode in range(1, episodes + 1):
        task = teacher.sample()
        assert task.params is not None
        ret = student.play(student.space.to_vector(task.params))
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=1, success=ret > 0.75))
        if episode % log_every == 0:
            curve.append(student.score())
    teacher.close()
    return {"score": student.score(), "curve": curve, "seconds": time.perf_counter() - start}


def _summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    scores = np.array([r["score"] for r in runs])
    curves = np.array([r["curve"] for r in runs])
    return {
        "mean": round(float(scores.mean()), 2),
        "std": round(float(scores.std()), 2),
        "min": round(float(scores.min()), 2),
        "max": round(float(scores.max()), 2),
        "curve_mean": [round(float(v), 2) for v in curves.mean(axis=0)],
        "seconds_per_run": round(float(np.mean([r["seconds"] for r in runs])), 2),
    }


def _cache_path(cache: Path, spec: dict[str, Any]) -> Path:
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]
    return cache / f"{spec['variant']}-{spec['teacher']}-{spec['seed']}-{key}.json"


def _run_jobs(
    jobs: list[tuple[str, str, int]],
    episodes: dict[str, int],
    kwargs: dict[str, Any],
    workers: int,
    cache: Path | None = None,
) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Run (variant, teacher, seed) jobs in worker processes, the longest budgets first.

    With ``cache``, each finished run is written there as JSON, keyed by everything that defines it (variant
    options, teacher and options, seed, episodes), and a later call reuses it instead of running it again. Clear
    the folder when teacher or student code changes.
    """
    results: dict[tuple[str, str, int], dict[str, Any]] = {}
    specs: dict[tuple[str, str, int], dict[str, Any]] = {}
    for variant_name, name, seed in jobs:
        registered, options = (ORACLE, {}) if name == ORACLE else TEACHERS[name]
        variant = VARIANTS[variant_name]
        specs[(variant_name, name, seed)] = {
            "variant": variant_name,
            "student": variant.student,
            "shuffled": variant.shuffled,
            "teacher": name,
            "registered": registered,
            "options": {**options, **({} if name == ORACLE else kwargs)},
            "seed": seed,
            "episodes": episodes[variant_name],
        }
    todo = []
    for job, spec in specs.items():
        path = _cache_path(cache, spec) if cache is not None else None
        if path is not None and path.is_file():
            results[job] = json.loads(path.read_text())["result"]
        else:
            todo.append(job)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {}
        for job in sorted(todo, key=lambda job: -episodes[job[0]]):
            spec = specs[job]
            n = spec["episodes"]
            futures[job] = pool.submit(
                run_one, spec["registered"], spec["options"], spec["seed"], n, VARIANTS[job[0]], max(n // 20, 1)
            )
        for job, future in futures.items():
            results[job] = future.result()
            if cache is not None:
                cache.mkdir(parents=True, exist_ok=True)
                path = _cache_path(cache, specs[job])
                path.write_text(json.dumps({"spec": specs[job], "result": results[job]}))
    return results


def suite_report(
    summary: dict[str, dict[str, dict[str, Any]]], names: list[str], focus: str = "alp_gmm"
) -> dict[str, Any]:
    """Ranks per variant (1 = best mean; the oracle excluded), mean rank and wins per teacher, and how ``focus``
    compares with the best other ranked teacher and with ``alp_gmm_faithful`` on each variant.

    :param summary: variant -> teacher -> summary (with ``mean``)
    :param names: the ranked teachers
    :param focus: the teacher whose margins are reported
    """
    ranks: dict[str, dict[str, int]] = {}
    margins: dict[str, dict[str, float | None]] = {}
    for variant_name, row in summary.items():
        means = {name: row[name]["mean"] for name in names}
        ordered = sorted(names, key=lambda name: -means[name])
        # teachers with the same mean share the better rank
        ranks[variant_name] = {name: 1 + sum(means[o] > means[name] for o in names) for name in ordered}
        if focus in means:
            others = [means[name] for name in names if name != focus]
            best_other = max(others) if others else 0.0
            margins[variant_name] = {
                "ratio_to_best_other": round(means[focus] / best_other, 3) if best_other > 0 else None,
                "minus_faithful": round(means[focus] - means["alp_gmm_faithful"], 2)
                if "alp_gmm_faithful" in means
                else None,
            }
    mean_rank = {name: round(float(np.mean([ranks[v][name] for v in ranks])), 2) for name in names}
    wins = {name: sum(ranks[v][name] == 1 for v in ranks) for name in names}
    return {"ranks": ranks, "mean_rank": mean_rank, "wins": wins, focus: margins}


def _print_suite(summary: dict[str, dict[str, dict[str, Any]]], names: list[str], report: dict[str, Any]) -> None:
    columns = [*names, ORACLE] if any(ORACLE in row for row in summary.values()) else names
    print("| variant | " + " | ".join(columns) + " | `alp_gmm` rank |")
    print("|---" * (len(columns) + 2) + "|")
    for variant_name, row in summary.items():
        cells = []
        for name in columns:
            text = f"{row[name]['mean']:.1f} ± {row[name]['std']:.1f}"
            if name != ORACLE and report["ranks"][variant_name][name] == 1:
                text = f"**{text}**"
            cells.append(text)
        rank = report["ranks"][variant_name].get("alp_gmm", "–")
        print(f"| {variant_name} | " + " | ".join(cells) + f" | {rank} |")
    print("| mean rank | " + " | ".join(str(report["mean_rank"].get(n, "–")) for n in columns) + " | |")
    print("| wins | " + " | ".join(str(report["wins"].get(n, "–")) for n in columns) + " | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="+", default=list(TEACHERS), choices=list(TEACHERS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=None, help="override every variant's budget")
    parser.add_argument("--variant", default="standard", choices=list(VARIANTS), help="the shape (without --suite)")
    parser.add_argument("--suite", action="store_true", help="every teacher on every variant, with ranks")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), help="for --suite")
    parser.add_argument("--no-oracle", action="store_true", help="skip the privileged oracle column of --suite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--cache", type=Path, default=None, help="folder of finished runs to reuse (identical settings only)"
    )
    parser.add_argument("--kwargs", type=str, default="{}", help="JSON options for every selected teacher")
    parser.add_argument(
        "--quick", action="store_true", help="2 seeds x 4k episodes; with --suite 1 seed x 1k (< 60 s on 2 idle cores)"
    )
    args = parser.parse_args()
    extra = json.loads(args.kwargs)
    variant_names = args.variants if args.suite else [args.variant]
    if args.quick:
        seeds = 1 if args.suite else 2
        episodes = dict.fromkeys(variant_names, 1000 if args.suite else 4000)
    else:
        seeds = args.seeds
        episodes = {v: args.episodes or VARIANTS[v].episodes for v in variant_names}
    names = list(args.teachers)
    columns = [*names, ORACLE] if args.suite and not args.no_oracle else names
    jobs = [(v, name, s) for v in variant_names for name in columns for s in range(seeds)]
    start = time.perf_counter()
    results = _run_jobs(jobs, episodes, extra, args.workers, args.cache)
    summary = {
        v: {name: _summarize([results[(v, name, s)] for s in range(seeds)]) for name in columns} for v in variant_names
    }

    output: dict[str, Any] = {
        "benchmark": "toy_teachers",
        "seeds": seeds,
        "episodes": episodes,
        "variants": {v: {"student": VARIANTS[v].student, "shuffled": VARIANTS[v].shuffled} for v in variant_names},
        "kwargs": extra,
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    if args.suite:
        report = suite_report(summary, names)
        _print_suite(summary, names, report)
        output.update(suite=report)
    else:
        for name in names:
            row = summary[variant_names[0]][name]
            ref = REFERENCE.get(name) if variant_names[0] == "standard" else None
            ref_text = f"  (reference {ref[0]} ± {ref[1]})" if ref else ""
            print(
                f"{name:>18}: {row['mean']:5.1f} ± {row['std']:4.1f}  [{row['min']:.0f}-{row['max']:.0f}]"
                f"  {row['seconds_per_run']:.1f} s/run{ref_text}"
            )
    output["results"] = summary
    print(json.dumps(output))


if __name__ == "__main__":
    main()
