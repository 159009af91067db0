"""Sending ready tasks to the broker, through the outbox.

The transaction that makes a task ready also writes an outbox row; after the commit the task is sent and
the row deleted. If the process dies in between, or the broker is down, the row stays and the reconciler
sends it later: a committed task is never left unsent.
"""

from __future__ import annotations

import logging

from framecast.domain.models import Task
from framecast.services.ports import JobQueue, Ledger

log = logging.getLogger(__name__)


def send_tasks(ledger: Ledger, queue: JobQueue, tasks: list[Task]) -> int:
    """Send each task and clear its outbox row; returns how many went out (the rest wait for the reconciler)."""
    sent = 0
    for task in tasks:
        try:
            message_id = queue.enqueue(task)
        except Exception:  # noqa: BLE001 - the outbox row keeps the task; the reconciler retries
            log.warning(
                "could not send %s %s attempt %s; the reconciler will",
                task.kind,
                task.id,
                task.attempt,
                exc_info=True,
            )
            continue
        try:
            ledger.mark_sent(task.id, task.attempt, message_id)
        except Exception:  # noqa: BLE001 - sent but not marked: a later duplicate send is harmless
            log.warning("sent %s but could not clear its outbox row", task.id, exc_info=True)
        sent += 1
    return sent
