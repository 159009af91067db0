"""An in-memory job queue: records what was sent, can be told to fail, and forgets messages on demand."""

from __future__ import annotations

from dataclasses import dataclass

from framecast.domain.errors import Unavailable
from framecast.domain.models import Task


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    task_id: str
    attempt: int
    kind: str


class FakeJobQueue:
    """Like ``DramatiqQueue`` over a broker that holds every message until a worker takes it.

    ``sent`` lists ``(task_id, attempt)`` in send order. ``fail_next = n`` makes the next ``n`` sends raise
    ``Unavailable`` (``broker_down``); ``down = True`` makes every send, ``message_exists`` and ``ping``
    raise it. ``take()`` hands the oldest held message to a "worker" (it stays held until ``ack``, as a
    broker keeps an unacked message), ``forget()`` loses messages as a Redis restart without persistence
    does.

    >>> queue = FakeJobQueue()
    >>> message_id = queue.enqueue(Task(id="tsk_1", project_id="prj_1", kind="plan"))
    >>> queue.sent, queue.message_exists(message_id)
    ([('tsk_1', 1)], True)
    """

    def __init__(self, *, kinds: frozenset[str] | None = None) -> None:
        self.kinds = kinds
        self.messages: list[SentMessage] = []
        self.held: dict[str, SentMessage] = {}
        self.fail_next = 0
        self.down = False
        #: What ``dead_letters()`` answers (set it to model a broker holding dead letters).
        self.dead = 0
        self._next_id = 1

    @property
    def sent(self) -> list[tuple[str, int]]:
        return [(m.task_id, m.attempt) for m in self.messages]

    def sent_ids(self) -> list[str]:
        return [m.task_id for m in self.messages]

    def _check_up(self) -> None:
        if self.down:
            raise Unavailable("The job broker is not reachable: FakeJobQueue.down", code="broker_down")

    def enqueue(self, task: Task) -> str:
        self._check_up()
        if self.fail_next > 0:
            self.fail_next -= 1
            raise Unavailable("The job broker is not reachable: FakeJobQueue.fail_next", code="broker_down")
        if self.kinds is not None and task.kind not in self.kinds:
            raise Unavailable(f"No worker handles tasks of kind {task.kind!r}.", code="unknown_task_kind")
        message = SentMessage(f"msg_{self._next_id}", task.id, task.attempt, task.kind)
        self._next_id += 1
        self.messages.append(message)
        self.held[message.message_id] = message
        return message.message_id

    def message_exists(self, message_id: str) -> bool:
        self._check_up()
        return message_id in self.held

    def dead_letters(self) -> int:
        self._check_up()
        return self.dead

    def ping(self) -> None:
        self._check_up()

    # -- for tests --------------------------------------------------------------------------------------

    def take(self) -> SentMessage | None:
        """The oldest message still held (it stays held until ``ack``), or None."""
        return next(iter(self.held.values()), None)

    def ack(self, message_id: str) -> None:
        self.held.pop(message_id, None)

    def forget(self, message_id: str | None = None) -> None:
        """Lose one held message, or all of them."""
        if message_id is None:
            self.held.clear()
        else:
            self.held.pop(message_id, None)

    def clear(self) -> None:
        """Forget what was sent so far (``sent`` starts again from empty)."""
        self.messages.clear()
        self.held.clear()
