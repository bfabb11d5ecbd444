"""Outgoing HTTP (webhooks, ATS APIs) to public addresses only.

The openers made here resolve each host themselves, refuse every address that is not a public one
(loopback, private, link-local such as a cloud's metadata address, shared, reserved), and connect to
the very address they checked: a name cannot be pointed elsewhere between the check and the
connection (DNS rebinding), and a redirect goes through the same check. This is what keeps a
workspace user's webhook address or Lever API URL from reaching the service's own network, whatever
the name resolves to. ``OUTBOUND_PRIVATE_ADDRESSES`` (on in dev mode and in the tests) lets an
operator send to a receiver beside the service. Connections are direct: HTTP(S)_PROXY is not used,
since a proxy would connect on our behalf to an address we never saw.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.request


class PrivateAddress(OSError):
    """The host resolves to no public address (and OUTBOUND_PRIVATE_ADDRESSES is off)."""


def is_public(address: str) -> bool:
    """Whether an IP address (as getaddrinfo gives it, an IPv6 one perhaps with a %zone) is public."""
    return ipaddress.ip_address(address.split("%", 1)[0]).is_global


def checked_socket(host: str, port: int, timeout: float, allow_private: bool) -> socket.socket:
    """A TCP connection to the first address of ``host`` that may be reached, in getaddrinfo's order."""
    addresses = [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    allowed = [address for address in addresses if allow_private or is_public(address)]
    if not allowed:
        raise PrivateAddress(f"{host} resolves to no public address ({', '.join(sorted(set(addresses)))})")
    error: OSError | None = None
    for address in allowed:
        try:
            return socket.create_connection((address, port), timeout)  # an IP: nothing is resolved again
        except OSError as exc:
            error = exc
    raise error


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, allow_private: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.allow_private = allow_private

    def connect(self) -> None:
        self.sock = checked_socket(self.host, self.port, self.timeout, self.allow_private)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, allow_private: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.allow_private = allow_private
        self.tls = ssl.create_default_context()  # certificates and host names verified

    def connect(self) -> None:
        sock = checked_socket(self.host, self.port, self.timeout, self.allow_private)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    def http_open(self, req):
        return self.do_open(_HTTPConnection, req, allow_private=self.allow_private)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self.allow_private = allow_private

    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, allow_private=self.allow_private)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx then raises HTTPError


def opener(allow_private: bool, follow_redirects: bool = True) -> urllib.request.OpenerDirector:
    """A urllib opener whose every connection is checked as above (no proxies from the environment)."""
    handlers = [urllib.request.ProxyHandler({}), _HTTPHandler(allow_private), _HTTPSHandler(allow_private)]
    if not follow_redirects:
        handlers.append(_NoRedirects())
    return urllib.request.build_opener(*handlers)
