"""MonitoredQueue devices: monitored_queue in the calling thread, a thread or a process."""

from zmqipc.constants import PUB
from zmqipc.devices.monitoredqueue import monitored_queue
from zmqipc.devices.proxydevice import ProcessProxy, Proxy, ProxyBase, ThreadProxy

__all__ = ["MonitoredQueue", "ThreadMonitoredQueue", "ProcessMonitoredQueue"]


class MonitoredQueueBase(ProxyBase):
    """A proxy whose monitor copies carry ``in_prefix``/``out_prefix`` (by direction);
    unlike proxy() it also joins two ROUTER sockets."""

    def __init__(self, in_type, out_type, mon_type=PUB, in_prefix=b"in", out_prefix=b"out"):
        ProxyBase.__init__(self, in_type=in_type, out_type=out_type, mon_type=mon_type)
        self._in_prefix, self._out_prefix = in_prefix, out_prefix

    def run_device(self):
        ins, outs, mons = self._setup_sockets()
        monitored_queue(ins, outs, mons, self._in_prefix, self._out_prefix)


class MonitoredQueue(MonitoredQueueBase, Proxy):
    """monitored_queue run in the calling thread."""


class ThreadMonitoredQueue(MonitoredQueueBase, ThreadProxy):
    """monitored_queue in a background thread."""


class ProcessMonitoredQueue(MonitoredQueueBase, ProcessProxy):
    """monitored_queue in a child process."""
