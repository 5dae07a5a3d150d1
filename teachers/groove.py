"""GROOVE's algorithmic regret (Jackson et al., NeurIPS 2023) as a level score for SB3 students.

GROOVE meta-learns an RL update rule (LPG) on a curriculum of levels curated by *algorithmic regret*:
``AR(level) = R_ref(level) − R_student(level)``, where ``R_ref`` is the return a hand-designed learner (A2C) reaches
when trained from scratch on the level. Curricula implements the curation, with a fixed SB3 student in place of the
learned update rule. ``R_ref`` is the mean return of a reference agent trained from scratch on the level for a fixed
budget; ``R_student`` is the student's raw episode return on it (a moving average when it is replayed).

Two teachers share the reference side (:class:`ReferenceSchedule`):

* ``groove`` (this module): the PLR mechanism of :class:`teachers.plr.LevelReplayTeacher` (bounded buffer, rank +
  staleness replay, new levels from the generator) with AR as the score;
* ``groove_curation`` (:mod:`teachers.groove_curation`): GROOVE's own level sampler (pre-filled buffer, lowest-regret
  levels reset to fresh ones at each update, greedy top-k replay, no staleness).

**Caching and cost.** ``R_ref`` does not depend on the student, so it is computed once per level and cached. Reference
jobs run off the learner's critical path (a :class:`curricula.reference.ReferenceRunner`, looked up by the name
``reference_algo`` at the first job; ``import agents`` registers SB3's learners, run in a spawned worker by default),
at a fixed rate: one job per ``reference_interval`` student env steps, for the buffer level that entered the buffer
earliest among those without a reference. The choice never looks at scores: choosing the highest-scoring level
would give references to the hardest (often unsolvable) levels first and pull the fallback toward them. The
reference agent spends about ``(reference_budget + evaluation steps) / reference_interval`` of the student's env
steps (measured: ``scalars()["reference_step_fraction"]``).

**Fallback, one baseline.** Until a level's reference return is known, ``R_ref`` is estimated by the mean of the
reference returns known so far (0 before the first). When a reference lands the mean moves, so every buffer level is
rescored against the new baseline: levels are always ranked, replayed and evicted on the same one.

**Memory.** The student's return memory of a level lives exactly as long as the level is in the buffer: a level
that is evicted and generated again later starts afresh.

**Determinism.** A job submitted after the student's ``s``-th env step is collected after its
``s + reference_lag``-th, blocking if the worker is late (the stall is measured). Which levels get references and
when their values land depend on the feedback only, never on timing, so the same seed and feedback give the same
samples, and a restored checkpoint resubmits its pending jobs and gets the same values.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from curricula.reference import ReferenceRunner, ReferenceSpec, make_reference_runner
from curricula.spaces import TaskSpace
from curricula.task import EpisodeResult
from curricula.teacher import register_teacher
from teachers.plr import PRESETS, LevelReplayTeacher

#: the level-replay presets, with a reference job every 4096 steps of a 2048-step budget in the CPU one
GROOVE_PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(PRESETS["paper"]),
    "cpu": {**PRESETS["cpu"], "reference_budget": 2048, "reference_interval": 4096},
}

#: chooses the next level to get a reference: given the keys to skip (known or pending), a (key, level) or None
ReferenceChooser = Callable[[set[str]], "tuple[str, Mapping[str, Any]] | None"]


class ReferenceSchedule:
    """The reference side of algorithmic regret: cached reference returns by level key, one job per
    ``interval`` student env steps, each collected ``lag`` steps after its submission.

    :param spec: what the reference learner does; None: no reference ever runs (every estimate is the fallback)
    :param interval: student env steps between reference jobs
    :param lag: student env steps after submission at which a job's result is collected
    """

    def __init__(self, spec: ReferenceSpec | None, interval: int, lag: int) -> None:
        if interval < 1:
            raise ValueError(f"reference_interval must be >= 1, got {interval}")
        if lag < 0:
            raise ValueError(f"reference_lag must be >= 0, got {lag}")
        self.spec = spec
        self.interval = int(interval)
        self.lag = int(lag)
        # Built at the first job, not here: building or restoring a teacher must not need the agents package.
        self._runner: ReferenceRunner | None = None
        self.student_steps = 0
        self.next_submit = self.interval
        #: cached reference return per level key
        self.returns: dict[str, float] = {}
        self._returns_sum = 0.0
        #: submitted jobs in submission order: [level key, level, student step at which it is collected]
        self.pending: list[list[Any]] = []
        self._futures: dict[str, cf.Future[dict[str, float]]] = {}
        self.env_steps = 0.0
        self.seconds = 0.0
        self.stall_seconds = 0.0

    def fallback(self) -> float:
        """``R_ref`` of a level without a reference: the mean of the known ones (0 before the first)."""
        return self._returns_sum / len(self.returns) if self.returns else 0.0

    def estimate(self, key: str) -> float:
        """``R_ref`` of a level: its cached reference return, else the fallback."""
        value = self.returns.get(key)
        return self.fallback() if value is None else value

    def advance(self, steps: int, choose: ReferenceChooser) -> list[str]:
        """Count ``steps`` student env steps, submit the jobs now due, collect those due; the keys that landed.

        :param steps: env steps of the episode just heard
        :param choose: picks the level of each due job (None: nothing to submit this time)
        """
        self.student_steps += int(steps)
        while self.student_steps >= self.next_submit:
            self.next_submit += self.interval
            if self.spec is None:
                continue
            choice = choose(self.returns.keys() | {job[0] for job in self.pending})
            if choice is None:
                continue
            key, level = choice
            self.pending.append([key, dict(level), self.student_steps + self.lag])
            self._futures[key] = self._reference_runner().submit(level, key)
        landed = []
        while self.pending and self.pending[0][2] <= self.student_steps:
            key, level, _ = self.pending.pop(0)
            self._set(key, self._wait(key, level)["return"])
            landed.append(key)
        return landed

    def _set(self, key: str, value: float) -> None:
        self._returns_sum += value - self.returns.get(key, 0.0)
        self.returns[key] = float(value)

    def _reference_runner(self) -> ReferenceRunner:
        assert self.spec is not None
        if self._runner is None:
            self._runner = make_reference_runner(self.spec)
        return self._runner

    def _wait(self, key: str, level: dict[str, Any]) -> dict[str, float]:
        future = self._futures.pop(key, None)
        if future is None:  # restored from a checkpoint, or closed: the job is recomputed (deterministically)
            future = self._reference_runner().submit(level, key)
        start = time.perf_counter()
        result = future.result()
        self.stall_seconds += time.perf_counter() - start
        self.env_steps += result["env_steps"]
        self.seconds += result["seconds"]
        return result

    def close(self) -> None:
        """Stop the reference workers (idempotent); pending jobs are recomputed by the next runner."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        self._futures.clear()

    def scalars(self) -> dict[str, float]:
        total = self.student_steps + self.env_steps
        return dict(
            reference_levels=float(len(self.returns)),
            reference_pending=float(len(self.pending)),
            reference_env_steps=float(self.env_steps),
            reference_step_fraction=float(self.env_steps / total) if total else 0.0,
            reference_seconds=float(self.seconds),
            reference_stall_seconds=float(self.stall_seconds),
            mean_reference_return=self.fallback(),
        )

    def state_dict(self) -> dict[str, Any]:
        return dict(
            student_steps=self.student_steps,
            next_submit=self.next_submit,
            reference=dict(self.returns),
            pending=[[key, dict(level), int(due)] for key, level, due in self.pending],
            reference_env_steps=self.env_steps,
            reference_seconds=self.seconds,
        )

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.student_steps = int(state["student_steps"])
        self.next_submit = int(state["next_submit"])
        self.returns = {}
        self._returns_sum = 0.0
        for key, value in state["reference"].items():
            self._set(str(key), float(value))
        self.pending = [[str(key), dict(level), int(due)] for key, level, due in state["pending"]]
        self._futures.clear()
        self.env_steps = float(state["reference_env_steps"])
        self.seconds = float(state["reference_seconds"])


