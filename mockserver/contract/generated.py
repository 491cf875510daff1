"""Files made from other files in a checkout (docs pages, package data): write them, or check them."""

from __future__ import annotations

import sys
from pathlib import Path


def refresh(target: Path, wanted: str, *, check: bool, command: str) -> int:
    """Write ``wanted`` to ``target`` unless it is there already; with ``check``, change nothing and
    return 1 when it is stale, naming the ``command`` that regenerates it."""
    if target.exists() and target.read_text(encoding="utf-8") == wanted:
        return 0
    if check:
        print(f"{target} is stale; run {command}", file=sys.stderr)
        return 1
    target.write_text(wanted, encoding="utf-8")
    print(f"wrote {target}")
    return 0
