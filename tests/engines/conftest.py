"""Engine tests run the task graph on the in-memory fakes (as tests/unit does) and, for the diffusers
engine, real processes; ``ledger`` here is a FakeLedger, overriding the SQL one of tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeEventHub, FakeJobQueue, FakeLedger, FakeMediaStore


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger(on_commit=FakeEventHub().publish)


@pytest.fixture
def queue() -> FakeJobQueue:
    return FakeJobQueue()


@pytest.fixture
def media(tmp_path: Path) -> FakeMediaStore:
    return FakeMediaStore(tmp_path / "media")
