"""The local worker pool of ``framecast serve``: N child processes, restarted when they die, stopped cleanly."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from framecast.jobs.identity import worker_name
from framecast.settings import Settings

log = logging.getLogger(__name__)


def _child_env(settings: Settings, nice: int) -> dict[str, str]:
    env = dict(os.environ)
    env["FRAMECAST_WORKER_NICE"] = str(nice)
    env["FRAMECAST_DATA_DIR"] = str(settings.data_dir.absolute())
    for name in ("database_url", "broker_url", "media_url"):
        value = getattr(settings, name)
        if value:
            env[f"FRAMECAST_{name.upper()}"] = str(value)
    env["FRAMECAST_HEARTBEAT_TIMEOUT_S"] = str(settings.heartbeat_timeout_s)
    env["FRAMECAST_LOG_LEVEL"] = settings.log_level
    env["FRAMECAST_LOG_FORMAT"] = settings.log_format
    env["FRAMECAST_POOL_CHILD"] = "1"
    for name in (
        "fail_tasks",
        "debug_frame_delay_ms",
        "chunk_seconds",
        "progress_interval_s",
        "task_time_limit_s",
        "drain_timeout_s",
    ):
        env[f"FRAMECAST_{name.upper()}"] = str(getattr(settings, name))
    return env


class WorkerPool:
    """Keeps ``size`` worker processes alive. A process that dies (even by SIGKILL) is replaced, and
    ``on_exit`` is told its name (``host:pid``, as it wrote it on the tasks it started) so that its running
    tasks are re-queued at once (``ReconcilerThread.worker_exited``); without it, the broker hands its
    unacknowledged message to a live worker once the dead one's heartbeat has expired.

    ``nice``: the children run this much below the parent's priority (``FRAMECAST_WORKER_NICE`` for the
    embedded pool of ``framecast serve``, whose API must keep delivering while they render).
    """

    def __init__(
        self,
        settings: Settings,
        size: int,
        *,
        nice: int = 0,
        on_exit: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.size = size
        self.nice = nice
        self.on_exit = on_exit
        self.procs: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "framecast", "worker", "--threads", str(self.settings.worker_threads)]
        proc = subprocess.Popen(cmd, env=_child_env(self.settings, self.nice))
        log.info("started worker pid %d", proc.pid)
        return proc

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.size)]
        self._thread = threading.Thread(target=self._supervise, name="worker-pool", daemon=True)
        self._thread.start()

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            for i, proc in enumerate(self.procs):
                if proc.poll() is not None and not self._stop.is_set():
                    log.warning("worker pid %d exited with %s; starting a new one", proc.pid, proc.returncode)
                    self.procs[i] = self._spawn()
                    if self.on_exit is not None:
                        self.on_exit(worker_name(proc.pid))

    def stop(self, timeout_s: float | None = None) -> None:
        """SIGTERM every worker and wait for them to drain: by default as long as a worker itself may take
        (its running tasks get ``drain_timeout_s``, then hand back), plus a margin; then SIGKILL."""
        if timeout_s is None:
            timeout_s = self.settings.drain_timeout_s + 15.0
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait()
