"""Telling a trusted proxy from anyone else on one machine, and a stand-in for oauth2-proxy's auth endpoint.

Linux routes all of 127.0.0.0/8 to the loopback interface, so a process can connect from 127.0.0.2 while
the test client connects from 127.0.0.1: with ``FRAMECAST_TRUSTED_PROXIES=127.0.0.2/32`` only the first is
the proxy (nginx gets there with ``proxy_bind 127.0.0.2``; a test client with ``straight(..., source=)``).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.conftest import IN_CI

#: Where the trusted proxy connects from.
PROXY_ADDRESS = "127.0.0.2"


def missing(what: str) -> None:
    """Skip locally, fail in CI (where `make test` installs every tool)."""
    if IN_CI:
        pytest.fail(f"{what}; `make test` should have installed it")
    pytest.skip(what)


def require_proxy_address() -> str:
    try:
        with socket.socket() as s:
            s.bind((PROXY_ADDRESS, 0))
    except OSError:
        missing(f"{PROXY_ADDRESS} is not a local address here (Linux routes 127.0.0.0/8 to lo)")
    return PROXY_ADDRESS


def straight(base_url: str, *, source: str = "127.0.0.1") -> httpx.Client:
    """A client of ``base_url`` that connects from ``source``."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30, trust_env=False)


class AuthProxy:
    """What nginx's ``auth_request`` asks, as oauth2-proxy with ``--set-xauthrequest`` answers it:
    ``/oauth2/auth`` is 202 with ``X-Auth-Request-User`` for a known session cookie (no user header for
    a session mapped to ""), 401 otherwise; ``/oauth2/sign_in`` is a page."""

    def __init__(self, sessions: Mapping[str, str], *, cookie: str = "_oauth2_proxy") -> None:
        self.sessions = dict(sessions)
        self.cookie = cookie
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> AuthProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def user(self, cookie_header: str) -> str | None:
        for part in cookie_header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == self.cookie:
                return self.sessions.get(value)
        return None


def _handler(proxy: AuthProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.startswith("/oauth2/auth"):
                user = proxy.user(self.headers.get("Cookie", ""))
                if user is None:
                    self._answer(401, b"unauthorized")
                    return
                self.send_response(202)
                if user:
                    # The name's bytes as they are (UTF-8 for a unicode name): a proxy may send them so.
                    self.send_header("X-Auth-Request-User", user.encode().decode("latin-1"))
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path.startswith("/oauth2/sign_in"):
                self._answer(200, b"the sign-in page")
            else:
                self._answer(404, b"not here")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass

    return Handler
