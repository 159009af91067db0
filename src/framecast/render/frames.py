"""Frame synthesis: frame index -> yuv420p planes, a pure function of the timeline and its seed.

Nothing depends on which frames were drawn before, so any frame range renders alone (chunks) and gives
the same pixels as a whole render. Per scene, backgrounds and layer sprites are prepared once and kept for
the scene and its neighbour (transitions draw two scenes).

A worker renders chunk after chunk of the same video, and most chunks start inside a scene the previous
chunk already prepared (textures painted, text laid out and rasterised: 10-20 ms at 720p, on the path of
every chunk's first frame). A finished frame source leaves its prepared scenes in a small per-process pool
(:data:`SCENE_POOL`) for the next source of the same timeline. A scene is taken *out* of the pool while a
source uses it, so two renders in one process never share one; scenes showing uploaded files are never
pooled (whether a task may read a file is checked per task, and a pooled picture would skip the check).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict

from framecast.domain.timeline import Scene, Timeline
from framecast.render.assets import AssetPath
from framecast.render.drawing.animation import ease_out
from framecast.render.drawing.backgrounds import BackgroundRenderer
from framecast.render.drawing.camera import view_at
from framecast.render.drawing.layers import LayerContext, make_layer
from framecast.render.drawing.planes import Planes, crossfade


def _shows_uploads(scene: Scene) -> bool:
    return scene.background.asset_id is not None or any(
        getattr(layer, "asset_id", None) is not None for layer in scene.layers
    )


class _SceneRenderer:
    def __init__(self, scene: Scene, index: int, tl: Timeline, asset_path: AssetPath | None) -> None:
        w, h = tl.canvas.width, tl.canvas.height
        self.scene = scene
        self.poolable = not _shows_uploads(scene)
        # Each scene has its own random stream from the seed, so editing one scene leaves the others alone.
        seed = tl.seed * 1009 + index
        self.background = BackgroundRenderer(scene.background, w, h, seed, asset_path, scene.camera)
        self.layers = [
            make_layer(layer, LayerContext(w, h, scene.duration_s, tl.canvas.fps, asset_path, seed * 31 + k))
            for k, layer in enumerate(scene.layers)
        ]
        self.width = w

    def trim(self) -> None:
        """Keep what a later chunk starts with (textures, layer sprites), not the animation frames."""
        for layer in self.layers:
            layer.drop_animation_frames()

    def draw(self, planes: Planes, t: float, fade: float = 1.0) -> None:
        view = view_at(self.scene.camera, min(t, self.scene.duration_s), self.scene.duration_s, self.width)
        self.background.render(planes, t, view)
        for layer in self.layers:
            layer.draw(planes, t, fade, view)


class ScenePool:
    """Prepared scenes of finished frame sources, keyed by (timeline fingerprint, scene index), LRU.

    ``size`` bounds the memory: a pooled 1080p scene holds about 10 MB of texture plus its layers' sprites
    (animation frames are dropped when it is given back, see ``_SceneRenderer.trim``).
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._items: OrderedDict[tuple[str, int], _SceneRenderer] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: tuple[str, int]) -> _SceneRenderer | None:
        with self._lock:
            sr = self._items.pop(key, None)
            if sr is None:
                self.misses += 1
            else:
                self.hits += 1
            return sr

    def give(self, key: tuple[str, int], sr: _SceneRenderer) -> None:
        if not sr.poolable or self.size <= 0:
            return
        sr.trim()
        with self._lock:
            self._items[key] = sr
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0


#: The process's pool (see the module docstring).
SCENE_POOL = ScenePool()


def timeline_fingerprint(timeline: Timeline) -> str:
    """Equal for timelines that draw the same pixels (everything that draws is in the timeline)."""
    return hashlib.blake2b(timeline.model_dump_json().encode(), digest_size=16).hexdigest()


