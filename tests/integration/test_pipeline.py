"""A prompt becomes a decodable MP4 with a gap-free event log, on a real server with real workers."""

from __future__ import annotations

import av
import httpx
import numpy as np

from tests.support.server import Server, all_events, create, wait_terminal


def decode(path: str) -> tuple[list[np.ndarray], av.video.stream.VideoStream]:
    frames = []
    with av.open(path) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
        return frames, stream


def test_prompt_becomes_a_decodable_mp4_with_a_gap_free_log(
    server: Server, client: httpx.Client, tmp_path
) -> None:
    project = create(
        client,
        prompt="A neon city at night. Rain on the windows.",
        duration_s=3,
        resolution="360p",
        fps=24,
        seed=7,
    )
    snap = wait_terminal(client, project["id"])
    assert snap["status"] == "completed", snap
    result = snap["result"]
    assert (result["width"], result["height"]) == (640, 360)
    assert abs(result["duration_s"] - 3.0) < 0.1
    # The snapshot carries the planned timeline, the subjects the prompt names among its layers.
    drawn = [
        layer["subject"]
        for scene in snap["timeline"]["scenes"]
        for layer in scene["layers"]
        if layer["type"] == "illustration"
    ]
    assert "window" in drawn, snap["timeline"]

    video = client.get(result["url"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    path = tmp_path / "v.mp4"
    path.write_bytes(video.content)
    # faststart: the moov atom comes before mdat
    assert video.content.find(b"moov") < video.content.find(b"mdat")
    frames, stream = decode(str(path))
    assert stream.codec_context.name == "h264"
    assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(frames) == 72
    assert all(f.shape == (360, 640, 3) for f in frames)
    assert min(float(f.std()) for f in frames) > 3.0, "a frame is blank"
    diffs = [
        float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in zip(frames, frames[1:], strict=False)
    ]
    assert sum(d > 0.05 for d in diffs) > len(diffs) * 0.8, "the video is static"

    events = all_events(client, project["id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["seq"] == snap["last_seq"]
    types = [e["type"] for e in events]
    assert types.count("render_result") == 1
    assert types.index("render_result") < len(types) - 1
    assert (
        events[-1] == {**events[-1], "type": "project_status"} and events[-1]["data"]["status"] == "completed"
    )
    assert events[-1]["data"]["terminal"] is True
    files = [e["data"]["asset"] for e in events if e["type"] == "file"]
    kinds = [f["kind"] for f in files]
    assert kinds.count("video") == 1 and "poster" in kinds
    assert kinds.index("poster") < kinds.index("video"), "the poster is announced before the video"
    assert any(e["type"] == "render_progress" for e in events)
    for e in events:
        assert set(e) == {"seq", "type", "project_id", "ts", "data"}
        if "status" in e["data"]:
            assert isinstance(e["data"]["terminal"], bool)

    poster = client.get(snap["result"]["poster_url"])
    assert poster.headers["content-type"] == "image/jpeg" and poster.content[:3] == b"\xff\xd8\xff"
    gallery = client.get("/api/videos").json()
    assert project["id"] in [item["project_id"] for item in gallery["items"]]


def test_video_supports_byte_ranges(server: Server, client: httpx.Client) -> None:
    project = create(client, prompt="Snow falling on a quiet forest", duration_s=1, resolution="360p", fps=24)
    snap = wait_terminal(client, project["id"])
    url = snap["result"]["url"]
    whole = client.get(url)
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]
    assert whole.headers.get("etag")
    assert client.get(url, headers={"If-None-Match": whole.headers["etag"]}).status_code == 304


def test_same_seed_same_frames(server: Server, client: httpx.Client, tmp_path) -> None:
    body = {
        "prompt": "Fire and sparks in the dark",
        "duration_s": 1,
        "resolution": "360p",
        "fps": 24,
        "seed": 42,
    }
    paths = []
    for i in range(2):
        snap = wait_terminal(client, create(client, **body)["id"])
        p = tmp_path / f"{i}.mp4"
        p.write_bytes(client.get(snap["result"]["url"]).content)
        paths.append(str(p))
    a, _ = decode(paths[0])
    b, _ = decode(paths[1])
    assert len(a) == len(b)
    for fa, fb in zip(a, b, strict=False):
        np.testing.assert_array_equal(fa, fb)


def test_voiceover_muxes_narration_as_aac(server: Server, client: httpx.Client, tmp_path) -> None:
    project = create(
        client,
        prompt="Welcome to Framecast. Videos from words.",
        duration_s=2,
        resolution="360p",
        fps=24,
        voiceover=True,
    )
    snap = wait_terminal(client, project["id"])
    assert snap["status"] == "completed", snap
    kinds = [t["kind"] for t in snap["tasks"]]
    assert "narration" in kinds
    path = tmp_path / "n.mp4"
    path.write_bytes(client.get(snap["result"]["url"]).content)
    with av.open(str(path)) as container:
        assert container.streams.audio, "no audio track"
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        samples = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio)])
    assert float(np.abs(samples).max()) > 0.05, "the narration is silent"
    # scenes were stretched to fit the speech: the video may be longer than asked, never shorter
    assert snap["result"]["duration_s"] >= 2.0 - 0.05
