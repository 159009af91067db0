"""Byte ranges (RFC 9110 §14) of stored files, decided in one place for both kinds of storage.

``requested_ranges`` says what a request gets: the whole file (no ``Range``; another unit, such as
``items=0-1``, which a server must ignore; a header that does not parse, which it may ignore; an
``If-Range`` for another version), one or several ranges (206, several as ``multipart/byteranges``), or
:class:`RangeNotSatisfiable` (416, problem JSON with ``Content-Range: bytes */size``) when not one of the
ranges is satisfiable.

Local files are then sent by Starlette's FileResponse (``RangedFileResponse``): it already sends one range,
several as multipart, HEAD and the pathsend extension well. Its own parsing is not used: it answers an
unknown unit with a 400 in plain text, answers 416 when one of several ranges starts past the end although
the others are satisfiable, and reads numbers with ``int()`` (``" 1"``, ``"1_0"``, ``"١"``). Files elsewhere
(S3) go through ``stream_stored``, which opens the object (and checks its version against the ETag just
sent) before the response starts, so a missing or changed object is a clear 404 or 503, never a 200 or a
206 with a short or wrong body.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool
from starlette.types import Receive, Scope, Send

from framecast.domain.errors import RangeNotSatisfiable
from framecast.services.ports import ByteStream, MediaStore, StoredFile

#: Ranges one request may ask for; more is answered with the whole file (a sign of a broken client or an
#: attack, RFC 9110 §14.1.1). Starlette's FileResponse takes as many.
MAX_RANGES = 100
_DIGITS = re.compile(r"[0-9]+")
#: Past any file's size: a position with more than 18 digits is read as this, and int() never sees it.
_HUGE = 10**18

Ranges = list[tuple[int, int]]


def _position(text: str) -> int | None:
    if not _DIGITS.fullmatch(text):
        return None
    return int(text) if len(text) <= 18 else _HUGE


def byte_ranges(header: str | None, size: int) -> Ranges | None:
    """The satisfiable ranges of a ``Range`` header as inclusive (first, last) pairs, sorted, with
    overlapping and adjacent ones merged; or None for the whole file. Raises :class:`RangeNotSatisfiable`
    when the header is valid but none of its ranges is (every one starts past the end, or is ``-0``).

    >>> byte_ranges("bytes=0-99", 1000), byte_ranges("bytes=-100", 1000), byte_ranges("bytes=900-", 1000)
    ([(0, 99)], [(900, 999)], [(900, 999)])
    >>> byte_ranges("bytes=0-9, 5-19, 5000-", 1000), byte_ranges("items=0-1", 1000)
    ([(0, 19)], None)
    """
    if header is None or size == 0:
        return None  # an empty file has no bytes to select: it is sent whole (and empty)
    unit, equals, spec = header.strip().partition("=")
    if not equals or unit.lower() != "bytes":
        return None
    parts = [part.strip(" \t") for part in spec.split(",")]
    parts = [part for part in parts if part]  # a list may hold empty elements
    if not parts or len(parts) > MAX_RANGES:
        return None
    ranges: Ranges = []
    for part in parts:
        first_s, dash, last_s = part.partition("-")
        if not dash:
            return None
        if first_s == "":  # a suffix: the last N bytes
            suffix = _position(last_s)
            if suffix is None:
                return None
            if suffix > 0:
                ranges.append((max(0, size - suffix), size - 1))
            continue
        first = _position(first_s)
        last = _HUGE if last_s == "" else _position(last_s)
        if first is None or last is None or last < first:
            return None
        if first < size:
            ranges.append((first, min(last, size - 1)))
    if not ranges:
        raise RangeNotSatisfiable(size)
    ranges.sort()
    merged = [ranges[0]]
    for first, last in ranges[1:]:
        if first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def requested_ranges(request: Request, size: int, etag: str, modified: str | None) -> Ranges | None:
    """What ``request`` asks of a file of ``size`` bytes now at version ``etag`` (``modified``: its
    Last-Modified): see :func:`byte_ranges`. An ``If-Range`` that names another version (or a weak one)
    gets the whole current file."""
    if request.method not in ("GET", "HEAD"):
        return None
    if_range = request.headers.get("if-range")
    if if_range is not None and (if_range.startswith("W/") or if_range not in (etag, modified)):
        return None
    return byte_ranges(request.headers.get("range"), size)


class RangedFileResponse(FileResponse):
    """Starlette's FileResponse sending exactly ``ranges`` (from :func:`requested_ranges`; None: the whole
    file). The request's own Range and If-Range are replaced by those ranges in a form Starlette's parser
    takes as it is (in bounds, sorted, apart)."""

    ranges: Ranges | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self.ranges:
            spec = ",".join(f"{first}-{last}" for first, last in self.ranges)
            headers.append((b"range", f"bytes={spec}".encode("latin-1")))
        await super().__call__({**scope, "headers": headers}, receive, send)


def _http_date(info: StoredFile) -> str | None:
    return info.modified.strftime("%a, %d %b %Y %H:%M:%S GMT") if info.modified is not None else None


async def stream_stored(
    request: Request, media: MediaStore, key: str, info: StoredFile, headers: dict[str, str], mime: str
) -> Response:
    """The response for ``key``: 206 for satisfiable ranges (several as multipart), else 200 with the
    whole file."""
    common = {**headers, "ETag": info.etag, "Accept-Ranges": "bytes"}
    modified = _http_date(info)
    if modified is not None:
        common["Last-Modified"] = modified
    ranges = requested_ranges(request, info.size, info.etag, modified)
    if ranges is not None and len(ranges) > 1:
        return await _multipart(request, media, key, info, common, mime, ranges)
    first, last = ranges[0] if ranges else (0, info.size - 1)
    status = 206 if ranges else 200
    if ranges:
        common["Content-Range"] = f"bytes {first}-{last}/{info.size}"
    length = max(0, last - first + 1)
    common["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(status_code=status, headers=common, media_type=mime)
    stream = await asyncio.to_thread(media.open_range, key, first, length, etag=info.etag)
    return StreamingResponse(
        iterate_in_threadpool(iter(stream)),
        status_code=status,
        headers=common,
        media_type=mime,
        background=BackgroundTask(stream.close),
    )


async def _multipart(
    request: Request,
    media: MediaStore,
    key: str,
    info: StoredFile,
    common: dict[str, str],
    mime: str,
    ranges: Ranges,
) -> Response:
    """206 ``multipart/byteranges`` (RFC 9110 §14.6), framed as Starlette frames it for local files."""
    boundary = secrets.token_hex(13)
    heads = [
        f"--{boundary}\r\nContent-Type: {mime}\r\nContent-Range: bytes {first}-{last}/{info.size}\r\n\r\n".encode()
        for first, last in ranges
    ]
    tail = f"--{boundary}--".encode()
    common["Content-Length"] = str(
        sum(len(head) + last - first + 1 + 2 for head, (first, last) in zip(heads, ranges, strict=True))
        + len(tail)
    )
    content_type = f"multipart/byteranges; boundary={boundary}"
    if request.method == "HEAD":
        return Response(status_code=206, headers=common, media_type=content_type)
    # The first part is opened now: a missing or changed object is an error answer, not a broken 206.
    first_stream = await _open(media, key, ranges[0], info.etag)

    async def body() -> AsyncIterator[bytes]:
        stream = first_stream
        try:
            for index, (span, head) in enumerate(zip(ranges, heads, strict=True)):
                if index:
                    stream = await _open(media, key, span, info.etag)
                yield head
                async for chunk in iterate_in_threadpool(iter(stream)):
                    yield chunk
                stream.close()
                yield b"\r\n"
            yield tail
        finally:
            stream.close()

    return StreamingResponse(body(), status_code=206, headers=common, media_type=content_type)


async def _open(media: MediaStore, key: str, span: tuple[int, int], etag: str) -> ByteStream:
    first, last = span
    return await asyncio.to_thread(media.open_range, key, first, last - first + 1, etag=etag)
