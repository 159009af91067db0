"""An in-memory event hub for streams on one asyncio loop, with switches to lose events or signal an outage."""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from framecast.domain.events import EventType
from framecast.domain.models import Event, utcnow


class FakeSubscription:
    """Live events of one project, in a buffer; ``get`` waits on the loop of its first call."""

    def __init__(self, hub: FakeEventHub, project_id: str) -> None:
        self.hub = hub
        self.project_id = project_id
        self.items: deque[Event] = deque()
        self.closed = False
        self.wakes = 0
        self._waiter: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def push(self, event: Event) -> None:
        """Deliver ``event``; safe from any thread (a worker thread's commit hook)."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._push, event)
        else:
            self._push(event)

    def _push(self, event: Event) -> None:
        self.items.append(event)
        self._release()

    def _release(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self, timeout: float) -> Event | None:
        self._loop = asyncio.get_running_loop()
        if not self.items and timeout > 0:
            waiter: asyncio.Future[None] = self._loop.create_future()
            self._waiter = waiter
            handle = self._loop.call_later(timeout, self._release)
            try:
                await waiter
            finally:
                handle.cancel()
                self._waiter = None
        return self.items.popleft() if self.items else None

    def wake(self) -> None:
        self.wakes += 1
        loop = self._loop
        if loop is not None and not loop.is_closed() and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._release)
        else:
            self._release()

    def close(self) -> None:
        self.closed = True
        self.hub.unsubscribe(self)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class FakeEventHub:
    """Fans published events out to the subscribers of their project.

    Wire it as the app does: ``FakeLedger(on_commit=hub.publish)``; ``start``/``stop`` only flip ``running``
    (nothing to watch: commits are pushed). ``muted = True`` drops every event (the
    stream must fill the gap from the log); ``resync(project_id)`` sends the marker a hub sends after an
    outage; ``subscriptions`` keeps every subscription ever made, so a test can check they were closed.
    """

    def __init__(self) -> None:
        self.subscriptions: list[FakeSubscription] = []
        self.muted = False
        self.running = False
        self.published: list[Event] = []
        self._active: dict[str, list[FakeSubscription]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def subscribe(self, project_id: str) -> FakeSubscription:
        sub = FakeSubscription(self, project_id)
        with self._lock:
            self.subscriptions.append(sub)
            self._active.setdefault(project_id, []).append(sub)
        return sub

    def unsubscribe(self, sub: FakeSubscription) -> None:
        with self._lock:
            subs = self._active.get(sub.project_id, [])
            if sub in subs:
                subs.remove(sub)

    def active(self, project_id: str) -> int:
        with self._lock:
            return len(self._active.get(project_id, []))

    def publish(self, events: list[Event]) -> None:
        if self.muted:
            return
        for event in events:
            self.published.append(event)
            with self._lock:
                subs = list(self._active.get(event.project_id, []))
            for sub in subs:
                sub.push(event)

    def resync(self, project_id: str) -> None:
        marker = Event(project_id=project_id, seq=0, type=EventType.RESYNC, data={}, ts=utcnow())
        with self._lock:
            subs = list(self._active.get(project_id, []))
        for sub in subs:
            sub.push(marker)
