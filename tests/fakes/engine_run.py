"""An in-memory EngineRun for engine tests: a dict for the checkpoint, a list for progress, an Event for
cancel, and a hook after each progress report (to cancel or crash mid-run)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from framecast.domain.errors import Cancelled


@dataclass
class FakeRun:
    tmp: Path
    saved: dict[str, str] = field(default_factory=dict)
    progressed: list[tuple[int, int]] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)
    #: Called after each progress report (to cancel or crash mid-run).
    on_progress: Callable[[FakeRun], None] | None = None

    def progress(self, done: int, total: int) -> None:
        self.progressed.append((done, total))
        if self.on_progress is not None:
            self.on_progress(self)

    def should_stop(self) -> bool:
        return self.cancelled.is_set()

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled("The project was cancelled.")

    def checkpoint(self) -> dict[str, str]:
        return dict(self.saved)

    def record(self, key: str, value: str) -> None:
        self.saved[key] = value


def cancel_after(step: int) -> Callable[[FakeRun], None]:
    """An ``on_progress`` that cancels the run once step ``step`` is reported."""

    def hook(run: FakeRun) -> None:
        if run.progressed[-1][0] == step:
            run.cancelled.set()

    return hook
