"""Keep web pages away from a port on loopback.

A page in the user's browser can post to http://127.0.0.1:8000 (a "simple" cross-origin request
needs no preflight and its answer is not needed to do harm), or, through DNS rebinding, make its
own name resolve to 127.0.0.1 and then read the answers as same-origin. Neither can hide from the
server: the first carries the page's `Origin`, the second the attacker's name in `Host`. So, on a
loopback listener, a request must name a loopback host, and an `Origin` must be our own.

Off for a non-loopback listener: there clients reach us by any name (a proxy, a container's IP),
and the port is protected by credentials instead (see the Security section of the README).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost"})
DEFAULT_PORTS = {"http": 80, "https": 443}


@lru_cache(maxsize=256)  # asked on every request, with the same few Host names
def is_loopback(host: str) -> bool:
    """A name or address (IPv6 with or without brackets) that can only mean this machine."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port: `[::1]:8000` -> `[::1]`, `localhost:80` -> `localhost`."""
    if host_header.startswith("["):
        return host_header[: host_header.find("]") + 1]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def is_own_origin(origin: str, port: int) -> bool:
    """An Origin of a page served by us: http(s)://<loopback name>:<our port>. `null` (sandboxed
    pages, files) and anything unparsable are foreign."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return False
    return parts.scheme in DEFAULT_PORTS and is_loopback(parts.hostname or "") and origin_port == port


def refusal(headers: dict[bytes, bytes], port: int) -> str | None:
    """Why a request to a loopback listener on `port` is refused (None: it is not)."""
    host = headers.get(b"host")
    if host is not None and not is_loopback(host_name(host.decode("latin-1"))):
        return f"Host {host.decode('latin-1')!r} is not a loopback name: this port serves local clients only"
    origin = headers.get(b"origin")
    if origin is not None and not is_own_origin(origin.decode("latin-1"), port):
        return f"Origin {origin.decode('latin-1')!r} is not allowed: web pages cannot call this port"
    return None
