"""WebhookService on fakes: deliveries written in the transaction of the change, the payload, retries on a
fake clock, 410, the claim's lease, redeliver, endpoints and their owner check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from framecast.domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated, WebhookUrlNotAllowed
from framecast.domain.identity import Caller
from framecast.domain.models import utcnow
from framecast.domain.options import ProjectRequest
from framecast.domain.webhooks import DeliveryState
from framecast.services import pipeline
from framecast.services.pipeline import TaskOutcome
from framecast.services.projects import ProjectService
from framecast.services.snapshots import SnapshotView
from framecast.services.webhooks import (
    CLAIM_LEASE_S,
    PREVIOUS_SERVICE_SECRET_NAME,
    SERVICE_SECRET_NAME,
    WebhookService,
    rotate_service_secret,
)
from tests.fakes import FakeJobQueue, FakeLedger, FakeMediaStore, FakeWebhookSender
from tests.unit.support import video

ANA, BEN = Caller("ana"), Caller("ben")
HOOK = "https://hooks.example/framecast"
OTHER = "https://other.example/in"


@dataclass
class Clock:
    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    ledger: FakeLedger
    sender: FakeWebhookSender
    clock: Clock
    webhooks: WebhookService
    projects: ProjectService

    def submit(self, caller: Caller = ANA, **body: object) -> str:
        body.setdefault("prompt", "A lighthouse at dusk")
        project, _ = self.projects.submit(ProjectRequest(**body), caller=caller)  # type: ignore[arg-type]
        return project.id

    def deliveries(self, project_id: str, caller: Caller = ANA) -> list:  # type: ignore[type-arg]
        return self.webhooks.deliveries(project_id, caller=caller)

    def send_due(self) -> list[DeliveryState]:
        return [self.webhooks.attempt(d) for d in self.webhooks.claim_due()]


@pytest.fixture
def world(ledger: FakeLedger, queue: FakeJobQueue, media: FakeMediaStore) -> World:
    sender = FakeWebhookSender()
    clock = Clock()
    webhooks = WebhookService(ledger, sender, ledger, SnapshotView(), clock=clock, rand=lambda: 0.5)
    ledger.set_before_commit(webhooks.record)
    projects = ProjectService(ledger, queue, media, webhooks=webhooks)
    return World(ledger, sender, clock, webhooks, projects)


# -- recorded with the change ----------------------------------------------------------------------------


def test_a_cancel_writes_one_delivery_with_the_snapshot_in_the_same_transaction(world: World) -> None:
    pid = world.submit(webhook=HOOK)
    assert world.deliveries(pid) == []  # queued is not an event a webhook gets
    world.projects.cancel(pid, caller=ANA)
    (delivery,) = world.deliveries(pid)
    assert (delivery.type, delivery.url, delivery.state) == ("project.cancelled", HOOK, DeliveryState.PENDING)
    assert delivery.message_id.startswith("msg_") and delivery.next_attempt_at == world.clock.now
    body = json.loads(delivery.payload)
    assert set(body) == {"type", "timestamp", "data"} and body["type"] == "project.cancelled"
    assert body["data"] == world.projects.snapshot(pid, caller=ANA)  # the snapshot, as GET shows it
    assert body["data"]["status"] == "cancelled" and body["data"]["terminal"] is True


def test_a_change_that_rolls_back_leaves_no_delivery(world: World) -> None:
    pid = world.submit(webhook=HOOK)
    with pytest.raises(RuntimeError), world.ledger.transaction() as tx:
        pipeline.cancel_project(tx, tx.project(pid, lock=True))
        raise RuntimeError("the process died before the commit")
    assert world.deliveries(pid) == []
    assert world.projects.snapshot(pid, caller=ANA)["status"] == "queued"


def test_only_subscribed_events_are_delivered_and_file_events_name_their_file(world: World) -> None:
    pid = world.submit(webhook=HOOK, webhook_events=["started", "file"])
    with world.ledger.read() as tx:
        (plan,) = tx.tasks(pid)
        project = tx.project(pid)
    with world.ledger.transaction() as tx:
        pipeline.start_task(tx, plan.id, 1)
    with world.ledger.transaction() as tx:
        pipeline.complete_task(tx, plan.id, 1, TaskOutcome(assets=[video(project, plan)]))
    by_type = {d.type: json.loads(d.payload) for d in world.deliveries(pid)}
    assert sorted(by_type) == ["project.file", "project.started"]  # completed is not asked for
    started, file_ = by_type["project.started"], by_type["project.file"]
    assert started["data"]["status"] == "running" and "file" not in started["data"]
    assert file_["data"]["file"]["kind"] == "video"
    assert file_["data"]["file"] in file_["data"]["assets"]


def test_owner_endpoints_and_the_project_webhook_each_get_an_item_but_not_another_owners(
    world: World,
) -> None:
    mine = world.webhooks.create_endpoint(ANA, OTHER, ["cancelled"])
    world.webhooks.create_endpoint(BEN, "https://ben.example/hook", ["cancelled"])
    pid = world.submit(webhook=HOOK)
    world.projects.cancel(pid, caller=ANA)
    items = world.deliveries(pid)
    assert sorted(d.url for d in items) == sorted([HOOK, OTHER])
    assert len({d.message_id for d in items}) == 1  # one event, one webhook-id, for every endpoint
    assert next(d for d in items if d.url == OTHER).endpoint_id == mine.id


def test_a_deleted_project_sends_nothing(world: World) -> None:
    pid = world.submit(webhook=HOOK)
    world.projects.delete(pid, caller=ANA)  # cancels and deletes in one transaction
    assert world.webhooks.claim_due() == []


def test_a_refused_webhook_url_refuses_the_project(world: World) -> None:
    world.sender.refused.add("http://internal.example/")
    with pytest.raises(WebhookUrlNotAllowed):
        world.submit(webhook="http://internal.example/")
    with world.ledger.read() as tx:
        assert tx.active_projects() == []


def test_an_idempotent_repeat_does_not_add_a_second_webhook(world: World) -> None:
    request = ProjectRequest(prompt="p", webhook=HOOK)
    first, _ = world.projects.submit(request, caller=ANA, idempotency_key="k1")
    again, created = world.projects.submit(request, caller=ANA, idempotency_key="k1")
    assert (again.id, created) == (first.id, False)
    world.projects.cancel(first.id, caller=ANA)
    assert len(world.deliveries(first.id)) == 1


# -- sending, retrying, giving up ------------------------------------------------------------------------


def test_fails_twice_then_delivers_with_one_webhook_id_on_the_schedule(world: World) -> None:
    world.sender.answers[HOOK] = [500, 503, 204]
    pid = world.submit(webhook=HOOK)
    world.projects.cancel(pid, caller=ANA)
    assert world.send_due() == [DeliveryState.PENDING]
    (d,) = world.deliveries(pid)
    assert d.next_attempt_at == world.clock.now + timedelta(seconds=5)  # rand 0.5: no jitter
    assert world.send_due() == []  # not due yet
    world.clock.advance(5)
    assert world.send_due() == [DeliveryState.PENDING]
    (d,) = world.deliveries(pid)
    assert d.next_attempt_at == world.clock.now + timedelta(seconds=30)
    world.clock.advance(30)
    assert world.send_due() == [DeliveryState.DELIVERED]
    (d,) = world.deliveries(pid)
    assert [a.status_code for a in d.attempts] == [500, 503, 204]
    assert [a.error for a in d.attempts] == ["HTTP 500", "HTTP 503", None]
    assert d.state is DeliveryState.DELIVERED and d.next_attempt_at is None
    assert {m.message_id for m in world.sender.sent} == {d.message_id}
    assert {m.body for m in world.sender.sent} == {d.payload}  # the same bytes every time


def test_a_receiver_that_never_accepts_is_given_up_after_a_day(world: World) -> None:
    world.sender.answers[HOOK] = [None]  # never answers
    pid = world.submit(webhook=HOOK)
    world.projects.cancel(pid, caller=ANA)
    start = world.clock.now
    states = []
    for _ in range(30):
        states.extend(world.send_due())
        (d,) = world.deliveries(pid)
        if d.next_attempt_at is None:
            break
        world.clock.now = d.next_attempt_at
    assert states[-1] is DeliveryState.FAILED and states.count(DeliveryState.FAILED) == 1
    assert len(d.attempts) == 14
    assert d.attempts[-1].at - start == timedelta(hours=24)
    assert all(a.error == "no answer within 10 s" for a in d.attempts)


def test_410_disables_the_endpoint_and_stops_what_was_pending_for_it(world: World) -> None:
    endpoint = world.webhooks.create_endpoint(ANA, OTHER, ["cancelled"])
    world.sender.answers[OTHER] = [410]
    projects = [world.submit(), world.submit()]
    for pid in projects:
        world.projects.cancel(pid, caller=ANA)
    (sent,) = world.webhooks.claim_due(limit=1)  # only one is sent
    world.webhooks.attempt(sent)
    first = sent.project_id
    (second,) = [p for p in projects if p != first]
    (gone,) = world.deliveries(first)
    (stopped,) = world.deliveries(second)
    assert gone.state is stopped.state is DeliveryState.FAILED
    assert gone.attempts[-1].status_code == 410
    assert stopped.attempts[-1].error and "disabled" in stopped.attempts[-1].error
    (listed,) = world.webhooks.list_endpoints(ANA)
    assert listed.id == endpoint.id and listed.disabled_at is not None
    assert "410" in (listed.disabled_reason or "")
    third = world.submit()
    world.projects.cancel(third, caller=ANA)
    assert world.deliveries(third) == []  # nothing more is recorded for it
    with pytest.raises(Conflict) as refused:
        world.webhooks.redeliver(first, gone.id, caller=ANA)
    assert refused.value.code == "webhook_disabled"


def test_410_stops_the_projects_own_webhook(world: World) -> None:
    world.sender.answers[HOOK] = [410]
    pid = world.submit(webhook=HOOK, webhook_events=["started", "cancelled"])
    with world.ledger.read() as tx:
        (plan,) = tx.tasks(pid)
    with world.ledger.transaction() as tx:
        pipeline.start_task(tx, plan.id, 1)
    world.send_due()
    world.projects.cancel(pid, caller=ANA)
    assert [(d.type, d.state) for d in world.deliveries(pid)] == [("project.started", DeliveryState.FAILED)]


def test_a_claimed_delivery_whose_sender_died_is_sent_again_after_the_lease(world: World) -> None:
    pid = world.submit(webhook=HOOK)
    world.projects.cancel(pid, caller=ANA)
    (claimed,) = world.webhooks.claim_due()  # ... and the process is killed mid-send
    assert world.webhooks.claim_due() == []
    world.clock.advance(CLAIM_LEASE_S)
    (again,) = world.webhooks.claim_due()
    assert (again.id, again.message_id) == (claimed.id, claimed.message_id)
    assert world.webhooks.attempt(again) is DeliveryState.DELIVERED


def test_a_delivery_of_a_project_deleted_while_sending_is_dropped(world: World) -> None:
    pid = world.submit(webhook=HOOK)
    world.projects.cancel(pid, caller=ANA)
    (claimed,) = world.webhooks.claim_due()
    world.projects.delete(pid, caller=ANA)
    assert world.webhooks.attempt(claimed) is DeliveryState.FAILED


# -- signing secrets -------------------------------------------------------------------------------------


def test_project_webhooks_sign_with_the_service_secret_made_once_and_endpoints_with_their_own(
    world: World,
) -> None:
    endpoint = world.webhooks.create_endpoint(ANA, OTHER, ["cancelled"])
    assert endpoint.secret and endpoint.secret.startswith("whsec_")
    pid = world.submit(webhook=HOOK)
    world.projects.cancel(pid, caller=ANA)
    world.send_due()
    by_url = {m.url: m.secret for m in world.sender.sent}
    assert by_url[OTHER] == endpoint.secret
    assert by_url[HOOK] == world.ledger.service_secret(SERVICE_SECRET_NAME, lambda: "not this one")
    assert by_url[HOOK] != endpoint.secret


def test_the_configured_secret_wins(ledger: FakeLedger) -> None:
    service = WebhookService(ledger, FakeWebhookSender(), ledger, SnapshotView(), service_secret="whsec_set")
    assert service.signing_secret() == "whsec_set"


# -- rotating secrets ------------------------------------------------------------------------------------


def _signers(world: World, url: str) -> list[tuple[str, ...]]:
    """The secrets of each message sent to ``url``, the current one first."""
    return [(m.secret, *m.also) for m in world.sender.to(url)]


def test_a_rotation_signs_with_both_secrets_for_its_grace_then_with_the_new_only(world: World) -> None:
    endpoint = world.webhooks.create_endpoint(ANA, OTHER, ["cancelled"])
    old = endpoint.secret
    rotated = world.webhooks.rotate_endpoint_secret(ANA, endpoint.id, grace_s=3600)
    assert rotated.secret and rotated.secret.startswith("whsec_") and rotated.secret != old
    assert rotated.previous_secret_until == world.clock.now + timedelta(hours=1)
    world.projects.cancel(world.submit(), caller=ANA)
    world.send_due()
    world.clock.advance(3599)
    world.projects.cancel(world.submit(), caller=ANA)
    world.send_due()
    world.clock.advance(1)  # the grace is over
    world.projects.cancel(world.submit(), caller=ANA)
    world.send_due()
    assert _signers(world, OTHER) == [(rotated.secret, old), (rotated.secret, old), (rotated.secret,)]
    with world.ledger.read() as tx:
        stored = tx.webhooks.endpoint(endpoint.id)
    assert stored is not None and stored.secret == rotated.secret and stored.previous_secret == old


def test_a_rotation_with_no_grace_drops_the_old_secret_and_a_second_one_drops_the_first(
    world: World,
) -> None:
    endpoint = world.webhooks.create_endpoint(ANA, OTHER, ["cancelled"])
    first = world.webhooks.rotate_endpoint_secret(ANA, endpoint.id)  # a day by default
    assert first.previous_secret_until == world.clock.now + timedelta(days=1)
    second = world.webhooks.rotate_endpoint_secret(ANA, endpoint.id, grace_s=60)
    world.projects.cancel(world.submit(), caller=ANA)
    world.send_due()
    third = world.webhooks.rotate_endpoint_secret(ANA, endpoint.id, grace_s=0)
    assert third.previous_secret is None and third.previous_secret_until is None
    world.projects.cancel(world.submit(), caller=ANA)
    world.send_due()
    assert _signers(world, OTHER) == [(second.secret, first.secret), (third.secret,)]


def test_a_retry_of_a_delivery_made_before_a_rotation_signs_with_the_secrets_of_its_send_time(
    world: World,
) -> None:
    endpoint = world.webhooks.create_endpoint(ANA, OTHER, ["cancelled"])
    world.sender.answers[OTHER] = [500, 500, 204]
    pid = world.submit()
    world.projects.cancel(pid, caller=ANA)
    world.send_due()  # fails, signed with the first secret alone
    rotated = world.webhooks.rotate_endpoint_secret(ANA, endpoint.id, grace_s=10)
    world.clock.advance(6)  # the first retry (5 s), inside the grace
    world.send_due()
    world.clock.advance(60)  # the second (30 s), after it
    assert world.send_due() == [DeliveryState.DELIVERED]
    assert _signers(world, OTHER) == [
        (endpoint.secret,),
        (rotated.secret, endpoint.secret),
        (rotated.secret,),
    ]
    assert len({m.message_id for m in world.sender.to(OTHER)}) == 1  # one webhook-id throughout
    (delivery,) = world.deliveries(pid)
    assert [a.status_code for a in delivery.attempts] == [500, 500, 204]


def test_only_the_owner_rotates_and_the_grace_is_bounded(world: World) -> None:
    endpoint = world.webhooks.create_endpoint(ANA, OTHER)
    pid = world.submit(webhook=HOOK)
    with world.ledger.read() as tx:
        (own,) = [e for e in tx.webhooks.endpoints(ANA.owner, project_id=pid) if e.project_id]
    for caller, endpoint_id in ((BEN, endpoint.id), (ANA, "whk_missing"), (ANA, own.id)):
        with pytest.raises(NotFound) as found:
            world.webhooks.rotate_endpoint_secret(caller, endpoint_id)
        assert found.value.code == "webhook_not_found"
    for grace_s in (-1, 7 * 24 * 3600 + 1):
        with pytest.raises(InvalidInput):
            world.webhooks.rotate_endpoint_secret(ANA, endpoint.id, grace_s=grace_s)
    with world.ledger.read() as tx:
        unchanged = tx.webhooks.endpoint(endpoint.id)
    assert unchanged is not None and unchanged.secret == endpoint.secret and unchanged.previous_secret is None


def test_the_ledger_kept_service_secret_rotates_with_a_grace(world: World) -> None:
    old = world.webhooks.signing_secret()
    new, until = rotate_service_secret(world.ledger, 120, clock=world.clock)
    assert until == world.clock.now + timedelta(seconds=120) and new != old
    assert world.webhooks.signing_secrets() == [new, old]  # read again: another process may rotate
    pid = world.submit(webhook=HOOK)
    world.projects.cancel(pid, caller=ANA)
    world.send_due()
    world.clock.advance(120)
    assert world.webhooks.signing_secrets() == [new]
    assert _signers(world, HOOK) == [(new, old)]
    newer, none = world.webhooks.rotate_service_secret(0)
    assert none is None and world.webhooks.signing_secrets() == [newer]
    assert world.ledger.kept_service_secret(PREVIOUS_SERVICE_SECRET_NAME) is None


def test_the_configured_service_secret_signs_with_its_previous_one_while_that_is_set(
    ledger: FakeLedger,
) -> None:
    both = WebhookService(
        ledger,
        FakeWebhookSender(),
        ledger,
        SnapshotView(),
        service_secret="whsec_new",
        service_secret_previous="whsec_old",
    )
    assert both.signing_secrets() == ["whsec_new", "whsec_old"]
    alone = WebhookService(ledger, FakeWebhookSender(), ledger, SnapshotView(), service_secret="whsec_new")
    assert alone.signing_secrets() == ["whsec_new"]
    with pytest.raises(Conflict) as refused:
        both.rotate_service_secret()
    assert refused.value.code == "webhook_secret_from_settings"


# -- endpoints and the owner check -----------------------------------------------------------------------


def test_endpoints_list_only_the_callers_own_and_never_a_projects_webhook(world: World) -> None:
    mine = world.webhooks.create_endpoint(ANA, OTHER)
    world.webhooks.create_endpoint(BEN, "https://ben.example/hook")
    world.submit(webhook=HOOK)
    assert [e.id for e in world.webhooks.list_endpoints(ANA)] == [mine.id]
    assert mine.events == ["completed", "failed", "cancelled"]


def test_another_owners_endpoint_is_not_found_like_a_missing_one(world: World) -> None:
    theirs = world.webhooks.create_endpoint(BEN, "https://ben.example/hook")
    with pytest.raises(NotFound) as other:
        world.webhooks.delete_endpoint(ANA, theirs.id)
    with pytest.raises(NotFound) as missing:
        world.webhooks.delete_endpoint(ANA, "whk_missing")
    assert other.value.code == missing.value.code == "webhook_not_found"
    assert other.value.message.replace(theirs.id, "X") == missing.value.message.replace("whk_missing", "X")
    assert [e.id for e in world.webhooks.list_endpoints(BEN)] == [theirs.id]
    with pytest.raises(Unauthenticated):
        world.webhooks.list_endpoints(Caller("ana", project_id="prj_1"))  # a delivery token


def test_deleting_an_endpoint_fails_its_pending_deliveries(world: World) -> None:
    endpoint = world.webhooks.create_endpoint(ANA, OTHER, ["cancelled"])
    pid = world.submit()
    world.projects.cancel(pid, caller=ANA)
    world.webhooks.delete_endpoint(ANA, endpoint.id)
    (d,) = world.deliveries(pid)
    assert d.state is DeliveryState.FAILED and d.attempts[-1].error == "not sent: the webhook was deleted"
    assert world.webhooks.claim_due() == []


def test_redeliver_queues_it_now_with_the_same_webhook_id_owner_only(world: World) -> None:
    pid = world.submit(webhook=HOOK)
    world.projects.cancel(pid, caller=ANA)
    world.send_due()
    (done,) = world.deliveries(pid)
    assert done.state is DeliveryState.DELIVERED
    world.clock.advance(60)
    again = world.webhooks.redeliver(pid, done.id, caller=ANA)
    assert again.state is DeliveryState.PENDING and again.next_attempt_at == world.clock.now
    assert world.send_due() == [DeliveryState.DELIVERED]
    assert [m.message_id for m in world.sender.sent] == [done.message_id] * 2
    for caller, delivery_id in ((BEN, done.id), (ANA, "dlv_missing")):
        with pytest.raises(NotFound):
            world.webhooks.redeliver(pid, delivery_id, caller=caller)
    with pytest.raises(NotFound) as theirs:
        world.webhooks.deliveries(pid, caller=BEN)
    assert theirs.value.code == "project_not_found"
    assert len(world.webhooks.deliveries(pid, caller=Caller("ops", admin=True))) == 1
