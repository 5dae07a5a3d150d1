"""Covar-GMM (Moulin-Frier et al.'s IGMM as adapted by Portelas et al., CoRL 2019).

Each episode stores ``[task, t, return]`` with ``t`` the episode's position inside the current batch of
``fit_rate`` episodes, scaled to [0, 1). A component's learning progress is the covariance of time and return in
it: a positive covariance means returns rose during the batch. It shares the fit schedule and sampler of
:class:`~teachers.gmm_teacher.GMMTeacher` with ALP-GMM.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from curricula.spaces import TaskSpace
from curricula.teacher import register_teacher
from teachers.gmm_teacher import GMMTeacher
from teachers.numerics import GrowingArray

#: presets of the released code
COVAR_GMM_PRESETS: dict[str, dict[str, Any]] = {
    # teachDRL / TeachMyAgent class default
    "paper": {"fit_rate": 250, "potential_ks": tuple(range(2, 11)), "random_task_ratio": 0.2},
    # TeachMyAgent benchmark scripts (max_k 15, exclusive)
    "teachmyagent": {"fit_rate": 150, "potential_ks": tuple(range(2, 15)), "random_task_ratio": 0.1},
}


@register_teacher("covar_gmm")
class CovarGMMTeacher(GMMTeacher):
    """Covar-GMM: components picked in proportion to their positive time–return covariance.

    The reference semantics (raw units, raw returns) are the default; ``normalize_tasks`` and ``return_bounds``
    give the unit-cube / [0, 1] modelling of the improved ALP-GMM. On the toy space both are the same. The
    defaults are the ``"paper"`` preset's; ``preset="teachmyagent"`` gives (150, k 2..14, 10 % random).

    :param space: a :class:`~curricula.spaces.ParameterSpace`
    :param seed: RNG seed
    :param absolute_lp: use |covariance| instead of max(0, covariance)
    :param kwargs: the options of :class:`~teachers.gmm_teacher.GMMTeacher`
    """

    presets: ClassVar[dict[str, dict[str, Any]]] = COVAR_GMM_PRESETS

    def __init__(self, space: TaskSpace, seed: int = 0, absolute_lp: bool = False, **kwargs: Any) -> None:
        self.absolute_lp = bool(absolute_lp)
        super().__init__(space, seed, **kwargs)
        self.times = GrowingArray(1)

    def _record(self, task: np.ndarray, ret: float) -> None:
        # position inside the current batch of fit_rate episodes, as the reference's all_times[len % fit_rate]
        self.times.append(np.array([(self.tasks.size % self.fit_rate) / self.fit_rate]))

    def _fit_data(self) -> np.ndarray:
        w = self.fit_window
        return np.concatenate([self.tasks.view[-w:], self.times.view[-w:], self.returns.view[-w:]], axis=1)

    def _component_lp(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
        covar = covariances[:, -2, -1]
        return np.abs(covar) if self.absolute_lp else np.clip(covar, 0.0, None)

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state["times"] = self.times.view[:, 0].copy()
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.times.assign(np.asarray(state["times"]).reshape(-1, 1))
