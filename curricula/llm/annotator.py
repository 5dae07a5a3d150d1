"""Asynchronous, deduplicating LLM labelling (ONI's learner-side pattern, with an in-flight set).

The learner thread calls :meth:`Annotator.submit` with text items and reads labels back with :meth:`Annotator.get`
or :meth:`Annotator.poll`; none of these block on the network. A background dispatcher thread drains the queue in
batches and sends each item through an :class:`~curricula.llm.client.LLMClient` on a small thread pool, at most
``concurrency`` requests in flight. What is not labelled yet reads as ``None`` (the caller's neutral default).

Dedup: an item whose key is labelled, queued or in flight is skipped at submit time, so each distinct item is sent
once. The client's on-disk cache additionally answers items labelled in earlier runs without a request. An item
whose call failed is forgotten after ``failure_backoff_s`` so that a later submit retries it.

Drop policy: the queue holds at most ``max_queue`` items; when it is full, **new** items are dropped (and
counted): queued items were submitted first and keep their place, and a dropped item is simply submitted again the
next time the learner meets it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from curricula.llm.client import LLMClient, LLMOutcome
from curricula.llm.replies import ReplyFormat, as_reply_format

T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    """A text item with an explicit dedup key (plain strings are their own key).

    :param key: dedup key, also the key of :meth:`Annotator.get`
    :param prompt: the prompt sent for it
    :param context: what the reply format's validation needs for this item (e.g. the level a reply must fit;
        a pydantic model's validators read it as ``info.context``)
    """

    key: Hashable
    prompt: str
    context: Mapping[str, Any] | None = None


class Annotator(Generic[T]):
    """Background labeller with dedup, a bounded queue, bounded concurrency and a non-blocking result store.

    :param client: the LLM client (its cache, retries, breaker and counters apply to every item)
    :param reply: the format of each reply (its constraint is sent, its strict parser decides), or a pydantic model
        class; a reply it rejects counts as a failed item (and as the client's ``parse_failures``)
    :param chat: send each prompt as one user message of a chat completion instead of a completion
    :param max_tokens: generation budget per item
    :param concurrency: requests in flight at most
    :param batch_size: items the dispatcher takes from the queue per wake-up
    :param max_queue: queue capacity; beyond it new items are dropped (counted as ``dropped``)
    :param failure_backoff_s: how long a failed key is left alone before a new submit may retry it
    """

    def __init__(
        self,
        client: LLMClient,
        reply: ReplyFormat[T] | type[T],
        *,
        chat: bool = False,
        max_tokens: int = 16,
        concurrency: int = 4,
        batch_size: int = 32,
        max_queue: int = 4096,
        failure_backoff_s: float = 5.0,
    ) -> None:
        for name, value in (("concurrency", concurrency), ("batch_size", batch_size), ("max_queue", max_queue)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.client = client
        self.reply: ReplyFormat[T] = as_reply_format(reply)
        self.chat = chat
        self.max_tokens = max_tokens
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.max_queue = max_queue
        self.failure_backoff_s = failure_backoff_s

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._results: dict[Hashable, T] = {}
        self._new: list[tuple[Hashable, T]] = []
        self._queue: deque[Item] = deque()
        self._queued_or_in_flight: set[Hashable] = set()
        self._failed_until: dict[Hashable, float] = {}
        self._in_flight = 0
        self._closed = False
        self._counts = dict.fromkeys(
            ("submitted", "duplicates", "enqueued", "dropped", "sent", "labelled", "failed", "discarded"), 0
        )
        self._slots = threading.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="llm-annotator")
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="llm-annotator-dispatch", daemon=True)
        self._dispatcher.start()

    # -- learner side (non-blocking) ----------------------------------------------------------------------------

    def submit(self, items: Iterable[str | Item]) -> None:
        """Queue items for labelling; labelled, queued, in-flight and recently failed keys are skipped.

        :param items: prompt strings (their own key) or :class:`Item`
        """
        now = time.monotonic()
        added = False
        with self._lock:
            if self._closed:
                raise RuntimeError("Annotator is closed")
            counts = self._counts
            for raw in items:
                # Most submits in training are repeats: find the key first, build an Item only to enqueue it.
                key = raw if isinstance(raw, str) else raw.key
                counts["submitted"] += 1
                if key in self._results or key in self._queued_or_in_flight:
                    counts["duplicates"] += 1
                    continue
                retry_at = self._failed_until.get(key)
                if retry_at is not None:
                    if now < retry_at:
                        counts["duplicates"] += 1
                        continue
                    del self._failed_until[key]
                if len(self._queue) >= self.max_queue:
                    counts["dropped"] += 1
                    continue
                self._queue.append(Item(raw, raw) if isinstance(raw, str) else raw)
                self._queued_or_in_flight.add(key)
                counts["enqueued"] += 1
                added = True
            if added:
                # notify_all: wait_idle() callers share this condition with the dispatcher.
                self._wake.notify_all()

    def get(self, key: Hashable) -> T | None:
        """The label of ``key``, or ``None`` if it has none yet.

        :param key: a prompt string or an :class:`Item` key
        """
        # A plain dict read is atomic under the GIL; the learner never takes the lock here.
        return self._results.get(key)

    def poll(self) -> dict[Hashable, T]:
        """Labels delivered since the previous ``poll`` (all labels stay readable through :meth:`get`)."""
        with self._lock:
            new, self._new = self._new, []
        return dict(new)

    @property
    def results(self) -> Mapping[Hashable, T]:
        """All labels so far (a read-only view; do not iterate it while labels arrive, copy it)."""
        return self._results

    def stats(self) -> dict[str, float]:
        """Counters: submitted, duplicates, enqueued, dropped, sent, labelled, failed, discarded (at close),
        plus the current queue length, requests in flight and labels held."""
        with self._lock:
            out = {k: float(v) for k, v in self._counts.items()}
            out["queue_len"] = float(len(self._queue))
            out["in_flight"] = float(self._in_flight)
            out["labels"] = float(len(self._results))
        return out

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty and nothing is in flight (for tests, benchmarks and shutdown).

        :param timeout: seconds; ``None`` waits indefinitely
        :return: whether it became idle in time
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._queue or self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._wake.wait(remaining)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Stop: queued items are discarded (counted), in-flight requests finish (each is bounded by the
        client's timeouts), threads are joined. Idempotent.

        :param timeout: how long to wait for the dispatcher thread
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._counts["discarded"] += len(self._queue)
            for item in self._queue:
                self._queued_or_in_flight.discard(item.key)
            self._queue.clear()
            self._wake.notify_all()
        self._dispatcher.join(timeout)
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Annotator[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- background side ----------------------------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
                self._in_flight += len(batch)
            for n, item in enumerate(batch):
                # Waiting for a slot here (not in the pool's unbounded queue) keeps the bounded deque the only
                # buffer, so the drop policy stays the one documented above.
                while not self._slots.acquire(timeout=0.1):
                    if self._closed:
                        self._abandon(batch[n:])
                        return
                try:
                    self._pool.submit(self._label, item)
                except RuntimeError:  # the pool was shut down by a close() that stopped waiting for us
                    self._slots.release()
                    self._abandon(batch[n:])
                    return

    def _abandon(self, items: list[Item]) -> None:
        with self._lock:
            for item in items:
                self._queued_or_in_flight.discard(item.key)
            self._in_flight -= len(items)
            self._counts["discarded"] += len(items)
            self._wake.notify_all()

    def _label(self, item: Item) -> None:
        try:
            with self._lock:
                self._counts["sent"] += 1
            prompt: str | list[dict[str, str]] = (
                [{"role": "user", "content": item.prompt}] if self.chat else item.prompt
            )
            outcome: LLMOutcome[T] | None = self.client.request(
                prompt, reply=self.reply, max_tokens=self.max_tokens, context=item.context
            )
        except Exception:
            # The client never raises for server or model trouble; this guards against a bug, which must not kill
            # the worker thread.
            outcome = None
        finally:
            self._slots.release()
        with self._lock:
            self._queued_or_in_flight.discard(item.key)
            self._in_flight -= 1
            if outcome is not None and outcome.ok:
                label = cast(T, outcome.value)
                self._results[item.key] = label
                self._new.append((item.key, label))
                self._counts["labelled"] += 1
            else:
                self._failed_until[item.key] = time.monotonic() + self.failure_backoff_s
                self._counts["failed"] += 1
            self._wake.notify_all()
