"""In-memory fakes of the ports in ``framecast.services.ports``, for unit tests of the services and jobs.

Each reproduces the observable semantics of the real adapter (``tests/fakes/test_ledger_contract.py`` holds
the ledger fake to the SQL one); ``tests/fakes/test_protocols.py`` is type-checked with ``mypy --strict``
so each stays a structural match of its Protocol.
"""

from __future__ import annotations

from tests.fakes.events import FakeEventHub, FakeSubscription
from tests.fakes.ledger import FakeChangeProbe, FakeLedger, FakeLedgerSession, IntegrityViolation
from tests.fakes.media import FakeByteStream, FakeMediaStore
from tests.fakes.probe import FakeMediaProbe
from tests.fakes.queue import FakeJobQueue, SentMessage
from tests.fakes.webhooks import FakeWebhookSender, FakeWebhookStore

__all__ = [
    "FakeByteStream",
    "FakeChangeProbe",
    "FakeEventHub",
    "FakeJobQueue",
    "FakeLedger",
    "FakeLedgerSession",
    "FakeMediaProbe",
    "FakeMediaStore",
    "FakeSubscription",
    "IntegrityViolation",
    "FakeWebhookSender",
    "FakeWebhookStore",
    "SentMessage",
]
