"""LLM subgoal teacher: env steps to 80 % success, and training speed with a cold vs a warm LLM cache.

Part 1 (``steps_to_80``): PPO, PPO + oracle subgoals and PPO + the noisy oracle at the paper's Llama accuracy (object
subgoals, shaping only, alpha 0.2), on MiniGrid KeyCorridorS3R3 (and optionally MultiRoom-N2-S4), several seeds.
Every ``--eval-every`` steps the policy is evaluated on bare envs (no subgoal input, no shaping, no LLM) over
``--eval-episodes`` fixed held-out seeds; ``steps_to_80`` is the first evaluation at >= 80 % success (null when the
budget ends first), per seed, and the median over seeds.

Part 2 (``fps_ratio_cold_warm``): one PPO run with the LLM teacher on the embedded server (Gemma-3-270M) on a small
level set. Cold: training starts with an empty cache while the server works through the levels in the background.
Warm: after every level is answered (or settled on the fallback), the same run trains on. The ratio of steps/s.

    python benchmarks/subgoals.py --quick          # < 1 min: tiny budgets, 1 seed
    python benchmarks/subgoals.py --budget 300000 --seeds 3 --workers 2
    python benchmarks/subgoals.py --budget 1000000 --records runs/subgoals_1m.jsonl   # keep finished runs, resume

The last line printed is the JSON summary.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import time
from typing import Any

import numpy as np

#: PPO alone, PPO + oracle subgoals, PPO + the noisy oracle at the paper's Llama accuracy (shaping only)
VARIANTS = ("ppo", "oracle", "noisy_llama")


def _make_train_env(env_id: str, teacher: Any, env_kwargs: dict[str, Any]) -> Any:
    import gymnasium as gym

    from curricula import TaskEnv
    from curricula.reward_teacher import wrap_task_env

    return wrap_task_env(TaskEnv(gym.make(env_id, **env_kwargs)), [teacher] if teacher is not None else [])


def _success_rate(model: Any, env_id: str, episodes: int) -> float:
    """Success on held-out levels (seeds 10^6 + i), bare env: no subgoal input, no shaping, no LLM."""
    from envs.minigrid_seeded import held_out_success_rate

    return held_out_success_rate(model, env_id, episodes, first_seed=1_000_000)


def train_variant(spec: dict[str, Any]) -> dict[str, Any]:
    """One (env, variant, seed) run; returns its evaluation curve and ``steps_to_80``."""
    import torch

    torch.set_num_threads(1)
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv

    import envs  # noqa: F401
    import teachers  # noqa: F401
    from agents import make_student
    from curricula import CurriculumCallback, make_teacher, task_space_of
    from curricula.reward_teacher import make_reward_teacher

    env_id, variant, seed = spec["env_id"], spec["variant"], spec["seed"]
    reward_teacher = None
    if variant != "ppo":
        options: dict[str, Any] = {"env_id": env_id, "kind": "object", "alpha": 0.2}
        options["source"] = "oracle" if variant == "oracle" else "surrogate"
        options["surrogate"] = "llama"
        reward_teacher = make_reward_teacher("subgoals", seed=seed, **options)
    venv = DummyVecEnv([lambda: _make_train_env(env_id, reward_teacher, {})] * spec["n_envs"])
    curriculum = CurriculumCallback(
        make_teacher("random", task_space_of(env_id), seed=seed),
        reward_teachers=[reward_teacher] if reward_teacher is not None else [],
    )
    model = make_student(
        "ppo", venv, seed=seed, device="cpu", policy=spec["policy"], n_steps=128, batch_size=256, learning_rate=2.5e-4
    )
    curve: list[tuple[int, float]] = []

    class Evaluate(BaseCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps % spec["eval_every"] < venv.num_envs:
                rate = _success_rate(self.model, env_id, spec["eval_episodes"])
                curve.append((int(self.num_timesteps), rate))
                if rate >= 0.8:
                    return False  # reached: stop this run
            return True

    start = time.perf_counter()
    model.learn(spec["budget"], callback=[curriculum, Evaluate()])
    wall = time.perf_counter() - start
    if reward_teacher is not None:
        reward_teacher.close()
    reached = next((steps for steps, rate in curve if rate >= 0.8), None)
    return {**spec, "steps_to_80": reached, "curve": curve, "wall_s": round(wall, 1), "steps": int(model.num_timesteps)}


def fps_cold_warm(steps: int, levels: int, max_tokens: int, wait_s: float) -> dict[str, Any]:
    """Steps/s of one PPO run with the LLM teacher on the embedded server: cold cache, then warm cache."""
    import gymnasium as gym
    import torch

    torch.set_num_threads(1)
    from stable_baselines3.common.vec_env import DummyVecEnv

    import envs  # noqa: F401
    import teachers  # noqa: F401
    from agents import make_student
    from curricula import CurriculumCallback, make_teacher
    from teachers.subgoals import SubgoalTeacher

    env_id = "Curricula/KeyCorridorS3R3-v0"
    env_kwargs: dict[str, Any] = {"num_seeds": levels}
    space = gym.make(env_id, **env_kwargs).get_wrapper_attr("task_space")
    teacher = SubgoalTeacher(
        env_id=env_id, env_kwargs=env_kwargs, source="llm", fallback="oracle", max_tokens=max_tokens, max_attempts=1
    )
    teacher.start_llm()
    if not teacher.wait_idle(120) or teacher.llm_error is not None:  # the server itself is up before timing
        teacher.close()
        return {"fps_ratio_cold_warm": None, "error": teacher.llm_error or "server did not start"}
    venv = DummyVecEnv([lambda: _make_train_env(env_id, teacher, env_kwargs)] * 4)
    curriculum = CurriculumCallback(make_teacher("random", space, seed=0), reward_teachers=[teacher])
    model = make_student("ppo", venv, seed=0, device="cpu", n_steps=128)
    start = time.perf_counter()
    model.learn(steps, callback=curriculum)
    cold = steps / (time.perf_counter() - start)
    cold_stats = teacher.scalars()
    idle = teacher.wait_idle(wait_s)
    start = time.perf_counter()
    model.learn(steps, callback=curriculum, reset_num_timesteps=False)
    warm = steps / (time.perf_counter() - start)
    warm_stats = teacher.scalars()
    teacher.close()
    return {
        "fps_cold": round(cold, 1),
        "fps_warm": round(warm, 1),
        "fps_ratio_cold_warm": round(cold / warm, 3),
        "levels": levels,
        "llm_idle_before_warm": idle,
        "cold_fallback_annotations": cold_stats["fallback_annotations"],
        "warm_llm_annotations": warm_stats["llm_annotations"] - cold_stats["llm_annotations"],
        "llm_requests": warm_stats.get("llm_requests", 0.0),
        "llm_rejected": warm_stats["llm_rejected"],
        "llm_accepted": warm_stats["llm_accepted"],
    }


def _run_all(specs: list[dict[str, Any]], workers: int, records: str | None) -> list[dict[str, Any]]:
    """Train every spec (``workers`` at a time), reusing and appending to the ``records`` file when one is given."""

    def spec_of(run: dict[str, Any]) -> dict[str, Any]:
        return {key: run.get(key) for key in specs[0]}

    done: list[dict[str, Any]] = []
    if records and os.path.exists(records):
        with open(records) as lines:
            kept = [json.loads(line) for line in lines if line.strip()]
        done = [run for run in kept if spec_of(run) in specs]
    finished = [spec_of(run) for run in done]
    todo = [spec for spec in specs if spec not in finished]

    def keep(run: dict[str, Any]) -> None:
        print(f"finished {run['env_id']} {run['variant']} seed {run['seed']}: {run['steps_to_80']}", flush=True)
        done.append(run)
        if records:
            os.makedirs(os.path.dirname(records) or ".", exist_ok=True)
            with open(records, "a") as out:
                out.write(json.dumps(run) + "\n")

    if workers > 1 and len(todo) > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            for run in pool.imap_unordered(train_variant, todo):
                keep(run)
    else:
        for spec in todo:
            keep(train_variant(spec))
    order = [spec_of(run) for run in done]
    return [done[order.index(spec)] for spec in specs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets, 1 seed (under a minute)")
    parser.add_argument("--budget", type=int, default=200_000, help="env steps per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--policy", default="cnn", help="the student's network: 'cnn' (the grid CNN) or 'MlpPolicy'")
    parser.add_argument("--eval-every", type=int, default=20_000)
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--envs", nargs="+", default=["Curricula/KeyCorridorS3R3-v0"])
    parser.add_argument("--fps-steps", type=int, default=4096)
    parser.add_argument("--fps-levels", type=int, default=4)
    parser.add_argument("--skip-fps", action="store_true")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument(
        "--records",
        help="JSON-lines file: each finished run is appended as it ends, and runs already in it are reused",
    )
    args = parser.parse_args()
    if args.quick:
        args.budget, args.seeds, args.eval_every, args.eval_episodes = 1024, 1, 1024, 3
        args.n_envs, args.fps_steps, args.fps_levels = 4, 1536, 1
    specs = [
        {
            "env_id": env_id,
            "variant": variant,
            "seed": seed,
            "budget": args.budget,
            "n_envs": args.n_envs,
            "policy": args.policy,
            "eval_every": args.eval_every,
            "eval_episodes": args.eval_episodes,
        }
        for env_id in args.envs
        for seed in range(args.seeds)
        for variant in args.variants
    ]
    start = time.perf_counter()
    runs = _run_all(specs, args.workers, args.records)
    for run in runs:
        print(
            f"{run['env_id']} {run['variant']} seed {run['seed']}: steps_to_80={run['steps_to_80']} curve={run['curve']}"
        )
    steps_to_80: dict[str, Any] = {}
    for env_id in args.envs:
        for variant in args.variants:
            per_seed = [r["steps_to_80"] for r in runs if r["env_id"] == env_id and r["variant"] == variant]
            # median over seeds, counting a seed that never reached 80 % as slower than any that did
            median = float(np.median([np.inf if s is None else s for s in per_seed]))
            median_or_none = median if np.isfinite(median) else None
            steps_to_80[f"{env_id.split('/')[-1]}/{variant}"] = {"per_seed": per_seed, "median": median_or_none}
    fps = {} if args.skip_fps else fps_cold_warm(args.fps_steps, args.fps_levels, 48, 60.0 if args.quick else 600.0)
    summary = {
        "benchmark": "subgoals",
        "budget": args.budget,
        "seeds": args.seeds,
        "n_envs": args.n_envs,
        "policy": args.policy,
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "steps_to_80": steps_to_80,
        "fps_ratio_cold_warm": fps.get("fps_ratio_cold_warm"),
        "fps": fps,
        "wall_s": round(time.perf_counter() - start, 1),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "quick": args.quick,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
