"""Cancel, retry after a failure, and crash recovery, on real processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, all_events, create, wait_chunk_progress, wait_for, wait_terminal


def _running_render(client: httpx.Client, project_id: str, min_progress: float = 0.05) -> dict:
    def check() -> dict | None:
        snap = client.get(f"/api/projects/{project_id}").json()
        assert not snap["terminal"], snap
        chunks = [t for t in snap["tasks"] if t["kind"] == "render_chunk" and t["status"] == "running"]
        return snap if any(t["progress"] >= min_progress for t in chunks) else None

    return wait_for(check, timeout_s=60)


@pytest.fixture
def slow_server(tmp_path) -> Server:
    # 40 ms per frame: a 4 s 24 fps render takes ~4 s per worker, long enough to act mid-render
    srv = Server(
        tmp_path / "data",
        workers=1,
        env={"FRAMECAST_DEBUG_FRAME_DELAY_MS": "40", "FRAMECAST_CHUNK_SECONDS": "10"},
    ).start()
    yield srv
    srv.stop()


def test_cancel_stops_a_running_render_within_about_a_second(slow_server: Server) -> None:
    with httpx.Client(base_url=slow_server.url, timeout=30) as client:
        project = create(client, prompt="Cancel me while I render", duration_s=6, resolution="360p", fps=24)
        _running_render(client, project["id"])
        response = client.post(f"/api/projects/{project['id']}/cancel")
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled" and response.json()["terminal"] is True
        cancelled_at = time.monotonic()
        # the single worker is free again soon: a new tiny project completes, which needs that worker
        nxt = create(client, prompt="Next in line", duration_s=1, resolution="360p", fps=24)
        snap = wait_terminal(client, nxt["id"], timeout_s=60)
        assert snap["status"] == "completed"
        events = all_events(client, project["id"])
        assert events[-1]["type"] == "project_status" and events[-1]["data"]["status"] == "cancelled"
        assert not [e for e in events if e["type"] == "render_result"]
        # the cancelled render wrote no more progress after the cancel event
        cancel_seq = events[-1]["seq"]
        assert all(e["seq"] <= cancel_seq for e in events)
        assert time.monotonic() - cancelled_at < 30
        # cancelling twice is harmless; a completed project cannot be cancelled
        assert client.post(f"/api/projects/{project['id']}/cancel").status_code == 200
        assert client.post(f"/api/projects/{nxt['id']}/cancel").status_code == 409


def test_retry_after_an_injected_failure_completes_and_continues_the_log(tmp_path) -> None:
    srv = Server(tmp_path / "data", workers=1, env={"FRAMECAST_FAIL_TASKS": "render_chunk:1"}).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            project = create(client, prompt="Fail once then succeed", duration_s=2, resolution="360p", fps=24)
            failed = wait_terminal(client, project["id"])
            assert failed["status"] == "failed"
            assert failed["error"]["code"] == "injected_failure"
            assert "render_chunk" in failed["error"]["message"]
            before = all_events(client, project["id"])
            assert before[-1]["data"] == {**before[-1]["data"], "status": "failed", "terminal": True}
            assert client.post(f"/api/projects/{project['id']}/retry").status_code == 200
            done = wait_terminal(client, project["id"])
            assert done["status"] == "completed", done
            after = all_events(client, project["id"])
            assert after[: len(before)] == before
            assert [e["seq"] for e in after] == list(range(1, len(after) + 1))
            assert [e["type"] for e in after].count("render_result") == 1
            assert after[-1]["data"]["status"] == "completed"
            chunk_attempts = {t["attempt"] for t in done["tasks"] if t["kind"] == "render_chunk"}
            assert chunk_attempts == {2}
            assert client.post(f"/api/projects/{project['id']}/retry").status_code == 409
    finally:
        srv.stop()


def test_a_task_past_the_time_limit_fails_the_project_with_a_clear_error(tmp_path) -> None:
    # 48 frames at 100 ms each: one chunk takes about 5 s, five times the limit.
    env = {"FRAMECAST_TASK_TIME_LIMIT_S": "1", "FRAMECAST_DEBUG_FRAME_DELAY_MS": "100"}
    srv = Server(tmp_path / "data", workers=1, env=env).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            project = create(client, prompt="Too slow for its limit", duration_s=2, resolution="360p", fps=24)
            snap = wait_terminal(client, project["id"], timeout_s=60)
            assert snap["status"] == "failed", snap
            assert snap["error"]["code"] == "time_limit_exceeded"
            assert "FRAMECAST_TASK_TIME_LIMIT_S" in snap["error"]["message"]
            chunk = next(t for t in snap["tasks"] if t["kind"] == "render_chunk")
            assert chunk["status"] == "failed" and chunk["attempt"] == 1
    finally:
        srv.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stopped_mid_render_drains_its_workers_before_it_exits(tmp_path, sig: int) -> None:
    env = {
        "FRAMECAST_DEBUG_FRAME_DELAY_MS": "60",
        "FRAMECAST_DRAIN_TIMEOUT_S": "1",
        "FRAMECAST_CHUNK_SECONDS": "10",
    }
    srv = Server(tmp_path / "data", workers=1, env=env).start()
    assert srv.proc is not None
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        project = create(client, prompt="Stop the server mid render", duration_s=4, resolution="360p", fps=24)
        wait_chunk_progress(client, project["id"], 0.1)
    workers = srv.worker_pids()
    assert len(workers) == 1
    srv.proc.send_signal(sig)
    assert srv.proc.wait(timeout=40) == 0, srv.log_tail()
    # Its worker drained (handed its chunk back) and exited before the server did: nothing is orphaned.
    assert not Path(f"/proc/{workers[0]}").exists(), "the worker outlived its server"
    assert "handed back: worker draining" in srv.log_tail(20_000)
    restarted = Server(tmp_path / "data", workers=1).start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=30) as client:
            done = wait_terminal(client, project["id"], timeout_s=120)
            assert done["status"] == "completed", done
            chunk = next(t for t in done["tasks"] if t["kind"] == "render_chunk")
            # Handed back as attempt 2; the embedded server's start-up reconcile re-sends it once more.
            assert chunk["attempt"] >= 2, "the handed-back chunk ran again as a fresh attempt"
            assert [a["kind"] for a in done["assets"]].count("video") == 1
    finally:
        restarted.stop()


def test_sigkill_worker_mid_render_still_completes_once(slow_server: Server) -> None:
    with httpx.Client(base_url=slow_server.url, timeout=30) as client:
        project = create(client, prompt="Survive a crash mid render", duration_s=4, resolution="360p", fps=24)
        _running_render(client, project["id"], min_progress=0.15)
        pids = slow_server.worker_pids()
        assert len(pids) == 1
        os.kill(pids[0], signal.SIGKILL)
        snap = wait_terminal(client, project["id"], timeout_s=120)
        assert snap["status"] == "completed", snap
        assert slow_server.worker_pids() != pids, "the pool replaced the dead worker"
        events = all_events(client, project["id"])
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [e["type"] for e in events].count("render_result") == 1
        videos = [a for a in snap["assets"] if a["kind"] == "video"]
        assert len(videos) == 1
        assert client.get(videos[0]["url"]).status_code == 200


def test_server_restart_mid_render_reconciles_and_completes(tmp_path) -> None:
    env = {"FRAMECAST_DEBUG_FRAME_DELAY_MS": "40", "FRAMECAST_CHUNK_SECONDS": "10"}
    srv = Server(tmp_path / "data", workers=1, env=env).start()
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        project = create(client, prompt="Restart the whole server", duration_s=4, resolution="360p", fps=24)
        _running_render(client, project["id"], min_progress=0.1)
    srv.stop(signal.SIGKILL)
    again = Server(tmp_path / "data", workers=1, env=env).start()
    try:
        with httpx.Client(base_url=again.url, timeout=30) as client:
            snap = wait_terminal(client, project["id"], timeout_s=120)
            assert snap["status"] == "completed", snap
            events = all_events(client, project["id"])
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
            assert [e["type"] for e in events].count("render_result") == 1
            assert len([a for a in snap["assets"] if a["kind"] == "video"]) == 1
            # The restarted server re-sent the unfinished chunk itself, with a fresh attempt.
            assert "reconciled" in again.log_tail(50_000)
            chunk = next(t for t in snap["tasks"] if t["kind"] == "render_chunk")
            assert chunk["attempt"] >= 2
    finally:
        again.stop()


def test_deleting_a_running_project_ends_its_stream_and_frees_the_worker(slow_server: Server) -> None:
    from tests.support.server import read_sse

    with httpx.Client(base_url=slow_server.url, timeout=30) as client:
        project = create(client, prompt="Delete me mid render", duration_s=6, resolution="360p", fps=24)
        _running_render(client, project["id"])
        import threading

        result: dict = {}

        def listen() -> None:
            result["messages"] = read_sse(client, project["id"], after=0, timeout_s=60)[1]

        listener = threading.Thread(target=listen)
        listener.start()
        time.sleep(0.5)
        assert client.delete(f"/api/projects/{project['id']}").status_code == 204
        listener.join(timeout=60)
        assert not listener.is_alive(), "the stream of a deleted project did not end"
        last = result["messages"][-1]
        assert last[0] in ("problem", "project_status"), last
        assert client.get(f"/api/projects/{project['id']}").status_code == 404
        nxt = create(client, prompt="After the delete", duration_s=1, resolution="360p", fps=24)
        assert wait_terminal(client, nxt["id"], timeout_s=60)["status"] == "completed"
