"""Prioritized Level Replay (PLR), Robust PLR (PLR⊥) and ACCEL: regret-based curation of explicit levels.

One mechanism, three registered teachers:

* ``plr`` — Jiang et al., ICML 2021. Each episode either replays a level of a bounded buffer, drawn from
  ``(1 - staleness_coef) * rank(score)^(1/temperature) + staleness_coef * staleness``, or plays a new level from the
  space's generator; levels are scored from the learner's GAE at rollout end and offered to the buffer.
* ``robust_plr`` — PLR⊥ (Jiang et al., NeurIPS 2021): the same, but the student takes no gradient on steps played on
  new levels; they only score them. The teacher publishes which steps of the last rollout were replays
  (:meth:`LevelReplayTeacher.train_mask`); :class:`agents.robust_ppo.RobustPPO` trains on those steps only.
* ``accel`` — Parker-Holder et al., ICML 2022: PLR⊥, plus every finished replay episode queues one mutated copy of
  its level (the space's :meth:`~curricula.spaces.LevelSpace.mutate`), played next as an exploratory level and
  offered to the buffer like any new level.

**Per-episode decisions.** The curriculum callback asks for a task whenever an env needs its next episode, so
replay-vs-new is decided per episode, at sample time (the papers decide once per rollout). A rollout therefore
mixes replay and new levels; PLR⊥'s "no gradient from new levels" is applied per env-step by the mask instead of
by skipping whole rollouts (a rollout with no replayed step at all skips the update). Each env holds a level for
one episode, not for a whole rollout.

**Scores at rollout end.** ``RolloutSignals.segments()`` cuts each env's column of the rollout buffer into
episodes; every step is credited to the task it was played on. An episode still running at rollout end carries its
partial sums into the next rollout, so every episode is scored over all its steps exactly once. When several
episodes (several envs, or one env twice) played the same level in one rollout, the level's new score is their
step-weighted mean, never the last writer's.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from curricula.spaces import LevelSpace, TaskSpace
from curricula.task import EpisodeResult, RolloutSignals, Task
from curricula.teacher import FeedbackKind, Teacher, register_teacher

#: score functions of the rollout-scored teachers (per-episode formula in docs/ued.md)
SCORE_FUNCTIONS = ("pvl", "l1", "maxmc")

#: paper defaults (dcd's MiniGrid 0-60 blocks configs) and a CPU-sized preset for small mazes and short runs
#: (the presets of ``plr`` and ``robust_plr``; pass ``preset="cpu"``)
PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(buffer_size=4000, temperature=0.3, staleness_coef=0.3, replay_prob=0.5, min_fill=0.5),
    "cpu": dict(buffer_size=256, temperature=0.3, staleness_coef=0.3, replay_prob=0.5, min_fill=0.25),
}
#: ACCEL replays more often (0.8 in dcd, minimax and jaxued)
ACCEL_REPLAY_PROB = 0.8
#: ACCEL's presets: the PLR ones with its own replay probability
ACCEL_PRESETS: dict[str, dict[str, Any]] = {
    name: {**options, "replay_prob": ACCEL_REPLAY_PROB} for name, options in PRESETS.items()
}

SOURCE_NEW, SOURCE_REPLAY, SOURCE_MUTANT = "new", "replay", "mutant"
REPLAY_BALANCES = ("episodes", "steps")


def level_digest(key: str) -> str:
    """A short, stable name for a level key (lineage annotations, logs)."""
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def step_terms(score: str, advantages: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The per-step quantity whose episode mean gives the score (MaxMC is finished by :func:`finalize_score`).

    :param score: one of :data:`SCORE_FUNCTIONS`
    :param advantages: GAE advantages
    :param values: the value estimates that produced them
    """
    if score == "pvl":
        return np.maximum(advantages, 0.0)
    if score == "l1":
        return np.abs(advantages)
    if score == "maxmc":
        # mean(R_max - V_t) = R_max - mean(V_t): summing V lets an episode cut by the rollout end be completed later
        return np.asarray(values, dtype=np.float64)
    raise ValueError(f"score must be one of {SCORE_FUNCTIONS}, got {score!r}")


