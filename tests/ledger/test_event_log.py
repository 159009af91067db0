"""The event log: per-project seq with no gaps, no reuse and no disorder under concurrent writers; replay
from any cursor equals the tail of the log."""

from __future__ import annotations

import multiprocessing
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framecast.domain.errors import NotFound
from framecast.domain.models import Project, new_id
from framecast.ledger.engine import make_engine
from framecast.ledger.repository import SqlLedger


def _new_project(ledger: SqlLedger) -> str:
    project = Project(id=new_id("prj"), owner="local", prompt="p", options={})
    with ledger.transaction() as tx:
        tx.add_project(project)
    return project.id


def _append_many(url: str, project_id: str, writer: int, count: int) -> None:
    ledger = SqlLedger(make_engine(url))
    for i in range(count):
        with ledger.transaction() as tx:
            tx.append_event(project_id, "task_status", {"writer": writer, "i": i})
    ledger.engine.dispose()


def test_seq_is_gap_free_and_ordered_with_concurrent_threads(ledger: SqlLedger, ledger_url: str) -> None:
    project_id = _new_project(ledger)
    threads = [threading.Thread(target=_append_many, args=(ledger_url, project_id, w, 40)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = ledger.events_after(project_id, 0, limit=10_000)
    assert [e.seq for e in log] == list(range(1, 321))
    # each writer's own events keep their order: seq order agrees with commit order
    for writer in range(8):
        mine = [e.data["i"] for e in log if e.data["writer"] == writer]
        assert mine == list(range(40))


@pytest.mark.slow
def test_seq_is_gap_free_with_concurrent_processes(ledger: SqlLedger, ledger_url: str) -> None:
    project_id = _new_project(ledger)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(ledger_url, project_id, w, 30)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    seqs = [e.seq for e in ledger.events_after(project_id, 0, limit=10_000)]
    assert seqs == list(range(1, 121))
    with ledger.read() as tx:
        assert tx.project(project_id).last_seq == 120


def test_projects_have_independent_sequences(ledger: SqlLedger) -> None:
    a, b = _new_project(ledger), _new_project(ledger)
    for pid in (a, b, a, a, b):
        with ledger.transaction() as tx:
            tx.append_event(pid, "task_status", {})
    assert [e.seq for e in ledger.events_after(a, 0)] == [1, 2, 3]
    assert [e.seq for e in ledger.events_after(b, 0)] == [1, 2]


def test_a_batch_of_events_takes_consecutive_seqs_in_order(ledger: SqlLedger) -> None:
    pid = _new_project(ledger)
    with ledger.transaction() as tx:
        tx.append_event(pid, "task_status", {"n": 0})
        batch = tx.append_events(pid, [("task_status", {"n": n}) for n in (1, 2, 3)])
        assert tx.append_events(pid, []) == []
        tx.append_event(pid, "task_status", {"n": 4})
        assert [e.seq for e in tx.appended] == [1, 2, 3, 4, 5]  # what the commit publishes, in order
    assert [e.seq for e in batch] == [2, 3, 4]
    assert [(e.seq, e.data["n"]) for e in ledger.events_after(pid, 0)] == [
        (1, 0),
        (2, 1),
        (3, 2),
        (4, 3),
        (5, 4),
    ]
    with ledger.read() as tx:
        assert tx.project(pid).last_seq == 5


def test_rolled_back_transaction_does_not_consume_a_seq(ledger: SqlLedger) -> None:
    pid = _new_project(ledger)
    with ledger.transaction() as tx:
        tx.append_event(pid, "task_status", {"n": 1})
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx.append_event(pid, "task_status", {"n": "lost"})
        raise RuntimeError("abort")
    with ledger.transaction() as tx:
        tx.append_event(pid, "task_status", {"n": 2})
    log = ledger.events_after(pid, 0)
    assert [(e.seq, e.data["n"]) for e in log] == [(1, 1), (2, 2)]


def test_append_to_unknown_project_is_not_found(ledger: SqlLedger) -> None:
    with pytest.raises(NotFound), ledger.transaction() as tx:
        tx.append_event("prj_missing", "task_status", {})


@settings(max_examples=25, deadline=None)
@given(total=st.integers(min_value=0, max_value=40), cursor=st.integers(min_value=0, max_value=45))
def test_replay_from_any_cursor_is_the_tail_of_the_log(
    tmp_path_factory: pytest.TempPathFactory, total: int, cursor: int
) -> None:
    from framecast.ledger.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('replay') / 'l.db'}")
    upgrade(engine)
    ledger = SqlLedger(engine)
    pid = _new_project(ledger)
    for i in range(total):
        with ledger.transaction() as tx:
            tx.append_event(pid, "render_progress", {"i": i})
    whole = ledger.events_after(pid, 0, limit=1000)
    assert ledger.events_after(pid, cursor, limit=1000) == whole[cursor:]
    # paging with a small limit gives the same tail
    paged, at = [], cursor
    while batch := ledger.events_after(pid, at, limit=3):
        paged.extend(batch)
        at = batch[-1].seq
    assert paged == whole[cursor:]
    engine.dispose()
