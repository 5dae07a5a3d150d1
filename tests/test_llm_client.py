"""The client against the real embedded server: completions, constrained choices, chat, replies parsed into
pydantic models, cache, counters, logging to SB3, and the API key never leaving the environment."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

from curricula.llm import ChoiceReply, EmbeddedLLMServer, LLMClient, LLMConfig, StrictModel, TextReply, record_llm_stats
from tests.llm_fakes import read_tree

pytest_plugins = ["tests.llm_fixtures"]
pytestmark = pytest.mark.llm

LABELS = ChoiceReply(("FOO", "BAR"))
# A base model: completion-style few-shot prompt, the reply forced into the label set by a grammar.
LABEL_PROMPT = (
    "Label each event FOO if it helps finish the level, BAR otherwise.\n"
    "Event: picked up the key. Label: FOO\n"
    "Event: bumped into a wall. Label: BAR\n"
    "Event: {event}. Label:"
)


class EventLabel(StrictModel):
    label: Literal["FOO", "BAR"]
    helpful: bool


class Step(StrictModel):
    verb: Literal["pickup", "open", "goto"]
    color: Literal["red", "blue", "yellow"]


class LabelledPlan(StrictModel):
    """Nested models, a list and enums: what the subgoal teacher's replies look like."""

    event: EventLabel
    steps: list[Step] = Field(min_length=1, max_length=2)


def test_completion_parses(llm_server: EmbeddedLLMServer) -> None:
    with llm_server.client(timeout_s=60) as client:
        outcome = client.request("The capital of France is", reply=TextReply(), max_tokens=8)
        assert outcome.ok and isinstance(outcome.value, str) and outcome.value.strip()
        stats = client.stats.snapshot()
        assert stats["successes"] == 1 and stats["failures"] == 0 and stats["completion_tokens"] > 0
        assert stats["latency_mean_s"] > 0


@pytest.mark.parametrize("event", ["opened the red door", "dropped the ball", "reached the goal"])
def test_constrained_choice_parses(llm_server: EmbeddedLLMServer, event: str) -> None:
    with llm_server.client(timeout_s=60) as client:
        label = client.complete(LABEL_PROMPT.format(event=event), reply=LABELS, default="NEUTRAL", max_tokens=4)
        assert label in LABELS.choices
        assert client.stats["parse_failures"] == 0


def test_chat_constrained_choice(llm_server: EmbeddedLLMServer) -> None:
    with llm_server.client(timeout_s=60) as client:
        reply = client.chat(
            [{"role": "user", "content": "Is a locked door an obstacle? Answer yes or no."}],
            reply=ChoiceReply(("yes", "no")),
            default="neutral",
            max_tokens=4,
        )
        assert reply in ("yes", "no")


def test_constrained_reply_parses_into_a_pydantic_model(llm_server: EmbeddedLLMServer) -> None:
    prompt = (
        'Label the event "picked up the yellow key" and plan at most two steps, as JSON like '
        '{"event": {"label": "FOO", "helpful": true}, "steps": [{"verb": "open", "color": "red"}]}.'
    )
    with llm_server.client(timeout_s=120) as client:
        outcome = client.request([{"role": "user", "content": prompt}], reply=LabelledPlan, max_tokens=96)
        assert outcome.ok, f"{outcome.error}: {outcome.text!r}"
        plan = outcome.value
        assert isinstance(plan, LabelledPlan) and isinstance(plan.event, EventLabel)
        assert plan.event.label in ("FOO", "BAR") and isinstance(plan.event.helpful, bool)
        assert 1 <= len(plan.steps) <= 2 and all(isinstance(step, Step) for step in plan.steps)
        assert client.stats["parse_failures"] == 0


def test_cache_answers_repeats_without_a_request(llm_server: EmbeddedLLMServer, tmp_path: Path) -> None:
    prompt = LABEL_PROMPT.format(event="picked up the blue key")
    with llm_server.client(cache_dir=str(tmp_path)) as client:
        first = client.request(prompt, reply=LABELS, max_tokens=4)
        second = client.request(prompt, reply=LABELS, max_tokens=4)
        assert first.ok and second.ok and second.cached and second.value == first.value
        assert client.stats["attempts"] == 1 and client.stats["cache_hits"] == 1
        # A different parameter is a different key.
        third = client.request(prompt, reply=LABELS)
        assert not third.cached and client.stats["attempts"] == 2
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 2 and all(json.loads(f.read_text())["text"] in LABELS.choices for f in files)
    # A new client (a new run) on the same directory is answered from disk.
    with llm_server.client(cache_dir=str(tmp_path)) as client:
        assert client.request(prompt, reply=LABELS, max_tokens=4).cached
        assert client.stats["attempts"] == 0


def test_api_key_never_in_logs_config_or_cache(
    llm_server: EmbeddedLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-curricula-test-3f9a1c77e2b64d0e"
    monkeypatch.setenv("MY_LLM_KEY", secret)
    caplog.set_level(logging.DEBUG)  # everything: openai's and httpx's debug request logs included
    config = llm_server.config(api_key_env="MY_LLM_KEY", cache_dir=str(tmp_path / "cache"))
    (tmp_path / "config.json").write_text(json.dumps({"llm": config.to_dict()}))
    with LLMClient(config) as client:
        assert client.config.api_key() == secret  # the key is really in use
        label = client.complete(
            LABEL_PROMPT.format(event="unlocked the door"), reply=LABELS, default="NEUTRAL", max_tokens=4
        )
        assert label in LABELS.choices
        # A failing call logs too; it must not log the key either.
        bad = LLMClient(config, base_url="http://127.0.0.1:9/v1", max_retries=0, timeout_s=1)
        assert bad.complete("x", reply=TextReply(), default="d") == "d"
        bad.close()
        texts = [caplog.text, repr(client), json.dumps(client.stats.snapshot()), read_tree(tmp_path)]
    assert caplog.records, "debug logging was captured"
    assert any(p.suffix == ".json" for p in (tmp_path / "cache").rglob("*"))
    for text in texts:
        assert secret not in text
    assert LLMConfig.from_dict(json.loads((tmp_path / "config.json").read_text())["llm"]).api_key_env == "MY_LLM_KEY"


def test_record_llm_stats_reaches_sb3_logger(llm_server: EmbeddedLLMServer, tmp_path: Path) -> None:
    from stable_baselines3.common.logger import configure

    sb3_logger = configure(str(tmp_path), ["csv", "tensorboard"])
    with llm_server.client() as client:
        client.complete("Hello", reply=TextReply(), default="", max_tokens=2)
        record_llm_stats(sb3_logger, client.stats)
        record_llm_stats(sb3_logger, {"labels": 3.0}, prefix="llm/annotator/")
    sb3_logger.dump(step=1)
    sb3_logger.close()
    header = (tmp_path / "progress.csv").read_text().splitlines()[0].split(",")
    assert {"llm/requests", "llm/successes", "llm/breaker_opens", "llm/latency_mean_s"} <= set(header)
    assert "llm/annotator/labels" in header
    assert list(tmp_path.glob("events.out.tfevents.*"))


def test_cli_check_serves_and_parses(capsys: pytest.CaptureFixture[str]) -> None:
    # Its own short-lived server: the full `curricula llm check` path, start to stop.
    from curricula.llm.cli import main

    assert main(["check"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["ok"] and report["choice"] in ("yes", "no")
