"""Gaussian-mixture fitting for the GMM teachers: full-covariance EM, model selection by AIC/BIC/AICc.

Two backends fit the same model: scikit-learn's ``GaussianMixture`` (what the ALP-GMM authors' code uses) and
:func:`em_full_gmm`, the same EM vectorized over components in numpy (about 3x faster at teacher sizes).
:func:`fit_best_gmm` fits one mixture per candidate k and keeps the lowest information criterion.
No teacher is registered here.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from teachers.numerics import single_threaded


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

    def state_dict(self) -> dict[str, Any]:
        """The mixture as JSON values and numpy arrays (inverse: :meth:`from_state_dict`)."""
        return {
            "weights": self.weights,
            "means": self.means,
            "covariances": self.covariances,
            "lp": self.lp,
            "fit_seconds": self.fit_seconds,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> FittedGMM:
        """Rebuild a mixture saved by :meth:`state_dict`."""
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
    with single_threaded(), warnings.catch_warnings():
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
