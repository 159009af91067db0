"""The embedded event hub: one thread watches the ledger for new events and fans them out to streams.

Workers are other processes writing to the same SQLite file, so the API process must notice their commits.
The ledger's change probe (SQLite's ``PRAGMA data_version``) changes whenever another connection commits;
checking it costs a few microseconds, so the watcher can look every few milliseconds and query the events
only when something changed. One reader serves every subscriber of the process.
"""

from __future__ import annotations

import logging
import time

from framecast.domain.errors import Unavailable
from framecast.events.fanout import ThreadedHub
from framecast.services.ports import ChangeProbe, EventFeed

log = logging.getLogger(__name__)

#: The longest the watcher goes without a real read of the ledger, however quiet the change probe is.
FORCED_READ_S = 1.0


class LocalEventHub(ThreadedHub):
    """Watches the ledger from a thread and pushes each new event to the subscribers of its project."""

    def __init__(self, feed: EventFeed, *, interval_s: float = 0.005) -> None:
        super().__init__()
        self.feed = feed
        self.interval_s = interval_s

    def _read(self) -> None:
        last_id: int | None = None
        probe: ChangeProbe | None = None
        probed = False
        last_version: object = None
        last_read = time.monotonic()
        outage = False
        while not self._stop.is_set():
            try:
                if last_id is None:
                    last_id = self.feed.max_event_id()
                if not probed:
                    probe, probed, last_version = self.feed.change_probe(), True, None
                # The probe reads on a connection of its own, which keeps seeing its file even when that
                # file was moved away: a real read every second notices an outage while nobody commits.
                if probe is not None and time.monotonic() - last_read < FORCED_READ_S:
                    version = probe()
                    if version == last_version:
                        self._stop.wait(self.interval_s)
                        continue
                    last_version = version
                last_read = time.monotonic()
                last_id, events = self.feed.events_since_id(last_id)
                self.publish_threadsafe(events)
                if outage:
                    outage = False
                    log.info("event hub: the database is back")
                    self.mark_all_dirty_threadsafe()  # streams re-read what they may have missed
                if not events:
                    self._stop.wait(self.interval_s)
                else:
                    last_version = None  # there may be more than one batch
            except Unavailable as exc:
                if not outage:
                    outage = True
                    log.warning("event hub: the database cannot be read (%s); retrying", exc.message)
                    # Wake every stream: each reads the log, meets the outage and ends with a `problem`
                    # event, instead of sending pings as if events could still arrive.
                    self.mark_all_dirty_threadsafe()
                if probe is not None:
                    probe.close()  # the file may come back as another file (a restore): probe it anew
                probe, probed = None, False
                self._stop.wait(0.5)
            except Exception:  # noqa: BLE001 - last resort: a bug must not silence every stream of the process
                log.exception("event hub watcher error; retrying")
                self._stop.wait(0.5)
        if probe is not None:
            probe.close()
