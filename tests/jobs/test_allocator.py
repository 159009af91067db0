"""A worker process keeps freed memory for the next chunk instead of faulting it in again (glibc)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# Allocate and free two 8 MB buffers five times (a chunk's encoder and frame buffers, in small) and print the
# page faults that took; run in a fresh interpreter so the test process's own heap does not count.
SCRIPT = """
import resource, sys
import numpy as np
from framecast.jobs.allocator import keep_freed_memory
if sys.argv[1] == "raised":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(8 << 20, np.uint8); del a
before = faults()
for _ in range(5):
    a = np.ones(8 << 20, np.uint8); b = np.ones(8 << 20, np.uint8); del a, b
print(faults() - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_freed_buffers_are_reused_without_page_faults() -> None:
    default, raised = _faults("default"), _faults("raised")
    pages = (8 << 20) // 4096
    assert default >= 2 * pages  # glibc gives the memory back and faults it in again, round after round
    assert raised < default / 4
