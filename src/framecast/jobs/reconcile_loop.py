"""Runs the reconciler every few seconds in ``framecast serve``. The ledger's leadership (on Postgres an
advisory lock) keeps it to one replica at a time: the others skip their turn."""

from __future__ import annotations

import logging
import threading
import time

from framecast.domain.errors import Unavailable
from framecast.runtime import Runtime
from framecast.services.reconciler import MediaSweeper, Reconciler

log = logging.getLogger(__name__)


class ReconcilerThread:
    def __init__(self, runtime: Runtime, *, interval_s: float) -> None:
        settings = runtime.settings
        self.ledger = runtime.ledger
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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                with self.ledger.leadership("reconciler") as leader:
                    if leader:
                        self.reconciler.run_once()
                        if time.monotonic() - self._last_sweep >= self.sweep_interval_s:
                            self._last_sweep = time.monotonic()
                            self.sweeper.run_once()
            except Unavailable as exc:
                log.warning("reconcile round skipped: %s (%s)", exc.message, exc.code)
            except Exception:  # noqa: BLE001 - last resort: nothing may end the loop, but a bug is shown in full
                log.exception("reconcile round failed")
