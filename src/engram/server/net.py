"""Network helpers shared by the server and the pages (no FastAPI, no engine)."""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP address, IPv6 possibly in brackets) is
    this machine: ``localhost`` or a loopback address. Other names are not resolved."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
