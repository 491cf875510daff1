"""Drift: where live traffic departs from what vidmock's schemas and model profile say.

``vidmock proxy`` (``mockserver.backends.proxy``) hands every exchange with the upstream to a
``DriftJudge``. Both directions are judged:

- the request gets the validation the mock gives it; a task vidmock rejects but the upstream
  accepted is a finding of direction ``request`` (either the client is wrong or the API loosened);
- the reply is held against ``schemas/responses/`` (envelope, ack, processing, success, error
  objects...) and the model profile: the cost for the task's mode, resolution and duration, seeds,
  how many results, and, when the proxy downloaded the video, its size, frame rate and length.
  What does not fit is a finding of direction ``reply``.

Findings ride on the exchange's ``RequestContext`` (``ctx.findings``); the control plane stores
and serves them (``GET /__mock/drift``). Nothing here knows who keeps them.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from mockserver.contract import allowed_sizes, model_profile, response_schema
from mockserver.contract.errors import RunwareError
from mockserver.contract.pricing import billing_mode, resolution_class, task_cost
from mockserver.contract.protocol import AUTH, SUBMITTED
from mockserver.contract.vocabulary import DriftDirection, MediaToleranceMode, TaskType
from mockserver.media.sizing import resolve_size
from mockserver.media.video_probe import VideoFacts
from mockserver.validation import SchemaValidator, parameter_path, validate_task, with_defaults

REQUEST, REPLY = DriftDirection.REQUEST, DriftDirection.REPLY
MEMORY = 10_000  # submitted tasks remembered per judge, to judge the polls that report on them
# Codes a rejection may carry that say nothing about the API's rules (state, auth, capacity).
_VALIDATION_CODE = re.compile(r"^(invalid|missing|unsupported|incompatible|unknown)[A-Z]")
_NOT_RULES = frozenset({"invalidApiKey", "missingApiKey", "unknownInputUUID"})
# the tasks answered by one item of their own schemas/responses/ shape (videoInference has several)
REPLY_SCHEMAS = {TaskType.PING: "pong", TaskType.IMAGE_UPLOAD: TaskType.IMAGE_UPLOAD, TaskType.MEDIA_STORAGE: TaskType.MEDIA_STORAGE,
                 TaskType.GET_TASK_DETAILS: TaskType.GET_TASK_DETAILS}


class DriftCode(StrEnum):
    """What a reply finding is about (a request finding carries vidmock's own error code)."""

    UNEXPECTED_FIELD = "unexpectedField"  # a field the response schema does not define
    MISSING_FIELD = "missingField"  # a field the schema (or the task: cost) requires is absent
    INVALID_FIELD = "invalidField"  # a field of the wrong type, value or form
    NOT_JSON = "replyNotJson"  # the body is not a JSON object
    COST = "costMismatch"  # cost is not the profile's rate x duration for the task's class and mode
    SEED = "seedMismatch"  # a result's seed is not the task's seed (+ its index)
    RESULT_COUNT = "resultCount"  # more results than numberResults, or fewer in a final reply
    SIZE = "sizeMismatch"  # the downloaded video's size is not the one the task asked for
    FPS = "fpsMismatch"
    DURATION = "durationMismatch"
    ERROR_CODE = "errorCodeDiffers"  # both rejected the task, with different codes
    REJECTED_VALID = "rejectedValidTask"  # the upstream rejected, as invalid, a task vidmock accepts


@dataclass(frozen=True)
class Finding:
    direction: DriftDirection
    task_uuid: str | None
    code: str
    parameter: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"direction": str(self.direction), "taskUUID": self.task_uuid, "code": str(self.code),
                "parameter": self.parameter, "message": self.message}


@dataclass
class Submitted:
    """A videoInference task the upstream acknowledged: what its results must look like."""

    task: dict  # defaults filled in
    width: int
    height: int
    cost: float | None  # per result, when includeCost asks for it and the profile can price it
    videos: set[str] = field(default_factory=set)  # videoUUIDs reported so far

    @property
    def explicit_size(self) -> bool:
        return self.task.get("width") is not None and self.task.get("height") is not None


@dataclass(frozen=True)
class MediaTolerance:
    """How far a probed video may be off its task before it is a finding."""

    pixels: int  # per side: width and height each
    seconds: float


# ``exact`` (the default): the documents' promise, the size exact and the length within 0.1 s.
# ``live``: what a live result was seen to be (1284x716 and 5.125 s for 1280x720 and 5 s, another
# model, 2026), so a proxy in front of such a service reports only what goes beyond it.
MEDIA_TOLERANCES = {MediaToleranceMode.EXACT: MediaTolerance(0, 0.1), MediaToleranceMode.LIVE: MediaTolerance(4, 0.15)}
DURATION_TOLERANCE = MEDIA_TOLERANCES[MediaToleranceMode.EXACT].seconds


