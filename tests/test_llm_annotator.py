"""The asynchronous annotator against the real embedded server, behind a proxy that counts what is sent."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from curricula.llm import Annotator, ChoiceReply, Item, LLMClient
from tests.llm_fakes import CountingProxy, SilentServer

pytest_plugins = ["tests.llm_fixtures"]
pytestmark = pytest.mark.llm

LABELS = ChoiceReply(("FOO", "BAR"))
PROMPT = "Event: picked up the key. Label: FOO\nEvent: walked into lava. Label: BAR\nEvent: {}. Label:"
OBJECTS = ["key", "ball", "box", "door", "goal"]
COLORS = ["red", "green", "blue", "purple", "yellow", "grey", "white", "black"]
VERBS = ["picked up the", "dropped the", "opened the", "looked at the", "walked past the"]


def _captions(n: int) -> list[str]:
    events = [f"{v} {c} {o}" for v in VERBS for c in COLORS for o in OBJECTS]
    assert len(events) >= n
    return [PROMPT.format(e) for e in events[:n]]


def test_200_items_each_sent_exactly_once(counting_proxy: CountingProxy) -> None:
    prompts = _captions(200)
    client = LLMClient(base_url=counting_proxy.base_url, model="gemma-3-270m", timeout_s=60)
    annotator = Annotator(client, LABELS, max_tokens=3, concurrency=4)
    rng = random.Random(0)
    with annotator:
        # The learner meets the same items again and again while labels are still on their way.
        for _ in range(3):
            batch = prompts[:]
            rng.shuffle(batch)
            for start in range(0, len(batch), 25):
                annotator.submit(batch[start : start + 25])
                assert annotator.get(batch[start]) in (None, *LABELS.choices)  # never blocks, never raises
        assert annotator.wait_idle(timeout=180)
        polled = annotator.poll()
        annotator.submit(prompts)  # all labelled: nothing more is sent
        assert annotator.wait_idle(timeout=5)
        stats = annotator.stats()
    assert len(polled) == 200 and set(polled.values()) <= set(LABELS.choices)
    assert all(annotator.get(p) in LABELS.choices for p in prompts)
    assert sorted(counting_proxy.counts.values()) == [1] * 200
    assert set(counting_proxy.counts) == set(prompts)
    assert counting_proxy.max_in_flight >= 2, "requests were sent concurrently"
    assert stats["sent"] == 200 and stats["labelled"] == 200 and stats["failed"] == 0
    assert stats["submitted"] == 800 and stats["duplicates"] == 600 and stats["dropped"] == 0
    assert annotator.poll() == {}


def test_cached_items_are_not_sent_again(counting_proxy: CountingProxy, tmp_path: Path) -> None:
    prompts = _captions(12)
    for run in range(2):
        client = LLMClient(base_url=counting_proxy.base_url, model="m", cache_dir=str(tmp_path))
        with Annotator(client, LABELS, max_tokens=3, concurrency=2) as annotator:
            annotator.submit([Item(key=i, prompt=p) for i, p in enumerate(prompts)])
            assert annotator.wait_idle(timeout=60)
            assert set(annotator.results) == set(range(12))
        assert client.stats["cache_hits"] == (12 if run else 0)
    assert sorted(counting_proxy.counts.values()) == [1] * 12


def test_full_queue_drops_newest_and_counts() -> None:
    silent = SilentServer()
    client = LLMClient(base_url=silent.base_url, model="m", timeout_s=0.5, max_retries=0, breaker_threshold=100)
    annotator = Annotator(client, LABELS, concurrency=1, batch_size=1, max_queue=5)
    try:
        annotator.submit([f"item {i}" for i in range(20)])  # one call: the dispatcher cannot drain in between
        stats = annotator.stats()
        assert stats["enqueued"] == 5 and stats["dropped"] == 15
        assert annotator.get("item 0") is None and annotator.get("item 19") is None
    finally:
        started = time.monotonic()
        annotator.close()
        silent.close()
    assert time.monotonic() - started < 5, "close() is bounded by the client's timeout"
    assert annotator.stats()["discarded"] >= 3
    with pytest.raises(RuntimeError, match="closed"):
        annotator.submit(["late"])
    annotator.close()  # idempotent


def test_submit_cost_on_callers_thread_and_clean_close() -> None:
    silent = SilentServer()
    client = LLMClient(base_url=silent.base_url, model="m", timeout_s=0.5, max_retries=0)
    annotator = Annotator(client, LABELS, max_tokens=3)
    prompts = [f"caption {i}" for i in range(2000)]
    annotator.submit(prompts[:1000])  # new items
    started = time.perf_counter()
    for _ in range(10):
        annotator.submit(prompts[:1000])  # the common case in training: items seen before
    per_item = (time.perf_counter() - started) / 10_000
    # The benchmark reports the real figure (target < 50 µs); this bound only catches an accidental O(n) path.
    assert per_item < 500e-6
    threads_before = {t.name for t in threading.enumerate()}
    assert "llm-annotator-dispatch" in threads_before
    annotator.close()
    assert not any(t.name.startswith("llm-annotator") for t in threading.enumerate())
    client.close()
    silent.close()
