"""Small numeric helpers shared by the teachers: growing arrays, exact 1-NN, proportional choice, BLAS limits.

No teacher is registered here; teachers import these public names instead of reaching into each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from threadpoolctl import ThreadpoolController

_CONTROLLER: ThreadpoolController | None = None


def single_threaded() -> Any:
    """A context that limits BLAS/OpenMP to one thread.

    The controller is built once: ``threadpool_limits()`` rescans the loaded libraries on every call, which costs
    2-60 ms, as much as a small fit.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


class GrowingArray:
    """An append-only float64 matrix with amortized O(1) appends (history of tasks, returns, ALPs).

    :param width: number of columns
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self._data = np.zeros((64, width), dtype=np.float64)
        self.size = 0

    def append(self, row: np.ndarray) -> None:
        """Add one row of ``width`` values."""
        if self.size == self._data.shape[0]:
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self.size] = row
        self.size += 1

    @property
    def view(self) -> np.ndarray:
        """The rows appended so far, shape (size, width) (a view: copy it to keep it)."""
        return self._data[: self.size]

    def assign(self, values: np.ndarray) -> None:
        """Replace every row with ``values`` (reshaped to ``width`` columns), e.g. when a teacher state is loaded.

        :param values: the new rows
        """
        values = np.asarray(values, dtype=np.float64).reshape(-1, self.width)
        self._data = np.zeros((max(64, 2 * len(values)), self.width), dtype=np.float64)
        self._data[: len(values)] = values
        self.size = len(values)


class NearestNeighbour:
    """Exact 1-NN over a growing point set: a k-d tree over the bulk, rebuilt every ``buffer_size`` inserts,
    plus a brute-force scan of the recent points (the reference's buffered tree, without its per-query rebuild).

    :param width: point dimension
    :param buffer_size: points kept outside the tree before it is rebuilt
    """

    def __init__(self, width: int, buffer_size: int = 500) -> None:
        self.points = GrowingArray(width)
        self.buffer_size = buffer_size
        self._tree: cKDTree | None = None
        self._in_tree = 0

    def __len__(self) -> int:
        return self.points.size

    def add(self, point: np.ndarray) -> None:
        """Store one point."""
        self.points.append(point)
        if self.points.size - self._in_tree >= self.buffer_size:
            self._rebuild()

    def _rebuild(self) -> None:
        self._in_tree = self.points.size
        self._tree = cKDTree(self.points.view.copy())

    def assign(self, points: np.ndarray) -> None:
        """Replace the stored points (the tree is rebuilt as if they had been added one by one).

        :param points: the new point set, shape (n, width)
        """
        self.points.assign(points)
        self._tree, self._in_tree = None, 0
        if self.points.size >= self.buffer_size:
            self._rebuild()

    def query(self, point: np.ndarray) -> int:
        """Index of the nearest stored point (the earliest on exact ties); the set must not be empty."""
        best_index, best_dist = -1, np.inf
        if self._tree is not None:
            dist, index = self._tree.query(point)
            best_index, best_dist = int(index), float(dist) ** 2
        recent = self.points.view[self._in_tree :]
        if len(recent):
            d2 = np.sum((recent - point) ** 2, axis=1)
            k = int(np.argmin(d2))
            if d2[k] < best_dist:
                best_index = self._in_tree + k
        return best_index


def proportional_choice(weights: np.ndarray, rng: np.random.Generator) -> int:
    """An index drawn in proportion to non-negative ``weights`` (uniformly if they are all zero).

    :param weights: one weight per candidate; negative values count as zero
    :param rng: the caller's generator
    """
    w = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    total = float(w.sum())
    if total <= 0.0 or not np.isfinite(total):
        return int(rng.integers(len(w)))
    return int(rng.choice(len(w), p=w / total))
