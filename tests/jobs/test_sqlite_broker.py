"""The embedded SQLite Dramatiq broker against real SQLite files, real dramatiq Workers, real processes."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from dramatiq.common import current_millis, dq_name
from dramatiq.errors import QueueJoinTimeout
from dramatiq.message import Message

from framecast.domain.errors import Unavailable
from framecast.jobs.sqlite_broker import SQLiteBroker

WORKER_SCRIPT = Path(__file__).with_name("sqlite_broker_worker.py")


def wait_for(condition: Callable[[], bool], timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "framecast.db"


@pytest.fixture
def broker(db: Path) -> Iterator[SQLiteBroker]:
    b = SQLiteBroker(db, heartbeat_timeout_s=3.0, poll_interval_s=0.02)
    yield b
    b.close()


@pytest.fixture
def run_worker(broker: SQLiteBroker) -> Iterator[Callable[[], dramatiq.Worker]]:
    workers: list[dramatiq.Worker] = []

    def start() -> dramatiq.Worker:
        worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def make_message(actor_name: str, *args: Any, queue_name: str = "default") -> Message[Any]:
    return Message(queue_name=queue_name, actor_name=actor_name, args=args, kwargs={}, options={})


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- through a real dramatiq Worker --------------------------------------------------------------------------


def test_round_trip_through_worker_acks_and_deletes(
    broker: SQLiteBroker, db: Path, run_worker: Callable[[], dramatiq.Worker]
) -> None:
    seen: list[int] = []

    def record(n: int) -> None:
        seen.append(n)

    actor = dramatiq.actor(broker=broker, actor_name="record")(record)
    for n in range(5):
        actor.send(n)
    assert broker.pending_count("default") == 5

    run_worker()
    broker.join("default", timeout=10_000)

    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert broker.pending_count("default") == 0
    assert rows(db, "dramatiq_messages") == 0
    assert rows(db, "dramatiq_dead_letters") == 0


def test_delayed_message_waits_on_delay_queue_then_runs(
    broker: SQLiteBroker, run_worker: Callable[[], dramatiq.Worker]
) -> None:
    ran_at: list[int] = []

    def later() -> None:
        ran_at.append(current_millis())

    actor = dramatiq.actor(broker=broker, actor_name="later")(later)
    sent = actor.send_with_options(delay=300)

    assert sent.queue_name == dq_name("default")
    assert broker.pending_count(dq_name("default")) == 1
    assert broker.pending_count("default") == 0

    run_worker()
    broker.join("default", timeout=10_000)

    assert len(ran_at) == 1
    assert ran_at[0] >= sent.options["eta"]


def test_failing_actor_without_retries_ends_in_dead_letters(
    broker: SQLiteBroker, db: Path, run_worker: Callable[[], dramatiq.Worker]
) -> None:
    def explode() -> None:
        raise RuntimeError("boom")

    actor = dramatiq.actor(broker=broker, actor_name="explode", max_retries=0)(explode)
    sent = actor.send()

    run_worker()
    broker.join("default", timeout=10_000)

    dead = broker.dead_letters("default")
    assert [m.message_id for m in dead] == [sent.message_id]
    assert rows(db, "dramatiq_messages") == 0


def test_join_times_out_while_messages_wait(broker: SQLiteBroker) -> None:
    broker.declare_queue("default")
    broker.enqueue(make_message("nobody"))

    with pytest.raises(QueueJoinTimeout):
        broker.join("default", timeout=100)


def test_join_returns_at_once_on_empty_queue(broker: SQLiteBroker) -> None:
    broker.declare_queue("default")
    broker.join("default", timeout=1_000)


# -- consumer semantics -------------------------------------------------------------------------------------


def test_consumer_is_fifo_and_respects_prefetch(broker: SQLiteBroker) -> None:
    broker.declare_queue("default")
    sent = [broker.enqueue(make_message("a", n)) for n in range(5)]
    consumer = broker.consume("default", prefetch=2, timeout=50)

    first, second = next(consumer), next(consumer)
    assert first is not None and second is not None
    # Both prefetch slots are taken: nothing more is claimed until one is acked.
    assert next(consumer) is None
    assert broker.pending_count("default") == 3

    consumer.ack(first)
    third = next(consumer)
    assert third is not None
    assert [m.message_id for m in (first, second, third)] == [m.message_id for m in sent[:3]]
    consumer.close()


def test_nack_moves_to_dead_letters_and_requeue_gives_back(broker: SQLiteBroker) -> None:
    broker.declare_queue("default")
    a = broker.enqueue(make_message("a"))
    b = broker.enqueue(make_message("b"))
    consumer = broker.consume("default", prefetch=2, timeout=50)
    got_a, got_b = next(consumer), next(consumer)
    assert got_a is not None and got_b is not None

    consumer.nack(got_a)
    consumer.requeue([got_b])

    assert [m.message_id for m in broker.dead_letters("default")] == [a.message_id]
    assert broker.pending_count("default") == 1
    assert broker.queue_position(b.message_id) == 0
    again = next(consumer)
    assert again is not None and again.message_id == b.message_id
    consumer.ack(again)
    consumer.close()


def test_undecodable_message_is_dead_lettered_not_stuck(broker: SQLiteBroker, db: Path) -> None:
    broker.declare_queue("default")
    broker.store.enqueue("default", "garbled", b"not json")
    good = broker.enqueue(make_message("a"))
    consumer = broker.consume("default", prefetch=2, timeout=50)

    message = next(consumer)

    assert message is not None and message.message_id == good.message_id
    with sqlite3.connect(db) as conn:
        dead = conn.execute("SELECT message_id, queue_name FROM dramatiq_dead_letters").fetchall()
    assert dead == [("garbled", "default.XQ")]
    consumer.ack(message)
    consumer.close()


def test_closing_a_consumer_gives_back_prefetched_messages(broker: SQLiteBroker) -> None:
    broker.declare_queue("default")
    for n in range(3):
        broker.enqueue(make_message("a", n))
    consumer = broker.consume("default", prefetch=3, timeout=50)
    handed_out = next(consumer)  # claims all three, hands out one
    assert handed_out is not None
    assert broker.pending_count("default") == 0

    consumer.close()

    assert broker.pending_count("default") == 2


def test_queue_position_counts_waiting_messages_ahead(broker: SQLiteBroker) -> None:
    broker.declare_queue("default")
    sent = [broker.enqueue(make_message("a", n)) for n in range(3)]
    assert [broker.queue_position(m.message_id) for m in sent] == [0, 1, 2]
    assert broker.queue_position("no-such-message") is None


def test_flush_drops_queue_delay_queue_and_dead_letters(broker: SQLiteBroker, db: Path) -> None:
    broker.declare_queue("default")
    broker.declare_queue("other")
    broker.enqueue(make_message("a"))
    broker.enqueue(make_message("a"), delay=60_000)
    broker.enqueue(make_message("a", queue_name="other"))

    broker.flush("default")
    assert rows(db, "dramatiq_messages") == 1
    broker.flush_all()
    assert rows(db, "dramatiq_messages") == 0
    assert broker.get_declared_queues() == {"default", "other"}
    assert broker.get_declared_delay_queues() == {"default.DQ", "other.DQ"}


def test_ping_and_unusable_file(broker: SQLiteBroker, tmp_path: Path) -> None:
    broker.ping()

    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(Unavailable):
        SQLiteBroker(not_a_db)

    db_path = tmp_path / "broken.db"
    broken = SQLiteBroker(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP TABLE dramatiq_workers")
    with pytest.raises(Unavailable):
        broken.ping()
    broken.close()


def test_shares_the_file_with_other_tables_in_wal_mode(broker: SQLiteBroker, db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE projects (id TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO projects VALUES ('prj_1')")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    broker.declare_queue("default")
    broker.enqueue(make_message("a"))
    assert mode == "wal"
    assert rows(db, "projects") == 1
    assert broker.pending_count("default") == 1


def test_two_consumers_never_get_the_same_message(db: Path) -> None:
    total = 200
    producer = SQLiteBroker(db)
    producer.declare_queue("default")
    sent = {producer.enqueue(make_message("a", n)).message_id for n in range(total)}

    # Two brokers (two worker ids, own connections) and two consumer threads each.
    brokers = [SQLiteBroker(db, poll_interval_s=0.01) for _ in range(2)]
    received: list[str] = []
    lock = threading.Lock()

    def consume(b: SQLiteBroker) -> None:
        consumer = b.consume("default", prefetch=4, timeout=20)
        while True:
            with lock:
                if len(received) >= total:
                    break
            message = next(consumer)
            if message is None:
                continue
            with lock:
                received.append(message.message_id)
            consumer.ack(message)
        consumer.close()

    threads = [threading.Thread(target=consume, args=(b,)) for b in brokers for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)

    duplicates = [mid for mid, n in Counter(received).items() if n > 1]
    assert duplicates == []
    assert set(received) == sent
    assert producer.pending_count("default") == 0
    for b in [producer, *brokers]:
        b.close()


def test_heartbeat_row_is_recorded_and_refreshed(db: Path) -> None:
    b = SQLiteBroker(db, heartbeat_timeout_s=0.3)
    b.declare_queue("default")
    consumer = b.consume("default", timeout=10)
    (worker_id, first_beat), *_ = b.store.workers()
    assert worker_id == b.worker_id

    # Nobody polls the consumer: the daemon thread alone must keep the heartbeat fresh.
    wait_for(lambda: b.store.workers()[0][1] > first_beat, what="a heartbeat from the daemon thread")
    consumer.close()
    b.close()
    assert b.store.workers() == []
    b.store.close()


def test_task_longer_than_heartbeat_timeout_is_not_redelivered(db: Path) -> None:
    busy = SQLiteBroker(db, heartbeat_timeout_s=0.3, poll_interval_s=0.01)
    idle = SQLiteBroker(db, heartbeat_timeout_s=0.3, poll_interval_s=0.01)
    runs: list[str] = []
    finished = threading.Event()

    def long_task() -> None:
        runs.append("start")
        finished.wait(timeout=1.2)  # four heartbeat timeouts

    dramatiq.actor(broker=busy, actor_name="long_task", max_retries=0)(long_task).send()
    worker = dramatiq.Worker(busy, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        wait_for(lambda: runs == ["start"], what="the task to start")
        # Another live worker polls the queue the whole time: the held message must never reach it.
        idle.declare_queue("default")
        other = idle.consume("default", timeout=1300)
        assert next(other) is None
        other.close()
        busy.join("default", timeout=10_000)
    finally:
        finished.set()
        worker.stop()
    assert runs == ["start"]
    busy.close()
    idle.close()


def test_message_of_vanished_worker_is_redelivered_at_consumer_start(db: Path) -> None:
    b = SQLiteBroker(db, heartbeat_timeout_s=60.0)
    b.declare_queue("default")
    sent = b.enqueue(make_message("a"))
    # A holder with no worker row (or a stale heartbeat) is dead, whatever the timeout.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE dramatiq_messages SET worker_id = 'ghost', claimed_ms = 0")
    assert b.pending_count("default") == 0

    consumer = b.consume("default", timeout=100)
    message = next(consumer)

    assert message is not None and message.message_id == sent.message_id
    consumer.ack(message)
    consumer.close()
    b.close()


# -- real processes ------------------------------------------------------------------------------------------


def start_script(mode: str, db: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WORKER_SCRIPT), mode, str(db), str(log)])


def log_lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.slow
def test_killed_worker_process_message_is_redelivered_and_completed_once(db: Path, tmp_path: Path) -> None:
    log = tmp_path / "task.log"
    producer = SQLiteBroker(db, heartbeat_timeout_s=1.0)
    producer.declare_queue("default")
    producer.enqueue(make_message("slow_task", str(log)))

    first = start_script("work", db, tmp_path / "first.log")
    try:
        wait_for(lambda: any(line.startswith("start") for line in log_lines(log)), what="first start")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    assert producer.pending_count("default") == 0  # still held by the dead worker

    second = start_script("work", db, tmp_path / "second.log")
    try:
        wait_for(lambda: any(line.startswith("done") for line in log_lines(log)), what="redelivered run")
        producer.join("default", timeout=10_000)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=15)

    lines = log_lines(log)
    starts = [line for line in lines if line.startswith("start")]
    dones = [line for line in lines if line.startswith("done")]
    assert starts == [f"start {first.pid}", f"start {second.pid}"]
    assert dones == [f"done {second.pid}"]
    assert second.returncode == 0
    assert producer.dead_letters("default") == []
    producer.close()


@pytest.mark.slow
def test_message_held_by_dead_process_is_redelivered_at_consumer_start(db: Path, tmp_path: Path) -> None:
    log = tmp_path / "claim.log"
    b = SQLiteBroker(db, heartbeat_timeout_s=1.0)
    b.declare_queue("default")
    sent = b.enqueue(make_message("a"))

    holder = start_script("claim", db, log)
    try:
        wait_for(lambda: f"claimed {sent.message_id}" in log_lines(log), what="the claim")
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        holder.kill()
    assert b.pending_count("default") == 0
    # No consumer of ours runs yet, so nothing has reaped the dead holder: wait until its heartbeat is stale.
    wait_for(
        lambda: all(current_millis() - beat > 1_000 for _, beat in b.store.workers()),
        what="the holder's heartbeat to go stale",
    )
    assert b.pending_count("default") == 0

    consumer = b.consume("default", timeout=100)
    message = next(consumer)

    assert message is not None and message.message_id == sent.message_id
    consumer.ack(message)
    consumer.close()
    b.close()
