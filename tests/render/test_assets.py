from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from framecast.domain.errors import InvalidInput
from framecast.domain.options import VideoOptions
from framecast.domain.timeline import parse_timeline
from framecast.render.audio import render_music
from framecast.render.encoding.encode import yuv420p_to_rgb
from framecast.render.frames import SCENE_POOL, FrameSource
from framecast.render.video import render_video


@pytest.fixture
def assets(tmp_path: Path) -> dict[str, Path]:
    img = np.zeros((50, 80, 3), np.uint8)
    img[:, :40] = (255, 0, 0)
    img[:, 40:] = (0, 0, 255)
    Image.fromarray(img).save(tmp_path / "img.png")
    with wave.open(str(tmp_path / "song.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(22050)
        t = np.arange(22050) / 22050
        w.writeframes((np.sin(2 * np.pi * 440 * t) * 12000).astype("<i2").tobytes())
    (tmp_path / "junk.bin").write_bytes(b"not an image")
    return {"img_1": tmp_path / "img.png", "song_1": tmp_path / "song.wav", "junk": tmp_path / "junk.bin"}


def test_image_layer_background_and_uploaded_music(tmp_path: Path, assets: dict[str, Path]) -> None:
    tl = parse_timeline(
        {
            "canvas": {"width": 96, "height": 64},
            "audio": {"music": "upload", "music_asset_id": "song_1"},
            "scenes": [
                {
                    "duration_s": 1,
                    "background": {"kind": "image", "asset_id": "img_1", "motion": 0},
                    "layers": [
                        {
                            "type": "image",
                            "asset_id": "img_1",
                            "width": 0.3,
                            "height": 0.3,
                            "x": 0.5,
                            "y": 0.5,
                            "animate_in": {"kind": "none"},
                        }
                    ],
                }
            ],
        },
        VideoOptions(fps=24, seed=1),
    )
    rgb = yuv420p_to_rgb(FrameSource(tl, assets.__getitem__).frame(0).buf)
    assert rgb[5, 5, 0] > 200 and rgb[5, 5, 2] < 60  # left of the background: red
    assert rgb[5, 90, 2] > 200 and rgb[5, 90, 0] < 60  # right: blue
    SCENE_POOL.clear()
    info = render_video(tl, tmp_path / "v.mp4", asset_path=assets.__getitem__)
    assert info.frames == 24
    # A scene showing uploads is not kept for later renders: each render resolves (and checks) its files.
    assert len(SCENE_POOL) == 0
    with pytest.raises(InvalidInput, match="no asset store"):
        render_video(tl, tmp_path / "w.mp4")
    out = render_music(tl, tmp_path / "m.wav", asset_path=assets.__getitem__)
    assert out is not None and out.stat().st_size > 1000


def test_unreadable_or_unresolved_assets_are_invalid_input(assets: dict[str, Path]) -> None:
    data = {
        "canvas": {"width": 64, "height": 64},
        "scenes": [{"duration_s": 1, "layers": [{"type": "image", "asset_id": "junk"}]}],
    }
    tl = parse_timeline(data, VideoOptions(fps=24, seed=1))
    with pytest.raises(InvalidInput, match="not a readable image"):
        FrameSource(tl, assets.__getitem__).frame(0)
    with pytest.raises(InvalidInput, match="no asset store"):
        FrameSource(tl).frame(0)
