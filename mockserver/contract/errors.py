"""Runware-shaped errors and the one catalogue of codes vidmock can return.

Every failure, from a malformed body to an ffmpeg crash, leaves vidmock as a ``RunwareError``
rendered by ``to_wire()``: the object the official SDKs parse out of ``errors[]``. The catalogue
below is the only place a code, its HTTP status and the rule behind it are defined;
``docs/errors.md`` is checked against it by the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mockserver.contract import model_profile


@dataclass(frozen=True)
class ErrorKind:
    """A code vidmock can return, the HTTP status it comes with, and why it is raised."""

    code: str
    http_status: int
    rule: str


def _kinds(*rows: tuple[str, int, str]) -> dict[str, ErrorKind]:
    return {code: ErrorKind(code, status, rule) for code, status, rule in rows}


CATALOGUE: dict[str, ErrorKind] = _kinds(
    # Authentication
    ("missingApiKey", 401, "Keys are configured and the request carries neither a Bearer header nor an authentication task."),
    ("invalidApiKey", 401, "The API key is not one of the configured keys (or is empty)."),
    # Envelope
    ("invalidRequestBody", 400, "The body is not valid UTF-8 JSON, or is not a JSON array of tasks."),
    ("requestTooLarge", 413, "The body or WebSocket frame exceeds the configured size limit."),
    ("invalidTask", 400, "An element of the task array is not a JSON object."),
    ("missingTaskType", 400, "A task has no taskType."),
    ("unknownEndpoint", 404, "The request names a path vidmock does not serve (the API is POST /v1 or a WebSocket at /v1)."),
    ("methodNotAllowed", 405, "The path exists but not for this method (e.g. GET /v1 without a WebSocket upgrade)."),
    ("unsupportedTaskType", 400, "taskType is not one of authentication, ping, getResponse, getTaskDetails, imageUpload, mediaStorage, videoInference."),
    # Schema: generic rules, the suffix is the parameter's own name (invalidSeed, missingTaskUUID, ...)
    ("missing<Parameter>", 400, "A required parameter is absent (schema `required`)."),
    ("invalid<Parameter>", 400, "A parameter has the wrong type, breaks a bound (min/max, length, item count) or a format (a UUID, URL, image reference)."),
    ("unsupported<Parameter>", 400, "A parameter's value is not one of the allowed values (schema `enum`/`const`); allowedValues lists them."),
    ("unsupportedParameter", 400, "The task carries a parameter the schema does not define (schema `additionalProperties: false`), e.g. a top-level frameImages."),
    ("invalidPositivePromptLength", 400, "positivePrompt is empty or longer than 5000 characters."),
    ("invalidNegativePromptLength", 400, "negativePrompt is longer than 500 characters."),
    ("invalidModel", 400, "model is not an AIR identifier (provider:model@version)."),
    ("unknownModel", 400, "model is a well-formed AIR that vidmock does not serve (only alibaba:wan@2.7)."),
    # Model profile rules (schemas/models/alibaba-wan2.7.json)
    ("unsupportedModelResolution", 400, "width x height is not one of the model's sizes; allowedValues lists them."),
    ("unsupportedDuration", 400, "duration is outside 2..15, or above 10 with reference images or videos."),
    ("missingDimensions", 400, "Neither width/height nor inputs.frameImages is given, or only one of width and height."),
    ("incompatibleParameters", 400, "inputs.frameImages is combined with inputs.referenceImages or inputs.referenceVideos."),
    ("missingPositivePrompt", 400, "positivePrompt is absent and there is no inputs.frameImages."),
    ("missingReferenceInputs", 400, "settings.shotType is set without inputs.referenceImages or inputs.referenceVideos."),
    ("invalidFrameImages", 400, "inputs.frameImages places two images on the same frame position."),
    # Server state
    ("conflictTaskUUID", 400, "The taskUUID was already used by a task of this API key."),
    ("taskFailedOrNotFound", 400, "getResponse or getTaskDetails names a taskUUID this API key never submitted, or (getResponse) whose results expired."),
    ("unknownInputUUID", 400, "An input given as a UUID is no live asset of this API key: unknown, another key's, deleted, expired, or a video whose task has not finished; the message says which."),
    ("invalidInputUUID", 400, "An input given as a UUID is an asset of the wrong kind for its parameter (an image in inputs.audio, audio in inputs.referenceVideos...)."),
    ("invalidImage", 400, "An image is not a UUID, URL, data URI or base64 (inputs.frameImages[].image, imageUpload's image), or its inline bytes are not a PNG, JPEG, WEBP, GIF or BMP (any image input; imageUpload also decodes every pixel)."),
    ("invalidMedia", 400, "mediaStorage's media is not what its operation takes (a URL, data URI or base64 to upload; a UUID to delete), or an upload's bytes are not a listed image, video (MP4, MOV, WEBM) or audio (MP3, WAV, FLAC)."),
    ("mediaNotFound", 400, "A mediaStorage delete names a UUID that is no stored media of this API key: unknown, another key's, already deleted, expired, or a generated video."),
    # Task outcomes, reported by getResponse (and webhooks) in errors[] with status "error". The
    # poll itself succeeded, so the reply is HTTP 200: a 5xx would make SDKs retry the poll.
    ("synthesisFailed", 200, "ffmpeg failed to make the placeholder video; stderr is kept in the journal."),
    ("timeoutProvider", 200, "Injected: the provider did not answer in time (fault or scenario)."),
    ("providerError", 200, "Injected: the provider failed (fault or scenario)."),
    ("uploadFailed", 200, "Injected (fault or scenario): the upload to uploadEndpoint failed. A real failed PUT leaves the task successful and is recorded in /__mock/deliveries (docs/delivery.md)."),
    # Seen live (docs/errors.md, Codes seen live): vidmock answers them only when a fault or a
    # scenario asks, never on its own
    ("insufficientCredits", 400, "Injected (fault or scenario credits-exhausted): the account's balance cannot pay for the task. HTTP 400 as reported live on videoInference; Runware's docs say 402."),
    ("invalidValueUploadFailed", 400, "Injected (fault or scenario upload-failed): an input could not be fetched or processed (live: parameter inputs.frameImages of an image-to-video task)."),
    ("unknownErrorWhileReadingResults", 500, "Injected (fault or scenario read-error-once): getResponse could not read the task's results this time; transient, the next poll may succeed."),
    # Transport faults
    ("rateLimitExceeded", 429, "Injected 429 (fault or scenario); Retry-After tells when to retry."),
    ("serviceUnavailable", 503, "Injected 503 (fault or scenario)."),
    ("internalServerError", 500, "Injected 500, or an unexpected failure inside vidmock (always journalled)."),
    ("badGateway", 502, "Injected 502 (fault or scenario)."),
    ("gatewayTimeout", 504, "Injected 504 (fault or scenario)."),
    ("unsupportedScenario", 400, "X-Vidmock-Scenario (or ?scenario= on the socket URL) names a scenario vidmock does not know."),
    # Proxy and replay (`vidmock proxy`, `vidmock serve --replay`): vidmock's own words, never an upstream's
    ("upstreamUnreachable", 502, "vidmock proxy could not reach the upstream, or the connection broke before a reply."),
    ("upstreamTimeout", 504, "vidmock proxy got no reply from the upstream within --upstream-timeout."),
    ("upstreamInvalidReply", 502, "vidmock proxy got a reply from the upstream that is not JSON; the message quotes its start."),
    ("recordingNotFound", 404, "vidmock serve --replay-strict: the recording holds no request with this task (taskUUID aside)."),
    # Control API (/__mock/)
    ("invalidControlToken", 401, "A control token is configured and X-Vidmock-Control-Token is missing or wrong."),
    ("invalidControlRequest", 400, "A /__mock/ call has a body or query the control API cannot accept."),
    ("controlResourceNotFound", 404, "A /__mock/ call names a task or fault this namespace does not have."),
)

# The statuses a gateway answers when the service is in trouble (Runware's rate-limits page): the
# error each carries, for the faults that inject them.
TRANSIENT_STATUSES: dict[int, tuple[str, str]] = {
    429: ("rateLimitExceeded", "Too many requests. Retry after the number of seconds in the Retry-After header."),
    500: ("internalServerError", "Internal server error."),
    502: ("badGateway", "Bad gateway: the upstream service failed."),
    503: ("serviceUnavailable", "The service is temporarily unavailable. Please retry."),
    504: ("gatewayTimeout", "Gateway timeout: the upstream service did not answer in time."),
}

# The codes seen live that a fault (``{"action": "error", "code": ...}``) injects: the message and
# parameter they come with. invalidValueUploadFailed's are the live ones (quoted from a failure);
# the others' messages were not captured, so they are vidmock's words.
LIVE_ERRORS: dict[str, tuple[str, str | None]] = {
    "insufficientCredits": ("Insufficient credits to run this task. Top up your balance at https://my.runware.ai/wallet.", None),
    "invalidValueUploadFailed": ("Processing parameter 'inputs.frameImages' failed.", "inputs.frameImages"),
    "unknownErrorWhileReadingResults": ("Unknown error while reading the results. Please retry.", None),
}

# Codes built from a generic row (missing<Parameter>, ...) take that row's status.
_GENERIC_PREFIXES = ("missing", "invalid", "unsupported")

DOCS_BASE = model_profile()["documentation"]


def kind_of(code: str) -> ErrorKind:
    """Catalogue entry for a code, generic rows included (``invalidSeed`` -> ``invalid<Parameter>``)."""
    if code in CATALOGUE:
        return CATALOGUE[code]
    for prefix in _GENERIC_PREFIXES:
        if code.startswith(prefix) and code[len(prefix):][:1].isupper():
            return CATALOGUE[f"{prefix}<Parameter>"]
    raise KeyError(f"error code {code!r} is not in the catalogue")


def documentation_url(parameter: str | list[str] | None) -> str:
    """The docs anchor the SDKs build: ``#request-<param with dots as dashes, lowercased>``."""
    if isinstance(parameter, list):
        parameter = parameter[0] if parameter else None
    if not parameter:
        return DOCS_BASE
    anchor = re.sub(r"\[\d+\]", "", parameter).replace(".", "-").lower()
    return f"{DOCS_BASE}#request-{anchor}"


