"""Oracle teachers: curricula written with expert knowledge, as upper references for the LP teachers.

* With a privileged ``student`` (the toy space's competence grid), the oracle samples uniformly inside cells that
  are unlocked but not yet mastered: the best a teacher can do there (about 7,600 episodes to master 100 cells).
* Without one (the registered default), it is teachDRL's sliding-window oracle: tasks uniform in a window of
  ``window_fraction`` of each range, starting at the easy corner; every ``period`` episodes, if the mean raw
  return over them exceeds ``threshold``, the window moves by ``step`` (clamped to the box).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import numpy as np

from curricula.spaces import ParameterSpace, TaskSpace
from curricula.task import EpisodeResult, Task
from curricula.teacher import Teacher, register_teacher


class CompetenceGrid(Protocol):
    """What the privileged oracle reads from the student (``envs.toy.ToyStudent`` has all of it)."""

    n_dims: int
    n_bins: int
    competence: np.ndarray

    def unlocked(self, cell: tuple[int, ...]) -> bool: ...


#: Stump Tracks' oracle in teachDRL: start at (height 0, spacing 6), move +0.1 height and -0.2 spacing
STUMP_TRACKS_ORACLE: dict[str, Any] = {"start": (0.0, 1.0), "step": (0.1 / 3.0, -0.2 / 6.0), "threshold": 230.0}


@register_teacher("oracle")
class OracleTeacher(Teacher):
    """Expert curriculum: frontier cells of a privileged toy student, or a return-driven sliding window.

    :param space: a :class:`~curricula.spaces.ParameterSpace`
    :param seed: RNG seed
    :param student: a competence grid to read (privileged mode); ``None`` for the sliding window
    :param mastery: competence above which a cell counts as mastered (toy: 75)
    :param window_fraction: window width as a fraction of each dimension's range
    :param start: window corner to start from, per dimension in unit-cube units (0: low end, 1: high end)
    :param step: window move per dimension, in unit-cube units (sign = direction)
    :param threshold: mean raw return over ``period`` episodes needed to move
    :param period: episodes between checks
    """

    supported_spaces: ClassVar[tuple[type[TaskSpace], ...]] = (ParameterSpace,)

    def __init__(
        self,
        space: TaskSpace,
        seed: int = 0,
        student: CompetenceGrid | None = None,
        mastery: int = 75,
        window_fraction: float = 1.0 / 6.0,
        start: Sequence[float] | None = None,
        step: Sequence[float] | None = None,
        threshold: float = 230.0,
        period: int = 50,
    ) -> None:
        super().__init__(space, seed)
        assert isinstance(self.space, ParameterSpace)
        d = self.space.ndim
        if not 0.0 < window_fraction <= 1.0:
            raise ValueError(f"window_fraction must be in (0, 1], got {window_fraction}")
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.student = student
        self.mastery = int(mastery)
        self.width = float(window_fraction)
        corner = np.zeros(d) if start is None else np.asarray(start, dtype=np.float64)
        self.step = np.full(d, 1.0 / 30.0) if step is None else np.asarray(step, dtype=np.float64)
        if corner.shape != (d,) or self.step.shape != (d,):
            raise ValueError(f"start and step need {d} values each, got {corner.shape} and {self.step.shape}")
        # a corner at the high end means the window's upper edge sits there
        self.window_low = np.clip(corner - self.width * (corner >= 0.5), 0.0, 1.0 - self.width)
        self.threshold = float(threshold)
        self.period = int(period)
        self.recent: list[float] = []
        self.moves = 0

    def _frontier(self) -> list[tuple[int, ...]]:
        assert self.student is not None
        grid = self.student.competence
        cells = [tuple(int(i) for i in c) for c in np.argwhere(grid <= self.mastery)]
        return [c for c in cells if self.student.unlocked(c)]

    def _sample(self) -> Task:
        assert isinstance(self.space, ParameterSpace)
        unit = self.rng.random(self.space.ndim)
        if self.student is not None:
            frontier = self._frontier()
            if frontier:
                cell = np.asarray(frontier[int(self.rng.integers(len(frontier)))], dtype=np.float64)
                n = self.student.n_dims
                unit[:n] = np.minimum((cell + unit[:n]) / self.student.n_bins, 1.0)
        else:
            unit = self.window_low + self.width * unit
        return self._new_task(params=self.space.to_params(self.space.denormalize(unit)))

    def _update(self, result: EpisodeResult) -> None:
        if self.student is not None:
            return
        self.recent.append(float(result.episode_return))
        if len(self.recent) >= self.period:
            if float(np.mean(self.recent)) > self.threshold:
                self.window_low = np.clip(self.window_low + self.step, 0.0, 1.0 - self.width)
                self.moves += 1
            self.recent = []

    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        out["oracle_moves"] = float(self.moves)
        return out

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(window_low=self.window_low.copy(), recent=list(self.recent), moves=self.moves)
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.window_low = np.asarray(state["window_low"], dtype=np.float64)
        self.recent = [float(r) for r in state["recent"]]
        self.moves = int(state["moves"])
