"""Throughput of the embedded LLM server, and what the asynchronous annotator costs the learner's thread.

1. Requests/s and completion tokens/s at concurrency 1, 4 and 8: the same number of distinct completion requests
   (greedy, no cache) sent through one :class:`~curricula.llm.LLMClient` from a thread pool.
2. The annotator's cost on the caller's thread: microseconds per item for ``submit`` of new items, ``submit`` of
   items already seen (the common case in training), and ``get``, measured while its workers are busy sending
   requests to the server (so GIL contention is included).

    python benchmarks/llm_server.py            # 24 requests per concurrency level, 32 tokens each
    python benchmarks/llm_server.py --quick    # under a minute (server start included)
    python benchmarks/llm_server.py --base-url http://127.0.0.1:8000/v1 --model my-model   # another server

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from curricula.llm import Annotator, ChoiceReply, EmbeddedLLMServer, LLMClient, LLMConfig, TextReply

PROMPT = "Here is a short story about a robot that explores maze number {i}. Once upon a time,"


def throughput(config: LLMConfig, concurrency: int, n_requests: int, max_tokens: int, offset: int) -> dict[str, Any]:
    """Send ``n_requests`` distinct completions with ``concurrency`` threads.

    :param config: where to send them
    :param concurrency: threads (requests in flight at most)
    :param n_requests: how many
    :param max_tokens: generation budget of each
    :param offset: makes prompts distinct across levels
    """
    with LLMClient(config) as client:

        def one(i: int) -> bool:
            outcome = client.request(
                PROMPT.format(i=offset + i), reply=TextReply(), max_tokens=max_tokens, use_cache=False
            )
            return outcome.ok

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            ok = sum(pool.map(one, range(n_requests)))
        wall = time.perf_counter() - started
        stats = client.stats.snapshot()
    return {
        "concurrency": concurrency,
        "requests": n_requests,
        "ok": ok,
        "wall_s": round(wall, 3),
        "requests_per_s": round(ok / wall, 3),
        "tokens_per_s": round(stats["completion_tokens"] / wall, 2),
        "latency_mean_s": round(stats["latency_mean_s"], 3),
    }


def annotator_cost(config: LLMConfig, n_items: int) -> dict[str, float]:
    """Microseconds per item on the caller's thread for submit (new / seen) and get.

    :param config: where the annotator's workers send requests
    :param n_items: distinct items submitted
    """
    client = LLMClient(config)
    annotator = Annotator(client, ChoiceReply(("FOO", "BAR")), max_tokens=3, concurrency=4, max_queue=n_items)
    items = [f"Event: caption number {i}. Label:" for i in range(n_items)]
    chunks = [items[i : i + 64] for i in range(0, n_items, 64)]  # a rollout's worth of captions per call
    try:
        started = time.perf_counter()
        for chunk in chunks:
            annotator.submit(chunk)
        new_us = (time.perf_counter() - started) / n_items * 1e6
        repeats = 5
        started = time.perf_counter()
        for _ in range(repeats):
            for chunk in chunks:
                annotator.submit(chunk)
        seen_us = (time.perf_counter() - started) / (n_items * repeats) * 1e6
        started = time.perf_counter()
        for _ in range(repeats):
            for item in items:
                annotator.get(item)
        get_us = (time.perf_counter() - started) / (n_items * repeats) * 1e6
        busy = annotator.stats()["sent"]
    finally:
        annotator.close()
        client.close()
    return {
        "submit_new_us_per_item": round(new_us, 3),
        "submit_seen_us_per_item": round(seen_us, 3),
        "get_us_per_item": round(get_us, 3),
        "sent_during_measurement": busy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8 requests per level, 16 tokens (under a minute)")
    parser.add_argument("--requests", type=int, default=None, help="requests per concurrency level")
    parser.add_argument("--max-tokens", type=int, default=None)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--items", type=int, default=20_000, help="annotator items for the caller-cost figure")
    parser.add_argument("--base-url", default=None, help="benchmark this server instead of the embedded one")
    parser.add_argument("--model", default="default", help="model name for --base-url")
    parser.add_argument("--backend", default="llama-cpp-python", choices=["llama-cpp-python", "llama-server"])
    parser.add_argument("--threads", type=int, default=None, help="embedded server threads")
    args = parser.parse_args()
    n_requests = args.requests or (8 if args.quick else 24)
    max_tokens = args.max_tokens or (16 if args.quick else 32)

    server: EmbeddedLLMServer | None = None
    started = time.perf_counter()
    if args.base_url is None:
        server = EmbeddedLLMServer(backend=args.backend, n_threads=args.threads, parallel=max(args.levels)).start()
        config = server.config(timeout_s=120.0, max_retries=0)
    else:
        config = LLMConfig(base_url=args.base_url, model=args.model, timeout_s=120.0, max_retries=0)
    startup_s = time.perf_counter() - started
    try:
        # One warm-up request: loads weights into the page cache and the first prompt's KV state.
        throughput(config, 1, 1, 4, offset=10_000)
        rows = []
        for n, level in enumerate(args.levels):
            row = throughput(config, level, n_requests, max_tokens, offset=n * 1000)
            print(json.dumps(row))
            rows.append(row)
        cost = annotator_cost(config, args.items)
        print(json.dumps(cost))
    finally:
        if server is not None:
            server.stop()
    result = {
        "benchmark": "llm_server",
        "server": args.base_url or f"embedded {args.backend} ({server.n_threads if server else '?'} threads)",
        "model": config.model,
        "startup_s": round(startup_s, 2),
        "max_tokens": max_tokens,
        "levels": rows,
        "annotator": cost,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "quick": args.quick,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
