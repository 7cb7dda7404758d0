"""Devices: proxies and queues running in a background thread or process, as
pyzmq's zmq.devices. Give them socket *types* and addresses; the sockets are made
in the thread or process that runs the device."""

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
    "BackgroundDevice",
    "Device",
    "ProcessDevice",
    "ThreadDevice",
    "monitored_queue",
    "MonitoredQueue",
    "ProcessMonitoredQueue",
    "ThreadMonitoredQueue",
    "ProcessProxy",
    "Proxy",
    "ThreadProxy",
    "ProcessProxySteerable",
    "ProxySteerable",
    "ThreadProxySteerable",
]
