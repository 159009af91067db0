"""The embedded event hub: one thread watches the ledger for new events and fans them out to streams.

Workers are other processes writing to the same SQLite file, so the API process must notice their commits.
``PRAGMA data_version`` changes whenever another connection commits; checking it costs a few microseconds,
so the watcher can look every few milliseconds and query the events table only when something changed.
One reader serves every subscriber of the process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from framecast.domain.models import Event
from framecast.ledger.repository import SqlLedger

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1000


class _Subscription:
    def __init__(self, hub: LocalEventHub, project_id: str) -> None:
        self.hub = hub
        self.project_id = project_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_LIMIT)

    async def get(self, timeout: float) -> Event | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout=timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self.hub._unsubscribe(self)


class LocalEventHub:
    """Watches the ledger from a thread and pushes each new event to the subscribers of its project."""

    def __init__(self, ledger: SqlLedger, *, interval_s: float = 0.005) -> None:
        self.ledger = ledger
        self.interval_s = interval_s
        self._subs: dict[str, set[_Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="framecast-event-hub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def subscribe(self, project_id: str) -> _Subscription:
        sub = _Subscription(self, project_id)
        self._subs.setdefault(project_id, set()).add(sub)
        return sub

    def _unsubscribe(self, sub: _Subscription) -> None:
        subs = self._subs.get(sub.project_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                self._subs.pop(sub.project_id, None)

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            for sub in list(self._subs.get(event.project_id, ())):
                try:
                    sub.queue.put_nowait(event)
                except asyncio.QueueFull:
                    pass  # the stream reads the gap from the ledger

    def _watch(self) -> None:
        last_id = self.ledger.max_event_id()
        version_conn = self._data_version_connection()
        last_version: Any = None
        while not self._stop.is_set():
            try:
                if version_conn is not None:
                    version = version_conn.execute("PRAGMA data_version").fetchone()[0]
                    if version == last_version:
                        self._stop.wait(self.interval_s)
                        continue
                    last_version = version
                last_id, events = self.ledger.events_since_id(last_id)
                if events and self._loop is not None and not self._loop.is_closed():
                    self._loop.call_soon_threadsafe(self._dispatch, events)
                if not events:
                    self._stop.wait(self.interval_s)
                else:
                    last_version = None  # there may be more than one batch
            except Exception:  # noqa: BLE001 - the watcher must survive a locked or restarted database
                log.exception("event hub watcher error; retrying")
                self._stop.wait(0.5)
        if version_conn is not None:
            version_conn.close()

    def _data_version_connection(self) -> Any:
        if self.ledger.engine.dialect.name != "sqlite":
            return None
        import sqlite3

        database = self.ledger.engine.url.database
        if not database:
            return None
        return sqlite3.connect(database, check_same_thread=False, isolation_level=None)
