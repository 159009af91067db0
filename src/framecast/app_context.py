"""The composition root: build the ledger, media store, broker, actors, queue, hub and services from
Settings, once, into a typed ``Runtime``.

Every entry point (``framecast serve``, ``framecast worker``, tests, benchmarks) calls ``build_runtime`` and
hands the result down; nothing below imports this module, and nothing below it reads the environment.
Whether this is an embedded or a scale-out deployment is decided once, by ``Settings.redis_url``.
"""

from __future__ import annotations

import logging
import os

import dramatiq
import redis

from framecast.engines.registry import build_registry
from framecast.events.local import LocalEventHub
from framecast.events.redis_streams import RedisEventHub, RedisEventLog, RedisEventPublisher
from framecast.jobs.handlers import TASKS
from framecast.jobs.queue import DramatiqQueue, declare_actors
from framecast.jobs.runner import TaskRunner
from framecast.ledger.engine import make_engine
from framecast.ledger.migrate import upgrade
from framecast.ledger.repository import SqlLedger
from framecast.ledger.stats import SqlStats
from framecast.media.local import LocalMediaStore
from framecast.render.encoding.probe import DecodingProbe
from framecast.runtime import Runtime
from framecast.services.identity import DeliveryTokens, KeyService, Sessions
from framecast.services.ports import EventLog, MediaStore, RunningEventHub
from framecast.services.projects import PollingPolicy, ProjectService
from framecast.services.quotas import Quotas
from framecast.services.snapshots import SnapshotView
from framecast.services.uploads import UploadService
from framecast.services.webhooks import WebhookService
from framecast.settings import Settings
from framecast.webhooks.http import HttpWebhookSender

log = logging.getLogger(__name__)


def make_broker(settings: Settings) -> dramatiq.Broker:
    if settings.redis_url:
        from framecast.jobs.redis_broker import PromptRedisBroker

        # Redis: acks after the work, heartbeat-based redelivery of a dead worker's messages.
        # Dead workers' messages are requeued during "maintenance", which Dramatiq runs on a random
        # fraction of fetches; raise that fraction so recovery does not wait for luck (our reconciler
        # also re-queues tasks whose heartbeat stopped).
        broker: dramatiq.Broker = PromptRedisBroker(  # type: ignore[no-untyped-call]
            url=settings.redis_url,
            heartbeat_timeout=int(settings.heartbeat_timeout_s * 1000),
            maintenance_chance=100_000,
            namespace=f"{settings.namespace}-dramatiq",
        )
        return broker
    from framecast.jobs.sqlite_broker import SQLiteBroker

    path = str(settings.data_dir.absolute() / "framecast.db")
    if settings.database_url and settings.database_url.startswith("sqlite:///"):
        path = settings.database_url.removeprefix("sqlite:///")
    # Poll every 10 ms: an idle check is one PRAGMA (microseconds), and each step of a project waits for it.
    return SQLiteBroker(path, heartbeat_timeout_s=settings.heartbeat_timeout_s, poll_interval_s=0.01)


def make_media_store(settings: Settings) -> MediaStore:
    """A local (or shared) directory, or an S3-compatible bucket for ``FRAMECAST_MEDIA_URL=s3://…``."""
    if not settings.media_in_s3:
        return LocalMediaStore(settings.media_dir)
    from framecast.media.s3 import S3Location, S3MediaStore

    env = os.environ.get
    location = S3Location.parse(
        settings.media_url or "",
        endpoint=settings.s3_endpoint_url or env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL"),
        region=settings.s3_region or env("AWS_REGION") or env("AWS_DEFAULT_REGION"),
        access_key=settings.s3_access_key,  # else the store's credential chain (env, file, IAM)
        secret_key=settings.s3_secret_key,
    )
    return S3MediaStore(location, settings.media_dir)


def _events(settings: Settings, ledger: SqlLedger) -> tuple[EventLog, RunningEventHub]:
    """Where streams replay from and what wakes them: Redis Streams in scale-out (every committing
    process publishes), the SQLite watcher embedded (and this process's own commits at once)."""
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        ledger.set_commit_hook(RedisEventPublisher(client, namespace=settings.namespace))
        hub = RedisEventHub(settings.redis_url, namespace=settings.namespace)
        return RedisEventLog(client, ledger, namespace=settings.namespace), hub
    local = LocalEventHub(ledger, interval_s=settings.hub_interval_s)
    # Events this process commits reach its streams at once, without waiting for the watcher; this also
    # covers DELETE, whose final `cancelled` event is gone from the table by the time a watcher looks.
    # (In a worker process the hub is never started and the hook does nothing.)
    ledger.set_commit_hook(local.publish_threadsafe)
    return ledger, local


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    """Build everything a process needs; ``migrate`` brings the schema up to date first."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url_resolved)
    if migrate:
        upgrade(engine)
    ledger = SqlLedger(engine)
    event_log, hub = _events(settings, ledger)
    media = make_media_store(settings)
    broker = make_broker(settings)
    dramatiq.set_broker(broker)
    queue = DramatiqQueue(broker, TASKS)
    engines = build_registry(settings)
    runner = TaskRunner(ledger, media, queue, settings, TASKS, engines=engines)
    declare_actors(broker, runner.run, TASKS, time_limit_s=settings.task_time_limit_s)
    polling = PollingPolicy(running_ms=settings.poll_interval_ms, queued_ms=settings.queued_poll_interval_ms)
    quotas = Quotas(
        active=settings.quota_active,
        seconds_per_day=settings.quota_seconds_per_day,
        storage_mb=settings.quota_storage_mb,
        queue_limit=settings.queue_limit,
    )
    sender = HttpWebhookSender(allow_private=settings.webhook_allow_private)
    webhooks = WebhookService(
        ledger,
        sender,
        ledger,
        SnapshotView(polling, TASKS.progress_weights, settings.retention_days),
        service_secret=settings.webhook_secret,
        service_secret_previous=settings.webhook_secret_previous,
        retry_scale=settings.webhook_retry_scale,
    )
    # Every process that changes a project (serve and workers alike) writes its webhook deliveries in the
    # transaction of the change; only serve's sender loop sends them.
    ledger.set_before_commit(webhooks.record)
    service = ProjectService(
        ledger,
        queue,
        media,
        polling=polling,
        progress_weights=TASKS.progress_weights,
        quotas=quotas,
        retention_days=settings.retention_days,
        webhooks=webhooks,
        engines=engines,
    )
    keys = KeyService(ledger)
    return Runtime(
        keys=keys,
        sessions=Sessions(ledger, keys),
        tokens=DeliveryTokens(ledger),
        webhooks=webhooks,
        settings=settings,
        ledger=ledger,
        media=media,
        queue=queue,
        service=service,
        uploads=UploadService(ledger, media, DecodingProbe()),  # Pillow and PyAV decode the uploads
        event_log=event_log,
        hub=hub,
        broker=broker,
        stats=SqlStats(engine, kinds=tuple(TASKS)),
        engines=engines,
        closers=(broker.close, sender.close, engine.dispose),
    )
