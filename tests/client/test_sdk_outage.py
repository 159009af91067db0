"""The SDK rides out a server outage: a stream that ends with ``problem``, then 503s with Retry-After, then the
rest of the log; the caller sees every event once and no exception. The server is a MockTransport (the real
thing is in tests/integration/test_outages.py)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from framecast.client import AsyncClient, Client, ClientError

UNAVAILABLE = {"status": 503, "code": "service_unavailable", "cause": "database_down", "message": "down"}


def _sse(*blocks: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, text="".join(blocks))


def _event(seq: int, type_: str, data: dict[str, object]) -> str:
    envelope = {"seq": seq, "type": type_, "project_id": "prj_1", "data": data}
    return f"id: {seq}\nevent: {type_}\ndata: {json.dumps(envelope)}\n\n"


HELLO = 'event: hello\ndata: {"type":"hello","project_id":"prj_1","data":{}}\n\n'
PROBLEM = (
    "retry: 3000\nevent: problem\n"
    'data: {"type":"problem","project_id":"prj_1","data":{"code":"service_unavailable","message":"down"}}\n\n'
)


def _outage_server() -> tuple[httpx.MockTransport, list[str]]:
    """First stream: event 1 then a problem; then two 503s (snapshot, stream); then the rest."""
    seen: list[str] = []
    down = {"left": 2}

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.path}?{request.url.query.decode()}")
        if not seen[:-1]:
            return _sse("retry: 2000\n\n", HELLO, _event(1, "task_status", {"terminal": False}), PROBLEM)
        if down["left"] > 0:
            down["left"] -= 1
            return httpx.Response(503, json=UNAVAILABLE, headers={"Retry-After": "0"})
        if request.url.path.endswith("/events"):
            assert request.url.params["after"] == "1"
            return _sse(HELLO, _event(2, "project_status", {"status": "completed", "terminal": True}))
        return httpx.Response(200, json={"terminal": True, "last_seq": 2})

    return httpx.MockTransport(handle), seen


def test_sync_client_resumes_after_a_problem_and_503s() -> None:
    transport, seen = _outage_server()
    with Client("http://framecast.test", transport=transport) as client:
        assert [e["seq"] for e in client.events("prj_1")] == [1, 2]
    assert seen[0] == "/api/projects/prj_1/events?after=0"
    assert seen[-1] == "/api/projects/prj_1/events?after=1"


def test_async_client_resumes_after_a_problem_and_503s() -> None:
    transport, _ = _outage_server()

    async def run() -> list[int]:
        async with AsyncClient("http://framecast.test", transport=transport) as c:
            return [e["seq"] async for e in c.aiter_events("prj_1")]

    assert asyncio.run(run()) == [1, 2]


def test_client_error_carries_the_cause_and_retry_after() -> None:
    transport = httpx.MockTransport(
        lambda _request: httpx.Response(503, json=UNAVAILABLE, headers={"Retry-After": "3"})
    )
    with Client("http://framecast.test", transport=transport) as client, pytest.raises(ClientError) as raised:
        client.get_project("prj_1")
    assert raised.value.unavailable and raised.value.code == "service_unavailable"
    assert raised.value.cause == "database_down" and raised.value.retry_after == 3.0
