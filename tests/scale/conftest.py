"""Scale-out fixtures: the machine's real Postgres and Redis, API replicas and workers as real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import IN_CI, require_service
from tests.support.server import Server, free_port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.services)
            item.add_marker(pytest.mark.slow)


@dataclass
class Cluster:
    """Shared settings of one scale-out deployment under test, and its processes."""

    tmp: Path
    database_url: str
    broker_url: str
    namespace: str = field(default_factory=lambda: f"fct{uuid.uuid4().hex[:8]}")
    extra_env: dict[str, str] = field(default_factory=dict)
    servers: list[Server] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            "FRAMECAST_DATABASE_URL": self.database_url,
            "FRAMECAST_BROKER_URL": self.broker_url,
            "FRAMECAST_MEDIA_URL": str(self.tmp / "shared-media"),
            "FRAMECAST_NAMESPACE": self.namespace,
            "FRAMECAST_HEARTBEAT_TIMEOUT_S": "2",
            "FRAMECAST_PING_INTERVAL_S": "1",
            "FRAMECAST_RECONCILE_INTERVAL_S": "1",
            "FRAMECAST_LOST_MESSAGE_AFTER_S": "3",
            "FRAMECAST_OUTBOX_GRACE_S": "2",
            **self.extra_env,
        }

    def migrate(self) -> None:
        env = dict(os.environ, **self.env, FRAMECAST_DATA_DIR=str(self.tmp / "cli"))
        subprocess.run(
            [sys.executable, "-m", "framecast", "db", "upgrade"], env=env, check=True, capture_output=True
        )

    def api(self) -> Server:
        index = len(self.servers)
        server = Server(self.tmp / f"api{index}", workers=0, env=self.env).start()
        self.servers.append(server)
        return server

    def worker(self) -> subprocess.Popen[bytes]:
        index = len(self.workers)
        log = (self.tmp / f"worker{index}.log").open("ab")
        env = dict(os.environ, **self.env, FRAMECAST_DATA_DIR=str(self.tmp / f"worker{index}"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "framecast", "worker", "--threads", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for server in self.servers:
            server.stop()

    def logs(self) -> str:
        out = []
        for path in sorted(self.tmp.glob("*.log")) + sorted(self.tmp.glob("api*/../server-*.log")):
            out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(out)


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return "redis://127.0.0.1:6379/0"


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[Cluster]:
    c = Cluster(tmp_path, postgres_url, redis_url)
    c.migrate()
    yield c
    c.stop()
    _flush_namespace(redis_url, c.namespace)


def _flush_namespace(url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{namespace}*"):
        client.delete(key)
    client.close()


@dataclass
class OwnRedis:
    """A redis-server of the test's own, on a free port, so the test may restart it."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port).ping():
                    return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if not shutil.which("redis-server"):
        if IN_CI:
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    r = OwnRedis().start()
    yield r
    r.kill()
