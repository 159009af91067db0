"""What a client may hold of a real ``framecast serve``: request heads over FRAMECAST_MAX_HEADER_BYTES get
431, heads slower than FRAMECAST_HEADER_TIMEOUT_S get 408 and are dropped, idle sockets are closed, and
none of it disturbs an open stream or a request with a big body."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from framecast.client.sse import parse
from tests.support.server import Server, create

TIMEOUT_S = 2.0
MAX_HEADER_BYTES = 8192


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("limits") / "data",
        workers=0,
        env={
            "FRAMECAST_HEADER_TIMEOUT_S": str(TIMEOUT_S),
            "FRAMECAST_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
            "FRAMECAST_PING_INTERVAL_S": "0.3",
        },
    ).start()
    yield srv
    srv.stop()


def _connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the timeout fails the test)."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _problem(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def _request(path: str, extra: bytes = b"") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra + b"\r\n"


class Stream(threading.Thread):
    """An SSE stream of a queued project, kept open; records when each ping arrived."""

    def __init__(self, server: Server, project_id: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{server.url}/api/projects/{project_id}/events"
        self.pings: list[float] = []
        self.ended = False
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Accept": "text/event-stream"}
        with httpx.stream("GET", self.url, headers=headers, timeout=httpx.Timeout(10, read=10)) as response:
            for message in parse(response.iter_lines()):
                if message.event == "ping":
                    self.pings.append(time.monotonic())
                if self.stop.is_set():
                    return
        self.ended = True


def test_a_head_over_the_limit_gets_431_problem_json_and_the_connection_closes(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(_request("/healthz", b"X-Big: " + b"a" * MAX_HEADER_BYTES + b"\r\n"))
        status, headers, body = _problem(_read_all(sock))
    assert status == 431
    assert headers["content-type"] == "application/problem+json" and headers["connection"] == "close"
    assert body["code"] == "request_header_fields_too_large" and "8,192 bytes" in body["message"]


def test_a_huge_head_is_refused_before_it_is_all_sent(limited: Server) -> None:
    # 4 MB of headers that never end: the server answers once it has the limit's worth, and closes.
    with _connect(limited) as sock:
        sent = 0
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        try:
            while sent < 4_000_000:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except OSError:
            pass  # closed under us: refused
        assert sent < 4_000_000, "the server read 4 MB of headers"
        try:
            raw = _read_all(sock)
        except ConnectionResetError:
            raw = b""  # the answer may be lost to the reset of a socket closed with unread input
    if raw:
        assert _problem(raw)[0] == 431


def test_a_head_under_the_limit_and_a_big_body_are_served(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(_request("/healthz", b"X-Fill: " + b"a" * (MAX_HEADER_BYTES - 200) + b"\r\n"))
        assert sock.recv(100).startswith(b"HTTP/1.1 200 ")
    # A body far over the head limit, in the same reads as the head: not a head, so not a 431.
    body = json.dumps({"prompt": "x" * 500_000}).encode()
    with _connect(limited) as sock:
        sock.sendall(
            b"POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status = int(sock.recv(100).split()[1])
    assert status == 422  # the prompt is too long: the app read the request


def test_a_slow_head_gets_408_and_is_dropped_within_the_timeout(limited: Server) -> None:
    with _connect(limited) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.setblocking(False)
        raw = b""
        while time.monotonic() - started < 15:
            try:
                sock.send(b"X")  # one byte of a header line every 100 ms: never finished
            except OSError:
                break
            time.sleep(0.1)
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not chunk:
                break
            raw += chunk
        elapsed = time.monotonic() - started
    assert TIMEOUT_S - 0.5 < elapsed < TIMEOUT_S + 5
    status, _, body = _problem(raw)
    assert status == 408 and body["code"] == "request_timeout"


def test_an_idle_connection_is_closed_within_the_timeout(limited: Server) -> None:
    with _connect(limited) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed without a word: nothing was asked
        assert time.monotonic() - started < TIMEOUT_S + 5


def test_a_kept_alive_connection_gets_the_deadline_again_for_its_next_request(limited: Server) -> None:
    with _connect(limited) as sock:
        sock.sendall(_request("/healthz"))
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the second request never finishes its head
        raw = _read_all(sock)
    assert _problem(raw)[0] == 408
    assert time.monotonic() - started < TIMEOUT_S + 5


def test_an_open_stream_stays_live_while_slow_and_huge_heads_are_refused(limited: Server) -> None:
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        project = create(client, prompt="A stream that stays", duration_s=1, resolution="360p")
    stream = Stream(limited, project["id"])
    stream.start()
    try:
        deadline = time.monotonic() + 10
        while not stream.pings and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stream.pings, "the stream never pinged"
        # a slowloris and a huge-header client, side by side with the stream
        slow = _connect(limited)
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        with _connect(limited) as big:
            big.sendall(_request("/healthz", b"X-Big: " + b"b" * (MAX_HEADER_BYTES * 2) + b"\r\n"))
            assert _problem(_read_all(big))[0] == 431
        assert _problem(_read_all(slow))[0] == 408  # dropped after the timeout
        slow.close()
        after = time.monotonic()
        while not any(t > after for t in stream.pings) and time.monotonic() < after + 5:
            time.sleep(0.05)
        assert any(t > after for t in stream.pings), "the stream went quiet"
        assert stream.is_alive() and not stream.ended
        # and the stream outlived the head deadline many times over
        assert stream.pings[-1] - stream.pings[0] > TIMEOUT_S
    finally:
        stream.stop.set()
        stream.join(timeout=5)
