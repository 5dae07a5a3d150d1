"""What a teacher costs: amortized time of sample + update per episode (refits included) and peak memory.

Faithful vs improved ALP-GMM side by side, on the toy space (2-D, 10 bins), one process, single-threaded BLAS.
One long run per teacher gives the amortized cost at each checkpoint (20k and 100k episodes by default; the
student's own time is excluded) and the toy score at each; a second, shorter run under ``tracemalloc`` gives the
peak memory the teacher allocates.

    OMP_NUM_THREADS=1 nice python benchmarks/teacher_cost.py            # 20k and 100k episodes
    OMP_NUM_THREADS=1 python benchmarks/teacher_cost.py --quick         # < 60 s

Reference: the authors' ALP-GMM costs ~0.38 ms/episode over 20k episodes and ~0.43 over 100k (2-core CPU).
The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import teachers  # noqa: F401 - registers the teachers
from curricula import EpisodeResult, make_teacher
from envs.toy import ToyStudent


def timed_run(name: str, seed: int, checkpoints: list[int], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Play ``max(checkpoints)`` episodes; at each checkpoint record ms/episode of the teacher and the score.

    :param name: registered teacher
    :param seed: teacher seed
    :param checkpoints: episode counts to report at
    :param kwargs: teacher options
    """
    student = ToyStudent()
    teacher = make_teacher(name, student.space, seed=seed, **kwargs)
    teacher_seconds = 0.0
    out: dict[str, Any] = {}
    for episode in range(1, max(checkpoints) + 1):
        start = time.perf_counter()
        task = teacher.sample()
        teacher_seconds += time.perf_counter() - start
        assert task.params is not None
        ret = student.play(student.space.to_vector(task.params))
        result = EpisodeResult(task=task, episode_return=ret, length=1, success=ret > 0.75)
        start = time.perf_counter()
        teacher.update(result)
        teacher_seconds += time.perf_counter() - start
        if episode in checkpoints:
            scalars = teacher.scalars()
            out[str(episode)] = {
                "ms_per_episode": round(1000.0 * teacher_seconds / episode, 4),
                "score": student.score(),
                "fits": scalars.get("gmm_fits", 0.0),
            }
    return out


def peak_memory(name: str, seed: int, episodes: int, kwargs: dict[str, Any]) -> float:
    """Peak MiB allocated (tracemalloc) while a fresh teacher plays ``episodes`` toy episodes."""
    student = ToyStudent()
    tracemalloc.start()
    teacher = make_teacher(name, student.space, seed=seed, **kwargs)
    for _ in range(episodes):
        task = teacher.sample()
        assert task.params is not None
        ret = student.play(student.space.to_vector(task.params))
        teacher.update(EpisodeResult(task=task, episode_return=ret, length=1, success=ret > 0.75))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return round(peak / 2**20, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", nargs="+", default=["alp_gmm_faithful", "alp_gmm"])
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--memory-episodes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kwargs", type=str, default="{}", help="JSON options for the last teacher listed")
    parser.add_argument("--quick", action="store_true", help="5k episodes, memory over 2k (< 60 s)")
    args = parser.parse_args()
    checkpoints = [1000, 5000] if args.quick else sorted(args.checkpoints)
    memory_episodes = 2000 if args.quick else args.memory_episodes
    extra = json.loads(args.kwargs)

    results: dict[str, Any] = {}
    for i, name in enumerate(args.teachers):
        kwargs = extra if i == len(args.teachers) - 1 else {}
        runs = timed_run(name, args.seed, checkpoints, kwargs)
        memory = peak_memory(name, args.seed, memory_episodes, kwargs)
        results[name] = {"checkpoints": runs, "peak_mib": memory}
        line = ", ".join(f"{k}: {v['ms_per_episode']:.3f} ms/ep (score {v['score']:.0f})" for k, v in runs.items())
        print(f"{name:>18}: {line}; peak {memory:.1f} MiB over {memory_episodes}")
    if len(args.teachers) == 2:
        first, second = args.teachers
        results["speedup"] = {
            k: round(
                results[first]["checkpoints"][k]["ms_per_episode"]
                / results[second]["checkpoints"][k]["ms_per_episode"],
                2,
            )
            for k in results[first]["checkpoints"]
        }
        print(f"speedup {second} vs {first}: {results['speedup']}")
    print(json.dumps({"benchmark": "teacher_cost", "memory_episodes": memory_episodes, "results": results}))


if __name__ == "__main__":
    main()
