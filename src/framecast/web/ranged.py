"""Serve a stored file that is not on this machine's disk (S3 media): ETag, 304, HEAD and one byte range.

Local files go through Starlette's FileResponse instead. The object is opened (and its version checked
against the ETag just sent) before the response starts, so a missing or changed object is a clear 404 or
503, never a 200 with a short or wrong body.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool

from framecast.domain.errors import RangeNotSatisfiable
from framecast.services.ports import MediaStore, StoredFile

# At most 18 digits: a byte offset fits, and int() never sees a giant number.
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single ``Range`` header, or None for the whole file.

    Several ranges or a malformed header are answered with the whole file, as RFC 9110 allows;
    a range that starts past the end (any range of an empty file) raises :class:`RangeNotSatisfiable`.

    >>> byte_range("bytes=0-99", 1000), byte_range("bytes=-100", 1000), byte_range("bytes=900-", 1000)
    ((0, 99), (900, 999), (900, 999))
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first_s, last_s = match.groups()
    if first_s == "":
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - suffix), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if last_s and last < first:
        return None  # malformed: answer with the whole file
    if first >= size:
        raise RangeNotSatisfiable(size)
    return first, min(last, size - 1)


def _http_date(info: StoredFile) -> str | None:
    return info.modified.strftime("%a, %d %b %Y %H:%M:%S GMT") if info.modified is not None else None


async def stream_stored(
    request: Request, media: MediaStore, key: str, info: StoredFile, headers: dict[str, str], mime: str
) -> Response:
    """The response for ``key``: 206 for a satisfiable range, else 200 with the whole file."""
    common = {**headers, "ETag": info.etag, "Accept-Ranges": "bytes"}
    modified = _http_date(info)
    if modified is not None:
        common["Last-Modified"] = modified
    if_range = request.headers.get("if-range")
    current = if_range is None or if_range in (info.etag, modified)
    wanted = byte_range(request.headers.get("range"), info.size) if current else None
    if wanted is None:
        first, last, status = 0, info.size - 1, 200
    else:
        (first, last), status = wanted, 206
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
