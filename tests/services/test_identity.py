"""API keys and delivery tokens over the real ledger (SQLite and Postgres)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from framecast.domain.errors import InvalidInput, NotFound, Unauthenticated
from framecast.domain.identity import Caller
from framecast.ledger.repository import SqlLedger
from framecast.services.identity import DeliveryTokens, KeyService


def test_a_key_is_shown_once_stored_hashed_and_authenticates_its_owner(ledger: SqlLedger) -> None:
    keys = KeyService(ledger)
    record, secret = keys.create("ana", label="laptop")
    assert secret.startswith("fc_") and record.id.removeprefix("key_") in secret
    stored = ledger.api_key(record.id)
    assert stored is not None and secret not in stored.secret_hash and stored.label == "laptop"
    assert keys.authenticate(secret) == Caller(owner="ana", admin=False)
    admin_key, admin_secret = keys.create("ops", admin=True)
    assert keys.authenticate(admin_secret) == Caller(owner="ops", admin=True)
    assert [k.id for k in keys.list()] == [record.id, admin_key.id]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # wrong secret, right id
        lambda s: "fc_" + "0" * 20 + s[23:],  # unknown id
        lambda s: s[:10],  # truncated
        lambda s: "",
        lambda s: s.replace("fc_", "FC_"),
        lambda s: s + "x",
    ],
)
def test_a_mistyped_or_foreign_key_is_refused_with_one_answer(ledger: SqlLedger, mangle: object) -> None:
    keys = KeyService(ledger)
    _, secret = keys.create("ana")
    with pytest.raises(Unauthenticated) as caught:
        keys.authenticate(mangle(secret))  # type: ignore[operator]
    assert caught.value.code == "unauthenticated"
    assert "not valid" in caught.value.message


def test_a_revoked_key_stops_working_and_revoking_twice_is_harmless(ledger: SqlLedger) -> None:
    keys = KeyService(ledger)
    record, secret = keys.create("ana")
    keys.revoke(record.id)
    with pytest.raises(Unauthenticated):
        keys.authenticate(secret)
    again = keys.revoke(record.id)
    assert again.revoked_at is not None
    with pytest.raises(NotFound):
        keys.revoke("key_missing")


@pytest.mark.parametrize("owner", ["", "a b", "x" * 121, "-lead", "ünï", "alice\n", "alice\nbob"])
def test_owner_names_are_checked(ledger: SqlLedger, owner: str) -> None:
    with pytest.raises(InvalidInput):
        KeyService(ledger).create(owner)


def test_a_token_reads_one_project_until_it_expires(ledger: SqlLedger) -> None:
    tokens = DeliveryTokens(ledger)
    issued = tokens.issue("prj_1", "ana", ttl_s=60)
    caller = tokens.verify(issued.token)
    assert caller == Caller(owner="ana", project_id="prj_1")
    assert caller.read_only and caller.may_read("prj_1") and not caller.may_read("prj_2")
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(issued.token, now=issued.expires_at + timedelta(seconds=1))


def test_every_replica_shares_the_signing_key(ledger: SqlLedger) -> None:
    issued = DeliveryTokens(ledger).issue("prj_1", "ana")
    # A second process on the same ledger (a fresh DeliveryTokens reads the stored key) accepts it.
    assert DeliveryTokens(ledger).verify(issued.token).project_id == "prj_1"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.replace("fct_", ""),
        lambda t: "fct_" + "e30." + t.rsplit(".", 1)[-1],  # another payload ({}) under the old signature
        lambda t: t + "." * 1000,
    ],
)
def test_a_tampered_token_is_refused(ledger: SqlLedger, mangle: object) -> None:
    issued = DeliveryTokens(ledger).issue("prj_1", "ana")
    with pytest.raises(Unauthenticated):
        DeliveryTokens(ledger).verify(mangle(issued.token))  # type: ignore[operator]


@pytest.mark.parametrize("ttl", [0, -1, 24 * 3600 + 1])
def test_token_lifetimes_are_bounded(ledger: SqlLedger, ttl: int) -> None:
    with pytest.raises(InvalidInput):
        DeliveryTokens(ledger).issue("prj_1", "ana", ttl_s=ttl)
