"""A WebSocket client's ``resume`` moves the stream's cursor wherever the stream is: in the middle of a
catch-up batch (the next event sent is the one after the new cursor, not the rest of the batch) or while
it waits for live events (at once, not at the next ping)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from tests.support.server import run_async

from framecast.domain.identity import Caller
from framecast.domain.models import Event, Project, new_id
from framecast.events.fanout import Fanout
from framecast.ledger.repository import SqlLedger
from framecast.services.event_stream import BATCH, StreamItem, open_stream


def _project_with_events(ledger: SqlLedger, count: int) -> str:
    pid = new_id("prj")
    with ledger.transaction() as tx:
        tx.add_project(Project(id=pid, owner="local", prompt="p", options={}))
        for i in range(count):
            tx.append_event(pid, "task_status", {"i": i})
    return pid


async def _next_event(items: AsyncIterator[StreamItem], within_s: float = 5.0) -> Event:
    """The next event of the stream (pings and other messages skipped)."""
    while True:
        item = await asyncio.wait_for(anext(items), within_s)
        if isinstance(item, Event):
            return item


def test_resume_in_the_middle_of_a_catch_up_batch_goes_back(ledger: SqlLedger) -> None:
    pid = _project_with_events(ledger, BATCH + 20)  # more than one batch: the stream is mid-batch below

    async def run() -> list[int]:
        stream = await open_stream(ledger, Fanout(), pid, caller=Caller("local"), after=0, ping_interval_s=30)
        items = aiter(stream)
        try:
            seqs = [(await _next_event(items)).seq for _ in range(3)]
            stream.resume_from(1)
            seqs += [(await _next_event(items)).seq for _ in range(2)]
            stream.resume_from(BATCH + 10)  # forwards, past the end of this batch
            seqs += [(await _next_event(items)).seq for _ in range(2)]
            return seqs
        finally:
            stream.close()

    assert run_async(run) == [1, 2, 3, 2, 3, BATCH + 11, BATCH + 12]


def test_resume_while_waiting_for_live_events_takes_effect_at_once(ledger: SqlLedger) -> None:
    pid = _project_with_events(ledger, 5)

    async def run() -> tuple[list[int], float]:
        stream = await open_stream(ledger, Fanout(), pid, caller=Caller("local"), after=0, ping_interval_s=30)
        items = aiter(stream)
        try:
            seqs = [(await _next_event(items)).seq for _ in range(5)]
            # The log is read to its end: the stream now waits for live events (up to 30 s for a ping).
            waiting = asyncio.ensure_future(_next_event(items, within_s=10))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            asked = time.monotonic()
            stream.resume_from(2)
            seqs.append((await waiting).seq)
            return seqs, time.monotonic() - asked
        finally:
            stream.close()

    seqs, took = run_async(run)
    assert seqs == [1, 2, 3, 4, 5, 3]
    assert took < 5.0, f"the resume waited {took:.1f} s for the stream to look up"
