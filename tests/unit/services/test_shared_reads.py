"""Openers of one project share their reads: 200 concurrent opens cost two log reads and two project
reads (the one running when they came, which they may not use, and the one started for all of them), the
owner check stays each caller's own, and nobody is handed a read that began before they subscribed."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from framecast.domain.errors import NotFound
from framecast.domain.events import EventType
from framecast.domain.identity import Caller
from framecast.domain.models import Event, Project
from framecast.services.event_stream import open_stream
from framecast.services.shared_reads import SharedReads
from tests.fakes import FakeEventHub, FakeLedger
from tests.support.server import run_async
from tests.unit.support import new_project

OPENERS = 200


class CountingLog:
    """The ledger's log, counting reads; ``gate`` holds every read until the test opens it."""

    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger
        self.reads = 0
        self.gate = threading.Event()
        self._lock = threading.Lock()

    def events_after(self, project_id: str, after: int, limit: int = 1000) -> list[Event]:
        with self._lock:
            self.reads += 1
        assert self.gate.wait(10)
        return self.ledger.events_after(project_id, after, limit)


def _project(ledger: FakeLedger, events: int, owner: str = "local") -> Project:
    project = new_project(owner=owner)
    with ledger.transaction() as tx:
        tx.add_project(project)
        tx.append_events(project.id, [(EventType.TASK_STATUS, {"i": i}) for i in range(events)])
    return project


async def _first_items(stream: Any, n: int) -> list[Any]:
    items = []
    async for item in stream:
        items.append(item)
        if len(items) == n:
            break
    stream.close()
    return items


def test_200_concurrent_openers_of_one_project_cost_two_log_reads(ledger: FakeLedger) -> None:
    hub = FakeEventHub()
    project = _project(ledger, 30)
    log = CountingLog(ledger)
    reads = SharedReads(ledger, log)

    async def scenario() -> list[list[Any]]:
        streams = [
            open_stream(
                ledger,
                hub,
                project.id,
                caller=Caller("local"),
                after=0,
                ping_interval_s=30.0,
                log=log,
                reads=reads,
            )
            for _ in range(OPENERS)
        ]
        opened = await asyncio.gather(*streams)
        readers = [asyncio.ensure_future(_first_items(s, 31)) for s in opened]
        await asyncio.sleep(0.05)  # every opener is now waiting for its replay
        log.gate.set()
        return await asyncio.gather(*readers)

    results = run_async(scenario, 30)
    assert log.reads == 2, "one read running when the openers came, one started for all of them"
    for items in results:
        assert items[0].type == EventType.HELLO
        assert [i.seq for i in items[1:]] == list(range(1, 31))


def test_the_project_is_read_once_for_all_and_checked_for_each_caller(ledger: FakeLedger) -> None:
    project = _project(ledger, 1, owner="alice")
    reads = SharedReads(ledger, ledger)

    async def scenario() -> list[Any]:
        callers = [Caller("alice"), Caller("mallory"), Caller("root", admin=True)] * 50
        return await asyncio.gather(*(reads.project(project.id, c) for c in callers), return_exceptions=True)

    results = run_async(scenario, 30)
    assert reads.reads <= 2
    owners = {type(r).__name__ if isinstance(r, BaseException) else r.owner for r in results}
    assert owners == {"alice", "NotFound"}
    refused = [r for r in results if isinstance(r, NotFound)]
    assert len(refused) == 50 and all(r.code == "project_not_found" for r in refused)
    # each refusal is its own exception, not one instance shared by 50 tasks
    assert len({id(r) for r in refused}) == 50


def test_an_opener_never_gets_a_read_that_started_before_it_came(ledger: FakeLedger) -> None:
    project = _project(ledger, 2)
    log = CountingLog(ledger)
    reads = SharedReads(ledger, log)

    async def scenario() -> tuple[list[Event], list[Event]]:
        early = asyncio.ensure_future(reads.events_after(project.id, 0, 500))
        await asyncio.sleep(0.05)  # the early read is running (held at the gate)
        with ledger.transaction() as tx:  # an event commits, then a late opener comes
            tx.append_events(project.id, [(EventType.TASK_STATUS, {"late": True})])
        late = asyncio.ensure_future(reads.events_after(project.id, 0, 500))
        await asyncio.sleep(0.05)
        log.gate.set()
        return await early, await late

    early, late = run_async(scenario, 30)
    assert [e.seq for e in late] == [1, 2, 3], "the late opener's read began after it came"
    assert [e.seq for e in early][:2] == [1, 2]
    assert log.reads == 2


def test_a_failed_read_reaches_every_waiter_and_is_not_kept(ledger: FakeLedger) -> None:
    reads = SharedReads(ledger, ledger)

    async def scenario() -> list[Any]:
        return await asyncio.gather(
            *(reads.project("prj_missing", Caller("local")) for _ in range(20)), return_exceptions=True
        )

    results = run_async(scenario, 30)
    assert all(isinstance(r, NotFound) for r in results)
    project = _project(ledger, 0)
    found = run_async(lambda: reads.project(project.id, Caller("local")), 30)
    assert found.id == project.id


@pytest.mark.parametrize("openers", [1, 3])
def test_openers_leaving_early_do_not_cancel_the_read_of_the_others(ledger: FakeLedger, openers: int) -> None:
    project = _project(ledger, 3)
    log = CountingLog(ledger)
    reads = SharedReads(ledger, log)

    async def scenario() -> list[Event]:
        leaving = [asyncio.ensure_future(reads.events_after(project.id, 0, 500)) for _ in range(openers)]
        staying = asyncio.ensure_future(reads.events_after(project.id, 0, 500))
        await asyncio.sleep(0.05)
        for task in leaving:
            task.cancel()
        log.gate.set()
        return await staying

    assert [e.seq for e in run_async(scenario, 30)] == [1, 2, 3]
