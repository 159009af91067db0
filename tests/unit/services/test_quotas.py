"""Quotas and retention on the fakes: each limit refuses the project that would pass it, with when to try
again and a message naming the limit and the use; what was accepted is never touched."""

from __future__ import annotations

from datetime import timedelta

import pytest

from framecast.domain.errors import QuotaExceeded
from framecast.domain.identity import Caller
from framecast.domain.models import Asset, utcnow
from framecast.domain.options import ProjectRequest
from framecast.domain.status import Status
from framecast.services.projects import ProjectService
from framecast.services.quotas import Quotas
from tests.fakes import FakeJobQueue, FakeLedger, FakeMediaStore
from tests.unit.support import stored_project

ALICE, BOB = Caller("alice"), Caller("bob")


def _service(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore, **limits: float
) -> ProjectService:
    return ProjectService(ledger, queue, media, quotas=Quotas(**limits))  # type: ignore[arg-type]


def _ask(service: ProjectService, caller: Caller = ALICE, seconds: float = 4, **extra: str) -> str:
    project, _ = service.submit(
        ProjectRequest(prompt="A red fox", duration_s=seconds), caller=caller, **extra
    )
    return project.id


def test_active_projects_per_owner(ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore) -> None:
    service = _service(ledger, queue, media, active=2)
    first, second = _ask(service), _ask(service)
    with pytest.raises(QuotaExceeded) as caught:
        _ask(service)
    assert caught.value.limit == "active" and caught.value.retry_after_s > 0
    assert (
        "2 projects queued or running" in caught.value.message
        and "FRAMECAST_QUOTA_ACTIVE=2" in caught.value.message
    )
    _ask(service, BOB)  # another owner has their own allowance
    service.cancel(first, caller=ALICE)
    _ask(service)  # a slot freed
    assert stored_project(ledger, second).status is Status.QUEUED  # the accepted ones are untouched


def test_an_idempotent_repeat_is_never_refused(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore
) -> None:
    service = _service(ledger, queue, media, active=1)
    first = _ask(service, idempotency_key="k")
    assert _ask(service, idempotency_key="k") == first  # the same request again: its project, not a 429


def test_seconds_per_day_counts_a_rolling_24_hours(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore
) -> None:
    service = _service(ledger, queue, media, seconds_per_day=10)
    old = _ask(service, seconds=6)
    _ask(service, seconds=3)
    with pytest.raises(QuotaExceeded) as caught:
        _ask(service, seconds=4)
    assert caught.value.limit == "seconds_per_day"
    assert "9 s of video in the last 24 hours" in caught.value.message
    # Room comes back when the 6 s project leaves the window: about a day from now.
    assert 23 * 3600 < caught.value.retry_after_s <= 24 * 3600 + 1
    with ledger.transaction() as tx:
        tx.update_project(old, created_at=utcnow() - timedelta(hours=25))
    _ask(service, seconds=4)
    with pytest.raises(QuotaExceeded, match="at most 10 s of video a day"):
        _ask(service, BOB, seconds=11)


def test_storage_per_owner(ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore) -> None:
    service = _service(ledger, queue, media, storage_mb=1)
    with ledger.transaction() as tx:
        tx.add_asset(
            Asset(
                id="ast_big",
                kind="video",
                filename="v.mp4",
                key="k",
                mime="video/mp4",
                size=1_500_000,
                owner="alice",
            )
        )
    with pytest.raises(QuotaExceeded) as caught:
        _ask(service)
    assert caught.value.limit == "storage_mb" and "1.5 MB of the 1 MB" in caught.value.message
    _ask(service, BOB)


def test_the_service_wide_queue_limit(ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore) -> None:
    service = _service(ledger, queue, media, queue_limit=2)
    _ask(service)
    _ask(service, BOB)
    with pytest.raises(QuotaExceeded) as caught:
        _ask(service, Caller("carol"))
    assert caught.value.limit == "queue_limit" and "2 of 2" in caught.value.message


def test_no_limits_by_default(ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore) -> None:
    service = ProjectService(ledger, queue, media)
    for _ in range(20):
        _ask(service, seconds=600)


def test_retention_removes_ended_projects_and_their_files_only(
    ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore
) -> None:
    service = ProjectService(ledger, queue, media, retention_days=7)
    ended, recent, running = _ask(service), _ask(service), _ask(service)
    service.cancel(ended, caller=ALICE)
    service.cancel(recent, caller=ALICE)
    with ledger.transaction() as tx:
        tx.update_project(ended, updated_at=utcnow() - timedelta(days=8))
        tx.update_project(running, updated_at=utcnow() - timedelta(days=30))  # old but still queued
    src = media.temp_dir() / "f"
    src.write_bytes(b"x")
    media.put(src, f"{ended}/ast_1/video.mp4")
    assert service.snapshot(recent, caller=ALICE)["expires_at"] is not None
    assert service.snapshot(running, caller=ALICE)["expires_at"] is None
    assert service.expire(7) == 1
    with ledger.read() as tx:
        assert tx.existing_project_ids([ended, recent, running]) == {recent, running}
    assert ended not in set(media.project_prefixes())
    assert service.expire(7) == 0
