"""The :class:`Teacher` base class and the registry of teachers by short name."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

from curricula.registry import Registry
from curricula.spaces import LevelSpace, ParameterSpace, TaskSpace
from curricula.task import EpisodeResult, RolloutSignals, Task

FeedbackKind = Literal["episode", "rollout"]


class _TeacherMeta(ABCMeta):
    """Applies a teacher's named preset before its constructor runs (see :attr:`Teacher.presets`).

    The preset is resolved here, once, around the outermost constructor call, so that every subclass constructor
    sees plain keyword options (its signature defaults, overridden by the preset, overridden by explicit values)
    and none of them has to handle ``preset`` itself.
    """

    def __call__(cls, *args: Any, preset: str | None = None, **kwargs: Any) -> Any:
        assert issubclass(cls, Teacher)
        teacher = super().__call__(*args, **cls.preset_options(preset, kwargs))
        teacher.preset = preset
        return teacher


class Teacher(metaclass=_TeacherMeta):
    """Decides which task a student plays next, from the results it hears back.

    Subclasses implement :meth:`_sample` (build a task with :meth:`_new_task`) and :meth:`_update`, and extend
    :meth:`_state` / :meth:`_load_state` through ``super()`` with everything that determines future samples.
    Everything random must come from ``self.rng``, the teacher's own seeded generator, so that the same seed and
    the same feedback give the same samples, and a state round trip gives identical next samples.

    Every teacher accepts ``preset=<name>`` (keyword only): the named entry of its class table :attr:`presets`
    supplies option values, explicit keyword options override them, and an unknown name raises ``ValueError``
    listing the allowed ones. Without a preset, the constructor's own defaults apply.

    :param space: the task space to choose from
    :param seed: seed of the teacher's RNG
    """

    #: short name in the registry (set by :func:`register_teacher`)
    name: ClassVar[str] = ""
    #: "episode": hears each :class:`EpisodeResult`; "rollout": also gets :class:`RolloutSignals`
    feedback: ClassVar[FeedbackKind] = "episode"
    #: the space kinds this teacher can work with
    supported_spaces: ClassVar[tuple[type[TaskSpace], ...]] = (ParameterSpace, LevelSpace)
    #: named sets of constructor options (``preset=`` picks one; explicit options override its values)
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    #: the preset this teacher was built with (None: the constructor's defaults)
    preset: str | None = None

    @classmethod
    def preset_options(cls, preset: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        """The constructor options of ``preset`` (a key of :attr:`presets`), overridden by ``options``.

        :param preset: preset name, or None for ``options`` alone
        :param options: explicit keyword options
        :raises ValueError: for a name that is not in :attr:`presets`
        """
        if preset is None:
            return dict(options)
        if preset not in cls.presets:
            allowed = ", ".join(repr(name) for name in sorted(cls.presets)) or "none (this teacher has no presets)"
            raise ValueError(f"unknown preset {preset!r} for {cls.__name__}; allowed: {allowed}")
        return {**cls.presets[preset], **options}

    def __init__(self, space: TaskSpace, seed: int = 0) -> None:
        if not isinstance(space, self.supported_spaces):
            allowed = ", ".join(s.__name__ for s in self.supported_spaces)
            raise TypeError(f"{type(self).__name__}: space must be one of ({allowed}), got {type(space).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"{type(self).__name__}: seed must be a non-negative int, got {seed!r}")
        self.space = space
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.tasks_sampled = 0
        self.episodes_seen = 0

    # -- public API -------------------------------------------------------------------------------------------
    def sample(self) -> Task:
        """The next task to play."""
        task = self._sample()
        self.tasks_sampled += 1
        return task

    def update(self, result: EpisodeResult) -> None:
        """Hear the result of one finished episode (exactly once per played task)."""
        if not isinstance(result, EpisodeResult):
            raise TypeError(f"update() takes an EpisodeResult, got {type(result).__name__}")
        if result.task.id >= self.tasks_sampled:
            raise ValueError(
                f"result for task id {result.task.id}, but this teacher has only issued ids < {self.tasks_sampled}"
            )
        self.episodes_seen += 1
        self._update(result)

    def update_rollout(self, signals: RolloutSignals) -> None:
        """Hear the learner signals of one rollout. Episode-feedback teachers learn from episodes only."""
        if self.feedback == "rollout":
            self._update_rollout(signals)

    def scalars(self) -> dict[str, float]:
        """Numbers worth logging (TensorBoard ``teacher/<key>``)."""
        return {"tasks_sampled": float(self.tasks_sampled), "episodes_seen": float(self.episodes_seen)}

    def end_of_training_warnings(self) -> list[str]:
        """What the user should know about this teacher when training ends, one message each (logged once).

        E.g. a model-based teacher whose model never became ready, and so behaved as uniform random.
        """
        return []

    def close(self) -> None:
        """Release background workers or threads. Idempotent; the default has nothing to release.

        A teacher used again after ``close()`` restarts what it needs.
        """

    def state_dict(self) -> dict[str, Any]:
        """Everything that determines future samples: JSON values and numpy arrays only (never pickled)."""
        return {
            "teacher": self.name,
            "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "tasks_sampled": self.tasks_sampled,
            "episodes_seen": self.episodes_seen,
            "space": self.space.to_json(),
            "own": self._state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the next samples are then identical to the saved teacher's."""
        if state.get("teacher") != self.name:
            raise ValueError(f"state is for teacher {state.get('teacher')!r}, this is {self.name!r}")
        if state.get("space") != self.space.to_json():
            raise ValueError(f"state was saved for space {state.get('space')}, this teacher has {self.space.to_json()}")
        self.seed = int(state["seed"])
        self.rng.bit_generator.state = dict(state["rng"])
        self.tasks_sampled = int(state["tasks_sampled"])
        self.episodes_seen = int(state["episodes_seen"])
        self._load_state(dict(state["own"]))

    # -- helpers for subclasses -------------------------------------------------------------------------------
    def _new_task(
        self,
        params: Mapping[str, float] | None = None,
        level: Mapping[str, Any] | None = None,
        annotations: Mapping[str, Any] | None = None,
    ) -> Task:
        """Validate and wrap a choice in a :class:`Task` with the next id."""
        if params is not None:
            if not isinstance(self.space, ParameterSpace):
                raise TypeError(f"{type(self).__name__}: params given but the space is {type(self.space).__name__}")
            self.space.validate(params)
        if level is not None:
            if not isinstance(self.space, LevelSpace):
                raise TypeError(f"{type(self).__name__}: level given but the space is {type(self.space).__name__}")
            self.space.validate(level)
        return Task(id=self.tasks_sampled, params=params, level=level, annotations=dict(annotations or {}))

    def _uniform_task(self) -> Task:
        """A task drawn uniformly from the space (the common fallback of every teacher)."""
        if isinstance(self.space, ParameterSpace):
            return self._new_task(params=self.space.to_params(self.space.sample_uniform(self.rng)))
        assert isinstance(self.space, LevelSpace)
        return self._new_task(level=self.space.generate(self.rng))

    # -- to implement -----------------------------------------------------------------------------------------
    @abstractmethod
    def _sample(self) -> Task:
        """Choose the next task (use ``self.rng`` and :meth:`_new_task`)."""

    @abstractmethod
    def _update(self, result: EpisodeResult) -> None:
        """Learn from one episode result."""

    def _update_rollout(self, signals: RolloutSignals) -> None:
        raise TypeError(f"{type(self).__name__} declares feedback='rollout' but does not override _update_rollout")

    def _state(self) -> dict[str, Any]:
        """Subclass state (JSON values and numpy arrays). Extend it: ``state = super()._state()``, add keys."""
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`_state`. Extend it: ``super()._load_state(state)``, then read the keys you added."""


TeacherT = TypeVar("TeacherT", bound=type[Teacher])
_REGISTRY: Registry[type[Teacher]] = Registry("teacher")


def register_teacher(name: str) -> Callable[[TeacherT], TeacherT]:
    """Class decorator: register a teacher under a short name (``make_teacher(name, ...)``)."""
    return _REGISTRY.decorator(name)  # type: ignore[return-value]


def registered_teachers() -> dict[str, type[Teacher]]:
    """Name -> class of every registered teacher (import :mod:`teachers` to register the built-in ones)."""
    return _REGISTRY.classes()


def make_teacher(name: str, space: TaskSpace, seed: int = 0, **kwargs: Any) -> Teacher:
    """Build a registered teacher by name.

    :param name: registered short name, e.g. ``"random"`` or ``"alp_gmm"``
    :param space: the task space
    :param seed: the teacher's RNG seed
    :param kwargs: teacher-specific options, and ``preset`` (a name in the teacher's :attr:`Teacher.presets`)
    """
    return _REGISTRY.get(name)(space, seed=seed, **kwargs)
