"""An embedded Dramatiq broker kept in one SQLite file (the file the ledger uses in embedded mode).

Modelled on Dramatiq's ``RedisBroker``: messages wait in a table, a consumer claims up to ``prefetch`` of
them for its worker, and a message is deleted only when the work is acked. A nack moves it to the dead letters
(kept ``dead_message_ttl_s``, like Redis' ``.XQ``). Each consuming process registers a worker id with a
heartbeat, refreshed from consumer polling and from a daemon thread (so a long task does not look dead);
messages held by a worker whose heartbeat is older than ``heartbeat_timeout_s`` go back on their queue and are
redelivered.

Example::

    broker = SQLiteBroker(data_dir / "framecast.db")
    dramatiq.set_broker(broker)

The SQL lives in :mod:`framecast.jobs.sqlite_broker_store`.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dramatiq.broker import Broker, Consumer, MessageProxy
from dramatiq.common import current_millis, dq_name, q_name, xq_name
from dramatiq.errors import ConnectionClosed, DecodeError, QueueJoinTimeout
from dramatiq.message import Message
from dramatiq.middleware import Middleware

from framecast.domain.errors import Unavailable
from framecast.jobs.sqlite_broker_store import ClaimedRow, SQLiteQueueStore

logger = logging.getLogger(__name__)

#: How long nacked messages are kept, like RedisBroker's dead_message_ttl.
DEFAULT_DEAD_MESSAGE_TTL_S = 7 * 86400.0

#: Even when PRAGMA data_version says nothing changed, re-run the claim query this often (a safety net).
_FORCED_CHECK_S = 1.0


def _closed(error: sqlite3.Error) -> ConnectionClosed:
    # ConnectionClosed is what makes Dramatiq's consumer thread restart and retry acks instead of giving up.
    return ConnectionClosed(error)  # type: ignore[no-untyped-call]


class SQLiteBroker(Broker):
    """A Dramatiq broker whose queues are tables in one SQLite file.

    Parameters:
      path: the SQLite file (created if missing, switched to WAL).
      heartbeat_timeout_s: a worker silent this long is dead and its claimed messages are redelivered.
      poll_interval_s: how often an idle consumer checks for new messages.
      middleware: as for :class:`dramatiq.Broker`.
      namespace: separates several brokers sharing one file.
      dead_message_ttl_s: how long nacked messages stay in the dead letters.

    Raises:
      Unavailable: when the file cannot be opened or is not a SQLite database.

    Example::

        broker = SQLiteBroker("framecast.db", heartbeat_timeout_s=15.0)
        dramatiq.set_broker(broker)
        broker.ping()  # readiness
    """

    def __init__(
        self,
        path: str | Path,
        *,
        heartbeat_timeout_s: float = 15.0,
        poll_interval_s: float = 0.05,
        middleware: list[Middleware] | None = None,
        namespace: str = "dramatiq",
        dead_message_ttl_s: float = DEFAULT_DEAD_MESSAGE_TTL_S,
    ) -> None:
        super().__init__(middleware=middleware)
        if heartbeat_timeout_s <= 0 or poll_interval_s <= 0:
            raise ValueError("heartbeat_timeout_s and poll_interval_s must be positive")
        self.path = Path(path)
        self.namespace = namespace
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.poll_interval_s = poll_interval_s
        self.dead_message_ttl_s = dead_message_ttl_s
        self.queues: set[str] = set()
        try:
            self.store = SQLiteQueueStore(self.path, namespace)
        except sqlite3.Error as e:
            raise Unavailable(f"job queue database {self.path} is unusable: {e}", code="broker_down") from e
        self._hostname = socket.gethostname()
        self._lock = threading.Lock()
        self._pid = -1
        self._worker_id: str | None = None
        self._registered = False
        self._last_heartbeat = 0.0
        self._stop_heartbeat = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None

    # -- Broker interface -------------------------------------------------------------------------------

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        """Create a consumer for a queue; registers this process as a worker and requeues dead workers'
        messages first. ``timeout`` is the idle time in milliseconds before ``next()`` yields None."""
        try:
            self._start_worker()
        except sqlite3.Error as e:
            raise _closed(e) from None
        return _SQLiteConsumer(self, queue_name, prefetch, timeout)

    def declare_queue(self, queue_name: str) -> None:
        """Declare a queue and its delay queue. Idempotent."""
        if queue_name in self.queues:
            return
        self.emit_before("declare_queue", queue_name)
        self.queues.add(queue_name)
        self.emit_after("declare_queue", queue_name)
        delayed_name = dq_name(queue_name)
        self.delay_queues.add(delayed_name)
        self.emit_after("declare_delay_queue", delayed_name)

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Store a message; with ``delay`` (ms) it goes on the delay queue with an ``eta`` option, and
        Dramatiq's worker moves it to the real queue once the eta passes."""
        queue_name = message.queue_name
        eta_ms = 0
        if delay is not None:
            queue_name = dq_name(queue_name)
            eta_ms = current_millis() + delay
            message = message.copy(queue_name=queue_name, options={"eta": eta_ms})
        logger.debug("Enqueueing message %r on queue %r.", message.message_id, queue_name)
        self.emit_before("enqueue", message, delay)
        try:
            self.store.enqueue(queue_name, message.message_id, message.encode(), eta_ms)
        except sqlite3.Error as e:
            raise _closed(e) from None
        self.emit_after("enqueue", message, delay)
        return message

    def get_declared_queues(self) -> set[str]:
        return set(self.queues)

    def flush(self, queue_name: str) -> None:
        """Drop every message of a queue, its delay queue and its dead letters."""
        self.store.flush([queue_name, dq_name(queue_name)], [xq_name(queue_name)])

    def flush_all(self) -> None:
        """Drop every message of every declared queue."""
        for queue_name in self.get_declared_queues():
            self.flush(queue_name)

    def join(self, queue_name: str, *, interval: int = 100, timeout: int | None = None) -> None:
        """Wait until a queue, its delay queue and their in-flight messages are all done (meant for tests).

        Raises:
          QueueJoinTimeout: when ``timeout`` (ms) elapses first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout / 1000
        names = [q_name(queue_name), dq_name(queue_name)]
        while self.store.count(names) > 0:
            if deadline is not None and time.monotonic() >= deadline:
                raise QueueJoinTimeout(queue_name)  # type: ignore[no-untyped-call]
            time.sleep(interval / 1000)

    def close(self) -> None:
        """Stop heartbeating, give back anything this process still holds, close all connections."""
        thread = self._heartbeat_thread
        self._stop_heartbeat.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._heartbeat_thread = None
        with self._lock:
            if self._registered and self._worker_id is not None and self._pid == os.getpid():
                try:
                    requeued = self.store.remove_worker(self._worker_id)
                    if requeued:
                        logger.info("Gave back %d unfinished message(s) on close.", requeued)
                except sqlite3.Error:
                    logger.warning("Could not unregister worker %s on close.", self._worker_id, exc_info=True)
            self._registered = False
        self.store.close()

    # -- Framecast helpers --------------------------------------------------------------------------------

    def ping(self) -> None:
        """Readiness probe: returns when the file and the broker tables can be read.

        Raises:
          Unavailable: when the SQLite file cannot be used.
        """
        try:
            self.store.ping()
        except sqlite3.Error as e:
            raise Unavailable(f"job queue database {self.path} is unusable: {e}", code="broker_down") from e

    def pending_count(self, queue_name: str) -> int:
        """Messages waiting on ``queue_name`` that no worker has claimed yet (its delay queue not counted)."""
        return self.store.count([queue_name], waiting_only=True)

    def queue_position(self, message_id: str) -> int | None:
        """How many waiting messages are ahead of ``message_id`` on its queue (0: it is next); None when
        it is not waiting (claimed by a worker, done, or unknown)."""
        return self.store.position(message_id)

    def filed_id(self, message: Message[Any]) -> str:
        """Messages are filed under their own id."""
        return str(message.message_id)

    def message_exists(self, message_id: str) -> bool:
        """True while the message is queued, delayed or held by a worker (not acked, not dead)."""
        try:
            return self.store.message_exists(message_id)
        except sqlite3.Error as e:
            raise Unavailable(f"The job queue could not be read: {e}", code="broker_down") from None

    def dead_letter_count(self) -> int:
        """How many messages of every queue are dead-lettered now."""
        try:
            return self.store.dead_letter_count()
        except sqlite3.Error as e:
            raise Unavailable(f"The job queue could not be read: {e}", code="broker_down") from None

    def dead_letters(self, queue_name: str) -> list[Message[Any]]:
        """The dead-lettered messages of a queue, oldest first."""
        messages = []
        for data in self.store.dead_letters(xq_name(queue_name)):
            try:
                messages.append(Message.decode(data))
            except DecodeError:
                logger.warning("Skipping an undecodable dead letter on %r.", queue_name)
        return messages

    @property
    def worker_id(self) -> str:
        """This process's worker id (the one recorded in ``dramatiq_workers`` and on claimed messages)."""
        with self._lock:
            return self._worker_id_locked()

    # -- heartbeat ----------------------------------------------------------------------------------------

    def _worker_id_locked(self) -> str:
        # A forked child gets its own identity: sharing the parent's would keep the parent's messages alive
        # after the parent dies, and the child's close() would give back the parent's work.
        if self._worker_id is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._worker_id = f"{self._hostname}:{self._pid}:{uuid.uuid4().hex[:12]}"
            self._registered = False
            self._heartbeat_thread = None
            self._stop_heartbeat = threading.Event()
        return self._worker_id

    def _start_worker(self) -> None:
        with self._lock:
            worker_id = self._worker_id_locked()
            self._beat(worker_id)
            self._registered = True
            if self._heartbeat_thread is None or not self._heartbeat_thread.is_alive():
                self._stop_heartbeat = threading.Event()
                self._heartbeat_thread = threading.Thread(
                    target=self._heartbeat_loop,
                    args=(worker_id, self._stop_heartbeat),
                    name="sqlite-broker-heartbeat",
                    daemon=True,
                )
                self._heartbeat_thread.start()

    def _beat(self, worker_id: str) -> None:
        """Refresh our heartbeat, then requeue what dead workers held."""
        self._last_heartbeat = time.monotonic()
        self.store.heartbeat(worker_id, self._hostname)
        requeued = self.store.requeue_dead(
            int(self.heartbeat_timeout_s * 1000), int(self.dead_message_ttl_s * 1000)
        )
        if requeued:
            logger.warning("Requeued %d message(s) held by dead workers.", requeued)

    def _maybe_beat(self) -> None:
        """Called from consumer polling: beat when the last beat is a third of the timeout old."""
        if time.monotonic() - self._last_heartbeat < self.heartbeat_timeout_s / 3:
            return
        with self._lock:
            worker_id = self._worker_id_locked()
            self._beat(worker_id)

    def _heartbeat_loop(self, worker_id: str, stop: threading.Event) -> None:
        interval = self.heartbeat_timeout_s / 3
        while not stop.wait(interval):
            try:
                with self._lock:
                    if self._worker_id != worker_id:
                        return
                    self._beat(worker_id)
            except sqlite3.Error:
                # Keep trying: a busy file for one beat is not a reason to let our messages be stolen later.
                logger.warning("Heartbeat failed for worker %s.", worker_id, exc_info=True)


