"""Render speed: x264 alone vs Framecast (1 process; 2 processes on chunks + join; the service end to end)
vs MoviePy 2.x, on two timelines side by side.

    .venv/bin/python bench/render.py [--seconds 10] [--resolution 720p] [--repeat 3]

All in one run on the same machine, on two 10 s 720p30 timelines of four scenes with crossfades:

* **illustrated** (the default engine's own look): each scene a setting (a rainy city, the sea at sunset,
  a forest at night, a meadow) with two or three subjects of the illustration set moving by their verbs
  (driving, sailing, jumping, flying, walking, rising, running, blooming), an effect (rain, fireflies,
  leaves), a camera move (pans and push-ins) and a title with a fade-in;
* **plain**: moving gradients and a title per scene (the engine before illustrations).

Each timed run is repeated ``--repeat`` times and the median is reported (MoviePy runs once, on the plain
timeline only: it is an order of magnitude slower and the ratio is not close):

(a) x264 alone: the timeline's frames are made first and held in memory, then only encoding is timed
    (same settings as Framecast: preset veryfast, constant QP, fixed GOP), so each timeline is compared
    with x264 on its own frames. The reference uses x264's own thread count (1.5 per core); a second row
    shows one thread, the setting of each Framecast render.
(b) Framecast render_video: synthesis + encode in one process; and two worker processes rendering the
    service's GOP-aligned chunks in parallel, then join_chunks (remux, no re-encode). Workers are started
    and warmed up before timing, as job workers are. Then the service itself: a timeline POSTed to a real
    `framecast serve` with 1 and 2 worker processes, timed to the terminal event.
(c) MoviePy 2.x: an equivalent composition of the plain timeline (a moving gradient VideoClip, TextClips
    with fade-in, CrossFadeIn between scenes) written with libx264 at the same preset.

Prints a table and rewrites the "## Render" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import numpy as np  # noqa: E402

from bench._report import write_section  # noqa: E402
from framecast.domain.options import VideoOptions  # noqa: E402
from framecast.domain.timeline import Timeline, parse_timeline  # noqa: E402
from framecast.jobs.allocator import keep_freed_memory  # noqa: E402
from framecast.render.drawing.text import font_file  # noqa: E402
from framecast.render.encoding.chunks import chunk_ranges  # noqa: E402
from framecast.render.encoding.encode import PRESET, QP, VideoWriter, join_chunks, probe  # noqa: E402
from framecast.render.frames import FrameSource  # noqa: E402
from framecast.render.video import render_video  # noqa: E402
from framecast.settings import Settings  # noqa: E402

TITLES = (
    "Framecast renders on the CPU",
    "Gradients drift behind the type",
    "Scenes crossfade",
    "No GPU needed",
)
PALETTES = (
    ["#0f2027", "#203a43", "#2c5364"],
    ["#2b1055", "#7a2a6e", "#d5426b"],
    ["#021b2e", "#05445e", "#0f7c99"],
    ["#1a0500", "#6a040f", "#d00000"],
)


def plain_timeline(seconds: float, resolution: str) -> Timeline:
    n = len(TITLES)
    scenes = [
        {
            "duration_s": seconds / n,
            "background": {"kind": "gradient", "palette": PALETTES[i], "motion": 1.0, "angle": 30 + 40 * i},
            "layers": [
                {
                    "type": "text",
                    "text": TITLES[i],
                    "size": 84,
                    "animate_in": {"kind": "fade", "duration_s": 0.5},
                }
            ],
            "transition": {"kind": "crossfade", "duration_s": 0.6},
        }
        for i in range(n)
    ]
    data = {"scenes": scenes, "audio": {"music": "none"}, "seed": 1}
    return parse_timeline(data, VideoOptions(resolution=resolution, fps=30))  # type: ignore[arg-type]


def _subject(subject: str, x: float, y: float, scale: float, motion: str, **more: Any) -> dict[str, Any]:
    return {
        "type": "illustration",
        "subject": subject,
        "x": x,
        "y": y,
        "scale": scale,
        "motion": {"kind": motion, **more},
    }


ILLUSTRATED: tuple[tuple[str, dict[str, Any], str, list[dict[str, Any]]], ...] = (
    (
        "Rain on the city",
        {"kind": "city", "time_of_day": "day", "clouds": 0.9},
        "pan_left",
        [
            _subject("automobile", 0.7, 0.72, 0.26, "drive"),
            _subject("bus", 0.3, 0.7, 0.3, "drive", direction="right"),
            {"type": "effect", "kind": "rain"},
        ],
    ),
    (
        "Sailing at sunset",
        {"kind": "sea", "time_of_day": "sunset", "clouds": 0.3},
        "push_in",
        [
            _subject("sailboat", 0.45, 0.68, 0.3, "sail"),
            _subject("dolphin", 0.75, 0.82, 0.2, "jump"),
            _subject("dove", 0.5, 0.45, 0.12, "fly"),
        ],
    ),
    (
        "Fireflies in the forest",
        {"kind": "forest", "time_of_day": "night", "clouds": 0.2},
        "pan_right",
        [
            {"type": "effect", "kind": "fireflies"},
            _subject("deer", 0.35, 0.72, 0.28, "walk"),
            _subject("owl", 0.72, 0.45, 0.16, "fly"),
        ],
    ),
    (
        "A day in the park",
        {"kind": "meadow", "time_of_day": "day", "clouds": 0.3},
        "push_in",
        [
            _subject("balloon", 0.22, 0.62, 0.16, "rise"),
            _subject("dog", 0.55, 0.72, 0.26, "run"),
            _subject("tulip", 0.82, 0.76, 0.16, "bloom"),
            {"type": "effect", "kind": "leaves"},
        ],
    ),
)


def illustrated_timeline(seconds: float, resolution: str) -> Timeline:
    n = len(ILLUSTRATED)
    scenes = [
        {
            "duration_s": seconds / n,
            "background": background,
            "camera": {"kind": camera},
            "layers": [
                *layers,
                {
                    "type": "text",
                    "text": title,
                    "size": 76,
                    "y": 0.16,
                    "animate_in": {"kind": "fade", "duration_s": 0.5},
                },
            ],
            "transition": {"kind": "crossfade", "duration_s": 0.6},
        }
        for title, background, camera, layers in ILLUSTRATED
    ]
    data = {"scenes": scenes, "audio": {"music": "none"}, "seed": 1}
    return parse_timeline(data, VideoOptions(resolution=resolution, fps=30))  # type: ignore[arg-type]


def x264_alone(tl: Timeline, out: Path, threads: int) -> float:
    source = FrameSource(tl)
    frames = [source.frame(i).buf.copy() for i in range(tl.total_frames)]
    began = time.perf_counter()
    with VideoWriter(out, tl.canvas.width, tl.canvas.height, tl.canvas.fps, threads=threads) as writer:
        for f in frames:
            writer.write(f)
    return time.perf_counter() - began


def _chunk_job(args: tuple[dict[str, Any], str, int, int]) -> float:
    data, path, a, b = args
    tl = Timeline.model_validate(data)
    began = time.perf_counter()
    render_video(tl, Path(path), start_frame=a, end_frame=b)
    return time.perf_counter() - began


def _warm(_: int) -> int:
    return os.getpid()


def framecast_parallel(tl: Timeline, tmp: Path, pool: ProcessPoolExecutor) -> float:
    ranges = chunk_ranges(tl.total_frames, tl.canvas.fps, Settings().chunk_seconds)  # as the service splits
    data = tl.model_dump(mode="json")
    jobs = [(data, str(tmp / f"chunk{k}.mp4"), a, b) for k, (a, b) in enumerate(ranges)]
    began = time.perf_counter()
    list(pool.map(_chunk_job, jobs))
    join_chunks([Path(j[1]) for j in jobs], tmp / "joined.mp4")
    return time.perf_counter() - began


def moviepy_render(tl: Timeline, out: Path) -> float:
    from moviepy import CompositeVideoClip, TextClip, VideoClip, vfx

    w, h, fps = tl.canvas.width, tl.canvas.height, tl.canvas.fps
    font = str(font_file("sans", "bold"))
    seg = tl.duration_s / len(TITLES)
    fade = 0.6
    clips = []
    for i, title in enumerate(TITLES):
        pal = np.array([[int(c[k : k + 2], 16) for k in (1, 3, 5)] for c in PALETTES[i]], np.float32)
        xs = np.linspace(0, 1, 2 * w, dtype=np.float32)
        idx = xs * (len(pal) - 1)
        lo = np.minimum(idx.astype(int), len(pal) - 2)
        f = (idx - lo)[:, None]
        row = pal[lo] * (1 - f) + pal[lo + 1] * f
        big = np.broadcast_to(row[None, :, :], (h, 2 * w, 3)).astype(np.uint8).copy()

        def frame(t: float, big: np.ndarray = big) -> np.ndarray:
            x = int(t * 0.045 * h) % w
            return big[:, x : x + w]

        start = i * seg
        duration = seg + (fade if i < len(TITLES) - 1 else 0)
        bg = VideoClip(frame, duration=duration)
        text = (
            TextClip(font=font, text=title, font_size=int(84 * h / 1080), color="white")
            .with_duration(duration)
            .with_position("center")
            .with_effects([vfx.FadeIn(0.5)])
        )
        scene = CompositeVideoClip([bg, text], size=(w, h)).with_start(start)
        if i > 0:
            scene = scene.with_effects([vfx.CrossFadeIn(fade)])
        clips.append(scene)
    video = CompositeVideoClip(clips, size=(w, h)).with_duration(tl.duration_s)
    began = time.perf_counter()
    video.write_videofile(
        str(out), fps=fps, codec="libx264", preset=PRESET, audio=False, logger=None, threads=os.cpu_count()
    )
    return time.perf_counter() - began


def _memory_job(args: tuple[float, str]) -> tuple[int, float, float]:
    """Render a long 1080p video in a fresh process; returns (frames, seconds, peak RSS in MB).

    Peak RSS is VmHWM of this process's own address space: ``ru_maxrss`` would also count the parent's
    peak, which Linux carries across fork and exec.
    """
    from framecast.render.words.planner import plan

    seconds, path = args
    prompt = (
        "Neon city at night. Rain falls on empty streets. Stars over the ocean. Forest bokeh in spring. "
        "Fire and lava. Snow in winter."
    )
    tl = plan(prompt, VideoOptions(duration_s=seconds, resolution="1080p", seed=3))
    began = time.perf_counter()
    info = render_video(tl, Path(path))
    elapsed = time.perf_counter() - began
    status = Path("/proc/self/status").read_text()
    hwm_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return info.frames, elapsed, hwm_kb / 1024


def service_end_to_end(tl: Timeline, tmp: Path, workers: int, repeat: int) -> float:
    """POST the timeline to a real `framecast serve` with ``workers`` worker processes; the median seconds
    from the POST to the SDK seeing the terminal event (plan, poster, chunks, compose, spritesheet, ledger
    and events) over ``repeat`` projects."""
    from tests.support.server import Server

    from framecast.client import Client

    server = Server(
        tmp / f"svc{workers}" / "data", workers=workers, env={"FRAMECAST_LOG_LEVEL": "WARNING"}
    ).start()
    body = {
        "timeline": tl.model_dump(mode="json"),
        "aspect": tl.canvas.aspect,
        "resolution": tl.canvas.resolution,
        "fps": tl.canvas.fps,
    }
    try:
        with Client(server.url, timeout=60) as client:
            # Two chunks: both workers load the illustration set, as job workers that have drawn before.
            warm = client.create_project(
                prompt="A cat and a dog in the park.", duration_s=4, resolution="360p"
            )
            client.wait(warm["id"])
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                project = client.create_project(**body)
                client.wait(project["id"])
                times.append(time.perf_counter() - began)
            return statistics.median(times)
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--resolution", default="720p")
    ap.add_argument("--skip-moviepy", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="median of this many runs of each timed row")
    ap.add_argument(
        "--skip-service", action="store_true", help="skip the end-to-end runs through `framecast serve`"
    )
    ap.add_argument(
        "--memory-seconds",
        type=float,
        default=0,
        help="also render this long a 1080p video and report peak RSS",
    )
    args = ap.parse_args()
    keep_freed_memory()  # as in a worker process (framecast.jobs.worker)
    timelines = {
        "illustrated": illustrated_timeline(args.seconds, args.resolution),
        "plain": plain_timeline(args.seconds, args.resolution),
    }
    tl = timelines["illustrated"]
    n = tl.total_frames

    def median(run: Callable[[], float]) -> float:
        return statistics.median(run() for _ in range(args.repeat))

    def single(timeline: Timeline, out: Path) -> float:
        began = time.perf_counter()
        render_video(timeline, out)
        return time.perf_counter() - began

    names = [
        "(a) x264 alone, pre-made frames, x264's threads",
        "(a') x264 alone, pre-made frames, 1 thread",
        "(b) Framecast, 1 process",
        "(b) Framecast, 2 processes (chunks + join)",
    ]
    if not args.skip_service:
        names += [f"(b) Framecast service end to end, {w} worker(s)" for w in (1, 2)]
    results: dict[str, dict[str, float]] = {name: {} for name in names}
    with tempfile.TemporaryDirectory() as d, ProcessPoolExecutor(2, initializer=keep_freed_memory) as pool:
        tmp = Path(d)
        list(pool.map(_warm, range(4)))
        for label, timeline in timelines.items():
            framecast_parallel(
                timeline, tmp, pool
            )  # warm-up: imports, fonts, the illustration set, page cache
            row = results
            row[names[0]][label] = median(lambda t=timeline: x264_alone(t, tmp / "a.mp4", 0))
            row[names[1]][label] = median(lambda t=timeline: x264_alone(t, tmp / "a.mp4", 1))
            row[names[2]][label] = median(lambda t=timeline: single(t, tmp / "b1.mp4"))
            row[names[3]][label] = median(lambda t=timeline: framecast_parallel(t, tmp, pool))
            assert probe(tmp / "joined.mp4").frames == timeline.total_frames
            if not args.skip_service:
                for w in (1, 2):
                    row[names[3 + w]][label] = service_end_to_end(timeline, tmp / label, w, args.repeat)
        moviepy = None if args.skip_moviepy else moviepy_render(timelines["plain"], tmp / "c.mp4")
    lines = [
        f"{tl.duration_s:.0f} s {tl.canvas.width}x{tl.canvas.height} @ {tl.canvas.fps} fps ({n} frames), libx264 "
        f"preset {PRESET}, QP {QP}; {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. Measured by `bench/render.py` in one run; each row but MoviePy is the "
        f"median of {args.repeat}. *Illustrated* (the default): four settings (a rainy city, the sea at sunset, "
        "a forest at night, a meadow), two or three moving subjects each, rain, fireflies and leaves, pans and "
        "push-ins, a title per scene; *plain*: moving gradients and a title per scene. Each is compared with "
        "x264 alone on its own frames.",
        "",
        "| run | illustrated s | illustrated frames/s | illustrated vs x264 alone "
        "| plain s | plain frames/s | plain vs x264 alone |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        cells = []
        for label in timelines:
            secs, base = results[name][label], results[names[0]][label]
            cells.append(f"{secs:.2f} | {n / secs:.1f} | {base / secs:.2f} x")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    if moviepy is not None:
        plain = timelines["plain"]
        lines.append(
            f"| (c) MoviePy 2.x | | | | {moviepy:.2f} | {plain.total_frames / moviepy:.1f} "
            f"| {results[names[0]]['plain'] / moviepy:.2f} x |"
        )
    lines.append("")

    def ratio(name: str, label: str) -> float:
        return results[names[0]][label] / results[name][label]

    lines.append(
        f"Render path, 2 processes: illustrated {ratio(names[3], 'illustrated'):.2f} x of (a), "
        f"plain {ratio(names[3], 'plain'):.2f} x."
    )
    if not args.skip_service:
        lines.append(
            "Goal (b, 2 workers) >= 0.9 x (a), end to end through the service (POST to the terminal event, with "
            "planning, poster, spritesheet, ledger and events): illustrated "
            f"{ratio(names[5], 'illustrated'):.2f} x (1 worker {ratio(names[4], 'illustrated'):.2f} x), plain "
            f"{ratio(names[5], 'plain'):.2f} x (1 worker {ratio(names[4], 'plain'):.2f} x)."
        )
    if moviepy is not None:
        lines.append(
            f"Goal (b) >= 3 x (c), plain timeline: 2 processes {moviepy / results[names[3]]['plain']:.1f} x, "
            f"1 process {moviepy / results[names[2]]['plain']:.1f} x"
            + (
                f", service with 2 workers {moviepy / results[names[5]]['plain']:.1f} x."
                if not args.skip_service
                else "."
            )
        )
    if args.memory_seconds > 0:
        # spawn, not fork: a forked child would start with (and count) the benchmark process's own memory.
        spawn = multiprocessing.get_context("spawn")
        with (
            tempfile.TemporaryDirectory() as d,
            ProcessPoolExecutor(1, mp_context=spawn, initializer=keep_freed_memory) as solo,
        ):
            frames, secs, rss = solo.submit(
                _memory_job, (args.memory_seconds, str(Path(d) / "m.mp4"))
            ).result()
        lines.append(
            f"Memory: a {args.memory_seconds:.0f} s 1080p30 render ({frames} frames, {frames / secs:.1f} frames/s) "
            f"peaked at {rss:.0f} MB RSS in its worker process (goal: under 500 MB)."
        )
    body = "\n".join(lines)
    print(body)
    write_section("Render", body)


if __name__ == "__main__":
    main()
