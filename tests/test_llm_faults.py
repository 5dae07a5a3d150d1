"""Faults: a server killed mid-run, a server that never answers, garbage bodies, 429 and 500, model nonsense.
Callers always get their neutral default, counters rise, nothing raises, and service resumes."""

from __future__ import annotations

import time

import pytest

from curricula.llm import (
    Annotator,
    CircuitBreaker,
    Constraint,
    EmbeddedLLMServer,
    LLMClient,
    LLMConfig,
    LLMOutputError,
    choice_grammar,
    parse_choice,
    parse_json,
    validate_json,
)
from curricula.llm.client import constraint_body
from tests.llm_fakes import FakeServer, SilentServer

pytest_plugins = ["tests.llm_fixtures"]
pytestmark = pytest.mark.llm

LABELS = ("FOO", "BAR")
PROMPT = "Event: picked up the key. Label: FOO\nEvent: walked into lava. Label: BAR\nEvent: {}. Label:"


def _call(client: LLMClient) -> str:
    return client.complete("x", default="NEUTRAL", parse=parse_choice(LABELS), constraint=Constraint(choices=LABELS))


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
        outcome = client.request(prompt="y", parse=parse_choice(LABELS))
        assert not outcome.ok and outcome.value is None and outcome.error is not None
        assert client.stats[counter] == 2 * attempts and fake.requests == 2 * attempts
        assert client.stats["failures"] == 2 and client.stats["successes"] == 0
    finally:
        client.close()
        fake.close()


def test_model_nonsense_is_rejected_not_executed(tmp_path: object) -> None:
    fake = FakeServer("nonsense")
    client = LLMClient(base_url=fake.base_url, cache_dir=str(tmp_path), breaker_threshold=1)
    try:
        assert _call(client) == "NEUTRAL"
        assert client.complete("x", default=None, parse=parse_json({"type": "object"})) is None
        assert client.stats["parse_failures"] == 2 and client.stats["breaker_opens"] == 0
        assert client.breaker.state == "closed", "the server did answer: not a server failure"
        assert client.cache is not None and len(client.cache) == 0, "rejected replies are not cached"
    finally:
        client.close()
        fake.close()


def test_server_killed_mid_run_then_back(llm_server: EmbeddedLLMServer) -> None:
    client = llm_server.client(timeout_s=10, max_retries=1, backoff_base_s=0.05, breaker_cooldown_s=0.5)
    prompts = [PROMPT.format(f"opened door number {i}") for i in range(40)]
    annotator = Annotator(
        client,
        parse_choice(LABELS),
        constraint=Constraint(choices=LABELS),
        max_tokens=3,
        concurrency=2,
        failure_backoff_s=0.2,
    )
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
        assert all(annotator.get(p) in LABELS for p in prompts), "service resumed"
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


def test_strict_parsers() -> None:
    schema = {
        "type": "object",
        "properties": {"subgoals": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 3}},
        "required": ["subgoals"],
        "additionalProperties": False,
    }
    parse = parse_json(schema)
    assert parse('{"subgoals": [1, 2]}') == {"subgoals": [1, 2]}
    for bad in ['{"subgoals": [1, true]}', '{"subgoals": [-1]}', '{"subgoals": [1,2,3,4]}', '{"x": 1}', "[1]",
                '{"subgoals": [NaN]}', "__import__('os')", '{"subgoals": [1]} trailing']:  # fmt: skip
        with pytest.raises(LLMOutputError):
            parse(bad)
    with pytest.raises(ValueError, match="not supported"):
        validate_json({}, {"pattern": "x"})
    assert parse_choice(LABELS)("  FOO\n") == "FOO"
    with pytest.raises(LLMOutputError):
        parse_choice(LABELS)("foo")


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
    fake = FakeServer("nonsense")
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
