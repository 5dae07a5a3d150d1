"""ALP-GMM (Portelas et al., CoRL 2019) and the GMM fit schedule it shares with Covar-GMM.

Two registered variants:

* ``alp_gmm_faithful`` — the semantics of the authors' released code (``flowersteam/teachDeepRL``,
  ``flowersteam/TeachMyAgent``): raw task units, 1-NN absolute learning progress over the whole history, a GMM
  refit every ``fit_rate`` episodes on the last ``fit_rate`` ``[task, ALP]`` vectors (full covariances, k in a
  list, lowest AIC), components picked in proportion to their mean ALP, samples clipped to the box.
* ``alp_gmm`` — the same fit schedule and sampler with the known weaknesses fixed: ALP compares a task with the
  nearest of the *recent* tasks (the fit window), so a region stops reporting progress once it stops improving;
  tasks live in the unit cube and returns in [0, 1] (bounds or running range); integer dimensions are relaxed with
  jitter and a larger ``reg_covar`` so duplicates cannot collapse a component; fits are cheaper (vectorized numpy
  EM, k searched around the previous k) and may run in a background thread with a deterministic hand-over.

See ``docs/teachers_continuous.md`` for what each choice does to the toy benchmark.
"""

from __future__ import annotations

import time
import warnings
from abc import abstractmethod
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.spatial import cKDTree
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import ThreadpoolController

from curricula.spaces import ParameterSpace, TaskSpace
from curricula.task import EpisodeResult, Task
from curricula.teacher import Teacher, register_teacher

#: the reference code gives ALP 0 until the history holds more than this many tasks
MIN_HISTORY_FOR_ALP = 5


_CONTROLLER: ThreadpoolController | None = None


