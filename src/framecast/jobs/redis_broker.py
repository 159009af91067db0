"""Dramatiq's Redis broker, with a consumer that fetches the next message the moment a worker is free.

Dramatiq's Redis consumer counts every loop in which it may not fetch (all prefetch slots busy) as an idle
miss and backs off exponentially, up to the worker timeout. A worker that just finished a 0.4 s chunk
therefore waited 50-100 ms before asking Redis for the next one: about 15 % of a long render's wall time
spent idle (bench/scale.py). Here a busy consumer sleeps on an event that ``ack``/``nack`` set, so the
next fetch happens at once; an idle consumer (nothing in Redis) keeps Dramatiq's backoff.
"""

from __future__ import annotations

import threading
from typing import Any

from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer


class _PromptRedisConsumer(_RedisConsumer):
    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._freed = threading.Event()

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
        if not self.message_cache and self.outstanding_message_count >= self.prefetch:
            # Busy: nothing may be fetched until a message is done; wake as soon as one is.
            self._freed.wait(self.timeout / 1000)
            self.misses = 0
            return None
        message: MessageProxy | None = super().__next__()  # type: ignore[no-untyped-call]
        return message


class PromptRedisBroker(RedisBroker):
    """A RedisBroker whose consumers fetch as soon as a prefetch slot frees (see the module docstring)."""

    @property
    def consumer_class(self) -> Any:
        return _PromptRedisConsumer
