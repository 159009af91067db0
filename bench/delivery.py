"""Delivery latency: from an event's commit in the ledger to its arrival at an SSE client, a WebSocket client
and a JSON poller, on a real `framecast serve` (embedded mode), side by side in one run.

    .venv/bin/python bench/delivery.py [--events 1000] [--rate 100]

The benchmark process writes events straight into the project's log (as a worker would) and records the
time right after each commit; three clients connected to the server record when each seq arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import Server  # noqa: E402

from bench._report import write_section  # noqa: E402
from framecast.client.sse import parse  # noqa: E402
from framecast.domain.status import Status  # noqa: E402
from framecast.ledger.engine import make_engine  # noqa: E402
from framecast.ledger.repository import SqlLedger  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def sse_reader(url: str, pid: str, arrivals: dict[int, float], ready: threading.Event, n: int) -> None:
    with httpx.Client(base_url=url, timeout=httpx.Timeout(10, read=120)) as c:
        with c.stream("GET", f"/api/projects/{pid}/events", headers={"Accept": "text/event-stream"}) as r:
            for m in parse(r.iter_lines()):
                if m.event == "hello":
                    ready.set()
                if m.id is not None:
                    seq = int(m.id)
                    arrivals.setdefault(seq, time.perf_counter())
                    if len(arrivals) >= n:
                        return


def ws_reader(url: str, pid: str, arrivals: dict[int, float], ready: threading.Event, n: int) -> None:
    async def run() -> None:
        async with websockets.connect(url.replace("http", "ws") + f"/api/projects/{pid}/ws?after=0") as ws:
            while len(arrivals) < n:
                msg = json.loads(await ws.recv())
                if msg["type"] == "hello":
                    ready.set()
                if "seq" in msg:
                    arrivals.setdefault(msg["seq"], time.perf_counter())

    asyncio.run(run())


def poller(url: str, pid: str, arrivals: dict[int, float], ready: threading.Event, n: int) -> None:
    after = 0
    with httpx.Client(base_url=url, timeout=10) as c:
        while len(arrivals) < n:
            body = c.get(f"/api/projects/{pid}/events", params={"after": after}).json()
            now = time.perf_counter()
            ready.set()
            for e in body["events"]:
                arrivals.setdefault(e["seq"], now)
                after = e["seq"]
            time.sleep((body["next_poll_ms"] or 1000) / 1000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=100.0, help="events per second")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fc-bench-"))
    server = Server(tmp / "data", workers=0, env={"FRAMECAST_LOG_LEVEL": "WARNING"}).start()
    try:
        with httpx.Client(base_url=server.url) as c:
            pid = c.post("/api/projects", json={"prompt": "benchmark", "resolution": "360p"}).json()["id"]
            base = c.get(f"/api/projects/{pid}").json()["last_seq"]
        ledger = SqlLedger(make_engine(f"sqlite:///{tmp / 'data' / 'framecast.db'}"))
        # No workers run here, so mark the project running by hand: pollers then get the running cadence.
        with ledger.transaction() as tx:
            tx.update_project(pid, status=Status.RUNNING)
        n = base + args.events
        clients = {"SSE": {}, "WebSocket": {}, "JSON polling": {}}
        readers = {"SSE": sse_reader, "WebSocket": ws_reader, "JSON polling": poller}
        threads = []
        for name, fn in readers.items():
            ready = threading.Event()
            t = threading.Thread(target=fn, args=(server.url, pid, clients[name], ready, n), daemon=True)
            t.start()
            ready.wait(10)
            threads.append(t)
        committed: dict[int, float] = {}
        gap = 1.0 / args.rate
        for i in range(args.events):
            with ledger.transaction() as tx:
                ev = tx.append_event(pid, "render_progress", {"task_id": "bench", "progress": i / args.events, "frame": i, "frames": args.events, "eta_s": None})
            committed[ev.seq] = time.perf_counter()
            time.sleep(gap)
        for t in threads:
            t.join(timeout=30)
    finally:
        server.stop()
    rows = []
    for name, arrivals in clients.items():
        lat = [(arrivals[s] - committed[s]) * 1000 for s in committed if s in arrivals]
        missing = len(committed) - len(lat)
        rows.append((name, len(lat), missing, statistics.median(lat), pct(lat, 99), max(lat)))
    table = ["| transport | events | missing | p50 ms | p99 ms | max ms |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, count, missing, p50, p99, mx in rows:
        table.append(f"| {name} | {count} | {missing} | {p50:.1f} | {p99:.1f} | {mx:.1f} |")
    text = "\n".join(table)
    print(text)
    sse_p99 = rows[0][4]
    body = (
        f"`bench/delivery.py`: {args.events} `render_progress` events committed at {args.rate:.0f}/s into one project's log "
        "(SQLite, embedded mode), received by an SSE client, a WebSocket client and a JSON poller (honouring "
        "`next_poll_ms`, 1000 ms while running) on one `framecast serve`; latency = arrival − commit.\n\n"
        f"{text}\n\nGoal: SSE p99 ≤ 50 ms — {'met' if sse_p99 <= 50 else 'NOT met'} ({sse_p99:.1f} ms). "
        f"Machine: {platform.machine()}, Python {platform.python_version()}, run {time.strftime('%Y-%m-%d')}."
    )
    write_section("Delivery latency", body)


if __name__ == "__main__":
    main()
