"""Sending webhooks over HTTP: sign with Standard Webhooks, refuse non-public addresses, and connect to the
very address that was checked.

A name is resolved once per attempt; every address it resolves to must pass ``domain.webhooks``'s address
rule (one bad address refuses the lot: a name that answers both a public and a private address is how DNS
rebinding gets in). The request then goes to the checked IP itself, with the original ``Host`` header and,
for https, the original name as SNI and for certificate checks; httpx never resolves the name again, so
a DNS answer that changes between the check and the connect changes nothing. Connections are not kept
alive (a pooled connection to one IP must not serve another name), redirects are not followed, proxies
from the environment are not used, and every phase of a request has a 10 s timeout.

>>> sender = HttpWebhookSender(allow_private=False)                              # doctest: +SKIP
>>> sender.send(WebhookMessage("https://ci.example/hook", "msg_1", "{}", "whsec_…"))  # doctest: +SKIP
SendResult(status_code=204, latency_ms=41.2, error=None)
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus

import httpx
from standardwebhooks import Webhook

from framecast import __version__
from framecast.domain.errors import WebhookUrlNotAllowed
from framecast.domain.webhooks import address_refusal, parse_webhook_url
from framecast.services.ports import SendResult, WebhookMessage

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
USER_AGENT = f"Framecast-Webhooks/{__version__}"

Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, once each."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # an IPv6 zone id is not part of the address
        if address not in seen:
            seen.append(address)
    return seen


class HttpWebhookSender:
    """The ``WebhookSender`` over httpx. ``allow_private`` (FRAMECAST_WEBHOOK_ALLOW_PRIVATE) lifts the
    address rule, for tests and private networks; ``resolver`` and ``transport`` are seams for tests."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout_s: float = TIMEOUT_S,
        resolver: Resolver = resolve,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self._resolve = resolver
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            transport=transport,
            headers={"user-agent": USER_AGENT},
        )

    def close(self) -> None:
        self._client.close()

    def _addresses(self, url: str) -> tuple[httpx.URL, list[str]]:
        """The URL and the addresses to connect to, in order; WebhookUrlNotAllowed when any is refused."""
        try:
            target = parse_webhook_url(url)
            parsed = httpx.URL(url)
        except (ValueError, httpx.InvalidURL) as exc:
            raise WebhookUrlNotAllowed(f"{exc}.", field="url") from None
        host = parsed.raw_host.decode("ascii")
        try:
            addresses = self._resolve(host, target.port)
        except (OSError, UnicodeError) as exc:
            raise WebhookUrlNotAllowed(
                f"The webhook's host {host!r} does not resolve ({exc}).", field="url"
            ) from None
        if not addresses:
            raise WebhookUrlNotAllowed(f"The webhook's host {host!r} does not resolve.", field="url")
        if not self.allow_private:
            for address in addresses:
                reason = address_refusal(ipaddress.ip_address(address))
                if reason is not None:
                    shown = host if host == address else f"{host!r} resolves to {address}, which"
                    raise WebhookUrlNotAllowed(
                        f"The webhook URL is refused: {shown} is {reason}; webhooks go to public "
                        "addresses only (FRAMECAST_WEBHOOK_ALLOW_PRIVATE=true lifts this on a private "
                        "network).",
                        field="url",
                    )
        return parsed, addresses

    def check_url(self, url: str) -> None:
        if self.allow_private:
            try:
                parse_webhook_url(url)
            except ValueError as exc:
                raise WebhookUrlNotAllowed(f"{exc}.", field="url") from None
            return
        self._addresses(url)

    def send(self, message: WebhookMessage) -> SendResult:
        started = time.perf_counter()

        def elapsed_ms() -> float:
            return (time.perf_counter() - started) * 1000

        try:
            url, addresses = self._addresses(message.url)
        except WebhookUrlNotAllowed as exc:  # checked again: DNS may have changed since creation
            return SendResult(None, elapsed_ms(), exc.message)
        timestamp = datetime.now(UTC).replace(microsecond=0)
        headers = {
            "content-type": "application/json",
            "host": url.netloc.decode("ascii"),
            "webhook-id": message.message_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            # One "v1,…" per secret, space-separated (Standard Webhooks): during a rotation a receiver that
            # knows either the old or the new secret accepts.
            "webhook-signature": " ".join(
                Webhook(secret).sign(message.message_id, timestamp, message.body)
                for secret in (message.secret, *message.also)
            ),
        }
        extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
        body = message.body.encode()
        failure = "no address to connect to"
        for address in addresses:
            request = self._client.build_request(
                "POST", url.copy_with(host=address), content=body, headers=headers, extensions=extensions
            )
            try:
                response = self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                failure = f"could not connect to {address}: {exc or exc.__class__.__name__}"
                continue  # the name's next address, if it has one
            except httpx.TimeoutException:
                return SendResult(None, elapsed_ms(), f"no answer within {self.timeout_s:g} s")
            except httpx.HTTPError as exc:
                return SendResult(None, elapsed_ms(), f"{exc.__class__.__name__}: {exc}")
            try:
                status = response.status_code
            finally:
                response.close()  # the body is not read: a receiver's answer is its status
            latency = elapsed_ms()
            if 200 <= status < 300:
                return SendResult(status, latency)
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = ""
            return SendResult(status, latency, f"HTTP {status} {phrase}".rstrip())
        return SendResult(None, elapsed_ms(), failure)