def _single_threaded() -> Any:
    """A context that limits BLAS/OpenMP to one thread. The controller is built once: ``threadpool_limits()``
    rescans the loaded libraries on every call, which costs 2-60 ms, as much as a small fit."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


# -- small numeric helpers ------------------------------------------------------------------------------------
class GrowingArray:
    """An append-only float64 matrix with amortized O(1) appends (history of tasks, returns, ALPs).

    :param width: number of columns
    """

    def __init__(self, width: int) -> None:
        self.width = width
        self._data = np.zeros((64, width), dtype=np.float64)
        self.size = 0

    def append(self, row: np.ndarray) -> None:
        if self.size == self._data.shape[0]:
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self.size] = row
        self.size += 1

    @property
    def view(self) -> np.ndarray:
        return self._data[: self.size]

    def load(self, values: np.ndarray) -> None:
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
        self.points.append(point)
        if self.points.size - self._in_tree >= self.buffer_size:
            self._rebuild()

    def _rebuild(self) -> None:
        self._in_tree = self.points.size
        self._tree = cKDTree(self.points.view.copy())

    def load(self, points: np.ndarray) -> None:
        self.points.load(points)
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


@dataclass
class FittedGMM:
    """A fitted mixture in the teacher's fit space, with what sampling needs precomputed.

    :param weights: mixture weights, shape (k,)
    :param means: component means, shape (k, D)
    :param covariances: full covariances, shape (k, D, D)
    :param lp: the learning-progress score of each component (how often it is picked), shape (k,)
    :param fit_seconds: wall time of the fit that produced it
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    lp: np.ndarray
    fit_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.chol = np.stack([_safe_cholesky(c) for c in self.covariances])

    @property
    def k(self) -> int:
        return int(self.weights.shape[0])

    def to_state(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "means": self.means,
            "covariances": self.covariances,
            "lp": self.lp,
            "fit_seconds": self.fit_seconds,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> FittedGMM:
        return cls(
            weights=np.asarray(state["weights"], dtype=np.float64),
            means=np.asarray(state["means"], dtype=np.float64),
            covariances=np.asarray(state["covariances"], dtype=np.float64),
            lp=np.asarray(state["lp"], dtype=np.float64),
            fit_seconds=float(state["fit_seconds"]),
        )


def _safe_cholesky(cov: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        # A covariance that lost positive definiteness to rounding: use its PSD square root instead.
        vals, vecs = np.linalg.eigh(cov)
        return vecs * np.sqrt(np.clip(vals, 0.0, None))


def information_criterion(log_likelihood: float, n_params: int, n: int, criterion: str) -> float:
    """AIC, BIC or AICc of a fitted mixture (AICc counts the parameters of the fitted D-dim data, not d).

    :param log_likelihood: total log-likelihood of the fit data
    :param n_params: free parameters of the mixture
    :param n: number of data points
    :param criterion: ``"aic"``, ``"bic"`` or ``"aicc"``
    """
    if criterion == "bic":
        return -2.0 * log_likelihood + n_params * float(np.log(n))
    aic = -2.0 * log_likelihood + 2.0 * n_params
    if criterion == "aic":
        return aic
    return aic + 2.0 * n_params * (n_params + 1.0) / max(n - n_params - 1.0, 1.0)


def gmm_n_parameters(k: int, dim: int) -> int:
    """Free parameters of a full-covariance mixture (as sklearn counts them)."""
    return k * dim * (dim + 1) // 2 + k * dim + k - 1


def _gaussian_log_prob(data: np.ndarray, weights: np.ndarray, means: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """log(w_j N(x_i | mu_j, L_j L_j^T)) for all components at once, shape (k, n)."""
    dim = data.shape[1]
    inv_chol = np.linalg.inv(chol)
    y = (data[None, :, :] - means[:, None, :]) @ inv_chol.transpose(0, 2, 1)
    log_det = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    maha = np.sum(y * y, axis=2)
    return -0.5 * (dim * np.log(2.0 * np.pi) + maha + log_det[:, None]) + np.log(weights)[:, None]


def _m_step(data: np.ndarray, resp: np.ndarray, reg_covar: float) -> tuple[np.ndarray, ...]:
    nk = resp.sum(axis=0) + 10.0 * np.finfo(np.float64).eps
    means = (resp.T @ data) / nk[:, None]
    diff = data[None, :, :] - means[:, None, :]
    covs = (diff * resp.T[:, :, None]).transpose(0, 2, 1) @ diff / nk[:, None, None]
    covs += reg_covar * np.eye(data.shape[1])[None]
    return nk / len(data), means, covs


def _batched_cholesky(covs: np.ndarray) -> np.ndarray:
    # EM covariances carry reg_covar on the diagonal, so this only retries on rounding trouble
    eye, jitter = np.eye(covs.shape[-1]), 0.0
    for _ in range(5):
        try:
            return np.linalg.cholesky(covs + jitter * eye)
        except np.linalg.LinAlgError:
            jitter = max(1e-10, 100.0 * jitter)
    return np.linalg.cholesky(covs + jitter * eye)


def em_full_gmm(
    data: np.ndarray, k: int, rng: np.random.Generator, reg_covar: float, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Full-covariance EM in vectorized numpy (k-means++ seeding, hard first assignment, as sklearn's
    ``init_params="k-means++"``). For the small fits of a teacher (n ~ 250, D ~ 3) it is about 3x faster than
    sklearn, whose per-component Python loops dominate at this size.

    :param data: fit data, shape (n, D)
    :param k: number of components
    :param rng: generator of the k-means++ seeding
    :param reg_covar: added to covariance diagonals
    :param max_iter: EM iterations cap
    :param tol: convergence tolerance on the mean log-likelihood
    :return: weights, means, covariances, total log-likelihood of ``data``
    """
    n = len(data)
    centers = [int(rng.integers(n))]
    d2 = np.sum((data - data[centers[0]]) ** 2, axis=1)
    for _ in range(1, k):
        total = float(d2.sum())
        index = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centers.append(index)
        d2 = np.minimum(d2, np.sum((data - data[index]) ** 2, axis=1))
    dist = np.sum((data[:, None, :] - data[centers][None, :, :]) ** 2, axis=2)
    resp = np.zeros((n, k))
    resp[np.arange(n), np.argmin(dist, axis=1)] = 1.0
    weights, means, covs = _m_step(data, resp, reg_covar)
    previous = -np.inf
    for _ in range(max_iter):
        log_prob = _gaussian_log_prob(data, weights, means, _batched_cholesky(covs))
        norm = np.logaddexp.reduce(log_prob, axis=0)
        weights, means, covs = _m_step(data, np.exp(log_prob - norm).T, reg_covar)
        current = float(norm.mean())
        if abs(current - previous) < tol:
            break
        previous = current
    log_prob = _gaussian_log_prob(data, weights, means, _batched_cholesky(covs))
    return weights, means, covs, float(np.logaddexp.reduce(log_prob, axis=0).sum())


def fit_best_gmm(
    data: np.ndarray,
    potential_ks: Sequence[int],
    seed: int,
    *,
    reg_covar: float = 1e-6,
    criterion: str = "aic",
    init_params: str = "kmeans",
    max_iter: int = 100,
    tol: float = 1e-3,
    backend: str = "sklearn",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit one full-covariance mixture per k and keep the one with the lowest information criterion.

    Runs with BLAS/OpenMP limited to one thread: on a few cores the default threading makes these small fits
    an order of magnitude slower.

    :param data: fit data, shape (n, D)
    :param potential_ks: candidate component counts (those > n are skipped)
    :param seed: sklearn ``random_state`` / numpy seed (drawn from the teacher's RNG, so fits are reproducible)
    :param reg_covar: added to covariance diagonals
    :param criterion: ``"aic"`` (reference), ``"bic"`` or ``"aicc"``
    :param init_params: sklearn initialisation (``"kmeans"`` in the reference; ``"k-means++"`` is cheaper);
        the numpy backend always seeds with k-means++
    :param max_iter: EM iterations cap
    :param tol: EM convergence tolerance (change of the mean log-likelihood)
    :param backend: ``"sklearn"`` (the reference's ``GaussianMixture``) or ``"numpy"`` (:func:`em_full_gmm`)
    :return: weights, means, covariances of the best mixture
    """
    if backend not in ("sklearn", "numpy"):
        raise ValueError(f"backend must be 'sklearn' or 'numpy', got {backend!r}")
    ks = [int(k) for k in potential_ks if int(k) <= len(data)] or [1]
    n, dim = data.shape
    best: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    best_score = np.inf
    with _single_threaded(), warnings.catch_warnings():
        # A capped EM run is still a usable mixture; the reference ignores these warnings too.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in ks:
            if backend == "numpy":
                rng = np.random.default_rng([seed, k])
                weights, means, covs, log_likelihood = em_full_gmm(data, k, rng, reg_covar, max_iter, tol)
            else:
                gmm = GaussianMixture(
                    n_components=k,
                    covariance_type="full",
                    reg_covar=reg_covar,
                    random_state=seed,
                    init_params=init_params,
                    max_iter=max_iter,
                    tol=tol,
                ).fit(data)
                weights, means, covs = gmm.weights_, gmm.means_, gmm.covariances_
                log_likelihood = float(gmm.score(data)) * n
            score = information_criterion(log_likelihood, gmm_n_parameters(k, dim), n, criterion)
            if score < best_score:
                best, best_score = (weights.copy(), means.copy(), covs.copy()), score
    assert best is not None
    return best


def proportional_choice(weights: np.ndarray, rng: np.random.Generator) -> int:
    """An index drawn in proportion to non-negative ``weights`` (uniformly if they are all zero)."""
    w = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    total = float(w.sum())
    if total <= 0.0 or not np.isfinite(total):
        return int(rng.integers(len(w)))
    return int(rng.choice(len(w), p=w / total))


# -- the shared fit schedule ----------------------------------------------------------------------------------
class GMMTeacher(Teacher):
    """The fit schedule and sampler shared by ALP-GMM and Covar-GMM.

    Every finished episode appends one fit vector ``[task, extras...]`` (extras: ALP for ALP-GMM, time and return
    for Covar-GMM). Once ``bootstrap`` episodes are seen, every ``fit_rate`` episodes a mixture is fitted on the last
    ``fit_window`` vectors. Sampling is uniform during bootstrap, with probability ``random_task_ratio``, and while
    no mixture exists; otherwise a component is picked in proportion to its learning progress
    (:meth:`_component_lp`), a point is drawn from it, the extra coordinates are dropped, and the task is clipped
    (or redrawn while outside, ``resample_outside``).

    With ``async_refit`` the fit runs in a background thread and its mixture replaces the old one exactly
    ``refit_lag`` episodes after the fit was due, waiting for the thread if needed: samples never depend on
    thread timing, so same seed + same feedback still gives the same samples.

    :param space: a :class:`~curricula.spaces.ParameterSpace`
    :param seed: RNG seed
    :param fit_rate: episodes between fits
    :param fit_window: vectors per fit (the reference uses ``fit_rate``)
    :param bootstrap: episodes of uniform sampling before the first fit (``None``: ``fit_rate``)
    :param potential_ks: candidate component counts
    :param random_task_ratio: probability of a uniform task after bootstrap
    :param criterion: model selection, ``"aic"``, ``"bic"`` or ``"aicc"``
    :param normalize_tasks: model the unit cube instead of raw task units
    :param return_bounds: ``(low, high)`` returns mapped to [0, 1] (clipped); ``None`` with
        ``running_return_range`` False feeds raw returns
    :param running_return_range: without bounds, divide by the observed return range instead of using raw returns
    :param reg_covar: sklearn's covariance regulariser
    :param integer_reg_covar: regulariser used instead when the space has integer dimensions
    :param integer_jitter: spread integer-dimension values uniformly over their rounding cell before fitting
    :param init_params: sklearn mixture initialisation
    :param max_iter: EM iteration cap
    :param resample_outside: redraw (up to 10 times) a Gaussian sample that falls outside the box, then clip
    :param async_refit: fit in a background thread
    :param refit_lag: episodes between a fit being due and its mixture being used (async only)
    :param local_k_search: after the first fit, try only the current k and its two neighbours in
        ``potential_ks`` (every tenth fit searches them all), which cuts the fit cost about threefold
    :param fit_backend: ``"sklearn"`` (the reference's ``GaussianMixture``) or ``"numpy"`` (same EM, vectorized
        over components, ~3x faster at teacher sizes)
    """

    supported_spaces: ClassVar[tuple[type[TaskSpace], ...]] = (ParameterSpace,)

    def __init__(
        self,
        space: TaskSpace,
        seed: int = 0,
        *,
        fit_rate: int = 250,
        fit_window: int | None = None,
        bootstrap: int | None = None,
        potential_ks: Sequence[int] = tuple(range(2, 11)),
        random_task_ratio: float = 0.2,
        criterion: str = "aic",
        normalize_tasks: bool = False,
        return_bounds: tuple[float, float] | None = None,
        running_return_range: bool = False,
        reg_covar: float = 1e-6,
        integer_reg_covar: float = 1e-6,
        integer_jitter: bool = False,
        init_params: str = "kmeans",
        max_iter: int = 100,
        resample_outside: bool = False,
        async_refit: bool = False,
        refit_lag: int = 0,
        local_k_search: bool = False,
        fit_backend: str = "sklearn",
    ) -> None:
        super().__init__(space, seed)
        assert isinstance(self.space, ParameterSpace)
        if fit_rate < 2:
            raise ValueError(f"fit_rate must be >= 2, got {fit_rate}")
        self.fit_rate = int(fit_rate)
        self.fit_window = int(fit_window if fit_window is not None else fit_rate)
        self.bootstrap = int(bootstrap if bootstrap is not None else fit_rate)
        if self.fit_window < 2 or self.bootstrap < 1:
            raise ValueError(f"fit_window must be >= 2 and bootstrap >= 1, got {self.fit_window}, {self.bootstrap}")
        self.potential_ks = tuple(int(k) for k in potential_ks)
        if not self.potential_ks or min(self.potential_ks) < 1:
            raise ValueError(f"potential_ks must be a non-empty list of ints >= 1, got {potential_ks!r}")
        if not 0.0 <= random_task_ratio <= 1.0:
            raise ValueError(f"random_task_ratio must be in [0, 1], got {random_task_ratio}")
        self.random_task_ratio = float(random_task_ratio)
        if criterion not in ("aic", "bic", "aicc"):
            raise ValueError(f"criterion must be 'aic', 'bic' or 'aicc', got {criterion!r}")
        self.criterion = criterion
        if return_bounds is not None and not return_bounds[0] < return_bounds[1]:
            raise ValueError(f"return_bounds must be (low, high) with low < high, got {return_bounds!r}")
        self.return_bounds = None if return_bounds is None else (float(return_bounds[0]), float(return_bounds[1]))
        self.running_return_range = bool(running_return_range)
        self.normalize_tasks = bool(normalize_tasks)
        self.has_integer_dims = bool(self.space.integer_mask.any())
        self.reg_covar = float(integer_reg_covar if self.has_integer_dims else reg_covar)
        self.integer_jitter = bool(integer_jitter)
        self.init_params = init_params
        self.max_iter = int(max_iter)
        self.resample_outside = bool(resample_outside)
        if refit_lag < 0 or (refit_lag >= self.fit_rate):
            raise ValueError(f"refit_lag must be in [0, fit_rate), got {refit_lag}")
        self.async_refit = bool(async_refit)
        self.local_k_search = bool(local_k_search)
        if fit_backend not in ("sklearn", "numpy"):
            raise ValueError(f"fit_backend must be 'sklearn' or 'numpy', got {fit_backend!r}")
        self.fit_backend = fit_backend
        self.refit_lag = int(refit_lag) if async_refit else 0

        d = self.space.ndim
        # fit-space box of the task coordinates
        self._low = np.zeros(d) if self.normalize_tasks else self.space.low.copy()
        self._high = np.ones(d) if self.normalize_tasks else self.space.high.copy()
        self.tasks = GrowingArray(d)  # tasks in fit-space units
        self.returns = GrowingArray(1)  # returns as modelled (bounds-scaled, else raw)
        self.gmm: FittedGMM | None = None
        self.fits = 0
        self.last_fit_seconds = 0.0
        self._pending: Future[tuple[np.ndarray, np.ndarray, np.ndarray, float]] | None = None
        self._pending_result: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None
        self._pending_data: np.ndarray | None = None
        self._pending_ready_at = -1
        self._executor: ThreadPoolExecutor | None = None

    # -- unit conversions ------------------------------------------------------------------------------------
    def _to_fit_space(self, raw: np.ndarray) -> np.ndarray:
        assert isinstance(self.space, ParameterSpace)
        return self.space.normalize(raw) if self.normalize_tasks else np.asarray(raw, dtype=np.float64)

    def _to_raw(self, point: np.ndarray) -> np.ndarray:
        assert isinstance(self.space, ParameterSpace)
        return self.space.denormalize(point) if self.normalize_tasks else np.asarray(point, dtype=np.float64)

    def scale_return(self, value: float) -> float:
        """The return as the teacher models it (bounds-scaled, or raw)."""
        if self.return_bounds is None:
            return float(value)
        low, high = self.return_bounds
        return float(np.clip((value - low) / (high - low), 0.0, 1.0))

    def return_range(self) -> float:
        """Divisor that brings raw return differences to [0, 1] (1.0 unless ``running_return_range``)."""
        if self.return_bounds is not None or not self.running_return_range or self.returns.size == 0:
            return 1.0
        span = float(np.ptp(self.returns.view))
        return span if span > 0.0 else 1.0

    # -- hooks for subclasses ---------------------------------------------------------------------------------
    def _record(self, task: np.ndarray, ret: float) -> None:
        """Store per-episode quantities beyond task and return (called before they are appended)."""

    @abstractmethod
    def _fit_data(self) -> np.ndarray:
        """The last ``fit_window`` fit vectors ``[task, extras...]``, shape (n, d + number of extras)."""

    @abstractmethod
    def _component_lp(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
        """Learning progress of each component: how often it is picked."""

    def _own_state(self) -> dict[str, Any]:
        return {}

    def _load_own_state(self, state: dict[str, Any]) -> None:
        return

    # -- sampling ---------------------------------------------------------------------------------------------
    def _sample(self) -> Task:
        if self.episodes_seen < self.bootstrap or self.gmm is None or self.rng.random() < self.random_task_ratio:
            return self._uniform_task()
        gmm = self.gmm
        index = proportional_choice(gmm.lp, self.rng)
        d = self.tasks.width
        point = np.zeros(d)
        for _ in range(10 if self.resample_outside else 1):
            draw = gmm.means[index] + gmm.chol[index] @ self.rng.standard_normal(gmm.means.shape[1])
            point = draw[:d]
            if np.all((point >= self._low) & (point <= self._high)):
                break
        point = np.clip(point, self._low, self._high)
        assert isinstance(self.space, ParameterSpace)
        raw = np.clip(self._to_raw(point), self.space.low, self.space.high)
        return self._new_task(params=self.space.to_params(raw), annotations={"component": index})

    # -- feedback ---------------------------------------------------------------------------------------------
    def _update(self, result: EpisodeResult) -> None:
        assert isinstance(self.space, ParameterSpace)
        if result.task.params is None:
            raise ValueError(f"{type(self).__name__} needs tasks with params, got task {result.task_id}")
        task = self._to_fit_space(self.space.to_vector(result.task.params))
        ret = self.scale_return(result.episode_return)
        self._record(task, ret)
        self.tasks.append(task)
        self.returns.append(np.array([ret]))
        n = self.tasks.size
        if self._pending_ready_at >= 0 and n >= self._pending_ready_at:
            self._install_pending()
        if n >= self.bootstrap and n % self.fit_rate == 0 and n >= 2:
            self._start_fit()

    def _fit_seed(self) -> int:
        return int(self.rng.integers(2**31 - 1))

    def _prepared_fit_data(self, seed: int) -> np.ndarray:
        data = self._fit_data()
        if self.integer_jitter and self.has_integer_dims:
            assert isinstance(self.space, ParameterSpace)
            # Continuous relaxation of integer dims: spread each value over its rounding cell, so repeated values
            # do not give zero-variance components (which AIC rewards with spiky, replaying Gaussians).
            cell = 1.0 / np.where(self.space.high > self.space.low, self.space.high - self.space.low, 1.0)
            if not self.normalize_tasks:
                cell = np.ones_like(cell)
            jitter_rng = np.random.default_rng(seed)
            noise = (jitter_rng.random((len(data), self.tasks.width)) - 0.5) * cell
            data = data.copy()
            data[:, : self.tasks.width] += np.where(self.space.integer_mask, noise, 0.0)
        return data

    def _candidate_ks(self) -> tuple[int, ...]:
        """The component counts tried at this fit (the number of fits so far decides, never thread timing)."""
        if not self.local_k_search or self.gmm is None or self.fits % 10 == 0:
            return self.potential_ks
        ks = sorted(self.potential_ks)
        position = ks.index(self.gmm.k) if self.gmm.k in ks else int(np.argmin([abs(k - self.gmm.k) for k in ks]))
        return tuple(ks[max(0, position - 1) : position + 2])

    def _run_fit(
        self, data: np.ndarray, seed: int, ks: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        start = time.perf_counter()
        weights, means, covs = fit_best_gmm(
            data,
            ks,
            seed,
            reg_covar=self.reg_covar,
            criterion=self.criterion,
            init_params=self.init_params,
            max_iter=self.max_iter,
            backend=self.fit_backend,
        )
        return weights, means, covs, time.perf_counter() - start

    def _start_fit(self) -> None:
        seed = self._fit_seed()
        data = self._prepared_fit_data(seed)
        if self._pending_ready_at >= 0:
            self._install_pending()
        ks = self._candidate_ks()
        if not self.async_refit or self.refit_lag == 0:
            self._install(self._run_fit(data, seed, ks))
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-refit")
        self._pending = self._executor.submit(self._run_fit, data, seed, ks)
        self._pending_data = data
        self._pending_ready_at = self.tasks.size + self.refit_lag

    def _wait_pending(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        if self._pending_result is None:
            assert self._pending is not None
            self._pending_result = self._pending.result()
            self._pending = None
        return self._pending_result

    def _install_pending(self) -> None:
        result = self._wait_pending()
        self._pending_result, self._pending_data, self._pending_ready_at = None, None, -1
        self._install(result)

    def _install(self, fitted: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> None:
        weights, means, covs, seconds = fitted
        self.gmm = FittedGMM(weights, means, covs, self._component_lp(weights, means, covs), seconds)
        self.fits += 1
        self.last_fit_seconds = seconds

    # -- inspection -------------------------------------------------------------------------------------------
    def task_history(self) -> np.ndarray:
        """Every task heard back, in raw task units, shape (n, d)."""
        return self._to_raw(self.tasks.view)

    def gmm_in_task_units(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The current mixture's task marginals in raw units: means (k, d), covariances (k, d, d), LP (k,)."""
        if self.gmm is None:
            return None
        assert isinstance(self.space, ParameterSpace)
        d = self.tasks.width
        scale = (self.space.high - self.space.low) if self.normalize_tasks else np.ones(d)
        means = self._to_raw(self.gmm.means[:, :d])
        covs = self.gmm.covariances[:, :d, :d] * np.outer(scale, scale)
        return means, covs, self.gmm.lp.copy()

    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        out["gmm_components"] = float(self.gmm.k) if self.gmm is not None else 0.0
        out["gmm_fits"] = float(self.fits)
        out["gmm_refit_ms"] = 1000.0 * self.last_fit_seconds
        out["gmm_mean_lp"] = float(np.mean(self.gmm.lp)) if self.gmm is not None else 0.0
        return out

    # -- state ------------------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "tasks": self.tasks.view.copy(),
            "returns": self.returns.view[:, 0].copy(),
            "fits": self.fits,
            "last_fit_seconds": self.last_fit_seconds,
            "gmm": None if self.gmm is None else self.gmm.to_state(),
            "pending": None,
            "pending_ready_at": self._pending_ready_at,
            "own": self._own_state(),
        }
        if self._pending_ready_at >= 0:
            weights, means, covs, seconds = self._wait_pending()
            state["pending"] = {"weights": weights, "means": means, "covariances": covs, "fit_seconds": seconds}
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        self.tasks.load(np.asarray(state["tasks"]))
        self.returns.load(np.asarray(state["returns"]).reshape(-1, 1))
        self.fits = int(state["fits"])
        self.last_fit_seconds = float(state["last_fit_seconds"])
        self.gmm = None if state["gmm"] is None else FittedGMM.from_state(state["gmm"])
        self._pending, self._pending_data = None, None
        self._pending_ready_at = int(state["pending_ready_at"])
        pending = state["pending"]
        self._pending_result = (
            None
            if pending is None
            else (
                np.asarray(pending["weights"]),
                np.asarray(pending["means"]),
                np.asarray(pending["covariances"]),
                float(pending["fit_seconds"]),
            )
        )
        self._load_own_state(dict(state["own"]))


# -- ALP-GMM --------------------------------------------------------------------------------------------------
#: presets of the released code (see docs/teachers_continuous.md)
ALP_GMM_PRESETS: dict[str, dict[str, Any]] = {
    # teachDRL / CoRL 2019: returns scaled to [0, 1] from the env's declared bounds (pass return_bounds)
    "paper": {"fit_rate": 250, "potential_ks": tuple(range(2, 11)), "random_task_ratio": 0.2},
    # TeachMyAgent benchmark scripts: raw returns, k 2..9 (its max_k is exclusive)
    "teachmyagent": {"fit_rate": 150, "potential_ks": tuple(range(2, 10)), "random_task_ratio": 0.05},
}


class _ALPGMMBase(GMMTeacher):
    """ALP bookkeeping shared by both ALP-GMM variants."""

    def __init__(self, space: TaskSpace, seed: int = 0, alp_memory: int | None = None, **kwargs: Any) -> None:
        super().__init__(space, seed, **kwargs)
        if alp_memory is not None and alp_memory <= MIN_HISTORY_FOR_ALP:
            raise ValueError(f"alp_memory must be None or > {MIN_HISTORY_FOR_ALP}, got {alp_memory}")
        self.alp_memory = alp_memory
        self.alps = GrowingArray(1)
        self._nn = NearestNeighbour(self.tasks.width)

    def _nearest(self, task: np.ndarray) -> int:
        if self.alp_memory is None:
            return self._nn.query(task)
        # the most recent tasks only: a brute-force scan (first index on ties, as the tree)
        recent = self.tasks.view[-self.alp_memory :]
        return self.tasks.size - len(recent) + int(np.argmin(np.sum((recent - task) ** 2, axis=1)))

    def _record(self, task: np.ndarray, ret: float) -> None:
        # 1-NN query before the task is stored: a task is never its own neighbour (an identical earlier one can be).
        if self.tasks.size > MIN_HISTORY_FOR_ALP:
            alp = abs(ret - float(self.returns.view[self._nearest(task), 0]))
        else:
            alp = 0.0
        self.alps.append(np.array([alp]))
        if self.alp_memory is None:
            self._nn.add(task)

    def alp_column(self) -> np.ndarray:
        """The ALP values of the last ``fit_window`` episodes, as fed to the fit."""
        return self.alps.view[-self.fit_window :, 0]

    def _fit_data(self) -> np.ndarray:
        return np.concatenate([self.tasks.view[-self.fit_window :], self.alp_column()[:, None]], axis=1)

    def _component_lp(self, weights: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
        # mean ALP of each component; mixture weights are ignored, as in the reference
        return np.clip(means[:, -1], 0.0, None)

    def _own_state(self) -> dict[str, Any]:
        return {"alps": self.alps.view[:, 0].copy()}

    def _load_own_state(self, state: dict[str, Any]) -> None:
        self.alps.load(np.asarray(state["alps"]).reshape(-1, 1))
        if self.alp_memory is None:
            self._nn.load(self.tasks.view)

    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        out["mean_alp"] = float(np.mean(self.alp_column())) if self.alps.size else 0.0
        return out


def _preset_kwargs(preset: str, presets: dict[str, dict[str, Any]], kwargs: dict[str, Any]) -> dict[str, Any]:
    if preset not in presets:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(presets)}")
    return {**presets[preset], **kwargs}


@register_teacher("alp_gmm_faithful")
class ALPGMMFaithfulTeacher(_ALPGMMBase):
    """ALP-GMM with the exact semantics of the authors' released code, in raw task units.

    :param space: a :class:`~curricula.spaces.ParameterSpace`
    :param seed: RNG seed (also seeds every fit)
    :param preset: ``"paper"`` (fit 250, k 2..10, 20 % random) or ``"teachmyagent"`` (150, k 2..9, 5 %)
    :param return_bounds: the env's return bounds, mapped to [0, 1] (the paper preset used (-150, 350) on
        Stump Tracks); ``None`` feeds raw returns (TeachMyAgent)
    :param kwargs: overrides of :class:`GMMTeacher` options (``fit_rate``, ``potential_ks``, ...)
    """

    def __init__(
        self,
        space: TaskSpace,
        seed: int = 0,
        preset: str = "paper",
        return_bounds: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> None:
        self.preset = preset
        super().__init__(space, seed, return_bounds=return_bounds, **_preset_kwargs(preset, ALP_GMM_PRESETS, kwargs))


#: what the improved default changes over the paper preset (each choice is measured in docs/teachers_continuous.md)
ALP_GMM_IMPROVED: dict[str, Any] = {
    "fit_rate": 250,
    "potential_ks": tuple(range(2, 11)),
    "random_task_ratio": 0.2,
    "normalize_tasks": True,
    "running_return_range": True,
    "integer_reg_covar": 1e-3,
    "integer_jitter": True,
    "resample_outside": True,
    "init_params": "k-means++",
    "local_k_search": True,
    "fit_backend": "numpy",
}


@register_teacher("alp_gmm")
class ALPGMMTeacher(_ALPGMMBase):
    """ALP-GMM, improved: ALP against recent tasks, unit-cube tasks, [0, 1] returns, integer dims relaxed, cheaper
    refits. The fit schedule and sampler are the faithful ones.

    :param space: a :class:`~curricula.spaces.ParameterSpace`
    :param seed: RNG seed
    :param return_bounds: the env's return bounds (mapped to [0, 1]); without them ALPs are divided by the
        observed return range
    :param alp_memory: ALP compares a task with the nearest of this many most recent tasks; ``"window"`` (default)
        uses the fit window, ``None`` the whole history (the reference)
    :param alp_scale: rescale the ALP column to [0, 1] by its window maximum before fitting
    :param kwargs: overrides of :class:`GMMTeacher` options
    """

    def __init__(
        self,
        space: TaskSpace,
        seed: int = 0,
        return_bounds: tuple[float, float] | None = None,
        alp_memory: int | str | None = "window",
        alp_scale: bool = False,
        **kwargs: Any,
    ) -> None:
        self.alp_scale = bool(alp_scale)
        options = {**ALP_GMM_IMPROVED, **kwargs}
        if alp_memory == "window":
            alp_memory = int(options.get("fit_window") or options["fit_rate"])
        if isinstance(alp_memory, str):
            raise ValueError(f"alp_memory must be an int, None or 'window', got {alp_memory!r}")
        super().__init__(space, seed, return_bounds=return_bounds, alp_memory=alp_memory, **options)

    def alp_column(self) -> np.ndarray:
        column = super().alp_column() / self.return_range()
        if self.alp_scale:
            top = float(column.max()) if len(column) else 0.0
            if top > 0.0:
                column = column / top
        return column
