"""What the loopback API servers of the tests share: a threaded HTTP server on 127.0.0.1, started
and stopped with the test, handing each request to the server's `handle()`.

A server subclasses LoopbackServer and implements `handle(method, target, headers, body)`, which
returns a Reply, or None to drop
the connection without an answer (a reply lost on the way).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackServer:
    _http: "_Http | None" = None

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        raise NotImplementedError

    def reply_headers(self, target: str) -> dict[str, str]:
        """Headers every reply to `target` carries (a request id, ...)."""
        return {}

    def start(self) -> Self:
        self._http = _Http(("127.0.0.1", 0), _Handler)
        self._http.app = self
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.02},
                         name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._http:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if not self._http:
            raise RuntimeError("server not started")
        return self._http.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _Http(ThreadingHTTPServer):
    daemon_threads = True
    app: LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Http

    def do_GET(self) -> None:
        self._respond("GET")

    def do_POST(self) -> None:
        self._respond("POST")

    def _respond(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        try:
            reply = self.server.app.handle(method, self.path, headers, body)
        except Exception as error:  # a bug in the fake: say so instead of hanging up
            self.send_response(599)
            message = f"{type(self.server.app).__name__} crashed: {error!r}".encode()
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)
            return
        if reply is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in {**self.server.app.reply_headers(self.path), **reply.headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: each server's own request log is the record tests read."""
