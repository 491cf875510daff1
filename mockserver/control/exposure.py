"""The start-up warning for a control API anyone on the network could drive.

``/__mock/`` can reset state, fail tasks and read every request (prompts, webhook URLs); on a
loopback address only local processes reach it, elsewhere a control token should guard it.
"""

from __future__ import annotations

import sys
from typing import TextIO

from mockserver.config import ServerConfig
from mockserver.traffic.reach import is_loopback_host


def exposure_warning(config: ServerConfig) -> str | None:
    if config.control_token or is_loopback_host(config.host):
        return None
    return (f"vidmock: WARNING: serving on non-loopback host {config.host} without a control token: anyone who "
            "can reach this port can read the journal and drive /__mock/. Set --control-token "
            "(or VIDMOCK_CONTROL_TOKEN).")


def warn_if_control_exposed(config: ServerConfig, stream: TextIO | None = None) -> None:
    warning = exposure_warning(config)
    if warning:
        print(warning, file=stream or sys.stderr, flush=True)
