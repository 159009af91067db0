"""The embedded event hub: one thread watches the ledger for new events and fans them out to streams.

Workers are other processes writing to the same SQLite file, so the API process must notice their commits.
The ledger's change probe (SQLite's ``PRAGMA data_version``) changes whenever another connection commits;
checking it costs a few microseconds, so the watcher can look every few milliseconds and query the events
only when something changed. One reader serves every subscriber of the process.
"""

from __future__ import annotations

import logging

from framecast.events.fanout import ThreadedHub
from framecast.services.ports import EventFeed

log = logging.getLogger(__name__)


class LocalEventHub(ThreadedHub):
    """Watches the ledger from a thread and pushes each new event to the subscribers of its project."""

    def __init__(self, feed: EventFeed, *, interval_s: float = 0.005) -> None:
        super().__init__()
        self.feed = feed
        self.interval_s = interval_s

    def _read(self) -> None:
        last_id = self.feed.max_event_id()
        probe = self.feed.change_probe()
        last_version: object = None
        had_error = False
        while not self._stop.is_set():
            try:
                if probe is not None:
                    version = probe()
                    if version == last_version:
                        self._stop.wait(self.interval_s)
                        continue
                    last_version = version
                last_id, events = self.feed.events_since_id(last_id)
                self.publish_threadsafe(events)
                if had_error:
                    had_error = False
                    self.mark_all_dirty_threadsafe()
                if not events:
                    self._stop.wait(self.interval_s)
                else:
                    last_version = None  # there may be more than one batch
            except Exception:  # noqa: BLE001 - the watcher must survive a locked or restarted database
                log.exception("event hub watcher error; retrying")
                had_error = True
                self._stop.wait(0.5)
        if probe is not None:
            probe.close()
