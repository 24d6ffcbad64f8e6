"""`check --deploy ENV` in GitHub Actions: the range from GitHub's deployment record, approvals from
the merged pull requests that brought each agent commit in.

Histories are real repositories (merge commits, squash-free). The API:
- Prism serving GitHub's OpenAPI description validates every request the deploy reads send
  (`test_every_deploy_read_satisfies_githubs_contract`); its static examples cannot name our SHAs,
- so the scenarios replay bodies with `responses`: each body is GitHub's own example for the
  operation (`api_example`, from @octokit/openapi) with only the SHAs, numbers, logins and states
  of the scenario set.
- The event is a real `deployment` example from @octokit/webhooks-examples.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import responses
from cliutil import cli
from gitutil import CLAUDE_TRAILER, COPILOT, Repo, git
from standins.github import actions_env, api_example, example
from standins.prism import prism, recording

from guard.doors.github.deploy import last_success, vouch
from guard.model import Change

API = "https://api.github.com"
REPO = "acme/widget"
AGENT_MSG = f"agent work\n\n{CLAUDE_TRAILER}\n"


def merge_pr(
    repo: Repo, branch: str, message: str, files: dict[str, str | bytes], **kw: Any
) -> tuple[str, str]:
    return repo.merge_branch(branch, message, files, f"Merge {branch}", **kw)


@dataclass
class History:
    deployed: str
    approved: str  # agent commit of PR 11, approved on its merged head
    unapproved: str  # agent commit of PR 12, approved on an older head only
    human: str
    merges: list[str] = field(default_factory=list)


def build(repo: Repo) -> History:
    deployed = repo.head()
    a1, m1 = merge_pr(repo, "agent/one", AGENT_MSG, {"one.txt": "1\n"})
    a2, m2 = merge_pr(repo, "copilot/two", "Initial plan", {"two.txt": "2\n"}, author=COPILOT)
    human = repo.commit("human fix", files={"README.md": "fixed\n"})
    return History(deployed, a1, a2, human, [m1, m2])


def url(path: str) -> re.Pattern[str]:
    return re.compile(re.escape(API) + r"(:443)?" + re.escape(path) + r"(\?.*)?$")


class GitHub:
    """The scenario's GitHub, served through `responses` with GitHub's example bodies."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.base = f"/repos/{REPO}"

    def get(self, path: str, body: Any, status: int = 200) -> None:
        self.rsps.add("GET", url(self.base + path), json=body, status=status)

    def deployments(self, *deps: tuple[int, str, str, str]) -> None:
        """(id, sha, final state, creator login), newest first."""
        items = []
        for dep_id, sha, state, creator in deps:
            d = api_example("/repos/{owner}/{repo}/deployments")[0]
            d.update(id=dep_id, sha=sha, environment="production")
            d["creator"].update(login=creator, type="Bot" if creator.endswith("[bot]") else "User")
            items.append(d)
            s = api_example("/repos/{owner}/{repo}/deployments/{deployment_id}/statuses")[0]
            s.update(state=state)
            self.get(f"/deployments/{dep_id}/statuses", [s])
        self.get("/deployments", items)

    def pr(
        self, number: int, commits: list[str], head: str, merge: str, reviews: list[tuple[str, str]]
    ) -> None:
        """A merged PR: its commits, merged head and merge commit, and (reviewer, reviewed head) approvals."""
        pr = api_example("/repos/{owner}/{repo}/commits/{commit_sha}/pulls")[0]
        pr.update(number=number, merged_at="2024-05-01T10:00:00Z", merge_commit_sha=merge, state="closed")
        pr["head"]["sha"] = head
        pr["user"].update(login="alice", type="User")
        for sha in commits:
            self.get(f"/commits/{sha}/pulls", [pr])
        item = api_example("/repos/{owner}/{repo}/pulls/{pull_number}/commits")[0]
        self.get(f"/pulls/{number}/commits", [{**item, "sha": sha} for sha in commits])
        out = []
        for who, on in reviews:
            r = api_example("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")[0]
            r.update(state="APPROVED", commit_id=on, submitted_at="2024-05-01T09:00:00Z")
            r["user"].update(login=who, type="User", id=hash(who) % 10_000)
            out.append(r)
        self.get(f"/pulls/{number}/reviews", out)
        self.get(f"/issues/{number}/timeline", [])

    def permission(self, login: str, level: str) -> None:
        body = api_example("/repos/{owner}/{repo}/collaborators/{username}/permission")
        body.update(permission=level, role_name=level)
        self.get(f"/collaborators/{login}/permission", body)


