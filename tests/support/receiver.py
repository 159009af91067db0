"""A webhook receiver on a real socket: ``http.server`` on 127.0.0.1 in a thread, recording every request
and answering each path from a script of status codes."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    #: When it arrived (time.time(), to compare with the ledger's timestamps).
    at: float = 0.0

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> object:
        """The parsed body if ``secret`` signed it (standardwebhooks raises WebhookVerificationError if not)."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    """``script(path, [500, 500, 204])`` answers the first requests to ``path`` so, the last code repeating
    (default 204); ``delay_s`` holds every answer that long; ``redirect`` paths answer 302."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.scheme = "https" if tls else "http"
        self.received: list[Received] = []
        self._scripts: dict[str, list[int]] = {}
        self._cond = threading.Condition()
        self.delay_s = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(self.path, Received(self.path, headers, body, time.time()))
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "/redirected")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def _answer(self, path: str, request: Received) -> int:
        with self._cond:
            self.received.append(request)
            self._cond.notify_all()
            script = self._scripts.get(path.split("?")[0])
            if not script:
                return 204
            return script.pop(0) if len(script) > 1 else script[0]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def script(self, path: str, codes: list[int]) -> None:
        with self._cond:
            self._scripts[path] = list(codes)

    def at(self, path: str) -> list[Received]:
        with self._cond:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int, timeout_s: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = [r for r in self.received if r.path == path]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{path}: {len(found)} of {count} requests arrived in {timeout_s} s")
                self._cond.wait(left)


@contextmanager
def running_receiver(*, tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    receiver = Receiver(tls=tls).start()
    try:
        yield receiver
    finally:
        receiver.stop()
