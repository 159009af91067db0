"""The JobQueue port over Dramatiq: one actor per task kind, one message per (task, attempt)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dramatiq

from framecast.domain.errors import Unavailable
from framecast.domain.models import Task, TaskKind

log = logging.getLogger(__name__)

QUEUE_NAME = "framecast"
KINDS = (
    TaskKind.PLAN,
    TaskKind.NARRATION,
    TaskKind.AUDIO,
    TaskKind.RENDER_CHUNK,
    TaskKind.COMPOSE,
    TaskKind.POSTER,
    TaskKind.SPRITESHEET,
)
#: Short interactive steps jump ahead of long renders so the poster shows up early.
PRIORITY = {
    TaskKind.PLAN: 0,
    TaskKind.POSTER: 1,
    TaskKind.NARRATION: 2,
    TaskKind.COMPOSE: 3,
    TaskKind.AUDIO: 4,
}


def declare_actors(
    broker: dramatiq.Broker, run: Callable[[str, int], None], *, time_limit_s: float
) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare one actor per task kind on ``broker``; each calls ``run(task_id, attempt)``.

    Failures are recorded on the task in the ledger (a person decides to retry), so Dramatiq's own retries
    are off; a crashed worker's message still comes back through the broker's redelivery.
    """
    actors: dict[str, dramatiq.Actor[Any, Any]] = {}
    for kind in KINDS:

        def _fn(task_id: str, attempt: int) -> None:
            run(task_id, attempt)

        _fn.__name__ = f"framecast_{kind}"
        actors[kind] = dramatiq.actor(
            actor_name=f"framecast.{kind}",
            queue_name=QUEUE_NAME,
            broker=broker,
            max_retries=0,
            time_limit=int(time_limit_s * 1000),
            priority=PRIORITY.get(kind, 10),
        )(_fn)
    return actors


class DramatiqQueue:
    """Sends tasks as Dramatiq messages. Sending twice is harmless (stale attempts do nothing)."""

    def __init__(self, broker: dramatiq.Broker, actors: dict[str, dramatiq.Actor[Any, Any]]) -> None:
        self.broker = broker
        self.actors = actors

    def enqueue(self, task: Task) -> str:
        actor = self.actors.get(task.kind)
        if actor is None:
            raise Unavailable(f"No worker handles tasks of kind {task.kind!r}.", code="unknown_task_kind")
        message = actor.send(task.id, task.attempt)
        # Dramatiq's Redis broker files every send under an id of its own (a message may be sent again, the
        # Message's id is not unique there): that id is what ``message_exists`` can look up.
        broker_id = str(message.options.get("redis_message_id", message.message_id))
        log.debug("sent %s %s attempt %s as %s", task.kind, task.id, task.attempt, broker_id)
        return broker_id

    def message_exists(self, message_id: str) -> bool:
        """True while the broker still holds the message (waiting, delayed or in a worker's hands)."""
        exists = getattr(self.broker, "message_exists", None)
        if exists is not None:
            return bool(exists(message_id))
        client = getattr(self.broker, "client", None)
        if client is None:
            return True  # unknown broker: assume it is there, never resend blindly
        namespace = getattr(self.broker, "namespace", "dramatiq")
        keys = (f"{namespace}:{QUEUE_NAME}.msgs", f"{namespace}:{QUEUE_NAME}.DQ.msgs")
        return any(client.hexists(key, message_id) for key in keys)

    def ping(self) -> None:
        ping = getattr(self.broker, "ping", None)
        client = getattr(self.broker, "client", None)  # RedisBroker has a redis client and no ping()
        try:
            if ping is not None:
                ping()
            elif client is not None:
                client.ping()
        except Exception as exc:  # noqa: BLE001
            raise Unavailable(
                f"The job broker is not reachable: {exc.__class__.__name__}", code="broker_down"
            ) from exc
