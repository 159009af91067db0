"""Fixtures for the HTTP surface tests: the real app over a real SQLite ledger and embedded broker in a
temp dir, driven in-process with TestClient (lifespan on). No workers run, so projects stay queued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web_support import ClientFactory, TestClient, create_project

from framecast.app_context import build_runtime
from framecast.settings import Settings
from framecast.web.app import create_app


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[ClientFactory]:
    """Build a client over a fresh app; keyword arguments go to Settings (data_dir is the test's tmp dir)."""
    opened: list[tuple[TestClient, Any]] = []

    def factory(**settings: Any) -> TestClient:
        data_dir = tmp_path / f"data{len(opened)}"
        settings.setdefault("allowed_hosts", ["testserver"])  # the TestClient's Host
        runtime = build_runtime(Settings(data_dir=data_dir, workers=0, **settings))
        client = TestClient(create_app(runtime), raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, runtime))
        return client

    yield factory
    for client, runtime in reversed(opened):
        client.__exit__(None, None, None)
        runtime.close()


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture
def project(client: TestClient) -> dict[str, Any]:
    """A queued project (no worker picks it up)."""
    return create_project(client, duration_s=2, resolution="360p")
