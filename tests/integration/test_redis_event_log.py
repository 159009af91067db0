"""Replay over Redis Streams, on the machine's Redis, against the ledger on SQLite and on Postgres.

Every committed event lands in its project's stream under its seq; replay is answered by the stream
alone while it holds the whole range, and by the ledger when it cannot answer exactly (trimmed, a hole
left by a lost publish, Redis down) — always the same events as the ledger's own log.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from framecast.domain.models import Event, Project, new_id
from framecast.events.redis_streams import RedisEventLog, RedisEventPublisher
from framecast.ledger.repository import SqlLedger
from tests.conftest import REDIS_URL, require_service

pytestmark = pytest.mark.services


class CountingLog:
    """The real ledger's event log, counting how often replay had to fall back to it."""

    def __init__(self, ledger: SqlLedger) -> None:
        self.ledger = ledger
        self.calls = 0

    def events_after(self, project_id: str, after: int, limit: int = 1000) -> list[Event]:
        self.calls += 1
        return self.ledger.events_after(project_id, after, limit)


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    require_service("Redis", "127.0.0.1", 6379)
    c = redis.Redis.from_url(REDIS_URL)
    yield c
    c.close()


@pytest.fixture
def namespace(client: redis.Redis) -> Iterator[str]:
    ns = f"fctest-{uuid.uuid4().hex[:8]}"
    yield ns
    for key in client.scan_iter(f"{ns}*"):
        client.delete(key)


def _published_project(ledger: SqlLedger, client: redis.Redis, namespace: str, count: int) -> str:
    ledger.set_commit_hook(RedisEventPublisher(client, namespace=namespace))
    pid = new_id("prj")
    with ledger.transaction() as tx:
        tx.add_project(Project(id=pid, owner="local", prompt="p", options={}))
    for i in range(count):
        with ledger.transaction() as tx:
            tx.append_event(pid, "task_status", {"i": i})
    return pid


def _sent(events: list[Event]) -> list[dict[str, object]]:
    """What every transport sends of these events (timestamps to the millisecond)."""
    return [e.envelope() for e in events]


def _key(namespace: str, pid: str) -> str:
    return f"{namespace}:events:{pid}"


def test_every_commit_is_in_the_stream_and_replay_needs_no_ledger(
    ledger: SqlLedger, client: redis.Redis, namespace: str
) -> None:
    pid = _published_project(ledger, client, namespace, 12)
    ids = [entry_id for entry_id, _ in client.xrange(_key(namespace, pid))]
    assert ids == [f"{seq}-0".encode() for seq in range(1, 13)]
    counting = CountingLog(ledger)
    log = RedisEventLog(client, counting, namespace=namespace)
    for after in (0, 5, 11):
        assert _sent(log.events_after(pid, after)) == _sent(ledger.events_after(pid, after))
    assert _sent(log.events_after(pid, 3, limit=4)) == _sent(ledger.events_after(pid, 3, 4))
    assert counting.calls == 0, "the stream held every event, so the ledger was not asked"


@pytest.mark.parametrize("damage", ["trimmed", "hole"])
def test_a_stream_that_cannot_answer_exactly_is_answered_by_the_ledger(
    ledger: SqlLedger, client: redis.Redis, namespace: str, damage: str
) -> None:
    pid = _published_project(ledger, client, namespace, 12)
    if damage == "trimmed":
        client.xtrim(_key(namespace, pid), maxlen=4, approximate=False)  # seqs 9..12 left
    else:
        client.xdel(_key(namespace, pid), "6-0")  # a publish that never arrived
    counting = CountingLog(ledger)
    log = RedisEventLog(client, counting, namespace=namespace)
    assert _sent(log.events_after(pid, 0)) == _sent(ledger.events_after(pid, 0))
    assert _sent(log.events_after(pid, 4)) == _sent(ledger.events_after(pid, 4))
    assert counting.calls == 2
    # Past the damage the stream answers alone again.
    assert _sent(log.events_after(pid, 9)) == _sent(ledger.events_after(pid, 9))
    assert counting.calls == 2


def test_with_redis_down_replay_comes_from_the_ledger(
    ledger: SqlLedger, client: redis.Redis, namespace: str
) -> None:
    pid = _published_project(ledger, client, namespace, 3)
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)  # nothing listens there
    counting = CountingLog(ledger)
    replay = RedisEventLog(down, counting, namespace=namespace).events_after(pid, 0)
    assert _sent(replay) == _sent(ledger.events_after(pid, 0))
    assert counting.calls == 1
