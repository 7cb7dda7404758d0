from zmqipc.devices.proxydevice import ProcessProxy, Proxy, ProxyBase, ThreadProxy

__all__ = ["MonitoredQueue", "ThreadMonitoredQueue", "ProcessMonitoredQueue"]

class MonitoredQueueBase(ProxyBase):
    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = ...,
        in_prefix: bytes = ...,
        out_prefix: bytes = ...,
    ) -> None: ...

class MonitoredQueue(MonitoredQueueBase, Proxy): ...
class ThreadMonitoredQueue(MonitoredQueueBase, ThreadProxy): ...
class ProcessMonitoredQueue(MonitoredQueueBase, ProcessProxy): ...
