"""The hosted engines (OpenAI Videos, Replicate, fal) end to end: a real ``framecast serve`` (uvicorn and its
worker pool) with each provider's key and base URL in its environment, the real SDK in the worker talking to
the provider's stand-in (``tests/support/providers``) on a real socket.

Per provider: ``GET /api/engines`` lists it; a project reaches ``completed`` with the video in Framecast's own
``/media`` (playable, the provider's frame size) and no provider URL or key in anything a client reads or in
the server's log; ``render_progress`` carries the provider's percent; a refused prompt, a failed job and a
rate limit become project errors with stable codes; cancel cancels the provider's job; a worker SIGKILLed while the
provider's job runs is replaced and the re-queued task resumes that job (one create) to completion.
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from tests.engines.hosted.conftest import KEYS, MODELS
from tests.support.auth_proxy import missing
from tests.support.providers import RETRY_AFTER_S, StandIn
from tests.support.providers.fal import FalStandIn, make_certificate
from tests.support.providers.openai_videos import OpenAIStandIn
from tests.support.providers.replicate import ReplicateStandIn
from tests.support.server import Server, wait_for, wait_terminal

PROVIDERS = ["openai", "replicate", "fal"]
#: The provider's video: 16:9 at 720p, as each of them is asked for; 1 s at 30 fps.
WIDTH, HEIGHT, FRAMES = 1280, 720, 30
#: An option set each provider's model can make.
OPTIONS: dict[str, dict[str, Any]] = {
    "openai": {"duration_s": 4, "aspect": "16:9", "resolution": "720p", "fps": 30, "seed": 7},
    "replicate": {"duration_s": 5, "aspect": "16:9", "resolution": "720p", "fps": 30, "seed": 7},
    "fal": {"duration_s": 5, "aspect": "16:9", "resolution": "720p", "fps": 30, "seed": 7},
}


@dataclass
class Seen:
    """Every body a client was given during one test, to search for what must never be there."""

    bodies: list[str] = field(default_factory=list)

    def get(self, client: httpx.Client, path: str, **params: Any) -> Any:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        self.bodies.append(response.text)
        return response.json()

    def post(self, client: httpx.Client, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        response = client.post(path, json=body)
        self.bodies.append(response.text)
        return response

    def events(self, client: httpx.Client, project_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.get(client, f"/api/projects/{project_id}/events", after=after, limit=1000)
            if not page["events"]:
                return events
            events.extend(page["events"])
            after = page["events"][-1]["seq"]

    def sse(self, client: httpx.Client, project_id: str) -> str:
        with client.stream(
            "GET",
            f"/api/projects/{project_id}/events",
            params={"after": 0},
            headers={"Accept": "text/event-stream"},
        ) as response:
            assert response.status_code == 200
            text = response.read().decode()
        self.bodies.append(text)
        return text


def _video(path: Path) -> bytes:
    """A small real MP4 (H.264, yuv420p) at the size the provider was asked for."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, 30)
        for index in range(FRAMES):
            pixels = np.full((HEIGHT, WIDTH, 3), index * 8, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


@pytest.fixture(scope="module")
def fal_cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A certificate for the fal stand-in (fal-client speaks only HTTPS), trusted by the server's worker."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("openssl is not installed (the fal stand-in speaks HTTPS, as fal-client does)")
    assert openssl is not None
    cert, _key = make_certificate(openssl, tmp_path_factory.mktemp("tls"))
    return cert


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory, fal_cert: Path) -> Iterator[dict[str, StandIn]]:
    video = _video(tmp_path_factory.mktemp("providers") / "provider.mp4")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(fal_cert, fal_cert.with_name("fal-key.pem"))
    servers: dict[str, StandIn] = {
        "openai": OpenAIStandIn(key=KEYS["openai"], video=video),
        "replicate": ReplicateStandIn(key=KEYS["replicate"], video=video),
        "fal": FalStandIn(key=KEYS["fal"], video=video, tls=tls),
    }
    try:
        yield servers
    finally:
        for server in servers.values():
            server.close()


