"""``Client.wait()`` and ``AsyncClient.wait()`` with their options, against a real ``framecast serve``
with one worker (so a second project waits in the queue behind a first)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from framecast.client import AsyncClient, Client, ClientError, WaitProgress, WaitTimeout
from tests.support.server import Server, all_events, run_async, wait_chunk_progress

pytestmark = pytest.mark.slow

SMALL = {"duration_s": 4, "resolution": "360p", "fps": 24}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("wait") / "data",
        workers=1,
        env={"FRAMECAST_DEBUG_FRAME_DELAY_MS": "20", "FRAMECAST_CHUNK_SECONDS": "1"},
    ).start()
    yield srv
    srv.stop()


def _check_reports(reports: list[WaitProgress]) -> None:
    progress = [r.progress for r in reports]
    assert progress == sorted(progress), f"progress went back: {progress}"
    assert reports[-1].status == "completed" and reports[-1].progress == 1.0 and reports[-1].eta_s == 0.0
    assert all(r.queue_position is None for r in reports if r.status != "queued")


@pytest.mark.parametrize("transport", ["sse", "ws", "poll", "auto"])
def test_wait_over_each_transport_sees_every_event_once_and_the_overall_progress(
    server: Server, transport: str
) -> None:
    events: list[dict[str, Any]] = []
    reports: list[WaitProgress] = []
    with Client(server.url) as client:
        project = client.create_project(prompt=f"A lantern over {transport}", **SMALL)
        result = client.wait(
            project["id"],
            transport=transport,  # type: ignore[arg-type]
            on_event=events.append,
            on_progress=reports.append,
            poll_interval=0.2,
            timeout=120,
        )
        snapshot = client.get_project(project["id"])
    with httpx.Client(base_url=server.url) as http:
        log = all_events(http, project["id"])
    assert [e["seq"] for e in events] == [e["seq"] for e in log] == list(range(1, len(log) + 1))
    assert events[-1]["type"] == "project_status" and events[-1]["data"]["status"] == "completed"
    assert result == snapshot["result"]
    _check_reports(reports)
    assert len({r.progress for r in reports}) >= 3, "on_progress did not follow the render"
    chunks = [t for t in snapshot["tasks"] if t["kind"] == "render_chunk"]
    assert len(chunks) >= 2  # so a chunk's own progress would have gone back to 0 once


def test_a_timeout_raises_with_context_and_leaves_the_project_running(server: Server) -> None:
    with Client(server.url) as client:
        project = client.create_project(prompt="A slow glacier", duration_s=20, resolution="360p", fps=24)
        try:
            with pytest.raises(WaitTimeout) as info:
                client.wait(project["id"], timeout=0.5)
            error = info.value
            assert isinstance(error, ClientError) and isinstance(error, TimeoutError)
            assert (error.code, error.project_id, error.timeout_s) == ("wait_timeout", project["id"], 0.5)
            assert error.snapshot is not None and error.snapshot["id"] == project["id"]
            assert project["id"] in error.message and "still running" in error.message
            assert not client.get_project(project["id"])["terminal"]  # nothing was cancelled
            # A later wait picks it up; here it ends by a cancel, which wait reports as an error.
            client.cancel(project["id"])
            with pytest.raises(ClientError) as ended:
                client.wait(project["id"], timeout=60, transport="poll")
            assert ended.value.code == "cancelled"
        finally:
            if not client.get_project(project["id"])["terminal"]:
                client.cancel(project["id"])


def test_a_project_behind_another_reports_its_queue_position(server: Server) -> None:
    with Client(server.url) as client, httpx.Client(base_url=server.url) as http:
        first = client.create_project(
            prompt="A long ferry crossing", duration_s=20, resolution="360p", fps=24
        )
        wait_chunk_progress(http, first["id"], above=0.0)  # it holds the only worker
        second = client.create_project(prompt="A paper boat", **SMALL)
        reports: list[WaitProgress] = []

        def on_progress(report: WaitProgress) -> None:
            reports.append(report)
            if report.status == "queued" and report.queue_position:
                client.cancel(first["id"])  # seen waiting: let it through

        try:
            client.wait(second["id"], on_progress=on_progress, timeout=120)
        finally:
            if not client.get_project(first["id"])["terminal"]:
                client.cancel(first["id"])
    assert reports[0].status == "queued" and reports[0].queue_position == 1
    assert any(r.status == "running" for r in reports)
    assert any(r.eta_s is not None and r.eta_s > 0 for r in reports if r.status == "running")
    _check_reports(reports)


def test_the_async_twin_takes_the_same_options(server: Server) -> None:
    async def scenario() -> tuple[list[int], list[WaitProgress], str]:
        seqs: list[int] = []
        reports: list[WaitProgress] = []
        code = ""

        async def on_progress(report: WaitProgress) -> None:  # a coroutine function works too
            reports.append(report)

        async with AsyncClient(server.url) as client:
            project = await client.create_project(prompt="Async lanterns", **SMALL)
            await client.wait(
                project["id"],
                transport="ws",
                on_event=lambda e: seqs.append(e["seq"]),
                on_progress=on_progress,
                poll_interval=0.2,
                timeout=120,
            )
            slow = await client.create_project(
                prompt="A slow async glacier", duration_s=20, resolution="360p"
            )
            try:
                await client.wait(slow["id"], timeout=0.5, transport="poll")
            except WaitTimeout as exc:
                code = exc.code
            finally:
                await client.cancel(slow["id"])
            return seqs, reports, code

    seqs, reports, code = run_async(scenario)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 3
    _check_reports(reports)
    assert code == "wait_timeout"
