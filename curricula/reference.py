"""Reference agents for regret-based teachers, looked up by name, so that teachers never import ``agents``.

A regret-based teacher (GROOVE) needs the return a fresh learner reaches on a level. The core only defines what
such a learner looks like to a teacher (:class:`ReferenceRunner`: submit a level, get a future of its result) and a
registry of factories by algorithm name; the ``agents`` package registers its SB3 reference learners when it is
imported (``import agents``), and a user can register their own::

    from curricula.reference import register_reference_agent

    register_reference_agent("my_algo", lambda spec: MyRunner(spec))
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

REFERENCE_MODES = ("process", "thread", "inline")


@dataclass(frozen=True)
class ReferenceSpec:
    """What a teacher asks of its reference learner.

    :param env_id: the registered task-aware env that plays the levels
    :param algo: the registered reference-agent name (e.g. ``"a2c"``, GROOVE's choice)
    :param budget: env steps of training per level
    :param eval_episodes: episodes averaged into a reference return
    :param seed: base seed of the reference agents (combined with the level, so a level always gets one value)
    :param mode: where jobs run: ``"process"`` (a spawned worker), ``"thread"`` or ``"inline"`` (synchronous)
    """

    env_id: str
    algo: str
    budget: int
    eval_episodes: int
    seed: int = 0
    mode: str = "process"

    def __post_init__(self) -> None:
        if self.mode not in REFERENCE_MODES:
            raise ValueError(f"mode must be one of {REFERENCE_MODES}, got {self.mode!r}")


@runtime_checkable
class ReferenceRunner(Protocol):
    """Runs reference jobs: one fresh learner trained and evaluated per submitted level."""

    def submit(self, level: Mapping[str, Any], level_key: str) -> cf.Future[dict[str, float]]:
        """Start a job; its result holds ``"return"`` (the reference return), ``"env_steps"`` and ``"seconds"``.

        The same level (key) must always give the same return, so that a restored teacher that resubmits a
        pending job gets the value the original would have got.
        """
        ...

    def close(self) -> None:
        """Stop the workers (idempotent); a later :meth:`submit` starts them again."""
        ...


ReferenceFactory = Callable[[ReferenceSpec], ReferenceRunner]
_FACTORIES: dict[str, ReferenceFactory] = {}


def register_reference_agent(name: str, factory: ReferenceFactory) -> None:
    """Register a reference-agent factory under an algorithm name (re-registering a name replaces it).

    :param name: the name teachers ask for (``reference_algo``)
    :param factory: builds a :class:`ReferenceRunner` from a :class:`ReferenceSpec`
    """
    _FACTORIES[name] = factory


def registered_reference_agents() -> list[str]:
    """The registered reference-agent names (``import agents`` registers the built-in ones)."""
    return sorted(_FACTORIES)


def make_reference_runner(spec: ReferenceSpec) -> ReferenceRunner:
    """Build the runner of ``spec.algo``.

    :param spec: what the reference learner must do
    :raises ValueError: when no factory is registered under ``spec.algo``, with what to do about it
    """
    factory = _FACTORIES.get(spec.algo)
    if factory is None:
        known = ", ".join(registered_reference_agents()) or "none"
        raise ValueError(
            f"reference agent {spec.algo!r} is not registered (registered: {known}): import agents (which "
            "registers its SB3 learners) or register your own with curricula.reference.register_reference_agent"
        )
    return factory(spec)
