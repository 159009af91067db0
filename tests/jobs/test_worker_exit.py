"""The embedded pool: its children run below the API's priority (FRAMECAST_WORKER_NICE), it reports a
child's exit by the name the child writes on its tasks, and a SIGKILLed worker's task is re-queued from
that exit, not from the heartbeat timeout."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
from tests.support.server import Server, create, wait_chunk_progress, wait_for, wait_terminal

from framecast.jobs.identity import worker_name
from framecast.jobs.pool import WorkerPool
from framecast.settings import Settings


def _nice(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of proc(5), counted after "pid (comm)"


def test_pool_children_run_at_the_worker_nice_and_their_exit_is_reported(tmp_path: Path) -> None:
    exited: list[str] = []
    settings = Settings(data_dir=tmp_path / "data", worker_nice=7)
    pool = WorkerPool(settings, 1, nice=settings.worker_nice, on_exit=exited.append)
    pool.start()
    try:
        pid = pool.pids()[0]
        expected = min(19, os.nice(0) + 7)
        wait_for(lambda: _nice(pid) == expected, timeout_s=30)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: exited, timeout_s=30)
        assert exited == [worker_name(pid)]
        assert pool.pids()[0] != pid, "the dead child was replaced"
    finally:
        pool.stop(timeout_s=10)


def test_a_sigkilled_workers_chunk_is_requeued_from_its_exit_not_its_heartbeat(tmp_path: Path) -> None:
    # A heartbeat timeout of 10 minutes: neither the reconciler's silent-task check nor the broker's
    # redelivery of the dead consumer's message can act within this test; only the pool's exit report can.
    env = {
        "FRAMECAST_HEARTBEAT_TIMEOUT_S": "600",
        "FRAMECAST_DEBUG_FRAME_DELAY_MS": "40",
        "FRAMECAST_CHUNK_SECONDS": "10",
    }
    server = Server(tmp_path / "data", workers=1, env=env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            project = create(
                client, prompt="A worker dies mid chunk", duration_s=4, resolution="360p", fps=24
            )
            wait_chunk_progress(client, project["id"], 0.15)
            pids = server.worker_pids()
            assert len(pids) == 1
            os.kill(pids[0], signal.SIGKILL)
            done = wait_terminal(client, project["id"], timeout_s=240)
        assert done["status"] == "completed", done
        chunk = next(t for t in done["tasks"] if t["kind"] == "render_chunk")
        assert chunk["attempt"] == 2, "the chunk ran again as a fresh attempt"
        assert f"worker {worker_name(pids[0])} exited; re-queued 1 running task(s)" in server.log_tail(50_000)
    finally:
        server.stop()
