"""The API's rule for a WebSocket that has not authenticated, which every backend applies alike.

Pings are answered before authentication (sdk-python pings right after its auth frame); every other
task gets ``missingApiKey``, scoped to it so the SDKs can route it. A proxy answers so too rather
than forwarding: the upstream would refuse the frame the same way, and a socket without a key has
no upstream socket yet.
"""

from __future__ import annotations

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import Reply, is_authentication
from mockserver.contract.vocabulary import TaskType, Transport
from mockserver.exchange import RequestContext

MISSING_KEY_MESSAGE = "Missing API key. Send an authentication task first on this connection."


def unauthenticated_frame(tasks: list, ctx: RequestContext) -> Reply | None:
    """The reply to a frame of a socket with no key that does not authenticate; None otherwise."""
    if ctx.transport is not Transport.WS or ctx.api_key is not None or (tasks and is_authentication(tasks[0])):
        return None
    data, errors = [], []
    for task in tasks:
        if isinstance(task, dict) and task.get("taskType") == TaskType.PING:
            data.append({"taskType": TaskType.PING, "pong": True})
        else:
            errors.append(RunwareError("missingApiKey", MISSING_KEY_MESSAGE, parameter="apiKey").for_task(task))
    return Reply.of(data, errors)
