"""What the official SDKs return or raise when results come per generation (numberResults > 1).

Each form is a reply shape vidmock can serve (docs/server.md, Results per generation): the
``generations`` release (one status item per generation, one more settled per poll, each reply
cumulative), a generation failing alone (a ``taskError`` fault with ``generations``) in the
``together``, ``staggered`` and ``generations`` releases. The table below pins, per SDK, what the
caller gets: the generations of the videos returned (``(0, 0, 1)``: the first video twice, then the
second), or the exception. docs/clients.md carries the same table with the SDK code behind each cell.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from test_sdks import SDKS, MockServer, run_client, sdks_installed, serve  # noqa: F401

pytestmark = pytest.mark.sdk

PROVIDER_ERROR = "The provider failed to generate the video."


@dataclass(frozen=True)
class Form:
    release: str
    number_results: int
    failing: tuple[int, ...] = ()  # generations a taskError fault fails (0-based)
    policy: str = "immediate"
    replies: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()  # every poll reply: (data statuses, error codes)

    @property
    def waiting(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The reply while the videos still render (or the policy holds them): nothing settled."""
        return ("processing",) * (self.number_results if self.release == "generations" else 1), ()

    @property
    def id(self) -> str:
        failing = f"-fail{''.join(map(str, self.failing))}" if self.failing else ""
        return f"{self.release}-n{self.number_results}{failing}"


S, P, E = "success", "processing", "providerError"
FORMS = [
    Form("generations", 2, policy="polls:1", replies=(((P, P), ()), ((S, P), ()), ((S, S), ()))),
    Form("generations", 3, replies=(((S, P, P), ()), ((S, S, P), ()), ((S, S, S), ()))),
    Form("together", 2, (1,), replies=(((S,), (E,)),)),
    Form("together", 3, (1,), replies=(((S, S), (E,)),)),
    Form("generations", 3, (1,), replies=(((S, P, P), ()), ((S, P), (E,)), ((S, S), (E,)))),
    Form("staggered", 3, (2,), replies=(((S, P), ()), ((S, S, P), ()), ((S, S), (E,)))),
]

RAISES = {"sdk-python-ws": ("RunwareAPIError", "providerError"), "runware-sdk-ws": ("RunwareError", "provider"),
          "runware-sdk-rest": ("RunwareError", "provider"), "sdk-js-ws": ("object", "providerError")}
ALL_RAISE = dict.fromkeys(SDKS, "raises")

# What the caller gets: the generations of the returned videos, or "raises" (the RAISES error).
EXPECTED = {
    "generations-n2": {"sdk-python-ws": (0, 0), "runware-sdk-ws": (0, 1), "runware-sdk-rest": (0, 1),
                       "sdk-js-ws": (0, 1)},
    "generations-n3": {"sdk-python-ws": (0, 0, 1), "runware-sdk-ws": (0, 1, 2), "runware-sdk-rest": (0, 1, 2),
                       "sdk-js-ws": (0, 1, 2)},
    "together-n2-fail1": ALL_RAISE,
    "together-n3-fail1": ALL_RAISE,
    "generations-n3-fail1": ALL_RAISE,
    # sdk-python holds 3 items (the first video twice) before the failure is sent, and returns them
    "staggered-n3-fail2": {**ALL_RAISE, "sdk-python-ws": (0, 0, 1)},
}
KEYS = {sdk: f"generations-{sdk}" for sdk in SDKS}  # one namespace per SDK: the four run at once


@pytest.fixture(scope="module")
def generations_server(sdks_installed, tmp_path_factory) -> Iterator[MockServer]:  # noqa: F811
    keys = [option for key in KEYS.values() for option in ("--api-key", key)]
    yield from serve("immediate", tmp_path_factory.mktemp("generations"), *keys)


def control(server: MockServer, key: str, method: str, path: str, body: dict | None = None) -> dict:
    """A /__mock/ call in the namespace of ``key``."""
    request = urllib.request.Request(server.base_url + "/__mock/" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def arrange(server: MockServer, key: str, form: Form) -> None:
    """The key's namespace, fresh, set to serve ``form``."""
    control(server, key, "POST", "reset")
    control(server, key, "PUT", "progression", {"policy": form.policy, "results": form.release})
    if form.failing:
        control(server, key, "POST", "faults", {"action": "taskError", "generations": list(form.failing)})


def what_the_caller_got(server: MockServer, key: str, outcome: dict) -> tuple[int, ...] | str:
    """The generation index of each returned video (by the control plane's task view), or "raises"."""
    if not outcome["ok"]:
        return "raises"
    [task_uuid] = {result["taskUUID"] for result in outcome["results"]}
    generations = control(server, key, "GET", f"tasks/{task_uuid}")["generations"]
    index = {g["videoUUID"]: g["generation"] for g in generations}
    assert all(result["status"] == "success" and result["videoURL"] for result in outcome["results"]), outcome
    return tuple(index[result["videoUUID"]] for result in outcome["results"])


def replies_sent(server: MockServer, key: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every getResponse reply of the namespace, as (data statuses, error codes)."""
    entries = control(server, key, "GET", "journal")["entries"]
    return [(tuple(item["status"] for item in entry["response"]["body"].get("data", [])),
             tuple(error["code"] for error in entry["response"]["body"].get("errors", [])))
            for entry in entries if [t.get("taskType") for t in entry["tasks"] or []] == ["getResponse"]]


def run(server: MockServer, sdk: str, form: Form) -> tuple[dict, float]:
    key = KEYS[sdk]
    arrange(server, key, form)
    return run_client(sdk, "t2v", server, key=key, options=("--number-results", str(form.number_results)))


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.id)
def test_what_each_sdk_makes_of_per_generation_replies(form, generations_server, record_property):
    server = generations_server
    with ThreadPoolExecutor(len(SDKS)) as pool:  # the SDKs mostly wait between polls: run them side by side
        outcomes = dict(zip(SDKS, pool.map(lambda sdk: run(server, sdk, form), SDKS)))
    record_property("seconds", {sdk: round(elapsed, 2) for sdk, (_, elapsed) in outcomes.items()})
    got = {sdk: what_the_caller_got(server, KEYS[sdk], outcome) for sdk, (outcome, _) in outcomes.items()}
    assert got == EXPECTED[form.id], outcomes
    for sdk, (outcome, _) in outcomes.items():
        check_replies_and_error(form, replies_sent(server, KEYS[sdk]), sdk, outcome)


def check_replies_and_error(form: Form, sent: list, sdk: str, outcome: dict) -> None:
    """The mock served the form (after any number of polls that came before rendering ended), and
    an SDK that raised raised the failed generation's error on the first reply that carried it."""
    settling = [reply for reply in sent if reply != form.waiting]  # how many polls come before rendering ends varies
    assert sent[:len(sent) - len(settling)] == [form.waiting] * (len(sent) - len(settling)), sent
    served = [reply for reply in form.replies if reply != form.waiting]
    served += [served[-1]] * len(settling)  # a finished task answers its last reply again
    assert settling and settling == served[:len(settling)], f"{sdk}: the mock served another form: {sent}"
    if not outcome["ok"]:
        assert (outcome["error_class"], outcome["code"]) == RAISES[sdk], outcome
        assert PROVIDER_ERROR in outcome["message"], outcome
        assert sent[-1][1] == ("providerError",), "raised on the first reply that carried the failed generation"
        assert [reply for reply in sent if reply[1]] == [sent[-1]]
