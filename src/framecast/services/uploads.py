"""Accepting an uploaded image or audio file for timelines: the type comes from the content, not the
name, and the file must decode as that type before it is stored and recorded as the owner's asset."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from framecast.domain.errors import InvalidInput, UnsupportedMedia
from framecast.domain.models import Asset, AssetKind, new_id
from framecast.services.ports import Ledger, MediaProbe, MediaStore

MAX_IMAGE_PIXELS = 80_000_000
_HEAD = 64  # bytes the sniffers look at


@dataclass(frozen=True, slots=True)
class MediaType:
    """What the first bytes of an upload say it is."""

    kind: str  # AssetKind.IMAGE or AssetKind.AUDIO
    mime: str
    ext: str
    name: str  # for messages: "PNG", "MP3", ...


_SNIFFERS: list[tuple[Callable[[bytes], bool], MediaType]] = [
    (lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"), MediaType(AssetKind.IMAGE, "image/png", "png", "PNG")),
    (lambda b: b.startswith(b"\xff\xd8\xff"), MediaType(AssetKind.IMAGE, "image/jpeg", "jpg", "JPEG")),
    (lambda b: b[:6] in (b"GIF87a", b"GIF89a"), MediaType(AssetKind.IMAGE, "image/gif", "gif", "GIF")),
    (
        lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
        MediaType(AssetKind.IMAGE, "image/webp", "webp", "WebP"),
    ),
    (
        lambda b: b[:4] == b"RIFF" and b[8:12] == b"WAVE",
        MediaType(AssetKind.AUDIO, "audio/wav", "wav", "WAV"),
    ),
    (
        lambda b: b.startswith(b"ID3") or b[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
        MediaType(AssetKind.AUDIO, "audio/mpeg", "mp3", "MP3"),
    ),
    (lambda b: b.startswith(b"OggS"), MediaType(AssetKind.AUDIO, "audio/ogg", "ogg", "Ogg")),
    (lambda b: b.startswith(b"fLaC"), MediaType(AssetKind.AUDIO, "audio/flac", "flac", "FLAC")),
    (
        lambda b: b[4:8] == b"ftyp" and b[8:11] in (b"M4A", b"mp4", b"iso"),
        MediaType(AssetKind.AUDIO, "audio/mp4", "m4a", "M4A"),
    ),
]


def sniff(head: bytes) -> MediaType:
    """The type the first bytes announce; raises UnsupportedMedia for anything else.

    >>> sniff(b"fLaC\\x00\\x00\\x00\\x22").mime
    'audio/flac'
    """
    for test, media_type in _SNIFFERS:
        if test(head):
            return media_type
    raise UnsupportedMedia(
        "This file is not an image (PNG, JPEG, GIF, WebP) or audio (WAV, MP3, OGG, FLAC, M4A) file.",
        field="file",
    )


def safe_stem(name: str | None) -> str:
    """A file name stem safe in a URL path and a storage key (``"My photo!.PNG"`` -> ``"My-photo"``)."""
    stem = Path(name or "upload").stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-")[:60]
    return stem or "upload"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class UploadService:
    """The upload use case over the ledger, the media store and a decoding probe.

    >>> uploads = UploadService(ledger, media, DecodingProbe())          # doctest: +SKIP
    >>> asset = uploads.accept(tmp_file, filename="logo.png", owner="local")   # doctest: +SKIP
    """

    def __init__(self, ledger: Ledger, media: MediaStore, probe: MediaProbe) -> None:
        self.ledger = ledger
        self.media = media
        self.probe = probe

    def accept(self, src: Path, *, filename: str | None, owner: str) -> Asset:
        """Check ``src`` (a file in ``media.temp_dir()``), store it (consuming it) and record the asset.

        Raises InvalidInput when the file is empty or the image too large, UnsupportedMedia when the
        content is not an accepted type or does not decode as the type its first bytes announce.
        """
        size = src.stat().st_size
        if size == 0:
            raise InvalidInput("The file is empty.", field="file")
        with src.open("rb") as f:
            media_type = sniff(f.read(_HEAD))
        if media_type.kind == AssetKind.IMAGE:
            self._check_image(src, media_type)
        else:
            self._check_audio(src, media_type)
        asset_id = new_id("ast")
        stored_name = f"{safe_stem(filename)}.{media_type.ext}"
        key = f"uploads/{asset_id}/{stored_name}"
        sha256 = _sha256(src)
        self.media.put(src, key)
        asset = Asset(
            id=asset_id,
            kind=media_type.kind,
            filename=stored_name,
            key=key,
            mime=media_type.mime,
            size=size,
            owner=owner,
            meta={"sha256": sha256, "original_name": (filename or "")[:200]},
        )
        with self.ledger.transaction() as tx:
            tx.add_asset(asset)
        return asset

    def _check_image(self, src: Path, media_type: MediaType) -> None:
        try:
            width, height = self.probe.image_size(src)
        except InvalidInput as exc:
            raise UnsupportedMedia("The image file is damaged or incomplete.", field="file") from exc
        if width * height > MAX_IMAGE_PIXELS:
            raise InvalidInput(
                f"The image is larger than {MAX_IMAGE_PIXELS // 1_000_000} megapixels.", field="file"
            )

    def _check_audio(self, src: Path, media_type: MediaType) -> None:
        try:
            self.probe.audio_duration(src)
        except InvalidInput as exc:
            raise UnsupportedMedia(
                f"This file starts like {media_type.name} audio but does not decode: it is damaged, "
                "incomplete or not audio.",
                field="file",
            ) from exc
