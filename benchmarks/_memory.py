"""Resident-memory readings for the benchmark scripts (imported by ``bench_*.py``).

Linux: VmRSS / VmHWM of ``/proc/self/status``, with the peak reset through
``/proc/self/clear_refs``; elsewhere ``ru_maxrss`` for both values and no reset.
"""

from __future__ import annotations

import resource


def memory_kib() -> tuple[int, int]:
    """(current, peak) resident KiB of this process. Linux: VmRSS / VmHWM of /proc (the
    peak is reset by :func:`reset_peak`); elsewhere ru_maxrss for both."""
    try:
        with open("/proc/self/status") as f:
            fields = {ln.split(":")[0]: int(ln.split()[1]) for ln in f if ln.startswith("Vm")}
        return fields["VmRSS"], fields["VmHWM"]
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak, peak


def reset_peak() -> None:
    """Start the peak afresh from the current RSS. ru_maxrss alone cannot: a spawned child
    inherits its parent's RSS as its maxrss (kept across fork + exec)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
