"""A snapshot of the contract: every schema of the mocked API, the model profiles, the error
catalogue, and the envelopes replies go out in over each transport (the control plane's own schemas
are vidmock's API, not the mocked one).

``conformance/contract_snapshot.json`` holds their normalized content and a digest of it. A test
compares the live contract with it, so *any* change to what clients can rely on fails the suite
until someone looks at the diff and accepts it on purpose:

    python -m conformance.snapshot            # show what changed (exit 1 if anything)
    python -m conformance.snapshot --update   # accept the current contract
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import json
import sys
from pathlib import Path

from mockserver.backends.mock import MockBackend
from mockserver.contract import api_contract_files, load_json
from mockserver.contract.errors import CATALOGUE
from mockserver.contract.protocol import Reply
from mockserver.contract.vocabulary import TaskType, Transport
from mockserver.validation import validate_task

SNAPSHOT = Path(__file__).with_name("contract_snapshot.json")


def contract_content() -> dict:
    """The normalized contract: schema files (profiles included) and the error catalogue."""
    files = api_contract_files()
    return {
        "schemas": {name: copy.deepcopy(load_json(name)) for name in files},  # a copy: load_json's is shared
        "errors": {code: {"httpStatus": kind.http_status, "rule": kind.rule} for code, kind in CATALOGUE.items()},
        "envelopes": envelopes(),
    }


def envelopes() -> dict:
    """What a client reads on each transport, made by the code that answers: a task refused for its
    width (under a UUIDv7, as the live capture had it), a refused key, a batch where one task
    succeeded and one was refused. The envelope and error keys are what client tests assert on."""
    ack = {"taskType": TaskType.VIDEO_INFERENCE, "taskUUID": "6bb2cc2c-32ed-46fc-875c-ed8935da82b4"}
    task = {**ack, "taskUUID": "019c42a0-c3ff-7138-be83-ee257abc5331", "model": "alibaba:wan@2.7",
            "positivePrompt": "a fox", "width": 0, "height": 720}
    [refused] = validate_task(task)
    shown = {}
    for transport in Transport:
        shown[str(transport)] = {
            "refusedTask": Reply.of([], [refused]).envelope(transport),
            "refusedKey": Reply.of([], [MockBackend.key_error("wrong")]).envelope(transport),
            "partial": Reply.of([ack], [refused]).envelope(transport),
        }
    return shown


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False)


def digest(content: dict) -> str:
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def current_snapshot() -> dict:
    content = contract_content()
    return {"digest": digest(content), "content": content}


def stored_snapshot() -> dict:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def differences(stored: dict, current: dict) -> list[str]:
    """A unified diff of the normalized content (empty when the contract is unchanged)."""
    return list(difflib.unified_diff(canonical(stored["content"]).splitlines(),
                                     canonical(current["content"]).splitlines(),
                                     "contract_snapshot.json", "live contract", lineterm="", n=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.snapshot", description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="write the current contract as the snapshot")
    args = parser.parse_args(argv)
    current = current_snapshot()
    if args.update:
        SNAPSHOT.write_text(canonical(current) + "\n", encoding="utf-8")
        print(f"contract snapshot updated: {current['digest']}")
        return 0
    changed = differences(stored_snapshot(), current)
    print("\n".join(changed) if changed else f"contract unchanged: {current['digest']}")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
