"""A small, transport-independent SSE decoder (the WHATWG event stream format)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass
class SSEMessage:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


@dataclass
class SSEDecoder:
    """Feed it lines (without line breaks); it returns a message when a blank line ends one.

    ``id`` is the id field of that message only (None for ``hello`` and ``ping``, which carry none).
    A ``retry:`` field alone comes out as a message with ``event == "retry"``.
    """

    _event: str = "message"
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, line: str) -> SSEMessage | None:
        if line == "":
            message = None
            if self._data or self._event != "message":
                message = SSEMessage(event=self._event, data="\n".join(self._data), id=self._id)
            self._event, self._data, self._id = "message", [], None
            return message
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isdigit() and not self._data:
            return SSEMessage(event="retry", retry=int(value))
        return None


def parse(lines: Iterable[str]) -> Iterator[SSEMessage]:
    """Turn lines into messages, as they arrive."""
    decoder = SSEDecoder()
    for line in lines:
        message = decoder.feed(line)
        if message is not None:
            yield message