class _SQLiteMessageProxy(MessageProxy):
    def __init__(self, message: Message[Any], row_id: int) -> None:
        super().__init__(message)
        self._sqlite_row_id = row_id


class _SQLiteConsumer(Consumer):
    """Claims at most ``prefetch`` messages at a time; ack/nack arrive from Dramatiq's worker threads."""

    def __init__(self, broker: SQLiteBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        self.broker = broker
        self.store = broker.store
        self.queue_name = queue_name
        self.prefetch = max(1, prefetch)
        self.timeout_s = timeout / 1000
        self.worker_id = broker.worker_id
        self._cache: deque[ClaimedRow] = deque()
        self._outstanding: set[int] = set()
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._last_check = 0.0

    def __next__(self) -> MessageProxy | None:
        deadline = time.monotonic() + self.timeout_s
        try:
            while True:
                if self._cache:
                    row = self._cache.popleft()
                    try:
                        message = Message.decode(row.data)
                    except DecodeError:
                        # Left claimed, an undecodable row would sit with this worker forever.
                        logger.error("Dead-lettering undecodable message row %d.", row.row_id, exc_info=True)
                        self.store.nack(row.row_id, self.worker_id, xq_name(self.queue_name))
                        continue
                    with self._lock:
                        self._outstanding.add(row.row_id)
                    return _SQLiteMessageProxy(message, row.row_id)
                self.broker._maybe_beat()
                self._fetch()
                if self._cache:
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                time.sleep(min(self.broker.poll_interval_s, remaining))
        except sqlite3.Error as e:
            raise _closed(e) from None

    def _fetch(self) -> None:
        with self._lock:
            free = self.prefetch - len(self._outstanding) - len(self._cache)
        if free <= 0:
            return
        token = self.store.change_token()
        now = time.monotonic()
        if token == self._seen and now - self._last_check < _FORCED_CHECK_S:
            return  # nobody committed anything since our last empty claim
        self._last_check = now
        rows = (
            self.store.claim(self.queue_name, self.worker_id, free)
            if self.store.has_waiting(self.queue_name)
            else []
        )
        # Read the token before claiming, so a commit racing the claim still shows up as a change next time.
        self._seen = None if rows else token
        self._cache.extend(rows)

    def ack(self, message: MessageProxy) -> None:
        row_id = message._sqlite_row_id
        try:
            if not self.store.ack(row_id, self.worker_id):
                logger.warning("Acked message %r was no longer held by this worker.", message.message_id)
        except sqlite3.Error as e:
            raise _closed(e) from None
        finally:
            with self._lock:
                self._outstanding.discard(row_id)

    def nack(self, message: MessageProxy) -> None:
        row_id = message._sqlite_row_id
        try:
            self.store.nack(row_id, self.worker_id, xq_name(self.queue_name))
        except sqlite3.Error as e:
            raise _closed(e) from None
        finally:
            with self._lock:
                self._outstanding.discard(row_id)

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        row_ids = [m._sqlite_row_id for m in messages if isinstance(m, _SQLiteMessageProxy)]
        if not row_ids:
            return
        logger.debug("Requeueing %d message(s) on queue %r.", len(row_ids), self.queue_name)
        try:
            self.store.requeue(row_ids, self.worker_id)
        except sqlite3.Error as e:
            raise _closed(e) from None
        with self._lock:
            self._outstanding.difference_update(row_ids)

    def close(self) -> None:
        # Claimed rows never handed to Dramatiq would otherwise wait for this process to die.
        leftover = [row.row_id for row in self._cache]
        self._cache.clear()
        if leftover:
            try:
                self.store.requeue(leftover, self.worker_id)
            except sqlite3.Error:
                logger.warning("Could not give back %d prefetched message(s).", len(leftover), exc_info=True)
