"""Where a student runs, and how many threads it may use."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

#: PPO training steps/s on CUDA divided by steps/s on CPU, the smallest over 64, 256 and 1024 envs, measured by
#: ``benchmarks/gpu.py`` (batched Curricula/MazeLarge-v0, ``make_student`` defaults, one NVIDIA H200 against one
#: core of its 16-core host; docs/batched.md): the grid CNN gains on the GPU (1.85-2.04x), the MLP loses
#: (0.71-0.81x), at every env count measured
MEASURED_GPU_SPEEDUP: dict[str, float] = {"cnn": 1.85, "mlp": 0.71}
#: environment variable naming a ``gpu.json`` written by ``benchmarks/gpu.py`` on this machine (used over the table)
MEASUREMENTS_VAR = "CURRICULA_DEVICE_MEASUREMENTS"
_POLICY_KINDS = {"cnn": "cnn", "MlpPolicy": "mlp"}


def measured_gpu_speedup(policy_kind: str, measurements: str | Path | Mapping[str, Any] | None = None) -> float:
    """The smallest CUDA/CPU PPO speedup measured for this policy kind over the env counts measured.

    :param policy_kind: ``"mlp"`` or ``"cnn"``
    :param measurements: a ``benchmarks/gpu.py`` result (its JSON file or the loaded dict); default: the file named
        by ``$CURRICULA_DEVICE_MEASUREMENTS`` if set, else :data:`MEASURED_GPU_SPEEDUP`
    :raises ValueError: the measurements hold no figure for this policy kind
    """
    source = measurements if measurements is not None else os.environ.get(MEASUREMENTS_VAR)
    if source is None:
        return MEASURED_GPU_SPEEDUP[policy_kind]
    data = source if isinstance(source, Mapping) else json.loads(Path(source).read_text())
    ratios = [
        float(ratio)
        for key, ratio in data.get("gpu_speedup", {}).items()
        if _POLICY_KINDS.get(str(key).split("@")[0]) == policy_kind
    ]
    if not ratios:
        raise ValueError(f"the device measurements hold no CUDA/CPU figure for {policy_kind!r} students")
    return min(ratios)


def limit_threads(n_threads: int = 1) -> None:
    """One torch/BLAS thread per process: on few cores, extra threads fight env workers and each other."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    torch.set_num_threads(n_threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(n_threads))


def choose_device(
    policy_kind: str,
    batch_size: int,
    requested: str = "auto",
    measurements: str | Path | Mapping[str, Any] | None = None,
) -> str:
    """The device policy: CUDA only where it was measured to pay (:func:`measured_gpu_speedup` > 1).

    Measured (``benchmarks/gpu.py``): the grid CNN trains about 2x faster on a GPU, the MLP about 0.7-0.8x (as SB3's
    maintainers found for MLP PPO, SB3#1770), with no change from 64 to 1024 envs, so ``batch_size`` does not
    enter the decision.

    :param policy_kind: ``"mlp"`` or ``"cnn"``
    :param batch_size: the update minibatch size (kept for callers; the measurements show no effect of it)
    :param requested: ``"auto"`` for this policy, or an explicit torch device string (``"cpu"``, ``"cuda:0"``)
    :param measurements: see :func:`measured_gpu_speedup`
    """
    if policy_kind not in ("mlp", "cnn"):
        raise ValueError(f"policy_kind must be 'mlp' or 'cnn', got {policy_kind!r}")
    if requested != "auto":
        torch.device(requested)  # raises on a malformed device string
        return requested
    if not torch.cuda.is_available():
        return "cpu"
    return "cuda" if measured_gpu_speedup(policy_kind, measurements) > 1.0 else "cpu"