def deploy_env(tmp: Path, repo: Repo, **extra: str) -> dict[str, str]:
    payload = example("deployment", "created")
    payload["repository"].update(full_name=REPO, default_branch="main")
    payload["deployment"].update(sha=repo.head(), environment="production")
    env = actions_env(tmp / "run", "deployment", payload, repo.path, GITHUB_SHA=repo.head())
    env.update(
        GITHUB_API_URL=API, GITHUB_TOKEN="ghs_test", GITHUB_ACTOR="alice", GITHUB_TRIGGERING_ACTOR="alice"
    )
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    """The JSON report goes to a file: stdout also carries the workflow annotations."""
    out = Path(env["GITHUB_OUTPUT"]).with_name("report.json")
    out.unlink(missing_ok=True)
    argv = ["check", "--deploy", "production", "--format", "json", "-o", str(out), *args]
    r = cli(argv, env=env)
    return r.exit_code, (json.loads(out.read_text()) if out.exists() else {}), r.stderr


def unapproved(data: dict[str, Any]) -> list[str]:
    return [f["commit"] for f in data["findings"] if f["category"] == "unapproved-agent-deploy"]


def standard(gh: GitHub, h: History, carol_on: str, *deps: tuple[int, str, str, str]) -> None:
    gh.deployments(*(deps or ((3, h.human, "failure", "alice"), (2, h.deployed, "success", "alice"))))
    gh.pr(11, [h.approved], h.approved, h.merges[0], [("bob", h.approved)])
    gh.pr(12, [h.unapproved], h.unapproved, h.merges[1], [("carol", carol_on)])
    gh.permission("bob", "write")
    gh.permission("carol", "maintain")


# ----------------------------------------------------------------------------- scenarios


def test_only_the_agent_commit_without_an_approval_on_its_merged_head_fails(
    repo: Repo, tmp_path: Path
) -> None:
    h = build(repo)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        standard(GitHub(rsps), h, carol_on="f" * 40)
        code, data, err = run(deploy_env(tmp_path, repo))
        asked = [c.request.url for c in rsps.calls]
    assert code == 1, err
    assert unapproved(data) == [h.unapproved]
    notes = " ".join(data["reasons"])
    assert f"last successful deployment {h.deployed[:12]} (deployment 2 by alice)" in notes
    assert "carol's approval was given on ffffffffffff, not on the merged head" in notes
    assert any("/deployments?environment=production" in u for u in asked)
    assert [u.split("?")[0].rsplit("/", 2)[-2] for u in asked if "/statuses" in u] == ["3", "2"]
    assert h.human not in unapproved(data) and not any(h.merges[0] in u for u in asked if "/pulls" in u)


def test_an_approval_on_every_merged_head_lets_the_deploy_pass(repo: Repo, tmp_path: Path) -> None:
    h = build(repo)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        standard(GitHub(rsps), h, carol_on=h.unapproved)
        code, data, err = run(deploy_env(tmp_path, repo))
    assert code == 0, (err, data["findings"])
    assert data["decision"] == "allow" and not unapproved(data)


def test_a_reader_cannot_vouch_and_the_report_says_why(repo: Repo, tmp_path: Path) -> None:
    h = build(repo)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh = GitHub(rsps)
        standard(gh, h, carol_on=h.unapproved)
        rsps.replace(
            "GET",
            url(f"/repos/{REPO}/collaborators/carol/permission"),
            json={
                **api_example("/repos/{owner}/{repo}/collaborators/{username}/permission"),
                "permission": "read",
                "role_name": "read",
            },
        )
        code, data, _ = run(deploy_env(tmp_path, repo))
    assert code == 1
    (f,) = [f for f in data["findings"] if f["category"] == "unapproved-agent-deploy"]
    assert f["commit"] == h.unapproved and "carol (review): approver has read access" in f["message"]


def test_since_widens_the_range_but_never_shrinks_it(repo: Repo, tmp_path: Path) -> None:
    older = repo.head()
    early_agent = repo.commit(AGENT_MSG, files={"early.txt": "e\n"})  # deployed already, never approved
    repo.commit("human", files={"x.txt": "x\n"})
    h = build(repo)
    for since, expect in (
        (older, "is older than the last deployment: the range is widened"),
        (h.human, "would shrink the range: ignored"),
    ):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            gh = GitHub(rsps)
            standard(gh, h, carol_on=h.unapproved)
            gh.get(f"/commits/{early_agent}/pulls", [])
            code, data, _ = run(deploy_env(tmp_path, repo), "--since", since)
        assert expect in " ".join(data["reasons"]), data["reasons"]
        assert code == 1 if since == older else code == 0
        assert (early_agent in unapproved(data)) == (since == older)


