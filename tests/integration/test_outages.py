"""The database goes away under a running ``framecast serve`` and comes back: every route answers 503
``service_unavailable`` with Retry-After (never a 500, never a dropped connection), ``/readyz`` tells the
truth, open streams end with a ``problem`` (SSE) or close 1011 (WebSocket), and once the database is back the
service heals without a restart: clients resume with no gap and every project completes.

Two ways to take the database away: Postgres behind a TCP proxy that is stopped (pooled connections cut, new
ones refused), and the SQLite file of the embedded mode replaced by a directory. The latter is what makes
SQLite fail for root too: ``chmod 000`` does not stop root, but no one can open a directory as a database
(SQLITE_CANTOPEN), and unlike a plain rename nothing can create an empty database in its place.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy.engine import make_url

from framecast.client.sse import parse
from tests.support.server import Server, all_events, create, wait_chunk_progress, wait_for, wait_terminal
from tests.support.tcp_proxy import TcpProxy

#: Faster healing than the defaults, so a test does not wait for the reconciler's usual intervals.
ENV = {
    "FRAMECAST_DEBUG_FRAME_DELAY_MS": "30",
    "FRAMECAST_RECONCILE_INTERVAL_S": "1",
    "FRAMECAST_LOST_MESSAGE_AFTER_S": "3",
    "FRAMECAST_OUTBOX_GRACE_S": "2",
    "FRAMECAST_PING_INTERVAL_S": "1",
}


class SseWatch(threading.Thread):
    """Reads one SSE connection in the background: ``messages`` as (event, id, data) as they arrive."""

    def __init__(self, base_url: str, project_id: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url = f"{base_url}/api/projects/{project_id}/events"
        self.headers = {"Accept": "text/event-stream", **(headers or {})}
        self.messages: list[tuple[str, str | None, Any]] = []
        self.status: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10, read=120)) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                self.status = response.status_code
                for message in parse(response.iter_lines()):
                    data = json.loads(message.data) if message.data else message.retry
                    self.messages.append((message.event, message.id, data))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def kinds(self) -> list[str]:
        return [m[0] for m in self.messages]

    def seqs(self) -> list[int]:
        return [int(m[1]) for m in self.messages if m[1] is not None]


class WsWatch(threading.Thread):
    """Reads one WebSocket in the background: ``messages`` and the close code the server sent."""

    def __init__(self, base_url: str, project_id: str, after: int = 0) -> None:
        super().__init__(daemon=True)
        self.uri = base_url.replace("http", "ws") + f"/api/projects/{project_id}/ws?after={after}"
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._read())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    async def _read(self) -> None:
        async with websockets.connect(self.uri) as ws:
            try:
                while True:
                    self.messages.append(json.loads(await asyncio.wait_for(ws.recv(), 120)))
            except websockets.ConnectionClosed as closed:
                self.close_code = closed.rcvd.code if closed.rcvd else None

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.messages if "seq" in m]


def _assert_unavailable(response: httpx.Response, what: str) -> None:
    assert response.status_code == 503, (what, response.status_code, response.text)
    assert response.headers["retry-after"].isdigit(), what
    body = response.json()
    assert body["code"] == "service_unavailable", (what, body)


def _assert_every_route_unavailable(client: httpx.Client, project_id: str) -> None:
    """Snapshot, create, gallery, polling and a new SSE stream: 503 with Retry-After, no 500, no dropped
    connection (an httpx.TransportError would fail the test here)."""
    routes: list[tuple[str, Callable[[], httpx.Response]]] = [
        ("snapshot", lambda: client.get(f"/api/projects/{project_id}")),
        ("create", lambda: client.post("/api/projects", json={"prompt": "During the outage"})),
        ("gallery", lambda: client.get("/api/videos")),
        ("polling", lambda: client.get(f"/api/projects/{project_id}/events", params={"after": 0})),
        (
            "sse",
            lambda: client.get(f"/api/projects/{project_id}/events", headers={"Accept": "text/event-stream"}),
        ),
    ]
    for what, call in routes:
        response = call()
        _assert_unavailable(response, what)
        assert response.json()["cause"] in ("database_down", "database_busy"), (what, response.text)
    ready = client.get("/readyz")
    _assert_unavailable(ready, "readyz")
    assert ready.json()["checks"]["database"] != "ok", ready.text


def _drill(server: Server, cut: Callable[[], None], restore: Callable[[], None]) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        project = create(client, prompt="The database goes away mid-render", duration_s=3, resolution="360p")
        queued = create(client, prompt="Queued behind it", duration_s=1, resolution="360p")
        wait_chunk_progress(client, project["id"], 0.05, timeout_s=90)
        sse = SseWatch(server.url, project["id"])
        ws = WsWatch(server.url, project["id"])
        sse.start()
        ws.start()
        wait_for(lambda: sse.seqs() and ws.seqs(), timeout_s=15)  # both past hello and into the log

        cut()
        try:
            _assert_every_route_unavailable(client, project["id"])
            # The streams that were open meet the outage too (the event hub wakes them): SSE ends with a
            # `problem`, the WebSocket sends one and closes 1011.
            sse.join(timeout=20)
            ws.join(timeout=20)
            assert not sse.is_alive() and sse.error is None, (sse.error, sse.kinds()[-5:])
            assert sse.kinds()[-1] == "problem", sse.messages[-3:]
            problem = sse.messages[-1][2]
            assert problem["data"]["code"] == "service_unavailable" and problem["project_id"] == project["id"]
            assert not ws.is_alive() and ws.error is None, ws.error
            assert ws.close_code == 1011, (ws.close_code, ws.messages[-2:])
            assert ws.messages[-1]["type"] == "problem"
            assert ws.messages[-1]["data"]["code"] == "service_unavailable"
            time.sleep(4.0)  # longer than a chunk: tasks that end now cannot record it and must be re-run
        finally:
            restore()

        # Healed without a restart: ready again, and the same server process answers.
        wait_for(lambda: client.get("/readyz").status_code == 200, timeout_s=30, interval_s=0.2)
        assert server.proc is not None and server.proc.poll() is None

        # An EventSource resuming from its Last-Event-ID gets the rest of the log, with no gap.
        seen = sse.seqs()
        resumed = SseWatch(server.url, project["id"], headers={"Last-Event-ID": str(seen[-1])})
        assert seen == list(range(1, len(seen) + 1))
        resumed.start()  # to the end of the stream (the project's terminal event)
        resumed.join(120)
        assert resumed.status == 200 and resumed.error is None, resumed.error
        assert seen + resumed.seqs() == list(range(1, len(seen) + len(resumed.seqs()) + 1))
        last = resumed.messages[-1][2]
        assert last["type"] == "project_status" and last["data"]["terminal"] is True
        # So does a WebSocket resuming with ?after=.
        ws_seen = ws.seqs()
        ws_resumed = WsWatch(server.url, project["id"], after=ws_seen[-1])
        # Its own thread: the test process may have a running loop (Playwright's sync API).
        ws_resumed.start()
        ws_resumed.join(120)
        assert ws_resumed.close_code == 1000, (ws_resumed.close_code, ws_resumed.error)
        assert ws_seen + ws_resumed.seqs() == list(range(1, len(ws_seen) + len(ws_resumed.seqs()) + 1))

        # No project lost: the one that was rendering and the one that waited both complete.
        for pid in (project["id"], queued["id"]):
            snap = wait_terminal(client, pid, timeout_s=180)
            assert snap["status"] == "completed", (snap["error"], server.log_tail())
            seqs = [e["seq"] for e in all_events(client, pid)]
            assert seqs == list(range(1, len(seqs) + 1))
        gallery = {item["project_id"] for item in client.get("/api/videos").json()["items"]}
        assert {project["id"], queued["id"]} <= gallery
        assert 'HTTP/1.1" 500' not in server.log_tail(10_000_000), "some request was answered 500"


@pytest.fixture
def postgres_server(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Server, TcpProxy]]:
    upstream = make_url(postgres_url)
    proxy = TcpProxy(upstream.port or 5432)
    url = upstream.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    server = Server(tmp_path / "data", workers=1, env={**ENV, "FRAMECAST_DATABASE_URL": url})
    try:
        yield server.start(), proxy
    finally:
        server.stop()
        proxy.close()


@pytest.mark.services
def test_postgres_cut_under_a_running_service(postgres_server: tuple[Server, TcpProxy]) -> None:
    server, proxy = postgres_server
    _drill(server, proxy.stop, proxy.start)


def test_sqlite_file_gone_under_a_running_service(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", workers=1, env=ENV).start()
    db = server.data_dir / "framecast.db"
    aside = db.with_name("framecast.db.away")

    def cut() -> None:
        os.rename(db, aside)
        db.mkdir()

    def restore() -> None:
        db.rmdir()
        os.rename(aside, db)

    try:
        _drill(server, cut, restore)
    finally:
        server.stop()
