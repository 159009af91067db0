"""The command line: thin — parse, call the library, print. Errors print ``Error: message`` and exit 1."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from framecast.domain.errors import FramecastError
from framecast.domain.identity import AuthMode
from framecast.settings import Settings

app = typer.Typer(
    help="Framecast: prompt or timeline in, MP4 out.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="API keys (FRAMECAST_AUTH=keys).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
webhooks_app = typer.Typer(help="Webhooks.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


def _settings(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "FRAMECAST_" + "_".join(str(p) for p in first["loc"]).upper()
        typer.echo(f"Error: {name}: {first['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_exposure(settings: Settings) -> None:
    """With no sign-in, anyone who reaches the port owns every video: listen on loopback only, unless the
    operator said FRAMECAST_AUTH=none on purpose."""
    if settings.auth is not AuthMode.NONE or is_loopback(settings.host):
        return
    if not settings.auth_set_explicitly:
        typer.echo(
            f"Error: refusing to listen on {settings.host} without sign-in: anyone who reaches the port could "
            "read, cancel and delete every video. Turn auth on (FRAMECAST_AUTH=keys, then "
            "`framecast keys create --owner NAME`; or FRAMECAST_AUTH=proxy behind an identity-aware proxy), "
            "or listen on 127.0.0.1. To expose it without sign-in anyway, set FRAMECAST_AUTH=none.",
            err=True,
        )
        raise typer.Exit(2)
    logging.getLogger("framecast.cli").warning(
        "listening on %s with FRAMECAST_AUTH=none: anyone who reaches this port owns every video",
        settings.host,
    )


def _logging(settings: Settings) -> None:
    from framecast.logs import configure

    configure(settings.log_level, settings.log_format)


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _fail(exc: FramecastError) -> None:
    typer.echo(f"Error: {exc.message}", err=True)
    raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where the database and media live.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (0: API only). Default: cores.")
    ] = None,
) -> None:
    """Start the API and the page, and in embedded mode a local worker pool."""
    import uvicorn

    from framecast.app_context import build_runtime
    from framecast.jobs.pool import WorkerPool
    from framecast.jobs.reconcile_loop import ReconcilerThread
    from framecast.jobs.webhook_loop import WebhookSenderThread
    from framecast.web.app import create_app
    from framecast.web.http_server import backlog_warning, server_options

    settings = _settings(host=host, port=port, data_dir=data_dir, workers=workers)
    _logging(settings)
    _check_exposure(settings)
    warning = backlog_warning(settings)
    if warning is not None:
        logging.getLogger("framecast.cli").warning("%s", warning)
    try:
        runtime = build_runtime(settings)
        if settings.embedded_broker:
            runtime.service.reconcile()
    except FramecastError as exc:
        _fail(exc)
    reconciler = ReconcilerThread(runtime, interval_s=settings.reconcile_interval_s)
    # The embedded pool renders below the API's priority (FRAMECAST_WORKER_NICE), and a worker it sees
    # exit has its running tasks re-queued at once, not after the heartbeat timeout.
    pool = WorkerPool(
        settings, settings.worker_count, nice=settings.worker_nice, on_exit=reconciler.worker_exited
    )
    if settings.worker_count > 0:
        pool.start()
    reconciler.start()
    webhook_sender = WebhookSenderThread(runtime)
    webhook_sender.start()
    # uvicorn shuts down on SIGTERM/SIGINT, then restores the handlers it found and raises the signal
    # again: with the default SIGTERM action the process would die right there, before the pool below
    # drains (its workers would be orphaned). Found instead: a clean exit through ``finally``.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    try:
        uvicorn.run(
            create_app(runtime),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            # uvicorn's records go through the one handler (text or JSON lines); the app's request-id
            # middleware writes the access lines, with the request's ids.
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=3,
            # The peer address stays the real one: Framecast decides itself which proxies to believe
            # (FRAMECAST_TRUSTED_PROXIES) for the owner header and the forwarded scheme.
            proxy_headers=False,
            ws_ping_interval=20,
            # Request heads over FRAMECAST_MAX_HEADER_BYTES get 431, heads slower than
            # FRAMECAST_HEADER_TIMEOUT_S are dropped (uvicorn has neither; see web.http_server).
            **server_options(settings),
        )
    finally:
        webhook_sender.stop()
        reconciler.stop()
        pool.stop()
        runtime.close()


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes to run.")] = 1,
    threads: Annotated[int, typer.Option(help="Threads per process.")] = 1,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    """Run worker processes that take tasks from the broker."""
    from framecast.jobs.pool import WorkerPool
    from framecast.jobs.worker import lower_priority, run_worker

    settings = _settings(data_dir=data_dir, worker_threads=threads)
    _logging(settings)
    if processes > 1:
        pool = WorkerPool(settings, processes)
        pool.start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        stop.wait()
        pool.stop()
        return
    from framecast.app_context import build_runtime

    parent = os.getppid()
    if os.environ.get("FRAMECAST_POOL_CHILD"):
        lower_priority(settings.worker_nice)
    try:
        runtime = build_runtime(settings, migrate=True)
    except FramecastError as exc:
        _fail(exc)
    run_worker(
        runtime, threads=threads, parent_pid=parent if os.environ.get("FRAMECAST_POOL_CHILD") else None
    )


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="What the video is about.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the MP4.")] = Path(
        "video.mp4"
    ),
    duration_s: Annotated[float, typer.Option("--duration", help="Seconds (1..600).")] = 8,
    aspect: Annotated[str, typer.Option(help="16:9, 9:16 or 1:1.")] = "16:9",
    resolution: Annotated[str, typer.Option(help="360p, 480p, 720p or 1080p.")] = "720p",
    fps: Annotated[int, typer.Option(help="24, 25, 30 or 60.")] = 30,
    seed: Annotated[int | None, typer.Option(help="Same seed, same video.")] = None,
    style: Annotated[str | None, typer.Option(help="cinematic, minimal, neon, retro or documentary.")] = None,
    voiceover: Annotated[bool, typer.Option(help="Narrate the scenes with espeak-ng.")] = False,
    engine: Annotated[
        str, typer.Option(help="Which engine makes it (`framecast engines` lists them).")
    ] = "procedural",
    server: Annotated[
        str | None,
        typer.Option(envvar="FRAMECAST_SERVER", help="A running Framecast to use (default: run locally)."),
    ] = None,
) -> None:
    """Make one video and write it to a file, with a progress bar.

    With --server, a server with FRAMECAST_AUTH=keys needs the key in FRAMECAST_API_KEY."""
    import httpx
    from pydantic import ValidationError

    from framecast.domain.options import ProjectRequest

    try:
        request = ProjectRequest(
            prompt=prompt,
            duration_s=duration_s,
            aspect=aspect,
            resolution=resolution,
            fps=fps,
            seed=seed,
            style=style,
            voiceover=voiceover,
            engine=engine,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        typer.echo(f"Error: {field}: {first['msg']}", err=True)
        raise typer.Exit(2) from None
    from framecast.client.errors import ClientError
    from framecast.client.local import local_server
    from framecast.client.sync import Client

    try:
        if server:
            with Client(server) as client:  # the SDK reads FRAMECAST_API_KEY
                _generate_with(client, request, output)
        else:
            with local_server(_settings()) as url, Client(url) as client:
                _generate_with(client, request, output)
    except FramecastError as exc:
        _fail(exc)
    except ClientError as exc:
        typer.echo(f"Error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except httpx.TransportError as exc:
        typer.echo(f"Error: could not reach {server or 'the local server'}: {exc}", err=True)
        raise typer.Exit(1) from None


def _generate_with(client: Any, request: Any, output: Path) -> None:
    from framecast.client.follow import ProgressTracker
    from framecast.terminal import progress_display

    project = client.create_project(**request.model_dump(exclude_none=True))
    typer.echo(f"Project {project['id']}", err=True)
    with progress_display() as show:
        show(ProgressTracker().update(project))  # the creation snapshot: queued, and how many are ahead
        # The bar follows the project's overall progress (the snapshot's), not one chunk's.
        result = client.wait(project["id"], on_progress=show)
    client.download(result["url"], output)
    typer.echo(f"Wrote {output} ({result['duration_s']} s, {result['width']}x{result['height']})")


@app.command()
def engines(
    server: Annotated[
        str | None,
        typer.Option(
            envvar="FRAMECAST_SERVER", help="Ask a running Framecast (default: this machine's settings)."
        ),
    ] = None,
) -> None:
    """List the engines (the --engine of `generate`) and what each accepts."""
    if server:
        from framecast.client.errors import ClientError
        from framecast.client.sync import Client

        try:
            with Client(server) as client:
                infos = client.engines()["engines"]
        except ClientError as exc:
            typer.echo(f"Error: {exc.message}", err=True)
            raise typer.Exit(1) from None
    else:
        from framecast.engines.registry import build_registry

        infos = [info.model_dump(mode="json") for info in build_registry(_settings()).infos()]
    for info in infos:
        durations = (
            ", ".join(f"{d:g}" for d in info["durations_s"])
            if info.get("durations_s")
            else f"{info['min_duration_s']:g}-{info['max_duration_s']:g}"
        )
        typer.echo(
            f"{info['name']}\t{info['label']}: {durations} s; {', '.join(info['resolutions'])}; "
            f"fps {', '.join(str(f) for f in info['fps'])}; aspects {', '.join(info['aspects'])}"
            f"{'; timelines' if info['accepts_timeline'] else ''}{'; voiceover' if info['voiceover'] else ''}"
        )


@db_app.command("upgrade")
def db_upgrade(data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None) -> None:
    """Apply the schema migrations (SQLite or Postgres)."""
    from framecast.ledger.engine import make_engine
    from framecast.ledger.migrate import upgrade

    settings = _settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(make_engine(settings.database_url_resolved))
    typer.echo("Database is up to date.")


@contextmanager
def _key_service(data_dir: Path | None) -> Iterator[Any]:
    from framecast.ledger.engine import make_engine
    from framecast.ledger.migrate import upgrade
    from framecast.ledger.repository import SqlLedger
    from framecast.services.identity import KeyService

    settings = _settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url_resolved)
    try:
        upgrade(engine)
        yield KeyService(SqlLedger(engine))
    except FramecastError as exc:
        _fail(exc)
    finally:
        engine.dispose()


DataDirOption = Annotated[Path | None, typer.Option("--data-dir", help="Where the database lives.")]


@keys_app.command("create")
def keys_create(
    owner: Annotated[str, typer.Option(help="Whose projects the key makes and reads.")],
    label: Annotated[str, typer.Option(help="What the key is for (shown in `keys list`).")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="May read every owner's projects.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Make a key. It is printed once, alone on the last line; only its hash is stored."""
    with _key_service(data_dir) as keys:
        key, secret = keys.create(owner, label=label, admin=admin)
    typer.echo(f"Created {key.id} for owner {key.owner}{' (admin)' if key.admin else ''}. Keep the key now:")
    typer.echo(secret)


