"""The subgoal teacher against the real embedded server: level description → prompt → constrained reply → strict
parse → validation against the level → cache, or a counted rejection and the fallback."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import pytest

import envs  # noqa: F401 - registers the Curricula/* ids
from curricula.llm import EmbeddedLLMServer
from curricula.task import Task
from teachers.subgoals import SubgoalTeacher

pytest_plugins = ["tests.llm_fixtures"]
pytestmark = pytest.mark.llm


def _mg(env: gym.Env[Any, Any]) -> Any:
    """The MiniGrid env under the wrappers (typed Any: MiniGrid attributes are dynamic)."""
    return env.unwrapped


def test_embedded_server_reply_is_parsed_validated_and_cached_or_rejected(llm_server: EmbeddedLLMServer) -> None:
    env_id = "Curricula/DoorKey-5x5-v0"
    teacher = SubgoalTeacher(
        env_id=env_id,
        kind="position",
        fallback="oracle",
        max_tokens=48,
        max_attempts=1,
        llm={"base_url": llm_server.base_url, "timeout_s": 240.0, "max_retries": 0},
    )
    task = Task(id=0, level={"seed": 0})
    try:
        first = teacher.annotate(task).annotations
        assert first["subgoal_source"] == "fallback:oracle" and first["subgoals"]  # never waits for the model
        assert teacher.wait_idle(300)
        stats = teacher.scalars()
        assert stats["llm_requests"] == 1 and stats["llm_timeouts"] == 0
        second = teacher.annotate(Task(id=1, level={"seed": 0})).annotations
        if second["subgoal_source"] == "llm":  # accepted: every subgoal is a free cell of this level
            env = gym.make(env_id)
            env.reset(options={"task": task})
            for subgoal in second["subgoals"]:
                cell = _mg(env).grid.get(subgoal["x"], subgoal["y"])
                assert cell is None or cell.type != "wall"
            assert teacher.cache and stats["llm_parse_failures"] == 0
        else:  # rejected: counted (with its reason), and the level settled on the fallback
            assert second["subgoal_source"] == "fallback:oracle"
            assert stats["llm_parse_failures"] == 1 and teacher.counts["llm_rejected"] == 1
            assert sum(teacher.rejection_reasons.values()) == 1 and teacher.settled
    finally:
        teacher.close()
