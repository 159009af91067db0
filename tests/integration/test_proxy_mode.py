"""Proxy mode behind a real nginx, run the way oauth2-proxy is run: nginx asks an auth service about every
request (``auth_request``) and passes the user it names to Framecast as ``X-Forwarded-User``. The nginx
config is ``deploy/oauth2-proxy/framecast-oauth2.conf`` itself (and the site file around it, over https),
so the deploy example is what is tested. The auth service stands in for oauth2-proxy: it maps a session
cookie to a user and answers 202 with ``X-Auth-Request-User``, or 401.

The trusted proxy must be told apart from the test client, and both run on this machine. Linux routes all
of 127.0.0.0/8 to the loopback interface, so nginx connects to Framecast from 127.0.0.2 (``proxy_bind``),
``FRAMECAST_TRUSTED_PROXIES`` is 127.0.0.2/32, and the test client connects from 127.0.0.1: a request sent
straight to Framecast comes from an untrusted address, as it would from another machine. A client bound to
127.0.0.2 stands for the proxy itself (the positive control: the same request from there is believed).

Tried as an attacker: the owner header (and X-Forwarded-For, X-Real-IP, Forwarded) sent straight to
Framecast; a signed-in user renaming themselves through nginx on every location; names Framecast cannot use
(401, never 500); Host tricks and cross-site changes through nginx; the auth service down (nginx fails
closed). The header in keys and none mode, and X-Forwarded-Proto: test_forwarded_headers.py.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from framecast.client.local import free_port
from framecast.client.sse import parse
from tests.support.auth_proxy import PROXY_ADDRESS, AuthProxy, missing, require_proxy_address, straight
from tests.support.images import png_bytes
from tests.support.nginx import Nginx, nginx_binary
from tests.support.server import Server, all_events, run_async, wait_terminal

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "oauth2-proxy"
SNIPPET = EXAMPLE / "framecast-oauth2.conf"
SITE = EXAMPLE / "framecast-site.conf"

NAME = "framecast.test"  # the site's name: in FRAMECAST_ALLOWED_HOSTS, sent as Host through nginx

#: The auth service's sessions: the cookie value -> the user it names ("" names nobody).
SESSIONS = {
    "s-alice": "alice",
    "s-bob": "bob",
    "s-nameless": "",
    "s-spaces": "alice smith",
    "s-long": "a" * 500,
    "s-unicode": "ålice",
    "s-comma": "alice, bob",
    "s-dash": "-alice",
}
COOKIE = "_oauth2_proxy"  # oauth2-proxy's cookie name
#: A project that renders in a moment on the one worker.
SMALL = {"duration_s": 1, "resolution": "360p", "fps": 24}

#: The http block around the example's server body. The one line added: connect upstream from 127.0.0.2.
HTTP_BLOCK = """
    map $http_upgrade $connection_upgrade {{ default upgrade; "" ""; }}
    upstream framecast {{ server 127.0.0.1:{framecast}; keepalive 8; }}
    upstream oauth2_proxy {{ server 127.0.0.1:{auth}; }}
    server {{
        listen 127.0.0.1:{port};
        server_name {name};
        proxy_bind {proxy_address};
        include {snippet};
    }}
"""


# --- processes -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_service() -> Iterator[AuthProxy]:
    proxy = AuthProxy(SESSIONS, cookie=COOKIE).start()
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def nginx_path() -> str:
    require_proxy_address()
    binary = nginx_binary()
    if binary is None:
        missing("nginx is not installed")
    assert binary is not None
    return binary


@pytest.fixture(scope="module")
def framecast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_proxy_address()
    srv = Server(
        tmp_path_factory.mktemp("proxy") / "data",
        workers=1,
        env={
            "FRAMECAST_AUTH": "proxy",
            "FRAMECAST_TRUSTED_PROXIES": f"{PROXY_ADDRESS}/32",
            "FRAMECAST_ALLOWED_HOSTS": NAME,
            # Renders take a moment, so a project is still running when the live-stream test cancels it.
            "FRAMECAST_DEBUG_FRAME_DELAY_MS": "25",
        },
    ).start()
    yield srv
    srv.stop()


def _front(nginx_path: str, framecast_port: int, auth_port: int) -> Nginx:
    port = free_port()
    block = HTTP_BLOCK.format(
        framecast=framecast_port,
        auth=auth_port,
        port=port,
        name=NAME,
        proxy_address=PROXY_ADDRESS,
        snippet=SNIPPET,
    )
    return Nginx(block, port=port, binary=nginx_path)


@pytest.fixture(scope="module")
def front(nginx_path: str, framecast: Server, auth_service: AuthProxy) -> Iterator[Nginx]:
    proxy = _front(nginx_path, framecast.port, auth_service.port).start()
    yield proxy
    proxy.close()


# --- clients -------------------------------------------------------------------------------------------


def _through(front: Nginx, session: str | None = None, **headers: str) -> httpx.Client:
    """A browser-like client of the site: it reaches nginx by the site's name, with a session cookie."""
    base = {"Host": f"{NAME}:{front.port}", **headers}
    if session is not None:
        base["Cookie"] = f"{COOKIE}={session}"
    return httpx.Client(base_url=f"http://127.0.0.1:{front.port}", headers=base, timeout=30, trust_env=False)


