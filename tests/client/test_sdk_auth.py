"""The SDK's API key: from the argument or FRAMECAST_API_KEY, on every request (REST, SSE, downloads) to the
server's own origin, and a 401 that says what to set and is never retried. A MockTransport plays the server;
the last test runs against a real keys-mode server."""

from __future__ import annotations

import asyncio
import doctest
import json
from pathlib import Path

import httpx
import pytest

import framecast.client.auth
from framecast.client import AsyncClient, Client, ClientError

KEY = "fc_0123456789abcdef0123_" + "k" * 43
BASE = "http://framecast.test"


def _sse(*events: tuple[int, str, dict[str, object]]) -> httpx.Response:
    text = 'event: hello\ndata: {"type":"hello","project_id":"prj_1","data":{}}\n\n'
    for seq, type_, data in events:
        envelope = {"seq": seq, "type": type_, "project_id": "prj_1", "data": data}
        text += f"id: {seq}\nevent: {type_}\ndata: {json.dumps(envelope)}\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=text)


DONE = (2, "project_status", {"status": "completed", "terminal": True})
SNAPSHOT = {
    "id": "prj_1",
    "status": "completed",
    "terminal": True,
    "last_seq": 2,
    "result": {"url": "/media/v.mp4"},
}


class Recorder:
    """A server that answers every route of the SDK and records (method, path, Authorization) per request."""

    def __init__(self, status: int = 200) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.bodies: list[bytes] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, request.headers.get("authorization")))
        self.bodies.append(request.content)
        if self.status == 401:
            return httpx.Response(
                401,
                json={"status": 401, "code": "unauthenticated", "message": "The API key is not valid."},
                headers={"WWW-Authenticate": "Bearer"},
            )
        path = request.url.path
        if path.endswith("/events") and "text/event-stream" in request.headers.get("accept", ""):
            return _sse((1, "task_status", {"terminal": False}), DONE)
        if path.endswith("/events"):
            return httpx.Response(200, json={"events": [], "last_seq": 2, "terminal": True})
        if path.endswith("/tokens"):
            return httpx.Response(201, json={"token": "fct_x", "expires_at": "2030-01-01T00:00:00Z"})
        if path.startswith("/media/"):
            return httpx.Response(200, content=b"mp4 bytes")
        if request.method == "POST" and path == "/api/projects":
            return httpx.Response(201, json={"id": "prj_1"})
        return httpx.Response(200, json=SNAPSHOT)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def _every_call(client: Client, tmp_path: Path) -> None:
    client.create_project(prompt="x")
    client.get_project("prj_1")
    client.poll("prj_1")
    client.cancel("prj_1")
    client.retry("prj_1")
    client.create_token("prj_1")
    assert [e["seq"] for e in client.events("prj_1")] == [1, 2]
    client.download(client.wait("prj_1")["url"], tmp_path / "v.mp4")


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRAMECAST_API_KEY", raising=False)


def test_the_key_from_the_environment_goes_on_every_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRAMECAST_API_KEY", KEY)
    server = Recorder()
    with Client(BASE, transport=server.transport()) as client:
        _every_call(client, tmp_path)
    paths = {path for _, path, _ in server.seen}
    assert {
        "/api/projects",
        "/api/projects/prj_1/events",
        "/api/projects/prj_1/tokens",
        "/media/v.mp4",
    } <= paths
    assert {auth for _, _, auth in server.seen} == {f"Bearer {KEY}"}


def test_an_explicit_key_wins_and_an_empty_one_sends_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAMECAST_API_KEY", "fc_from_the_environment")
    server = Recorder()
    with Client(BASE, "fc_explicit", transport=server.transport()) as client:
        client.get_project("prj_1")
    with Client(BASE, api_key="", transport=server.transport()) as client:
        client.get_project("prj_1")
    assert [auth for _, _, auth in server.seen] == ["Bearer fc_explicit", None]


def test_without_a_key_no_header_is_sent(tmp_path: Path) -> None:
    server = Recorder()
    with Client(BASE, transport=server.transport()) as client:
        _every_call(client, tmp_path)
    assert {auth for _, _, auth in server.seen} == {None}


def test_the_key_never_goes_to_another_host(tmp_path: Path) -> None:
    server = Recorder()
    with Client(BASE, KEY, transport=server.transport()) as client:
        client.download("https://cdn.elsewhere.test/media/v.mp4", tmp_path / "a.mp4")
        client.download("http://framecast.test:8080/media/v.mp4", tmp_path / "b.mp4")  # another port
        client.download("/media/v.mp4", tmp_path / "c.mp4")
    assert [auth for _, _, auth in server.seen] == [None, None, f"Bearer {KEY}"]


def test_create_token_sends_the_lifetime_when_given() -> None:
    server = Recorder()
    with Client(BASE, KEY, transport=server.transport()) as client:
        assert client.create_token("prj_1")["token"] == "fct_x"
        client.create_token("prj_1", ttl_s=60)
    assert [json.loads(b) for b in server.bodies] == [{}, {"ttl_s": 60}]
    assert [(m, p) for m, p, _ in server.seen] == [("POST", "/api/projects/prj_1/tokens")] * 2


