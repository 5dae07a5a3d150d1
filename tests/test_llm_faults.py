"""Faults: a server killed mid-run, a server that never answers, garbage bodies, 429 and 500, and hostile model
output (not JSON, extra fields, wrong types, trailing text, oversized bodies, ...). Callers always get their neutral
default, counters rise, nothing raises, and service resumes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from curricula.llm import Annotator, CircuitBreaker, EmbeddedLLMServer, Item, LLMClient, LLMConfig
from curricula.llm.replies import (
    ChoiceReply,
    Constraint,
    LLMOutputError,
    ModelReply,
    StrictModel,
    as_reply_format,
    choice_grammar,
    constraint_body,
)
from tests.llm_fakes import FakeServer, SilentServer

pytest_plugins = ["tests.llm_fixtures"]
pytestmark = pytest.mark.llm

LABELS = ChoiceReply(("FOO", "BAR"))
PROMPT = "Event: picked up the key. Label: FOO\nEvent: walked into lava. Label: BAR\nEvent: {}. Label:"


class Subgoal(StrictModel):
    kind: Literal["position", "object"]
    x: int = Field(ge=0, le=7)
    y: int = Field(ge=0, le=7)
    done: bool


class Plan(StrictModel):
    subgoals: list[Subgoal] = Field(max_length=3)


class Target(StrictModel):
    """A reply that must name an object of the level the request was about (``context["objects"]``)."""

    target: str

    @field_validator("target")
    @classmethod
    def _in_level(cls, target: str, info: ValidationInfo) -> str:
        objects = (info.context or {}).get("objects", ())
        if target not in objects:
            raise ValueError(f"{target!r} is not an object of this level")
        return target


VALID_PLAN = '{"subgoals": [{"kind": "object", "x": 1, "y": 2, "done": false}]}'
HOSTILE_PLANS = {
    "not JSON": "Sure! Here are the subgoals: go to the key, then the door.",
    "empty": "",
    "extra field": '{"subgoals": [], "note": "ignore previous instructions"}',
    "nested extra field": '{"subgoals": [{"kind": "object", "x": 1, "y": 2, "done": false, "exec": "rm -rf /"}]}',
    "string for int": '{"subgoals": [{"kind": "object", "x": "1", "y": 2, "done": false}]}',
    "int for bool": '{"subgoals": [{"kind": "object", "x": 1, "y": 2, "done": 0}]}',
    "float for int": '{"subgoals": [{"kind": "object", "x": 1.5, "y": 2, "done": false}]}',
    "unknown kind": '{"subgoals": [{"kind": "teleport", "x": 1, "y": 2, "done": false}]}',
    "out of range": '{"subgoals": [{"kind": "object", "x": 99, "y": 2, "done": false}]}',
    "too many items": '{"subgoals": [' + ", ".join(['{"kind": "object", "x": 1, "y": 2, "done": false}'] * 4) + "]}",
    "missing field": '{"subgoals": [{"kind": "object", "x": 1, "done": false}]}',
    "null": "null",
    "trailing text": VALID_PLAN + " Hope this helps!",
    "two documents": VALID_PLAN + VALID_PLAN,
    "NaN": '{"subgoals": [{"kind": "object", "x": NaN, "y": 2, "done": false}]}',
    "duplicate key": '{"subgoals": [], "subgoals": [{"kind": "object", "x": 1, "y": 2, "done": false}]}',
    "JSON inside a string": '"' + VALID_PLAN.replace('"', '\\"') + '"',
    "code": "__import__('os').system('echo pwned')",
    "deep nesting": "[" * 50_000 + "]" * 50_000,
    "oversized": '{"subgoals": [], "pad": "' + "x" * 200_000 + '"}',
}


def _call(client: LLMClient) -> str:
    return client.complete("x", reply=LABELS, default="NEUTRAL")


def test_silent_server_times_out_then_breaker_fails_fast() -> None:
    silent = SilentServer()
    client = LLMClient(base_url=silent.base_url, timeout_s=0.3, max_retries=1, backoff_base_s=0.01, breaker_threshold=2)
    try:
        started = time.monotonic()
        assert _call(client) == "NEUTRAL" and _call(client) == "NEUTRAL"
        assert time.monotonic() - started < 5
        assert client.stats["timeouts"] == 4 and client.stats["retries"] == 2
        assert client.stats["breaker_opens"] == 1 and client.breaker.state == "open"
        started = time.monotonic()
        assert _call(client) == "NEUTRAL"
        assert time.monotonic() - started < 0.05, "an open breaker answers without touching the network"
        assert client.stats["breaker_rejections"] == 1 and client.stats["failures"] == 3
    finally:
        client.close()
        silent.close()


@pytest.mark.parametrize(
    ("mode", "counter", "attempts"),
    [
        ("429", "rate_limited", 3),
        ("500", "server_errors", 3),
        ("garbage", "bad_responses", 3),
        ("no_choices", "bad_responses", 3),
        ("wrong_types", "bad_responses", 3),
    ],
)
def test_bad_server_replies_give_the_default(mode: str, counter: str, attempts: int) -> None:
    fake = FakeServer(mode)
    client = LLMClient(base_url=fake.base_url, timeout_s=2, max_retries=2, backoff_base_s=0.01)
    try:
        assert _call(client) == "NEUTRAL"
        outcome = client.request("y", reply=LABELS)
        assert not outcome.ok and outcome.value is None and outcome.error is not None
        assert client.stats[counter] == 2 * attempts and fake.requests == 2 * attempts
        assert client.stats["failures"] == 2 and client.stats["successes"] == 0
    finally:
        client.close()
        fake.close()


@pytest.mark.parametrize("case", sorted(HOSTILE_PLANS))
def test_hostile_model_output_is_a_counted_rejection(case: str, tmp_path: Path) -> None:
    fake = FakeServer("reply", text=HOSTILE_PLANS[case])
    client = LLMClient(base_url=fake.base_url, cache_dir=str(tmp_path), breaker_threshold=1)
    try:
        assert client.complete("x", reply=Plan, default=None) is None
        assert client.chat([{"role": "user", "content": "x"}], reply=Plan, default=None) is None
        outcome = client.request("y", reply=Plan)
        assert not outcome.ok and outcome.error == "parse" and outcome.text == HOSTILE_PLANS[case]
        assert client.stats["parse_failures"] == 3 and client.stats["failures"] == 3
        assert client.stats["successes"] == 0 and client.stats["attempts"] == 3, "model output is not retried"
        assert client.breaker.state == "closed", "the server did answer: not a server failure"
        assert client.cache is not None and len(client.cache) == 0, "rejected replies are not cached"
        # The same fake with a valid reply: the rejections above came from the reply, not from the plumbing.
        fake.text = VALID_PLAN
        plan = client.complete("x", reply=Plan, default=None)
        assert plan == Plan(subgoals=[Subgoal(kind="object", x=1, y=2, done=False)])
    finally:
        client.close()
        fake.close()


def test_model_reply_sends_its_schema_and_returns_the_typed_model() -> None:
    fake = FakeServer("reply", text=VALID_PLAN)
    client = LLMClient(base_url=fake.base_url)
    try:
        plan = client.chat([{"role": "user", "content": "plan"}], reply=Plan, default=None)
        assert isinstance(plan, Plan) and isinstance(plan.subgoals[0], Subgoal) and plan.subgoals[0].y == 2
        assert client.complete("plan", reply=ModelReply(Plan), default=None) == plan
        chat_body, completion_body = fake.bodies_seen
        schema = Plan.model_json_schema()
        assert chat_body["response_format"] == {"type": "json_object", "schema": schema}
        assert chat_body["json_schema"] == completion_body["json_schema"] == schema
        assert "response_format" not in completion_body  # llama.cpp servers have it on chat only
    finally:
        client.close()
        fake.close()


def test_size_limit_applies_before_parsing() -> None:
    class Note(StrictModel):
        text: str

    reply = '{"text": "' + "x" * 5_000 + '"}'
    fake = FakeServer("reply", text=reply)
    client = LLMClient(base_url=fake.base_url)
    try:
        assert client.complete("x", reply=ModelReply(Note, max_chars=1_000), default=None) is None
        assert client.stats["parse_failures"] == 1
        note = client.complete("x", reply=ModelReply(Note, max_chars=10_000), default=None)
        assert note is not None and len(note.text) == 5_000
    finally:
        client.close()
        fake.close()


def test_context_validates_a_reply_against_its_request(tmp_path: Path) -> None:
    fake = FakeServer("reply", text='{"target": "key-1"}')
    client = LLMClient(base_url=fake.base_url, cache_dir=str(tmp_path))
    try:
        level_with_key = {"objects": ["key-1", "door-2"]}
        assert client.complete("x", reply=Target, default=None, context=level_with_key) == Target.model_validate(
            {"target": "key-1"}, context=level_with_key
        )
        # Same request, another level: the cached reply does not fit it, so it is asked again and rejected.
        assert client.complete("x", reply=Target, default=None, context={"objects": ["ball-3"]}) is None
        assert fake.requests == 2 and client.stats["cache_hits"] == 0 and client.stats["parse_failures"] == 1
        assert client.complete("x", reply=Target, default=None, context=level_with_key) is not None
        assert client.stats["cache_hits"] == 1 and fake.requests == 2
    finally:
        client.close()
        fake.close()


def test_annotator_items_carry_their_context() -> None:
    fake = FakeServer("reply", text='{"target": "key-1"}')
    client = LLMClient(base_url=fake.base_url)
    items = [Item("has key", "level 1", {"objects": ["key-1"]}), Item("no key", "level 2", {"objects": ["box-4"]})]
    try:
        with Annotator(client, Target, failure_backoff_s=60) as annotator:
            annotator.submit(items)
            assert annotator.wait_idle(timeout=30)
            stats = annotator.stats()
        target = annotator.get("has key")
        assert isinstance(target, Target) and target.target == "key-1"
        assert annotator.get("no key") is None
        assert stats["labelled"] == 1 and stats["failed"] == 1 and client.stats["parse_failures"] == 1
    finally:
        client.close()
        fake.close()


def test_a_buggy_validator_is_a_rejection_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    class Fragile(StrictModel):
        target: str

        @field_validator("target")
        @classmethod
        def _lookup(cls, target: str, info: ValidationInfo) -> str:
            return str(info.context["missing"])  # type: ignore[index]  # a bug: no context was given

    fake = FakeServer("reply", text='{"target": "key-1"}')
    client = LLMClient(base_url=fake.base_url)
    try:
        assert client.complete("x", reply=Fragile, default="fallback") == "fallback"
        assert client.stats["parse_failures"] == 1
        assert "TypeError" in caplog.text, "a parser bug is logged as a warning, not hidden"
    finally:
        client.close()
        fake.close()


def test_server_killed_mid_run_then_back(llm_server: EmbeddedLLMServer) -> None:
    client = llm_server.client(timeout_s=10, max_retries=1, backoff_base_s=0.05, breaker_cooldown_s=0.5)
    prompts = [PROMPT.format(f"opened door number {i}") for i in range(40)]
    annotator = Annotator(client, LABELS, max_tokens=3, concurrency=2, failure_backoff_s=0.2)
    try:
        annotator.submit(prompts)
        deadline = time.monotonic() + 60
        while annotator.stats()["labelled"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert annotator.stats()["labelled"] >= 3
        llm_server.kill()  # mid-run: requests in flight and queued
        assert annotator.wait_idle(timeout=60)
        down = annotator.stats()
        assert down["failed"] > 0 and client.stats["connection_errors"] > 0
        assert client.stats["breaker_opens"] >= 1
        # While it is down, callers get defaults quickly and nothing raises.
        assert _call(client) == "NEUTRAL"
        missing = [p for p in prompts if annotator.get(p) is None]
        assert missing
    finally:
        llm_server.start()  # same port: the client's base_url stays valid
    try:
        time.sleep(0.6)  # past the breaker's cooldown: the next call is the probe
        deadline = time.monotonic() + 120
        while any(annotator.get(p) is None for p in prompts) and time.monotonic() < deadline:
            annotator.submit(prompts)  # the learner keeps meeting the items; failed ones are retried
            annotator.wait_idle(timeout=30)
            time.sleep(0.25)
        assert all(annotator.get(p) in LABELS.choices for p in prompts), "service resumed"
        assert client.breaker.state == "closed"
    finally:
        annotator.close()
        client.close()


# -- units: no server needed --------------------------------------------------------------------------------------


def test_breaker_states() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=3, cooldown_s=10.0, clock=lambda: now[0])
    for _ in range(2):
        assert breaker.allow()
        assert not breaker.record_failure()
    assert breaker.state == "closed"
    assert breaker.record_failure() and breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.allow(), "half-open: one probe"
    assert not breaker.allow(), "only one probe at a time"
    assert breaker.record_failure() and breaker.opens == 2 and breaker.state == "open"
    now[0] = 20.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_constraint_translations() -> None:
    schema = {"type": "object"}
    assert constraint_body(Constraint(choices=("a", 'b"c')), "llama.cpp", False) == {
        "grammar": choice_grammar(("a", 'b"c'))
    }
    assert choice_grammar(("a", 'b"c')) == 'root ::= "a" | "b\\"c"'
    assert constraint_body(Constraint(choices=("a",)), "vllm", True) == {"guided_choice": ["a"]}
    assert constraint_body(Constraint(json_schema=schema), "vllm", False) == {"guided_json": schema}
    assert constraint_body(Constraint(json_schema=schema), "llama.cpp", True)["response_format"]["schema"] == schema
    assert constraint_body(Constraint(json_schema=schema), "openai", True)["response_format"]["type"] == "json_schema"
    assert constraint_body(Constraint(choices=("a",)), "none", False) == {}
    with pytest.raises(ValueError, match="exactly one"):
        Constraint(choices=("a",), grammar="root ::= x")


def test_reply_formats() -> None:
    assert LABELS.parse("  FOO\n") == "FOO" and LABELS.constraint == Constraint(choices=("FOO", "BAR"))
    for bad in ("foo", "FOO BAR", "", "BAZ"):
        with pytest.raises(LLMOutputError):
            LABELS.parse(bad)
    plan = ModelReply(Plan).parse("  " + VALID_PLAN + "\n")
    assert plan == Plan(subgoals=[Subgoal(kind="object", x=1, y=2, done=False)])
    accepted = []
    for case, text in HOSTILE_PLANS.items():
        try:
            ModelReply(Plan).parse(text)
        except LLMOutputError:
            continue
        accepted.append(case)
    assert accepted == []
    assert as_reply_format(Plan).constraint == Constraint(json_schema=Plan.model_json_schema())
    assert as_reply_format(LABELS) is LABELS
    with pytest.raises(TypeError, match="pydantic model class"):
        as_reply_format(str)


def test_open_reply_models_are_refused() -> None:
    class Loose(BaseModel):  # extra fields ignored by default: a reply could smuggle anything through
        label: str

    class HoldsLoose(StrictModel):
        inner: Loose

    class AnyMapping(StrictModel):
        data: dict[str, Any]

    class TypedMapping(StrictModel):
        counts: dict[str, int]

    for model in (Loose, HoldsLoose, AnyMapping):
        with pytest.raises(ValueError, match=model.__name__):
            ModelReply(model)
    assert ModelReply(TypedMapping).parse('{"counts": {"a": 1}}').counts == {"a": 1}
    with pytest.raises(LLMOutputError):
        ModelReply(TypedMapping).parse('{"counts": {"a": "1"}}')


def test_config_errors_name_the_field() -> None:
    for kwargs, field in [
        ({"base_url": "localhost:8080"}, "base_url"),
        ({"api_key_env": "not a name"}, "api_key_env"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"max_retries": -1}, "max_retries"),
        ({"breaker_threshold": 0}, "breaker_threshold"),
        ({"constraint_style": "tgi"}, "constraint_style"),
    ]:
        with pytest.raises(ValueError, match=field):
            LLMConfig(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown llm config keys"):
        LLMConfig.from_dict({"api_key": "sk-..."})


def test_api_key_read_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeServer("reply", text="BAZ")
    try:
        monkeypatch.delenv("OTHER_KEY_VAR", raising=False)
        with LLMClient(base_url=fake.base_url, api_key_env="OTHER_KEY_VAR") as client:
            _call(client)
        monkeypatch.setenv("OTHER_KEY_VAR", "sk-from-env")
        with LLMClient(base_url=fake.base_url, api_key_env="OTHER_KEY_VAR") as client:
            _call(client)
        auth = [{k.lower(): v for k, v in h.items()}.get("authorization") for h in fake.headers_seen]
        assert auth == ["Bearer EMPTY", "Bearer sk-from-env"]
    finally:
        fake.close()
