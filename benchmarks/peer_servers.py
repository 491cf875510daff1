"""Prism and WireMock as ``install_peers.sh`` installs them, started directly (``node``, ``java -jar``)
for ``peers.py``, each told the task-array schema generated from ``schemas/`` (no peer can be told
the model profile, which vidmock checks after the schema)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.serverproc import ServerProcess, free_port, start_listening
from mockserver import contract

PEERS_HOME = Path(os.environ.get("VIDMOCK_PEERS_HOME", Path.home() / ".cache" / "vidmock-peers"))
PRISM_PACKAGE = PEERS_HOME / "node_modules" / "@stoplight" / "prism-cli"
WIREMOCK_PACKAGE = PEERS_HOME / "node_modules" / "wiremock"
DROPPED_KEYWORDS = ("$schema", "$id", "$comment")  # file-level keys; nested, they would start new schema resources


@dataclass(frozen=True)
class Peer:
    name: str
    refuses_with: int  # the status of a body the schema refuses
    per_request: str  # what it does with each request, for the report
    options: tuple[str, ...] = ()


PEERS = {
    "prism": Peer("prism", 422, "matches the operation, checks the key, validates the body (ajv), logs at info "
                  "(stdout, discarded), serializes the example"),
    "prism-silent": Peer("prism-silent", 422, "as prism, --verboseLevel silent", ("--verboseLevel", "silent")),
    "wiremock": Peer("wiremock", 404, "matches the stub (URL, method, key, matchesJsonSchema draft 7), journals the "
                     "request (unbounded), returns the fixed body"),
    "wiremock-no-journal": Peer("wiremock-no-journal", 404, "as wiremock, --no-request-journal",
                                ("--no-request-journal",)),
}


def prism_version() -> str | None:
    try:
        return json.loads((PRISM_PACKAGE / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def wiremock_jar() -> Path | None:
    return next(iter(sorted(WIREMOCK_PACKAGE.glob("**/wiremock-standalone-*.jar"))), None)


def missing(peer: Peer) -> str | None:
    """Why ``peer`` cannot run here, or None."""
    install = "run benchmarks/install_peers.sh"
    if peer.name.startswith("prism"):
        return ("node is not installed" if shutil.which("node") is None else
                None if prism_version() else f"Prism not found under {PEERS_HOME} ({install})")
    return ("java is not installed (WireMock needs Java 11 or later)" if shutil.which("java") is None else
            None if wiremock_jar() else f"the WireMock jar is not under {WIREMOCK_PACKAGE} ({install})")


def product(peer: Peer) -> str:
    if peer.name.startswith("prism"):
        return f"Prism {prism_version()}"
    jar = wiremock_jar()
    return f"WireMock {jar.stem.removeprefix('wiremock-standalone-') if jar else None}"


def task_array_schema() -> dict:
    """The body of ``POST /v1``: the envelope (an array of at least one task), each item any of the
    task schemas (each requires its own ``taskType``, so at most one can match)."""
    def without_file_keys(node: Any) -> Any:
        if isinstance(node, list):
            return [without_file_keys(item) for item in node]
        if isinstance(node, dict):
            return {key: without_file_keys(value) for key, value in node.items() if key not in DROPPED_KEYWORDS}
        return node
    tasks = [without_file_keys(contract.task_schema(task_type)) for task_type in contract.task_types()]
    return {**without_file_keys(contract.schema("envelope.json")), "items": {"anyOf": tasks}}


def prism_document(reply_status: int, reply: Any) -> dict:
    """OpenAPI 3.1 for Prism: ``POST /v1`` with the task-array body (a violation is a 422), a bearer
    key required (missing: 401), and ``reply`` as the one static example."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Runware videoInference (generated from vidmock's schemas/)", "version": "1"},
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "security": [{"apiKey": []}],
        "paths": {"/v1": {"post": {
            "operationId": "runTasks",
            "requestBody": {"required": True, "content": {"application/json": {"schema": task_array_schema()}}},
            "responses": {str(reply_status): {"description": "the reply vidmock gave for this workload",
                                              "content": {"application/json": {"schema": {"type": "object"},
                                                                               "example": reply}}}},
        }}},
    }


def wiremock_mapping(reply_status: int, reply_text: str) -> dict:
    """A WireMock stub: ``POST /v1`` with a bearer key and a body matching the task-array schema
    (``matchesJsonSchema``, draft 7) answers ``reply_text``; anything else matches no stub (404)."""
    return {
        "request": {"method": "POST", "url": "/v1", "headers": {"Authorization": {"matches": "Bearer \\S+"}},
                    "bodyPatterns": [{"matchesJsonSchema": json.dumps(task_array_schema()), "schemaVersion": "V7"}]},
        "response": {"status": reply_status, "headers": {"Content-Type": "application/json; charset=utf-8"},
                     "body": reply_text},
    }


def start_peer(peer: Peer, workdir: Path, reply_status: int, reply_text: str) -> ServerProcess:
    """``peer`` serving ``reply_text`` for every request its contract accepts."""
    folder = workdir / peer.name
    folder.mkdir(parents=True)
    port = free_port()
    if peer.name.startswith("prism"):
        document = folder / "openapi.json"
        document.write_text(json.dumps(prism_document(reply_status, json.loads(reply_text)), indent=1))
        argv = [shutil.which("node"), str(PRISM_PACKAGE / "dist" / "index.js"), "mock", "--host", "127.0.0.1",
                "--port", str(port), *peer.options, str(document)]
    else:
        (folder / "mappings").mkdir()
        (folder / "mappings" / "tasks.json").write_text(json.dumps(wiremock_mapping(reply_status, reply_text), indent=1))
        argv = [shutil.which("java"), "-jar", str(wiremock_jar()), "--bind-address", "127.0.0.1", "--port", str(port),
                "--root-dir", str(folder), "--disable-banner", *peer.options]
    return start_listening(argv, port)


def post(base_url: str, body: str, token: str | None) -> tuple[int, str]:
    """One ``POST /v1`` outside the measurement (the probes, the reply the peers will serve): its status and body."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        connection.request("POST", "/v1", body=body.encode(), headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()
