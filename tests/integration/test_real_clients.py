"""Real clients, followed to the letter, through a network that drops the connection mid-stream.

- ``eventsource`` (npm, under node): a WHATWG EventSource. It keeps its URL (``…/events?after=0``) for its
  whole life, reconnects with ``Last-Event-ID`` and stops for good only on 204.
- ``httpx-sse``: one connection at a time; the loop around it does what an EventSource does.
- ``sseclient-py``: a parser over any byte stream.
- ``websockets``: reconnects with ``?after=`` the last seq.

Each must see every event of the log exactly once, in order, and stop after the terminal one.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sseclient
import websockets
from httpx_sse import connect_sse

from tests.conftest import IN_CI
from tests.support.server import Server, all_events, create, run_async, wait_terminal
from tests.support.tcp_proxy import TcpProxy

ROOT = Path(__file__).resolve().parents[2]
FOLLOW_JS = Path(__file__).parent / "clients" / "eventsource_follow.mjs"
RETRY_MS = 100
#: The proxy drops every connection when a connection has delivered this many persisted events, twice
#: (the render is slowed so both come before the end).
CUT_AFTER = 3
CUTS = 2


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose renders take a few seconds (a frame delay), so a stream can be cut mid-way."""
    srv = Server(
        tmp_path_factory.mktemp("clients") / "data",
        workers=1,
        env={
            "FRAMECAST_DEBUG_FRAME_DELAY_MS": "60",
            "FRAMECAST_SSE_RETRY_MS": str(RETRY_MS),
            "FRAMECAST_PING_INTERVAL_S": "1",
        },
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def proxy(slow_server: Server) -> Iterator[TcpProxy]:
    relay = TcpProxy(slow_server.port)
    yield relay
    relay.close()


def _new_project(server: Server) -> str:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        body = {
            "prompt": "Lanterns drifting on a night river",
            "duration_s": 2,
            "resolution": "360p",
            "fps": 24,
        }
        return str(create(client, **body)["id"])


def _check_the_log(server: Server, project_id: str, seqs: list[int], last: dict[str, Any]) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        snapshot = wait_terminal(client, project_id)
        log = all_events(client, project_id)
    assert seqs == [e["seq"] for e in log], "every event once, in order"
    assert seqs[-1] == snapshot["last_seq"]
    assert last["type"] == "project_status" and last["data"]["terminal"] is True


def _node() -> str:
    node = shutil.which("node")
    missing = node is None or not (ROOT / "node_modules" / "eventsource").is_dir()
    if missing:
        message = "node and node_modules/eventsource are needed (make node-deps: npm ci)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    assert node is not None
    return node


def test_eventsource_under_node_resumes_through_cuts_and_stops_after_the_end(
    slow_server: Server, proxy: TcpProxy
) -> None:
    project_id = _new_project(slow_server)
    url = f"{proxy.url}/api/projects/{project_id}/events?after=0"
    proc = subprocess.Popen([_node(), str(FOLLOW_JS), url], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    lines: list[dict[str, Any]] = []
    envelopes: list[dict[str, Any]] = []
    on_this_connection = 0
    try:
        for raw in proc.stdout:
            line = json.loads(raw)
            lines.append(line)
            if line["kind"] == "connect":
                on_this_connection = 0
            if line["kind"] == "event" and line["type"] not in ("hello", "ping", "resync", "problem"):
                envelopes.append(json.loads(line["data"]))
                on_this_connection += 1
                if on_this_connection == CUT_AFTER and proxy.cuts < CUTS:
                    assert not envelopes[-1]["data"].get("terminal"), "the render ended too soon to cut"
                    proxy.cut()
        assert proc.wait(timeout=30) == 0, lines[-5:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proxy.cuts == CUTS
    connects = [line for line in lines if line["kind"] == "connect"]
    statuses = [line["status"] for line in lines if line["kind"] == "response"]
    # One URL for the object's whole life; every reconnect says where it was (the last seq it had when the
    # connection dropped), and the server goes on from there: nothing is replayed from 0.
    assert all(c["url"] == url for c in connects)
    assert connects[0]["lastEventId"] is None
    received: str | None = None
    for line in lines:
        if line["kind"] == "connect":
            assert line["lastEventId"] == received
        elif line["kind"] == "event" and "seq" in json.loads(line["data"]):
            received = str(json.loads(line["data"])["seq"])
    assert len(connects) >= 4  # the first, one after each cut, the one answered 204
    # After the terminal event the server ends the stream; the reconnect gets 204 and the EventSource stops.
    assert statuses[-1] == 204 and statuses[:-1] == [200] * (len(statuses) - 1)
    assert connects[-1]["lastEventId"] == str(envelopes[-1]["seq"])
    assert lines[-1] == {"kind": "error", "readyState": 2}
    # hello opens every stream, and no message without a name (a retry block of its own) was dispatched
    hellos = [i for i, line in enumerate(lines) if line.get("type") == "hello"]
    assert len(hellos) == len(statuses) - 1
    assert all(lines[i - 1]["kind"] == "response" for i in hellos)
    assert not any(line.get("type") == "message" for line in lines)
    _check_the_log(slow_server, project_id, [e["seq"] for e in envelopes], envelopes[-1])


def test_httpx_sse_with_an_eventsource_loop_resumes_through_cuts_and_gets_204(
    slow_server: Server, proxy: TcpProxy
) -> None:
    project_id = _new_project(slow_server)
    url = f"{proxy.url}/api/projects/{project_id}/events?after=0"
    envelopes: list[dict[str, Any]] = []
    statuses: list[int] = []
    last_id: str | None = None
    with httpx.Client(timeout=httpx.Timeout(10, read=30)) as http:
        for _ in range(20):
            headers = {} if last_id is None else {"Last-Event-ID": last_id}
            try:
                with connect_sse(http, "GET", url, headers=headers) as source:
                    statuses.append(source.response.status_code)
                    if source.response.status_code == 204:
                        break
                    on_this_connection = 0
                    for index, sse in enumerate(source.iter_sse()):
                        if index == 0:
                            assert (sse.event, sse.retry) == ("hello", RETRY_MS)  # retry rides with hello
                        assert sse.event != "message" and sse.data, "an empty message was dispatched"
                        envelope = json.loads(sse.data)
                        if "seq" not in envelope:
                            continue
                        assert sse.id == str(envelope["seq"])
                        envelopes.append(envelope)
                        last_id = sse.id
                        on_this_connection += 1
                        if on_this_connection == CUT_AFTER and proxy.cuts < CUTS:
                            assert not envelope["data"].get("terminal"), "the render ended too soon to cut"
                            proxy.cut()
                            break  # what this connection still holds in its buffers is lost with it
            except httpx.TransportError:
                pass  # the cut: reconnect, as an EventSource does
            time.sleep(RETRY_MS / 1000)
    assert statuses[-1] == 204 and statuses.count(200) == CUTS + 1  # the first, one after each cut
    assert proxy.cuts == CUTS
    _check_the_log(slow_server, project_id, [e["seq"] for e in envelopes], envelopes[-1])


def test_sseclient_py_reads_hello_with_its_retry_and_every_event(slow_server: Server) -> None:
    project_id = _new_project(slow_server)
    with httpx.Client(base_url=slow_server.url, timeout=httpx.Timeout(10, read=60)) as http:
        wait_terminal(http, project_id)
        url = f"/api/projects/{project_id}/events"
        with http.stream(
            "GET", url, params={"after": 0}, headers={"Accept": "text/event-stream"}
        ) as response:
            events = list(sseclient.SSEClient(response.iter_bytes()).events())
        ended = http.get(url, params={"after": events[-1].id}, headers={"Accept": "text/event-stream"})
    hello, *rest = events
    # sseclient drops a block without data, and a retry in a block of its own with it
    assert (hello.event, hello.retry, hello.id) == ("hello", str(RETRY_MS), None)
    envelopes = [json.loads(e.data) for e in rest if e.event != "ping"]
    assert [e.id for e in rest if e.event != "ping"] == [str(env["seq"]) for env in envelopes]
    assert ended.status_code == 204
    _check_the_log(slow_server, project_id, [e["seq"] for e in envelopes], envelopes[-1])


def test_websockets_client_resumes_with_after_through_cuts_and_gets_close_1000(
    slow_server: Server, proxy: TcpProxy
) -> None:
    project_id = _new_project(slow_server)
    base = proxy.url.replace("http", "ws") + f"/api/projects/{project_id}/ws"

    async def follow() -> tuple[list[dict[str, Any]], list[int | None], int]:
        envelopes: list[dict[str, Any]] = []
        closes: list[int | None] = []
        connections = 0
        while not closes or closes[-1] != 1000:
            after = envelopes[-1]["seq"] if envelopes else 0
            try:
                async with websockets.connect(f"{base}?after={after}") as ws:
                    connections += 1
                    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    assert first["type"] == "hello"
                    on_this_connection = 0
                    try:
                        while True:
                            envelope = json.loads(await asyncio.wait_for(ws.recv(), 30))
                            if "seq" not in envelope:
                                continue
                            envelopes.append(envelope)
                            on_this_connection += 1
                            if on_this_connection == CUT_AFTER and proxy.cuts < CUTS:
                                assert not envelope["data"].get("terminal"), "the render ended too soon"
                                proxy.cut()
                                break
                    except websockets.ConnectionClosed as closed:
                        closes.append(closed.rcvd.code if closed.rcvd else None)
            except (OSError, websockets.WebSocketException):
                closes.append(None)
            await asyncio.sleep(0.1)
            assert connections < 20
        return envelopes, closes, connections

    envelopes, closes, connections = run_async(follow)
    assert proxy.cuts == CUTS and connections == CUTS + 1
    assert closes[-1] == 1000 and closes.count(1000) == 1
    _check_the_log(slow_server, project_id, [e["seq"] for e in envelopes], envelopes[-1])
