"""The media stores under test: a local directory and a real S3-compatible server (rclone serve s3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from framecast.app_context import make_media_store
from framecast.media.s3 import S3MediaStore
from framecast.services.ports import MediaStore
from framecast.settings import Settings
from tests.support.s3_server import S3Server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    if request.param == "local":
        return make_media_store(Settings(data_dir=tmp_path / "data"))
    server: S3Server = request.getfixturevalue("s3_server")
    made = make_media_store(server.settings(tmp_path / "data"))
    assert isinstance(made, S3MediaStore)
    return made
