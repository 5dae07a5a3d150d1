"""Batched grid envs against MiniGrid under DummyVecEnv: env steps/s on the same levels, and PPO end to end.

Both sides play the same maze levels (the same tasks, pushed in the same order, stepped with the same random
actions), then train the same PPO student (same network, same hyperparameters, same seed, the curriculum
callback with a Random teacher) for the same number of steps, twice: with jaxued's maze PPO settings (32 envs x 256
steps, one minibatch, 5 epochs; ``ppo_speedup``) and with ``agents.make_student``'s defaults (128 steps, minibatches
of 256, 4 epochs; ``ppo_speedup_defaults``, where the student's update weighs more). The ratios are measured side
by side in this run. Last, PPO + PLR⊥ end to end on the batched ``Curricula/MazeLarge-v0`` with jaxued's settings,
MLP and grid CNN, against jaxued's own 13.1k env steps/s on the same 2-core CPU.

    python benchmarks/env_throughput.py            # ~4 min on 2 cores
    python benchmarks/env_throughput.py --quick    # < 1 min

The last line is JSON: ``env_speedup`` by env count, ``ppo_speedup``, ``plr_robust_vs_jaxued`` and the raw steps/s.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

import envs  # noqa: F401 - registers the ids
import teachers  # noqa: F401 - registers the teachers
from agents import limit_threads, make_student
from agents.robust_ppo import RobustPPO, make_robust_student
from curricula import CurriculumCallback, Task, TaskEnv, make_teacher, task_space_of
from envs.batched_grid import make_batched_env
from envs.maze import MazeLevelSpace
from teachers.plr import LevelReplayTeacher


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
    # enough levels queued for the episodes of the run (random-action episodes are long; both envs' task queues
    # hold at most 1,024, a bug guard): a queue that runs dry plays levels of the env's choosing, on both sides
    per_env = min(1024, max(4, batched_steps // 8))
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


#: PPO settings of jaxued's ``examples/maze_plr.py`` (32 envs x 256 steps, one minibatch, 5 epochs): the JAX peer's
#: configuration, used for the like-for-like end-to-end comparison
JAXUED_PPO: dict[str, Any] = dict(
    n_steps=256, n_epochs=5, learning_rate=1e-4, gamma=0.995, gae_lambda=0.98, ent_coef=1e-3, clip_range=0.2
)
JAXUED_N_ENVS = 32
#: jaxued's ``examples/maze_plr.py`` (PLR⊥, CNN + LSTM policy), env steps/s measured end to end on this project's
#: 2-core CPU machine (the figure this benchmark compares against; JAX is not a dependency here)
JAXUED_STEPS_PER_S = 13_100


def ppo_steps_per_second(
    venv: VecEnv,
    rollouts: int,
    policy: str,
    seed: int,
    ppo: dict[str, Any] | None = None,
    teacher_name: str = "random",
    teacher_kwargs: dict[str, Any] | None = None,
    warmup_rollouts: int = 1,
) -> tuple[float, float]:
    """PPO training steps/s (rollouts and updates) under the curriculum callback after ``warmup_rollouts`` untimed
    rollouts, and the share of the timed env steps the student's update trained on (below 1 only for PLR⊥).

    :param ppo: PPO settings over ``agents.make_student``'s defaults (``batch_size`` defaults to one minibatch when
        ``n_steps`` is given without it)
    :param teacher_name: ``"robust_plr"`` trains a RobustPPO student on the teacher's train mask (PLR⊥)
    """
    space = task_space_of(venv)
    teacher = make_teacher(teacher_name, space, seed=seed, **(teacher_kwargs or {}))
    settings = dict(ppo or {})
    if "n_steps" in settings:
        settings.setdefault("batch_size", settings["n_steps"] * venv.num_envs)
    if teacher_name == "robust_plr":
        assert isinstance(teacher, LevelReplayTeacher)
        student: PPO = make_robust_student(venv, teacher.train_mask, seed=seed, policy=policy, device="cpu", **settings)
    else:
        plain = make_student("ppo", venv, seed=seed, policy=policy, device="cpu", **settings)
        assert isinstance(plain, PPO)
        student = plain
    callback = CurriculumCallback(teacher)
    rollout = student.n_steps * venv.num_envs
    student.learn(rollout * warmup_rollouts, callback=callback)
    trained_before = getattr(student, "steps_trained", 0)
    started = time.perf_counter()
    student.learn(rollout * rollouts, callback=callback, reset_num_timesteps=False)
    seconds = time.perf_counter() - started
    trained = (getattr(student, "steps_trained", 0) - trained_before) / (rollout * rollouts)
    return rollout * rollouts / seconds, trained if isinstance(student, RobustPPO) else 1.0


def compare_ppo(env_id: str, n_envs: int, rollouts: int, policy: str, seed: int, ppo: dict[str, Any] | None) -> dict:
    """PPO steps/s on the batched env and on MiniGrid envs: same network, settings, seed and teacher (Random)."""
    batched, _ = ppo_steps_per_second(make_batched_env(env_id, n_envs, seed=seed), rollouts, policy, seed, ppo)
    minigrid, _ = ppo_steps_per_second(minigrid_vec_env(env_id, n_envs), rollouts, policy, seed, ppo)
    return {"batched": batched, "minigrid": minigrid, "speedup": batched / minigrid}


def plr_robust_steps_per_second(
    env_id: str, rollouts: int, policy: str, seed: int, n_envs: int = JAXUED_N_ENVS
) -> tuple[float, float]:
    """PPO + PLR⊥ on the batched env with jaxued's maze settings (buffer 4,000, replay 0.8, MaxMC, no gradient on
    new levels, 32 envs, its PPO settings), and the share of steps trained on. Replay starts at once (``min_fill``
    0.001) and six untimed rollouts let the replayed share settle (a fresh run's first episodes are all on new
    levels, which PLR⊥ does not train on), so the timed rollouts pay for scoring and for the update on replayed
    levels as in jaxued's steady state, where 80 % of the rollouts are replays trained on in full.

    :param n_envs: envs; the rollout keeps jaxued's 8,192 steps (``n_steps`` = 8,192 / ``n_envs``)
    """
    plr = dict(preset="paper", replay_prob=0.8, score="maxmc", min_fill=0.001)
    venv = make_batched_env(env_id, n_envs, seed=seed)
    ppo = {**JAXUED_PPO, "n_steps": JAXUED_N_ENVS * JAXUED_PPO["n_steps"] // n_envs}
    return ppo_steps_per_second(venv, rollouts, policy, seed, ppo, "robust_plr", plr, warmup_rollouts=6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small budgets (< 1 min)")
    parser.add_argument(
        "--env-id", default="Curricula/Maze-v0", choices=["Curricula/Maze-v0", "Curricula/MazeLarge-v0"]
    )
    parser.add_argument("--n-envs", type=int, nargs="+", default=[8, 64, 256])
    parser.add_argument(
        "--ppo-envs",
        type=int,
        default=None,
        help="envs of the PPO comparison with make_student defaults (default 64; quick 16)",
    )
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
    rollouts = 1 if args.quick else 3
    ppo_envs = args.ppo_envs or (16 if args.quick else 64)
    ppo = {
        "jaxued": compare_ppo(args.env_id, JAXUED_N_ENVS, rollouts, args.policy, args.seed, JAXUED_PPO),
        "defaults": compare_ppo(args.env_id, ppo_envs, rollouts * 2, args.policy, args.seed, None),
    }
    for name, result in ppo.items():
        print(f"PPO ({args.policy}, {name} settings): batched {result['batched']:,.0f} steps/s, MiniGrid "
              f"{result['minigrid']:,.0f} steps/s: {result['speedup']:.1f}x")  # fmt: skip
    plr_robust: dict[str, float] = {}
    trained_share: dict[str, float] = {}
    # jaxued's shape (32 envs x 256 steps) for both networks; the MLP also with 64 envs x 128 steps (the same
    # 8,192-step rollout and update, half as many policy calls, each on twice the envs)
    for policy, n_envs in (("MlpPolicy", 32), ("cnn", 32), ("MlpPolicy", 64)):
        key = f"{policy}/{n_envs}"
        plr_robust[key], trained_share[key] = plr_robust_steps_per_second(
            "Curricula/MazeLarge-v0", rollouts, policy, args.seed, n_envs
        )
        print(f"PPO + PLR⊥ ({policy}, {n_envs} envs, jaxued's settings, batched MazeLarge): "
              f"{plr_robust[key]:,.0f} steps/s, {plr_robust[key] / JAXUED_STEPS_PER_S:.2f}x jaxued's "
              f"{JAXUED_STEPS_PER_S:,} (update on {trained_share[key]:.0%} of the steps)")  # fmt: skip
    summary = {
        "env_id": args.env_id,
        "env_speedup": {n: round(r["speedup"], 2) for n, r in env.items()},
        "env_steps_per_s": {n: {k: round(v) for k, v in r.items() if k != "speedup"} for n, r in env.items()},
        # the headline: jaxued's PPO settings (one minibatch, 5 epochs), 32 envs; "defaults": make_student's
        "ppo_speedup": round(ppo["jaxued"]["speedup"], 2),
        "ppo_speedup_defaults": round(ppo["defaults"]["speedup"], 2),
        "ppo_steps_per_s": {name: {k: round(r[k]) for k in ("batched", "minigrid")} for name, r in ppo.items()},
        "ppo_defaults_n_envs": ppo_envs,
        "plr_robust_steps_per_s": {k: round(v) for k, v in plr_robust.items()},
        "plr_robust_vs_jaxued": {k: round(v / JAXUED_STEPS_PER_S, 2) for k, v in plr_robust.items()},
        "plr_robust_trained_share": {k: round(v, 3) for k, v in trained_share.items()},
        "policy": args.policy,
        "quick": args.quick,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