class DriftJudge:
    """Judges exchanges; remembers the tasks the upstream accepted so later polls can be judged."""

    def __init__(self, memory: int = MEMORY, tolerance: MediaTolerance = MEDIA_TOLERANCES[MediaToleranceMode.EXACT]) -> None:
        self.memory = memory
        self.tolerance = tolerance
        self._submitted: OrderedDict[tuple[str, str], Submitted] = OrderedDict()

    def exchange(self, namespace: str | None, tasks: list | None, body: Any, *,
                 verdicts: dict[int, list[RunwareError]] | None = None, judge_reply: bool = True) -> list[Finding]:
        """The findings of one request (``tasks``; None for a frame the upstream sent unasked) and
        the reply ``body`` to it. ``verdicts`` are the tasks' validation errors by index, when the
        caller has them already; ``judge_reply=False`` (a dry run) judges the request only."""
        tasks = tasks or []
        if verdicts is None:
            verdicts = verdicts_of(tasks)
        if not isinstance(body, dict):
            return [Finding(REPLY, None, DriftCode.NOT_JSON, None, f"The reply is not a JSON object: {body!r:.120}.")]
        data = [item for item in _list(body.get("data")) if isinstance(item, dict)]
        errors = [item for item in _list(body.get("errors")) if isinstance(item, dict)]
        requested = {task["taskUUID"]: task for task in tasks
                     if isinstance(task, dict) and isinstance(task.get("taskUUID"), str)}
        findings = self._acceptance(tasks, verdicts, data, errors)
        if judge_reply:
            findings += [finding for finding in _schema_findings("envelope", body, None)
                         if finding.parameter is None or "[" not in finding.parameter]  # items: judged below
            for item in data:
                findings += self._data_item(namespace, item, requested)
            for error in errors:
                findings += _schema_findings("error", error, _uuid(error))
            self._remember(namespace, tasks, verdicts, data, errors)
            findings += self._final_counts(namespace, requested, data)
        return findings

    def video(self, namespace: str | None, task_uuid: str, facts: VideoFacts) -> list[Finding]:
        """Findings about a downloaded result of a task the upstream accepted."""
        submitted = self._submitted.get((namespace or "", task_uuid))
        if submitted is None:
            return []
        findings = []
        task = submitted.task
        if submitted.explicit_size:
            expected = {(submitted.width, submitted.height)}
            wanted = f"{submitted.width}x{submitted.height}"
        else:  # sized from its frame image, whose aspect may be unknown offline: any size of its class
            resolution = resolution_class(task["model"], submitted.width, submitted.height)
            expected = {(w, h) for w, h, cls in allowed_sizes(task["model"]) if cls == resolution}
            wanted = f"a {resolution} size ({', '.join(f'{w}x{h}' for w, h in sorted(expected))})"
        slack = self.tolerance.pixels
        if not any(abs(facts.width - w) <= slack and abs(facts.height - h) <= slack for w, h in expected):
            within = f" (give or take {slack} pixels)" if slack else ""
            findings.append(Finding(REPLY, task_uuid, DriftCode.SIZE, "videoURL",
                                    f"The video is {facts.width}x{facts.height}; the task asked for {wanted}{within}."))
        fps = model_profile(task["model"])["fps"]
        if round(facts.fps, 2) != fps:
            findings.append(Finding(REPLY, task_uuid, DriftCode.FPS, "videoURL",
                                    f"The video runs at {facts.fps:g} fps; the model's profile says {fps}."))
        if abs(facts.duration - task["duration"]) > self.tolerance.seconds:
            findings.append(Finding(REPLY, task_uuid, DriftCode.DURATION, "videoURL",
                                    f"The video lasts {facts.duration:g} s; the task asked for {task['duration']} s "
                                    f"(give or take {self.tolerance.seconds:g} s)."))
        return findings

    # -- request against reply ----------------------------------------------------------------

    def _acceptance(self, tasks: list, verdicts: dict[int, list[RunwareError]], data: list[dict],
                    errors: list[dict]) -> list[Finding]:
        """A task one side rejects and the other accepts, or both reject differently."""
        findings = []
        answered = {_uuid(item) for item in data}
        for index, task in enumerate(tasks):
            if not isinstance(task, dict) or task.get("taskType") == AUTH:
                continue  # the key is the upstream's business; its shape is checked like any task's
            uuid = task.get("taskUUID") if isinstance(task.get("taskUUID"), str) else None
            rejection = next((error for error in errors if uuid is not None and _uuid(error) == uuid), None)
            if rejection is None and len(tasks) == 1 and errors and not data:
                rejection = errors[0]  # a lone task rejected without a taskUUID on the error
            ours = verdicts.get(index) or []
            if ours and rejection is None and (uuid in answered or (not errors and data and len(tasks) == 1)):
                first = ours[0]
                findings.append(Finding(REQUEST, uuid, first.code, _parameter(first.parameter),
                                        f"The upstream accepted a task vidmock rejects: {first.message} Either "
                                        "the client is wrong or the API loosened."))
            elif ours and rejection is not None and rejection.get("code") != ours[0].code:
                findings.append(Finding(REPLY, uuid, DriftCode.ERROR_CODE, _parameter(ours[0].parameter),
                                        f"The upstream rejected the task with {rejection.get('code')!r}; vidmock "
                                        f"rejects it with {ours[0].code!r}."))
            elif (not ours and rejection is not None and task.get("taskType") in SUBMITTED
                  and _is_rule(rejection.get("code"))):
                findings.append(Finding(REPLY, uuid, DriftCode.REJECTED_VALID, _parameter(rejection.get("parameter")),
                                        f"The upstream rejected a task vidmock accepts: {rejection.get('code')}: "
                                        f"{rejection.get('message')}"))
        return findings

    # -- reply items ------------------------------------------------------------------------------

    def _data_item(self, namespace: str | None, item: dict, requested: dict[str, Any]) -> list[Finding]:
        task_type, uuid = item.get("taskType"), _uuid(item)
        request = requested.get(uuid) if uuid is not None else None
        polled = isinstance(request, dict) and request.get("taskType") == TaskType.GET_RESPONSE
        if task_type == AUTH:
            return _schema_findings(TaskType.AUTHENTICATION, item, None)
        if task_type in REPLY_SCHEMAS:
            return _schema_findings(REPLY_SCHEMAS[task_type], item, uuid)
        if task_type != TaskType.VIDEO_INFERENCE:
            what = "getResponse items echo the polled task's taskType" if polled else "no such taskType"
            return [Finding(REPLY, uuid, DriftCode.INVALID_FIELD, "taskType",
                            f"taskType {task_type!r} in data[]: {what} (videoInference).")]
        status = item.get("status")
        if status is None:
            if polled:
                return [Finding(REPLY, uuid, DriftCode.MISSING_FIELD, "status",
                                "A getResponse item without status: vidmock expects processing or success.")]
            return _schema_findings("ack", item, uuid)
        if status == "processing":
            return _schema_findings("processing", item, uuid)
        if status == "success":
            return _schema_findings("success", item, uuid) + self._result(namespace, uuid, item, request)
        return [Finding(REPLY, uuid, DriftCode.INVALID_FIELD, "status",
                        f"status {status!r} in data[]: vidmock expects processing or success there, and failed "
                        "tasks in errors[].")]

    def _result(self, namespace: str | None, uuid: str | None, item: dict, request: Any) -> list[Finding]:
        """A success item against the task it reports on: cost, seed, number of results."""
        submitted = self._submitted.get((namespace or "", uuid or ""))
        if submitted is None and isinstance(request, dict) and request.get("taskType") == TaskType.VIDEO_INFERENCE:
            submitted = _submission(request)  # a result in the reply to the submit itself
        if submitted is None:
            return []
        findings = []
        task = submitted.task
        cost = item.get("cost")
        if task.get("includeCost") and submitted.cost is not None:
            tolerance = 10 ** -model_profile(task["model"])["pricing"]["decimals"]
            if "cost" not in item:
                findings.append(Finding(REPLY, uuid, DriftCode.MISSING_FIELD, "cost",
                                        "includeCost is true but the result has no cost."))
            elif _number(cost) and abs(cost - submitted.cost) > tolerance:
                findings.append(Finding(REPLY, uuid, DriftCode.COST, "cost",
                                        f"cost {cost} is not the profile's {submitted.cost} for {_mode(submitted)}."))
        elif not task.get("includeCost") and "cost" in item:
            findings.append(Finding(REPLY, uuid, DriftCode.UNEXPECTED_FIELD, "cost",
                                    "The result has a cost although includeCost is false."))
        seed = item.get("seed")
        if isinstance(task.get("seed"), int) and isinstance(seed, int):
            seeds = {(task["seed"] + i) % (1 << 32) for i in range(task["numberResults"])}
            if seed not in seeds:
                findings.append(Finding(REPLY, uuid, DriftCode.SEED, "seed",
                                        f"seed {seed} is not the task's seed {task['seed']} (+ result index)."))
        if isinstance(item.get("videoUUID"), str):
            submitted.videos.add(item["videoUUID"])
            if len(submitted.videos) > task["numberResults"]:
                findings.append(Finding(REPLY, uuid, DriftCode.RESULT_COUNT, "videoUUID",
                                        f"{len(submitted.videos)} distinct videos for numberResults "
                                        f"{task['numberResults']}."))
        return findings

    def _final_counts(self, namespace: str | None, requested: dict[str, Any], data: list[dict]) -> list[Finding]:
        """A getResponse reply without a processing item is final: it carries every result."""
        findings = []
        for uuid, task in requested.items():
            if not (isinstance(task, dict) and task.get("taskType") == TaskType.GET_RESPONSE):
                continue
            items = [item for item in data if _uuid(item) == uuid]
            submitted = self._submitted.get((namespace or "", uuid))
            if submitted is None or not items or any(item.get("status") != "success" for item in items):
                continue
            videos = {item.get("videoUUID") for item in items}
            if len(videos) < submitted.task["numberResults"]:
                findings.append(Finding(REPLY, uuid, DriftCode.RESULT_COUNT, "numberResults",
                                        f"A final reply with {len(videos)} of {submitted.task['numberResults']} "
                                        "results."))
        return findings

    # -- memory -------------------------------------------------------------------------------------

    def _remember(self, namespace: str | None, tasks: list, verdicts: dict, data: list[dict],
                  errors: list[dict]) -> None:
        acked = {_uuid(item) for item in data}
        rejected = {_uuid(error) for error in errors}
        for index, task in enumerate(tasks):
            if (isinstance(task, dict) and task.get("taskType") == TaskType.VIDEO_INFERENCE and not verdicts.get(index)
                    and task["taskUUID"] in acked and task["taskUUID"] not in rejected):
                self._submitted[(namespace or "", task["taskUUID"])] = _submission(task)
                while len(self._submitted) > self.memory:
                    self._submitted.popitem(last=False)


