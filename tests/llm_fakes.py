"""Loopback helpers for the LLM tests: a counting proxy in front of the real server, and tiny fakes used for fault
injection only (never instead of the real server on the happy path)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the test output stays readable
        pass


class _LoopbackServer(ThreadingHTTPServer):
    """A threaded HTTP server on a free loopback port, serving from a daemon thread until :meth:`close`."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(_QuietHandler):
    server: CountingProxy

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        proxy = self.server
        if method == "POST" and body:
            try:
                data = json.loads(body)
                key = data.get("prompt") if "prompt" in data else json.dumps(data.get("messages"))
            except ValueError:
                key = None
            with proxy.lock:
                proxy.counts[str(key)] += 1
                proxy.in_flight += 1
                proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
        try:
            conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(method, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            conn.close()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            self.send_error(502)
        finally:
            if method == "POST" and body:
                with proxy.lock:
                    proxy.in_flight -= 1

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")


class CountingProxy(_LoopbackServer):
    """Forwards to the real server and counts POSTs per prompt, and the most requests ever in flight."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.counts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        super().__init__(_ProxyHandler)


class _FakeHandler(_QuietHandler):
    server: FakeServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = self.rfile.read(length)
        with self.server.lock:
            self.server.requests += 1
            self.server.headers_seen.append(dict(self.headers.items()))
            self.server.bodies_seen.append(json.loads(request) if request else None)
        status, headers, body = self.server.reply(chat=self.path.endswith("/chat/completions"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeServer(_LoopbackServer):
    """A loopback fake answering every POST the same wrong way (fault injection only).

    Modes: ``429`` (with Retry-After 0), ``500``, ``garbage`` (200, non-JSON body), ``no_choices`` (200, JSON
    without choices), ``wrong_types`` (200, a completion whose text is a number), ``reply`` (a well-formed
    completion or chat completion, as the endpoint asked, whose text is :attr:`text`: model output the test
    chooses, usually hostile).

    :param mode: one of the modes above
    :param text: the model output of mode ``reply`` (may be changed between requests)
    """

    def __init__(self, mode: str, text: str = "") -> None:
        self.mode = mode
        self.text = text
        self.requests = 0
        self.headers_seen: list[dict[str, str]] = []
        self.bodies_seen: list[Any] = []
        super().__init__(_FakeHandler)

    def reply(self, chat: bool) -> tuple[int, dict[str, str], bytes]:
        json_headers = {"Content-Type": "application/json"}
        if self.mode == "429":
            return 429, {**json_headers, "Retry-After": "0"}, b'{"error": {"message": "slow down"}}'
        if self.mode == "500":
            return 500, json_headers, b'{"error": {"message": "boom"}}'
        if self.mode == "garbage":
            return 200, json_headers, b"\x00\xffthis is not json <html>"
        if self.mode == "no_choices":
            return 200, json_headers, b'{"id": "x", "object": "text_completion", "model": "m"}'
        if self.mode == "wrong_types":
            return 200, json_headers, json.dumps({"choices": [{"text": 5, "index": 0}]}).encode()
        if self.mode == "reply":
            if chat:
                choice: dict[str, Any] = {"message": {"role": "assistant", "content": self.text}}
                kind = "chat.completion"
            else:
                choice, kind = {"text": self.text}, "text_completion"
            body = {
                "id": "x",
                "object": kind,
                "created": 0,
                "model": "m",
                "choices": [{**choice, "index": 0, "finish_reason": "stop"}],
            }
            return 200, json_headers, json.dumps(body).encode()
        raise ValueError(self.mode)


class SilentServer:
    """Accepts TCP connections and never answers (a hung server)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.connections: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections.append(conn)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        for conn in self.connections:
            conn.close()
        self.sock.close()


def read_tree(root: Path) -> str:
    """All text under ``root`` (for secret scans)."""
    return "\n".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())
