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
from framecast.domain.identity import Caller
from framecast.domain.models import Event, Project
from framecast.services.access import visible_project
from framecast.services.ports import EventHub, EventLog, Ledger, Subscription
from framecast.services.shared_reads import SharedReads

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
class _Position:
    """Where a stream is: the last seq sent, the latest project status seen, and when it last spoke."""

    cursor: int
    status_seq: int
    terminal: bool
    last_sent: float = field(default_factory=time.monotonic)
    last_check: float = field(default_factory=time.monotonic)

    def advance(self, event: Event) -> None:
        self.cursor = event.seq
        if event.type == EventType.PROJECT_STATUS and event.seq > self.status_seq:
            self.status_seq, self.terminal = event.seq, bool(event.data.get("terminal"))

    @property
    def finished(self) -> bool:
        """The terminal status was sent: the run is over for this stream."""
        return self.terminal and self.cursor >= self.status_seq


@dataclass
class EventStream:
    """An opened stream. Iterate it with ``async for``; ``close()`` releases the hub subscription."""

    log: EventLog
    subscription: Subscription
    project: Project
    after: int
    ping_interval_s: float
    ledger: Ledger | None = None
    caller: Caller | None = None
    #: Where the log is read when openers share reads (``open_stream(reads=...)``); else ``log``.
    reads: SharedReads | None = None
    _resume: int | None = field(default=None, init=False)
    _more: bool = field(default=False, init=False)

    def close(self) -> None:
        self.subscription.close()

    @property
    def exhausted(self) -> bool:
        """The cursor is at or past the project's terminal event: this stream has nothing to send (SSE
        answers 204 No Content, which tells an EventSource to stop reconnecting)."""
        return self.project.status.terminal and self.after >= self.project.last_seq

    def __aiter__(self) -> AsyncIterator[StreamItem]:
        return self._run()

    @property
    def more_ready(self) -> bool:
        """The next item is already in memory (the rest of a replay batch, or the replay after ``hello``):
        a transport may hold what it has and write it all at once, in one send, instead of one per item.
        False when the next item waits for something (a live event, a ping, a read of the log)."""
        return self._more

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
        pos = _Position(self.after, project.last_seq, project.status.terminal)
        past_end = pos.cursor > project.last_seq
        # The replay is read before hello goes out, so that hello and the replay leave in one write.
        first = None if past_end else await self._read(pos.cursor)
        # hello first, always: clients treat the first message as "connected" (and some would take a resync
        # before it for a failed connection).
        self._more = past_end or bool(first)
        yield StreamMessage(EventType.HELLO, project.id, self._hello())
        if past_end:
            self._more = False
            yield StreamMessage(EventType.RESYNC, project.id, {"last_seq": project.last_seq})
            pos.cursor = project.last_seq
        pos.last_sent = pos.last_check = time.monotonic()
        need_read = True
        while True:
            resume = self._take_resume()
            if resume is not None:  # a resume request moved the cursor
                last_seq = await self._last_seq_if_past(resume, pos)
                if last_seq is not None:
                    # Past the end: answered like a cursor past the end at open (resync, from the end), or
                    # every later event would be "already sent" and the stream would never end.
                    self._more = False
                    yield StreamMessage(EventType.RESYNC, project.id, {"last_seq": last_seq})
                    pos.last_sent, resume = time.monotonic(), last_seq
                pos.cursor, need_read, first = resume, True, None
            if need_read:
                async for event in self._catch_up(pos, first):
                    yield event
                    pos.last_sent = time.monotonic()
                first = None
                if self._resume is not None:
                    continue
                need_read = False
                if pos.finished:
                    return
            item, need_read = await self._wait(pos)
            if item is not None:
                self._more = False
                yield item
                pos.last_sent = time.monotonic()

    async def _last_seq_if_past(self, after: int, pos: _Position) -> int | None:
        """The project's last seq when ``after`` lies beyond it, else None (a rewind is always valid)."""
        if after <= pos.cursor:
            return None
        if self.ledger is None:
            return None
        project = await _in_thread(_load, self.ledger, self.project.id, self.caller)
        if after <= project.last_seq:
            return None
        if project.status.terminal:
            # The terminal status is the last event of a run: the stream ends at the end it resyncs to.
            pos.status_seq, pos.terminal = project.last_seq, True
        return project.last_seq

    def _hello(self) -> dict[str, Any]:
        project = self.project
        return {
            "last_seq": project.last_seq,
            "status": project.status.value,
            "terminal": project.status.terminal,
        }

    async def _read(self, after: int) -> list[Event]:
        if self.reads is not None:
            return await self.reads.events_after(self.project.id, after, BATCH)
        return await _in_thread(self.log.events_after, self.project.id, after, BATCH)

    async def _catch_up(self, pos: _Position, first: list[Event] | None) -> AsyncIterator[Event]:
        """The log after the cursor, in batches, until it is read to the end or a resume moves the cursor;
        ``first``: the first batch, already read."""
        full = True
        while full and self._resume is None:
            batch = first if first is not None else await self._read(pos.cursor)
            first = None
            full = len(batch) == BATCH
            last = len(batch) - 1
            for i, event in enumerate(batch):
                if self._resume is not None:
                    return  # the client asked for another place: go there before anything else
                pos.advance(event)
                self._more = i < last
                yield event

    async def _wait(self, pos: _Position) -> tuple[StreamItem | None, bool]:
        """Wait for the next live event or the next ping; returns what to send, if anything, and whether the
        log must be read before going on."""
        wait = max(0.0, self.ping_interval_s - (time.monotonic() - pos.last_sent))
        live = await self.subscription.get(timeout=wait)
        if live is None:
            return await self._idle(pos)
        if live.type == EventType.RESYNC:
            return None, True  # the hub had an outage and may have missed events
        if live.seq <= pos.cursor or self._resume is not None:
            # Already sent; or woken by a resume request (the event is read again from the log if needed).
            return None, False
        if live.seq != pos.cursor + 1:
            return None, True  # a gap: the ledger has what the hub skipped
        pos.advance(live)
        # After the terminal status, drain what may have committed meanwhile (a retry right after failure).
        return live, pos.finished

    async def _idle(self, pos: _Position) -> tuple[StreamItem | None, bool]:
        """Nothing live came: a ping when one is due, and now and then a re-read of the log and the project."""
        now = time.monotonic()
        if now - pos.last_sent < self.ping_interval_s:
            return None, False
        recheck = now - pos.last_check >= max(RECHECK_S, self.ping_interval_s)
        if recheck:
            pos.last_check = now
            if self.ledger is not None:
                # A deleted project's stream must end; NotFound becomes an error message.
                await _in_thread(_load, self.ledger, self.project.id, self.caller)
        return StreamMessage(EventType.PING, self.project.id, {"last_seq": pos.cursor}), recheck


async def open_stream(
    ledger: Ledger,
    hub: EventHub,
    project_id: str,
    *,
    caller: Caller,
    after: int,
    ping_interval_s: float,
    log: EventLog | None = None,
    reads: SharedReads | None = None,
) -> EventStream:
    """Open a stream of a project's events after ``after``. Raises NotFound before anything is sent.

    Subscribing before reading the snapshot closes the race where an event commits between the two.
    With ``reads``, the project and the replay are read once for all the concurrent openers of the project
    (``services.shared_reads``: each of those reads starts after its openers subscribed).
    """
    if after < 0:
        after = 0
    subscription = hub.subscribe(project_id)
    try:
        if reads is not None:
            project = await reads.project(project_id, caller)
        else:
            project = await _in_thread(_load, ledger, project_id, caller)
    except BaseException:
        subscription.close()
        raise
    return EventStream(log or ledger, subscription, project, after, ping_interval_s, ledger, caller, reads)


def _load(ledger: Ledger, project_id: str, caller: Caller) -> Project:
    with ledger.read() as tx:
        return visible_project(tx, project_id, caller)
