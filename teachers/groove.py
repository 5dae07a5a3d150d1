"""GROOVE's algorithmic regret as a level-replay score (Jackson et al., NeurIPS 2023), for SB3 students.

``AR(level) = R_ref(level) − R_student(level)``: ``R_ref`` is the mean return of a reference agent (A2C, as in GROOVE)
trained from scratch on the level for a fixed budget; ``R_student`` is an exponential moving average of the
student's raw episode returns on it. Levels live in the same bounded, rank + staleness replay buffer as PLR
(:class:`teachers.plr.LevelReplayTeacher`); GROOVE needs no GAE signals, so it listens to episodes only and works
with any student algorithm.

**Caching and cost.** ``R_ref`` does not depend on the student, so it is computed once per level and cached. Reference
jobs run off the learner's critical path (a :class:`curricula.reference.ReferenceRunner`, looked up by the name
``reference_algo`` at the first job; ``import agents`` registers SB3's learners, run in a spawned worker by default),
at a fixed rate: one job per ``reference_interval`` student env steps, for the buffer level with the highest score
that has no reference yet. The reference agent therefore spends about
``(reference_budget + evaluation steps) / reference_interval`` of the student's env steps (measured:
``scalars()["reference_step_fraction"]``).

**Fallback.** Until a level's reference return is known, ``R_ref`` is estimated by the mean of the reference returns
known so far (0 before the first), so the score is on the same scale as AR and ranks unknown levels by how badly the
student does on them.

**Determinism.** A job submitted after the student's ``s``-th env step is collected after its
``s + reference_lag``-th, blocking if the worker is late (the stall is measured). Which levels get references and
when their values land depend on the feedback only, never on timing, so the same seed and feedback give the same
samples, and a restored checkpoint resubmits its pending jobs and gets the same values.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
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


@register_teacher("groove")
class GrooveTeacher(LevelReplayTeacher):
    """Level replay scored by algorithmic regret against a from-scratch reference learner.

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
        if reference_interval < 1:
            raise ValueError(f"reference_interval must be >= 1, got {reference_interval}")
        if reference_lag is not None and reference_lag < 0:
            raise ValueError(f"reference_lag must be >= 0, got {reference_lag}")
        if not 0.0 < return_smoothing <= 1.0:
            raise ValueError(f"return_smoothing must be in (0, 1], got {return_smoothing}")
        self.env_id = env_id if env_id is not None else getattr(self.space, "env_id", None)
        self.reference_interval = int(reference_interval)
        self.reference_lag = int(reference_interval if reference_lag is None else reference_lag)
        self.return_smoothing = float(return_smoothing)
        #: what the reference learner does; None without an env (then every score is the fallback)
        self.reference_spec: ReferenceSpec | None = None
        if self.env_id is not None:
            self.reference_spec = ReferenceSpec(
                env_id=self.env_id,
                algo=reference_algo,
                budget=int(reference_budget),
                eval_episodes=int(reference_eval_episodes),
                seed=int(reference_seed),
                mode=reference_mode,
            )
        # Built at the first job, not here: building or restoring the teacher must not need the agents package.
        self._runner: ReferenceRunner | None = None
        self.student_steps = 0
        self._next_submit = self.reference_interval
        self._student_return: dict[str, float] = {}
        self._reference: dict[str, float] = {}
        #: submitted jobs in submission order: [level key, level, student step at which it is collected]
        self._pending: list[list[Any]] = []
        self._futures: dict[str, cf.Future[dict[str, float]]] = {}
        self.reference_env_steps = 0.0
        self.reference_seconds = 0.0
        self.stall_seconds = 0.0

    # -- scoring ----------------------------------------------------------------------------------------------
    def reference_estimate(self, key: str) -> float:
        """``R_ref`` of a level: its cached reference return, else the fallback (mean of the known ones, or 0)."""
        if key in self._reference:
            return self._reference[key]
        return float(np.mean(list(self._reference.values()))) if self._reference else 0.0

    def regret(self, key: str) -> float:
        """The level's current algorithmic regret (or its fallback estimate)."""
        return self.reference_estimate(key) - self._student_return[key]

    def _update(self, result: EpisodeResult) -> None:
        super()._update(result)
        level = result.task.level
        if level is None:
            return
        self.student_steps += int(result.length)
        key = self.space.key(level)
        previous = self._student_return.get(key)
        ret = float(result.episode_return)
        self._student_return[key] = (
            ret if previous is None else (1 - self.return_smoothing) * previous + self.return_smoothing * ret
        )
        if not self._offer(level, self.regret(key), ret):
            del self._student_return[key]
        if len(self._student_return) > 2 * self.buffer.capacity:
            alive = self.buffer.keys()
            self._student_return = {k: v for k, v in self._student_return.items() if k in alive}
        self._submit_due_jobs()
        self._collect_due_jobs()

    # -- reference jobs ---------------------------------------------------------------------------------------
    def _submit_due_jobs(self) -> None:
        while self.student_steps >= self._next_submit:
            self._next_submit += self.reference_interval
            if self.reference_spec is None:
                continue
            busy = {job[0] for job in self._pending}
            candidates = [
                (-float(self.buffer.scores[slot]), slot)
                for key in self.buffer.keys() - busy - self._reference.keys()
                if (slot := self.buffer.slot(key)) is not None
            ]
            if not candidates:
                continue
            _, slot = min(candidates)
            level = self.buffer.levels[slot]
            key = self.space.key(level)
            self._pending.append([key, dict(level), self.student_steps + self.reference_lag])
            self._futures[key] = self._reference_runner().submit(level, key)

    def _collect_due_jobs(self) -> None:
        while self._pending and self._pending[0][2] <= self.student_steps:
            key, level, _ = self._pending.pop(0)
            self._reference[key] = self._wait(key, level)["return"]
            slot = self.buffer.slot(key)
            if slot is not None and key in self._student_return:
                self.buffer.scores[slot] = self.regret(key)

    def _reference_runner(self) -> ReferenceRunner:
        assert self.reference_spec is not None
        if self._runner is None:
            self._runner = make_reference_runner(self.reference_spec)
        return self._runner

    def _wait(self, key: str, level: dict[str, Any]) -> dict[str, float]:
        future = self._futures.pop(key, None)
        if future is None:  # restored from a checkpoint, or closed: the job is recomputed (deterministically)
            future = self._reference_runner().submit(level, key)
        start = time.perf_counter()
        result = future.result()
        self.stall_seconds += time.perf_counter() - start
        self.reference_env_steps += result["env_steps"]
        self.reference_seconds += result["seconds"]
        return result

    def close(self) -> None:
        """Stop the reference workers. Idempotent; used again, the teacher starts them anew and recomputes the
        pending jobs (deterministically, so the samples are those it would have given without the close)."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        self._futures.clear()

    # -- state and logging ------------------------------------------------------------------------------------
    def scalars(self) -> dict[str, float]:
        out = super().scalars()
        total = self.student_steps + self.reference_env_steps
        out.update(
            reference_levels=float(len(self._reference)),
            reference_pending=float(len(self._pending)),
            reference_env_steps=float(self.reference_env_steps),
            reference_step_fraction=float(self.reference_env_steps / total) if total else 0.0,
            reference_seconds=float(self.reference_seconds),
            reference_stall_seconds=float(self.stall_seconds),
            mean_reference_return=float(np.mean(list(self._reference.values()))) if self._reference else 0.0,
        )
        return out

    def _state(self) -> dict[str, Any]:
        state = super()._state()
        state.update(
            student_steps=self.student_steps,
            next_submit=self._next_submit,
            student_return=dict(self._student_return),
            reference=dict(self._reference),
            pending=[[key, dict(level), int(due)] for key, level, due in self._pending],
            reference_env_steps=self.reference_env_steps,
            reference_seconds=self.reference_seconds,
        )
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self.student_steps = int(state["student_steps"])
        self._next_submit = int(state["next_submit"])
        self._student_return = {str(k): float(v) for k, v in state["student_return"].items()}
        self._reference = {str(k): float(v) for k, v in state["reference"].items()}
        self._pending = [[str(key), dict(level), int(due)] for key, level, due in state["pending"]]
        self._futures.clear()
        self.reference_env_steps = float(state["reference_env_steps"])
        self.reference_seconds = float(state["reference_seconds"])
