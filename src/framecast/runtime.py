"""What a running Framecast process holds: one typed object with named fields.

The composition root (``app_context.build_runtime``) builds it from Settings; entry points (``framecast
serve``, ``framecast worker``, tests) hand it down to the web app, the worker and the reconciler loop,
which read its fields and never build or import the root themselves. Every field but the broker is a
port, so nothing that receives a Runtime depends on which adapters were chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from framecast.engines.registry import EngineRegistry
from framecast.services.identity import DeliveryTokens, KeyService, Sessions
from framecast.services.ports import EventLog, JobQueue, Ledger, MediaStore, RunningEventHub, StatsSource
from framecast.services.projects import ProjectService
from framecast.services.uploads import UploadService
from framecast.services.webhooks import WebhookService
from framecast.settings import Settings

if TYPE_CHECKING:
    import dramatiq


@dataclass(frozen=True)
class Runtime:
    """The wired process.

    >>> runtime = build_runtime(Settings())          # doctest: +SKIP
    >>> app = create_app(runtime)                     # doctest: +SKIP
    """

    settings: Settings
    ledger: Ledger
    media: MediaStore
    queue: JobQueue
    service: ProjectService
    uploads: UploadService
    #: Where streams replay the log (the ledger, or Redis Streams backed by the ledger).
    event_log: EventLog
    #: Live events for this process's streams (started by the web app's lifespan).
    hub: RunningEventHub
    #: API keys, the page's sessions and delivery tokens (identity: who is calling).
    keys: KeyService
    sessions: Sessions
    tokens: DeliveryTokens
    #: Webhook endpoints, the delivery outbox and its sender's rules (the loop is ``jobs.webhook_loop``).
    webhooks: WebhookService
    #: The Dramatiq broker that worker processes consume, with one actor per task kind declared on it.
    broker: dramatiq.Broker
    #: Counts over the ledger for ``GET /metrics`` (the same from every process).
    stats: StatsSource
    #: The engines this service has configured (``GET /api/engines``, the create check, the workers).
    engines: EngineRegistry
    #: Releases what the root opened (broker connections, the database pool), in order.
    closers: tuple[Callable[[], Any], ...] = ()

    def close(self) -> None:
        errors: list[BaseException] = []
        for close in self.closers:
            try:
                close()
            except Exception as exc:  # noqa: BLE001 - close the rest, then raise the first failure
                errors.append(exc)
        if errors:
            raise errors[0]
