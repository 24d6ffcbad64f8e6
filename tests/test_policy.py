"""Policy loading: schema, extends, errors that name file/line/field, mode rules; property-based."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from guard.errors import UsageError
from guard.policy import build_policy, builtin_policy, effective_mode, load_policy_file, policy_schema


def test_builtin_default_has_the_contracted_rules() -> None:
    pol = builtin_policy()
    by_id = {r.id: r for r in pol.rules}
    assert by_id["secret-in-added-line"].action == "block"
    assert by_id["secret-in-added-line"].actors == ["any"]
    assert by_id["agent-ci-config"].action == "step-up"
    assert by_id["agent-ci-config"].actors == ["agent", "unknown"]  # an undeclared bot is gated too
    assert ".github/workflows/**" in pol.path_groups["ci"]
    assert pol.mode == "enforce" and pol.allow_weaker_mode is False


def test_extends_default_and_override_rule_by_id() -> None:
    text = (
        "rules:\n"
        "  - id: agent-ci-config\n    enabled: false\n"
        "  - id: docs\n    kind: path\n    action: warn\n    actors: [any]\n    match: {paths: ['docs/**']}\n"
    )
    pol = build_policy(text, "p.yml")
    ids = {r.id for r in pol.active_rules()}
    assert "agent-ci-config" not in ids
    assert "docs" in ids and "secret-in-added-line" in ids


def test_extends_empty_starts_from_nothing() -> None:
    pol = build_policy("extends: []\nrules: []\n", "p.yml")
    assert pol.rules == []


def test_extends_relative_file_through_reader() -> None:
    files = {"base.yml": "extends: []\npath_groups: {x: ['x/**']}\n"}
    pol = build_policy(
        "extends: [base.yml]\nrules:\n  - {id: r, kind: path, action: block, match: {groups: [x]}}\n",
        "p.yml",
        files.get,
    )
    assert pol.path_groups == {"x": ["x/**"]}


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("rules:\n  - id: x\n    kind: pathz\n    action: block\n", "p.yml:3: rules.0.kind"),
        (
            "rules:\n  - id: x\n    kind: path\n    action: block\n    match: {pathz: [a]}\n",
            "p.yml:5: rules.0.match.pathz",
        ),
        ("rules:\n  - id: x\n    kind: path\n    action: deny\n", "p.yml:4: rules.0.action"),
        ("mode: lenient\n", "p.yml:1: mode"),
        ("rules: [\n", "p.yml:2: invalid YAML"),
        ("- just\n- a list\n", "p.yml:1: (top level): a policy must be a mapping"),
        ("extends: [builtin:nope]\n", "unknown built-in policy pack builtin:nope"),
        ("extends: [missing.yml]\n", "p.yml:1: extends: cannot read 'missing.yml'"),
        (
            "rules:\n  - {id: a, kind: path, action: warn}\n  - {id: a, kind: path, action: warn}\n",
            "duplicate rule id",
        ),
    ],
)
def test_invalid_policies_get_one_line_errors(text: str, expect: str) -> None:
    with pytest.raises(UsageError) as e:
        build_policy(text, "p.yml", lambda _name: None)
    msg = str(e.value)
    assert expect in msg
    assert "\n" not in msg and "Traceback" not in msg


def test_unknown_group_is_reported_with_rule_id() -> None:
    with pytest.raises(UsageError, match=r"unknown path group 'nope' \(rule x\)"):
        build_policy("rules:\n  - {id: x, kind: path, action: warn, match: {groups: [nope]}}\n", "p.yml")


def test_load_policy_file_missing(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read policy"):
        load_policy_file(tmp_path / "nope.yml")


def test_mode_only_gets_stricter_unless_allowed() -> None:
    enforce = builtin_policy()
    assert effective_mode(enforce, "advisory")[0] == "enforce"
    assert effective_mode(enforce, "advisory")[1] is not None
    advisory = build_policy("mode: advisory\n", "p.yml")
    assert effective_mode(advisory, "enforce") == ("enforce", None)
    lenient = build_policy("allow_weaker_mode: true\n", "p.yml")
    assert effective_mode(lenient, "advisory") == ("advisory", None)


def test_schema_is_json_schema() -> None:
    schema = policy_schema()
    assert schema["type"] == "object"
    assert "rules" in schema["properties"]


def test_digest_changes_with_content() -> None:
    a = builtin_policy()
    b = build_policy("mode: advisory\n", "p.yml")
    assert a.digest() != b.digest() and a.digest() == builtin_policy().digest()


# ----- property-based: arbitrary YAML never escapes as anything but UsageError or a Policy -----

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(["version", "extends", "mode", "rules", "path_groups", "step_up", "identity", "x"])
rule = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=12),
        "kind": st.sampled_from(["path", "secret", "permission", "release", "identity", "bogus"]),
        "action": st.sampled_from(["block", "step-up", "warn", "nope"]),
        "actors": st.lists(st.sampled_from(["agent", "human", "any", "robot"]), max_size=3),
        "match": values,
    },
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(keys, st.one_of(values, st.lists(rule, max_size=3)), max_size=5))
def test_policy_loader_never_crashes_on_structured_input(data: dict[str, object]) -> None:
    text = yaml.safe_dump(data)
    try:
        pol = build_policy(text, "fuzz.yml", lambda _n: None)
    except UsageError as e:
        assert str(e).startswith(("fuzz.yml", "unknown built-in")) and "\n" not in str(e)
    else:
        assert pol.version == 1


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_policy_loader_never_crashes_on_arbitrary_text(text: str) -> None:
    try:
        build_policy(text, "fuzz.yml", lambda _n: None)
    except UsageError as e:
        assert "\n" not in str(e)