def _straight(server: Server, *, source: str = "127.0.0.1") -> httpx.Client:
    """A client that talks to Framecast's own port, from ``source``."""
    return straight(server.url, source=source)


def _origin(front: Nginx) -> dict[str, str]:
    """What a browser adds to a change made by the site's own page."""
    return {"Origin": f"http://{NAME}:{front.port}", "Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def alice(front: Nginx) -> Iterator[httpx.Client]:
    with _through(front, "s-alice") as client:
        yield client


@pytest.fixture
def bob(front: Nginx) -> Iterator[httpx.Client]:
    with _through(front, "s-bob") as client:
        yield client


@pytest.fixture(scope="module")
def finished(front: Nginx) -> dict[str, Any]:
    """Alice's finished project (made through nginx), for the gallery, media and stream tests."""
    with _through(front, "s-alice") as client:
        response = client.post(
            "/api/projects",
            json={"prompt": "A lighthouse at dusk", **SMALL},
            headers=_origin(front),
        )
        assert response.status_code == 201, response.text
        return wait_terminal(client, response.json()["id"])


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def _ws(
    front: Nginx, path: str, *, session: str | None, **headers: str
) -> tuple[list[dict[str, Any]], int | None]:
    """Open a WebSocket through nginx; every message until the close, and the close code."""
    extra = {**headers}
    if session is not None:
        extra["Cookie"] = f"{COOKIE}={session}"

    async def run() -> tuple[list[dict[str, Any]], int | None]:
        got: list[dict[str, Any]] = []
        uri = f"ws://{NAME}:{front.port}{path}"
        async with websockets.connect(
            uri, host="127.0.0.1", port=front.port, additional_headers=extra, proxy=None, open_timeout=10
        ) as ws:
            try:
                while True:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            except websockets.ConnectionClosed as closed:
                return got, closed.rcvd.code if closed.rcvd else None

    result: tuple[list[dict[str, Any]], int | None] = run_async(run, timeout_s=60)
    return result


def _ws_refused(front: Nginx, path: str, *, session: str | None, **headers: str) -> int:
    """The HTTP status a refused WebSocket handshake got."""
    try:
        _ws(front, path, session=session, **headers)
    except websockets.InvalidStatus as exc:
        return exc.response.status_code
    raise AssertionError("the handshake was accepted")


# --- through nginx: who sees what ----------------------------------------------------------------------


def test_alice_creates_and_reads_her_project_through_nginx(
    alice: httpx.Client, finished: dict[str, Any]
) -> None:
    assert alice.get("/api/session").json() == {
        "auth": "proxy",
        "signed_in": True,
        "owner": "alice",
        "admin": False,
    }
    snap = alice.get(f"/api/projects/{finished['id']}")
    assert snap.status_code == 200 and snap.json()["status"] == "completed"
    gallery = alice.get("/api/videos").json()["items"]
    assert finished["id"] in [item["project_id"] for item in gallery]
    video = alice.get(finished["result"]["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"


def test_bob_gets_what_a_missing_project_answers_and_an_empty_gallery(
    bob: httpx.Client, finished: dict[str, Any]
) -> None:
    assert bob.get("/api/session").json()["owner"] == "bob"
    theirs = _problem(bob.get(f"/api/projects/{finished['id']}"), 404, "project_not_found")
    missing = _problem(bob.get("/api/projects/prj_00000000000000000000"), 404, "project_not_found")
    assert theirs["message"].replace(finished["id"], "X") == missing["message"].replace(
        "prj_00000000000000000000", "X"
    )
    assert bob.get("/api/videos").json() == {"items": [], "next_cursor": None}
    _problem(bob.get(finished["result"]["url"]), 404, "asset_not_found")
    _problem(bob.get(f"/api/projects/{finished['id']}/events?after=0"), 404, "project_not_found")
    _problem(bob.post(f"/api/projects/{finished['id']}/retry"), 404, "project_not_found")


def test_without_a_session_nginx_answers_401_and_framecast_is_not_asked(
    front: Nginx, framecast: Server, finished: dict[str, Any]
) -> None:
    with _through(front) as anon:
        for method, path in [
            ("GET", f"/api/projects/{finished['id']}"),
            ("GET", f"/api/projects/{finished['id']}/events"),
            ("POST", "/api/projects"),
            ("POST", "/api/uploads"),
            ("GET", finished["result"]["url"]),
            ("GET", "/api/session"),
        ]:
            response = anon.request(method, path, headers={"Accept": "text/event-stream"})
            body = _problem(response, 401, "unauthenticated")
            assert body["message"].startswith("Not signed in"), body  # nginx's answer, not Framecast's
        # The page sends the browser to the sign-in page, which is reachable without a session.
        page = anon.get("/tools/video-generator")
        assert page.status_code == 302
        assert page.headers["location"].endswith("/oauth2/sign_in?rd=/tools/video-generator")
        sign_in = anon.get("/oauth2/sign_in")
        assert sign_in.status_code == 200 and sign_in.text == "the sign-in page"
        # The auth endpoint is nginx's alone.
        assert anon.get("/oauth2/auth").status_code == 404
    assert _ws_refused(front, f"/api/projects/{finished['id']}/ws", session=None) == 401
    assert _ws_refused(front, f"/api/projects/{finished['id']}/ws", session="s-nobody") == 401


def test_sse_through_nginx_is_live(front: Nginx, alice: httpx.Client) -> None:
    project = alice.post(
        "/api/projects",
        json={"prompt": "Rain on a tin roof", "duration_s": 4, "resolution": "360p", "fps": 24},
        headers=_origin(front),
    )
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    with alice.stream(
        "GET",
        f"/api/projects/{project_id}/events",
        headers={"Accept": "text/event-stream"},
        timeout=httpx.Timeout(10, read=30),
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        messages = (m for m in parse(response.iter_lines()) if m.event != "retry")
        assert next(messages).event == "hello"
        # The stream is open: a change made now must come through nginx now, not when the stream ends.
        cancelled = alice.post(f"/api/projects/{project_id}/cancel", headers=_origin(front))
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        for message in messages:
            data = json.loads(message.data) if message.data else {}
            if message.event == "project_status" and data["data"]["status"] == "cancelled":
                break
        else:
            raise AssertionError("the stream ended without the cancellation")


def test_websocket_through_nginx(front: Nginx, alice: httpx.Client, finished: dict[str, Any]) -> None:
    log = all_events(alice, finished["id"])
    got, code = _ws(front, f"/api/projects/{finished['id']}/ws?after=0", session="s-alice")
    assert code == 1000
    assert got[0]["type"] == "hello"
    assert got[1:] == log
    # Bob's socket opens (the proxy signed him in) and closes as for a project that does not exist.
    got, code = _ws(front, f"/api/projects/{finished['id']}/ws", session="s-bob")
    assert code == 4404
    assert [m["type"] for m in got] == ["problem"] and got[0]["data"]["code"] == "project_not_found"


# --- attacks -------------------------------------------------------------------------------------------

SPOOFS = [
    {"X-Forwarded-User": "alice"},
    {"X-Forwarded-User": "alice", "X-Forwarded-For": PROXY_ADDRESS, "X-Real-IP": PROXY_ADDRESS},
    {"X-Forwarded-User": "alice", "Forwarded": f"for={PROXY_ADDRESS};proto=https"},
    {"x-forwarded-user": "alice", "X-Forwarded-Proto": "https"},
]


@pytest.mark.parametrize("spoof", SPOOFS, ids=["plain", "x-forwarded-for", "forwarded", "lower-case"])
def test_the_owner_header_sent_straight_to_framecast_is_ignored(
    framecast: Server, finished: dict[str, Any], spoof: dict[str, str]
) -> None:
    project = f"/api/projects/{finished['id']}"
    with _straight(framecast) as attacker:
        for method, path, extra in [
            ("GET", project, {}),
            ("GET", f"{project}/events", {"Accept": "text/event-stream"}),
            ("GET", f"{project}/events?after=0", {}),
            ("GET", finished["result"]["url"], {}),
            ("GET", "/api/videos", {}),
            ("POST", "/api/projects", {}),
            ("POST", f"{project}/tokens", {}),
            ("DELETE", project, {}),
        ]:
            response = attacker.request(
                method, path, headers={**spoof, **extra}, json={"prompt": "mine now", **SMALL}
            )
            _problem(response, 401, "unauthenticated")
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert attacker.get("/api/session", headers=spoof).json()["signed_in"] is False

    async def ws() -> int | None:
        uri = framecast.url.replace("http", "ws") + f"{project}/ws"
        async with websockets.connect(uri, additional_headers=spoof, proxy=None) as socket_:
            try:
                while True:
                    await asyncio.wait_for(socket_.recv(), 10)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    assert run_async(ws) == 4401
    # The positive control: the same header from the proxy's address is believed; and nothing was deleted.
    with _straight(framecast, source=PROXY_ADDRESS) as proxy:
        mine = proxy.get(project, headers={"X-Forwarded-User": "alice"})
        assert mine.status_code == 200 and mine.json()["status"] == "completed"


BAD_NAMES: list[bytes] = [
    b"alice smith",
    b"a" * 500,
    b"a" * 121,
    "ålice".encode(),
    "alice\u200b".encode(),
    b"alice, bob",
    b"-alice",
    b"../alice",
    b"alice/..",
    b"%61lice",
    b"",
]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n[:12]))
def test_a_name_framecast_cannot_use_is_401_never_500(framecast: Server, name: bytes) -> None:
    with _straight(framecast, source=PROXY_ADDRESS) as proxy:
        for method, path in [("GET", "/api/videos"), ("POST", "/api/projects")]:
            response = proxy.request(method, path, headers={"X-Forwarded-User": name}, json={"prompt": "x"})
            _problem(response, 401, "unauthenticated")
        assert proxy.get("/api/session", headers={"X-Forwarded-User": name}).json()["signed_in"] is False


def test_two_owner_headers_are_nobody(framecast: Server) -> None:
    """A proxy that adds its header instead of replacing the client's (HAProxy's add-header, Apache's
    RequestHeader add) sends two: the first may be the client's own, so neither is believed."""
    with _straight(framecast, source=PROXY_ADDRESS) as proxy:
        for pair in (["alice", "bob"], ["bob", "bob"]):
            headers = [("X-Forwarded-User", name) for name in pair]
            _problem(proxy.get("/api/videos", headers=headers), 401, "unauthenticated")


def test_names_that_fit_are_names(framecast: Server) -> None:
    with _straight(framecast, source=PROXY_ADDRESS) as proxy:
        for name in (
            "a" * 120,
            "alice@example.com",
            "Ana.Lopez+video_2",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
        ):
            assert proxy.get("/api/session", headers={"X-Forwarded-User": name}).json()["owner"] == name


@pytest.mark.parametrize("session", ["s-spaces", "s-long", "s-unicode", "s-comma", "s-dash", "s-nameless"])
def test_a_name_from_the_auth_service_that_framecast_cannot_use_is_401(front: Nginx, session: str) -> None:
    with _through(front, session) as client:
        _problem(client.get("/api/videos"), 401, "unauthenticated")
        _problem(
            client.post("/api/projects", json={"prompt": "x"}, headers=_origin(front)), 401, "unauthenticated"
        )
        # Naming yourself does not help when the proxy named nobody (or nobody usable).
        renamed = client.get("/api/videos", headers={"X-Forwarded-User": "alice"})
        _problem(renamed, 401, "unauthenticated")


@pytest.mark.parametrize("header", ["X-Forwarded-User", "x-forwarded-user", "X-FORWARDED-USER"])
def test_a_signed_in_user_cannot_rename_themselves_through_nginx(
    front: Nginx, finished: dict[str, Any], header: str
) -> None:
    project = f"/api/projects/{finished['id']}"
    with _through(front, "s-bob", **{header: "alice"}) as bob_as_alice:
        # Every location of the example: / (session), /api/, the events path, /media/, /api/uploads, ws.
        assert bob_as_alice.get("/api/session").json()["owner"] == "bob"
        _problem(bob_as_alice.get(project), 404, "project_not_found")
        _problem(
            bob_as_alice.get(f"{project}/events", headers={"Accept": "text/event-stream"}),
            404,
            "project_not_found",
        )
        _problem(bob_as_alice.get(finished["result"]["url"]), 404, "asset_not_found")
        upload = bob_as_alice.post(
            "/api/uploads", files={"file": ("a.png", png_bytes(), "image/png")}, headers=_origin(front)
        )
        assert upload.status_code == 201, upload.text
    with _through(front, "s-alice") as alice:
        _problem(alice.get(upload.json()["url"]), 404, "asset_not_found")  # bob's, not alice's
    with _through(front, "s-bob") as bob:
        assert bob.get(upload.json()["url"]).status_code == 200
    got, code = _ws(front, f"{project}/ws", session="s-bob", **{header: "alice"})
    assert code == 4404 and got[0]["data"]["code"] == "project_not_found"


@pytest.mark.parametrize(
    "authorization",
    ["Basic YWxpY2U6cGFzcw==", "Bearer fc_not_a_key", "Negotiate abc", "Bearer"],
    ids=["basic", "bearer-key", "negotiate", "bearer-empty"],
)
def test_an_authorization_header_meant_for_the_proxy_does_not_sign_the_user_out(
    front: Nginx, authorization: str
) -> None:
    """nginx's auth_basic (with X-Forwarded-User $remote_user), or an identity proxy that passes its own
    Authorization header on: the proxy named the user, and that header is not Framecast's business."""
    with _through(front, "s-alice", Authorization=authorization) as alice:
        assert alice.get("/api/session").json()["owner"] == "alice"
        assert alice.get("/api/videos").status_code == 200


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("evil.example", 421),  # DNS rebinding: evil.example re-pointed at this server
        (f"{NAME}.evil.example", 421),
        (f"evil.example:{NAME}", 421),  # nginx passes it on; Framecast reads the name before the colon
        (f"{NAME}@evil.example", 421),
        ("127.0.0.2", 421),  # a loopback address that is not a loopback name
    ],
)
def test_host_tricks_through_nginx(front: Nginx, host: str, status: int) -> None:
    with _through(front, "s-alice", Host=host) as client:
        response = client.get("/api/videos")
        assert response.status_code == status, (response.status_code, response.text)
        if status == 421:
            _problem(response, 421, "host_not_allowed")


