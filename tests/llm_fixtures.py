"""Fixtures for the LLM tests: one real embedded server per session and a counting proxy in front of it.

Loaded by the LLM test modules through ``pytest_plugins = ["tests.llm_fixtures"]``, so the session-scoped server
is started once for all of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from curricula.llm import EmbeddedLLMServer, LLMServerError
from tests.llm_fakes import CountingProxy


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLLMServer]:
    """The real embedded server (llama-cpp-python + packaged Gemma-3-270M; ``CURRICULA_LLM_TEST_BACKEND=llama-server``
    runs the same tests against a llama-server binary). Fails, not skips, when it cannot start: CI must exercise
    it (``make llm-setup`` installs it)."""
    backend = os.environ.get("CURRICULA_LLM_TEST_BACKEND", "llama-cpp-python")
    server = EmbeddedLLMServer(backend=backend, log_path=tmp_path_factory.mktemp("llm") / "server.log")
    try:
        server.start()
    except LLMServerError as err:
        pytest.fail(f"embedded LLM server did not start: {err}")
    yield server
    server.stop()


@pytest.fixture
def counting_proxy(llm_server: EmbeddedLLMServer) -> Iterator[CountingProxy]:
    assert llm_server.port is not None
    proxy = CountingProxy(llm_server.host, llm_server.port)
    yield proxy
    proxy.close()
