"""Operations on a real ``framecast serve`` with two worker processes, sign-in by keys and JSON logs: the
metrics move as a project runs (counted from both workers), /metrics takes an admin key or the metrics
token only, every log line is a JSON object carrying the ids that follow one project from its request to
its tasks, and no alembic noise is printed at start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.keys import make_key
from tests.support.server import Server, read_sse, wait_for, wait_terminal

METRICS_TOKEN = "ops-test-metrics-token"


class Ops:
    def __init__(self, server: Server, user: str, admin: str) -> None:
        self.server = server
        self.user = {"Authorization": f"Bearer {user}"}
        self.admin = {"Authorization": f"Bearer {admin}"}
        self.token = {"Authorization": f"Bearer {METRICS_TOKEN}"}

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = httpx.get(f"{self.server.url}/metrics", headers=self.token, timeout=10)
        assert response.status_code == 200, response.text
        return {
            (s.name, tuple(sorted(s.labels.items()))): float(s.value)
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }

    def scrape_until(self, predicate: Any, timeout_s: float = 30.0) -> dict[Any, float]:
        """Scrape until ``predicate(scraped)`` holds; the scrape that made it hold."""
        found: list[dict[Any, float]] = []

        def check() -> bool:
            scraped = self.scrape()
            if predicate(scraped):
                found.append(scraped)
                return True
            return False

        wait_for(check, timeout_s=timeout_s, interval_s=0.1)
        return found[0]

    def log_lines(self) -> list[str]:
        return [line for line in self.server.log_tail(10_000_000).splitlines() if line.strip()]


def sample(scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    data = tmp_path_factory.mktemp("ops") / "data"
    data.mkdir()
    user, admin = make_key(data, "ana"), make_key(data, "ops", admin=True)
    server = Server(
        data,
        workers=2,
        env={
            "FRAMECAST_AUTH": "keys",
            "FRAMECAST_METRICS_TOKEN": METRICS_TOKEN,
            "FRAMECAST_LOG_FORMAT": "json",
            "FRAMECAST_CHUNK_SECONDS": "1",
            # ~0.5 s per 1 s chunk: long enough that both workers take chunks and a stream is seen open
            "FRAMECAST_DEBUG_FRAME_DELAY_MS": "20",
        },
    ).start()
    try:
        yield Ops(server, user, admin)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def run(ops: Ops) -> dict[str, Any]:
    """One project, run to the end with an SSE stream open, and the metrics before, during and after."""
    before = ops.scrape()
    with httpx.Client(base_url=ops.server.url, headers=ops.user, timeout=30) as client:
        made = client.post(
            "/api/projects",
            json={"prompt": "A lighthouse in a storm", "duration_s": 4, "resolution": "360p", "fps": 24},
            headers={"X-Request-ID": "ops-create-1"},
        )
        assert made.status_code == 201, made.text
        assert made.headers["x-request-id"] == "ops-create-1"
        project_id = made.json()["id"]
        streamed: dict[str, Any] = {}

        def stream() -> None:
            with httpx.Client(base_url=ops.server.url, headers=ops.user, timeout=30) as own:
                streamed["messages"] = read_sse(own, project_id)[1]

        reader = threading.Thread(target=stream)
        reader.start()
        during = ops.scrape_until(lambda m: sample(m, "framecast_stream_connections", transport="sse") >= 1)
        snapshot = wait_terminal(client, project_id)
        reader.join(60)
    assert snapshot["status"] == "completed", snapshot
    assert streamed["messages"][-1][0] == "project_status"
    after = ops.scrape_until(lambda m: sample(m, "framecast_stream_connections", transport="sse") == 0)
    return {"id": project_id, "snapshot": snapshot, "before": before, "during": during, "after": after}


def test_metrics_move_as_a_project_runs(run: dict[str, Any]) -> None:
    before, during, after = run["before"], run["during"], run["after"]
    active = (
        sum(sample(during, "framecast_projects_total", status=s) for s in ("queued", "running"))
        + sample(during, "framecast_projects_total", status="completed")
        - sample(before, "framecast_projects_total", status="completed")
    )
    assert active >= 1
    assert sample(after, "framecast_projects_total", status="completed") == (
        sample(before, "framecast_projects_total", status="completed") + 1
    )
    assert sample(after, "framecast_projects_total", status="running") == 0
    assert (
        sum(
            v
            for (name, _), v in after.items()
            if name in ("framecast_tasks_queued", "framecast_tasks_running")
        )
        == 0
    )
    tasks = run["snapshot"]["tasks"]
    chunks = sum(1 for t in tasks if t["kind"] == "render_chunk")
    assert chunks >= 2  # GOP-aligned chunks of about FRAMECAST_CHUNK_SECONDS
    for kind in {t["kind"] for t in tasks}:
        ran = sum(1 for t in tasks if t["kind"] == kind)
        grown = sample(after, "framecast_task_duration_seconds_count", kind=kind) - sample(
            before, "framecast_task_duration_seconds_count", kind=kind
        )
        assert grown == ran, kind
        assert sample(after, "framecast_task_duration_seconds_bucket", kind=kind, le="+Inf") == sample(
            after, "framecast_task_duration_seconds_count", kind=kind
        )
    assert sample(after, "framecast_task_duration_seconds_sum", kind="render_chunk") > sample(
        before, "framecast_task_duration_seconds_sum", kind="render_chunk"
    )
    assert (
        sample(after, "framecast_render_frames_per_second_count")
        - sample(before, "framecast_render_frames_per_second_count")
        == chunks
    )
    assert sample(after, "framecast_render_frames_per_second_sum") > 0
    lag = sample(after, "framecast_event_delivery_lag_seconds_count", transport="sse")
    assert lag > sample(before, "framecast_event_delivery_lag_seconds_count", transport="sse")
    assert sample(after, "framecast_event_delivery_lag_seconds_bucket", transport="sse", le="+Inf") == lag
    assert sample(after, "framecast_dead_letters") == 0


def test_both_worker_processes_ran_tasks_and_all_of_them_are_counted(ops: Ops, run: dict[str, Any]) -> None:
    records = [json.loads(line) for line in ops.log_lines()]
    runs = [r for r in records if r.get("project_id") == run["id"] and r["message"].startswith("run ")]
    pids = {r["pid"] for r in runs}
    assert len(pids) == 2, runs  # the two workers of the pool, not the API process
    assert {r["task_id"] for r in runs} == {t["id"] for t in run["snapshot"]["tasks"]}
    grown = sum(
        v - sample(run["before"], name, **dict(labels))
        for (name, labels), v in run["after"].items()
        if name == "framecast_task_duration_seconds_count"
    )
    assert grown == len(run["snapshot"]["tasks"])


def test_every_log_line_is_json_and_one_project_can_be_followed(ops: Ops, run: dict[str, Any]) -> None:
    lines = ops.log_lines()
    records = []
    for line in lines:
        record = json.loads(line)  # every line of stderr (API and both workers) is one JSON object
        assert {"ts", "level", "logger", "message"} <= set(record), record
        records.append(record)
    # request_id -> project_id: the create request's access line names the project it made
    (create,) = [r for r in records if r.get("request_id") == "ops-create-1"]
    assert create["logger"] == "framecast.web.access" and create["message"].startswith(
        "POST /api/projects 201"
    )
    assert create["project_id"] == run["id"] and create["owner"] == "ana"
    # project_id -> task_id: every worker record of the project names its task and owner
    mine = [r for r in records if r.get("project_id") == run["id"] and r["logger"].startswith("framecast.")]
    worker = [r for r in mine if r["logger"] != "framecast.web.access"]
    assert worker and all(r.get("task_id", "").startswith("tsk_") and r["owner"] == "ana" for r in worker)
    assert any(r["logger"] == "framecast.render.video" for r in worker)  # the renderer's own lines too
    # the SSE stream's access line and the snapshot polls carry the project too
    assert any(r["message"].startswith("GET /api/projects/" + run["id"]) for r in mine)
    assert not [r for r in records if r["logger"].startswith("alembic") and r["level"] == "INFO"]
    assert not [line for line in lines if "prompt" in line.lower() and "lighthouse" in line.lower()]


def test_metrics_on_the_real_server_take_an_admin_key_or_the_token(ops: Ops) -> None:
    url = f"{ops.server.url}/metrics"
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    assert anonymous.json()["request_id"] == anonymous.headers["x-request-id"]
    refused = httpx.get(url, headers=ops.user)
    assert refused.status_code == 403 and refused.json()["code"] == "metrics_forbidden"
    for headers in (ops.admin, ops.token):
        ok = httpx.get(url, headers=headers)
        assert ok.status_code == 200 and ok.headers["x-request-id"].startswith("req_")
        assert "framecast_projects_total" in ok.text and "ana" not in ok.text


def test_a_worker_start_prints_no_alembic_noise(tmp_path: Path) -> None:
    env = dict(os.environ, FRAMECAST_DATA_DIR=str(tmp_path / "data"), FRAMECAST_LOG_LEVEL="INFO")
    env.pop("FRAMECAST_LOG_FORMAT", None)  # the default, text
    proc = subprocess.Popen(
        [sys.executable, "-m", "framecast", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            lines.append(raw.decode(errors="replace"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("worker started" in line for line in lines), timeout_s=60)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(5)
    text = "".join(lines)
    assert "alembic.runtime.plugins" not in text and "alembic" not in text, text
    assert "database schema upgraded from empty to" in text
    assert len([line for line in lines if " INFO " in line]) <= 6, text