def _raw_get(port: int, target: str, cookie: str | None = None) -> int:
    """The status of a GET sent byte for byte (httpx would normalise the path)."""
    lines = [f"GET {target} HTTP/1.1", f"Host: {NAME}", "Connection: close"]
    if cookie is not None:
        lines.append(f"Cookie: {COOKIE}={cookie}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(raw.recv(64).split()[1])


@pytest.mark.parametrize(
    "target",
    [
        "/oauth2/../api/videos",
        "/oauth2/%2e%2e/api/videos",
        "/oauth2/..%2fapi/videos",
        "/oauth2//../api/session",
    ],
)
def test_no_path_through_the_sign_in_locations_skips_the_auth_subrequest(front: Nginx, target: str) -> None:
    # nginx resolves the path before it picks a location: these are /api/..., asked about like any other.
    assert _raw_get(front.port, target) == 401
    # Signed in, they reach Framecast as sent (proxy_pass passes the raw path), which has no such route.
    assert _raw_get(front.port, target, cookie="s-alice") == 404


def test_forwarded_host_does_not_change_the_host(front: Nginx) -> None:
    with _through(front, "s-alice", Host="evil.example", **{"X-Forwarded-Host": NAME}) as client:
        _problem(client.get("/api/videos"), 421, "host_not_allowed")
    # Two Host headers: nginx refuses the request.
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as raw:
        raw.sendall(
            f"GET /api/videos HTTP/1.1\r\nHost: {NAME}\r\nHost: evil.example\r\n"
            f"Cookie: {COOKIE}=s-alice\r\nConnection: close\r\n\r\n".encode()
        )
        assert raw.recv(64).startswith(b"HTTP/1.1 400")
    # The site's own names pass, with or without the port, in any case.
    for host in (NAME, f"{NAME.upper()}:{front.port}", f"localhost:{front.port}"):
        with _through(front, "s-alice", Host=host) as client:
            assert client.get("/api/videos").status_code == 200, host


def test_cross_site_changes_through_nginx_are_refused(front: Nginx, finished: dict[str, Any]) -> None:
    body = {"prompt": "A cross-site project", **SMALL}
    with _through(front, "s-alice") as alice:
        for headers in (
            {"Origin": "http://evil.example"},
            {"Origin": f"https://{NAME}:{front.port}"},  # another scheme is another origin
            {"Origin": f"http://{NAME}:1"},  # another port too
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": "null"},
        ):
            _problem(alice.post("/api/projects", json=body, headers=headers), 403, "cross_site_request")
        # The site's own page passes: nginx hands Framecast the Host with its port ($http_host).
        assert alice.post("/api/projects", json=body, headers=_origin(front)).status_code == 201
    status = _ws_refused(
        front, f"/api/projects/{finished['id']}/ws", session="s-alice", Origin="http://evil.example"
    )
    assert status == 403


def test_the_auth_service_down_fails_closed(nginx_path: str, framecast: Server) -> None:
    dead = free_port()  # nothing listens there
    proxy = _front(nginx_path, framecast.port, dead).start()
    try:
        with _through(proxy, "s-alice") as client:
            for method, path in [
                ("GET", "/api/videos"),
                ("POST", "/api/projects"),
                ("GET", "/tools/video-generator"),
            ]:
                response = client.request(method, path, json={"prompt": "x"}, headers=_origin(proxy))
                assert response.status_code == 500, (path, response.status_code)
    finally:
        proxy.close()


def test_the_example_site_over_https(
    nginx_path: str, framecast: Server, auth_service: AuthProxy, tmp_path: Path
) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("openssl is not installed")
    assert openssl is not None
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            f"/CN={NAME}",
        ],
        check=True,
        capture_output=True,
    )
    http_port, https_port = free_port(), free_port()
    site = SITE.read_text()
    for old, new in [
        ("server 127.0.0.1:8000", f"server 127.0.0.1:{framecast.port}"),
        ("server 127.0.0.1:4180", f"server 127.0.0.1:{auth_service.port}"),
        ("listen [::]:80;\n", ""),
        ("listen [::]:443 ssl;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("/etc/letsencrypt/live/framecast.example.com/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/framecast.example.com/privkey.pem", str(key)),
        (
            "include /etc/nginx/snippets/framecast-oauth2.conf;",
            f"proxy_bind {PROXY_ADDRESS};\n    include {SNIPPET};",
        ),
        ("framecast.example.com", NAME),
    ]:
        assert old in site, f"the example site no longer has {old!r}: update this test with it"
        site = site.replace(old, new)
    proxy = Nginx(site, port=https_port, binary=nginx_path).start()
    try:
        with httpx.Client(
            base_url=f"https://127.0.0.1:{https_port}",
            headers={"Host": NAME, "Cookie": f"{COOKIE}=s-alice"},
            verify=False,
            trust_env=False,
            timeout=30,
        ) as alice:
            assert alice.get("/api/session").json()["owner"] == "alice"
            # Framecast believes the proxy's X-Forwarded-Proto: https, so the https page may make changes.
            page = {"Origin": f"https://{NAME}", "Sec-Fetch-Site": "same-origin"}
            assert (
                alice.post("/api/projects", json={"prompt": "Over TLS", **SMALL}, headers=page).status_code
                == 201
            )
            _problem(
                alice.post("/api/projects", json={"prompt": "x"}, headers={"Origin": f"http://{NAME}"}),
                403,
                "cross_site_request",
            )
        with httpx.Client(
            base_url=f"http://127.0.0.1:{http_port}", headers={"Host": NAME}, trust_env=False
        ) as plain:
            redirect = plain.get("/tools/video-generator")
            assert redirect.status_code == 301
            assert redirect.headers["location"] == f"https://{NAME}/tools/video-generator"
    finally:
        proxy.close()
