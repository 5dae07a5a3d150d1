"""Teachers on the toy simulated-student space: % of cells mastered after N episodes, mean ± std over seeds.

The protocol of the ALP-GMM paper's toy experiment (2-D, 10 bins, 20k episodes), with the direct API:
``teacher.sample() -> student.play -> teacher.update(EpisodeResult)``. Seeds run in parallel worker processes
(``--workers``), each single-threaded.

    OMP_NUM_THREADS=1 nice python benchmarks/toy_teachers.py                # 10 seeds x 5 teachers x 20k
    OMP_NUM_THREADS=1 python benchmarks/toy_teachers.py --quick             # < 60 s smoke run

The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
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
#: the authors' code on this protocol (10 seeds), for the report
REFERENCE = {
    "random": (5.1, 1.5),
    "alp_gmm_faithful": (34.8, 3.0),
    "riac": (46.6, 2.3),
    "covar_gmm": (66.5, 4.4),
}


def run_one(
    teacher_name: str,
    kwargs: dict[str, Any],
    seed: int,
    episodes: int,
    n_dims: int,
    n_bins: int,
    log_every: int,
) -> dict[str, Any]:
    """One teacher on one fresh student; returns the score curve and the teacher's wall time.

    :param teacher_name: registered name
    :param kwargs: teacher options
    :param seed: the teacher's seed (the toy student is deterministic)
    :param episodes: episodes to play
    :param n_dims: relevant dims
    :param n_bins: bins per dim
    :param log_every: episodes between score records
    """
    student = ToyStudent(n_dims=n_dims, n_bins=n_bins)
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
    return {"score": student.score(), "curve": curve, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="+", default=list(TEACHERS), choices=list(TEACHERS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--n-dims", type=int, default=2)
    parser.add_argument("--n-bins", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kwargs", type=str, default="{}", help="JSON options for every selected teacher")
    parser.add_argument("--quick", action="store_true", help="2 seeds x 4k episodes (< 60 s)")
    args = parser.parse_args()
    seeds, episodes = (2, 4000) if args.quick else (args.seeds, args.episodes)
    extra = json.loads(args.kwargs)
    log_every = 1000 if episodes >= 1000 else episodes

    jobs = [(name, s) for name in args.teachers for s in range(seeds)]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = {
            job: pool.submit(
                run_one,
                TEACHERS[job[0]][0],
                {**TEACHERS[job[0]][1], **extra},
                job[1],
                episodes,
                args.n_dims,
                args.n_bins,
                log_every,
            )
            for job in jobs
        }
        results = {job: f.result() for job, f in futures.items()}

    summary: dict[str, Any] = {}
    for name in args.teachers:
        runs = [results[(name, s)] for s in range(seeds)]
        scores = np.array([r["score"] for r in runs])
        curves = np.array([r["curve"] for r in runs])
        summary[name] = {
            "mean": round(float(scores.mean()), 2),
            "std": round(float(scores.std()), 2),
            "min": float(scores.min()),
            "max": float(scores.max()),
            "curve_mean": [round(float(v), 2) for v in curves.mean(axis=0)],
            "seconds_per_run": round(float(np.mean([r["seconds"] for r in runs])), 2),
        }
        ref = REFERENCE.get(name)
        ref_text = f"  (reference {ref[0]} ± {ref[1]})" if ref else ""
        print(
            f"{name:>18}: {scores.mean():5.1f} ± {scores.std():4.1f}  [{scores.min():.0f}-{scores.max():.0f}]"
            f"  {summary[name]['seconds_per_run']:.1f} s/run{ref_text}"
        )
    print(
        json.dumps(
            {
                "benchmark": "toy_teachers",
                "episodes": episodes,
                "seeds": seeds,
                "n_dims": args.n_dims,
                "n_bins": args.n_bins,
                "kwargs": extra,
                "results": summary,
            }
        )
    )


if __name__ == "__main__":
    main()
