"""The fast layer: services and jobs on the in-memory fakes of their ports (no database, broker or server).

``ledger`` here is a FakeLedger, overriding the SQL ``ledger`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeEventHub, FakeJobQueue, FakeLedger, FakeMediaStore


@pytest.fixture
def hub() -> FakeEventHub:
    return FakeEventHub()


@pytest.fixture
def ledger(hub: FakeEventHub) -> FakeLedger:
    """The fake ledger, its commits published to ``hub`` as the app wires the real one."""
    return FakeLedger(on_commit=hub.publish)


@pytest.fixture
def queue() -> FakeJobQueue:
    return FakeJobQueue()


@pytest.fixture
def media(tmp_path: Path) -> FakeMediaStore:
    return FakeMediaStore(tmp_path / "media")
