"""Fan-out to this process's streams: one small buffer per subscriber, grouped by project.

Built for many idle subscribers: a wait is one future and one timer handle (no task per wait, as
``asyncio.wait_for`` would create), and the same ``Event`` object — with its JSON encoded once — goes to
every subscriber of a project.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections import deque

from framecast.domain.events import EventType
from framecast.domain.models import Event, utcnow

QUEUE_LIMIT = 1000


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class FanoutSubscription:
    def __init__(self, hub: Fanout, project_id: str) -> None:
        self.hub = hub
        self.project_id = project_id
        self._items: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def push(self, event: Event) -> None:
        if len(self._items) < QUEUE_LIMIT:
            self._items.append(event)
        # else: dropped; the stream sees a gap in seq and reads it from the log
        if self._waiter is not None:
            _wake(self._waiter)

    async def get(self, timeout: float) -> Event | None:
        if not self._items:
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiter = waiter
            handle = loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                handle.cancel()
                self._waiter = None
        return self._items.popleft() if self._items else None

    def wake(self) -> None:
        if self._waiter is not None:
            _wake(self._waiter)

    def close(self) -> None:
        self.hub.unsubscribe(self)


class Fanout:
    """Subscribers by project. ``publish`` runs on the event loop (hubs call it with call_soon_threadsafe)."""

    def __init__(self) -> None:
        self._subs: dict[str, set[FanoutSubscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind_loop(self) -> None:
        self._loop = asyncio.get_running_loop()

    def subscribe(self, project_id: str) -> FanoutSubscription:
        sub = FanoutSubscription(self, project_id)
        self._subs.setdefault(project_id, set()).add(sub)
        return sub

    def unsubscribe(self, sub: FanoutSubscription) -> None:
        subs = self._subs.get(sub.project_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                self._subs.pop(sub.project_id, None)

    def wants(self, project_id: str) -> bool:
        return project_id in self._subs

    def publish(self, events: list[Event]) -> None:
        for event in events:
            for sub in list(self._subs.get(event.project_id, ())):
                sub.push(event)

    def mark_all_dirty(self) -> None:
        """Wake every stream with a ``resync`` marker: the hub had an outage and may have missed events."""
        for project_id, subs in list(self._subs.items()):
            marker = Event(project_id=project_id, seq=0, type=EventType.RESYNC, data={}, ts=utcnow())
            for sub in list(subs):
                sub.push(marker)

    def mark_all_dirty_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.mark_all_dirty)

    def publish_threadsafe(self, events: list[Event]) -> None:
        loop = self._loop
        if events and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.publish, events)


class ThreadedHub(Fanout, ABC):
    """A hub whose one reader thread (``_read``, until ``_stop`` is set) feeds this process's streams."""

    thread_name = "framecast-event-hub"
    #: How long ``stop`` waits for the reader to notice.
    join_timeout_s = 2.0

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start reading; call it on the event loop that serves the streams."""
        self.bind_loop()
        self._stop.clear()
        self._thread = threading.Thread(target=self._read, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout_s)

    @abstractmethod
    def _read(self) -> None:
        """Read events until ``_stop`` is set, handing them to ``publish_threadsafe``."""
