"""The upload use case on fakes: type by content, the probe decides whether the file decodes, the file is
stored under the owner's asset and recorded in the ledger (adapters are tested in tests/web and render)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from framecast.domain.errors import InvalidInput, UnsupportedMedia
from framecast.domain.models import Asset, AssetKind
from framecast.services.uploads import UploadService, safe_stem, sniff

PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
WAV_HEAD = b"RIFF\x24\0\0\0WAVEfmt " + b"\0" * 40


class FakeLedger:
    def __init__(self) -> None:
        self.assets: list[Asset] = []

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        yield self

    def add_asset(self, asset: Asset) -> bool:
        self.assets.append(asset)
        return True


class FakeMedia:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.stored: dict[str, bytes] = {}

    def temp_dir(self) -> Path:
        return self.root

    def put(self, src: Path, key: str) -> int:
        self.stored[key] = src.read_bytes()
        src.unlink()
        return len(self.stored[key])


class FakeProbe:
    """Says every file decodes, unless told otherwise; remembers what it was asked."""

    def __init__(self, *, size: tuple[int, int] = (40, 20), decodes: bool = True) -> None:
        self.size = size
        self.decodes = decodes
        self.asked: list[str] = []

    def image_size(self, path: Path) -> tuple[int, int]:
        self.asked.append("image")
        if not self.decodes:
            raise InvalidInput("broken image")
        return self.size

    def audio_duration(self, path: Path) -> float:
        self.asked.append("audio")
        if not self.decodes:
            raise InvalidInput("cannot decode")
        return 1.5


@pytest.fixture
def parts(tmp_path: Path) -> tuple[FakeLedger, FakeMedia]:
    return FakeLedger(), FakeMedia(tmp_path)


def _upload(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return path


def test_an_accepted_image_is_stored_and_recorded(
    tmp_path: Path, parts: tuple[FakeLedger, FakeMedia]
) -> None:
    ledger, media = parts
    probe = FakeProbe()
    asset = UploadService(ledger, media, probe).accept(
        _upload(tmp_path, PNG_HEAD), filename="My holiday!.txt", owner="ann"
    )
    assert (asset.kind, asset.mime, asset.filename, asset.owner) == (
        "image",
        "image/png",
        "My-holiday.png",
        "ann",
    )
    assert asset.key == f"uploads/{asset.id}/My-holiday.png" and asset.size == len(PNG_HEAD)
    assert asset.meta == {"sha256": hashlib.sha256(PNG_HEAD).hexdigest(), "original_name": "My holiday!.txt"}
    assert media.stored == {asset.key: PNG_HEAD}
    assert ledger.assets == [asset] and probe.asked == ["image"]


def test_audio_is_decoded_before_it_is_accepted(tmp_path: Path, parts: tuple[FakeLedger, FakeMedia]) -> None:
    ledger, media = parts
    probe = FakeProbe()
    asset = UploadService(ledger, media, probe).accept(
        _upload(tmp_path, WAV_HEAD), filename=None, owner="ann"
    )
    assert (asset.kind, asset.mime, asset.filename) == (AssetKind.AUDIO, "audio/wav", "upload.wav")
    assert probe.asked == ["audio"]


def test_audio_that_does_not_decode_is_unsupported_and_nothing_is_kept(
    tmp_path: Path, parts: tuple[FakeLedger, FakeMedia]
) -> None:
    ledger, media = parts
    service = UploadService(ledger, media, FakeProbe(decodes=False))
    with pytest.raises(UnsupportedMedia, match="starts like WAV audio but does not decode") as caught:
        service.accept(_upload(tmp_path, WAV_HEAD), filename="a.wav", owner="ann")
    assert caught.value.code == "unsupported_media_type"
    assert media.stored == {} and ledger.assets == []


def test_an_image_that_does_not_decode_is_unsupported(
    tmp_path: Path, parts: tuple[FakeLedger, FakeMedia]
) -> None:
    with pytest.raises(UnsupportedMedia, match="damaged or incomplete"):
        UploadService(*parts, FakeProbe(decodes=False)).accept(
            _upload(tmp_path, PNG_HEAD), filename="a.png", owner="ann"
        )


def test_an_image_over_80_megapixels_is_invalid(tmp_path: Path, parts: tuple[FakeLedger, FakeMedia]) -> None:
    with pytest.raises(InvalidInput, match="80 megapixels") as caught:
        UploadService(*parts, FakeProbe(size=(10_000, 8_001))).accept(
            _upload(tmp_path, PNG_HEAD), filename="a.png", owner="ann"
        )
    assert not isinstance(caught.value, UnsupportedMedia)


def test_empty_and_unknown_files(tmp_path: Path, parts: tuple[FakeLedger, FakeMedia]) -> None:
    probe = FakeProbe()
    service = UploadService(*parts, probe)
    with pytest.raises(InvalidInput, match="empty"):
        service.accept(_upload(tmp_path, b""), filename="a.png", owner="ann")
    with pytest.raises(UnsupportedMedia, match="not an image"):
        service.accept(_upload(tmp_path, b"plain text " * 10), filename="a.png", owner="ann")
    assert probe.asked == [], "nothing is decoded before the type is known"


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a", "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"ID3\x04", "audio/mpeg"),
        (b"\xff\xfb\x90\x00", "audio/mpeg"),
        (b"OggS\0\x02", "audio/ogg"),
        (b"fLaC\0\0\0\x22", "audio/flac"),
        (b"\0\0\0\x1cftypM4A ", "audio/mp4"),
    ],
)
def test_sniff_reads_the_type_from_the_first_bytes(head: bytes, mime: str) -> None:
    assert sniff(head).mime == mime


def test_safe_stem() -> None:
    assert safe_stem("../../etc/passwd") == "passwd"
    assert safe_stem("...") == "upload" and safe_stem(None) == "upload"
