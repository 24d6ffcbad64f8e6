"""GitLab door round trips with `responses`: recorded real bodies, pagination, approval judgement.

Where each body comes from:
- MR: `testdata/get_merge_request.json` of go-gitlab 0.73.1 (Debian package
  golang-github-xanzy-go-gitlab-dev, Apache-2.0; .ci/run unpacks it): a real gitlab.com response
  for gitlab-org/gitlab!14656. Judgement tests reuse it with `sha`, `author` and
  `head_pipeline` set for the scenario (said where).
- member: the body go-gitlab's project_members_test.go (TestGetInheritedProjectMember) recorded
  from a GitLab instance (`web_url` http://192.168.1.8:3000), quoted below.
- notes: the note body of go-gitlab's notes_test.go (TestGetMergeRequestNote), given new ids per
  page; pagination headers as GitLab sends them (X-Page, X-Next-Page, X-Total-Pages, Link).
- approvals: no recorded `/approvals` body is available offline; the bodies follow GitLab's
  OpenAPI entity (APIEntitiesMergeRequestApprovals: approved_by[] of {user, approved_at}), with
  users and times chosen per scenario.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import responses
from cliutil import cli
from gitutil import Repo, agent_widens_gitlab_ci

from guard.doors.gitlab.api import GitLabAPI, access_permission, bind_head
from guard.doors.gitlab.ci import read_pipeline
from guard.isotime import parse_time
from guard.report.markdown import MARKER

URL = "https://gitlab.example.com"
API = f"{URL}/api/v4/projects/acme%2Fwidget"
LATER = "2024-05-01T10:30:00Z"  # after the head's pipeline was created
PIPELINE_AT = "2024-05-01T10:00:00Z"
MEMBER = {  # go-gitlab project_members_test.go, TestGetInheritedProjectMember
    "id": 1,
    "username": "venkatesh_thalluri",
    "name": "Venkatesh Thalluri",
    "state": "active",
    "avatar_url": "https://www.gravatar.com/avatar/c2525a7f58ae3776070e44c106c48e15?s=80&d=identicon",
    "web_url": "http://192.168.1.8:3000/root",
    "access_level": 30,
    "email": "venkatesh.thalluri@example.com",
    "expires_at": None,
    "group_saml_identity": None,
}
NOTE = {  # go-gitlab notes_test.go, TestGetMergeRequestNote
    "id": 3,
    "type": "DiffNote",
    "body": "foo bar",
    "attachment": None,
    "system": False,
    "noteable_id": 4392,
    "noteable_type": "Epic",
    "resolvable": False,
    "noteable_iid": None,
}


def go_gitlab() -> Path:
    candidates = [
        os.environ.get("PG_GO_GITLAB", ""),
        str(
            Path(__file__).resolve().parents[1]
            / ".ci/cache/debian/go-gitlab/usr/share/gocode/src/github.com/xanzy/go-gitlab"
        ),
        "/usr/share/gocode/src/github.com/xanzy/go-gitlab",
    ]
    for c in candidates:
        if c and (Path(c) / "testdata" / "get_merge_request.json").is_file():
            return Path(c)
    pytest.fail(
        "go-gitlab testdata missing: run `bash .ci/run` (it unpacks golang-github-xanzy-go-gitlab-dev)"
    )


@pytest.fixture(scope="module")
def recorded_mr() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((go_gitlab() / "testdata" / "get_merge_request.json").read_text())
    return data


# ----------------------------------------------------------------------------- round trips


@responses.activate
def test_recorded_mr_round_trip(recorded_mr: dict[str, Any]) -> None:
    responses.get(f"{API}/merge_requests/14656", json=recorded_mr)
    responses.get(f"{API}/merge_requests/14656/approvals", json={"approved_by": []})
    responses.get(f"{API}/merge_requests/14656/notes", json=[])  # no break-glass notes
    env = {"CI_COMMIT_SHA": "8e0b45049b6253b8984cde9241830d2851168142", "CI_MERGE_REQUEST_IID": "14656",
           "CI_MERGE_REQUEST_DIFF_BASE_SHA": "dd692733bb84bc3e9e862e66c099daec2fa00c83"}  # fmt: skip
    facts = GitLabAPI(URL, "tok", "acme/widget").merge_request_facts(read_pipeline(env))
    assert facts.author is not None
    assert (facts.author.login, facts.author.id, facts.author.role) == (
        "alexkalderimis",
        "3614858",
        "pr-author",
    )
    assert facts.head_sha == recorded_mr["diff_refs"]["head_sha"]
    assert responses.calls[0].request.headers["PRIVATE-TOKEN"] == "tok"


@responses.activate
def test_recorded_member_access_levels() -> None:
    responses.get(f"{API}/members/all/1", json=MEMBER)
    responses.get(f"{API}/members/all/9", status=404, json={"message": "404 Not found"})
    api = GitLabAPI(URL, "tok", "acme/widget")
    assert api.permission(1) == "write"  # 30 Developer
    assert api.permission(9) == "none"  # not a member, not even through a group
    assert [access_permission(n) for n in (20, 30, 40, 50, "x", None)] == [
        "read", "write", "maintain", "admin", None, None,
    ]  # fmt: skip


@responses.activate
def test_note_upsert_follows_pagination_to_our_note() -> None:
    page1 = [{**NOTE, "id": i, "body": f"comment {i}"} for i in range(1, 4)]
    page2 = [{**NOTE, "id": 4, "system": True, "body": MARKER}, {**NOTE, "id": 5, "body": f"{MARKER}\nold"}]
    notes = f"{API}/merge_requests/7/notes"
    link = f'<{notes}?page=2&per_page=3>; rel="next"'  # registered twice: answered in order
    responses.get(
        notes, json=page1, headers={"X-Page": "1", "X-Next-Page": "2", "X-Total-Pages": "2", "Link": link}
    )
    responses.get(notes, json=page2, headers={"X-Page": "2", "X-Next-Page": "", "X-Total-Pages": "2"})
    responses.put(f"{notes}/5", json={**NOTE, "id": 5, "body": "new"})
    done = GitLabAPI(URL, "tok", "acme/widget").upsert_note(7, f"{MARKER}\nnew", MARKER, create=True)
    assert done == "updated"  # the system note quoting the marker is skipped, nothing is created
    put = responses.calls[-1].request
    assert put.method == "PUT" and json.loads(put.body or b"{}")["body"].startswith(MARKER)
    assert [c.request.method for c in responses.calls] == ["GET", "GET", "PUT"]


def test_head_binding_uses_gitlab_times_only() -> None:
    anchor = parse_time(PIPELINE_AT)
    head = "a" * 40
    assert bind_head("2024-05-01T10:05:00Z", head, head, anchor) == (head, None)
    bound, why = bind_head("2024-05-01T09:00:00Z", head, head, anchor)
    assert bound is None and why is not None and "before the pipeline" in why
    assert bind_head("2024-05-01T10:05:00Z", "b" * 40, head, anchor) == ("b" * 40, None)
    assert bind_head(None, head, head, anchor)[0] is None
    assert bind_head("2024-05-01T10:05:00", head, head, anchor)[0] is None  # naive time: not comparable


# ----------------------------------------------------------------------------- judgement


@pytest.fixture
def agent_mr(repo: Repo) -> Repo:
    return agent_widens_gitlab_ci(repo, "feature")


def user(uid: int, name: str) -> dict[str, Any]:
    return {"id": uid, "username": name, "name": name.title(), "state": "active"}


PEOPLE = {
    "bob": (11, 40),
    "carol": (12, 30),
    "dave": (13, 20),
    "duo-developer": (14, 30),
    "project_42_bot_3f2a": (15, 40),
}


def serve(
    mr: dict[str, Any],
    repo: Repo,
    author: str,
    approvals: list[tuple[str, str]],
    mr_sha: str | None = None,
    notes: Sequence[tuple[str, str, str]] = (),
    pipeline_users: Sequence[str] | None = None,
) -> None:
    """The MR as GitLab would serve it for this scenario (recorded body, scenario fields set).

    Pipelines for the head: no recorded body is available offline; they follow go-gitlab's
    `Pipeline` struct (pipelines.go: id, sha, ref, source, status, user{id, username}). None:
    the job's own pipeline, started by bob."""
    head = repo.head()
    users = ["bob"] if pipeline_users is None else list(pipeline_users)
    responses.get(f"{API}/pipelines", json=[{"id": 200 + i, "sha": head} for i in range(len(users))])
    for i, who in enumerate(users):
        responses.get(
            f"{API}/pipelines/{200 + i}",
            json={"id": 200 + i, "sha": head, "ref": "feature", "source": "merge_request_event",
                  "status": "running", "user": user(PEOPLE[who][0], who)},
        )  # fmt: skip
    body = copy.deepcopy(mr)
    body.update(iid=7, sha=mr_sha or head, author=user(PEOPLE[author][0], author),
                head_pipeline={"id": 99, "sha": head, "created_at": PIPELINE_AT})  # fmt: skip
    responses.get(f"{API}/merge_requests/7", json=body)
    approved = [{"user": user(PEOPLE[n][0], n), "approved_at": at} for n, at in approvals]
    responses.get(
        f"{API}/merge_requests/7/approvals", json={"approved": bool(approved), "approved_by": approved}
    )
    for name, (uid, level) in PEOPLE.items():
        responses.get(
            f"{API}/members/all/{uid}", json={**MEMBER, "id": uid, "username": name, "access_level": level}
        )
    bodies = [
        {**NOTE, "id": 60 + i, "body": text, "created_at": at, "author": user(PEOPLE[who][0], who)}
        for i, (who, text, at) in enumerate(notes)
    ]
    responses.get(f"{API}/merge_requests/7/notes", json=bodies)
    responses.post(f"{API}/merge_requests/7/notes", status=201, json={**NOTE, "id": 50})
    responses.post(f"{API}/statuses/{head}", status=201, json={"id": 1, "sha": head, "status": "failed"})


