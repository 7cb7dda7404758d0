"""Devices: proxies and queues running in a background thread or process, as
pyzmq's zmq.devices. Give them socket *types* and addresses; the sockets are made
in the thread or process that runs the device."""

# ruff: noqa: F401  (re-exported names; __all__ is built from the submodules)

from zmqipc.devices import (
    basedevice,
    monitoredqueue,
    monitoredqueuedevice,
    proxydevice,
    proxysteerabledevice,
)
from zmqipc.devices.basedevice import BackgroundDevice, Device, ProcessDevice, ThreadDevice
from zmqipc.devices.monitoredqueue import monitored_queue
from zmqipc.devices.monitoredqueuedevice import (
    MonitoredQueue,
    ProcessMonitoredQueue,
    ThreadMonitoredQueue,
)
from zmqipc.devices.proxydevice import ProcessProxy, Proxy, ThreadProxy
from zmqipc.devices.proxysteerabledevice import (
    ProcessProxySteerable,
    ProxySteerable,
    ThreadProxySteerable,
)

__all__ = [
    name
    for module in (
        basedevice,
        monitoredqueue,
        monitoredqueuedevice,
        proxydevice,
        proxysteerabledevice,
    )
    for name in module.__all__
]
