"""What ``framecast generate`` shows while it waits: one overall progress bar (Rich) in a terminal, a few
plain lines anywhere else (CI logs, pipes).

Both are fed :class:`framecast.client.WaitProgress` reports (the project snapshot's overall progress,
never going back, its queue position and an ETA) by ``Client.wait(on_progress=...)``.

>>> with progress_display() as show:                     # doctest: +SKIP
...     client.wait(project_id, on_progress=show)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from framecast.client.follow import WaitProgress

#: Plain output prints a line each time the progress passes another step of this many percent.
PLAIN_STEP_PERCENT = 10


class ProgressSink(Protocol):
    def __call__(self, report: WaitProgress) -> None: ...


def describe(report: WaitProgress) -> str:
    """The words in front of the bar.

    >>> describe(WaitProgress("queued", False, 0.0, 2, None, {}))
    'queued, 2 ahead'
    >>> describe(WaitProgress("running", False, 0.4, None, 12.0, {}))
    'rendering'
    """
    if report.status == "queued":
        if report.queue_position is None:
            return "queued"
        return "queued, next" if report.queue_position == 0 else f"queued, {report.queue_position} ahead"
    return "rendering" if report.status == "running" else report.status


def eta_text(report: WaitProgress) -> str:
    """``ETA 0:01:05`` once there is an estimate, ``ETA -:--:--`` before.

    >>> eta_text(WaitProgress("running", False, 0.5, None, 65.4, {}))
    'ETA 0:01:05'
    """
    if report.eta_s is None:
        return "ETA -:--:--"
    seconds = int(round(report.eta_s))
    return f"ETA {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class RichBar:
    """The one bar: ``rendering ━━━━━━━━╺━━━━━  62% ETA 0:00:12``, redrawn in place."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[eta]}"),
            console=console,
            # Redrawn when a report comes (a few times a second while rendering), not on a timer: nothing
            # on the line moves by itself.
            auto_refresh=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichBar:
        self._progress.start()
        self._task = self._progress.add_task("starting", total=100, eta="ETA -:--:--")
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def __call__(self, report: WaitProgress) -> None:
        if self._task is None:
            return
        self._progress.update(
            self._task,
            completed=round(report.progress * 100, 1),
            description=describe(report),
            eta=eta_text(report),
            refresh=True,
        )


class PlainLines:
    """For output that is not a terminal: a line when the status or queue position changes, and one per
    ``PLAIN_STEP_PERCENT`` of progress; never a carriage return or an escape code."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._said: tuple[str, int] | None = None

    def __enter__(self) -> PlainLines:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def __call__(self, report: WaitProgress) -> None:
        percent = int(report.progress * 100)
        said = (describe(report), percent // PLAIN_STEP_PERCENT)
        if said == self._said:
            return
        self._said = said
        line = f"  {said[0]}"
        if report.status != "queued":
            line += f" {percent:3d}%"
            if report.status == "running" and report.eta_s is not None:
                line += f"  {eta_text(report)}"
        self._out.write(line + "\n")
        self._out.flush()


@contextmanager
def progress_display(console: Console | None = None) -> Iterator[ProgressSink]:
    """The Rich bar when stderr is an interactive terminal (Rich's rules: ``TTY_COMPATIBLE``,
    ``TTY_INTERACTIVE``, ``FORCE_COLOR`` and ``COLUMNS`` are honoured), plain lines otherwise."""
    console = console or Console(stderr=True)
    display: RichBar | PlainLines = RichBar(console) if console.is_interactive else PlainLines(sys.stderr)
    with display:
        yield display
