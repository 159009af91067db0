"""Keep freed memory in a worker process instead of handing it back to the kernel after every chunk.

Every chunk task opens an encoder and a frame source: x264's picture buffers, lookahead and motion-search
planes, and the numpy frames, tens of MB per chunk at 720p. glibc returns blocks above its mmap threshold
(dynamic, at most 32 MB) to the kernel on ``free`` and trims the heap top above its trim threshold, so the
next chunk page-faults the same memory back in and the kernel zeroes every page again: about 180,000 faults
(700 MB of zeroing) for a 60-second 720p render in 2-second chunks, 12 % of its time (bench/scale.py shows
the faults per render). With both thresholds raised, freed memory stays in the heap and the next chunk
reuses it: peak memory is unchanged (the same buffers, reused), what the process keeps between tasks is
bounded by that peak.

Only glibc has ``mallopt``; elsewhere (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

# mallopt parameters from <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Blocks at least this large are still mmapped (and returned on free): only huge one-off buffers.
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Free memory at the heap top is returned to the kernel only above this.
TRIM_THRESHOLD = 256 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; True if the allocator took both."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):
        return False  # not glibc
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mmap_ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    trim_ok = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    log.debug("allocator thresholds raised: mmap %s, trim %s", mmap_ok, trim_ok)
    return mmap_ok and trim_ok
