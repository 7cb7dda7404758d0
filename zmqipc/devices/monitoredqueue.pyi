import zmqipc

__all__ = ["monitored_queue"]

def monitored_queue(
    in_socket: zmqipc.Socket,
    out_socket: zmqipc.Socket,
    mon_socket: zmqipc.Socket,
    in_prefix: bytes = ...,
    out_prefix: bytes = ...,
) -> None: ...
