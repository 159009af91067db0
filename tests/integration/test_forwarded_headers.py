"""The proxy's headers outside proxy mode, and X-Forwarded-Proto in every mode, tried from a trusted and an
untrusted address (127.0.0.2 and 127.0.0.1: see tests/support/auth_proxy.py).

* keys and none mode never read the owner header, not even from a trusted proxy;
* ``X-Forwarded-Proto: https`` makes the session cookie Secure and lets an https page make changes only
  when a trusted proxy says it (an attacker's own header changes neither).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from framecast.client.local import free_port
from framecast.client.sse import parse
from tests.support.auth_proxy import PROXY_ADDRESS, missing, require_proxy_address, straight
from tests.support.keys import make_key
from tests.support.nginx import Nginx, nginx_binary
from tests.support.server import Server, run_async

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


@pytest.fixture(scope="module")
def keys_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    require_proxy_address()
    data = tmp_path_factory.mktemp("keys") / "data"
    data.mkdir(parents=True)
    key = make_key(data, "alice")
    srv = Server(
        data, workers=0, env={"FRAMECAST_AUTH": "keys", "FRAMECAST_TRUSTED_PROXIES": f"{PROXY_ADDRESS}/32"}
    ).start()
    yield srv, key
    srv.stop()


def test_keys_mode_ignores_the_owner_header_even_from_a_trusted_proxy(
    keys_server: tuple[Server, str],
) -> None:
    srv, key = keys_server
    with straight(srv.url, source=PROXY_ADDRESS) as proxy:
        spoof = {"X-Forwarded-User": "alice"}
        _problem(proxy.get("/api/videos", headers=spoof), 401, "unauthenticated")
        _problem(proxy.post("/api/projects", json={"prompt": "x"}, headers=spoof), 401, "unauthenticated")
        assert proxy.get("/api/session", headers=spoof).json()["signed_in"] is False
        # With a key, the header does not change who you are either.
        bearer = {"Authorization": f"Bearer {key}"}
        made = proxy.post(
            "/api/projects", json={"prompt": "x"}, headers={**bearer, "X-Forwarded-User": "mallory"}
        )
        assert made.status_code == 201
        assert proxy.get("/api/session", headers={**bearer, **spoof}).json()["owner"] == "alice"


@pytest.mark.parametrize(("source", "trusted"), [("127.0.0.1", False), (PROXY_ADDRESS, True)])
def test_forwarded_proto_counts_only_from_a_trusted_proxy(
    keys_server: tuple[Server, str], source: str, trusted: bool
) -> None:
    srv, key = keys_server
    with straight(srv.url, source=source) as client:
        signed_in = client.post("/api/session", json={"key": key}, headers={"X-Forwarded-Proto": "https"})
        assert signed_in.status_code == 200, signed_in.text
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert ("; secure" in cookie) is trusted
        # Which page may make changes follows the same rule: an https page only behind a trusted proxy.
        https_page = {"Origin": f"https://127.0.0.1:{srv.port}", "X-Forwarded-Proto": "https"}
        made = client.post(
            "/api/projects", json={"prompt": "x"}, headers={"Authorization": f"Bearer {key}", **https_page}
        )
        assert made.status_code == (201 if trusted else 403), made.text


def test_none_mode_ignores_the_owner_header(tmp_path: Path) -> None:
    require_proxy_address()
    srv = Server(
        tmp_path / "data", workers=0, env={"FRAMECAST_TRUSTED_PROXIES": f"{PROXY_ADDRESS}/32"}
    ).start()
    try:
        with straight(srv.url, source=PROXY_ADDRESS) as proxy, straight(srv.url) as plain:
            spoof = {"X-Forwarded-User": "bob"}
            assert proxy.get("/api/session", headers=spoof).json()["owner"] == "local"
            made = proxy.post("/api/projects", json={"prompt": "x"}, headers=spoof)
            assert made.status_code == 201
            # The one owner reads it, header or not: "bob" is nobody here.
            assert plain.get(f"/api/projects/{made.json()['id']}").status_code == 200
    finally:
        srv.stop()


def test_the_scale_out_nginx_conf_passes_the_page_sse_and_websocket(keys_server: tuple[Server, str]) -> None:
    """deploy/nginx.conf (compose and systemd hosts) in front of a keys-mode server: the page's own changes
    pass the cross-site check, an SSE stream and a WebSocket open."""
    nginx = nginx_binary()
    if nginx is None:
        missing("nginx is not installed")
    assert nginx is not None
    srv, key = keys_server
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    http = conf[conf.index("http {") + len("http {") : conf.rindex("}")]
    port = free_port()
    for old, new in [
        ("server api:8000", f"server 127.0.0.1:{srv.port}"),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
    ]:
        assert old in http, f"deploy/nginx.conf no longer has {old!r}: update this test with it"
        http = http.replace(old, new)
    proxy = Nginx(http, port=port, binary=nginx).start()
    try:
        page = {"Origin": f"http://localhost:{port}", "Sec-Fetch-Site": "same-origin"}
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Host": f"localhost:{port}", "Authorization": f"Bearer {key}"},
            trust_env=False,
            timeout=30,
        ) as client:
            made = client.post("/api/projects", json={"prompt": "Through the scale-out proxy"}, headers=page)
            assert made.status_code == 201, made.text
            project_id = made.json()["id"]
            with client.stream(
                "GET", f"/api/projects/{project_id}/events", headers={"Accept": "text/event-stream"}
            ) as stream:
                assert stream.status_code == 200
                assert next(m for m in parse(stream.iter_lines()) if m.event != "retry").event == "hello"

        async def ws() -> str:
            uri = f"ws://localhost:{port}/api/projects/{project_id}/ws"
            async with websockets.connect(
                uri,
                host="127.0.0.1",
                port=port,
                additional_headers={"Authorization": f"Bearer {key}"},
                proxy=None,
            ) as socket_:
                hello: str = json.loads(await asyncio.wait_for(socket_.recv(), 10))["type"]
                return hello

        assert run_async(ws) == "hello"
    finally:
        proxy.close()
