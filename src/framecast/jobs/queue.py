"""The JobQueue port over Dramatiq: one actor per registered task kind, one message per (task, attempt)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import dramatiq
import redis
from dramatiq.errors import BrokerError

from framecast.domain.errors import Unavailable
from framecast.domain.models import Task
from framecast.jobs.registry import TaskRegistry

log = logging.getLogger(__name__)

#: What the brokers raise when they cannot be reached (the SQLite broker wraps sqlite3 errors in
#: ConnectionClosed, a BrokerError; Dramatiq's Redis broker lets redis-py's errors through).
BROKER_DOWN = (BrokerError, redis.RedisError, OSError)


@runtime_checkable
class InspectableBroker(Protocol):
    """What Framecast's brokers (the embedded SQLite one, the Redis one) add to Dramatiq's interface: they
    answer whether they still hold a message, how many they dead-lettered, and whether they are reachable. Each owns its storage's
    names; nothing outside the broker knows them."""

    def filed_id(self, message: dramatiq.Message[Any]) -> str:
        """The id the broker filed a sent message under (what ``message_exists`` looks up)."""
        ...

    def message_exists(self, message_id: str) -> bool: ...
    def dead_letter_count(self) -> int: ...
    def ping(self) -> None: ...


def declare_actors(
    broker: dramatiq.Broker, run: Callable[[str, int], None], tasks: TaskRegistry, *, time_limit_s: float
) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare one actor per task kind on ``broker``; each calls ``run(task_id, attempt)``.

    Failures are recorded on the task in the ledger (a person decides to retry), so Dramatiq's own retries
    are off; a crashed worker's message still comes back through the broker's redelivery.
    """
    actors: dict[str, dramatiq.Actor[Any, Any]] = {}
    for kind, spec in tasks.items():

        def _fn(task_id: str, attempt: int) -> None:
            run(task_id, attempt)

        _fn.__name__ = f"framecast_{kind}"
        actors[kind] = dramatiq.actor(
            actor_name=spec.actor_name,
            queue_name=spec.queue,
            broker=broker,
            max_retries=0,
            time_limit=int(time_limit_s * 1000),
        )(_fn)
    return actors


class DramatiqQueue:
    """Sends tasks as Dramatiq messages. Sending twice is harmless (stale attempts do nothing).

    It needs the registry, not the actors: a message names its actor, and the worker that declared the
    actors runs it. So the queue exists before the runner whose ``run`` the actors call.
    """

    def __init__(self, broker: InspectableBroker | dramatiq.Broker, tasks: TaskRegistry) -> None:
        if not isinstance(broker, InspectableBroker):
            raise TypeError(f"{type(broker).__name__} cannot tell whether it holds a message")
        self.broker: Any = broker
        self.tasks = tasks

    def enqueue(self, task: Task) -> str:
        spec = self.tasks.get(task.kind)
        if spec is None:
            raise Unavailable(f"No worker handles tasks of kind {task.kind!r}.", code="unknown_task_kind")
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=spec.queue,
            actor_name=spec.actor_name,
            args=(task.id, task.attempt),
            kwargs={},
            options={},
        )
        try:
            broker_id = str(self.broker.filed_id(self.broker.enqueue(message)))
        except BROKER_DOWN as exc:
            raise Unavailable(
                f"The job broker did not take the task: {exc.__class__.__name__}", code="broker_down"
            ) from exc
        log.debug("sent %s %s attempt %s as %s", task.kind, task.id, task.attempt, broker_id)
        return broker_id

    def message_exists(self, message_id: str) -> bool:
        """True while the broker still holds the message (waiting, delayed or in a worker's hands)."""
        try:
            return bool(self.broker.message_exists(message_id))
        except BROKER_DOWN as exc:
            raise Unavailable(
                f"The job broker could not be asked about a task: {exc.__class__.__name__}",
                code="broker_down",
            ) from exc

    def dead_letters(self) -> int:
        try:
            return int(self.broker.dead_letter_count())
        except BROKER_DOWN as exc:
            raise Unavailable(
                f"The job broker could not count its dead letters: {exc.__class__.__name__}",
                code="broker_down",
            ) from exc

    def ping(self) -> None:
        try:
            self.broker.ping()
        except BROKER_DOWN as exc:
            raise Unavailable(
                f"The job broker is not reachable: {exc.__class__.__name__}", code="broker_down"
            ) from exc
