"""Sends webhook deliveries from the outbox, in ``framecast serve``: a thread of its own beside the
reconciler, leader-elected the same way (the ledger's ``leadership``, an advisory lock on Postgres), so
one replica sends at a time and workers are never needed for delivery.

Its own thread and its own lock, not a step of the reconciler's round: deliveries are looked for every
0.2 s (the reconciler runs every few seconds), a receiver that takes its full 10 s must not hold back
task recovery or the media sweep (nor they a webhook), and on Postgres the two leads may sit on
different replicas. Within the lead, a small pool sends several deliveries at once so one slow receiver
does not delay the others.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from framecast.domain.errors import Unavailable
from framecast.domain.webhooks import Delivery
from framecast.runtime import Runtime
from framecast.services.webhooks import WebhookService

log = logging.getLogger(__name__)

LEADERSHIP = "webhook-sender"


class WebhookSenderThread:
    """``start()`` in serve, ``stop()`` at shutdown (a send in flight finishes or is retried later)."""

    def __init__(self, runtime: Runtime, *, interval_s: float | None = None) -> None:
        settings = runtime.settings
        self.ledger = runtime.ledger
        self.webhooks: WebhookService = runtime.webhooks
        self.interval_s = interval_s if interval_s is not None else settings.webhook_poll_interval_s
        self.concurrency = settings.webhook_concurrency
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="webhook")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="webhook-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                with self.ledger.leadership(LEADERSHIP) as leader:
                    if leader:
                        self.run_once()
            except Unavailable as exc:
                log.warning("webhook round skipped: %s (%s)", exc.message, exc.code)
            except Exception:  # noqa: BLE001 - nothing may end the loop, but a bug is shown in full
                log.exception("webhook round failed")

    def run_once(self) -> int:
        """Send everything due now, a batch at a time; returns how many attempts were made."""
        made = 0
        while not self._stop.is_set():
            batch = self.webhooks.claim_due(limit=self.concurrency * 4)
            if not batch:
                break
            list(self._pool.map(self._attempt, batch))
            made += len(batch)
        return made

    def _attempt(self, delivery: Delivery) -> None:
        try:
            self.webhooks.attempt(delivery)
        except Unavailable as exc:
            # The claim's lease brings it back once the ledger answers again.
            log.warning("webhook %s not recorded: %s (%s)", delivery.id, exc.message, exc.code)
        except Exception:  # noqa: BLE001
            log.exception("webhook %s failed unexpectedly; it is retried after its lease", delivery.id)
