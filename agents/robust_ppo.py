"""PPO that learns only from the env-steps a PLR⊥ teacher allows (replayed levels), and skips empty updates.

SB3's ``learn()`` always calls ``train()`` after ``collect_rollouts()`` and a callback cannot veto it, so Robust PLR
needs an algorithm subclass. :class:`RobustPPO` asks a mask function (usually
:meth:`teachers.plr.LevelReplayTeacher.train_mask`, refreshed by the curriculum callback at rollout end, which SB3
runs before ``train()``) which steps of the rollout buffer may be learned from:

* all of them (mask None or all True): a plain PPO update;
* some: the update runs on a copy of the buffer holding only those steps (their GAE was computed over the whole
  episode, so dropping other envs' or other episodes' steps does not change it);
* none: ``train()`` returns without an update (counted in ``updates_skipped``).

``num_timesteps`` still advances on skipped or partial updates, so learning-rate and clip-range schedules follow
env steps, not gradient updates (dcd/minimax count student updates instead).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer

from agents.factory import make_student

TrainMaskFn = Callable[[], "np.ndarray | None"]
_BUFFER_FIELDS = (
    "observations",
    "actions",
    "rewards",
    "returns",
    "episode_starts",
    "values",
    "log_probs",
    "advantages",
)


def restrict_buffer(buffer: RolloutBuffer, mask: np.ndarray) -> RolloutBuffer:
    """A full :class:`RolloutBuffer` (one env column) holding the masked steps of ``buffer``.

    :param buffer: a filled rollout buffer, after ``compute_returns_and_advantage``
    :param mask: bool, shape (n_steps, n_envs): the steps to keep
    """
    if type(buffer) is not RolloutBuffer:
        raise TypeError(f"RobustPPO supports SB3's RolloutBuffer only, got {type(buffer).__name__}")
    if mask.shape != (buffer.buffer_size, buffer.n_envs):
        raise ValueError(f"train mask has shape {mask.shape}, rollout is {(buffer.buffer_size, buffer.n_envs)}")
    kept = int(mask.sum())
    out = RolloutBuffer(
        kept,
        buffer.observation_space,
        buffer.action_space,
        device=buffer.device,
        gae_lambda=buffer.gae_lambda,
        gamma=buffer.gamma,
        n_envs=1,
    )
    for name in _BUFFER_FIELDS:
        setattr(out, name, np.ascontiguousarray(getattr(buffer, name)[mask][:, None]))
    out.pos, out.full = kept, True
    return out


class RobustPPO(PPO):
    """PPO whose update uses only the steps ``train_mask_fn()`` allows (see the module docstring).

    :param args: PPO's positional arguments
    :param train_mask_fn: returns the bool mask (n_steps, n_envs) of the last rollout, or None for "all steps"
    :param kwargs: PPO's keyword arguments
    """

    def __init__(self, *args: Any, train_mask_fn: TrainMaskFn | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_robust(train_mask_fn)

    def _init_robust(self, train_mask_fn: TrainMaskFn | None) -> None:
        self.train_mask_fn = train_mask_fn
        self.updates_skipped = 0
        self.updates_done = 0
        self.steps_trained = 0
        self.steps_masked = 0

    @classmethod
    def adopt(cls, model: PPO, train_mask_fn: TrainMaskFn | None) -> RobustPPO:
        """Turn a freshly built :class:`PPO` (e.g. from :func:`agents.make_student`) into a RobustPPO in place.

        RobustPPO adds attributes and overrides ``train()`` only, so switching the class keeps every setting,
        network and buffer the factory chose.
        """
        if type(model) is not PPO:
            raise TypeError(f"adopt() takes a plain PPO, got {type(model).__name__}")
        model.__class__ = cls
        robust: RobustPPO = model  # type: ignore[assignment]
        robust._init_robust(train_mask_fn)
        return robust

    def train(self) -> None:
        mask = None if self.train_mask_fn is None else self.train_mask_fn()
        full = self.rollout_buffer
        n_steps = full.buffer_size * full.n_envs
        if mask is None or bool(np.all(mask)):
            self.steps_trained += n_steps
            self.updates_done += 1
            super().train()
            return
        mask = np.asarray(mask, dtype=bool)
        kept = int(mask.sum())
        self.steps_masked += n_steps - kept
        self.logger.record("train/robust_trained_fraction", kept / n_steps)
        if kept == 0:
            self.updates_skipped += 1
            self.logger.record("train/robust_updates_skipped", self.updates_skipped)
            return
        self.steps_trained += kept
        self.updates_done += 1
        self.rollout_buffer = restrict_buffer(full, mask)
        try:
            super().train()
        finally:
            self.rollout_buffer = full


def make_robust_student(env: Any, train_mask_fn: TrainMaskFn | None, *, seed: int = 0, **kwargs: Any) -> RobustPPO:
    """:func:`agents.make_student` ``("ppo", ...)`` as a :class:`RobustPPO`.

    :param env: a Gymnasium env or SB3 VecEnv
    :param train_mask_fn: usually ``teacher.train_mask``
    :param seed: the student's seed
    :param kwargs: passed to :func:`agents.make_student`
    """
    model = make_student("ppo", env, seed=seed, **kwargs)
    assert isinstance(model, PPO)
    return RobustPPO.adopt(model, train_mask_fn)