class FrameSource:
    """Draws any frame of a timeline.

    >>> # src = FrameSource(timeline); planes = src.frame(0)   # Planes of the first frame

    ``pool``: take prepared scenes from it, and give them back on :meth:`close` (a chunk render); None
    prepares every scene afresh and keeps nothing.
    """

    def __init__(
        self,
        timeline: Timeline,
        asset_path: AssetPath | None = None,
        *,
        end_frame: int | None = None,
        pool: ScenePool | None = None,
    ) -> None:
        """``end_frame``: frames from it on will not be asked for (a chunk's end); lets scenes prepare less."""
        self.tl = timeline
        self.pool = pool
        self._fingerprint = timeline_fingerprint(timeline) if pool is not None else ""
        self.end_frame = end_frame
        self.w, self.h, self.fps = timeline.canvas.width, timeline.canvas.height, timeline.canvas.fps
        self.bounds = timeline.scene_frames()
        self.asset_path = asset_path
        self._scenes: OrderedDict[int, _SceneRenderer] = OrderedDict()
        self._out = Planes(self.w, self.h)
        self._other = Planes(self.w, self.h)

    @property
    def total_frames(self) -> int:
        return self.bounds[-1]

    def _scene(self, i: int) -> _SceneRenderer:
        sr = self._scenes.get(i)
        if sr is None:
            if self.pool is not None:
                sr = self.pool.take((self._fingerprint, i))
            if sr is None:
                sr = _SceneRenderer(self.tl.scenes[i], i, self.tl, self.asset_path)
            # How far ahead texture parts reach depends on this source's end: set it on a pooled scene too.
            sr.background.until_s = self._until_s(i)
            self._scenes[i] = sr
            while len(self._scenes) > 2:  # memory: only the current scene and the one fading out
                self._release(*self._scenes.popitem(last=False))
        else:
            self._scenes.move_to_end(i)
        return sr

    def _release(self, i: int, sr: _SceneRenderer) -> None:
        if self.pool is not None:
            self.pool.give((self._fingerprint, i), sr)

    def close(self, *, keep: bool = True) -> None:
        """Give the prepared scenes to the pool (if any; ``keep=False`` drops them: after a failure, a scene
        may have been left half-updated); the source must not be used afterwards."""
        while self._scenes:
            i, sr = self._scenes.popitem(last=False)
            if keep:
                self._release(i, sr)

    def _until_s(self, i: int) -> float:
        """Seconds into scene ``i`` up to which it is drawn: its end, plus the crossfade into the next."""
        end = self.bounds[i + 1] + (
            self.fps * self.tl.scenes[i + 1].transition.duration_s if i + 1 < len(self.tl.scenes) else 0
        )
        if self.end_frame is not None:
            end = min(end, self.end_frame)
        return max(0.0, (end - self.bounds[i]) / self.fps)

    def scene_at(self, frame: int) -> int:
        lo, hi = 0, len(self.bounds) - 2
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.bounds[mid] <= frame:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def frame(self, index: int, out: Planes | None = None) -> Planes:
        """The planes of frame ``index``, drawn into ``out`` (an encoder's frame, so nothing is copied on
        the way to x264) or into this source's own buffer (reused: copy or encode before the next call).

        Every frame is drawn whole (each background paints every pixel), so ``out`` may hold anything.
        """
        index = min(max(index, 0), self.total_frames - 1)
        dst = self._out if out is None else out
        i = self.scene_at(index)
        t = (index - self.bounds[i]) / self.fps
        scene = self.tl.scenes[i]
        tr = scene.transition
        tr_s = 0.0
        if i > 0 and tr.kind != "cut":
            tr_s = min(tr.duration_s, (self.bounds[i + 1] - self.bounds[i]) / self.fps)
        # Resolve the previous scene before the current one so the LRU keeps both.
        if tr_s > 0 and t < tr_s:
            prev = self._scene(i - 1)
            cur = self._scene(i)
            prev_t = (self.bounds[i] - self.bounds[i - 1]) / self.fps + t
            p = (
                ease_out((t + 0.5 / self.fps) / tr_s)
                if tr.kind != "crossfade"
                else ((t + 0.5 / self.fps) / tr_s)
            )
            p = min(1.0, max(0.0, p))
            # The outgoing scene's words leave in the first half, so two texts never sit on top of each other.
            prev.draw(self._other, prev_t, fade=max(0.0, 1.0 - 2.0 * p))
            cur.draw(dst, t)
            self._transition(dst, tr.kind, p, scene.background.angle)
            return dst
        self._scene(i).draw(dst, t)
        return dst

    def _transition(self, out: Planes, kind: str, p: float, angle: float) -> None:
        prev = self._other
        if kind == "crossfade":
            # out = prev * (1 - p) + cur * p, with a smooth curve
            q = 0.5 - 0.5 * math.cos(math.pi * p)
            cur_weight = q
            crossfade(prev, out, cur_weight)
            out.copy_from(prev)
            return
        w = self.w
        s = int(round(p * w / 2)) * 2
        if s <= 0:
            out.copy_from(prev)
            return
        if s >= w:
            return
        rightwards = math.cos(math.radians(angle)) >= 0
        if kind == "wipe":
            # The new scene is revealed from one side; a hard edge, like a card pulled away.
            if rightwards:
                for a, b in ((out.y, prev.y), (out.u, prev.u), (out.v, prev.v)):
                    k = s if a is out.y else s // 2
                    a[:, k:] = b[:, k:]
            else:
                for a, b in ((out.y, prev.y), (out.u, prev.u), (out.v, prev.v)):
                    k = w - s if a is out.y else (w - s) // 2
                    a[:, :k] = b[:, :k]
            return
        # slide: the new scene pushes the old one out
        for a, b in ((out.y, prev.y), (out.u, prev.u), (out.v, prev.v)):
            k = s if a is out.y else s // 2
            full = a.shape[1]
            if rightwards:
                tmp = a[:, full - k :].copy()
                a[:, k:] = b[:, : full - k]
                a[:, :k] = tmp
            else:
                tmp = a[:, :k].copy()
                a[:, : full - k] = b[:, k:]
                a[:, full - k :] = tmp
