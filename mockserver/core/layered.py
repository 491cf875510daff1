"""A setting chosen per task, else per namespace, else server-wide.

How every per-task choice is made: a job's progression policy, its result release, its injected
outcome, its webhooks' behaviour. A task's value may be set before the task is submitted (a test
arms it, a scenario picks it when the task is accepted); ``None`` clears a layer.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from mockserver.core.namespaces import forget

T = TypeVar("T")


class LayeredSetting(Generic[T]):
    def __init__(self, default: T) -> None:
        self.default = default
        self._tasks: dict[tuple[str, str], T] = {}
        self._namespaces: dict[str, T] = {}

    def set_task(self, namespace: str, task_uuid: str, value: T | None) -> None:
        _assign(self._tasks, (namespace, task_uuid), value)

    def set_namespace(self, namespace: str, value: T | None) -> None:
        _assign(self._namespaces, namespace, value)

    def task_value(self, namespace: str, task_uuid: str) -> T | None:
        """The task's own layer (None when it has none)."""
        return self._tasks.get((namespace, task_uuid))

    def get(self, namespace: str, task_uuid: str) -> T:
        value = self._tasks.get((namespace, task_uuid))
        if value is None:
            value = self._namespaces.get(namespace)
        return self.default if value is None else value

    def reset(self, namespace: str | None = None) -> int:
        """Drop the task and namespace layers of one namespace (all when None); returns how many."""
        tasks = forget(self._tasks, namespace, lambda key, _: key[0])
        return len(tasks) + len(forget(self._namespaces, namespace, lambda key, _: key))


def _assign(table: dict, key: Any, value: Any) -> None:
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value
