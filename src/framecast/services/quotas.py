"""Limits on what one owner, and the whole service, may ask for; checked when a project is submitted,
inside the transaction that creates it, so nothing already accepted is ever refused or slowed.

Over a limit: ``QuotaExceeded`` (429 ``quota_exceeded`` with ``Retry-After``), with a message that names the
limit and the current use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from framecast.domain.errors import QuotaExceeded
from framecast.domain.models import OwnerUsage, utcnow
from framecast.services.ports import LedgerSession

DAY = timedelta(days=1)
#: When a slot for an active project frees up is unknown; ask again after this.
ACTIVE_RETRY_S = 30
#: Storage frees up when the owner deletes videos (or retention removes them).
STORAGE_RETRY_S = 3600


@dataclass(frozen=True)
class Quotas:
    """The limits; None means no limit. Per owner: ``active`` (queued + running projects),
    ``seconds_per_day`` (seconds of video asked for in any 24 hours), ``storage_mb`` (stored files);
    service-wide: ``queue_limit`` (queued + running projects of everyone)."""

    active: int | None = None
    seconds_per_day: float | None = None
    storage_mb: float | None = None
    queue_limit: int | None = None

    @property
    def any(self) -> bool:
        return any(
            v is not None for v in (self.active, self.seconds_per_day, self.storage_mb, self.queue_limit)
        )

    def check(self, tx: LedgerSession, owner: str, seconds: float, *, now: datetime | None = None) -> None:
        """Raise QuotaExceeded if a new project of ``seconds`` by ``owner`` would pass a limit."""
        if not self.any:
            return
        now = now or utcnow()
        if self.queue_limit is not None:
            queued = tx.active_count()
            if queued >= self.queue_limit:
                raise QuotaExceeded(
                    f"The service is at its queue limit ({queued} of {self.queue_limit} projects queued or "
                    "running); try again shortly.",
                    retry_after_s=ACTIVE_RETRY_S,
                    limit="queue_limit",
                )
        usage = tx.owner_usage(owner, now - DAY)
        self._active(usage)
        self._storage(usage)
        self._seconds(usage, seconds, now)

    def _active(self, usage: OwnerUsage) -> None:
        if self.active is not None and usage.active >= self.active:
            raise QuotaExceeded(
                f"You have {usage.active} project{'' if usage.active == 1 else 's'} queued or running, the most allowed at once "
                f"(FRAMECAST_QUOTA_ACTIVE={self.active}); wait for one to finish or cancel one.",
                retry_after_s=ACTIVE_RETRY_S,
                limit="active",
            )

    def _storage(self, usage: OwnerUsage) -> None:
        if self.storage_mb is None:
            return
        used_mb = usage.storage_bytes / 1_000_000
        if used_mb >= self.storage_mb:
            raise QuotaExceeded(
                f"Your files take {used_mb:.1f} MB of the {self.storage_mb:g} MB you may store "
                "(FRAMECAST_QUOTA_STORAGE_MB); delete videos you no longer need.",
                retry_after_s=STORAGE_RETRY_S,
                limit="storage_mb",
            )

    def _seconds(self, usage: OwnerUsage, seconds: float, now: datetime) -> None:
        limit = self.seconds_per_day
        if limit is None:
            return
        used = sum(s for _, s in usage.recent)
        if used + seconds <= limit:
            return
        if seconds > limit:
            raise QuotaExceeded(
                f"This video is {seconds:g} s long; at most {limit:g} s of video a day may be made "
                "(FRAMECAST_QUOTA_SECONDS_PER_DAY). Make it shorter.",
                retry_after_s=int(DAY.total_seconds()),
                limit="seconds_per_day",
            )
        raise QuotaExceeded(
            f"You asked for {used:g} s of video in the last 24 hours; with this {seconds:g} s video that "
            f"would pass the {limit:g} s a day allowed (FRAMECAST_QUOTA_SECONDS_PER_DAY).",
            retry_after_s=_seconds_until_room(usage.recent, used + seconds - limit, now),
            limit="seconds_per_day",
        )


def _seconds_until_room(recent: tuple[tuple[datetime, float], ...], excess: float, now: datetime) -> int:
    """How long until enough of the oldest projects leave the 24-hour window to free ``excess`` seconds."""
    freed = 0.0
    for created, seconds in recent:
        freed += seconds
        if freed >= excess:
            return max(1, int((created + DAY - now).total_seconds()) + 1)
    return int(DAY.total_seconds())
