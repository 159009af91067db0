"""The SDK's shared, I/O-free event-following logic, and both clients driven through it on a MockTransport
(no server: the stream contents are scripted, including a replayed event and a problem mid-stream)."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest

from framecast.client import AsyncClient, Client, ClientError, aio, sync
from framecast.client.follow import (
    AUTO_FALLBACK_AFTER,
    BACKOFF_CAP_S,
    EventCursor,
    ProgressTracker,
    StreamProblem,
    finished,
    reconnect_delay_s,
    result_of,
    should_skip,
)
from framecast.client.sse import SSEMessage

# -- backoff --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failures", range(1, 14))
@pytest.mark.parametrize("draw", [0.0, 0.25, 0.5, 0.999])
def test_reconnect_delay_is_between_half_the_ceiling_and_the_ceiling(failures: int, draw: float) -> None:
    ceiling = min(BACKOFF_CAP_S, 0.2 * 2**failures)
    delay = reconnect_delay_s(failures, rng=lambda: draw)
    assert ceiling / 2 <= delay <= ceiling
    assert delay == pytest.approx(ceiling / 2 + draw * ceiling / 2)


def test_reconnect_delay_doubles_then_stays_capped() -> None:
    floors = [reconnect_delay_s(n, rng=lambda: 0.0) for n in range(1, 8)]
    assert floors[:4] == pytest.approx([0.2, 0.4, 0.8, 1.6])
    assert floors[-1] == BACKOFF_CAP_S / 2
    assert reconnect_delay_s(5_000, rng=lambda: 0.999) <= BACKOFF_CAP_S, "no overflow after many failures"


def test_reconnect_delays_are_spread_by_the_random_source() -> None:
    rng = random.Random(1234)
    delays = [reconnect_delay_s(6, rng=rng.random) for _ in range(200)]
    assert all(BACKOFF_CAP_S / 2 <= d <= BACKOFF_CAP_S for d in delays)
    assert len({round(d, 3) for d in delays}) > 100, "clients cut off together come back apart"
    assert all(0.1 <= reconnect_delay_s(1) <= 0.4 for _ in range(50)), "the default source is random()"


# -- the cursor -----------------------------------------------------------------------------------------


def _msg(event: str, **envelope: Any) -> SSEMessage:
    return SSEMessage(event=event, data=json.dumps(envelope))


def test_stream_only_messages_are_skipped() -> None:
    for event in ("hello", "ping", "retry", "resync", "message"):
        assert should_skip(event, '{"last_seq": 3}')
    assert should_skip("file", "")
    assert not should_skip("file", '{"seq": 1}')


def test_the_cursor_yields_each_seq_once_and_sees_the_end() -> None:
    cursor = EventCursor(after=1)
    assert cursor.take(_msg("hello", data={"last_seq": 0})) is None
    assert cursor.take(_msg("task_status", seq=1, type="task_status", data={})) is None, "at the cursor"
    assert cursor.take(_msg("task_status", seq=2, type="task_status", data={}))["seq"] == 2  # type: ignore[index]
    assert cursor.take(_msg("task_status", seq=2, type="task_status", data={})) is None, "a replay"
    assert cursor.take(_msg("odd", type="odd")) is None, "no seq"
    assert not cursor.ended
    assert cursor.take(_msg("project_status", seq=3, type="project_status", data={"terminal": True}))
    assert cursor.ended and cursor.seq == 3


@pytest.mark.parametrize("event", ["problem", "error"])
def test_a_problem_event_ends_the_connection(event: str) -> None:
    with pytest.raises(StreamProblem) as caught:
        EventCursor().take(_msg(event, type=event, data={"code": "storage_down", "message": "later"}))
    assert (caught.value.code, caught.value.message) == ("storage_down", "later")


def test_finished_and_result_of() -> None:
    assert finished({"terminal": True, "last_seq": 5}, 5)
    assert not finished({"terminal": True, "last_seq": 5}, 4)
    assert not finished({"terminal": False, "last_seq": 5}, 5)
    assert result_of({"status": "completed", "result": {"url": "/m"}}) == {"url": "/m"}
    with pytest.raises(ClientError) as caught:
        result_of({"status": "failed", "error": {"code": "render_failed", "message": "boom"}})
    assert caught.value.code == "render_failed"


# -- both clients, one logic ----------------------------------------------------------------------------


def _sse(*frames: tuple[str, dict[str, Any]]) -> bytes:
    out = "retry: 1000\n\n"
    for event, envelope in frames:
        seq = envelope.get("seq")
        out += (f"id: {seq}\n" if seq else "") + f"event: {event}\ndata: {json.dumps(envelope)}\n\n"
    return out.encode()


def _event(seq: int, type_: str = "task_status", **data: Any) -> tuple[str, dict[str, Any]]:
    return type_, {"seq": seq, "type": type_, "project_id": "prj_1", "data": data}


class Script:
    """A server in a function: the first stream breaks off with a problem, the second replays and ends."""

    def __init__(self) -> None:
        self.cursors: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/projects/prj_1":
            return httpx.Response(
                200,
                json={"status": "completed", "terminal": True, "last_seq": 3, "result": {"url": "/media/v"}},
            )
        self.cursors.append(request.url.params["after"])
        hello = ("hello", {"type": "hello", "data": {"last_seq": 0}})
        if len(self.cursors) == 1:
            problem = ("problem", {"type": "problem", "data": {"code": "x", "message": "hiccup"}})
            body = _sse(hello, _event(1), _event(2), problem, _event(9))
        else:
            body = _sse(hello, _event(2), _event(3, "project_status", status="completed", terminal=True))
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (sync, aio):
        monkeypatch.setattr(module, "reconnect_delay_s", lambda failures: 0.0)


def test_the_sync_client_resumes_after_a_problem_and_drops_the_replay() -> None:
    script = Script()
    with Client("http://fc", transport=httpx.MockTransport(script)) as client:
        seqs = [e["seq"] for e in client.events("prj_1")]
        assert client.wait("prj_1") == {"url": "/media/v"}
    assert seqs == [1, 2, 3]
    assert script.cursors[:2] == ["0", "2"], "the second connection resumed after the last seq yielded"


def test_the_async_client_is_the_same_twin() -> None:
    script = Script()

    async def scenario() -> list[int]:
        async with AsyncClient("http://fc", transport=httpx.MockTransport(script)) as client:
            seqs = [e["seq"] async for e in client.aiter_events("prj_1")]
            assert await client.wait("prj_1") == {"url": "/media/v"}
            return seqs

    assert asyncio.run(scenario()) == [1, 2, 3]
    assert script.cursors[:2] == ["0", "2"]


def _always(body: bytes, snapshot: dict[str, Any]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=snapshot)

    return httpx.MockTransport(handler)


RUNNING = {"status": "running", "terminal": False, "last_seq": 1}


def test_both_clients_give_up_after_max_reconnects() -> None:
    early = _always(_sse(_event(1)), RUNNING)
    with Client("http://fc", transport=early) as client, pytest.raises(ClientError) as caught:
        list(client.events("prj_1", max_reconnects=2))
    assert caught.value.code == "stream_unavailable"

    problem = _sse(("problem", {"type": "problem", "data": {"code": "storage_down", "message": "no"}}))

    async def scenario() -> None:
        async with AsyncClient("http://fc", transport=_always(problem, RUNNING)) as client:
            async for _ in client.aiter_events("prj_1", max_reconnects=2):
                pass

    with pytest.raises(ClientError) as caught:
        asyncio.run(scenario())
    assert caught.value.code == "storage_down"


class BufferingProxy:
    """A proxy that answers every SSE request with an empty stream (it buffers, then cuts), while JSON
    polling goes through: ``auto`` must end up polling, from the same cursor."""

    def __init__(self) -> None:
        self.streams = 0
        self.polls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            if request.headers.get("accept") == "text/event-stream":
                self.streams += 1
                return httpx.Response(200, content=b"", headers={"content-type": "text/event-stream"})
            self.polls.append(request.url.params["after"])
            events = [_event(1)[1], _event(2, "project_status", status="completed", terminal=True)[1]]
            return httpx.Response(200, json={"events": events, "last_seq": 2, "terminal": True})
        if self.polls:
            return httpx.Response(
                200, json={"status": "completed", "terminal": True, "last_seq": 2, "result": {"url": "/v"}}
            )
        return httpx.Response(200, json=RUNNING)


def test_auto_falls_back_to_polling_when_sse_keeps_failing() -> None:
    proxy = BufferingProxy()
    seen: list[int] = []
    with Client("http://fc", transport=httpx.MockTransport(proxy)) as client:
        assert client.wait("prj_1", on_event=lambda e: seen.append(e["seq"])) == {"url": "/v"}
    assert proxy.streams == AUTO_FALLBACK_AFTER and proxy.polls == ["0"] and seen == [1, 2]

    async_proxy = BufferingProxy()

    async def scenario() -> dict[str, Any]:
        async with AsyncClient("http://fc", transport=httpx.MockTransport(async_proxy)) as client:
            return await client.wait("prj_1")

    assert asyncio.run(scenario()) == {"url": "/v"}
    assert async_proxy.streams == AUTO_FALLBACK_AFTER and async_proxy.polls == ["0"]


def test_sse_alone_does_not_fall_back() -> None:
    proxy = BufferingProxy()
    with (
        Client("http://fc", transport=httpx.MockTransport(proxy)) as client,
        pytest.raises(ClientError) as caught,
    ):
        client.wait("prj_1", transport="sse", max_reconnects=4)
    assert caught.value.code == "stream_unavailable" and proxy.polls == []
    with Client("http://fc", transport=httpx.MockTransport(proxy)) as client, pytest.raises(ValueError):
        client.wait("prj_1", transport="carrier-pigeon")  # type: ignore[arg-type]


def test_progress_reports_never_go_back_and_estimate_the_time_left() -> None:
    clock = iter([0.0, 0.0, 10.0, 20.0, 30.0]).__next__
    tracker = ProgressTracker(clock=clock)
    queued = tracker.update({"status": "queued", "terminal": False, "progress": 0.0, "queue_position": 2})
    assert (queued.queue_position, queued.eta_s, queued.progress) == (2, None, 0.0)
    reports = [
        tracker.update({"status": "running", "terminal": False, "progress": p, "queue_position": None})
        for p in (0.0, 0.25, 0.125)  # a chunk started again after a crash: the raw figure drops
    ]
    assert [r.progress for r in reports] == [0.0, 0.25, 0.25]
    assert [r.eta_s for r in reports] == [None, 30.0, 60.0]
    done = tracker.update({"status": "completed", "terminal": True, "progress": 1.0})
    assert (done.progress, done.eta_s, done.queue_position) == (1.0, 0.0, None)
