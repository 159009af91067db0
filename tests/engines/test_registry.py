"""The engine registry: what it holds, and the create check's 422 that says what is available."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from framecast.domain.errors import EngineNotAvailable
from framecast.domain.options import ProjectRequest, VideoOptions
from framecast.engines.base import (
    Engine,
    EngineInfo,
    EngineRun,
    Generated,
    GenerationRequest,
    check_against_info,
)
from framecast.engines.procedural import ProceduralEngine
from framecast.engines.registry import FACTORIES, EngineFactory, EngineRegistry, build_registry
from framecast.services.projects import request_hash
from framecast.settings import Settings


class _Short:
    """An engine that makes 4 or 8 s of 720p, from a prompt only."""

    info = EngineInfo(
        name="short",
        label="Short",
        description="4 or 8 s",
        max_duration_s=8,
        durations_s=(4, 8),
        resolutions=("720p",),
    )

    def check(self, options: VideoOptions, *, has_timeline: bool) -> None:
        check_against_info(self.info, options, has_timeline=has_timeline)

    def generate(self, request: GenerationRequest, run: EngineRun) -> Generated:
        raise NotImplementedError

    def cancel(self, checkpoint: Mapping[str, str]) -> None:
        pass


def test_the_default_registry_has_the_procedural_engine_only(tmp_path: Path) -> None:
    registry = build_registry(Settings(data_dir=tmp_path))
    assert registry.names == ["procedural"]
    info = registry.infos()[0]
    assert info.accepts_timeline and info.voiceover
    assert info.max_duration_s == 600 and info.resolutions == ("360p", "480p", "720p", "1080p")
    assert isinstance(ProceduralEngine(), Engine)


def test_the_diffusers_engine_is_there_only_when_its_directory_is(tmp_path: Path) -> None:
    assert build_registry(Settings(data_dir=tmp_path, diffusers_model=tmp_path / "absent")).names == [
        "procedural"
    ]
    (tmp_path / "model").mkdir()
    registry = build_registry(Settings(data_dir=tmp_path, diffusers_model=tmp_path / "model"))
    assert registry.names == ["procedural", "diffusers"]
    info = registry.get("diffusers").info
    assert not info.accepts_timeline and not info.voiceover


def test_one_factory_entry_adds_an_engine(tmp_path: Path) -> None:
    factories = [*FACTORIES, EngineFactory("short", lambda _s: _Short())]
    registry = build_registry(Settings(data_dir=tmp_path), factories)
    assert registry.names == ["procedural", "short"]
    registry.check("short", VideoOptions(duration_s=4), has_timeline=False)


@pytest.mark.parametrize(
    ("engine", "options", "has_timeline", "field", "words"),
    [
        ("nope", {}, False, "engine", "available: procedural, short"),
        ("short", {"duration_s": 5}, False, "duration_s", "4, 8 s"),
        ("short", {"duration_s": 10}, False, "duration_s", "1 to 8 s"),
        ("short", {"duration_s": 4, "resolution": "1080p"}, False, "resolution", "720p"),
        ("short", {"duration_s": 4, "voiceover": True}, False, "voiceover", "voiceover"),
        ("short", {"duration_s": 4}, True, "engine", "prompt only"),
    ],
)
def test_what_an_engine_cannot_do_is_refused_with_what_it_can(
    engine: str, options: dict[str, object], has_timeline: bool, field: str, words: str
) -> None:
    registry = EngineRegistry([ProceduralEngine(), _Short()])
    with pytest.raises(EngineNotAvailable) as caught:
        registry.check(engine, VideoOptions(**options), has_timeline=has_timeline)  # type: ignore[arg-type]
    assert caught.value.code == "engine_not_available"
    assert caught.value.field == field
    assert words in caught.value.message


def test_the_engine_option_defaults_to_procedural_and_keeps_old_idempotency_hashes() -> None:
    assert VideoOptions().engine == "procedural"
    plain = ProjectRequest(prompt="A boat")
    assert request_hash(plain) == request_hash(ProjectRequest(prompt="A boat", engine="procedural"))
    assert request_hash(plain) != request_hash(ProjectRequest(prompt="A boat", engine="diffusers"))
    assert "engine" not in plain.model_dump(mode="json") or plain.options().engine == "procedural"


def test_a_registry_without_the_procedural_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="procedural"):
        EngineRegistry([_Short()])
