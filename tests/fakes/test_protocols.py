"""Each fake is a structural match of its port: ``mypy --strict tests/fakes`` checks these assignments, so
a method added to a Protocol (or a signature changed there) fails type-checking until the fake follows."""

from __future__ import annotations

from pathlib import Path

from framecast.domain.models import Project
from framecast.services.ports import (
    ByteStream,
    EventHub,
    EventLog,
    JobQueue,
    Ledger,
    LedgerSession,
    MediaStore,
    Subscription,
)
from tests.fakes import (
    FakeByteStream,
    FakeEventHub,
    FakeJobQueue,
    FakeLedger,
    FakeLedgerSession,
    FakeMediaStore,
    FakeSubscription,
)


def test_each_fake_is_typed_as_its_port(tmp_path: Path) -> None:
    fake_ledger = FakeLedger()
    ledger: Ledger = fake_ledger
    log: EventLog = fake_ledger
    with ledger.transaction() as tx:
        tx.add_project(Project(id="prj_1", owner="local", prompt="p", options={}))
    fake_session: FakeLedgerSession
    with fake_ledger.read() as fake_session:
        session: LedgerSession = fake_session
        assert session.project("prj_1").owner == "local"
    queue: JobQueue = FakeJobQueue()
    media: MediaStore = FakeMediaStore(tmp_path)
    stream: ByteStream = FakeByteStream(b"")
    fake_hub = FakeEventHub()
    hub: EventHub = fake_hub
    subscription: Subscription = FakeSubscription(fake_hub, "prj_1")
    hub_subscription: Subscription = hub.subscribe("prj_1")
    assert log.events_after("prj_1", 0) == []
    for port in (queue, media, stream, subscription, hub_subscription):
        assert port is not None
