"""Saving nested state (JSON values plus numpy arrays) to ``.npz`` without pickle, atomically."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from curricula.task import _json_default

_ARRAY_TAG = "__ndarray__"


def _split(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError("object arrays cannot be saved without pickle")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {_ARRAY_TAG: key}
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise TypeError(f"state keys must be strings, got {k!r}")
        return {k: _split(v, arrays) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_split(v, arrays) for v in value]
    return value


def _join(value: Any, arrays: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_ARRAY_TAG}:
            return np.array(arrays[value[_ARRAY_TAG]])
        return {k: _join(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, arrays) for v in value]
    return value


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file in the same folder, then rename it over ``path``.

    A crash leaves either the old file or the new one, never a half-written file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def save_state(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (nested dicts/lists of JSON values and numpy arrays) to an ``.npz`` file atomically."""
    arrays: dict[str, np.ndarray] = {}
    skeleton = _split(state, arrays)
    blob = json.dumps(skeleton, default=_json_default)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, __json__=np.array(blob), **arrays)  # type: ignore[arg-type]

    return atomic_write(path, write)


def load_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Inverse of :func:`save_state` (never unpickles)."""
    with np.load(Path(path), allow_pickle=False) as data:
        skeleton = json.loads(str(data["__json__"]))
        arrays = {k: data[k] for k in data.files if k != "__json__"}
    result = _join(skeleton, arrays)
    if not isinstance(result, dict):
        raise ValueError(f"{path} does not hold a state dict")
    return result
