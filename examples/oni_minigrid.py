"""PPO vs PPO + ONI on a sparse MiniGrid task: intrinsic rewards from (LLM or noisy-oracle) feedback on captions.

Each variant trains its own PPO student from the same seed, under the same task teacher (uniform random level
seeds; any registered task teacher composes the same way, e.g. ``--task-teacher plr``). ONI is a *reward teacher*
beside it: the seeded MiniGrid envs caption every step (``info["caption"]``), ONI's VecEnv wrapper asks an annotator
about each unique caption once, trains its reward model on the answers and adds ``c_int * r / N_episode^beta``.
The task teacher still hears the env's own return.

Variants: ``ppo`` (no ONI), ``oni-retrieval``, ``oni-classification``, ``oni-ranking`` (noisy oracle: the env's
helpfulness ground truth with labels flipped with ``--flip-prob``), ``oni-llm`` (retrieval with the embedded
Gemma-3-270M *base* model, or ``--llm-base-url``: a pipeline check, not a judge worth its labels).

    python examples/oni_minigrid.py                                    # DoorKey-5x5, 60k steps, ppo vs oni-retrieval
    python examples/oni_minigrid.py --variants ppo oni-retrieval oni-classification oni-ranking --seeds 0 1 2
    python examples/oni_minigrid.py --env-id Curricula/KeyCorridorS3R3-v0 --timesteps 500000
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv

import envs  # noqa: F401 - registers the Curricula/* env ids (the seeded MiniGrid families caption their steps)
import teachers  # noqa: F401 - registers the task teachers and the "oni" reward teacher
from agents import make_student
from curricula import CurriculumCallback, TaskEnv, make_teacher, task_space_of
from curricula.reward_teacher import make_reward_teacher

VARIANTS = ("ppo", "oni-retrieval", "oni-classification", "oni-ranking", "oni-llm")


def oni_kwargs(variant: str, flip_prob: float, llm_base_url: str | None) -> dict[str, Any] | None:
    """The ``oni`` reward teacher's options of a variant (None: plain PPO)."""
    if variant == "ppo":
        return None
    if variant == "oni-llm":
        llm = {"base_url": llm_base_url, "model": "default"} if llm_base_url else None
        return {"annotator": "llm", "reward_model": "retrieval", "llm": llm}
    return {"annotator": "oracle", "reward_model": variant.removeprefix("oni-"), "flip_prob": flip_prob}


def run_variant(
    variant: str,
    *,
    env_id: str = "Curricula/DoorKey-5x5-v0",
    seed: int = 0,
    timesteps: int = 60_000,
    n_envs: int = 8,
    task_teacher: str = "random",
    flip_prob: float = 0.1,
    c_int: float = 0.1,
    llm_base_url: str | None = None,
    oni_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one PPO student (with ONI unless ``variant == "ppo"``) and summarise the run.

    :param variant: one of :data:`VARIANTS`
    :param env_id: a seeded MiniGrid id (``Curricula/DoorKey-5x5-v0``, ``Curricula/KeyCorridorS3R3-v0``, ...)
    :param seed: seeds the student, the task teacher and ONI
    :param timesteps: env steps of training
    :param n_envs: parallel envs (one process: ``DummyVecEnv``)
    :param task_teacher: the registered task teacher that picks the level seeds
    :param flip_prob: the noisy oracle's label-flip probability
    :param c_int: ONI's intrinsic-reward coefficient
    :param llm_base_url: an OpenAI-compatible server for ``oni-llm`` (default: the embedded one is started)
    :param oni_overrides: more ``oni`` options
    :return: success rate over the last quarter of training episodes, steps/s, ONI's scalars
    """
    base = DummyVecEnv([lambda: TaskEnv(gym.make(env_id))] * n_envs)
    base.seed(seed)
    teacher = make_teacher(task_teacher, task_space_of(base), seed=seed)
    kwargs = oni_kwargs(variant, flip_prob, llm_base_url)
    reward_teachers = []
    venv: Any = base
    if kwargs is not None:
        oni = make_reward_teacher("oni", seed=seed, c_int=c_int, **kwargs, **(oni_overrides or {}))
        venv = oni.wrap_vec_env(base)
        reward_teachers.append(oni)
    curriculum = CurriculumCallback(teacher, keep_results=True, reward_teachers=reward_teachers)
    # SB3's PPO defaults with 8 envs x 128 steps, the MLP student (fastest on 2 CPU cores)
    student = make_student("ppo", venv, seed=seed, policy="MlpPolicy", n_steps=128, batch_size=256, ent_coef=0.01)
    started = time.perf_counter()
    try:
        student.learn(timesteps, callback=curriculum)
    finally:
        for reward_teacher in reward_teachers:
            reward_teacher.close()
    seconds = time.perf_counter() - started
    results = curriculum.results
    last = results[-max(1, len(results) // 4) :]
    summary: dict[str, Any] = {
        "variant": variant,
        "seed": seed,
        "timesteps": int(student.num_timesteps),
        "episodes": len(results),
        "success_last_quarter": float(np.mean([bool(r.success) for r in last])) if results else 0.0,
        "return_last_quarter": float(np.mean([r.episode_return for r in last])) if results else 0.0,
        "seconds": seconds,
        "fps": student.num_timesteps / seconds,
    }
    if reward_teachers:
        scalars = reward_teachers[0].scalars()
        summary["oni"] = {
            k: scalars[k]
            for k in (
                "labels",
                "positive_labels",
                "pairs_labelled",
                "unique_captions",
                "label_coverage_total",
                "r_int_paid_total",
                "gradient_steps",
                "annotator_failed",
            )
            if k in scalars
        }
    base.close()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="Curricula/DoorKey-5x5-v0")
    parser.add_argument("--variants", nargs="+", default=["ppo", "oni-retrieval"], choices=VARIANTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--timesteps", type=int, default=60_000)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--task-teacher", default="random")
    parser.add_argument("--flip-prob", type=float, default=0.1)
    parser.add_argument("--c-int", type=float, default=0.1)
    parser.add_argument("--llm-base-url", default=None)
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        for variant in args.variants:
            row = run_variant(
                variant,
                env_id=args.env_id,
                seed=seed,
                timesteps=args.timesteps,
                n_envs=args.n_envs,
                task_teacher=args.task_teacher,
                flip_prob=args.flip_prob,
                c_int=args.c_int,
                llm_base_url=args.llm_base_url,
            )
            rows.append(row)
            print(json.dumps(row))
    success = {}
    for variant in args.variants:
        mine = [r["success_last_quarter"] for r in rows if r["variant"] == variant]
        success[variant] = float(np.mean(mine))
        print(f"{variant:>20}: success (last quarter of training episodes) {np.mean(mine):.2f} over {len(mine)} seeds")
    print(
        json.dumps(
            {"env_id": args.env_id, "timesteps": args.timesteps, "seeds": args.seeds, "success": success, "runs": rows}
        )
    )


if __name__ == "__main__":
    main()
