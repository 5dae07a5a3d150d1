"""GROOVE's own level curation (Jackson et al., NeurIPS 2023; EmptyJackson/groove ``level_sampler.py``).

GROOVE meta-learns an RL update rule (LPG) on a curriculum of levels curated by algorithmic regret. This teacher is
that curation, for a fixed SB3 student instead of the learned update rule; the score is the ``groove`` teacher's
algorithmic regret (:class:`teachers.groove.ReferenceSchedule`). How it differs from the PLR-style ``groove``:

* the buffer starts **full of generated levels**, all unevaluated ("new"); new levels are drawn uniformly from the
  buffer's unevaluated entries, not from the generator;
* at each **curation update** (every ``batch_size`` episodes heard; GROOVE: one per meta-step, for its 512 agent
  lifetimes) the lowest-regret idle levels are **reset to fresh generated ones**, so that at least ``batch_size``
  unevaluated idle levels are available (unevaluated ones count first, as GROOVE's ``-inf`` for new levels);
* **replay** (probability ``replay_prob``, 0.5, only while at least ``batch_size`` evaluated idle levels exist) takes
  a level of the top-``batch_size`` evaluated idle levels by regret (``replay_order="top_k"``: GROOVE's ``rank``
  transform, which hands the top-k to a batch; per episode that is a uniform pick among them), or samples
  ``∝ exp(regret / temperature)`` (``"softmax"``: GROOVE's ``proportional``);
* a level being played is **active** and cannot be replayed or reset until its result is heard (GROOVE's sampling
  without replacement within a batch); no staleness term; no score smoothing by default (``return_smoothing`` 1).

Scores are computed at ranking time against the current reference estimates, so every level is on one baseline;
the student's return memory of a slot is cleared when the slot is reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from curricula.spaces import LevelSpace, TaskSpace
from curricula.task import EpisodeResult, Task
from curricula.teacher import Teacher, register_teacher
from teachers.groove import reference_schedule_for

REPLAY_ORDERS = ("top_k", "softmax")
SOURCE_NEW, SOURCE_REPLAY = "new", "replay"

#: GROOVE's code defaults (buffer 4000, 512 lifetimes per update, p_replay 0.5, rank transform) and a CPU-sized one
CURATION_PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(buffer_size=4000, batch_size=512, replay_prob=0.5, replay_order="top_k", temperature=1.0),
    "cpu": dict(
        buffer_size=256,
        batch_size=32,
        replay_prob=0.5,
        replay_order="top_k",
        temperature=1.0,
        reference_budget=2048,
        reference_interval=4096,
    ),
}


@register_teacher("groove_curation")
class GrooveCurationTeacher(Teacher):
    """GROOVE's curation: a pre-filled level buffer, lowest-regret levels reset each update, top-k replay.

    :param space: a :class:`~curricula.spaces.LevelSpace`
    :param seed: RNG seed
    :param buffer_size: levels in the buffer (pre-filled from the generator)
    :param batch_size: levels per curation update: the update cadence (episodes), the fresh levels kept ready, the
        size of the top-k replay set and the evaluated idle levels needed before any replay (GROOVE: its 512 lifetimes)
    :param replay_prob: probability that an episode replays (once ``batch_size`` evaluated idle levels exist)
    :param replay_order: ``"top_k"`` (uniform among the ``batch_size`` highest-regret evaluated idle levels) or
        ``"softmax"`` (``∝ exp(regret / temperature)`` over the evaluated idle levels)
    :param temperature: softmax temperature (``"softmax"`` only)
    :param return_smoothing: weight of the newest episode in the student's return on a level (1: the latest only)
    :param env_id: env that plays the levels, for the reference agent; default: the space's ``env_id`` attribute
    :param reference_algo: the reference learner's registered name (see :class:`teachers.groove.GrooveTeacher`)
    :param reference_budget: env steps of reference training per level
    :param reference_interval: student env steps between reference jobs (each for the oldest evaluated level
        without a reference)
    :param reference_lag: student env steps after submission at which a job is collected (default: the interval)
    :param reference_eval_episodes: episodes averaged into a reference return
    :param reference_mode: ``"process"``, ``"thread"`` or ``"inline"``
    :param reference_seed: base seed of the reference agents
    """

    supported_spaces: ClassVar[tuple[type[TaskSpace], ...]] = (LevelSpace,)
    presets: ClassVar[dict[str, dict[str, Any]]] = CURATION_PRESETS
    space: LevelSpace

    def __init__(
        self,
        space: TaskSpace,
        seed: int = 0,
        buffer_size: int = 4000,
        batch_size: int = 512,
        replay_prob: float = 0.5,
        replay_order: str = "top_k",
        temperature: float = 1.0,
        return_smoothing: float = 1.0,
        env_id: str | None = None,
        reference_algo: str = "a2c",
        reference_budget: int = 4096,
        reference_interval: int = 16384,
        reference_lag: int | None = None,
        reference_eval_episodes: int = 8,
        reference_mode: str = "process",
        reference_seed: int = 0,
    ) -> None:
        super().__init__(space, seed)
        if not 1 <= batch_size <= buffer_size:
            raise ValueError(f"need 1 <= batch_size <= buffer_size, got {batch_size} and {buffer_size}")
        if replay_order not in REPLAY_ORDERS:
            raise ValueError(f"replay_order must be one of {REPLAY_ORDERS}, got {replay_order!r}")
        if not 0.0 <= replay_prob <= 1.0:
            raise ValueError(f"replay_prob must be in [0, 1], got {replay_prob}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if not 0.0 < return_smoothing <= 1.0:
            raise ValueError(f"return_smoothing must be in (0, 1], got {return_smoothing}")
        self.buffer_size = int(buffer_size)
        self.batch_size = int(batch_size)
        self.replay_prob = float(replay_prob)
        self.replay_order = replay_order
        self.temperature = float(temperature)
        self.return_smoothing = float(return_smoothing)
        self.schedule = reference_schedule_for(
            self.space,
            env_id,
            reference_algo,
            reference_budget,
            reference_eval_episodes,
            reference_seed,
            reference_mode,
            reference_interval,
            reference_lag,
        )
        #: the buffer, one entry per slot: level, key, evaluated?, the student's return (NaN until evaluated),
        #: birth (a counter: the order in which slots were filled), tasks in flight on it
        self.levels: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.evaluated = np.zeros(self.buffer_size, dtype=bool)
        self.student_return = np.full(self.buffer_size, np.nan)
        self.born = np.zeros(self.buffer_size, dtype=np.int64)
        self.active = np.zeros(self.buffer_size, dtype=np.int64)
        self._births = 0
        for slot in range(self.buffer_size):
            level = self.space.generate(self.rng)
            self.levels.append(level)
            self.keys.append(self.space.key(level))
            self.born[slot] = self._next_birth()
        #: task id -> buffer slot, for the tasks sampled and not yet heard back (-1: played outside the buffer)
        self._in_flight: dict[int, int] = {}
        self._episodes_since_update = 0
        self.resets = 0
        self.counts = {SOURCE_NEW: 0, SOURCE_REPLAY: 0}

    def _next_birth(self) -> int:
        self._births += 1
        return self._births

    # -- scores -----------------------------------------------------------------------------------------------
    def scores(self) -> np.ndarray:
        """Every slot's algorithmic regret against the current reference estimates (NaN: unevaluated)."""
        fallback = self.schedule.fallback()
        reference = np.array([self.schedule.returns.get(key, fallback) for key in self.keys])
        return np.where(self.evaluated, reference - self.student_return, np.nan)

    def replay_set(self) -> np.ndarray:
        """The slots a replay can draw from now (empty while fewer than ``batch_size`` evaluated levels are idle)."""
        idle = np.flatnonzero(self.evaluated & (self.active == 0))
        if len(idle) < self.batch_size:
            return np.zeros(0, dtype=np.int64)
        if self.replay_order == "softmax":
            return idle
        scores = self.scores()[idle]
        # highest regret first; ties by slot order (stable), so the set is deterministic
        return idle[np.argsort(-scores, kind="stable")[: self.batch_size]]

    def replay_probabilities(self) -> np.ndarray:
        """Probability of each slot of :meth:`replay_set` (uniform for top-k, softmax of the regrets otherwise)."""
        slots = self.replay_set()
        if len(slots) == 0 or self.replay_order == "top_k":
            return np.full(len(slots), 1.0 / max(1, len(slots)))
        logits = self.scores()[slots] / self.temperature
        weights = np.exp(logits - logits.max())
        return weights / weights.sum()

    # -- sampling ---------------------------------------------------------------------------------------------
    def _sample(self) -> Task:
        slot = -1
        source = SOURCE_NEW
        if self.rng.random() < self.replay_prob:
            candidates = self.replay_set()
            if len(candidates):
                slot = int(self.rng.choice(candidates, p=self.replay_probabilities()))
                source = SOURCE_REPLAY
        if slot < 0:
            slot = self._new_slot()
        level = self.levels[slot] if slot >= 0 else self.space.generate(self.rng)
        if slot >= 0:
            self.active[slot] += 1
        self._in_flight[self.tasks_sampled] = slot
        self.counts[source] += 1
        return self._new_task(level=level, annotations={"source": source})

    def _new_slot(self) -> int:
        """An unevaluated idle slot, uniformly; if none, the lowest-regret idle slot reset now; -1 if all are busy."""
        fresh = np.flatnonzero(~self.evaluated & (self.active == 0))
        if len(fresh) == 0:
            self._reset_lowest(1)
            fresh = np.flatnonzero(~self.evaluated & (self.active == 0))
            if len(fresh) == 0:
                return -1  # more episodes in flight than buffer slots: play a generated level outside the buffer
        return int(self.rng.choice(fresh))

    def _reset_lowest(self, minimum_new: int) -> int:
        """Reset the lowest-regret idle evaluated levels to fresh generated ones until ``minimum_new`` unevaluated
        idle levels exist (never an active one); returns how many were reset."""
        idle = self.active == 0
        missing = minimum_new - int(np.sum(~self.evaluated & idle))
        if missing <= 0:
            return 0
        candidates = np.flatnonzero(self.evaluated & idle)
        order = candidates[np.argsort(self.scores()[candidates], kind="stable")][:missing]
        for slot in order:
            level = self.space.generate(self.rng)
            self.levels[slot] = level
            self.keys[slot] = self.space.key(level)
            self.evaluated[slot] = False
            self.student_return[slot] = np.nan  # the student's memory goes with the level
            self.born[slot] = self._next_birth()
        self.resets += len(order)
        return len(order)

    # -- feedback ---------------------------------------------------------------------------------------------
    def _update(self, result: EpisodeResult) -> None:
        slot = self._in_flight.pop(result.task.id, -1)
        if slot >= 0:
            self.active[slot] -= 1
            ret = float(result.episode_return)
            previous = self.student_return[slot]
            self.student_return[slot] = (
                ret
                if not self.evaluated[slot]
                else (1 - self.return_smoothing) * previous + self.return_smoothing * ret
            )
            self.evaluated[slot] = True
        self._episodes_since_update += 1
        if self._episodes_since_update >= self.batch_size:
            self._episodes_since_update = 0
            self._reset_lowest(self.batch_size)
        # landed references change the estimates that scores() reads at ranking time: nothing to rescore
        self.schedule.advance(result.length, self._oldest_without_reference)

    def _oldest_without_reference(self, skip: set[str]) -> tuple[str, Mapping[str, Any]] | None:
        """The evaluated level born earliest that has no reference (chosen without looking at its score)."""
        best = -1
        for slot in np.flatnonzero(self.evaluated):
            if self.keys[slot] not in skip and (best < 0 or self.born[slot] < self.born[best]):
                best = int(slot)
        return None if best < 0 else (self.keys[best], self.levels[best])

    def close(self) -> None:
        """Stop the reference workers (idempotent; a teacher used again restarts them)."""
        self.schedule.close()

    # -- state and logging ------------------------------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        scores = self.scores()[self.evaluated]
        total = max(1, sum(self.counts.values()))
        out.update(
            buffer_evaluated=float(self.evaluated.sum()),
            buffer_new=float((~self.evaluated).sum()),
            buffer_mean_score=float(scores.mean()) if len(scores) else 0.0,
            buffer_resets=float(self.resets),
            replay_fraction=self.counts[SOURCE_REPLAY] / total,
        )
        out.update(self.schedule.scalars())
        return out

    def end_of_training_warnings(self) -> list[str]:
        if self.counts[SOURCE_REPLAY] > 0:
            return []
        return [
            f"{self.name} replayed no level in {self.episodes_seen} episodes (replay needs {self.batch_size} "
            f"evaluated idle levels, batch_size; {int(self.evaluated.sum())} were evaluated): it played fresh levels "
            "only, like domain randomization; train longer or lower batch_size (preset='cpu')"
        ]

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(
            levels=[dict(level) for level in self.levels],
            evaluated=self.evaluated.copy(),
            student_return=self.student_return.copy(),
            born=self.born.copy(),
            active=self.active.copy(),
            births=self._births,
            in_flight=[[task_id, slot] for task_id, slot in self._in_flight.items()],
            episodes_since_update=self._episodes_since_update,
            resets=self.resets,
            counts=dict(self.counts),
            schedule=self.schedule.state_dict(),
        )
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        levels = [dict(level) for level in state["levels"]]
        if len(levels) != self.buffer_size:
            raise ValueError(f"saved buffer holds {len(levels)} levels, buffer_size is {self.buffer_size}")
        for level in levels:
            self.space.validate(level)
        self.levels = levels
        self.keys = [self.space.key(level) for level in levels]
        self.evaluated = np.asarray(state["evaluated"], dtype=bool).reshape(-1)
        self.student_return = np.asarray(state["student_return"], dtype=np.float64).reshape(-1)
        self.born = np.asarray(state["born"], dtype=np.int64).reshape(-1)
        self.active = np.asarray(state["active"], dtype=np.int64).reshape(-1)
        self._births = int(state["births"])
        self._in_flight = {int(task_id): int(slot) for task_id, slot in state["in_flight"]}
        self._episodes_since_update = int(state["episodes_since_update"])
        self.resets = int(state["resets"])
        self.counts = {str(k): int(v) for k, v in state["counts"].items()}
        self.schedule.load_state_dict(state["schedule"])
