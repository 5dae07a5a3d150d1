"""Contract checks that every task-aware env and every teacher must pass, built-in or a user's own.

The project's own test suite runs them on every registered component (``tests/test_env_contract.py``,
``tests/test_teacher_contract.py``), and ``curricula check --import my_module`` runs them on the components a
user's module registers, without copying any test file:

* an **env** exposes a :class:`~curricula.spaces.TaskSpace`, passes Gymnasium's and SB3's env checkers under a
  :class:`~curricula.wrappers.TaskEnv`, plays the task it is given (the episode result names it), is
  deterministic for a seed and a task, rejects a task outside its space with
  :class:`~curricula.spaces.TaskSpaceError`, keeps ``task_space`` in one layer, and sets ``info["is_success"]``
  (a bool) on the last step of an episode only;
* a **teacher** gives the same samples for the same seed and feedback (and other samples for another seed),
  samples only tasks of its space, restores a saved state to identical next samples, and rejects bad inputs
  with a clear error; it tolerates ``success=None``, keeps working after ``close()``, applies its presets and lists
  them on a typo, and its end-of-training warnings are messages that name it.

Each check is a function that raises on failure (``AssertionError`` with what was expected and what happened);
:func:`check_env_contract` and :func:`check_teacher_contract` run them all and report each outcome.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from curricula.env_api import task_space_of
from curricula.serialization import load_state, save_state
from curricula.spaces import Dimension, LevelSpace, ParameterSpace, TaskSpace, TaskSpaceError
from curricula.task import EpisodeResult, RolloutSignals, Task
from curricula.teacher import Teacher, make_teacher, registered_teachers
from curricula.testing import TinyLevelSpace
from curricula.wrappers import TaskEnv

#: the parameter space teachers are checked on: continuous and integer dimensions of different spans
CONTRACT_PARAMETER_SPACE = ParameterSpace(
    [Dimension("height", 0.0, 3.0), Dimension("spacing", 0.0, 6.0), Dimension("rooms", 1, 4, integer=True)]
)
#: the longest episode an env check plays before calling the env broken
MAX_EPISODE_STEPS = 100_000
_TASKS_PER_ROUND = 4  # 2 envs x 2 episodes per feedback round
_STEPS_PER_EPISODE = 8  # env steps per episode in the synthetic rollouts of rollout-feedback teachers

Check = Callable[[], None]


@dataclass(frozen=True)
class ContractOutcome:
    """The outcome of one contract check on one component.

    :param component: ``env <id>`` or ``teacher <name>``
    :param check: the check's name
    :param passed: whether it passed
    :param detail: why it failed (empty when it passed)
    """

    component: str
    check: str
    passed: bool
    detail: str = ""

    def line(self) -> str:
        """One line for a terminal: ``PASS env My-v0: task_is_honoured`` or ``FAIL ...: why``."""
        status = "PASS" if self.passed else "FAIL"
        return f"{status} {self.component}: {self.check}" + (f" -- {self.detail}" if self.detail else "")


def _run_checks(component: str, checks: Mapping[str, Check]) -> list[ContractOutcome]:
    outcomes = []
    for name, check in checks.items():
        try:
            check()
        except Exception as err:  # a failing check is reported, the others still run
            where = traceback.extract_tb(err.__traceback__)[-1]
            detail = f"{type(err).__name__}: {err} (at {where.filename}:{where.lineno})"
            outcomes.append(ContractOutcome(component, name, False, detail))
        else:
            outcomes.append(ContractOutcome(component, name, True))
    return outcomes


def uniform_task(space: TaskSpace, rng: np.random.Generator, task_id: int = 0) -> Task:
    """A task drawn uniformly from ``space`` (parameters, or a generated level)."""
    return Task(id=task_id, **{space.task_field: space.sample(rng)})


def _task_outside(space: TaskSpace) -> Task:
    """A task that the space must reject: a parameter above its bound, or a level with a wrong field."""
    if isinstance(space, ParameterSpace):
        params: dict[str, float] = {d.name: d.low for d in space.dims}
        first = space.dims[0]
        params[first.name] = first.high + max(1.0, first.span)
        return Task(id=0, params=params)
    return Task(id=0, level={"not_a_field_of_any_level": 1})


# -- envs -----------------------------------------------------------------------------------------------------------
def env_contract_checks(env_id: str) -> dict[str, Check]:
    """The named contract checks of a registered task-aware env id (each raises on failure)."""

    def space() -> TaskSpace:
        found = task_space_of(env_id)
        assert isinstance(found, TaskSpace), f"{env_id}: task_space is a {type(found).__name__}, not a TaskSpace"
        return found

    def frozen_env() -> TaskEnv:
        return TaskEnv(gym.make(env_id), frozen_task=uniform_task(space(), np.random.default_rng(0)))

    def has_task_space() -> None:
        space()

    def gymnasium_check_env() -> None:
        import warnings

        from gymnasium.utils.env_checker import check_env

        with warnings.catch_warnings():
            # the checker runs on the TaskEnv on purpose (the task channel is part of the contract)
            warnings.filterwarnings("ignore", message=".*is different from the unwrapped version.*")
            check_env(frozen_env(), skip_render_check=True)

    def sb3_check_env() -> None:
        from stable_baselines3.common.env_checker import check_env

        check_env(frozen_env(), warn=False)

    def task_is_honoured() -> None:
        env = TaskEnv(gym.make(env_id))
        rng = np.random.default_rng(1)
        for task_id in range(3):
            task = uniform_task(space(), rng, task_id)
            _, info = env.reset(seed=task_id, options={"task": task})
            assert info["task_id"] == task.id, f"reset info task_id {info['task_id']}, expected {task.id}"
            info = _play_to_end(env)
            result = info.get("episode_result")
            assert isinstance(result, EpisodeResult), "the last step's info has no episode_result"
            assert result.task == task, f"the episode result names task {result.task}, expected {task}"
        env.close()

    def same_seed_same_first_observation() -> None:
        task = uniform_task(space(), np.random.default_rng(2))
        first = [gym.make(env_id).reset(seed=7, options={"task": task})[0] for _ in range(2)]
        if isinstance(first[0], dict):
            for key in first[0]:
                np.testing.assert_array_equal(first[0][key], first[1][key], err_msg=f"observation key {key!r}")
        else:
            np.testing.assert_array_equal(first[0], first[1])

    def task_outside_the_space_is_rejected() -> None:
        env = TaskEnv(gym.make(env_id))
        try:
            env.reset(options={"task": _task_outside(space())})
        except TaskSpaceError:
            return
        finally:
            env.close()
        raise AssertionError("a task outside the task space was played instead of raising TaskSpaceError")

    def task_space_lives_in_one_layer() -> None:
        env = TaskEnv(gym.make(env_id))
        layers: list[gym.Env[Any, Any]] = [env]
        while isinstance(layers[-1], gym.Wrapper):
            layers.append(layers[-1].env)
        owners = [layer for layer in layers if hasattr(type(layer), "task_space") or "task_space" in vars(layer)]
        assert len(owners) == 1, f"task_space is defined on {owners}: a value set on one would not reach the other"
        env.close()

    def success_is_set_on_the_last_step_only() -> None:
        env = gym.make(env_id)
        env.reset(seed=0, options={"task": uniform_task(space(), np.random.default_rng(4))})
        for step in range(1, MAX_EPISODE_STEPS + 1):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            if terminated or truncated:
                break
            assert "is_success" not in info, f"info['is_success'] set before the last step (step {step})"
        if "is_success" in info:  # an env without a success rule sets nothing
            assert type(info["is_success"]) is bool, f"is_success is a {type(info['is_success']).__name__}"
        env.close()

    return {
        "has_task_space": has_task_space,
        "task_space_lives_in_one_layer": task_space_lives_in_one_layer,
        "success_is_set_on_the_last_step_only": success_is_set_on_the_last_step_only,
        "gymnasium_check_env": gymnasium_check_env,
        "sb3_check_env": sb3_check_env,
        "task_is_honoured": task_is_honoured,
        "same_seed_same_first_observation": same_seed_same_first_observation,
        "task_outside_the_space_is_rejected": task_outside_the_space_is_rejected,
    }


def _play_to_end(env: gym.Env[Any, Any]) -> dict[str, Any]:
    for _ in range(MAX_EPISODE_STEPS):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            return info
    raise AssertionError(f"an episode ran {MAX_EPISODE_STEPS} steps without ending (no time limit?)")


def check_env_contract(env_id: str) -> list[ContractOutcome]:
    """Run every env contract check on ``env_id``; one outcome per check."""
    return _run_checks(f"env {env_id}", env_contract_checks(env_id))


# -- teachers -------------------------------------------------------------------------------------------------------
def contract_space_for(name: str) -> TaskSpace:
    """The space a registered teacher is checked on: the contract parameter space, or a tiny level space."""
    cls = registered_teachers()[name]
    if any(issubclass(ParameterSpace, s) for s in cls.supported_spaces):
        return CONTRACT_PARAMETER_SPACE
    if any(issubclass(TinyLevelSpace, s) for s in cls.supported_spaces):
        return TinyLevelSpace()
    raise TypeError(f"teacher {name!r} supports neither parameter nor level spaces: {cls.supported_spaces}")


def _synthetic_return(task: Task) -> float:
    """A deterministic 'student' whose return depends on the task only."""
    if task.params is not None:
        p = task.params
        return float(np.clip(1.0 - p["height"] / 3.0 + 0.1 * p["rooms"] - 0.05 * p["spacing"], 0.0, 1.0))
    assert task.level is not None
    return float(sum(task.level["cells"])) / 12.0


def feedback_round(teacher: Teacher, round_index: int, success_known: bool = True) -> list[Task]:
    """Sample 4 tasks, report a synthetic result for each (and rollout signals to rollout teachers).

    :param success_known: report ``success`` (else None, as a run without a success rule does)
    """
    tasks = [teacher.sample() for _ in range(_TASKS_PER_ROUND)]
    for k, task in enumerate(tasks):
        ret = _synthetic_return(task)
        success = ret > 0.5 if success_known else None
        teacher.update(
            EpisodeResult(task=task, episode_return=ret, length=_STEPS_PER_EPISODE, success=success, env_index=k // 2)
        )
    if teacher.feedback == "rollout":
        rng = np.random.default_rng(round_index)  # the learner's numbers, independent of the teacher
        n = _STEPS_PER_EPISODE
        ids = np.array([[tasks[0].id, tasks[2].id]] * n + [[tasks[1].id, tasks[3].id]] * n)
        starts = np.zeros((2 * n, 2))
        starts[0] = starts[n] = 1
        values = rng.random((2 * n, 2))
        advantages = rng.normal(size=(2 * n, 2))
        teacher.update_rollout(
            RolloutSignals(
                task_ids=ids,
                advantages=advantages,
                values=values,
                returns=advantages + values,
                episode_starts=starts,
                last_dones=np.ones(2, dtype=bool),
                tasks={t.id: t for t in tasks},
            )
        )
    return tasks


def _play_rounds(teacher: Teacher, rounds: int, start: int = 0, success_known: bool = True) -> list[str]:
    return [t.dumps() for r in range(start, start + rounds) for t in feedback_round(teacher, r, success_known)]


def teacher_contract_checks(name: str, rounds: int = 80) -> dict[str, Check]:
    """The named contract checks of a registered teacher (each raises on failure).

    :param name: the teacher's registered name
    :param rounds: feedback rounds of 4 episodes each (enough to get past most teachers' bootstrap)
    """

    def same_seed_same_feedback_same_samples() -> None:
        space = contract_space_for(name)
        first = _play_rounds(make_teacher(name, space, seed=5), rounds)
        second = _play_rounds(make_teacher(name, space, seed=5), rounds)
        assert first == second, "two teachers with seed 5 and the same feedback sampled different tasks"
        other = _play_rounds(make_teacher(name, space, seed=6), rounds)
        assert other != first, "seeds 5 and 6 gave the same samples: the seed must matter"

    def samples_belong_to_the_space() -> None:
        space = contract_space_for(name)
        teacher = make_teacher(name, space, seed=0)
        for r in range(rounds):
            for task in feedback_round(teacher, r):
                if isinstance(space, ParameterSpace):
                    assert task.params is not None, f"task {task.id} has no params on a parameter space"
                    space.validate(task.params)
                else:
                    assert isinstance(space, LevelSpace) and task.level is not None
                    space.validate(task.level)
        assert teacher.tasks_sampled == rounds * _TASKS_PER_ROUND, "tasks_sampled does not count the samples"
        bad = {k: v for k, v in teacher.scalars().items() if not np.isfinite(v)}
        assert not bad, f"scalars() has non-finite values {bad}"

    def state_round_trip_gives_identical_next_samples() -> None:
        import tempfile
        from pathlib import Path

        space = contract_space_for(name)
        original = make_teacher(name, space, seed=11)
        _play_rounds(original, rounds - 10)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "teacher.npz"
            save_state(path, original.state_dict())
            restored = make_teacher(name, space, seed=99)
            restored.load_state_dict(load_state(path))
        later = _play_rounds(restored, 40, start=rounds - 10)
        assert later == _play_rounds(original, 40, start=rounds - 10), "the restored teacher samples differently"
        original.close()
        restored.close()

    def bad_inputs_raise() -> None:
        space = contract_space_for(name)
        teacher = make_teacher(name, space, seed=0)
        _expect(ValueError, "seed", lambda: make_teacher(name, space, seed=-1))
        _expect(TypeError, "", lambda: teacher.update("not a result"))  # type: ignore[arg-type]
        unissued = Task(id=10_000, level={"cells": [0, 0, 0, 0]})
        _expect(
            ValueError,
            "issued",
            lambda: teacher.update(EpisodeResult(task=unissued, episode_return=0.0, length=1, success=False)),
        )
        wrong_kind = TinyLevelSpace() if isinstance(space, ParameterSpace) else CONTRACT_PARAMETER_SPACE
        if not isinstance(wrong_kind, registered_teachers()[name].supported_spaces):
            _expect(TypeError, "space", lambda: make_teacher(name, wrong_kind, seed=0))
        state = teacher.state_dict()
        state["teacher"] = "someone_else"
        _expect(ValueError, "teacher", lambda: teacher.load_state_dict(state))
        teacher.close()

    def unknown_success_changes_nothing() -> None:
        # runs without a success rule report success=None; a teacher must not need it, or must not crash on it
        space = contract_space_for(name)
        known = _play_rounds(make_teacher(name, space, seed=2), rounds // 2)
        unknown = _play_rounds(make_teacher(name, space, seed=2), rounds // 2, success_known=False)
        assert unknown == known, "success=None changed the teacher's samples"

    def close_is_idempotent_and_a_closed_teacher_keeps_working() -> None:
        space = contract_space_for(name)
        closed, untouched = make_teacher(name, space, seed=8), make_teacher(name, space, seed=8)
        half = rounds // 2
        assert _play_rounds(closed, half) == _play_rounds(untouched, half)
        closed.close()
        closed.close()
        later = _play_rounds(closed, half, start=half)
        assert later == _play_rounds(untouched, half, start=half), "a closed teacher samples differently"
        closed.close()
        untouched.close()

    def presets_apply_and_unknown_names_are_listed() -> None:
        space = contract_space_for(name)
        cls = registered_teachers()[name]
        assert make_teacher(name, space).preset is None, "a teacher built without preset= reports a preset"
        for preset in cls.presets:
            teacher = make_teacher(name, space, seed=0, preset=preset)
            assert teacher.preset == preset, f"preset {preset!r} was not recorded"
            _play_rounds(teacher, 2)
            teacher.close()
        try:
            make_teacher(name, space, preset="no_such_preset")
        except ValueError as err:
            missing = [p for p in cls.presets if repr(p) not in str(err)]
            assert "unknown preset 'no_such_preset'" in str(err) and not missing, f"the error does not list {missing}"
        else:
            raise AssertionError("an unknown preset name was accepted")

    def end_of_training_warnings_are_messages() -> None:
        teacher = make_teacher(name, contract_space_for(name), seed=0)
        _play_rounds(teacher, 10)
        warnings = teacher.end_of_training_warnings()
        assert isinstance(warnings, list), f"end_of_training_warnings returned a {type(warnings).__name__}"
        assert all(isinstance(w, str) and name in w for w in warnings), f"each message must name {name!r}: {warnings}"
        teacher.close()

    return {
        "same_seed_same_feedback_same_samples": same_seed_same_feedback_same_samples,
        "samples_belong_to_the_space": samples_belong_to_the_space,
        "state_round_trip_gives_identical_next_samples": state_round_trip_gives_identical_next_samples,
        "bad_inputs_raise": bad_inputs_raise,
        "unknown_success_changes_nothing": unknown_success_changes_nothing,
        "close_is_idempotent_and_a_closed_teacher_keeps_working": close_is_idempotent_and_a_closed_teacher_keeps_working,
        "presets_apply_and_unknown_names_are_listed": presets_apply_and_unknown_names_are_listed,
        "end_of_training_warnings_are_messages": end_of_training_warnings_are_messages,
    }


def _expect(kind: type[Exception], words: str, call: Callable[[], object]) -> None:
    try:
        call()
    except kind as err:
        assert words in str(err), f"{kind.__name__} raised, but its message {str(err)!r} does not mention {words!r}"
        return
    raise AssertionError(f"expected {kind.__name__} mentioning {words!r}; nothing was raised")


def check_teacher_contract(name: str) -> list[ContractOutcome]:
    """Run every teacher contract check on the registered teacher ``name``; one outcome per check."""
    return _run_checks(f"teacher {name}", teacher_contract_checks(name))
