"""`pipeline-guard doctor --platform gitlab` against Prism serving GitLab's own OpenAPI extract.

Prism (tests/standins/gitlab_prism.py, with its documented overlay) validates each python-gitlab
request; its log proves what was sent. Static examples: project `acme/widget` answers with id 1,
default branch `main`, every boolean true (Prism's default); one environment `deploy`; one
protected environment `production` with `required_approval_count` 2. Settings GitLab's examples
cannot show (false flags, approval rules as GitLab returns them: lists) are unit-tested with
bodies shaped like the extract's schemas.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cliutil import cli
from standins.gitlab_prism import Prism
from test_doctor_github import by, prefer

from guard.doors.gitlab.doctor import NOT_READ, environments, project_settings, token_lifetime

REQUEST_VIOLATION = "Violation: request"


_SERVER: list[Prism] = []


@pytest.fixture(autouse=True)
def _shared_gitlab(gitlab_prism: Prism) -> None:
    _SERVER[:] = [gitlab_prism]  # one GitLab Prism per run (tests/conftest.py)


def gitlab() -> Prism:
    return _SERVER[0]


def doctor(*args: str, token: str = "glpat-test") -> tuple[int, str, str]:
    r = cli(
        ["doctor", "--platform", "gitlab", "--repo", "acme/widget", "--api-url", gitlab().url, *args],
        env={"PIPELINE_GUARD_GITLAB_TOKEN": token},
    )
    return r.exit_code, r.stdout, r.stderr


def results(*args: str) -> tuple[int, list[dict[str, Any]]]:
    code, out, err = doctor("--format", "json", *args)
    assert code in (0, 1), err
    return code, json.loads(out)["results"]


def sent(log: str) -> list[str]:
    return [
        " ".join(line.split("[HTTP SERVER]", 1)[1].split()[:2])
        for line in log.splitlines()
        if "[HTTP SERVER]" in line and "Request received" in line
    ]


def test_every_request_satisfies_gitlabs_contract_and_each_check_reports() -> None:
    mark = gitlab().mark()
    code, found = results("--environment", "deploy", "--environment", "production")
    log = gitlab().read_since(mark)
    assert code == 1
    assert sent(log) == [
        "get /api/v4/projects/acme%2Fwidget",
        "get /api/v4/projects/1/environments",
        "get /api/v4/projects/1/protected_environments",
    ]
    assert REQUEST_VIOLATION not in log
    assert by(found, "pipeline-must-succeed")["status"] == "ok"
    for check in ("skipped-pipeline", "job-token-push", "trigger-approves-deployment"):
        assert by(found, check)["status"] == "warn", check
    for check in ("protected-branch", "approval-settings"):
        assert by(found, check)["status"] == "could-not-verify"
        assert by(found, check)["message"] == NOT_READ
    assert by(found, "protected-branch")["subject"] == "branch main"
    assert by(found, "environment-protected", "environment deploy") == {
        "check": "environment-protected",
        "status": "warn",
        "subject": "environment deploy",
        "message": "not protected: anyone who can run a pipeline (an agent's job too) deploys to it",
        "fix": "protect 'deploy' (Settings > CI/CD > Protected environments) with required approvals",
    }
    assert by(found, "environment-exists", "environment deploy")["status"] == "ok"
    assert by(found, "environment-exists", "environment production")["status"] == "warn"
    assert by(found, "token-lifetime")["status"] == "warn"


def test_unreadable_protected_environments_could_not_be_verified() -> None:
    mark = gitlab().mark()
    with prefer("/protected_environments", "code=404"):
        code, found = results()
    assert code == 1
    assert "Responding with the requested status code 404" in gitlab().read_since(mark)
    r = by(found, "environment-protected")
    assert r["status"] == "could-not-verify"
    assert r["message"].startswith(
        "could not verify: needs read_api scope and the Maintainer role "
        "(protected environments: GitLab Premium) (HTTP 404"
    )
    assert not [x for x in found if x["check"] == "environment-approvals"]  # nothing claimed fine


def test_an_unknown_project_is_a_usage_error() -> None:
    with prefer("/projects/acme%2Fwidget", "code=404"):
        code, out, err = doctor()
    assert code == 2 and out == ""
    assert err.startswith("pipeline-guard: error: --repo: project acme/widget not found or not visible")


def test_project_flags_false_or_missing() -> None:
    good = {
        "only_allow_merge_if_pipeline_succeeds": True,
        "allow_merge_on_skipped_pipeline": False,
        "ci_push_repository_for_job_token_allowed": False,
        "allow_pipeline_trigger_approve_deployment": False,
    }
    assert [r.status for r in project_settings(good)] == ["ok"] * 4
    bad = project_settings({**good, "only_allow_merge_if_pipeline_succeeds": False})
    assert bad[0].status == "warn"
    assert bad[0].fix == "tick Settings > Merge requests > 'Pipelines must succeed'"
    hidden = project_settings({})  # fields GitLab omits for a role that may not see them
    assert [r.status for r in hidden] == ["could-not-verify"] * 4
    assert hidden[0].message == (
        "could not verify: needs read_api scope and the Maintainer role on the project "
        "(the API did not return only_allow_merge_if_pipeline_succeeds)"
    )


@pytest.mark.parametrize(
    ("protected", "status"),
    [
        ({"name": "prod", "required_approval_count": 0, "approval_rules": []}, "warn"),
        ({"name": "prod", "required_approval_count": 1, "approval_rules": []}, "ok"),
        # GitLab returns lists of rules; the extract declares one object: both are read
        ({"name": "prod", "approval_rules": [{"access_level": 40, "required_approvals": 2}]}, "ok"),
        ({"name": "prod", "approval_rules": {"group_id": 9, "required_approvals": 1}}, "ok"),
        ({"name": "prod", "approval_rules": [{"user_id": 3, "required_approvals": 0}]}, "warn"),
    ],
)
def test_protected_environment_approvals(protected: dict[str, Any], status: str) -> None:
    (r,) = environments([{"id": 1, "name": "prod"}], [protected], ())
    assert (r.check, r.status) == ("environment-approvals", status)


@pytest.mark.parametrize(
    ("token", "var", "status"),
    [
        ("glpat-x", "PIPELINE_GUARD_GITLAB_TOKEN", "warn"),
        ("glcbt-x", "PIPELINE_GUARD_GITLAB_TOKEN", "ok"),
        ("anything", "CI_JOB_TOKEN", "ok"),
        ("opaque", "PIPELINE_GUARD_GITLAB_TOKEN", "could-not-verify"),
    ],
)
def test_token_kinds(token: str, var: str, status: str) -> None:
    assert token_lifetime(token, var).status == status
