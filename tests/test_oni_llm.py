"""ONI against the real embedded LLM server: each unique caption is sent once; the server killed mid-training."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from stable_baselines3.common.callbacks import BaseCallback

from agents import make_student
from curricula import CurriculumCallback, task_space_of
from curricula.llm import EmbeddedLLMServer, LLMClient
from teachers.oni import ONITeacher, label_item
from teachers.random import RandomTeacher
from tests.llm_fakes import CountingProxy
from tests.test_oni import _seeded_vec_env

pytest_plugins = ["tests.llm_fixtures"]
pytestmark = [pytest.mark.llm, pytest.mark.filterwarnings("ignore:TaskEnv is stepping an episode with no task")]


def _step_until_labelled(teacher: ONITeacher, venv: Any, rng: np.random.Generator, timeout_s: float) -> None:
    """Keep stepping (the learner keeps meeting its captions) until every caption seen has a label."""
    deadline = time.monotonic() + timeout_s
    while set(teacher.captions_seen) - set(teacher.labels) and time.monotonic() < deadline:
        venv.step(rng.integers(0, 6, size=venv.num_envs))
        time.sleep(0.002)  # leave the annotator's threads some of the 2 cores


def test_each_unique_caption_is_sent_once(counting_proxy: CountingProxy) -> None:
    client = LLMClient(base_url=counting_proxy.base_url, model="gemma-3-270m", timeout_s=60)
    teacher = ONITeacher(annotator="llm", client=client, reward_model="retrieval", llm_concurrency=2)
    venv = teacher.wrap_vec_env(_seeded_vec_env("Curricula/KeyCorridorS3R3-v0", n_envs=4))
    venv.reset()
    rng = np.random.default_rng(0)
    try:
        for _ in range(500):  # 2,000 env steps: most captions are met many times while their label is on its way
            venv.step(rng.integers(0, 6, size=4))
        _step_until_labelled(teacher, venv, rng, timeout_s=150)
        seen = set(teacher.captions_seen)
        assert seen and set(teacher.labels) == seen and set(teacher.labels.values()) <= {0, 1}
        assert sum(teacher.captions_seen.values()) > 3 * len(seen), "captions repeat"
        assert sorted(counting_proxy.counts.values()) == [1] * len(seen), "each unique caption sent once"
        assert set(counting_proxy.counts) == {label_item(c).prompt for c in seen}
        scalars = teacher.scalars()
        assert scalars["annotator_labelled"] == len(seen) and scalars["annotator_failed"] == 0
        assert scalars["llm_requests"] >= len(seen)
    finally:
        teacher.close()
        client.close()


class _KillMidTraining(BaseCallback):
    """Kills the server once ONI has its first label (or half-way through training); records every captioned
    step's reward and whether its caption had a label when the reward was computed."""

    def __init__(self, teacher: ONITeacher, server: EmbeddedLLMServer, kill_by: int) -> None:
        super().__init__()
        self.kill_by = kill_by
        self.teacher = teacher
        self.server = server
        self.killed_at: int | None = None
        self.labels_at_kill = 0
        self.records: list[tuple[bool, bool, float]] = []  # (server down, caption labelled, r_int)

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if info["caption"]:
                labelled = info["caption"] in self.teacher.labels
                self.records.append((self.killed_at is not None, labelled, info["oni_r_int"]))
        if self.killed_at is None and (self.teacher.labels or self.num_timesteps >= self.kill_by):
            self.server.kill()
            self.killed_at = self.num_timesteps
            self.labels_at_kill = len(self.teacher.labels)
        return True


def test_server_killed_mid_training_then_back(llm_server: EmbeddedLLMServer) -> None:
    client = llm_server.client(timeout_s=10, max_retries=1, backoff_base_s=0.05, breaker_cooldown_s=0.5)
    teacher = ONITeacher(annotator="llm", client=client, reward_model="retrieval", c_int=0.5, llm_concurrency=2)
    base = _seeded_vec_env("Curricula/DoorKey-5x5-v0", n_envs=4)  # few distinct captions: a short resume
    venv = teacher.wrap_vec_env(base)
    curriculum = CurriculumCallback(RandomTeacher(task_space_of(base), seed=0), reward_teachers=[teacher])
    fault = _KillMidTraining(teacher, llm_server, kill_by=1024)
    model = make_student("ppo", venv, seed=0, policy="MlpPolicy", n_steps=64, batch_size=128, n_epochs=1)
    try:
        model.learn(2048, callback=[curriculum, fault])  # finishes although the server dies in the middle
        assert fault.killed_at is not None and fault.killed_at <= 1024
        down = teacher.scalars()
        assert down["annotator_failed"] > 0 and down["llm_connection_errors"] > 0, "the counters show it"
        assert len(teacher.labels) == fault.labels_at_kill, "no label while the server was down"
        assert all(r_int == 0.0 for _, labelled, r_int in fault.records if not labelled), "unlabelled pay 0"
        assert any(is_down and not labelled for is_down, labelled, _ in fault.records), "new captions met"
        assert any("failed" in w for w in teacher.end_of_training_warnings())
        missing = set(teacher.captions_seen) - set(teacher.labels)
        assert missing
    finally:
        llm_server.start()  # same port: the client's base_url stays valid
    try:
        time.sleep(0.6)  # past the breaker's cooldown
        _step_until_labelled(teacher, venv, np.random.default_rng(1), timeout_s=150)
        assert set(teacher.labels) >= missing, "labelling resumed"
        assert client.breaker.state == "closed"
    finally:
        teacher.close()
        client.close()
