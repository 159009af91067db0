"""SSE and WebSocket against a real uvicorn server: framing, replay, resume, pings, resync, the end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.support.server import Server, all_events, create, read_sse, run_async, wait_terminal


@pytest.fixture(scope="module")
def finished(server: Server) -> str:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        project = create(c, prompt="Waves under a starry sky", duration_s=2, resolution="360p", fps=24)
        wait_terminal(c, project["id"])
        return str(project["id"])


@pytest.fixture(scope="module")
def api_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """An API-only server (no workers): its projects stay queued, so their streams stay open."""
    srv = Server(
        tmp_path_factory.mktemp("api") / "data", workers=0, env={"FRAMECAST_PING_INTERVAL_S": "0.5"}
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def queued(api_only: Server) -> str:
    with httpx.Client(base_url=api_only.url, timeout=30) as c:
        return str(create(c, prompt="Still in the queue", duration_s=1, resolution="360p")["id"])


def _first_blocks(url: str, project_id: str, count: int, **params: Any) -> list[str]:
    """The first ``count`` raw SSE blocks (the text between blank lines), as the server framed them."""
    blocks: list[str] = []
    with httpx.stream(
        "GET",
        f"{url}/api/projects/{project_id}/events",
        params=params,
        headers={"Accept": "text/event-stream"},
        timeout=httpx.Timeout(10, read=10),
    ) as response:
        assert response.status_code == 200
        buffer = ""
        for text in response.iter_text():
            buffer += text
            while "\n\n" in buffer and len(blocks) < count:
                block, buffer = buffer.split("\n\n", 1)
                blocks.append(block)
            if len(blocks) >= count:
                return blocks
    return blocks


def test_sse_headers_retry_hello_then_the_whole_log_then_end(client: httpx.Client, finished: str) -> None:
    headers, messages = read_sse(client, finished, after=0)
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"].startswith("no-cache")
    assert headers["x-accel-buffering"] == "no"
    assert messages[0] == ("retry", None, 2000)
    kind, msg_id, hello = messages[1]
    assert kind == "hello" and msg_id is None
    log = all_events(client, finished)
    assert hello["data"] == {"last_seq": log[-1]["seq"], "status": "completed", "terminal": True}
    replay = [m for m in messages[2:] if m[0] not in ("ping",)]
    assert [json.dumps(m[2], sort_keys=True) for m in replay] == [json.dumps(e, sort_keys=True) for e in log]
    assert all(m[1] == str(m[2]["seq"]) and m[0] == m[2]["type"] for m in replay)
    assert replay[-1][0] == "project_status"  # the server ended the stream after the terminal event


@pytest.mark.parametrize("cursor", [1, 5, -2])
def test_resume_with_last_event_id_or_after_equals_the_tail(
    client: httpx.Client, finished: str, cursor: int
) -> None:
    log = all_events(client, finished)
    cursor = cursor if cursor > 0 else len(log) + cursor
    _, by_header = read_sse(client, finished, headers={"Last-Event-ID": str(cursor)})
    _, by_query = read_sse(client, finished, after=cursor)
    tail = [e["seq"] for e in log[cursor:]]
    assert [m[2]["seq"] for m in by_header if m[1] is not None] == tail
    assert [m[2]["seq"] for m in by_query if m[1] is not None] == tail


def test_retry_travels_in_the_hello_block(client: httpx.Client, finished: str, server: Server) -> None:
    (first, second) = _first_blocks(server.url, finished, 2, after=0)
    lines = first.split("\n")
    assert lines[0] == "retry: 2000" and lines[1] == "event: hello" and lines[2].startswith("data: ")
    assert "retry:" not in second and second.startswith("id: 1\n")


def test_cursor_beyond_the_log_gets_hello_then_resync(api_only: Server, queued: str) -> None:
    with httpx.Client(base_url=api_only.url, timeout=30) as c:
        log = all_events(c, queued)
        blocks = _first_blocks(api_only.url, queued, 2, after=len(log) + 50)
    assert blocks[0].startswith("retry: 2000\nevent: hello\n")
    assert blocks[1].startswith("event: resync\n")
    assert json.loads(blocks[1].split("data: ", 1)[1])["data"] == {"last_seq": len(log)}


def test_last_event_id_wins_over_after_on_sse(client: httpx.Client, finished: str) -> None:
    log = all_events(client, finished)
    _, messages = read_sse(client, finished, after=0, headers={"Last-Event-ID": "3"})
    assert [m[2]["seq"] for m in messages if m[1] is not None] == [e["seq"] for e in log[3:]]


@pytest.mark.parametrize("beyond", [0, 1, 50])
def test_a_stream_at_or_past_the_terminal_event_is_204(
    client: httpx.Client, finished: str, beyond: int
) -> None:
    last = all_events(client, finished)[-1]["seq"]
    url = f"/api/projects/{finished}/events"
    for request in (
        {"params": {"after": last + beyond}},
        {"params": {"after": 0}, "headers": {"Last-Event-ID": str(last + beyond)}},
    ):
        headers = {"Accept": "text/event-stream", **request.get("headers", {})}
        response = client.get(url, params=request["params"], headers=headers)
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert not response.headers.get("content-type", "").startswith("text/event-stream")
    # one before the terminal event is a stream of that one event
    _, messages = read_sse(client, finished, after=last - 1)
    assert [m[2]["seq"] for m in messages if m[1] is not None] == [last]


def test_live_stream_pings_and_delivers_every_event_once(server: Server, client: httpx.Client) -> None:
    # a slow render (frame delay) so the stream sees live events and at least one 1 s ping
    body = {"prompt": "Slow clouds over a calm sea", "duration_s": 1, "resolution": "360p", "fps": 24}
    project = create(client, **body)
    _, messages = read_sse(client, project["id"])
    seqs = [m[2]["seq"] for m in messages if m[1] is not None]
    assert seqs == list(range(1, len(seqs) + 1))
    assert messages[-1][2]["data"]["terminal"] is True
    assert seqs[-1] == wait_terminal(client, project["id"])["last_seq"]


def test_idle_stream_sends_named_pings(server: Server, client: httpx.Client) -> None:
    # A project that cannot start quickly: cancel it right after creating, then stream a fresh queued one.
    project = create(client, prompt="Ping test", duration_s=1, resolution="360p")
    pings = []
    with client.stream(
        "GET",
        f"/api/projects/{project['id']}/events",
        params={"after": 0},
        headers={"Accept": "text/event-stream"},
        timeout=httpx.Timeout(10, read=30),
    ) as response:
        from framecast.client.sse import parse

        for message in parse(response.iter_lines()):
            if message.event == "ping":
                pings.append(json.loads(message.data))
                assert message.id is None
            if message.event == "project_status" and json.loads(message.data)["data"]["terminal"]:
                break
    wait_terminal(client, project["id"])
    # the module's server pings every second; a 1 s render plus planning spans at least one ping, or the
    # stream ended first — both are fine, but pings, when sent, carry the cursor
    for ping in pings:
        assert ping["type"] == "ping" and "last_seq" in ping["data"]


def test_unknown_project_stream_is_404_before_streaming(client: httpx.Client) -> None:
    response = client.get("/api/projects/prj_nope/events", headers={"Accept": "text/event-stream"})
    assert response.status_code == 404
    assert response.json()["code"] == "project_not_found"


def test_websocket_sends_hello_then_the_same_envelopes_then_closes_1000(
    server: Server, client: httpx.Client, finished: str
) -> None:
    log = all_events(client, finished)

    async def run() -> tuple[list[dict], int | None]:
        got = []
        uri = server.url.replace("http", "ws") + f"/api/projects/{finished}/ws?after=2"
        async with websockets.connect(uri) as ws:
            try:
                while True:
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            except websockets.ConnectionClosedOK as closed:
                return got, closed.rcvd.code if closed.rcvd else None

    got, code = run_async(run)
    assert code == 1000
    assert got[0]["type"] == "hello" and "seq" not in got[0]
    assert got[1:] == log[2:]


def test_websocket_resume_message_moves_the_cursor(tmp_path) -> None:
    # An API-only server (no workers): the project stays queued and the stream stays open.
    srv = Server(tmp_path / "data", workers=0, env={"FRAMECAST_PING_INTERVAL_S": "0.5"}).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            project = create(c, prompt="Resume over websocket", duration_s=1, resolution="360p")
            log = all_events(c, project["id"])
            assert len(log) >= 2

        async def run() -> list[dict]:
            uri = srv.url.replace("http", "ws") + f"/api/projects/{project['id']}/ws?after={len(log)}"
            async with websockets.connect(uri) as ws:
                hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert hello["type"] == "hello"
                await ws.send(json.dumps({"type": "resume", "after": 0}))
                got = []
                while len([m for m in got if "seq" in m]) < len(log):
                    got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
                return got

        got = run_async(run)
        assert [m for m in got if "seq" in m] == log
    finally:
        srv.stop()


def test_websocket_cursor_past_the_end_gets_hello_then_resync(api_only: Server, queued: str) -> None:
    async def run() -> list[dict[str, Any]]:
        uri = api_only.url.replace("http", "ws") + f"/api/projects/{queued}/ws?after=999"
        async with websockets.connect(uri) as ws:
            return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]

    hello, resync = run_async(run)
    assert hello["type"] == "hello" and resync["type"] == "resync"
    assert resync["data"]["last_seq"] == hello["data"]["last_seq"]


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        '"resume"',
        "{}",
        '{"type": "subscribe", "after": 0}',
        '{"type": "resume"}',
        '{"type": "resume", "after": true}',
        '{"type": "resume", "after": -1}',
        '{"type": "resume", "after": 1.5}',
        '{"type": "resume", "after": "3"}',
        '{"type": "resume", "after": 2147483649}',
        b"\x00binary",
    ],
)
def test_websocket_frame_the_server_cannot_use_gets_a_problem_and_close_1008(
    api_only: Server, queued: str, frame: str | bytes
) -> None:
    async def run() -> tuple[dict[str, Any], int | None]:
        uri = api_only.url.replace("http", "ws") + f"/api/projects/{queued}/ws?after=0"
        async with websockets.connect(uri) as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
            await ws.send(frame)
            try:
                while True:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if message["type"] == "problem":
                        problem = message
            except websockets.ConnectionClosed as closed:
                return problem, closed.rcvd.code if closed.rcvd else None

    problem, code = run_async(run)
    assert code == 1008
    assert problem["project_id"] == queued and "seq" not in problem
    assert problem["data"]["code"] == "invalid_message"
    assert "resume" in problem["data"]["message"]


def test_websocket_valid_resume_frames_keep_the_stream_open(api_only: Server, queued: str) -> None:
    async def run() -> list[dict[str, Any]]:
        uri = api_only.url.replace("http", "ws") + f"/api/projects/{queued}/ws?after=0"
        async with websockets.connect(uri) as ws:
            got = [json.loads(await asyncio.wait_for(ws.recv(), 10))]
            await ws.send(json.dumps({"type": "resume", "after": 0}))
            await ws.send(json.dumps({"type": "resume", "after": 2**31}))  # past the end: resync
            while not any(m["type"] == "resync" for m in got) or got[-1]["type"] != "ping":
                got.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            return got

    got = run_async(run)
    assert got[0]["type"] == "hello"
    assert not any(m["type"] == "problem" for m in got)


def test_the_sdk_takes_204_for_done_and_reads_the_snapshot(
    server: Server, client: httpx.Client, finished: str
) -> None:
    from framecast.client import AsyncClient, Client

    last = all_events(client, finished)[-1]["seq"]
    seen: list[tuple[str, int]] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            seen.append((request.url.path, response.status_code))
            return response

    class AsyncRecording(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            seen.append((request.url.path, response.status_code))
            return response

    with Client(server.url, transport=Recording()) as sdk:
        assert list(sdk.events(finished, after=last)) == []

    async def run() -> list[dict[str, Any]]:
        async with AsyncClient(server.url, transport=AsyncRecording()) as sdk:
            return [e async for e in sdk.aiter_events(finished, after=last)]

    assert run_async(run) == []
    once = [(f"/api/projects/{finished}/events", 204), (f"/api/projects/{finished}", 200)]
    assert seen == once + once  # one stream request (204), one snapshot, and no reconnect
