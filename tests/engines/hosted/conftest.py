"""Each hosted engine against its provider's stand-in, through the real SDK, with a small fake EngineRun."""

from __future__ import annotations

import os
import shutil
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from framecast.domain.options import VideoOptions
from framecast.engines.base import GenerationRequest
from framecast.engines.hosted.common import HostedEngine, HostedSettings
from tests.fakes.engine_run import FakeRun
from tests.support.auth_proxy import missing
from tests.support.providers import StandIn
from tests.support.providers.fal import FalStandIn, load_fal_client, make_certificate
from tests.support.providers.openai_videos import OpenAIStandIn
from tests.support.providers.replicate import ReplicateStandIn

KEYS = {
    "openai": "sk-proj-HOSTEDTESTKEY0penai9f3c2b1a",
    "replicate": "r8_HOSTEDTESTTOKENreplicate7e6d5c",
    "fal": "fal-key-id-1234:HOSTEDTESTSECRETfal4b3a29",
}
MODELS = {
    "openai": "sora-2",
    "replicate": "wan-video/wan-2.7-t2v",
    "fal": "fal-ai/wan-25-preview/text-to-video",
}
#: An option set each provider can make.
OPTIONS = {
    "openai": VideoOptions(duration_s=4, aspect="16:9", resolution="720p", fps=30, seed=7),
    "replicate": VideoOptions(duration_s=5, aspect="16:9", resolution="720p", fps=30, seed=7),
    "fal": VideoOptions(duration_s=5, aspect="16:9", resolution="720p", fps=30, seed=7),
}


class Crash(Exception):
    """What a worker dying mid-wait looks like to the engine: the attempt stops, the checkpoint stays."""


@dataclass
class Harness:
    name: str
    stand_in: StandIn
    key: str
    build: Callable[[HostedSettings], HostedEngine]
    options: VideoOptions

    def settings(self, **overrides: object) -> HostedSettings:
        base = HostedSettings(
            api_key=self.key,
            model=MODELS[self.name],
            # The SDKs' own base URLs: OpenAI's includes the API version (its default is …/v1), Replicate's
            # does not; fal-client has none (its queue host is FAL_QUEUE_RUN_HOST, set for the module).
            base_url={"openai": f"{self.stand_in.url}/v1", "replicate": self.stand_in.url}.get(self.name),
            poll_interval_s=0.01,
            max_backoff_s=0.01,
            request_timeout_s=10,
            timeout_s=120,
            sdk_max_retries=0,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    def engine(self, **overrides: object) -> HostedEngine:
        return self.build(self.settings(**overrides))

    def request(self, prompt: str = "a lighthouse at dusk, waves") -> GenerationRequest:
        width, height = self.options.size
        return GenerationRequest(
            project_id="prj_test",
            prompt=prompt,
            options=self.options,
            width=width,
            height=height,
            fps=self.options.fps,
            frames=int(self.options.duration_s * self.options.fps),
            seed=self.options.seed or 0,
        )


@pytest.fixture(scope="session")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A small real MP4 (H.264), what a provider's result download returns."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 24)
        for index in range(24):
            pixels = np.full((64, 64, 3), index * 10, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


@pytest.fixture(scope="session")
def fal_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("openssl is not installed (the fal stand-in speaks HTTPS, as fal-client does)")
    assert openssl is not None
    cert, key = make_certificate(openssl, tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


@pytest.fixture(scope="module")
def stand_ins(mp4: bytes, fal_tls: tuple[ssl.SSLContext, Path]) -> Iterator[dict[str, StandIn]]:
    context, cert = fal_tls
    servers: dict[str, StandIn] = {
        "openai": OpenAIStandIn(key=KEYS["openai"], video=mp4),
        "replicate": ReplicateStandIn(key=KEYS["replicate"], video=mp4),
        "fal": FalStandIn(key=KEYS["fal"], video=mp4, tls=context),
    }
    saved = {name: os.environ.get(name) for name in ("SSL_CERT_FILE", "FAL_QUEUE_RUN_HOST")}
    # fal-client speaks HTTPS only: its httpx clients trust the stand-in's certificate through SSL_CERT_FILE.
    os.environ["SSL_CERT_FILE"] = str(cert)
    load_fal_client(servers["fal"].host)
    try:
        yield servers
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        load_fal_client(saved["FAL_QUEUE_RUN_HOST"])
        for server in servers.values():
            server.close()


def _builders() -> dict[str, Callable[[HostedSettings], HostedEngine]]:
    from framecast.engines.hosted.fal_video import fal_engine
    from framecast.engines.hosted.openai_videos import openai_engine
    from framecast.engines.hosted.replicate_video import replicate_engine

    return {"openai": openai_engine, "replicate": replicate_engine, "fal": fal_engine}


@pytest.fixture(params=["openai", "replicate", "fal"])
def provider(request: pytest.FixtureRequest, stand_ins: dict[str, StandIn]) -> Harness:
    name: str = request.param
    server = stand_ins[name]
    server.reset()
    return Harness(name, server, KEYS[name], _builders()[name], OPTIONS[name])


@pytest.fixture
def run(tmp_path: Path) -> FakeRun:
    return FakeRun(tmp=tmp_path)
