"""Cost of the curriculum plumbing: PPO fps with TaskEnv + CurriculumCallback + a teacher, over bare PPO fps.

Both sides train the same PPO student on ``Curricula/ObstacleGrid-v0`` with uniformly random tasks: the bare side
draws them inside each env worker (a plain wrapper, no teacher, no callback), the curriculum side gets them from a
Random teacher in the learner process through the full plumbing. Runs come in pairs, alternating which side goes
first (ABBA), so that machine noise hits both alike; the headline is the median of the per-pair fps ratios. The
curriculum runs also time the callback itself: its share of the wall time is the plumbing's cost on the learner's
critical path, a figure much less sensitive to noise from other processes than an fps ratio.

    python benchmarks/overhead.py            # 30k steps per run, 6 pairs per VecEnv kind (about 4 minutes)
    python benchmarks/overhead.py --quick    # under a minute

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

import envs  # noqa: F401
import teachers  # noqa: F401
from agents import limit_threads, make_student
from curricula import CurriculumCallback, Task, TaskEnv, make_teacher, task_space_of

ENV_ID = "Curricula/ObstacleGrid-v0"


class LocalRandomTask(gym.Wrapper[Any, Any, Any, Any]):
    """The bare baseline: each reset draws a uniform task locally (what domain randomization does)."""

    def __init__(self, env: gym.Env[Any, Any], seed: int) -> None:
        super().__init__(env)
        self.space = task_space_of(env)
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        task = Task(id=self.count, params=self.space.sample(self.rng))
        self.count += 1
        return self.env.reset(seed=seed, options={"task": task})


def make_bare(seed: int) -> gym.Env[Any, Any]:
    return LocalRandomTask(gym.make(ENV_ID), seed)


def make_curriculum() -> gym.Env[Any, Any]:
    return TaskEnv(gym.make(ENV_ID))


def _vec(kind: str, fns: list[Any]) -> VecEnv:
    return DummyVecEnv(fns) if kind == "dummy" else SubprocVecEnv(fns, start_method="fork")


def run_once(kind: str, with_curriculum: bool, steps: int, n_envs: int, seed: int) -> tuple[float, float]:
    """Env steps per second of one PPO training run (student construction excluded), and the fraction of the
    wall time spent inside the curriculum callback (0 for the bare side)."""
    if with_curriculum:
        venv = _vec(kind, [make_curriculum for _ in range(n_envs)])
    else:
        venv = _vec(kind, [lambda i=i: make_bare(seed * 100 + i) for i in range(n_envs)])
    model = make_student("ppo", venv, seed=seed, policy="MlpPolicy")
    callback = None
    if with_curriculum:
        # the callback times its own hooks (callback_seconds): the plumbing's cost on the learner's critical path
        callback = CurriculumCallback(make_teacher("random", task_space_of(venv), seed=seed))
    start = time.perf_counter()
    model.learn(steps, callback=callback)
    elapsed = time.perf_counter() - start
    venv.close()
    return model.num_timesteps / elapsed, (callback.callback_seconds / elapsed if callback is not None else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter runs (under a minute)")
    parser.add_argument("--steps", type=int, default=None, help="env steps per run")
    parser.add_argument("--pairs", type=int, default=None, help="alternating (bare, curriculum) pairs per kind")
    parser.add_argument("--n-envs", type=int, default=8)
    args = parser.parse_args()
    steps = args.steps or (8_192 if args.quick else 30_720)
    pairs = args.pairs or (2 if args.quick else 6)
    limit_threads(1)
    results: dict[str, Any] = {"steps_per_run": steps, "pairs": pairs, "n_envs": args.n_envs}
    for kind in ("dummy", "subproc"):
        ratios, bare_fps, cur_fps, shares = [], [], [], []
        for pair in range(pairs):
            if pair % 2 == 0:
                b, _ = run_once(kind, False, steps, args.n_envs, seed=pair)
                c, share = run_once(kind, True, steps, args.n_envs, seed=pair)
            else:
                c, share = run_once(kind, True, steps, args.n_envs, seed=pair)
                b, _ = run_once(kind, False, steps, args.n_envs, seed=pair)
            bare_fps.append(b)
            cur_fps.append(c)
            ratios.append(c / b)
            shares.append(share)
            print(
                f"{kind:8s} pair {pair}: bare {b:7.0f} fps, curriculum {c:7.0f} fps, ratio {c / b:.3f}, "
                f"callback {100 * share:.2f}% of wall time",
                flush=True,
            )
        results[kind] = {
            "bare_fps_median": round(statistics.median(bare_fps), 1),
            "curriculum_fps_median": round(statistics.median(cur_fps), 1),
            "ratio_median": round(statistics.median(ratios), 3),
            "ratios": [round(r, 3) for r in ratios],
            "callback_share_median": round(statistics.median(shares), 4),
            "ratio_from_callback_share": round(1.0 - statistics.median(shares), 3),
        }
    results["target_ratio"] = 0.97
    print(json.dumps(results))


if __name__ == "__main__":
    main()