def guard_job(repo: Repo, job_user: str = "bob") -> tuple[int, dict[str, Any]]:
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": repo.head("main"),
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_COMMIT_SHA": repo.head(),
        "CI_PIPELINE_CREATED_AT": PIPELINE_AT,
        "CI_PROJECT_PATH": "acme/widget",
        "CI_SERVER_URL": URL,
        "GITLAB_USER_LOGIN": job_user,
        "PIPELINE_GUARD_GITLAB_TOKEN": "tok",
    }
    result = cli(["check", "--repo", str(repo.path), "--format", "json"], env=env)
    assert result.stdout, result.output
    return result.exit_code, json.loads(result.stdout)


def rejected(data: dict[str, Any]) -> dict[str, str]:
    return {r["approver"]: r["rejected_because"] for r in data["step_up"]["rejected"]}


@responses.activate
def test_a_qualifying_human_approval_lets_the_retried_job_pass(
    recorded_mr: dict[str, Any], agent_mr: Repo
) -> None:
    serve(recorded_mr, agent_mr, "bob", [])
    code, data = guard_job(agent_mr)
    assert code == 1 and data["decision"] == "step-up"
    posted = [c.request for c in responses.calls if c.request.method == "POST"]
    note = json.loads(posted[0].body or b"{}")["body"]
    assert MARKER in note and "Who may approve" in note  # the MR note names who may approve
    assert json.loads(posted[1].body or b"{}")["state"] == "failed"
    responses.reset()
    serve(recorded_mr, agent_mr, "bob", [("carol", "2024-05-01T10:30:00Z")])  # carol approves; job retried
    code, data = guard_job(agent_mr)
    assert code == 0 and data["decision"] == "warn"
    assert [a["approver"] for a in data["step_up"]["counted"]] == ["carol"]


