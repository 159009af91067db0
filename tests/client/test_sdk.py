"""The SDK against a real server, including through a network that drops every connection mid-stream."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import av
import pytest

from framecast.client import AsyncClient, Client, ClientError
from framecast.client.sse import parse
from tests.support.server import Server, run_async
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = Server(
        tmp_path_factory.mktemp("sdk") / "data",
        workers=2,
        env={"FRAMECAST_PING_INTERVAL_S": "1", "FRAMECAST_DEBUG_FRAME_DELAY_MS": "25"},
    ).start()
    yield srv
    srv.stop()


def test_sse_decoder_handles_ids_retry_comments_and_multiline_data() -> None:
    lines = [
        "retry: 2000",
        "",
        ": comment",
        "event: hello",
        'data: {"a":',
        "data: 1}",
        "",
        "id: 7",
        "event: file",
        "data: x",
        "",
    ]
    messages = list(parse(lines))
    assert [(m.event, m.id) for m in messages] == [("retry", None), ("hello", None), ("file", "7")]
    assert messages[0].retry == 2000 and messages[1].data == '{"a":\n1}'


def test_sync_client_follows_a_project_and_downloads_it(server: Server, tmp_path: Path) -> None:
    with Client(server.url) as client:
        project = client.create_project(
            prompt="A kite over the dunes", duration_s=1, resolution="360p", fps=24
        )
        events = list(client.events(project["id"]))
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        result = client.wait(project["id"])
        path = client.download(result["url"], tmp_path / "kite.mp4")
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.width == 640


def test_sync_client_resumes_through_dropped_connections(server: Server) -> None:
    proxy = TcpProxy(server.port)
    stop = threading.Event()

    def flaky() -> None:
        while not stop.wait(0.3):
            proxy.cut()

    cutter = threading.Thread(target=flaky, daemon=True)
    try:
        with Client(proxy.url, timeout=10) as client:
            project = client.create_project(
                prompt="Through a flaky network", duration_s=3, resolution="360p", fps=24
            )
            cutter.start()
            events = list(client.events(project["id"], max_reconnects=1000))
        assert proxy.cuts >= 2, "the network was never cut; the test proves nothing"
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(1, len(seqs) + 1)), "an event was missed or repeated across reconnects"
        assert events[-1]["type"] == "project_status" and events[-1]["data"]["status"] == "completed"
    finally:
        stop.set()
        proxy.close()


def test_async_client_twin(server: Server, tmp_path: Path) -> None:
    async def scenario() -> tuple[list[int], dict]:
        async with AsyncClient(server.url) as client:
            project = await client.create_project(
                prompt="Async lanterns", duration_s=1, resolution="360p", fps=24
            )
            seqs = [e["seq"] async for e in client.aiter_events(project["id"])]
            result = await client.wait(project["id"])
            await client.download(result["url"], tmp_path / "a.mp4")
            return seqs, result

    seqs, result = run_async(scenario)
    assert seqs == list(range(1, len(seqs) + 1))
    assert result["width"] == 640 and (tmp_path / "a.mp4").stat().st_size > 1000


def test_client_errors_carry_the_server_code(server: Server) -> None:
    with Client(server.url) as client:
        with pytest.raises(ClientError) as info:
            client.create_project(prompt="x", duration_s=0)
        assert info.value.status == 422 and info.value.code == "invalid_input"
        with pytest.raises(ClientError) as missing:
            client.get_project("prj_missing")
        assert missing.value.status == 404


def test_cancelled_project_wait_raises(server: Server) -> None:
    with Client(server.url) as client:
        project = client.create_project(prompt="Cancel me", duration_s=4, resolution="360p", fps=24)
        time.sleep(0.3)
        client.cancel(project["id"])
        with pytest.raises(ClientError) as info:
            client.wait(project["id"])
        assert info.value.code == "cancelled"
