"""RIAC: Robust Intelligent Adaptive Curiosity (Baranes & Oudeyer 2009), as in the ALP-GMM authors' code.

The task box is split into a tree of regions. Every (task, return) pair is added to every region that contains it
(the root, and each region down to the leaf), whose memory keeps the last ``max_region_size + 1`` pairs. A region's
absolute learning progress is |mean(older half) − mean(newer half)| of its latest ``alp_window`` returns. When a
leaf overflows, random axis-aligned splits are tried and the one that best separates the children's ALP wins;
if none is valid the leaf forgets its oldest quarter.

Two bugs of the reference (``flowersteam/teachDeepRL``, ``flowersteam/TeachMyAgent`` ``riac.py``) are fixed here:

* the split score multiplied ``len()`` of the 2-element ``[rewards, tasks]`` lists (always 4), so child
  populations never counted; here it is ``n_1 * n_2 * |ALP_1 − ALP_2|`` with the real populations;
* new children received the ALPs of the *last* split attempt rather than of the best one; here they get the
  best attempt's ALPs.

Also, the reference's "redraw until both children are populated" loop is unbounded; here an attempt gives up after
100 draws (it is then invalid), and a task on a split threshold goes to the lower child only (the reference adds
it to both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from curricula.spaces import ParameterSpace, TaskSpace
from curricula.task import EpisodeResult, Task
from curricula.teacher import Teacher, register_teacher
from teachers.numerics import proportional_choice

#: presets of the released code (``"paper"`` = the constructor defaults)
RIAC_PRESETS: dict[str, dict[str, Any]] = {
    # teachDRL defaults (the toy reference numbers)
    "paper": {"max_region_size": 200, "nb_split_attempts": 50, "min_dims_range_ratio": 1 / 15},
    # TeachMyAgent benchmark scripts
    "teachmyagent": {"max_region_size": 150, "nb_split_attempts": 75, "min_dims_range_ratio": 0.1},
}
_DRAWS_PER_ATTEMPT = 100


class Region:
    """A box of the task space with its recent (task, return) memory.

    :param low: lower corner (raw units)
    :param high: upper corner
    :param parent: index of the parent region (-1 for the root)
    :param tasks: stored tasks, shape (n, d)
    :param returns: stored returns, shape (n,)
    """

    def __init__(self, low: np.ndarray, high: np.ndarray, parent: int, tasks: np.ndarray, returns: np.ndarray):
        self.low, self.high, self.parent = low, high, parent
        self.tasks = list(np.asarray(tasks, dtype=np.float64).reshape(len(returns), len(low)))
        self.returns = [float(r) for r in returns]
        self.children: list[int] = []
        self.alp = 0.0

    def contains(self, task: np.ndarray) -> bool:
        return bool(np.all((task >= self.low) & (task <= self.high)))

    def state_dict(self) -> dict[str, Any]:
        """The region as JSON values and numpy arrays (inverse: :meth:`from_state_dict`)."""
        d = len(self.low)
        return {
            "low": self.low,
            "high": self.high,
            "parent": self.parent,
            "children": list(self.children),
            "alp": self.alp,
            "tasks": np.array(self.tasks, dtype=np.float64).reshape(-1, d),
            "returns": np.array(self.returns, dtype=np.float64),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> Region:
        """Rebuild a region saved by :meth:`state_dict`."""
        region = cls(
            np.asarray(state["low"], dtype=np.float64),
            np.asarray(state["high"], dtype=np.float64),
            int(state["parent"]),
            np.asarray(state["tasks"]),
            np.asarray(state["returns"]),
        )
        region.children = [int(c) for c in state["children"]]
        region.alp = float(state["alp"])
        return region


def window_alp(returns: Sequence[float], window: int) -> float:
    """|mean(older half) − mean(newer half)| of the last ``window`` returns; 0 with 2 or fewer.

    :param returns: returns, oldest first
    :param window: how many of the latest returns to compare
    """
    if len(returns) <= 2:
        return 0.0
    recent = np.asarray(returns[-window:] if len(returns) > window else returns, dtype=np.float64)
    half = len(recent) // 2
    return float(abs(recent[: len(recent) - half].mean() - recent[len(recent) - half :].mean()))


@register_teacher("riac")
class RIACTeacher(Teacher):
    """RIAC with the reference hyperparameters (defaults = ``preset="paper"``: teachDRL; ``"teachmyagent"``: the
    TeachMyAgent benchmark).

    Sampling: 70 % a region picked in proportion to its ALP (every region, parents included), uniform inside it;
    20 % uniform over the whole space; 10 % the lowest-return task of an ALP-picked region plus N(0, 0.1) noise
    (raw units), clipped inside that region. Until the root first splits (``max_region_size + 1`` episodes at the
    earliest) there is one region, so sampling is almost uniform.

    :param space: a :class:`~curricula.spaces.ParameterSpace`
    :param seed: RNG seed
    :param max_region_size: pairs a leaf holds before it must split
    :param nb_split_attempts: random splits tried per overflow
    :param min_dims_range_ratio: minimal child extent per dimension, as a fraction of the space's range
    :param alp_window: returns compared by a region's ALP (default ``max_region_size``)
    :param min_region_size: minimal child population (default ``max_region_size / 20``)
    :param discard_ratio: fraction of a leaf's oldest pairs dropped when no split is valid
    :param leaves_only: sample among leaves only (the reference default samples among all regions)
    """

    supported_spaces: ClassVar[tuple[type[TaskSpace], ...]] = (ParameterSpace,)
    presets: ClassVar[dict[str, dict[str, Any]]] = RIAC_PRESETS

    def __init__(
        self,
        space: TaskSpace,
        seed: int = 0,
        max_region_size: int = 200,
        nb_split_attempts: int = 50,
        min_dims_range_ratio: float = 1 / 15,
        alp_window: int | None = None,
        min_region_size: float | None = None,
        discard_ratio: float = 0.25,
        leaves_only: bool = False,
    ) -> None:
        super().__init__(space, seed)
        assert isinstance(self.space, ParameterSpace)
        self.max_region_size = int(max_region_size)
        self.nb_split_attempts = int(nb_split_attempts)
        self.min_dims_range_ratio = float(min_dims_range_ratio)
        if self.max_region_size < 4 or self.nb_split_attempts < 1 or not 0.0 <= self.min_dims_range_ratio < 0.5:
            raise ValueError(
                "need max_region_size >= 4, nb_split_attempts >= 1, 0 <= min_dims_range_ratio < 0.5; got "
                f"{self.max_region_size}, {self.nb_split_attempts}, {self.min_dims_range_ratio}"
            )
        if not 0.0 < discard_ratio < 1.0:
            raise ValueError(f"discard_ratio must be in (0, 1), got {discard_ratio}")
        self.alp_window = int(alp_window if alp_window is not None else self.max_region_size)
        self.min_region_size = float(min_region_size if min_region_size is not None else self.max_region_size / 20)
        self.discard_ratio = float(discard_ratio)
        self.leaves_only = bool(leaves_only)
        self.ranges = self.space.high - self.space.low
        empty = np.zeros((0, self.space.ndim))
        self.regions = [Region(self.space.low.copy(), self.space.high.copy(), -1, empty, np.zeros(0))]
        self.splits = 0

    # -- feedback ---------------------------------------------------------------------------------------------
    def _update(self, result: EpisodeResult) -> None:
        assert isinstance(self.space, ParameterSpace)
        if result.task.params is None:
            raise ValueError(f"RIAC needs tasks with params, got task {result.task_id}")
        task = self.space.to_vector(result.task.params)
        ret = float(result.episode_return)
        cap = self.max_region_size + 1
        index = 0
        while True:
            region = self.regions[index]
            region.tasks.append(task)
            region.returns.append(ret)
            if len(region.returns) > cap:
                del region.tasks[0], region.returns[0]
            region.alp = window_alp(region.returns, self.alp_window)
            if not region.children:
                break
            index = next((c for c in region.children if self.regions[c].contains(task)), region.children[-1])
        if len(self.regions[index].returns) > self.max_region_size:
            self._split(index)

    def _split(self, index: int) -> None:
        region = self.regions[index]
        tasks = np.array(region.tasks)
        returns = np.array(region.returns)
        d = tasks.shape[1]
        best: tuple[float, int, float, np.ndarray, float, float] | None = None
        for _ in range(self.nb_split_attempts):
            mask = np.zeros(len(returns), dtype=bool)
            dim, threshold = 0, 0.0
            populated = False
            for _ in range(_DRAWS_PER_ATTEMPT):
                dim = int(self.rng.integers(d))
                threshold = float(self.rng.uniform(region.low[dim], region.high[dim]))
                mask = tasks[:, dim] <= threshold
                n1 = int(mask.sum())
                if n1 >= self.min_region_size and len(returns) - n1 >= self.min_region_size:
                    populated = True
                    break
            if not populated:
                continue
            min_extent = self.ranges[dim] * self.min_dims_range_ratio
            if threshold - region.low[dim] < min_extent or region.high[dim] - threshold < min_extent:
                continue
            alp1 = window_alp(list(returns[mask]), self.alp_window)
            alp2 = window_alp(list(returns[~mask]), self.alp_window)
            score = float(mask.sum()) * float((~mask).sum()) * abs(alp1 - alp2)
            if best is None or score >= best[0]:
                best = (score, dim, threshold, mask, alp1, alp2)
        if best is None:
            drop = int(self.max_region_size * self.discard_ratio)
            del region.tasks[:drop], region.returns[:drop]
            region.alp = window_alp(region.returns, self.alp_window)
            return
        _, dim, threshold, mask, alp1, alp2 = best
        for child_mask, alp, is_low in ((mask, alp1, True), (~mask, alp2, False)):
            low, high = region.low.copy(), region.high.copy()
            if is_low:
                high[dim] = threshold
            else:
                low[dim] = np.nextafter(threshold, np.inf)
            child = Region(low, high, index, tasks[child_mask], returns[child_mask])
            child.alp = alp
            region.children.append(len(self.regions))
            self.regions.append(child)
        self.splits += 1

    # -- sampling ---------------------------------------------------------------------------------------------
    def _candidates(self) -> list[int]:
        if self.leaves_only:
            return [i for i, r in enumerate(self.regions) if not r.children]
        return list(range(len(self.regions)))

    def _pick_region(self) -> int:
        candidates = self._candidates()
        return candidates[proportional_choice(np.array([self.regions[i].alp for i in candidates]), self.rng)]

    def _uniform_in(self, region: Region) -> np.ndarray:
        return self.rng.uniform(region.low, region.high)

    def _sample(self) -> Task:
        assert isinstance(self.space, ParameterSpace)
        mode = self.rng.random()
        if mode < 0.3 and (mode >= 0.1 or self.episodes_seen == 0):
            # 20 % uniform (and the reference's fallback of the 10 % mode before any feedback)
            return self._uniform_task()
        region = self.regions[self._pick_region()]
        if mode < 0.1 and region.returns:
            worst = region.tasks[int(np.argmin(region.returns))]
            point = self.rng.normal(worst, 0.1)
            # clip strictly inside, so the task falls in this region only
            point = np.clip(point, region.low + 1e-5, region.high - 1e-5)
        else:
            point = self._uniform_in(region)
        return self._new_task(params=self.space.to_params(point))

    # -- inspection and state ---------------------------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        out["regions"] = float(len(self.regions))
        out["mean_region_alp"] = float(np.mean([r.alp for r in self.regions]))
        return out

    def end_of_training_warnings(self) -> list[str]:
        if self.splits > 0:
            return []
        return [
            f"{self.name} split no region in {self.episodes_seen} episodes (a split needs more than "
            f"max_region_size = {self.max_region_size} episodes in one region): with the root region only it sampled "
            "almost uniformly, like Random; train longer or lower max_region_size"
        ]

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(regions=[r.state_dict() for r in self.regions], splits=self.splits)
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.regions = [Region.from_state_dict(dict(r)) for r in state["regions"]]
        self.splits = int(state["splits"])
