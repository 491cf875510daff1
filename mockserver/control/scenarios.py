"""Named scenarios: a request picks misbehaviours by name, without touching the control API.

``X-Vidmock-Scenario: rate-limit-once, polls:3`` on a REST request (or on the WebSocket upgrade,
or ``?scenario=`` on the socket URL, for the whole connection). Names come from
``scenarios.json`` (data: each maps to fault descriptions, and optionally to a result-release mode,
``"results": "staggered"``) plus the progression policies ``immediate``, ``manual``, ``polls:N``
and ``seconds:T``. Faults of a scenario are instantiated once per namespace, so "once per task"
budgets hold across the retries of that task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mockserver.contract.errors import RunwareError
from mockserver.contract.protocol import SCENARIO_HEADER
from mockserver.contract.vocabulary import Progression, ResultRelease, parse_results
from mockserver.control.bodies import check
from mockserver.control.faults import Fault, parse_fault
from mockserver.core.namespaces import forget

CATALOGUE_FILE = Path(__file__).with_name("scenarios.json")
POLICY_SCENARIOS = {
    "immediate": "Tasks of the request finish as soon as their video exists.",
    "manual": "Tasks of the request finish only through POST /__mock/tasks/{taskUUID}/complete or /fail.",
    "polls:N": "Tasks of the request answer 'processing' to N getResponse polls, then finish.",
    "seconds:T": "Tasks of the request finish T seconds (server clock) after submission.",
}


@dataclass(frozen=True)
class Selection:
    """What a request's scenario names amount to."""

    names: tuple[str, ...]
    faults: tuple[Fault, ...]
    policy: Progression | None
    results: ResultRelease | None = None  # result-release mode of the tasks the request submits


class ScenarioCatalogue:
    def __init__(self, path: Path = CATALOGUE_FILE) -> None:
        self.definitions: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        for name, definition in self.definitions.items():  # fail at start-up, not on first use
            for spec in definition["faults"]:
                check("FaultSpec", spec, f"scenarios.json, {name}: ")
            if "results" in definition:
                parse_results(definition["results"])
        self._instances: dict[tuple[str | None, str], tuple[Fault, ...]] = {}

    def listing(self) -> list[dict]:
        named = [{"name": name, "description": d["description"], "faults": d["faults"],
                  **({"results": d["results"]} if "results" in d else {})}
                 for name, d in self.definitions.items()]
        return named + [{"name": name, "description": text, "faults": []} for name, text in POLICY_SCENARIOS.items()]

    def select(self, names: tuple[str, ...], namespace: str | None) -> Selection:
        """Resolve names (already split); unknown ones raise ``unsupportedScenario``."""
        faults: list[Fault] = []
        policy = results = None
        for name in names:
            if name in self.definitions:
                faults.extend(self._faults(namespace, name))
                results = parse_results(self.definitions[name]["results"]) if "results" in self.definitions[name] else results
                continue
            try:
                policy = Progression.parse(name)
            except ValueError:
                raise unsupported_scenario(name, self.names()) from None
        return Selection(names, tuple(faults), policy, results)

    def check(self, names: tuple[str, ...]) -> None:
        """Raise ``unsupportedScenario`` unless every name is known (checked before any work)."""
        self.select(names, None)

    def names(self) -> list[str]:
        return [*self.definitions, *POLICY_SCENARIOS]

    def reset(self, namespace: str | None = None) -> int:
        """Forget the budgets used by a namespace (all when None); returns how many scenarios."""
        return len(forget(self._instances, namespace, lambda key, _: key[0]))

    def _faults(self, namespace: str | None, name: str) -> tuple[Fault, ...]:
        key = (namespace, name)
        if key not in self._instances:
            self._instances[key] = tuple(parse_fault(spec, namespace, source=f"scenario:{name}")
                                         for spec in self.definitions[name]["faults"])
            for index, fault in enumerate(self._instances[key]):
                fault.id = f"scenario:{name}#{index}"
        return self._instances[key]


def unsupported_scenario(name: str, known: list[str]) -> RunwareError:
    return RunwareError("unsupportedScenario", f"Unknown scenario {name!r} in {SCENARIO_HEADER}. Known scenarios: "
                        f"{', '.join(known)} (GET /__mock/scenarios describes them).", allowedValues=known)
