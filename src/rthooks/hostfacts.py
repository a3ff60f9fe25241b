"""Facts of the machine rthooks runs on that decide whether a case can say anything here.

A case whose check depends on a kernel feature would pass vacuously where the feature is missing, so
the harness offers that feature as a capability only where the kernel has it, and the case is N/A
elsewhere. The oracle, which models a runtime on this same machine, asks the same question here.
"""

from __future__ import annotations

import ctypes
import functools
import mmap


@functools.cache
def kernel_names_anon_mappings() -> bool:
    """Whether this kernel can name anonymous mappings (prctl PR_SET_VMA_ANON_NAME, CONFIG_ANON_VMA_NAME,
    Linux 5.17+), asked on a scratch mapping the way the Go runtime asks from 1.25 (decoratemappings)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = mmap.mmap(-1, mmap.PAGESIZE)
    except OSError:
        return False
    first = ctypes.c_char.from_buffer(buf)
    name = ctypes.c_char_p(b"rthooks-probe")
    pr_set_vma, pr_set_vma_anon_name = 0x53564D41, 0
    ok: bool = libc.prctl(pr_set_vma, pr_set_vma_anon_name, ctypes.addressof(first), mmap.PAGESIZE, name) == 0
    del first  # no pointer into the mapping may outlive it
    buf.close()
    return ok
