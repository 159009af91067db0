"""The reconciler re-queues a sent task only when the broker no longer holds its message.

A task that simply waits its turn behind a long queue (30 chunks of one render, 50 projects at once) is
not lost: re-queuing it would send a second message and push it to the back. Checked on both brokers,
the embedded SQLite one and Dramatiq's Redis broker, against the ledger on SQLite and on Postgres.
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
from framecast.jobs.queue import QUEUE_NAME, DramatiqQueue, declare_actors
from framecast.jobs.redis_broker import PromptRedisBroker
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


def _queued_and_sent(ledger: SqlLedger, queue: DramatiqQueue) -> Task:
    pid = new_id("prj")
    task = Task(id=new_id("tsk"), project_id=pid, kind="render_chunk")
    with ledger.transaction() as tx:
        ready = pipeline.create_project(tx, Project(id=pid, owner="local", prompt="p", options={}), [task])
    assert send_tasks(ledger, queue, ready) == 1
    return task


def test_a_waiting_task_is_not_requeued_and_a_lost_one_is(ledger: SqlLedger, broker: dramatiq.Broker) -> None:
    actors = declare_actors(broker, lambda task_id, attempt: None, time_limit_s=60)
    queue = DramatiqQueue(broker, actors)
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
    actors = declare_actors(broker, lambda task_id, attempt: None, time_limit_s=60)
    queue = DramatiqQueue(broker, actors)
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
