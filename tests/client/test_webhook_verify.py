"""``framecast.client.webhooks.verify`` on deliveries signed and sent by Framecast's own webhook sender
(``framecast.webhooks.http.HttpWebhookSender``) to a receiver on a real socket, and on the same delivery
changed in each way an attacker or a broken clock would change it. End to end through ``framecast serve``:
tests/integration/test_webhooks.py verifies every delivery of a real render with it too."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator

import pytest
from standardwebhooks import webhooks as standard

from framecast.client.webhooks import DEFAULT_TOLERANCE_S, WebhookEvent, WebhookVerificationError, verify
from framecast.services.ports import WebhookMessage
from framecast.webhooks.http import HttpWebhookSender
from tests.support.receiver import Received, Receiver, running_receiver

SNAPSHOT = {"id": "prj_0123456789abcdef0123", "status": "completed", "terminal": True, "last_seq": 9}


def _secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _deliver(receiver: Receiver, path: str, secret: str, payload: dict[str, object]) -> Received:
    body = json.dumps(payload, separators=(",", ":"))
    sender = HttpWebhookSender(allow_private=True)
    try:
        result = sender.send(WebhookMessage(receiver.url(path), f"msg_{path.strip('/')}", body, secret))
    finally:
        sender.close()
    assert result.status_code == 204, result
    (got,) = receiver.wait_for(path, 1)
    return got


@pytest.fixture(scope="module")
def secret() -> str:
    return _secret()


@pytest.fixture(scope="module")
def delivery(receiver: Receiver, secret: str) -> Received:
    payload = {"type": "project.completed", "timestamp": "2026-12-03T11:21:07.123Z", "data": SNAPSHOT}
    return _deliver(receiver, "/completed", secret, payload)


def test_a_real_delivery_verifies_as_a_typed_event(delivery: Received, secret: str) -> None:
    event = verify(delivery.body, delivery.headers, secret)
    assert isinstance(event, WebhookEvent)
    assert (event.type, event.id, event.project_id, event.status) == (
        "project.completed",
        "msg_completed",
        SNAPSHOT["id"],
        "completed",
    )
    assert event.data == SNAPSHOT and event.file is None
    assert event.timestamp.isoformat() == "2026-12-03T11:21:07.123000+00:00"
    # The body as text, and headers in any case, verify alike.
    upper = {k.upper(): v for k, v in delivery.headers.items()}
    assert verify(delivery.body.decode(), upper, secret) == event


def test_a_project_file_delivery_carries_its_file(receiver: Receiver, secret: str) -> None:
    asset = {"id": "ast_1", "kind": "poster", "url": "/media/ast_1/poster.jpg"}
    payload = {
        "type": "project.file",
        "timestamp": "2026-12-03T11:21:07Z",
        "data": {**SNAPSHOT, "file": asset},
    }
    got = _deliver(receiver, "/file", secret, payload)
    assert verify(got.body, got.headers, secret).file == asset


def test_rotation_any_of_several_secrets(delivery: Received, secret: str) -> None:
    assert verify(delivery.body, delivery.headers, [_secret(), secret]).type == "project.completed"
    assert verify(delivery.body, delivery.headers, (secret,)).type == "project.completed"


def _reason(delivery: Received, secret: str | list[str], **changes: object) -> str:
    body = changes.pop("body", delivery.body)
    headers = changes.pop("headers", delivery.headers)
    with pytest.raises(WebhookVerificationError) as info:
        verify(body, headers, secret, **changes)  # type: ignore[arg-type]
    assert isinstance(info.value, standard.WebhookVerificationError)  # existing except clauses still catch it
    return info.value.reason


def test_a_wrong_secret_fails(delivery: Received) -> None:
    assert _reason(delivery, _secret()) == "bad_signature"
    assert _reason(delivery, [_secret(), _secret()]) == "bad_signature"


def test_a_tampered_body_fails(delivery: Received, secret: str) -> None:
    tampered = delivery.body.replace(b'"completed"', b'"cancelled"', 1)
    assert tampered != delivery.body
    assert _reason(delivery, secret, body=tampered) == "bad_signature"
    assert _reason(delivery, secret, body=delivery.body + b" ") == "bad_signature"


def test_tampered_headers_fail(delivery: Received, secret: str) -> None:
    other_id = {**delivery.headers, "webhook-id": "msg_other"}
    assert _reason(delivery, secret, headers=other_id) == "bad_signature"
    sent = int(delivery.headers["webhook-timestamp"])
    moved = {**delivery.headers, "webhook-timestamp": str(sent + 1)}
    assert _reason(delivery, secret, headers=moved) == "bad_signature"
    garbled = {**delivery.headers, "webhook-signature": "v1,not-base64 v2,x nonsense"}
    assert _reason(delivery, secret, headers=garbled) == "bad_signature"


def test_a_stale_or_future_timestamp_fails(delivery: Received, secret: str) -> None:
    sent = int(delivery.headers["webhook-timestamp"])
    later = sent + DEFAULT_TOLERANCE_S + 5
    assert _reason(delivery, secret, now=later) == "timestamp_too_old"
    assert _reason(delivery, secret, now=sent - DEFAULT_TOLERANCE_S - 5) == "timestamp_too_new"
    # A wider tolerance is the receiver's choice (a queue between the receiver and the check).
    assert (
        verify(delivery.body, delivery.headers, secret, now=later, tolerance=3600).type == "project.completed"
    )
    assert _reason(delivery, secret, now=time.time() + 60, tolerance=10) == "timestamp_too_old"


def test_a_missing_or_bad_header_fails(delivery: Received, secret: str) -> None:
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in delivery.headers.items() if k != name}
        assert _reason(delivery, secret, headers=headers) == "missing_header"
    not_seconds = {**delivery.headers, "webhook-timestamp": "yesterday"}
    assert _reason(delivery, secret, headers=not_seconds) == "bad_timestamp"


def test_a_signed_body_that_is_not_a_framecast_payload_fails(receiver: Receiver, secret: str) -> None:
    got = _deliver(receiver, "/other", secret, {"hello": "world"})
    assert _reason(got, secret) == "bad_payload"


def test_no_secret_or_a_broken_one_is_the_callers_mistake(delivery: Received) -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        verify(delivery.body, delivery.headers, [])
    with pytest.raises(ValueError, match="not a webhook secret"):
        verify(delivery.body, delivery.headers, "whsec_")
