"""Fuzzing the event and pipeline readers: hostile payloads and variables end in a UsageError
(exit 2, one line) or a range, never another exception. Payloads start from GitHub's own
examples (@octokit/webhooks-examples) with fields replaced or removed at random."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standins.github import example

from guard.doors.github.event import event_range, read_context
from guard.doors.gitlab.ci import read_pipeline
from guard.errors import UsageError

EVENTS = [
    ("pull_request", "opened"),
    ("pull_request_review", "submitted"),
    ("push", None),
    ("merge_group", "checks_requested"),
    ("workflow_run", "completed"),
    ("workflow_dispatch", None),
]
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30)),
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=8), c, max_size=3)),
    max_leaves=8,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(payload: dict[str, Any], picks: list[tuple[int, Any, bool]]) -> dict[str, Any]:
    data = copy.deepcopy(payload)
    for index, value, delete in picks:
        paths = _paths(data)
        if not paths:
            break
        path = paths[index % len(paths)]
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        if delete and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = value
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(EVENTS),
    st.lists(st.tuples(st.integers(min_value=0), junk, st.booleans()), min_size=1, max_size=4),
)
def test_github_event_readers_never_crash(
    event: tuple[str, str | None], picks: list[tuple[int, Any, bool]]
) -> None:
    payload = _mutate(example(event[0], event[1]), picks)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "event.json"
        path.write_text(json.dumps(payload))
        env = {"GITHUB_EVENT_NAME": event[0], "GITHUB_EVENT_PATH": str(path), "GITHUB_SHA": "a" * 40}
        try:
            event_range(read_context(env))
        except UsageError as e:
            assert "\n" not in str(e)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_github_event_file_of_arbitrary_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "event.json"
        path.write_bytes(data)
        try:
            event_range(read_context({"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(path)}))
        except UsageError as e:
            assert "\n" not in str(e)


GITLAB_KEYS = [
    "CI_PIPELINE_SOURCE", "CI_COMMIT_SHA", "CI_COMMIT_BEFORE_SHA", "CI_COMMIT_TAG", "CI_COMMIT_BRANCH",
    "CI_MERGE_REQUEST_IID", "CI_MERGE_REQUEST_DIFF_BASE_SHA", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "CI_DEFAULT_BRANCH",
    "GITLAB_USER_LOGIN", "GITLAB_USER_ID", "CI_PROJECT_PATH", "CI_SERVER_URL", "CI_API_V4_URL",
]  # fmt: skip
values = st.one_of(
    st.text(max_size=50),
    st.sampled_from(["0" * 40, "a" * 40, "merge_request_event", "push", "7", "-1", "main", ""]),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(GITLAB_KEYS), values, max_size=len(GITLAB_KEYS)))
def test_gitlab_pipeline_reader_never_crashes(env: dict[str, str]) -> None:
    try:
        read_pipeline(env)
    except UsageError as e:
        assert "\n" not in str(e)
