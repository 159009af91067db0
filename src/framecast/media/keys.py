"""Media keys: relative, slash-separated names such as ``prj_x/ast_y/video.mp4``.

Every store checks a key with :func:`checked_key` before it touches anything, so no key can name a file
outside the store (``..``, an absolute path, a backslash) or the store's scratch space (``.tmp``).

>>> checked_key("prj_1/ast_2/video.mp4")
'prj_1/ast_2/video.mp4'
>>> checked_key("prj_1/../../etc/passwd")
Traceback (most recent call last):
...
framecast.domain.errors.NotFound: No such file.
"""

from __future__ import annotations

from framecast.domain.errors import NotFound

SCRATCH = ".tmp"


def checked_key(key: str) -> str:
    """``key`` unchanged when it is a safe relative name; NotFound otherwise (never say why to a caller)."""
    parts = key.split("/")
    if (
        not key
        or "\\" in key
        or "\x00" in key
        or any(part in ("", ".", "..") for part in parts)
        or parts[0] == SCRATCH
    ):
        raise NotFound("No such file.", code="asset_not_found")
    return key


def checked_prefix(prefix: str) -> str:
    """A key prefix for deletion: one or more safe segments, never empty (that would be everything)."""
    return checked_key(prefix.strip("/")) + "/"
