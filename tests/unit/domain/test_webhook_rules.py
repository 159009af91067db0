"""The pure webhook rules: which events a log event stands for, which URLs and addresses may receive, and
the retry schedule (its shape, its jitter, its day, its scale)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from framecast.domain.models import Event
from framecast.domain.webhooks import (
    DEFAULT_EVENTS,
    GIVE_UP_AFTER_S,
    address_allowed,
    address_refusal,
    normalise_events,
    parse_webhook_url,
    retry_delay_s,
    webhook_event_for,
)

T = datetime(2026, 1, 1, tzinfo=UTC)


def _event(type_: str, **data: object) -> Event:
    return Event(project_id="prj_1", seq=1, type=type_, data=dict(data), ts=T)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_event("project_status", status="running"), "started"),
        (_event("project_status", status="completed"), "completed"),
        (_event("project_status", status="failed"), "failed"),
        (_event("project_status", status="cancelled"), "cancelled"),
        (_event("file", asset={"id": "ast_1"}), "file"),
        (_event("project_status", status="queued"), None),
        (_event("task_status", status="running"), None),
        (_event("render_progress", progress=0.5), None),
        (_event("render_result", object={}), None),
    ],
)
def test_log_events_map_to_webhook_events(event: Event, expected: str | None) -> None:
    found = webhook_event_for(event)
    assert (found.value if found else None) == expected
    if found:
        assert found.type == f"project.{expected}"


def test_events_default_to_the_three_endings_and_are_stored_once_each_in_order() -> None:
    assert normalise_events(None) == ["completed", "failed", "cancelled"] == [e.value for e in DEFAULT_EVENTS]
    assert normalise_events(["file", "started", "file"]) == ["file", "started"]
    with pytest.raises(ValueError):
        normalise_events(["finished"])


@pytest.mark.parametrize(
    "url",
    [
        "https://ci.example/hook",
        "http://ci.example:8080/a?b=1",
        "HTTPS://CI.EXAMPLE/x",
        "http://[2001:db8::1]/",
    ],
)
def test_http_and_https_urls_are_accepted(url: str) -> None:
    target = parse_webhook_url(url)
    assert target.scheme in ("http", "https") and target.host


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://ci.example/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https:///nohost", "host"),
        ("https://ci.example/a b", "spaces"),
        ("https://ci.example:99999/", "not a valid URL"),
        ("https://ci.example/" + "a" * 2000, "2000"),
    ],
)
def test_other_urls_are_refused_with_a_reason(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_webhook_url(url)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # the metadata service
        "169.254.1.1",
        "fd00:ec2::254",  # AWS's IPv6 metadata service
        "fe80::1",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "239.255.255.250",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "192.0.2.10",  # documentation
        "240.0.0.1",  # reserved
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not address_allowed(ip)
    assert address_refusal(ip)


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address))


def test_the_metadata_address_is_named_as_such() -> None:
    assert address_refusal(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"


def _schedule(scale: float = 1.0, rand: float = 0.5) -> list[float]:
    """The delays of a delivery that fails every time, until the schedule gives up."""
    delays: list[float] = []
    elapsed = 0.0
    while (delay := retry_delay_s(len(delays) + 1, elapsed, scale=scale, rand=lambda: rand)) is not None:
        delays.append(delay)
        elapsed += delay
        assert len(delays) < 100
    return delays


def test_the_schedule_is_5s_30s_2min_10min_1h_then_every_3h_for_a_day() -> None:
    delays = _schedule()
    assert delays[:5] == [5, 30, 120, 600, 3600]
    assert set(delays[5:-1]) == {3 * 3600}
    assert 0 < delays[-1] <= 3 * 3600  # the last one lands at the day's end
    assert sum(delays) == pytest.approx(GIVE_UP_AFTER_S)
    assert len(delays) + 1 == 14  # attempts in all, the first one included


def test_jitter_spreads_each_delay_by_at_most_a_fifth() -> None:
    assert retry_delay_s(1, 0.0, rand=lambda: 0.0) == pytest.approx(4.0)
    assert retry_delay_s(1, 0.0, rand=lambda: 1.0) == pytest.approx(6.0)
    assert retry_delay_s(5, 0.0, rand=lambda: 0.0) == pytest.approx(2880.0)
    low, high = _schedule(rand=0.0), _schedule(rand=1.0)
    assert sum(low) == pytest.approx(GIVE_UP_AFTER_S) == sum(high)


def test_the_scale_shrinks_the_whole_schedule_day_included() -> None:
    small = _schedule(scale=0.001)
    assert small == pytest.approx([d * 0.001 for d in _schedule()])
    assert sum(small) == pytest.approx(GIVE_UP_AFTER_S * 0.001)


def test_past_the_day_there_is_no_next_attempt() -> None:
    assert retry_delay_s(3, GIVE_UP_AFTER_S, rand=lambda: 0.5) is None
    assert retry_delay_s(3, GIVE_UP_AFTER_S + 1, rand=lambda: 0.5) is None
