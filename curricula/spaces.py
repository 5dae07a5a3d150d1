"""Task spaces: what a teacher may choose from.

Two kinds exist:

* :class:`ParameterSpace` — named continuous or integer dimensions with bounds (Stump Tracks, the toy space,
  grid size / obstacle count). Teachers that model a continuous space (ALP-GMM, RIAC) work in the unit cube and
  map back with :meth:`ParameterSpace.denormalize`.
* :class:`LevelSpace` — explicit, serializable levels (a maze record, a seed). Teachers that replay levels (PLR,
  ACCEL, GROOVE) store them as JSON-able dicts produced by :meth:`LevelSpace.generate`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from curricula.task import Task


class TaskSpaceError(ValueError):
    """Raised when a task does not belong to its space (wrong names, out of bounds, NaN...).

    The message names the field, the value and the allowed bounds or values.
    """


@dataclass(frozen=True)
class Dimension:
    """One named dimension of a :class:`ParameterSpace`.

    :param name: the parameter's name, as the environment reads it
    :param low: lower bound (inclusive)
    :param high: upper bound (inclusive)
    :param integer: whether only integer values are valid (sampled values are rounded)
    """

    name: str
    low: float
    high: float
    integer: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TaskSpaceError(f"Dimension.name must be a non-empty string, got {self.name!r}")
        for field_name in ("low", "high"):
            value = getattr(self, field_name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise TaskSpaceError(f"Dimension {self.name!r}: {field_name} must be a finite number, got {value!r}")
        if self.low > self.high:
            raise TaskSpaceError(f"Dimension {self.name!r}: low={self.low} must be <= high={self.high}")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise TaskSpaceError(f"Dimension {self.name!r}: integer dimensions need integer bounds")

    @property
    def span(self) -> float:
        return float(self.high - self.low)


class TaskSpace(ABC):
    """Common interface of parameter and level spaces.

    A point of the space is a JSON-able dict: a :class:`Task`'s ``params`` for a :class:`ParameterSpace`, its
    ``level`` for a :class:`LevelSpace` (:attr:`task_field` says which).
    """

    #: the :class:`Task` field that holds a point of this space
    task_field: str = "params"

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """A JSON description of the space (stored with checkpoints and logs)."""

    @abstractmethod
    def validate(self, point: Mapping[str, Any]) -> None:
        """Raise :class:`TaskSpaceError` naming the field, the value and the allowed values if ``point`` is not
        a point of this space."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """A point drawn uniformly (a level space: from its generator), only from ``rng``."""

    def point_of(self, task: Task) -> Mapping[str, Any]:
        """The validated point of this space that ``task`` names (its params or its level).

        :param task: the task to check
        :raises TaskSpaceError: the task lacks the field, or its value is not a point of this space; the message
            starts with the task id
        """
        point = task.params if self.task_field == "params" else task.level
        if point is None:
            raise TaskSpaceError(f"task {task.id} has no {self.task_field}, which this env's space {self!r} needs")
        try:
            self.validate(point)
        except TaskSpaceError as err:
            raise TaskSpaceError(f"task {task.id}: {err}") from None
        return point


class ParameterSpace(TaskSpace):
    """A box of named dimensions.

    :param dims: the dimensions, in order; names must be unique
    """

    def __init__(self, dims: Sequence[Dimension]) -> None:
        if len(dims) == 0:
            raise TaskSpaceError("ParameterSpace needs at least one dimension")
        names = [d.name for d in dims]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise TaskSpaceError(f"ParameterSpace: duplicate dimension names {duplicates}")
        self.dims: tuple[Dimension, ...] = tuple(dims)
        self.names: tuple[str, ...] = tuple(names)
        self.low = np.array([d.low for d in dims], dtype=np.float64)
        self.high = np.array([d.high for d in dims], dtype=np.float64)
        self.integer_mask = np.array([d.integer for d in dims], dtype=bool)

    @classmethod
    def from_bounds(cls, bounds: Mapping[str, tuple[float, float]], integer: Sequence[str] = ()) -> ParameterSpace:
        """Build a space from ``{"name": (low, high)}``; names listed in ``integer`` are integer dimensions."""
        unknown = set(integer) - set(bounds)
        if unknown:
            raise TaskSpaceError(f"integer names {sorted(unknown)} are not dimensions; allowed: {sorted(bounds)}")
        return cls([Dimension(name, float(lo), float(hi), name in integer) for name, (lo, hi) in bounds.items()])

    @property
    def ndim(self) -> int:
        return len(self.dims)

    # -- conversion -------------------------------------------------------------------------------------------
    def to_vector(self, params: Mapping[str, float]) -> np.ndarray:
        """Validate a parameter dict and return it as a float vector in dimension order."""
        self.validate(params)
        return np.array([float(params[n]) for n in self.names], dtype=np.float64)

    def to_params(self, vector: Sequence[float] | np.ndarray, clip: bool = True) -> dict[str, float]:
        """Turn a raw-unit vector into a validated parameter dict (clipping and rounding integer dims).

        :param vector: values in dimension order, raw units
        :param clip: clip to the bounds first (teachers that sample from Gaussians need this)
        """
        arr = np.asarray(vector, dtype=np.float64).reshape(-1)
        if arr.shape[0] != self.ndim:
            raise TaskSpaceError(f"vector has {arr.shape[0]} values, space {self.names} has {self.ndim} dimensions")
        if not np.all(np.isfinite(arr)):
            raise TaskSpaceError(f"vector has non-finite values: {arr.tolist()}")
        if clip:
            arr = np.clip(arr, self.low, self.high)
        arr = np.where(self.integer_mask, np.round(arr), arr)
        params = {n: (int(v) if d.integer else float(v)) for n, v, d in zip(self.names, arr, self.dims, strict=True)}
        self.validate(params)
        return params

    def normalize(self, vector: np.ndarray) -> np.ndarray:
        """Map raw units to the unit cube (a zero-width dimension maps to 0)."""
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        return (np.asarray(vector, dtype=np.float64) - self.low) / span

    def denormalize(self, unit: np.ndarray) -> np.ndarray:
        """Map unit-cube coordinates back to raw units (no clipping, no rounding)."""
        return self.low + np.asarray(unit, dtype=np.float64) * (self.high - self.low)

    # -- sampling and validation ------------------------------------------------------------------------------
    def sample_uniform(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Uniform raw-unit vector(s); integer dimensions are uniform over their integer values."""
        shape = (self.ndim,) if n is None else (n, self.ndim)
        unit = rng.random(shape)
        raw = self.denormalize(unit)
        # integer dims: uniform over {low..high} by flooring on a widened range
        widened = np.floor(self.low + unit * (self.high - self.low + 1.0))
        raw = np.where(self.integer_mask, np.minimum(widened, self.high), raw)
        return raw

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """A uniform parameter dict (integer dimensions uniform over their values)."""
        return self.to_params(self.sample_uniform(rng))

    def grid(self, points_per_dim: int | Sequence[int]) -> np.ndarray:
        """All points of a regular grid including both bounds, shape (n_points, ndim), raw units."""
        counts = [points_per_dim] * self.ndim if isinstance(points_per_dim, int) else list(points_per_dim)
        if len(counts) != self.ndim or any(c < 1 for c in counts):
            raise TaskSpaceError(f"points_per_dim must be >= 1 for each of {self.ndim} dims, got {points_per_dim}")
        axes = []
        for dim, count in zip(self.dims, counts, strict=True):
            axis = np.linspace(dim.low, dim.high, count) if count > 1 else np.array([dim.low])
            axes.append(np.round(axis) if dim.integer else axis)
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.reshape(-1) for m in mesh], axis=1)

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`TaskSpaceError` naming the field if ``params`` is not a point of this space."""
        if not isinstance(params, Mapping):
            raise TaskSpaceError(f"task params must be a mapping of {list(self.names)}, got {type(params).__name__}")
        missing = [n for n in self.names if n not in params]
        extra = [k for k in params if k not in self.names]
        if missing or extra:
            allowed = ", ".join(f"{d.name} in [{d.low:g}, {d.high:g}]" for d in self.dims)
            raise TaskSpaceError(
                f"task params {dict(params)!r} must have exactly the names {list(self.names)}; "
                f"missing {missing}, unknown {extra} (allowed: {allowed})"
            )
        for dim in self.dims:
            value = params[dim.name]
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
                raise TaskSpaceError(f"param {dim.name!r} must be a number, got {value!r}")
            if not math.isfinite(float(value)):
                raise TaskSpaceError(f"param {dim.name!r} must be finite, got {value!r}")
            if not dim.low <= float(value) <= dim.high:
                raise TaskSpaceError(f"param {dim.name!r}={value} is outside its bounds [{dim.low:g}, {dim.high:g}]")
            if dim.integer and float(value) != round(float(value)):
                raise TaskSpaceError(f"param {dim.name!r}={value} must be an integer")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "parameters",
            "dims": [{"name": d.name, "low": d.low, "high": d.high, "integer": d.integer} for d in self.dims],
        }

    def __repr__(self) -> str:
        inner = ", ".join(f"{d.name}[{d.low:g},{d.high:g}{',int' if d.integer else ''}]" for d in self.dims)
        return f"ParameterSpace({inner})"


class LevelSpace(TaskSpace):
    """A space of explicit levels. A level is a JSON-serializable dict.

    Subclasses implement :meth:`generate` (a random level from the teacher's RNG) and :meth:`validate`.
    Level-editing teachers (ACCEL) also use :meth:`mutate` when the space offers it.
    """

    name: str = "levels"
    task_field = "level"

    @abstractmethod
    def generate(self, rng: np.random.Generator) -> dict[str, Any]:
        """A new random level, drawn only from ``rng``."""

    @abstractmethod
    def validate(self, level: Mapping[str, Any]) -> None:
        """Raise :class:`TaskSpaceError` naming the field if ``level`` is malformed."""

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """A level from :meth:`generate`."""
        return self.generate(rng)

    def mutate(self, level: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """A child of ``level`` (ACCEL); spaces without edit operators raise."""
        raise TaskSpaceError(f"{type(self).__name__} has no mutation operators")

    def key(self, level: Mapping[str, Any]) -> str:
        """A canonical string identifying a level (for dedup and caches)."""
        import json

        return json.dumps(level, sort_keys=True, separators=(",", ":"))

    def to_json(self) -> dict[str, Any]:
        return {"kind": "levels", "name": self.name}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"


class SeedSpace(LevelSpace):
    """Levels identified by an integer seed (``{"seed": s}``), as in Procgen-style PLR.

    :param num_seeds: seeds are ``0..num_seeds-1``; ``None`` means any 31-bit seed
    """

    name = "seeds"

    def __init__(self, num_seeds: int | None = None) -> None:
        if num_seeds is not None and num_seeds < 1:
            raise TaskSpaceError(f"num_seeds must be >= 1 or None, got {num_seeds}")
        self.num_seeds = num_seeds

    def generate(self, rng: np.random.Generator) -> dict[str, Any]:
        high = self.num_seeds if self.num_seeds is not None else 2**31 - 1
        return {"seed": int(rng.integers(0, high))}

    def validate(self, level: Mapping[str, Any]) -> None:
        if not isinstance(level, Mapping) or set(level) != {"seed"}:
            raise TaskSpaceError(f"a seed level must be {{'seed': int}}, got {level!r}")
        seed = level["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise TaskSpaceError(f"level field 'seed' must be a non-negative int, got {seed!r}")
        if self.num_seeds is not None and seed >= self.num_seeds:
            raise TaskSpaceError(f"level field 'seed'={seed} must be < num_seeds={self.num_seeds}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": "levels", "name": self.name, "num_seeds": self.num_seeds}
