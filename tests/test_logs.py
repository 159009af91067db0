"""framecast.logs: records carry the ids of their scope (across the threads a request hands work to), the
JSON format is one parseable object per line, the text format stays one readable line, alembic is quiet."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from framecast import logs
from tests.support.server import run_async


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("framecast.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield stream, handler
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_ids_that_apply(captured: tuple[io.StringIO, logging.Handler]) -> None:
    stream, _ = captured
    log = logging.getLogger("framecast.test_logs")
    log.info("outside")
    with logs.bind(task_id="tsk_1"):
        logs.annotate(project_id="prj_1", owner="ana", request_id=None)
        log.warning("inside %s", "a task")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    log.info("after")
    outside, inside, failed, after = _lines(stream)
    assert set(outside) == {"ts", "level", "logger", "message", "pid"}
    assert outside["logger"] == "framecast.test_logs" and outside["level"] == "INFO"
    assert str(outside["ts"]).endswith("Z")
    assert inside["message"] == "inside a task" and inside["level"] == "WARNING"
    assert (inside["task_id"], inside["project_id"], inside["owner"]) == ("tsk_1", "prj_1", "ana")
    assert "request_id" not in inside
    assert "ValueError: boom" in str(failed["exc"]) and failed["task_id"] == "tsk_1"
    assert "task_id" not in after


def test_annotate_in_a_worker_thread_is_seen_by_the_request(
    captured: tuple[io.StringIO, logging.Handler],
) -> None:
    stream, _ = captured
    log = logging.getLogger("framecast.test_logs")

    async def request() -> None:
        logs.enter(request_id="req_1")
        await asyncio.to_thread(logs.annotate, owner="bo", project_id="prj_2")  # as FastAPI's sync deps
        log.info("access line")

    threading.Thread(target=asyncio.run, args=(request(),)).start()
    for _ in range(200):
        if stream.getvalue():
            break
        threading.Event().wait(0.01)
    (line,) = _lines(stream)
    assert (line["request_id"], line["owner"], line["project_id"]) == ("req_1", "bo", "prj_2")


def test_enter_starts_fresh_so_nothing_of_an_earlier_request_leaks() -> None:
    async def two_requests() -> dict[str, str]:
        logs.enter(request_id="req_a")
        logs.annotate(owner="first")
        logs.enter(request_id="req_b")
        return logs.current()

    assert run_async(two_requests) == {"request_id": "req_b"}


def test_the_text_format_is_one_line_with_the_ids_at_the_end() -> None:
    record = logging.LogRecord("framecast.x", logging.INFO, __file__, 1, "run %s", ("plan",), None)
    with logs.bind(task_id="tsk_9", project_id="prj_9"):
        logs.ContextFilter().filter(record)
    line = logging.Formatter(logs.TEXT_FORMAT).format(record)
    assert line.endswith(f"INFO framecast.x [{record.process}] run plan [project_id=prj_9 task_id=tsk_9]")
    plain = logging.LogRecord("framecast.x", logging.INFO, __file__, 1, "hello", (), None)
    logs.ContextFilter().filter(plain)
    assert logging.Formatter(logs.TEXT_FORMAT).format(plain).endswith("hello")


def test_configure_quiets_alembic_but_keeps_its_warnings() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure("INFO", "json")
        alembic = logging.getLogger("alembic.runtime.plugins")
        assert not alembic.isEnabledFor(logging.INFO)
        assert alembic.isEnabledFor(logging.WARNING)
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("alembic").setLevel(logging.NOTSET)
