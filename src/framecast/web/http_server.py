"""What a client may hold of the HTTP server before the app sees its request: the request head's size and
the time it takes to send it.

uvicorn 0.54 bounds neither with httptools, the parser it picks when installed with ``[standard]``: a
request head of any size is buffered and served, and a connection that sends its headers slowly (or
nothing at all) is kept forever (uvicorn's ``timeout_keep_alive`` starts only after a response; the
"timeout-request-start" of encode/uvicorn#157 was never added). h11's ``h11_max_incomplete_event_size``
bounds the size only, and answers 400 in plain text, not 431. Both limits belong below ASGI (the app
only sees a request once its head is complete, too late for either), so they live in a small subclass of
uvicorn's httptools protocol, handed to ``uvicorn.run(http=...)`` by :func:`server_options`:

- a head over ``max_header_bytes`` (request line and headers) is answered ``431`` with problem JSON and
  the connection is closed; it is never buffered past one read beyond the limit;
- a head not complete ``header_timeout_s`` after the connection opened (or after the previous response
  on a kept-alive connection) is answered ``408`` (when part of it came) and the connection is closed.

Once the head is complete neither applies: a stream (SSE, WebSocket) or a slow upload is left alone, and
other connections are never touched. The protocol's hooks (``on_message_begin``, ``on_url``,
``on_header``, ``on_headers_complete``, ``on_response_complete``, ``send_400_response``) are uvicorn's
own; ``tests/integration/test_http_limits.py`` checks them on a real server.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from framecast.settings import Settings

#: Text frames a client sends on the WebSocket are ``resume`` commands of a few dozen bytes.
WS_MAX_MESSAGE_BYTES = 64 * 1024


class _HeadTooLarge(Exception):
    """Raised inside the parser's callback to stop it; answered with 431 through ``send_400_response``."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on the request head's size and on the time to send it."""

    max_header_bytes = 32 * 1024
    header_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Bytes received of the head being read; None while no head is being read.
        self._head_bytes: int | None = None
        #: Its size as the parser reports it (target and headers), exact once the head is complete.
        self._head_size = 0
        self._head_too_large = False
        self._head_timer: asyncio.TimerHandle | None = None

    # -- the deadline --------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a request already read is started by uvicorn now
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_bytes:
            self._refuse(
                408,
                "request_timeout",
                f"The request headers did not arrive within {self.header_timeout_s:g} s.",
            )
        else:
            self.transport.close()  # nothing was asked: nobody to answer

    # -- the size ------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        super().data_received(data)
        if self._head_bytes is None or self.transport.is_closing():
            return
        # Still inside a head: all of this read is part of it (when the head began within this read, the
        # bytes before it, the end of the previous request, are counted too: a pipelining corner).
        self._head_bytes += len(data)
        if self._head_bytes > self.max_header_bytes:
            self._refuse_too_large()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes, self._head_size, self._head_too_large = 0, 0, False

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self._head_bytes = None
        if self._head_size > self.max_header_bytes:
            # Raised through the parser, which uvicorn answers with send_400_response (below: a 431).
            self._head_too_large = True
            raise _HeadTooLarge
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            self._refuse_too_large()
        else:
            super().send_400_response(msg)

    def _refuse_too_large(self) -> None:
        self._refuse(
            431,
            "request_header_fields_too_large",
            f"The request headers are over {self.max_header_bytes:,} bytes, the most this server accepts.",
        )

    def _refuse(self, status: int, code: str, message: str) -> None:
        """A problem JSON answer written straight to the socket (no app is involved), then the close."""
        self._cancel_head_timer()
        body = json.dumps({"status": status, "code": code, "message": message}).encode()
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/problem+json\r\n",
            f"content-length: {len(body)}\r\n".encode(),
            b"connection: close\r\n\r\n",
        ]
        self.logger.warning("%s %s from %s", status, code, self.client)
        self.transport.write(b"".join(head) + body)
        self.transport.close()


#: Where Linux keeps its cap on every listen backlog.
SOMAXCONN = Path("/proc/sys/net/core/somaxconn")


def backlog_warning(settings: Settings, somaxconn: Path = SOMAXCONN) -> str | None:
    """What to warn about at start-up when the kernel caps ``FRAMECAST_BACKLOG`` lower than asked (the
    queue of a reconnect storm then overflows there, and clients see resets); None when it does not, or
    the cap cannot be read (not Linux)."""
    try:
        cap = int(somaxconn.read_text().strip())
    except (OSError, ValueError):
        return None
    if cap >= settings.backlog:
        return None
    return (
        f"FRAMECAST_BACKLOG is {settings.backlog} but the kernel caps listen backlogs at {cap} "
        f"(net.core.somaxconn): a burst of more than {cap} connections at once may be reset. "
        f"Raise it with: sysctl -w net.core.somaxconn={settings.backlog}"
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` that put the limits in place, and the
    listen backlog (``FRAMECAST_BACKLOG``).

    >>> uvicorn.run(app, host="127.0.0.1", port=8000, **server_options(settings))   # doctest: +SKIP
    """
    protocol = type(
        "FramecastHttpProtocol",
        (LimitedHttpProtocol,),
        {"max_header_bytes": settings.max_header_bytes, "header_timeout_s": settings.header_timeout_s},
    )
    return {"http": protocol, "ws_max_size": WS_MAX_MESSAGE_BYTES, "backlog": settings.backlog}
