"""Batched grid envs against MiniGrid under DummyVecEnv: env steps/s on the same levels, and PPO end to end.

Both sides play the same maze levels (the same tasks, pushed in the same order, stepped with the same random
actions), then train the same PPO student (same network, same hyperparameters, same seed, the curriculum
callback with a Random teacher) for the same number of steps. The ratios are measured side by side in this run.

    python benchmarks/env_throughput.py            # ~3 min on 2 cores
    python benchmarks/env_throughput.py --quick    # < 1 min

The last line is JSON: ``env_speedup`` by env count, ``ppo_speedup``, and the raw steps/s.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

import envs  # noqa: F401 - registers the ids
import teachers  # noqa: F401 - registers the teachers
from agents import limit_threads, make_student
from curricula import CurriculumCallback, Task, TaskEnv, make_teacher, task_space_of
from envs.batched_grid import make_batched_env
from envs.maze import MazeLevelSpace


def _task_env(env_id: str) -> TaskEnv:
    return TaskEnv(gym.make(env_id))


def minigrid_vec_env(env_id: str, n_envs: int) -> DummyVecEnv:
    """``n_envs`` MiniGrid TaskEnvs under DummyVecEnv (the library's reference path)."""
    return DummyVecEnv([lambda: _task_env(env_id)] * n_envs)


def push_same_tasks(venv: VecEnv, tasks: list[list[Task]]) -> None:
    """Queue ``tasks[i]`` on env ``i`` through the task channel, then start the first episodes."""
    for i in range(len(tasks)):
        venv.env_method("set_env_index", i, indices=[i])
    venv.env_method("push_tasks", dict(enumerate(tasks)), indices=list(range(len(tasks))))
    venv.reset()


def env_steps_per_second(venv: VecEnv, actions: np.ndarray) -> float:
    """Env steps/s of ``venv`` over the rows of ``actions`` (random actions, auto-resets included)."""
    started = time.perf_counter()
    for row in actions:
        venv.step(row)
    return actions.size / (time.perf_counter() - started)


def compare_env_steps(env_id: str, n_envs: int, batched_steps: int, minigrid_steps: int, seed: int) -> dict[str, float]:
    """Env steps/s of both implementations on the same levels and actions."""
    rng = np.random.default_rng(seed)
    space = MazeLevelSpace() if env_id == "Curricula/Maze-v0" else MazeLevelSpace(13, 0, 60)
    # an episode lasts at least one step: enough levels queued for every episode the batched run can play
    per_env = max(4, batched_steps // 8)
    levels = [space.generate(rng) for _ in range(64)]
    tasks = [[Task(id=i * per_env + k, level=levels[(i + k) % 64]) for k in range(per_env)] for i in range(n_envs)]
    actions = rng.integers(0, 3, (batched_steps, n_envs))
    batched = make_batched_env(env_id, n_envs, seed=seed)
    push_same_tasks(batched, tasks)
    minigrid = minigrid_vec_env(env_id, n_envs)
    push_same_tasks(minigrid, tasks)
    with warnings.catch_warnings():
        # a queue may run dry at the end of a long run: those episodes play levels of the env's choosing
        warnings.simplefilter("ignore", UserWarning)
        fast = env_steps_per_second(batched, actions)
        slow = env_steps_per_second(minigrid, actions[:minigrid_steps])
    return {"batched": fast, "minigrid": slow, "speedup": fast / slow}


def ppo_steps_per_second(venv: VecEnv, steps: int, policy: str, seed: int, device: str = "cpu") -> float:
    """PPO training steps/s (rollouts and updates) under the curriculum callback with a Random teacher."""
    space = task_space_of(venv)
    teacher = make_teacher("random", space, seed=seed)
    student = make_student("ppo", venv, seed=seed, policy=policy, device=device)
    started = time.perf_counter()
    student.learn(steps, callback=CurriculumCallback(teacher))
    return student.num_timesteps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small budgets (< 1 min)")
    parser.add_argument(
        "--env-id", default="Curricula/Maze-v0", choices=["Curricula/Maze-v0", "Curricula/MazeLarge-v0"]
    )
    parser.add_argument("--n-envs", type=int, nargs="+", default=[8, 64, 256])
    parser.add_argument("--ppo-envs", type=int, default=None, help="envs of the PPO comparison (default 64; quick 16)")
    parser.add_argument("--policy", default="MlpPolicy", help="'MlpPolicy' or 'cnn' (the grid CNN)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    limit_threads(1)
    env_total = 40_000 if args.quick else 400_000
    minigrid_total = 3_000 if args.quick else 30_000
    env: dict[str, dict[str, float]] = {}
    for n in args.n_envs:
        env[str(n)] = compare_env_steps(args.env_id, n, max(10, env_total // n), max(4, minigrid_total // n), args.seed)
        print(f"{n:>5} envs: batched {env[str(n)]['batched']:>10,.0f} steps/s, MiniGrid "
              f"{env[str(n)]['minigrid']:>8,.0f} steps/s: {env[str(n)]['speedup']:.1f}x")  # fmt: skip
    ppo_envs = args.ppo_envs or (16 if args.quick else 64)
    ppo_steps = ppo_envs * 128 * (2 if args.quick else 6)
    ppo: dict[str, Any] = {
        "batched": ppo_steps_per_second(
            make_batched_env(args.env_id, ppo_envs, seed=args.seed), ppo_steps, args.policy, args.seed
        ),
        "minigrid": ppo_steps_per_second(minigrid_vec_env(args.env_id, ppo_envs), ppo_steps, args.policy, args.seed),
    }
    ppo_speedup = ppo["batched"] / ppo["minigrid"]
    print(f"PPO ({args.policy}, {ppo_envs} envs, {ppo_steps} steps): batched {ppo['batched']:,.0f} steps/s, "
          f"MiniGrid {ppo['minigrid']:,.0f} steps/s: {ppo_speedup:.1f}x")  # fmt: skip
    summary = {
        "env_id": args.env_id,
        "env_speedup": {n: round(r["speedup"], 2) for n, r in env.items()},
        "env_steps_per_s": {n: {k: round(v) for k, v in r.items() if k != "speedup"} for n, r in env.items()},
        "ppo_speedup": round(ppo_speedup, 2),
        "ppo_steps_per_s": {k: round(v) for k, v in ppo.items()},
        "ppo_n_envs": ppo_envs,
        "ppo_steps": ppo_steps,
        "policy": args.policy,
        "quick": args.quick,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