@pytest.mark.parametrize(
    ("approver", "at", "why"),
    [
        ("bob", "2024-05-01T10:30:00Z", "approver opened the change"),  # the MR author
        ("duo-developer", "2024-05-01T10:30:00Z", "agent identity"),  # an agent account
        ("project_42_bot_3f2a", "2024-05-01T10:30:00Z", "approver is a"),  # a project access-token bot
        ("dave", "2024-05-01T10:30:00Z", "read access"),  # Reporter
        ("carol", "2024-05-01T09:59:00Z", "not bound to a head"),  # before the head's pipeline: stale
    ],
)
@responses.activate
def test_approvals_that_do_not_count(
    recorded_mr: dict[str, Any], agent_mr: Repo, approver: str, at: str, why: str
) -> None:
    serve(recorded_mr, agent_mr, "bob", [(approver, at)])
    code, data = guard_job(agent_mr)
    assert code == 1 and data["decision"] == "step-up"
    assert why in rejected(data)[approver]


@responses.activate
def test_approval_on_a_newer_mr_head_is_stale_for_this_job(
    recorded_mr: dict[str, Any], agent_mr: Repo
) -> None:
    serve(recorded_mr, agent_mr, "bob", [("carol", "2024-05-01T10:30:00Z")], mr_sha="c" * 40)
    code, data = guard_job(agent_mr)
    assert code == 1 and rejected(data)["carol"].startswith("stale: given for cccccccccccc")


