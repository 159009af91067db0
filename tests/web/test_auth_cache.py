"""The Authenticator's memo of checked keys: a burst of requests with one key costs one ledger read (found in
bench/scale.py: 10,000 SSE subscribers opening with one key read the key 93 times in a 100 s connect phase,
about 4 reads per 5 s cache period instead of 1, because every request that missed before the first read
returned made its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from framecast.domain.errors import Unauthenticated, Unavailable
from framecast.domain.identity import ApiKey, Caller
from framecast.ledger.engine import make_engine
from framecast.ledger.migrate import upgrade
from framecast.ledger.repository import SqlLedger
from framecast.services.identity import DeliveryTokens, KeyService, Sessions
from framecast.settings import Settings
from framecast.web.auth import Authenticator, _Recent

THREADS = 40  # anyio's default thread pool, where the auth dependency runs


def _together(n: int, call: Callable[[], Any]) -> list[Any]:
    """``call`` from n threads released at the same instant; each one's result or exception."""
    start = threading.Barrier(n)
    out: list[Any] = [None] * n

    def one(i: int) -> None:
        start.wait()
        try:
            out[i] = call()
        except Exception as exc:  # noqa: BLE001 - collected for the test to look at
            out[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    return out


class SlowLookup:
    """A lookup that takes a while (a database under load) and counts its calls."""

    def __init__(self, result: Callable[[], Any], seconds: float = 0.05) -> None:
        self.calls = 0
        self.result = result
        self.seconds = seconds

    def __call__(self) -> Any:
        self.calls += 1
        time.sleep(self.seconds)
        return self.result()


def test_concurrent_misses_share_one_lookup() -> None:
    memo = _Recent(5.0)
    lookup = SlowLookup(lambda: Caller("ana"))
    results = _together(THREADS, lambda: memo.get("key:k", lookup))
    assert lookup.calls == 1
    assert results == [Caller("ana")] * THREADS
    assert memo.get("key:k", lookup) == Caller("ana") and lookup.calls == 1  # then remembered


def test_a_forgotten_entry_is_asked_again_even_when_its_lookup_was_running() -> None:
    memo = _Recent(5.0)
    lookup = SlowLookup(lambda: Caller("ana"))
    memo.get("session:s", lookup)
    memo.forget("session:s")  # signed out: the remembered answer goes
    assert memo.get("session:s", lookup) == Caller("ana") and lookup.calls == 2
    # Forgotten while a check runs (a request came just before the sign-out): that request gets the
    # answer it asked for, but the answer is not remembered for the requests after the sign-out.
    started, release = threading.Event(), threading.Event()

    def blocked() -> Caller:
        started.set()
        release.wait(10)
        return Caller("ana")

    memo.forget("session:s")
    worker = threading.Thread(target=lambda: memo.get("session:s", blocked))
    worker.start()
    assert started.wait(10)
    memo.forget("session:s")
    release.set()
    worker.join(10)
    assert memo.get("session:s", lookup) == Caller("ana") and lookup.calls == 3


def test_a_failed_lookup_reaches_every_waiter_and_is_not_remembered() -> None:
    def refuse() -> Any:
        raise Unauthenticated("The API key is not valid (unknown, revoked or mistyped).")

    memo = _Recent(5.0)
    lookup = SlowLookup(refuse)
    results = _together(THREADS, lambda: memo.get("key:bad", lookup))
    assert lookup.calls == 1
    assert all(isinstance(r, Unauthenticated) for r in results)
    assert len({id(r) for r in results}) == THREADS  # each thread raised its own instance
    assert {r.message for r in results} == {"The API key is not valid (unknown, revoked or mistyped)."}
    with pytest.raises(Unauthenticated):
        memo.get("key:bad", lookup)
    assert lookup.calls == 2  # a failure is never remembered


def test_an_outage_during_the_lookup_keeps_its_cause_for_the_waiters() -> None:
    def down() -> Any:
        try:
            raise ConnectionRefusedError("database down")
        except ConnectionRefusedError as exc:
            raise Unavailable("The database is unavailable.", code="database_down") from exc

    results = _together(8, lambda: _Recent(5.0).get("key:k", SlowLookup(down)))
    assert all(
        isinstance(r, Unavailable) and isinstance(r.__cause__, ConnectionRefusedError) for r in results
    )


def test_different_keys_do_not_wait_for_each_other() -> None:
    memo = _Recent(5.0)
    b_read = threading.Event()

    def read_a() -> Caller:
        assert b_read.wait(5), "the read of key b waited for the read of key a"
        return Caller("a")

    def read_b() -> Caller:
        b_read.set()
        return Caller("b")

    a = threading.Thread(target=lambda: memo.get("key:a", read_a))
    a.start()
    time.sleep(0.05)  # a's read is in progress
    assert memo.get("key:b", read_b) == Caller("b")
    a.join(timeout=10)
    assert memo.get("key:a", read_a) == Caller("a")


def test_an_entry_expires_from_its_lookup_not_its_last_use() -> None:
    memo = _Recent(0.3)
    lookup = SlowLookup(lambda: Caller("ana"), seconds=0.0)
    deadline = time.monotonic() + 0.45
    while time.monotonic() < deadline:  # used all the time: still read again once the time is up
        memo.get("key:k", lookup)
        time.sleep(0.01)
    assert lookup.calls == 2


class CountingLedger(SqlLedger):
    """The real ledger (SQLite), slowed down and counted where the Authenticator reads keys."""

    reads = 0

    def api_key(self, key_id: str) -> ApiKey | None:
        CountingLedger.reads += 1
        time.sleep(0.05)
        return super().api_key(key_id)


def test_a_burst_of_requests_with_one_key_reads_it_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    upgrade(engine)
    ledger = CountingLedger(engine)
    keys = KeyService(ledger)
    key = keys.create("ana")[1]
    auth = Authenticator(
        Settings(data_dir=tmp_path, auth="keys"), keys, Sessions(ledger, keys), DeliveryTokens(ledger)
    )
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/projects/prj_1/events",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {key}".encode())],
    }
    CountingLedger.reads = 0
    callers = _together(THREADS, lambda: auth.caller(Request(scope), allow_token=True))
    assert callers == [Caller("ana")] * THREADS
    assert CountingLedger.reads == 1
    engine.dispose()
