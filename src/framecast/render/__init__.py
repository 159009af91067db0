"""The renderer: timelines become H.264 MP4s on the CPU (numpy frames, PyAV encode), offline.

Its rooms follow the pipeline: ``words/`` turns a prompt into scenes (the lexicons and the planner),
``drawing/`` turns a scene into pixels (backgrounds and settings, layers, illustrations, effects, motion,
camera, text), ``encoding/`` turns pixels into files (``encode``, the only PyAV module; ``chunks``, the
GOP-aligned ranges; the upload ``probe``). The modules here join the rooms: ``frames`` composes a frame
from its scenes, ``video`` drives frames into the encoder (the entry points below), with the soundtrack
beside them (``audio``, ``music``).

What the job handlers call (all pure functions of their inputs; outputs go where they are told):

``plan(prompt, options) -> Timeline``  (``framecast.render.words.planner``)
    Prompt to timeline, deterministic by ``options.seed`` (None: derived from the prompt).
``parse_timeline(data, options) -> Timeline``  (``framecast.domain.timeline``)
    A person's JSON timeline, validated; raises ``InvalidInput(field="scenes.0.duration_s")``.
    ``timeline_json_schema()`` is the JSON Schema for ``GET /api/schema/timeline``.
``render_video(timeline, out_path, *, start_frame=0, end_frame=None, on_progress=None, should_stop=None,
frame_delay_s=0.0, asset_path=None) -> VideoInfo``  (``framecast.render.video``)
    Frames ``[start_frame, end_frame)`` to a faststart H.264 MP4 at exactly ``out_path``. Progress every
    frame (throttle it); ``should_stop()`` true raises ``Cancelled``.
``chunk_ranges(total_frames, fps, chunk_seconds) -> [(start, end), ...]``  (``render.encoding.chunks``)
    GOP-aligned frame ranges for parallel ``render_chunk`` tasks: render each range with
    ``render_video(..., start_frame=start, end_frame=end)``.
``join_chunks(chunk_paths, out_path, *, audio_path=None) -> VideoInfo``  (``render.encoding.encode``)
    The compose task: concatenates chunk MP4s without re-encoding (identical frames to a single render)
    into one faststart MP4 and muxes the audio track as AAC in the same pass.
``render_poster(timeline, out_path, at_s=None) -> (w, h)``; ``render_spritesheet(timeline, out_path,
every_s=2.0) -> {columns, rows, count, tile_width, tile_height, interval_s}``  (``framecast.render.video``)

``synthesize_narration(timeline, out_dir, *, asset_path=None) -> (Timeline, Path)``  (``render.audio``)
    The narration task (when ``timeline.audio.voiceover``): espeak-ng speaks each scene's narration
    (one WAV per scene in ``out_dir``), scenes are stretched to fit, captions are timed to the words;
    returns the adjusted timeline (render every chunk, the poster and the spritesheet from it) and
    ``mix.wav``, the narration over the ducked music, for ``join_chunks(audio_path=...)``. Raises
    ``Unavailable`` when espeak-ng is missing (never a silent video).
``render_music(timeline, out_path, *, asset_path=None) -> Path | None``  (``render.audio``)
    Without voiceover: the background music alone (procedural or uploaded); None for ``music: "none"``.

Gallery: ``python -m framecast.render.gallery docs/gallery.png``; schema: ``python -m
framecast.render.schema``; speed: ``bench/render.py``.

Every render function takes ``asset_path: Callable[[str], Path]`` (keyword) mapping uploaded asset ids
(images, music) to files; pass the media store's resolver.
"""

from __future__ import annotations

from framecast.render.words import planner

#: ``framecast.render.planner`` for the job handlers: the planner lives in the words room.
__all__ = ["planner"]
