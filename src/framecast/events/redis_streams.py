"""Scale-out events over Redis Streams.

* Every process that commits events (API replicas and workers) publishes them after the commit: to the
  project's stream ``{ns}:events:{project_id}`` with the seq as the entry id (``7-0``; a duplicate publish
  is refused by Redis, which keeps the stream free of repeats), and to one firehose stream ``{ns}:events``.
* Each API replica tails the firehose with one shared reader thread and fans events out to its streams.
* Replay reads the project's stream; when the stream was trimmed (or Redis lost it), the ledger answers.

Redis is only a transport: the ledger stays the source of truth, so losing Redis costs latency, not events.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

import redis

from framecast.domain.models import Event
from framecast.events.fanout import ThreadedHub
from framecast.services.ports import EventLog

log = logging.getLogger(__name__)

PROJECT_STREAM_MAXLEN = 10_000
FIREHOSE_MAXLEN = 100_000


def _event_from(raw: Any) -> Event:
    env = json.loads(raw)
    ts = datetime.fromisoformat(env["ts"].replace("Z", "+00:00"))
    return Event(project_id=env["project_id"], seq=int(env["seq"]), type=env["type"], data=env["data"], ts=ts)


class RedisEventPublisher:
    """The ledger's commit hook: publish committed events. Failures are logged, never raised (the commit
    already happened; streams fill gaps from the ledger)."""

    def __init__(self, client: redis.Redis, namespace: str = "framecast") -> None:
        self.client = client
        self.namespace = namespace
        self._last_warning = 0.0

    def project_key(self, project_id: str) -> str:
        return f"{self.namespace}:events:{project_id}"

    @property
    def firehose_key(self) -> str:
        return f"{self.namespace}:events"

    def __call__(self, events: list[Event]) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            for event in events:
                payload = json.dumps(event.envelope(), separators=(",", ":"))
                pipe.xadd(
                    self.project_key(event.project_id),
                    {"e": payload},
                    id=f"{event.seq}-0",
                    maxlen=PROJECT_STREAM_MAXLEN,
                    approximate=True,
                )
                pipe.xadd(self.firehose_key, {"e": payload}, maxlen=FIREHOSE_MAXLEN, approximate=True)
            pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self._last_warning > 10:
                self._last_warning = now
                log.warning("could not publish events to Redis (%s); streams fall back to the ledger", exc)


class RedisEventLog:
    """Replay from the project's Redis stream, or from the ledger when the stream cannot answer exactly."""

    def __init__(self, client: redis.Redis, ledger: EventLog, namespace: str = "framecast") -> None:
        self.client = client
        self.ledger = ledger
        self.namespace = namespace

    def events_after(self, project_id: str, after: int, limit: int = 1000) -> list[Event]:
        try:
            entries: Any = self.client.xrange(
                f"{self.namespace}:events:{project_id}", min=f"{after + 1}-0", count=limit
            )
        except redis.RedisError:
            return self.ledger.events_after(project_id, after, limit)
        events = [_event_from(fields[b"e"]) for _id, fields in entries]
        contiguous = bool(events) and all(e.seq == after + 1 + i for i, e in enumerate(events))
        if not contiguous:
            # Empty (nothing new, or never published), trimmed, or with a hole from a lost publish.
            return self.ledger.events_after(project_id, after, limit)
        return events


class RedisEventHub(ThreadedHub):
    """One reader per API process tails the firehose and fans out to local subscribers."""

    thread_name = "framecast-redis-hub"

    def __init__(self, url: str, namespace: str = "framecast", *, block_ms: int = 1000) -> None:
        super().__init__()
        self.url = url
        self.namespace = namespace
        self.block_ms = block_ms
        self.join_timeout_s = block_ms / 1000 + 2

    def _read(self) -> None:
        key = f"{self.namespace}:events"
        client = redis.Redis.from_url(self.url, socket_timeout=self.block_ms / 1000 + 5)
        last_id = "$"
        had_error = False
        while not self._stop.is_set():
            try:
                reply: Any = client.xread({key: last_id}, block=self.block_ms, count=1000)
            except redis.RedisError as exc:
                log.warning("Redis event tail failed (%s); retrying", exc)
                last_id = "$"
                had_error = True
                self._stop.wait(0.5)
                continue
            if had_error:
                # Back after an outage: whatever was published meanwhile is lost to us; streams re-read.
                had_error = False
                self.mark_all_dirty_threadsafe()
            for _key, entries in reply or []:
                events = []
                for entry_id, fields in entries:
                    last_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                    try:
                        event = _event_from(fields[b"e"])
                    except (KeyError, ValueError):
                        continue
                    if self.wants(event.project_id):
                        events.append(event)
                self.publish_threadsafe(events)
        client.close()
