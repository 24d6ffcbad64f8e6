"""`check --deploy ENV` in GitLab CI: the range from GitLab's deployment record, approvals from the
merged MRs that brought each agent commit in (bound to the merged head by GitLab's clock).

Histories are real repositories with merge commits. Where each API body comes from:
- Prism serving GitLab's OpenAPI extract (tests/data/gitlab, GitLab 19.5) validates the reads the
  deploy gate sends that the extract covers: deployments (with its environment/status/order_by/
  sort query), MR, MR commits, MR approvals, members (`test_deploy_reads_satisfy_gitlabs_contract`).
- `GET /projects/:id/repository/commits/:sha/merge_requests` is NOT in the extract: its body is the
  one go-gitlab's commits_test.go (TestCommitsService_ListMergeRequestsByCommit) serves, read from
  the Debian package golang-github-xanzy-go-gitlab-dev that .ci/run unpacks; deployments likewise
  from deployments_test.go (TestDeploymentsService_ListProjectDeployments); the MR from the recorded
  testdata/get_merge_request.json. Scenario fields (sha, iid, state, users, times) are set per test.
- MR approvals follow the extract's entity (approved_by[] of {user, approved_at}).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import responses
from cliutil import cli
from conftest import node_modules
from gitutil import CLAUDE_TRAILER, COPILOT, Repo
from standins.gitlab_prism import Prism, start_prism
from test_gitlab_recorded import MEMBER, go_gitlab

from guard.doors.gitlab.api import GitLabAPI
from guard.doors.gitlab.deploy import Vouched, _mr_approvals, last_success, vouch
from guard.model import Change
from guard.policy import builtin_policy

URL = "https://gitlab.example.com"
API = f"{URL}/api/v4/projects/acme%2Fwidget"
PIPELINE_AT = "2024-05-01T10:00:00Z"
BEFORE, AFTER = "2024-05-01T09:00:00Z", "2024-05-01T11:00:00Z"
AGENT_MSG = f"agent work\n\n{CLAUDE_TRAILER}\n"
PEOPLE = {"alice": (10, 40), "bob": (11, 30), "carol": (12, 30), "root": (1, 50)}


def go_body(test_file: str, route: str) -> Any:
    """The JSON a go-gitlab unit test serves for `route` (the backtick string after its handler)."""
    text = (go_gitlab() / test_file).read_text(encoding="utf-8")
    at = text.index(f'mux.HandleFunc("{route}"')
    m = re.compile(r"fmt\.Fprint(?:f|ln)?\(w, `(.*?)`", re.S).search(text, at)
    assert m is not None, f"no body for {route} in {test_file}"
    return json.loads(m.group(1))


@lru_cache(maxsize=1)
def recorded() -> dict[str, Any]:
    return {
        "mrs": go_body("commits_test.go", "/api/v4/projects/1/repository/commits/master/merge_requests"),
        "deployments": go_body("deployments_test.go", "/api/v4/projects/1/deployments"),
        "mr": json.loads((go_gitlab() / "testdata/get_merge_request.json").read_text()),
        "commit": json.loads((go_gitlab() / "testdata/get_commit.json").read_text()),
    }


def user(name: str) -> dict[str, Any]:
    return {"id": PEOPLE[name][0], "username": name, "name": name.title(), "state": "active"}


def merge_mr(
    repo: Repo, branch: str, message: str, files: dict[str, str | bytes], **kw: Any
) -> tuple[str, str]:
    return repo.merge_branch(branch, message, files, f"Merge branch '{branch}'", **kw)


class GitLab:
    """The scenario's GitLab, served through `responses` with the recorded bodies above."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        for name, (uid, level) in PEOPLE.items():
            rsps.get(
                f"{API}/members/all/{uid}",
                json={**MEMBER, "id": uid, "username": name, "access_level": level},
            )

    def deployed(self, sha: str, by: str = "root") -> None:
        dep = copy.deepcopy(recorded()["deployments"][0])
        dep.update(sha=sha, status="success", user=user(by) if by in PEOPLE else {"id": 99, "username": by})
        self.rsps.get(f"{API}/deployments", json=[dep])

    def mr(self, iid: int, commit: str, merge: str, approvals: list[tuple[str, str]]) -> None:
        listed = copy.deepcopy(recorded()["mrs"][0])
        listed.update(iid=iid, state="merged", sha=commit, merge_commit_sha=merge)
        self.rsps.get(f"{API}/repository/commits/{commit}/merge_requests", json=[listed])
        self.rsps.get(f"{API}/merge_requests/{iid}/commits", json=[{**recorded()["commit"], "id": commit}])
        body = copy.deepcopy(recorded()["mr"])
        body.update(
            iid=iid,
            state="merged",
            sha=commit,
            author=user("alice"),
            head_pipeline={"id": 90 + iid, "sha": commit, "created_at": PIPELINE_AT},
        )
        self.rsps.get(f"{API}/merge_requests/{iid}", json=body)
        approved = [{"user": user(n), "approved_at": at} for n, at in approvals]
        self.rsps.get(
            f"{API}/merge_requests/{iid}/approvals",
            json={"approved": bool(approved), "approved_by": approved},
        )


def history(repo: Repo) -> tuple[str, str, str, str]:
    """(deployed, agent commit of !11, agent commit of !12, merge commit of !12)."""
    deployed = repo.head()
    a1, _ = merge_mr(repo, "agent-one", AGENT_MSG, {"one.txt": "1\n"})
    a2, m2 = merge_mr(repo, "copilot-two", "Initial plan", {"two.txt": "2\n"}, author=COPILOT)
    repo.commit("human fix", files={"README.md": "fixed\n"})
    return deployed, a1, a2, m2


