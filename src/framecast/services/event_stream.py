"""The one event iterator: the log after a cursor, then live events and pings, until the project ends.

SSE, WebSocket and the SDK all consume ``open_stream``; JSON polling reads the same log through
``ProjectService.poll``. The hub only wakes the iterator up: whatever it misses, the ledger fills in, so a
dropped notification costs latency, never an event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from framecast.domain.events import EventType, StreamMessage
from framecast.domain.models import Event, Project
from framecast.services.ports import EventHub, EventLog, Ledger, Subscription

T = TypeVar("T")
StreamItem = Event | StreamMessage
BATCH = 500
#: How often an idle stream re-reads the log and re-checks its project on its own (two queries: at 10,000
#: streams every 30 s that was a third of a core), in case a hub lost
#: something without noticing (hubs that notice an outage wake every stream with a ``resync`` marker).
RECHECK_S = 120.0


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


@dataclass
class EventStream:
    """An opened stream. Iterate it with ``async for``; ``close()`` releases the hub subscription."""

    log: EventLog
    subscription: Subscription
    project: Project
    after: int
    ping_interval_s: float
    ledger: Ledger | None = None
    _resume: int | None = field(default=None, init=False)

    def close(self) -> None:
        self.subscription.close()

    def __aiter__(self) -> AsyncIterator[StreamItem]:
        return self._run()

    def resume_from(self, after: int) -> None:
        """Move the cursor (a WebSocket client's ``resume``): the stream goes on with the events after
        ``after``, from the next event it sends (a catch-up batch in progress stops there) or at once if it
        is waiting for live events."""
        self._resume = after
        self.subscription.wake()

    def _take_resume(self) -> int | None:
        after, self._resume = self._resume, None
        return after

    async def _run(self) -> AsyncIterator[StreamItem]:
        project = self.project
        state_seq, state_terminal = project.last_seq, project.status.terminal
        cursor = self.after
        if cursor > project.last_seq:
            yield StreamMessage(EventType.RESYNC, project.id, {"last_seq": project.last_seq})
            cursor = project.last_seq
        yield StreamMessage(
            EventType.HELLO,
            project.id,
            {
                "last_seq": project.last_seq,
                "status": project.status.value,
                "terminal": project.status.terminal,
            },
        )
        last_sent = last_check = time.monotonic()
        need_read = True
        while True:
            resume = self._take_resume()
            if resume is not None:  # a resume request moved the cursor
                cursor = resume
                need_read = True
            if need_read:
                full = True
                while full and self._resume is None:
                    batch = await _in_thread(self.log.events_after, project.id, cursor, BATCH)
                    full = len(batch) == BATCH
                    for event in batch:
                        if self._resume is not None:
                            break  # the client asked for another place: go there before anything else
                        cursor = event.seq
                        if event.type == EventType.PROJECT_STATUS and event.seq > state_seq:
                            state_seq, state_terminal = event.seq, bool(event.data.get("terminal"))
                        yield event
                        last_sent = time.monotonic()
                if self._resume is not None:
                    continue
                need_read = False
                if state_terminal and cursor >= state_seq:
                    return
            wait = max(0.0, self.ping_interval_s - (time.monotonic() - last_sent))
            live = await self.subscription.get(timeout=wait)
            if live is None:
                now = time.monotonic()
                if now - last_sent >= self.ping_interval_s:
                    if now - last_check >= max(RECHECK_S, self.ping_interval_s):
                        last_check = now
                        need_read = True
                        if self.ledger is not None:
                            # A deleted project's stream must end; NotFound becomes an error message.
                            await _in_thread(_load, self.ledger, project.id, project.owner)
                    yield StreamMessage(EventType.PING, project.id, {"last_seq": cursor})
                    last_sent = time.monotonic()
                continue
            if live.type == EventType.RESYNC:
                need_read = True  # the hub had an outage and may have missed events
                continue
            if live.seq <= cursor:
                continue
            if self._resume is not None:
                continue  # woken by a resume request (this live event is read again from the log if needed)
            if live.seq == cursor + 1:
                cursor = live.seq
                if live.type == EventType.PROJECT_STATUS and live.seq > state_seq:
                    state_seq, state_terminal = live.seq, bool(live.data.get("terminal"))
                yield live
                last_sent = time.monotonic()
                if state_terminal and cursor >= state_seq:
                    # Drain what may have committed meanwhile before ending (a retry right after failure).
                    need_read = True
                continue
            need_read = True  # a gap: the ledger has what the hub skipped


async def open_stream(
    ledger: Ledger,
    hub: EventHub,
    project_id: str,
    *,
    owner: str,
    after: int,
    ping_interval_s: float,
    log: EventLog | None = None,
) -> EventStream:
    """Open a stream of a project's events after ``after``. Raises NotFound before anything is sent.

    Subscribing before reading the snapshot closes the race where an event commits between the two.
    """
    if after < 0:
        after = 0
    subscription = hub.subscribe(project_id)
    try:
        project = await _in_thread(_load, ledger, project_id, owner)
    except BaseException:
        subscription.close()
        raise
    return EventStream(log or ledger, subscription, project, after, ping_interval_s, ledger)


def _load(ledger: Ledger, project_id: str, owner: str) -> Project:
    with ledger.read() as tx:
        return tx.project(project_id, owner=owner)
