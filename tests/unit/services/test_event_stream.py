"""The one event iterator on the fake ledger and hub: ``hello`` first, the log after the cursor, live
events in seq order with gaps filled from the log, ``resync`` for a cursor past the end, pings, the end
after the terminal event, and ``resume_from``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from framecast.domain.errors import NotFound
from framecast.domain.events import EventType, StreamMessage
from framecast.domain.identity import Caller
from framecast.domain.models import Event, Project
from framecast.services import event_stream, pipeline
from framecast.services.event_stream import EventStream, StreamItem, open_stream
from tests.fakes import FakeEventHub, FakeLedger
from tests.support.server import run_async
from tests.unit.support import new_project

T = TypeVar("T")


def _run(make: Callable[[], Awaitable[T]], timeout_s: float = 5.0) -> T:
    """Run on a loop of its own thread: the test process may already have a running loop (Playwright's
    sync API, from the browser tests)."""

    async def bounded() -> T:
        return await asyncio.wait_for(make(), timeout_s)

    result: T = run_async(bounded, timeout_s + 5)
    return result


def _project(ledger: FakeLedger, events: int) -> Project:
    project = new_project()
    with ledger.transaction() as tx:
        tx.add_project(project)
        tx.append_events(project.id, [(EventType.TASK_STATUS, {"i": i}) for i in range(events)])
    return project


def _append(ledger: FakeLedger, project: Project, count: int = 1) -> None:
    with ledger.transaction() as tx:
        tx.append_events(project.id, [(EventType.TASK_STATUS, {"live": True}) for _ in range(count)])


def _end(ledger: FakeLedger, project: Project) -> None:
    with ledger.transaction() as tx:
        pipeline.cancel_project(tx, tx.project(project.id, lock=True))


def _label(item: StreamItem) -> Any:
    return item.seq if isinstance(item, Event) else item.type


async def _open(ledger: FakeLedger, hub: FakeEventHub, project: Project, **kwargs: Any) -> EventStream:
    options: dict[str, Any] = {"caller": Caller(project.owner), "after": 0, "ping_interval_s": 30.0, **kwargs}
    return await open_stream(ledger, hub, project.id, **options)


async def _take(items: AsyncIterator[StreamItem], count: int) -> list[Any]:
    return [_label(await anext(items)) for _ in range(count)]


async def _rest(items: AsyncIterator[StreamItem]) -> list[Any]:
    return [_label(item) async for item in items]


def test_hello_comes_first_then_the_log_after_the_cursor_then_the_end(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    project = _project(ledger, 4)
    _end(ledger, project)  # seq 5: the terminal project_status

    async def scenario() -> tuple[list[StreamItem], bool]:
        stream = await _open(ledger, hub, project, after=2)
        items = [item async for item in stream]
        stream.close()
        return items, hub.subscriptions[0].closed

    items, closed = _run(scenario)
    hello = items[0]
    assert isinstance(hello, StreamMessage) and hello.type == EventType.HELLO
    assert hello.data == {"last_seq": 5, "status": "cancelled", "terminal": True}
    assert [_label(i) for i in items[1:]] == [3, 4, 5]
    assert closed


def test_a_stream_at_the_terminal_event_sends_hello_and_ends(ledger: FakeLedger, hub: FakeEventHub) -> None:
    project = _project(ledger, 2)
    _end(ledger, project)

    async def scenario() -> list[Any]:
        return await _rest(aiter(await _open(ledger, hub, project, after=3)))

    assert _run(scenario) == [EventType.HELLO]


def test_a_stream_is_exhausted_at_or_past_the_terminal_event_only(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    running = _project(ledger, 2)
    ended = _project(ledger, 2)
    _end(ledger, ended)  # seq 3: the terminal project_status

    async def scenario() -> list[bool]:
        streams = [
            await _open(ledger, hub, ended, after=3),
            await _open(ledger, hub, ended, after=50),
            await _open(ledger, hub, ended, after=2),
            await _open(ledger, hub, running, after=50),
        ]
        for stream in streams:
            stream.close()
        return [stream.exhausted for stream in streams]

    assert _run(scenario) == [True, True, False, False]


def test_a_cursor_past_the_end_gets_hello_then_resync_then_goes_on_from_the_last_seq(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    project = _project(ledger, 3)

    async def scenario() -> tuple[list[StreamItem], list[Any]]:
        stream = await _open(ledger, hub, project, after=99)
        items = aiter(stream)
        first = [await anext(items), await anext(items)]
        _append(ledger, project)
        return first, await _take(items, 1)

    (hello, resync), live = _run(scenario)
    assert isinstance(resync, StreamMessage) and resync.type == EventType.RESYNC
    assert resync.data == {"last_seq": 3}
    assert hello.type == EventType.HELLO
    assert live == [4]


def test_live_events_follow_the_log_in_order_until_the_terminal_one(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    project = _project(ledger, 2)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project)
        items = aiter(stream)
        seen = await _take(items, 3)
        _append(ledger, project, 2)
        seen += await _take(items, 2)
        _end(ledger, project)
        return seen + await _rest(items)

    seen = _run(scenario)
    assert seen == [EventType.HELLO, 1, 2, 3, 4, 5]
    assert ledger.events_after(project.id, 4)[-1].data["terminal"] is True


def test_an_event_the_hub_missed_is_read_from_the_log(ledger: FakeLedger, hub: FakeEventHub) -> None:
    project = _project(ledger, 1)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project)
        items = aiter(stream)
        seen = await _take(items, 2)
        hub.muted = True
        _append(ledger, project)  # seq 2: lost by the hub
        hub.muted = False
        _append(ledger, project)  # seq 3 arrives live: a gap, so the stream reads the log
        return seen + await _take(items, 2)

    assert _run(scenario) == [EventType.HELLO, 1, 2, 3]


def test_a_resync_marker_from_the_hub_makes_the_stream_read_the_log(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    project = _project(ledger, 1)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project)
        items = aiter(stream)
        seen = await _take(items, 2)
        hub.muted = True
        _append(ledger, project, 2)
        hub.muted = False
        hub.resync(project.id)  # the hub noticed its outage
        return seen + await _take(items, 2)

    assert _run(scenario) == [EventType.HELLO, 1, 2, 3]


def test_an_idle_stream_pings_with_its_cursor(ledger: FakeLedger, hub: FakeEventHub) -> None:
    project = _project(ledger, 2)

    async def scenario() -> list[StreamItem]:
        items = aiter(await _open(ledger, hub, project, ping_interval_s=0.01))
        return [await anext(items) for _ in range(4)]

    *_, ping = _run(scenario)
    assert isinstance(ping, StreamMessage) and ping.type == EventType.PING
    assert ping.data == {"last_seq": 2}


def test_a_retry_committed_right_after_the_terminal_event_keeps_the_stream_going(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    """The terminal event arrived live, and a retry committed right after it: the stream drains the log
    before it ends, so it goes on with the retry instead of closing on a project that runs again."""
    project = _project(ledger, 1)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project)
        items = aiter(stream)
        seen = await _take(items, 2)
        hub.muted = True
        _end(ledger, project)
        ended = ledger.events_after(project.id, 1)
        with ledger.transaction() as tx:
            pipeline.retry_project(tx, tx.project(project.id, lock=True))
        hub.muted = False
        hub.publish(ended)  # the hub delivers the end; the retry's events are only in the log so far
        seen += await _take(items, len(ended) + 1)
        stream.close()
        return seen

    seen = _run(scenario)
    last = ledger.events_after(project.id, 0)[-1]
    assert last.data == {"status": "queued", "terminal": False}
    assert seen == [EventType.HELLO, 1, 2, 3]
    assert last.seq == 3


def test_resume_while_waiting_for_live_events_goes_back_at_once(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    project = _project(ledger, 4)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project)
        items = aiter(stream)
        seen = await _take(items, 5)
        waiting = asyncio.ensure_future(anext(items))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        stream.resume_from(1)
        seen.append(_label(await waiting))
        seen += await _take(items, 2)
        return seen

    assert _run(scenario, timeout_s=2.0) == [EventType.HELLO, 1, 2, 3, 4, 2, 3, 4]


def test_resume_in_the_middle_of_a_catch_up_batch_goes_there_first(
    ledger: FakeLedger, hub: FakeEventHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_stream, "BATCH", 3)
    project = _project(ledger, 10)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project)
        items = aiter(stream)
        seen = await _take(items, 3)  # hello, 1, 2 (of the batch 1..3)
        stream.resume_from(7)
        return seen + await _take(items, 3)

    assert _run(scenario) == [EventType.HELLO, 1, 2, 8, 9, 10]


def test_a_project_of_another_owner_is_not_found_before_anything_is_sent(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    project = _project(ledger, 1)

    async def scenario() -> None:
        await open_stream(ledger, hub, project.id, caller=Caller("someone-else"), after=0, ping_interval_s=30)

    with pytest.raises(NotFound) as caught:
        _run(scenario)
    assert caught.value.code == "project_not_found"
    assert [s.closed for s in hub.subscriptions] == [True]
    assert hub.active(project.id) == 0


def test_the_stream_of_a_deleted_project_ends_with_not_found_at_its_next_check(
    ledger: FakeLedger, hub: FakeEventHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_stream, "RECHECK_S", 0.0)
    project = _project(ledger, 1)

    async def scenario() -> list[Any]:
        items = aiter(await _open(ledger, hub, project, ping_interval_s=0.01))
        seen = await _take(items, 2)
        with ledger.transaction() as tx:
            tx.delete_project(project.id)
        return seen + await _take(items, 1)

    with pytest.raises(NotFound):
        _run(scenario)


def test_a_negative_cursor_reads_the_whole_log(ledger: FakeLedger, hub: FakeEventHub) -> None:
    project = _project(ledger, 2)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project, after=-5)
        items = aiter(stream)
        seen = await _take(items, 3)
        stream.close()
        return seen

    assert _run(scenario) == [EventType.HELLO, 1, 2]


def test_a_resume_past_the_end_gets_resync_and_the_stream_still_ends(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    project = _project(ledger, 2)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project)
        items = aiter(stream)
        seen = await _take(items, 3)
        stream.resume_from(99)  # a WebSocket client's {"type": "resume", "after": 99}
        resync = await anext(items)
        assert isinstance(resync, StreamMessage) and resync.data == {"last_seq": 2}
        _end(ledger, project)
        return [*seen, resync.type, *await _rest(items)]

    assert _run(scenario, timeout_s=0.3) == [EventType.HELLO, 1, 2, EventType.RESYNC, 3]


def test_a_resume_past_the_end_of_an_ended_project_resyncs_and_ends(
    ledger: FakeLedger, hub: FakeEventHub
) -> None:
    project = _project(ledger, 2)

    async def scenario() -> list[Any]:
        stream = await _open(ledger, hub, project)
        items = aiter(stream)
        seen = await _take(items, 3)
        stream.resume_from(99)
        _end(ledger, project)  # seq 3, terminal, committed before the stream looks at the resume
        return seen + await _rest(items)

    assert _run(scenario, timeout_s=0.3) == [EventType.HELLO, 1, 2, EventType.RESYNC]
