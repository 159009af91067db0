"""Each fake is a structural match of its port: ``mypy --strict tests/fakes`` checks these assignments, so
a method added to a Protocol (or a signature changed there) fails type-checking until the fake follows."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

from framecast.domain.errors import InvalidInput
from framecast.domain.models import Project
from framecast.engines.base import EngineRun
from framecast.services.ports import (
    ByteStream,
    ChangeProbe,
    EventFeed,
    EventHub,
    EventLog,
    JobQueue,
    KeyStore,
    Ledger,
    LedgerSession,
    MediaProbe,
    MediaStore,
    RunningEventHub,
    Subscription,
    WebhookSender,
    WebhookStore,
)
from tests.fakes import (
    FakeByteStream,
    FakeEventHub,
    FakeJobQueue,
    FakeLedger,
    FakeLedgerSession,
    FakeMediaProbe,
    FakeMediaStore,
    FakeSubscription,
    FakeWebhookSender,
)
from tests.fakes.engine_run import FakeRun


def test_each_fake_is_typed_as_its_port(tmp_path: Path) -> None:
    fake_ledger = FakeLedger()
    ledger: Ledger = fake_ledger
    log: EventLog = fake_ledger
    feed: EventFeed = fake_ledger
    keys: KeyStore = fake_ledger
    probe: ChangeProbe | None = feed.change_probe()
    with ledger.transaction() as tx:
        tx.add_project(Project(id="prj_1", owner="local", prompt="p", options={}))
    fake_session: FakeLedgerSession
    with fake_ledger.read() as fake_session:
        session: LedgerSession = fake_session
        assert session.project("prj_1").owner == "local"
        store: WebhookStore = fake_session.webhooks
        assert store.endpoints("local") == []
    sender: WebhookSender = FakeWebhookSender()
    run: EngineRun = FakeRun(tmp_path)
    assert run.checkpoint() == {} and not run.should_stop()
    queue: JobQueue = FakeJobQueue()
    media: MediaStore = FakeMediaStore(tmp_path)
    probe_port: MediaProbe = FakeMediaProbe()
    stream: ByteStream = FakeByteStream(b"")
    fake_hub = FakeEventHub()
    hub: EventHub = fake_hub
    running_hub: RunningEventHub = fake_hub
    subscription: Subscription = FakeSubscription(fake_hub, "prj_1")
    hub_subscription: Subscription = hub.subscribe("prj_1")
    assert log.events_after("prj_1", 0) == []
    with ledger.leadership("reconciler") as leader:
        assert leader
    assert keys.api_keys() == []
    for port in (
        queue,
        media,
        probe_port,
        stream,
        subscription,
        hub_subscription,
        probe,
        running_hub,
        sender,
    ):
        assert port is not None


def test_a_second_leader_is_refused_at_once_until_the_first_lets_go() -> None:
    """The fake models Postgres's advisory lock (on SQLite, one serve per file, the lead is always held)."""
    ledger = FakeLedger()
    with ledger.leadership("reconciler") as first:
        with ledger.leadership("reconciler") as second, ledger.leadership("media-sweep") as other:
            assert (first, second, other) == (True, False, True)
    with ledger.leadership("reconciler") as again:
        assert again


def test_the_change_probe_moves_with_every_commit() -> None:
    ledger = FakeLedger()
    probe = ledger.change_probe()
    before = probe()
    with ledger.transaction() as tx:
        tx.add_project(Project(id="prj_1", owner="local", prompt="p", options={}))
    assert probe() != before
    probe.close()
    assert probe.closed


def test_the_probe_reads_png_sizes_and_wav_lengths_and_refuses_the_rest(tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    png.write_bytes(
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 32, 16) + b"\0" * 9
    )
    wav_path = tmp_path / "a.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * 4000)
    fake = tmp_path / "fake.wav"
    fake.write_bytes(b"RIFF....WAVE and then nothing")
    probe = FakeMediaProbe()
    assert probe.image_size(png) == (32, 16)
    assert probe.audio_duration(wav_path) == 0.5
    with pytest.raises(InvalidInput):
        probe.image_size(wav_path)
    with pytest.raises(InvalidInput):
        probe.audio_duration(fake)