def finalize_score(score: str, mean_term: float, max_return: float) -> float:
    """An episode's score from the mean of its :func:`step_terms` and the level's best raw return so far."""
    return max_return - mean_term if score == "maxmc" else mean_term


#: how tied scores are ranked: "ordinal" (dcd/jaxued: an argsort, so every level has its own rank) or
#: "competition" (tied levels share the best rank of their group, hence equal weight)
RANK_TIES = ("ordinal", "competition")
#: which level a full buffer gives up for a better newcomer: "replay_weight" (dcd's default
#: ``seed_buffer_priority="replay_support"``, jaxued: the lowest score-and-staleness weight) or "score" (lowest score)
EVICTIONS = ("replay_weight", "score")


def score_ranks(scores: np.ndarray, rank_ties: str = "ordinal") -> np.ndarray:
    """1-indexed ranks of ``scores``, highest score first.

    ``"ordinal"`` ranks as dcd's ``np.flip(scores.argsort())`` does, with a stable sort so that the order of ties is
    deterministic: among equal scores the later slot ranks higher. ``"competition"`` gives tied scores the best rank
    of their group (1 + the number of strictly higher scores).

    :param scores: level scores
    :param rank_ties: one of :data:`RANK_TIES`
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if rank_ties == "ordinal":
        order = np.flip(np.argsort(scores, kind="stable"))
        ranks = np.empty(n, dtype=np.int64)
        ranks[order] = np.arange(1, n + 1)
        return ranks
    if rank_ties == "competition":
        # O(n log n): buffers hold thousands of levels
        return 1 + n - np.searchsorted(np.sort(scores), scores, side="right")
    raise ValueError(f"rank_ties must be one of {RANK_TIES}, got {rank_ties!r}")


@functools.lru_cache(maxsize=32)
def _rank_weight_table(temperature: float, size: int) -> np.ndarray:
    """``(1 / rank)^(1/β)`` for ranks 1..size (read-only); β → 0 leaves weight only on rank 1."""
    with np.errstate(under="ignore", over="ignore"):  # far ranks underflow to 0, as intended
        table = np.arange(1, size + 1, dtype=np.float64) ** (-1.0 / temperature)
    table.flags.writeable = False
    return table


def rank_weights(ranks: np.ndarray, temperature: float) -> np.ndarray:
    """Unnormalised score weights ``rank^(−1/β)`` of 1-indexed ``ranks``, read from a table shared by every call
    (sized to the next power of two, so a growing buffer rebuilds it a few times only). Rank 1 weighs 1: no
    weight overflows."""
    size = 1 << max(len(ranks) - 1, 0).bit_length()  # ranks never exceed their count
    return _rank_weight_table(float(temperature), size)[ranks - 1]


def replay_distribution(
    scores: np.ndarray,
    last_sampled: np.ndarray,
    clock: int,
    temperature: float,
    staleness_coef: float,
    rank_ties: str = "ordinal",
    ranks: np.ndarray | None = None,
) -> np.ndarray:
    """PLR's replay distribution ``(1 - ρ) P_S + ρ P_C`` over the buffer.

    ``P_S ∝ (1 / rank)^(1/β)`` with the ranks of :func:`score_ranks`; ``P_C ∝ clock - last_sampled`` (uniform when
    every level was just sampled). Computed in log space: ``β → 0`` puts all score mass on the top-ranked level(s)
    without overflow. An empty buffer gives an empty array.

    :param scores: level scores
    :param last_sampled: the clock value at each level's last sampling (or insertion)
    :param clock: the current clock (samples drawn so far)
    :param temperature: β > 0
    :param staleness_coef: ρ in [0, 1]
    :param rank_ties: one of :data:`RANK_TIES`
    :param ranks: the ranks of ``scores`` under ``rank_ties`` when the caller keeps them (:class:`RankIndex`);
        computed here otherwise
    """
    n = len(scores)
    if n == 0:
        return np.zeros(0)
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if ranks is None:
        ranks = score_ranks(scores, rank_ties)
    weights = rank_weights(ranks, temperature)
    p_score = weights / weights.sum()
    staleness = np.maximum(clock - np.asarray(last_sampled, dtype=np.float64), 0.0)
    total = staleness.sum()
    p_stale = staleness / total if total > 0 else np.full(n, 1.0 / n)
    return (1.0 - staleness_coef) * p_score + staleness_coef * p_stale


class RankIndex:
    """The ordinal ranks of :func:`score_ranks` kept up to date as single scores change, in O(n) numpy per change.

    A full buffer computes its replay distribution for every eviction decision; an argsort of thousands of scores
    each time was most of PLR's scoring cost on the batched maze env. Slots are held in ascending (score, slot)
    order, the order of a stable argsort, so ``rank = n - position`` matches ``score_ranks(..., "ordinal")``.
    """

    def __init__(self, scores: np.ndarray) -> None:
        self.rebuild(scores)

    def rebuild(self, scores: np.ndarray) -> None:
        """Index ``scores`` from scratch."""
        self._ascending = np.argsort(scores, kind="stable")
        self._sorted = np.asarray(scores, dtype=np.float64)[self._ascending]
        self._position = np.empty(len(scores), dtype=np.int64)
        self._position[self._ascending] = np.arange(len(scores))

    def ranks(self) -> np.ndarray:
        """1-indexed ordinal ranks per slot, highest score first (a new array)."""
        return len(self._position) - self._position

    def _count_below(self, slot: int, score: float) -> int:
        """How many indexed slots come before ``(score, slot)`` in ascending (score, slot) order."""
        low = int(np.searchsorted(self._sorted, score, side="left"))
        high = int(np.searchsorted(self._sorted, score, side="right"))
        # among equal scores the lower slot comes first, as in a stable argsort
        return low + int(np.searchsorted(self._ascending[low:high], slot))

    def append(self, score: float) -> None:
        """A new slot (the next index) with ``score``."""
        slot = len(self._position)
        at = self._count_below(slot, score)
        self._ascending = np.insert(self._ascending, at, slot)
        self._sorted = np.insert(self._sorted, at, score)
        self._position = np.append(self._position, at)
        self._position[self._ascending[at + 1 :]] += 1

    def update(self, slot: int, score: float) -> None:
        """Slot ``slot`` now has ``score``: it moves to its new place, the slots in between shift by one."""
        old = int(self._position[slot])
        below = self._count_below(slot, score)
        new = below - 1 if old < below else below  # the count above includes the slot's own old entry
        ascending, ordered = self._ascending, self._sorted
        if new > old:
            ascending[old:new] = ascending[old + 1 : new + 1]
            ordered[old:new] = ordered[old + 1 : new + 1]
            self._position[ascending[old:new]] -= 1
        elif new < old:
            ascending[new + 1 : old + 1] = ascending[new:old].copy()
            ordered[new + 1 : old + 1] = ordered[new:old].copy()
            self._position[ascending[new + 1 : old + 1]] += 1
        ascending[new], ordered[new], self._position[slot] = slot, score, new


class LevelBuffer:
    """A bounded set of scored levels; when full, a new level replaces a chosen slot (by default the lowest-scored
    one) only if it scores strictly higher (jaxued's test; dcd's is ``>=``).

    :param space: the level space (its :meth:`~curricula.spaces.LevelSpace.key` identifies levels)
    :param capacity: maximum number of levels
    """

    def __init__(self, space: LevelSpace, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"buffer_size must be >= 1, got {capacity}")
        self.space = space
        self.capacity = int(capacity)
        self.levels: list[dict[str, Any]] = []
        self._scores = np.zeros(0)
        self._ranks = RankIndex(self._scores)
        self.last_sampled = np.zeros(0, dtype=np.int64)
        self.max_returns = np.zeros(0)
        self._slots: dict[str, int] = {}
        self.evictions = 0
        #: key of the level the last :meth:`offer` evicted (None when it evicted none)
        self.last_evicted: str | None = None

    def __len__(self) -> int:
        return len(self.levels)

    @property
    def scores(self) -> np.ndarray:
        """The levels' scores by slot (read-only: change them with :meth:`set_score` or :meth:`set_scores`)."""
        view = self._scores.view()
        view.flags.writeable = False
        return view

    def set_score(self, slot: int, score: float) -> None:
        """Set one level's score."""
        self._scores[slot] = score
        self._ranks.update(slot, float(score))

    def set_scores(self, scores: np.ndarray) -> None:
        """Set every level's score at once (one re-index instead of one update per level)."""
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(scores) != len(self.levels):
            raise ValueError(f"got {len(scores)} scores for {len(self.levels)} levels")
        self._scores = scores.copy()
        self._ranks.rebuild(self._scores)

    def ordinal_ranks(self) -> np.ndarray:
        """``score_ranks(self.scores, "ordinal")``, kept incrementally."""
        return self._ranks.ranks()

    def slot(self, key: str) -> int | None:
        return self._slots.get(key)

    def keys(self) -> set[str]:
        """The keys of the levels in the buffer."""
        return set(self._slots)

    def offer(
        self,
        key: str,
        level: Mapping[str, Any],
        score: float,
        max_return: float,
        clock: int,
        victim: int | None = None,
    ) -> bool:
        """Insert or update a level; returns whether it is in the buffer afterwards.

        :param key: the level's key
        :param level: the level record
        :param score: its new score
        :param max_return: its best raw return heard in this update
        :param clock: the teacher's clock (a new level's staleness starts here)
        :param victim: the slot a full buffer gives up if the newcomer scores higher (default: the lowest score)
        """
        self.last_evicted = None
        slot = self._slots.get(key)
        if slot is not None:
            self.set_score(slot, score)
            self.max_returns[slot] = max(self.max_returns[slot], max_return)
            return True
        if len(self.levels) < self.capacity:
            self._slots[key] = len(self.levels)
            self.levels.append(dict(level))
            self._scores = np.append(self._scores, score)
            self._ranks.append(float(score))
            self.last_sampled = np.append(self.last_sampled, clock)
            self.max_returns = np.append(self.max_returns, max_return)
            return True
        worst = int(np.argmin(self._scores)) if victim is None else int(victim)
        if not score > self._scores[worst]:
            return False
        self.last_evicted = self.space.key(self.levels[worst])
        del self._slots[self.last_evicted]
        self._slots[key] = worst
        self.levels[worst] = dict(level)
        self.set_score(worst, score)
        self.last_sampled[worst] = clock
        self.max_returns[worst] = max_return
        self.evictions += 1
        return True

    def state_dict(self) -> dict[str, Any]:
        """The buffer as JSON values and numpy arrays (inverse: :meth:`load_state_dict`)."""
        return {
            "levels": [dict(level) for level in self.levels],
            "scores": self.scores.copy(),
            "last_sampled": self.last_sampled.copy(),
            "max_returns": self.max_returns.copy(),
            "evictions": self.evictions,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (levels are validated against the space)."""
        levels = [dict(level) for level in state["levels"]]
        if len(levels) > self.capacity:
            raise ValueError(f"saved buffer holds {len(levels)} levels, capacity is {self.capacity}")
        for level in levels:
            self.space.validate(level)
        self.levels = levels
        self._scores = np.asarray(state["scores"], dtype=np.float64).reshape(-1).copy()
        self._ranks.rebuild(self._scores)
        self.last_sampled = np.asarray(state["last_sampled"], dtype=np.int64).reshape(-1)
        self.max_returns = np.asarray(state["max_returns"], dtype=np.float64).reshape(-1)
        if not len(self.scores) == len(self.last_sampled) == len(self.max_returns) == len(levels):
            raise ValueError("saved buffer arrays and levels differ in length")
        self._slots = {self.space.key(level): i for i, level in enumerate(levels)}
        self.evictions = int(state["evictions"])


class LevelReplayTeacher(Teacher):
    """Shared sampling of the level-replay teachers: replay from the buffer, queued levels, or new levels.

    Subclasses decide how levels are scored and call :meth:`_offer`.

    :param space: a :class:`~curricula.spaces.LevelSpace`
    :param seed: RNG seed
    :param buffer_size: capacity of the level buffer
    :param temperature: rank temperature β of the score distribution
    :param staleness_coef: weight ρ of the staleness distribution
    :param replay_prob: probability that an episode replays a buffer level (once the buffer is filled enough)
    :param min_fill: fraction of ``buffer_size`` that must be scored before any replay
    :param robust: PLR⊥: steps on non-replayed levels are excluded from the student's update (see
        :meth:`train_mask`; needs :class:`agents.robust_ppo.RobustPPO`)
    :param replay_balance: what ``replay_prob`` is a share of. ``"episodes"``: each episode replays with
        probability ``replay_prob``. ``"steps"``: an episode replays when replayed levels have had less than
        ``replay_prob`` of the env steps played since replay became possible, so that, as in the papers' per-rollout
        decision, ``replay_prob`` of the student's steps are replays even when replayed episodes are shorter than
        new ones (under PLR⊥ those are the steps it learns from)
    """

    supported_spaces: ClassVar[tuple[type[TaskSpace], ...]] = (LevelSpace,)
    presets: ClassVar[dict[str, dict[str, Any]]] = PRESETS
    space: LevelSpace

    def __init__(
        self,
        space: TaskSpace,
        seed: int = 0,
        buffer_size: int = 4000,
        temperature: float = 0.3,
        staleness_coef: float = 0.3,
        replay_prob: float = 0.5,
        min_fill: float = 0.5,
        robust: bool = False,
        replay_balance: str = "episodes",
        rank_ties: str = "ordinal",
        eviction: str = "replay_weight",
    ) -> None:
        super().__init__(space, seed)
        if rank_ties not in RANK_TIES:
            raise ValueError(f"rank_ties must be one of {RANK_TIES}, got {rank_ties!r}")
        if eviction not in EVICTIONS:
            raise ValueError(f"eviction must be one of {EVICTIONS}, got {eviction!r}")
        if replay_balance not in REPLAY_BALANCES:
            raise ValueError(f"replay_balance must be one of {REPLAY_BALANCES}, got {replay_balance!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        for name, value in (("staleness_coef", staleness_coef), ("replay_prob", replay_prob), ("min_fill", min_fill)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.buffer = LevelBuffer(self.space, buffer_size)
        self.temperature = float(temperature)
        self.staleness_coef = float(staleness_coef)
        self.replay_prob = float(replay_prob)
        self.min_fill = float(min_fill)
        self.robust = bool(robust)
        self.replay_balance = replay_balance
        self.rank_ties = rank_ties
        self.eviction = eviction
        #: env steps heard back since replay became possible: [on replayed levels, on all levels]
        self.balance_steps = [0, 0]
        #: levels to play before any replay-or-new draw (ACCEL's children), with their annotations
        self._queued: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.counts = {SOURCE_NEW: 0, SOURCE_REPLAY: 0, SOURCE_MUTANT: 0}
        self._train_mask: np.ndarray | None = None

    # -- sampling ---------------------------------------------------------------------------------------------
    def replay_ready(self) -> bool:
        """Whether enough levels are scored for replay (``min_fill`` of the buffer, and at least one)."""
        return len(self.buffer) >= self.replay_threshold()

    def replay_probabilities(self) -> np.ndarray:
        """The current replay distribution over the buffer's slots."""
        return replay_distribution(
            self.buffer.scores,
            self.buffer.last_sampled,
            self.tasks_sampled,
            self.temperature,
            self.staleness_coef,
            self.rank_ties,
            ranks=self.buffer.ordinal_ranks() if self.rank_ties == "ordinal" else None,
        )

    def _sample(self) -> Task:
        if self._queued:
            level, annotations = self._queued.pop(0)
        elif self.replay_ready() and self._replay_now():
            slot = int(self.rng.choice(len(self.buffer), p=self.replay_probabilities()))
            self.buffer.last_sampled[slot] = self.tasks_sampled
            level, annotations = dict(self.buffer.levels[slot]), {"source": SOURCE_REPLAY}
        else:
            level, annotations = self.space.generate(self.rng), {"source": SOURCE_NEW}
        self.counts[annotations["source"]] += 1
        return self._new_task(level=level, annotations=annotations)

    def _replay_now(self) -> bool:
        if self.replay_balance == "episodes":
            return bool(self.rng.random() < self.replay_prob)
        replayed, total = self.balance_steps
        return replayed < self.replay_prob * total or (total == 0 and self.replay_prob > 0)

    def _update(self, result: EpisodeResult) -> None:
        if self.replay_ready():
            self.balance_steps[0] += int(result.length) if result.task.annotations.get("source") == SOURCE_REPLAY else 0
            self.balance_steps[1] += int(result.length)

    def eviction_slot(self) -> int | None:
        """The slot a full buffer would give up now (None while it has room)."""
        if len(self.buffer) < self.buffer.capacity:
            return None
        if self.eviction == "score":
            return int(np.argmin(self.buffer.scores))
        if self.rank_ties != "ordinal":
            return int(np.argmin(self.replay_probabilities()))
        # The lowest replay weight (first slot among ties, as dcd's argmin), without normalising the distribution:
        # (1 − ρ)·w/W + ρ·s/S has the argmin of (1 − ρ)·S·w + ρ·W·s (W, S > 0). This runs once per new level a full
        # buffer scores, so it is most of PLR's scoring cost.
        weights = rank_weights(self.buffer.ordinal_ranks(), self.temperature)
        staleness = np.maximum(self.tasks_sampled - self.buffer.last_sampled, 0)
        total_staleness = int(staleness.sum())
        if total_staleness == 0:  # staleness is uniform: the score part decides
            return int(np.argmin(weights))
        mixed = (1.0 - self.staleness_coef) * total_staleness * weights
        mixed += self.staleness_coef * float(weights.sum()) * staleness
        return int(np.argmin(mixed))

    def _offer(self, level: Mapping[str, Any], score: float, max_return: float, key: str | None = None) -> bool:
        """Score ``level`` into the buffer (``key``: its :meth:`~curricula.spaces.LevelSpace.key`, when known)."""
        key = self.space.key(level) if key is None else key
        victim = None if self.buffer.slot(key) is not None else self.eviction_slot()
        return self.buffer.offer(key, level, score, max_return, self.tasks_sampled, victim=victim)

    # -- PLR⊥ -------------------------------------------------------------------------------------------------
    def train_mask(self) -> np.ndarray | None:
        """Which steps of the last rollout the student may learn from, shape (n_steps, n_envs); None = all.

        Robust teachers allow replayed levels only (new and mutated levels are for scoring); others allow all.
        """
        return None if self._train_mask is None else self._train_mask.copy()

    def _set_train_mask(self, signals: RolloutSignals) -> None:
        if not self.robust:
            self._train_mask = None
            return
        replay_ids = {tid for tid, task in signals.tasks.items() if task.annotations.get("source") == SOURCE_REPLAY}
        self._train_mask = np.isin(signals.task_ids, sorted(replay_ids))

    # -- state and logging ------------------------------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        total = max(1, sum(self.counts.values()))
        out.update(
            buffer_levels=float(len(self.buffer)),
            buffer_mean_score=float(self.buffer.scores.mean()) if len(self.buffer) else 0.0,
            buffer_evictions=float(self.buffer.evictions),
            replay_fraction=self.counts[SOURCE_REPLAY] / total,
            mutant_fraction=self.counts[SOURCE_MUTANT] / total,
        )
        if self._train_mask is not None:
            out["trained_step_fraction"] = float(self._train_mask.mean()) if self._train_mask.size else 0.0
        return out

    def replay_threshold(self) -> int:
        """Scored levels needed before the first replay (``min_fill`` of ``buffer_size``, at least one)."""
        return max(1, int(np.ceil(self.min_fill * self.buffer.capacity)))

    def end_of_training_warnings(self) -> list[str]:
        if self.counts[SOURCE_REPLAY] > 0:
            return []
        effect = (
            "the student learned from no step (PLR⊥ trains on replayed levels only)"
            if self.robust
            else "it played new levels only, like domain randomization"
        )
        return [
            f"{self.name} replayed no level in {self.episodes_seen} episodes (replay starts once "
            f"{self.replay_threshold()} levels are scored, min_fill x buffer_size; {len(self.buffer)} were): "
            f"{effect}; train longer or lower buffer_size / min_fill (preset='cpu')"
        ]

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(
            buffer=self.buffer.state_dict(),
            queued=[[dict(level), dict(ann)] for level, ann in self._queued],
            counts=dict(self.counts),
            balance_steps=list(self.balance_steps),
        )
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.buffer.load_state_dict(state["buffer"])
        self._queued = [(dict(level), dict(ann)) for level, ann in state["queued"]]
        self.counts = {k: int(v) for k, v in state["counts"].items()}
        self.balance_steps = [int(v) for v in state["balance_steps"]]
        self._train_mask = None


