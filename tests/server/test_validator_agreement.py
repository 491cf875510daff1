"""The fast path and the reference validator give the same verdict on every task.

``validate_task`` trusts fastjsonschema's "valid" and asks jsonschema (with ECMA-262 pattern
anchors) for the violations otherwise. If the two ever disagreed, vidmock would accept a task it
should reject, or the reverse; hypothesis looks for such a task among valid requests of every
mode, one-rule breaches, and valid requests with a field replaced by arbitrary JSON.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.strategies import invalid_tasks, media_storage_tasks, video_tasks
from mockserver.contract import task_schema, task_types
from mockserver.validation import SchemaValidator, schema_accepts

pytestmark = pytest.mark.slow  # hypothesis sweeps over the whole schema

REFERENCES = {task_type: SchemaValidator(task_schema(task_type)) for task_type in task_types()}
AGREEMENT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.filter_too_much])
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=8)


def assert_same_verdict(task) -> None:
    """By the task's own schema (a breach that lost its taskType is judged as a videoInference)."""
    named = task.get("taskType")
    task_type = named if isinstance(named, str) and named in REFERENCES else "videoInference"
    assert schema_accepts(task_type, task) == REFERENCES[task_type].is_valid(task), task


@AGREEMENT
@given(video_tasks())
def test_valid_tasks(task):
    assert_same_verdict(task)


@AGREEMENT
@given(media_storage_tasks(), st.data())
def test_media_storage_tasks_valid_or_with_operation_and_media_swapped(task, data):
    """mediaStorage's schema branches on its operation (if/then/else): both validators must follow."""
    assert_same_verdict(task)
    task["operation"] = data.draw(st.sampled_from(["upload", "delete", "remove"]))
    assert_same_verdict(task)


@AGREEMENT
@given(invalid_tasks())
def test_one_rule_breaches(breach):
    assert_same_verdict(breach.task)


@AGREEMENT
@given(video_tasks(), st.data())
def test_a_field_replaced_by_any_json(task, data):
    field = data.draw(st.sampled_from(sorted(task) + ["inputs", "settings", "safety"]))
    task[field] = data.draw(JSON)
    assert_same_verdict(task)


@AGREEMENT
@given(video_tasks(), st.data())
def test_an_input_or_setting_replaced_by_any_json(task, data):
    section = data.draw(st.sampled_from(["inputs", "settings", "safety"]))
    key = data.draw(st.sampled_from(["frameImages", "referenceImages", "referenceVideos", "audio", "shotType",
                                     "promptEnhancer", "checkContent", "mode", "frame"]))
    task.setdefault(section, {})[key] = data.draw(JSON | st.lists(JSON, max_size=2))
    assert_same_verdict(task)
