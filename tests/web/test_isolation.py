"""Isolation in keys mode, tried as an attacker would: owner B, the anonymous caller and a delivery token
against every route and transport of owner A's project. B gets exactly what a missing project answers; the
anonymous caller gets 401 with WWW-Authenticate: Bearer."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect
from web_support import ClientFactory, TestClient, assert_problem, png_bytes

from framecast.services.identity import KeyService


class Tenants:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        keys = KeyService(client.app.state.runtime.ledger)  # type: ignore[attr-defined]
        self.a = {"Authorization": f"Bearer {keys.create('alice')[1]}"}
        self.b = {"Authorization": f"Bearer {keys.create('bob')[1]}"}
        self.admin = {"Authorization": f"Bearer {keys.create('ops', admin=True)[1]}"}
        made = client.post("/api/projects", json={"prompt": "A lighthouse at dusk"}, headers=self.a)
        assert made.status_code == 201, made.text
        self.project = made.json()["id"]
        up = client.post("/api/uploads", files={"file": ("a.png", png_bytes(), "image/png")}, headers=self.a)
        assert up.status_code == 201, up.text
        self.upload = up.json()


@pytest.fixture
def tenants(make_client: ClientFactory) -> Tenants:
    return Tenants(make_client(auth="keys"))


# (name, method, path template, body). {p}: A's project id; {media}: A's upload's URL.
ROUTES: list[tuple[str, str, str, Any]] = [
    ("snapshot", "GET", "/api/projects/{p}", None),
    ("snapshot HEAD", "HEAD", "/api/projects/{p}", None),
    ("events (polling)", "GET", "/api/projects/{p}/events?after=0", None),
    ("cancel", "POST", "/api/projects/{p}/cancel", None),
    ("retry", "POST", "/api/projects/{p}/retry", None),
    ("delivered", "POST", "/api/projects/{p}/delivered", {"seq": 1}),
    ("tokens", "POST", "/api/projects/{p}/tokens", {}),
    ("delete", "DELETE", "/api/projects/{p}", None),
]


def _call(t: Tenants, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    url = path.format(p=t.project, media=t.upload["url"])
    return t.client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("name", "method", "path", "body"), ROUTES, ids=[r[0] for r in ROUTES])
def test_another_owner_gets_what_a_missing_project_answers(
    tenants: Tenants, name: str, method: str, path: str, body: Any
) -> None:
    theirs = _call(tenants, method, path, body, tenants.b)
    missing = tenants.client.request(
        method, path.format(p="prj_00000000000000000000"), json=body, headers=tenants.b
    )
    assert theirs.status_code == missing.status_code == 404
    if method != "HEAD":
        assert theirs.json()["code"] == missing.json()["code"] == "project_not_found"
        assert theirs.json()["message"].replace(tenants.project, "X") == missing.json()["message"].replace(
            "prj_00000000000000000000", "X"
        )
    # And A's project is untouched by all of it.
    assert (
        tenants.client.get(f"/api/projects/{tenants.project}", headers=tenants.a).json()["status"] == "queued"
    )


@pytest.mark.parametrize(("name", "method", "path", "body"), ROUTES, ids=[r[0] for r in ROUTES])
def test_the_anonymous_caller_gets_401(
    tenants: Tenants, name: str, method: str, path: str, body: Any
) -> None:
    response = _call(tenants, method, path, body, {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    if method != "HEAD":
        assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer fc_00000000000000000000_" + "A" * 43},
        {"Authorization": "Basic YWxpY2U6cGFzcw=="},
        {"Authorization": "Bearer"},
        {"Cookie": "framecast_session=forged.value.here"},
        {"X-Forwarded-User": "alice"},  # ignored outside proxy mode
    ],
)
def test_bad_credentials_are_401_never_500(tenants: Tenants, headers: dict[str, str]) -> None:
    response = tenants.client.get(f"/api/projects/{tenants.project}", headers=headers)
    assert_problem(response, 401, "unauthenticated")


def test_the_owner_and_an_admin_read_it_and_only_the_owner_changes_it(tenants: Tenants) -> None:
    url = f"/api/projects/{tenants.project}"
    assert tenants.client.get(url, headers=tenants.a).status_code == 200
    assert tenants.client.get(url, headers=tenants.admin).status_code == 200
    assert tenants.client.get(f"{url}/events?after=0", headers=tenants.admin).status_code == 200
    assert_problem(tenants.client.post(f"{url}/cancel", headers=tenants.admin), 404, "project_not_found")
    assert tenants.client.post(f"{url}/cancel", headers=tenants.a).json()["status"] == "cancelled"


def test_files_and_uploads_are_per_owner(tenants: Tenants) -> None:
    url = tenants.upload["url"]
    assert tenants.client.get(url, headers=tenants.a).status_code == 200
    theirs = tenants.client.get(url, headers=tenants.b)
    missing = tenants.client.get("/media/ast_00000000000000000000/a.png", headers=tenants.b)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"] == "asset_not_found"
    assert tenants.client.get(url).status_code == 401
    assert tenants.client.get(url, headers=tenants.admin).status_code == 200
    anon = tenants.client.post("/api/uploads", files={"file": ("a.png", png_bytes(), "image/png")})
    assert_problem(anon, 401, "unauthenticated")
    # B cannot build a timeline over A's upload: the same answer as for a file that does not exist.
    timeline = {
        "scenes": [{"duration_s": 1, "background": {"kind": "image", "asset_id": tenants.upload["asset_id"]}}]
    }
    stolen = tenants.client.post("/api/projects", json={"timeline": timeline}, headers=tenants.b)
    assert_problem(stolen, 422, "unknown_asset")


def test_the_gallery_and_idempotency_keys_are_per_owner(tenants: Tenants) -> None:
    assert tenants.client.get("/api/videos", headers=tenants.b).json()["items"] == []
    assert_problem(tenants.client.get("/api/videos"), 401, "unauthenticated")
    body = {"prompt": "The same words"}
    first = tenants.client.post("/api/projects", json=body, headers={**tenants.a, "Idempotency-Key": "k1"})
    other = tenants.client.post("/api/projects", json=body, headers={**tenants.b, "Idempotency-Key": "k1"})
    assert first.status_code == other.status_code == 201
    assert first.json()["id"] != other.json()["id"]


def _ws_close(client: TestClient, url: str, headers: dict[str, str]) -> tuple[dict[str, Any] | None, int]:
    with client.websocket_connect(url, headers=headers) as ws:
        first = ws.receive_json()
        try:
            ws.receive_text()
        except WebSocketDisconnect as closed:
            return first, closed.code
    raise AssertionError("the socket stayed open")


def test_websocket_another_owner_and_anonymous(tenants: Tenants) -> None:
    url = f"/api/projects/{tenants.project}/ws"
    frame, code = _ws_close(tenants.client, url, tenants.b)
    assert frame is not None and frame["data"]["code"] == "project_not_found" and code >= 4000
    frame, code = _ws_close(tenants.client, url, {})
    assert frame is not None and frame["data"]["code"] == "unauthenticated" and code >= 4000
    with tenants.client.websocket_connect(url, headers=tenants.a) as ws:
        assert ws.receive_json()["type"] == "hello"


def _token(t: Tenants, ttl_s: int | None = None) -> str:
    body = {} if ttl_s is None else {"ttl_s": ttl_s}
    made = t.client.post(f"/api/projects/{t.project}/tokens", json=body, headers=t.a)
    assert made.status_code == 201, made.text
    assert made.json()["expires_at"].endswith("Z")
    token: str = made.json()["token"]
    return token


def test_a_token_reads_its_project_on_every_transport_and_nothing_else(tenants: Tenants) -> None:
    token = _token(tenants)
    c, p = tenants.client, tenants.project
    assert c.get(f"/api/projects/{p}?token={token}").status_code == 200
    assert c.get(f"/api/projects/{p}/events?after=0&token={token}").status_code == 200
    assert c.get(f"/api/projects/{p}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with c.websocket_connect(f"/api/projects/{p}/ws?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
    # Another project, the gallery, uploads: not this token's.
    other = c.post("/api/projects", json={"prompt": "Another"}, headers=tenants.a).json()["id"]
    assert_problem(c.get(f"/api/projects/{other}?token={token}"), 404, "project_not_found")
    assert_problem(c.get(f"{tenants.upload['url']}?token={token}"), 404, "asset_not_found")
    assert_problem(c.get(f"/api/videos?token={token}"), 401, "unauthenticated")
    # Changes: a token is no credential for them.
    for method, path in [
        ("DELETE", f"/api/projects/{p}"),
        ("POST", f"/api/projects/{p}/cancel"),
        ("POST", f"/api/projects/{p}/retry"),
        ("POST", f"/api/projects/{p}/tokens"),
        ("POST", "/api/projects"),
    ]:
        response = c.request(method, f"{path}?token={token}", json={"prompt": "x"})
        assert_problem(response, 401, "unauthenticated")
        bearer = c.request(method, path, json={"prompt": "x"}, headers={"Authorization": f"Bearer {token}"})
        assert_problem(bearer, 401, "unauthenticated")
    assert c.get(f"/api/projects/{p}", headers=tenants.a).json()["status"] == "queued"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-3] + ("abc" if not t.endswith("abc") else "xyz"),
        lambda t: t.replace("fct_", "fct_x"),
        lambda t: "fct_",
        lambda t: t * 20,
    ],
)
def test_a_tampered_token_is_401(tenants: Tenants, mangle: Callable[[str], str]) -> None:
    response = tenants.client.get(
        f"/api/projects/{tenants.project}", params={"token": mangle(_token(tenants))}
    )
    assert_problem(response, 401, "unauthenticated")


@pytest.mark.parametrize("ttl", [0, 86401, "soon"])
def test_token_lifetimes_are_checked(tenants: Tenants, ttl: Any) -> None:
    made = tenants.client.post(
        f"/api/projects/{tenants.project}/tokens", json={"ttl_s": ttl}, headers=tenants.a
    )
    assert_problem(made, 422)


def test_another_owner_cannot_mint_a_token_for_it(tenants: Tenants) -> None:
    made = tenants.client.post(f"/api/projects/{tenants.project}/tokens", json={}, headers=tenants.b)
    assert_problem(made, 404, "project_not_found")


def test_the_page_signs_in_with_a_cookie_and_signs_out(tenants: Tenants) -> None:
    c = tenants.client
    assert c.get("/api/session").json() == {"auth": "keys", "signed_in": False, "owner": None, "admin": False}
    assert_problem(c.post("/api/session", json={"key": "fc_nope"}), 401, "unauthenticated")
    key = tenants.a["Authorization"].removeprefix("Bearer ")
    signed = c.post("/api/session", json={"key": key})
    assert signed.status_code == 200 and signed.json()["owner"] == "alice"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and key not in cookie
    assert c.get(f"/api/projects/{tenants.project}").status_code == 200  # the cookie is enough
    assert c.get(tenants.upload["url"]).status_code == 200
    assert c.get("/api/session").json()["owner"] == "alice"
    assert c.delete("/api/session").status_code == 204
    assert_problem(c.get(f"/api/projects/{tenants.project}"), 401, "unauthenticated")


def _replayed(t: Tenants, cookie: str, *, sse: bool = True) -> dict[str, Any]:
    """What a copy of a session cookie gets on every transport: REST, polling, SSE, WebSocket, /media.
    (SSE only when it is refused: TestClient reads a stream to its end, and a queued project's never ends;
    the streams of a signed-in session are tested on a real server in tests/scale/test_scale_auth.py.)"""
    c, p, jar = t.client, t.project, {"Cookie": f"framecast_session={cookie}"}
    c.cookies.clear()
    with c.websocket_connect(f"/api/projects/{p}/ws", headers=jar) as ws:
        first = ws.receive_json()
    polling = c.get(f"/api/projects/{p}/events?after=0", headers={**jar, "Accept": "application/json"})
    got: dict[str, Any] = {
        "rest": c.get(f"/api/projects/{p}", headers=jar).status_code,
        "polling": polling.status_code,
        "gallery": c.get("/api/videos", headers=jar).status_code,
        "media": c.get(t.upload["url"], headers=jar).status_code,
        "ws": first["type"] if first["type"] == "hello" else first["data"]["code"],
    }
    if sse:
        stream = c.get(f"/api/projects/{p}/events?after=0", headers={**jar, "Accept": "text/event-stream"})
        got["sse"] = (stream.status_code, stream.json()["code"])
    return got


SIGNED_OUT = {
    "rest": 401,
    "polling": 401,
    "gallery": 401,
    "media": 401,
    "sse": (401, "unauthenticated"),
    "ws": "unauthenticated",
}


def _sign_in(t: Tenants, key: str) -> str:
    signed = t.client.post("/api/session", json={"key": key})
    assert signed.status_code == 200, signed.text
    cookie: str = signed.cookies["framecast_session"]
    return cookie


def test_a_copied_cookie_stops_working_when_its_session_signs_out(tenants: Tenants) -> None:
    key = tenants.a["Authorization"].removeprefix("Bearer ")
    cookie, other = _sign_in(tenants, key), _sign_in(tenants, key)
    assert cookie != other and key not in cookie
    # Checked once (and so remembered by the auth cache) before signing out.
    assert _replayed(tenants, cookie, sse=False)["rest"] == 200
    out = tenants.client.delete("/api/session", headers={"Cookie": f"framecast_session={cookie}"})
    assert out.status_code == 204 and 'framecast_session=""' in out.headers["set-cookie"]
    assert _replayed(tenants, cookie) == SIGNED_OUT
    # The same key's other session (another browser) is still signed in; the key itself still works.
    assert _replayed(tenants, other, sse=False)["rest"] == 200
    assert tenants.client.get("/api/videos", headers=tenants.a).status_code == 200
    # Signing out twice, or with a forged cookie, or with none, is no error.
    for jar in (f"framecast_session={cookie}", "framecast_session=fcs_forged", ""):
        assert (
            tenants.client.delete("/api/session", headers={"Cookie": jar} if jar else {}).status_code == 204
        )


def test_a_well_formed_cookie_the_server_never_made_is_refused_everywhere(tenants: Tenants) -> None:
    # The shape of a real session (fcs_ and 43 url-safe characters) but never opened: nothing to guess.
    made_up = "fcs_" + secrets.token_urlsafe(32)
    assert _replayed(tenants, made_up) == SIGNED_OUT


def test_revoking_a_key_ends_its_sessions_on_every_transport(tenants: Tenants) -> None:
    c = tenants.client
    c.app.state.auth._recent.ttl_s = 0.0  # type: ignore[attr-defined]  (another process revokes: no cache)
    runtime = c.app.state.runtime  # type: ignore[attr-defined]
    record, key = runtime.keys.create("alice", label="the page's")
    cookie = _sign_in(tenants, key)
    opened = _replayed(tenants, cookie, sse=False)
    assert opened["rest"] == opened["media"] == opened["polling"] == 200 and opened["ws"] == "hello"
    runtime.keys.revoke(record.id)
    assert _replayed(tenants, cookie) == SIGNED_OUT
    assert_problem(c.post("/api/session", json={"key": key}), 401, "unauthenticated")


def test_the_session_answer_is_503_during_an_outage_not_signed_out(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    from framecast.domain.errors import Unavailable

    c = tenants.client
    key = tenants.a["Authorization"].removeprefix("Bearer ")
    assert c.post("/api/session", json={"key": key}).status_code == 200
    c.app.state.auth._recent.ttl_s = 0.0  # type: ignore[attr-defined]
    runtime = c.app.state.runtime  # type: ignore[attr-defined]

    def down(_key_id: str) -> None:
        raise Unavailable("The database cannot be used right now.", code="database_down")

    monkeypatch.setattr(runtime.keys, "active_key", down)
    answer = c.get("/api/session")
    assert_problem(answer, 503, "service_unavailable")
    assert answer.headers["Retry-After"]


def test_revoking_a_key_ends_its_sessions(tenants: Tenants, monkeypatch: pytest.MonkeyPatch) -> None:
    import framecast.web.auth as auth

    monkeypatch.setattr(auth, "CACHE_S", 0.0)
    c = tenants.client
    c.app.state.auth._recent.ttl_s = 0.0  # type: ignore[attr-defined]
    runtime = c.app.state.runtime  # type: ignore[attr-defined]
    key_record, key = runtime.keys.create("carol")
    assert c.post("/api/session", json={"key": key}).status_code == 200
    assert c.get("/api/videos").status_code == 200
    runtime.keys.revoke(key_record.id)
    assert_problem(c.get("/api/videos"), 401, "unauthenticated")
    assert_problem(c.get("/api/videos", headers={"Authorization": f"Bearer {key}"}), 401, "unauthenticated")


@pytest.mark.parametrize("authorization", ["Basic YWxpY2U6cGFzcw==", "Negotiate abc", "Bearer"])
def test_another_scheme_is_not_ours_in_none_mode(make_client: ClientFactory, authorization: str) -> None:
    # Basic from an nginx auth_basic in front, say: the one owner is still the one owner. (Proxy mode,
    # where the same holds, is tested behind a real nginx in tests/integration/test_proxy_mode.py.)
    client = make_client()
    assert client.get("/api/session", headers={"Authorization": authorization}).json()["owner"] == "local"
    made = client.post("/api/projects", json={"prompt": "x"}, headers={"Authorization": authorization})
    assert made.status_code == 201
