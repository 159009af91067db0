"""A real ``framecast serve`` with its media in a real S3-compatible server (rclone serve s3).

The whole pipeline runs through the bucket: the upload goes in, the worker downloads it to draw it,
chunks and the soundtrack go up and come back for compose, the video is streamed back with ranges,
and deleting the project empties its prefix. Nothing stays in the server's scratch directory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import av
import httpx
import pytest

from tests.support.images import png_bytes
from tests.support.s3_server import S3Server
from tests.support.server import Server, create, wait_chunk_progress, wait_for, wait_terminal


@pytest.fixture
def s3_served(tmp_path: Path, s3_server: S3Server) -> Iterator[tuple[Server, S3Server]]:
    server = Server(tmp_path / "data", workers=2, env=s3_server.env("media", "fc")).start()
    yield server, s3_server
    server.stop()


def test_a_project_renders_through_the_bucket(s3_served: tuple[Server, S3Server], tmp_path: Path) -> None:
    server, s3 = s3_served
    with httpx.Client(base_url=server.url, timeout=30) as client:
        upload = client.post(
            "/api/uploads", files={"file": ("logo.png", png_bytes((64, 32), (250, 200, 20)), "image/png")}
        )
        assert upload.status_code == 201, upload.text
        logo = upload.json()
        uploaded = [k for k in s3.objects("media") if k.startswith(f"fc/uploads/{logo['asset_id']}/")]
        assert len(uploaded) == 1, "the upload went to the bucket"
        timeline = {
            "scenes": [
                {
                    "duration_s": 1.5,
                    "layers": [
                        {"type": "text", "text": "Stored in a bucket"},
                        {"type": "image", "asset_id": logo["asset_id"]},
                    ],
                },
                {"duration_s": 1.5, "layers": [{"type": "text", "text": "Served from it"}]},
            ],
            "audio": {"music": "procedural"},
        }
        project = create(client, timeline=timeline, resolution="360p", fps=24)
        snap = wait_terminal(client, project["id"])
        assert snap["status"] == "completed", server.log_tail()

        objects = s3.objects("media")
        video = next(a for a in snap["assets"] if a["kind"] == "video")
        key = f"fc/{project['id']}/{video['id']}/video.mp4"
        assert objects[key] == video["size"]
        assert not [k for k in objects if "/work/" in k], "compose leaves no chunk or soundtrack behind"

        whole = client.get(video["url"])
        assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
        assert whole.content == (s3.root / "media" / key).read_bytes()
        part = client.get(video["url"], headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206 and part.content == whole.content[100:1100]
        assert client.get(video["url"], headers={"If-None-Match": whole.headers["etag"]}).status_code == 304

        local = tmp_path / "video.mp4"
        local.write_bytes(whole.content)
        with av.open(str(local)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
            assert container.streams.audio, "the soundtrack was muxed from the bucket"
            frames = sum(1 for _ in container.decode(video=0))
        assert frames == 72

        for kind in ("poster", "spritesheet"):
            asset = next(a for a in snap["assets"] if a["kind"] == kind)
            assert client.get(asset["url"]).content[:3] in (b"\xff\xd8\xff",), kind

        scratch = server.data_dir / "scratch" / ".tmp"
        assert wait_for(lambda: not any(scratch.iterdir()), timeout_s=10), "task scratch dirs are removed"
        assert not list((server.data_dir).rglob("*.mp4")), "no video kept on the server's disk"

        assert client.delete(f"/api/projects/{project['id']}").status_code in (200, 202, 204)
        assert wait_for(
            lambda: not [k for k in s3.objects("media") if k.startswith(f"fc/{project['id']}/")], timeout_s=10
        )
        assert uploaded[0] in s3.objects("media"), "uploads belong to the owner and outlive the project"


def test_readyz_reports_an_unreachable_bucket(s3_served: tuple[Server, S3Server]) -> None:
    server, s3 = s3_served
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/readyz").status_code == 200
        s3.stop()
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "storage" in response.text


def test_a_storage_outage_mid_render_loses_nothing(tmp_path: Path, s3_server: S3Server) -> None:
    env = {**s3_server.env("media", "fc"), "FRAMECAST_DEBUG_FRAME_DELAY_MS": "25"}
    server = Server(tmp_path / "data", workers=2, env=env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            project = create(
                client, prompt="Storage goes away and comes back", duration_s=4, resolution="360p"
            )

            wait_chunk_progress(client, project["id"], 0.3)
            s3_server.stop()
            assert client.get("/readyz").status_code == 503
            time.sleep(3.0)  # chunks finish while the bucket is unreachable and must wait to upload
            s3_server.start()
            snap = wait_terminal(client, project["id"], timeout_s=120)
            assert snap["status"] == "completed", (snap.get("error"), server.log_tail())
            assert "Retrying" in server.log_tail(1_000_000), "an upload met the outage and was retried"
            video = next(a for a in snap["assets"] if a["kind"] == "video")
            assert (
                client.get(video["url"]).content
                == (s3_server.root / "media" / f"fc/{project['id']}/{video['id']}/video.mp4").read_bytes()
            )
    finally:
        server.stop()


def test_deleting_while_storage_is_down_succeeds_and_the_sweep_cleans_up(
    tmp_path: Path, s3_server: S3Server
) -> None:
    env = {**s3_server.env("media", "fc"), "FRAMECAST_MEDIA_SWEEP_INTERVAL_S": "1"}
    server = Server(tmp_path / "data", workers=1, env=env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            project = create(client, prompt="Delete me during an outage", duration_s=1, resolution="360p")
            assert wait_terminal(client, project["id"])["status"] == "completed"
            mine = f"fc/{project['id']}/"
            assert any(k.startswith(mine) for k in s3_server.objects("media"))
            s3_server.stop()
            response = client.delete(f"/api/projects/{project['id']}")
            assert response.status_code in (200, 202, 204), response.text
            assert client.get(f"/api/projects/{project['id']}").status_code == 404
            assert any(k.startswith(mine) for k in s3_server.objects("media")), "storage was down: files stay"
            s3_server.start()
            assert wait_for(
                lambda: not any(k.startswith(mine) for k in s3_server.objects("media")), timeout_s=20
            ), "the media sweep removed the deleted project's files"
    finally:
        server.stop()
