"""Wiring at the edge: build the ledger, media store, broker, actors, queue and services from Settings.

Every entry point (``framecast serve``, ``framecast worker``, the web app factory, tests) builds one
``Runtime``; nothing below it reads the environment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import redis

from framecast.events.local import LocalEventHub
from framecast.events.redis_streams import RedisEventHub, RedisEventLog, RedisEventPublisher
from framecast.ledger.engine import make_engine
from framecast.ledger.migrate import upgrade
from framecast.ledger.repository import SqlLedger
from framecast.media.local import LocalMediaStore
from framecast.services.ports import EventLog, MediaStore
from framecast.services.projects import PollingPolicy, ProjectService
from framecast.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    ledger: SqlLedger
    media: MediaStore
    broker: dramatiq.Broker
    actors: dict[str, dramatiq.Actor[Any, Any]]
    service: ProjectService
    event_log: EventLog
    extras: dict[str, Any] = field(default_factory=dict)

    def make_hub(self) -> LocalEventHub | RedisEventHub:
        """The event hub for an API process: Redis Streams in scale-out, the SQLite watcher embedded."""
        if self.settings.broker_url and self.settings.broker_url.startswith(("redis://", "rediss://")):
            return RedisEventHub(self.settings.broker_url, namespace=self.settings.namespace)
        return LocalEventHub(self.ledger, interval_s=self.settings.hub_interval_s)

    def close(self) -> None:
        try:
            self.broker.close()
        finally:
            self.ledger.engine.dispose()


def make_broker(settings: Settings) -> dramatiq.Broker:
    if settings.broker_url:
        from framecast.jobs.redis_broker import PromptRedisBroker

        # Redis: acks after the work, heartbeat-based redelivery of a dead worker's messages.
        # Dead workers' messages are requeued during "maintenance", which Dramatiq runs on a random
        # fraction of fetches; raise that fraction so recovery does not wait for luck (our reconciler
        # also re-queues tasks whose heartbeat stopped).
        broker: dramatiq.Broker = PromptRedisBroker(  # type: ignore[no-untyped-call]
            url=settings.broker_url,
            heartbeat_timeout=int(settings.heartbeat_timeout_s * 1000),
            maintenance_chance=100_000,
            namespace=f"{settings.namespace}-dramatiq",
        )
        return broker
    from framecast.jobs.sqlite_broker import SQLiteBroker

    path = settings.data_dir.absolute() / "framecast.db"
    if settings.database_url and settings.database_url.startswith("sqlite:///"):
        path = settings.database_url.removeprefix("sqlite:///")  # type: ignore[assignment]
    # Poll every 10 ms: an idle check is one PRAGMA (microseconds), and each step of a project waits for it.
    return SQLiteBroker(path, heartbeat_timeout_s=settings.heartbeat_timeout_s, poll_interval_s=0.01)


def make_media_store(settings: Settings) -> MediaStore:
    """A local (or shared) directory, or an S3-compatible bucket for ``FRAMECAST_MEDIA_URL=s3://…``."""
    if not settings.media_in_s3:
        return LocalMediaStore(settings.media_dir)
    import os

    from framecast.media.s3 import S3Location, S3MediaStore

    env = os.environ.get
    location = S3Location.parse(
        settings.media_url or "",
        endpoint=settings.s3_endpoint_url or env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL"),
        region=settings.s3_region or env("AWS_REGION") or env("AWS_DEFAULT_REGION"),
        access_key=settings.s3_access_key or env("AWS_ACCESS_KEY_ID"),
        secret_key=settings.s3_secret_key or env("AWS_SECRET_ACCESS_KEY"),
        session_token=env("AWS_SESSION_TOKEN"),
    )
    return S3MediaStore(location, settings.media_dir)


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Build everything a process needs; ``migrate`` brings the schema up to date first."""
    from framecast.jobs.handlers import HANDLERS
    from framecast.jobs.queue import DramatiqQueue, declare_actors
    from framecast.jobs.runner import TaskRunner

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url_resolved)
    if migrate:
        upgrade(engine)
    ledger = SqlLedger(engine)
    event_log: EventLog = ledger
    if settings.broker_url and settings.broker_url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(settings.broker_url, socket_timeout=5, socket_connect_timeout=5)
        ledger.set_commit_hook(RedisEventPublisher(client, namespace=settings.namespace))
        event_log = RedisEventLog(client, ledger, namespace=settings.namespace)
    media = make_media_store(settings)
    broker = make_broker(settings)
    dramatiq.set_broker(broker)
    runner_box: list[TaskRunner] = []

    def run(task_id: str, attempt: int) -> None:
        runner_box[0].run(task_id, attempt)

    actors = declare_actors(broker, run, time_limit_s=settings.task_time_limit_s)
    queue = DramatiqQueue(broker, actors)
    runner_box.append(TaskRunner(ledger, media, queue, settings, HANDLERS))
    service = ProjectService(
        ledger,
        queue,
        media,
        polling=PollingPolicy(
            running_ms=settings.poll_interval_ms, queued_ms=settings.queued_poll_interval_ms
        ),
    )
    return Runtime(
        settings=settings,
        ledger=ledger,
        media=media,
        broker=broker,
        actors=actors,
        service=service,
        event_log=event_log,
    )
