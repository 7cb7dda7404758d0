"""Helpers with pyzmq's module names: zmqipc.utils.z85, .monitor, .jsonapi."""
