"""The HTTP sender against a real receiver on a real socket: Standard Webhooks signatures that the
standardwebhooks package verifies (and a wrong secret does not), the address rule at check and at send
time, connecting to the checked address, no redirects, the timeout."""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from framecast.client.webhooks import verify
from framecast.domain.errors import WebhookUrlNotAllowed
from framecast.services.ports import WebhookMessage
from framecast.webhooks.http import HttpWebhookSender
from tests.conftest import IN_CI
from tests.support.receiver import Receiver, running_receiver

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
BODY = '{"type":"project.completed","timestamp":"2026-01-01T00:00:00.000Z","data":{"id":"prj_1","é":"ü"}}'


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def open_sender() -> Iterator[HttpWebhookSender]:
    sender = HttpWebhookSender(allow_private=True)
    yield sender
    sender.close()


def test_a_delivery_is_signed_so_standardwebhooks_verifies_it(
    receiver: Receiver, open_sender: HttpWebhookSender
) -> None:
    result = open_sender.send(WebhookMessage(receiver.url("/hook"), "msg_1", BODY, SECRET))
    assert (result.status_code, result.error, result.ok) == (204, None, True)
    assert result.latency_ms > 0
    (got,) = receiver.at("/hook")
    assert got.body == BODY.encode()
    assert got.headers["webhook-id"] == "msg_1"
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.headers["content-type"] == "application/json"
    assert got.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert got.verify(SECRET)["data"]["é"] == "ü"  # type: ignore[index]


def test_during_a_rotation_each_secret_signs_and_a_receiver_knowing_either_accepts(
    receiver: Receiver, open_sender: HttpWebhookSender
) -> None:
    new, old = SECRET, "whsec_" + base64.b64encode(os.urandom(32)).decode()
    open_sender.send(WebhookMessage(receiver.url("/hook"), "msg_1", BODY, new, (old,)))
    (got,) = receiver.at("/hook")
    signatures = got.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert got.verify(new) == got.verify(old)  # standardwebhooks, with one secret each
    assert verify(got.body, got.headers, old).id == verify(got.body, got.headers, [new]).id == "msg_1"
    with pytest.raises(WebhookVerificationError):
        got.verify("whsec_" + base64.b64encode(os.urandom(32)).decode())


def test_a_wrong_secret_fails_verification(receiver: Receiver, open_sender: HttpWebhookSender) -> None:
    open_sender.send(WebhookMessage(receiver.url("/hook"), "msg_1", BODY, SECRET))
    (got,) = receiver.at("/hook")
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(WebhookVerificationError):
        got.verify(other)
    tampered = type(got)(got.path, got.headers, got.body.replace(b"prj_1", b"prj_2"))
    with pytest.raises(WebhookVerificationError):
        tampered.verify(SECRET)


def test_a_failing_answer_is_a_result_with_its_status(
    receiver: Receiver, open_sender: HttpWebhookSender
) -> None:
    receiver.script("/down", [503])
    result = open_sender.send(WebhookMessage(receiver.url("/down"), "msg_1", BODY, SECRET))
    assert (result.status_code, result.error, result.ok) == (503, "HTTP 503 Service Unavailable", False)


def test_redirects_are_not_followed(receiver: Receiver, open_sender: HttpWebhookSender) -> None:
    receiver.script("/moved", [302])
    result = open_sender.send(WebhookMessage(receiver.url("/moved"), "msg_1", BODY, SECRET))
    assert (result.status_code, result.error) == (302, "HTTP 302 Found")
    assert receiver.at("/redirected") == []


def test_a_receiver_that_does_not_answer_in_time_is_a_timeout(receiver: Receiver) -> None:
    receiver.delay_s = 1.0
    sender = HttpWebhookSender(allow_private=True, timeout_s=0.2)
    try:
        result = sender.send(WebhookMessage(receiver.url("/slow"), "msg_1", BODY, SECRET))
    finally:
        sender.close()
    assert (result.status_code, result.error) == (None, "no answer within 0.2 s")


def test_nothing_listening_is_a_connect_error(open_sender: HttpWebhookSender) -> None:
    from framecast.client.local import free_port

    result = open_sender.send(WebhookMessage(f"http://127.0.0.1:{free_port()}/", "msg_1", BODY, SECRET))
    assert result.status_code is None and result.error and result.error.startswith("could not connect")


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.0.0.1", "[::1]", "2130706433", "[::ffff:127.0.0.1]"],
)
def test_loopback_by_any_name_is_refused_at_check_and_at_send(receiver: Receiver, host: str) -> None:
    sender = HttpWebhookSender(allow_private=False)
    url = receiver.url("/private", host=host)
    try:
        with pytest.raises(WebhookUrlNotAllowed) as refused:
            sender.check_url(url)
        result = sender.send(WebhookMessage(url, "msg_1", BODY, SECRET))
    finally:
        sender.close()
    assert refused.value.code == "webhook_url_not_allowed"
    assert "loopback" in refused.value.message and "FRAMECAST_WEBHOOK_ALLOW_PRIVATE" in refused.value.message
    assert result.status_code is None and result.error and "loopback" in result.error
    assert receiver.at("/private") == []  # nothing was sent


