"""The simulated-student toy space of the ALP-GMM paper (Portelas et al., CoRL 2019).

Same semantics as ``flowersteam/teachDeepRL:teachDRL/toy_env/toy_env.py``: the unit hypercube in
``n_dims`` dimensions is cut into ``n_bins`` bins per dimension; each cell holds a competence 0..100 starting
at 0. Playing a point raises its cell's competence by 1 (capped at 100) if the cell is the origin cell or if
any "previous" neighbour (index i_j or i_j - 1 in every dim, itself excluded) has competence >= 75. The episode
return is the cell's competence / 100 after the update; the score is the % of cells with competence > 75.
Extra task dimensions beyond ``n_dims`` are irrelevant (ignored), as in the paper's distractor experiments.

:class:`ToyStudent` is the fast direct API for teacher benchmarks; :class:`ToyEnv` exposes the same student as
a one-step Gymnasium env so it runs through the regular plumbing.
"""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np

from curricula.env_api import read_task
from curricula.spaces import Dimension, ParameterSpace

UNLOCK_COMPETENCE = 75
MAX_COMPETENCE = 100


def toy_space(n_dims: int = 2, extra_dims: int = 0) -> ParameterSpace:
    """The task space: ``n_dims + extra_dims`` dimensions ``x0, x1, ...`` in [0, 1]."""
    return ParameterSpace([Dimension(f"x{i}", 0.0, 1.0) for i in range(n_dims + extra_dims)])


class ToyStudent:
    """Competence grid of the simulated student.

    :param n_dims: relevant dimensions
    :param n_bins: bins per dimension
    :param extra_dims: irrelevant trailing dimensions accepted (and ignored) in every point
    """

    def __init__(self, n_dims: int = 2, n_bins: int = 10, extra_dims: int = 0) -> None:
        if n_dims < 1:
            raise ValueError(f"n_dims must be >= 1, got {n_dims}")
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins}")
        if extra_dims < 0:
            raise ValueError(f"extra_dims must be >= 0, got {extra_dims}")
        self.n_dims, self.n_bins, self.extra_dims = n_dims, n_bins, extra_dims
        self.competence = np.zeros((n_bins,) * n_dims, dtype=np.int64)
        # offsets of the "previous" neighbours: each index i_j or i_j - 1, the cell itself excluded
        self._offsets = np.array([o for o in itertools.product((0, -1), repeat=n_dims) if any(o)], dtype=np.int64)

    @property
    def space(self) -> ParameterSpace:
        return toy_space(self.n_dims, self.extra_dims)

    def cell_of(self, point: np.ndarray) -> tuple[int, ...]:
        p = np.asarray(point, dtype=np.float64)
        if p.shape != (self.n_dims + self.extra_dims,):
            raise ValueError(f"point must have {self.n_dims + self.extra_dims} values, got shape {p.shape}")
        if not np.all((p >= 0.0) & (p <= 1.0)):
            raise ValueError(f"point must lie in [0, 1]^d, got {p.tolist()}")
        # a value of exactly 1.0 falls in the last cell
        return tuple(np.minimum((p[: self.n_dims] * self.n_bins).astype(np.int64), self.n_bins - 1).tolist())

    def unlocked(self, cell: tuple[int, ...]) -> bool:
        """Whether playing in ``cell`` raises its competence: the origin cell, or a previous neighbour >= 75."""
        if not any(cell):
            return True
        neighbours = np.asarray(cell, dtype=np.int64) + self._offsets
        neighbours = neighbours[np.all(neighbours >= 0, axis=1)]
        return bool(np.any(self.competence[tuple(neighbours.T)] >= UNLOCK_COMPETENCE))

    def play(self, point: np.ndarray) -> float:
        """One episode on ``point``: update the competence and return the episode return in [0, 1]."""
        cell = self.cell_of(point)
        if self.unlocked(cell):
            self.competence[cell] = min(self.competence[cell] + 1, MAX_COMPETENCE)
        return float(self.competence[cell]) / MAX_COMPETENCE

    def score(self) -> float:
        """% of cells mastered (competence > 75)."""
        return 100.0 * float(np.mean(self.competence > UNLOCK_COMPETENCE))


class ToyEnv(gym.Env[np.ndarray, np.int64]):
    """:class:`ToyStudent` as a one-step episode env: the reset's task is played, the single step pays the
    competence / 100. The observation and action carry no information (the "student" is the competence grid).
    Success (``info["is_success"]``) = the cell is mastered. Without a task the episode plays a uniform point drawn
    from the env's seeded RNG.

    :param n_dims: relevant dimensions
    :param n_bins: bins per dimension
    :param extra_dims: irrelevant dimensions
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(self, n_dims: int = 2, n_bins: int = 10, extra_dims: int = 0) -> None:
        self.student = ToyStudent(n_dims, n_bins, extra_dims)
        self.task_space = self.student.space
        self.observation_space = gym.spaces.Box(low=0.0, high=1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._point = np.full(self.task_space.ndim, 0.5)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._point = self.task_space.to_vector(read_task(options, self.task_space, self.np_random))
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: np.int64) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward = self.student.play(self._point)
        # every episode is one step long: this is its last step
        info = {"is_success": reward > UNLOCK_COMPETENCE / MAX_COMPETENCE, "score": self.student.score()}
        return np.zeros(1, dtype=np.float32), reward, True, False, info
