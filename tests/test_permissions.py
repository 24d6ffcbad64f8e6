"""Permission rules: policy wiring, rule filtering, attribution, caching and hostile input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from gitutil import CLAUDE_TRAILER, Repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_permissions_helpers import POLICY, cases, dict_change, findings, triples

from guard.checks import permissions, run_checks
from guard.checks.changeio import per_change
from guard.checks.interface import CheckContext
from guard.checks.permissions import unpinned_action
from guard.git.repo import GitRepo
from guard.model import Change, FileChange, Identity

WF = ".github/workflows/ci.yml"
READ = (
    "on: push\npermissions:\n  contents: read\n"
    "jobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: x\n"
)
WRITE = READ.replace("contents: read", "contents: write")
UNPINNED = READ.replace("      - run: x\n", "      - uses: acme/thing@v1\n")


def with_identity(change: Change, kind: str, vendor: str | None = None) -> Change:
    for c in change.commits:
        c.identity = Identity(kind, vendor)  # type: ignore[arg-type]
    return change


def verdicts(change: Change) -> set[tuple[str, str, str | None]]:
    return {
        (f.rule, f.action, f.category)
        for f in run_checks(CheckContext(change, POLICY))
        if f.kind == "permission"
    }


@pytest.mark.parametrize(
    ("before", "after", "want"),
    [
        pytest.param(
            {WF: READ},
            {WF: WRITE.replace("      - run: x\n", "      - uses: acme/x@v1\n")},
            {
                ("agent-permission-escalation", "step-up", "workflow-permission"),
                ("agent-unpinned-action", "warn", "unpinned-action"),
            },
            id="workflow",
        ),
        pytest.param(
            {".claude/settings.json": '{"permissions": {"allow": []}}', "CLAUDE.md": "# a\n"},
            {
                ".claude/settings.json": '{"permissions": {"allow": ["Bash(*)"]}}',
                "CLAUDE.md": "# a\nrun anything\n",
            },
            {
                ("agent-permission-escalation", "step-up", "agent-tool-permission"),
                ("agent-unpinned-action", "warn", "agent-instructions"),
            },
            id="agent-tool-config",
        ),
    ],
)
def test_default_policy_agent_escalation_steps_up_and_the_rest_warns(
    before: dict[str, str], after: dict[str, str], want: set[tuple[str, str, str]]
) -> None:
    change = with_identity(dict_change(before, after), "agent", "claude-code")
    assert verdicts(change) == want


def test_default_policy_humans_only_warn() -> None:
    change = with_identity(dict_change({WF: READ}, {WF: WRITE}), "human")
    assert verdicts(change) == {("permission-escalation", "warn", "workflow-permission")}


def test_rule_categories_and_exclusions() -> None:
    change = dict_change({WF: READ}, {WF: UNPINNED.replace("contents: read", "contents: write")})
    assert {f.category for f in findings(change, "permission")} == {"workflow-permission", "unpinned-action"}
    assert {f.category for f in findings(change, "permission", categories=["unpinned-action"])} == {
        "unpinned-action"
    }
    assert {f.category for f in findings(change, "permission", exclude_categories=["unpinned-action"])} == {
        "workflow-permission"
    }


def test_findings_name_only_the_commits_that_touched_the_file(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "r")
    base = repo.commit("base", files={WF: READ, "README.md": "a\n"})
    agent = repo.commit(f"widen\n\n{CLAUDE_TRAILER}", files={WF: WRITE})
    repo.commit("docs", files={"README.md": "b\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    (f,) = findings(change, "permission")
    assert (f.category, f.path, f.line, f.commits) == ("workflow-permission", WF, 3, (agent,))
    assert f.id and f.id.startswith("permission:workflow-permission:")


def test_parsing_is_shared_across_rules_and_released_with_the_change() -> None:
    change = dict_change({WF: READ}, {WF: WRITE})
    first = permissions.candidates(change)
    assert permissions.candidates(change) is first  # one parse for the agent rule, the human rule, ...
    assert change.derived["permission"] is first  # kept on the change: nothing outlives the run
    other = dict_change({WF: READ}, {WF: WRITE})
    assert "permission" not in other.derived and permissions.candidates(other) is not first
    assert per_change(dict_change({}, {}), "x", lambda: 1) == 1


def test_no_secret_values_in_messages() -> None:
    case = next(c for c in cases() if c["name"] == "mcp-new-server")
    fs = findings(dict_change(case["before"], case["after"]))
    assert fs and all("ghp_" not in f.message and "token=" not in f.message for f in fs)
    assert "url https://api.githubcopilot.com/mcp/" in fs[0].message


def test_unreadable_or_missing_blobs_are_findings_not_passes() -> None:
    change = dict_change({WF: READ}, {WF: WRITE})
    change.blobs = None
    assert triples(findings(change, "permission")) == {("unparseable", WF, 1)}


def test_oversized_workflow_is_unparseable_quickly() -> None:
    big = "on: push\njobs:\n" + "".join(f"  j{i}:\n    runs-on: ubuntu-latest\n" for i in range(40_000))
    start = time.perf_counter()
    fs = findings(dict_change({}, {WF: big}), "permission")
    assert time.perf_counter() - start < 2
    assert [f.category for f in fs] == ["unparseable"]
    assert "larger than" in fs[0].message


def test_non_mapping_yaml_is_no_crash() -> None:
    for text in (
        "- just\n- a list\n",
        "42\n",
        "",
        "jobs: [1, 2]\n",
        "on: push\njobs:\n  a: null\n  b: [x]\n",
    ):
        assert findings(dict_change({WF: READ}, {WF: text}), "permission") == []


@pytest.mark.parametrize(
    ("uses", "name"),
    [
        ("acme/deploy@v2", "acme/deploy"),
        ("acme/deploy@main", "acme/deploy"),
        ("acme/deploy/sub@1.0", "acme/deploy/sub"),
        ("acme/deploy@0123456789abcdef0123456789abcdef01234567", None),
        ("acme/deploy@0123456", "acme/deploy"),  # a short SHA is not a pin
        ("actions/checkout@v4", None),  # GitHub's own
        ("./.github/actions/setup", None),
        ("docker://alpine:3.19", "docker://alpine"),
        ("docker://alpine@sha256:" + "a" * 64, None),
    ],
)
def test_unpinned_action(uses: str, name: str | None) -> None:
    assert unpinned_action(uses) == name


def test_gitlab_wildcard_include_is_followed() -> None:
    root = "include:\n  - local: '/ci/*.yml'\n"
    job = "deploy:\n  script: [./d.sh]\n  environment: production\n"
    change = dict_change(
        {".gitlab-ci.yml": "test:\n  script: [x]\n"}, {".gitlab-ci.yml": root, "ci/deploy.yml": job}
    )
    assert triples(findings(change)) == {
        ("gitlab-environment", "ci/deploy.yml", 3),
        ("deploy-step", "ci/deploy.yml", 3),
    }


def test_template_change_is_reported_where_it_was_made() -> None:
    before = ".deploy:\n  script: [./d.sh]\n\nweb:\n  extends: .deploy\n"
    after = ".deploy:\n  script: [./d.sh]\n  environment: production\n\nweb:\n  extends: .deploy\n"
    change = dict_change({".gitlab-ci.yml": before}, {".gitlab-ci.yml": after})
    assert ("gitlab-environment", ".gitlab-ci.yml", 3) in triples(findings(change, "permission"))


def test_deleted_workflow_and_submodule_are_quiet() -> None:
    assert findings(dict_change({WF: WRITE}, {})) == []
    change = dict_change({}, {})
    change.files.append(FileChange(".claude", "added", new_mode="160000", new_blob="e" * 40))
    assert findings(change) == []


KEYS = st.sampled_from(
    [
        "on",
        "permissions",
        "jobs",
        "steps",
        "uses",
        "run",
        "with",
        "runs-on",
        "environment",
        "secrets",
        "if",
        "rules",
        "only",
        "script",
        "extends",
        "include",
        "id_tokens",
        "release",
        "when",
        "image",
        "name",
        "tags",
        "mcpServers",
        "hooks",
        "allow",
        "deny",
        "command",
        "args",
        "url",
        "version",
        "runs",
        "local",
        "push",
    ]
)
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["write", "read", "write-all", "x@v1"])
)
SHAPES = st.recursive(
    LEAVES, lambda c: st.lists(c, max_size=3) | st.dictionaries(KEYS, c, max_size=4), max_leaves=25
)
PATHS = [
    WF,
    ".gitlab-ci.yml",
    "action.yml",
    ".claude/settings.json",
    ".mcp.json",
    "pyproject.toml",
    "package.json",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SHAPES, SHAPES, st.sampled_from(PATHS))
def test_any_structure_is_judged_without_crashing(before: object, after: object, path: str) -> None:
    """Odd but valid YAML/JSON in every CI, agent and manifest format: findings or nothing, never a crash."""
    dump = json.dumps if path.endswith(".json") else yaml.safe_dump
    change = dict_change({path: dump(before)}, {path: dump(after)})
    for f in findings(change):
        assert f.kind in ("permission", "release") and f.category and f.path in (path, None)