def reference_schedule_for(
    space: TaskSpace,
    env_id: str | None,
    reference_algo: str,
    reference_budget: int,
    reference_eval_episodes: int,
    reference_seed: int,
    reference_mode: str,
    reference_interval: int,
    reference_lag: int | None,
) -> ReferenceSchedule:
    """The reference schedule of both GROOVE teachers, from their ``reference_*`` options (without an env id the
    schedule has no learner, and every score is the fallback)."""
    env_id = env_id if env_id is not None else getattr(space, "env_id", None)
    spec = None
    if env_id is not None:
        spec = ReferenceSpec(
            env_id=env_id,
            algo=reference_algo,
            budget=int(reference_budget),
            eval_episodes=int(reference_eval_episodes),
            seed=int(reference_seed),
            mode=reference_mode,
        )
    return ReferenceSchedule(spec, reference_interval, reference_interval if reference_lag is None else reference_lag)


@register_teacher("groove")
class GrooveTeacher(LevelReplayTeacher):
    """Level replay (PLR's buffer and replay distribution) scored by algorithmic regret against a from-scratch
    reference learner. GROOVE's own curation is the ``groove_curation`` teacher.

    :param space: a :class:`~curricula.spaces.LevelSpace`
    :param seed: RNG seed
    :param env_id: env that plays the levels, for the reference agent; default: the space's ``env_id`` attribute.
        Without one, no reference runs and every score is the fallback.
    :param reference_algo: the reference learner, a name registered in :mod:`curricula.reference` (``import agents``
        registers the :func:`agents.make_student` algorithms); looked up at the first reference job
    :param reference_budget: env steps of reference training per level
    :param reference_interval: student env steps between reference jobs (sets the reference's share of steps)
    :param reference_lag: student env steps after submission at which a job's result is collected (default:
        ``reference_interval``)
    :param reference_eval_episodes: episodes averaged into a reference return
    :param reference_mode: ``"process"`` (spawned worker), ``"thread"`` or ``"inline"``
    :param reference_seed: base seed of the reference agents
    :param return_smoothing: weight of the newest episode in the student's moving-average return per level
    :param kwargs: buffer and replay options of :class:`~teachers.plr.LevelReplayTeacher`
    """

    presets: ClassVar[dict[str, dict[str, Any]]] = GROOVE_PRESETS

    def __init__(
        self,
        space: TaskSpace,
        seed: int = 0,
        env_id: str | None = None,
        reference_algo: str = "a2c",
        reference_budget: int = 4096,
        reference_interval: int = 16384,
        reference_lag: int | None = None,
        reference_eval_episodes: int = 8,
        reference_mode: str = "process",
        reference_seed: int = 0,
        return_smoothing: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(space, seed, **kwargs)
        if not 0.0 < return_smoothing <= 1.0:
            raise ValueError(f"return_smoothing must be in (0, 1], got {return_smoothing}")
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
        self.return_smoothing = float(return_smoothing)
        #: the student's moving-average return per level key, for the levels in the buffer only
        self._student_return: dict[str, float] = {}
        #: when each buffer level entered the buffer (episodes heard), to give references oldest first
        self._entered: dict[str, int] = {}

    @property
    def env_id(self) -> str | None:
        return None if self.schedule.spec is None else self.schedule.spec.env_id

    @property
    def reference_spec(self) -> ReferenceSpec | None:
        return self.schedule.spec

    @property
    def reference_interval(self) -> int:
        return self.schedule.interval

    # -- scoring ----------------------------------------------------------------------------------------------
    def reference_estimate(self, key: str) -> float:
        """``R_ref`` of a level: its cached reference return, else the fallback (mean of the known ones, or 0)."""
        return self.schedule.estimate(key)

    def regret(self, key: str) -> float:
        """The level's current algorithmic regret (or its fallback estimate)."""
        return self.reference_estimate(key) - self._student_return[key]

    def _update(self, result: EpisodeResult) -> None:
        super()._update(result)
        level = result.task.level
        if level is None:
            return
        key = self.space.key(level)
        previous = self._student_return.get(key)
        ret = float(result.episode_return)
        self._student_return[key] = (
            ret if previous is None else (1 - self.return_smoothing) * previous + self.return_smoothing * ret
        )
        in_buffer = self._offer(level, self.regret(key), ret, key)
        evicted = self.buffer.last_evicted
        if evicted is not None:  # a level that comes back later starts a fresh memory
            self._student_return.pop(evicted, None)
            self._entered.pop(evicted, None)
        if not in_buffer:
            del self._student_return[key]
        elif key not in self._entered:
            self._entered[key] = self.episodes_seen
        if self.schedule.advance(result.length, self._oldest_without_reference):
            self.rescore()

    def rescore(self) -> None:
        """Score every buffer level against the current reference estimates (the fallback has moved)."""
        self.buffer.set_scores(np.array([self.regret(self.space.key(level)) for level in self.buffer.levels]))

    def _oldest_without_reference(self, skip: set[str]) -> tuple[str, Mapping[str, Any]] | None:
        candidates = [(entered, key) for key, entered in self._entered.items() if key not in skip]
        if not candidates:
            return None
        _, key = min(candidates)
        slot = self.buffer.slot(key)
        assert slot is not None
        return key, self.buffer.levels[slot]

    def close(self) -> None:
        """Stop the reference workers. Idempotent; used again, the teacher starts them anew and recomputes the
        pending jobs (deterministically, so the samples are those it would have given without the close)."""
        self.schedule.close()

    # -- state and logging ------------------------------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        out.update(self.schedule.scalars())
        return out

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(
            schedule=self.schedule.state_dict(),
            student_return=dict(self._student_return),
            entered=dict(self._entered),
        )
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.schedule.load_state_dict(state["schedule"])
        self._student_return = {str(k): float(v) for k, v in state["student_return"].items()}
        self._entered = {str(k): int(v) for k, v in state["entered"].items()}
