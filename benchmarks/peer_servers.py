"""The mock servers users would pick instead of vidmock, found and started for ``benchmarks/peers.py``.

Prism (npm ``@stoplight/prism-cli``) and WireMock standalone (the jar inside npm ``wiremock``), as
``benchmarks/install_peers.sh`` installs them under ``$VIDMOCK_PEERS_HOME`` (default
``~/.cache/vidmock-peers``). Each is started directly (``node`` / ``java -jar``, no npm wrapper), on
127.0.0.1 and a free port, with the contract of ``peer_contracts.py`` written to a work folder.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.peer_contracts import prism_document, wiremock_mapping
from benchmarks.serverproc import ServerProcess, free_port, start_listening

PEERS_HOME = Path(os.environ.get("VIDMOCK_PEERS_HOME", Path.home() / ".cache" / "vidmock-peers"))
PRISM_PACKAGE = PEERS_HOME / "node_modules" / "@stoplight" / "prism-cli"
WIREMOCK_PACKAGE = PEERS_HOME / "node_modules" / "wiremock"


@dataclass(frozen=True)
class Peer:
    name: str
    refuses_with: int  # the status of a body the schema refuses
    per_request: str  # what it does with each request, for the report
    options: tuple[str, ...] = ()


PEERS = {
    "prism": Peer("prism", 422, "matches the operation, checks the bearer key, validates the body against the "
                  "task-array schema (ajv), logs the request at its default level (info, to stdout, discarded), "
                  "serializes the static example"),
    "prism-silent": Peer("prism-silent", 422, "as prism, with --verboseLevel silent (no request log)",
                         ("--verboseLevel", "silent")),
    "wiremock": Peer("wiremock", 404, "matches the stub: URL, method, bearer header, body against the task-array "
                     "schema (matchesJsonSchema, draft 7), records the request in its journal (on by default, "
                     "unbounded), returns the fixed body"),
    "wiremock-no-journal": Peer("wiremock-no-journal", 404, "as wiremock, with --no-request-journal",
                                ("--no-request-journal",)),
}


def prism_version() -> str | None:
    return _package_version(PRISM_PACKAGE)


def wiremock_jar() -> Path | None:
    return next(iter(sorted(WIREMOCK_PACKAGE.glob("**/wiremock-standalone-*.jar"))), None)


def wiremock_version() -> str | None:
    jar = wiremock_jar()
    return jar.stem.removeprefix("wiremock-standalone-") if jar else None


def _package_version(package: Path) -> str | None:
    try:
        return json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def missing(peer: Peer) -> str | None:
    """Why ``peer`` cannot run here, or None."""
    install = "run benchmarks/install_peers.sh"
    if peer.name.startswith("prism"):
        if shutil.which("node") is None:
            return "node is not installed"
        return None if prism_version() else f"Prism not found under {PEERS_HOME} ({install})"
    if shutil.which("java") is None:
        return "java is not installed (WireMock needs Java 11 or later)"
    return None if wiremock_jar() else f"the WireMock jar is not under {WIREMOCK_PACKAGE} ({install})"


def product(peer: Peer) -> str:
    return f"Prism {prism_version()}" if peer.name.startswith("prism") else f"WireMock {wiremock_version()}"


def start_peer(peer: Peer, workdir: Path, reply_status: int, reply_text: str) -> ServerProcess:
    """``peer`` serving ``reply_text`` for every request its contract accepts."""
    folder = workdir / peer.name
    folder.mkdir(parents=True)
    port = free_port()
    if peer.name.startswith("prism"):
        document = folder / "openapi.json"
        document.write_text(json.dumps(prism_document(reply_status, json.loads(reply_text)), indent=1))
        entry = PRISM_PACKAGE / "dist" / "index.js"
        argv = [shutil.which("node"), str(entry), "mock", "--host", "127.0.0.1", "--port", str(port),
                *peer.options, str(document)]
    else:
        (folder / "mappings").mkdir()
        (folder / "mappings" / "tasks.json").write_text(json.dumps(wiremock_mapping(reply_status, reply_text), indent=1))
        argv = [shutil.which("java"), "-jar", str(wiremock_jar()), "--bind-address", "127.0.0.1", "--port", str(port),
                "--root-dir", str(folder), "--disable-banner", *peer.options]
    return start_listening(argv, port)


@dataclass
class Answer:
    status: int
    body: str

    def brief(self) -> dict:
        return {"status": self.status, "body": self.body[:200]}


def post(base_url: str, body: str, token: str | None) -> Answer:
    """One ``POST /v1`` outside the measurement (the probes, the reply the peers will serve)."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        connection.request("POST", "/v1", body=body.encode(), headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.read().decode(errors="replace"))
    finally:
        connection.close()
