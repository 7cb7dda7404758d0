"""The ZAP handler logic (ZeroMQ RFC 27), shared by the thread and asyncio versions.

libzmq asks the handler bound at inproc://zeromq.zap.01 (on the same Context as
the server socket) about every connection that uses PLAIN, CURVE or GSSAPI, and
about NULL connections of sockets with a ZAP_DOMAIN. The handler answers 200 (let
it in, with a User-Id that the server sees as ``frame.get("User-Id")``) or 400.

Policy, as pyzmq:
- allow(addresses) and deny(addresses) are exclusive; with an allow list only those
  IP addresses get in, with a deny list everyone but those;
- NULL connections get in unless their address is refused;
- PLAIN needs a username/password configured for the domain ("*": every domain);
- CURVE needs the client's public key in the domain's certificate directory, or a
  credentials provider saying yes, or CURVE_ALLOW_ANY.
"""

import inspect
import logging
import os
from typing import Any

from zmqipc.constants import REP
from zmqipc.utils import z85

__all__ = ["Authenticator", "CURVE_ALLOW_ANY"]

CURVE_ALLOW_ANY = "*"
VERSION = b"1.0"
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


class Authenticator:
    """A ZAP handler that you drive yourself: start() binds ``zap_socket``; pass each
    request it receives to ``await handle_zap_message(frames)``. The thread and
    asyncio authenticators do that for you."""

    _zap_socket_class: Any = None  # None: the Context's default socket class

    def __init__(self, context=None, encoding="utf-8", log=None):
        from zmqipc.context import Context

        self.context = context if context is not None else Context.instance()
        self.encoding = encoding
        self.log = log or logging.getLogger("zmqipc.auth")
        self.zap_socket = None
        self.allow_any = False
        self.passwords = {}  # domain -> {username: password}
        self.certs = {}  # domain -> {public key (Z85 bytes): True}
        self.credentials_providers = {}  # domain -> object with callback(domain, key)
        self._allowed = set()
        self._denied = set()

    # --- lifetime ------------------------------------------------------------------

    def start(self):
        """Bind the ZAP socket on this authenticator's Context."""
        self.zap_socket = self.context.socket(REP, socket_class=self._zap_socket_class)
        self.zap_socket.linger = 1
        self.zap_socket.bind(ZAP_ENDPOINT)
        self.log.debug("ZAP handler started")

    def stop(self):
        """Close the ZAP socket."""
        if self.zap_socket is not None:
            self.zap_socket.close()
        self.zap_socket = None

    # --- policy ----------------------------------------------------------------------

    def allow(self, *addresses):
        """Let only these IP addresses in (exclusive with deny)."""
        if self._denied:
            raise ValueError("use allow() or deny(), not both")
        self._allowed.update(addresses)

    def deny(self, *addresses):
        """Keep these IP addresses out (exclusive with allow)."""
        if self._allowed:
            raise ValueError("use allow() or deny(), not both")
        self._denied.update(addresses)

    def configure_plain(self, domain="*", passwords=None):
        """PLAIN: accept these {username: password} pairs for ``domain``."""
        if passwords:
            self.passwords[domain] = dict(passwords)

    def configure_curve(self, domain="*", location="."):
        """CURVE: accept the public keys of the ``*.key`` certificates in the directory
        ``location`` (read now: call again after changing it), or any key with
        CURVE_ALLOW_ANY."""
        if location == CURVE_ALLOW_ANY:
            self.allow_any = True
            return
        self.allow_any = False
        from zmqipc.auth.certs import load_certificates

        try:
            self.certs[domain] = load_certificates(location)
        except (OSError, ValueError) as e:
            self.log.error("cannot load CURVE certificates from %s: %s", os.fspath(location), e)

    def configure_curve_callback(self, domain="*", credentials_provider=None):
        """CURVE: ask ``credentials_provider.callback(domain, z85_key)`` (which may
        return an awaitable) whether a key may connect."""
        self.allow_any = False
        if credentials_provider is None:
            self.log.error("configure_curve_callback: no credentials provider for %s", domain)
        else:
            self.credentials_providers[domain] = credentials_provider

    def configure_gssapi(self, domain="*", location=None):
        """GSSAPI needs no configuration (the GSSAPI layer authenticates)."""

    def curve_user_id(self, client_public_key):
        """The User-Id of an accepted CURVE client: its public key in Z85."""
        return z85.encode(client_public_key).decode("ascii")

    # --- answering a request -------------------------------------------------------------

    async def handle_zap_message(self, msg):
        """Answer one ZAP request (its frames). Every request gets a reply, so the
        REP socket never stalls."""
        request_id = msg[1] if len(msg) > 1 else b""
        try:
            status, text, user_id = await self._decide(msg)
        except Exception:
            self.log.exception("ZAP handler failed")
            status, text, user_id = b"500", b"Internal error", ""
        self.log.debug("ZAP reply %s %s", status, text)
        reply = [
            VERSION,
            request_id,
            status,
            text,
            user_id.encode(self.encoding, "replace") if status == b"200" else b"",
            b"",
        ]
        sent = self.zap_socket.send_multipart(reply)
        if inspect.isawaitable(sent):
            await sent

    def _send_zap_reply(self, request_id, status_code, status_text, user_id="anonymous"):
        """Send one ZAP reply (for handlers that decide themselves)."""
        if status_code != b"200":
            user_id = ""
        self.zap_socket.send_multipart(
            [
                VERSION,
                request_id,
                status_code,
                status_text,
                user_id.encode(self.encoding, "replace"),
                b"",
            ]
        )

    async def _decide(self, msg):
        """(status code, status text, user id) for one request."""
        if len(msg) < 6:
            return b"400", b"Not enough frames", ""
        version, _, domain, address, _, mechanism = msg[:6]
        credentials = msg[6:]
        if version != VERSION:
            return b"400", b"Invalid version", ""
        domain = domain.decode(self.encoding, "replace") or "*"
        address = address.decode(self.encoding, "replace")
        if self._allowed and address not in self._allowed:
            return b"400", b"Address not allowed", ""
        if address in self._denied:
            return b"400", b"Address denied", ""
        if mechanism == b"NULL":
            return b"200", b"OK", "anonymous"
        if mechanism == b"PLAIN":
            if len(credentials) != 2:
                return b"400", b"Invalid credentials", ""
            username, password = (c.decode(self.encoding, "replace") for c in credentials)
            return self._check_plain(domain, username, password) + (username,)
        if mechanism == b"CURVE":
            if len(credentials) != 1 or len(credentials[0]) != 32:
                return b"400", b"Invalid credentials", ""
            status, text = await self._check_curve(domain, credentials[0])
            return status, text, self.curve_user_id(credentials[0]) if status == b"200" else ""
        if mechanism == b"GSSAPI":
            if len(credentials) != 1:
                return b"400", b"Invalid credentials", ""
            return b"200", b"OK", credentials[0].decode(self.encoding, "replace")
        return b"400", b"Unknown mechanism", ""

    def _check_plain(self, domain, username, password):
        if not self.passwords:
            return b"400", b"No passwords defined"
        users = self.passwords.get(domain)
        if users is None:
            return b"400", b"Invalid domain"
        if username not in users:
            return b"400", b"Invalid username"
        if users[username] != password:
            return b"400", b"Invalid password"
        return b"200", b"OK"

    async def _check_curve(self, domain, client_key):
        if self.allow_any:
            return b"200", b"OK"
        z85_key = z85.encode(client_key)
        if self.credentials_providers:
            provider = self.credentials_providers.get(domain)
            if provider is None:
                return b"400", b"Unknown domain"
            accepted = provider.callback(domain, z85_key)
            if inspect.isawaitable(accepted):
                accepted = await accepted
            return (b"200", b"OK") if accepted else (b"400", b"Unknown key")
        keys = self.certs.get(domain)
        if keys is None:
            return b"400", b"Unknown domain"
        return (b"200", b"OK") if keys.get(z85_key) else (b"400", b"Unknown key")
