"""The Redis consumer fetches the next message as soon as a busy worker acks, not after its idle backoff,
and an idle one waits for an enqueue instead of polling."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import redis
from tests.conftest import REDIS_URL, require_service

from framecast.jobs import redis_broker
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


def _counting_fetches(broker: PromptRedisBroker) -> list[float]:
    calls: list[float] = []
    fetch = broker.do_fetch

    def counted(*args: object) -> object:
        calls.append(time.monotonic())
        return fetch(*args)

    broker.do_fetch = counted  # type: ignore[method-assign]
    return calls


def test_an_idle_consumer_waits_for_work_instead_of_polling(broker: PromptRedisBroker) -> None:
    """With Dramatiq's 50 ms worker timeout, its own consumer would fetch ~40 times in 2 s."""
    fetches = _counting_fetches(broker)
    consumer = broker.consume("idle", prefetch=1, timeout=50)
    began = time.monotonic()
    while time.monotonic() - began < 2.0:
        assert next(consumer) is None
    consumer.close()
    assert 1 <= len(fetches) <= 2.0 / redis_broker.IDLE_WAIT_S + 2


def test_an_enqueue_wakes_an_idle_consumer(
    broker: PromptRedisBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_broker, "IDLE_WAIT_S", 30.0)

    @dramatiq.actor(broker=broker, queue_name="w", actor_name="woken")
    def woken(i: int) -> None:  # pragma: no cover - never run, only sent
        pass

    consumer = broker.consume("w", prefetch=1, timeout=50)
    got: list[dramatiq.MessageProxy] = []

    def consume() -> None:
        while not got:
            message = next(consumer)
            if message is not None:
                got.append(message)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    time.sleep(0.5)  # the consumer found nothing and blocks on its wake list (for up to 30 s)
    woken.send(7)
    thread.join(timeout=10)
    assert got and list(got[0].args) == [7], "the enqueue's token woke the consumer long before its 30 s wait"
    consumer.ack(got[0])
    consumer.close()


def test_the_wake_list_stays_small_without_consumers(broker: PromptRedisBroker) -> None:
    @dramatiq.actor(broker=broker, queue_name="nobody", actor_name="unheard")
    def unheard(i: int) -> None:  # pragma: no cover - never run, only sent
        pass

    for i in range(100):
        unheard.send(i)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.llen(redis_broker.wake_key(broker, "nobody")) <= 64
    finally:
        client.close()
