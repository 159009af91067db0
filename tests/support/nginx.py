"""A private nginx for tests: its own prefix, config and port, run in the foreground and stopped by pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

#: The directives every private nginx needs: the foreground, its own pid, logs and temp files.
MAIN = """
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


class Nginx:
    """``Nginx(http_block).start()`` runs nginx with ``http_block`` inside the ``http {}`` of ``MAIN``;
    ``{prefix}`` in the block is its private directory."""

    def __init__(self, http_block: str, *, port: int, binary: str = "nginx") -> None:
        self.prefix = Path(tempfile.mkdtemp(prefix="fc-nginx-"))
        self.port = port
        self.binary = binary
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(
            MAIN.format(prefix=self.prefix, http=http_block.replace("{prefix}", str(self.prefix)))
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-p",
            str(self.prefix),
            "-c",
            str(self.conf),
            "-e",
            str(self.prefix / "error.log"),
            *extra,
        ]

    def check(self) -> None:
        """``nginx -t``: raises with nginx's words when the config is refused."""
        result = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise AssertionError(f"nginx -t refused the config:\n{result.stderr}")

    def start(self, timeout_s: float = 15.0) -> Nginx:
        self.check()
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.port}: {self.error_log()}")

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None
        shutil.rmtree(self.prefix, ignore_errors=True)
