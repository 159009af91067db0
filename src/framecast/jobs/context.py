"""What a task handler gets: its task and project, throttled progress, cancellation, temp files, storage."""

from __future__ import annotations

import contextvars
import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from framecast.domain.errors import Cancelled, NotFound, TaskFailed, Unavailable
from framecast.domain.models import JSON, Asset, Project, Task
from framecast.domain.status import Status
from framecast.engines.registry import EngineRegistry
from framecast.services import pipeline
from framecast.services.ports import Ledger, MediaStore
from framecast.settings import Settings

log = logging.getLogger(__name__)

#: Set when this worker process is shutting down and running tasks should hand their work back.
_HAND_BACK = threading.Event()


def request_hand_back() -> None:
    """Make every running task of this process stop at its next frame and go back to the queue."""
    _HAND_BACK.set()


class HandBack(Exception):
    """Raised inside a task when its worker is draining; the runner re-queues the task."""


def asset_id_for(task_id: str, kind: str, filename: str) -> str:
    """The same task always stores the same output under the same id, so a re-delivery overwrites in place."""
    return "ast_" + hashlib.sha256(f"{task_id}/{kind}/{filename}".encode()).hexdigest()[:20]


@dataclass
class TaskContext:
    project: Project
    task: Task
    ledger: Ledger
    media: MediaStore
    settings: Settings
    #: The engines a generate task calls (the runner's; None where only procedural projects run).
    engines: EngineRegistry | None = None
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cancelled = threading.Event()
        self._stop_watch = threading.Event()
        self._started = time.monotonic()
        self._last_progress = self._started
        self._reported = False
        self._progress_lost = False
        # When a progress write last found this attempt still running (it reads the same rows, under the
        # project's lock): the cancel watch skips its own read until that is a check interval old.
        self._confirmed_at = self._started
        self._tmp: Path | None = None
        self._fetched: dict[str, Path] = {}
        # In the task's logging context, so its records carry the task's ids.
        self._watcher = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._watch_cancel,),
            name="cancel-watch",
            daemon=True,
        )
        self._watcher.start()

    # -- cancellation ---------------------------------------------------------------------------------

    def _watch_cancel(self) -> None:
        beat_every = max(0.2, self.settings.heartbeat_timeout_s / 4)
        last_beat = time.monotonic()
        interval = self.settings.cancel_check_interval_s
        while not self._stop_watch.wait(interval):
            try:
                if time.monotonic() - self._confirmed_at < interval:
                    pass  # a progress write just checked
                elif not self._still_mine():
                    self._cancelled.set()
                    return
                if time.monotonic() - last_beat >= beat_every:
                    self.ledger.heartbeat(self.task.id, self.task.attempt)
                    last_beat = time.monotonic()
            except NotFound:
                self._cancelled.set()  # deleted
                return
            except Unavailable as exc:
                # A busy or unreachable database must not stop the render: the check runs again next
                # interval, and a heartbeat that stays silent too long lets the reconciler re-queue the task.
                log.debug("cancel check of %s skipped: %s", self.task.id, exc.message)
            except Exception:  # noqa: BLE001 - last resort: a bug here must not end cancel checks silently
                log.exception("cancel check of %s failed", self.task.id)

    def _still_mine(self) -> bool:
        with self.ledger.read() as tx:
            project = tx.project(self.project.id)
            task = tx.task(self.task.id)
        return (
            not project.status.terminal
            and task.attempt == self.task.attempt
            and task.status is Status.RUNNING
        )

    def should_stop(self) -> bool:
        """Checked by renderers every frame: True once the project was cancelled (or this attempt went
        stale), or the worker is draining (then ``HandBack`` is raised here so the task is re-queued)."""
        if _HAND_BACK.is_set():
            raise HandBack("the worker is shutting down")
        return self._cancelled.is_set()

    def check_cancelled(self) -> None:
        if _HAND_BACK.is_set():
            raise HandBack("the worker is shutting down")
        if self._cancelled.is_set():
            raise Cancelled("The project was cancelled.")

    # -- progress -------------------------------------------------------------------------------------

    def progress(self, frame: int, frames: int) -> None:
        """Report progress; persisted once every ``progress_interval_s`` of the task's run, and at the last
        frame only when nothing was reported before (a task shorter than the interval still reports once).

        The task's completion follows the last frame within milliseconds and carries progress 1 itself, so
        a write there, or at the first frame (the task's ``running`` status says as much), would add
        events and ledger work without telling a client anything: a 2 s chunk renders in about 0.3 s.
        """
        now = time.monotonic()
        if frame >= frames:
            if self._reported:
                return  # the completion says the rest
        elif now - self._last_progress < self.settings.progress_interval_s:
            return
        self._last_progress = now
        self._reported = True
        elapsed = now - self._started
        eta = (elapsed / frame) * (frames - frame) if frame > 0 else None
        try:
            with self.ledger.transaction() as tx:
                mine = pipeline.report_progress(
                    tx, self.task.id, self.task.attempt, frame=frame, frames=frames, eta_s=eta
                )
        except Unavailable as exc:
            # Progress is advisory: a database outage costs these reports, not the render. The outcome is
            # written when the task ends, and that write does not swallow the outage.
            if not self._progress_lost:
                log.warning("progress of %s not recorded: %s", self.task.id, exc.message)
            self._progress_lost = True
            return
        self._progress_lost = False
        if mine:
            self._confirmed_at = time.monotonic()
        else:
            self._cancelled.set()

    # -- files ----------------------------------------------------------------------------------------

    @property
    def tmp(self) -> Path:
        if self._tmp is None:
            self._tmp = self.media.temp_dir()
        return self._tmp

    def store(self, path: Path, *, kind: str, filename: str, mime: str, meta: JSON | None = None) -> Asset:
        asset_id = asset_id_for(self.task.id, kind, filename)
        key = f"{self.project.id}/{asset_id}/{filename}"
        size = self.media.put(path, key)
        return Asset(
            id=asset_id,
            kind=kind,
            filename=filename,
            key=key,
            mime=mime,
            size=size,
            owner=self.project.owner,
            project_id=self.project.id,
            task_id=self.task.id,
            meta=meta or {},
        )

    def put_internal(self, path: Path, key: str) -> None:
        """Store an intermediate file (a chunk, a soundtrack) that is not an asset."""
        self.media.put(path, f"{self.project.id}/{key}")

    def internal_path(self, key: str) -> Path:
        """A local file with an intermediate file's bytes (downloaded into ``tmp`` from remote storage)."""
        return self._fetch(f"{self.project.id}/{key}")

    def _fetch(self, key: str) -> Path:
        # A missing file is this task's failure; a bare NotFound would read as "project deleted".
        try:
            return self.media.fetch(key, self.tmp)
        except NotFound as exc:
            raise TaskFailed(
                f"A file this step needs is missing from storage ({key.rsplit('/', 1)[-1]}); retry the project.",
                code=pipeline.FILE_MISSING,
            ) from exc

    def delete_internal(self, key: str) -> None:
        self.media.delete(f"{self.project.id}/{key}")

    def asset_path(self, asset_id: str) -> Path:
        """Resolve an uploaded asset (images, music in timelines) of this project's owner to its file."""
        with self.ledger.read() as tx:
            asset = tx.asset(asset_id)
        if asset is None or asset.owner != self.project.owner:
            raise TaskFailed(f"The timeline uses file {asset_id!r}, which does not exist (upload it first).")
        if asset_id not in self._fetched:
            self._fetched[asset_id] = self._fetch(asset.key)
        return self._fetched[asset_id]

    def close(self) -> None:
        self._stop_watch.set()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
