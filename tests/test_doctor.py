"""The platform-neutral part of `doctor`: exit codes, rendering, environments named by CI files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.doctor import ok, referenced_environments, render_json, render_text, unverified, warn
from guard.errors import UsageError


def test_exit_code_is_0_only_when_everything_is_ok() -> None:
    fine = [ok("a", "fine")]
    doc = json.loads(render_json(fine, "github", "acme/widget"))
    assert doc["exit_code"] == 0
    assert json.loads(render_json([*fine, unverified("b", "X: read")], "github", "o/r"))["exit_code"] == 1
    assert json.loads(render_json([*fine, warn("c", "bad", "fix it")], "github", "o/r"))["exit_code"] == 1


def test_could_not_verify_names_what_is_needed_and_never_says_ok() -> None:
    r = unverified("workflow-token", "Administration: read", "HTTP 403")
    assert (r.status, r.message) == (
        "could-not-verify",
        "could not verify: needs Administration: read (HTTP 403)",
    )
    assert r.fix == "re-run with a token that has Administration: read"


def test_text_escapes_platform_names() -> None:
    out = render_text(
        [warn("environment-exists", "missing", "create it", "environment a\x1b[2Jb\nc")], "gitlab", "g/p"
    )
    assert "\x1b" not in out and "environment a\\x1b[2Jb\\nc" in out
    assert out.splitlines()[-1] == "0 ok, 1 warn, 0 could-not-verify"


def test_environments_named_by_workflows_and_gitlab_ci(tmp_path: Path) -> None:
    wf = tmp_path / "deploy.yml"
    wf.write_text(
        "on: push\njobs:\n"
        "  a: {runs-on: x, environment: production, steps: []}\n"
        "  b: {runs-on: x, environment: {name: staging, url: 'https://x'}, steps: []}\n"
        "  c: {runs-on: x, environment: '${{ inputs.env }}', steps: []}\n"  # an expression: unknowable
        "  d: {runs-on: x, steps: []}\n"
    )
    gl = tmp_path / ".gitlab-ci.yml"
    gl.write_text(
        "stages: [deploy]\nvariables: {A: b}\n"
        "deploy: {script: [x], environment: {name: production}}\n"
        "review: {script: [x], environment: review/$CI_COMMIT_REF_SLUG}\n"
        "canary: {script: [x], environment: canary}\n"
    )
    assert referenced_environments([str(wf), str(gl)]) == ("production", "staging", "canary")


def test_an_unreadable_ci_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"missing\.yml: cannot read"):
        referenced_environments([str(tmp_path / "missing.yml")])
