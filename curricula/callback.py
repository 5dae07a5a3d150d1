"""The SB3 callback that carries tasks to the env workers and results back to the teacher."""

from __future__ import annotations

import json
import time
import warnings
from collections import deque
from pathlib import Path
from typing import IO, Any

import numpy as np
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from curricula.reward_teacher import RewardTeacher
from curricula.task import EpisodeResult, RolloutSignals, Task
from curricula.teacher import Teacher
from curricula.wrappers import NO_TASK_ID, as_task


class CurriculumSyncError(RuntimeError):
    """An episode result did not match the task the teacher sent to that env (a plumbing bug)."""


class CurriculumWarning(UserWarning):
    """Something about the curriculum a user should know (e.g. a teacher whose model never fitted)."""


class CurriculumCallback(BaseCallback):
    """Connects a learner-side :class:`~curricula.teacher.Teacher` to :class:`~curricula.wrappers.TaskEnv` workers.

    * At training start every env gets ``lookahead`` pending tasks; envs whose current episode has no task
      (SB3's first reset happens before callbacks run) are reset once more so that every episode is a
      teacher's task.
    * After every step, the results of the episodes that just ended reach the teacher (in env order), and only
      then are the replacement tasks sampled and pushed, one ``env_method`` call per finished env.
    * At rollout end, ``feedback == "rollout"`` teachers receive :class:`~curricula.task.RolloutSignals` built
      from the rollout buffer and the task each env-step was played on.
    * Teacher scalars go to SB3's logger as ``teacher/<name>`` at each rollout end, with the callback's own cost
      (``curriculum/callback_share``: the share of rollout wall time spent in this callback).
    * At training end, the teacher's :meth:`~curricula.teacher.Teacher.end_of_training_warnings` are issued once
      each (as :class:`CurriculumWarning`) and the teacher is closed (it restarts what it needs if ``learn`` is
      called again).

    The callback checks the accounting: each env must finish its tasks in the order they were pushed; a
    mismatch raises :class:`CurriculumSyncError`.

    :param teacher: the task teacher (lives in this, the learner, process)
    :param lookahead: tasks kept pending per env beyond the one being played (>= 1: an auto-reset happens
        inside ``VecEnv.step``, before the callback sees the finished episode)
    :param keep_results: keep every episode result the teacher heard in :attr:`results` (for plots and
        analysis; off by default because it grows with the run)
    :param verbose: SB3 verbosity
    :param reward_teachers: reward teachers composed with the task teacher: each sampled task passes through their
        :meth:`~curricula.reward_teacher.RewardTeacher.annotate` before it is pushed, and each result reaches them
        after the task teacher (see :mod:`curricula.reward_teacher`; their env and VecEnv wrappers are installed
        where the envs are built)
    :param results_log: a JSONL file that gets one line per episode result, as the teacher hears it (``timesteps``,
        ``task``, ``return``, ``length``, ``success``, ``env``): what ``curricula plot`` draws the curriculum from
    """

    def __init__(
        self,
        teacher: Teacher,
        lookahead: int = 1,
        keep_results: bool = False,
        verbose: int = 0,
        reward_teachers: list[RewardTeacher] | tuple[RewardTeacher, ...] = (),
        results_log: str | Path | None = None,
    ) -> None:
        super().__init__(verbose)
        names = [t.name for t in reward_teachers]
        if len(set(names)) != len(names):
            raise ValueError(f"reward teachers must have distinct names, got {names}")
        self.reward_teachers = list(reward_teachers)
        if lookahead < 1:
            raise ValueError(f"lookahead must be >= 1 (auto-resets happen before the callback runs), got {lookahead}")
        self.teacher = teacher
        self.lookahead = lookahead
        #: per env: tasks pushed and not yet reported, oldest (the one being played) first
        self.in_flight: list[deque[Task]] = []
        self.episodes_reported = 0
        self.keep_results = keep_results
        #: every result the teacher heard, oldest first (only with ``keep_results``)
        self.results: list[EpisodeResult] = []
        self._rollout_task_ids: list[np.ndarray] = []
        self._rollout_tasks: dict[int, Task] = {}
        self._resume_tasks: list[list[Task]] | None = None
        #: wall seconds spent in this callback's per-step work (results in, tasks out) and rollout-end work
        self.callback_seconds = 0.0
        #: wall seconds of rollout-end work alone (rollout signals and the teacher's scoring)
        self.scoring_seconds = 0.0
        #: wall seconds of rollout collection (from rollout start to rollout end, the callback included)
        self.rollout_seconds = 0.0
        #: the same two spans in CPU seconds of this process (``time.process_time``): unlike wall time, not
        #: stretched by other jobs on a shared machine
        self.scoring_cpu_seconds = 0.0
        self.rollout_cpu_seconds = 0.0
        #: rollouts collected
        self.rollouts = 0
        self._rollout_started_at = 0.0
        self._rollout_started_cpu = 0.0
        self._warned: set[str] = set()
        self.results_log = Path(results_log) if results_log is not None else None
        self._results_file: IO[str] | None = None

    # -- state for checkpoints --------------------------------------------------------------------------------
    def in_flight_json(self) -> list[list[dict[str, Any]]]:
        """The tasks sent to each env and not yet reported (the current one first)."""
        return [[t.to_json() for t in queue] for queue in self.in_flight]

    def resume_with(self, in_flight: list[list[dict[str, Any]]]) -> None:
        """Replay these in-flight tasks (from a checkpoint) before sampling anything new."""
        self._resume_tasks = [[as_task(t) for t in queue] for queue in in_flight]

    # -- SB3 hooks --------------------------------------------------------------------------------------------
    def _on_training_start(self) -> None:
        env = self.training_env
        n_envs = env.num_envs
        for i in range(n_envs):
            env.env_method("set_env_index", i, indices=[i])
        if self._resume_tasks is not None:
            self._start_from_checkpoint(env)
        else:
            self._start_from_env_state(env)
        self._top_up(range(n_envs))

    def _start_from_env_state(self, env: VecEnv) -> None:
        # The envs are the source of truth: a second learn() call continues their episodes.
        states = env.env_method("in_flight")
        self.in_flight = [deque() for _ in range(env.num_envs)]
        unassigned = []
        for i, (current, pending) in enumerate(states):
            if current is None:
                unassigned.append(i)
                self.in_flight[i].extend(pending)
            else:
                self.in_flight[i].extend([current, *pending])
        if unassigned:
            self._push({i: [self._next_task()] for i in unassigned if not self.in_flight[i]})
            self._reset_all(env)

    def _start_from_checkpoint(self, env: VecEnv) -> None:
        assert self._resume_tasks is not None
        if len(self._resume_tasks) != env.num_envs:
            raise ValueError(
                f"checkpoint has tasks for {len(self._resume_tasks)} envs, training env has {env.num_envs}"
            )
        self.in_flight = [deque() for _ in range(env.num_envs)]
        env.env_method("clear_pending")
        self._push({i: tasks or [self._next_task()] for i, tasks in enumerate(self._resume_tasks)})
        self._resume_tasks = None
        self._reset_all(env)

    def _reset_all(self, env: VecEnv) -> None:
        # Same bookkeeping as SB3's _setup_learn after its own reset.
        model: Any = self.model
        model._last_obs = env.reset()
        model._last_episode_starts = np.ones((env.num_envs,), dtype=bool)
        if getattr(model, "_vec_normalize_env", None) is not None:
            model._last_original_obs = model._vec_normalize_env.get_original_obs()

    def _push(self, assignments: dict[int, list[Task]]) -> None:
        """Send each env its tasks with one ``env_method`` call for all of them: SubprocVecEnv sends to every
        worker before waiting for any reply, so envs that finish on the same step cost one round trip."""
        assignments = {i: tasks for i, tasks in assignments.items() if tasks}
        if not assignments:
            return
        self.training_env.env_method("push_tasks", assignments, indices=list(assignments))
        for i, tasks in assignments.items():
            self.in_flight[i].extend(tasks)

    def _top_up(self, env_indices: Any) -> None:
        self._push(
            {i: [self._next_task() for _ in range(self.lookahead + 1 - len(self.in_flight[i]))] for i in env_indices}
        )

    def _next_task(self) -> Task:
        """The task teacher's next task, annotated by each reward teacher in order."""
        task = self.teacher.sample()
        for reward_teacher in self.reward_teachers:
            task = reward_teacher.annotate(task)
        return task

    def _on_rollout_start(self) -> None:
        self._rollout_started_at = time.perf_counter()
        self._rollout_started_cpu = time.process_time()
        self._rollout_task_ids = []
        self._rollout_tasks = {}

    def _on_step(self) -> bool:
        started_at = time.perf_counter()
        infos: list[dict[str, Any]] = self.locals["infos"]
        if self.teacher.feedback == "rollout":
            ids = np.array([info.get("task_id", NO_TASK_ID) for info in infos], dtype=np.int64)
            self._rollout_task_ids.append(ids)
            for i, task_id in enumerate(ids):
                if task_id != NO_TASK_ID and task_id not in self._rollout_tasks:
                    self._rollout_tasks[int(task_id)] = self.in_flight[i][0]
        finished = []
        for i, info in enumerate(infos):
            result = info.get("episode_result")
            if result is None:
                continue
            self._check_and_pop(i, result)
            self.teacher.update(result)
            for reward_teacher in self.reward_teachers:
                reward_teacher.update(result)
            self.episodes_reported += 1
            if self.keep_results:
                self.results.append(result)
            if self.results_log is not None:
                self._log_result(result)
            finished.append(i)
        # Feedback of this step is ingested above, before any replacement task is sampled.
        self._top_up(finished)
        self.callback_seconds += time.perf_counter() - started_at
        return True

    def _check_and_pop(self, env_index: int, result: EpisodeResult) -> None:
        queue = self.in_flight[env_index]
        if not queue:
            raise CurriculumSyncError(f"env {env_index} reported task {result.task_id} but had no task in flight")
        expected = queue.popleft()
        if expected.id != result.task_id:
            raise CurriculumSyncError(
                f"env {env_index} reported task {result.task_id}, expected task {expected.id} (pushed first)"
            )

    def _on_rollout_end(self) -> None:
        started_at, started_cpu = time.perf_counter(), time.process_time()
        self._send_rollout_signals()
        ended_at, ended_cpu = time.perf_counter(), time.process_time()
        self.scoring_cpu_seconds += ended_cpu - started_cpu
        self.rollout_cpu_seconds += ended_cpu - self._rollout_started_cpu
        self.scoring_seconds += ended_at - started_at
        self.callback_seconds += ended_at - started_at
        self.rollout_seconds += ended_at - self._rollout_started_at
        self.rollouts += 1
        for key, value in self.teacher.scalars().items():
            self.logger.record(f"teacher/{key}", value)
        for reward_teacher in self.reward_teachers:
            for key, value in reward_teacher.scalars().items():
                self.logger.record(f"reward/{reward_teacher.name}/{key}", value)
        self.logger.record("curriculum/callback_share", self.callback_share)
        if self._results_file is not None:
            self._results_file.flush()

    def _log_result(self, result: EpisodeResult) -> None:
        if self._results_file is None:
            assert self.results_log is not None
            self.results_log.parent.mkdir(parents=True, exist_ok=True)
            self._results_file = open(self.results_log, "a")  # noqa: SIM115 - kept open for the run, closed at its end
        record = {
            "timesteps": int(self.num_timesteps),
            "task": result.task.to_json(),
            "return": result.episode_return,
            "length": result.length,
            "success": result.success,
            "env": result.env_index,
        }
        self._results_file.write(json.dumps(record) + "\n")

    @property
    def callback_share(self) -> float:
        """Share of rollout wall time spent in this callback so far (0 before the first rollout ends)."""
        return self.callback_seconds / self.rollout_seconds if self.rollout_seconds > 0 else 0.0

    def _on_training_end(self) -> None:
        components: list[Teacher | RewardTeacher] = [self.teacher, *self.reward_teachers]
        for component in components:
            for message in component.end_of_training_warnings():
                if message not in self._warned:
                    self._warned.add(message)
                    warnings.warn(message, CurriculumWarning, stacklevel=2)
            component.close()
        if self._results_file is not None:
            self._results_file.close()
            self._results_file = None

    def _send_rollout_signals(self) -> None:
        if self.teacher.feedback == "rollout" and self._rollout_task_ids:
            buffer = getattr(self.model, "rollout_buffer", None)
            if not isinstance(buffer, RolloutBuffer):
                raise TypeError(
                    f"teacher {self.teacher.name!r} needs rollout signals; {type(self.model).__name__} has no "
                    "on-policy rollout buffer (use PPO or A2C)"
                )
            task_ids = np.stack(self._rollout_task_ids)
            n = task_ids.shape[0]
            signals = RolloutSignals(
                task_ids=task_ids,
                advantages=np.asarray(buffer.advantages[:n]).copy(),
                values=np.asarray(buffer.values[:n]).copy(),
                returns=np.asarray(buffer.returns[:n]).copy(),
                episode_starts=np.asarray(buffer.episode_starts[:n]).copy(),
                last_dones=np.asarray(self.locals["dones"]).astype(bool).copy(),
                tasks=dict(self._rollout_tasks),
            )
            self.teacher.update_rollout(signals)
