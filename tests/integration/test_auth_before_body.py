"""Who is asking is settled from the request's head, before its body is read (keys and proxy mode): an
anonymous caller, a bad key or a forged owner header from an untrusted address gets 401 while the body is
still unsent, so nobody without a credential can make a real ``framecast serve`` take in (or spool to disk)
a 25 MB upload, or hold a connection open by sending a body a byte at a time. A caller with a key is
served as before, body and all."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.images import png_bytes
from tests.support.keys import make_key
from tests.support.server import Server

BIG = 20_000_000  # under the upload limit (25 MB) and the JSON limit is 1 MB: declared, never sent


def _start(tmp: Path, mode: str) -> tuple[Server, str]:
    data = tmp / "data"
    data.mkdir(parents=True)
    key = make_key(data, "alice")
    # Proxy mode trusts an address no test connection comes from: every owner header here is forged.
    env = {"FRAMECAST_AUTH": mode, "FRAMECAST_TRUSTED_PROXIES": "192.0.2.1/32"}
    return Server(data, workers=0, env=env).start(), key


@pytest.fixture(scope="module")
def keys_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    srv, key = _start(tmp_path_factory.mktemp("keys"), "keys")
    yield srv, key
    srv.stop()


@pytest.fixture(scope="module")
def proxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv, _ = _start(tmp_path_factory.mktemp("proxy"), "proxy")
    yield srv
    srv.stop()


def _head_only(server: Server, head: str, first_bytes: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Send a request's head and the first bytes of its body, then read the answer without sending more
    (the socket's timeout fails the test if the server waits for the rest)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head.encode() + first_bytes)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < _length(raw):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    head_part, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head_part.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def _length(raw: bytes) -> int:
    for line in raw.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


CREDENTIALS = {
    "none": "",
    "a bad key": "Authorization: Bearer fc_00000000000000000000_" + "A" * 43 + "\r\n",
    "a forged owner header": "X-Forwarded-User: alice\r\n",
    "a forged session": "Cookie: framecast_session=fcs_" + "A" * 43 + "\r\n",
}


@pytest.mark.parametrize("mode", ["keys", "proxy"])
@pytest.mark.parametrize("credential", CREDENTIALS.values(), ids=list(CREDENTIALS))
@pytest.mark.parametrize(
    ("path", "content_type", "first"),
    [
        ("/api/uploads", "multipart/form-data; boundary=xx", b"--xx\r\n"),
        ("/api/projects", "application/json", b'{"prompt": "'),
        ("/api/webhooks", "application/json", b'{"url": "'),
    ],
    ids=["upload", "project", "webhook"],
)
def test_an_unauthenticated_body_is_refused_before_it_is_sent(
    request: pytest.FixtureRequest, mode: str, credential: str, path: str, content_type: str, first: bytes
) -> None:
    srv = (
        request.getfixturevalue("keys_server")[0]
        if mode == "keys"
        else request.getfixturevalue("proxy_server")
    )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {BIG if path == '/api/uploads' else 900_000}\r\n{credential}\r\n"
    )
    status, headers, body = _head_only(srv, head, first)
    assert status == 401 and body["code"] == "unauthenticated", body
    assert headers["www-authenticate"].startswith("Bearer")


def test_with_a_key_the_body_is_read_and_served(keys_server: tuple[Server, str]) -> None:
    # (Proxy mode's accepted requests are tested behind a real nginx in test_proxy_mode.py.)
    srv, key = keys_server
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        up = c.post("/api/uploads", files={"file": ("a.png", png_bytes(), "image/png")})
        assert up.status_code == 201, up.text
        assert c.post("/api/projects", json={"prompt": "A lighthouse"}).status_code == 201
    with httpx.Client(base_url=srv.url, timeout=30) as anonymous:
        # Signing in is the one change made without a credential: its body is read.
        assert anonymous.post("/api/session", json={"key": key}).status_code == 200
