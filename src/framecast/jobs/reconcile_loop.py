"""Runs the reconciler every few seconds in ``framecast serve``. The ledger's leadership (on Postgres an
advisory lock) keeps it to one replica at a time: the others skip their turn."""

from __future__ import annotations

import logging
import threading
import time

from framecast.domain.errors import Unavailable
from framecast.runtime import Runtime
from framecast.services.reconciler import MediaSweeper, Reconciler, requeue_worker

log = logging.getLogger(__name__)

#: How often retention looks for ended projects to remove (one indexed query when there are none).
RETENTION_EVERY_S = 60.0


class ReconcilerThread:
    def __init__(self, runtime: Runtime, *, interval_s: float) -> None:
        settings = runtime.settings
        self.ledger = runtime.ledger
        self.queue = runtime.queue
        self.interval_s = interval_s
        self.reconciler = Reconciler(
            runtime.ledger,
            runtime.queue,
            outbox_grace_s=settings.outbox_grace_s,
            heartbeat_timeout_s=max(settings.heartbeat_timeout_s * 2, settings.heartbeat_timeout_s + 5),
            lost_after_s=settings.lost_message_after_s,
        )
        self.sweeper = MediaSweeper(runtime.ledger, runtime.media)
        self.sweep_interval_s = settings.media_sweep_interval_s
        self._last_sweep = time.monotonic()
        self.service = runtime.service
        self.retention_days = settings.retention_days
        self._last_expiry = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def worker_exited(self, worker: str) -> None:
        """The pool saw ``worker`` (``host:pid``) exit: re-queue its running tasks now. Any replica may do
        it (the re-queue checks the task under its lock); what fails here the heartbeat timeout still
        catches."""
        try:
            requeued = requeue_worker(self.ledger, self.queue, worker)
        except Unavailable as exc:
            log.warning(
                "could not re-queue the tasks of %s: %s (the heartbeat timeout will)", worker, exc.message
            )
            return
        except Exception:  # noqa: BLE001 - the pool's thread must go on; the heartbeat timeout is the fallback
            log.exception("re-queueing the tasks of %s failed", worker)
            return
        if requeued:
            log.warning("worker %s exited; re-queued %d running task(s)", worker, requeued)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                with self.ledger.leadership("reconciler") as leader:
                    if leader:
                        self.reconciler.run_once()
                        self._expire()
                        if time.monotonic() - self._last_sweep >= self.sweep_interval_s:
                            self._last_sweep = time.monotonic()
                            self.sweeper.run_once()
            except Unavailable as exc:
                log.warning("reconcile round skipped: %s (%s)", exc.message, exc.code)
            except Exception:  # noqa: BLE001 - last resort: nothing may end the loop, but a bug is shown in full
                log.exception("reconcile round failed")

    def _expire(self) -> None:
        """FRAMECAST_RETENTION_DAYS: remove ended projects past it, at most once every RETENTION_EVERY_S."""
        if self.retention_days is None or time.monotonic() - self._last_expiry < RETENTION_EVERY_S:
            return
        self._last_expiry = time.monotonic()
        while self.service.expire(self.retention_days) > 0:
            if self._stop.is_set():
                return