def serve(rsps: responses.RequestsMock, repo: Repo, carol_at: str) -> tuple[str, str, str]:
    deployed, a1, a2, m2 = history(repo)
    gl = GitLab(rsps)
    gl.deployed(deployed)
    gl.mr(11, a1, repo.head("HEAD~2"), [("bob", AFTER)])
    gl.mr(12, a2, m2, [("carol", carol_at)])
    return deployed, a1, a2


def job(repo: Repo, tmp: Path, *args: str, **env: str) -> tuple[int, dict[str, Any], str]:
    base = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "push",
        "CI_COMMIT_SHA": repo.head(),
        "CI_COMMIT_BRANCH": "main",
        "CI_DEFAULT_BRANCH": "main",
        "CI_PROJECT_PATH": "acme/widget",
        "CI_SERVER_URL": URL,
        "GITLAB_USER_LOGIN": "alice",
        "PIPELINE_GUARD_GITLAB_TOKEN": "tok",
    }
    base.update(env)
    out = tmp / "report.json"
    out.unlink(missing_ok=True)
    argv = [
        "check",
        "--deploy",
        "production",
        "--repo",
        str(repo.path),
        "--format",
        "json",
        "-o",
        str(out),
        *args,
    ]
    r = cli(argv, env={k: v for k, v in base.items() if v})
    return r.exit_code, (json.loads(out.read_text()) if out.exists() else {}), r.stderr


def unapproved(data: dict[str, Any]) -> list[str]:
    return [f["commit"] for f in data["findings"] if f["category"] == "unapproved-agent-deploy"]


def test_an_approval_from_before_the_merged_head_does_not_vouch(repo: Repo, tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        deployed, a1, a2 = serve(rsps, repo, carol_at=BEFORE)
        code, data, err = job(repo, tmp_path)
        asked = [c.request.url for c in rsps.calls]
    assert code == 1, err
    assert unapproved(data) == [a2] and a1 not in unapproved(data)
    notes = " ".join(data["reasons"])
    assert f"last successful deployment {deployed[:12]} (deployment 1 by root)" in notes
    assert "carol's approval is not bound to the merged head" in notes and "before the pipeline" in notes
    (listing,) = [u for u in asked if "/deployments?" in u]
    assert "environment=production" in listing and "status=success" in listing and "sort=desc" in listing


def test_approvals_after_each_merged_head_let_the_deploy_pass(repo: Repo, tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(rsps, repo, carol_at=AFTER)
        code, data, err = job(repo, tmp_path)
    assert code == 0, (err, data.get("findings"))
    assert data["decision"] == "allow"


def test_a_pipeline_started_by_a_project_bot_fails(repo: Repo, tmp_path: Path) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve(rsps, repo, carol_at=AFTER)
        code, data, _ = job(repo, tmp_path, GITLAB_USER_LOGIN="project_42_bot_3f2a")
    assert code == 1
    assert any(f["category"] == "agent-triggered-deploy" for f in data["findings"])


def test_no_token_judges_from_since_and_no_since_is_a_usage_error(repo: Repo, tmp_path: Path) -> None:
    deployed, a1, a2, _ = history(repo)
    code, data, err = job(repo, tmp_path, "--since", deployed, PIPELINE_GUARD_GITLAB_TOKEN="")
    assert code == 1, err
    assert sorted(unapproved(data)) == sorted([a1, a2])
    assert "every agent commit counts as unapproved" in " ".join(data["reasons"])
    code, _, err = job(repo, tmp_path, PIPELINE_GUARD_GITLAB_TOKEN="")
    assert code == 2 and "cannot read the deployments of production (no API token)" in err


# ----------------------------------------------------------------------------- the published contract


@lru_cache(maxsize=1)
def gitlab_prism() -> Prism:
    import atexit
    import tempfile

    server = start_prism(node_modules(), Path(tempfile.mkdtemp(prefix="pg-gl-prism-")))
    atexit.register(server.stop)
    return server


@pytest.fixture
def prism() -> Iterator[Prism]:
    yield gitlab_prism()


@pytest.mark.integration
def test_deploy_reads_satisfy_gitlabs_contract(prism: Prism, repo: Repo) -> None:
    api = GitLabAPI(prism.url, "tok", "acme/widget")
    mark = prism.mark()
    found, _ = last_success(api, "production", lambda *_: False)
    change = Change(door="gitlab", head=repo.head(), commits=[])
    got = vouch(api, change, ["8e0b45049b6253b8984cde9241830d2851168142"], builtin_policy())
    # The MR reads that follow a found MR, on Prism's static MR: commits, the MR, approvals, access.
    listed = list(api.project.mergerequests.get(14, lazy=True).commits())
    side = Vouched()
    _mr_approvals(api, 14, ("x",), builtin_policy(), side)
    log = prism.read_since(mark)
    assert listed and all(
        f"{w} /api/v4/projects/acme%2Fwidget/merge_requests/14{s}" in " ".join(log.split())
        for w, s in (("get", "/commits"), ("get", ""), ("get", "/approvals"))
    )
    # Request violations would name `request.`; GitLab's own example breaks its response schema.
    assert not [ln for ln in log.splitlines() if "✖  error" in ln and "Violation: request" in ln], log
    assert "Violation: response" in log  # the validator ran
    assert found is not None and len(found.sha) == 40
    asked = [ln for ln in log.splitlines() if "[HTTP SERVER]" in ln and "Request received" in ln]
    assert any("/deployments" in ln for ln in asked)
    # The extract has no commits/:sha/merge_requests: Prism says so, and the commit stays unapproved.
    assert any(
        "/repository/commits/8e0b45049b6253b8984cde9241830d2851168142/merge_requests" in ln for ln in asked
    )
    assert not got.approvals and "could not read the merge request" in " ".join(got.notes)