class RunwareError(Exception):
    """One Runware error object; raised inside vidmock, rendered into ``errors[]``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        parameter: str | list[str] | None = None,
        task_type: str | None = None,
        task_uuid: str | None = None,
        http_status: int | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.parameter = parameter
        self.task_type = task_type
        self.task_uuid = task_uuid
        self.http_status = http_status if http_status is not None else kind_of(code).http_status
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def for_task(self, task: Any) -> "RunwareError":
        """Scope the error to a task: the SDKs route errors by taskUUID, so always carry it."""
        if isinstance(task, dict):
            if self.task_type is None and isinstance(task.get("taskType"), str):
                self.task_type = task["taskType"]
            if self.task_uuid is None and isinstance(task.get("taskUUID"), str):
                self.task_uuid = task["taskUUID"]
        return self

    def to_wire(self, *, task_type: bool = False) -> dict[str, Any]:
        """The JSON object sent in ``errors[]``, with the live service's keys in its order (the
        captured ``invalidWidth``: code, message, parameter, type, bounds, documentation,
        taskUUID). No captured reply item carries ``taskType``: ``task_type=True`` adds it where a
        client still looks for it (a WebSocket authentication refusal, ``protocol.error_items``)
        and in vidmock's own bodies that always had it (webhooks, ``/__mock/``)."""
        wire: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter is not None:
            wire["parameter"] = self.parameter
        wire.update(self.extra)
        wire["documentation"] = documentation_url(self.parameter)
        if task_type and self.task_type is not None:
            wire["taskType"] = self.task_type
        if self.task_uuid is not None:
            wire["taskUUID"] = self.task_uuid
        return wire

    def __repr__(self) -> str:
        return f"RunwareError({self.code!r}, {self.message!r}, parameter={self.parameter!r})"
