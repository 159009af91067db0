"""The local diffusion engine on a tiny LTX pipeline these tests build (tests/support/tiny_pipeline.py):
through a real ``framecast serve`` (API and one worker process) from ``POST /api/projects`` to a playable
MP4 with poster and spritesheet, one ``render_progress`` per denoising step, cancel between steps, a worker
SIGKILLed mid-steps whose task runs again with the same seed, the 422 for what the engine cannot do, and
no call to the hub; plus unit tests of ``DiffusersEngine`` on the tiny pipelines, the older per-step
``callback`` of TextToVideoSDPipeline included.

The diffusers extra is optional, so without it these tests skip; ``make test`` installs it, and in CI
(``CI=true``) a missing extra is an error, not a skip.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

if os.environ.get("CI") == "true":
    import diffusers  # noqa: F401 - CI installs the extra: fail loudly rather than skip
else:
    pytest.importorskip("diffusers", reason="the diffusers extra is not installed")

from framecast.domain.errors import Cancelled
from framecast.domain.options import VideoOptions
from framecast.engines.base import GeneratedFrames, GenerationRequest
from framecast.engines.diffusion import DiffusersEngine, load_pipeline
from framecast.jobs.identity import worker_name
from tests.fakes.engine_run import FakeRun, cancel_after
from tests.support.server import Server, all_events, create, wait_for, wait_terminal
from tests.support.tiny_pipeline import build_ltx, build_text_to_video_sd

pytestmark = pytest.mark.slow

STEPS = 20
#: Per step: long enough to act between steps (cancel, SIGKILL), short enough for a 5 s run.
STEP_DELAY_MS = 250
#: 64 x 32 for a 16:9 project: a step of the tiny pipeline takes tens of milliseconds on a CPU.
MAX_PIXELS = 4096
OPTIONS: dict[str, Any] = {"duration_s": 1, "resolution": "360p", "fps": 24, "aspect": "16:9", "seed": 7}


@pytest.fixture(scope="session")
def ltx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx")


@pytest.fixture(scope="session")
def sd_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_text_to_video_sd(tmp_path_factory.mktemp("models") / "tiny-t2v-sd")


@pytest.fixture(scope="module")
def server(ltx_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("diffusers-server")
    env = {
        "FRAMECAST_DIFFUSERS_MODEL": str(ltx_model),
        "FRAMECAST_DIFFUSERS_STEPS": str(STEPS),
        "FRAMECAST_DIFFUSERS_MAX_PIXELS": str(MAX_PIXELS),
        "FRAMECAST_DIFFUSERS_DEVICE": "cpu",
        "FRAMECAST_DEBUG_FRAME_DELAY_MS": str(STEP_DELAY_MS),
        # every step its own render_progress (a step is longer than this)
        "FRAMECAST_PROGRESS_INTERVAL_S": "0.001",
        # the heartbeat must not re-queue a task: only the pool's report of a dead worker does
        "FRAMECAST_HEARTBEAT_TIMEOUT_S": "600",
        # any call to the hub would go nowhere and leave files here; the engine turns the hub off itself
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(root / "hf-home"),
        "HF_ENDPOINT": "http://127.0.0.1:9",
    }
    srv = Server(root / "data", workers=1, env=env).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def _generate_task(snap: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in snap["tasks"] if t["kind"] == "generate")


def _steps_reported(client: httpx.Client, project_id: str) -> int:
    """The last denoising step the project's generate task reported (0 before the first)."""
    steps = [
        e["data"]["frame"]
        for e in all_events(client, project_id)
        if e["type"] == "render_progress" and e["data"]["frames"] == STEPS
    ]
    return max(steps, default=0)


