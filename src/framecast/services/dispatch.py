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
    """Send each task, then clear their outbox rows in one transaction; returns how many went out (the
    rest wait for the reconciler).

    Every message goes out before any row is cleared: a worker can start on the first chunk while the rest
    are still being sent, and a plan that makes 30 chunks ready costs one commit here, not 30.
    """
    sent: list[tuple[str, int, str]] = []
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
        sent.append((task.id, task.attempt, message_id))
    try:
        ledger.mark_sent(sent)
    except Exception:  # noqa: BLE001 - sent but not marked: a later duplicate send is harmless
        log.warning("sent %d task(s) but could not clear their outbox rows", len(sent), exc_info=True)
    return len(sent)