@pytest.mark.parametrize(("key", "says"), [(None, "needs an API key"), (KEY, "refused the API key")])
def test_a_401_says_to_set_the_key_and_is_not_retried(key: str | None, says: str, tmp_path: Path) -> None:
    server = Recorder(status=401)
    with Client(BASE, key, transport=server.transport()) as client:
        for call in (
            lambda: client.get_project("prj_1"),
            lambda: list(client.events("prj_1")),
            lambda: client.wait("prj_1"),
            lambda: client.download("/media/v.mp4", tmp_path / "never-written.mp4"),
        ):
            before = len(server.seen)
            with pytest.raises(ClientError) as raised:
                call()
            assert len(server.seen) == before + 1, "a 401 was retried"
            error = raised.value
            assert (error.status, error.code, error.unauthenticated) == (401, "unauthenticated", True)
            assert "FRAMECAST_API_KEY" in error.message and says in error.message
            assert "The API key is not valid" in error.message  # the server's own words are kept
    assert list(tmp_path.iterdir()) == []


def test_a_revoked_key_mid_follow_ends_the_iterator_after_one_401() -> None:
    """The stream drops, the reconnect is refused (the key was revoked meanwhile): one 401, then the error."""
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if len(seen) == 1:
            return _sse((1, "task_status", {"terminal": False}))  # ends early, not terminal
        return httpx.Response(401, json={"code": "unauthenticated", "message": "The API key is not valid."})

    got: list[int] = []
    with (
        Client(BASE, KEY, transport=httpx.MockTransport(handle)) as client,
        pytest.raises(ClientError) as raised,
    ):
        for event in client.events("prj_1"):
            got.append(event["seq"])
    assert got == [1] and raised.value.code == "unauthenticated"
    assert seen == ["/api/projects/prj_1/events", "/api/projects/prj_1"], "refused once, then stopped"


def test_a_proxy_page_on_401_is_not_pasted_into_the_message() -> None:
    transport = httpx.MockTransport(lambda _r: httpx.Response(401, text="<html>" + "x" * 5000 + "</html>"))
    with Client(BASE, transport=transport) as client, pytest.raises(ClientError) as raised:
        client.get_project("prj_1")
    assert raised.value.code == "unauthenticated" and "<html>" not in raised.value.message
    assert "FRAMECAST_API_KEY" in raised.value.message


def test_async_client_twin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRAMECAST_API_KEY", KEY)
    server, refusing = Recorder(), Recorder(status=401)

    async def run() -> None:
        async with AsyncClient(BASE, transport=server.transport()) as client:
            await client.create_project(prompt="x")
            assert (await client.create_token("prj_1", ttl_s=60))["token"] == "fct_x"
            assert [e["seq"] async for e in client.aiter_events("prj_1")] == [1, 2]
            await client.download((await client.wait("prj_1"))["url"], tmp_path / "v.mp4")
        async with AsyncClient(BASE, api_key="fc_other", transport=refusing.transport()) as client:
            with pytest.raises(ClientError) as raised:
                async for _ in client.aiter_events("prj_1"):
                    pass
            assert raised.value.code == "unauthenticated" and "FRAMECAST_API_KEY" in raised.value.message

    asyncio.run(run())
    assert {auth for _, _, auth in server.seen} == {f"Bearer {KEY}"}
    assert "/media/v.mp4" in {path for _, path, _ in server.seen}
    assert [auth for _, _, auth in refusing.seen] == ["Bearer fc_other"]  # one request, not a retry loop


def test_the_auth_module_examples() -> None:
    assert doctest.testmod(framecast.client.auth).failed == 0


@pytest.mark.slow
def test_against_a_real_keys_mode_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from framecast.ledger.engine import make_engine
    from framecast.ledger.repository import SqlLedger
    from framecast.services.identity import KeyService
    from tests.support.server import Server

    server = Server(tmp_path / "data", workers=1, env={"FRAMECAST_AUTH": "keys"}).start()
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'framecast.db'}")
    try:
        keys = KeyService(SqlLedger(engine))
        key, bob = keys.create("ana")[1], keys.create("bob")[1]
        monkeypatch.setenv("FRAMECAST_API_KEY", key)
        with Client(server.url) as client:  # the key from the environment
            project = client.create_project(
                prompt="A key in the lock", duration_s=1, resolution="360p", fps=24
            )
            seqs = [e["seq"] for e in client.events(project["id"])]
            assert seqs == list(range(1, len(seqs) + 1))
            result = client.wait(project["id"])
            assert client.download(result["url"], tmp_path / "v.mp4").stat().st_size > 1000
            token = client.create_token(project["id"], ttl_s=120)
            other = client.create_project(prompt="Another one", duration_s=1, resolution="360p", fps=24)
        with Client(server.url, api_key=token["token"]) as reader:  # a delivery token reads its project
            assert reader.get_project(project["id"])["status"] == "completed"
            assert [e["seq"] for e in reader.events(project["id"])] == seqs
            reader.download(result["url"], tmp_path / "t.mp4")
            with pytest.raises(ClientError) as foreign:
                reader.get_project(other["id"])
            assert (foreign.value.status, foreign.value.code) == (404, "project_not_found")
        with Client(server.url, api_key=bob) as b, pytest.raises(ClientError) as missing:
            b.get_project(project["id"])
        assert (missing.value.status, missing.value.code) == (404, "project_not_found")
        for wrong, says in [("", "needs an API key"), (key[:-1] + "x", "refused the API key")]:
            with Client(server.url, api_key=wrong) as anonymous, pytest.raises(ClientError) as refused:
                list(anonymous.events(project["id"]))
            assert refused.value.code == "unauthenticated" and says in refused.value.message
            assert "FRAMECAST_API_KEY" in refused.value.message
    finally:
        engine.dispose()
        server.stop()
