"""MiniGrid's own procedural families as task-aware envs whose level is a seed.

MiniGrid generates a level (room layout, objects, colours, agent start) from the seed given to ``reset``. So the
task space of a built-in family is a :class:`~curricula.spaces.SeedSpace`: a task ``{"seed": s}`` plays the
level of seed ``s``, and level-replay teachers (PLR) and annotating reward teachers (LLM subgoals, ONI) can name,
replay and describe levels. An episode without a task plays a seed drawn from the env's own seeded RNG, as every
task-aware env does. The observation is MiniGrid's 7x7x3 egocentric image (``ImgObsWrapper``); the unwrapped
MiniGrid env stays reachable (``env.unwrapped``) for captioners and subgoal detectors. An episode is solved when
its return is > 0 (MiniGrid pays ``1 - 0.9 * steps / max_steps`` on success only).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import minigrid  # noqa: F401 - registers the MiniGrid-* ids
import numpy as np
from minigrid.wrappers import ImgObsWrapper

from curricula.env_api import read_task
from curricula.spaces import SeedSpace
from envs.captions import MiniGridCaptioner
from envs.minigrid_text import MiniGridSubgoalsMixin

#: the MiniGrid families offered as seeded task-aware envs: Curricula id -> MiniGrid id
SEEDED_MINIGRID_IDS: dict[str, str] = {
    "Curricula/KeyCorridorS3R3-v0": "MiniGrid-KeyCorridorS3R3-v0",
    "Curricula/KeyCorridorS6R3-v0": "MiniGrid-KeyCorridorS6R3-v0",
    "Curricula/ObstructedMaze-1Dl-v0": "MiniGrid-ObstructedMaze-1Dl-v0",
    "Curricula/ObstructedMaze-1Dlh-v0": "MiniGrid-ObstructedMaze-1Dlh-v0",
    "Curricula/MultiRoom-N2-S4-v0": "MiniGrid-MultiRoom-N2-S4-v0",
    "Curricula/DoorKey-5x5-v0": "MiniGrid-DoorKey-5x5-v0",
    "Curricula/DoorKey-8x8-v0": "MiniGrid-DoorKey-8x8-v0",
    "Curricula/UnlockPickup-v0": "MiniGrid-UnlockPickup-v0",
}


class SeededMiniGridEnv(MiniGridSubgoalsMixin, gym.Wrapper[np.ndarray, int, Any, int]):
    """A built-in MiniGrid env whose task is the level seed. The mixin adds the level's text view and subgoals
    (``describe_level``, ``oracle_subgoals``, ``noisy_subgoals``, ``subgoal_snapshot``, ``subgoals_reached``).

    :param minigrid_id: a registered ``MiniGrid-*`` id
    :param num_seeds: levels are seeds ``0..num_seeds-1`` (None: any 31-bit seed, MiniGrid's effectively infinite
        level set)
    :param kwargs: passed to ``gym.make`` (e.g. ``max_steps``)
    """

    def __init__(self, minigrid_id: str, num_seeds: int | None = None, **kwargs: Any) -> None:
        super().__init__(ImgObsWrapper(gym.make(minigrid_id, **kwargs)))
        self.minigrid_id = minigrid_id
        self.task_space = SeedSpace(num_seeds)
        # the wrapper's own RNG: it draws the seeds of episodes that come without a task
        self.level_rng, _ = gym.utils.seeding.np_random(None)
        # event captions for ONI-style rewards: info["caption"] (and "caption_helpful") on every step
        self.captioner = MiniGridCaptioner(self.env.unwrapped)  # type: ignore[arg-type]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        if seed is not None:
            self.level_rng, _ = gym.utils.seeding.np_random(seed)
        level = read_task(options, self.task_space, self.level_rng)
        obs, info = self.env.reset(seed=int(level["seed"]))
        if seed is not None:
            # The level is the level seed's; what happens after generation (MiniGrid draws little) follows the
            # episode seed, so that two episode seeds of one level differ, as Gymnasium's seeding contract asks.
            self.env.unwrapped.np_random, _ = gym.utils.seeding.np_random(seed)
        info["level_seed"] = int(level["seed"])
        self.captioner.reset()
        return obs, info

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.captioner.before_step()
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["caption"], info["caption_helpful"] = self.captioner.after_step(int(action), float(reward), terminated)
        if terminated or truncated:
            info["is_success"] = float(reward) > 0.0
        return obs, float(reward), terminated, truncated, info


def make_seeded_minigrid(minigrid_id: str, num_seeds: int | None = None, **kwargs: Any) -> SeededMiniGridEnv:
    """Entry point of the seeded MiniGrid ids (see :data:`SEEDED_MINIGRID_IDS`)."""
    return SeededMiniGridEnv(minigrid_id, num_seeds=num_seeds, **kwargs)


def held_out_success_rate(model: Any, env_id: str, episodes: int, first_seed: int) -> float:
    """Success rate of ``model`` on levels ``first_seed .. first_seed + episodes - 1`` of a seeded MiniGrid id,
    played on the bare env (no subgoal input, no shaping, no LLM) with the stochastic policy.

    :param model: anything with SB3's ``predict``
    :param env_id: a seeded MiniGrid id (:data:`SEEDED_MINIGRID_IDS`)
    :param episodes: levels played, one episode each
    :param first_seed: the first level seed (held-out seeds lie far from the training ones)
    """
    from curricula.task import Task

    env = gym.make(env_id)
    wins = 0
    for i in range(episodes):
        obs, _ = env.reset(seed=i, options={"task": Task(id=i, level={"seed": first_seed + i})})
        done = False
        reward: Any = 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=False)
            obs, reward, terminated, truncated, _ = env.step(int(action))
            done = terminated or truncated
        wins += float(reward) > 0  # MiniGrid pays only on success
    env.close()
    return wins / episodes