def _provider_env(stand_ins: dict[str, StandIn], fal_cert: Path) -> dict[str, str]:
    """What an operator sets: each provider's key, and each SDK's own base-URL setting."""
    return {
        "OPENAI_API_KEY": KEYS["openai"],
        "FRAMECAST_OPENAI_BASE_URL": f"{stand_ins['openai'].url}/v1",
        "FRAMECAST_OPENAI_VIDEO_MODEL": MODELS["openai"],
        "REPLICATE_API_TOKEN": KEYS["replicate"],
        "FRAMECAST_REPLICATE_BASE_URL": stand_ins["replicate"].url,
        "FRAMECAST_REPLICATE_VIDEO_MODEL": MODELS["replicate"],
        "FAL_KEY": KEYS["fal"],
        "FRAMECAST_FAL_VIDEO_MODEL": MODELS["fal"],
        # fal-client has no client option for its host; it speaks HTTPS only, so the worker trusts the
        # stand-in's certificate.
        "FAL_QUEUE_RUN_HOST": stand_ins["fal"].host,
        "SSL_CERT_FILE": str(fal_cert),
        # A job lives five polls in the stand-ins; 0.2 s apart they are each seen as progress.
        "FRAMECAST_HOSTED_POLL_INTERVAL_S": "0.2",
        "FRAMECAST_PROGRESS_INTERVAL_S": "0.05",
    }


def _server(
    tmp_path_factory: pytest.TempPathFactory, stand_ins: dict[str, StandIn], fal_cert: Path, workers: int
) -> Server:
    env = _provider_env(stand_ins, fal_cert)
    # The server imports this checkout's framecast (PYTHONPATH, when a test run sets it, is inherited).
    return Server(tmp_path_factory.mktemp("srv") / "data", workers=workers, env=env).start()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, stand_ins: dict[str, StandIn], fal_cert: Path
) -> Iterator[Server]:
    srv = _server(tmp_path_factory, stand_ins, fal_cert, workers=2)
    yield srv
    srv.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def _cancels(name: str, stand_in: StandIn) -> list[str]:
    # OpenAI documents no cancel: the engine deletes the job.
    return stand_in.deletes if name == "openai" else stand_in.cancels


def _create(seen: Seen, client: httpx.Client, name: str, prompt: str) -> dict[str, Any]:
    response = seen.post(client, "/api/projects", {"prompt": prompt, "engine": name, **OPTIONS[name]})
    assert response.status_code == 201, response.text
    project: dict[str, Any] = response.json()
    assert project["options"]["engine"] == name
    return project


def _assert_nothing_leaks(seen: Seen, server: Server, name: str, stand_in: StandIn) -> None:
    """No provider URL reaches a client, and the provider's key is in no body and no log line."""
    secrets = {KEYS[name], KEYS[name].split(":")[-1]}
    log = server.log_tail(5_000_000)
    assert seen.bodies and f"{name}: " in log, "nothing to search: the test would prove nothing"
    for body in seen.bodies:
        assert stand_in.host not in body, body[:2000]
        assert "replicate.com" not in body and "fal.run" not in body and "fal.media" not in body
        for secret in secrets:
            assert secret not in body
    for secret in secrets:
        assert secret not in log


def _generate_task(snap: dict[str, Any]) -> dict[str, Any]:
    (task,) = [t for t in snap["tasks"] if t["kind"] == "generate"]
    return task


def test_the_engines_are_listed_with_what_each_accepts(client: httpx.Client) -> None:
    seen = Seen()
    engines = {e["name"]: e for e in seen.get(client, "/api/engines")["engines"]}
    assert list(engines) == ["procedural", *PROVIDERS]
    assert engines["openai"]["durations_s"] == [4, 8, 12]
    for name in PROVIDERS:
        assert engines[name]["fps"] == [30] and engines[name]["accepts_timeline"] is False
    assert all(secret not in seen.bodies[0] for secret in KEYS.values())


