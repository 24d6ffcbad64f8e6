"""The GitLab door's python-gitlab requests, validated by Prism serving GitLab's own OpenAPI extract.

Stand-in: Prism 5.14.2 (npm) on a free loopback port, started once for this module (session
scope), serving `tests/data/gitlab/openapi_v3.guard-subset.yaml` (GitLab 19.5, CC BY-SA 4.0,
provenance in its SOURCE.md) through the overlay in tests/standins/gitlab_overlay.py. The
overlay's deliberate deviations from GitLab's contract:

1. path parameters `oneOf: [string, integer]` -> `anyOf` (17 of them; Prism rejects numeric ids);
2. list-notes 200 is an array of notes (the Grape entity declares one object);
3. `approved_by` of MR approvals is an array (same quirk);
4. member `access_level` is an integer, example 40 (declared a string without example);
5. the MR `sha` example is a 40-hex id (declared `1234abcd`).

Prism logs `[HTTP SERVER] <method> <path>` for each request and a `[VALIDATOR] ✖ error` line for
each contract violation: the tests assert on those lines, so they prove what was sent and that
GitLab's contract accepts it. Static examples mean the MR is !14 by `admin`, head 8e0b4504...
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cliutil import cli
from gitutil import Repo, agent_widens_gitlab_ci
from standins.gitlab_prism import Prism

from guard.doors.gitlab.door import GitLabPrepared, prepare, publish
from guard.doors.interface import CheckOptions
from guard.engine import evaluate

MR_SHA = "8e0b45049b6253b8984cde9241830d2851168142"  # overlay 5
VIOLATION = "[VALIDATOR] ✖  error"


@pytest.fixture(scope="session")
def prism(gitlab_prism: Prism) -> Prism:
    return gitlab_prism  # shared with the doctor's tests: one GitLab Prism per run


def requests_in(log: str) -> list[str]:
    """`METHOD path` of every request Prism received, in order."""
    out = []
    for line in log.splitlines():
        if "[HTTP SERVER]" in line and "Request received" in line:
            words = line.split("[HTTP SERVER]", 1)[1].split()
            out.append(f"{words[0].upper()} {words[1]}")
    return out


@pytest.fixture
def mr_repo(repo: Repo) -> Repo:
    return agent_widens_gitlab_ci(repo, "agent/ci")


def mr_env(repo: Repo, prism: Prism, **over: str) -> dict[str, str]:
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": repo.head("main"),
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "agent/ci",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_SHA": repo.head(),
        "CI_DEFAULT_BRANCH": "main",
        "CI_PROJECT_PATH": "acme/widget",
        "CI_SERVER_URL": prism.url,
        "CI_PIPELINE_CREATED_AT": "2024-01-01T00:00:00Z",
        "CI_JOB_URL": "https://gitlab.example.com/acme/widget/-/jobs/1",
        "GITLAB_USER_LOGIN": "alice",
        "GITLAB_USER_ID": "2",
        "PIPELINE_GUARD_GITLAB_TOKEN": "test-token",
    }
    return {**env, **over}


def test_overlay_changes_are_the_documented_ones(prism: Prism) -> None:
    kinds = [line.split(" ", 1)[0] for line in prism.overlays]
    assert kinds.count("1") == 17
    assert kinds[17:] == ["2", "3", "4", "5"]


def test_prepare_reads_mr_author_and_approvals_by_project_path(prism: Prism, mr_repo: Repo) -> None:
    pos = prism.mark()
    prepared = prepare(CheckOptions(repo=str(mr_repo.path)), mr_env(mr_repo, prism))
    log = prism.read_since(pos)
    assert requests_in(log) == [
        # who started the head's pipelines: the extract holds no pipelines operation, so Prism
        # answers 404 and the door fails closed (test_gitlab_recorded.py reads real shapes)
        "GET /api/v4/projects/acme%2Fwidget/pipelines",
        "GET /api/v4/projects/acme%2Fwidget/merge_requests/7",
        "GET /api/v4/projects/acme%2Fwidget/merge_requests/7/approvals",
        "GET /api/v4/projects/acme%2Fwidget/members/all/1",
        "GET /api/v4/projects/acme%2Fwidget/merge_requests/7/notes",  # break-glass notes
    ]
    assert VIOLATION not in log
    assert any(a.role == "unknown-pusher" for a in prepared.change.actors)
    author = next(a for a in prepared.change.actors if a.role == "pr-author")
    assert (author.login, author.id, author.source, author.verified) == ("admin", "1", "gitlab-api", True)
    (appr,) = prepared.change.approvals
    assert appr.kind == "mr-approval" and appr.approver == "admin" and appr.permission == "maintain"
    # GitLab's MR head (the spec example) is not the judged commit: bound to that head, so stale.
    assert appr.head_sha == MR_SHA != prepared.change.head


def test_publish_posts_note_and_failed_status_within_contract(prism: Prism, mr_repo: Repo) -> None:
    env = mr_env(mr_repo, prism)
    opts = CheckOptions(repo=str(mr_repo.path))
    prepared = prepare(opts, env)
    assert isinstance(prepared, GitLabPrepared)
    decision = evaluate(prepared.change, prepared.trusted.policy, "enforce")
    assert decision.verdict == "step-up"
    pos = prism.mark()
    notes = publish(decision, opts, prepared)
    log = prism.read_since(pos)
    head = mr_repo.head()
    assert requests_in(log) == [
        "GET /api/v4/projects/acme%2Fwidget/merge_requests/7/notes",  # Prism logs paths only
        "POST /api/v4/projects/acme%2Fwidget/merge_requests/7/notes",
        f"POST /api/v4/projects/acme%2Fwidget/statuses/{head}",
    ]
    assert VIOLATION not in log
    assert notes == ["MR note created", "commit status failed"]


def test_validator_is_live_for_status_bodies(prism: Prism) -> None:
    """The positive tests mean something only if Prism rejects a body outside GitLab's contract."""
    import gitlab

    gl = gitlab.Gitlab(prism.url, private_token="t")
    pos = prism.mark()
    with pytest.raises(gitlab.exceptions.GitlabCreateError):
        gl.projects.get("acme/widget", lazy=True).commits.get("a" * 40, lazy=True).statuses.create(
            {"state": "blocked", "name": "pipeline-guard"}
        )
    assert "request.body.state" in prism.read_since(pos)


def test_cli_in_gitlab_ci_with_api(prism: Prism, mr_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in mr_env(mr_repo, prism).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(mr_repo.path)
    result = cli(["check", "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["decision"] == "step-up"
    assert any("stale" in r["rejected_because"] for r in data["step_up"]["rejected"])
    assert "MR note created" in result.stderr and "commit status failed" in result.stderr


def test_unreachable_api_decides_from_git(mr_repo: Repo, tmp_path: Path) -> None:
    from standins.gitlab_prism import free_port

    class Closed:
        url = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    env = mr_env(mr_repo, Closed())  # type: ignore[arg-type]
    opts = CheckOptions(repo=str(mr_repo.path))
    prepared = prepare(opts, env)
    assert any("GitLab API unavailable" in n for n in prepared.notes)
    assert prepared.change.approvals == []
    decision = evaluate(prepared.change, prepared.trusted.policy, "enforce")
    assert decision.exit_code == 1
    out = publish(decision, opts, prepared)
    assert [n.split(" (")[0] for n in out] == ["not posted: MR note", "not posted: commit status"]
