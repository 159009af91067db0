"""The embedded event hub: one thread watches the ledger for new events and fans them out to streams.

Workers are other processes writing to the same SQLite file, so the API process must notice their commits.
``PRAGMA data_version`` changes whenever another connection commits; checking it costs a few microseconds,
so the watcher can look every few milliseconds and query the events table only when something changed.
One reader serves every subscriber of the process.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from framecast.domain.errors import Unavailable
from framecast.events.fanout import Fanout
from framecast.ledger.engine import sqlite_open_uri
from framecast.ledger.repository import SqlLedger

log = logging.getLogger(__name__)

#: The longest the watcher goes without a real read of the ledger, however quiet ``data_version`` is.
FORCED_READ_S = 1.0


class LocalEventHub(Fanout):
    """Watches the ledger from a thread and pushes each new event to the subscribers of its project."""

    def __init__(self, ledger: SqlLedger, *, interval_s: float = 0.005) -> None:
        super().__init__()
        self.ledger = ledger
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.bind_loop()
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="framecast-event-hub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _watch(self) -> None:
        last_id: int | None = None
        version_conn: sqlite3.Connection | None = None
        last_version: object = None
        last_read = time.monotonic()
        outage = False
        while not self._stop.is_set():
            try:
                if last_id is None:
                    last_id = self.ledger.max_event_id()
                if version_conn is None and self._uses_data_version():
                    version_conn = self._data_version_connection()  # (re)opened once the file is there
                    last_version = None
                # data_version is read on a connection of its own, which keeps seeing its file even when
                # that file was moved away: a real read every second notices an outage while nobody commits.
                if version_conn is not None and time.monotonic() - last_read < FORCED_READ_S:
                    version = version_conn.execute("PRAGMA data_version").fetchone()[0]
                    if version == last_version:
                        self._stop.wait(self.interval_s)
                        continue
                    last_version = version
                last_read = time.monotonic()
                last_id, events = self.ledger.events_since_id(last_id)
                self.publish_threadsafe(events)
                if outage:
                    outage = False
                    log.info("event hub: the database is back")
                    self.mark_all_dirty_threadsafe()  # streams re-read what they may have missed
                if not events:
                    self._stop.wait(self.interval_s)
                else:
                    last_version = None  # there may be more than one batch
            except (Unavailable, sqlite3.Error) as exc:
                if not outage:
                    outage = True
                    log.warning("event hub: the database cannot be read (%s); retrying", exc)
                    # Wake every stream: each reads the log, meets the outage and ends with a `problem`
                    # event, instead of sending pings as if events could still arrive.
                    self.mark_all_dirty_threadsafe()
                if version_conn is not None:
                    version_conn.close()  # the file may come back as another file (a restore)
                    version_conn = None
                self._stop.wait(0.5)
            except Exception:  # noqa: BLE001 - last resort: a bug must not silence every stream of the process
                log.exception("event hub watcher error; retrying")
                self._stop.wait(0.5)
        if version_conn is not None:
            version_conn.close()

    def _uses_data_version(self) -> bool:
        return self.ledger.engine.dialect.name == "sqlite" and bool(self.ledger.engine.url.database)

    def _data_version_connection(self) -> sqlite3.Connection | None:
        if not self._uses_data_version():
            return None
        database = self.ledger.engine.url.database
        assert database is not None
        try:
            # mode=rw: watching must never create an empty database where the real one went missing.
            return sqlite3.connect(
                sqlite_open_uri(database), uri=True, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error:
            return None  # the file is not there now: events are still read, and this is retried