def _decode(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _video(client: httpx.Client, snap: dict[str, Any]) -> bytes:
    response = client.get(snap["result"]["url"])
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    return response.content


@pytest.fixture(scope="module")
def completed(server: Server) -> dict[str, Any]:
    """One project made by the diffusers engine, to its end (shared by the tests that read it)."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        project = create(c, prompt="A boat on a calm sea at dawn", engine="diffusers", **OPTIONS)
        return wait_terminal(c, project["id"], timeout_s=180)


def test_engines_lists_diffusers_with_what_it_accepts(client: httpx.Client) -> None:
    body = client.get("/api/engines").json()
    assert body["default"] == "procedural"
    info = next(e for e in body["engines"] if e["name"] == "diffusers")
    assert info["accepts_timeline"] is False and info["voiceover"] is False
    assert info["min_duration_s"] == 1 and info["max_duration_s"] == 5
    assert info["resolutions"] == ["360p", "480p", "720p"] and info["fps"] == [24, 25, 30]
    assert "tiny-ltx" in info["description"]


def test_a_diffusers_project_completes_with_a_playable_mp4_poster_and_spritesheet(
    client: httpx.Client, completed: dict[str, Any]
) -> None:
    assert completed["status"] == "completed", completed
    assert completed["options"]["engine"] == "diffusers"
    assert [t["kind"] for t in completed["tasks"]].count("render_chunk") == 0
    result = completed["result"]
    assert (result["width"], result["height"], result["duration_s"]) == (640, 360, 1)
    frames = _decode(_video(client, completed))
    assert len(frames) == 24 and frames[0].shape == (360, 640, 3)
    assert float(np.std(frames[0])) > 1, "random weights make noise, not a blank frame"
    kinds = {a["kind"]: a for a in completed["assets"]}
    assert {"video", "poster", "spritesheet"} <= set(kinds)
    for kind in ("poster", "spritesheet"):
        response = client.get(kinds[kind]["url"])
        assert response.status_code == 200 and response.headers["content-type"].startswith("image/")
    events = all_events(client, completed["id"])
    types = [e["type"] for e in events]
    assert types.count("render_result") == 1 and types[-1] == "project_status"
    assert types.index("render_result") < len(types) - 1


def test_render_progress_reports_every_denoising_step_in_order(
    client: httpx.Client, completed: dict[str, Any]
) -> None:
    task_id = _generate_task(completed)["id"]
    progress = [
        e["data"]
        for e in all_events(client, completed["id"])
        if e["type"] == "render_progress" and e["data"]["task_id"] == task_id
    ]
    # One event per step; the last step is told by the task's completion (progress 1), as for a chunk.
    assert [p["frame"] for p in progress] == list(range(1, STEPS))
    assert {p["frames"] for p in progress} == {STEPS}
    values = [p["progress"] for p in progress]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert _generate_task(completed)["progress"] == 1


def test_cancel_mid_steps_stops_the_run_between_steps(server: Server, client: httpx.Client) -> None:
    project = create(client, prompt="Cancel me while I denoise", engine="diffusers", **OPTIONS)
    wait_for(lambda: _steps_reported(client, project["id"]) >= 2, timeout_s=120)
    response = client.post(f"/api/projects/{project['id']}/cancel")
    cancelled_at = time.monotonic()
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    at_cancel = _steps_reported(client, project["id"])
    # The one worker is free again soon: the next project's generate starts on it.
    nxt = create(client, prompt="Next in line", engine="diffusers", **OPTIONS)

    def next_running() -> bool:
        snap = client.get(f"/api/projects/{nxt['id']}").json()
        return any(t["kind"] == "generate" and t["status"] != "queued" for t in snap["tasks"])

    wait_for(next_running, timeout_s=30)
    assert time.monotonic() - cancelled_at < 5, "the cancelled run went on with its steps"
    stopped = re.search(rf"stopped {project['id']} after step (\d+) of {STEPS}", server.log_tail(200_000))
    assert stopped, server.log_tail()
    # At most the step under way and the one after it (the cancel is read every 0.2 s) ran after the cancel.
    assert int(stopped.group(1)) <= at_cancel + 2 < STEPS
    snap = wait_terminal(client, project["id"])
    assert snap["status"] == "cancelled" and snap["result"] is None
    events = all_events(client, project["id"])
    assert events[-1]["type"] == "project_status" and events[-1]["data"]["status"] == "cancelled"
    assert "render_result" not in [e["type"] for e in events]
    assert wait_terminal(client, nxt["id"], timeout_s=180)["status"] == "completed"


def test_nothing_is_downloaded_the_hub_is_off_in_the_worker(
    server: Server, completed: dict[str, Any]
) -> None:
    assert completed["status"] == "completed"
    assert "loaded LTXPipeline from" in server.log_tail(200_000)
    hf_home = Path(server.env["HF_HOME"])
    assert not hf_home.exists() or not any(hf_home.rglob("*")), "something was written to the hub cache"


def test_the_pipeline_loads_with_the_hub_offline_and_no_connection(ltx_model: Path, tmp_path: Path) -> None:
    # A fresh process (this one imported diffusers to build the model): the hub is switched off before
    # diffusers is imported, and a socket that connects anywhere fails the load.
    script = f"""
import os, socket
def refuse(*args, **kwargs):
    raise AssertionError(f"a connection was attempted: {{args}}")
socket.socket.connect = refuse
socket.create_connection = refuse
from pathlib import Path
from framecast.engines.diffusion import load_pipeline
pipe, torch = load_pipeline(Path({str(ltx_model)!r}), "cpu")
import huggingface_hub.constants as constants
print(type(pipe).__name__, os.environ["HF_HUB_OFFLINE"], constants.HF_HUB_OFFLINE)
"""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "0",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_ENDPOINT": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["LTXPipeline", "1", "True"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"timeline": {"scenes": [{"duration_s": 2}]}}, "engine", "prompt only"),
        ({"prompt": "x", "duration_s": 30}, "duration_s", "1 to 5 s"),
        ({"prompt": "x", "duration_s": 2, "resolution": "1080p"}, "resolution", "360p, 480p, 720p"),
        ({"prompt": "x", "duration_s": 2, "fps": 60}, "fps", "24, 25, 30"),
        ({"prompt": "x", "duration_s": 2, "voiceover": True}, "voiceover", "voiceover"),
    ],
)
def test_what_the_engine_cannot_do_is_422_naming_what_it_can(
    client: httpx.Client, body: dict[str, Any], field: str, words: str
) -> None:
    response = client.post("/api/projects", json={**body, "engine": "diffusers"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "engine_not_available" and problem["field"] == field
    assert words in problem["message"]


def test_an_engine_that_is_not_configured_names_the_ones_that_are(client: httpx.Client) -> None:
    response = client.post("/api/projects", json={"prompt": "x", "engine": "wan-cloud"})
    assert response.status_code == 422
    assert "available: procedural, diffusers" in response.json()["message"]


def test_a_worker_sigkilled_mid_steps_runs_the_task_again_with_the_same_seed(
    server: Server, client: httpx.Client, completed: dict[str, Any]
) -> None:
    # Last in this module: it kills the server's one worker (the pool starts another).
    project = create(client, prompt="A boat on a calm sea at dawn", engine="diffusers", **OPTIONS)
    wait_for(lambda: _steps_reported(client, project["id"]) >= 2, timeout_s=120)
    pids = server.worker_pids()
    assert len(pids) == 1
    os.kill(pids[0], signal.SIGKILL)
    done = wait_terminal(client, project["id"], timeout_s=240)
    assert done["status"] == "completed", done
    assert _generate_task(done)["attempt"] == 2, "the generate task ran again as a fresh attempt"
    assert f"worker {worker_name(pids[0])} exited; re-queued 1 running task(s)" in server.log_tail(200_000)
    events = all_events(client, project["id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events].count("render_result") == 1
    # The first attempt recorded its seed on the task before its first step; the second read it from there.
    with sqlite3.connect(server.data_dir / "framecast.db") as db:
        (checkpoint,) = db.execute(
            "SELECT checkpoint FROM tasks WHERE id = ?", (_generate_task(done)["id"],)
        ).fetchone()
    assert json.loads(checkpoint) == {"seed": str(OPTIONS["seed"])}
    # The same prompt, options and seed as the first project: the re-run made the same video.
    again, first = _decode(_video(client, done)), _decode(_video(client, completed))
    assert len(again) == len(first) == 24
    assert float(np.mean(np.abs(again[12].astype(int) - first[12].astype(int)))) < 2


# -- DiffusersEngine on its own -----------------------------------------------------------------------


def _request(frames: int = 8, seed: int = 5) -> GenerationRequest:
    options = VideoOptions(duration_s=1, resolution="360p", fps=24)
    return GenerationRequest("prj_unit", "A cat by the window", options, 640, 360, 24, frames, seed)


@pytest.mark.parametrize("kind", ["ltx", "sd"])
def test_the_engine_reports_steps_fits_frames_and_records_its_seed(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    model: Path = request.getfixturevalue(f"{kind}_model")
    engine = DiffusersEngine(model, steps=3, device="cpu", max_pixels=MAX_PIXELS)
    run = FakeRun(tmp_path)
    generated = engine.generate(_request(), run)
    assert isinstance(generated, GeneratedFrames) and generated.fps == 24
    frames = list(generated.frames)
    assert len(frames) == 8 and {f.shape for f in frames} == {(360, 640, 3)}
    assert run.progressed == [(1, 3), (2, 3), (3, 3)]
    assert run.saved == {"seed": "5"}
    # A later attempt uses the recorded seed, not the request's.
    rerun = FakeRun(tmp_path, saved={"seed": "5"})
    same = list(engine.generate(_request(seed=99), rerun).frames)
    assert rerun.saved == {"seed": "5"}
    assert np.array_equal(same[0], frames[0])


@pytest.mark.parametrize("kind", ["ltx", "sd"])
def test_a_cancel_between_steps_stops_the_pipeline_at_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model: Path = request.getfixturevalue(f"{kind}_model")
    engine = DiffusersEngine(model, steps=6, device="cpu", max_pixels=MAX_PIXELS)
    pipe, _torch = load_pipeline(model, "cpu")
    decoded: list[object] = []
    decode = pipe.vae.decode
    monkeypatch.setattr(pipe.vae, "decode", lambda *a, **k: decoded.append(a) or decode(*a, **k))
    run = FakeRun(tmp_path, on_progress=cancel_after(2))
    with pytest.raises(Cancelled):
        engine.generate(_request(), run)
    assert run.progressed == [(1, 6), (2, 6)], "no step ran after the one that saw the cancel"
    # Stopped, not interrupted: an interrupted pipeline would still decode its latents with the VAE,
    # which on a real model takes longer than the steps.
    assert decoded == []
    list(engine.generate(_request(), FakeRun(tmp_path)).frames)
    assert decoded, "the VAE decodes a run that is not cancelled"


def test_a_models_frame_limit_is_generated_and_spread_over_the_projects_frames(
    sd_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CogVideoX makes at most 49 frames: FRAMECAST_DIFFUSERS_MAX_FRAMES asks the pipeline for no more,
    # and the video keeps the project's count, each generated frame held for its share.
    engine = DiffusersEngine(sd_model, steps=2, device="cpu", max_pixels=MAX_PIXELS, max_frames=2)
    pipe, _torch = load_pipeline(sd_model, "cpu")
    asked: list[int] = []
    original = type(pipe).__call__

    @functools.wraps(original)
    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["num_frames"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(pipe), "__call__", spy)
    frames = list(engine.generate(_request(frames=8), FakeRun(tmp_path)).frames)
    assert asked == [2]
    assert len(frames) == 8 and {f.shape for f in frames} == {(360, 640, 3)}
    assert all(np.array_equal(frames[0], f) for f in frames[:4])
    assert all(np.array_equal(frames[4], f) for f in frames[4:])
    unlimited = DiffusersEngine(sd_model, steps=2, device="cpu", max_pixels=MAX_PIXELS)
    assert len(list(unlimited.generate(_request(frames=8), FakeRun(tmp_path)).frames)) == 8
    assert asked == [2, 8]
