"""The joined (chunked, re-muxed, with AAC audio) MP4 plays in real Chromium: fully buffered, seekable end to
end, and playback advances after a seek into a later chunk."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_harness import Server

pytestmark = pytest.mark.browser


def test_joined_video_plays_and_seeks_in_chromium(page: Any, server: Server) -> None:
    project = server.create(
        "Playback across chunk boundaries. A second scene.",
        duration_s=5,
        resolution="360p",
        fps=24,
        voiceover=True,
    )
    snap = server.wait_terminal(project["id"], timeout_s=120)
    assert snap["status"] == "completed", snap
    chunks = [t for t in snap["tasks"] if t["kind"] == "render_chunk"]
    assert len(chunks) >= 2, "the video should be joined from several chunks"
    duration = snap["result"]["duration_s"]
    page.goto(server.url + "/healthz")  # same origin, so the CSP-free blank page may load the media
    state = page.evaluate(
        """async ({url}) => {
            const v = document.createElement('video');
            v.muted = true; v.preload = 'auto'; v.src = url;
            document.body.appendChild(v);
            await new Promise((res, rej) => { v.oncanplaythrough = res; v.onerror = () => rej(v.error && v.error.message); });
            const ready = v.readyState;
            const seekable = v.seekable.length ? [v.seekable.start(0), v.seekable.end(0)] : null;
            const target = v.duration * 0.7;
            await new Promise(res => { v.onseeked = res; v.currentTime = target; });
            const afterSeek = v.currentTime;
            await v.play();
            await new Promise(res => setTimeout(res, 600));
            const played = v.currentTime;
            v.pause();
            return {ready, seekable, duration: v.duration, afterSeek, played, w: v.videoWidth, h: v.videoHeight,
                    error: v.error ? v.error.code : null};
        }""",
        {"url": snap["result"]["url"]},
    )
    assert state["error"] is None
    assert state["ready"] == 4
    assert (state["w"], state["h"]) == (640, 360)
    assert state["duration"] == pytest.approx(duration, abs=0.1)
    assert state["seekable"][0] == pytest.approx(0, abs=0.05)
    assert state["seekable"][1] == pytest.approx(duration, abs=0.1)
    assert state["afterSeek"] == pytest.approx(duration * 0.7, abs=0.15)
    assert state["played"] > state["afterSeek"], "playback did not advance after the seek"
