"""Browser attacks in every auth mode: a foreign Host (DNS rebinding) gets 421, a state change from another
site (forms, multipart uploads, text/plain bodies, WebSocket hijacking) gets 403."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect
from web_support import ClientFactory, TestClient, assert_problem, create_project, png_bytes

from framecast.web.guards import allowed_hosts, host_name

EVIL = "http://evil.example"


@pytest.fixture(params=["none", "keys"])
def guarded(request: pytest.FixtureRequest, make_client: ClientFactory) -> TestClient:
    return make_client(auth=request.param)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "", "[::2]"])
def test_a_foreign_host_gets_421_before_anything_else(guarded: TestClient, host: str) -> None:
    for method, path in [
        ("GET", "/api/videos"),
        ("POST", "/api/projects"),
        ("GET", "/tools/video-generator"),
    ]:
        response = guarded.request(method, path, headers={"Host": host}, json={"prompt": "x"})
        assert_problem(response, 421, "host_not_allowed")


@pytest.mark.parametrize("host", ["testserver", "localhost:8000", "127.0.0.1", "[::1]:9"])
def test_loopback_names_and_the_configured_host_are_answered(make_client: ClientFactory, host: str) -> None:
    client = make_client()
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_the_bind_address_is_answered_and_wildcards_add_nothing() -> None:
    assert "10.1.2.3" in allowed_hosts("10.1.2.3", [])
    assert allowed_hosts("0.0.0.0", []) == allowed_hosts("::", [])
    assert "app.example" in allowed_hosts("0.0.0.0", ["App.Example:443"])
    assert host_name("[::1]:8000") == "[::1]" and host_name("Example.COM:80") == "example.com"


def test_a_websocket_with_a_foreign_host_is_refused(guarded: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        guarded.websocket_connect("/api/projects/prj_x/ws", headers={"Host": "evil.example"}),
    ):
        pass


CROSS_SITE = [
    {"Origin": EVIL},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.testserver"},
    {"Origin": "http://testserver:8443", "Host": "testserver:8000"},  # another port is another origin
    {"Origin": "https://testserver"},  # another scheme too
]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_cross_site_changes_are_refused(guarded: TestClient, headers: dict[str, str]) -> None:
    json_post = guarded.post("/api/projects", json={"prompt": "pwned"}, headers=headers)
    assert_problem(json_post, 403, "cross_site_request")
    form = guarded.post(
        "/api/projects",
        content=b"prompt=pwned",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(form, 403, "cross_site_request")
    plain = guarded.post(
        "/api/projects", content=b'{"prompt": "pwned"}', headers={**headers, "Content-Type": "text/plain"}
    )
    assert_problem(plain, 403, "cross_site_request")
    upload = guarded.post(
        "/api/uploads", files={"file": ("a.png", png_bytes(), "image/png")}, headers=headers
    )
    assert_problem(upload, 403, "cross_site_request")
    for method in ("DELETE", "PUT", "PATCH"):
        assert_problem(
            guarded.request(method, "/api/projects/prj_x", headers=headers), 403, "cross_site_request"
        )
    assert_problem(
        guarded.post("/api/session", json={"key": "fc_x"}, headers=headers), 403, "cross_site_request"
    )


def test_nothing_cross_site_was_created(make_client: ClientFactory) -> None:
    client = make_client()
    client.post("/api/projects", json={"prompt": "pwned"}, headers={"Origin": EVIL})
    assert client.get("/api/videos").json()["items"] == []
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.ledger.read() as tx:
        assert tx.active_projects() == []


def test_same_origin_and_non_browser_clients_pass(make_client: ClientFactory) -> None:
    client = make_client()
    assert (
        client.post(
            "/api/projects", json={"prompt": "ok"}, headers={"Origin": "http://testserver"}
        ).status_code
        == 201
    )
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/projects", json={"prompt": "ok"}, headers=same).status_code == 201
    assert client.post("/api/projects", json={"prompt": "ok"}).status_code == 201  # curl, the SDK: no Origin
    # Reads from anywhere are not changes (cookies do not travel cross-site: SameSite=Lax).
    assert (
        client.get("/api/videos", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}).status_code == 200
    )


def test_an_allowed_origin_may_make_changes(make_client: ClientFactory) -> None:
    client = make_client(allowed_origins=["https://app.example"])
    made = client.post(
        "/api/projects",
        json={"prompt": "ok"},
        headers={"Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert made.status_code == 201
    assert_problem(client.post("/api/projects", json={"prompt": "x"}, headers={"Origin": EVIL}), 403)


def test_a_websocket_from_another_site_is_refused(make_client: ClientFactory) -> None:
    client = make_client()
    project = create_project(client)
    url = f"/api/projects/{project['id']}/ws"
    with pytest.raises(WebSocketDisconnect), client.websocket_connect(url, headers={"Origin": EVIL}) as ws:
        ws.receive_json()
    with client.websocket_connect(url, headers={"Origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "hello"


def test_behind_a_proxy_that_drops_the_port_the_host_name_decides(make_client: ClientFactory) -> None:
    # nginx's `proxy_set_header Host $host` forwards "127.0.0.1" for a page at http://127.0.0.1:8080.
    client = make_client()
    same = {"Host": "127.0.0.1", "Origin": "http://127.0.0.1:8080"}
    assert client.post("/api/projects", json={"prompt": "ok"}, headers=same).status_code == 201
    other = {"Host": "127.0.0.1", "Origin": "http://evil.example:8080"}
    assert_problem(
        client.post("/api/projects", json={"prompt": "x"}, headers=other), 403, "cross_site_request"
    )
    # With the port in Host, another port is another origin.
    ported = {"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:3000"}
    assert_problem(
        client.post("/api/projects", json={"prompt": "x"}, headers=ported), 403, "cross_site_request"
    )
