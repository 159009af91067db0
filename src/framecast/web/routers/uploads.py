"""Uploads of images and audio for timelines: the type is decided by the content, not the name."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import JSONResponse

from framecast.domain.errors import InvalidInput, PayloadTooLarge, Unavailable, UnsupportedMedia
from framecast.domain.models import Asset, AssetKind, new_id
from framecast.web.deps import OwnerDep, RuntimeDep
from framecast.web.limits import limit_message

router = APIRouter(prefix="/api/uploads", tags=["uploads"])

# (magic test, kind, mime, extension)
_SNIFFERS: list[tuple[Any, str, str, str]] = [
    (lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"), AssetKind.IMAGE, "image/png", "png"),
    (lambda b: b.startswith(b"\xff\xd8\xff"), AssetKind.IMAGE, "image/jpeg", "jpg"),
    (lambda b: b[:6] in (b"GIF87a", b"GIF89a"), AssetKind.IMAGE, "image/gif", "gif"),
    (lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP", AssetKind.IMAGE, "image/webp", "webp"),
    (lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE", AssetKind.AUDIO, "audio/wav", "wav"),
    (
        lambda b: b.startswith(b"ID3") or b[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
        AssetKind.AUDIO,
        "audio/mpeg",
        "mp3",
    ),
    (lambda b: b.startswith(b"OggS"), AssetKind.AUDIO, "audio/ogg", "ogg"),
    (lambda b: b.startswith(b"fLaC"), AssetKind.AUDIO, "audio/flac", "flac"),
    (
        lambda b: b[4:8] == b"ftyp" and b[8:11] in (b"M4A", b"mp4", b"iso"),
        AssetKind.AUDIO,
        "audio/mp4",
        "m4a",
    ),
]


def sniff(head: bytes) -> tuple[str, str, str]:
    for test, kind, mime, ext in _SNIFFERS:
        if test(head):
            return kind, mime, ext
    raise UnsupportedMedia(
        "This file is not an image (PNG, JPEG, GIF, WebP) or audio (WAV, MP3, OGG, FLAC, M4A) file.",
        field="file",
    )


def verify_image(path: Path) -> None:
    """Decode the image header and structure, so a file that only starts like a PNG is refused."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.verify()
            if img.width * img.height > 80_000_000:
                raise InvalidInput("The image is larger than 80 megapixels.", field="file")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise UnsupportedMedia("The image file is damaged or incomplete.", field="file") from exc


def _safe_stem(name: str | None) -> str:
    stem = Path(name or "upload").stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-")[:60]
    return stem or "upload"


@router.post("", status_code=201, summary="Upload an image or audio file for use in timelines")
async def upload(
    file: Annotated[UploadFile, File(description="An image or audio file")],
    runtime: RuntimeDep,
    owner: OwnerDep,
) -> JSONResponse:
    limit = runtime.settings.max_upload_bytes
    tmp_dir = runtime.media.temp_dir()
    tmp = tmp_dir / "upload"
    size = 0
    head = b""
    digest = hashlib.sha256()
    try:
        try:
            with tmp.open("wb") as out:
                while chunk := await file.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(limit_message(limit, what="The file"))
                    if len(head) < 64:
                        head += chunk[: 64 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as exc:  # the scratch disk is full or failing: an outage, not the caller's fault
            raise Unavailable(
                f"The upload could not be written to disk: {exc.strerror or exc.__class__.__name__}.",
                code="storage_down",
            ) from exc
        if size == 0:
            raise InvalidInput("The file is empty.", field="file")
        kind, mime, ext = sniff(head)
        if kind == AssetKind.IMAGE:
            await asyncio.to_thread(verify_image, tmp)
        asset_id = new_id("ast")
        filename = f"{_safe_stem(file.filename)}.{ext}"
        key = f"uploads/{asset_id}/{filename}"
        await asyncio.to_thread(runtime.media.put, tmp, key)
        asset = Asset(
            id=asset_id,
            kind=kind,
            filename=filename,
            key=key,
            mime=mime,
            size=size,
            owner=owner,
            meta={"sha256": digest.hexdigest(), "original_name": (file.filename or "")[:200]},
        )

        def _record() -> None:
            with runtime.ledger.transaction() as tx:
                tx.add_asset(asset)

        await asyncio.to_thread(_record)
    finally:
        if tmp.exists():
            tmp.unlink()
        os.rmdir(tmp_dir)
    body = {"asset_id": asset.id, "kind": kind, "mime": mime, "size": size, "url": asset.url}
    return JSONResponse(body, status_code=201)
