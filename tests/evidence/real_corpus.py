"""The captures of ``fixtures/real/``, one id each: ``FILE`` for a one-capture file, ``FILE#N`` for
the Nth capture of an array file (the ids ``schemas/evidence.json`` cites)."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "fixtures" / "real"


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.json"))


def captures() -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in corpus_files():
        content = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(content, list):
            found.update({f"{path.stem}#{index}": capture for index, capture in enumerate(content)})
        else:
            found[path.stem] = content
    return found

