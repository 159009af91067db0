"""Reads that the streams of one project share: its row and its log after a cursor.

When a proxy drops, every open page reconnects at once: 200 streams of one project open within a few
milliseconds, all asking for the same project and the same log (``?after=0``, or the same
``Last-Event-ID``). Each asking on its own costs a thread hop and a query per opener; here the openers of
one key share one read (single flight) and each gets the answer.

A stream may only use a read that *started after it subscribed* to the hub: a read that began before
could miss an event that committed between that read and the subscription, and the hub would not bring
it either (it was published before the subscription). So an opener that finds a read of its key already
running does not take that read's answer: it waits for the next read of the key, which starts when the
running one ends and serves everyone who arrived meanwhile. A key costs at most two reads per wave of
openers, and nothing is kept once its waiters have their answer (no cache, nothing to invalidate).

>>> reads = SharedReads(ledger, event_log)                              # doctest: +SKIP
>>> project = await reads.project("prj_1", caller)                     # doctest: +SKIP
>>> events = await reads.events_after("prj_1", 0, 500)                 # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from framecast.domain.identity import Caller
from framecast.domain.models import Event, Project
from framecast.services.access import readable_project
from framecast.services.ports import EventLog, Ledger

T = TypeVar("T")


class _Key:
    """One key's reads: the one running (if any), and the one that its late arrivals wait for."""

    __slots__ = ("following", "read", "running")

    def __init__(self, read: Callable[[], Any]) -> None:
        self.read = read
        self.running: asyncio.Future[Any] | None = None
        self.following: asyncio.Future[Any] | None = None


class SingleFlight:
    """Runs a blocking read in a thread once for all concurrent callers of one key (see the module
    docstring for why a caller never joins a read that is already running)."""

    def __init__(self) -> None:
        self._keys: dict[Hashable, _Key] = {}
        #: Reads started, for tests and the benchmark: N concurrent openers cost about one.
        self.reads = 0

    async def get(self, key: Hashable, read: Callable[[], T]) -> T:
        slot = self._keys.get(key)
        if slot is None:
            slot = self._keys[key] = _Key(read)
        if slot.running is None:
            future = slot.running = self._launch(key, slot)
        else:
            if slot.following is None:
                slot.following = asyncio.get_running_loop().create_future()
                slot.following.add_done_callback(_retrieve)
            future = slot.following
        # shield: one opener leaving (its client hung up) must not cancel the read the others wait for
        value: T = await asyncio.shield(future)
        return value

    def _launch(self, key: Hashable, slot: _Key) -> asyncio.Future[Any]:
        self.reads += 1
        future: asyncio.Future[Any] = asyncio.ensure_future(asyncio.to_thread(slot.read))
        future.add_done_callback(lambda done: self._done(key, slot, done))
        return future

    def _done(self, key: Hashable, slot: _Key, done: asyncio.Future[Any]) -> None:
        _retrieve(done)
        following, slot.running, slot.following = slot.following, None, None
        if following is None:
            if self._keys.get(key) is slot:
                del self._keys[key]
            return
        # Everyone who arrived while that read ran gets a read of their own, started now.
        nxt = slot.running = self._launch(key, slot)
        nxt.add_done_callback(lambda source: _settle(following, source))


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark an outcome seen: when every waiter left, a failed read must not log "never retrieved"."""
    if not future.cancelled():
        future.exception()


def _settle(target: asyncio.Future[Any], source: asyncio.Future[Any]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (exc := source.exception()) is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())


class SharedReads:
    """The reads that open a stream, shared by the concurrent openers of one project."""

    def __init__(self, ledger: Ledger, log: EventLog) -> None:
        self.ledger = ledger
        self.log = log
        self._projects = SingleFlight()
        self._events = SingleFlight()

    @property
    def reads(self) -> int:
        """Reads actually made (project rows and log reads together)."""
        return self._projects.reads + self._events.reads

    async def project(self, project_id: str, caller: Caller) -> Project:
        """The project as ``caller`` may see it; NotFound as for a missing one (``access.readable_project``).
        The row is read once for all openers; the owner check is each caller's own."""
        try:
            row = await self._projects.get(project_id, lambda: self._read_project(project_id))
        except BaseException as exc:
            # Each waiter raises its own copy: one instance raised in many tasks gathers all their tracebacks.
            raise copy.copy(exc) from exc.__cause__
        return readable_project(copy.copy(row), project_id, caller)

    async def events_after(self, project_id: str, after: int, limit: int) -> list[Event]:
        """The log after ``after`` (at most ``limit`` events); the list is each caller's own, the (frozen)
        events are shared."""
        try:
            batch = await self._events.get(
                (project_id, after, limit), lambda: self.log.events_after(project_id, after, limit)
            )
        except BaseException as exc:
            raise copy.copy(exc) from exc.__cause__
        return list(batch)

    def _read_project(self, project_id: str) -> Project:
        with self.ledger.read() as tx:
            return tx.project(project_id)
