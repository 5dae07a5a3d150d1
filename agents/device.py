"""Where a student runs, and how many threads it may use."""

from __future__ import annotations

import os

import torch

#: batch size from which an MLP student's update is worth a GPU round trip
LARGE_BATCH = 4096


def limit_threads(n_threads: int = 1) -> None:
    """One torch/BLAS thread per process: on few cores, extra threads fight env workers and each other."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    torch.set_num_threads(n_threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(n_threads))


def choose_device(policy_kind: str, batch_size: int, requested: str = "auto") -> str:
    """The device policy: CUDA only where it pays.

    SB3's maintainers measured MLP PPO/A2C 20-25 % faster on CPU than on a GPU (SB3#1770); CNN students and
    large batches gain from a GPU.

    :param policy_kind: ``"mlp"`` or ``"cnn"``
    :param batch_size: the update minibatch size
    :param requested: ``"auto"`` for this policy, or an explicit torch device string (``"cpu"``, ``"cuda:0"``)
    """
    if policy_kind not in ("mlp", "cnn"):
        raise ValueError(f"policy_kind must be 'mlp' or 'cnn', got {policy_kind!r}")
    if requested != "auto":
        torch.device(requested)  # raises on a malformed device string
        return requested
    if not torch.cuda.is_available():
        return "cpu"
    return "cuda" if policy_kind == "cnn" or batch_size >= LARGE_BATCH else "cpu"
