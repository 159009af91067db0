"""How the renderer finds uploaded files: the caller's resolver from asset id to a local path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: Maps an uploaded asset id (an image, a music file) to a local file; the job handlers pass one that
#: resolves through the media store. Every render function takes it as ``asset_path``.
AssetPath = Callable[[str], Path]