@keys_app.command("list")
def keys_list(data_dir: DataDirOption = None) -> None:
    """The keys, without their secrets."""
    with _key_service(data_dir) as keys:
        rows = keys.list()
    if not rows:
        typer.echo("No API keys yet: framecast keys create --owner NAME")
        return
    for key in rows:
        state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
        flags = " admin" if key.admin else ""
        typer.echo(f"{key.id}  {key.owner:<20} {state:<24}{flags}  {key.label}".rstrip())


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")], data_dir: DataDirOption = None
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    with _key_service(data_dir) as keys:
        key = keys.revoke(key_id)
    typer.echo(f"Revoked {key.id} ({key.owner}).")


@webhooks_app.command("secret")
def webhooks_secret(data_dir: DataDirOption = None) -> None:
    """Print the secret that signs projects' own webhooks (give it to their receivers): the
    FRAMECAST_WEBHOOK_SECRET setting, or the one this service made and keeps in its ledger."""
    settings = _settings(data_dir=data_dir)
    if settings.webhook_secret:
        typer.echo("From FRAMECAST_WEBHOOK_SECRET:", err=True)
        typer.echo(settings.webhook_secret)
        return
    from framecast.ledger.engine import make_engine
    from framecast.ledger.migrate import upgrade
    from framecast.ledger.repository import SqlLedger
    from framecast.services.webhooks import SERVICE_SECRET_NAME, new_secret

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url_resolved)
    try:
        upgrade(engine)
        secret = SqlLedger(engine).service_secret(SERVICE_SECRET_NAME, new_secret)
    except FramecastError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    typer.echo(
        "Made by this service and kept in its ledger (set FRAMECAST_WEBHOOK_SECRET to choose it):", err=True
    )
    typer.echo(secret)


