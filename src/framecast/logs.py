"""Log records that say which request, project, task and owner they belong to, as text or JSON lines.

The ids live in one context variable. The web app's request-id middleware opens a scope per request
(``enter(request_id=…)``), the caller's identity adds ``owner`` and ``project_id`` to it once known
(``annotate``), and the task runner opens one per task (``bind(task_id=…)``, then the project and owner).
A scope is a dict shared by everything that runs in that context, so ``annotate`` inside a thread the
request handed work to (FastAPI runs sync dependencies in a pool) is seen by the request's later lines too.

``configure(level, fmt)`` installs the one handler on stderr: ``text`` is the readable default, ``json``
writes one object per line: ``{"ts", "level", "logger", "message", "request_id", "project_id", "task_id",
"owner", ...}`` (ids only where they apply).

>>> with bind(request_id="req_1"):                       # doctest: +SKIP
...     annotate(project_id="prj_1")
...     logging.getLogger("x").info("created")   # carries request_id and project_id
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: The ids a record may carry, in the order they are shown.
IDS = ("request_id", "project_id", "task_id", "owner")

_ids: ContextVar[dict[str, str] | None] = ContextVar("framecast_log_ids", default=None)

#: Libraries whose INFO lines are noise at every start (alembic announces each of its plugins and its
#: DDL mode); their warnings still show. ``ledger.migrate`` says itself when the schema changed.
QUIET_LOGGERS = ("alembic",)


def current() -> dict[str, str]:
    """The ids of the current context (a copy; empty outside any scope)."""
    return dict(_ids.get() or {})


@contextmanager
def bind(**ids: str | None) -> Iterator[dict[str, str]]:
    """A new scope holding the enclosing scope's ids plus ``ids`` (None values are left out)."""
    merged = {**(_ids.get() or {}), **{k: v for k, v in ids.items() if v}}
    token = _ids.set(merged)
    try:
        yield merged
    finally:
        _ids.reset(token)


def enter(**ids: str | None) -> dict[str, str]:
    """Start a fresh scope holding only ``ids`` that lasts as long as the current context (an ASGI
    request's task): for code that cannot wrap the work in ``with`` (a 500 is answered after the request
    middleware's frame has gone). Fresh, so nothing of an earlier request run in the same context leaks."""
    fresh = {k: v for k, v in ids.items() if v}
    _ids.set(fresh)
    return fresh


def annotate(**ids: str | None) -> None:
    """Add ids to the current scope in place (no-op outside a scope), so every later record of it, in
    any thread it shares, carries them."""
    held = _ids.get()
    if held is None:
        return
    for key, value in ids.items():
        if value:
            held[key] = value


class ContextFilter(logging.Filter):
    """Copies the current ids onto each record (``record.request_id`` …), and ``record.ids``, a short
    `` [request_id=… project_id=…]`` suffix for the text format ("" when there are none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _ids.get() or {}
        for key in IDS:
            if not hasattr(record, key):
                setattr(record, key, ids.get(key))
        shown = [f"{key}={getattr(record, key)}" for key in IDS if getattr(record, key)]
        record.ids = f" [{' '.join(shown)}]" if shown else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601 with milliseconds), level, logger, message, pid, the
    ids that apply, and ``exc`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key in IDS:
            value = getattr(record, key, None)
            if value:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s%(ids)s"


def configure(level: str, fmt: str = "text") -> None:
    """Send every record to stderr in ``fmt`` (``text`` or ``json``) from ``level`` up; replaces handlers
    set before (uvicorn's too: serve runs it with ``log_config=None`` so its lines come here)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
