"""The Redis consumer fetches the next message as soon as a busy worker acks, not after its idle backoff."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from tests.conftest import REDIS_URL, require_service

from framecast.jobs.redis_broker import PromptRedisBroker

pytestmark = pytest.mark.services


@pytest.fixture
def broker() -> Iterator[PromptRedisBroker]:
    require_service("Redis", "127.0.0.1", 6379)
    namespace = f"fctest-{uuid.uuid4().hex[:8]}"
    b = PromptRedisBroker(url=REDIS_URL, namespace=namespace)
    yield b
    b.close()
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    client.close()


def _next_message(consumer: dramatiq.Consumer, within_s: float = 5.0) -> dramatiq.MessageProxy:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        message = next(consumer)
        if message is not None:
            return message
    raise AssertionError("no message arrived")


def test_a_busy_consumer_wakes_on_ack_and_fetches_at_once(broker: PromptRedisBroker) -> None:
    @dramatiq.actor(broker=broker, queue_name="q", actor_name="noop")
    def noop(i: int) -> None:  # pragma: no cover - never run, only sent
        pass

    noop.send(1)
    noop.send(2)
    # A 10 s idle timeout: Dramatiq's own consumer would sleep up to that long between fetches.
    consumer = broker.consume("q", prefetch=1, timeout=10_000)
    first = _next_message(consumer)

    returned: list[float] = []
    waiter = threading.Thread(target=lambda: (next(consumer), returned.append(time.monotonic())))
    waiter.start()
    time.sleep(0.3)
    assert not returned, "a busy consumer waits instead of fetching past its prefetch"
    acked = time.monotonic()
    consumer.ack(first)
    waiter.join(timeout=5)
    assert returned and returned[0] - acked < 2.0, "the ack woke the waiting consumer"
    second = _next_message(consumer, within_s=2.0)
    assert list(second.args) == [2]
    consumer.ack(second)
    consumer.close()