@webhooks_app.command("rotate-secret")
def webhooks_rotate_secret(
    grace_s: Annotated[
        int,
        typer.Option(
            "--grace-s",
            min=0,
            max=7 * 24 * 3600,
            help="How long the old secret still signs beside the new one (0: it stops at once).",
        ),
    ] = 24 * 3600,
    data_dir: DataDirOption = None,
) -> None:
    """Replace the ledger-kept secret that signs projects' own webhooks and print the new one; for
    --grace-s (a day) deliveries carry signatures by both, so receivers can switch at any moment in it.
    A secret set with FRAMECAST_WEBHOOK_SECRET is rotated there (see FRAMECAST_WEBHOOK_SECRET_PREVIOUS)."""
    settings = _settings(data_dir=data_dir)
    from framecast.domain.models import iso
    from framecast.ledger.engine import make_engine
    from framecast.ledger.migrate import upgrade
    from framecast.ledger.repository import SqlLedger
    from framecast.services.webhooks import rotate_service_secret

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url_resolved)
    try:
        upgrade(engine)
        secret, until = rotate_service_secret(
            SqlLedger(engine), grace_s, from_settings=settings.webhook_secret is not None
        )
    except FramecastError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    if until is None:
        typer.echo("The new secret (the old one no longer signs):", err=True)
    else:
        typer.echo(f"The new secret (the old one signs beside it until {iso(until)}):", err=True)
    typer.echo(secret)


def main() -> None:
    app()
