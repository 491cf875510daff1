"""Which hosts are this machine, and whether vidmock may talk to any other: the one check behind
``VIDMOCK_OFFLINE=1`` (the proxy's upstreams and media downloads, the probe's upstream) and the
warning for a control plane served off the loopback interface."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

OFFLINE_VARIABLE = "VIDMOCK_OFFLINE"  # "1": upstreams (and media downloads) only on the loopback interface


def offline(environ: Mapping[str, str]) -> bool:
    """Whether ``VIDMOCK_OFFLINE`` keeps vidmock on the loopback interface (any value but "" and "0")."""
    return environ.get(OFFLINE_VARIABLE, "") not in ("", "0")


def is_loopback_host(host: str) -> bool:
    """Whether a host is this machine: ``localhost`` or a loopback address (a host name may resolve
    to anything, so it is not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether the URL's host is this machine."""
    return is_loopback_host(urlsplit(url).hostname or "")
