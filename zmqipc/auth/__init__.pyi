from zmqipc.auth.base import CURVE_ALLOW_ANY as CURVE_ALLOW_ANY
from zmqipc.auth.base import Authenticator as Authenticator
from zmqipc.auth.certs import create_certificates as create_certificates
from zmqipc.auth.certs import load_certificate as load_certificate
from zmqipc.auth.certs import load_certificates as load_certificates

__all__ = [
    "Authenticator",
    "CURVE_ALLOW_ANY",
    "create_certificates",
    "load_certificate",
    "load_certificates",
]
