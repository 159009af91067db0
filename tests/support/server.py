"""A real ``framecast serve`` process on a free port, for tests that need a real server (SSE, crashes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from framecast.client.local import free_port


@dataclass
class Server:
    data_dir: Path
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> Server:
        env = dict(os.environ)
        env.update(
            {
                "FRAMECAST_DATA_DIR": str(self.data_dir),
                "FRAMECAST_HEARTBEAT_TIMEOUT_S": "2",
                # serve drains its workers before it exits; a test server stopped mid-render need not wait 20 s
                "FRAMECAST_DRAIN_TIMEOUT_S": "2",
                "FRAMECAST_LOG_LEVEL": "INFO",
            }
        )
        env.update(self.env)
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "framecast",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        pids: list[int] = []
        task_dir = Path(f"/proc/{self.proc.pid}/task")
        for task in task_dir.iterdir():
            children = (task / "children").read_text().split()
            pids.extend(int(c) for c in children)
        return pids

    def log_tail(self, n: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-n:]


def create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/projects", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def wait_terminal(client: httpx.Client, project_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        snap: dict[str, Any] = client.get(f"/api/projects/{project_id}").json()
        if snap["terminal"]:
            return snap
        time.sleep(0.2)
    raise AssertionError(f"project {project_id} did not finish: {json.dumps(snap)[:2000]}")


def wait_for(predicate: Any, timeout_s: float = 60.0, interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError("condition not met in time")


def wait_chunk_progress(client: httpx.Client, project_id: str, above: float, timeout_s: float = 60.0) -> None:
    """Wait until some render chunk of the project has rendered more than ``above`` (0..1) of its frames."""

    def rendering() -> bool:
        snap = client.get(f"/api/projects/{project_id}").json()
        return any(t["kind"] == "render_chunk" and t["progress"] > above for t in snap["tasks"])

    wait_for(rendering, timeout_s=timeout_s)


def all_events(client: httpx.Client, project_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        body = client.get(f"/api/projects/{project_id}/events", params={"after": after, "limit": 1000}).json()
        events.extend(body["events"])
        if not body["events"]:
            return events
        after = body["events"][-1]["seq"]


def read_sse(
    client: httpx.Client,
    project_id: str,
    *,
    after: int | None = None,
    headers: dict[str, str] | None = None,
    max_messages: int = 100_000,
    timeout_s: float = 120.0,
) -> tuple[httpx.Headers, list[tuple[str, str | None, Any]]]:
    """Read an SSE stream to its end: [(event, id, data-json)], plus the response headers. ``retry`` lines are
    recorded as ('retry', None, value)."""
    from framecast.client.sse import parse

    params = {} if after is None else {"after": after}
    messages: list[tuple[str, str | None, Any]] = []
    with client.stream(
        "GET",
        f"/api/projects/{project_id}/events",
        params=params,
        headers={"Accept": "text/event-stream", **(headers or {})},
        timeout=httpx.Timeout(10, read=timeout_s),
    ) as response:
        assert response.status_code == 200, response.read()
        for message in parse(response.iter_lines()):
            if message.event == "retry":
                messages.append(("retry", None, message.retry))
                continue
            messages.append((message.event, message.id, json.loads(message.data) if message.data else None))
            if len(messages) >= max_messages:
                break
        return response.headers, messages


def run_async(make_coro: Any, timeout_s: float = 120.0) -> Any:
    """Run a coroutine to completion in a fresh thread with its own loop (the test process may already
    have a running loop, e.g. Playwright's sync API)."""
    import asyncio
    import threading

    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make_coro())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise AssertionError("the async part of the test did not finish in time")
    if "error" in box:
        raise box["error"]
    return box.get("value")
