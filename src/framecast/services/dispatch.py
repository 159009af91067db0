"""Sending ready tasks to the broker, through the outbox.

The transaction that makes a task ready also writes an outbox row; after the commit the task is sent and
the row deleted. If the process dies in between, or the broker is down, the row stays and the reconciler
sends it later: a committed task is never left unsent.
"""

from __future__ import annotations

import logging

from framecast.domain.errors import Unavailable
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
        except Unavailable as exc:  # the outbox row keeps the task; the reconciler sends it later
            log.warning(
                "could not send %s %s attempt %s (%s); the reconciler will",
                task.kind,
                task.id,
                task.attempt,
                exc.message,
            )
            continue
        except Exception:  # noqa: BLE001 - a bug in sending must not fail the committed request either
            log.exception(
                "sending %s %s attempt %s failed; the reconciler will retry", task.kind, task.id, task.attempt
            )
            continue
        sent.append((task.id, task.attempt, message_id))
    try:
        ledger.mark_sent(sent)
    except Exception:  # noqa: BLE001
        # One by one, so one failing row (or a busy moment) does not leave every row for the reconciler to
        # send again; a row still left means one duplicate message later, which is harmless.
        log.warning("could not clear %d outbox rows at once; trying one by one", len(sent), exc_info=True)
        for entry in sent:
            try:
                ledger.mark_sent([entry])
            except Exception:  # noqa: BLE001
                log.warning("sent %s but could not clear its outbox row", entry[0], exc_info=True)
    return len(sent)