class _RolloutScoredTeacher(LevelReplayTeacher):
    """Scores levels from GAE at rollout end (PLR, PLR⊥, ACCEL).

    :param score: ``"pvl"`` (positive value loss, default), ``"l1"`` (L1 value loss) or ``"maxmc"``
    :param kwargs: see :class:`LevelReplayTeacher`
    """

    feedback: ClassVar[FeedbackKind] = "rollout"

    def __init__(self, space: TaskSpace, seed: int = 0, score: str = "pvl", **kwargs: Any) -> None:
        super().__init__(space, seed, **kwargs)
        if score not in SCORE_FUNCTIONS:
            raise ValueError(f"score must be one of {SCORE_FUNCTIONS}, got {score!r}")
        self.score = score
        #: raw episode returns heard this rollout, by task id (MaxMC's R_max uses these, never buffer rewards)
        self._returns: dict[int, float] = {}
        #: per task id: [sum of step terms, steps] of an episode still running at the last rollout end
        self._partial: dict[int, list[float]] = {}
        self.episodes_scored = 0

    def _update(self, result: EpisodeResult) -> None:
        super()._update(result)
        self._returns[result.task_id] = float(result.episode_return)

    def _update_rollout(self, signals: RolloutSignals) -> None:
        terms = step_terms(self.score, np.asarray(signals.advantages), np.asarray(signals.values))
        # running sums along time: a segment's sum is a difference of two entries (one numpy call per rollout)
        cumulative = np.concatenate([np.zeros((1, terms.shape[1])), np.cumsum(terms, axis=0)])
        # level key -> [level, term sum, steps, best return this rollout]; insertion order = segment order
        per_level: dict[str, list[Any]] = {}
        replayed: list[tuple[dict[str, Any], str]] = []  # (level, key) of each replay episode, in segment order
        partial: dict[int, list[float]] = {}
        for env, start, stop, task_id, finished in signals.segments():
            task = signals.tasks.get(task_id)
            if task is None or task.level is None:
                continue  # an unassigned episode (no teacher task) scores nothing
            acc = self._partial.pop(task_id, [0.0, 0.0])
            acc[0] += float(cumulative[stop, env] - cumulative[start, env])
            acc[1] += float(stop - start)
            if not finished:
                partial[task_id] = acc
                continue
            key = self.space.key(task.level)
            entry = per_level.setdefault(key, [task.level, 0.0, 0.0, -np.inf])
            entry[1] += acc[0]
            entry[2] += acc[1]
            entry[3] = max(entry[3], self._returns.get(task_id, -np.inf))
            self.episodes_scored += 1
            if task.annotations.get("source") == SOURCE_REPLAY:
                replayed.append((dict(task.level), key))
        self._partial = partial
        # Every result heard this rollout ended in it, so its segment was just scored.
        self._returns = {}
        for key, (level, term_sum, steps, best_return) in per_level.items():
            slot = self.buffer.slot(key)
            known = self.buffer.max_returns[slot] if slot is not None else -np.inf
            max_return = max(known, best_return)
            if not np.isfinite(max_return):
                max_return = 0.0  # no raw return heard for this level: sparse-reward prior
            self._offer(level, finalize_score(self.score, term_sum / steps, max_return), max_return, key)
        self._after_scoring(replayed)
        self._set_train_mask(signals)

    def _after_scoring(self, replayed: list[tuple[dict[str, Any], str]]) -> None:
        """Hook run after each rollout's scores are in the buffer (ACCEL mutates the replayed levels here).

        :param replayed: ``(level, key)`` of every replay episode that ended in the rollout, in segment order
        """

    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        out["episodes_scored"] = float(self.episodes_scored)
        return out

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(
            returns=[[tid, ret] for tid, ret in self._returns.items()],
            partial=[[tid, acc[0], acc[1]] for tid, acc in self._partial.items()],
            episodes_scored=self.episodes_scored,
        )
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self._returns = {int(tid): float(ret) for tid, ret in state["returns"]}
        self._partial = {int(tid): [float(s), float(n)] for tid, s, n in state["partial"]}
        self.episodes_scored = int(state["episodes_scored"])