def test_an_option_the_engine_cannot_make_is_refused_before_anything_is_queued(
    client: httpx.Client, stand_ins: dict[str, StandIn]
) -> None:
    stand_ins["openai"].reset()
    response = client.post(
        "/api/projects",
        json={"prompt": "a square", "engine": "openai", **{**OPTIONS["openai"], "aspect": "1:1"}},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "engine_not_available"
    assert stand_ins["openai"].requests == []


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_project_completes_with_the_video_in_framecasts_storage_and_the_providers_progress(
    name: str, server: Server, client: httpx.Client, stand_ins: dict[str, StandIn]
) -> None:
    stand_in = stand_ins[name]
    stand_in.reset()
    seen = Seen()
    project = _create(seen, client, name, f"a lighthouse at dusk, waves ({name})")
    snap = wait_terminal(client, project["id"], timeout_s=60)
    assert snap["status"] == "completed", snap

    snap = seen.get(client, f"/api/projects/{project['id']}")
    events = seen.events(client, project["id"])
    sse = seen.sse(client, project["id"])
    gallery = seen.get(client, "/api/videos")
    assert "render_result" in sse

    # One job at the provider, with the project's prompt.
    assert stand_in.creations == 1
    (job,) = stand_in.jobs.values()
    assert "a lighthouse at dusk" in str(job.body)
    generate = _generate_task(snap)
    assert generate["status"] == "completed" and generate["attempt"] == 1

    # The video is Framecast's own file, served from its /media, and is the provider's video.
    result = snap["result"]
    assert result["url"].startswith("/media/") and result["poster_url"].startswith("/media/"), result
    assert (result["width"], result["height"]) == (WIDTH, HEIGHT)
    (item,) = [i for i in gallery["items"] if i["project_id"] == project["id"]]
    assert item["result"]["url"] == result["url"]
    media = client.get(result["url"])
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    local = server.data_dir.parent / f"{name}-{project['id']}.mp4"
    local.write_bytes(media.content)
    with av.open(str(local)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (WIDTH, HEIGHT)
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded == FRAMES
    files = [e for e in events if e["type"] == "file"]
    assert {e["data"]["asset"]["kind"] for e in files} >= {"video", "poster"}
    assert all(e["data"]["asset"]["url"].startswith("/media/") for e in files)

    # render_progress carries the provider's percent (the stand-ins say 30 then 70), in order.
    progress = [
        e["data"] for e in events if e["type"] == "render_progress" and e["data"]["task_id"] == generate["id"]
    ]
    assert [p["frame"] for p in progress if p["frame"] in (30, 70)] == [30, 70], progress
    assert all(p["frames"] == 100 for p in progress)
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)
    assert any(abs(p["progress"] - 0.3) < 1e-6 for p in progress)

    types = [e["type"] for e in events]
    assert types.index("render_result") < types.index("project_status", types.index("render_result"))
    assert events[-1]["data"]["status"] == "completed"
    _assert_nothing_leaks(seen, server, name, stand_in)


@pytest.mark.parametrize(
    ("scenario", "code", "says", "jobs"),
    [
        # Refused at the door: no job was made.
        ("reject", "provider_rejected_prompt", "refused this prompt", 0),
        # Refused by the provider's safety check: the one job ended refused.
        ("reject_job", "provider_rejected_prompt", "refused this prompt", 1),
        ("fail", "provider_unavailable", "could not make this video", 1),
    ],
)
@pytest.mark.parametrize("name", PROVIDERS)
def test_a_provider_failure_fails_the_project_with_a_stable_code(
    name: str,
    scenario: str,
    code: str,
    says: str,
    jobs: int,
    server: Server,
    client: httpx.Client,
    stand_ins: dict[str, StandIn],
) -> None:
    stand_in = stand_ins[name]
    stand_in.reset(scenario)
    seen = Seen()
    project = _create(seen, client, name, "something the provider will not make")
    wait_terminal(client, project["id"], timeout_s=60)
    snap = seen.get(client, f"/api/projects/{project['id']}")
    assert snap["status"] == "failed", snap
    assert snap["error"]["code"] == code, snap["error"]
    assert f"The {name} provider {says}" in snap["error"]["message"]
    assert _generate_task(snap)["error"]["code"] == code
    assert snap["result"] is None
    events = seen.events(client, project["id"])
    assert events[-1]["type"] == "project_status"
    assert events[-1]["data"]["status"] == "failed" and events[-1]["data"]["error"]["code"] == code
    assert stand_in.creations == jobs
    _assert_nothing_leaks(seen, server, name, stand_in)


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_rate_limited_create_fails_the_project_with_the_providers_wait(
    name: str, server: Server, client: httpx.Client, stand_ins: dict[str, StandIn]
) -> None:
    stand_in = stand_ins[name]
    stand_in.reset("rate_limited")
    seen = Seen()
    project = _create(seen, client, name, "too many at once")
    wait_terminal(client, project["id"], timeout_s=60)
    snap = seen.get(client, f"/api/projects/{project['id']}")
    assert snap["status"] == "failed", snap
    error = snap["error"]
    assert error["code"] == "provider_rate_limited", error
    assert f"wait {RETRY_AFTER_S} s" in error["message"]
    assert error["retry_after_s"] == RETRY_AFTER_S
    # No job was made, and the create was not repeated by the SDK behind the worker's back.
    assert stand_in.creations == 0
    assert [method for method, _ in stand_in.requests] == ["POST"]
    _assert_nothing_leaks(seen, server, name, stand_in)


@pytest.mark.parametrize("name", PROVIDERS)
def test_cancel_cancels_the_providers_job(
    name: str, server: Server, client: httpx.Client, stand_ins: dict[str, StandIn]
) -> None:
    stand_in = stand_ins[name]
    stand_in.reset("slow")
    seen = Seen()
    project = _create(seen, client, name, "a job that runs until it is cancelled")

    def running() -> bool:
        snap = client.get(f"/api/projects/{project['id']}").json()
        return any(t["kind"] == "generate" and t["progress"] > 0 for t in snap["tasks"])

    wait_for(running, timeout_s=30)
    (job_id,) = stand_in.jobs
    response = seen.post(client, f"/api/projects/{project['id']}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    wait_for(lambda: job_id in _cancels(name, stand_in), timeout_s=10)
    assert set(_cancels(name, stand_in)) == {job_id}
    assert stand_in.creations == 1
    snap = seen.get(client, f"/api/projects/{project['id']}")
    assert snap["status"] == "cancelled" and snap["result"] is None
    _assert_nothing_leaks(seen, server, name, stand_in)


@pytest.fixture(scope="module")
def solo(
    tmp_path_factory: pytest.TempPathFactory, stand_ins: dict[str, StandIn], fal_cert: Path
) -> Iterator[Server]:
    """One worker, so the worker running the generate task is the one there is."""
    srv = _server(tmp_path_factory, stand_ins, fal_cert, workers=1)
    yield srv
    srv.stop()


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_worker_killed_while_the_job_runs_resumes_the_same_job_and_pays_once(
    name: str, solo: Server, stand_ins: dict[str, StandIn]
) -> None:
    stand_in = stand_ins[name]
    stand_in.reset("slow")
    seen = Seen()
    with httpx.Client(base_url=solo.url, timeout=30) as client:
        project = _create(seen, client, name, "survive a crash while the provider works")
        # The job is running at the provider (two polls seen: its id was recorded before the first).
        wait_for(lambda: any(job.polls >= 2 for job in stand_in.jobs.values()), timeout_s=30)
        (job_id,) = stand_in.jobs
        pids = solo.worker_pids()
        assert len(pids) == 1
        os.kill(pids[0], signal.SIGKILL)
        with stand_in.lock:
            stand_in.scenario = "succeed"  # the job finishes, whoever asks next
        snap = wait_terminal(client, project["id"], timeout_s=60)
        assert snap["status"] == "completed", snap
        assert solo.worker_pids() != pids, "the pool replaced the dead worker"
        assert stand_in.creations == 1 and list(stand_in.jobs) == [job_id]
        assert _cancels(name, stand_in) == []
        assert _generate_task(seen.get(client, f"/api/projects/{project['id']}"))["attempt"] == 2
        events = seen.events(client, project["id"])
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert [e["type"] for e in events].count("render_result") == 1
        assert client.get(snap["result"]["url"]).status_code == 200
    assert f"resuming provider job {job_id}" in solo.log_tail(5_000_000)
    _assert_nothing_leaks(seen, solo, name, stand_in)
