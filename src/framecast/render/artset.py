"""Where the illustration set is installed, and its files as Python data (read once per process).

The set is Microsoft's Fluent Emoji Flat (MIT), as the npm package ``@iconify-json/fluent-emoji-flat``
(every SVG in one JSON file, by name, and ``chars.json`` from code points to names), with its CLDR names
and keywords from ``emojibase-data`` (MIT). ``package.json`` pins both and ``make node-deps`` (which ``make
run`` and ``make test`` call) installs them into ``node_modules`` beside ``src/``; nothing is fetched at run
time. A missing install is a :class:`TaskFailed` naming the make target, not an outage: waiting does not
bring the files back.

>>> art = icon_set()                                   # doctest: +SKIP
>>> art.body("sailboat")[:20]                          # doctest: +SKIP
'<g fill="none"><path'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from framecast.domain.errors import TaskFailed

ICONS_PACKAGE = "@iconify-json/fluent-emoji-flat"
ANNOTATIONS_PACKAGE = "emojibase-data"
MAKE_TARGET = "make node-deps"


def _candidates() -> list[Path]:
    # An editable install (the Makefile's) runs from the checkout: node_modules sits beside src/. A process
    # started elsewhere from the checkout (the CLI, a worker) finds it through its working directory.
    here = Path(__file__).resolve()
    return [here.parents[3] / "node_modules", Path.cwd() / "node_modules"]


@lru_cache(maxsize=1)
def node_modules() -> Path:
    """The ``node_modules`` directory that holds the set; raises :class:`TaskFailed` when none does."""
    for path in _candidates():
        if (path / ICONS_PACKAGE / "icons.json").is_file() and (path / ANNOTATIONS_PACKAGE).is_dir():
            return path
    tried = ", ".join(str(p) for p in _candidates())
    raise TaskFailed(
        f"the illustration set ({ICONS_PACKAGE} and {ANNOTATIONS_PACKAGE} from npm) is not installed "
        f"(looked in {tried}); run `{MAKE_TARGET}` in the Framecast checkout",
        code="illustrations_unavailable",
    )


def _read(relative: str) -> Any:
    return json.loads((node_modules() / relative).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class IconSet:
    """The set's SVG bodies by name (Iconify: a ``viewBox`` of ``width`` x ``height`` per icon) and the
    names of code point sequences (``"26f5"`` -> ``"sailboat"``)."""

    icons: dict[str, dict[str, Any]]
    aliases: dict[str, dict[str, Any]]
    chars: dict[str, str]
    width: int
    height: int

    def __contains__(self, name: object) -> bool:
        return name in self.icons or name in self.aliases

    def svg(self, name: str) -> str:
        """A standalone SVG document of icon ``name`` (aliases resolved, mirrored ones mirrored)."""
        flip = False
        while name in self.aliases:
            alias = self.aliases[name]
            flip ^= bool(alias.get("hFlip"))
            name = str(alias["parent"])
        icon = self.icons[name]
        w, h = int(icon.get("width", self.width)), int(icon.get("height", self.height))
        body = str(icon["body"])
        if flip:
            body = f'<g transform="translate({w} 0) scale(-1 1)">{body}</g>'
        return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}">{body}</svg>'

    def name_of(self, hexcode: str) -> str | None:
        """The icon name of an emoji's code point sequence (emojibase spelling: ``1F3C3-200D-2640-FE0F``)."""
        h = hexcode.lower()
        for key in (h, h.replace("-fe0f", ""), h.replace("-fe0f", "").replace("-200d", "")):
            if key in self.chars:
                return self.chars[key]
        return None


@lru_cache(maxsize=1)
def icon_set() -> IconSet:
    """The set, parsed once per process (about 9 MB of JSON, 60 ms)."""
    data = _read(f"{ICONS_PACKAGE}/icons.json")
    chars = _read(f"{ICONS_PACKAGE}/chars.json")
    return IconSet(
        icons=data["icons"],
        aliases=data.get("aliases", {}),
        chars=chars,
        width=int(data.get("width", 32)),
        height=int(data.get("height", 32)),
    )


@dataclass(frozen=True)
class Annotation:
    """One emoji's CLDR annotation: its name (``label``), keywords (``tags``) and where CLDR files it."""

    label: str
    tags: tuple[str, ...]
    hexcode: str
    emoji: str
    group: str
    subgroup: str
    order: int


@lru_cache(maxsize=1)
def cldr_annotations() -> tuple[Annotation, ...]:
    """CLDR names and keywords (English) of every emoji, in CLDR order."""
    meta = _read(f"{ANNOTATIONS_PACKAGE}/meta/groups.json")
    groups, subgroups = meta["groups"], meta["subgroups"]
    out = []
    for entry in _read(f"{ANNOTATIONS_PACKAGE}/en/data.json"):
        if "group" not in entry:
            continue  # regional indicators and the like: no place in CLDR's tree
        out.append(
            Annotation(
                label=str(entry["label"]),
                tags=tuple(str(t) for t in entry.get("tags", ())),
                hexcode=str(entry["hexcode"]),
                emoji=str(entry.get("emoji", "")),
                group=str(groups[str(entry["group"])]),
                subgroup=str(subgroups[str(entry.get("subgroup", -1))]) if "subgroup" in entry else "",
                order=int(entry.get("order", 0)),
            )
        )
    return tuple(out)
