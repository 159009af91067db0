"""How a worker process is named in the ledger (``tasks.worker``): ``host:pid``.

The embedded pool names its children the same way from the outside (it knows their pids), so when one
exits it can ask the ledger for exactly that process's running tasks.

>>> worker_name(1234, host="render-1")
'render-1:1234'
"""

from __future__ import annotations

import os
import socket


def worker_name(pid: int | None = None, *, host: str | None = None) -> str:
    """This process's name (or that of ``pid`` on this host)."""
    return f"{host or socket.gethostname()}:{os.getpid() if pid is None else pid}"
