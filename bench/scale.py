"""Scale-out: throughput with 1 vs 2 worker processes, one long render split across 1 vs 2 workers, and SSE
fan-out (idle subscribers on one API replica, their memory, and the time for one event to reach them all).
Real processes in scale-out mode (Postgres ledger, Redis broker and Redis Streams events), side by side in
one run; the fan-out part also runs in embedded mode (SQLite) for comparison, and in both with
FRAMECAST_AUTH=none and =keys side by side (one replica per mode, up at once), to show what auth costs.
The renders write the section "Scale-out" of docs/benchmarks.md, the fan-out the section "SSE fan-out".

    .venv/bin/python bench/scale.py [--projects 20] [--long-duration 20] [--subscribers 10000]
                                    [--client-procs 1] [--skip-embedded] [--skip-renders]
                                    [--auth-modes none keys] [--no-write]

Needs Postgres on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379; makes its own database and
Redis namespace and removes both afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import Server, create, wait_terminal  # noqa: E402

from bench._report import paired_verdict  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
LOAD = os.getloadavg()
#: Auth may add at most this much to the fan-out's SSE p99 and RSS per subscriber (keys vs none).
AUTH_BUDGET = 0.05


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        # Children (the server, the client processes) inherit the raised limit.
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int) -> int:
    """VmRSS of a process and its children (recursively), in KiB."""
    total = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += rss_kib(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


# --------------------------------------------------------------------------- the deployment under test


class Deployment:
    """One scale-out deployment: its own database and Redis namespace, API replicas and worker processes."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.db = f"fc_bench_{uuid.uuid4().hex[:8]}"
        self.namespace = f"fcbench{uuid.uuid4().hex[:8]}"
        self.database_url = f"postgresql://postgres@127.0.0.1:5432/{self.db}"
        self.env = {
            "FRAMECAST_DATABASE_URL": self.database_url,
            "FRAMECAST_BROKER_URL": REDIS_URL,
            "FRAMECAST_MEDIA_URL": str(tmp / "shared-media"),
            "FRAMECAST_NAMESPACE": self.namespace,
            "FRAMECAST_HEARTBEAT_TIMEOUT_S": "15",
            "FRAMECAST_LOG_LEVEL": "WARNING",
            **env,
        }
        self.servers: list[Server] = []
        self.workers: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Deployment:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.db}")
        env = dict(os.environ, **self.env, FRAMECAST_DATA_DIR=str(self.tmp / "cli"))
        subprocess.run(
            [sys.executable, "-m", "framecast", "db", "upgrade"], env=env, check=True, capture_output=True
        )
        return self

    def api(self) -> Server:
        server = Server(self.tmp / f"api{len(self.servers)}", workers=0, env=self.env).start()
        self.servers.append(server)
        return server

    def start_workers(self, n: int) -> None:
        for _ in range(n):
            index = len(self.workers)
            log = (self.tmp / f"worker{index}.log").open("ab")
            env = {
                **os.environ,
                **self.env,
                "FRAMECAST_DATA_DIR": str(self.tmp / f"worker{index}"),
                "FRAMECAST_LOG_LEVEL": "INFO",
            }
            self.workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "framecast", "worker", "--threads", "1"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        # A worker logs "worker started" once it consumes; wait for every one so start-up is not measured.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logs = [
                (self.tmp / f"worker{i}.log").read_text(errors="replace") for i in range(len(self.workers))
            ]
            if all("worker started" in text for text in logs):
                return
            time.sleep(0.1)
        raise RuntimeError("workers did not start")

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for i in range(len(self.workers)):
            (self.tmp / f"worker{i}.log").unlink(missing_ok=True)
        self.workers = []

    def stop_servers(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers = []

    def __exit__(self, *_exc: object) -> None:
        import psycopg
        import redis

        self.stop_workers()
        self.stop_servers()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{self.namespace}*"):
            client.delete(key)
        client.close()


# --------------------------------------------------------------------------- 1 and 2: throughput, long render


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def store_cpu_s() -> float:
    """CPU seconds used so far by every Postgres and Redis server process on this machine (their work for
    the deployment under test: only one renders at a time)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            if (proc / "comm").read_text().strip() in ("postgres", "redis-server"):
                pids.append(int(proc.name))
    return cpu_s(pids)


def follow_one(server: Server, body: dict[str, Any]) -> tuple[float, str]:
    """POST one project and follow its event stream (SSE, as a client would) to the end; wall s, status."""
    from framecast.client import Client, ClientError

    with Client(server.url, timeout=60) as client:
        t0 = time.monotonic()
        project = client.create_project(**body)
        try:
            client.wait(project["id"])
            status = "completed"
        except ClientError as exc:
            status = exc.code
        return time.monotonic() - t0, status


def run_projects(server: Server, bodies: list[dict[str, Any]], timeout_s: float) -> tuple[float, list[str]]:
    """POST every body at once, wait until all are terminal; wall seconds from the first POST, statuses."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        t0 = time.monotonic()
        ids = [create(c, **body)["id"] for body in bodies]
        statuses = [wait_terminal(c, pid, timeout_s=timeout_s)["status"] for pid in ids]
        return time.monotonic() - t0, statuses


_FRAMES: list[Any] = []


def _prepare_frames(count: int) -> None:
    """Pool initializer: pre-made 720p frames (the long render's own timeline), as a worker would synthesise."""
    from framecast.domain.options import VideoOptions
    from framecast.jobs.allocator import keep_freed_memory
    from framecast.render import planner
    from framecast.render.frames import FrameSource

    keep_freed_memory()
    options = VideoOptions(duration_s=count / 30 + 1, resolution="720p", fps=30, seed=7)
    source = FrameSource(planner.plan(LONG_PROMPT, options))
    _FRAMES.extend(source.frame(i).buf.copy() for i in range(count))


def _encode_frames(out: str) -> float:
    """Encode the pre-made frames twice (one x264 thread, the service's settings); wall seconds."""
    from framecast.render.encoding.encode import VideoWriter

    began = time.perf_counter()
    with VideoWriter(Path(out), 1280, 720, 30) as writer:
        for _ in range(2):
            for frame in _FRAMES:
                writer.write(frame)
    return time.perf_counter() - began


def encoder_ceiling(tmp: Path, repeat: int, frames: int = 300) -> dict[str, Any]:
    """What two cores give for the encoder alone: x264 (no Python, no synthesis, no service) in one process,
    then in two processes at once. A render split across two workers cannot scale better than this."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    spawn = multiprocessing.get_context("spawn")
    alone, pair = [], []
    with ProcessPoolExecutor(2, mp_context=spawn, initializer=_prepare_frames, initargs=(frames,)) as pool:
        list(pool.map(time.sleep, [2.0, 2.0]))  # both processes up, frames made
        for i in range(repeat):
            alone.append(pool.submit(_encode_frames, str(tmp / f"alone{i}.mp4")).result())
            both = [pool.submit(_encode_frames, str(tmp / f"pair{i}_{k}.mp4")) for k in range(2)]
            pair.append(max(f.result() for f in both))
    a, p = statistics.median(alone), statistics.median(pair)
    print(f"encoder ceiling: alone {a:.2f} s, two at once {p:.2f} s -> {2 * a / p:.2f}x", flush=True)
    return {"frames": 2 * frames, "alone": a, "pair": p, "alones": alone, "pairs": pair, "ratio": 2 * a / p}


LONG_PROMPT = "A long benchmark render. Mountains, rivers, a city at night, the sea."


def render_phase(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Throughput and long renders, on one deployment per worker count, all up at once.

    This machine's speed drifts by 10-20 % within minutes (other tenants of the host), so the long renders
    are interleaved: each round renders the video once on every deployment, alternating the order, and the
    speedup is the median of the rounds' own ratios. The idle deployments' workers only poll Redis.
    """
    out: dict[str, Any] = {"throughput": {}, "long": {}, "pairs": {}}
    out["ceiling"] = encoder_ceiling(tmp, args.long_repeat)
    short = [
        {
            "prompt": f"Benchmark project {i}. A quiet harbour at dawn.",
            "duration_s": args.short_duration,
            "resolution": args.short_resolution,
            "seed": i,
        }
        for i in range(args.projects)
    ]
    env = {"FRAMECAST_CHUNK_SECONDS": str(args.chunk_seconds)}
    with contextlib.ExitStack() as stack:
        deps: dict[int, tuple[Deployment, Server]] = {}
        for n in args.worker_counts:
            dep = stack.enter_context(Deployment(tmp / f"pg{n}", env))
            server = dep.api()
            dep.start_workers(n)
            run_projects(server, [{"prompt": "warm-up", "duration_s": 1, "resolution": "360p"}] * n, 120)
            deps[n] = (dep, server)
        all_pids = [p.pid for dep, _ in deps.values() for p in dep.workers]
        for n, (dep, server) in deps.items():
            pids = [p.pid for p in dep.workers]
            cpu0 = cpu_s(pids)
            wall, statuses = run_projects(server, short, args.timeout)
            cores = (cpu_s(pids) - cpu0) / wall
            done = statuses.count("completed")
            out["throughput"][n] = {"wall": wall, "completed": done, "n": len(short), "cores": cores}
            print(
                f"throughput, {n} worker(s): {len(short)} projects in {wall:.1f} s ({done} completed)",
                flush=True,
            )
        for duration in args.long_duration:
            body = {
                "prompt": LONG_PROMPT,
                "duration_s": duration,
                "resolution": args.long_resolution,
                "fps": 30,
                "seed": 7,
            }
            runs: dict[int, list[tuple[float, str, float, float, float]]] = {n: [] for n in deps}
            for rnd in range(args.long_repeat):
                order = list(deps) if rnd % 2 == 0 else list(reversed(deps))
                for n in order:
                    dep, server = deps[n]
                    pids = [p.pid for p in dep.workers]
                    others = [pid for pid in all_pids if pid not in pids]
                    assert server.proc is not None
                    service = [*pids, server.proc.pid]
                    cpu0, idle0, all0 = cpu_s(pids), cpu_s(others), cpu_s(service) + store_cpu_s()
                    wall, status = follow_one(server, body)
                    cores = (cpu_s(pids) - cpu0) / wall
                    total = cpu_s(service) + store_cpu_s() - all0
                    runs[n].append((wall, status, cores, (cpu_s(others) - idle0) / wall, total))
                    print(f"long render {duration:g} s, {n} worker(s): {wall:.2f} s ({status})", flush=True)
            for n, rs in runs.items():
                wall, status, cores, idle, _ = sorted(rs)[len(rs) // 2]  # the median run
                out["long"][(duration, n)] = {
                    "wall": wall,
                    "status": status,
                    "cores": cores,
                    "cpu_total": statistics.median(r[4] for r in rs),
                    "idle_cores": statistics.median(r[3] for r in rs),
                    "walls": [r[0] for r in rs],
                }
            if 1 in runs:
                for n in runs:
                    ratios = [a[0] / b[0] for a, b in zip(runs[1], runs[n], strict=True)]
                    # On two cores a render cannot take less than its CPU seconds / 2 (all processes).
                    bounds = [a[0] / (b[4] / 2) for a, b in zip(runs[1], runs[n], strict=True)]
                    out["pairs"][(duration, n)] = {
                        "median": statistics.median(ratios),
                        "ratios": ratios,
                        "bound": statistics.median(bounds),
                    }
    return out


# --------------------------------------------------------------------------- 3: SSE fan-out


async def _subscribe(
    host: str,
    port: int,
    path: str,
    auth: str,
    arrivals: dict[int, float],
    ready: asyncio.Event,
    failures: list[str],
) -> asyncio.StreamWriter | None:
    try:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 16)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n{auth}\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            failures.append(head.split(b"\r\n", 1)[0].decode(errors="replace"))
            writer.close()
            return None
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        failures.append(type(exc).__name__ + ": " + str(exc)[:80])
        return None

    async def pump() -> None:
        buf = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                now = time.monotonic()
                buf += chunk
                # Chunked transfer encoding: the SSE frames appear whole inside the chunks; size lines are
                # hex digits alone on a line, which never look like "id: " or "event: hello".
                while b"\n\n" in buf:
                    message, buf = buf.split(b"\n\n", 1)
                    if b"event: hello" in message:
                        ready.set()
                    idx = message.find(b"id: ")
                    if idx >= 0:
                        end = message.find(b"\n", idx)
                        seq = int(message[idx + 4 : end if end >= 0 else None])
                        arrivals.setdefault(seq, now)
        except (OSError, ValueError):
            return

    asyncio.get_running_loop().create_task(pump())
    return writer


async def _clients(url: str, paths: list[str], key: str | None, concurrency: int) -> None:
    """Client process: open one SSE stream per path (with ``Authorization: Bearer key`` when a key is
    given), report readiness, then per-stream arrival times."""
    host, port = url.removeprefix("http://").split(":")
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    arrivals: list[dict[int, float]] = [{} for _ in paths]
    readies = [asyncio.Event() for _ in paths]
    failures: list[str] = []
    writers: list[asyncio.StreamWriter] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            w = await _subscribe(host, int(port), paths[i], auth, arrivals[i], readies[i], failures)
            if w is not None:
                writers.append(w)
                try:
                    await asyncio.wait_for(readies[i].wait(), 60)
                except TimeoutError:
                    failures.append("no hello in 60 s")

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(len(paths))))
    connected = sum(r.is_set() for r in readies)
    print(
        json.dumps(
            {
                "ready": connected,
                "failures": failures[:5],
                "n_failures": len(failures),
                "connect_s": time.monotonic() - t0,
            }
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    # The parent says "report" on stdin after it committed its events and waited.
    await loop.run_in_executor(None, sys.stdin.readline)
    print(json.dumps({"arrivals": [{str(k): v for k, v in a.items()} for a in arrivals]}), flush=True)
    for w in writers:
        w.close()


class ClientProcs:
    def __init__(self, url: str, paths: list[str], key: str | None, procs: int, concurrency: int) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        per = [paths[i::procs] for i in range(procs)]
        for part in per:
            p = subprocess.Popen(
                [sys.executable, __file__, "_clients", url, str(concurrency)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert p.stdin is not None
            p.stdin.write(json.dumps({"paths": part, "key": key}) + "\n")
            p.stdin.flush()
            self.procs.append(p)

    def wait_ready(self) -> dict[str, Any]:
        infos = [json.loads(p.stdout.readline()) for p in self.procs if p.stdout is not None]
        return {
            "ready": sum(i["ready"] for i in infos),
            "n_failures": sum(i["n_failures"] for i in infos),
            "failures": [f for i in infos for f in i["failures"]][:5],
            "connect_s": max(i["connect_s"] for i in infos),
        }

    def report(self) -> list[dict[int, float]]:
        out: list[dict[int, float]] = []
        for p in self.procs:
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("report\n")
            p.stdin.flush()
        for p in self.procs:
            assert p.stdout is not None
            data = json.loads(p.stdout.readline())
            out.extend({int(k): v for k, v in a.items()} for a in data["arrivals"])
            p.wait(timeout=30)
        return out

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@dataclass
class FanTarget:
    """One API server under fan-out: its auth mode, how to commit to its ledger, its key (keys mode) and,
    on Postgres, how many times its keys table was read (``key_reads()``)."""

    auth: str
    server: Server
    commit: Callable[[str, int], tuple[int, float]]
    key: str | None = None
    key_reads: Callable[[], int] | None = None


def fanout(targets: list[FanTarget], args: argparse.Namespace, label: str) -> list[dict[str, Any]]:
    """K idle subscribers on one project of each target's server, all targets at once (so the auth modes
    see the same machine); RSS; then events committed to each in turn, one fan-out at a time."""
    pids, clients, results = [], [], []
    for t in targets:
        assert t.server.proc is not None
        headers = {"Authorization": f"Bearer {t.key}"} if t.key else {}
        reads_before = t.key_reads() if t.key_reads else None
        with httpx.Client(base_url=t.server.url, timeout=30, headers=headers) as c:
            snap = create(c, prompt="fan-out benchmark", duration_s=2, resolution="360p")
            last = c.get(f"/api/projects/{snap['id']}").json()["last_seq"]
        pids.append(snap["id"])
        results.append(
            {
                "label": label,
                "auth": t.auth,
                "rss_before_mib": rss_kib(t.server.proc.pid) / 1024,
                "reads_before": reads_before,
            }
        )
        path = f"/api/projects/{snap['id']}/events?after={last}"
        clients.append(path)
    # The subscribers open with a cold cache, as after a restart: the server has not seen the key for
    # longer than it remembers a checked key (web/auth.py CACHE_S, 5 s).
    time.sleep(6)
    procs: list[ClientProcs] = []
    connect_cpu0 = [cpu_s([t.server.proc.pid]) for t in targets if t.server.proc]
    try:
        for t, path in zip(targets, clients, strict=True):
            procs.append(
                ClientProcs(
                    t.server.url,
                    [path] * args.subscribers,
                    t.key,
                    args.client_procs,
                    args.connect_concurrency,
                )
            )
        for t, cp, result in zip(targets, procs, results, strict=True):
            info = cp.wait_ready()
            result.update(info)
            print(
                f"[{label}, auth={t.auth}] {info['ready']} subscribers connected in {info['connect_s']:.1f} s "
                f"({info['n_failures']} failures {info['failures']})",
                flush=True,
            )
        cpu0 = [cpu_s([t.server.proc.pid]) for t in targets if t.server.proc]
        for c_start, c_end, result in zip(connect_cpu0, cpu0, results, strict=True):
            result["connect_cpu_s"] = c_end - c_start
        time.sleep(args.idle_s)  # idle: let at least one ping round pass
        for t, c0, result in zip(targets, cpu0, results, strict=True):
            assert t.server.proc is not None
            result["idle_cores"] = (cpu_s([t.server.proc.pid]) - c0) / args.idle_s
        samples: list[list[int]] = [[] for _ in targets]
        for _ in range(5):
            for t, s in zip(targets, samples, strict=True):
                assert t.server.proc is not None
                s.append(rss_kib(t.server.proc.pid))
            time.sleep(0.5)
        for t, s, result in zip(targets, samples, results, strict=True):
            result["rss_idle_mib"] = max(s) / 1024
            if t.key_reads and result["reads_before"] is not None:
                # Postgres counts the reads a backend made when it next reports (within ~10 s of going
                # idle): the idle time above has passed, so every read of the connect phase is counted.
                result["key_reads"] = t.key_reads() - result["reads_before"]
            print(
                f"[{label}, auth={t.auth}] server RSS {result['rss_before_mib']:.0f} MiB before, "
                f"{result['rss_idle_mib']:.0f} MiB idle; key reads {result.get('key_reads', '-')}",
                flush=True,
            )
        committed: list[dict[int, float]] = [{} for _ in targets]
        event_cpu: list[list[float]] = [[] for _ in targets]
        for i in range(args.fanout_events):
            # One fan-out at a time (the other server idle meanwhile); who goes first alternates.
            order = list(range(len(targets)))
            for k in order if i % 2 == 0 else order[::-1]:
                pid_k = targets[k].server.proc.pid if targets[k].server.proc else 0
                c_before = cpu_s([pid_k])
                seq, at = targets[k].commit(pids[k], i)
                committed[k][seq] = at
                time.sleep(args.event_gap_s)
                # The server's CPU for this event: reading it (from Redis, or the SQLite watcher) and
                # writing it to every subscriber; no pings are due while events come every few seconds.
                event_cpu[k].append(cpu_s([pid_k]) - c_before)
        arrivals = [cp.report() for cp in procs]
    finally:
        for cp in procs:
            cp.kill()
    for result, cpu in zip(results, event_cpu, strict=True):
        result["event_cpu"] = cpu
        result["event_cpu_ms"] = statistics.median(cpu) * 1000 if cpu else float("nan")
    for t, result, done, got in zip(targets, results, committed, arrivals, strict=True):
        assert t.server.proc is not None
        result["rss_peak_mib"] = (
            max(result["rss_idle_mib"], rss_kib(t.server.proc.pid) / 1024)
            if t.server.proc.poll() is None
            else None
        )
        trials, per_sub, p99s, missing = [], [], [], 0
        for seq, at in done.items():
            lat = [(a[seq] - at) * 1000 for a in got if seq in a]  # every stream, connected or not, counts
            missing += len(got) - len(lat)
            per_sub.extend(lat)
            if lat:
                trials.append(max(lat))
                p99s.append(pct(lat, 99))
        result.update(
            events=len(done),
            missing=missing,
            p50=statistics.median(per_sub) if per_sub else float("nan"),
            p99=pct(per_sub, 99) if per_sub else float("nan"),
            max=max(per_sub) if per_sub else float("nan"),
            all_ms=trials,
            p99s=p99s,
        )
        print(
            f"[{label}, auth={t.auth}] per subscriber p50 {result['p50']:.0f} ms p99 {result['p99']:.0f} ms "
            f"max {result['max']:.0f} ms; all reached after {', '.join(f'{x:.0f}' for x in trials)} ms; "
            f"missing {missing}",
            flush=True,
        )
    return results


def _bench_key(ledger: Any) -> str:
    from framecast.services.identity import KeyService

    return KeyService(ledger).create("bench", label="bench/scale.py fan-out")[1]


def _key_reads(database_url: str) -> Callable[[], int]:
    """Reads of the api_keys table so far (index and sequential scans), from Postgres's statistics."""

    def reads() -> int:
        import psycopg

        with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
            row = conn.execute(
                "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                "WHERE relname = 'api_keys'"
            ).fetchone()
        return int(row[0]) if row else 0

    return reads


def fanout_scale_out(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """One deployment per auth mode (its own database and Redis namespace), all up at once."""
    from framecast.app_context import build_runtime
    from framecast.settings import Settings

    with contextlib.ExitStack() as stack:
        targets = []
        for auth in args.auth_modes:
            env = {"FRAMECAST_PING_INTERVAL_S": str(args.ping_interval), "FRAMECAST_AUTH": auth}
            dep = stack.enter_context(Deployment(tmp / f"pg-fanout-{auth}", env))
            server = dep.api()
            runtime = build_runtime(
                Settings(
                    database_url=dep.database_url,
                    broker_url=REDIS_URL,
                    namespace=dep.namespace,
                    data_dir=tmp / f"bench-runtime-{auth}",
                    media_url=str(tmp / f"pg-fanout-{auth}" / "shared-media"),
                ),
                migrate=False,
            )
            stack.callback(runtime.close)
            ledger = runtime.ledger
            targets.append(
                FanTarget(
                    auth,
                    server,
                    lambda pid, i, ledger=ledger: _commit(ledger, pid, i),
                    key=_bench_key(ledger) if auth == "keys" else None,
                    key_reads=_key_reads(dep.database_url),
                )
            )
        return fanout(targets, args, "scale-out (Postgres + Redis)")


def fanout_embedded(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    from framecast.ledger.engine import make_engine
    from framecast.ledger.repository import SqlLedger

    with contextlib.ExitStack() as stack:
        targets = []
        for auth in args.auth_modes:
            data = tmp / f"embedded-{auth}" / "data"
            server = Server(
                data,
                workers=0,
                env={
                    "FRAMECAST_LOG_LEVEL": "WARNING",
                    "FRAMECAST_PING_INTERVAL_S": str(args.ping_interval),
                    "FRAMECAST_AUTH": auth,
                },
            ).start()
            stack.callback(server.stop)
            ledger = SqlLedger(make_engine(f"sqlite:///{data / 'framecast.db'}"))
            stack.callback(ledger.engine.dispose)
            targets.append(
                FanTarget(
                    auth,
                    server,
                    lambda pid, i, ledger=ledger: _commit(ledger, pid, i),
                    key=_bench_key(ledger) if auth == "keys" else None,
                )
            )
        return fanout(targets, args, "embedded (SQLite)")


def _commit(ledger: Any, pid: str, i: int) -> tuple[int, float]:
    with ledger.transaction() as tx:
        ev = tx.append_event(
            pid,
            "render_progress",
            {"task_id": "bench", "progress": i / 100, "frame": i, "frames": 100, "eta_s": None},
        )
    return ev.seq, time.monotonic()


# --------------------------------------------------------------------------- report


def report(args: argparse.Namespace, renders: dict[str, Any] | None) -> dict[str, str]:
    parts = []
    if renders:
        rows = [
            "| workers | projects | completed | wall s | projects/min |",
            "| ---: | ---: | ---: | ---: | ---: |",
        ]
        for n, r in renders["throughput"].items():
            rows.append(
                f"| {n} | {r['n']} | {r['completed']} | {r['wall']:.1f} | {r['n'] / r['wall'] * 60:.1f} |"
            )
        tp = renders["throughput"]
        ratio = (tp[1]["wall"] / tp[2]["wall"]) if 1 in tp and 2 in tp else None
        parts.append(
            f"**Throughput**: {args.projects} projects × {args.short_duration:g} s {args.short_resolution} (prompt, "
            "plan + chunked render + compose + poster), all POSTed at once to one API replica; wall time from the "
            "first POST until every project is terminal.\n\n"
            + "\n".join(rows)
            + (f"\n\n2 workers vs 1: {ratio:.2f}x." if ratio else "")
            + " Worker CPU cores busy: "
            + ", ".join(f"{n} worker(s) {r['cores']:.2f}" for n, r in tp.items())
            + "."
        )
        rows = [
            "| video | workers | status | wall s, median (rounds) | worker CPU cores busy | CPU s, all processes | speedup (rounds) |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
        ]
        lr, pairs = renders["long"], renders.get("pairs", {})
        verdicts = []
        for duration in args.long_duration:
            for n in args.worker_counts:
                r = lr[(duration, n)]
                pair = pairs.get((duration, n))
                walls = ", ".join(f"{w:.1f}" for w in r.get("walls", [r["wall"]]))
                speed = (
                    f"{pair['median']:.2f}x ({', '.join(f'{x:.2f}' for x in pair['ratios'])})"
                    if pair
                    else "-"
                )
                rows.append(
                    f"| {duration:g} s {args.long_resolution} | {n} | {r['status']} | {r['wall']:.1f} ({walls}) | "
                    f"{r['cores']:.2f} | {r['cpu_total']:.1f} | {speed} |"
                )
                if n == 2 and pair:
                    got = pair["median"]
                    verdicts.append(
                        f"{duration:g} s: {'met' if got >= 1.7 else 'NOT met'} ({got:.3f}x; the CPU bound "
                        f"{pair['bound']:.2f}x)"
                    )
        idle = max((r.get("idle_cores", 0.0) for r in lr.values()), default=0.0)
        parts.append(
            f"**One long render**: one project at a time, 30 fps, CHUNK_SECONDS={args.chunk_seconds:g} (chunks "
            "rendered in parallel by the workers, then joined without re-encoding); wall time from POST until "
            "the SDK, following the project's SSE stream, sees the end. One deployment per worker count, all "
            f"up at once; {args.long_repeat} rounds, each rendering the video once on every deployment (the "
            "order alternating), because this machine's speed drifts within minutes: the speedup is the median "
            "of the rounds' own ratios (each round's in brackets). "
            '"CPU cores busy" = CPU seconds of that deployment\'s worker processes / wall time; the idle '
            f'deployments\' workers used at most {idle:.2f} cores meanwhile. "CPU s, all processes" = CPU '
            "seconds per render of the workers, the API replica, Postgres and Redis (median); two cores cannot "
            'finish a render in less than half of that, so "the CPU bound" = 1-worker wall / (2-worker CPU s / '
            "2) is the best speedup the 2-worker deployment could show for the work it did.\n\n"
            + "\n".join(rows)
            + ("\n\nGoal: speedup ≥ 1.7x with 2 workers — " + "; ".join(verdicts) + "." if verdicts else "")
        )
        c = renders.get("ceiling")
        if c:
            parts.append(
                f"**What two cores give the encoder alone** (the ceiling for any split render): {c['frames']} "
                "pre-made 720p frames encoded by x264 with the service's settings (one thread, veryfast, QP 20), "
                "in one process, then in two processes at once; median of "
                f"{len(c['alones'])}: one alone {c['alone']:.2f} s, two at once {c['pair']:.2f} s each "
                f"(runs: {', '.join(f'{x:.2f}' for x in c['alones'])} / {', '.join(f'{x:.2f}' for x in c['pairs'])}) "
                f"— two encoders do **{c['ratio']:.2f}x** the work of one. Two encoders on this machine's two "
                "cores slow each other down (shared cache and memory bandwidth of the virtual machine), and a "
                "split render cannot do much better than this figure; it is measured minutes before the renders, "
                "so the machine's drift can put a render's ratio on either side of it."
            )
    if not parts:
        return {}
    parts.append(_machine())
    return {"Scale-out": "`bench/scale.py`, one run, real processes.\n\n" + "\n\n".join(parts)}


def _machine() -> str:
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; benchmark "
        f"clients, API, workers, Postgres and Redis all on this one machine; run {time.strftime('%Y-%m-%d')}. "
        f"Load average (1 min) at the start {LOAD[0]:.1f}, at the end {os.getloadavg()[0]:.1f}: the machine was shared "
        "with other work, so single figures vary from run to run."
    )


def _per_sub_kib(f: dict[str, Any]) -> float:
    return float((f["rss_idle_mib"] - f["rss_before_mib"]) * 1024 / max(1, f["ready"]))


def fanout_report(args: argparse.Namespace, fans: list[dict[str, Any]], fd: int) -> dict[str, str]:
    rows = [
        "| mode | auth | subscribers connected | connect s | connect CPU ms/subscriber | key reads | RSS before MiB | RSS idle MiB | KiB/subscriber | idle CPU cores | events | missing | CPU ms/event | p50 ms | p99 ms | max ms | all reached, ms (per event) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for f in fans:
        reads = f.get("key_reads")
        rows.append(
            f"| {f['label']} | {f['auth']} | {f['ready']} / {args.subscribers} | {f['connect_s']:.1f} | "
            f"{f['connect_cpu_s'] * 1000 / max(1, f['ready']):.2f} | "
            f"{'-' if reads is None else reads} | {f['rss_before_mib']:.0f} | {f['rss_idle_mib']:.0f} | "
            f"{_per_sub_kib(f):.1f} | {f['idle_cores']:.2f} | {f['events']} | {f['missing']} | "
            f"{f['event_cpu_ms']:.0f} | {f['p50']:.0f} | "
            f"{f['p99']:.0f} | {f['max']:.0f} | {', '.join(f'{x:.0f}' for x in f['all_ms'])} |"
        )
    verdicts = []
    for f in (x for x in fans if x["label"].startswith("scale-out")):
        worst_all = max(f["all_ms"]) if f["all_ms"] else float("inf")
        mem_ok = f["ready"] >= 10_000 and f["rss_idle_mib"] <= 1024
        verdicts.append(
            f"auth={f['auth']}: 10,000 idle subscribers within 1 GB RSS — {'met' if mem_ok else 'NOT met'} "
            f"({f['ready']} connected, {f['rss_idle_mib']:.0f} MiB); one event reaches all of them in ≤ 1 s — "
            f"{'met' if worst_all <= 1000 and f['missing'] == 0 else 'NOT met'} (worst of {f['events']} events: "
            f"{worst_all:.0f} ms, {f['missing']} missing; the server's CPU per event {f['event_cpu_ms']:.0f} ms)."
        )
    auth_verdicts = []
    for label in dict.fromkeys(f["label"] for f in fans):
        by = {f["auth"]: f for f in fans if f["label"] == label}
        if {"none", "keys"} <= by.keys():
            none, keys = by["none"], by["keys"]
            # Event i of one replica and event i of the other were committed seconds apart: pair them (one
            # noisy moment of a shared machine then moves one pair, not the whole comparison).
            lat_pairs = [k / n - 1 for n, k in zip(none["p99s"], keys["p99s"], strict=False)]
            cpu_pairs = [
                k / n - 1 for n, k in zip(none["event_cpu"], keys["event_cpu"], strict=False) if n > 0
            ]
            lat_verdict, lat_text = paired_verdict(lat_pairs, AUTH_BUDGET)
            cpu_verdict, cpu_text = paired_verdict(cpu_pairs, AUTH_BUDGET)
            dmem = _per_sub_kib(keys) / _per_sub_kib(none) - 1
            conn = [f["connect_cpu_s"] * 1000 / max(1, f["ready"]) for f in (none, keys)]
            auth_verdicts.append(
                f"{label}: RSS per subscriber {'met' if dmem <= AUTH_BUDGET else 'NOT met'} "
                f"({_per_sub_kib(none):.1f} → {_per_sub_kib(keys):.1f} KiB, {dmem:+.1%}); SSE p99 by latency "
                f"{lat_verdict} ({lat_text}; the events' own {', '.join(f'{x:+.0%}' for x in lat_pairs)}; pooled "
                f"{none['p99']:.0f} → {keys['p99']:.0f} ms), by the server CPU it is made of {cpu_verdict} (per "
                f"event {none['event_cpu_ms']:.0f} → {keys['event_cpu_ms']:.0f} ms, {cpu_text}; per subscriber "
                f"connected {conn[0]:.2f} → {conn[1]:.2f} ms, {conn[1] / conn[0] - 1:+.1%})"
            )
    modes = " and ".join(f"FRAMECAST_AUTH={m}" for m in args.auth_modes)
    text = (
        f"`bench/scale.py`, one run, real processes. One API replica per auth mode ({modes}; `serve --workers 0`), "
        "all up at once (in scale-out, each with its own database and Redis namespace), each with "
        f"{args.subscribers} idle SSE subscribers on ONE project, opened by {args.client_procs} asyncio client "
        f"process(es) per replica (raw streams; in keys mode each sends `Authorization: Bearer` with one key); "
        f"fd limit {fd}; PING_INTERVAL_S={args.ping_interval:g}; idle {args.idle_s:g} s before measuring RSS (VmRSS "
        "of the server and its children; 'idle CPU cores' = the server's CPU seconds per second while idle, pings "
        "included). 'key reads' = reads of the `api_keys` table during project creation and the connect phase "
        "(Postgres statistics; the subscribers start 6 s after the project was made, so with a cold cache); "
        "'connect CPU' = the server's CPU seconds from the first connect until every subscriber had its hello "
        "(pings to those already connected included), per subscriber. Then "
        f"{args.fanout_events} `render_progress` events committed to each replica's project, "
        f"{args.event_gap_s:g} s apart and one replica at a time (the order alternating), by the benchmark (ledger "
        "transaction; in scale-out the commit hook publishes to Redis Streams); latency = arrival at each "
        "subscriber − end of the commit; 'CPU ms/event' = the server's CPU time from the commit until the next "
        "one (median over the events).\n\n"
        + "\n".join(rows)
        + ("\n\nGoals, " + " ".join(verdicts) if verdicts else "")
        + (
            f"\n\nGoal: auth (keys vs none) adds at most {AUTH_BUDGET:.0%} to SSE p99 and to RSS per subscriber — "
            + "; ".join(auth_verdicts)
            + ". (“not resolved”: the pairs scatter more than the budget on this shared machine; see "
            "`paired_verdict` in bench/_report.py.)"
            if auth_verdicts
            else ""
        )
        + "\n\n"
        + _machine()
    )
    return {"SSE fan-out": text}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_clients":
        raise_fd_limit()
        job = json.loads(sys.stdin.readline())
        import uvloop

        uvloop.run(_clients(sys.argv[2], job["paths"], job["key"], int(sys.argv[3])))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--projects", type=int, default=20)
    ap.add_argument("--short-duration", type=float, default=2)
    ap.add_argument("--short-resolution", default="360p")
    ap.add_argument("--long-duration", type=float, nargs="+", default=[20, 60])
    ap.add_argument("--long-resolution", default="720p")
    ap.add_argument(
        "--long-repeat", type=int, default=3, help="runs of each long render; the median is shown"
    )
    ap.add_argument("--chunk-seconds", type=float, default=2.0)
    ap.add_argument("--worker-counts", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--client-procs", type=int, default=1)
    ap.add_argument("--connect-concurrency", type=int, default=200)
    ap.add_argument("--ping-interval", type=float, default=15)
    ap.add_argument("--idle-s", type=float, default=20)
    ap.add_argument("--fanout-events", type=int, default=5)
    ap.add_argument("--event-gap-s", type=float, default=3)
    ap.add_argument("--skip-renders", action="store_true")
    ap.add_argument("--skip-fanout", action="store_true")
    ap.add_argument("--skip-embedded", action="store_true")
    ap.add_argument(
        "--auth-modes",
        nargs="+",
        default=["none", "keys"],
        choices=["none", "keys"],
        help="fan-out: one replica per mode, side by side (keys: the subscribers send a Bearer key)",
    )
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    fd = raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="fc-scale-"))
    t0 = time.monotonic()
    try:
        renders = None if args.skip_renders else render_phase(args, tmp)
        fans = []
        if not args.skip_fanout:
            fans += fanout_scale_out(args, tmp)
            if not args.skip_embedded:
                fans += fanout_embedded(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # Two sections, each written only when its part ran, so a fan-out-only run keeps the render figures.
    sections = {**report(args, renders), **(fanout_report(args, fans, fd) if fans else {})}
    for title, text in sections.items():
        print(f"## {title}\n\n{text}\n")
    print(f"(benchmark took {time.monotonic() - t0:.0f} s)")
    if not args.no_write:
        from bench._report import write_section

        for title, text in sections.items():
            write_section(title, text)


if __name__ == "__main__":
    main()
