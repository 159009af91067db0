"""The parts of Dramatiq's private Redis consumer that ``framecast.jobs.redis_broker`` relies on.

``_PromptRedisConsumer`` subclasses ``dramatiq.brokers.redis._RedisConsumer`` (the module docstring says why
no public hook serves). These tests pin exactly what it uses, without Redis (the client points at a closed
port, so any network call would fail), so that a Dramatiq upgrade that changes them fails here, by name.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers import redis as dramatiq_redis
from dramatiq.message import Message

from framecast.client.local import free_port
from framecast.jobs.redis_broker import PromptRedisBroker, _PromptRedisConsumer


@pytest.fixture
def broker() -> Iterator[PromptRedisBroker]:
    client = redis.Redis(port=free_port(), socket_connect_timeout=0.2)  # nothing listens: no I/O allowed
    b = PromptRedisBroker(client=client, namespace="shape")
    yield b
    client.close()


def _message(queue_name: str = "q") -> Message[Any]:
    return Message(
        queue_name=queue_name,
        actor_name="a",
        args=(1,),
        kwargs={},
        options={"redis_message_id": "rid-1"},
    )


def test_the_private_consumer_class_exists_with_its_constructor() -> None:
    parent = getattr(dramatiq_redis, "_RedisConsumer", None)
    assert parent is not None, "dramatiq.brokers.redis._RedisConsumer is gone: rework redis_broker.py"
    assert issubclass(parent, dramatiq.Consumer)
    assert list(inspect.signature(parent.__init__).parameters) == [
        "self",
        "broker",
        "queue_name",
        "prefetch",
        "timeout",
    ]
    for name in ("ack", "nack", "__next__"):
        assert name in vars(parent), (
            f"_RedisConsumer.{name} is no longer its own: super() calls change meaning"
        )
    assert isinstance(vars(parent).get("outstanding_message_count"), property)


def test_consumer_class_is_the_hook_consume_goes_through(broker: PromptRedisBroker) -> None:
    assert isinstance(inspect.getattr_static(dramatiq_redis.RedisBroker, "consumer_class"), property)
    consumer = broker.consume("q", prefetch=3, timeout=1234)
    assert type(consumer) is _PromptRedisConsumer
    assert (consumer.broker, consumer.queue_name, consumer.prefetch, consumer.timeout) == (
        broker,
        "q",
        3,
        1234,
    )


def test_the_consumer_state_the_subclass_reads(broker: PromptRedisBroker) -> None:
    consumer = broker.consume("q", prefetch=2, timeout=10)
    assert isinstance(consumer, _PromptRedisConsumer)
    assert consumer.message_cache == [] and isinstance(consumer.message_cache, list)
    assert consumer.outstanding_message_count == 0
    consumer.message_cache = [_message().encode()]
    assert consumer.outstanding_message_count == 1, "cached messages count as outstanding"


def test_the_parent_hands_out_a_cached_message_without_io_and_counts_it_in_flight(
    broker: PromptRedisBroker,
) -> None:
    consumer = broker.consume("q", prefetch=1, timeout=10)
    assert isinstance(consumer, _PromptRedisConsumer)
    sent = _message()
    consumer.message_cache = [sent.encode()]
    got = next(consumer)  # the subclass defers to the parent when the cache holds messages
    assert got is not None and got.message_id == sent.message_id
    assert consumer.message_cache == []
    assert consumer.outstanding_message_count == 1, "a handed-out message stays outstanding until acked"


def test_ack_and_nack_go_through_the_brokers_commands(broker: PromptRedisBroker) -> None:
    calls: list[tuple[str, tuple[object, ...]]] = []
    broker.do_ack = lambda *args: calls.append(("ack", args))  # type: ignore[method-assign]
    broker.do_nack = lambda *args: calls.append(("nack", args))  # type: ignore[method-assign]
    consumer = broker.consume("q", prefetch=2, timeout=10)
    assert isinstance(consumer, _PromptRedisConsumer)
    consumer.message_cache = [_message().encode(), _message().encode()]
    first, second = next(consumer), next(consumer)
    assert first is not None and second is not None
    consumer.ack(first)
    consumer.nack(second)
    assert calls == [("ack", ("q", "rid-1")), ("nack", ("q", "rid-1"))]
    assert consumer.outstanding_message_count == 0
    assert consumer._freed.is_set(), "ack/nack wake a consumer waiting for a free slot"


def test_fetch_is_a_broker_command_taking_the_queue_and_a_count(broker: PromptRedisBroker) -> None:
    assert callable(broker.do_fetch), "RedisBroker no longer dispatches do_* commands"
    dispatch = dramatiq_redis._scripts["dispatch"]
    for command in (b"fetch", b"ack", b"nack"):
        assert b'command == "' + command + b'"' in dispatch, f"the Lua dispatch script lost {command!r}"
    asked: list[tuple[object, ...]] = []
    broker.do_fetch = lambda *args: asked.append(args) or []  # type: ignore[method-assign]
    broker.client.brpop = lambda *args, **kwargs: None  # type: ignore[method-assign]
    consumer = broker.consume("q", prefetch=4, timeout=10)
    assert next(consumer) is None
    assert asked == [("q", 4)]


def test_broker_attributes_the_subclass_uses(broker: PromptRedisBroker) -> None:
    assert isinstance(broker.client, redis.Redis)
    assert broker.namespace == "shape"


def test_enqueue_files_each_send_under_a_redis_message_id(broker: PromptRedisBroker) -> None:
    filed: list[tuple[object, ...]] = []
    broker.do_enqueue = lambda *args: filed.append(args)  # type: ignore[method-assign]
    broker.declare_queue("q")
    # Dramatiq's own enqueue (ours adds the wake token, which needs Redis).
    sent = dramatiq_redis.RedisBroker.enqueue(broker, _message())
    rid = sent.options["redis_message_id"]
    assert broker.filed_id(sent) == rid
    assert filed == [("q", rid, sent.encode())]


def test_message_exists_reads_the_lua_scripts_message_hashes(broker: PromptRedisBroker) -> None:
    dispatch = dramatiq_redis._scripts["dispatch"]
    assert b'local queue_full_name = namespace .. ":" .. queue_name' in dispatch
    assert b'local queue_messages = queue_full_name .. ".msgs"' in dispatch
    broker.declare_queue("q")
    assert broker.queues == {"q"} and broker.delay_queues == {"q.DQ"}
