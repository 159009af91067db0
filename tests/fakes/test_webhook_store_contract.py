"""One set of assertions for the webhook store, run against FakeLedger's and SqlLedger's (SQLite; Postgres
when reachable): it is part of the transaction, its orders, what a delete of the project takes with it, and
the before-commit hook that writes deliveries with the change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from framecast.domain.models import Event, Project, new_id, utcnow
from framecast.domain.webhooks import Attempt, Delivery, DeliveryState, WebhookEndpoint
from framecast.ledger.engine import make_engine
from framecast.ledger.migrate import upgrade
from framecast.ledger.repository import SqlLedger
from framecast.ledger.tables import metadata
from framecast.services.ports import LedgerSession
from tests.fakes import FakeLedger

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=utcnow().tzinfo)
AnyLedger = FakeLedger | SqlLedger


@pytest.fixture(params=["fake", "sqlite", "postgres"])
def any_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnyLedger]:
    if request.param == "fake":
        yield FakeLedger()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    engine = make_engine(url)
    upgrade(engine)
    yield SqlLedger(engine)
    engine.dispose()


def _project(ledger: AnyLedger, owner: str = "ana") -> str:
    pid = new_id("prj")
    with ledger.transaction() as tx:
        tx.add_project(Project(id=pid, owner=owner, prompt="p", options={}))
    return pid


def _endpoint(owner: str = "ana", *, project_id: str | None = None, at: datetime = T0) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=new_id("whk"),
        owner=owner,
        url="https://hooks.example/x",
        events=["completed", "file"],
        secret=None if project_id else "whsec_c2VjcmV0",
        project_id=project_id,
        created_at=at,
    )


def _delivery(project_id: str, endpoint_id: str, *, at: datetime = T0, due: datetime | None = T0) -> Delivery:
    return Delivery(
        id=new_id("dlv"),
        project_id=project_id,
        endpoint_id=endpoint_id,
        message_id=new_id("msg"),
        type="project.completed",
        url="https://hooks.example/x",
        payload='{"type":"project.completed","data":{"é":1}}',
        created_at=at,
        next_attempt_at=due,
    )


def test_endpoints_round_trip_and_list_by_owner_with_or_without_one_projects(any_ledger: AnyLedger) -> None:
    pid, other = _project(any_ledger), _project(any_ledger)
    later = _endpoint(at=T0 + timedelta(seconds=1))
    first = _endpoint()
    own = _endpoint(project_id=pid, at=T0 + timedelta(seconds=2))
    theirs = _endpoint(project_id=other, at=T0 + timedelta(seconds=3))
    with any_ledger.transaction() as tx:
        for endpoint in (later, first, own, theirs, _endpoint("ben")):
            tx.webhooks.add_endpoint(endpoint)
    with any_ledger.read() as tx:
        assert tx.webhooks.endpoint(first.id) == first
        assert tx.webhooks.endpoint("whk_missing") is None
        assert [e.id for e in tx.webhooks.endpoints("ana")] == [first.id, later.id]
        assert [e.id for e in tx.webhooks.endpoints("ana", project_id=pid)] == [first.id, later.id, own.id]
        assert tx.webhooks.endpoints("carl") == []


def test_a_rotated_secret_keeps_the_previous_one_and_its_end(any_ledger: AnyLedger) -> None:
    endpoint = _endpoint()
    with any_ledger.transaction() as tx:
        tx.webhooks.add_endpoint(endpoint)
        tx.webhooks.rotate_secret(endpoint.id, "whsec_bmV3", "whsec_c2VjcmV0", T0 + timedelta(days=1))
    with any_ledger.read() as tx:
        found = tx.webhooks.endpoint(endpoint.id)
    assert found is not None
    assert (found.secret, found.previous_secret, found.previous_secret_until) == (
        "whsec_bmV3",
        "whsec_c2VjcmV0",
        T0 + timedelta(days=1),
    )
    assert found.secrets_at(T0) == ["whsec_bmV3", "whsec_c2VjcmV0"]
    assert found.secrets_at(T0 + timedelta(days=1)) == ["whsec_bmV3"]
    with any_ledger.transaction() as tx:
        tx.webhooks.rotate_secret(endpoint.id, "whsec_bmV3ZXI=", None, None)
    with any_ledger.read() as tx:
        found = tx.webhooks.endpoint(endpoint.id)
    assert found is not None and (found.secret, found.previous_secret, found.previous_secret_until) == (
        "whsec_bmV3ZXI=",
        None,
        None,
    )


def test_disable_keeps_the_first_reason_and_delete_removes(any_ledger: AnyLedger) -> None:
    endpoint = _endpoint()
    with any_ledger.transaction() as tx:
        tx.webhooks.add_endpoint(endpoint)
        tx.webhooks.disable_endpoint(endpoint.id, T0, "410 first")
        tx.webhooks.disable_endpoint(endpoint.id, T0 + timedelta(hours=1), "410 again")
    with any_ledger.read() as tx:
        found = tx.webhooks.endpoint(endpoint.id)
    assert found is not None and (found.disabled_at, found.disabled_reason, found.active) == (
        T0,
        "410 first",
        False,
    )
    with any_ledger.transaction() as tx:
        tx.webhooks.delete_endpoint(endpoint.id)
    with any_ledger.read() as tx:
        assert tx.webhooks.endpoint(endpoint.id) is None


def test_deliveries_their_orders_attempts_and_updates(any_ledger: AnyLedger) -> None:
    pid = _project(any_ledger)
    a = _delivery(pid, "whk_a", at=T0 + timedelta(seconds=2), due=T0 + timedelta(seconds=5))
    b = _delivery(pid, "whk_a", at=T0, due=T0 + timedelta(seconds=1))
    c = _delivery(pid, "whk_b", at=T0 + timedelta(seconds=1), due=None)
    with any_ledger.transaction() as tx:
        tx.webhooks.add_deliveries([a, b, c])
        tx.webhooks.add_attempt(b.id, Attempt(T0, 500, 12.5, "HTTP 500"))
        tx.webhooks.add_attempt(b.id, Attempt(T0 + timedelta(seconds=1), None, None, "no answer"))
    with any_ledger.read() as tx:
        assert [d.id for d in tx.webhooks.deliveries(pid)] == [b.id, c.id, a.id]
        found = tx.webhooks.delivery(b.id)
        assert found is not None and found.payload == b.payload
        assert [x.status_code for x in found.attempts] == [500, None]
        assert found.attempts[0] == Attempt(T0, 500, 12.5, "HTTP 500")
        due = tx.webhooks.deliveries_due(T0 + timedelta(seconds=5), 10)
        assert [d.id for d in due] == [b.id, a.id] and all(d.attempts == [] for d in due)
        assert [d.id for d in tx.webhooks.deliveries_due(T0 + timedelta(seconds=5), 1)] == [b.id]
        assert tx.webhooks.deliveries_due(T0, 10) == []
        assert [d.id for d in tx.webhooks.pending_deliveries("whk_a")] == [b.id, a.id]
        assert tx.webhooks.delivery("dlv_missing") is None
    with any_ledger.transaction() as tx:
        tx.webhooks.update_delivery(
            b.id, state=DeliveryState.DELIVERED, next_attempt_at=None, tries=2, window_started_at=T0
        )
        with pytest.raises(TypeError):
            tx.webhooks.update_delivery(b.id, attempts=[])
    with any_ledger.read() as tx:
        found = tx.webhooks.delivery(b.id)
        assert found is not None
        assert (found.state, found.next_attempt_at, found.tries, found.window_started_at) == (
            DeliveryState.DELIVERED,
            None,
            2,
            T0,
        )
        assert [d.id for d in tx.webhooks.pending_deliveries("whk_a")] == [a.id]


def test_a_rolled_back_transaction_leaves_no_webhook_rows(any_ledger: AnyLedger) -> None:
    pid = _project(any_ledger)
    endpoint = _endpoint()
    with pytest.raises(RuntimeError), any_ledger.transaction() as tx:
        tx.webhooks.add_endpoint(endpoint)
        tx.webhooks.add_deliveries([_delivery(pid, endpoint.id)])
        raise RuntimeError("boom")
    with any_ledger.read() as tx:
        assert tx.webhooks.endpoint(endpoint.id) is None and tx.webhooks.deliveries(pid) == []


def test_deleting_a_project_takes_its_deliveries_and_own_webhook_not_the_owners(
    any_ledger: AnyLedger,
) -> None:
    pid, kept = _project(any_ledger), _project(any_ledger)
    owners, own = _endpoint(), _endpoint(project_id=pid)
    gone, stays = _delivery(pid, own.id), _delivery(kept, owners.id)
    with any_ledger.transaction() as tx:
        tx.webhooks.add_endpoint(owners)
        tx.webhooks.add_endpoint(own)
        tx.webhooks.add_deliveries([gone, stays])
        tx.webhooks.add_attempt(gone.id, Attempt(T0, 500, 1.0, "HTTP 500"))
    with any_ledger.transaction() as tx:
        tx.delete_project(pid)
    with any_ledger.read() as tx:
        assert tx.webhooks.delivery(gone.id) is None and tx.webhooks.endpoint(own.id) is None
        assert tx.webhooks.endpoint(owners.id) is not None
        assert [d.id for d in tx.webhooks.deliveries(kept)] == [stays.id]


def test_the_before_commit_hook_writes_in_the_same_transaction(any_ledger: AnyLedger) -> None:
    seen: list[list[str]] = []
    pid = _project(any_ledger)

    def hook(tx: LedgerSession, events: list[Event]) -> None:
        seen.append([e.type for e in events])
        tx.webhooks.add_deliveries([_delivery(pid, "whk_hook")])
        if any(e.data.get("fail") for e in events):
            raise RuntimeError("the hook failed")

    any_ledger.set_before_commit(hook)
    with any_ledger.transaction() as tx:
        tx.update_project(pid, prompt="no events, no hook")
    with any_ledger.transaction() as tx:
        tx.append_events(pid, [("project_status", {"status": "running"}), ("file", {})])
    with pytest.raises(RuntimeError), any_ledger.transaction() as tx:
        tx.append_event(pid, "project_status", {"fail": True})
    any_ledger.set_before_commit(None)
    assert seen == [["project_status", "file"], ["project_status"]]
    with any_ledger.read() as tx:
        assert len(tx.webhooks.deliveries(pid)) == 1  # the failed hook rolled back with its change
        assert tx.project(pid).last_seq == 2


def test_migration_0005_matches_the_tables(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    webhook_diff = [d for d in diff if "webhook" in repr(d)]
    assert webhook_diff == []
