"""A worker process: consumes the broker with Dramatiq threads until SIGTERM/SIGINT, then drains."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import dramatiq

from framecast.jobs.allocator import keep_freed_memory
from framecast.jobs.context import request_hand_back
from framecast.runtime import Runtime

log = logging.getLogger(__name__)


def run_worker(
    runtime: Runtime,
    *,
    threads: int = 1,
    stop_timeout_s: float | None = None,
    parent_pid: int | None = None,
) -> None:
    """Run one worker process in the foreground. On SIGTERM it stops taking work and lets running tasks
    finish (up to ``stop_timeout_s``, default ``settings.drain_timeout_s``), then hand their work back to
    the queue with a fresh attempt; whatever is still unacknowledged is redelivered by the broker."""
    if stop_timeout_s is None:
        stop_timeout_s = runtime.settings.drain_timeout_s
    keep_freed_memory()  # chunk after chunk reuses the same buffers instead of faulting them in again
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("worker got signal %s, draining", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    # worker_timeout: how often Dramatiq's threads look up from a wait (stop, a freed prefetch slot). Idle
    # Redis consumers do not poll at this rate: they block until an enqueue wakes them (jobs/redis_broker.py).
    worker = dramatiq.Worker(runtime.broker, worker_threads=threads, worker_timeout=50)
    # Prefetch one message per thread: a worker holding a second chunk it cannot start yet would keep it
    # from an idle worker, and would hand it back only when it dies.
    worker.queue_prefetch = threads
    # Dramatiq's own CLI announces the process boot, and its TimeLimit middleware starts the watchdog that
    # stops an overlong task only then: without this, FRAMECAST_TASK_TIME_LIMIT_S would never fire.
    runtime.broker.emit_after("process_boot")
    worker.start()
    log.info("worker started with %d thread(s)", threads)
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid, stop), daemon=True).start()
    try:
        stop.wait()
    finally:
        # Drain: stop taking work; running tasks get stop_timeout_s to finish, then hand themselves back.
        drain = threading.Timer(stop_timeout_s, request_hand_back)
        drain.daemon = True
        drain.start()
        worker.stop(timeout=int((stop_timeout_s + 10) * 1000))
        drain.cancel()
        runtime.close()
        log.info("worker stopped")


def lower_priority(nice: int) -> None:
    """Run this process ``nice`` steps below its current priority (a pool child of ``framecast serve``:
    rendering takes every core it is given, and the API next to it must still deliver the results)."""
    if nice > 0:
        os.nice(nice)
        log.info("worker runs at nice +%d", nice)


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    """A pool child stops when its ``framecast serve`` dies (even by SIGKILL), instead of living on orphaned."""
    while not stop.wait(1.0):
        if os.getppid() != parent_pid:
            log.warning("parent %d is gone; stopping", parent_pid)
            stop.set()
