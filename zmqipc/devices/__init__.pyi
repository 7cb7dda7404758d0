from zmqipc.devices.basedevice import BackgroundDevice as BackgroundDevice
from zmqipc.devices.basedevice import Device as Device
from zmqipc.devices.basedevice import ProcessDevice as ProcessDevice
from zmqipc.devices.basedevice import ThreadDevice as ThreadDevice
from zmqipc.devices.monitoredqueue import monitored_queue as monitored_queue
from zmqipc.devices.monitoredqueuedevice import MonitoredQueue as MonitoredQueue
from zmqipc.devices.monitoredqueuedevice import ProcessMonitoredQueue as ProcessMonitoredQueue
from zmqipc.devices.monitoredqueuedevice import ThreadMonitoredQueue as ThreadMonitoredQueue
from zmqipc.devices.proxydevice import ProcessProxy as ProcessProxy
from zmqipc.devices.proxydevice import Proxy as Proxy
from zmqipc.devices.proxydevice import ThreadProxy as ThreadProxy
from zmqipc.devices.proxysteerabledevice import ProcessProxySteerable as ProcessProxySteerable
from zmqipc.devices.proxysteerabledevice import ProxySteerable as ProxySteerable
from zmqipc.devices.proxysteerabledevice import ThreadProxySteerable as ThreadProxySteerable

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
