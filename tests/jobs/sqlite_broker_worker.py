"""A worker process for the SQLite broker tests (run as a script, never collected by pytest).

    python sqlite_broker_worker.py work  DB LOG   # a dramatiq Worker running the ``slow_task`` actor
    python sqlite_broker_worker.py claim DB LOG   # claim one message of "default", never ack it, idle

``slow_task`` appends ``start <pid>`` to LOG, then, if it is the first start ever recorded there, sleeps long
enough to be killed; a later (redelivered) run sleeps briefly and appends ``done <pid>``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import dramatiq

from framecast.jobs.sqlite_broker import SQLiteBroker

HEARTBEAT_TIMEOUT_S = 1.0


def _append(log: Path, line: str) -> None:
    with log.open("a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def work(db: Path, log: Path) -> None:
    broker = SQLiteBroker(db, heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S, poll_interval_s=0.02)

    def slow_task(log_path: str) -> None:
        path = Path(log_path)
        earlier = path.read_text().count("start ") if path.exists() else 0
        _append(path, f"start {os.getpid()}")
        # The first run outlives the test's patience on purpose: it is meant to be SIGKILLed mid-task.
        time.sleep(60 if earlier == 0 else 0.2)
        _append(path, f"done {os.getpid()}")

    dramatiq.actor(broker=broker, actor_name="slow_task", max_retries=0, time_limit=120_000)(slow_task)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    _append(log, f"ready {os.getpid()}")
    stop.wait()
    worker.stop()
    broker.close()


def claim(db: Path, log: Path) -> None:
    broker = SQLiteBroker(db, heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S, poll_interval_s=0.02)
    broker.declare_queue("default")
    consumer = broker.consume("default", prefetch=1, timeout=100)
    while True:
        message = next(consumer)
        if message is not None:
            _append(log, f"claimed {message.message_id}")
            break
    time.sleep(600)  # hold it, heartbeating, until the test kills us


if __name__ == "__main__":
    mode, db_arg, log_arg = sys.argv[1:4]
    {"work": work, "claim": claim}[mode](Path(db_arg), Path(log_arg))
