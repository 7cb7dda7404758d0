"""How busy other processes kept the CPUs while we measured (Linux /proc).

"Foreign" CPU time = all CPU time the kernel accounted (including steal by the
hypervisor) minus the CPU time of the benchmark's own processes. Reported as a
share of the machine: 0.25 on a 2-CPU VM means half a CPU was used by others.
Elsewhere (no /proc) every reading is None.
"""

import os
import time

_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_seconds():
    with open("/proc/stat") as f:
        values = [
            int(x) for x in f.readline().split()[1:9]
        ]  # user nice system idle iowait irq softirq steal
    return (sum(values) - values[3] - values[4]) / _HZ


def _process_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _HZ  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


class Meter:
    """Snapshot with start(); share_and_wall() is the foreign CPU share since then."""

    def __init__(self, pids):
        self.pids = list(pids)  # the benchmark's worker processes
        self._start = None

    def _sample(self):
        try:
            busy = _busy_seconds()
        except OSError:
            return None
        own = sum(os.times()[:2]) + sum(_process_seconds(p) for p in self.pids)
        return time.monotonic(), busy, own

    def start(self):
        self._start = self._sample()

    def share_and_wall(self):
        """The foreign share since start() and the seconds it covers."""
        end = self._sample()
        if self._start is None or end is None:
            return None, 0.0
        wall = end[0] - self._start[0]
        foreign = (end[1] - self._start[1]) - (end[2] - self._start[2])
        share = max(0.0, foreign / (wall * (os.cpu_count() or 1))) if wall > 0 else None
        return share, wall


def weighted_share(log):
    """The foreign share over several metered spans [(share, seconds)], weighted by
    their length; None if none could be read."""
    known = [(share, wall) for share, wall in log if share is not None and wall > 0]
    total = sum(wall for _, wall in known)
    return sum(share * wall for share, wall in known) / total if total else None
