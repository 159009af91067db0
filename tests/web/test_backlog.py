"""FRAMECAST_BACKLOG reaches uvicorn's listen call, and a kernel cap below it is warned about."""

from __future__ import annotations

from pathlib import Path

import uvicorn

from framecast.settings import Settings
from framecast.web.http_server import backlog_warning, server_options


def test_the_backlog_setting_reaches_uvicorn(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRAMECAST_BACKLOG", "12345")
    settings = Settings(data_dir=tmp_path)
    config = uvicorn.Config(lambda *_: None, **server_options(settings))
    assert config.backlog == 12345


def test_the_default_backlog_holds_a_reconnect_storm(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).backlog == 16384


def test_a_kernel_cap_below_the_backlog_is_warned_about(tmp_path: Path) -> None:
    somaxconn = tmp_path / "somaxconn"
    somaxconn.write_text("4096\n")
    warning = backlog_warning(Settings(data_dir=tmp_path, backlog=16384), somaxconn)
    assert warning is not None and "4096" in warning and "net.core.somaxconn" in warning
    assert backlog_warning(Settings(data_dir=tmp_path, backlog=4096), somaxconn) is None
    assert backlog_warning(Settings(data_dir=tmp_path), tmp_path / "missing") is None


def test_serve_listens_with_the_backlog_asked_for(tmp_path: Path) -> None:
    import shutil
    import subprocess

    import pytest
    from tests.support.server import Server

    if shutil.which("ss") is None:
        pytest.skip("needs ss(8) to read the listen queue's size")
    server = Server(tmp_path / "data", workers=0, env={"FRAMECAST_BACKLOG": "777"}).start()
    try:
        out = subprocess.run(
            ["ss", "-ltnH", f"sport = :{server.port}"], capture_output=True, text=True, check=True
        ).stdout
        # For a listening socket, ss's Send-Q column is the backlog it was given (the kernel caps it at
        # somaxconn, which is above 777 on any usual Linux).
        assert out.split()[2] == "777", out
    finally:
        server.stop()