def verdicts_of(tasks: list) -> dict[int, list[RunwareError]]:
    """The validation errors vidmock finds in each task of a request, by index (only failing ones)."""
    verdicts = {index: validate_task(task) for index, task in enumerate(tasks)}
    return {index: errors for index, errors in verdicts.items() if errors}


def _submission(task: dict) -> Submitted | None:
    """What a valid videoInference task's results must look like (None when vidmock cannot tell)."""
    if validate_task(task):
        return None
    filled = with_defaults(task)
    width, height = resolve_size(filled, lambda _uuid: None)  # uploaded images' aspect is unknown here
    priced = filled["includeCost"] and not filled.get("inputs", {}).get("referenceVideos")
    return Submitted(filled, width, height, task_cost(filled, width, height) if priced else None)


def _mode(submitted: Submitted) -> str:
    task = submitted.task
    return (f"{resolution_class(task['model'], submitted.width, submitted.height)}, {billing_mode(task)}, "
            f"{task['duration']} s")


@cache
def _validator(name: str) -> SchemaValidator:
    return SchemaValidator(response_schema(name))


def _schema_findings(name: str, item: Any, uuid: str | None) -> list[Finding]:
    """One finding per way ``item`` breaks ``schemas/responses/<name>.json``."""
    findings = []
    for error in _validator(name).iter_errors(item):
        path = list(error.absolute_path)
        instance, schema = error.instance, error.schema if isinstance(error.schema, dict) else {}
        if error.validator == "additionalProperties" and isinstance(instance, dict):
            known = schema.get("properties", {})
            for extra in (key for key in instance if key not in known):
                findings.append(Finding(REPLY, uuid, DriftCode.UNEXPECTED_FIELD, parameter_path(path + [extra]),
                                        f"The {name} item carries {parameter_path(path + [extra])}, which vidmock's "
                                        f"schema responses/{name}.json does not define."))
        elif error.validator == "required" and isinstance(instance, dict):
            for missing in (key for key in error.validator_value if key not in instance):
                findings.append(Finding(REPLY, uuid, DriftCode.MISSING_FIELD, parameter_path(path + [missing]),
                                        f"The {name} item lacks {parameter_path(path + [missing])}, which "
                                        f"responses/{name}.json requires."))
        else:
            where = parameter_path(path) or None
            findings.append(Finding(REPLY, uuid, DriftCode.INVALID_FIELD, where,
                                    f"In a {name} item, {where or 'the item'}: {error.message}."))
    return findings


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _uuid(item: dict) -> str | None:
    value = item.get("taskUUID")
    return value if isinstance(value, str) else None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parameter(parameter: Any) -> str | None:
    if isinstance(parameter, list):
        return ", ".join(map(str, parameter)) or None
    return parameter if isinstance(parameter, str) else None


def _is_rule(code: Any) -> bool:
    return isinstance(code, str) and bool(_VALIDATION_CODE.match(code)) and code not in _NOT_RULES
