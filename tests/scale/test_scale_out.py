"""Scale-out on the machine's real Postgres and Redis: API replicas and workers as real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from framecast.client.sse import parse
from tests.scale.conftest import Cluster, OwnRedis
from tests.support.images import png_bytes
from tests.support.s3_server import S3Server
from tests.support.server import all_events, create, wait_chunk_progress, wait_for, wait_terminal


def _check_once(client: httpx.Client, project_id: str) -> dict:
    snap = client.get(f"/api/projects/{project_id}").json()
    events = all_events(client, project_id)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), "gap or repeat in the log"
    assert [e["type"] for e in events].count("render_result") == 1
    videos = [a for a in snap["assets"] if a["kind"] == "video"]
    assert len(videos) == 1
    files = Counter(e["data"]["asset"]["id"] for e in events if e["type"] == "file")
    assert all(n == 1 for n in files.values()), "an asset was announced twice"
    return snap


def _stream(
    url: str, project_id: str, after: int, *, stop_after: int | None = None, into: list[dict] | None = None
) -> list[dict]:
    got: list[dict] = [] if into is None else into
    with httpx.Client(base_url=url, timeout=httpx.Timeout(10, read=60)) as c:
        with c.stream(
            "GET",
            f"/api/projects/{project_id}/events",
            params={"after": after},
            headers={"Accept": "text/event-stream"},
        ) as response:
            assert response.status_code == 200
            for message in parse(response.iter_lines()):
                if message.id is None:
                    continue
                got.append(json.loads(message.data))
                if stop_after is not None and len(got) >= stop_after:
                    break
    return got


def test_submit_on_one_replica_stream_on_the_other(cluster: Cluster) -> None:
    a, b = cluster.api(), cluster.api()
    cluster.worker()
    cluster.worker()
    with httpx.Client(base_url=a.url, timeout=30) as client_a:
        project = create(client_a, prompt="Two replicas, one story", duration_s=2, resolution="360p", fps=24)
    streamed = _stream(b.url, project["id"], 0)
    ended = datetime.now(UTC)
    assert [e["seq"] for e in streamed] == list(range(1, len(streamed) + 1))
    assert streamed[-1]["type"] == "project_status" and streamed[-1]["data"]["status"] == "completed"
    # Live through Redis Streams, not by the stream's own re-read of the log (every 120 s when idle).
    lag = (ended - datetime.fromisoformat(streamed[-1]["ts"])).total_seconds()
    assert lag < 5.0, f"the end reached B {lag:.1f} s after it was committed on A's worker"
    with httpx.Client(base_url=b.url, timeout=30) as client_b:
        snap = _check_once(client_b, project["id"])
        assert client_b.get(snap["result"]["url"]).status_code == 200  # shared media: any replica serves it
    with httpx.Client(base_url=a.url, timeout=30) as client_a:
        assert client_a.get(snap["result"]["url"]).status_code == 200


def test_sigkill_a_worker_mid_render(cluster: Cluster) -> None:
    cluster.extra_env["FRAMECAST_DEBUG_FRAME_DELAY_MS"] = "30"
    api = cluster.api()
    w1, w2 = cluster.worker(), cluster.worker()
    with httpx.Client(base_url=api.url, timeout=30) as client:
        project = create(client, prompt="Kill a worker mid render", duration_s=6, resolution="360p", fps=24)

        wait_chunk_progress(client, project["id"], 0.2)
        os.kill(w1.pid, signal.SIGKILL)
        snap = wait_terminal(client, project["id"], timeout_s=180)
        assert snap["status"] == "completed", cluster.logs()
        _check_once(client, project["id"])
    assert w2.poll() is None


def test_killed_api_replica_stream_resumes_on_the_other(cluster: Cluster) -> None:
    cluster.extra_env["FRAMECAST_DEBUG_FRAME_DELAY_MS"] = "20"
    a, b = cluster.api(), cluster.api()
    cluster.worker()
    cluster.worker()
    with httpx.Client(base_url=b.url, timeout=30) as client_b:
        project = create(client_b, prompt="Fail over the stream", duration_s=4, resolution="360p", fps=24)
    # A client streams from A; A dies under it mid-render, while the stream is open.
    first: list[dict] = []
    broke: list[BaseException] = []

    def read_from_a() -> None:
        try:
            _stream(a.url, project["id"], 0, into=first)
        except (httpx.HTTPError, httpx.StreamError) as exc:
            broke.append(exc)

    reader = threading.Thread(target=read_from_a)
    reader.start()
    wait_for(lambda: len(first) >= 8, timeout_s=60)
    a.stop(signal.SIGKILL)
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert broke, "the stream from A should have broken when A died"
    assert not (first[-1]["type"] == "project_status" and first[-1]["data"]["terminal"]), (
        "ended before the kill"
    )
    rest = _stream(b.url, project["id"], first[-1]["seq"])
    seqs = [e["seq"] for e in first + rest]
    assert seqs == list(range(1, len(seqs) + 1)), "a gap or a repeat across the failover"
    assert rest[-1]["type"] == "project_status" and rest[-1]["data"]["terminal"]
    with httpx.Client(base_url=b.url, timeout=30) as client_b:
        assert [e["seq"] for e in all_events(client_b, project["id"])] == seqs


def test_redis_restart_mid_render_loses_nothing(tmp_path, postgres_url: str, own_redis: OwnRedis) -> None:
    cluster = Cluster(
        tmp_path, postgres_url, own_redis.url, extra_env={"FRAMECAST_DEBUG_FRAME_DELAY_MS": "20"}
    )
    cluster.migrate()
    try:
        api = cluster.api()
        cluster.worker()
        cluster.worker()
        with httpx.Client(base_url=api.url, timeout=30) as client:
            projects = [
                create(client, prompt=f"Redis restart {i}", duration_s=3, resolution="360p", fps=24)["id"]
                for i in range(3)
            ]

            def rendering() -> bool:
                snap = client.get(f"/api/projects/{projects[0]}").json()
                return any(t["kind"] == "render_chunk" and t["status"] == "running" for t in snap["tasks"])

            wait_for(rendering, timeout_s=60)
            streamed: dict[str, list[dict]] = {}
            listener = threading.Thread(target=lambda: streamed.update(s=_stream(api.url, projects[0], 0)))
            listener.start()
            time.sleep(0.3)
            own_redis.kill()
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["broker"] != "ok", ready.text
            time.sleep(1.0)
            own_redis.start()
            wait_for(lambda: client.get("/readyz").status_code == 200, timeout_s=30)
            wait_terminal(client, projects[0], timeout_s=180)
            # The stream ends with its project, live (the hub re-reads the log after the outage), not after
            # the 120 s a stream takes to re-read the log on its own.
            listener.join(timeout=15)
            assert not listener.is_alive(), "the SSE stream did not follow its project after the restart"
            seqs = [e["seq"] for e in streamed["s"]]
            assert seqs == list(range(1, len(seqs) + 1)), "gap or repeat across the Redis restart"
            assert streamed["s"][-1]["data"].get("terminal") is True
            for pid in projects:
                snap = wait_terminal(client, pid, timeout_s=180)
                assert snap["status"] == "completed", (snap, cluster.logs())
                _check_once(client, pid)
    finally:
        cluster.stop()


def test_fifty_concurrent_projects_all_complete_without_duplicates(cluster: Cluster) -> None:
    a, b = cluster.api(), cluster.api()
    cluster.worker()
    cluster.worker()
    ids = []
    with httpx.Client(base_url=a.url, timeout=30) as ca, httpx.Client(base_url=b.url, timeout=30) as cb:
        for i in range(50):
            client = ca if i % 2 else cb
            ids.append(
                create(client, prompt=f"Project number {i}", duration_s=1, resolution="360p", fps=24)["id"]
            )
        tasks = []
        for pid in ids:
            snap = wait_terminal(ca, pid, timeout_s=600)
            assert snap["status"] == "completed", snap
            tasks += _check_once(ca, pid)["tasks"]
        gallery = ca.get("/api/videos", params={"limit": 100}).json()
        listed = [item["project_id"] for item in gallery["items"]]
        assert sorted(listed) == sorted(ids)
    # Every task ran once: none was judged lost while it waited its turn (most wait far longer than the
    # 3 s after which the reconciler asks the broker), none was re-queued, none delivered twice.
    assert [t["id"] for t in tasks if t["attempt"] != 1] == []
    logs = "".join(p.read_text(errors="replace") for p in sorted(cluster.tmp.glob("worker*.log")))
    runs = Counter(m.group(1) for m in re.finditer(r" run \w+ (tsk_\w+) attempt", logs))
    assert sorted(runs) == sorted(t["id"] for t in tasks)
    assert [task_id for task_id, n in runs.items() if n != 1] == []
    assert "skip stale delivery" not in logs


@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_worker_drains_on_sigterm_and_hands_back(cluster: Cluster, sig: int) -> None:
    cluster.extra_env.update(
        {
            "FRAMECAST_DEBUG_FRAME_DELAY_MS": "60",
            "FRAMECAST_DRAIN_TIMEOUT_S": "1",
            "FRAMECAST_CHUNK_SECONDS": "10",
        }
    )
    api = cluster.api()
    w1 = cluster.worker()
    with httpx.Client(base_url=api.url, timeout=30) as client:
        project = create(client, prompt="Drain me", duration_s=4, resolution="360p", fps=24)

        wait_chunk_progress(client, project["id"], 0.1)
        w1.send_signal(sig)
        assert w1.wait(timeout=30) == 0, "the worker should exit cleanly after handing back"
        snap = client.get(f"/api/projects/{project['id']}").json()
        chunk = next(t for t in snap["tasks"] if t["kind"] == "render_chunk")
        assert chunk["status"] == "queued" and chunk["attempt"] == 2, chunk
        cluster.worker()
        done = wait_terminal(client, project["id"], timeout_s=180)
        assert done["status"] == "completed"
        _check_once(client, project["id"])


def test_media_in_s3_needs_no_shared_disk(cluster: Cluster, s3_server: S3Server) -> None:
    """Replicas and workers with separate data directories share media only through the bucket."""
    cluster.extra_env.update(s3_server.env("media", "cluster"))
    a, b = cluster.api(), cluster.api()
    cluster.worker()
    cluster.worker()
    with httpx.Client(base_url=a.url, timeout=30) as ca, httpx.Client(base_url=b.url, timeout=30) as cb:
        upload = ca.post("/api/uploads", files={"file": ("logo.png", png_bytes(), "image/png")})
        assert upload.status_code == 201, upload.text
        timeline = {
            "scenes": [
                {"duration_s": 2, "layers": [{"type": "image", "asset_id": upload.json()["asset_id"]}]},
                {"duration_s": 2, "layers": [{"type": "text", "text": "No shared disk"}]},
            ],
            "audio": {"music": "procedural"},
        }
        project = create(ca, timeline=timeline, resolution="360p", fps=24)
        snap = wait_terminal(cb, project["id"], timeout_s=180)
        assert snap["status"] == "completed", cluster.logs()
        snap = _check_once(cb, project["id"])
        chunks = [t for t in snap["tasks"] if t["kind"] == "render_chunk"]
        assert len(chunks) >= 2, "the render fanned out into chunks that went through the bucket"
        video = next(x for x in snap["assets"] if x["kind"] == "video")
        stored = s3_server.root / "media" / f"cluster/{project['id']}/{video['id']}/video.mp4"
        assert ca.get(video["url"]).content == cb.get(video["url"]).content == stored.read_bytes()
        tail = cb.get(video["url"], headers={"Range": "bytes=-500"})
        assert tail.status_code == 206 and tail.content == stored.read_bytes()[-500:]
    assert not (cluster.tmp / "shared-media").exists()
    kept = [p for p in cluster.tmp.rglob("*.mp4") if not p.is_relative_to(s3_server.root)]
    assert not kept, "no process kept a video on its own disk"
