"""Both brokers count their dead letters (``framecast_dead_letters``): a nacked message is one, in every
declared queue, and the count is the broker's, so every process that asks gets the same number."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from dramatiq.message import Message
from tests.conftest import REDIS_URL, require_service

from framecast.jobs.queue import DramatiqQueue
from framecast.jobs.redis_broker import PromptRedisBroker
from framecast.jobs.registry import TaskRegistry
from framecast.jobs.sqlite_broker import SQLiteBroker


def _nack_one_per_queue(broker: Any, queues: tuple[str, ...]) -> None:
    for name in queues:
        broker.declare_queue(name)
        broker.enqueue(Message(queue_name=name, actor_name="a", args=(), kwargs={}, options={}))
        broker.enqueue(Message(queue_name=name, actor_name="a", args=(), kwargs={}, options={}))
        consumer = broker.consume(name, prefetch=1, timeout=200)
        got = None
        for _ in range(50):
            got = next(consumer)
            if got is not None:
                break
        assert got is not None
        consumer.nack(got)
        consumer.close()


def test_the_sqlite_broker_counts_dead_letters_of_every_queue(tmp_path: Path) -> None:
    broker = SQLiteBroker(tmp_path / "framecast.db", heartbeat_timeout_s=3.0, poll_interval_s=0.02)
    try:
        queue = DramatiqQueue(broker, TaskRegistry([]))
        assert queue.dead_letters() == 0
        _nack_one_per_queue(broker, ("render", "default"))
        assert broker.dead_letter_count() == 2
        # another process on the same file sees the same count
        other = SQLiteBroker(tmp_path / "framecast.db", heartbeat_timeout_s=3.0)
        try:
            assert other.dead_letter_count() == 2
        finally:
            other.close()
        assert queue.dead_letters() == 2
    finally:
        broker.close()


@pytest.fixture
def redis_broker() -> Iterator[PromptRedisBroker]:
    require_service("Redis", "127.0.0.1", 6379)
    namespace = f"fctest-{uuid.uuid4().hex[:8]}"
    b = PromptRedisBroker(url=REDIS_URL, namespace=namespace)
    yield b
    b.close()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    client.close()


@pytest.mark.services
def test_the_redis_broker_counts_dead_letters_of_every_queue(redis_broker: PromptRedisBroker) -> None:
    queue = DramatiqQueue(redis_broker, TaskRegistry([]))
    assert queue.dead_letters() == 0
    _nack_one_per_queue(redis_broker, ("render", "default"))
    assert redis_broker.dead_letter_count() == 2
    assert queue.dead_letters() == 2


def test_the_redis_dead_letter_layout_is_what_the_count_reads() -> None:
    from dramatiq.brokers import redis as dramatiq_redis
    from dramatiq.common import xq_name

    dispatch = dramatiq_redis._scripts["dispatch"]
    assert b'local xqueue_full_name = namespace .. ":" .. queue_canonical_name .. ".XQ"' in dispatch
    assert b'redis.call("zadd", xqueue_full_name, timestamp, message_id)' in dispatch
    assert xq_name("render") == "render.XQ" and xq_name("render.DQ") == "render.XQ"