@pytest.mark.parametrize("url", ["ftp://example.com/", "http://169.254.169.254/latest/meta-data/"])
def test_other_schemes_and_the_metadata_service_are_refused(url: str) -> None:
    sender = HttpWebhookSender(allow_private=False)
    try:
        with pytest.raises(WebhookUrlNotAllowed):
            sender.check_url(url)
        assert sender.send(WebhookMessage(url, "msg_1", BODY, SECRET)).status_code is None
    finally:
        sender.close()


def test_the_override_lets_localhost_through(receiver: Receiver, open_sender: HttpWebhookSender) -> None:
    url = receiver.url("/private", host="localhost")
    open_sender.check_url(url)
    assert open_sender.send(WebhookMessage(url, "msg_1", BODY, SECRET)).ok
    (got,) = receiver.at("/private")
    assert got.headers["host"] == f"localhost:{receiver.port}"  # the name, though the IP was dialled


def test_a_name_that_changes_to_a_private_address_after_the_check_is_refused_at_send(
    receiver: Receiver,
) -> None:
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])  # public at creation, loopback at send time
    sender = HttpWebhookSender(allow_private=False, resolver=lambda host, port: next(answers))
    url = receiver.url("/rebind", host="rebind.example")
    try:
        sender.check_url(url)
        result = sender.send(WebhookMessage(url, "msg_1", BODY, SECRET))
    finally:
        sender.close()
    assert result.status_code is None and result.error and "127.0.0.1" in result.error
    assert receiver.at("/rebind") == []


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    sender = HttpWebhookSender(resolver=lambda host, port: ["93.184.215.14", "10.0.0.7"])
    try:
        with pytest.raises(WebhookUrlNotAllowed, match="10.0.0.7"):
            sender.check_url("https://mixed.example/hook")
    finally:
        sender.close()


def test_the_connection_goes_to_the_checked_address_not_a_new_lookup(receiver: Receiver) -> None:
    """The resolver is asked once per send; httpx dials the address it returned (here the receiver's),
    under a name that no DNS knows, with that name in Host."""
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    sender = HttpWebhookSender(allow_private=True, resolver=resolver)
    try:
        result = sender.send(
            WebhookMessage(receiver.url("/pinned", host="nowhere.invalid"), "m", BODY, SECRET)
        )
    finally:
        sender.close()
    assert result.ok and calls == ["nowhere.invalid"]
    (got,) = receiver.at("/pinned")
    assert got.headers["host"] == f"nowhere.invalid:{receiver.port}"


def test_an_unresolvable_name_is_refused() -> None:
    sender = HttpWebhookSender()
    try:
        with pytest.raises(WebhookUrlNotAllowed, match="does not resolve"):
            sender.check_url("https://no-such-host.invalid/hook")
    finally:
        sender.close()


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.test (and only that name)."""
    if shutil.which("openssl") is None:
        if IN_CI:
            pytest.fail("openssl is not installed, and CI must test the TLS path")
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=hooks.test",
            "-addext",
            "subjectAltName=DNS:hooks.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_dials_the_checked_ip_but_checks_the_certificate_of_the_name(
    tls_files: tuple[Path, Path],
) -> None:
    cert, key = tls_files
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    with running_receiver(tls=server_ctx) as receiver:
        sender = HttpWebhookSender(
            allow_private=True,
            resolver=lambda host, port: ["127.0.0.1"],
            transport=httpx.HTTPTransport(verify=client_ctx),
        )
        try:
            good = sender.send(WebhookMessage(receiver.url("/tls", host="hooks.test"), "m1", BODY, SECRET))
            wrong = sender.send(WebhookMessage(receiver.url("/tls", host="other.test"), "m2", BODY, SECRET))
        finally:
            sender.close()
        assert good.ok, good
        assert wrong.status_code is None and wrong.error and "certificate" in wrong.error.lower()
        (got,) = receiver.at("/tls")  # only the request whose name the certificate carries
        assert got.headers["host"] == f"hooks.test:{receiver.port}" and got.verify(SECRET)
