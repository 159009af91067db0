"""Who is asking: the caller of a request, API keys, and what a delivery token grants.

Every route and transport turns its credentials into one ``Caller``; services decide what a caller may see
with ``Caller.owner_filter`` and ``Caller.may_read``, so there is one owner check, not one per route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from framecast.domain.models import utcnow


class AuthMode(StrEnum):
    """``FRAMECAST_AUTH``: how a request says who it is."""

    NONE = "none"  # one owner, no sign-in, loopback only
    KEYS = "keys"  # API keys (Authorization: Bearer, or the page's session cookie)
    PROXY = "proxy"  # an identity-aware proxy sets the owner header, trusted from its addresses only


@dataclass(frozen=True)
class Caller:
    """The identity a request was made with.

    ``project_id`` is set for a delivery token: such a caller reads that one project (snapshot, events,
    its files) and nothing else, and can change nothing. An admin reads every owner's projects.

    >>> Caller("ana").owner_filter()
    'ana'
    >>> Caller("ops", admin=True).owner_filter() is None
    True
    """

    owner: str
    admin: bool = False
    project_id: str | None = None

    def owner_filter(self) -> str | None:
        """The owner whose things this caller sees, or None for all owners (an admin)."""
        return None if self.admin else self.owner

    def may_read(self, project_id: str) -> bool:
        return self.project_id is None or self.project_id == project_id

    @property
    def read_only(self) -> bool:
        """A delivery token: reads one project, changes nothing."""
        return self.project_id is not None


@dataclass
class ApiKey:
    """A stored API key: only a hash of its secret is kept (the key is shown once, when made)."""

    id: str
    owner: str
    secret_hash: str
    label: str = ""
    admin: bool = False
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
