"""A defensive client for any OpenAI-compatible server (llama.cpp, vLLM, Ollama, OpenAI).

Training must never wait on, or crash because of, a language model. So every call here:

- is bounded in time (per-attempt timeout, a few retries with capped exponential backoff and jitter);
- goes through a circuit breaker, so that a dead server costs one fast check per call instead of a timeout;
- is answered from an on-disk cache when the same (model, prompt, parameters) was answered before;
- returns a typed value (parsed strictly by a :mod:`~curricula.llm.replies` format, e.g. into a pydantic model) or
  the caller's neutral default on any failure: transport errors, timeouts, 429/5xx, garbage bodies, or model output
  that the reply format rejects (LLM output is untrusted input: parsed, never executed);
- is counted, so that a degraded teacher shows up in TensorBoard (:func:`record_llm_stats`).

The API key is read from an environment variable whose *name* is configurable; the key itself is never stored in
the config, the cache, the counters or a log line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

import openai
from typing_extensions import TypedDict, Unpack

from curricula.llm.replies import CONSTRAINT_STYLES, ReplyFormat, as_reply_format, constraint_body

logger = logging.getLogger(__name__)

T = TypeVar("T")
D = TypeVar("D")

DEFAULT_API_KEY_ENV = "CURRICULA_LLM_API_KEY"


# --------------------------------------------------------------------------------------------------------------
# Configuration


@dataclass
class LLMConfig:
    """Where and how to reach the server. Plain data: safe to save next to a run (it holds no secret).

    :param base_url: the server's OpenAI-compatible root, e.g. ``http://127.0.0.1:8080/v1``
    :param model: model name sent with each request (llama.cpp servers accept any name or their alias)
    :param api_key_env: NAME of the environment variable holding the API key; ``"EMPTY"`` is sent when unset
        (what local servers expect)
    :param timeout_s: per-attempt timeout (connect + read), seconds
    :param max_retries: retries after the first attempt, on timeouts, connection errors, 429, 5xx and garbage
    :param backoff_base_s: first backoff; doubled after each failed attempt, with full jitter
    :param backoff_max_s: cap on one backoff (also caps a server's ``Retry-After``)
    :param breaker_threshold: consecutive failed calls that open the circuit breaker
    :param breaker_cooldown_s: how long the breaker stays open before one probe call is let through
    :param cache_dir: directory of the on-disk response cache; ``None`` disables caching
    :param constraint_style: how constraints are sent: ``"llama.cpp"`` (``grammar`` / ``json_schema``),
        ``"vllm"`` (``guided_choice`` / ``guided_json`` / ``guided_grammar``), ``"openai"`` (``response_format``
        JSON schema, chat only) or ``"none"`` (rely on parsing alone)
    """

    base_url: str = "http://127.0.0.1:8080/v1"
    model: str = "default"
    api_key_env: str = DEFAULT_API_KEY_ENV
    timeout_s: float = 30.0
    max_retries: int = 2
    backoff_base_s: float = 0.25
    backoff_max_s: float = 4.0
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 15.0
    cache_dir: str | None = None
    constraint_style: str = "llama.cpp"

    def __post_init__(self) -> None:
        # Bad input gets an error naming the field.
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.api_key_env):
            raise ValueError(f"api_key_env must be an environment variable name, got {self.api_key_env!r}")
        for name in ("timeout_s", "breaker_cooldown_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("backoff_base_s", "backoff_max_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries!r}")
        if self.breaker_threshold < 1:
            raise ValueError(f"breaker_threshold must be >= 1, got {self.breaker_threshold!r}")
        if self.constraint_style not in CONSTRAINT_STYLES:
            raise ValueError(f"constraint_style must be one of {CONSTRAINT_STYLES}, got {self.constraint_style!r}")

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON data (the key's variable name, never the key)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LLMConfig:
        """Build from JSON data, refusing unknown keys.

        :param data: a dict as written by :meth:`to_dict`
        """
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown llm config keys {unknown}; known: {sorted(known)}")
        return cls(**dict(data))

    def api_key(self) -> str:
        """The key from the environment (``"EMPTY"`` when unset). Not cached, so it is never saved by accident."""
        return os.environ.get(self.api_key_env) or "EMPTY"


# --------------------------------------------------------------------------------------------------------------
# Counters


class LLMStats:
    """Thread-safe counters of one client. ``snapshot()`` gives plain floats for loggers."""

    FIELDS = (
        "requests",  # calls made by callers (cache hits included)
        "attempts",  # HTTP attempts (retries included)
        "cache_hits",
        "successes",
        "failures",  # calls that ended in the default (any reason below, or breaker rejections)
        "timeouts",
        "connection_errors",
        "rate_limited",
        "server_errors",
        "bad_responses",  # garbage bodies, missing fields, other 4xx
        "parse_failures",  # the model answered, but the reply did not validate
        "retries",
        "breaker_opens",
        "breaker_rejections",
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.FIELDS, 0)
        self._latency_sum = 0.0
        self._latency_n = 0
        self._latency_max = 0.0
        self.completion_tokens = 0

    def add(self, name: str, n: int = 1) -> None:
        """Increment a counter.

        :param name: one of :attr:`FIELDS`
        :param n: the increment
        """
        with self._lock:
            self._counts[name] += n

    def add_latency(self, seconds: float, tokens: int = 0) -> None:
        """Record the latency of one successful HTTP round trip.

        :param seconds: wall time of the round trip
        :param tokens: completion tokens the server reported
        """
        with self._lock:
            self._latency_sum += seconds
            self._latency_n += 1
            self._latency_max = max(self._latency_max, seconds)
            self.completion_tokens += tokens

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, float]:
        """All counters, plus mean/max latency in seconds and completion tokens."""
        with self._lock:
            out: dict[str, float] = {k: float(v) for k, v in self._counts.items()}
            out["latency_mean_s"] = self._latency_sum / self._latency_n if self._latency_n else 0.0
            out["latency_max_s"] = self._latency_max
            out["completion_tokens"] = float(self.completion_tokens)
        return out


class _SupportsRecord(Protocol):
    def record(self, key: str, value: Any, exclude: Any = None) -> None: ...


class _SupportsSnapshot(Protocol):
    def snapshot(self) -> Mapping[str, float]: ...


def record_llm_stats(
    logger: _SupportsRecord, stats: _SupportsSnapshot | Mapping[str, float], prefix: str = "llm/"
) -> None:
    """Write counters to an SB3 logger (``model.logger`` or ``self.logger`` in a callback): they reach
    TensorBoard/CSV at the next ``dump``.

    :param logger: an SB3 ``Logger`` (anything with ``record(key, value)``)
    :param stats: :class:`LLMStats`, an annotator's stats, or a plain mapping
    :param prefix: key prefix
    """
    values = stats if isinstance(stats, Mapping) else stats.snapshot()
    for name, value in values.items():
        logger.record(f"{prefix}{name}", float(value))


# --------------------------------------------------------------------------------------------------------------
# Circuit breaker


class CircuitBreaker:
    """Closed → (``threshold`` consecutive failures) → open → (``cooldown_s``) → half-open: one probe call.
    A successful probe closes it; a failed one reopens it for another cooldown.

    :param threshold: consecutive failures that open the breaker
    :param cooldown_s: seconds the breaker stays open
    :param clock: monotonic clock (injectable for tests)
    """

    def __init__(self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_in_flight = False
        self.opens = 0

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"``."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._probe_in_flight or self._clock() - self._opened_at >= self.cooldown_s:
                return "half_open"
            return "open"

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open state, only the single probe may)."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probe_in_flight or self._clock() - self._opened_at < self.cooldown_s:
                return False
            self._probe_in_flight = True
            return True

    def record_success(self) -> None:
        """A call got a usable answer: close."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probe_in_flight = False

    def record_failure(self) -> bool:
        """A call failed. Returns ``True`` if this opened (or reopened) the breaker."""
        with self._lock:
            self._failures += 1
            if self._probe_in_flight or (self._opened_at is None and self._failures >= self.threshold):
                self._opened_at = self._clock()
                self._probe_in_flight = False
                self.opens += 1
                return True
            return False


# --------------------------------------------------------------------------------------------------------------
# Cache


class ResponseCache:
    """A directory of small JSON files, one per answered request, named by the SHA-256 of the request.

    JSON (not pickle) because the files are data a user may inspect or share; writes go to a temporary file in
    the same directory and are renamed into place, so a reader never sees half a file and concurrent writers
    (threads or processes) of the same key are harmless. Only replies that the reply format accepted are stored.

    :param root: the cache directory (created on first write)
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    @staticmethod
    def key(data: Mapping[str, Any]) -> str:
        """SHA-256 of the canonical JSON of ``data``.

        :param data: model, prompt or messages, generation parameters and constraint
        """
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        """The cached reply text, or ``None`` (missing or unreadable files count as misses).

        :param key: from :meth:`key`
        """
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        text = data.get("text") if isinstance(data, dict) else None
        return text if isinstance(text, str) else None

    def put(self, key: str, text: str, model: str) -> None:
        """Store a reply atomically. I/O errors are logged and ignored: the cache is an optimisation.

        :param key: from :meth:`key`
        :param text: the reply text
        :param model: the model name (for a human reading the file)
        """
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump({"model": model, "text": text, "created": time.time()}, fh)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as err:
            logger.warning("llm cache write failed (%s); continuing without caching this reply", err)

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.exists() else 0


# --------------------------------------------------------------------------------------------------------------
# Client


@dataclass(frozen=True)
class LLMOutcome(Generic[T]):
    """What one call produced.

    :param value: the parsed, typed reply (``None`` when ``ok`` is false)
    :param ok: whether a reply was obtained and accepted by the reply format
    :param cached: whether it came from the cache
    :param error: why not, when not ok: ``timeout``, ``connection``, ``rate_limited``, ``server_error``,
        ``bad_response``, ``parse`` (the reply was rejected) or ``breaker_open``
    :param text: the raw reply text, when one was received
    """

    value: T | None
    ok: bool
    cached: bool = False
    error: str | None = None
    text: str | None = None

    def value_or(self, default: D) -> T | D:
        """The typed value when the call succeeded, else ``default``.

        :param default: the caller's neutral value
        """
        return cast(T, self.value) if self.ok else default


class RequestOptions(TypedDict, total=False):
    """Keyword options of :meth:`LLMClient.complete` and :meth:`LLMClient.chat`, as :meth:`LLMClient.request`
    documents them."""

    max_tokens: int
    temperature: float
    stop: Sequence[str] | None
    seed: int | None
    use_cache: bool
    context: Mapping[str, Any] | None


@dataclass
class _Attempt:
    text: str | None = None
    error: str | None = None
    retry_after_s: float | None = None
    retryable: bool = False
    tokens: int = 0


class LLMClient:
    """Completions and chat against an OpenAI-compatible server, with timeouts, retries, a circuit breaker, an
    on-disk cache and counters; replies come back typed (a :class:`~curricula.llm.replies.ReplyFormat` or a
    pydantic model class says how). Thread-safe: one client can serve many threads.

    :param config: an :class:`LLMConfig`; keyword arguments override its fields
    :param clock: monotonic clock for the breaker (injectable for tests)
    :param sleep: sleep function for backoffs (injectable for tests)
    """

    def __init__(
        self,
        config: LLMConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        **overrides: Any,
    ) -> None:
        base = config.to_dict() if config is not None else {}
        base.update(overrides)
        self.config = LLMConfig.from_dict(base)
        self.stats = LLMStats()
        self.breaker = CircuitBreaker(self.config.breaker_threshold, self.config.breaker_cooldown_s, clock)
        self.cache = ResponseCache(self.config.cache_dir) if self.config.cache_dir else None
        self._sleep = sleep
        self._rng = random.Random()
        # openai's own retries are off: ours are counted and share the breaker. A loopback server is reached
        # directly even when HTTP(S)_PROXY is set in the environment (a proxy could not reach it anyway).
        host = urllib.parse.urlsplit(self.config.base_url).hostname or ""
        loopback = host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")
        self._client = openai.OpenAI(
            base_url=self.config.base_url,
            api_key=self.config.api_key(),
            timeout=self.config.timeout_s,
            max_retries=0,
            http_client=openai.DefaultHttpxClient(trust_env=False) if loopback else None,
        )

    def __repr__(self) -> str:
        c = self.config
        return f"LLMClient(base_url={c.base_url!r}, model={c.model!r}, api_key_env={c.api_key_env!r})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public calls -------------------------------------------------------------------------------------------

    def complete(
        self, prompt: str, *, reply: ReplyFormat[T] | type[T], default: D, **options: Unpack[RequestOptions]
    ) -> T | D:
        """A (legacy) completion, what base models want: :meth:`chat` for a prompt string.

        :param prompt: completion-style prompt text; the other parameters are :meth:`chat`'s
        """
        return self.request(prompt, reply=reply, **options).value_or(default)

    def chat(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        reply: ReplyFormat[T] | type[T],
        default: D,
        **options: Unpack[RequestOptions],
    ) -> T | D:
        """A chat completion, what instruction-tuned models want: the typed reply, or ``default`` on any failure.

        :param messages: ``[{"role": "system" | "user" | "assistant", "content": ...}, ...]``
        :param reply: the reply's format, or a pydantic model class (see :meth:`request`)
        :param default: the neutral value returned on any failure (server down, reply rejected, ...)
        :param options: ``max_tokens``, ``temperature``, ``stop``, ``seed``, ``use_cache``, ``context``, as
            :meth:`request` documents them
        """
        return self.request(messages, reply=reply, **options).value_or(default)

    def request(
        self,
        prompt: str | Sequence[Mapping[str, str]],
        *,
        reply: ReplyFormat[T] | type[T],
        max_tokens: int = 32,
        temperature: float = 0.0,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
        use_cache: bool = True,
        context: Mapping[str, Any] | None = None,
    ) -> LLMOutcome[T]:
        """The full outcome of one call: the one path :meth:`complete` and :meth:`chat` share. Never raises for
        server or model trouble; raises ``TypeError``/``ValueError`` only for a call the caller built wrongly.

        :param prompt: a prompt string (a completion) or a list of chat messages (a chat completion)
        :param reply: a :class:`~curricula.llm.replies.ReplyFormat` (its constraint is sent, its parser decides
            what is accepted), or a pydantic model class, which means ``ModelReply(model)``: the model's JSON
            schema is sent and the reply is parsed strictly into the model
        :param max_tokens: generation budget
        :param temperature: sampling temperature (0: greedy, and cacheable)
        :param stop: stop strings
        :param seed: sampling seed, where the server supports it
        :param use_cache: read and write the on-disk cache
        :param context: passed to the reply format's parser (a pydantic model's validators read it as
            ``info.context``), e.g. the level a reply must fit; not part of the cache key, since a cached reply is
            parsed again with the context of the call that reads it
        """
        reply_format = as_reply_format(reply)
        chat = not isinstance(prompt, str)
        request_input: str | list[dict[str, str]] = prompt if isinstance(prompt, str) else [dict(m) for m in prompt]
        params: dict[str, Any] = {"max_tokens": int(max_tokens), "temperature": float(temperature)}
        if stop:
            params["stop"] = list(stop)
        if seed is not None:
            params["seed"] = int(seed)
        constraint = reply_format.constraint
        extra = constraint_body(constraint, self.config.constraint_style, chat)
        self.stats.add("requests")

        key: str | None = None
        if self.cache is not None and use_cache:
            key = ResponseCache.key(
                {
                    "model": self.config.model,
                    "kind": "chat" if chat else "completion",
                    "input": request_input,
                    "params": params,
                    "constraint": constraint.to_key() if constraint is not None else None,
                }
            )
            cached = self.cache.get(key)
            if cached is not None:
                try:
                    value = reply_format.parse(cached, context)
                except Exception:  # an entry this format (or context) no longer accepts is not trusted: ask again
                    pass
                else:
                    self.stats.add("cache_hits")
                    return LLMOutcome(value=value, ok=True, cached=True, text=cached)

        if not self.breaker.allow():
            self.stats.add("breaker_rejections")
            self.stats.add("failures")
            return LLMOutcome(value=None, ok=False, error="breaker_open")

        attempt = _Attempt()
        for i in range(self.config.max_retries + 1):
            if i > 0:
                self.stats.add("retries")
                self._sleep(self._backoff(i, attempt.retry_after_s))
            self.stats.add("attempts")
            start = time.perf_counter()
            attempt = self._send(request_input, params, extra)
            if attempt.error is None:
                self.stats.add_latency(time.perf_counter() - start, attempt.tokens)
                break
            self.stats.add(_ERROR_COUNTER[attempt.error])
            if not attempt.retryable:
                break

        if attempt.error is not None or attempt.text is None:
            self.stats.add("failures")
            if self.breaker.record_failure():
                self.stats.add("breaker_opens")
                logger.warning("llm circuit breaker opened after %s", attempt.error)
            return LLMOutcome(value=None, ok=False, error=attempt.error or "bad_response")

        # The server answered: that is a success for the breaker, whatever the model said.
        self.breaker.record_success()
        try:
            value = reply_format.parse(attempt.text, context)
        except Exception as err:  # any exception from a parser means "reject": training must not see it
            self.stats.add("parse_failures")
            self.stats.add("failures")
            if isinstance(err, ValueError):
                logger.debug("llm reply rejected by %r: %s", reply_format, err)
            else:  # not the model's fault: most likely a bug in a custom format or a model validator
                logger.warning("llm reply parser %r raised %s: %s", reply_format, type(err).__name__, err)
            return LLMOutcome(value=None, ok=False, error="parse", text=attempt.text)
        self.stats.add("successes")
        if key is not None and self.cache is not None:
            self.cache.put(key, attempt.text, self.config.model)
        return LLMOutcome(value=value, ok=True, text=attempt.text)

    # -- internals ----------------------------------------------------------------------------------------------

    def _backoff(self, attempt: int, retry_after_s: float | None) -> float:
        cap = self.config.backoff_max_s
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), cap)
        # Full jitter: spreads retries of many concurrent callers.
        return self._rng.uniform(0.0, min(cap, self.config.backoff_base_s * 2 ** (attempt - 1)))

    def _send(
        self, request_input: str | list[dict[str, str]], params: dict[str, Any], extra: dict[str, Any]
    ) -> _Attempt:
        body = dict(extra)
        response_format = body.pop("response_format", None)
        try:
            if isinstance(request_input, str):
                response: Any = self._client.completions.create(
                    model=self.config.model, prompt=request_input, extra_body=body or None, **params
                )
                text = response.choices[0].text
            else:
                kwargs: dict[str, Any] = dict(params)
                if response_format is not None:
                    kwargs["response_format"] = response_format
                response = self._client.chat.completions.create(
                    model=self.config.model,
                    messages=request_input,  # type: ignore[arg-type]
                    extra_body=body or None,
                    **kwargs,
                )
                text = response.choices[0].message.content
        except openai.APITimeoutError:
            return _Attempt(error="timeout", retryable=True)
        except openai.APIConnectionError:
            return _Attempt(error="connection", retryable=True)
        except openai.RateLimitError as err:
            return _Attempt(error="rate_limited", retryable=True, retry_after_s=_retry_after(err.response))
        except openai.APIStatusError as err:
            if err.status_code >= 500:
                return _Attempt(error="server_error", retryable=True)
            return _Attempt(error="bad_response", retryable=False)
        except Exception:
            # Garbage bodies surface as decode/validation/attribute/index errors depending on the garbage.
            return _Attempt(error="bad_response", retryable=True)
        if not isinstance(text, str):
            return _Attempt(error="bad_response", retryable=True)
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "completion_tokens", 0) if usage is not None else 0
        return _Attempt(text=text, tokens=tokens if isinstance(tokens, int) else 0)


_ERROR_COUNTER = {
    "timeout": "timeouts",
    "connection": "connection_errors",
    "rate_limited": "rate_limited",
    "server_error": "server_errors",
    "bad_response": "bad_responses",
}


def _retry_after(response: Any) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