def test_an_agent_triggered_deploy_fails(repo: Repo, tmp_path: Path) -> None:
    h = build(repo)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        standard(GitHub(rsps), h, carol_on=h.unapproved)
        env = deploy_env(tmp_path, repo, GITHUB_TRIGGERING_ACTOR="Copilot")
        code, data, _ = run(env)
    assert code == 1
    trig = [f for f in data["findings"] if f["category"] == "agent-triggered-deploy"]
    assert trig and "triggering-actor Copilot" in trig[0]["message"]


def test_a_record_an_agent_wrote_does_not_move_the_range(repo: Repo, tmp_path: Path) -> None:
    h = build(repo)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        deps = ((5, h.human, "success", "copilot-swe-agent[bot]"), (2, h.deployed, "success", "alice"))
        standard(GitHub(rsps), h, h.unapproved, *deps)
        code, data, err = run(deploy_env(tmp_path, repo))
    assert data, err
    notes = " ".join(data["reasons"])
    assert "deployment 5 of" in notes and "made by the agent copilot-swe-agent[bot]: not trusted" in notes
    assert f"last successful deployment {h.deployed[:12]}" in notes and code == 0


# ----------------------------------------------------------------------------- no record, no token


def test_no_token_judges_from_since_and_every_agent_commit_fails(repo: Repo, tmp_path: Path) -> None:
    h = build(repo)
    env = deploy_env(tmp_path, repo)
    del env["GITHUB_TOKEN"]
    code, data, err = run(env, "--since", h.deployed)
    assert code == 1, err
    assert sorted(unapproved(data)) == sorted([h.approved, h.unapproved])
    notes = " ".join(data["reasons"])
    assert "the deployment record could not be read (no token" in notes
    assert "the pull request reviews could not be read, so every agent commit counts as unapproved" in notes


def test_no_token_and_no_since_is_a_usage_error(repo: Repo, tmp_path: Path) -> None:
    build(repo)
    env = deploy_env(tmp_path, repo)
    del env["GITHUB_TOKEN"]
    code, _, err = run(env)
    assert code == 2 and "cannot read the deployments of production (no token" in err
    assert "--since REV" in err and "Traceback" not in err


def test_a_first_deploy_needs_since(repo: Repo, tmp_path: Path) -> None:
    build(repo)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        GitHub(rsps).deployments()
        code, _, err = run(deploy_env(tmp_path, repo))
    assert code == 2 and "no successful deployment to production on record and no --since" in err


def test_an_unreachable_api_without_since_fails_closed(repo: Repo, tmp_path: Path) -> None:
    build(repo)
    code, _, err = run(deploy_env(tmp_path, repo, GITHUB_API_URL="http://127.0.0.1:9"))
    assert code == 2 and "the API is unreachable" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- the published contract


@pytest.mark.integration
def test_every_deploy_read_satisfies_githubs_contract(repo: Repo) -> None:
    """Prism rejects a request that breaks GitHub's description (422/400); every read here passes."""
    from github import Auth, Github

    gh = Github(base_url=prism().url, auth=Auth.Token("x"), lazy=True, retry=None)
    h = build(repo)
    change = Change(door="github", head=h.human, commits=[])
    with recording() as rec:
        recorded, _ = last_success(gh, REPO, "production", lambda *_: False)
        got = vouch(
            gh, REPO, change, ["6dcb09b5b57875f334f61aebed695e2e4193db5e"], builtin(), lambda *_: False
        )
    assert recorded is not None and recorded.sha == "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"
    assert rec.sent and all(s.status < 300 for s in rec.sent), [(s.url, s.status) for s in rec.sent]
    (listing,) = [s for s in rec.calls("GET", "/deployments") if s.url.split("?")[0].endswith("/deployments")]
    assert "environment=production" in listing.url
    assert rec.calls("GET", "/commits/6dcb09b5b57875f334f61aebed695e2e4193db5e/pulls")
    # Prism's static PR does not list the looked-up commit among its own: nothing is vouched for.
    assert not got.approvals and "not among its commits" in " ".join(got.notes)


def builtin() -> Any:
    from guard.policy import builtin_policy

    return builtin_policy()


def test_deployment_example_is_githubs_own(tmp_path: Path) -> None:
    """The event file is GitHub's `deployment` example: its sender is read as a verified actor."""
    from guard.doors.github.deploy import trigger_actors
    from guard.doors.github.event import read_context

    r = Repo(tmp_path / "r")
    r.commit("x", files={"a": "a"})
    env = deploy_env(tmp_path, r, GITHUB_ACTOR="Codertocat", GITHUB_TRIGGERING_ACTOR="hubot")
    actors = trigger_actors(env, read_context(env))
    assert {(a.login, a.role) for a in actors} == {
        ("Codertocat", "run-actor"),
        ("hubot", "triggering-actor"),
        ("Codertocat", "sender"),
    }
    assert (
        git(r.path, "rev-parse", "HEAD")
        == json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text())["deployment"]["sha"]
    )
