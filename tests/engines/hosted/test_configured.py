"""The hosted engines come from Settings: one per provider key set, none without; the keys are SecretStr and
read from the providers' own variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from framecast.engines.hosted.configured import (
    fal_from_settings,
    openai_from_settings,
    replicate_from_settings,
)
from framecast.settings import Settings

KEYS = {
    "OPENAI_API_KEY": "sk-cfg-SECRET1",
    "REPLICATE_API_TOKEN": "r8_cfgSECRET2",
    "FAL_KEY": "id:cfgSECRET3",
}


def test_no_key_no_hosted_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path)
    assert openai_from_settings(settings) is None
    assert replicate_from_settings(settings) is None
    assert fal_from_settings(settings) is None


def test_each_key_in_the_environment_enables_its_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FRAMECAST_OPENAI_VIDEO_MODEL", "sora-2-pro")
    monkeypatch.setenv("FRAMECAST_REPLICATE_BASE_URL", "http://127.0.0.1:9/")
    settings = Settings(data_dir=tmp_path)
    engines = [openai_from_settings(settings), replicate_from_settings(settings), fal_from_settings(settings)]
    assert [e.info.name for e in engines if e is not None] == ["openai", "replicate", "fal"]
    openai = engines[0]
    assert openai is not None and openai.info.resolutions == ("720p", "1080p")
    text = repr(settings) + str(settings.model_dump()) + settings.model_dump_json()
    for value in KEYS.values():
        assert value not in text
    assert settings.replicate_base_url == "http://127.0.0.1:9/"
