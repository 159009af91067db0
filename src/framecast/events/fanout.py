"""Fan-out to this process's streams: one queue per subscriber, grouped by project."""

from __future__ import annotations

import asyncio

from framecast.domain.events import EventType
from framecast.domain.models import Event, utcnow

QUEUE_LIMIT = 1000


class FanoutSubscription:
    def __init__(self, hub: Fanout, project_id: str) -> None:
        self.hub = hub
        self.project_id = project_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_LIMIT)

    async def get(self, timeout: float) -> Event | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout=timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self.hub.unsubscribe(self)


class Fanout:
    """Subscribers by project. ``publish`` runs on the event loop (hubs call it with call_soon_threadsafe)."""

    def __init__(self) -> None:
        self._subs: dict[str, set[FanoutSubscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

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
                try:
                    sub.queue.put_nowait(event)
                except asyncio.QueueFull:
                    pass  # the stream reads the gap from the log

    def mark_all_dirty(self) -> None:
        """Wake every stream with a ``resync`` marker: the hub had an outage and may have missed events."""
        for project_id, subs in list(self._subs.items()):
            marker = Event(project_id=project_id, seq=0, type=EventType.RESYNC, data={}, ts=utcnow())
            for sub in list(subs):
                try:
                    sub.queue.put_nowait(marker)
                except asyncio.QueueFull:
                    pass

    def mark_all_dirty_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.mark_all_dirty)

    def publish_threadsafe(self, events: list[Event]) -> None:
        loop = self._loop
        if events and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.publish, events)
