"""A small, transport-independent SSE parser (the WHATWG event stream format)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass
class SSEMessage:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


def parse(lines: Iterable[str]) -> Iterator[SSEMessage]:
    """Turn lines (without their line breaks) into messages; a blank line ends a message. ``id`` is the id
    field of that message only (None when it had none, as for ``hello`` and ``ping``)."""
    event, this_id, retry = "message", None, None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data or event != "message":
                yield SSEMessage(event=event, data="\n".join(data), id=this_id, retry=retry)
            event, data, retry, this_id = "message", [], None, None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            this_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
            if not data:
                yield SSEMessage(event="retry", retry=retry)
