"""The simulated-student toy space of the ALP-GMM paper (Portelas et al., CoRL 2019), and its harder shapes.

Same semantics as ``flowersteam/teachDeepRL:teachDRL/toy_env/toy_env.py`` by default: the unit hypercube in
``n_dims`` dimensions is cut into ``n_bins`` bins per dimension; each cell holds a competence 0..100 starting
at 0. Playing a point raises its cell's competence by 1 (capped at 100) if the cell is the origin cell or if
any "previous" neighbour (index i_j or i_j - 1 in every dim, itself excluded) has competence >= 75. The episode
return is the cell's competence / 100 after the update; the score is the % of cells with competence > 75.
Extra task dimensions beyond ``n_dims`` are irrelevant (ignored), as in the paper's distractor experiments.

Options give the task-space shapes of TeachMyAgent's challenges (Romac et al., ICML 2021), on the same student:

* ``shuffle_seed`` — rugged difficulty: the bins of each dimension are reordered by a seeded permutation, so the
  unlock chain (defined on the *difficulty ranks* of the bins) jumps around the space instead of growing from one
  corner. A cell's competence is still stored at its position in the space.
* ``extra_dims`` — irrelevant dimensions (the paper's distractors).
* ``n_dims`` — more relevant dimensions (use fewer bins: 76 visits per cell is the floor).
* ``infeasible_fraction`` — the hardest fraction of the first dimension's difficulty range can never be learned
  (its cells never unlock, so they always return 0); the score counts the learnable cells only.
* ``forget_every`` — a forgetting student: every ``forget_every`` episodes, each cell that was not played since the
  last decay loses one competence point (a mastered cell left alone drops below mastery after
  ``25 * forget_every`` episodes, and stops unlocking its successors).

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

    ``competence`` is indexed by the cell's position in the space (bin of each relevant coordinate); with
    ``shuffle_seed`` the unlock rule reads each position's difficulty rank instead (:meth:`rank_of`).

    :param n_dims: relevant dimensions
    :param n_bins: bins per dimension
    :param extra_dims: irrelevant trailing dimensions accepted (and ignored) in every point
    :param shuffle_seed: reorder the bins of each dimension by a permutation drawn from this seed (rugged
        difficulty); ``None`` keeps the paper's order (difficulty grows with each coordinate)
    :param infeasible_fraction: fraction of the first dimension's difficulty ranks (the hardest ones) whose cells
        can never be learned; at least one rank stays learnable
    :param forget_every: episodes between decays of the cells not played since the previous decay (each loses
        one point); 0 disables forgetting
    """

    def __init__(
        self,
        n_dims: int = 2,
        n_bins: int = 10,
        extra_dims: int = 0,
        *,
        shuffle_seed: int | None = None,
        infeasible_fraction: float = 0.0,
        forget_every: int = 0,
    ) -> None:
        if n_dims < 1:
            raise ValueError(f"n_dims must be >= 1, got {n_dims}")
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins}")
        if extra_dims < 0:
            raise ValueError(f"extra_dims must be >= 0, got {extra_dims}")
        if not 0.0 <= infeasible_fraction < 1.0:
            raise ValueError(f"infeasible_fraction must be in [0, 1), got {infeasible_fraction}")
        if forget_every < 0:
            raise ValueError(f"forget_every must be >= 0, got {forget_every}")
        self.n_dims, self.n_bins, self.extra_dims = n_dims, n_bins, extra_dims
        self.shuffle_seed, self.infeasible_fraction, self.forget_every = shuffle_seed, infeasible_fraction, forget_every
        self.competence = np.zeros((n_bins,) * n_dims, dtype=np.int64)
        # offsets of the "previous" neighbours: each index i_j or i_j - 1, the cell itself excluded
        self._offsets = np.array([o for o in itertools.product((0, -1), repeat=n_dims) if any(o)], dtype=np.int64)
        # rank_of_bin[j, b]: difficulty rank of bin b of dimension j; bin_of_rank is its inverse
        if shuffle_seed is None:
            self.rank_of_bin = np.tile(np.arange(n_bins, dtype=np.int64), (n_dims, 1))
        else:
            rng = np.random.default_rng(shuffle_seed)
            self.rank_of_bin = np.stack([rng.permutation(n_bins) for _ in range(n_dims)]).astype(np.int64)
        self.bin_of_rank = np.argsort(self.rank_of_bin, axis=1)
        # the hardest ranks of dimension 0 are infeasible (rounded, keeping at least one learnable rank)
        infeasible_ranks = min(round(infeasible_fraction * n_bins), n_bins - 1)
        positions = np.indices(self.competence.shape)
        self.feasible = self.rank_of_bin[0][positions[0]] < n_bins - infeasible_ranks
        self._previous_neighbours = self._neighbour_table()
        self.episodes = 0
        self._played_since_decay = np.zeros(self.competence.shape, dtype=bool)

    @property
    def space(self) -> ParameterSpace:
        return toy_space(self.n_dims, self.extra_dims)

    def cell_of(self, point: np.ndarray) -> tuple[int, ...]:
        """The position of the cell holding ``point`` (bin index of each relevant coordinate)."""
        p = np.asarray(point, dtype=np.float64)
        if p.shape != (self.n_dims + self.extra_dims,):
            raise ValueError(f"point must have {self.n_dims + self.extra_dims} values, got shape {p.shape}")
        if not np.all((p >= 0.0) & (p <= 1.0)):
            raise ValueError(f"point must lie in [0, 1]^d, got {p.tolist()}")
        # a value of exactly 1.0 falls in the last cell
        return tuple(np.minimum((p[: self.n_dims] * self.n_bins).astype(np.int64), self.n_bins - 1).tolist())

    def rank_of(self, cell: tuple[int, ...]) -> tuple[int, ...]:
        """The difficulty rank of a cell position (the position itself unless the bins are shuffled)."""
        return tuple(int(self.rank_of_bin[j, b]) for j, b in enumerate(cell))

    def unlocked(self, cell: tuple[int, ...]) -> bool:
        """Whether playing in ``cell`` (a position) raises its competence: a feasible cell that is the easiest
        one (rank origin) or has a previous neighbour in rank order with competence >= 75."""
        if not self.feasible[cell]:
            return False
        neighbours = self._previous_neighbours[int(np.ravel_multi_index(cell, self.competence.shape))]
        if neighbours is None:
            return True
        return bool(self.competence.reshape(-1)[neighbours].max() >= UNLOCK_COMPETENCE)

    def _neighbour_table(self) -> list[np.ndarray | None]:
        """Flat positions of each cell's previous neighbours in rank order (``None`` for the rank origin), built
        once so that an episode costs one lookup."""
        table: list[np.ndarray | None] = []
        for cell in itertools.product(range(self.n_bins), repeat=self.n_dims):
            rank = np.asarray(self.rank_of(cell), dtype=np.int64)
            if not rank.any():
                table.append(None)
                continue
            neighbours = rank + self._offsets
            neighbours = neighbours[np.all(neighbours >= 0, axis=1)]
            positions = self.bin_of_rank[np.arange(self.n_dims), neighbours]
            table.append(np.ravel_multi_index(tuple(positions.T), self.competence.shape))
        return table

    def play(self, point: np.ndarray) -> float:
        """One episode on ``point``: update the competence and return the episode return in [0, 1]."""
        cell = self.cell_of(point)
        if self.unlocked(cell):
            self.competence[cell] = min(self.competence[cell] + 1, MAX_COMPETENCE)
        ret = float(self.competence[cell]) / MAX_COMPETENCE
        self.episodes += 1
        if self.forget_every:
            self._played_since_decay[cell] = True
            if self.episodes % self.forget_every == 0:
                # cells left alone for a whole period lose one point; what was practised keeps its level
                decay = ~self._played_since_decay & (self.competence > 0)
                self.competence[decay] -= 1
                self._played_since_decay[:] = False
        return ret

    def score(self) -> float:
        """% of the learnable cells mastered (competence > 75); all cells unless some are infeasible."""
        return 100.0 * float(np.mean(self.competence[self.feasible] > UNLOCK_COMPETENCE))


class ToyEnv(gym.Env[np.ndarray, np.int64]):
    """:class:`ToyStudent` as a one-step episode env: the reset's task is played, the single step pays the
    competence / 100. The observation and action carry no information (the "student" is the competence grid).
    Success (``info["is_success"]``) = the cell is mastered. Without a task the episode plays a uniform point drawn
    from the env's seeded RNG.

    :param n_dims: relevant dimensions
    :param n_bins: bins per dimension
    :param extra_dims: irrelevant dimensions
    :param variant: the shape options of :class:`ToyStudent` (``shuffle_seed``, ``infeasible_fraction``,
        ``forget_every``)
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(self, n_dims: int = 2, n_bins: int = 10, extra_dims: int = 0, **variant: Any) -> None:
        self.student = ToyStudent(n_dims, n_bins, extra_dims, **variant)
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
