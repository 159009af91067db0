"""The reconciler's three duties, each exactly when due, on both brokers (the embedded SQLite one and
Dramatiq's Redis broker) and both ledgers (SQLite, Postgres):

* it sends a task committed but never sent, once;
* it re-queues a running task whose heartbeat stopped, and leaves one whose heartbeat is fresh;
* it re-queues a sent task only when the broker no longer holds its message: a task that simply waits its
  turn behind a long queue (30 chunks of one render, 50 projects at once) is not lost, and re-queuing it
  would send a second message and push it to the back.

Cancel wins: nothing of a cancelled project is re-queued, however silent its tasks are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from tests.conftest import REDIS_URL, require_service

from framecast.domain.models import Project, Task, new_id
from framecast.domain.status import Status
from framecast.jobs.handlers import TASKS
from framecast.jobs.queue import DramatiqQueue, declare_actors
from framecast.jobs.redis_broker import PromptRedisBroker
from framecast.jobs.registry import QUEUE_NAME
from framecast.jobs.sqlite_broker import SQLiteBroker
from framecast.ledger.repository import SqlLedger
from framecast.services import pipeline
from framecast.services.dispatch import send_tasks
from framecast.services.reconciler import Reconciler


def _sqlite_broker(tmp_path: Path) -> tuple[dramatiq.Broker, Callable[[], None]]:
    broker = SQLiteBroker(tmp_path / "broker.db", heartbeat_timeout_s=15.0, poll_interval_s=0.02)
    return broker, broker.close


def _redis_broker(tmp_path: Path) -> tuple[dramatiq.Broker, Callable[[], None]]:
    require_service("Redis", "127.0.0.1", 6379)
    namespace = f"fctest-{uuid.uuid4().hex[:8]}"
    broker = PromptRedisBroker(url=REDIS_URL, namespace=namespace)

    def close() -> None:
        broker.close()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{namespace}*"):
            client.delete(key)
        client.close()

    return broker, close


@pytest.fixture(params=[_sqlite_broker, _redis_broker], ids=["sqlite-broker", "redis-broker"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dramatiq.Broker]:
    b, close = request.param(tmp_path)
    yield b
    close()


def _queue(broker: dramatiq.Broker) -> DramatiqQueue:
    declare_actors(broker, lambda task_id, attempt: None, TASKS, time_limit_s=60)
    return DramatiqQueue(broker, TASKS)


def _committed(ledger: SqlLedger) -> tuple[Task, list[Task]]:
    """A project whose one task is ready (its outbox row written), and the tasks to send."""
    pid = new_id("prj")
    task = Task(id=new_id("tsk"), project_id=pid, kind="render_chunk")
    with ledger.transaction() as tx:
        ready = pipeline.create_project(tx, Project(id=pid, owner="local", prompt="p", options={}), [task])
    return task, ready


def _queued_and_sent(ledger: SqlLedger, queue: DramatiqQueue) -> Task:
    task, ready = _committed(ledger)
    assert send_tasks(ledger, queue, ready) == 1
    return task


def _running(ledger: SqlLedger, queue: DramatiqQueue) -> Task:
    task = _queued_and_sent(ledger, queue)
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, task.id, 1) is not None
    return task


def test_a_committed_task_never_sent_is_sent_once(ledger: SqlLedger, broker: dramatiq.Broker) -> None:
    queue = _queue(broker)
    task, _ = _committed(ledger)  # the sender died between the commit and the send
    reconciler = Reconciler(ledger, queue, outbox_grace_s=0.0)
    assert reconciler.run_once().outbox_sent == 1
    with ledger.read() as tx:
        sent = tx.task(task.id)
    assert sent.attempt == 1 and sent.message_id is not None and queue.message_exists(sent.message_id)
    assert reconciler.run_once().total == 0


def test_a_silent_running_task_is_requeued_and_a_live_one_is_not(
    ledger: SqlLedger, broker: dramatiq.Broker
) -> None:
    queue = _queue(broker)
    task = _running(ledger, queue)
    assert Reconciler(ledger, queue, heartbeat_timeout_s=60.0).run_once().dead_requeued == 0
    with ledger.read() as tx:
        assert tx.task(task.id).status is Status.RUNNING
    # Timeout 0: the heartbeat written when it started is already too old.
    assert Reconciler(ledger, queue, heartbeat_timeout_s=0.0).run_once().dead_requeued == 1
    with ledger.read() as tx:
        again = tx.task(task.id)
    assert again.status is Status.QUEUED and again.attempt == 2
    assert again.message_id is not None and queue.message_exists(again.message_id)


def test_nothing_of_a_cancelled_project_is_requeued(ledger: SqlLedger, broker: dramatiq.Broker) -> None:
    queue = _queue(broker)
    running = _running(ledger, queue)
    waiting = _queued_and_sent(ledger, queue)
    unsent, _ = _committed(ledger)
    for task in (running, waiting, unsent):
        with ledger.transaction() as tx:
            assert pipeline.cancel_project(tx, tx.project(task.project_id, lock=True))
    broker.flush(QUEUE_NAME)  # every message gone too: nothing may bring the tasks back
    reconciler = Reconciler(ledger, queue, outbox_grace_s=0.0, heartbeat_timeout_s=0.0, lost_after_s=0.0)
    assert reconciler.run_once().total == 0
    with ledger.read() as tx:
        for task in (running, waiting, unsent):
            assert tx.project(task.project_id).status is Status.CANCELLED
            assert tx.task(task.id).attempt == 1 and tx.task(task.id).status is Status.CANCELLED


def test_a_waiting_task_is_not_requeued_and_a_lost_one_is(ledger: SqlLedger, broker: dramatiq.Broker) -> None:
    queue = _queue(broker)
    task = _queued_and_sent(ledger, queue)
    with ledger.read() as tx:
        message_id = tx.task(task.id).message_id
    assert message_id is not None and queue.message_exists(message_id)

    # lost_after 0: every sent task counts as waiting too long, so only the broker's answer decides.
    reconciler = Reconciler(ledger, queue, lost_after_s=0.0)
    assert reconciler.run_once().lost_requeued == 0
    with ledger.read() as tx:
        assert tx.task(task.id).attempt == 1 and tx.task(task.id).message_id == message_id

    broker.flush(QUEUE_NAME)  # what a Redis restart without persistence does to the queue
    assert not queue.message_exists(message_id)
    assert reconciler.run_once().lost_requeued == 1
    with ledger.read() as tx:
        again = tx.task(task.id)
    assert again.status is Status.QUEUED and again.attempt == 2
    assert again.message_id is not None and queue.message_exists(again.message_id)


def test_a_retried_task_is_not_judged_lost_by_its_old_message(
    ledger: SqlLedger, broker: dramatiq.Broker
) -> None:
    queue = _queue(broker)
    task = _queued_and_sent(ledger, queue)
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, task.id, 1) is not None
    with ledger.transaction() as tx:
        pipeline.fail_task(tx, task.id, 1, {"code": "boom", "message": "failed"})
    broker.flush(QUEUE_NAME)  # attempt 1's message was consumed and acknowledged long ago
    with ledger.transaction() as tx:
        # Retried, and its new message not sent yet (the API is about to, or the broker is down).
        pipeline.retry_project(tx, tx.project(task.project_id, lock=True))
    assert Reconciler(ledger, queue, lost_after_s=0.0).run_once().lost_requeued == 0
    with ledger.read() as tx:
        retried = tx.task(task.id)
    assert retried.attempt == 2 and retried.message_id is None


def test_a_dead_workers_running_tasks_are_requeued_at_once_and_a_live_workers_are_not(
    ledger: SqlLedger, broker: dramatiq.Broker
) -> None:
    from framecast.services.reconciler import requeue_worker

    queue = _queue(broker)
    dead, alive = _queued_and_sent(ledger, queue), _queued_and_sent(ledger, queue)
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, dead.id, 1, worker="host:1") is not None
        assert pipeline.start_task(tx, alive.id, 1, worker="host:2") is not None
    # Heartbeats are fresh: only the exit can explain a re-queue.
    assert requeue_worker(ledger, queue, "host:1") == 1
    with ledger.read() as tx:
        requeued, untouched = tx.task(dead.id), tx.task(alive.id)
    assert requeued.status is Status.QUEUED and requeued.attempt == 2
    assert requeued.message_id is not None and queue.message_exists(requeued.message_id)
    assert untouched.status is Status.RUNNING and untouched.attempt == 1 and untouched.worker == "host:2"
    assert requeue_worker(ledger, queue, "host:1") == 0  # nothing is left of it


def test_a_task_redelivered_to_another_worker_is_not_requeued_for_the_dead_one(
    ledger: SqlLedger, broker: dramatiq.Broker
) -> None:
    from framecast.services.reconciler import requeue_worker

    queue = _queue(broker)
    task = _queued_and_sent(ledger, queue)
    with ledger.transaction() as tx:
        assert pipeline.start_task(tx, task.id, 1, worker="host:1") is not None
        # The broker redelivered the same attempt to a live worker before the pool reported the exit.
        assert pipeline.start_task(tx, task.id, 1, worker="host:2") is not None
    assert requeue_worker(ledger, queue, "host:1") == 0
    with ledger.read() as tx:
        assert tx.task(task.id).worker == "host:2"