@responses.activate
def test_break_glass_note_from_a_person_overrides_the_step_up(
    recorded_mr: dict[str, Any], agent_mr: Repo
) -> None:
    note = (
        "carol",
        "Deploy blocked by an outage.\nbreak-glass: INC-42 prod down, hotfix reviewed by phone",
        LATER,
    )
    serve(recorded_mr, agent_mr, "bob", [], notes=[note])
    code, data = guard_job(agent_mr)
    assert code == 0 and data["decision"] == "warn"
    bg = data["step_up"]["break_glass"]
    assert bg["approver"] == "carol" and bg["reason"].startswith("INC-42")
    assert any("BREAK-GLASS by carol" in r for r in data["reasons"])


@pytest.mark.parametrize(
    ("who", "text", "at", "why"),
    [
        ("duo-developer", "break-glass: the agent says it is urgent", LATER, "never honoured"),
        ("carol", "break-glass: INC-42 prod down, hotfix", "2024-05-01T09:59:00Z", "names no head"),
        ("carol", "break-glass:", LATER, "needs a reason"),
    ],
)
@responses.activate
def test_break_glass_notes_that_are_refused(
    recorded_mr: dict[str, Any], agent_mr: Repo, who: str, text: str, at: str, why: str
) -> None:
    serve(recorded_mr, agent_mr, "bob", [], notes=[(who, text, at)])
    code, data = guard_job(agent_mr)
    assert code == 1 and data["step_up"]["break_glass"] is None
    assert why in rejected(data)[who]


# ----------------------------------------------------------------------------- who pushed the head


@pytest.fixture
def markerless_mr(repo: Repo) -> Repo:
    """A human-looking CI edit: only GitLab's pipeline history says an agent account pushed it."""
    repo.commit("ci", files={".gitlab-ci.yml": "test:\n  script: [make]\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("widen ci", files={".gitlab-ci.yml": "test:\n  script: [make, x]\n"})
    return repo


@responses.activate
def test_a_person_retrying_the_job_does_not_turn_an_agent_push_into_theirs(
    recorded_mr: dict[str, Any], markerless_mr: Repo
) -> None:
    # The pipeline was started by the agent account's push; carol retries the guard job.
    serve(recorded_mr, markerless_mr, "bob", [], pipeline_users=["duo-developer"])
    code, data = guard_job(markerless_mr, job_user="carol")
    assert code == 1 and data["decision"] == "step-up"
    assert any(a["role"] == "pipeline-user" and a["login"] == "duo-developer" for a in data["actors"])
    responses.reset()
    serve(recorded_mr, markerless_mr, "bob", [], pipeline_users=["bob"])  # a person's push
    code, data = guard_job(markerless_mr, job_user="carol")
    assert code == 0 and data["decision"] == "allow"


@responses.activate
def test_an_unreadable_pipeline_history_fails_closed(
    recorded_mr: dict[str, Any], markerless_mr: Repo
) -> None:
    serve(recorded_mr, markerless_mr, "bob", [])
    responses.replace(
        responses.GET, f"{API}/pipelines", status=500, json={"message": "500 Internal Server Error"}
    )
    code, data = guard_job(markerless_mr, job_user="carol")
    assert code == 1 and data["decision"] == "step-up"
    assert any("could not be read" in r for r in data["reasons"])