@register_teacher("plr")
class PLRTeacher(_RolloutScoredTeacher):
    """Prioritized Level Replay: gradients on every level, replay by score rank and staleness.

    Defaults are the papers' (= ``preset="paper"``: buffer 4000, β 0.3, ρ 0.3, p 0.5, half-full before replay);
    ``preset="cpu"`` suits small mazes and short runs. See :class:`LevelReplayTeacher` for the parameters.
    """

    def __init__(self, space: TaskSpace, seed: int = 0, score: str = "pvl", **kwargs: Any) -> None:
        kwargs.setdefault("robust", False)
        super().__init__(space, seed, score=score, **kwargs)


@register_teacher("robust_plr")
class RobustPLRTeacher(_RolloutScoredTeacher):
    """PLR⊥: PLR whose student learns only from replayed levels (train with :class:`agents.robust_ppo.RobustPPO`).

    See :class:`LevelReplayTeacher` for the parameters.
    """

    def __init__(self, space: TaskSpace, seed: int = 0, score: str = "pvl", **kwargs: Any) -> None:
        kwargs.setdefault("robust", True)
        super().__init__(space, seed, score=score, **kwargs)


@register_teacher("accel")
class ACCELTeacher(_RolloutScoredTeacher):
    """ACCEL: PLR⊥ plus one mutated child of every finished replay episode's own level, played next.

    Children are exploratory (no gradient under PLR⊥), scored like new levels and offered to the buffer; their
    annotations name the parent (``parent``: a digest of its key) and the lineage depth (``n_mutations``). On a
    space without mutation operators ACCEL reduces to PLR⊥ (with a warning).

    :param max_queued: cap on children waiting to be played (the oldest are dropped first)
    :param kwargs: see :class:`LevelReplayTeacher`; ``replay_prob`` defaults to 0.8, in the presets too
    """

    presets: ClassVar[dict[str, dict[str, Any]]] = ACCEL_PRESETS

    def __init__(
        self, space: TaskSpace, seed: int = 0, score: str = "pvl", max_queued: int = 256, **kwargs: Any
    ) -> None:
        kwargs.setdefault("robust", True)
        kwargs.setdefault("replay_prob", ACCEL_REPLAY_PROB)
        super().__init__(space, seed, score=score, **kwargs)
        if max_queued < 1:
            raise ValueError(f"max_queued must be >= 1, got {max_queued}")
        self.max_queued = int(max_queued)
        self.can_mutate = type(self.space).mutate is not LevelSpace.mutate
        if not self.can_mutate:
            warnings.warn(f"{type(self.space).__name__} has no mutation operators: ACCEL runs as PLR⊥", stacklevel=2)
        self._depth: dict[str, int] = {}

    def _after_scoring(self, replayed: list[tuple[dict[str, Any], str]]) -> None:
        if not self.can_mutate:
            return
        # The parent of each child is the level its own replay episode played (dcd#11 mutated one env's level only).
        for parent, parent_key in replayed:
            child = self.space.mutate(parent, self.rng)
            depth = self._lineage_depth(parent_key) + 1
            self._queued.append(
                (child, {"source": SOURCE_MUTANT, "parent": level_digest(parent_key), "n_mutations": depth})
            )
            self._depth[self.space.key(child)] = depth
        del self._queued[: max(0, len(self._queued) - self.max_queued)]
        # Lineage is kept for levels still in the buffer or queued; the rest is forgotten, in batches: keying every
        # queued level after every rollout was a third of ACCEL's rollout-end time at a full buffer.
        if len(self._depth) > 2 * (self.buffer.capacity + self.max_queued):
            alive = self.buffer.keys() | {self.space.key(q) for q, _ in self._queued}
            self._depth = {k: d for k, d in self._depth.items() if k in alive}

    def _lineage_depth(self, key: str) -> int:
        return self._depth.get(key, 0)

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state["depth"] = dict(self._depth)
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self._depth = {str(k): int(v) for k, v in state["depth"].items()}
