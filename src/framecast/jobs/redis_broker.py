"""Dramatiq's Redis broker, with consumers that wait for work instead of polling for it.

Dramatiq's Redis consumer polls: an idle one runs its fetch script every ``worker_timeout`` (50 ms here, so
that new work starts promptly), and a busy one counts every loop in which it may not fetch as an idle miss
and backs off. Two costs follow. A worker that just finished a 0.4 s chunk waited 50-100 ms before asking for
the next one (about 15 % of a long render's wall time), and every worker process, idle or busy, kept
0.05 cores busy (Python and Redis) polling its queue and its delay queue, CPU taken from the renders on a
small machine. Here:

* a busy consumer sleeps on an event that ``ack``/``nack`` set, and fetches the moment a slot frees;
* an idle consumer that found nothing blocks on its queue's wake list (``BRPOP``, up to
  :data:`IDLE_WAIT_S`), onto which :meth:`PromptRedisBroker.enqueue` pushes a token with every message:
  new work is picked up at once, and an idle worker asks Redis once a second. Messages that arrive by
  another way (a dead worker's, re-queued by Dramatiq's maintenance) are found by that once-a-second fetch.

Why this subclasses Dramatiq's private ``_RedisConsumer`` (checked against dramatiq 2.2.1): the public hook,
``RedisBroker.consumer_class`` (added so the consumer can be swapped), decides which class ``consume()``
builds, but whatever it returns must speak the broker's Redis protocol, and that is only reachable privately:
the fetch/ack/nack/requeue Lua commands behind the broker's undeclared ``do_*`` attributes, the
``redis_message_id`` option, and the cache/in-flight bookkeeping ``_RedisConsumer`` keeps. Middleware cannot
help: its hooks run around enqueue, ack and processing, not inside the consumer's fetch-and-sleep loop, which
is where the waiting happens. A consumer written from scratch on the public ``dramatiq.Consumer`` would
depend on the same private commands and copy ack/nack/requeue besides, so the subclass overrides only
``__next__``, ``ack`` and ``nack`` and leans on exactly: the constructor ``(broker, queue_name, prefetch,
timeout)``, the attributes ``broker``, ``queue_name``, ``prefetch``, ``timeout``, ``message_cache`` and
``outstanding_message_count``, ``broker.do_fetch(queue_name, count)``, and the parent's ``__next__`` handing
out a cached message without I/O. The broker's own additions lean on Dramatiq's Redis layout the same
way: ``filed_id`` on the ``redis_message_id`` option that ``RedisBroker.enqueue`` adds, ``message_exists`` on
the ``$namespace:$queue.msgs`` hashes of the Lua script and the ``queues``/``delay_queues`` sets,
``dead_letter_count`` on the script's ``$namespace:$queue.XQ`` sorted sets.
``tests/jobs/test_redis_broker_shape.py`` checks each of these without Redis, so a Dramatiq upgrade that
changes them fails there, by name, before a worker misbehaves.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import xq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

#: How long an idle consumer blocks on its wake list before fetching anyway.
IDLE_WAIT_S = 1.0
#: Wake tokens kept at most per queue (nobody may be consuming: API replicas enqueue without workers).
_WAKE_CAP = 64


def wake_key(broker: RedisBroker, queue_name: str) -> str:
    return f"{broker.namespace}:{queue_name}.wake"


class _PromptRedisConsumer(_RedisConsumer):
    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._freed = threading.Event()
        self._wake_key = wake_key(broker, queue_name)

    def ack(self, message: MessageProxy) -> None:
        try:
            super().ack(message)  # type: ignore[no-untyped-call]
        finally:
            self._freed.set()

    def nack(self, message: MessageProxy) -> None:
        try:
            super().nack(message)  # type: ignore[no-untyped-call]
        finally:
            self._freed.set()

    def __next__(self) -> MessageProxy | None:
        self._freed.clear()
        if not self.message_cache:
            if self.outstanding_message_count >= self.prefetch:
                # Busy: nothing may be fetched until a message is done; wake as soon as one is.
                self._freed.wait(self.timeout / 1000)
                return None
            try:
                self.message_cache = self.broker.do_fetch(
                    self.queue_name, self.prefetch - self.outstanding_message_count
                )
                if not self.message_cache:
                    # Idle: wait for an enqueue's token (or the timeout), then the caller asks again.
                    self.broker.client.brpop([self._wake_key], timeout=IDLE_WAIT_S)
                    return None
            except redis.ConnectionError as exc:
                raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]
        # Messages are in the cache: Dramatiq's own code hands out the next one.
        message: MessageProxy | None = super().__next__()  # type: ignore[no-untyped-call]
        return message


class PromptRedisBroker(RedisBroker):
    """A RedisBroker whose consumers wait for work instead of polling (see the module docstring)."""

    @property
    def consumer_class(self) -> Any:
        return _PromptRedisConsumer

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        sent: Message[Any] = super().enqueue(message, delay=delay)
        key = wake_key(self, sent.queue_name)
        with self.client.pipeline(transaction=False) as pipe:
            pipe.lpush(key, 1)
            pipe.ltrim(key, 0, _WAKE_CAP - 1)
            pipe.execute()
        return sent

    def filed_id(self, message: Message[Any]) -> str:
        """Dramatiq's Redis broker files every send under an id of its own (a message may be sent again, so
        the Message's id is not unique there)."""
        return str(message.options["redis_message_id"])

    def message_exists(self, message_id: str) -> bool:
        """True while Redis holds the message: waiting, delayed, or in a worker's hands (its ``.msgs``
        hashes keep it until the ack)."""
        keys = [f"{self.namespace}:{name}.msgs" for name in sorted(self.queues | self.delay_queues)]
        return any(self.client.hexists(key, message_id) for key in keys)

    def dead_letter_count(self) -> int:
        """How many messages of every declared queue are dead-lettered now: the members of Dramatiq's
        ``$namespace:$queue.XQ`` sorted sets (a delayed queue's dead letters go to its canonical queue's)."""
        with self.client.pipeline(transaction=False) as pipe:
            for name in sorted(self.queues):
                pipe.zcard(f"{self.namespace}:{xq_name(name)}")
            return sum(int(n) for n in pipe.execute())

    def ping(self) -> None:
        self.client.ping()
